/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The end of a session: what it found (by severity, by rule, per aggregate), what it saw and
 * could not see (the kernel's and the pipeline's counters), the policy and what its exceptions
 * hid, and what the outputs and the store wrote. Collected once into struct tg_summary, then
 * rendered as text for standard error and as the JSON "summary" record. Pure: the session reads
 * its counters and hands them over in struct tg_summary_source.
 */
#ifndef TG_SUMMARY_H
#define TG_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "aggregate.h"
#include "pipeline.h"
#include "policy.h"
#include "sink.h"
#include "store.h"

/* The summary lists this many aggregates at most (the most severe, then the most counted) and
 * counts the rest: a flood of distinct names must not make it a record of megabytes. */
#define TG_SUMMARY_AGGREGATES 512
/* The users over their budget it names, the most suppressed first. */
#define TG_SUMMARY_BUDGET_UIDS 64

/* The policy in force and what each exception hid; the session record has it too. */
struct tg_summary_policy {
	const struct tg_policy *pol;
	const bool *in_kernel; /* per exception: decided in the kernel (tg_policy_kernel) */
	/* Per exception, what it hid in the kernel and in user space; NULL: not counted (the
	 * session record, at start-up). */
	const uint64_t *hid_kernel, *hid_user;
	size_t n_hid_kernel; /* entries in hid_kernel: one per exception of the policy */
	uint64_t reloads, reloads_refused;
	uint64_t hid_by_earlier; /* by exceptions of policies since replaced */
	int64_t now_ns;		 /* CLOCK_REALTIME: which exceptions have expired by then */
	int64_t since_ns;	 /* CLOCK_REALTIME: when pol was installed; 0 unknown */
};

/* The counters, kernel's and user space's: the "events" member of the record. */
struct tg_summary_events {
	uint64_t creates_seen, probes_recorded, mkdirs_seen; /* the kernel's candidates */
	uint64_t sent, lost, excepted_in_kernel;
	uint64_t received, unresolved, malformed; /* by the pipeline */
	uint64_t repeats_not_printed, over_budget, over_budget_by_host;
	size_t n_budget_uids; /* of budget_uid, budget_not_printed */
	uint32_t budget_uid[TG_SUMMARY_BUDGET_UIDS];
	uint64_t budget_not_printed[TG_SUMMARY_BUDGET_UIDS];
	uint64_t aggregate_overflow, aggregate_folded;
	uint64_t denied, killed, would_deny;
	uint64_t health_alerts;
	uint64_t io_uring_unseen, opens_unseen, forks_untracked; /* blind spots */
	uint64_t call_sites_lost; /* findings whose call-site capture was not sent or not matched */
	uint64_t call_sites_reused; /* stacks the kernel sent as a reference to one resolved */
};

/* What the summary is made of, read by the session at its end. */
struct tg_summary_source {
	const struct tg_pipeline *pl; /* its aggregation table (sorted here), budget, counters */
	const uint64_t *kstats;	      /* the kernel's counters: TG_STAT_MAX of them */
	uint32_t enforcement;	      /* enum tg_enforce_mode in force */
	uint64_t health_alerts;	      /* times the producer was found unhealthy */
	size_t agg_per_uid;	      /* a user's share of the aggregation table, in keys */
	const char *host;
	int64_t started_ns, now_ns; /* CLOCK_REALTIME */
	int64_t boot_to_real_ns;    /* the aggregates' times are on the boot clock */
	struct tg_summary_policy policy;
	const struct tg_sink_stats *output; /* NULL: no sinks */
	const char *db_path;		    /* NULL: no store */
	const struct tg_store_stats *store;
};

struct tg_summary {
	int64_t time_ns, started_ns, boot_to_real_ns;
	const char *host;
	uint64_t findings; /* repeats included */
	uint64_t by_severity[TG_SEV_CRITICAL + 1];
	uint64_t by_rule[TG_RULE_MAX];
	/* The aggregation table in tg_agg_sorted()'s order (valid while its pipeline is), and the
	 * indexes of those listed (tg_agg_top()), ascending. */
	const struct tg_agg_entry *const *entries;
	size_t n_entries;
	size_t listed[TG_SUMMARY_AGGREGATES];
	size_t n_listed;
	uint64_t not_listed_findings;
	size_t agg_per_uid;
	struct tg_summary_events events;
	struct tg_summary_policy policy;
	uint32_t enforcement;
	bool has_output;
	struct tg_sink_stats output;
	const char *db_path; /* NULL: no store */
	struct tg_store_stats store;
};

/* Fills sum from src: counts, aggregates listed and not, counters, policy, outputs. */
void tg_summary_collect(struct tg_summary *sum, const struct tg_summary_source *src);
/* The summary as people read it (standard error): "tmpguard: summary: ..." and its lines. */
void tg_summary_text(FILE *out, const struct tg_summary *sum);
/* The "summary" record (caller puts it). */
json_object *tg_summary_json(const struct tg_summary *sum);
/* Adds policy, policy_reloads, policy_reloads_refused, exceptions (with what each hid when
 * counted) and suppressed_by_earlier_policies (when counted) to o. */
void tg_summary_policy_json(json_object *o, const struct tg_summary_policy *p);

#endif
