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
#include "callsite_out.h"
#include "events.h"
#include "falco.h"
#include "flags.h"
#include "record.h"
#include "rule_registry.h"
#include "summary.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define TG_FALCO_SOURCE "tmpguard"
#define TG_FALCO_TAGS	16

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

/* s as the record's JSON form holds it (tg_json_bytes); caller frees. NULL on ENOMEM. */
static char *json_text(const char *s, size_t n)
{
	return tg_json_bytes_dup(s, n, NULL);
}

/* names[0..n) joined by sep (caller frees). */
static char *join(const char *const *names, size_t n, const char *sep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? sep : "", names[i]);
	fclose(f);
	return buf;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
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

/* The skeleton every event shares: time is t_ns as records write it (tg_format_time), and
 * output_fields starts with evt.time (t_ns: ns since the epoch). host: as the record holds it.
 * Takes tags and fields. */
static json_object *event(const char *time, int64_t t_ns, const char *host, const char *rule,
			  const char *priority, const char *output, json_object *tags,
			  json_object *fields)
{
	json_object *o = json_object_new_object(), *f = json_object_new_object();

	add_str(o, "output", output);
	add_str(o, "priority", priority);
	add_str(o, "rule", rule);
	add_str(o, "time", time);
	add_str(o, "source", TG_FALCO_SOURCE);
	add_str(o, "hostname", host ? host : "");
	json_object_object_add(o, "tags", tags);
	add_int(f, "evt.time", t_ns);
	add_int(f, "tmpguard.schema_version", TG_RECORD_SCHEMA_VERSION);
	json_object_object_foreach(fields, k, v) json_object_object_add(f, k, json_object_get(v));
	json_object_put(fields);
	json_object_object_add(o, "output_fields", f);
	return o;
}

/* ---- findings ---- */

/* A finding's words: its rule, severity and the strings of the process that made it, each as
 * the finding's JSON form writes it (tg_report_json). */
struct finding_text {
	const char *rule, *sev, *prio, *action, *cid;
	const struct tg_rule_info *ri; /* NULL for a rule this build does not know */
	char time[64], rname[128], mode[16], file_mode[16];
	char cwe_buf[64]; /* tg_rule_cwe(), split at its commas as tg_report_json does */
	const char *cwes[32];
	size_t ncwe;
	char *cwe, *flags;
	char *host, *comm, *user, *path, *exe, *cmdline, *pcomm, *name, *pattern;
};

static void finding_text_free(struct finding_text *t)
{
	free(t->cwe);
	free(t->flags);
	free(t->host);
	free(t->comm);
	free(t->user);
	free(t->path);
	free(t->exe);
	free(t->cmdline);
	free(t->pcomm);
	free(t->name);
	free(t->pattern);
}

static int finding_text(struct finding_text *t, const struct tg_report *r, int64_t t_ns)
{
	const struct tg_event *e = r->e;
	const struct tg_proc_info *p = r->proc;
	const char *names[24];
	char unknown[24], *save = NULL;
	int nf = tg_flags_names(e->flags, names, 24, unknown, sizeof(unknown));

	memset(t, 0, sizeof(*t));
	t->rule = tg_rule_id(r->finding.rule);
	t->ri = tg_rule_info(r->finding.rule);
	t->sev = tg_severity_name(r->finding.severity);
	t->prio = tg_falco_priority(t->sev);
	t->action = tg_action_taken_name(r->action);
	t->cid = p->container_id;
	tg_format_time(t_ns, t->time, sizeof(t->time));
	snprintf(t->rname, sizeof(t->rname), "Insecure temporary file: %s", t->rule);
	tg_mode_str(e->mode, t->mode, sizeof(t->mode));
	tg_mode_str(e->file_mode & 07777, t->file_mode, sizeof(t->file_mode));
	snprintf(t->cwe_buf, sizeof(t->cwe_buf), "%s", tg_rule_cwe(r->finding.rule));
	for (char *c = strtok_r(t->cwe_buf, ",", &save); c && t->ncwe < 32;
	     c = strtok_r(NULL, ",", &save))
		t->cwes[t->ncwe++] = c;
	t->cwe = join(t->cwes, t->ncwe, ",");
	t->flags = join(names, (size_t)nf, "|");
	t->host = json_text(r->host ? r->host : "", r->host ? strlen(r->host) : 0);
	t->comm = json_text(e->comm, strlen(e->comm));
	t->user = json_text(p->user, strlen(p->user));
	t->path = json_text(e->path, strlen(e->path));
	t->exe = json_text(p->exe, strlen(p->exe));
	t->cmdline = json_text(p->cmdline, p->cmdline_len);
	t->pcomm = json_text(e->pcomm, strlen(e->pcomm));
	t->name = json_text(e->name, strlen(e->name));
	t->pattern = json_text(r->pattern ? r->pattern : "", r->pattern ? strlen(r->pattern) : 0);
	return t->cwe && t->flags && t->host && t->comm && t->user && t->path && t->exe &&
			       t->cmdline && t->pcomm && t->name && t->pattern
		       ? 0
		       : -1;
}

