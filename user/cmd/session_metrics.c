// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The session's side of the Prometheus endpoint (out/metrics.c): its counters, its socket. */
#include <stdio.h>
#include <string.h>
#include "records.h"
#include "session_metrics.h"

/* ---- metrics ---- */

_Static_assert(sizeof(((struct tg_metrics_user *)0)->forward_rows) ==
		       sizeof(((struct tg_forward_stats *)0)->rows),
	       "the forwarder counts rows by stream as the metrics export them");
_Static_assert(sizeof(((struct tg_metrics_user *)0)->findings) ==
		       sizeof(((struct tg_pipeline *)0)->findings_by),
	       "the pipeline counts findings as the metrics export them");

/* The user-space counters, for the endpoint's next scrape: called once per poll. */
void metrics_sync(struct session *s)
{
	struct tg_metrics_user u = {
		.version = TG_VERSION,
		.enforcement = enforcement_name(s->enforce_mode),
		.scope = s->scoped ? "process-tree" : "host",
		.start_time_ns = s->started_ns,
		.ringbuf_bytes = s->opt.ringbuf_bytes,
		.run_time_stats_held = s->bpf_stats_fd > 0,
		.findings_excepted = s->exc_user_retired,
		.repeats_not_printed = s->pl.suppressed,
		.over_budget = tg_budget_total(s->pl.budget),
		.received = s->pl.received,
		.unresolved = s->pl.unresolved,
		.malformed = s->pl.decode_errors,
		.captures_unmatched = s->pl.captures_unmatched,
		.reloads = s->reloads,
		.reloads_refused = s->reload_failures,
		.health_checked = s->canary_dirfd >= 0,
		.producer_healthy = !s->unhealthy,
		.health_alerts = s->health_alerts,
	};

	if (!s->metrics)
		return;
	for (size_t i = 0; i < s->pol->n_exceptions; i++)
		u.findings_excepted += s->exc_user_hits[i];
	if (s->forward) {
		const struct tg_store_stats *st = tg_store_stats(s->store);
		struct tg_forward_stats fs;

		tg_forward_stats(s->forward, &fs);
		u.forward_on = true;
		u.forward_up = fs.up;
		u.forward_backlog = fs.backlog;
		u.forward_lag_ns = fs.lag_ns;
		memcpy(u.forward_rows, fs.rows, sizeof(u.forward_rows));
		u.forward_duplicates = fs.duplicates;
		u.forward_batches = fs.batches;
		u.forward_errors = fs.errors;
		u.forward_outages = fs.outages;
		u.forward_refused_rows = fs.refused_rows;
		u.forward_gap_rows = st->evicted_unforwarded;
		u.forward_gaps = st->forward_gaps;
	}
	if (s->http) {
		const struct tg_store_stats *st = tg_store_stats(s->store);
		struct tg_forward_stats fs;

		tg_forward_stats(s->http, &fs);
		u.http = (struct tg_metrics_http){
			.on = true,
			.up = fs.up,
			.backlog = fs.backlog,
			.lag_ns = fs.lag_ns,
			.errors = fs.errors,
			.outages = fs.outages,
			.refused = fs.refused,
			.skipped = fs.skipped,
			.gap_rows = st->evicted_unforwarded,
			.gaps = st->forward_gaps,
		};
		memcpy(u.http.rows, fs.rows, sizeof(u.http.rows));
	}
	memcpy(u.findings, s->pl.findings_by, sizeof(u.findings));
	tg_metrics_update(s->metrics, &u);
}

/* Before the BPF load, so that either failure stops tmpguard at once: --bpf-stats, and the
 * endpoint's socket. */
int metrics_open(struct session *s)
{
	char err[512];

	if (s->opt.bpf_stats) {
		s->bpf_stats_fd = tg_bpf_run_stats_enable(err, sizeof(err));
		if (s->bpf_stats_fd < 0) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return 1;
		}
	}
	if (s->opt.metrics_addr_text) {
		s->metrics = tg_metrics_listen(&s->opt.metrics_addr, s->opt.metrics_addr_text, err,
					       sizeof(err));
		if (!s->metrics) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return 1;
		}
	}
	return 0;
}

/* Once the programs are attached: serve them and the counters. */
int metrics_serve(struct session *s)
{
	char err[512];

	if (!s->metrics)
		return 0;
	metrics_sync(s);
	if (tg_metrics_serve(s->metrics, s->bpf, err, sizeof(err))) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return 1;
	}
	fprintf(stderr, "tmpguard: serving metrics on http://%s/metrics\n",
		s->opt.metrics_addr_text);
	return 0;
}
