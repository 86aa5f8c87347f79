// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a session watches in its own producer: records lost to a full ring buffer (loss
 * windows), and the health canary (programs detached, ring buffer stalled).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "health.h"
#include "record.h"
#include "record_json.h"
#include "records.h"

/*
 * Loss is never silent: say so as soon as it is seen, and record the window it happened in
 * (between this check and the one before, at most one poll interval apart) so that reports
 * covering that window say what they could not see.
 */
void check_loss(struct session *s)
{
	/* The window runs from before the previous read of the counters to after this one:
	 * the process may be stopped or preempted anywhere in between. */
	int64_t before = tg_clock_ns(CLOCK_REALTIME), now;
	uint64_t st[TG_STAT_MAX];
	struct tg_loss loss;
	struct tg_record rec = {.kind = TG_RECORD_LOSS, .loss = &loss};
	int err = tg_bpf_stats(s->bpf, st);

	now = tg_clock_ns(CLOCK_REALTIME);
	/* A blind spot of a scoped run: said at once, and in the summary. */
	if (!err && st[TG_STAT_TRACK_FULL] != s->untracked_reported) {
		fprintf(stderr,
			"tmpguard: WARNING: %llu forks in the audited process tree not followed so "
			"far (tracking map full): their processes are not audited\n",
			(unsigned long long)st[TG_STAT_TRACK_FULL]);
		s->untracked_reported = st[TG_STAT_TRACK_FULL];
	}
	if (err || st[TG_STAT_LOST] == s->lost_reported) {
		s->loss_checked_ns = before;
		return;
	}
	fprintf(stderr,
		"tmpguard: WARNING: %llu records lost so far (ring buffer full); raise "
		"--ringbuf-size\n",
		(unsigned long long)st[TG_STAT_LOST]);
	loss = (struct tg_loss){
		.time_ns = now,
		.host = s->host,
		.from_ns = s->loss_checked_ns,
		.to_ns = now,
		.lost = st[TG_STAT_LOST] - s->lost_reported,
		.lost_total = st[TG_STAT_LOST],
	};
	rec.json = tg_loss_json(&loss);
	if (s->store)
		tg_store_record(s->store, &rec);
	emit_record(s, &rec);
	s->lost_reported = st[TG_STAT_LOST];
	s->loss_checked_ns = before;
}

/*
 * Producer health. Every HEALTH_INTERVAL_NS tmpguard creates a file of its own (O_CREAT, in a
 * private 0700 directory, so no finding) and checks at the next round that the kernel counted
 * it: the open programs are attached and running. It also checks that records committed to
 * the ring buffer are being delivered. Either failing is said at once, on stderr and as a
 * "health" record, and so is the recovery. Machine-wide audits only: under `run` or --pid,
 * tmpguard's own creates are out of scope.
 */
#define HEALTH_INTERVAL_NS (2 * 1000000000LL)

static void health_record(struct session *s, const char *status, const char *reason)
{
	const struct tg_health h = {
		.time_ns = tg_clock_ns(CLOCK_REALTIME),
		.host = s->host,
		.status = status,
		.reason = reason,
	};
	const struct tg_record rec = {
		.kind = TG_RECORD_HEALTH,
		.health = &h,
		.json = tg_health_json(&h),
	};

	if (s->store)
		tg_store_record(s->store, &rec);
	emit_record(s, &rec);
}

/* Canary directories of tmpguards that died without cleaning up (kill -9): "tmpguard-canary.
 * <pid>.XXXXXX" of a pid that no longer runs, a directory of ours (never a link). */
static void health_sweep(const char *parent)
{
	char prefix[] = "tmpguard-canary.";
	struct dirent *de;
	int dfd;
	DIR *d;

	dfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *end;
		long pid;
		int sub;

		if (strncmp(de->d_name, prefix, sizeof(prefix) - 1))
			continue;
		pid = strtol(de->d_name + sizeof(prefix) - 1, &end, 10);
		if (pid <= 0 || *end != '.' || pid == getpid() || !kill(pid, 0) || errno != ESRCH)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			unlinkat(sub, "canary", 0);
			close(sub);
		}
		unlinkat(dfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void health_start(struct session *s)
{
	/* First the service's own RuntimeDirectory= (systemd's $RUNTIME_DIRECTORY): under the
	 * unit's ProtectSystem=strict the rest of /run is read-only. */
	const char *parents[] = {getenv("RUNTIME_DIRECTORY"), "/run", "/var/run", "/tmp"};

	s->canary_dirfd = -1;
	if (s->scoped)
		return;
	for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
		if (!parents[i] || parents[i][0] != '/' || strchr(parents[i], ':'))
			continue;
		health_sweep(parents[i]);
		snprintf(s->canary_dir, sizeof(s->canary_dir), "%s/tmpguard-canary.%d.XXXXXX",
			 parents[i], (int)getpid());
		if (mkdtemp(s->canary_dir)) {
			s->canary_dirfd = open(s->canary_dir,
					       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
	}
	if (s->canary_dirfd < 0)
		fprintf(stderr,
			"tmpguard: WARNING: no directory for the health canary (%s): "
			"a detached producer would go unnoticed\n",
			strerror(errno));
	s->health_next_ns = tg_clock_ns(CLOCK_MONOTONIC); /* the first canary at once */
}

void health_end(struct session *s)
{
	if (s->canary_dirfd < 0)
		return;
	unlinkat(s->canary_dirfd, "canary", 0);
	close(s->canary_dirfd);
	rmdir(s->canary_dir);
	s->canary_dirfd = -1;
}

void check_health(struct session *s)
{
	uint64_t st[TG_STAT_MAX];
	const char *problem = NULL;
	int64_t now = tg_clock_ns(CLOCK_MONOTONIC);
	int fd;

	if (s->canary_dirfd < 0 || now < s->health_next_ns || tg_bpf_stats(s->bpf, st))
		return;
	s->health_next_ns = now + HEALTH_INTERVAL_NS;
	if (s->canary_pending && st[TG_STAT_SELF_CREATE] == s->canary_seen_before)
		problem = "the BPF programs did not see tmpguard's own canary create: they are "
			  "detached or not running, and nothing is being audited";
	else if (st[TG_STAT_SENT] > s->pl.received && s->pl.received == s->health_received &&
		 st[TG_STAT_SENT] > s->health_sent)
		problem = "records committed to the ring buffer are not being delivered: the ring "
			  "buffer is stalled";
	s->health_sent = st[TG_STAT_SENT];
	s->health_received = s->pl.received;
	if (problem && !s->unhealthy) {
		fprintf(stderr, "tmpguard: WARNING: producer unhealthy: %s\n", problem);
		health_record(s, "unhealthy", problem);
		s->health_alerts++;
	} else if (!problem && s->unhealthy) {
		fprintf(stderr, "tmpguard: producer healthy again\n");
		health_record(s, "recovered", "the canary create was seen and records flow");
	}
	s->unhealthy = problem != NULL;

	s->canary_seen_before = st[TG_STAT_SELF_CREATE];
	fd = openat(s->canary_dirfd, "canary", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	s->canary_pending = fd >= 0;
	if (fd >= 0)
		close(fd);
}
