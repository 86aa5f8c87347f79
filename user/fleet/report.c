// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report model: records in, one merged report out (see report.h). Pure: no I/O.
 *
 * Sessions. In a store every row names its session. In JSON lines order decides: a session
 * record opens one, a summary closes it (a clean stop), and findings and losses belong to the
 * one they follow. Output of tmpguard before session records existed has none: its findings
 * open an implicit session, closed by the summary. A session still open at the end of its
 * input never stopped cleanly (crash, kill -9, or still running), so nothing is known after its
 * last record: the report says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"
#include "util/hash.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define NSEC	 1000000000LL
#define HOUR_NS	 (3600 * NSEC)
#define DAY_NS	 (24 * HOUR_NS)
#define WEEK_NS	 (7 * DAY_NS)
#define MAX_BARS 400 /* trend buckets at most; longer periods get wider buckets */

const char *const tg_rpt_sysctl_names[TG_RPT_NSYSCTL] = {
	"fs.protected_symlinks",
	"fs.protected_regular",
	"fs.protected_fifos",
	"fs.protected_hardlinks",
};

/* ---- small helpers ---- */

static char *dup(struct tg_rpt *r, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		r->failed = true;
	return d;
}

static void *grow(struct tg_rpt *r, void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	q = realloc(p, n * size);
	if (!q) {
		r->failed = true;
		return NULL;
	}
	*cap = n;
	return q;
}

static void add_gap(struct tg_rpt *r, const char *fmt, ...)
{
	size_t cap = r->n_gaps; /* exact: gaps are few */
	char **g, *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		va_end(ap);
		r->failed = true;
		return;
	}
	va_end(ap);
	g = realloc(r->gaps, (cap + 1) * sizeof(*g));
	if (!g) {
		free(s);
		r->failed = true;
		return;
	}
	r->gaps = g;
	r->gaps[r->n_gaps++] = s;
}

static int64_t get_time(json_object *o, const char *key)
{
	const char *s = tg_json_str(o, key, NULL);
	int64_t t;

	return s && !tg_parse_rfc3339(s, &t) ? t : TG_RPT_NOTIME;
}

static bool listed(json_object *arr, const char *key)
{
	size_t n = tg_json_array_len(arr);

	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (s && !strcmp(s, key))
			return true;
	}
	return false;
}

bool tg_rpt_unescape_lossless(char *s)
{
	char *w = s;
	const char *p;

	/* Check first, so that s is left alone when it is not in that form. */
	for (p = s; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] == '\\') {
			p++;
			continue;
		}
		if (p[1] != 'x' || !p[2] || !strchr("0123456789abcdef", p[2]) || !p[3] ||
		    !strchr("0123456789abcdef", p[3]) || (p[2] == '0' && p[3] == '0'))
			return false;
		p += 3;
	}
	for (p = s; *p; p++) {
		if (*p != '\\') {
			*w++ = *p;
		} else if (p[1] == '\\') {
			*w++ = '\\';
			p++;
		} else {
			*w++ = (char)strtol((char[]){p[2], p[3], 0}, NULL, 16);
			p += 3;
		}
	}
	*w = 0;
	return true;
}

/* A string field as bytes: decoded when the record lists it in escaped_fields. */
static char *str_field(struct tg_rpt *r, json_object *o, const char *key, json_object *escaped,
		       const char *dflt)
{
	const char *s = tg_json_str(o, key, NULL);
	char *out = dup(r, s ? s : dflt);

	if (out && s && listed(escaped, key))
		tg_rpt_unescape_lossless(out);
	return out;
}

