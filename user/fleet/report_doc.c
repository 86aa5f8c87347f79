// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as a document a person reads: GitHub-flavoured Markdown, or one self-contained
 * HTML file (inline CSS, an inline SVG chart, no script, no external URL). One body writes the
 * sections through a small set of operations that each format implements, so the two say the
 * same thing. Untrusted text goes only through cell()/item() (escaped); text of our own
 * (numbers, times, rule ids of this build) through the *_trusted forms. Pure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "finding_csv.h"
#include "report_render.h"

struct doc;

struct doc_ops {
	void (*begin)(struct doc *d, const struct tg_rpt *r);
	void (*end)(struct doc *d);
	void (*heading)(struct doc *d, int level, const char *text, const char *id);
	void (*heading_named)(struct doc *d, int level, const char *text, const char *untrusted);
	void (*para)(struct doc *d, const char *text); /* trusted */
	void (*table)(struct doc *d, const char *const *head, int n);
	void (*row)(struct doc *d);
	void (*cell)(struct doc *d, const char *untrusted);
	void (*cell_trusted)(struct doc *d, const char *text, const char *cls); /* "n", "t" */
	void (*end_row)(struct doc *d);
	void (*end_table)(struct doc *d);
	void (*list)(struct doc *d);
	void (*item)(struct doc *d, const char *untrusted, const char *cls);
	void (*end_list)(struct doc *d);
	void (*cards)(struct doc *d, const struct tg_rpt *r);
	void (*chart)(struct doc *d, const struct tg_rpt *r);
};

struct doc {
	FILE *out;
	const struct doc_ops *ops;
	const char *version;
	int cols;
};

static void __attribute__((format(printf, 3, 4)))
cellf(struct doc *d, const char *cls, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->ops->cell_trusted(d, buf, cls);
}

static void __attribute__((format(printf, 2, 3))) paraf(struct doc *d, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->ops->para(d, buf);
}

static void cell_u64(struct doc *d, uint64_t v)
{
	cellf(d, "n", "%llu", (unsigned long long)v);
}

static void cell_time(struct doc *d, int64_t ns)
{
	char t[32];

	tg_rpt_time(ns, t, sizeof(t));
	d->ops->cell_trusted(d, t, "t");
}

static const char *sev_name(int s)
{
	return s < 0 ? "-" : tg_severity_name(s);
}

/* "nonexclusive-create 3, loose-mode 2": ids of this build, "other" for the rest. */
static void rule_mix(const struct tg_rpt_row *w, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < TG_RPT_NRULE && n < len; i++)
		if (w->rule[i])
			n += snprintf(buf + n, len - n, "%s%s %llu", n ? ", " : "",
				      i < TG_RULE_MAX ? tg_rule_id(i) : "other",
				      (unsigned long long)w->rule[i]);
}

/* ---- the body ---- */

static void period_text(const struct tg_rpt *r, char *req, size_t rlen, char *cov, size_t clen)
{
	char a[32], b[32], d[32];

	tg_rpt_time(r->opts.since_ns, a, sizeof(a));
	tg_rpt_time(r->opts.until_ns, b, sizeof(b));
	snprintf(req, rlen, "%s to %s", r->opts.since_ns == TG_RPT_NOTIME ? "the first record" : a,
		 r->opts.until_ns == TG_RPT_NOTIME
			 ? (r->opts.since_ns == TG_RPT_NOTIME ? "the last record" : "now")
			 : b);
	if (r->covered_from == TG_RPT_NOTIME) {
		snprintf(cov, clen, "nothing");
		return;
	}
	tg_rpt_time(r->covered_from, a, sizeof(a));
	tg_rpt_time(r->covered_to, b, sizeof(b));
	tg_rpt_duration(r->covered_ns, d, sizeof(d));
	snprintf(cov, clen, "%s to %s (%s watched)", a, b, d);
}

static void overview(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"", ""};
	char req[128], cov[160], ch[32];

	period_text(r, req, sizeof(req), cov, sizeof(cov));
	tg_rpt_change(r->trend.first_half, r->trend.second_half, ch, sizeof(ch));
	d->ops->table(d, head, 2);
#define ROW(k, ...)                                                                                \
	do {                                                                                       \
		d->ops->row(d);                                                                    \
		d->ops->cell_trusted(d, k, NULL);                                                  \
		cellf(d, NULL, __VA_ARGS__);                                                       \
		d->ops->end_row(d);                                                                \
	} while (0)
	ROW("Period requested", "%s", req);
	ROW("Period covered", "%s", cov);
	ROW("Hosts", "%zu", r->n_hosts);
	ROW("Sessions", "%zu (%zu without a clean stop)", r->n_sessions, r->n_unclean);
	ROW("Findings", "%llu (critical %llu, high %llu, medium %llu, low %llu)",
	    (unsigned long long)r->total, (unsigned long long)r->by_sev[TG_SEV_CRITICAL],
	    (unsigned long long)r->by_sev[TG_SEV_HIGH],
	    (unsigned long long)r->by_sev[TG_SEV_MEDIUM],
	    (unsigned long long)r->by_sev[TG_SEV_LOW]);
	ROW("Trend", "%s (first half %llu, second half %llu)", ch,
	    (unsigned long long)r->trend.first_half, (unsigned long long)r->trend.second_half);
	ROW("Records lost", "%llu in %zu windows", (unsigned long long)r->lost, r->n_losses);
	ROW("Repeats not recorded (rate limit)", "%llu", (unsigned long long)r->not_printed);
#undef ROW
	d->ops->end_table(d);
}

