// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard audit` and `tmpguard run`. Both: parse arguments -> check requirements -> load and
 * attach -> consume records (the record pipeline, pipeline.h, with this file's look-ups and
 * outputs) -> summary. `run` also starts the command inside the tracked scope.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "aggregate.h"
#include "config.h"
#include "enrich.h"
#include "loader.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"
#include "policy.h"
#include "policy_kernel.h"
#include "posture.h"
#include "record.h"
#include "rules.h"
#include "session.h"
#include "sink.h"
#include "store.h"
#include "summary.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define TG_EXIT_USAGE	   2
#define TG_EXIT_FAILON	   3
#define TG_AGG_MAX	   65536
#define TG_AGG_PER_UID	   (TG_AGG_MAX / 16) /* one user's share of the aggregation table */
#define TG_RINGBUF_DEFAULT (4u << 20)	     /* as tg_events in bpf/maps.bpf.h */

struct session {
	/* options */
	bool json;
	const char *output_path;
	long duration_s;
	pid_t pid;
	bool all_rules;
	bool verbose;
	int fail_on; /* severity, -1 = off */
	size_t ringbuf_bytes;
	char **command;		 /* run: argv of COMMAND */
	const char *policy_path; /* NULL: the built-in default */
	bool enforce, dry_run, fallback_kill;
	int hooks;		 /* enum tg_hooks; -1: not given (TMPGUARD_HOOKS, else auto) */
	const char *config_name; /* daemon: the configuration file the options come from */

	/* state */
	FILE *out;
	struct tg_bpf *bpf;
	struct tg_enrich *en;
	struct tg_pipeline pl;	   /* the records' way from the ring buffer to the sinks */
	uint64_t budget_warned[2]; /* the minute (+1) of the last warning, per reason */
	struct tg_policy *pol;
	struct tg_policy_kernel pk;
	uint64_t *exc_user_hits; /* per exception of pol: findings hidden in user space (pl) */
	uint64_t exc_retired;	 /* findings hidden by exceptions of policies since replaced */
	uint64_t reloads, reload_failures;
	uint32_t enforce_mode; /* enum tg_enforce_mode in force */
	bool scoped;	       /* run or --pid: enforcement only inside the tracked tree */
	int64_t boot_to_real_ns;
	char host[256];
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
	const char *metrics_addr_text; /* NULL: no endpoint */
	struct tg_metrics_addr metrics_addr;
	struct tg_metrics *metrics;
	bool bpf_stats;
	int bpf_stats_fd;	   /* > 0 while held */
	uint64_t exc_user_retired; /* user-space hits of exceptions of policies since replaced */
	/* output sinks (sink.h); json above is true for the json and falco formats */
	int format; /* enum tg_format */
	uint64_t rotate_bytes;
	long rotate_keep; /* 0: --rotate-keep not given */
	bool syslog;
	int syslog_facility; /* 0: --syslog-facility not given */
	long syslog_max;
	bool syslog_max_set;
	bool syslog_opts_set; /* --syslog-facility or --syslog-max-size given */
	struct tg_sinks *sinks;
	/* the event store (--db) */
	const char *db_path;
	long db_max_age_days, db_max_size_mib; /* 0: the defaults */
	struct tg_store *store;
};

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t forward_sig;
static volatile sig_atomic_t reload_requested;

static void on_sighup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void on_signal(int sig)
{
	exiting = 1;
	forward_sig = sig;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- where records go ---- */

/* Now on the clock findings carry (CLOCK_BOOTTIME + the offset taken at start). */
static int64_t event_now(const struct session *s)
{
	return clock_ns(CLOCK_BOOTTIME) + s->boot_to_real_ns;
}

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
	if (!s->json)
		tg_sinks_text(s->sinks, r);
	tg_sinks_record(s->sinks, &rec); /* json or falco lines, syslog */
	if (s->store)
		tg_store_finding(s->store, rec.json);
	json_object_put(rec.json);
}

/* From the poll loops: batches committed about every second, and before a policy reload. */
static void store_tick(struct session *s)
{
	if (!s->store)
		return;
	tg_store_tick(s->store, event_now(s));
	if (reload_requested)
		tg_store_commit(s->store);
}

/* A session, loss, health or summary record, stored already by the caller (takes its JSON).
 * Text output shows these on stderr instead. */
static void emit_record(struct session *s, const struct tg_record *rec)
{
	tg_sinks_record(s->sinks, rec); /* json or falco lines (not text), syslog */
	json_object_put(rec->json);
}

