// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report's period: the sessions in it (sorted, with their losses), the time they cover,
 * the trend of findings over it, and what the report could not see in it (losses, unclean
 * stops, unreadable lines, uncovered time, ...). Times and durations as the renderings print
 * them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report_int.h"

#define NSEC	 1000000000LL
#define HOUR_NS	 (3600 * NSEC)
#define DAY_NS	 (24 * HOUR_NS)
#define WEEK_NS	 (7 * DAY_NS)
#define MAX_BARS 400 /* trend buckets at most; longer periods get wider buckets */
#define TIME_LEN 32  /* tg_rpt_time's text, "unknown" included */

/* ---- times ---- */

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

/* ---- sessions in the period, and what they cover ---- */

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
void rpt_coverage(struct tg_rpt *r, const char *host, int64_t *from, int64_t *to, int64_t *len)
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
void rpt_select_sessions(struct tg_rpt *r)
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
			rpt_free_session(s);
			map[i] = SIZE_MAX;
			continue;
		}
		/* Lost per the summary but in no loss record: lost at an unknown time. */
		if (s->lost_summary > s->lost_windows) {
			struct tg_rpt_loss *l =
				rpt_grow(r, r->losses, &r->cap_losses, r->n_losses + 1, sizeof(*l));

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

/* ---- trend ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

void rpt_build_trend(struct tg_rpt *r)
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

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* Lines or rows of an input that could not be read or understood; undated sessions. */
static void gaps_inputs(struct tg_rpt *r)
{
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
}

/* Nothing at all, or a period asked for that the sessions do not cover. */
static void gaps_period(struct tg_rpt *r)
{
	char a[32], b[32], d1[32], d2[32];
	int64_t from = r->opts.since_ns, to = r->opts.until_ns;

	if (!r->n_sessions && r->opts.since_ns == TG_RPT_NOTIME &&
	    r->opts.until_ns == TG_RPT_NOTIME)
		add_gap(r, "the inputs hold no session and no finding: this report saw nothing");
	if (r->opts.since_ns == TG_RPT_NOTIME && r->opts.until_ns == TG_RPT_NOTIME)
		return;
	if (to == TG_RPT_NOTIME)
		to = r->opts.now_ns;
	if (r->covered_from == TG_RPT_NOTIME) {
		tg_rpt_time(from, a, sizeof(a));
		tg_rpt_time(to, b, sizeof(b));
		add_gap(r, "no session covers any of the period asked for (%s to %s)",
			from == TG_RPT_NOTIME ? "the start" : a, b);
	} else if (from != TG_RPT_NOTIME && to > from && r->covered_ns < (to - from) - NSEC) {
		tg_rpt_duration(r->covered_ns, d1, sizeof(d1));
		tg_rpt_duration(to - from, d2, sizeof(d2));
		add_gap(r,
			"the sessions cover %s of the %s asked for (%.0f%%): nothing was "
			"watched the rest of the time",
			d1, d2, r->covered_ns * 100.0 / (double)(to - from));
	}
}

/* When a session was blind: no clean stop, or windows in which the BPF programs were not
 * working. a: the session's start, as its text. */
static void gaps_session_blind(struct tg_rpt *r, const struct tg_rpt_session *s, const char *start)
{
	char a[TIME_LEN], b[TIME_LEN];

	tg_rpt_time(s->end_ns, b, sizeof(b));
	if (!s->clean)
		add_gap(r,
			"%s: the session started %s has no clean stop (crashed, killed, "
			"or still running): nothing is known after its last record, at %s",
			s->host, start, b);
	for (size_t k = 0; k < s->n_unhealthy; k++) {
		bool open = s->unhealthy[k].to_ns == TG_RPT_NOTIME;

		tg_rpt_time(s->unhealthy[k].from_ns, a, TIME_LEN);
		tg_rpt_time(open ? s->end_ns : s->unhealthy[k].to_ns, b, sizeof(b));
		add_gap(r,
			"%s: the BPF programs were not working from %s %s %s (%s): nothing "
			"was seen then",
			s->host, a, open ? "to the session's last record, at" : "to", b,
			s->unhealthy[k].reason ? s->unhealthy[k].reason : "no reason given");
	}
}

/* What a session's summary counted but its records do not hold; a: the session's start. */
static void gaps_session_counts(struct tg_rpt *r, const struct tg_rpt_session *s, const char *a)
{
	if (s->forks_untracked)
		add_gap(r,
			"%s: %llu fork%s in the process tree of the session started %s "
			"%s not followed (the tracking map was full): what %s did was not "
			"seen",
			s->host, (unsigned long long)s->forks_untracked, plural(s->forks_untracked),
			a, s->forks_untracked == 1 ? "was" : "were",
			s->forks_untracked == 1 ? "that process" : "those processes");
	if (s->not_printed)
		add_gap(r,
			"%s: %llu repeated finding%s of the session started %s counted by "
			"its summary but not recorded (rate limit): not in these tables",
			s->host, (unsigned long long)s->not_printed, plural(s->not_printed), a);
	if (s->over_budget)
		add_gap(r,
			"%s: %llu finding%s of the session started %s counted by its "
			"summary but not recorded: over a user's or the host's budget "
			"(rate_limit.per_user_per_minute, per_host_per_minute: a flood; "
			"by uid in the summary)",
			s->host, (unsigned long long)s->over_budget, plural(s->over_budget), a);
	if (s->unresolved)
		add_gap(r,
			"%s: %llu record%s of the session started %s named a directory "
			"that could not be resolved (the process was gone, or in another "
			"mount namespace): opens were judged by the directory holding the "
			"file, mkdirs not at all",
			s->host, (unsigned long long)s->unresolved, plural(s->unresolved), a);
	if (s->malformed)
		add_gap(r, "%s: %llu record%s of the session started %s could not be decoded",
			s->host, (unsigned long long)s->malformed, plural(s->malformed), a);
	if (s->commit_failures)
		add_gap(r,
			"%s: %llu commit%s to the store of the session started %s failed: "
			"the findings of %s are missing from it",
			s->host, (unsigned long long)s->commit_failures, plural(s->commit_failures),
			a, s->commit_failures == 1 ? "that batch" : "those batches");
	if (s->records_failed)
		add_gap(r,
			"%s: %llu record%s of the session started %s could not be written "
			"to its output",
			s->host, (unsigned long long)s->records_failed, plural(s->records_failed),
			a);
}

/* Records lost, and hosts watched in part: one process tree, or without session records. */
static void gaps_losses_hosts(struct tg_rpt *r)
{
	char a[32], b[32];

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

/* Rows evicted before a forward target had them, and hosts that stopped reporting. */
static void gaps_fleet(struct tg_rpt *r)
{
	char a[TIME_LEN], b[TIME_LEN], c[TIME_LEN], d[32];
	int64_t end = r->opts.now_ns;

	for (size_t i = 0; i < r->n_fwd_gaps; i++) {
		const struct tg_rpt_fwd_gap *g = &r->fwd_gaps[i];

		tg_rpt_time(g->from_ns, a, sizeof(a));
		tg_rpt_time(g->to_ns, b, sizeof(b));
		tg_rpt_time(g->time_ns, c, sizeof(c));
		add_gap(r,
			"%s: %llu %s evicted by its store's size limit at %s before %s had them "
			"(ids %lld to %lld, from %s to %s): a forward gap, in no store",
			g->host, (unsigned long long)g->evicted, g->stream, c, g->target,
			(long long)g->first_id, (long long)g->last_id, a, b);
	}
	if (r->opts.until_ns != TG_RPT_NOTIME && r->opts.until_ns < end)
		end = r->opts.until_ns;
	for (size_t i = 0; i < r->n_hosts; i++) {
		const struct tg_rpt_session *s = r->hosts[i].silent;

		if (!s)
			continue;
		tg_rpt_time(s->heard_ns, a, sizeof(a));
		tg_rpt_time(s->start_ns, b, sizeof(b));
		tg_rpt_time(end, c, sizeof(c));
		tg_rpt_duration(end - s->heard_ns, d, sizeof(d));
		add_gap(r,
			"%s: stopped reporting: last heard from at %s, %s before the report's end "
			"(%s); its session started %s has no end",
			r->hosts[i].name, a, d, c, b);
	}
}

void rpt_build_gaps(struct tg_rpt *r)
{
	gaps_inputs(r);
	gaps_period(r);
	for (size_t i = 0; i < r->n_sessions; i++) {
		char a[TIME_LEN];

		/* Each session named by its start, also after its unhealthy windows. */
		tg_rpt_time(r->sessions[i].start_ns, a, sizeof(a));
		gaps_session_blind(r, &r->sessions[i], a);
		gaps_session_counts(r, &r->sessions[i], a);
	}
	gaps_losses_hosts(r);
	gaps_fleet(r);
}