void tg_rpt_time(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / NSEC - (ns % NSEC < 0));
	struct tm tm;

	if (ns == TG_RPT_NOTIME || !gmtime_r(&sec, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

void tg_rpt_duration(int64_t ns, char *buf, size_t len)
{
	int64_t s = ns / NSEC;

	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (ns >= 10 * NSEC || ns % NSEC == 0)
		snprintf(buf, len, "%llds", (long long)s);
	else
		snprintf(buf, len, "%.1fs", (double)ns / NSEC); /* a short run is not "0s" */
}

void tg_rpt_change(uint64_t first, uint64_t second, char *buf, size_t len)
{
	if (!first)
		snprintf(buf, len, "%s", second ? "new" : "none");
	else
		snprintf(buf, len, "%+.0f%%", ((double)second - (double)first) * 100.0 / first);
}

const char *tg_rpt_bucket_name(enum tg_rpt_bucket b)
{
	return b == TG_RPT_HOUR ? "hour" : b == TG_RPT_DAY ? "day" : "week";
}

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
static struct tg_rpt_row *table_row(struct tg_rpt *r, struct tg_rpt_table *t, const char *key,
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
	w = grow(r, t->rows, &t->cap, t->n + 1, sizeof(*t->rows));
	if (!w)
		return NULL;
	t->rows = w;
	w = &t->rows[t->n];
	*w = (struct tg_rpt_row){.first_ns = TG_RPT_NOTIME, .last_ns = TG_RPT_NOTIME, .worst = -1};
	w->key = dup(r, key);
	w->key2 = key2 ? dup(r, key2) : NULL;
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
static void count_in(struct tg_rpt *r, struct tg_rpt_table *t, const char *key, const char *key2,
		     const char *text, int sev, int rule, int64_t time)
{
	bool created;
	struct tg_rpt_row *w = table_row(r, t, key, key2, &created);

	if (w && created && text)
		w->text = dup(r, text);
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

static void table_free(struct tg_rpt_table *t)
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

/* ---- sessions ---- */

static struct tg_rpt_session *new_session(struct tg_rpt *r, const char *host)
{
	struct tg_rpt_session *s =
		grow(r, r->sessions, &r->cap_sessions, r->n_sessions + 1, sizeof(*r->sessions));

	if (!s)
		return NULL;
	r->sessions = s;
	s = &r->sessions[r->n_sessions];
	*s = (struct tg_rpt_session){
		.input = r->n_inputs - 1,
		.start_ns = TG_RPT_NOTIME,
		.end_ns = TG_RPT_NOTIME,
	};
	for (int i = 0; i < TG_RPT_NSYSCTL; i++)
		s->posture.sysctl[i] = -1;
	s->host = dup(r, host);
	if (r->failed)
		return NULL;
	r->n_sessions++;
	return s;
}

/* A record of session s happened at t: widen what is known of its span. */
static void touch(struct tg_rpt_session *s, int64_t t)
{
	if (t == TG_RPT_NOTIME)
		return;
	if (!s->has_record && (s->start_ns == TG_RPT_NOTIME || t < s->start_ns))
		s->start_ns = t;
	if (!s->end_recorded && (s->end_ns == TG_RPT_NOTIME || t > s->end_ns))
		s->end_ns = t;
}

static void read_posture(struct tg_rpt *r, struct tg_rpt_posture *p, json_object *o)
{
	json_object *sys = tg_json_get(o, "sysctls"), *mounts = tg_json_get(o, "mounts");
	size_t n;

	if (!o || !json_object_is_type(o, json_type_object))
		return;
	p->known = true;
	for (int i = 0; i < TG_RPT_NSYSCTL; i++)
		p->sysctl[i] = tg_json_int(sys, tg_rpt_sysctl_names[i], -1);
	if (!mounts || !json_object_is_type(mounts, json_type_array))
		return;
	n = json_object_array_length(mounts);
	p->mounts = calloc(n ? n : 1, sizeof(*p->mounts));
	if (!p->mounts) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		struct tg_rpt_mount *d = &p->mounts[p->n_mounts];

		if (!json_object_is_type(m, json_type_object))
			continue;
		d->path = dup(r, tg_json_str(m, "path", NULL));
		d->fstype = dup(r, tg_json_str(m, "fstype", NULL));
		d->options = dup(r, tg_json_str(m, "options", NULL));
		d->mode = dup(r, tg_json_str(m, "mode", NULL));
		d->mount_point = dup(r, tg_json_str(m, "mount_point", NULL));
		d->separate = tg_json_bool(m, "separate", -1);
		d->exists = tg_json_bool(m, "exists", -1);
		p->n_mounts++;
	}
}

static void set_exceptions(struct tg_rpt_session *s, json_object *x, bool counts)
{
	if (!x || !json_object_is_type(x, json_type_array))
		return;
	json_object_put(s->exceptions);
	s->exceptions = json_object_get(x);
	s->exception_counts = counts;
}

static void session_record(struct tg_rpt *r, struct tg_rpt_session *s, json_object *o)
{
	json_object *hooks = tg_json_get(o, "hooks");
	const char *version = tg_json_str(o, "version", NULL);
	const char *policy = tg_json_str(o, "policy", NULL);
	const char *enforcement = tg_json_str(o, "enforcement", NULL);
	size_t n = tg_json_array_len(hooks);

	s->has_record = true;
	s->start_ns = get_time(o, "time");
	s->version = version ? dup(r, version) : NULL;
	s->policy = policy ? dup(r, policy) : NULL;
	s->enforcement = enforcement ? dup(r, enforcement) : NULL;
	s->tree_only = !strcmp(tg_json_str(o, "scope", ""), "process-tree");
	s->hooks = calloc(n ? n : 1, sizeof(*s->hooks));
	if (!s->hooks) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(hooks, i));

		if (h)
			s->hooks[s->n_hooks++] = dup(r, h);
	}
	read_posture(r, &s->posture, tg_json_get(o, "posture"));
	set_exceptions(s, tg_json_get(o, "exceptions"), false);
}

static void session_summary(struct tg_rpt *r, struct tg_rpt_session *s, json_object *o)
{
	json_object *ev = tg_json_get(o, "events");
	int64_t t = get_time(o, "time");

	s->has_summary = true;
	s->clean = true;
	/* Summaries since session records say when the run started, too. */
	if (!s->has_record && get_time(o, "started") != TG_RPT_NOTIME)
		s->start_ns = get_time(o, "started");
	if (t != TG_RPT_NOTIME) {
		s->end_ns = t;
		s->end_recorded = true;
		if (s->start_ns == TG_RPT_NOTIME)
			s->start_ns = t;
	}
	if (!s->policy && tg_json_str(o, "policy", NULL))
		s->policy = dup(r, tg_json_str(o, "policy", NULL));
	set_exceptions(s, tg_json_get(o, "exceptions"), true);
	s->lost_summary = (uint64_t)tg_json_int(ev, "lost", 0);
	s->not_printed = (uint64_t)tg_json_int(ev, "repeats_not_printed", 0);
	s->forks_untracked = (uint64_t)tg_json_int(ev, "forks_untracked", 0);
	s->unresolved = (uint64_t)tg_json_int(ev, "unresolved", 0);
	s->over_budget = (uint64_t)tg_json_int(ev, "over_budget", 0);
	s->malformed = (uint64_t)tg_json_int(ev, "malformed", 0);
	s->commit_failures = (uint64_t)tg_json_int(tg_json_get(o, "store"), "commit_failures", 0);
	s->records_failed = (uint64_t)tg_json_int(tg_json_get(o, "output"), "records_failed", 0);
	s->hidden_by_replaced = (uint64_t)tg_json_int(o, "suppressed_by_earlier_policies", 0);
}

/* ---- records ---- */

static void invalid(struct tg_rpt *r, uint64_t where, const char *why)
{
	struct tg_rpt_input *in = &r->inputs[r->n_inputs - 1];

	if (!in->invalid++) {
		in->first_invalid = where;
		in->invalid_why = why;
	}
}

static void keep_times(struct tg_rpt *r, int64_t t, int sev)
{
	struct tg_rpt_stamp *p = grow(r, r->times, &r->cap_times, r->n_times + 1, sizeof(*p));

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
		char *comm = str_field(r, x, "comm", esc, "?");

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

static void keep_finding(struct tg_rpt *r, json_object *o, json_object *esc, int64_t t, int sev,
			 int rule, const char *host, const char *exe, const char *path)
{
	json_object *proc = tg_json_get(o, "proc"), *cwe = tg_json_get(o, "cwe");
	struct tg_rpt_finding *f =
		grow(r, r->findings, &r->cap_findings, r->n_findings + 1, sizeof(*f));
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
	f->host = dup(r, host);
	f->rule_id = dup(r, tg_json_str(o, "rule", NULL));
	f->action = dup(r, tg_json_str(o, "action", "alert"));
	f->exe = dup(r, exe);
	f->comm = str_field(r, proc, "comm", esc, "");
	f->user = str_field(r, proc, "user", esc, "");
	f->cmdline = str_field(r, proc, "cmdline", esc, "");
	f->path = dup(r, path);
	f->pattern = str_field(r, o, "pattern", esc, "");
	f->syscall = dup(r, tg_json_str(o, "syscall", NULL));
	f->language = dup(r, tg_json_str(o, "language", NULL));
	f->advice = dup(r, tg_json_str(o, "advice", NULL));
	f->why = dup(r, tg_json_str(o, "why", tg_rule_why((enum tg_rule)rule)));
	f->cwe = dup(r, n ? buf : tg_rule_cwe((enum tg_rule)rule));
	f->ancestry = ancestry_text(r, o, esc);
	f->container_id = dup(r, tg_json_str(proc, "container_id", NULL));
	f->container_runtime = dup(r, tg_json_str(proc, "container_runtime", NULL));
}

static bool in_period(const struct tg_rpt *r, int64_t t)
{
	return (r->opts.since_ns == TG_RPT_NOTIME || t >= r->opts.since_ns) &&
	       (r->opts.until_ns == TG_RPT_NOTIME || t <= r->opts.until_ns);
}

static void add_finding(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	json_object *proc = tg_json_get(o, "proc"), *esc = tg_json_get(o, "escaped_fields"), *cwe;
	struct tg_rpt_session *s = session >= 0 ? &r->sessions[session] : NULL;
	const char *rule_id = tg_json_str(o, "rule", NULL), *advice;
	int64_t t = get_time(o, "time");
	int sev = tg_severity_parse(tg_json_str(o, "severity", NULL));
	char *host = NULL, *exe = NULL, *path = NULL, *pattern = NULL, *key = NULL, cwes[256] = "";
	bool created;
	int rule;
	size_t n;

	if (t == TG_RPT_NOTIME || !rule_id || sev < 0) {
		invalid(r, where,
			t == TG_RPT_NOTIME ? "a finding without a valid time"
			: !rule_id	   ? "a finding without a rule"
					   : "a finding without a known severity");
		return;
	}
	if (s)
		touch(s, t);
	if (!in_period(r, t))
		return;
	host = str_field(r, o, "host", esc, s ? s->host : "unknown");
	exe = str_field(r, proc, "exe", esc, "");
	path = str_field(r, o, "path", esc, "");
	if (r->failed)
		goto out;
	/* One identity per finding: the same record read from two inputs counts once. */
	if (asprintf(&key, "%zu:%s|%s|%lld|%lld|%zu:%s|%s", strlen(host), host,
		     tg_json_str(o, "time", NULL), (long long)tg_json_int(proc, "pid", -1),
		     (long long)tg_json_int(proc, "tid", -1), strlen(path), path, rule_id) < 0) {
		key = NULL;
		r->failed = true;
		goto out;
	}
	table_row(r, &r->seen, key, NULL, &created);
	if (r->failed)
		goto out;
	if (!created) {
		r->inputs[r->n_inputs - 1].duplicates++;
		goto out;
	}

	rule = tg_rule_parse(rule_id);
	if (rule < 0)
		rule = TG_RULE_MAX;
	cwe = tg_json_get(o, "cwe");
	n = tg_json_array_len(cwe);
	for (size_t i = 0; i < n; i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(cwe, i));

		if (!c)
			continue;
		snprintf(cwes + strlen(cwes), sizeof(cwes) - strlen(cwes), "%s%s",
			 *cwes ? ", " : "", c);
		count_in(r, &r->cwe, c, NULL, NULL, sev, rule, t);
	}
	if (!n && rule < TG_RULE_MAX) {
		/* Older records without "cwe": the rule's own. */
		char buf[64], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", tg_rule_cwe(rule));
		for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			snprintf(cwes + strlen(cwes), sizeof(cwes) - strlen(cwes), "%s%s",
				 *cwes ? ", " : "", c);
			count_in(r, &r->cwe, c, NULL, NULL, sev, rule, t);
		}
	}
	r->total++;
	r->by_sev[sev]++;
	if (r->first_ns == TG_RPT_NOTIME || t < r->first_ns)
		r->first_ns = t;
	if (r->last_ns == TG_RPT_NOTIME || t > r->last_ns)
		r->last_ns = t;
	keep_times(r, t, sev);
	count_in(r, &r->by_rule, rule_id, NULL, cwes, sev, rule, t);
	count_in(r, &r->by_exe, exe, NULL, NULL, sev, rule, t);
	count_in(r, &r->by_host, host, NULL, NULL, sev, rule, t);
	pattern = str_field(r, o, "pattern", esc, path);
	count_in(r, &r->offenders, exe, host, pattern, sev, rule, t);
	count_in(r, &r->by_pattern, pattern, NULL, NULL, sev, rule, t);
	count_in(r, &r->by_container, tg_json_str(proc, "container_id", ""), NULL,
		 tg_json_str(proc, "container_runtime", NULL), sev, rule, t);
	advice = tg_json_str(o, "advice", NULL);
	if (advice)
		count_in(r, &r->advice, rule_id, tg_json_str(o, "language", "c"), advice, sev, rule,
			 t);
	if (s)
		s->findings++;
	if (r->opts.keep_findings)
		keep_finding(r, o, esc, t, sev, rule, host, exe, path);
out:
	free(key);
	free(host);
	free(exe);
	free(path);
	free(pattern);
}

