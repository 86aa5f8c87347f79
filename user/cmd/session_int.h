/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of audit, run and daemon share: the session (its options, the loaded
 * programs, the policy in force, the outputs, the health and loss state) and its clocks.
 */
#ifndef TG_SESSION_INT_H
#define TG_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "enrich.h"
#include "forward.h"
#include "hostid.h"
#include "loader.h"
#include "metrics.h"
#include "options.h"
#include "pipeline.h"
#include "policy.h"
#include "policy_kernel.h"
#include "sink.h"
#include "util/timefmt.h"
#include "store.h"

#define TG_EXIT_FAILON 3
#define TG_AGG_MAX     65536
#define TG_AGG_PER_UID (TG_AGG_MAX / 16) /* one user's share of the aggregation table */

struct session {
	struct session_opts opt;

	/* state */
	FILE *out;
	int sarif_fd; /* run --format sarif: the spool of JSON lines (a memfd), else unused */
	struct tg_bpf *bpf;
	struct tg_enrich *en;
	struct tg_pipeline pl;		   /* the records' way from the ring buffer to the sinks */
	const struct tg_callsite *py_site; /* the record being judged's CPython frames, or NULL */
	struct tg_cs_reuse *cs_reuse;	   /* native call sites the kernel may name (call sites) */
	uint64_t budget_warned[2];	   /* the minute (+1) of the last warning, per reason */
	struct tg_policy *pol;
	struct tg_policy_kernel pk;
	uint64_t *exc_user_hits; /* per exception of pol: findings hidden in user space (pl) */
	uint64_t exc_retired;	 /* findings hidden by exceptions of policies since replaced */
	/* per exception of pol: what the kernel hid under pol's earlier installs (an exception
	 * expired, pol went into the kernel again without it) */
	uint64_t *exc_kernel_banked;
	int64_t expiry_next_ns;	   /* the next expiry of one of pol's exceptions, 0: none */
	int64_t expiry_checked_ns; /* expiries up to this time were applied and said */
	uint64_t reloads, reload_failures;
	int64_t policy_since_ns; /* CLOCK_REALTIME: when the policy in force was installed */
	uint32_t enforce_mode;	 /* enum tg_enforce_mode in force */
	bool scoped;		 /* run or --pid: enforcement only inside the tracked tree */
	int64_t boot_to_real_ns;
	char host[256];
	char host_id[TG_HOST_ID_MAX]; /* hostid.h: --host-id, else hostname:machine-id */
	bool host_id_weak;	      /* no machine id: the hostname alone */
	uint64_t printed;
	uint64_t lost_reported;
	uint64_t untracked_reported; /* TG_STAT_TRACK_FULL at the last warning */
	int64_t loss_checked_ns; /* CLOCK_REALTIME of the last loss check: a loss window's start */
	int64_t started_ns;	 /* CLOCK_REALTIME */

	/* producer health (machine-wide audits): a canary create every HEALTH_INTERVAL_NS */
	int canary_dirfd;
	char canary_dir[96];
	bool canary_pending;
	uint64_t canary_seen_before; /* own creates seen before the last canary */
	uint64_t health_sent, health_received;
	int64_t health_next_ns;
	bool unhealthy;
	uint64_t health_alerts;
	/* --metrics-addr, --bpf-stats */
	struct tg_metrics *metrics;
	int bpf_stats_fd;	   /* > 0 while held */
	uint64_t exc_user_retired; /* user-space hits of exceptions of policies since replaced */
	/* the event store (--db), the output sinks (sink.h) */
	struct tg_sinks *sinks;
	struct tg_store *store;
	/* --forward: the store's rows to the fleet store (forward.h) */
	struct tg_forward *forward;
	char forward_target[TG_FORWARD_TARGET_MAX];
	int64_t forward_saved[TG_FWD_NSTREAMS]; /* the marks last written to the store */
	/* --http-output: the same, posting to an event router (http_post.h) */
	struct tg_forward *http;
	char http_target[TG_FORWARD_TARGET_MAX];
	int64_t http_saved[TG_FWD_NSTREAMS];
};

/* Now on the clock findings carry (CLOCK_BOOTTIME + the offset taken at start). */
static inline int64_t event_now(const struct session *s)
{
	return tg_clock_ns(CLOCK_BOOTTIME) + s->boot_to_real_ns;
}

struct daemon;

/* session.c */
/* SIGINT and SIGTERM stop (run passes them to COMMAND), SIGHUP asks for a reload, SIGPIPE is
 * ignored. */
void install_signals(void);
/* SIGHUP asked for a reload; a reload starts by clearing it. */
bool reload_requested(void);
void reload_clear(void);
/* SIGINT or SIGTERM received since the last call, for run to pass to COMMAND; 0 if none. */
int signal_to_forward(void);
/* Everything until records flow: the pipeline, the policy, the outputs, then the programs
 * (scoped: run or --pid, only the tracked tree). 0, or the exit status with the failure said. */
int session_start(struct session *s, bool scoped);
/* Drain, summary, then everything freed; also after a start-up that failed part way. */
void session_end(struct session *s);
/* The poll loop of audit and daemon (d: NULL for audit). */
int audit_loop(struct session *s, struct daemon *d);

#endif