/* Falco's output: "<time>: <Priority> <rule's sentence> (field=value ...)". What the audited
 * process chose (its names, command line, path) goes through put_value(). */
static char *finding_output(const struct finding_text *t, const struct tg_report *r)
{
	const struct tg_event *e = r->e;
	char *out = NULL;
	size_t outlen = 0;
	FILE *m = open_memstream(&out, &outlen);

	if (!m)
		return NULL;
	fprintf(m, "%s: %s %s by ", t->time, t->prio, t->rname);
	put_value(m, t->comm);
	fprintf(m, " (pid %lld, user ", (long long)e->pid);
	put_value(m, t->user);
	fputs(") on ", m);
	put_value(m, t->path);
	fprintf(m, ": %s (process=", t->ri ? t->ri->falco_output : "insecure temporary file");
	put_value(m, t->comm);
	fputs(" proc_exepath=", m);
	put_value(m, t->exe);
	fputs(" command=", m);
	put_value(m, t->cmdline);
	fputs(" parent=", m);
	put_value(m, t->pcomm);
	fprintf(m,
		" ppid=%lld user_uid=%lld flags=%s mode=%s severity=%s action=%s cwe=%s "
		"container_id=",
		(long long)e->ppid, (long long)e->uid, t->flags, t->mode, t->sev, t->action,
		t->cwe);
	put_value(m, *t->cid ? t->cid : "host");
	fputc(')', m);
	fclose(m);
	return out;
}

static json_object *finding_fields(const struct finding_text *t, const struct tg_report *r)
{
	const struct tg_event *e = r->e;
	json_object *f = json_object_new_object();
	char advice[TG_ADVICE_AT_LEN], site[2048];

	add_str(f, "evt.type", tg_syscall_name(e->syscall));
	add_str(f, "evt.arg.flags", t->flags);
	add_str(f, "evt.arg.mode", t->mode);
	add_str(f, "proc.name", t->comm);
	add_int(f, "proc.pid", e->pid);
	add_int(f, "proc.ppid", e->ppid);
	add_str(f, "proc.pname", t->pcomm);
	add_str(f, "proc.exepath", t->exe);
	add_str(f, "proc.cmdline", t->cmdline);
	add_str(f, "user.name", t->user);
	add_int(f, "user.uid", e->uid);
	add_str(f, "fd.name", t->path);
	add_str(f, "container.id", *t->cid ? t->cid : "host");
	add_str(f, "tmpguard.rule", t->rule);
	add_str(f, "tmpguard.severity", t->sev);
	add_str(f, "tmpguard.action", t->action);
	add_str(f, "tmpguard.cwe", t->cwe);
	add_str(f, "tmpguard.why", tg_rule_why(r->finding.rule));
	add_str(f, "tmpguard.language", tg_lang_name(r->lang));
	add_str(f, "tmpguard.advice", tg_report_advice(r, advice, sizeof(advice)));
	if (r->callsite && tg_callsite_text(r->callsite, site, sizeof(site)) > 0)
		add_str(f, "tmpguard.call_site", site);
	add_str(f, "tmpguard.resolved_name", t->name);
	add_str(f, "tmpguard.file_mode", t->file_mode);
	add_int(f, "tmpguard.file_uid", e->file_uid);
	add_bool(f, "tmpguard.created", e->facts & TG_F_CREATED);
	add_bool(f, "tmpguard.symlink_followed",
		 e->kind == TG_KIND_OPEN && tg_symlink_followed(e, &r->dir));
	add_bool(f, "tmpguard.path_changed", e->facts & TG_F_PATH_CHANGED);
	add_bool(f, "tmpguard.path_mismatch", tg_path_mismatch(e, &r->dir));
	add_int(f, "tmpguard.count", (int64_t)r->count);
	add_str(f, "tmpguard.pattern", t->pattern);
	return f;
}