static void add_loss(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	struct tg_rpt_loss *l;
	int64_t from = get_time(o, "from"), to = get_time(o, "to");
	long long lost = tg_json_int(o, "lost", -1);

	if (from == TG_RPT_NOTIME || to == TG_RPT_NOTIME || lost < 0 || session < 0) {
		invalid(r, where, "a loss record without from, to and lost");
		return;
	}
	touch(&r->sessions[session], to);
	r->sessions[session].lost_windows += lost;
	l = grow(r, r->losses, &r->cap_losses, r->n_losses + 1, sizeof(*l));
	if (!l)
		return;
	r->losses = l;
	r->losses[r->n_losses++] = (struct tg_rpt_loss){
		.session = session,
		.from_ns = from < to ? from : to,
		.to_ns = from < to ? to : from,
		.lost = lost,
	};
}

/* A health record: the producer stopped working ("unhealthy") or works again ("recovered"). */
static void add_health(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	const char *status = tg_json_str(o, "status", NULL);
	const char *reason = tg_json_str(o, "reason", NULL);
	int64_t t = get_time(o, "time");
	struct tg_rpt_session *s;
	void *u;

	if (!status || t == TG_RPT_NOTIME || session < 0) {
		invalid(r, where, "a health record without status and time");
		return;
	}
	s = &r->sessions[session];
	touch(s, t);
	if (!strcmp(status, "unhealthy")) {
		u = realloc(s->unhealthy, (s->n_unhealthy + 1) * sizeof(*s->unhealthy));
		if (!u) {
			r->failed = true;
			return;
		}
		s->unhealthy = u;
		s->unhealthy[s->n_unhealthy] = (struct tg_rpt_unhealthy){
			.from_ns = t,
			.to_ns = TG_RPT_NOTIME,
			.reason = reason ? strdup(reason) : NULL,
		};
		if (reason && !s->unhealthy[s->n_unhealthy].reason)
			r->failed = true;
		s->n_unhealthy++;
	} else if (!strcmp(status, "recovered")) {
		if (s->n_unhealthy && s->unhealthy[s->n_unhealthy - 1].to_ns == TG_RPT_NOTIME)
			s->unhealthy[s->n_unhealthy - 1].to_ns = t;
	} else {
		invalid(r, where, "a health record of an unknown status");
	}
}

/* ---- JSON lines ---- */

static void close_session(struct tg_rpt *r)
{
	r->open_session = -1;
}

