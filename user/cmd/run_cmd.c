// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard run COMMAND`: a session scoped to COMMAND's process tree (session.c starts and ends
 * it), COMMAND started inside the tracked scope, reports until it exits, then its exit status,
 * or --fail-on's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "cli.h"
#include "health.h"
#include "policy_session.h"
#include "report_cmd.h"
#include "rule_registry.h"
#include "session.h"
#include "session_int.h"
#include "session_metrics.h"
#include "session_outputs.h"

/* The child waits until it is in the tracked set, then execs COMMAND: nothing it does escapes
 * the scope, not even its first open. Returns its pid, or -1 with the failure said. */
static pid_t run_spawn(struct session *s)
{
	sigset_t stop, old;
	int go[2], err;
	pid_t child;

	if (pipe2(go, O_CLOEXEC)) {
		fprintf(stderr, "tmpguard: pipe: %s\n", strerror(errno));
		return -1;
	}
	/* A SIGINT or SIGTERM passed on at once waits until the child's handlers are the
	 * defaults again: it would otherwise land in tmpguard's handler and be lost. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	child = fork();
	if (child != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
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
		sigprocmask(SIG_SETMASK, &old, NULL);
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

/* Reports until COMMAND exits, passing it Ctrl-C and SIGTERM, and SIGTERM when the reader of
 * the output goes away (*closed set); its wait status (0 if the ring buffer failed first). */
static int run_wait(struct session *s, pid_t child, bool *closed)
{
	int status = 0, err, sig;

	for (;;) {
		pid_t w = waitpid(child, &status, WNOHANG);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			fprintf(stderr, "tmpguard: waitpid: %s\n", strerror(errno));
			break;
		}
		sig = signal_to_forward();
		if (sig) {
			/* Ctrl-C or SIGTERM: pass it to COMMAND, keep reporting until it exits. */
			kill(child, sig);
		}
		if (!*closed && tg_sinks_reader_gone(s->sinks)) {
			/* `tmpguard run -- CMD | head`: no one reads the findings any more */
			tg_cli_output_closed("tmpguard run");
			kill(child, SIGTERM);
			*closed = true;
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
		policy_check_expiry(s);
	}
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct session s = {.opt = SESSION_OPTS_DEFAULT};
	bool closed = false;
	int status, err;
	pid_t child = -1;

	err = parse_args(&s.opt, argc, argv, true);
	if (err)
		return err;
	if (s.opt.sarif) {
		char *root = s.opt.source_root ? realpath(s.opt.source_root, NULL) : NULL;

		/* said before COMMAND runs, not after */
		if (s.opt.source_root && !root) {
			fprintf(stderr, "tmpguard run: --source-root %s: %s\n", s.opt.source_root,
				strerror(errno));
			return TG_EXIT_USAGE;
		}
		free(root);
		/* the session's JSON lines, in memory only: nothing of them lands in a shared
		 * directory, and they go with the process */
		s.sarif_fd = memfd_create("tmpguard-run-sarif", MFD_CLOEXEC);
		if (s.sarif_fd < 0) {
			fprintf(stderr, "tmpguard run: memfd_create: %s\n", strerror(errno));
			return 1;
		}
	}
	install_signals();
	err = session_start(&s, true);
	if (err)
		goto out;
	child = run_spawn(&s);
	if (child < 0) {
		err = 1;
		goto out;
	}
	status = run_wait(&s, child, &closed);
	/* COMMAND has exited: every record it produced is already in the ring buffer, and
	 * session_end() drains it before the summary. */
	if (WIFEXITED(status))
		err = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		err = 128 + WTERMSIG(status);
	else
		err = 1;
	if (closed)
		err = TG_EXIT_EPIPE;
out:
	session_end(&s);
	if (s.opt.sarif && child > 0) {
		/* the log is written even when COMMAND failed: that is when it is wanted */
		int serr = report_sarif_spool(s.sarif_fd, s.opt.source_root, s.opt.output_path);

		close(s.sarif_fd);
		if (serr && (!err || err == TG_EXIT_EPIPE))
			err = serr;
	}
	if (s.opt.fail_on >= 0 && s.pl.worst >= s.opt.fail_on) {
		fprintf(stderr, "tmpguard: failing: a %s finding occurred (--fail-on %s)\n",
			tg_severity_name(s.pl.worst), tg_severity_name(s.opt.fail_on));
		return TG_EXIT_FAILON;
	}
	return err;
}
