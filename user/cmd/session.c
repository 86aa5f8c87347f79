// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard audit` and `tmpguard run`. Both: parse arguments -> check requirements -> load and
 * attach -> consume records (the record pipeline, pipeline.h, with this file's look-ups and
 * outputs) -> summary. `run` also starts the command inside the tracked scope. The daemon
 * (daemon.c) runs audit's loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/wait.h>
#include "daemon.h"
#include "health.h"
#include "output.h"
#include "policy_session.h"
#include "records.h"
#include "rules.h"
#include "session.h"
#include "session_int.h"
#include "session_metrics.h"

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

/* ---- where records go ---- */

/*
 * A finding that passed exceptions and the rate limit. The store keeps what is printed: the
 * repeats the rate limit does not print are not stored either (their counts are in the
 * summary's aggregates).
 */
static void emit_finding(void *ctx, const struct tg_report *r)
{
	struct session *s = ctx;
	/* Its JSON form: built once, shared by the sinks that write JSON and the store; not at
	 * all for the Falco format alone, which writes from r. */
	const struct tg_record rec = {
		.kind = TG_RECORD_FINDING,
		.finding = r,
		.json = s->store || tg_sinks_want_json(s->sinks) ? tg_report_json(r) : NULL,
	};

	s->printed++;
	if (!s->opt.json)
		tg_sinks_text(s->sinks, r);
	tg_sinks_record(s->sinks, &rec); /* json or falco lines, syslog */
	if (s->store)
		tg_store_record(s->store, &rec);
	json_object_put(rec.json);
}

/* From the poll loops: batches committed about every second, and before a policy reload. */
static void store_tick(struct session *s)
{
	if (!s->store)
		return;
	tg_store_tick(s->store, event_now(s));
	if (reload_requested())
		tg_store_commit(s->store);
}

/*
 * The name of uid, for exceptions by user: the acting credentials of a create (fsuid) may be
 * another user than the process's real one (a setuid helper). A few names are kept: a lookup
 * goes through NSS.
 */
static const char *acting_user(void *ctx, uint32_t uid, char *buf, size_t len)
{
	static struct {
		uint32_t uid;
		char name[64];
	} cache[8];
	static unsigned int next;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	(void)ctx;
	for (unsigned int i = 0; i < sizeof(cache) / sizeof(cache[0]); i++)
		if (cache[i].name[0] && cache[i].uid == uid)
			return snprintf(buf, len, "%s", cache[i].name), buf;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", uid);
	cache[next].uid = uid;
	snprintf(cache[next].name, sizeof(cache[next].name), "%s", buf);
	next = (next + 1) % (sizeof(cache) / sizeof(cache[0]));
	return buf;
}

/* A flood is said on stderr at once, then at most once a minute per reason; the summary
 * and every report count what it suppressed. */
static void budget_warn(void *ctx, int why, uint32_t uid)
{
	struct session *s = ctx;
	uint64_t minute = (uint64_t)clock_ns(CLOCK_MONOTONIC) / 60000000000ULL + 1;
	uint64_t *last = &s->budget_warned[why == TG_BUDGET_HOST];

	if (*last == minute)
		return;
	*last = minute;
	if (why == TG_BUDGET_USER)
		fprintf(stderr,
			"tmpguard: WARNING: uid %u made more than %u findings this minute: the "
			"rest of its minute's are counted, not printed "
			"(rate_limit.per_user_per_minute; over_budget in the summary)\n",
			uid, s->pol->per_user_per_minute);
	else
		fprintf(stderr,
			"tmpguard: WARNING: this host made more than %u findings this minute: "
			"past each user's first %d, the rest of the minute's are counted, not "
			"printed (rate_limit.per_host_per_minute; over_budget in the summary)\n",
			s->pol->per_host_per_minute, TG_BUDGET_FLOOR);
}

/* Said once: the first malformed record's reason (tg_event_decode); the rest are counted. */
static void malformed_record(void *ctx, const char *why)
{
	(void)ctx;
	fprintf(stderr, "tmpguard: dropping a malformed record: %s\n", why);
}

/* The pipeline's look-ups in /proc (enrich.c). */
static int resolve_dir(void *ctx, const struct tg_event *e, const struct tg_dir_key *shared,
		       size_t n_shared, struct tg_dir_verdict *v)
{
	(void)ctx;
	return tg_resolve_dir(e, shared, n_shared, v);
}

static enum tg_link_state requested_link(void *ctx, const struct tg_event *e, bool *own)
{
	(void)ctx;
	return tg_requested_link(e, own);
}

static const struct tg_proc_info *enrich_proc(void *ctx, const struct tg_event *e)
{
	struct session *s = ctx;

	return tg_enrich_proc(s->en, e);
}

static const char *base_dir(void *ctx, const struct tg_event *e, char *buf, size_t len)
{
	(void)ctx;
	return tg_base_status_name(tg_resolve_base(e, buf, len));
}

