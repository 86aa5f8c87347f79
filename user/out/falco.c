// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Falco alert shape. Where it comes from:
 *
 *  - Falco's own JSON alert (falcosecurity/falco, userspace/engine/formats.cpp,
 *    falco_formats::format_event): top-level "time" (RFC 3339 UTC with nanoseconds, always
 *    ".%09luZ"), "rule", "priority", "source", "hostname", "output", "tags" (a sorted set) and
 *    "output_fields", whose keys are Falco field names ("evt.time", "proc.name", "proc.pid",
 *    "user.name", "fd.name", ...). "evt.time" there is an integer: nanoseconds since the epoch
 *    (falcosecurity/falco#340 shows one: "evt.time":1522083599652105834). "output" is the
 *    prefix "%evt.time: <Priority>" (with time_format_iso_8601, the ISO time) and the rule's
 *    output sentence.
 *  - Falcosidekick's input (falcosecurity/falcosidekick, types/types.go, FalcoPayload):
 *    output, priority, rule, time, output_fields, source, tags, hostname (uuid is its own).
 *    FalcoPayload.Check() rejects an event without a priority it knows (types/priority.go:
 *    Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug, any case), an
 *    empty rule, a zero time or empty output_fields; so does this file.
 *  - container.id is "host" for a process outside any container, as in Falco.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "falco.h"
#include "rule_registry.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define TG_FALCO_SOURCE "tmpguard"

const char *tg_falco_priority(const char *severity)
{
	static const struct {
		const char *sev, *prio;
	} map[] = {
		{"critical", "Critical"},
		{"high", "Error"},
		{"medium", "Warning"},
		{"low", "Notice"},
	};

	for (size_t i = 0; severity && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(severity, map[i].sev))
			return map[i].prio;
	return NULL;
}

/* A number field: any value as json-c converts it (a string of digits too), 0 when absent. */
static int64_t num(json_object *o, const char *key)
{
	return json_object_get_int64(tg_json_get(o, key));
}

/* An array of strings joined by sep (caller frees). */
static char *join(json_object *arr, const char *sep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < tg_json_array_len(arr); i++)
		fprintf(f, "%s%s", i ? sep : "",
			json_object_get_string(json_object_array_get_idx(arr, i)));
	fclose(f);
	return buf;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* A boolean of the finding, as output field "tmpguard.KEY" (false when absent). */
static void add_bool(json_object *o, json_object *rec, const char *key)
{
	json_object *v = tg_json_get(rec, key);
	char name[64];

	snprintf(name, sizeof(name), "tmpguard.%s", key);
	json_object_object_add(o, name, json_object_new_boolean(json_object_get_boolean(v)));
}

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Falco writes its tags as a std::set: sorted, each once. */
static json_object *tags_json(const char **t, size_t n)
{
	json_object *arr = json_object_new_array();

	qsort(t, n, sizeof(*t), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(t[i], t[i - 1]))
			json_object_array_add(arr, json_object_new_string(t[i]));
	return arr;
}

/*
 * A value in the output sentence, which people read in terminals and chat: as it is when it
 * is one plain word; otherwise in double quotes, with \" and \\, and \xNN for every control
 * character (C0, DEL, and C1 as UTF-8 encodes it). A command line cannot then add fields of its
 * own ("x parent=sshd user_uid=0") nor reach a terminal's escape sequences.
 */
static void put_value(FILE *m, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	bool plain = *p != 0;

	for (; *p && plain; p++)
		plain = *p > 0x20 && *p != 0x7f && *p != '"' && *p != '\\' && *p != '=' &&
			*p != '(' && *p != ')' && *p != 0xc2;
	if (plain) {
		fputs(v, m);
		return;
	}
	fputc('"', m);
	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(m, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(m, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fprintf(m, "\\xc2\\x%02x", *++p);
		else
			fputc(*p, m);
	}
	fputc('"', m);
}

/* The skeleton every event shares; output_fields starts with evt.time (ns since the epoch). */
static json_object *event(json_object *rec, const char *rule, const char *priority,
			  const char *output, json_object *tags, json_object *fields, int64_t t_ns)
{
	json_object *o = json_object_new_object(), *f = json_object_new_object();

	add_str(o, "output", output);
	add_str(o, "priority", priority);
	add_str(o, "rule", rule);
	add_str(o, "time", tg_json_str(rec, "time", ""));
	add_str(o, "source", TG_FALCO_SOURCE);
	add_str(o, "hostname", tg_json_str(rec, "host", ""));
	json_object_object_add(o, "tags", tags);
	add_int(f, "evt.time", t_ns);
	json_object_object_foreach(fields, k, v) json_object_object_add(f, k, json_object_get(v));
	json_object_put(fields);
	json_object_object_add(o, "output_fields", f);
	return o;
}

static json_object *finding(json_object *rec, int64_t t_ns)
{
	const char *sev = tg_json_str(rec, "severity", ""), *rule = tg_json_str(rec, "rule", "");
	const char *prio = tg_falco_priority(sev);
	/* The record names its rule by id; one this build does not know has no row. */
	const int r = tg_rule_parse(rule);
	const struct tg_rule_info *ri = r < 0 ? NULL : tg_rule_info((enum tg_rule)r);
	json_object *proc = tg_json_get(rec, "proc"), *cwes = tg_json_get(rec, "cwe"), *f, *o;
	const char *cid = tg_json_str(proc, "container_id", ""), *tags[16];
	char *cwe, *flags, *out = NULL, rname[128];
	size_t nt = 0, outlen = 0;
	FILE *m;

	if (!prio || !*rule)
		return NULL;
	cwe = join(cwes, ",");
	flags = join(tg_json_get(rec, "flags"), "|");
	m = open_memstream(&out, &outlen);
	if (!cwe || !flags || !m) {
		free(cwe);
		free(flags);
		if (m)
			fclose(m);
		free(out);
		return NULL;
	}
	snprintf(rname, sizeof(rname), "Insecure temporary file: %s", rule);
	/* Falco's output: "<time>: <Priority> <rule's sentence> (field=value ...)". What the
	 * audited process chose (its names, command line, path) goes through put_value(). */
	fprintf(m, "%s: %s %s by ", tg_json_str(rec, "time", ""), prio, rname);
	put_value(m, tg_json_str(proc, "comm", ""));
	fprintf(m, " (pid %lld, user ", (long long)num(proc, "pid"));
	put_value(m, tg_json_str(proc, "user", ""));
	fputs(") on ", m);
	put_value(m, tg_json_str(rec, "path", ""));
	fprintf(m, ": %s (process=", ri ? ri->falco_output : "insecure temporary file");
	put_value(m, tg_json_str(proc, "comm", ""));
	fputs(" proc_exepath=", m);
	put_value(m, tg_json_str(proc, "exe", ""));
	fputs(" command=", m);
	put_value(m, tg_json_str(proc, "cmdline", ""));
	fputs(" parent=", m);
	put_value(m, tg_json_str(proc, "pcomm", ""));
	fprintf(m,
		" ppid=%lld user_uid=%lld flags=%s mode=%s severity=%s action=%s cwe=%s "
		"container_id=",
		(long long)num(proc, "ppid"), (long long)num(proc, "uid"), flags,
		tg_json_str(rec, "mode", ""), sev, tg_json_str(rec, "action", ""), cwe);
	put_value(m, *cid ? cid : "host");
	fputc(')', m);
	fclose(m);

	f = json_object_new_object();
	add_str(f, "evt.type", tg_json_str(rec, "syscall", ""));
	add_str(f, "evt.arg.flags", flags);
	add_str(f, "evt.arg.mode", tg_json_str(rec, "mode", ""));
	add_str(f, "proc.name", tg_json_str(proc, "comm", ""));
	add_int(f, "proc.pid", num(proc, "pid"));
	add_int(f, "proc.ppid", num(proc, "ppid"));
	add_str(f, "proc.pname", tg_json_str(proc, "pcomm", ""));
	add_str(f, "proc.exepath", tg_json_str(proc, "exe", ""));
	add_str(f, "proc.cmdline", tg_json_str(proc, "cmdline", ""));
	add_str(f, "user.name", tg_json_str(proc, "user", ""));
	add_int(f, "user.uid", num(proc, "uid"));
	add_str(f, "fd.name", tg_json_str(rec, "path", ""));
	add_str(f, "container.id", *cid ? cid : "host");
	add_str(f, "tmpguard.rule", rule);
	add_str(f, "tmpguard.severity", sev);
	add_str(f, "tmpguard.action", tg_json_str(rec, "action", ""));
	add_str(f, "tmpguard.cwe", cwe);
	add_str(f, "tmpguard.why", tg_json_str(rec, "why", ""));
	add_str(f, "tmpguard.language", tg_json_str(rec, "language", ""));
	add_str(f, "tmpguard.advice", tg_json_str(rec, "advice", ""));
	add_str(f, "tmpguard.resolved_name", tg_json_str(rec, "resolved_name", ""));
	add_str(f, "tmpguard.file_mode", tg_json_str(rec, "file_mode", ""));
	add_int(f, "tmpguard.file_uid", num(rec, "file_uid"));
	add_bool(f, rec, "created");
	add_bool(f, rec, "symlink_followed");
	add_bool(f, rec, "path_changed");
	add_bool(f, rec, "path_mismatch");
	add_int(f, "tmpguard.count", num(rec, "count"));
	add_str(f, "tmpguard.pattern", tg_json_str(rec, "pattern", ""));

	tags[nt++] = "filesystem";
	tags[nt++] = TG_FALCO_SOURCE;
	tags[nt++] = *cid ? "container" : "host";
	for (size_t i = 0; ri && i < TG_RULE_FALCO_TAGS; i++)
		tags[nt++] = ri->falco_tags[i];
	for (size_t i = 0; i < tg_json_array_len(cwes) && nt < 16; i++)
		tags[nt++] = json_object_get_string(json_object_array_get_idx(cwes, i));
	o = event(rec, rname, prio, out, tags_json(tags, nt), f, t_ns);
	free(out);
	free(cwe);
	free(flags);
	return o;
}

static json_object *loss(json_object *rec, int64_t t_ns)
{
	json_object *f = json_object_new_object(), *o;
	const char *tags[] = {TG_FALCO_SOURCE};
	char *out = NULL;

	if (asprintf(&out,
		     "%s: Warning tmpguard records lost: the kernel could not deliver %lld records "
		     "(ring buffer full) between %s and %s (lost=%lld lost_total=%lld)",
		     tg_json_str(rec, "time", ""), (long long)num(rec, "lost"),
		     tg_json_str(rec, "from", ""), tg_json_str(rec, "to", ""),
		     (long long)num(rec, "lost"), (long long)num(rec, "lost_total")) < 0) {
		json_object_put(f);
		return NULL;
	}
	add_int(f, "tmpguard.lost", num(rec, "lost"));
	add_int(f, "tmpguard.lost_total", num(rec, "lost_total"));
	add_str(f, "tmpguard.loss_from", tg_json_str(rec, "from", ""));
	add_str(f, "tmpguard.loss_to", tg_json_str(rec, "to", ""));
	o = event(rec, "tmpguard records lost", "Warning", out, tags_json(tags, 1), f, t_ns);
	free(out);
	return o;
}

static json_object *session(json_object *rec, int64_t t_ns)
{
	json_object *f = json_object_new_object(), *hooks = tg_json_get(rec, "hooks"), *o;
	const char *tags[] = {TG_FALCO_SOURCE};
	size_t nhooks = tg_json_array_len(hooks);
	char *out = NULL;

	if (asprintf(&out,
		     "%s: Informational tmpguard session started (version=%s pid=%lld scope=%s "
		     "enforcement=%s policy=%s hooks=%zu)",
		     tg_json_str(rec, "time", ""), tg_json_str(rec, "version", ""),
		     (long long)num(rec, "pid"), tg_json_str(rec, "scope", ""),
		     tg_json_str(rec, "enforcement", ""), tg_json_str(rec, "policy", ""),
		     nhooks) < 0) {
		json_object_put(f);
		return NULL;
	}
	add_str(f, "tmpguard.version", tg_json_str(rec, "version", ""));
	add_int(f, "tmpguard.pid", num(rec, "pid"));
	add_str(f, "tmpguard.scope", tg_json_str(rec, "scope", ""));
	add_str(f, "tmpguard.enforcement", tg_json_str(rec, "enforcement", ""));
	add_str(f, "tmpguard.policy", tg_json_str(rec, "policy", ""));
	add_int(f, "tmpguard.hooks", (int64_t)nhooks);
	o = event(rec, "tmpguard session started", "Informational", out, tags_json(tags, 1), f,
		  t_ns);
	free(out);
	return o;
}

static json_object *summary(json_object *rec, int64_t t_ns)
{
	json_object *f = json_object_new_object(), *sev = tg_json_get(rec, "by_severity"), *o;
	const char *tags[] = {TG_FALCO_SOURCE};
	int64_t lost = num(tg_json_get(rec, "events"), "lost");
	const char *prio = lost ? "Warning" : "Informational";
	char *out = NULL;

	if (asprintf(&out,
		     "%s: %s tmpguard session summary (findings=%lld critical=%lld high=%lld "
		     "medium=%lld low=%lld lost=%lld started=%s)",
		     tg_json_str(rec, "time", ""), prio, (long long)num(rec, "findings"),
		     (long long)num(sev, "critical"), (long long)num(sev, "high"),
		     (long long)num(sev, "medium"), (long long)num(sev, "low"), (long long)lost,
		     tg_json_str(rec, "started", "")) < 0) {
		json_object_put(f);
		return NULL;
	}
	add_int(f, "tmpguard.findings", num(rec, "findings"));
	add_int(f, "tmpguard.findings_critical", num(sev, "critical"));
	add_int(f, "tmpguard.findings_high", num(sev, "high"));
	add_int(f, "tmpguard.findings_medium", num(sev, "medium"));
	add_int(f, "tmpguard.findings_low", num(sev, "low"));
	add_int(f, "tmpguard.lost", lost);
	add_str(f, "tmpguard.started", tg_json_str(rec, "started", ""));
	o = event(rec, "tmpguard session summary", prio, out, tags_json(tags, 1), f, t_ns);
	free(out);
	return o;
}

json_object *tg_falco_from_record(json_object *rec)
{
	const char *type = tg_json_str(rec, "type", "");
	int64_t t_ns;

	/* Falcosidekick drops an event whose time is zero or unparsable. */
	if (tg_parse_rfc3339(tg_json_str(rec, "time", ""), &t_ns) || t_ns <= 0)
		return NULL;
	if (!strcmp(type, "finding"))
		return finding(rec, t_ns);
	if (!strcmp(type, "loss"))
		return loss(rec, t_ns);
	if (!strcmp(type, "session"))
		return session(rec, t_ns);
	if (!strcmp(type, "summary"))
		return summary(rec, t_ns);
	return NULL;
}