/* The session a finding or loss of host belongs to: the open one, or a new implicit one. */
static long session_for(struct tg_rpt *r, json_object *o)
{
	const char *host = tg_json_str(o, "host", NULL);
	struct tg_rpt_session *s;

	/* Without session records, a change of host is a new session (files concatenated). */
	if (r->open_session >= 0) {
		s = &r->sessions[r->open_session];
		if (s->has_record || !host || !strcmp(host, s->host))
			return r->open_session;
	}
	s = new_session(r, host ? host : "unknown");
	if (!s)
		return -1;
	r->open_session = r->n_sessions - 1;
	return r->open_session;
}

static void add_record(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	const char *type = tg_json_str(o, "type", NULL);
	struct tg_rpt_session *s;

	r->inputs[r->n_inputs - 1].records++;
	if (!type) {
		invalid(r, where, "an object without a \"type\"");
	} else if (!strcmp(type, "finding")) {
		if (session < 0)
			session = session_for(r, o);
		add_finding(r, o, session, where);
	} else if (!strcmp(type, "loss")) {
		if (session < 0)
			session = session_for(r, o);
		add_loss(r, o, session, where);
	} else if (!strcmp(type, "health")) {
		if (session < 0)
			session = session_for(r, o);
		add_health(r, o, session, where);
	} else if (!strcmp(type, "session") && r->inputs[r->n_inputs - 1].sqlite) {
		invalid(r, where, "a session record outside the sessions table");
	} else if (!strcmp(type, "session")) {
		close_session(r);
		s = new_session(r, tg_json_str(o, "host", "unknown"));
		if (!s)
			return;
		session_record(r, s, o);
		r->open_session = r->n_sessions - 1;
	} else if (!strcmp(type, "summary") && !r->inputs[r->n_inputs - 1].sqlite) {
		session = session_for(r, o);
		if (session < 0)
			return;
		session_summary(r, &r->sessions[session], o);
		close_session(r);
	} else {
		invalid(r, where, "a record of a type this version does not know");
	}
}

