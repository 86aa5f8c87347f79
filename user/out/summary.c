// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The session summary: collected from the session's counters, rendered as text and as JSON. */
#include <stdlib.h>
#include <string.h>
#include "record.h"
#include "rules.h"
#include "summary.h"
#include "tmpguard.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define LLU(x) ((unsigned long long)(x))

/* ---- collecting ---- */

static void collect_events(struct tg_summary_events *ev, const struct tg_summary_source *src)
{
	const struct tg_pipeline *pl = src->pl;
	const uint64_t *st = src->kstats;
	size_t nu;

	ev->creates_seen = st[TG_STAT_CREATE_SEEN];
	ev->probes_recorded = st[TG_STAT_PROBE_ENOENT];
	ev->mkdirs_seen = st[TG_STAT_MKDIR_SEEN];
	ev->sent = st[TG_STAT_SENT];
	ev->lost = st[TG_STAT_LOST];
	ev->excepted_in_kernel = st[TG_STAT_EXCEPTED];
	ev->received = pl->received;
	ev->unresolved = pl->unresolved;
	ev->malformed = pl->decode_errors;
	ev->repeats_not_printed = pl->suppressed;
	ev->over_budget = tg_budget_total(pl->budget);
	ev->over_budget_by_host = tg_budget_by_host(pl->budget);
	nu = tg_budget_suppressed(pl->budget, ev->budget_uid, ev->budget_not_printed,
				  TG_SUMMARY_BUDGET_UIDS);
	ev->n_budget_uids = nu < TG_SUMMARY_BUDGET_UIDS ? nu : TG_SUMMARY_BUDGET_UIDS;
	ev->aggregate_overflow = tg_agg_overflow(pl->agg);
	ev->aggregate_folded = tg_agg_folded(pl->agg);
	ev->denied = st[TG_STAT_DENIED];
	ev->killed = st[TG_STAT_KILLED];
	ev->would_deny = st[TG_STAT_WOULD_DENY];
	ev->health_alerts = src->health_alerts;
	ev->io_uring_unseen = st[TG_STAT_URING_UNSEEN];
	ev->opens_unseen = st[TG_STAT_STASH_FAILED];
	ev->forks_untracked = st[TG_STAT_TRACK_FULL];
	ev->call_sites_lost = st[TG_STAT_STACK_LOST] + st[TG_STAT_PY_LOST] + pl->captures_unmatched;
	ev->call_sites_reused = st[TG_STAT_STACK_REF];
}

void tg_summary_collect(struct tg_summary *sum, const struct tg_summary_source *src)
{
	const struct tg_agg *agg = src->pl->agg;

	memset(sum, 0, sizeof(*sum));
	sum->time_ns = src->now_ns;
	sum->started_ns = src->started_ns;
	sum->boot_to_real_ns = src->boot_to_real_ns;
	sum->host = src->host;
	for (int sev = 0; sev <= TG_SEV_CRITICAL; sev++) {
		sum->by_severity[sev] = tg_agg_by_severity(agg, sev);
		sum->findings += sum->by_severity[sev];
	}
	for (int r = 0; r < TG_RULE_MAX; r++)
		sum->by_rule[r] = tg_agg_by_rule(agg, r);
	sum->entries = tg_agg_sorted(src->pl->agg);
	sum->n_entries = tg_agg_size(agg);
	sum->n_listed =
		tg_agg_top(sum->entries, sum->n_entries, TG_SUMMARY_AGGREGATES, sum->listed);
	for (size_t i = 0, l = 0; i < sum->n_entries; i++) {
		if (l < sum->n_listed && sum->listed[l] == i)
			l++;
		else
			sum->not_listed_findings += sum->entries[i]->count;
	}
	sum->agg_per_uid = src->agg_per_uid;
	collect_events(&sum->events, src);
	sum->policy = src->policy;
	sum->enforcement = src->enforcement;
	sum->has_output = src->output != NULL;
	if (src->output)
		sum->output = *src->output;
	if (src->db_path && src->store) {
		sum->db_path = src->db_path;
		sum->store = *src->store;
	}
}

