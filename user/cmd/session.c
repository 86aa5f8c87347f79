// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A session of `tmpguard audit`, `run` and `daemon`: parse arguments -> check requirements ->
 * load and attach -> consume records (the record pipeline, pipeline.h, with session_pipeline.c's
 * look-ups and outputs) -> summary. Here: the signals, start-up, audit's poll loop (the daemon's
 * too, daemon.c) with its reloads, and the end. `run` (run_cmd.c) starts the command inside the
 * tracked scope and polls until it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "daemon.h"
#include "health.h"
#include "policy_session.h"
#include "records.h"
#include "rules.h"
#include "session.h"
#include "session_int.h"
#include "session_metrics.h"
#include "session_outputs.h"
#include "callsite_native.h"
#include "callsite_reuse.h"
#include "session_pipeline.h"

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t forward_sig;
static volatile sig_atomic_t reload_asked;

static void on_sighup(int sig)
{
	(void)sig;
	reload_asked = 1;
}

static void on_signal(int sig)
{
	exiting = 1;
	forward_sig = sig;
}

bool reload_requested(void)
{
	return reload_asked;
}

void reload_clear(void)
{
	reload_asked = 0;
}

/* SIGINT or SIGTERM received since the last call, for run to pass to COMMAND; 0 if none. */
int signal_to_forward(void)
{
	int sig = forward_sig;

	forward_sig = 0;
	return sig;
}

/* ---- common start-up ---- */

/* Loads and attaches the programs in the mode the options ask, falling back to killing
 * offenders where BPF LSM is refused and --enforce-fallback=kill allows: 1 on failure, said. */
static int bpf_load(struct session *s, struct tg_loader_opts *lo, bool scoped)
{
	bool lsm_refused = false;
	char err[1024];

	lo->lsm = s->opt.enforce || s->opt.dry_run;
	lo->enforce = s->opt.enforce   ? TG_ENFORCE_LSM
		      : s->opt.dry_run ? TG_ENFORCE_DRY_RUN
				       : TG_ENFORCE_OFF;
	lo->enforce_tracked = scoped;
	lo->hooks = s->opt.hooks;
	s->scoped = scoped;
	s->bpf = tg_bpf_start(lo, handle_record, s, err, sizeof(err), &lsm_refused);
	if (!s->bpf && lsm_refused && s->opt.fallback_kill) {
		fprintf(stderr,
			"tmpguard: %s\ntmpguard: falling back to killing offenders "
			"(--enforce-fallback=kill): the file exists before the process is killed\n",
			err);
		lo->lsm = false;
		lo->enforce = TG_ENFORCE_KILL_FALLBACK;
		s->bpf = tg_bpf_start(lo, handle_record, s, err, sizeof(err), NULL);
		s->enforce_mode = TG_ENFORCE_KILL_FALLBACK;
	} else if (s->bpf && (s->opt.enforce || s->opt.dry_run)) {
		s->enforce_mode = s->opt.enforce ? TG_ENFORCE_LSM : TG_ENFORCE_DRY_RUN;
	}
	if (s->bpf && s->opt.verbose && *tg_bpf_hooks_fallback(s->bpf))
		fprintf(stderr, "tmpguard: --hooks auto: %s: using syscall tracepoints\n",
			tg_bpf_hooks_fallback(s->bpf));
	if (!s->bpf) {
		fprintf(stderr, "tmpguard: %s\n", err);
		if (lsm_refused)
			fprintf(stderr, "tmpguard: refusing to start in %s mode without BPF LSM\n",
				s->opt.enforce ? "enforce" : "dry-run");
		return 1;
	}
	return 0;
}

/* The policy in force and the rule settings the programs load with (lo): 0, or the exit
 * status with the failure said. */