static json_object *parse_object(const char *s, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	/* Exactly one object and nothing after it but blanks. */
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && s[end] && strchr(" \t\r\n", s[end]))
			end++;
		if (end != len || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void unreadable(struct tg_rpt *r, uint64_t where)
{
	struct tg_rpt_input *in = &r->inputs[r->n_inputs - 1];

	if (!in->unreadable++)
		in->first_unreadable = where;
}

void tg_rpt_line(struct tg_rpt *r, const char *line, size_t len)
{
	json_object *o;
	size_t i;

	r->line++;
	if (r->failed || !r->n_inputs)
		return;
	for (i = 0; i < len && strchr(" \t\r\n", line[i]) && line[i]; i++)
		;
	if (i == len)
		return; /* blank */
	o = parse_object(line, len);
	if (!o) {
		unreadable(r, r->line);
		return;
	}
	add_record(r, o, -1, r->line);
	json_object_put(o);
}

/* ---- store rows ---- */

long tg_rpt_db_session(struct tg_rpt *r, uint64_t row, const char *json, const char *summary,
		       bool clean, int64_t started_ns, int64_t ended_ns, int64_t last_commit_ns)
{
	json_object *o, *sum = NULL;
	struct tg_rpt_session *s;

	if (r->failed || !r->n_inputs)
		return -1;
	r->inputs[r->n_inputs - 1].records++;
	o = json ? parse_object(json, strlen(json)) : NULL;
	if (!o) {
		unreadable(r, row);
		return -1;
	}
	if (strcmp(tg_json_str(o, "type", ""), "session")) {
		invalid(r, row, "a sessions row whose json is not a session record");
		json_object_put(o);
		return -1;
	}
	s = new_session(r, tg_json_str(o, "host", "unknown"));
	if (!s) {
		json_object_put(o);
		return -1;
	}
	session_record(r, s, o);
	if (started_ns != TG_RPT_NOTIME)
		s->start_ns = started_ns;
	if (summary) {
		r->inputs[r->n_inputs - 1].records++;
		sum = parse_object(summary, strlen(summary));
		if (sum)
			session_summary(r, s, sum);
		else
			unreadable(r, row);
	}
	/* The store's columns say more than the records: when it stopped, if it did. */
	s->clean = clean;
	if (ended_ns != TG_RPT_NOTIME) {
		s->end_ns = ended_ns;
		s->end_recorded = true;
	} else if (!clean) {
		s->end_recorded = false;
		touch(s, last_commit_ns);
	}
	json_object_put(sum);
	json_object_put(o);
	return r->n_sessions - 1;
}

void tg_rpt_db_record(struct tg_rpt *r, uint64_t row, long session, const char *json)
{
	json_object *o;

	if (r->failed || !r->n_inputs)
		return;
	o = json ? parse_object(json, strlen(json)) : NULL;
	if (!o) {
		r->inputs[r->n_inputs - 1].records++;
		unreadable(r, row);
		return;
	}
	if (session < 0 || (size_t)session >= r->n_sessions) {
		r->inputs[r->n_inputs - 1].records++;
		invalid(r, row, "a row of a session the store does not hold");
	} else {
		add_record(r, o, session, row);
	}
	json_object_put(o);
}

/* ---- inputs ---- */

struct tg_rpt *tg_rpt_new(const struct tg_rpt_opts *o)
{
	struct tg_rpt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->opts = *o;
	r->open_session = -1;
	r->first_ns = r->last_ns = TG_RPT_NOTIME;
	r->covered_from = r->covered_to = TG_RPT_NOTIME;
	return r;
}

int tg_rpt_input(struct tg_rpt *r, const char *name, bool sqlite)
{
	struct tg_rpt_input *in;

	close_session(r);
	in = grow(r, r->inputs, &r->cap_inputs, r->n_inputs + 1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	r->inputs = in;
	in = &r->inputs[r->n_inputs];
	*in = (struct tg_rpt_input){.sqlite = sqlite};
	in->name = dup(r, name);
	if (r->failed)
		return -ENOMEM;
	r->n_inputs++;
	r->line = 0;
	return 0;
}

/* ---- finishing ---- */

struct span {
	int64_t from, to;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/* The session's span clipped to the period; false when unknown or outside it. */
static bool session_span(const struct tg_rpt *r, const struct tg_rpt_session *s, struct span *sp)
{
	int64_t a = s->start_ns != TG_RPT_NOTIME ? s->start_ns : s->end_ns;
	int64_t b = s->end_ns != TG_RPT_NOTIME ? s->end_ns : s->start_ns;

	if (a == TG_RPT_NOTIME)
		return false;
	if (r->opts.since_ns != TG_RPT_NOTIME && a < r->opts.since_ns)
		a = r->opts.since_ns;
	if (r->opts.until_ns != TG_RPT_NOTIME && b > r->opts.until_ns)
		b = r->opts.until_ns;
	if (b < a)
		return false;
	sp->from = a;
	sp->to = b;
	return true;
}

/* Union of the spans of the sessions of host (NULL: all): first, last, total length. */
static void coverage(struct tg_rpt *r, const char *host, int64_t *from, int64_t *to, int64_t *len)
{
	struct span *sp = calloc(r->n_sessions + 1, sizeof(*sp)), cur;
	size_t n = 0;

	*from = *to = TG_RPT_NOTIME;
	*len = 0;
	if (!sp) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < r->n_sessions; i++)
		if ((!host || !strcmp(host, r->sessions[i].host)) &&
		    session_span(r, &r->sessions[i], &sp[n]))
			n++;
	if (n) {
		qsort(sp, n, sizeof(*sp), cmp_span);
		*from = sp[0].from;
		cur = sp[0];
		for (size_t i = 1; i < n; i++) {
			if (sp[i].from <= cur.to) {
				if (sp[i].to > cur.to)
					cur.to = sp[i].to;
				continue;
			}
			*len += cur.to - cur.from;
			cur = sp[i];
		}
		/* Merged spans are disjoint and in order: the last one ends last. */
		*len += cur.to - cur.from;
		*to = cur.to;
	}
	free(sp);
}

static void free_session(struct tg_rpt_session *s)
{
	for (size_t i = 0; i < s->n_unhealthy; i++)
		free(s->unhealthy[i].reason);
	free(s->unhealthy);
	free(s->host);
	free(s->version);
	free(s->policy);
	free(s->enforcement);
	for (size_t i = 0; i < s->n_hooks; i++)
		free(s->hooks[i]);
	free(s->hooks);
	for (size_t i = 0; i < s->posture.n_mounts; i++) {
		free(s->posture.mounts[i].path);
		free(s->posture.mounts[i].fstype);
		free(s->posture.mounts[i].options);
		free(s->posture.mounts[i].mode);
		free(s->posture.mounts[i].mount_point);
	}
	free(s->posture.mounts);
	json_object_put(s->exceptions);
}

static int cmp_session(const void *a, const void *b)
{
	const struct tg_rpt_session *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	if (c)
		return c;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* By host; the windows in time order, then what was lost at an unknown time. */
static int cmp_loss(const void *a, const void *b)
{
	const struct tg_rpt_loss *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	if (c)
		return c;
	if (x->unknown_time != y->unknown_time)
		return x->unknown_time ? 1 : -1;
	return x->from_ns < y->from_ns ? -1 : x->from_ns > y->from_ns;
}

/* Sessions outside the period go; the rest are sorted by host and start. */
static void select_sessions(struct tg_rpt *r)
{
	size_t *map = calloc(r->n_sessions + 1, sizeof(*map)), n = 0;
	bool bounded = r->opts.since_ns != TG_RPT_NOTIME || r->opts.until_ns != TG_RPT_NOTIME;
	struct span sp;

	if (!map) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < r->n_sessions; i++) {
		struct tg_rpt_session *s = &r->sessions[i];
		bool undated = s->start_ns == TG_RPT_NOTIME && s->end_ns == TG_RPT_NOTIME;

		if (undated && bounded)
			r->inputs[s->input].undated++;
		s->in_period = undated ? !bounded : session_span(r, s, &sp) || s->findings;
		if (!s->in_period) {
			free_session(s);
			map[i] = SIZE_MAX;
			continue;
		}
		/* Lost per the summary but in no loss record: lost at an unknown time. */
		if (s->lost_summary > s->lost_windows) {
			struct tg_rpt_loss *l =
				grow(r, r->losses, &r->cap_losses, r->n_losses + 1, sizeof(*l));

			if (!l)
				break;
			r->losses = l;
			r->losses[r->n_losses++] = (struct tg_rpt_loss){
				.session = i,
				.from_ns = s->start_ns,
				.to_ns = s->end_ns,
				.lost = s->lost_summary - s->lost_windows,
				.unknown_time = true,
			};
		}
		map[i] = n;
		r->sessions[n++] = *s;
	}
	r->n_sessions = n;
	/* Losses follow their session; windows outside the period go. */
	n = 0;
	for (size_t i = 0; i < r->n_losses; i++) {
		struct tg_rpt_loss l = r->losses[i];

		if (map[l.session] == SIZE_MAX ||
		    (!l.unknown_time &&
		     ((r->opts.since_ns != TG_RPT_NOTIME && l.to_ns < r->opts.since_ns) ||
		      (r->opts.until_ns != TG_RPT_NOTIME && l.from_ns > r->opts.until_ns))))
			continue;
		l.session = map[l.session];
		r->losses[n++] = l;
	}
	r->n_losses = n;
	free(map);

	/* Sort the sessions, and keep each loss pointing at its own. */
	map = calloc(r->n_sessions + 1, sizeof(*map));
	if (!map) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < r->n_sessions; i++)
		r->sessions[i].id = i;
	qsort(r->sessions, r->n_sessions, sizeof(*r->sessions), cmp_session);
	for (size_t i = 0; i < r->n_sessions; i++)
		map[r->sessions[i].id] = i;
	for (size_t i = 0; i < r->n_losses; i++) {
		r->losses[i].session = map[r->losses[i].session];
		r->losses[i].host = r->sessions[r->losses[i].session].host;
	}
	free(map);
	if (r->n_losses)
		qsort(r->losses, r->n_losses, sizeof(*r->losses), cmp_loss);
}

/* ---- posture ---- */

static int remark(char ***out, size_t *n, const char *fmt, ...)
{
	char **v, *s;
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (e < 0)
		return -ENOMEM;
	v = realloc(*out, (*n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	*out = v;
	v[(*n)++] = s;
	return 0;
}

static bool has_option(const char *opts, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && !strncmp(p, want, n))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* Documentation/admin-guide/sysctl/fs.rst says what each protected_* value allows. */
int tg_rpt_posture_remarks(const struct tg_rpt_posture *p, const char *enforcement, char ***out,
			   size_t *n)
{
	static const char *const weak[TG_RPT_NSYSCTL] = {
		"symlinks planted in sticky directories are followed: symlink-follow and "
		"nonexclusive-create findings are exploitable here (set it to 1)",
		"O_CREAT opens of other users' files in sticky directories succeed: "
		"foreign-file-reuse findings are exploitable here (set it to 2)",
		"O_CREAT opens of other users' FIFOs in sticky directories succeed (set it to 2)",
		"users can hard-link files they do not own into shared directories (set it to 1)",
	};
	int e = 0;

	if (!p->known)
		e = remark(out, n,
			   "posture not recorded (no session record): sysctls and mounts "
			   "unknown");
	for (int i = 0; p->known && !e && i < TG_RPT_NSYSCTL; i++)
		if (p->sysctl[i] == 0)
			e = remark(out, n, "%s=0: %s", tg_rpt_sysctl_names[i], weak[i]);
	for (size_t i = 0; p->known && !e && i < p->n_mounts; i++) {
		const struct tg_rpt_mount *m = &p->mounts[i];
		char missing[64] = "";
		unsigned long mode = strtoul(m->mode, NULL, 8);

		if (m->exists == 0)
			continue; /* no such directory on that host: nothing is shared there */
		if (*m->mode && (mode & 0002) && !(mode & 01000))
			e = remark(out, n,
				   "%s is world-writable without the sticky bit (mode %s): any "
				   "user can delete or replace anyone's files there (chmod 1777)",
				   m->path, m->mode);
		/* Hard links cannot cross file systems; protected_hardlinks=1 stops them anyway. */
		if (!e && m->separate == 0)
			e = remark(out, n,
				   "%s is not a separate mount: users can fill the file system it "
				   "shares%s%s",
				   m->path,
				   p->sysctl[3] == 1
					   ? ""
					   : ", and hard-link others' files from it into ",
				   p->sysctl[3] == 1 ? "" : m->path);
		if (e || m->separate == 0 || !*m->options)
			continue;
		for (const char *const *o =
			     (const char *const[]){"nosuid", "nodev", "noexec", NULL};
		     *o; o++)
			if (!has_option(m->options, *o))
				snprintf(missing + strlen(missing),
					 sizeof(missing) - strlen(missing), "%s%s",
					 *missing ? ", " : "", *o);
		if (*missing)
			e = remark(out, n,
				   "%s is mounted without %s (CIS benchmarks ask for nodev, nosuid "
				   "and noexec on temporary directories)",
				   m->path, missing);
	}
	if (e)
		return e;
	if (!enforcement)
		return p->known ? remark(out, n, "enforcement mode not recorded") : 0;
	if (!strcmp(enforcement, "off"))
		return remark(out, n,
			      "enforcement off: findings were reported, nothing was "
			      "prevented");
	if (!strcmp(enforcement, "dry-run"))
		return remark(out, n, "dry run: would-deny was reported, nothing was refused");
	if (!strcmp(enforcement, "kill-fallback"))
		return remark(out, n,
			      "enforcement by SIGKILL after the fact (no BPF LSM): the "
			      "file exists before the process dies");
	if (strcmp(enforcement, "lsm"))
		return remark(out, n, "enforcement mode '%s' unknown to this version", enforcement);
	return 0;
}

/* ---- hosts ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct tg_rpt_host *)a)->name, ((const struct tg_rpt_host *)b)->name);
}

static void build_host(struct tg_rpt *r, struct tg_rpt_host *h)
{
	size_t n_hooks = 0, cap = 0;
	char **hooks = NULL;
	const struct tg_rpt_row *w = tg_rpt_table_get(&r->by_host, h->name, NULL);

	h->first_ns = h->last_ns = TG_RPT_NOTIME;
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		if (strcmp(s->host, h->name))
			continue;
		h->n_sessions++;
		h->n_unclean += !s->clean;
		h->n_no_record += !s->has_record;
		h->n_tree_only += s->tree_only;
		if (s->has_record && (!h->latest || s->start_ns >= h->latest->start_ns))
			h->latest = s;
		for (size_t k = 0; k < s->n_hooks; k++) {
			char **v = grow(r, hooks, &cap, n_hooks + 1, sizeof(*hooks));

			if (!v)
				break;
			hooks = v;
			hooks[n_hooks++] = s->hooks[k];
		}
	}
	/* The union, sorted, each once. */
	if (n_hooks)
		qsort(hooks, n_hooks, sizeof(*hooks), cmp_str);
	h->hooks = calloc(n_hooks + 1, sizeof(*h->hooks));
	if (!h->hooks) {
		r->failed = true;
		free(hooks);
		return;
	}
	for (size_t i = 0; i < n_hooks; i++)
		if (!i || strcmp(hooks[i], hooks[i - 1]))
			h->hooks[h->n_hooks++] = dup(r, hooks[i]);
	free(hooks);
	for (size_t i = 0; i < r->n_losses; i++)
		if (!strcmp(r->losses[i].host, h->name))
			h->lost += r->losses[i].lost;
	h->findings = w ? w->n : 0;
	coverage(r, h->name, &h->first_ns, &h->last_ns, &h->covered_ns);
	if (h->first_ns == TG_RPT_NOTIME && w) {
		h->first_ns = w->first_ns;
		h->last_ns = w->last_ns;
	}
	if (h->latest) {
		if (tg_rpt_posture_remarks(&h->latest->posture, h->latest->enforcement, &h->remarks,
					   &h->n_remarks))
			r->failed = true;
	} else {
		struct tg_rpt_posture unknown = {0};

		if (tg_rpt_posture_remarks(&unknown, NULL, &h->remarks, &h->n_remarks))
			r->failed = true;
	}
}

static void build_hosts(struct tg_rpt *r)
{
	struct tg_rpt_table names = {0};

	for (size_t i = 0; i < r->n_sessions; i++)
		table_row(r, &names, r->sessions[i].host, NULL, NULL);
	for (size_t i = 0; i < r->by_host.n; i++)
		table_row(r, &names, r->by_host.rows[i].key, NULL, NULL);
	r->hosts = calloc(names.n + 1, sizeof(*r->hosts));
	if (!r->hosts || r->failed) {
		r->failed = true;
		table_free(&names);
		return;
	}
	for (size_t i = 0; i < names.n; i++) {
		r->hosts[i].name = names.rows[i].key;
		names.rows[i].key = NULL;
	}
	r->n_hosts = names.n;
	table_free(&names);
	qsort(r->hosts, r->n_hosts, sizeof(*r->hosts), cmp_host);
	for (size_t i = 0; i < r->n_hosts && !r->failed; i++)
		build_host(r, &r->hosts[i]);
}

/* ---- exceptions ---- */

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static void build_exceptions(struct tg_rpt *r)
{
	size_t cap = 0;

	for (size_t i = 0; i < r->n_sessions && !r->failed; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];
		size_t n = s->exceptions ? json_object_array_length(s->exceptions) : 0;

		r->hidden_by_replaced += s->hidden_by_replaced;
		for (size_t k = 0; k < n; k++) {
			json_object *x = json_object_array_get_idx(s->exceptions, k);
			const char *rule = tg_json_str(x, "rule", NULL);
			const char *reason = tg_json_str(x, "reason", NULL);
			const char *in = tg_json_str(x, "applied_in", NULL);
			long line = (long)tg_json_int(x, "line", -1);
			struct tg_rpt_exception *e = NULL;

			if (!json_object_is_type(x, json_type_object))
				continue;
			for (size_t j = 0; j < r->n_exceptions && !e; j++) {
				struct tg_rpt_exception *c = &r->exceptions[j];

				if (c->line == line && same(c->policy, s->policy) &&
				    same(c->rule, rule) && same(c->reason, reason))
					e = c;
			}
			if (!e) {
				e = grow(r, r->exceptions, &cap, r->n_exceptions + 1, sizeof(*e));
				if (!e)
					return;
				r->exceptions = e;
				e = &r->exceptions[r->n_exceptions++];
				*e = (struct tg_rpt_exception){.line = line};
				e->policy = dup(r, s->policy ? s->policy : "unknown");
				e->rule = dup(r, rule ? rule : "*");
				e->reason = dup(r, reason);
				e->applied_in = dup(r, in ? in : "unknown");
			} else if (!same(e->applied_in, in ? in : "unknown")) {
				free(e->applied_in);
				e->applied_in = dup(r, "kernel or user, by host");
			}
			e->sessions++;
			if (s->exception_counts) {
				e->hidden_kernel +=
					(uint64_t)tg_json_int(x, "suppressed_kernel", 0);
				e->hidden_user += (uint64_t)tg_json_int(x, "suppressed_user", 0);
			} else {
				e->sessions_uncounted++;
			}
		}
	}
}

/* ---- trend ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static void build_trend(struct tg_rpt *r)
{
	struct tg_rpt_trend *t = &r->trend;
	int64_t from = r->opts.since_ns, to = r->opts.until_ns, unit, origin = 0, mid;

	/* The period asked for; open ends close on the data (or now, after --since). */
	if (from == TG_RPT_NOTIME)
		from = r->covered_from != TG_RPT_NOTIME && (r->first_ns == TG_RPT_NOTIME ||
							    r->covered_from < r->first_ns)
			       ? r->covered_from
			       : r->first_ns;
	if (to == TG_RPT_NOTIME && r->opts.since_ns != TG_RPT_NOTIME)
		to = r->opts.now_ns;
	if (to == TG_RPT_NOTIME)
		to = r->covered_to != TG_RPT_NOTIME && r->covered_to > r->last_ns ? r->covered_to
										  : r->last_ns;
	if (from == TG_RPT_NOTIME || to == TG_RPT_NOTIME || to < from)
		return;
	t->from_ns = from;
	t->to_ns = to;
	if (to - from <= 2 * DAY_NS) {
		t->unit = TG_RPT_HOUR;
		unit = HOUR_NS;
	} else if (to - from <= 120 * DAY_NS) {
		t->unit = TG_RPT_DAY;
		unit = DAY_NS;
	} else {
		t->unit = TG_RPT_WEEK;
		unit = WEEK_NS;
		origin = 4 * DAY_NS; /* weeks start on Monday; 1970-01-01 was a Thursday */
	}
	t->unit_ns = t->bucket_ns = unit;
	for (;;) {
		int64_t start = floor_div(from - origin, t->bucket_ns) * t->bucket_ns + origin;

		t->n = (size_t)((to - start) / t->bucket_ns) + 1;
		if (t->n <= MAX_BARS)
			break;
		t->bucket_ns += unit;
	}
	t->from_ns = floor_div(from - origin, t->bucket_ns) * t->bucket_ns + origin;
	t->counts = calloc(t->n, sizeof(*t->counts));
	if (!t->counts) {
		r->failed = true;
		t->n = 0;
		return;
	}
	/* Halves of the period asked for, not of the buckets. */
	mid = from + (to - from) / 2;
	for (size_t i = 0; i < r->n_times; i++) {
		int64_t ts = r->times[i].t;
		int64_t b = (ts - t->from_ns) / t->bucket_ns;

		if (ts < t->from_ns || b >= (int64_t)t->n)
			continue;
		t->counts[b][r->times[i].sev]++;
		if (ts < mid)
			t->first_half++;
		else
			t->second_half++;
	}
}

