/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pure half of the metrics endpoint (metrics.c serves it): a snapshot of tmpguard's
 * counters rendered in the Prometheus text exposition format 0.0.4, and --metrics-addr parsing.
 * No I/O but the FILE it is given, no globals.
 */
#ifndef TG_METRICS_TEXT_H
#define TG_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "rules.h"
#include "tmpguard.h"

#define TG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TG_METRICS_MAX_PROGS	64
#define TG_METRICS_NR_SEV	(TG_SEV_CRITICAL + 1)
#define TG_METRICS_FWD_STREAMS	5 /* sessions, findings, losses, health, gaps (store.h) */

/* What user space counts; the collector thread owns it and hands copies to the endpoint. */
struct tg_metrics_user {
	const char *version;	 /* static strings: they outlive every snapshot */
	const char *enforcement; /* "off", "lsm", "dry-run", "kill-fallback" */
	const char *scope;	 /* "host" or "process-tree" */
	int64_t start_time_ns;	 /* CLOCK_REALTIME */
	uint64_t ringbuf_bytes;
	bool run_time_stats_held; /* tmpguard holds a BPF_ENABLE_STATS fd (--bpf-stats) */
	/* Every finding that passed the policy's exceptions, rate-limited repeats included. */
	uint64_t findings[TG_RULE_MAX][TG_METRICS_NR_SEV];
	uint64_t findings_excepted;   /* hidden by exceptions in user space */
	uint64_t repeats_not_printed; /* past the rate limit: counted, not printed */
	uint64_t over_budget;	      /* past a user's or the host's budget: counted, not printed */
	uint64_t received, unresolved, malformed; /* ring-buffer records */
	uint64_t captures_unmatched; /* call-site records overwritten before their event */
	uint64_t reloads, reloads_refused;
	/* producer health (machine-wide audits; absent when not checked) */
	bool health_checked;
	bool producer_healthy;
	uint64_t health_alerts; /* transitions to unhealthy */
	/* forwarding to the fleet store (--forward; absent when off): forward.h's counters, and
	 * the store's for what its size limit evicted before the target had it */
	bool forward_on;
	bool forward_up;
	uint64_t forward_backlog;
	int64_t forward_lag_ns;
	uint64_t forward_rows[TG_METRICS_FWD_STREAMS]; /* by enum tg_fwd_stream */
	uint64_t forward_duplicates, forward_batches, forward_errors, forward_outages;
	uint64_t forward_refused_rows; /* rows the fleet store refused for what they hold */
	uint64_t forward_gap_rows, forward_gaps;
	/* posting to an event router (--http-output; absent when off), forward.h's counters */
	struct tg_metrics_http {
		bool on, up;
		uint64_t backlog;
		int64_t lag_ns;
		uint64_t rows[TG_METRICS_FWD_STREAMS]; /* posted, by enum tg_fwd_stream */
		uint64_t errors, outages, refused, skipped;
		uint64_t gap_rows, gaps; /* the store's, as for --forward */
	} http;
};

/* One attached BPF program and its kernel run-time statistics. */
struct tg_metrics_prog {
	const char *name; /* "tracepoint__syscalls__sys_exit_openat" */
	const char *hook; /* its section: "tracepoint/syscalls/sys_exit_openat" */
	uint64_t run_time_ns, run_cnt;
};

struct tg_metrics_snapshot {
	struct tg_metrics_user user;
	/* Read from the kernel at scrape time; absent (not zero) when have_kernel is false. */
	bool have_kernel;
	uint64_t kstat[TG_STAT_MAX]; /* enum tg_stat, summed over CPUs */
	bool run_time_stats;	     /* kernel.bpf_stats_enabled or run_time_stats_held */
	size_t n_progs;
	struct tg_metrics_prog progs[TG_METRICS_MAX_PROGS];
};

/*
 * Writes every metric of s: a # HELP and a # TYPE line per family, counters named *_total,
 * times in seconds (from nanoseconds, exactly, without going through a double), label values
 * escaped (\ " and newline; invalid UTF-8 in the lossless \xNN text form). Every rule x
 * severity of tmpguard_findings_total is written, zeros included, so that rate() and
 * increase() see the first finding. Returns 0 or -EIO.
 */
int tg_metrics_render(const struct tg_metrics_snapshot *s, FILE *out);

/* A listen address: IPv4 "a.b.c.d:port" or IPv6 "[addr]:port", port 1-65535. */
struct tg_metrics_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Strict: an IP address (no host name, no zone), a decimal port, nothing else. Returns 0, or
 * -1 with the reason in err. */
int tg_metrics_parse_addr(const char *s, struct tg_metrics_addr *a, char *err, size_t errlen);

#endif