/* ---- text ---- */

static void text_aggregates(FILE *out, const struct tg_summary *sum)
{
	uint32_t last_pid = 0;

	for (size_t l = 0; l < sum->n_listed; l++) {
		size_t i = sum->listed[l];
		const struct tg_agg_entry *a = sum->entries[i];
		char *comm = tg_text_dup(a->comm, strlen(a->comm));
		char *exe = tg_text_dup(a->exe, strlen(a->exe));
		char *pat = tg_text_dup(a->pattern, strlen(a->pattern));

		if (a->folded)
			fprintf(out, "  uid %u, past its share of the table (%zu keys)\n", a->uid,
				sum->agg_per_uid);
		else if (i == 0 || a->pid != last_pid)
			fprintf(out, "  pid %u %s (%s)\n", a->pid, comm ? comm : "?",
				exe ? exe : "?");
		last_pid = a->folded ? 0 : a->pid;
		fprintf(out, "    %-20s %-8s x%-5llu %s\n", tg_rule_id(a->rule),
			tg_severity_name(a->severity), LLU(a->count), pat ? pat : "?");
		free(comm);
		free(exe);
		free(pat);
	}
	if (sum->n_listed < sum->n_entries)
		fprintf(out,
			"  and %zu more (%llu findings), not listed: the summary lists the %d most "
			"severe, then most counted\n",
			sum->n_entries - sum->n_listed, LLU(sum->not_listed_findings),
			TG_SUMMARY_AGGREGATES);
}

/* What exception i hid in the kernel (0 when it is not one the kernel holds). */
static uint64_t hid_kernel(const struct tg_summary_policy *p, size_t i)
{
	return p->hid_kernel && i < p->n_hid_kernel ? p->hid_kernel[i] : 0;
}

/* ", expired at T; owner: O" or " until T; owner: O", or less: what the policy says of an
 * exception's life, for the text summary. */
static void text_expiry_owner(FILE *out, const struct tg_exception *x, int64_t now_ns)
{
	char t[64], *owner;

	if (x->expires_ns) {
		tg_format_time_short(x->expires_ns, t, sizeof(t));
		fprintf(out, tg_exception_expired(x, now_ns) ? ", expired at %s" : " until %s", t);
	}
	if (x->owner) {
		owner = tg_text_dup(x->owner, strlen(x->owner));
		fprintf(out, "; owner: %s", owner ? owner : "?");
		free(owner);
	}
}

static void text_policy(FILE *out, const struct tg_summary_policy *p)
{
	fprintf(out, "  policy %s: %llu reloads (%llu refused)\n", p->pol->source, LLU(p->reloads),
		LLU(p->reloads_refused));
	for (size_t i = 0; i < p->pol->n_exceptions; i++) {
		const struct tg_exception *x = &p->pol->exceptions[i];
		char *reason = tg_text_dup(x->reason, strlen(x->reason));

		fprintf(out, "    exception line %d (%s, applied in %s", x->line,
			x->rule < 0 ? "*" : tg_rule_id(x->rule),
			p->in_kernel[i] ? "the kernel" : "user space");
		text_expiry_owner(out, x, p->now_ns);
		fprintf(out, "): hid %llu in the kernel, %llu in user space: %s\n",
			LLU(hid_kernel(p, i)), LLU(p->hid_user ? p->hid_user[i] : 0),
			reason ? reason : "?");
		free(reason);
	}
	if (p->hid_by_earlier)
		fprintf(out, "    exceptions of earlier policies hid %llu\n",
			LLU(p->hid_by_earlier));
}