/* ---- what the report could not see ---- */

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void build_gaps(struct tg_rpt *r)
{
	char a[32], b[32], d1[32], d2[32];

	for (size_t i = 0; i < r->n_inputs; i++) {
		const struct tg_rpt_input *in = &r->inputs[i];
		const char *unit = in->sqlite ? "row" : "line";

		if (in->unreadable)
			add_gap(r,
				"%s: %llu %s%s could not be read: not JSON objects (the first: %s "
				"%llu)",
				in->name, (unsigned long long)in->unreadable, unit,
				plural(in->unreadable), unit,
				(unsigned long long)in->first_unreadable);
		if (in->invalid)
			add_gap(r, "%s: %llu record%s not understood (the first, %s %llu: %s)",
				in->name, (unsigned long long)in->invalid,
				in->invalid == 1 ? " was" : "s were", unit,
				(unsigned long long)in->first_invalid, in->invalid_why);
		if (in->undated)
			add_gap(r, "%s: %llu session%s without any time left out of the period",
				in->name, (unsigned long long)in->undated, plural(in->undated));
	}
	if (!r->n_sessions && r->opts.since_ns == TG_RPT_NOTIME &&
	    r->opts.until_ns == TG_RPT_NOTIME)
		add_gap(r, "the inputs hold no session and no finding: this report saw nothing");
	if (r->opts.since_ns != TG_RPT_NOTIME || r->opts.until_ns != TG_RPT_NOTIME) {
		int64_t from = r->opts.since_ns, to = r->opts.until_ns;

		if (to == TG_RPT_NOTIME)
			to = r->opts.now_ns;
		if (r->covered_from == TG_RPT_NOTIME) {
			tg_rpt_time(from, a, sizeof(a));
			tg_rpt_time(to, b, sizeof(b));
			add_gap(r, "no session covers any of the period asked for (%s to %s)",
				from == TG_RPT_NOTIME ? "the start" : a, b);
		} else if (from != TG_RPT_NOTIME && to > from &&
			   r->covered_ns < (to - from) - NSEC) {
			tg_rpt_duration(r->covered_ns, d1, sizeof(d1));
			tg_rpt_duration(to - from, d2, sizeof(d2));
			add_gap(r,
				"the sessions cover %s of the %s asked for (%.0f%%): nothing was "
				"watched the rest of the time",
				d1, d2, r->covered_ns * 100.0 / (double)(to - from));
		}
	}
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		tg_rpt_time(s->start_ns, a, sizeof(a));
		tg_rpt_time(s->end_ns, b, sizeof(b));
		if (!s->clean)
			add_gap(r,
				"%s: the session started %s has no clean stop (crashed, killed, "
				"or still running): nothing is known after its last record, at %s",
				s->host, a, b);
		for (size_t k = 0; k < s->n_unhealthy; k++) {
			bool open = s->unhealthy[k].to_ns == TG_RPT_NOTIME;

			tg_rpt_time(s->unhealthy[k].from_ns, a, sizeof(a));
			tg_rpt_time(open ? s->end_ns : s->unhealthy[k].to_ns, b, sizeof(b));
			add_gap(r,
				"%s: the BPF programs were not working from %s %s %s (%s): nothing "
				"was seen then",
				s->host, a, open ? "to the session's last record, at" : "to", b,
				s->unhealthy[k].reason ? s->unhealthy[k].reason
						       : "no reason given");
		}
		if (s->forks_untracked)
			add_gap(r,
				"%s: %llu fork%s in the process tree of the session started %s "
				"%s not followed (the tracking map was full): what %s did was not "
				"seen",
				s->host, (unsigned long long)s->forks_untracked,
				plural(s->forks_untracked), a,
				s->forks_untracked == 1 ? "was" : "were",
				s->forks_untracked == 1 ? "that process" : "those processes");
		if (s->not_printed)
			add_gap(r,
				"%s: %llu repeated finding%s of the session started %s counted by "
				"its summary but not recorded (rate limit): not in these tables",
				s->host, (unsigned long long)s->not_printed, plural(s->not_printed),
				a);
		if (s->over_budget)
			add_gap(r,
				"%s: %llu finding%s of the session started %s counted by its "
				"summary but not recorded: over a user's or the host's budget "
				"(rate_limit.per_user_per_minute, per_host_per_minute: a flood; "
				"by uid in the summary)",
				s->host, (unsigned long long)s->over_budget, plural(s->over_budget),
				a);
		if (s->unresolved)
			add_gap(r,
				"%s: %llu record%s of the session started %s named a directory "
				"that could not be resolved (the process was gone, or in another "
				"mount namespace): opens were judged by the directory holding the "
				"file, mkdirs not at all",
				s->host, (unsigned long long)s->unresolved, plural(s->unresolved),
				a);
		if (s->malformed)
			add_gap(r,
				"%s: %llu record%s of the session started %s could not be decoded",
				s->host, (unsigned long long)s->malformed, plural(s->malformed), a);
		if (s->commit_failures)
			add_gap(r,
				"%s: %llu commit%s to the store of the session started %s failed: "
				"the findings of %s are missing from it",
				s->host, (unsigned long long)s->commit_failures,
				plural(s->commit_failures), a,
				s->commit_failures == 1 ? "that batch" : "those batches");
		if (s->records_failed)
			add_gap(r,
				"%s: %llu record%s of the session started %s could not be written "
				"to its output",
				s->host, (unsigned long long)s->records_failed,
				plural(s->records_failed), a);
	}
	for (size_t i = 0; i < r->n_losses; i++) {
		const struct tg_rpt_loss *l = &r->losses[i];

		tg_rpt_time(l->from_ns, a, sizeof(a));
		tg_rpt_time(l->to_ns, b, sizeof(b));
		add_gap(r, "%s: %llu record%s lost %s %s and %s", l->host,
			(unsigned long long)l->lost, plural(l->lost),
			l->unknown_time ? "(per its summary) at an unknown time between"
					: "between",
			a, b);
	}
	for (size_t i = 0; i < r->n_hosts; i++)
		if (r->hosts[i].n_tree_only)
			add_gap(r,
				"%s: %zu of its %zu session%s watched one process tree only "
				"(tmpguard "
				"run, or audit --pid): the rest of the host was not watched then",
				r->hosts[i].name, r->hosts[i].n_tree_only, r->hosts[i].n_sessions,
				plural(r->hosts[i].n_sessions));
	for (size_t i = 0; i < r->n_hosts; i++)
		if (r->hosts[i].n_no_record)
			add_gap(r,
				"%s: %zu of its %zu session%s without a session record: hooks, "
				"posture and enforcement unknown there",
				r->hosts[i].name, r->hosts[i].n_no_record, r->hosts[i].n_sessions,
				plural(r->hosts[i].n_sessions));
}