json_object *tg_falco_finding(const struct tg_report *r)
{
	int64_t t_ns = tg_report_time_ns(r);
	const char *tags[TG_FALCO_TAGS];
	struct finding_text t;
	json_object *o = NULL;
	size_t nt = 0;
	char *out;

	/* Falcosidekick drops an event whose time is zero or before the epoch. */
	if (t_ns <= 0 || !tg_falco_priority(tg_severity_name(r->finding.severity)))
		return NULL;
	if (finding_text(&t, r, t_ns) || !(out = finding_output(&t, r))) {
		finding_text_free(&t);
		return NULL;
	}
	tags[nt++] = "filesystem";
	tags[nt++] = TG_FALCO_SOURCE;
	tags[nt++] = *t.cid ? "container" : "host";
	for (size_t i = 0; t.ri && i < TG_RULE_FALCO_TAGS; i++)
		tags[nt++] = t.ri->falco_tags[i];
	for (size_t i = 0; i < t.ncwe && nt < TG_FALCO_TAGS; i++)
		tags[nt++] = t.cwes[i];
	o = event(t.time, t_ns, t.host, t.rname, t.prio, out, tags_json(tags, nt),
		  finding_fields(&t, r));
	free(out);
	finding_text_free(&t);
	return o;
}

/* ---- loss, session, summary ---- */

json_object *tg_falco_loss(const struct tg_loss *l)
{
	json_object *f, *o;
	const char *tags[] = {TG_FALCO_SOURCE};
	char t[64], from[64], to[64], *out = NULL, *host;

	if (l->time_ns <= 0)
		return NULL;
	tg_format_time(l->time_ns, t, sizeof(t));
	tg_format_time(l->from_ns, from, sizeof(from));
	tg_format_time(l->to_ns, to, sizeof(to));
	if (asprintf(&out,
		     "%s: Warning tmpguard records lost: the kernel could not deliver %lld records "
		     "(ring buffer full) between %s and %s (lost=%lld lost_total=%lld)",
		     t, (long long)l->lost, from, to, (long long)l->lost,
		     (long long)l->lost_total) < 0)
		return NULL;
	f = json_object_new_object();
	add_int(f, "tmpguard.lost", (int64_t)l->lost);
	add_int(f, "tmpguard.lost_total", (int64_t)l->lost_total);
	add_str(f, "tmpguard.loss_from", from);
	add_str(f, "tmpguard.loss_to", to);
	host = json_text(l->host, strlen(l->host));
	o = event(t, l->time_ns, host, "tmpguard records lost", "Warning", out, tags_json(tags, 1),
		  f);
	free(host);
	free(out);
	return o;
}

json_object *tg_falco_session(const struct tg_session_info *s)
{
	json_object *f, *o;
	const char *tags[] = {TG_FALCO_SOURCE};
	char t[64], *out = NULL, *host, *policy;

	if (s->time_ns <= 0)
		return NULL;
	tg_format_time(s->time_ns, t, sizeof(t));
	host = json_text(s->host, strlen(s->host));
	policy = json_text(s->policy, strlen(s->policy));
	if (!policy ||
	    asprintf(&out,
		     "%s: Informational tmpguard session started (version=%s pid=%lld scope=%s "
		     "enforcement=%s policy=%s hooks=%zu)",
		     t, s->version, (long long)s->pid, s->scope, s->enforcement, policy,
		     s->n_hooks) < 0) {
		free(host);
		free(policy);
		return NULL;
	}
	f = json_object_new_object();
	add_str(f, "tmpguard.version", s->version);
	add_int(f, "tmpguard.pid", s->pid);
	add_str(f, "tmpguard.scope", s->scope);
	add_str(f, "tmpguard.enforcement", s->enforcement);
	add_str(f, "tmpguard.policy", policy);
	add_int(f, "tmpguard.hooks", (int64_t)s->n_hooks);
	o = event(t, s->time_ns, host, "tmpguard session started", "Informational", out,
		  tags_json(tags, 1), f);
	free(host);
	free(policy);
	free(out);
	return o;
}