static json_object *time_json(int64_t real_ns)
{
	char t[64];

	tg_format_time(real_ns, t, sizeof(t));
	return json_object_new_string(t);
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

/*
 * Loss is never silent: say so as soon as it is seen, and record the window it happened in
 * (between this check and the one before, at most one poll interval apart) so that reports
 * covering that window say what they could not see.
 */
static void check_loss(struct session *s)
{
	/* The window runs from before the previous read of the counters to after this one:
	 * the process may be stopped or preempted anywhere in between. */
	int64_t before = clock_ns(CLOCK_REALTIME), now;
	uint64_t st[TG_STAT_MAX];
	struct tg_loss loss;
	struct tg_record rec = {.kind = TG_RECORD_LOSS, .loss = &loss};
	int err = tg_bpf_stats(s->bpf, st);

	now = clock_ns(CLOCK_REALTIME);
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
		tg_store_loss(s->store, rec.json);
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
		.time_ns = clock_ns(CLOCK_REALTIME),
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
		tg_store_health(s->store, rec.json);
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

static void health_start(struct session *s)
{
	static const char *const parents[] = {"/run", "/var/run", "/tmp"};

	s->canary_dirfd = -1;
	if (s->scoped)
		return;
	for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
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
	s->health_next_ns = clock_ns(CLOCK_MONOTONIC); /* the first canary at once */
}

static void health_end(struct session *s)
{
	if (s->canary_dirfd < 0)
		return;
	unlinkat(s->canary_dirfd, "canary", 0);
	close(s->canary_dirfd);
	rmdir(s->canary_dir);
	s->canary_dirfd = -1;
}

static void check_health(struct session *s)
{
	uint64_t st[TG_STAT_MAX];
	const char *problem = NULL;
	int64_t now = clock_ns(CLOCK_MONOTONIC);
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

/* The policy in force; with khits, what each exception hid so far in the kernel and here. */
static struct tg_summary_policy summary_policy(const struct session *s, const uint64_t *khits)
{
	return (struct tg_summary_policy){
		.pol = s->pol,
		.in_kernel = s->pk.in_kernel,
		.hid_kernel = khits,
		.n_hid_kernel = khits ? s->pol->n_exceptions : 0,
		.hid_user = khits ? s->exc_user_hits : NULL,
		.reloads = s->reloads,
		.reloads_refused = s->reload_failures,
		.hid_by_earlier = s->exc_retired,
	};
}

static const char *enforcement_name(uint32_t mode)
{
	static const char *const names[] = {
		[TG_ENFORCE_OFF] = "off",
		[TG_ENFORCE_LSM] = "lsm",
		[TG_ENFORCE_DRY_RUN] = "dry-run",
		[TG_ENFORCE_KILL_FALLBACK] = "kill-fallback",
	};

	return mode < sizeof(names) / sizeof(names[0]) && names[mode] ? names[mode] : "unknown";
}

static void add_hook(void *ctx, const char *name, const char *sec, int fd)
{
	(void)name;
	(void)fd;
	json_object_array_add(ctx, json_object_new_string(sec));
}

/* The verifier's work on each program (bpf_prog_info.verified_insns, 5.16): deterministic for
 * a kernel and a mode, budgeted by the tests (TG_VERIFIED_INSNS_BUDGET). */
static void add_verified(void *ctx, const char *name, const char *sec, int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	(void)sec;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		json_object_object_add(ctx, name, json_object_new_int64(info.verified_insns));
}

static void count_hook(void *ctx, const char *name, const char *sec, int fd)
{
	(void)name;
	(void)sec;
	(void)fd;
	(*(size_t *)ctx)++;
}

/* The session record's JSON: si, and what the loader holds (hooks, the verifier's work, ia32),
 * the policy and the host's posture. */
static json_object *session_json(struct session *s, const struct tg_session_info *si)
{
	json_object *o = json_object_new_object(), *hooks = json_object_new_array();
	const struct tg_summary_policy pol = summary_policy(s, NULL);
	json_object *verified;
	const char *ia32_why;
	enum tg_ia32 ia32;

	json_object_object_add(o, "type", json_object_new_string("session"));
	json_object_object_add(o, "time", time_json(si->time_ns));
	json_object_object_add(o, "host", tg_json_bytes(si->host, strlen(si->host), NULL));
	json_object_object_add(o, "version", json_object_new_string(si->version));
	json_object_object_add(o, "pid", json_object_new_int64(si->pid));
	json_object_object_add(o, "scope", json_object_new_string(si->scope));
	tg_bpf_for_each_attached(s->bpf, add_hook, hooks);
	json_object_object_add(o, "hooks", hooks);
	verified = json_object_new_object();
	tg_bpf_for_each_attached(s->bpf, add_verified, verified);
	json_object_object_add(o, "verified_insns", verified);
	/* fentry or tracepoint, and why auto did not take fentry. */
	json_object_object_add(o, "hooks_kind",
			       json_object_new_string(tg_hooks_name(tg_bpf_hooks(s->bpf))));
	if (*tg_bpf_hooks_fallback(s->bpf))
		json_object_object_add(o, "hooks_fallback",
				       json_object_new_string(tg_bpf_hooks_fallback(s->bpf)));
	/* Whether 32-bit syscalls can happen here, and what the probe saw (loader.h). */
	ia32 = tg_bpf_ia32(s->bpf, &ia32_why);
	json_object_object_add(o, "ia32_syscalls", json_object_new_string(tg_ia32_name(ia32)));
	if (ia32 != TG_IA32_ON)
		json_object_object_add(o, "ia32_why", json_object_new_string(ia32_why));
	json_object_object_add(o, "enforcement", json_object_new_string(si->enforcement));
	json_object_object_add(o, "ringbuf_bytes", json_object_new_int64(s->ringbuf_bytes));
	tg_summary_policy_json(o, &pol);
	json_object_object_add(o, "posture", tg_posture_json(NULL));
	return o;
}

/* What this run can see and do, for reports: hooks, enforcement, policy, the host's posture. */
static void emit_session_record(struct session *s)
{
	struct tg_session_info si = {
		/* Coverage starts now that every program is attached (loading takes seconds). */
		.time_ns = clock_ns(CLOCK_REALTIME),
		.host = s->host,
		.version = TG_VERSION,
		.pid = getpid(),
		.scope = s->scoped ? "process-tree" : "host",
		.enforcement = enforcement_name(s->enforce_mode),
		.policy = s->pol->source,
	};
	struct tg_record rec = {.kind = TG_RECORD_SESSION, .session = &si};

	tg_bpf_for_each_attached(s->bpf, count_hook, &si.n_hooks);
	rec.json = session_json(s, &si);
	if (s->store)
		tg_store_begin(s->store, rec.json);
	emit_record(s, &rec);
}

/* What each exception of the policy in force had the kernel drop, by the policy's index (the
 * kernel counts per key in force): a new array, one entry per exception, or NULL. */
static uint64_t *kexc_hits(const struct session *s)
{
	uint64_t *h = calloc(s->pol->n_exceptions + 1, sizeof(*h));

	if (h)
		tg_bpf_kexc_hits(s->bpf, s->pk.idx, s->pk.n, h, s->pol->n_exceptions);
	return h;
}

/* The summary: on stderr as text, and as a record (also for text output: every sink but the
 * terminal keeps it). */
static void print_summary(struct session *s)
{
	uint64_t st[TG_STAT_MAX] = {0}, *khits = kexc_hits(s);
	struct tg_sink_stats out;
	struct tg_summary sum;
	struct tg_record rec = {.kind = TG_RECORD_SUMMARY, .summary = &sum};
	struct tg_summary_source src = {
		.pl = &s->pl,
		.kstats = st,
		.enforcement = s->enforce_mode,
		.health_alerts = s->health_alerts,
		.agg_per_uid = TG_AGG_PER_UID,
		.host = s->host,
		.started_ns = s->started_ns,
		.boot_to_real_ns = s->boot_to_real_ns,
		.policy = summary_policy(s, khits),
		.output = s->sinks ? &out : NULL,
		.db_path = s->store ? s->db_path : NULL,
		.store = s->store ? tg_store_stats(s->store) : NULL,
	};

	tg_bpf_stats(s->bpf, st);
	if (s->sinks)
		tg_sinks_stats(s->sinks, &out);
	src.now_ns = clock_ns(CLOCK_REALTIME);
	tg_summary_collect(&sum, &src);
	tg_summary_text(stderr, &sum);
	rec.json = tg_summary_json(&sum);
	if (s->store)
		tg_store_end(s->store, rec.json, event_now(s));
	emit_record(s, &rec);
	fflush(s->out);
	free(khits);
}

/* ---- arguments ---- */

enum {
	OPT_RINGBUF = 0x100,
	OPT_ALL_RULES,
	OPT_FAIL_ON,
	OPT_POLICY,
	OPT_ENFORCE,
	OPT_DRY_RUN,
	OPT_FALLBACK,
	OPT_METRICS_ADDR,
	OPT_BPF_STATS,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_KEEP,
	OPT_SYSLOG,
	OPT_SYSLOG_FACILITY,
	OPT_SYSLOG_MAX,
	OPT_DB,
	OPT_DB_MAX_AGE,
	OPT_DB_MAX_SIZE,
	OPT_HOOKS,
};

/* clang-format off */
#define COMMON_OPTIONS \
	{ "format", 'f', "FORMAT", 0, "text (default), json (one object per line) or falco (Falco's JSON alerts)", 0 }, \
	{ "output", 'o', "FILE", 0, "write findings to FILE instead of standard output", 0 }, \
	{ "policy", OPT_POLICY, "FILE", 0, "policy file (default: the built-in policies/default.yaml)", 0 }, \
	{ "all-rules", OPT_ALL_RULES, NULL, 0, "also report inheritable-fd (off by default)", 0 }, \
	{ "ringbuf-size", OPT_RINGBUF, "MIB", 0, "ring buffer size in MiB, a power of two (4)", 0 }, \
	{ "verbose", 'v', NULL, 0, "libbpf debug output", 0 }, \
	{ "hooks", OPT_HOOKS, "KIND", 0, "auto (the default, unless $TMPGUARD_HOOKS names another), fentry (fexit programs on kernel functions: no syscall tracepoint) or tracepoint (syscall tracepoints); auto takes fentry where the kernel loads it", 0 }, \
	{ "enforce", OPT_ENFORCE, NULL, 0, "enforce the policy's deny and kill actions (BPF LSM)", 0 }, \
	{ "dry-run", OPT_DRY_RUN, NULL, 0, "decide as --enforce would, report would-deny, refuse nothing", 0 }, \
	{ "enforce-fallback", OPT_FALLBACK, "kill", 0, "without BPF LSM: SIGKILL offenders after the fact", 0 }, \
	{ "metrics-addr", OPT_METRICS_ADDR, "ADDR:PORT", 0, "serve Prometheus metrics on http://ADDR:PORT/metrics (127.0.0.1:9464, [::1]:9464)", 0 }, \
	{ "bpf-stats", OPT_BPF_STATS, NULL, 0, "measure the BPF programs' run time while running (kernel BPF stats)", 0 }, \
	{ "rotate-size", OPT_ROTATE_SIZE, "MIB", 0, "rotate --output before it passes MIB MiB (json and falco formats)", 0 }, \
	{ "rotate-keep", OPT_ROTATE_KEEP, "N", 0, "rotated files kept, FILE.1 (newest) .. FILE.N (5)", 0 }, \
	{ "syslog", OPT_SYSLOG, NULL, 0, "also send findings, loss and summary records to syslog, one JSON line each", 0 }, \
	{ "syslog-facility", OPT_SYSLOG_FACILITY, "NAME", 0, "daemon (default), local0..local7, auth or authpriv", 0 }, \
	{ "syslog-max-size", OPT_SYSLOG_MAX, "BYTES", 0, "shorten syslog messages longer than BYTES (8000, fits rsyslog's default; 0: never, e.g. for journald)", 0 }, \
	{ "db", OPT_DB, "FILE", 0, "also write every record to the event store FILE (SQLite; see tmpguard query)", 0 }, \
	{ "db-max-age", OPT_DB_MAX_AGE, "DAYS", 0, "with --db: delete findings older than DAYS (90)", 0 }, \
	{ "db-max-size", OPT_DB_MAX_SIZE, "MIB", 0, "with --db: delete the oldest findings beyond MIB (1024)", 0 }
/* clang-format on */

static const struct argp_option audit_options[] = {
	COMMON_OPTIONS,
	{"duration", 'd', "SECONDS", 0, "stop after SECONDS (default: until SIGINT/SIGTERM)", 0},
	{"pid", 'p', "PID", 0, "only this process and the children it forks from now on", 0},
	{},
};

static const struct argp_option run_options[] = {
	COMMON_OPTIONS,
	{"fail-on", OPT_FAIL_ON, "SEVERITY", 0,
	 "exit 3 if a finding at or above SEVERITY (low|medium|high|critical) occurred", 0},
	{},
};

/* A bad option value: argp says it for the command line; for the daemon, the configuration
 * file is named instead (there is no command line to get help for). */
__attribute__((format(printf, 2, 3))) static void opt_error(struct argp_state *state,
							    const char *fmt, ...)
{
	const struct session *s = state->input;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->config_name)
		fprintf(stderr, "tmpguard daemon: %s: %s\n", s->config_name, msg);
	else
		argp_error(state, "%s", msg);
}

/* Strict integer parsing; a bad value is reported by argp and stops the parse. */
static int parse_long(const char *arg, const char *what, long min, long max,
		      struct argp_state *state, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < min || *out > max) {
		opt_error(state, "invalid %s '%s': expected an integer in [%ld, %ld]", what, arg,
			  min, max);
		return EINVAL;
	}
	return 0;
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct session *s = state->input;
	long v;

	switch (key) {
	case 'f':
		s->format = tg_format_parse(arg);
		if (s->format < 0) {
			opt_error(state, "invalid format '%s': expected text, json or falco", arg);
			return EINVAL;
		}
		s->json = s->format != TG_FORMAT_TEXT;
		break;
	case 'o':
		s->output_path = arg;
		break;
	case OPT_ALL_RULES:
		s->all_rules = true;
		break;
	case OPT_RINGBUF:
		if (parse_long(arg, "ring buffer size", 1, 1024, state, &v))
			return EINVAL;
		if (v & (v - 1)) {
			opt_error(state, "ring buffer size %ld MiB is not a power of two", v);
			return EINVAL;
		}
		s->ringbuf_bytes = (size_t)v << 20;
		break;
	case 'v':
		s->verbose = true;
		break;
	case OPT_POLICY:
		s->policy_path = arg;
		break;
	case OPT_ENFORCE:
		s->enforce = true;
		break;
	case OPT_DRY_RUN:
		s->dry_run = true;
		break;
	case OPT_HOOKS:
		s->hooks = tg_hooks_parse(arg);
		if (s->hooks < 0) {
			opt_error(state, "invalid hooks '%s': expected auto, fentry or tracepoint",
				  arg);
			return EINVAL;
		}
		break;
	case OPT_FALLBACK:
		if (strcmp(arg, "kill")) {
			opt_error(state, "invalid fallback '%s': expected kill", arg);
			return EINVAL;
		}
		s->fallback_kill = true;
		break;
	case OPT_METRICS_ADDR: {
		char msg[256];

		if (tg_metrics_parse_addr(arg, &s->metrics_addr, msg, sizeof(msg))) {
			opt_error(state, "invalid --metrics-addr %s", msg);
			return EINVAL;
		}
		s->metrics_addr_text = arg;
		break;
	}
	case OPT_BPF_STATS:
		s->bpf_stats = true;
		break;
	case 'd':
		if (parse_long(arg, "duration", 1, LONG_MAX / 1000000000, state, &s->duration_s))
			return EINVAL;
		break;
	case 'p':
		if (parse_long(arg, "pid", 1, INT_MAX, state, &v))
			return EINVAL;
		s->pid = v;
		break;
	case OPT_FAIL_ON:
		s->fail_on = tg_severity_parse(arg);
		if (s->fail_on < 0) {
			opt_error(state,
				  "invalid severity '%s': expected low, medium, high or critical",
				  arg);
			return EINVAL;
		}
		break;
	case OPT_ROTATE_SIZE:
		if (parse_long(arg, "rotation size (MiB)", 1, 1L << 20, state, &v))
			return EINVAL;
		s->rotate_bytes = (uint64_t)v << 20;
		break;
	case OPT_ROTATE_KEEP:
		if (parse_long(arg, "number of rotated files", 1, TG_ROTATE_KEEP_MAX, state,
			       &s->rotate_keep))
			return EINVAL;
		break;
	case OPT_SYSLOG:
		s->syslog = true;
		break;
	case OPT_SYSLOG_FACILITY:
		s->syslog_facility = tg_syslog_facility_parse(arg);
		if (s->syslog_facility < 0) {
			opt_error(state,
				  "invalid syslog facility '%s': expected daemon, local0..local7, "
				  "auth or authpriv",
				  arg);
			return EINVAL;
		}
		s->syslog_opts_set = true;
		break;
	case OPT_SYSLOG_MAX:
		if (parse_long(arg, "syslog message size", 0, 1L << 24, state, &s->syslog_max))
			return EINVAL;
		if (s->syslog_max && s->syslog_max < 1024) {
			opt_error(state, "syslog message size %ld is below 1024 bytes",
				  s->syslog_max);
			return EINVAL;
		}
		s->syslog_max_set = s->syslog_opts_set = true;
		break;
	case ARGP_KEY_ARGS:
		s->command = state->argv + state->next;
		break;
	case OPT_DB:
		s->db_path = arg;
		break;
	case OPT_DB_MAX_AGE:
		if (parse_long(arg, "age in days", 1, 36500, state, &s->db_max_age_days))
			return EINVAL;
		break;
	case OPT_DB_MAX_SIZE:
		if (parse_long(arg, "size in MiB", 1, 1 << 30, state, &s->db_max_size_mib))
			return EINVAL;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char audit_doc[] =
	"Watch the whole machine for files and directories created insecurely in shared "
	"(sticky, world-writable) directories, and print each finding with the secure call to "
	"use instead. Stops on SIGINT/SIGTERM or after --duration, then prints a per-process "
	"summary on standard error.\v"
	"Examples:\n"
	"  tmpguard audit\n"
	"  tmpguard audit --format json --output /var/log/tmpguard.json\n"
	"  tmpguard audit --pid 1234 --duration 60";

static const char run_doc[] =
	"Run COMMAND and report only what it and all its descendants do. Exits with COMMAND's "
	"status (128+N if killed by signal N), or 3 if --fail-on is given and a finding at or "
	"above that severity occurred.\v"
	"Examples:\n"
	"  tmpguard run --fail-on high -- make check\n"
	"  tmpguard run --format json --output findings.json -- ./test.sh";

static int parse_opts(struct session *s, int argc, char **argv, bool run, const char *name,
		      unsigned int flags);

static int parse_args(struct session *s, int argc, char **argv, bool run)
{
	return parse_opts(s, argc, argv, run, run ? "tmpguard run" : "tmpguard audit",
			  ARGP_IN_ORDER);
}

/* name: argp's name in messages; flags: argp's (the daemon's config adds ARGP_NO_EXIT). */
static int parse_opts(struct session *s, int argc, char **argv, bool run, const char *name,
		      unsigned int flags)
{
	struct argp argp = {
		.options = run ? run_options : audit_options,
		.parser = parse_common,
		.args_doc = run ? "-- COMMAND [ARGS...]" : NULL,
		.doc = run ? run_doc : audit_doc,
	};
	int err;

	argv[0] = (char *)name;
	argp_err_exit_status = TG_EXIT_USAGE; /* argp exits on a usage error, 0 on --help */
	s->hooks = -1;
	err = argp_parse(&argp, argc, argv, flags, NULL, s);
	if (err)
		return TG_EXIT_USAGE;
	/* The environment's choice where the options make none (the VM tests force fentry). */
	if (s->hooks < 0 && getenv("TMPGUARD_HOOKS") && *getenv("TMPGUARD_HOOKS")) {
		s->hooks = tg_hooks_parse(getenv("TMPGUARD_HOOKS"));
		if (s->hooks < 0) {
			fprintf(stderr,
				"tmpguard: invalid TMPGUARD_HOOKS '%s': expected auto, fentry or "
				"tracepoint\n",
				getenv("TMPGUARD_HOOKS"));
			return TG_EXIT_USAGE;
		}
	}
	if (s->hooks < 0)
		s->hooks = TG_HOOKS_AUTO;
	if (run && (!s->command || !s->command[0])) {
		fprintf(stderr, "tmpguard run: missing COMMAND (tmpguard run [OPTIONS] -- COMMAND "
				"[ARGS...])\n");
		return TG_EXIT_USAGE;
	}
	if (s->enforce && s->dry_run) {
		fprintf(stderr, "tmpguard: --enforce and --dry-run exclude each other\n");
		return TG_EXIT_USAGE;
	}
	if (s->fallback_kill && !s->enforce) {
		fprintf(stderr, "tmpguard: --enforce-fallback=kill needs --enforce\n");
		return TG_EXIT_USAGE;
	}
	if (!run && s->command && s->command[0]) {
		fprintf(stderr, "tmpguard audit: unexpected argument '%s'\n", s->command[0]);
		return TG_EXIT_USAGE;
	}
	if (s->rotate_bytes && !s->output_path) {
		fprintf(stderr, "tmpguard: --rotate-size needs --output FILE\n");
		return TG_EXIT_USAGE;
	}
	/* Text blocks are for a terminal; rotated files are for tools (and `tmpguard report`). */
	if (s->rotate_bytes && !s->json) {
		fprintf(stderr, "tmpguard: --rotate-size writes JSON lines: give --format json or "
				"falco\n");
		return TG_EXIT_USAGE;
	}
	if (s->rotate_keep && !s->rotate_bytes) {
		fprintf(stderr, "tmpguard: --rotate-keep needs --rotate-size\n");
		return TG_EXIT_USAGE;
	}
	if (s->syslog_opts_set && !s->syslog) {
		fprintf(stderr,
			"tmpguard: --syslog-facility and --syslog-max-size need --syslog\n");
		return TG_EXIT_USAGE;
	}
	return 0;
}

/* ---- policy ---- */

static struct tg_policy *read_policy(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!path)
		return tg_policy_default(err, errlen);
	/* Whoever can write the policy can add exceptions: say so when that is not root. */
	if (stat(path, &st) == 0 && ((st.st_mode & 022) || st.st_uid != 0))
		fprintf(stderr,
			"tmpguard: WARNING: the policy file is writable by %s: whoever can write "
			"it "
			"can hide findings (chown root and chmod go-w it)\n",
			(st.st_mode & 022) ? "group or others" : "a user other than root");
	return tg_policy_load(path, err, errlen);
}

/* Rule settings from the policy, --all-rules on top. */
static void policy_rules(const struct session *s, const struct tg_policy *p,
			 struct tg_rules_config *rc)
{
	tg_policy_rules_config(p, rc);
	if (s->all_rules)
		rc->enabled[TG_RULE_INHERITABLE_FD] = true;
}

/*
 * Makes pol the policy in force: classifier settings, the programs' settings, kernel-decided
 * exceptions and extra shared directories. Takes ownership of pol. On failure the previous
 * policy stays in force (the kernel maps may then hold the new one's exceptions: user space
 * still applies the old policy to everything they let through) and -errno is returned.
 */
/* The kernel's part of a policy: its exceptions and extra shared directories. */
static int kernel_install(struct tg_bpf *b, const struct tg_policy_kernel *pk)
{
	return tg_bpf_set_policy(b, pk->keys, pk->n, pk->combos, pk->dirs, pk->n_dirs);
}

static int policy_install(struct session *s, struct tg_policy *pol)
{
	struct tg_policy_kernel pk;
	uint64_t *hits = calloc(pol->n_exceptions + 1, sizeof(*hits));
	struct tg_rules_config rc;
	int err;

	if (!hits) {
		tg_policy_free(pol);
		return -ENOMEM;
	}
	err = tg_policy_kernel_build(pol, &pk, stderr);
	if (err) {
		free(hits);
		tg_policy_free(pol);
		return err;
	}
	policy_rules(s, pol, &rc);
	if (s->bpf) {
		/* All or nothing: a refused install leaves the policy in force untouched. */
		err = kernel_install(s->bpf, &pk);
		if (err) {
			free(hits);
			tg_policy_kernel_free(&pk);
			tg_policy_free(pol);
			return err;
		}
		tg_bpf_set_settings(s->bpf, rc.file_loose_mask, rc.dir_loose_mask,
				    rc.enabled[TG_RULE_INHERITABLE_FD], rc.probe_window_ns);
	}
	if (s->pol) {
		for (size_t i = 0; i < s->pol->n_exceptions; i++) {
			s->exc_retired += s->exc_user_hits[i];
			s->exc_user_retired += s->exc_user_hits[i];
		}
		tg_policy_kernel_free(&s->pk);
		tg_policy_free(s->pol);
		free(s->exc_user_hits);
	}
	s->pol = pol;
	s->pk = pk;
	s->exc_user_hits = hits;
	tg_pipeline_set_policy(&s->pl, pol, &rc, s->pk.dirs, s->pk.n_dirs, hits);
	return 0;
}

/* The policy's deny/kill rules, in the kernel, in the mode chosen at start-up. */
static void apply_enforcement(struct session *s)
{
	uint32_t deny = 0, kill = 0;

	for (int r = 0; r < TG_RULE_MAX; r++) {
		if (!s->pol->rules[r].enabled)
			continue;
		if (s->pol->rules[r].action != TG_ACTION_ALERT)
			deny |= 1u << r;
		if (s->pol->rules[r].action == TG_ACTION_KILL)
			kill |= 1u << r;
	}
	/* Without the LSM there is nothing to deny with: every enforced rule kills. */
	if (s->enforce_mode == TG_ENFORCE_KILL_FALLBACK)
		kill = deny;
	tg_bpf_set_enforce(s->bpf, deny, kill);
}

/* SIGHUP: read the file again; a policy that does not load leaves the old one in force. */
static void policy_reload(struct session *s)
{
	uint64_t *khits;
	struct tg_policy *pol;
	char err[1024];
	int e;

	reload_requested = 0;
	pol = read_policy(s->policy_path, err, sizeof(err));
	if (!pol) {
		s->reload_failures++;
		fprintf(stderr, "tmpguard: policy reload refused, keeping %s: %s\n", s->pol->source,
			err);
		return;
	}
	/* The kernel's counters are zeroed with the new exceptions: bank them first. */
	khits = kexc_hits(s);
	for (size_t i = 0; khits && i < s->pol->n_exceptions; i++)
		s->exc_retired += khits[i];
	e = policy_install(s, pol);
	if (e) {
		/* The old exceptions are still in force: their hits are theirs, not retired. */
		for (size_t i = 0; khits && i < s->pol->n_exceptions; i++)
			s->exc_retired -= khits[i];
		free(khits);
		s->reload_failures++;
		fprintf(stderr, "tmpguard: policy reload refused, keeping %s: %s\n", s->pol->source,
			strerror(-e));
		return;
	}
	free(khits);
	s->reloads++;
	apply_enforcement(s);
	fprintf(stderr, "tmpguard: policy reloaded from %s (%zu exceptions, %zu in the kernel)\n",
		s->pol->source, s->pol->n_exceptions, s->pk.n);
}

/* Says at start-up what will be enforced, and how, or why not. */
static void announce_enforcement(const struct session *s)
{
	static const char *const how[] = {
		[TG_ENFORCE_LSM] = "denied by the BPF LSM (EACCES, before anything is written)",
		[TG_ENFORCE_DRY_RUN] = "dry run: reported as would-deny, nothing is refused",
		[TG_ENFORCE_KILL_FALLBACK] = "killed with SIGKILL from the exit tracepoint, after "
					     "the file exists",
	};
	int n = 0;

	for (int r = 0; r < TG_RULE_MAX; r++) {
		enum tg_action a = s->pol->rules[r].action;

		if (a == TG_ACTION_ALERT || !s->pol->rules[r].enabled)
			continue;
		n++;
		if (s->enforce_mode == TG_ENFORCE_OFF)
			fprintf(stderr,
				"tmpguard: note: the policy asks '%s' for %s; without --enforce it "
				"is reported as an alert\n",
				tg_action_name(a), tg_rule_id(r));
		else
			fprintf(stderr, "tmpguard: enforcing %s for %s: %s%s\n", tg_action_name(a),
				tg_rule_id(r), how[s->enforce_mode],
				s->scoped ? " (this process tree only)" : "");
	}
	if (n == 0 && s->enforce_mode != TG_ENFORCE_OFF)
		fprintf(stderr,
			"tmpguard: WARNING: --%s given, but the policy has no rule with "
			"action deny or kill: nothing will be enforced\n",
			s->enforce ? "enforce" : "dry-run");
}

/* ---- metrics ---- */

_Static_assert(sizeof(((struct tg_metrics_user *)0)->findings) ==
		       sizeof(((struct tg_pipeline *)0)->findings_by),
	       "the pipeline counts findings as the metrics export them");

/* The user-space counters, for the endpoint's next scrape: called once per poll. */
static void metrics_sync(struct session *s)
{
	struct tg_metrics_user u = {
		.version = TG_VERSION,
		.enforcement = enforcement_name(s->enforce_mode),
		.scope = s->scoped ? "process-tree" : "host",
		.start_time_ns = s->started_ns,
		.ringbuf_bytes = s->ringbuf_bytes,
		.run_time_stats_held = s->bpf_stats_fd > 0,
		.findings_excepted = s->exc_user_retired,
		.repeats_not_printed = s->pl.suppressed,
		.over_budget = tg_budget_total(s->pl.budget),
		.received = s->pl.received,
		.unresolved = s->pl.unresolved,
		.malformed = s->pl.decode_errors,
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
	memcpy(u.findings, s->pl.findings_by, sizeof(u.findings));
	tg_metrics_update(s->metrics, &u);
}

/* Before the BPF load, so that either failure stops tmpguard at once: --bpf-stats, and the
 * endpoint's socket. */
static int metrics_open(struct session *s)
{
	char err[512];

	if (s->bpf_stats) {
		s->bpf_stats_fd = tg_bpf_run_stats_enable(err, sizeof(err));
		if (s->bpf_stats_fd < 0) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return 1;
		}
	}
	if (s->metrics_addr_text) {
		s->metrics =
			tg_metrics_listen(&s->metrics_addr, s->metrics_addr_text, err, sizeof(err));
		if (!s->metrics) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return 1;
		}
	}
	return 0;
}

/* Once the programs are attached: serve them and the counters. */
static int metrics_serve(struct session *s)
{
	char err[512];

	if (!s->metrics)
		return 0;
	metrics_sync(s);
	if (tg_metrics_serve(s->metrics, s->bpf, err, sizeof(err))) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return 1;
	}
	fprintf(stderr, "tmpguard: serving metrics on http://%s/metrics\n", s->metrics_addr_text);
	return 0;
}

