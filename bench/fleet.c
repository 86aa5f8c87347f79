// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_fleet: the fleet benchmark's driver (bench/fleet.py runs it; bench/README.md, "The
 * fleet store"). Three commands, each through tmpguard's own code:
 *
 *   gen      replays the findings of a recorded store (a real `tmpguard run --db`) as many
 *            simulated hosts: each host's rows go into its own local store with tmpguard's
 *            store writer (store.h), typed records and their JSON, its host, host id, session,
 *            times (spread over DAYS up to END) and path suffixes rewritten; the same rows go
 *            into one SQLite store that holds them all, for the SQLite side of the queries.
 *   forward  forwards the hosts' stores to PostgreSQL with tmpguard's forwarder (forward.h),
 *            K forwarders at a time, as K hosts of a fleet would; prints rows committed, wall
 *            time and this process's CPU as one JSON line.
 *   query    the investigation queries, PostgreSQL (libpq) and SQLite (the combined store)
 *            side by side with the same parameters; prints every sample as JSON lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <libpq-fe.h>
#include <json-c/json.h>
#include "finding.h"
#include "forward.h"
#include "record.h"
#include "store.h"
#include "util/timefmt.h"

#define DAY_NS (86400LL * 1000000000LL)

/* One recorded finding: its typed fields and its JSON, rewritten for each replayed row. */
struct tmpl {
	json_object *json;
	int rule, sev;
	uint32_t action;
	int64_t uid, pid, ppid;
	char exe[TG_EXE_LEN], comm[TG_COMM_LEN];
	char dir[256], stem[64], ext[16];
};

struct opts {
	const char *rec, *dir, *url, *sqlite;
	int hosts, stage, stages, concurrency, group, groups, reps;
	long long rows;
	int64_t end_ns, days;
	unsigned seed;
};

static struct tmpl *tmpls;
static int n_tmpls;
static json_object *session_tmpl;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_fleet: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* A recorded path as directory, stem (the name up to its first '-' or digit) and extension:
 * "/tmp/build-9704-1.o" is "/tmp", "build", ".o". */