static int policy_start(struct session *s, struct tg_loader_opts *lo)
{
	struct tg_policy *pol;
	char err[1024];
	int e;

	/* A policy that does not load stops everything before anything is attached. */
	pol = read_policy(s->opt.policy_path, err, sizeof(err));
	if (!pol) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	e = policy_install(s, pol);
	if (e) {
		fprintf(stderr, "tmpguard: cannot apply the policy: %s\n", strerror(-e));
		return 1;
	}
	if (s->opt.enforce || s->opt.dry_run)
		warn_nothing_to_enforce(s);
	lo->report_cloexec = s->pl.rules.enabled[TG_RULE_INHERITABLE_FD];
	lo->file_loose_mask = s->pl.rules.file_loose_mask;
	lo->dir_loose_mask = s->pl.rules.dir_loose_mask;
	lo->probe_window_ns = s->pl.rules.probe_window_ns;
	return 0;
}

int session_start(struct session *s, bool scoped)
{
	struct tg_loader_opts lo = {
		.verbose = s->opt.verbose,
		.filter_tracked = scoped,
		.ringbuf_bytes = s->opt.ringbuf_bytes,
		.call_sites = s->opt.call_sites && !s->opt.no_call_sites,
	};
	char err[1024];
	int e;

	s->canary_dirfd = -1; /* health_start() opens it for machine-wide audits */
	/* First: its worst severity (none yet) is what run's --fail-on reads, however start-up
	 * ends, and the policy is installed into it. */
	if (pipeline_init(s)) {
		fprintf(stderr, "tmpguard: out of memory\n");
		return 1;
	}
	if (tg_check_requirements(err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", s->opt.cmd_name ? s->opt.cmd_name : "tmpguard", err);
		return TG_EXIT_USAGE;
	}
	e = policy_start(s, &lo);
	if (e)
		return e;

	s->out = stdout;
	if (sinks_open(s))
		return TG_EXIT_USAGE;
	if (metrics_open(s))
		return 1;
	s->en = tg_enrich_new();
	if (!s->en) {
		fprintf(stderr, "tmpguard: out of memory\n");
		return 1;
	}
	gethostname(s->host, sizeof(s->host) - 1);
	if (tg_host_id(s->opt.host_id, s->host_id, sizeof(s->host_id), &s->host_id_weak, err,
		       sizeof(err))) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	s->started_ns = s->loss_checked_ns = tg_clock_ns(CLOCK_REALTIME);
	s->boot_to_real_ns = tg_clock_ns(CLOCK_REALTIME) - tg_clock_ns(CLOCK_BOOTTIME);
	s->pl.host = s->host;
	s->pl.boot_to_real_ns = s->boot_to_real_ns;

	e = store_open(s);
	if (e)
		return e;

	if (bpf_load(s, &lo, scoped))
		return 1;
	if (s->opt.call_sites && !s->opt.no_call_sites) {
		session_python_start(s);
		callsite_reuse_start(s);
	}
	/* Now that the maps exist: the kernel's part of the policy. */
	e = kernel_install(s->bpf, &s->pk);
	if (e) {
		fprintf(stderr, "tmpguard: cannot install the policy in the kernel: %s\n",
			strerror(-e));
		return 1;
	}
	apply_enforcement(s);
	announce_enforcement(s);
	emit_session_record(s);
	health_start(s);
	return metrics_serve(s);
}

void session_end(struct session *s)
{
	health_end(s);
	/* The endpoint goes first: it reads the maps and programs that tg_bpf_stop() closes. */
	tg_metrics_free(s->metrics);
	s->metrics = NULL;
	if (s->bpf) {
		tg_bpf_drain(s->bpf);
		print_summary(s);
		tg_cs_reuse_free(s->cs_reuse); /* withdraws its signatures from the map */
		s->cs_reuse = NULL;
		tg_dw_cache_free(); /* libdw's files and images (call sites) */
		tg_bpf_stop(s->bpf);
	}
	store_close(s);
	tg_sinks_close(s->sinks);
	tg_enrich_free(s->en);
	tg_pipeline_fini(&s->pl);
	tg_policy_kernel_free(&s->pk);
	tg_policy_free(s->pol);
	free(s->exc_user_hits);
	free(s->exc_kernel_banked);
	if (s->bpf_stats_fd > 0)
		close(s->bpf_stats_fd);
}

void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sighup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- audit ---- */

/* What is attached and how to stop (d: the daemon, NULL for audit). */
static void announce_audit(const struct session *s, const struct daemon *d)
{
	fprintf(stderr, "tmpguard: auditing (%d programs attached, %s%s%s%s%s); %s\n",
		tg_bpf_nr_attached(s->bpf),
		tg_bpf_hooks(s->bpf) == TG_HOOKS_FENTRY ? "fexit hooks" : "syscall tracepoints",
		*tg_bpf_hooks_fallback(s->bpf) ? ": " : "", tg_bpf_hooks_fallback(s->bpf),
		tg_bpf_ia32(s->bpf, NULL) == TG_IA32_OFF
			? ", no 32-bit syscalls on this host (32-bit emulation is off)"
			: "",
		s->opt.pid ? ", scoped to one process tree" : "",
		d ? "SIGHUP reloads, SIGTERM stops" : "Ctrl-C to stop");
}

/* Fault injection for the tests of producer health: detach programs for real. */
static void test_detach(struct session *s)
{
	if (getenv("TMPGUARD_TEST_DETACH")) {
		char *names = strdup(getenv("TMPGUARD_TEST_DETACH")), *save = NULL;

		for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
			fprintf(stderr, "tmpguard: TEST: detaching %s: %s\n", n,
				tg_bpf_detach(s->bpf, n) ? "no such program" : "done");
		free(names);
	}
}

int cmd_audit(int argc, char **argv)
{
	struct session s = {.opt = SESSION_OPTS_DEFAULT};
	int err;

	err = parse_args(&s.opt, argc, argv, false);
	if (err)
		return err;
	return audit_loop(&s, NULL);
}

int audit_loop(struct session *s, struct daemon *d)
{
	int64_t deadline = 0;
	int err;

	s->canary_dirfd = -1;
	if (s->opt.pid && kill(s->opt.pid, 0) && errno == ESRCH) {
		fprintf(stderr, "tmpguard audit: no process with pid %d\n", s->opt.pid);
		return TG_EXIT_USAGE;
	}
	install_signals();
	err = session_start(s, s->opt.pid != 0);
	if (err)
		goto out;
	if (s->opt.pid && (err = tg_bpf_track(s->bpf, s->opt.pid))) {
		fprintf(stderr, "tmpguard: cannot track pid %d: %s\n", s->opt.pid, strerror(-err));
		err = 1;
		goto out;
	}
	announce_audit(s, d);
	test_detach(s);
	if (d)
		daemon_notify("READY=1\nSTATUS=auditing");
	if (s->opt.duration_s)
		deadline = tg_clock_ns(CLOCK_MONOTONIC) + s->opt.duration_s * 1000000000LL;
	while (!exiting) {
		err = tg_bpf_poll(s->bpf, 200);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "tmpguard: polling the ring buffer: %s\n", strerror(-err));
			err = 1;
			goto out;
		}
		check_loss(s);
		check_health(s);
		if (d)
			daemon_watchdog(s, d);
		metrics_sync(s);
		store_tick(s);
		if (reload_requested()) {
			if (d)
				daemon_reload(s, d);
			else
				policy_reload(s);
		}
		policy_check_expiry(s);
		if (deadline && tg_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		/* `tmpguard audit | head`: once the reader is gone, stop as SIGINT would. */
		if (!d && tg_sinks_reader_gone(s->sinks)) {
			err = tg_cli_output_closed("tmpguard audit");
			goto out;
		}
	}
	err = 0;
out:
	if (d)
		daemon_notify("STOPPING=1\nSTATUS=draining and writing the summary");
	session_end(s);
	return err;
}
