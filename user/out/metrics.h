/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Prometheus endpoint (--metrics-addr): GET /metrics over HTTP, served by libmicrohttpd
 * from a thread of its own. The collector thread hands it copies of the user-space counters
 * (tg_metrics_update); the kernel's counters and the programs' run-time statistics are read at
 * each scrape (BPF syscalls on fds, safe from any thread). Rendering is metrics_text.c's.
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stddef.h>
#include "loader.h"
#include "metrics_text.h"

struct tg_metrics;

/* Binds and listens on addr (text: the address as given, for messages) at once, so that a
 * taken port stops tmpguard before the BPF load; nothing is served before tg_metrics_serve().
 * NULL with the reason in err. */
struct tg_metrics *tg_metrics_listen(const struct tg_metrics_addr *addr, const char *text,
				     char *err, size_t errlen);
/* Serves GET /metrics: the last tg_metrics_update() and, read at each scrape, b's counters and
 * its attached programs' run-time statistics. b must outlive m. Returns 0, or -1 with the
 * reason in err. */
int tg_metrics_serve(struct tg_metrics *m, struct tg_bpf *b, char *err, size_t errlen);
/* The collector thread's latest user-space counters (copied). */
void tg_metrics_update(struct tg_metrics *m, const struct tg_metrics_user *u);
/* Stops serving (the HTTP thread is joined, the socket closed) and frees m; NULL is fine. */
void tg_metrics_free(struct tg_metrics *m);

/* Turns on the kernel's BPF program run-time statistics (run_time_ns, run_cnt) for as long as
 * the returned fd stays open (bpf_enable_stats(BPF_STATS_RUN_TIME)). Returns the fd, or -1 with
 * the reason in err. */
int tg_bpf_run_stats_enable(char *err, size_t errlen);

#endif