/* ---- common start-up ---- */

static int session_start(struct session *s, bool scoped)
{
	struct tg_loader_opts lo = {
		.verbose = s->verbose,
		.filter_tracked = scoped,
		.ringbuf_bytes = s->ringbuf_bytes,
	};
	struct tg_policy *pol;
	char err[1024];
	bool lsm_refused = false;
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
	pol = read_policy(s->policy_path, err, sizeof(err));
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
	/* Opened before the programs attach: a file is created 0600 with O_EXCL, never through
	 * a symlink, in a directory only root or this user can rename files in (sink.h). */
	s->sinks = tg_sinks_open(
		&(struct tg_sink_opts){
			.format = s->format,
			.path = s->output_path,
			.rotate_bytes = s->rotate_bytes,
			.rotate_keep = s->rotate_keep ? s->rotate_keep : TG_ROTATE_KEEP_DEFAULT,
			.syslog = s->syslog,
			.syslog_facility = s->syslog_facility > 0 ? s->syslog_facility : LOG_DAEMON,
			.syslog_max =
				s->syslog_max_set ? (size_t)s->syslog_max : TG_SYSLOG_MAX_DEFAULT,
			.diag = stderr,
		},
		err, sizeof(err));
	if (!s->sinks) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
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

	if ((s->db_max_age_days || s->db_max_size_mib) && !s->db_path) {
		fprintf(stderr, "tmpguard: --db-max-age and --db-max-size need --db FILE\n");
		return TG_EXIT_USAGE;
	}
	if (s->db_path) {
		/* Opened, checked and trimmed before the programs attach, like --output. */
		struct tg_store_opts so = {
			.max_age_ns =
				(s->db_max_age_days ? s->db_max_age_days : TG_STORE_MAX_AGE_DAYS) *
				86400LL * 1000000000LL,
			.max_bytes = (int64_t)(s->db_max_size_mib ? s->db_max_size_mib
								  : TG_STORE_MAX_SIZE_MIB)
				     << 20,
			.log = stderr,
		};

		s->store = tg_store_open(s->db_path, &so, event_now(s), err, sizeof(err));
		if (!s->store) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	}

	lo.lsm = s->enforce || s->dry_run;
	lo.enforce = s->enforce ? TG_ENFORCE_LSM : s->dry_run ? TG_ENFORCE_DRY_RUN : TG_ENFORCE_OFF;
	lo.enforce_tracked = scoped;
	lo.hooks = s->hooks;
	s->scoped = scoped;
	s->bpf = tg_bpf_start(&lo, handle_record, s, err, sizeof(err), &lsm_refused);
	if (!s->bpf && lsm_refused && s->fallback_kill) {
		fprintf(stderr,
			"tmpguard: %s\ntmpguard: falling back to killing offenders "
			"(--enforce-fallback=kill): the file exists before the process is killed\n",
			err);
		lo.lsm = false;
		lo.enforce = TG_ENFORCE_KILL_FALLBACK;
		s->bpf = tg_bpf_start(&lo, handle_record, s, err, sizeof(err), NULL);
		s->enforce_mode = TG_ENFORCE_KILL_FALLBACK;
	} else if (s->bpf && (s->enforce || s->dry_run)) {
		s->enforce_mode = s->enforce ? TG_ENFORCE_LSM : TG_ENFORCE_DRY_RUN;
	}
	if (s->bpf && s->verbose && *tg_bpf_hooks_fallback(s->bpf))
		fprintf(stderr, "tmpguard: --hooks auto: %s: using syscall tracepoints\n",
			tg_bpf_hooks_fallback(s->bpf));
	if (!s->bpf) {
		fprintf(stderr, "tmpguard: %s\n", err);
		if (lsm_refused)
			fprintf(stderr, "tmpguard: refusing to start in %s mode without BPF LSM\n",
				s->enforce ? "enforce" : "dry-run");
		return 1;
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
			s->db_path, (unsigned long long)st->findings,
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

/* ---- audit and daemon ---- */

struct daemon {
	const char *config_path;
	struct tg_daemon_config cfg; /* the configuration in force: the session points into it */
	struct tg_daemon_config
		*retired; /* earlier ones, kept for pointers the session still holds */
	size_t n_retired;
};

/* systemd's readiness protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET, if set. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		fprintf(stderr, "tmpguard: cannot notify the service manager: %s\n",
			strerror(errno));
	close(fd);
}

/* The config file's keys: audit's long options, so every audit option is one. */
static size_t config_keys(struct tg_config_key *keys, size_t max)
{
	size_t n = 0;

	for (const struct argp_option *o = audit_options; o->name || o->key; o++)
		if (o->name && n < max)
			keys[n++] = (struct tg_config_key){.name = o->name, .takes_arg = o->arg};
	return n;
}

/* Loads path into cfg and parses it into s as audit's options would be. Returns 0, or 2 with
 * the problem said on stderr. */
static int daemon_config(const char *path, struct tg_daemon_config *cfg, struct session *s)
{
	struct tg_config_key keys[64];
	size_t nkeys = config_keys(keys, 64);
	char err[2048];
	struct stat st;

	if (tg_config_load(path, keys, nkeys, cfg, err, sizeof(err))) {
		fprintf(stderr, "tmpguard daemon: %s\n", err);
		if (errno == ENOENT && access(path, F_OK))
			fprintf(stderr, "tmpguard daemon: install one (an example is "
					"packaging/tmpguard.yaml) or pass --config FILE\n");
		return TG_EXIT_USAGE;
	}
	/* Whoever can write the configuration can turn auditing off: say so when not root. */
	if (stat(path, &st) == 0 && ((st.st_mode & 022) || st.st_uid != 0))
		fprintf(stderr,
			"tmpguard: WARNING: the configuration %s is writable by %s: whoever can "
			"write it can turn auditing off (chown root and chmod go-w it)\n",
			path, (st.st_mode & 022) ? "group or others" : "a user other than root");
	s->config_name = path;
	if (parse_opts(s, cfg->argc, cfg->argv, false, "tmpguard daemon",
		       ARGP_IN_ORDER | ARGP_NO_EXIT | ARGP_NO_HELP)) {
		cfg->argv[0] = NULL;
		return TG_EXIT_USAGE;
	}
	cfg->argv[0] = NULL; /* argp's name: not ours to free */
	return 0;
}

/* Whether key's line differs between two configurations' "key: value" texts. */
static bool config_line_changed(const char *a, const char *b, const char *key)
{
	char pat[96];
	const char *x, *y;
	size_t lx, ly;

	snprintf(pat, sizeof(pat), "\n%s: ", key);
	x = !strncmp(a, pat + 1, strlen(pat) - 1) ? a : strstr(a, pat);
	y = !strncmp(b, pat + 1, strlen(pat) - 1) ? b : strstr(b, pat);
	if (!x || !y)
		return !x != !y;
	x += *x == '\n';
	y += *y == '\n';
	lx = strcspn(x, "\n");
	ly = strcspn(y, "\n");
	return lx != ly || memcmp(x, y, lx);
}

/*
 * SIGHUP under the daemon: read the configuration again, then the policy it names. The
 * policy (and a new policy path) applies at once; other changes need a restart, and the log
 * says which. A configuration that does not load leaves everything as it was.
 */
static void daemon_reload(struct session *s, struct daemon *d)
{
	struct session tmp = {.fail_on = -1, .ringbuf_bytes = TG_RINGBUF_DEFAULT};
	struct tg_config_key keys[64];
	size_t nkeys = config_keys(keys, 64);
	struct tg_daemon_config cfg, *r;
	char changed[512] = "";

	notify("RELOADING=1");
	reload_requested = 0;
	if (daemon_config(d->config_path, &cfg, &tmp)) {
		s->reload_failures++;
		fprintf(stderr,
			"tmpguard: configuration reload refused, keeping the one in force\n");
		notify("READY=1");
		return;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (!strcmp(keys[i].name, "policy") ||
		    !config_line_changed(d->cfg.text, cfg.text, keys[i].name))
			continue;
		if (strlen(changed) + strlen(keys[i].name) + 3 < sizeof(changed))
			snprintf(changed + strlen(changed), sizeof(changed) - strlen(changed),
				 "%s%s", changed[0] ? ", " : "", keys[i].name);
	}
	if (changed[0])
		fprintf(stderr,
			"tmpguard: configuration changes to %s take effect at the next restart\n",
			changed);
	/* The session keeps pointers into the configuration it was started with. */
	r = realloc(d->retired, (d->n_retired + 1) * sizeof(*r));
	if (!r) {
		tg_config_free(&cfg);
		s->reload_failures++;
		notify("READY=1");
		return;
	}
	d->retired = r;
	d->retired[d->n_retired++] = d->cfg;
	d->cfg = cfg;
	s->policy_path = tmp.policy_path;
	policy_reload(s);
	notify("READY=1");
}

static int audit_loop(struct session *s, struct daemon *d);

static const char daemon_doc[] =
	"Audit the whole machine as a service: the options come from a YAML configuration file "
	"whose keys are `tmpguard audit`'s long options (format: json, output: FILE, policy: "
	"FILE, ...; true/false for options without a value). SIGHUP reloads the configuration "
	"and the policy; SIGTERM drains the ring buffer, writes the summary and exits 0. Under "
	"systemd (Type=notify) readiness is reported once the programs are attached.\v"
	"Examples:\n"
	"  tmpguard daemon --config /etc/tmpguard/tmpguard.yaml\n"
	"  tmpguard daemon --config packaging/tmpguard.yaml --check";

struct daemon_args {
	const char *config;
	bool check;
};

static error_t parse_daemon(int key, char *arg, struct argp_state *state)
{
	struct daemon_args *a = state->input;

	switch (key) {
	case 'c':
		a->config = arg;
		break;
	case 'k':
		a->check = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{"config", 'c', "FILE", 0, "configuration file (/etc/tmpguard/tmpguard.yaml)", 0},
		{"check", 'k', NULL, 0, "check the configuration and its policy, print them, exit",
		 0},
		{},
	};
	struct argp argp = {.options = opts, .parser = parse_daemon, .doc = daemon_doc};
	struct daemon_args a = {.config = "/etc/tmpguard/tmpguard.yaml"};
	struct session s = {.fail_on = -1, .ringbuf_bytes = TG_RINGBUF_DEFAULT};
	struct daemon d = {0};
	int err;

	argv[0] = "tmpguard daemon";
	argp_err_exit_status = TG_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;
	d.config_path = a.config;
	err = daemon_config(a.config, &d.cfg, &s);
	if (!err && a.check) {
		struct tg_policy *pol;
		char perr[1024];

		pol = read_policy(s.policy_path, perr, sizeof(perr));
		if (!pol) {
			fprintf(stderr, "tmpguard daemon: %s\n", perr);
			err = TG_EXIT_USAGE;
		} else {
			printf("# %s: valid\n%s# policy %s: valid, %zu exceptions\n", a.config,
			       d.cfg.text, pol->source, pol->n_exceptions);
			tg_policy_free(pol);
		}
	} else if (!err) {
		err = audit_loop(&s, &d);
	}
	tg_config_free(&d.cfg);
	for (size_t i = 0; i < d.n_retired; i++)
		tg_config_free(&d.retired[i]);
	free(d.retired);
	return err;
}

static int audit_loop(struct session *s, struct daemon *d);

int cmd_audit(int argc, char **argv)
{
	struct session s = {.fail_on = -1, .ringbuf_bytes = TG_RINGBUF_DEFAULT};
	int err;

	err = parse_args(&s, argc, argv, false);
	if (err)
		return err;
	return audit_loop(&s, NULL);
}

static int audit_loop(struct session *s, struct daemon *d)
{
	int64_t deadline = 0;
	int err;

	s->canary_dirfd = -1;
	if (s->pid && kill(s->pid, 0) && errno == ESRCH) {
		fprintf(stderr, "tmpguard audit: no process with pid %d\n", s->pid);
		return TG_EXIT_USAGE;
	}
	install_signals();
	err = session_start(s, s->pid != 0);
	if (err)
		goto out;
	if (s->pid && (err = tg_bpf_track(s->bpf, s->pid))) {
		fprintf(stderr, "tmpguard: cannot track pid %d: %s\n", s->pid, strerror(-err));
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
		s->pid ? ", scoped to one process tree" : "",
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
		notify("READY=1\nSTATUS=auditing");
	if (s->duration_s)
		deadline = clock_ns(CLOCK_MONOTONIC) + s->duration_s * 1000000000LL;
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
		if (reload_requested) {
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
		notify("STOPPING=1\nSTATUS=draining and writing the summary");
	session_end(s);
	return err;
}

int cmd_run(int argc, char **argv)
{
	struct session s = {.fail_on = -1, .ringbuf_bytes = TG_RINGBUF_DEFAULT};
	int go[2] = {-1, -1}, status = 0, err;
	pid_t child = -1;

	err = parse_args(&s, argc, argv, true);
	if (err)
		return err;
	install_signals();
	err = session_start(&s, true);
	if (err)
		goto out;

	/* The child waits until it is in the tracked set, then execs COMMAND: nothing it does
	 * escapes the scope, not even its first open. */
	if (pipe2(go, O_CLOEXEC)) {
		fprintf(stderr, "tmpguard: pipe: %s\n", strerror(errno));
		err = 1;
		goto out;
	}
	child = fork();
	if (child < 0) {
		fprintf(stderr, "tmpguard: fork: %s\n", strerror(errno));
		err = 1;
		goto out;
	}
	if (child == 0) {
		char c;

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(s.command[0], s.command);
		fprintf(stderr, "tmpguard: cannot run %s: %s\n", s.command[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(go[0]);
	go[0] = -1;
	err = tg_bpf_track(s.bpf, child);
	if (err) {
		fprintf(stderr, "tmpguard: cannot track pid %d: %s\n", child, strerror(-err));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		err = 1;
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		fprintf(stderr, "tmpguard: cannot start %s: %s\n", s.command[0], strerror(errno));
		err = 1;
		goto out;
	}
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
		err = tg_bpf_poll(s.bpf, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "tmpguard: polling the ring buffer: %s\n", strerror(-err));
			break;
		}
		check_loss(&s);
		metrics_sync(&s);
		store_tick(&s);
		if (reload_requested)
			policy_reload(&s);
	}
	/* COMMAND has exited: every record it produced is already in the ring buffer, and
	 * session_end() drains it before the summary. */
	if (WIFEXITED(status))
		err = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		err = 128 + WTERMSIG(status);
	else
		err = 1;
out:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	session_end(&s);
	if (s.fail_on >= 0 && s.pl.worst >= s.fail_on) {
		fprintf(stderr, "tmpguard: failing: a %s finding occurred (--fail-on %s)\n",
			tg_severity_name(s.pl.worst), tg_severity_name(s.fail_on));
		return TG_EXIT_FAILON;
	}
	return err;
}
