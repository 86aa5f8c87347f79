/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record pipeline: one ring-buffer record in, its findings out. decode -> directory verdict
 * (the kernel's, else resolved by the host, else the holding directory's) -> classify -> the
 * LSM's refusal -> enrich -> policy severity and exceptions -> advise -> aggregate and rate
 * limit -> budget -> emit. Pure: what needs /proc, NSS or an output is the host's, reached
 * through callbacks (struct tg_pipeline_cb), so that unit tests drive every decision with
 * hand-made records.
 */
#ifndef TG_PIPELINE_H
#define TG_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "aggregate.h"
#include "callsite.h"
#include "finding.h"
#include "policy.h"
#include "process.h"
#include "rules.h"
#include "tmpguard.h"

#define TG_PIPELINE_NR_SEV (TG_SEV_CRITICAL + 1)

/* What the stage asks of its host. Every callback is called with ctx, and is required unless it
 * says otherwise. */
struct tg_pipeline_cb {
	void *ctx;
	/* The directory the caller named, when the kernel could not tell (tg_resolve_dir):
	 * returns 0 with *v filled, or -1. shared: the policy's extra shared directories. */
	int (*resolve_dir)(void *ctx, const struct tg_event *e, const struct tg_dir_key *shared,
			   size_t n_shared, struct tg_dir_verdict *v);
	/* What the requested path's last component is now (tg_requested_link); *own: the link is
	 * the creator's or the directory owner's. */
	enum tg_link_state (*requested_link)(void *ctx, const struct tg_event *e, bool *own);
	/* The process that made the record (tg_enrich_proc): once per record with findings,
	 * never NULL. */
	const struct tg_proc_info *(*proc)(void *ctx, const struct tg_event *e);
	/* The acting user's name (uid is the record's fsuid) into buf, or its number when it has
	 * none; returns buf. */
	const char *(*user_name)(void *ctx, uint32_t uid, char *buf, size_t len);
	/* For a relative path, the directory it was resolved from into buf, "" when unknown
	 * (tg_resolve_base); returns the status's name (tg_base_status_name). */
	const char *(*base_dir)(void *ctx, const struct tg_event *e, char *buf, size_t len);
	/* An interpreter's call site for a finding about to be emitted: CPython's frames, or a
	 * shell's (its script or -c text; a program a script started: the script); NULL when
	 * the process is neither. Python's and a shell's own take precedence over a native call
	 * site (its frames are the interpreter's); a shell's child's only over one without a
	 * source file. Never asked for a record that is not sent. cwd: the process's current
	 * directory when the kernel captured it with the call site (tg_stack.cwd), else NULL.
	 * Optional (NULL: none). */
	const struct tg_callsite *(*shell_site)(void *ctx, const struct tg_event *e,
						const struct tg_proc_info *p, const char *cwd);
	/* A finding past the exceptions, the rate limit and the budget. */
	void (*emit)(void *ctx, const struct tg_report *r);
	/* A finding of uid over its budget (why: TG_BUDGET_USER) or the host's (TG_BUDGET_HOST):
	 * counted in the budget, not emitted. Called for every such finding. */
	void (*budget_warn)(void *ctx, int why, uint32_t uid);
	/* The first malformed record, and why it is not one (tg_event_decode's reason). */
	void (*malformed)(void *ctx, const char *why);
	/* The call site of e from what the kernel captured just before it (capture: size bytes,
	 * NULL when nothing came): once per record with findings. Returns what
	 * tg_callsite_resolve does: -ESTALE, a reference to a call site no longer kept, is
	 * counted with the unmatched captures. May be NULL (no call sites). */
	int (*callsite)(void *ctx, const struct tg_event *e, const void *capture, size_t size,
			struct tg_callsite *cs);
	/* A record's capture that no finding asked for (not printed, or no finding): the host
	 * may resolve it anyway, so that the kernel sends the next ones by reference. Optional. */
	void (*callsite_learn)(void *ctx, const struct tg_event *e, const void *capture,
			       size_t size);
};