json_object *tg_falco_summary(const struct tg_summary *s)
{
	const uint64_t *sev = s->by_severity;
	const char *tags[] = {TG_FALCO_SOURCE};
	const char *prio = s->events.lost ? "Warning" : "Informational";
	char t[64], started[64], *out = NULL, *host;
	json_object *f, *o;

	if (s->time_ns <= 0)
		return NULL;
	tg_format_time(s->time_ns, t, sizeof(t));
	tg_format_time(s->started_ns, started, sizeof(started));
	if (asprintf(&out,
		     "%s: %s tmpguard session summary (findings=%lld critical=%lld high=%lld "
		     "medium=%lld low=%lld lost=%lld started=%s)",
		     t, prio, (long long)s->findings, (long long)sev[TG_SEV_CRITICAL],
		     (long long)sev[TG_SEV_HIGH], (long long)sev[TG_SEV_MEDIUM],
		     (long long)sev[TG_SEV_LOW], (long long)s->events.lost, started) < 0)
		return NULL;
	f = json_object_new_object();
	add_int(f, "tmpguard.findings", (int64_t)s->findings);
	add_int(f, "tmpguard.findings_critical", (int64_t)sev[TG_SEV_CRITICAL]);
	add_int(f, "tmpguard.findings_high", (int64_t)sev[TG_SEV_HIGH]);
	add_int(f, "tmpguard.findings_medium", (int64_t)sev[TG_SEV_MEDIUM]);
	add_int(f, "tmpguard.findings_low", (int64_t)sev[TG_SEV_LOW]);
	add_int(f, "tmpguard.lost", (int64_t)s->events.lost);
	add_str(f, "tmpguard.started", started);
	host = json_text(s->host, strlen(s->host));
	o = event(t, s->time_ns, host, "tmpguard session summary", prio, out, tags_json(tags, 1),
		  f);
	free(host);
	free(out);
	return o;
}

/* The producer stopped delivering records (an Error: tmpguard is blind until it recovers), or
 * works again (a Notice). The reason is tmpguard's own words, through put_value(). */
json_object *tg_falco_health(const struct tg_health *h)
{
	const char *tags[] = {TG_FALCO_SOURCE};
	bool bad = h->status && !strcmp(h->status, "unhealthy");
	const char *prio = bad ? "Error" : "Notice";
	char t[64], rule[64], *out = NULL, *host, *reason;
	json_object *f, *o;
	FILE *m;
	size_t n;

	if (h->time_ns <= 0 || !h->status)
		return NULL;
	tg_format_time(h->time_ns, t, sizeof(t));
	snprintf(rule, sizeof(rule), "tmpguard producer %s", bad ? "unhealthy" : "recovered");
	reason = json_text(h->reason ? h->reason : "", h->reason ? strlen(h->reason) : 0);
	if (!reason || !(m = open_memstream(&out, &n))) {
		free(reason);
		return NULL;
	}
	fprintf(m, "%s: %s %s (status=%s reason=", t, prio, rule, h->status);
	put_value(m, reason);
	fputc(')', m);
	fclose(m);
	f = json_object_new_object();
	add_str(f, "tmpguard.status", h->status);
	add_str(f, "tmpguard.reason", reason);
	host = json_text(h->host ? h->host : "", h->host ? strlen(h->host) : 0);
	o = event(t, h->time_ns, host, rule, prio, out, tags_json(tags, 1), f);
	free(host);
	free(reason);
	free(out);
	return o;
}

json_object *tg_falco_record(const struct tg_record *rec)
{
	if (!rec)
		return NULL;
	switch (rec->kind) {
	case TG_RECORD_FINDING:
		return tg_falco_finding(rec->finding);
	case TG_RECORD_SESSION:
		return tg_falco_session(rec->session);
	case TG_RECORD_LOSS:
		return tg_falco_loss(rec->loss);
	case TG_RECORD_SUMMARY:
		return tg_falco_summary(rec->summary);
	case TG_RECORD_HEALTH:
		return tg_falco_health(rec->health);
	}
	return NULL;
}