/* The pipeline, with this file's look-ups and outputs. */
static int pipeline_init(struct session *s)
{
	const struct tg_pipeline_cb cb = {
		.ctx = s,
		.resolve_dir = resolve_dir,
		.requested_link = requested_link,
		.proc = enrich_proc,
		.user_name = acting_user,
		.base_dir = base_dir,
		.emit = emit_finding,
		.budget_warn = budget_warn,
		.malformed = malformed_record,
	};

	return tg_pipeline_init(&s->pl, &cb, TG_AGG_MAX, TG_AGG_PER_UID);
}

/* The ring buffer's callback. Output is flushed after each record judged. */
static int handle_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	if (!tg_pipeline_record(&s->pl, data, size))
		fflush(s->out);
	return 0;
}

/* ---- common start-up ---- */

/* --output, --syslog: 1 on failure, said. */
static int sinks_open(struct session *s)
{
	char err[1024];

	/* Opened before the programs attach: a file is created 0600 with O_EXCL, never through
	 * a symlink, in a directory only root or this user can rename files in (sink.h). */
	s->sinks = tg_sinks_open(
		&(struct tg_sink_opts){
			.format = s->opt.format,
			.path = s->opt.output_path,
			.rotate_bytes = s->opt.rotate_bytes,
			.rotate_keep =
				s->opt.rotate_keep ? s->opt.rotate_keep : TG_ROTATE_KEEP_DEFAULT,
			.syslog = s->opt.syslog,
			.syslog_facility =
				s->opt.syslog_facility > 0 ? s->opt.syslog_facility : LOG_DAEMON,
			.syslog_max = s->opt.syslog_max_set ? (size_t)s->opt.syslog_max
							    : TG_SYSLOG_MAX_DEFAULT,
			.diag = stderr,
		},
		err, sizeof(err));
	if (!s->sinks) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return 1;
	}
	return 0;
}

/* --db: 0, or the exit status with the failure said. */
static int store_open(struct session *s)
{
	char err[1024];

	if ((s->opt.db_max_age_days || s->opt.db_max_size_mib) && !s->opt.db_path) {
		fprintf(stderr, "tmpguard: --db-max-age and --db-max-size need --db FILE\n");
		return TG_EXIT_USAGE;
	}
	if (s->opt.db_path) {
		/* Opened, checked and trimmed before the programs attach, like --output. */
		struct tg_store_opts so = {
			.max_age_ns = (s->opt.db_max_age_days ? s->opt.db_max_age_days
							      : TG_STORE_MAX_AGE_DAYS) *
				      86400LL * 1000000000LL,
			.max_bytes = (int64_t)(s->opt.db_max_size_mib ? s->opt.db_max_size_mib
								      : TG_STORE_MAX_SIZE_MIB)
				     << 20,
			.log = stderr,
		};

		s->store = tg_store_open(s->opt.db_path, &so, event_now(s), err, sizeof(err));
		if (!s->store) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	}
	return 0;
}

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