static void split_path(struct tmpl *t, const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL, *base, *dot;
	size_t stem;

	if (!path)
		die("a recorded finding without a path");
	base = slash ? slash + 1 : path;
	stem = strcspn(base, "-0123456789");

	snprintf(t->dir, sizeof(t->dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	snprintf(t->stem, sizeof(t->stem), "%.*s", (int)(stem ? stem : 1), base);
	dot = strrchr(base, '.');
	t->ext[0] = 0;
	if (dot && (size_t)(dot - base) > stem && strlen(dot) < sizeof(t->ext))
		snprintf(t->ext, sizeof(t->ext), "%s", dot);
}

static uint32_t action_of(const char *name)
{
	for (uint32_t a = 0; a < TG_ACT_MAX; a++)
		if (!strcmp(tg_action_taken_name(a), name))
			return a;
	die("unknown action %s in the recorded store", name);
}

/* The recorded store's findings and its first session record. */
static void load_recorded(const char *path)
{
	char err[512];
	sqlite3 *db = tg_store_open_read(path, err, sizeof(err));
	sqlite3_stmt *s;

	if (!db)
		die("%s", err);
	if (sqlite3_prepare_v2(
		    db,
		    "SELECT rule, severity, action, uid, pid, ppid, exe, comm, path, json "
		    "FROM findings ORDER BY id",
		    -1, &s, NULL) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct tmpl *t;

		tmpls = realloc(tmpls, (n_tmpls + 1) * sizeof(*tmpls));
		if (!tmpls)
			die("out of memory");
		t = &tmpls[n_tmpls++];
		memset(t, 0, sizeof(*t));
		t->rule = tg_rule_parse((const char *)sqlite3_column_text(s, 0));
		t->sev = tg_severity_parse((const char *)sqlite3_column_text(s, 1));
		t->action = action_of((const char *)sqlite3_column_text(s, 2));
		t->uid = sqlite3_column_int64(s, 3);
		t->pid = sqlite3_column_int64(s, 4);
		t->ppid = sqlite3_column_int64(s, 5);
		snprintf(t->exe, sizeof(t->exe), "%s", sqlite3_column_text(s, 6));
		snprintf(t->comm, sizeof(t->comm), "%s", sqlite3_column_text(s, 7));
		split_path(t, (const char *)sqlite3_column_text(s, 8));
		t->json = json_tokener_parse((const char *)sqlite3_column_text(s, 9));
		if (t->rule < 0 || t->sev < 0 || !t->json)
			die("%s: a finding this tmpguard cannot read back", path);
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT json FROM sessions ORDER BY id LIMIT 1", -1, &s, NULL) ||
	    sqlite3_step(s) != SQLITE_ROW)
		die("%s: no session record", path);
	session_tmpl = json_tokener_parse((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (!n_tmpls || !session_tmpl)
		die("%s holds no findings to replay", path);
}

/* A random number of up to 62 bits. */
static int64_t rnd64(unsigned *rnd)
{
	return ((int64_t)rand_r(rnd) << 31) | rand_r(rnd);
}

static void host_names(int h, char *host, size_t hl, char *host_id, size_t il)
{
	snprintf(host, hl, "bench-h%04d", h);
	/* a machine id's shape: 32 hex digits, distinct per host */
	snprintf(host_id, il, "%s:%08x%08x%08x%08x", host, 0xb0000000u + h,
		 (unsigned)h * 2654435761u, 0x5eed0000u + h, 0xf1ee7u);
}

static void set_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static void set_time(json_object *o, const char *key, int64_t ns)
{
	char buf[64];

	tg_format_time(ns, buf, sizeof(buf));
	set_str(o, key, buf);
}

static struct tg_store *open_store(const char *path, unsigned batch)
{
	struct tg_store_opts so = {.batch_rows = batch}; /* silent: notes of unclean sessions */
	char err[512];
	struct tg_store *st =
		tg_store_open(path, &so, tg_clock_ns(CLOCK_REALTIME), err, sizeof(err));

	if (!st)
		die("%s", err);
	return st;
}

/* The session record of host h's run in this stage: the recorded one, renamed. */
static void begin_session(struct tg_store *const *st, int n, int h, int64_t t0, char *host,
			  char *host_id)
{
	struct tg_session_info si = {.time_ns = t0,
				     .host = host,
				     .host_id = host_id,
				     .version = "0.1.0",
				     .pid = 1000 + h,
				     .scope = "host",
				     .enforcement = "off",
				     .policy = "default",
				     .n_hooks = 20};
	struct tg_record rec = {.kind = TG_RECORD_SESSION, .session = &si, .json = session_tmpl};

	set_time(session_tmpl, "time", t0);
	set_str(session_tmpl, "host", host);
	set_str(session_tmpl, "host_id", host_id);
	json_object_object_add(session_tmpl, "pid", json_object_new_int64(si.pid));
	for (int i = 0; i < n; i++)
		if (tg_store_begin(st[i], &rec))
			die("cannot begin a session");
}

/* One replayed finding of template t at time t_ns, into every store of st. */
static void put_finding(struct tg_store *const *st, int n, const struct tmpl *t, int64_t t_ns,
			const char *host, unsigned *rnd, struct tg_event *e, struct tg_proc_info *p)
{
	struct tg_report r = {.e = e, .proc = p, .host = host, .action = t->action, .count = 1};
	struct tg_record rec = {.kind = TG_RECORD_FINDING, .finding = &r, .json = t->json};
	json_object *proc;
	char name[128];

	r.finding.rule = t->rule;
	r.finding.severity = t->sev;
	e->ts_ns = (uint64_t)t_ns; /* boot_to_real_ns 0: the event's time is t_ns */
	e->pid = (uint32_t)(t->pid + rand_r(rnd) % 20000);
	e->ppid = (uint32_t)t->ppid;
	e->uid = (uint32_t)t->uid;
	snprintf(e->comm, sizeof(e->comm), "%s", t->comm);
	snprintf(p->exe, sizeof(p->exe), "%s", t->exe);
	snprintf(name, sizeof(name), "%s-%06x%s", t->stem, (unsigned)rand_r(rnd) & 0xffffff,
		 t->ext);
	snprintf(e->path, sizeof(e->path), "%s/%s", t->dir, name);
	set_time(t->json, "time", t_ns);
	set_str(t->json, "host", host);
	set_str(t->json, "path", e->path);
	set_str(t->json, "resolved_name", name);
	if (json_object_object_get_ex(t->json, "proc", &proc))
		json_object_object_add(proc, "pid", json_object_new_int64(e->pid));
	for (int i = 0; i < n; i++)
		if (tg_store_record(st[i], &rec))
			die("cannot store a finding");
}

/* Host h's rows of this stage, in time order, spread over the days before end; the stages'
 * rows interleave, so that every stage covers every day. */
static void gen_host(const struct opts *o, int h, long long rows)
{
	static struct tg_event e;
	static struct tg_proc_info p;
	char path[4096], host[64], host_id[128];
	int64_t span = o->days * DAY_NS, start = o->end_ns - span, step = span / rows;
	int64_t slot = step / o->stages > 0 ? step / o->stages : 1;
	unsigned rnd = o->seed * 7919u + (unsigned)h * 104729u + (unsigned)o->stage * 31u;
	struct tg_store *st;

	snprintf(path, sizeof(path), "%s/h%04d.db", o->dir, h);
	host_names(h, host, sizeof(host), host_id, sizeof(host_id));
	st = open_store(path, 5000);
	begin_session(&st, 1, h, start + o->stage * slot, host, host_id);
	for (long long n = 0; n < rows; n++) {
		int64_t t = start + n * step + o->stage * slot + rnd64(&rnd) % slot;

		put_finding(&st, 1, &tmpls[rand_r(&rnd) % n_tmpls], t, host, &rnd, &e, &p);
	}
	if (tg_store_commit(st))
		die("cannot commit %s", path);
	tg_store_close(st);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("SQLite: %s: %s", msg ? msg : "?", sql);
	sqlite3_free(msg);
}

/* The rows of the hosts' sessions that the combined store lacks, copied into it as they are
 * (every column; only the session ids are the combined store's). */
static void merge_hosts(const struct opts *o)
{
	char path[4096], *sql;
	sqlite3 *db;

	tg_store_close(open_store(o->sqlite, 0)); /* a tmpguard store: its schema */
	if (sqlite3_open(o->sqlite, &db) != SQLITE_OK)
		die("cannot open %s", o->sqlite);
	exec_sql(db, "PRAGMA cache_size = -1000000; PRAGMA synchronous = OFF");
	for (int h = 0; h < o->hosts; h++) {
		snprintf(path, sizeof(path), "%s/h%04d.db", o->dir, h);
		sql = sqlite3_mprintf("ATTACH %Q AS src", path);
		exec_sql(db, sql);
		sqlite3_free(sql);
		exec_sql(
			db,
			"BEGIN;"
			"CREATE TEMP TABLE nk AS SELECT key FROM src.sessions WHERE key NOT IN "
			"(SELECT key FROM main.sessions);"
			"INSERT INTO main.sessions(host, started_ns, ended_ns, last_commit_ns, "
			"clean, "
			"json, summary, host_id, key, rev) SELECT host, started_ns, ended_ns, "
			"last_commit_ns, clean, json, summary, host_id, key, rev FROM src.sessions "
			"WHERE key IN (SELECT key FROM nk);"
			"INSERT INTO main.findings(session, time_ns, host, rule, severity, "
			"severity_level, action, pid, ppid, uid, exe, comm, path, container_id, "
			"json) "
			"SELECT m.id, f.time_ns, f.host, f.rule, f.severity, f.severity_level, "
			"f.action, f.pid, f.ppid, f.uid, f.exe, f.comm, f.path, f.container_id, "
			"f.json "
			"FROM src.findings f JOIN src.sessions s ON s.id = f.session JOIN "
			"main.sessions m ON m.key = s.key WHERE s.key IN (SELECT key FROM nk) "
			"ORDER BY "
			"f.id;"
			"DROP TABLE nk; COMMIT; DETACH src");
	}
	sqlite3_close(db);
}

static void cmd_gen(const struct opts *o)
{
	int64_t t0 = tg_clock_ns(CLOCK_MONOTONIC), t1;

	if (!o->rec || !o->dir || o->hosts <= 0 || o->rows < o->hosts || o->end_ns <= 0)
		die("gen needs --rec, --dir, --hosts, --rows (at least one a host) and --end");
	load_recorded(o->rec);
	for (int h = 0; h < o->hosts; h++)
		gen_host(o, h, o->rows / o->hosts + (h < o->rows % o->hosts));
	t1 = tg_clock_ns(CLOCK_MONOTONIC);
	if (o->sqlite)
		merge_hosts(o);
	printf("{\"generated\": %lld, \"hosts\": %d, \"templates\": %d, \"seconds\": %.3f, "
	       "\"merge_seconds\": %.3f}\n",
	       o->rows, o->hosts, n_tmpls, (t1 - t0) / 1e9,
	       (tg_clock_ns(CLOCK_MONOTONIC) - t1) / 1e9);
}

/* ---- forward ---- */

struct fhost {
	char path[4096];
	int64_t hwm[TG_FWD_NSTREAMS], max_id, max_rev;
	struct tg_forward *f;
};

static int64_t query_max(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Where the target stands in each host's store (its marks, kept by the store as a session
 * keeps them), and how far it must get. With done, the marks reached are written back. */
static void host_marks(struct fhost *fh, const char *target, bool done)
{
	struct tg_store *st = open_store(fh->path, 0);

	if (done) {
		if (tg_store_forwarded(st, target, fh->hwm) || tg_store_commit(st))
			die("cannot record the marks in %s", fh->path);
	} else {
		if (tg_store_forward_target(st, target, fh->hwm))
			die("cannot read the marks in %s", fh->path);
		fh->max_id =
			query_max(tg_store_db(st), "SELECT COALESCE(max(id), 0) FROM findings");
		fh->max_rev =
			query_max(tg_store_db(st), "SELECT COALESCE(max(rev), 0) FROM sessions");
	}
	tg_store_close(st);
}

static struct tg_forward *start_host(const struct opts *o, const char *target, struct fhost *fh)
{
	struct tg_forward_opts fo = {.db_path = fh->path,
				     .url = o->url,
				     .target = target,
				     .version = "bench",
				     .log = stderr};
	const char *batch = getenv("TG_BENCH_BATCH_ROWS"); /* fleet.py --batch-rows */
	char err[1024];
	struct tg_forward *f;

	if (batch && *batch)
		fo.batch_rows = (unsigned)strtoul(batch, NULL, 10);
	memcpy(fo.hwm, fh->hwm, sizeof(fo.hwm));
	f = tg_forward_start(&fo, err, sizeof(err));
	if (!f)
		die("%s", err);
	return f;
}

static double cpu_s(const struct timeval *tv)
{
	return tv->tv_sec + tv->tv_usec / 1e6;
}

/* Runs the hosts' forwarders, at most o->concurrency at once, until each has committed its
 * store's rows. */
static void run_forwarders(const struct opts *o, const char *target, struct fhost *hs, int n,
			   struct tg_forward_stats *sum)
{
	int next = 0, running = 0;

	while (next < n || running) {
		running = 0;
		for (int i = 0; i < n; i++) {
			struct tg_forward_stats st;

			if (!hs[i].f)
				continue;
			tg_forward_stats(hs[i].f, &st);
			if (st.hwm[TG_FWD_FINDINGS] < hs[i].max_id ||
			    st.hwm[TG_FWD_SESSIONS] < hs[i].max_rev) {
				running++;
				continue;
			}
			if (tg_forward_stop(hs[i].f, 5 * 1000000000LL, &st))
				die("the forwarder of %s left rows unsent", hs[i].path);
			hs[i].f = NULL;
			memcpy(hs[i].hwm, st.hwm, sizeof(st.hwm));
			for (int k = 0; k < TG_FWD_NSTREAMS; k++)
				sum->rows[k] += st.rows[k];
			sum->duplicates += st.duplicates;
			sum->batches += st.batches;
			sum->errors += st.errors;
		}
		for (; next < n && running < o->concurrency; next++, running++)
			hs[next].f = start_host(o, target, &hs[next]);
		usleep(5000);
	}
}

static void cmd_forward(const struct opts *o)
{
	char target[TG_FORWARD_TARGET_MAX], err[512];
	struct tg_forward_stats sum = {0};
	struct rusage r0, r1;
	struct fhost *hs;
	int64_t t0, t1;
	int n = 0;

	if (!o->dir || !o->url || o->hosts <= 0 || o->concurrency <= 0 || o->groups <= 0)
		die("forward needs --dir, --url, --hosts and --concurrency");
	if (tg_forward_target(o->url, target, sizeof(target), err, sizeof(err)))
		die("%s", err);
	hs = calloc(o->hosts, sizeof(*hs));
	if (!hs)
		die("out of memory");
	for (int h = o->group; h < o->hosts; h += o->groups) {
		snprintf(hs[n].path, sizeof(hs[n].path), "%s/h%04d.db", o->dir, h);
		host_marks(&hs[n++], target, false);
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = tg_clock_ns(CLOCK_MONOTONIC);
	run_forwarders(o, target, hs, n, &sum);
	t1 = tg_clock_ns(CLOCK_MONOTONIC);
	getrusage(RUSAGE_SELF, &r1);
	for (int i = 0; i < n; i++)
		host_marks(&hs[i], target, true);
	printf("{\"hosts\": %d, \"concurrency\": %d, \"findings\": %llu, \"sessions\": %llu, "
	       "\"duplicates\": %llu, \"batches\": %llu, \"errors\": %llu, \"seconds\": %.3f, "
	       "\"rows_per_s\": %.0f, \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f}\n",
	       n, o->concurrency, (unsigned long long)sum.rows[TG_FWD_FINDINGS],
	       (unsigned long long)sum.rows[TG_FWD_SESSIONS], (unsigned long long)sum.duplicates,
	       (unsigned long long)sum.batches, (unsigned long long)sum.errors, (t1 - t0) / 1e9,
	       sum.rows[TG_FWD_FINDINGS] / ((t1 - t0) / 1e9),
	       cpu_s(&r1.ru_utime) - cpu_s(&r0.ru_utime),
	       cpu_s(&r1.ru_stime) - cpu_s(&r0.ru_stime));
	free(hs);
}

/* ---- query ---- */

/* One investigation query in both dialects; parameters as text: PostgreSQL's times are
 * timestamptz ('... +00'), SQLite's are ns. */
struct q {
	const char *name, *pg, *lite;
};

static const struct q queries[] = {
	{"host_path_time",
	 "SELECT body, time_ns FROM tmpguard.findings WHERE host_id = $1 AND path LIKE $2 AND "
	 "time >= $3 AND time < $4 ORDER BY time, seq",
	 "SELECT json, time_ns FROM findings WHERE host = ?1 AND path GLOB ?2 AND time_ns >= ?3 "
	 "AND time_ns < ?4 ORDER BY time_ns, id"},
	{"exe_time_hosts",
	 "SELECT host_id, count(*), min(time), max(time) FROM tmpguard.findings WHERE exe = $1 AND "
	 "time >= $2 AND time < $3 GROUP BY host_id ORDER BY count(*) DESC, host_id",
	 "SELECT host, count(*), min(time_ns), max(time_ns) FROM findings WHERE exe = ?1 AND "
	 "time_ns >= ?2 AND time_ns < ?3 GROUP BY host ORDER BY count(*) DESC, host"},
	{"rule_time_count_by_host",
	 "SELECT host_id, count(*) FROM tmpguard.findings WHERE rule = $1 AND time >= $2 AND "
	 "time < $3 GROUP BY host_id ORDER BY count(*) DESC, host_id",
	 "SELECT host, count(*) FROM findings WHERE rule = ?1 AND time_ns >= ?2 AND time_ns < ?3 "
	 "GROUP BY host ORDER BY count(*) DESC, host"},
	{"time_latest_100",
	 "SELECT body, time_ns FROM tmpguard.findings WHERE time < $1 ORDER BY time DESC LIMIT 100",
	 "SELECT json, time_ns FROM findings WHERE time_ns < ?1 ORDER BY time_ns DESC LIMIT 100"},
};
#define N_QUERIES (int)(sizeof(queries) / sizeof(queries[0]))

struct qparams {
	int n;
	char pg[4][512], lite[4][512];
};

static void param_time(struct qparams *p, int i, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(p->pg[i], sizeof(p->pg[i]), "%Y-%m-%d %H:%M:%S+00", &tm);
	snprintf(p->lite[i], sizeof(p->lite[i]), "%lld", (long long)s * 1000000000LL);
}

static void param_str(struct qparams *p, int i, const char *pg, const char *lite)
{
	snprintf(p->pg[i], sizeof(p->pg[i]), "%s", pg);
	snprintf(p->lite[i], sizeof(p->lite[i]), "%s", lite);
}

/* Repetition rep's parameters of query qi: a host, a path prefix, an executable or a rule of
 * the recorded findings, and a window: the last 7 days (an hour's jitter) for the first two,
 * one day for the count, any point of the period for the latest 100. */
static void pick(const struct opts *o, int qi, unsigned *rnd, struct qparams *p)
{
	const struct tmpl *t = &tmpls[rand_r(rnd) % n_tmpls];
	int64_t end = o->end_ns - (int64_t)(rand_r(rnd) % 3600) * 1000000000LL;
	char host[64], host_id[128], a[340], b[340];

	host_names(rand_r(rnd) % o->hosts, host, sizeof(host), host_id, sizeof(host_id));
	switch (qi) {
	case 0:
		snprintf(a, sizeof(a), "%s/%s-%%", t->dir, t->stem); /* no _ or % in the stems */
		snprintf(b, sizeof(b), "%s/%s-*", t->dir, t->stem);
		param_str(p, 0, host_id, host);
		param_str(p, 1, a, b);
		param_time(p, 2, end - 7 * DAY_NS);
		param_time(p, 3, end);
		p->n = 4;
		break;
	case 1:
		param_str(p, 0, t->exe, t->exe);
		param_time(p, 1, end - 7 * DAY_NS);
		param_time(p, 2, end);
		p->n = 3;
		break;
	case 2:
		end = o->end_ns - (int64_t)(rand_r(rnd) % (unsigned)o->days) * DAY_NS;
		param_str(p, 0, tg_rule_id(t->rule), tg_rule_id(t->rule));
		param_time(p, 1, end - DAY_NS);
		param_time(p, 2, end);
		p->n = 3;
		break;
	default:
		param_time(p, 0,
			   o->end_ns - (int64_t)(rand_r(rnd) % (unsigned)(o->days * 86400)) *
					       1000000000LL);
		p->n = 1;
	}
}

static int64_t run_pg(PGconn *c, const struct q *q, const struct qparams *p, long *rows)
{
	const char *v[4] = {p->pg[0], p->pg[1], p->pg[2], p->pg[3]};
	int64_t t0 = tg_clock_ns(CLOCK_MONOTONIC), t1;
	PGresult *r = PQexecParams(c, q->pg, p->n, NULL, v, NULL, NULL, 0);

	t1 = tg_clock_ns(CLOCK_MONOTONIC);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s on PostgreSQL: %s", q->name, PQerrorMessage(c));
	*rows = PQntuples(r);
	PQclear(r);
	return t1 - t0;
}

static volatile size_t sink;

static int64_t run_lite(sqlite3 *db, const struct q *q, const struct qparams *p, long *rows)
{
	int64_t t0 = tg_clock_ns(CLOCK_MONOTONIC), t1;
	sqlite3_stmt *s;
	size_t bytes = 0;
	int rc;

	if (sqlite3_prepare_v2(db, q->lite, -1, &s, NULL) != SQLITE_OK)
		die("%s on SQLite: %s", q->name, sqlite3_errmsg(db));
	for (int i = 0; i < p->n; i++)
		if (p->lite[i][0] >= '0' && p->lite[i][0] <= '9')
			sqlite3_bind_int64(s, i + 1, strtoll(p->lite[i], NULL, 10));
		else
			sqlite3_bind_text(s, i + 1, p->lite[i], -1, SQLITE_STATIC);
	*rows = 0;
	/* every row's first column read out, as PQexecParams has it */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		bytes += strlen((const char *)sqlite3_column_text(s, 0));
		(*rows)++;
	}
	sink += bytes;
	if (rc != SQLITE_DONE)
		die("%s on SQLite: %s", q->name, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	t1 = tg_clock_ns(CLOCK_MONOTONIC);
	return t1 - t0;
}

/* Every query o->reps times, PostgreSQL and SQLite with the same parameters one after the
 * other (which goes first alternates); one JSON line per sample. */
static void cmd_query(const struct opts *o)
{
	char err[512];
	unsigned rnd = o->seed;
	PGconn *c;
	sqlite3 *db;

	if (!o->rec || !o->url || !o->sqlite || o->hosts <= 0 || o->end_ns <= 0)
		die("query needs --rec, --url, --sqlite, --hosts and --end");
	load_recorded(o->rec);
	c = PQconnectdb(o->url);
	if (PQstatus(c) != CONNECTION_OK)
		die("cannot connect to %s: %s", o->url, PQerrorMessage(c));
	db = tg_store_open_read(o->sqlite, err, sizeof(err));
	if (!db)
		die("%s", err);
	for (int rep = 0; rep < o->reps; rep++) {
		for (int qi = 0; qi < N_QUERIES; qi++) {
			struct qparams p;
			long rp, rl;
			int64_t tp, tl;

			pick(o, qi, &rnd, &p);
			if ((rep + qi) % 2) {
				tp = run_pg(c, &queries[qi], &p, &rp);
				tl = run_lite(db, &queries[qi], &p, &rl);
			} else {
				tl = run_lite(db, &queries[qi], &p, &rl);
				tp = run_pg(c, &queries[qi], &p, &rp);
			}
			printf("{\"query\": \"%s\", \"rep\": %d, \"pg_ms\": %.3f, \"sqlite_ms\": "
			       "%.3f, \"pg_rows\": %ld, \"sqlite_rows\": %ld, \"param\": \"%s\"}\n",
			       queries[qi].name, rep, tp / 1e6, tl / 1e6, rp, rl, p.pg[0]);
		}
	}
	sqlite3_close(db);
	PQfinish(c);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"rec", 1, 0, 'r'},    {"dir", 1, 0, 'd'},	   {"url", 1, 0, 'u'},
		{"sqlite", 1, 0, 's'}, {"hosts", 1, 0, 'H'},	   {"rows", 1, 0, 'n'},
		{"stage", 1, 0, 'S'},  {"stages", 1, 0, 'T'},	   {"end", 1, 0, 'e'},
		{"days", 1, 0, 'D'},   {"concurrency", 1, 0, 'k'}, {"group", 1, 0, 'g'},
		{"groups", 1, 0, 'G'}, {"reps", 1, 0, 'R'},	   {"seed", 1, 0, 'x'},
		{0, 0, 0, 0},
	};
	struct opts o = {
		.stages = 1, .days = 14, .concurrency = 1, .groups = 1, .reps = 30, .seed = 1};
	int c;

	if (argc < 2)
		die("usage: bench_fleet gen|forward|query --option value ... (bench/fleet.py)");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.rec = optarg;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'u':
			o.url = optarg;
			break;
		case 's':
			o.sqlite = optarg;
			break;
		case 'H':
			o.hosts = atoi(optarg);
			break;
		case 'n':
			o.rows = atoll(optarg);
			break;
		case 'S':
			o.stage = atoi(optarg);
			break;
		case 'T':
			o.stages = atoi(optarg);
			break;
		case 'e':
			o.end_ns = atoll(optarg);
			break;
		case 'D':
			o.days = atoll(optarg);
			break;
		case 'k':
			o.concurrency = atoi(optarg);
			break;
		case 'g':
			o.group = atoi(optarg);
			break;
		case 'G':
			o.groups = atoi(optarg);
			break;
		case 'R':
			o.reps = atoi(optarg);
			break;
		case 'x':
			o.seed = (unsigned)atoi(optarg);
			break;
		default:
			die("unknown option (bench/fleet.py shows the usage)");
		}
	}
	if (!strcmp(argv[1], "gen"))
		cmd_gen(&o);
	else if (!strcmp(argv[1], "forward"))
		cmd_forward(&o);
	else if (!strcmp(argv[1], "query"))
		cmd_query(&o);
	else
		die("unknown command %s: gen, forward or query", argv[1]);
	return 0;
}