/* What this run could not see, or saw only in part. */
static void text_warnings(FILE *out, const struct tg_summary_events *ev)
{
	if (ev->aggregate_folded)
		fprintf(out,
			"  %llu findings of users past their share of the aggregation table were "
			"counted per user and rule\n",
			LLU(ev->aggregate_folded));
	if (ev->aggregate_overflow)
		fprintf(out,
			"  %llu findings beyond the aggregation table were printed unaggregated\n",
			LLU(ev->aggregate_overflow));
	if (ev->health_alerts)
		fprintf(out,
			"  WARNING: the producer was unhealthy %llu time(s): this report is "
			"incomplete\n",
			LLU(ev->health_alerts));
	if (ev->lost)
		fprintf(out, "  WARNING: %llu records were lost: this report is incomplete\n",
			LLU(ev->lost));
	if (ev->io_uring_unseen)
		fprintf(out,
			"  WARNING: %llu io_uring creates could not be followed to their "
			"completion "
			"(IOSQE_CQE_SKIP_SUCCESS, or too many in flight): their outcome is "
			"unknown\n",
			LLU(ev->io_uring_unseen));
	if (ev->opens_unseen)
		fprintf(out,
			"  WARNING: %llu O_CREAT opens could not be followed from entry to exit "
			"(task storage full or busy): they were not seen\n",
			LLU(ev->opens_unseen));
	if (ev->forks_untracked)
		fprintf(out,
			"  WARNING: %llu forks in the audited process tree were not followed (the "
			"tracking map was full): what those processes did was not seen\n",
			LLU(ev->forks_untracked));
	if (ev->call_sites_lost)
		fprintf(out,
			"  WARNING: %llu call-site captures were not sent (a full ring) or not "
			"matched to their finding: those findings have no call site\n",
			LLU(ev->call_sites_lost));
}

void tg_summary_text(FILE *out, const struct tg_summary *sum)
{
	const struct tg_summary_events *ev = &sum->events;

	fprintf(out,
		"tmpguard: summary: %llu findings (%llu critical, %llu high, %llu medium, %llu "
		"low), %zu distinct\n",
		LLU(sum->findings), LLU(sum->by_severity[TG_SEV_CRITICAL]),
		LLU(sum->by_severity[TG_SEV_HIGH]), LLU(sum->by_severity[TG_SEV_MEDIUM]),
		LLU(sum->by_severity[TG_SEV_LOW]), sum->n_entries);
	text_aggregates(out, sum);
	fprintf(out,
		"  events: seen %llu (creates %llu, ENOENT probes %llu, loose mkdirs and nodes "
		"%llu), sent %llu, excepted in the kernel %llu, lost %llu; received %llu, "
		"unresolved %llu, malformed %llu; repeats not printed %llu, over budget %llu\n",
		LLU(ev->creates_seen + ev->probes_recorded + ev->mkdirs_seen),
		LLU(ev->creates_seen), LLU(ev->probes_recorded), LLU(ev->mkdirs_seen),
		LLU(ev->sent), LLU(ev->excepted_in_kernel), LLU(ev->lost), LLU(ev->received),
		LLU(ev->unresolved), LLU(ev->malformed), LLU(ev->repeats_not_printed),
		LLU(ev->over_budget));
	text_policy(out, &sum->policy);
	if (ev->denied || ev->killed || ev->would_deny || sum->enforcement != TG_ENFORCE_OFF)
		fprintf(out, "  enforcement: %llu denied, %llu killed, %llu would-deny\n",
			LLU(ev->denied), LLU(ev->killed), LLU(ev->would_deny));
	text_warnings(out, ev);
}

/* ---- JSON ---- */