static int session_start(struct session *s, bool scoped)
{
	struct tg_loader_opts lo = {
		.verbose = s->opt.verbose,
		.filter_tracked = scoped,
		.ringbuf_bytes = s->opt.ringbuf_bytes,
	};
	struct tg_policy *pol;
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
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
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
	lo.report_cloexec = s->pl.rules.enabled[TG_RULE_INHERITABLE_FD];
	lo.file_loose_mask = s->pl.rules.file_loose_mask;
	lo.dir_loose_mask = s->pl.rules.dir_loose_mask;
	lo.probe_window_ns = s->pl.rules.probe_window_ns;

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
	s->started_ns = s->loss_checked_ns = clock_ns(CLOCK_REALTIME);
	s->boot_to_real_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	s->pl.host = s->host;
	s->pl.boot_to_real_ns = s->boot_to_real_ns;

	e = store_open(s);
	if (e)
		return e;

	if (bpf_load(s, &lo, scoped))
		return 1;
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

static void session_end(struct session *s)
{
	health_end(s);
	/* The endpoint goes first: it reads the maps and programs that tg_bpf_stop() closes. */
	tg_metrics_free(s->metrics);
	s->metrics = NULL;
	if (s->bpf) {
		tg_bpf_drain(s->bpf);
		print_summary(s);
		tg_bpf_stop(s->bpf);
	}
	if (s->store) {
		const struct tg_store_stats *st = tg_store_stats(s->store);

		fprintf(stderr,
			"tmpguard: database %s: %llu findings and %llu losses stored this "
			"session%s; "
			"retention removed %llu findings, %llu losses, %llu sessions\n",
			s->opt.db_path, (unsigned long long)st->findings,
			(unsigned long long)st->losses,
			st->commit_failures ? " (some commits failed, see above)" : "",
			(unsigned long long)st->removed.findings,
			(unsigned long long)st->removed.losses,
			(unsigned long long)st->removed.sessions);
		tg_store_close(s->store);
	}
	tg_sinks_close(s->sinks);
	tg_enrich_free(s->en);
	tg_pipeline_fini(&s->pl);
	tg_policy_kernel_free(&s->pk);
	tg_policy_free(s->pol);
	free(s->exc_user_hits);
	if (s->bpf_stats_fd > 0)
		close(s->bpf_stats_fd);
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sighup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- audit and run ---- */

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
	fprintf(stderr, "tmpguard: auditing (%d programs attached, %s%s%s%s%s); %s\n",
		tg_bpf_nr_attached(s->bpf),
		tg_bpf_hooks(s->bpf) == TG_HOOKS_FENTRY ? "fexit hooks" : "syscall tracepoints",
		*tg_bpf_hooks_fallback(s->bpf) ? ": " : "", tg_bpf_hooks_fallback(s->bpf),
		tg_bpf_ia32(s->bpf, NULL) == TG_IA32_OFF
			? ", no 32-bit syscalls on this host (32-bit emulation is off)"
			: "",
		s->opt.pid ? ", scoped to one process tree" : "",
		d ? "SIGHUP reloads, SIGTERM stops" : "Ctrl-C to stop");
	/* Fault injection for the tests of producer health: detach programs for real. */
	if (getenv("TMPGUARD_TEST_DETACH")) {
		char *names = strdup(getenv("TMPGUARD_TEST_DETACH")), *save = NULL;

		for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
			fprintf(stderr, "tmpguard: TEST: detaching %s: %s\n", n,
				tg_bpf_detach(s->bpf, n) ? "no such program" : "done");
		free(names);
	}
	if (d)
		daemon_notify("READY=1\nSTATUS=auditing");
	if (s->opt.duration_s)
		deadline = clock_ns(CLOCK_MONOTONIC) + s->opt.duration_s * 1000000000LL;
	while (!exiting) {
		err = tg_bpf_poll(s->bpf, 200);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "tmpguard: polling the ring buffer: %s\n", strerror(-err));
			err = 1;
			goto out;
		}
		check_loss(s);
		check_health(s);
		metrics_sync(s);
		store_tick(s);
		if (reload_requested()) {
			if (d)
				daemon_reload(s, d);
			else
				policy_reload(s);
		}
		if (deadline && clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	err = 0;
out:
	if (d)
		daemon_notify("STOPPING=1\nSTATUS=draining and writing the summary");
	session_end(s);
	return err;
}

/* The child waits until it is in the tracked set, then execs COMMAND: nothing it does escapes
 * the scope, not even its first open. Returns its pid, or -1 with the failure said. */
static pid_t run_spawn(struct session *s)
{
	int go[2], err;
	pid_t child;

	if (pipe2(go, O_CLOEXEC)) {
		fprintf(stderr, "tmpguard: pipe: %s\n", strerror(errno));
		return -1;
	}
	child = fork();
	if (child < 0) {
		fprintf(stderr, "tmpguard: fork: %s\n", strerror(errno));
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (child == 0) {
		char c;

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(s->opt.command[0], s->opt.command);
		fprintf(stderr, "tmpguard: cannot run %s: %s\n", s->opt.command[0],
			strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(go[0]);
	err = tg_bpf_track(s->bpf, child);
	if (err) {
		fprintf(stderr, "tmpguard: cannot track pid %d: %s\n", child, strerror(-err));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		close(go[1]);
		return -1;
	}
	if (write(go[1], "g", 1) != 1) {
		fprintf(stderr, "tmpguard: cannot start %s: %s\n", s->opt.command[0],
			strerror(errno));
		close(go[1]);
		return -1;
	}
	close(go[1]);
	return child;
}

/* Reports until COMMAND exits, passing it Ctrl-C and SIGTERM; its wait status (0 if the ring
 * buffer failed first). */
static int run_wait(struct session *s, pid_t child)
{
	int status = 0, err;

	for (;;) {
		pid_t w = waitpid(child, &status, WNOHANG);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			fprintf(stderr, "tmpguard: waitpid: %s\n", strerror(errno));
			break;
		}
		if (forward_sig) {
			/* Ctrl-C or SIGTERM: pass it to COMMAND, keep reporting until it exits. */
			kill(child, forward_sig);
			forward_sig = 0;
		}
		err = tg_bpf_poll(s->bpf, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "tmpguard: polling the ring buffer: %s\n", strerror(-err));
			break;
		}
		check_loss(s);
		metrics_sync(s);
		store_tick(s);
		if (reload_requested())
			policy_reload(s);
	}
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct session s = {.opt = SESSION_OPTS_DEFAULT};
	int status, err;
	pid_t child;

	err = parse_args(&s.opt, argc, argv, true);
	if (err)
		return err;
	install_signals();
	err = session_start(&s, true);
	if (err)
		goto out;
	child = run_spawn(&s);
	if (child < 0) {
		err = 1;
		goto out;
	}
	status = run_wait(&s, child);
	/* COMMAND has exited: every record it produced is already in the ring buffer, and
	 * session_end() drains it before the summary. */
	if (WIFEXITED(status))
		err = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		err = 128 + WTERMSIG(status);
	else
		err = 1;
out:
	session_end(&s);
	if (s.opt.fail_on >= 0 && s.pl.worst >= s.opt.fail_on) {
		fprintf(stderr, "tmpguard: failing: a %s finding occurred (--fail-on %s)\n",
			tg_severity_name(s.pl.worst), tg_severity_name(s.opt.fail_on));
		return TG_EXIT_FAILON;
	}
	return err;
}
