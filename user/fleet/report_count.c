// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Findings counted into the report's model: the tables keyed by one or two strings (rule,
 * executable, host, container, offender, path pattern, advice, CWE), each finding once however
 * many inputs hold it, and the findings kept whole for the per-finding formats (csv, sarif).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "finding_csv.h"
#include "report_int.h"
#include "util/hash.h"
#include "util/json_util.h"

/* ---- tables: rows keyed by one or two strings, open addressing ---- */

static uint64_t hash2(const char *a, const char *b)
{
	uint64_t h = tg_fnv1a_str(TG_FNV1A_BASIS_REPORT, a);

	return tg_fnv1a_str(tg_fnv1a_step(h, TG_FNV1A_SEP), b);
}

static bool row_is(const struct tg_rpt_row *w, const char *key, const char *key2)
{
	return !strcmp(w->key, key) && (w->key2 ? key2 && !strcmp(w->key2, key2) : !key2);
}

static size_t *find_slot(const struct tg_rpt_table *t, const char *key, const char *key2)
{
	size_t i = hash2(key, key2) & (t->n_slots - 1);

	while (t->slots[i] && !row_is(&t->rows[t->slots[i] - 1], key, key2))
		i = (i + 1) & (t->n_slots - 1);
	return &t->slots[i];
}

const struct tg_rpt_row *tg_rpt_table_get(const struct tg_rpt_table *t, const char *key,
					  const char *key2)
{
	if (!t->n_slots)
		return NULL;
	size_t *s = find_slot(t, key, key2);

	return *s ? &t->rows[*s - 1] : NULL;
}

static int rehash(struct tg_rpt_table *t, size_t n_slots)
{
	size_t *s = calloc(n_slots, sizeof(*s));

	if (!s)
		return -ENOMEM;
	free(t->slots);
	t->slots = s;
	t->n_slots = n_slots;
	for (size_t i = 0; i < t->n; i++)
		*find_slot(t, t->rows[i].key, t->rows[i].key2) = i + 1;
	return 0;
}

/* The row for (key, key2), created empty if new; *created says which. NULL on ENOMEM. */
struct tg_rpt_row *rpt_table_row(struct tg_rpt *r, struct tg_rpt_table *t, const char *key,
				 const char *key2, bool *created)
{
	struct tg_rpt_row *w;
	size_t *slot;

	if (created)
		*created = false;
	if (!key || r->failed)
		return NULL;
	if ((t->n + 1) * 2 > t->n_slots && rehash(t, t->n_slots ? t->n_slots * 2 : 64)) {
		r->failed = true;
		return NULL;
	}
	slot = find_slot(t, key, key2);
	if (*slot)
		return &t->rows[*slot - 1];
	w = rpt_grow(r, t->rows, &t->cap, t->n + 1, sizeof(*t->rows));
	if (!w)
		return NULL;
	t->rows = w;
	w = &t->rows[t->n];
	*w = (struct tg_rpt_row){.first_ns = TG_RPT_NOTIME, .last_ns = TG_RPT_NOTIME, .worst = -1};
	w->key = rpt_dup(r, key);
	w->key2 = key2 ? rpt_dup(r, key2) : NULL;
	if (r->failed)
		return NULL;
	*slot = ++t->n;
	if (created)
		*created = true;
	return w;
}

static void row_count(struct tg_rpt_row *w, int sev, int rule, int64_t t)
{
	if (!w)
		return;
	w->n++;
	w->sev[sev]++;
	w->rule[rule]++;
	if (sev > w->worst)
		w->worst = sev;
	if (w->first_ns == TG_RPT_NOTIME || t < w->first_ns)
		w->first_ns = t;
	if (w->last_ns == TG_RPT_NOTIME || t > w->last_ns)
		w->last_ns = t;
}

/* Counts one finding in the row (key, key2); text is set when the row is new. */
void rpt_count_in(struct tg_rpt *r, struct tg_rpt_table *t, const char *key, const char *key2,
		  const char *text, int sev, int rule, int64_t time)
{
	bool created;
	struct tg_rpt_row *w = rpt_table_row(r, t, key, key2, &created);

	if (w && created && text)
		w->text = rpt_dup(r, text);
	row_count(w, sev, rule, time);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct tg_rpt_row *x = a, *y = b;
	int c;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	c = strcmp(x->key, y->key);
	if (c)
		return c;
	return strcmp(x->key2 ? x->key2 : "", y->key2 ? y->key2 : "");
}

int tg_rpt_table_sort(struct tg_rpt_table *t)
{
	if (!t->n)
		return 0;
	qsort(t->rows, t->n, sizeof(*t->rows), cmp_rows);
	return rehash(t, t->n_slots);
}

void rpt_table_free(struct tg_rpt_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rows[i].key);
		free(t->rows[i].key2);
		free(t->rows[i].text);
	}
	free(t->rows);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ---- findings ---- */