static void add_int(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static json_object *time_json(int64_t real_ns)
{
	char t[64];

	tg_format_time(real_ns, t, sizeof(t));
	return json_object_new_string(t);
}

static json_object *bytes_json(const char *s)
{
	return tg_json_bytes(s, strlen(s), NULL);
}

static json_object *aggregate_json(const struct tg_agg_entry *a, int64_t boot_to_real_ns)
{
	json_object *p = json_object_new_object();

	add_int(p, "pid", a->pid);
	add_int(p, "uid", a->uid);
	if (a->folded)
		json_object_object_add(p, "folded", json_object_new_boolean(1));
	json_object_object_add(p, "comm", bytes_json(a->comm));
	json_object_object_add(p, "exe", bytes_json(a->exe));
	json_object_object_add(p, "rule", json_object_new_string(tg_rule_id(a->rule)));
	json_object_object_add(p, "severity",
			       json_object_new_string(tg_severity_name(a->severity)));
	json_object_object_add(p, "pattern", bytes_json(a->pattern));
	add_int(p, "count", a->count);
	json_object_object_add(p, "first", time_json(a->first_ns + boot_to_real_ns));
	json_object_object_add(p, "last", time_json(a->last_ns + boot_to_real_ns));
	return p;
}

/* The counts, then the aggregates listed and how many were not. */
static void add_findings_json(json_object *o, const struct tg_summary *sum)
{
	json_object *sev = json_object_new_object(), *rules = json_object_new_object();
	json_object *aggs = json_object_new_array(), *nl = json_object_new_object();

	add_int(o, "findings", sum->findings);
	for (int i = 0; i <= TG_SEV_CRITICAL; i++)
		add_int(sev, tg_severity_name(i), sum->by_severity[i]);
	json_object_object_add(o, "by_severity", sev);
	for (int i = 0; i < TG_RULE_MAX; i++)
		add_int(rules, tg_rule_id(i), sum->by_rule[i]);
	json_object_object_add(o, "by_rule", rules);
	for (size_t l = 0; l < sum->n_listed; l++)
		json_object_array_add(
			aggs, aggregate_json(sum->entries[sum->listed[l]], sum->boot_to_real_ns));
	json_object_object_add(o, "aggregates", aggs);
	add_int(nl, "keys", sum->n_entries - sum->n_listed);
	add_int(nl, "findings", sum->not_listed_findings);
	json_object_object_add(o, "aggregates_not_listed", nl);
}

static json_object *budget_by_uid_json(const struct tg_summary_events *ev)
{
	json_object *by = json_object_new_array();

	for (size_t i = 0; i < ev->n_budget_uids; i++) {
		json_object *u = json_object_new_object();

		add_int(u, "uid", ev->budget_uid[i]);
		add_int(u, "not_printed", ev->budget_not_printed[i]);
		json_object_array_add(by, u);
	}
	return by;
}

static json_object *events_json(const struct tg_summary_events *ev)
{
	json_object *o = json_object_new_object();

	add_int(o, "creates_seen", ev->creates_seen);
	add_int(o, "probes_recorded", ev->probes_recorded);
	add_int(o, "mkdirs_seen", ev->mkdirs_seen);
	add_int(o, "sent", ev->sent);
	add_int(o, "lost", ev->lost);
	add_int(o, "received", ev->received);
	add_int(o, "unresolved", ev->unresolved);
	add_int(o, "malformed", ev->malformed);
	add_int(o, "repeats_not_printed", ev->repeats_not_printed);
	add_int(o, "over_budget", ev->over_budget);
	add_int(o, "over_budget_by_host", ev->over_budget_by_host);
	json_object_object_add(o, "over_budget_by_uid", budget_by_uid_json(ev));
	add_int(o, "aggregate_overflow", ev->aggregate_overflow);
	add_int(o, "aggregate_folded", ev->aggregate_folded);
	add_int(o, "denied", ev->denied);
	add_int(o, "killed", ev->killed);
	add_int(o, "would_deny", ev->would_deny);
	add_int(o, "excepted_in_kernel", ev->excepted_in_kernel);
	add_int(o, "health_alerts", ev->health_alerts);
	add_int(o, "io_uring_unseen", ev->io_uring_unseen);
	add_int(o, "opens_unseen", ev->opens_unseen);
	add_int(o, "forks_untracked", ev->forks_untracked);
	add_int(o, "call_sites_lost", ev->call_sites_lost);
	add_int(o, "call_sites_reused", ev->call_sites_reused);
	return o;
}

void tg_summary_policy_json(json_object *o, const struct tg_summary_policy *p)
{
	json_object *xs = json_object_new_array();

	json_object_object_add(o, "policy", bytes_json(p->pol->source));
	/* Which policy, by content (sha256sum of the file as loaded), and since when: a reload
	 * (SIGHUP) shows in the summary as another digest and a later time. */
	if (p->pol->sha256[0])
		json_object_object_add(o, "policy_sha256", json_object_new_string(p->pol->sha256));
	if (p->since_ns)
		json_object_object_add(o, "policy_since", time_json(p->since_ns));
	add_int(o, "policy_reloads", p->reloads);
	add_int(o, "policy_reloads_refused", p->reloads_refused);
	for (size_t i = 0; i < p->pol->n_exceptions; i++) {
		const struct tg_exception *x = &p->pol->exceptions[i];
		json_object *xo = json_object_new_object();

		json_object_object_add(xo, "line", json_object_new_int(x->line));
		json_object_object_add(
			xo, "rule",
			json_object_new_string(x->rule < 0 ? "*" : tg_rule_id(x->rule)));
		json_object_object_add(xo, "reason", bytes_json(x->reason));
		json_object_object_add(xo, "applied_in",
				       json_object_new_string(p->in_kernel[i] ? "kernel" : "user"));
		/* who answers for it and until when; expired: no longer applied, as of now_ns */
		if (x->owner)
			json_object_object_add(xo, "owner", bytes_json(x->owner));
		if (x->expires_ns)
			json_object_object_add(xo, "expires", time_json(x->expires_ns));
		json_object_object_add(xo, "expired",
				       json_object_new_boolean(tg_exception_expired(x, p->now_ns)));
		if (p->hid_kernel) {
			add_int(xo, "suppressed_kernel", hid_kernel(p, i));
			add_int(xo, "suppressed_user", p->hid_user ? p->hid_user[i] : 0);
		}
		json_object_array_add(xs, xo);
	}
	json_object_object_add(o, "exceptions", xs);
	if (p->hid_kernel)
		add_int(o, "suppressed_by_earlier_policies", p->hid_by_earlier);
}

/* What the store wrote this session, and what its retention removed. */
static json_object *store_json(const struct tg_summary *sum)
{
	const struct tg_store_stats *st = &sum->store;
	json_object *so = json_object_new_object(), *rm = json_object_new_object();

	json_object_object_add(so, "db", bytes_json(sum->db_path));
	add_int(so, "findings_stored", st->findings);
	add_int(so, "losses_stored", st->losses);
	add_int(so, "commit_failures", st->commit_failures);
	add_int(so, "unclean_sessions_found", st->unclean_found);
	add_int(rm, "findings", st->removed.findings);
	add_int(rm, "losses", st->removed.losses);
	add_int(rm, "sessions", st->removed.sessions);
	json_object_object_add(so, "retention_removed", rm);
	return so;
}

json_object *tg_summary_json(const struct tg_summary *sum)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("summary"));
	json_object_object_add(o, "schema_version", json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	json_object_object_add(o, "time", time_json(sum->time_ns));
	json_object_object_add(o, "started", time_json(sum->started_ns));
	json_object_object_add(o, "host", bytes_json(sum->host));
	add_findings_json(o, sum);
	json_object_object_add(o, "events", events_json(&sum->events));
	tg_summary_policy_json(o, &sum->policy);
	if (sum->has_output)
		tg_sink_stats_json(&sum->output, o);
	if (sum->db_path)
		json_object_object_add(o, "store", store_json(sum));
	return o;
}