/* Rows evicted before a forward target had them, one row per forward gap. */
static void fwd_gaps(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"Host", "Target", "Stream",	   "Ids",
					   "From", "To",     "Evicted at", "Evicted"};

	d->ops->heading(d, 3, "Forward gaps", "forward-gaps");
	d->ops->para(d, "Rows a host's store evicted (its size limit) before a forward target "
			"had them: they are in no store.");
	d->ops->table(d, head, 8);
	for (size_t i = 0; i < r->n_fwd_gaps; i++) {
		const struct tg_rpt_fwd_gap *g = &r->fwd_gaps[i];

		d->ops->row(d);
		d->ops->cell(d, g->host);
		d->ops->cell(d, g->target);
		d->ops->cell(d, g->stream);
		cellf(d, "n", "%lld to %lld", (long long)g->first_id, (long long)g->last_id);
		cell_time(d, g->from_ns);
		cell_time(d, g->to_ns);
		cell_time(d, g->time_ns);
		cell_u64(d, g->evicted);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

/* Hosts whose latest session has no end and whose store went quiet. */
static void silent_hosts(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"Host", "Session started", "Last heard from",
					   "Silent for"};
	int64_t end = r->opts.now_ns;
	char dur[32];

	if (r->opts.until_ns != TG_RPT_NOTIME && r->opts.until_ns < end)
		end = r->opts.until_ns;
	d->ops->heading(d, 3, "Hosts that stopped reporting", "silent");
	paraf(d,
	      "A host whose latest session has no end and whose store was last heard from (its "
	      "heartbeat) more than %llds before the report's end.",
	      TG_RPT_SILENT_NS / 1000000000LL);
	d->ops->table(d, head, 4);
	for (size_t i = 0; i < r->n_hosts; i++) {
		const struct tg_rpt_session *s = r->hosts[i].silent;

		if (!s)
			continue;
		d->ops->row(d);
		d->ops->cell(d, r->hosts[i].name);
		cell_time(d, s->start_ns);
		cell_time(d, s->heard_ns);
		tg_rpt_duration(end - s->heard_ns, dur, sizeof(dur));
		d->ops->cell_trusted(d, dur, "n");
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

static void loss_windows(struct doc *d, const struct tg_rpt *r);

static void not_seen(struct doc *d, const struct tg_rpt *r)
{

	d->ops->heading(d, 2, "What this report could not see", "gaps");
	if (!r->n_gaps) {
		d->ops->para(d, "Nothing: every session stopped cleanly, no record was lost, every "
				"line was read, and the sessions cover the whole period.");
	} else {
		d->ops->list(d);
		for (size_t i = 0; i < r->n_gaps; i++)
			d->ops->item(d, r->gaps[i], "gap");
		d->ops->end_list(d);
	}
	if (r->n_losses)
		loss_windows(d, r);
	if (r->n_fwd_gaps)
		fwd_gaps(d, r);
	if (r->n_silent)
		silent_hosts(d, r);
}

static void loss_windows(struct doc *d, const struct tg_rpt *r)
{
	static const char *const loss_head[] = {"Host", "From", "To", "Records lost", "Window"};

	d->ops->heading(d, 3, "Loss windows", "loss");
	d->ops->table(d, loss_head, 5);
	for (size_t i = 0; i < r->n_losses; i++) {
		const struct tg_rpt_loss *l = &r->losses[i];

		d->ops->row(d);
		d->ops->cell(d, l->host);
		cell_time(d, l->from_ns);
		cell_time(d, l->to_ns);
		cell_u64(d, l->lost);
		d->ops->cell_trusted(
			d, l->unknown_time ? "somewhere in the session (summary)" : "recorded",
			NULL);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

static void sev_cells(struct doc *d, const uint64_t *sev)
{
	for (int s = TG_SEV_CRITICAL; s >= 0; s--)
		cell_u64(d, sev[s]);
}

static void findings(struct doc *d, const struct tg_rpt *r)
{
	static const char *const sev_head[] = {"Severity", "Findings"};
	static const char *const rule_head[] = {"Rule", "CWE",	  "Findings", "critical",
						"high", "medium", "low"};
	static const char *const host_head[] = {"Host", "Findings", "critical",
						"high", "medium",   "low"};
	static const char *const exe_head[] = {"Executable", "Findings", "Worst", "Rules"};
	static const char *const ctr_head[] = {"Container", "Runtime", "Findings", "Worst"};
	static const char *const pat_head[] = {"Path", "Findings", "Worst", "Rules"};
	char mix[512];

	d->ops->heading(d, 2, "Findings", "findings");
	d->ops->heading(d, 3, "By severity", NULL);
	d->ops->table(d, sev_head, 2);
	for (int s = TG_SEV_CRITICAL; s >= 0; s--) {
		d->ops->row(d);
		d->ops->cell_trusted(d, tg_severity_name(s), NULL);
		cell_u64(d, r->by_sev[s]);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 3, "By rule", NULL);
	d->ops->table(d, rule_head, 7);
	for (size_t i = 0; i < r->by_rule.n; i++) {
		const struct tg_rpt_row *w = &r->by_rule.rows[i];

		d->ops->row(d);
		d->ops->cell(d, w->key);
		d->ops->cell(d, w->text);
		cell_u64(d, w->n);
		sev_cells(d, w->sev);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 3, "By host", NULL);
	d->ops->table(d, host_head, 6);
	for (size_t i = 0; i < r->by_host.n; i++) {
		d->ops->row(d);
		d->ops->cell(d, r->by_host.rows[i].key);
		cell_u64(d, r->by_host.rows[i].n);
		sev_cells(d, r->by_host.rows[i].sev);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 3, "By executable", NULL);
	d->ops->table(d, exe_head, 4);
	for (size_t i = 0; i < r->by_exe.n; i++) {
		const struct tg_rpt_row *w = &r->by_exe.rows[i];

		d->ops->row(d);
		d->ops->cell(d, *w->key ? w->key : "(unknown)");
		cell_u64(d, w->n);
		d->ops->cell_trusted(d, sev_name(w->worst), NULL);
		rule_mix(w, mix, sizeof(mix));
		d->ops->cell_trusted(d, mix, NULL);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 3, "By path", NULL);
	if (r->by_pattern.n > TG_RPT_TOP_PATHS)
		paraf(d, "The %d most frequent of %zu path patterns (random parts of a name as *).",
		      TG_RPT_TOP_PATHS, r->by_pattern.n);
	else
		d->ops->para(d, "Path patterns: the random parts of a name as *.");
	d->ops->table(d, pat_head, 4);
	for (size_t i = 0; i < r->by_pattern.n && i < TG_RPT_TOP_PATHS; i++) {
		const struct tg_rpt_row *w = &r->by_pattern.rows[i];

		d->ops->row(d);
		d->ops->cell(d, w->key);
		cell_u64(d, w->n);
		d->ops->cell_trusted(d, sev_name(w->worst), NULL);
		rule_mix(w, mix, sizeof(mix));
		d->ops->cell_trusted(d, mix, NULL);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 3, "By container", NULL);
	d->ops->table(d, ctr_head, 4);
	for (size_t i = 0; i < r->by_container.n; i++) {
		const struct tg_rpt_row *w = &r->by_container.rows[i];

		d->ops->row(d);
		d->ops->cell(d, *w->key ? w->key : "(none: host processes)");
		d->ops->cell(d, w->text ? w->text : "");
		cell_u64(d, w->n);
		d->ops->cell_trusted(d, sev_name(w->worst), NULL);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

static void trend(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"Start", "critical", "high", "medium", "low", "total"};
	const struct tg_rpt_trend *t = &r->trend;
	char ch[32], unit[32];
	size_t shown = 0;

	d->ops->heading(d, 2, "Trend", "trend");
	if (!t->n) {
		d->ops->para(d, "No period to show: no record has a time.");
		return;
	}
	tg_rpt_change(t->first_half, t->second_half, ch, sizeof(ch));
	tg_rpt_duration(t->bucket_ns, unit, sizeof(unit));
	/* A very long period gets buckets of several weeks: then say how long. */
	paraf(d,
	      "Findings per %s (%zu buckets of the period). First half of the period: %llu, second "
	      "half: %llu "
	      "(%s).",
	      t->bucket_ns == t->unit_ns ? tg_rpt_bucket_name(t->unit) : unit, t->n,
	      (unsigned long long)t->first_half, (unsigned long long)t->second_half, ch);
	if (d->ops->chart)
		d->ops->chart(d, r);
	/* Empty buckets are left out of the table (the chart shows them). */
	d->ops->table(d, head, 6);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t total = 0;

		for (int s = 0; s < TG_RPT_NSEV; s++)
			total += t->counts[i][s];
		if (!total)
			continue;
		shown++;
		d->ops->row(d);
		cell_time(d, t->from_ns + (int64_t)i * t->bucket_ns);
		sev_cells(d, t->counts[i]);
		cell_u64(d, total);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
	if (!shown)
		d->ops->para(d, "No finding in the period.");
}

static void offenders(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"#",	       "Executable", "Host",  "Findings", "Worst",
					   "Rule mix", "First path", "First", "Last"};
	char mix[512];

	d->ops->heading(d, 2, "Top offenders", "offenders");
	if (!r->offenders.n) {
		d->ops->para(d, "None.");
		return;
	}
	d->ops->table(d, head, 9);
	for (size_t i = 0; i < r->offenders.n && i < TG_RPT_TOP; i++) {
		const struct tg_rpt_row *w = &r->offenders.rows[i];

		d->ops->row(d);
		cellf(d, "n", "%zu", i + 1);
		d->ops->cell(d, *w->key ? w->key : "(unknown)");
		d->ops->cell(d, w->key2);
		cell_u64(d, w->n);
		d->ops->cell_trusted(d, sev_name(w->worst), NULL);
		rule_mix(w, mix, sizeof(mix));
		d->ops->cell_trusted(d, mix, NULL);
		d->ops->cell(d, w->text);
		cell_time(d, w->first_ns);
		cell_time(d, w->last_ns);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

/* What an exception's expiry means for the period, in the words of the Expires column. */
static void expiry_text(const struct tg_rpt_exception *e, char *buf, size_t len)
{
	char t[32];

	tg_rpt_time(e->expires_ns, t, sizeof(t));
	switch (e->expiry) {
	case TG_RPT_EXP_NEVER:
		snprintf(buf, len, "never expires");
		break;
	case TG_RPT_EXP_LATER:
		snprintf(buf, len, "%s", t);
		break;
	case TG_RPT_EXP_SOON:
		snprintf(buf, len, "%s: expires within 30 days of the report's end", t);
		break;
	case TG_RPT_EXP_IN_PERIOD:
		snprintf(buf, len, "%s: expired during the period, no longer applied after then",
			 t);
		break;
	case TG_RPT_EXP_BEFORE:
		snprintf(buf, len, "%s: expired before the period, no longer applied", t);
		break;
	default:
		snprintf(buf, len, "expired (when not recorded), no longer applied");
		break;
	}
}

/* One sentence on what an auditor asks of the exceptions: which lapsed, which lapse soon, and
 * which nobody answers for or that never end. */
static void expiry_summary(struct doc *d, const struct tg_rpt *r)
{
	size_t n[TG_RPT_EXP_UNKNOWN + 1] = {0}, no_owner = 0;
	int64_t end = r->opts.until_ns != TG_RPT_NOTIME ? r->opts.until_ns : r->opts.now_ns;
	char buf[512], t[32];
	size_t len = 0;

	for (size_t i = 0; i < r->n_exceptions; i++) {
		n[r->exceptions[i].expiry]++;
		no_owner += !r->exceptions[i].owner;
	}
	tg_rpt_time(end, t, sizeof(t));
#define PART(cond, ...)                                                                            \
	do {                                                                                       \
		if ((cond) && len < sizeof(buf))                                                   \
			len += snprintf(buf + len, sizeof(buf) - len, "%s", len ? "; " : "");      \
		if ((cond) && len < sizeof(buf))                                                   \
			len += snprintf(buf + len, sizeof(buf) - len, __VA_ARGS__);                \
	} while (0)
	PART(n[TG_RPT_EXP_BEFORE], "%zu expired before the period and no longer applied",
	     n[TG_RPT_EXP_BEFORE]);
	PART(n[TG_RPT_EXP_IN_PERIOD], "%zu expired during the period", n[TG_RPT_EXP_IN_PERIOD]);
	PART(n[TG_RPT_EXP_UNKNOWN], "%zu had expired (when is not recorded)",
	     n[TG_RPT_EXP_UNKNOWN]);
	PART(n[TG_RPT_EXP_SOON], "%zu expire%s within 30 days of the report's end (%s)",
	     n[TG_RPT_EXP_SOON], n[TG_RPT_EXP_SOON] == 1 ? "s" : "", t);
	PART(no_owner, "%zu %s no owner", no_owner, no_owner == 1 ? "has" : "have");
	PART(n[TG_RPT_EXP_NEVER], "%zu never expire%s", n[TG_RPT_EXP_NEVER],
	     n[TG_RPT_EXP_NEVER] == 1 ? "s" : "");
#undef PART
	if (len)
		paraf(d, "Of the %zu exception%s listed: %s.", r->n_exceptions,
		      r->n_exceptions == 1 ? "" : "s", buf);
}

static void exceptions(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"Policy",
					   "Line",
					   "Rule",
					   "Reason",
					   "Owner",
					   "Expires",
					   "Applied in",
					   "Sessions",
					   "Hidden in the kernel",
					   "Hidden in user space"};
	char exp[160];

	d->ops->heading(d, 2, "Exceptions in force", "exceptions");
	if (!r->n_exceptions) {
		d->ops->para(d, "No exception was in force in any session that recorded its "
				"policy.");
	} else {
		d->ops->table(d, head, 10);
		for (size_t i = 0; i < r->n_exceptions; i++) {
			const struct tg_rpt_exception *e = &r->exceptions[i];

			d->ops->row(d);
			d->ops->cell(d, e->policy);
			cellf(d, "n", "%ld", e->line);
			d->ops->cell(d, e->rule);
			d->ops->cell(d, e->reason);
			if (e->owner)
				d->ops->cell(d, e->owner);
			else
				d->ops->cell_trusted(d, "no owner", NULL);
			expiry_text(e, exp, sizeof(exp));
			d->ops->cell_trusted(d, exp, NULL);
			d->ops->cell(d, e->applied_in);
			cellf(d, "n", "%zu", e->sessions);
			if (e->sessions_uncounted == e->sessions) {
				d->ops->cell_trusted(d, "unknown", "n");
				d->ops->cell_trusted(d, "unknown", "n");
			} else {
				cellf(d, "n", "%llu%s", (unsigned long long)e->hidden_kernel,
				      e->sessions_uncounted ? " or more" : "");
				cellf(d, "n", "%llu%s", (unsigned long long)e->hidden_user,
				      e->sessions_uncounted ? " or more" : "");
			}
			d->ops->end_row(d);
		}
		d->ops->end_table(d);
		d->ops->para(d,
			     "Hidden: findings the exception suppressed. Sessions without a "
			     "clean stop never reported their counts (\"or more\", \"unknown\").");
		expiry_summary(d, r);
	}
	if (r->hidden_by_replaced)
		paraf(d, "Exceptions of policies replaced during a session (SIGHUP) hid %llu more.",
		      (unsigned long long)r->hidden_by_replaced);
}

/* The sessions of host h, one row each. */
static void host_sessions(struct doc *d, const struct tg_rpt *r, const struct tg_rpt_host *h)
{
	static const char *const s_head[] = {"Start",  "End",	      "Stop",	  "Scope", "Input",
					     "Policy", "Enforcement", "Findings", "Lost"};

	d->ops->table(d, s_head, 9);
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		if (strcmp(s->host, h->name))
			continue;
		d->ops->row(d);
		cell_time(d, s->start_ns);
		cell_time(d, s->end_ns);
		d->ops->cell_trusted(
			d,
			s->clean ? (s->end_recorded ? "clean" : "clean (time not recorded)")
				 : "NOT CLEAN: unknown after this",
			NULL);
		d->ops->cell_trusted(d,
				     !s->has_record ? "unknown"
				     : s->tree_only ? "one process tree"
						    : "host",
				     NULL);
		d->ops->cell(d, r->inputs[s->input].name);
		d->ops->cell(d, s->policy ? s->policy : "unknown");
		d->ops->cell(d, s->enforcement ? s->enforcement : "unknown");
		cell_u64(d, s->findings);
		cell_u64(d, s->lost_windows > s->lost_summary ? s->lost_windows : s->lost_summary);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

/* The posture of the host's latest session (known): sysctls and enforcement, then mounts. */
static void host_posture(struct doc *d, const struct tg_rpt_host *h, const struct tg_rpt_posture *p)
{
	static const char *const sys_head[] = {"Setting", "Value"};
	static const char *const m_head[] = {"Directory", "Type",      "Options",
					     "Mode",	  "Own mount", "Mounted at"};

	d->ops->table(d, sys_head, 2);
	for (int i = 0; i < TG_RPT_NSYSCTL; i++) {
		d->ops->row(d);
		d->ops->cell_trusted(d, tg_rpt_sysctl_names[i], NULL);
		if (p->sysctl[i] < 0)
			d->ops->cell_trusted(d, "not recorded", NULL);
		else
			cellf(d, "n", "%ld%s", p->sysctl[i], p->sysctl[i] ? "" : " (weak)");
		d->ops->end_row(d);
	}
	d->ops->row(d);
	d->ops->cell_trusted(d, "enforcement", NULL);
	d->ops->cell(d, h->latest->enforcement ? h->latest->enforcement : "not recorded");
	d->ops->end_row(d);
	d->ops->end_table(d);
	d->ops->table(d, m_head, 6);
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct tg_rpt_mount *m = &p->mounts[i];

		d->ops->row(d);
		d->ops->cell(d, m->path);
		d->ops->cell(d, m->fstype);
		d->ops->cell(d, m->options);
		d->ops->cell(d, m->mode);
		d->ops->cell_trusted(d,
				     m->exists == 0    ? "absent"
				     : m->separate < 0 ? "unknown"
				     : m->separate     ? "yes"
						       : "no",
				     NULL);
		d->ops->cell(d, m->mount_point);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

/* The exceptions a policy held, by their lines (rows of "Exceptions in force"). */
static void policy_exceptions(const struct tg_rpt *r, const struct tg_rpt_policy *p, char *buf,
			      size_t len)
{
	size_t n = 0;
	long last = -1;

	if (!p->exceptions_known) {
		snprintf(buf, len, "not recorded (replaced by a reload)");
		return;
	}
	if (!p->n_exceptions) {
		snprintf(buf, len, "none");
		return;
	}
	n = (size_t)snprintf(buf, len, "line%s", p->n_exceptions == 1 ? "" : "s");
	for (size_t i = 0; i < p->n_exceptions && n < len; i++) {
		long line = r->exceptions[p->exceptions[i]].line;

		if (line != last)
			n += (size_t)snprintf(buf + n, len - n, "%s %ld", i ? "," : "", line);
		last = line;
	}
}

/* The policies in force on host h, by content: path, digest, when, and their exceptions. */
static void host_policies(struct doc *d, const struct tg_rpt *r, const struct tg_rpt_host *h)
{
	static const char *const head[] = {"Policy", "SHA-256",	 "From",
					   "To",     "Sessions", "Exceptions"};
	char exc[512];
	bool partial = false;

	d->ops->heading(d, 4, "Policies in force", NULL);
	if (!h->n_policies) {
		d->ops->para(d, "Not recorded (no session record).");
		return;
	}
	d->ops->table(d, head, 6);
	for (size_t i = 0; i < h->n_policies; i++) {
		const struct tg_rpt_policy *p = &h->policies[i];

		d->ops->row(d);
		d->ops->cell(d, p->path);
		if (p->sha256)
			d->ops->cell(d, p->sha256);
		else
			d->ops->cell_trusted(d, "not recorded", NULL);
		cell_time(d, p->from_ns);
		cell_time(d, p->to_ns);
		cellf(d, "n", "%zu", p->sessions);
		policy_exceptions(r, p, exc, sizeof(exc));
		d->ops->cell_trusted(d, exc, NULL);
		d->ops->end_row(d);
		partial |= p->partial;
	}
	d->ops->end_table(d);
	d->ops->para(d, "SHA-256 of the policy file as loaded (sha256sum gives it). Exceptions: "
			"their lines in \"Exceptions in force\".");
	if (partial)
		d->ops->para(d, "A session reloaded its policy more than once: the policies "
				"between its first and its last are not recorded.");
}

static void host_section(struct doc *d, const struct tg_rpt *r, const struct tg_rpt_host *h)
{
	const struct tg_rpt_posture *p = h->latest ? &h->latest->posture : NULL;
	char cov[32];

	d->ops->heading_named(d, 3, "Host ", h->name);
	tg_rpt_duration(h->covered_ns, cov, sizeof(cov));
	paraf(d,
	      "%zu sessions (%zu without a clean stop), %s watched, %llu findings, %llu records "
	      "lost.",
	      h->n_sessions, h->n_unclean, cov, (unsigned long long)h->findings,
	      (unsigned long long)h->lost);
	host_sessions(d, r, h);
	host_policies(d, r, h);

	d->ops->heading(d, 4, "Hooks active", NULL);
	if (!h->n_hooks) {
		d->ops->para(d, "Not recorded (no session record).");
	} else {
		d->ops->list(d);
		for (size_t i = 0; i < h->n_hooks; i++)
			d->ops->item(d, h->hooks[i], "hook");
		d->ops->end_list(d);
	}

	d->ops->heading(d, 4, "Posture", NULL);
	if (p && p->known)
		host_posture(d, h, p);
	if (h->n_remarks) {
		d->ops->list(d);
		for (size_t i = 0; i < h->n_remarks; i++)
			d->ops->item(d, h->remarks[i], "remark");
		d->ops->end_list(d);
	} else {
		d->ops->para(d, "No weakness found in the recorded posture.");
	}
}

static void cwe_advice(struct doc *d, const struct tg_rpt *r)
{
	static const char *const cwe_head[] = {"CWE", "Findings", "Rules"};
	static const char *const adv_head[] = {"Rule", "Language", "Findings", "Advice"};
	char mix[512];

	d->ops->heading(d, 2, "CWE", "cwe");
	d->ops->table(d, cwe_head, 3);
	for (size_t i = 0; i < r->cwe.n; i++) {
		d->ops->row(d);
		d->ops->cell(d, r->cwe.rows[i].key);
		cell_u64(d, r->cwe.rows[i].n);
		rule_mix(&r->cwe.rows[i], mix, sizeof(mix));
		d->ops->cell_trusted(d, mix, NULL);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);

	d->ops->heading(d, 2, "Advice", "advice");
	d->ops->table(d, adv_head, 4);
	for (size_t i = 0; i < r->advice.n; i++) {
		const struct tg_rpt_row *w = &r->advice.rows[i];

		d->ops->row(d);
		d->ops->cell(d, w->key);
		d->ops->cell(d, w->key2);
		cell_u64(d, w->n);
		d->ops->cell(d, w->text);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
}

/* What each digest of the inputs is of, once per kind of digest. */
static void digests_said(struct doc *d, const struct tg_rpt *r)
{
	for (size_t i = 0; i < r->n_inputs; i++) {
		const char *how = r->inputs[i].digest_how;
		bool said = false;

		for (size_t k = 0; k < i && how && !said; k++)
			said = r->inputs[k].digest_how && !strcmp(r->inputs[k].digest_how, how);
		if (how && !said)
			paraf(d, "SHA-256 %s.", how);
	}
	for (size_t i = 0; i < r->n_inputs; i++)
		if (r->inputs[i].wal_bytes) {
			d->ops->para(d,
				     "A store with a write-ahead log (audit still writing it, or "
				     "stopped without a clean close) was read with its log: both "
				     "are hashed. A stopped store has none, and sha256sum of the "
				     "file gives its digest.");
			break;
		}
}

static void inputs(struct doc *d, const struct tg_rpt *r)
{
	static const char *const head[] = {"Input",   "Kind",	    "Bytes",	      "SHA-256",
					   "Records", "Unreadable", "Not understood", "Duplicates"};
	char wal[160];

	d->ops->heading(d, 2, "Inputs", "inputs");
	d->ops->table(d, head, 8);
	for (size_t i = 0; i < r->n_inputs; i++) {
		const struct tg_rpt_input *in = &r->inputs[i];

		d->ops->row(d);
		d->ops->cell(d, in->name);
		d->ops->cell_trusted(d, tg_rpt_input_kind_name(in), NULL);
		if (in->bytes >= 0)
			cellf(d, "n", "%lld", (long long)in->bytes);
		else
			d->ops->cell_trusted(d, "-", "n");
		snprintf(wal, sizeof(wal), "; write-ahead log (%llu bytes): %s",
			 (unsigned long long)in->wal_bytes, in->wal_sha256);
		cellf(d, NULL, "%s%s", *in->sha256 ? in->sha256 : "not hashed",
		      in->wal_bytes ? wal : "");
		cell_u64(d, in->records);
		cell_u64(d, in->unreadable);
		cell_u64(d, in->invalid);
		cell_u64(d, in->duplicates);
		d->ops->end_row(d);
	}
	d->ops->end_table(d);
	digests_said(d, r);
}

static int body(struct doc *d, const struct tg_rpt *r)
{
	char t[32];

	d->ops->begin(d, r);
	tg_rpt_time(r->opts.now_ns, t, sizeof(t));
	paraf(d, "Generated %s by tmpguard %s from %zu inputs.", t, d->version, r->n_inputs);
	if (d->ops->cards)
		d->ops->cards(d, r);
	overview(d, r);
	trend(d, r);
	not_seen(d, r);
	findings(d, r);
	offenders(d, r);
	exceptions(d, r);
	d->ops->heading(d, 2, "Hosts", "hosts");
	if (!r->n_hosts)
		d->ops->para(d, "No host in the period.");
	for (size_t i = 0; i < r->n_hosts; i++)
		host_section(d, r, &r->hosts[i]);
	cwe_advice(d, r);
	inputs(d, r);
	d->ops->end(d);
	return ferror(d->out) ? -EIO : 0;
}

/* ---- Markdown ---- */

static void md_begin(struct doc *d, const struct tg_rpt *r)
{
	(void)r;
	fputs("# tmpguard compliance report\n\n", d->out);
}

static void md_end(struct doc *d)
{
	(void)d;
}

static void md_heading(struct doc *d, int level, const char *text, const char *id)
{
	(void)id;
	fprintf(d->out, "%.*s %s\n\n", level, "######", text);
}

static void md_heading_named(struct doc *d, int level, const char *text, const char *name)
{
	fprintf(d->out, "%.*s %s", level, "######", text);
	tg_md_escape(d->out, name);
	fputs("\n\n", d->out);
}

static void md_para(struct doc *d, const char *text)
{
	fprintf(d->out, "%s\n\n", text);
}

static void md_table(struct doc *d, const char *const *head, int n)
{
	d->cols = n;
	for (int i = 0; i < n; i++)
		fprintf(d->out, "| %s ", head[i]);
	fputs("|\n", d->out);
	for (int i = 0; i < n; i++)
		fputs("|---", d->out);
	fputs("|\n", d->out);
}

static void md_row(struct doc *d)
{
	(void)d;
}

static void md_cell(struct doc *d, const char *s)
{
	fputs("| ", d->out);
	tg_md_escape(d->out, s ? s : "");
	fputc(' ', d->out);
}

static void md_cell_trusted(struct doc *d, const char *s, const char *cls)
{
	(void)cls;
	fprintf(d->out, "| %s ", s);
}

static void md_end_row(struct doc *d)
{
	fputs("|\n", d->out);
}

static void md_end_table(struct doc *d)
{
	fputc('\n', d->out);
}

static void md_list(struct doc *d)
{
	(void)d;
}

static void md_item(struct doc *d, const char *s, const char *cls)
{
	(void)cls;
	fputs("- ", d->out);
	tg_md_escape(d->out, s);
	fputc('\n', d->out);
}

static void md_end_list(struct doc *d)
{
	fputc('\n', d->out);
}

static const struct doc_ops md_ops = {
	.begin = md_begin,
	.end = md_end,
	.heading = md_heading,
	.heading_named = md_heading_named,
	.para = md_para,
	.table = md_table,
	.row = md_row,
	.cell = md_cell,
	.cell_trusted = md_cell_trusted,
	.end_row = md_end_row,
	.end_table = md_end_table,
	.list = md_list,
	.item = md_item,
	.end_list = md_end_list,
};

int tg_rpt_md(FILE *out, const struct tg_rpt *r, const char *version)
{
	struct doc d = {.out = out, .ops = &md_ops, .version = version};

	return body(&d, r);
}

/* ---- HTML ---- */

/* Severity colours: the chart, the cards and the legend agree. */
static const char *const sev_colour[TG_RPT_NSEV] = {"#2563eb", "#d97706", "#dc2626", "#7f1d1d"};

static const char html_css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;"
	"background:#f3f4f6;margin:0}"
	"main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff}"
	"h1{font-size:28px;margin:8px 0 4px}h2{font-size:21px;margin:36px 0 10px;"
	"border-bottom:2px solid #e5e7eb;padding-bottom:4px}h3{font-size:17px;margin:22px 0 8px}"
	"h4{font-size:15px;margin:16px 0 6px;color:#374151}"
	"p{margin:6px 0 12px}.meta{color:#6b7280}"
	"table{border-collapse:collapse;margin:6px 0 16px;width:100%;font-size:14px}"
	"th,td{border:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top;"
	"overflow-wrap:anywhere}th{background:#f9fafb;font-weight:600;overflow-wrap:normal}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.t{white-space:nowrap;font-variant-numeric:tabular-nums}"
	"tr:nth-child(even) td{background:#fcfcfd}"
	".cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
	".card{flex:1 1 120px;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px;"
	"border-top:4px solid #9ca3af}.card .v{font-size:26px;font-weight:700}"
	".card .l{color:#6b7280;font-size:13px}.card.crit{border-top-color:#7f1d1d}"
	".card.high{border-top-color:#dc2626}.card.warn{border-top-color:#d97706}"
	".card.ok{border-top-color:#16a34a}"
	"ul{margin:6px 0 14px;padding-left:22px}li{margin:3px 0}"
	"li.gap,li.remark{color:#7c2d12}li.hook{font-family:ui-monospace,monospace;font-size:13px}"
	".host{font-family:ui-monospace,monospace}"
	".chart{width:100%;height:auto;border:1px solid #e5e7eb;border-radius:6px;margin:6px 0}"
	".legend span{display:inline-block;margin-right:14px;font-size:13px}"
	".legend i{display:inline-block;width:11px;height:11px;margin-right:5px;border-radius:2px;"
	"vertical-align:-1px}"
	"@media print{body{background:#fff}main{padding:0}}";

static void html_begin(struct doc *d, const struct tg_rpt *r)
{
	(void)r;
	/* The policy forbids every script and every fetch: a name that escaped escaping could
	 * still do nothing. */
	fprintf(d->out,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"style-src 'unsafe-inline'\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>tmpguard compliance report</title>\n<style>%s</style>\n</head>\n<body>\n"
		"<main>\n<h1>tmpguard compliance report</h1>\n",
		html_css);
}

static void html_end(struct doc *d)
{
	fputs("</main>\n</body>\n</html>\n", d->out);
}

static void html_heading_named(struct doc *d, int level, const char *text, const char *name)
{
	fprintf(d->out, "<h%d class=\"host\">%s", level, text);
	tg_html_escape(d->out, name);
	fprintf(d->out, "</h%d>\n", level);
}

static void html_heading(struct doc *d, int level, const char *text, const char *id)
{
	if (id)
		fprintf(d->out, "<h%d id=\"%s\">%s</h%d>\n", level, id, text, level);
	else
		fprintf(d->out, "<h%d>%s</h%d>\n", level, text, level);
}

static void html_para(struct doc *d, const char *text)
{
	/* Our own text, but it quotes: escape all the same. */
	fputs("<p>", d->out);
	tg_html_escape(d->out, text);
	fputs("</p>\n", d->out);
}

static void html_table(struct doc *d, const char *const *head, int n)
{
	d->cols = n;
	fputs("<table>\n", d->out);
	if (n && *head[0]) {
		fputs("<thead><tr>", d->out);
		for (int i = 0; i < n; i++)
			fprintf(d->out, "<th>%s</th>", head[i]);
		fputs("</tr></thead>\n", d->out);
	}
	fputs("<tbody>\n", d->out);
}

static void html_row(struct doc *d)
{
	fputs("<tr>", d->out);
}

static void html_cell(struct doc *d, const char *s)
{
	fputs("<td>", d->out);
	tg_html_escape(d->out, s ? s : "");
	fputs("</td>", d->out);
}

static void html_cell_trusted(struct doc *d, const char *s, const char *cls)
{
	if (cls)
		fprintf(d->out, "<td class=\"%s\">", cls);
	else
		fputs("<td>", d->out);
	tg_html_escape(d->out, s);
	fputs("</td>", d->out);
}

static void html_end_row(struct doc *d)
{
	fputs("</tr>\n", d->out);
}

static void html_end_table(struct doc *d)
{
	fputs("</tbody>\n</table>\n", d->out);
}

static void html_list(struct doc *d)
{
	fputs("<ul>\n", d->out);
}

static void html_item(struct doc *d, const char *s, const char *cls)
{
	fprintf(d->out, "<li class=\"%s\">", cls ? cls : "");
	tg_html_escape(d->out, s);
	fputs("</li>\n", d->out);
}

static void html_end_list(struct doc *d)
{
	fputs("</ul>\n", d->out);
}

static void card(struct doc *d, const char *cls, const char *label, const char *fmt,
		 unsigned long long v)
{
	fprintf(d->out, "<div class=\"card %s\"><div class=\"v\">", cls);
	fprintf(d->out, fmt, v);
	fprintf(d->out, "</div><div class=\"l\">%s</div></div>\n", label);
}

static void html_cards(struct doc *d, const struct tg_rpt *r)
{
	char ch[32];

	tg_rpt_change(r->trend.first_half, r->trend.second_half, ch, sizeof(ch));
	fputs("<section class=\"cards\">\n", d->out);
	card(d, r->total ? "high" : "ok", "findings", "%llu", (unsigned long long)r->total);
	card(d, r->by_sev[TG_SEV_CRITICAL] ? "crit" : "ok", "critical", "%llu",
	     (unsigned long long)r->by_sev[TG_SEV_CRITICAL]);
	card(d, r->by_sev[TG_SEV_HIGH] ? "high" : "ok", "high", "%llu",
	     (unsigned long long)r->by_sev[TG_SEV_HIGH]);
	card(d, "", "hosts", "%llu", (unsigned long long)r->n_hosts);
	card(d, r->n_unclean ? "warn" : "ok", "sessions without a clean stop", "%llu",
	     (unsigned long long)r->n_unclean);
	card(d, r->lost ? "warn" : "ok", "records lost", "%llu", (unsigned long long)r->lost);
	fprintf(d->out,
		"<div class=\"card\"><div class=\"v\">%s</div><div class=\"l\">trend, second half "
		"vs first</div></div>\n",
		ch);
	fputs("</section>\n", d->out);
}

/* Stacked bars per bucket by severity; loss windows shaded; tooltips in <title>. */
/* The chart's frame (viewBox units): size, margins, plot area, bar width, the span of time it
 * shows and the highest bar. */
struct chart {
	double W, H, L, R, T, B;
	double pw, ph, bw;
	int64_t span;
	uint64_t max;
};

/* Where records were lost, in the known windows. */
static void chart_losses(struct doc *d, const struct tg_rpt *r, const struct chart *c)
{
	const struct tg_rpt_trend *t = &r->trend;
	const double L = c->L, T = c->T, pw = c->pw, ph = c->ph;
	int64_t span = c->span;

	for (size_t i = 0; i < r->n_losses; i++) {
		const struct tg_rpt_loss *l = &r->losses[i];
		double x0, x1;

		if (l->unknown_time || l->to_ns < t->from_ns || l->from_ns > t->from_ns + span)
			continue;
		x0 = L + pw *
				 (double)((l->from_ns > t->from_ns ? l->from_ns : t->from_ns) -
					  t->from_ns) /
				 (double)span;
		x1 = L + pw *
				 (double)((l->to_ns < t->from_ns + span ? l->to_ns
									: t->from_ns + span) -
					  t->from_ns) /
				 (double)span;
		fprintf(d->out,
			"<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"#9ca3af\" "
			"opacity=\".35\"><title>%llu records lost</title></rect>\n",
			x0, T, x1 - x0 < 2 ? 2 : x1 - x0, ph, (unsigned long long)l->lost);
	}
}

/* One stacked bar per bucket with findings, its counts in its title. */
static void chart_bars(struct doc *d, const struct tg_rpt_trend *t, const struct chart *c)
{
	const double L = c->L, T = c->T, ph = c->ph, bw = c->bw;
	uint64_t max = c->max;
	char a[32];

	for (size_t i = 0; i < t->n; i++) {
		double y = T + ph, gap = bw > 4 ? bw * 0.15 : 0;
		uint64_t total = 0;

		for (int k = 0; k < TG_RPT_NSEV; k++)
			total += t->counts[i][k];
		if (!total)
			continue;
		tg_rpt_time(t->from_ns + (int64_t)i * t->bucket_ns, a, sizeof(a));
		fprintf(d->out, "<g><title>%s: %llu findings", a, (unsigned long long)total);
		for (int k = TG_SEV_CRITICAL; k >= 0; k--)
			fprintf(d->out, ", %s %llu", tg_severity_name(k),
				(unsigned long long)t->counts[i][k]);
		fputs("</title>", d->out);
		for (int k = 0; k < TG_RPT_NSEV; k++) {
			double h = max ? ph * (double)t->counts[i][k] / (double)max : 0;

			if (!t->counts[i][k])
				continue;
			y -= h;
			fprintf(d->out,
				"<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				"fill=\"%s\"/>",
				L + bw * (double)i + gap / 2, y, bw - gap > 1 ? bw - gap : 1, h,
				sev_colour[k]);
		}
		fputs("</g>\n", d->out);
	}
}

/* Time axis: first, middle and last bucket. */
static void chart_axis(struct doc *d, const struct tg_rpt_trend *t, const struct chart *c)
{
	const double W = c->W, H = c->H, L = c->L, R = c->R, B = c->B, bw = c->bw;
	char a[32];

	for (int k = 0; k < 3; k++) {
		size_t i = k == 0 ? 0 : k == 1 ? t->n / 2 : t->n - 1;
		const char *anchor = k == 0 ? "start" : k == 1 ? "middle" : "end";
		double x = k == 0 ? L : k == 1 ? L + bw * ((double)i + 0.5) : W - R;

		if (k == 1 && (t->n < 3))
			continue;
		tg_rpt_time(t->from_ns + (int64_t)i * t->bucket_ns, a, sizeof(a));
		if (t->unit != TG_RPT_HOUR)
			a[10] = 0; /* the date is enough */
		else
			a[16] = 0, a[10] = ' ';
		fprintf(d->out,
			"<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"%s\" "
			"fill=\"#374151\">%s</text>\n",
			x, H - B + 18, anchor, a);
	}
}

static void html_chart(struct doc *d, const struct tg_rpt *r)
{
	const struct tg_rpt_trend *t = &r->trend;
	const double W = 1100, H = 300, L = 56, R = 16, T = 16, B = 46;
	double pw = W - L - R, ph = H - T - B, bw = pw / (double)t->n;
	int64_t span = (int64_t)t->n * t->bucket_ns;
	uint64_t max = 0;
	struct chart c;

	for (size_t i = 0; i < t->n; i++) {
		uint64_t s = 0;

		for (int k = 0; k < TG_RPT_NSEV; k++)
			s += t->counts[i][k];
		if (s > max)
			max = s;
	}
	c = (struct chart){W, H, L, R, T, B, pw, ph, bw, span, max};
	fputs("<div class=\"legend\">", d->out);
	for (int k = TG_SEV_CRITICAL; k >= 0; k--)
		fprintf(d->out, "<span><i style=\"background:%s\"></i>%s</span>", sev_colour[k],
			tg_severity_name(k));
	fputs("<span><i style=\"background:#9ca3af;opacity:.35\"></i>records lost</span></div>\n",
	      d->out);
	fprintf(d->out,
		"<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		"aria-label=\"Findings over time by severity\">\n",
		W, H);
	fprintf(d->out,
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\"/>\n", L,
		T, pw, ph);
	chart_losses(d, r, &c);
	/* Grid: 0, half, max. */
	for (int g = 0; g <= 2; g++) {
		double y = T + ph - ph * g / 2.0;
		double v = max ? (double)max * g / 2.0 : g;

		fprintf(d->out,
			"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>"
			"<text x=\"%.0f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
			"fill=\"#6b7280\">%.4g</text>\n",
			L, W - R, y, y, L - 6, y + 4, v);
	}
	chart_bars(d, t, &c);
	chart_axis(d, t, &c);
	fprintf(d->out,
		"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#9ca3af\"/>\n", L,
		W - R, T + ph, T + ph);
	if (!max)
		fprintf(d->out,
			"<text x=\"%.0f\" y=\"%.0f\" font-size=\"15\" text-anchor=\"middle\" "
			"fill=\"#6b7280\">No finding in the period</text>\n",
			L + pw / 2, T + ph / 2);
	fprintf(d->out,
		"<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\" "
		"fill=\"#6b7280\">findings per %s (UTC)</text>\n</svg>\n",
		L + pw / 2, H - 8, tg_rpt_bucket_name(t->unit));
}

static const struct doc_ops html_ops = {
	.begin = html_begin,
	.end = html_end,
	.heading = html_heading,
	.heading_named = html_heading_named,
	.para = html_para,
	.table = html_table,
	.row = html_row,
	.cell = html_cell,
	.cell_trusted = html_cell_trusted,
	.end_row = html_end_row,
	.end_table = html_end_table,
	.list = html_list,
	.item = html_item,
	.end_list = html_end_list,
	.cards = html_cards,
	.chart = html_chart,
};

int tg_rpt_html(FILE *out, const struct tg_rpt *r, const char *version)
{
	struct doc d = {.out = out, .ops = &html_ops, .version = version};

	return body(&d, r);
}

/* ---- CSV: one row per finding, query's columns (finding_csv.c) ---- */

int tg_rpt_csv(FILE *out, const struct tg_rpt *r)
{
	tg_finding_csv_header(out);
	for (size_t i = 0; i < r->n_findings; i++)
		fputs(r->findings[i].csv ? r->findings[i].csv : "", out);
	return ferror(out) ? -EIO : 0;
}