static void keep_times(struct tg_rpt *r, int64_t t, int sev)
{
	struct tg_rpt_stamp *p = rpt_grow(r, r->times, &r->cap_times, r->n_times + 1, sizeof(*p));

	if (!p)
		return;
	r->times = p;
	r->times[r->n_times++] = (struct tg_rpt_stamp){t, sev};
}

/* The parent chain as one line, "812 bash < 1 systemd" (parent first). */
static char *ancestry_text(struct tg_rpt *r, json_object *o, json_object *esc)
{
	json_object *a = tg_json_get(o, "ancestry");
	size_t n = tg_json_array_len(a);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		r->failed = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(a, i);
		char *comm = rpt_str_field(r, x, "comm", esc, "?");

		fprintf(f, "%s%lld %s", i ? " < " : "", (long long)tg_json_int(x, "pid", -1),
			comm ? comm : "?");
		free(comm);
	}
	if (n && tg_json_bool(o, "ancestry_truncated", -1) == 1)
		fputs(" < ...", f);
	if (fclose(f)) {
		free(buf);
		r->failed = true;
		return NULL;
	}
	return buf;
}

/* The record's call_site, when it has one. */
static void keep_callsite(struct tg_rpt *r, struct tg_rpt_finding *f, json_object *cs,
			  json_object *esc)
{
	json_object *off = tg_json_get(cs, "offset");

	f->cs_kind = rpt_dup(r, cs ? tg_json_str(cs, "kind", "none") : "");
	f->cs_module = rpt_str_field(r, cs, "module", esc, "");
	f->cs_function = rpt_str_field(r, cs, "function", esc, "");
	f->cs_file = rpt_str_field(r, cs, "file", esc, "");
	f->cs_command = rpt_str_field(r, cs, "command", esc, "");
	f->cs_line = cs ? tg_json_int(cs, "line", 0) : 0;
	/* An integer, or a string in hex ("0x4a2f"), as a native frame's offset is written */
	if (off && json_object_is_type(off, json_type_string)) {
		const char *t = json_object_get_string(off);
		char *end = NULL;
		unsigned long long v;

		errno = 0;
		v = strtoull(t, &end, 16);
		f->cs_offset = !errno && end != t && !*end && v <= INT64_MAX ? (long long)v : -1;
	} else {
		f->cs_offset = off ? tg_json_int(cs, "offset", -1) : -1;
	}
}

static void keep_finding(struct tg_rpt *r, json_object *o, json_object *esc, int64_t t, int sev,
			 int rule, const char *host, const char *exe, const char *path)
{
	json_object *proc = tg_json_get(o, "proc"), *cwe = tg_json_get(o, "cwe");
	struct tg_rpt_finding *f =
		rpt_grow(r, r->findings, &r->cap_findings, r->n_findings + 1, sizeof(*f));
	char buf[256] = "";
	size_t n = tg_json_array_len(cwe);

	if (!f)
		return;
	r->findings = f;
	f = &r->findings[r->n_findings++];
	*f = (struct tg_rpt_finding){.time_ns = t, .sev = sev, .rule = rule};
	for (size_t i = 0; i < n; i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(cwe, i));

		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
			 c ? c : "");
	}
	f->pid = tg_json_int(proc, "pid", -1);
	f->ppid = tg_json_int(proc, "ppid", -1);
	f->uid = tg_json_int(proc, "uid", -1);
	f->count = tg_json_int(o, "count", 1);
	f->host = rpt_dup(r, host);
	f->rule_id = rpt_dup(r, tg_json_str(o, "rule", NULL));
	f->action = rpt_dup(r, tg_json_str(o, "action", "alert"));
	f->exe = rpt_dup(r, exe);
	f->comm = rpt_str_field(r, proc, "comm", esc, "");
	f->user = rpt_str_field(r, proc, "user", esc, "");
	f->cmdline = rpt_str_field(r, proc, "cmdline", esc, "");
	f->path = rpt_dup(r, path);
	f->pattern = rpt_str_field(r, o, "pattern", esc, "");
	f->syscall = rpt_dup(r, tg_json_str(o, "syscall", NULL));
	f->language = rpt_dup(r, tg_json_str(o, "language", NULL));
	f->advice = rpt_dup(r, tg_json_str(o, "advice", NULL));
	f->why = rpt_dup(r, tg_json_str(o, "why", tg_rule_why((enum tg_rule)rule)));
	f->cwe = rpt_dup(r, n ? buf : tg_rule_cwe((enum tg_rule)rule));
	f->ancestry = ancestry_text(r, o, esc);
	f->container_id = rpt_dup(r, tg_json_str(proc, "container_id", NULL));
	f->container_runtime = rpt_dup(r, tg_json_str(proc, "container_runtime", NULL));
	f->csv = tg_finding_csv_row(o);
	if (!f->csv)
		r->failed = true;
	keep_callsite(r, f, tg_json_get(o, "call_site"), esc);
}

static bool in_period(const struct tg_rpt *r, int64_t t)
{
	return (r->opts.since_ns == TG_RPT_NOTIME || t >= r->opts.since_ns) &&
	       (r->opts.until_ns == TG_RPT_NOTIME || t <= r->opts.until_ns);
}