static int cmp_finding(const void *a, const void *b)
{
	const struct tg_rpt_finding *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

int tg_rpt_finish(struct tg_rpt *r)
{
	close_session(r);
	if (r->failed)
		return -ENOMEM;
	select_sessions(r);
	if (r->failed)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		r->n_unclean += !s->clean;
		r->n_no_record += !s->has_record;
		r->not_printed += s->not_printed;
	}
	for (size_t i = 0; i < r->n_losses; i++)
		r->lost += r->losses[i].lost;
	for (size_t i = 0; i < r->n_inputs; i++)
		r->duplicates += r->inputs[i].duplicates;
	coverage(r, NULL, &r->covered_from, &r->covered_to, &r->covered_ns);
	build_hosts(r);
	build_exceptions(r);
	build_trend(r);
	build_gaps(r);
	if (tg_rpt_table_sort(&r->by_rule) || tg_rpt_table_sort(&r->by_exe) ||
	    tg_rpt_table_sort(&r->by_container) || tg_rpt_table_sort(&r->by_host) ||
	    tg_rpt_table_sort(&r->offenders) || tg_rpt_table_sort(&r->advice) ||
	    tg_rpt_table_sort(&r->by_pattern) || tg_rpt_table_sort(&r->cwe))
		r->failed = true;
	table_free(&r->seen);
	if (r->n_findings)
		qsort(r->findings, r->n_findings, sizeof(*r->findings), cmp_finding);
	return r->failed ? -ENOMEM : 0;
}