/* Captures (TG_KIND_STACK records) waiting for their thread's event: a thread sends the two
 * back to back, other threads' records may come between. */
#define TG_PIPELINE_CAPTURES 64
struct tg_capture {
	uint32_t tid; /* 0: free */
	size_t size;
	void *data; /* sizeof(struct tg_stack) */
};

struct tg_pipeline {
	struct tg_pipeline_cb cb;
	/* The host's to set before the first record: stamped on every finding. */
	const char *host; /* this machine's name */
	int64_t boot_to_real_ns;
	/* The policy in force (tg_pipeline_set_policy): none of it is the stage's to free. */
	const struct tg_policy *pol;
	struct tg_rules_config rules;
	const struct tg_dir_key *shared_dirs; /* the policy's, resolved on this host */
	size_t n_shared_dirs;
	uint64_t *exc_hits; /* per exception of pol: findings it hid here, in user space */
	/* The stage's own. */
	struct tg_agg *agg;	  /* (process, rule, pattern): counts and the rate limit */
	struct tg_budget *budget; /* emitted findings per acting user, per host and minute */
	struct tg_capture captures[TG_PIPELINE_CAPTURES];
	unsigned capture_next;	/* the slot to reuse when none is free */
	struct tg_callsite *cs; /* the record's call site, once resolved (cs_done) */
	struct tg_capture *cap; /* the record's capture, taken from captures; NULL: none */
	bool cs_done;
	/* Counters, for the host's summary, metrics and health checks. */
	uint64_t received;	/* records */
	uint64_t decode_errors; /* of which malformed: dropped */
	uint64_t unresolved;	/* no directory verdict: opens judged by the holding directory,
				 * mkdirs and nodes dropped */
	uint64_t no_finding;	/* judged, and no rule applies */
	uint64_t suppressed;	/* findings past the rate limit: counted, not emitted */
	uint64_t captured;	/* call-site records (TG_KIND_STACK), not counted in received */
	uint64_t captures_unmatched; /* of which overwritten before their event came, or naming a
				      * call site no longer kept (TG_STK_F_REF) */
	int worst;		     /* the highest severity past the exceptions, -1 none */
	/* Findings past the exceptions, rate-limited and over-budget ones included. */
	uint64_t findings_by[TG_RULE_MAX][TG_PIPELINE_NR_SEV];
};

/* Zeroes p, takes cb, and makes the aggregation table (agg_max keys, agg_per_uid of them per
 * user: tg_agg_new) and the budget. Returns 0, or -ENOMEM (tg_pipeline_fini still frees). */
int tg_pipeline_init(struct tg_pipeline *p, const struct tg_pipeline_cb *cb, size_t agg_max,
		     size_t agg_per_uid);
/* Frees the table and the budget; the counters stay readable. */
void tg_pipeline_fini(struct tg_pipeline *p);

/*
 * From the next record on: judge by pol with the classifier settings rc, resolve directories
 * with shared (the policy's extra shared directories, kernel encoding), and count what each of
 * pol's exceptions hides in exc_hits (room for pol->n_exceptions). rc is copied; pol, shared
 * and exc_hits stay the caller's, in use until the next call or tg_pipeline_fini.
 */
void tg_pipeline_set_policy(struct tg_pipeline *p, const struct tg_policy *pol,
			    const struct tg_rules_config *rc, const struct tg_dir_key *shared,
			    size_t n_shared, uint64_t *exc_hits);

/*
 * One ring-buffer record of size bytes, through every stage. Returns 0 when it was judged (with
 * or without findings), -EBADMSG when it is malformed, -ENOENT when it is a mkdir or a node
 * whose directory nobody could resolve: both counted, neither judged.
 */
int tg_pipeline_record(struct tg_pipeline *p, const void *data, size_t size);

#endif