/* One identity per finding: the same record read from two inputs counts once. False for a
 * duplicate, and when out of memory (r->failed). */
static bool first_seen(struct tg_rpt *r, json_object *o, json_object *proc, const char *host,
		       const char *path, const char *rule_id)
{
	char *key;
	bool created;

	if (asprintf(&key, "%zu:%s|%s|%lld|%lld|%zu:%s|%s", strlen(host), host,
		     tg_json_str(o, "time", NULL), (long long)tg_json_int(proc, "pid", -1),
		     (long long)tg_json_int(proc, "tid", -1), strlen(path), path, rule_id) < 0) {
		r->failed = true;
		return false;
	}
	rpt_table_row(r, &r->seen, key, NULL, &created);
	free(key);
	if (r->failed)
		return false;
	if (!created)
		r->inputs[r->n_inputs - 1].duplicates++;
	return created;
}

/* The finding's CWEs counted, and listed in cwes ("CWE-377, CWE-59"): the record's, or for
 * older records without "cwe" the rule's own. */
static void count_cwes(struct tg_rpt *r, json_object *o, int sev, int rule, int64_t t, char *cwes,
		       size_t size)
{
	json_object *cwe = tg_json_get(o, "cwe");
	size_t n = tg_json_array_len(cwe);

	for (size_t i = 0; i < n; i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(cwe, i));

		if (!c)
			continue;
		snprintf(cwes + strlen(cwes), size - strlen(cwes), "%s%s", *cwes ? ", " : "", c);
		rpt_count_in(r, &r->cwe, c, NULL, NULL, sev, rule, t);
	}
	if (!n && rule < TG_RULE_MAX) {
		char buf[64], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", tg_rule_cwe(rule));
		for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			snprintf(cwes + strlen(cwes), size - strlen(cwes), "%s%s",
				 *cwes ? ", " : "", c);
			rpt_count_in(r, &r->cwe, c, NULL, NULL, sev, rule, t);
		}
	}
}

void rpt_add_finding(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	json_object *proc = tg_json_get(o, "proc"), *esc = tg_json_get(o, "escaped_fields");
	struct tg_rpt_session *s = session >= 0 ? &r->sessions[session] : NULL;
	const char *rule_id = tg_json_str(o, "rule", NULL), *advice;
	int64_t t = rpt_get_time(o, "time");
	int sev = tg_severity_parse(tg_json_str(o, "severity", NULL));
	char *host = NULL, *exe = NULL, *path = NULL, *pattern = NULL, cwes[256] = "";
	int rule;

	if (t == TG_RPT_NOTIME || !rule_id || sev < 0) {
		rpt_invalid(r, where,
			    t == TG_RPT_NOTIME ? "a finding without a valid time"
			    : !rule_id	       ? "a finding without a rule"
					       : "a finding without a known severity");
		return;
	}
	if (s)
		rpt_touch(s, t);
	if (!in_period(r, t))
		return;
	host = rpt_str_field(r, o, "host", esc, s ? s->host : "unknown");
	exe = rpt_str_field(r, proc, "exe", esc, "");
	path = rpt_str_field(r, o, "path", esc, "");
	if (r->failed || !first_seen(r, o, proc, host, path, rule_id))
		goto out;

	rule = tg_rule_parse(rule_id);
	if (rule < 0)
		rule = TG_RULE_MAX;
	count_cwes(r, o, sev, rule, t, cwes, sizeof(cwes));
	r->total++;
	r->by_sev[sev]++;
	if (r->first_ns == TG_RPT_NOTIME || t < r->first_ns)
		r->first_ns = t;
	if (r->last_ns == TG_RPT_NOTIME || t > r->last_ns)
		r->last_ns = t;
	keep_times(r, t, sev);
	rpt_count_in(r, &r->by_rule, rule_id, NULL, cwes, sev, rule, t);
	rpt_count_in(r, &r->by_exe, exe, NULL, NULL, sev, rule, t);
	rpt_count_in(r, &r->by_host, host, NULL, NULL, sev, rule, t);
	pattern = rpt_str_field(r, o, "pattern", esc, path);
	rpt_count_in(r, &r->offenders, exe, host, pattern, sev, rule, t);
	rpt_count_in(r, &r->by_pattern, pattern, NULL, NULL, sev, rule, t);
	rpt_count_in(r, &r->by_container, tg_json_str(proc, "container_id", ""), NULL,
		     tg_json_str(proc, "container_runtime", NULL), sev, rule, t);
	advice = tg_json_str(o, "advice", NULL);
	if (advice)
		rpt_count_in(r, &r->advice, rule_id, tg_json_str(o, "language", "c"), advice, sev,
			     rule, t);
	if (s)
		s->findings++;
	if (r->opts.keep_findings)
		keep_finding(r, o, esc, t, sev, rule, host, exe, path);
out:
	free(host);
	free(exe);
	free(path);
	free(pattern);
}