void tg_rpt_free(struct tg_rpt *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_inputs; i++)
		free(r->inputs[i].name);
	free(r->inputs);
	for (size_t i = 0; i < r->n_sessions; i++)
		free_session(&r->sessions[i]);
	free(r->sessions);
	free(r->losses);
	for (size_t i = 0; i < r->n_findings; i++) {
		struct tg_rpt_finding *f = &r->findings[i];

		free(f->host);
		free(f->rule_id);
		free(f->action);
		free(f->exe);
		free(f->comm);
		free(f->user);
		free(f->path);
		free(f->pattern);
		free(f->syscall);
		free(f->language);
		free(f->advice);
		free(f->cwe);
		free(f->why);
		free(f->container_id);
		free(f->container_runtime);
		free(f->cmdline);
		free(f->ancestry);
	}
	free(r->findings);
	table_free(&r->by_rule);
	table_free(&r->by_exe);
	table_free(&r->by_container);
	table_free(&r->by_host);
	table_free(&r->offenders);
	table_free(&r->by_pattern);
	table_free(&r->advice);
	table_free(&r->cwe);
	table_free(&r->seen);
	for (size_t i = 0; i < r->n_hosts; i++) {
		struct tg_rpt_host *h = &r->hosts[i];

		free(h->name);
		for (size_t k = 0; k < h->n_hooks; k++)
			free(h->hooks[k]);
		free(h->hooks);
		for (size_t k = 0; k < h->n_remarks; k++)
			free(h->remarks[k]);
		free(h->remarks);
	}
	free(r->hosts);
	for (size_t i = 0; i < r->n_exceptions; i++) {
		free(r->exceptions[i].policy);
		free(r->exceptions[i].rule);
		free(r->exceptions[i].reason);
		free(r->exceptions[i].applied_in);
	}
	free(r->exceptions);
	free(r->trend.counts);
	for (size_t i = 0; i < r->n_gaps; i++)
		free(r->gaps[i]);
	free(r->gaps);
	free(r->times);
	free(r);
}
