// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The event store: schema creation and refusals, batching and commits, retention by age and
 * by size, unclean-session detection (a real SIGKILL of a writer), query filters (GLOB and
 * quoting safety) and CSV/text rendering. Records reach the store typed, as the session hands
 * them on; a finding's JSON form is made by tg_report_json() and a loss's by tg_loss_json(), the
 * code live output uses, so the store is tested against the real schema. Each test works in its own
 * mkdtemp() directory (0700), removed afterwards.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <linux/types.h>
#include "output.h"
#include "query.h"
#include "record_json.h"
#include "report_render.h"
#include "store.h"
#include "store_schema.h"
#include "summary.h"
#include "util/timefmt.h"

#define NSEC 1000000000LL
#define DAY  (86400LL * NSEC)
static const int64_t now = 1795847400LL * NSEC; /* 2026-11-28T06:30:00Z */

struct fx {
	char dir[64];
	char db[128];
	char *log;
	size_t log_len;
	FILE *logf;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-store-test-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/events.db", f->dir);
	f->logf = open_memstream(&f->log, &f->log_len);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	fclose(f->logf);
	free(f->log);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static const char *logged(struct fx *f)
{
	fflush(f->logf);
	return f->log ? f->log : "";
}

static struct tg_store *open_store(struct fx *f, int64_t max_age_ns, int64_t max_bytes,
				   unsigned batch)
{
	struct tg_store_opts o = {
		.max_age_ns = max_age_ns,
		.max_bytes = max_bytes,
		.batch_rows = batch,
		.log = f->logf,
	};
	char err[512] = "";
	struct tg_store *st = tg_store_open(f->db, &o, now, err, sizeof(err));

	if (!st)
		fail_msg("tg_store_open: %s", err);
	return st;
}

/* The session record's JSON form, of what the store's readers use (the session makes the rest
 * from its loader). */
static json_object *session_json(const struct tg_session_info *si)
{
	json_object *o = json_object_new_object();
	char buf[64];

	tg_format_time(si->time_ns, buf, sizeof(buf));
	json_object_object_add(o, "type", json_object_new_string("session"));
	json_object_object_add(o, "time", json_object_new_string(buf));
	json_object_object_add(o, "host", json_object_new_string(si->host));
	json_object_object_add(o, "pid", json_object_new_int64(si->pid));
	return o;
}

static void begin(struct tg_store *st, int64_t t)
{
	const struct tg_session_info si = {.time_ns = t, .host = "testhost", .pid = 4242};
	const struct tg_record rec = {
		.kind = TG_RECORD_SESSION,
		.session = &si,
		.json = session_json(&si),
	};

	assert_int_equal(tg_store_begin(st, &rec), 0);
	json_object_put(rec.json);
}

/* A clean stop with a summary record whose JSON form is sum (taken). */
static int end(struct tg_store *st, json_object *sum, int64_t now_ns)
{
	static struct tg_summary summary;
	const struct tg_record rec = {.kind = TG_RECORD_SUMMARY, .summary = &summary, .json = sum};
	int ret = tg_store_end(st, &rec, now_ns);

	json_object_put(sum);
	return ret;
}

struct spec {
	int64_t t;
	enum tg_rule rule;
	enum tg_severity sev;
	uint32_t pid, uid;
	const char *exe, *path, *cid;
	size_t pad; /* bytes of cmdline, to grow rows for the size tests */
};

/* A finding as the pipeline hands it on (valid until the next call), with its JSON form as live
 * output renders it (caller puts it). */
static struct tg_record finding(const struct spec *s)
{
	static struct tg_event e;
	static struct tg_proc_info p;
	static struct tg_report r;

	memset(&e, 0, sizeof(e));
	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	e.kind = TG_KIND_OPEN;
	e.syscall = TG_SYS_OPENAT;
	e.flags = O_WRONLY | O_CREAT | O_TRUNC;
	e.mode = 0666;
	e.umask = 022;
	e.file_mode = 0100644;
	e.dir_mode = 041777;
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	e.ts_ns = 1000;
	e.pid = e.tid = s->pid;
	e.ppid = 1;
	e.uid = e.euid = s->uid;
	e.dfd = -100;
	snprintf(e.path, sizeof(e.path), "%s", s->path);
	snprintf(e.name, sizeof(e.name), "%s", strrchr(s->path, '/') + 1);
	snprintf(e.comm, sizeof(e.comm), "%s",
		 strrchr(s->exe, '/') ? strrchr(s->exe, '/') + 1 : s->exe);
	snprintf(p.exe, sizeof(p.exe), "%s", s->exe);
	snprintf(p.user, sizeof(p.user), "u%u", s->uid);
	if (s->cid)
		snprintf(p.container_id, sizeof(p.container_id), "%s", s->cid);
	p.cmdline_len = snprintf(p.cmdline, sizeof(p.cmdline), "%s", s->exe);
	for (size_t i = 0; i < s->pad && p.cmdline_len < sizeof(p.cmdline) - 1; i++)
		p.cmdline[p.cmdline_len++] = 'a' + (i * 7 + s->pid) % 26; /* poorly compressible */
	p.cmdline[p.cmdline_len] = 0;
	p.n_ancestry = 2;
	p.ancestry[0] = (struct tg_ancestor){.pid = 1, .comm = "sh", .exe = "/bin/sh"};
	p.ancestry[1] = (struct tg_ancestor){.pid = 1, .comm = "init", .exe = ""};
	r.e = &e;
	r.proc = &p;
	r.finding.rule = s->rule;
	r.finding.severity = s->sev;
	r.dir.shared = true;
	r.lang = TG_LANG_C;
	r.count = 1;
	r.boot_to_real_ns = s->t - (int64_t)e.ts_ns;
	r.host = "testhost";
	return (struct tg_record){
		.kind = TG_RECORD_FINDING, .finding = &r, .json = tg_report_json(&r)};
}

static void add(struct tg_store *st, const struct spec *s)
{
	struct tg_record rec = finding(s);

	assert_int_equal(tg_store_record(st, &rec), 0);
	json_object_put(rec.json);
}

static void add_n(struct tg_store *st, int n, int64_t t0, int64_t step, size_t pad)
{
	for (int i = 0; i < n; i++) {
		struct spec s = {t0 + i * step,
				 TG_RULE_NONEXCLUSIVE_CREATE,
				 TG_SEV_HIGH,
				 1000 + i,
				 0,
				 "/usr/bin/dash",
				 "/tmp/x",
				 NULL,
				 pad};

		add(st, &s);
	}
}

/* Rows another connection sees: what is committed. */
static int64_t count_rows(const char *db, const char *sql)
{
	char err[512];
	sqlite3 *r = tg_store_open_read(db, err, sizeof(err));
	sqlite3_stmt *s;
	int64_t n = -1;

	if (!r)
		fail_msg("tg_store_open_read: %s", err);
	assert_int_equal(sqlite3_prepare_v2(r, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(r);
	return n;
}

/* ---- schema ---- */

static void test_schema_created(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	sqlite3 *db = tg_store_db(st);
	char err[512], path[200];
	struct stat sb;
	sqlite3_stmt *s;

	assert_int_equal(tg_store_schema_version(db), TG_STORE_SCHEMA_VERSION);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 2); /* INCREMENTAL */
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	/* every index of the schema exists */
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM sqlite_master WHERE type = "
					    "'index' AND name LIKE 'findings_%'",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 10);
	sqlite3_finalize(s);
	begin(st, now);
	add_n(st, 1, now, 0, 0);
	assert_int_equal(tg_store_commit(st), 0);
	/* the database and sqlite's files are 0600 */
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* one writer at a time */
	{
		struct tg_store_opts o = {0};

		assert_null(tg_store_open(f->db, &o, now, err, sizeof(err)));
		assert_non_null(strstr(err, "already being written"));
	}
	tg_store_close(st);
	/* reopened as it is */
	st = open_store(f, 0, 0, 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 1);
	tg_store_close(st);
}

static void test_schema_refusals(void **state)
{
	struct fx *f = *state;
	struct tg_store_opts o = {0};
	char err[512], other[160], link[160], sub[160];
	sqlite3 *db;

	/* another schema version */
	tg_store_close(open_store(f, 0, 0, 0));
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE meta SET value = '3' WHERE key = "
				      "'schema_version'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_null(tg_store_open(f->db, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "schema version 3; this tmpguard reads versions 1 to 2"));
	assert_null(tg_store_open_read(f->db, err, sizeof(err)));
	assert_non_null(strstr(err, "schema version 3"));

	/* an SQLite database that is not ours */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(tg_store_open(other, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "not a tmpguard database"));

	/* a symlink at the path: refused, its target untouched */
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(other, link), 0);
	assert_null(tg_store_open(link, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(link, sizeof(link), "%s/dangling.db", f->dir);
	assert_int_equal(symlink("/nonexistent/x.db", link), 0);
	assert_null(tg_store_open(link, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));

	/* a file writable by others, a directory writable by others (sticky or not) */
	assert_int_equal(chmod(other, 0666), 0);
	assert_null(tg_store_open(other, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "writable by group or others"));
	snprintf(sub, sizeof(sub), "%s/shared", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 01777), 0);
	snprintf(sub, sizeof(sub), "%s/shared/x.db", f->dir);
	assert_null(tg_store_open(sub, &o, now, err, sizeof(err)));
	assert_non_null(strstr(err, "directory"));
	assert_int_equal(access(sub, F_OK), -1); /* nothing created there */

	/* a file owned by someone else (needs root to make one) */
	if (geteuid() == 0) {
		assert_int_equal(chmod(other, 0600), 0);
		assert_int_equal(chown(other, 65534, 65534), 0);
		assert_null(tg_store_open(other, &o, now, err, sizeof(err)));
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
}

/* ---- batching ---- */

/* A reader maps the database file, as far as a store of the default size limit, and keeps
 * seeing every committed row as the file grows under its map. */
static void test_reader_maps_the_store(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	const char *n_sql = "SELECT count(*), sum(length(json)) FROM findings";
	char err[512];
	sqlite3 *r;
	sqlite3_stmt *s;

	begin(st, now);
	add_n(st, 200, now, 1, 2000);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(sqlite3_wal_checkpoint_v2(tg_store_db(st), NULL,
						   SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
			 SQLITE_OK);
	r = tg_store_open_read(f->db, err, sizeof(err));
	if (!r)
		fail_msg("tg_store_open_read: %s", err);
	assert_int_equal(sqlite3_prepare_v2(r, "PRAGMA mmap_size", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_true(sqlite3_column_int64(s, 0) >= (int64_t)TG_STORE_MAX_SIZE_MIB << 20);
	sqlite3_finalize(s);
	for (int round = 1; round <= 3; round++) {
		assert_int_equal(sqlite3_prepare_v2(r, n_sql, -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(s, 0), 200 * round);
		assert_true(sqlite3_column_int64(s, 1) > 2000 * 200 * round);
		sqlite3_finalize(s);
		/* more rows, into the file itself (checkpointed), past the end it had */
		add_n(st, 200, now, 1, 2000);
		assert_int_equal(tg_store_commit(st), 0);
		assert_int_equal(sqlite3_wal_checkpoint_v2(tg_store_db(st), NULL,
							   SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
				 SQLITE_OK);
	}
	sqlite3_close(r);
	tg_store_close(st);
}

static void test_batching(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 3);
	const char *n_sql = "SELECT count(*) FROM findings";
	const char *lc_sql = "SELECT last_commit_ns FROM sessions";
	int64_t t = now;

	begin(st, t);
	/* the session row is committed at once */
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions WHERE clean = 0"), 1);
	assert_true(count_rows(f->db, lc_sql) == t);
	add_n(st, 2, t, 1, 0);
	assert_int_equal(count_rows(f->db, n_sql), 0); /* open batch */
	add_n(st, 1, t, 1, 0);
	assert_int_equal(count_rows(f->db, n_sql), 3); /* full: committed */
	add_n(st, 1, t, 1, 0);
	/* ticks: the batch was opened at the tick time `now`; it is committed once it is
	 * commit_interval old */
	tg_store_tick(st, t + NSEC / 2);
	assert_int_equal(count_rows(f->db, n_sql), 3);
	tg_store_tick(st, t + 2 * NSEC);
	assert_int_equal(count_rows(f->db, n_sql), 4);
	/* last_commit_ns: everything before the previous tick, less the in-flight margin */
	assert_true(count_rows(f->db, lc_sql) == t + NSEC / 2 - TG_STORE_INFLIGHT_NS);
	/* an explicit commit (SIGHUP, shutdown) */
	add_n(st, 2, t, 1, 0);
	assert_int_equal(count_rows(f->db, n_sql), 4);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(count_rows(f->db, n_sql), 6);
	/* idle: last_commit_ns moves on at the heartbeat, without any row */
	tg_store_tick(st, t + 100 * NSEC);
	tg_store_tick(st, t + 101 * NSEC);
	assert_true(count_rows(f->db, lc_sql) == t + 100 * NSEC - TG_STORE_INFLIGHT_NS);
	/* a clean stop */
	add_n(st, 1, t, 1, 0);
	{
		json_object *sum = json_object_new_object();

		json_object_object_add(sum, "type", json_object_new_string("summary"));
		assert_int_equal(end(st, sum, t + 102 * NSEC), 0);
	}
	assert_int_equal(count_rows(f->db, n_sql), 7);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions WHERE clean = 1 AND "
					   "summary LIKE '{\"type\":\"summary\"}' AND ended_ns = "
					   "last_commit_ns"),
			 1);
	assert_int_equal(tg_store_stats(st)->findings, 7);
	tg_store_close(st);
	/* closed cleanly: nothing to report at the next open */
	st = open_store(f, 0, 0, 0);
	assert_int_equal(tg_store_stats(st)->unclean_found, 0);
	assert_null(strstr(logged(f), "did not stop cleanly"));
	tg_store_close(st);
}

/* The stored row: columns from the typed finding as its JSON has them, the JSON byte for byte
 * as printed. */
static void test_columns_and_verbatim_json(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	struct spec s = {
		.t = now + 123456789,
		.rule = TG_RULE_SYMLINK_FOLLOW,
		.sev = TG_SEV_CRITICAL,
		.pid = 77,
		.uid = 1000,
		.exe = "/opt/app/bin/worker",
		.path = "/tmp/sp ace'\"",
		.cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	struct tg_record rec = finding(&s);
	json_object *o = rec.json;
	char *printed = strdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	sqlite3_stmt *q;

	begin(st, now);
	assert_int_equal(tg_store_record(st, &rec), 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(
		sqlite3_prepare_v2(tg_store_db(st),
				   "SELECT time_ns, host, rule, severity, severity_level, "
				   "action, pid, ppid, uid, exe, comm, path, container_id, "
				   "json FROM findings",
				   -1, &q, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_int64(q, 0) == now + 123456789);
	assert_string_equal(sqlite3_column_text(q, 1), "testhost");
	assert_string_equal(sqlite3_column_text(q, 2), "symlink-follow");
	assert_string_equal(sqlite3_column_text(q, 3), "critical");
	assert_int_equal(sqlite3_column_int(q, 4), 3);
	assert_string_equal(sqlite3_column_text(q, 5), "alert");
	assert_int_equal(sqlite3_column_int(q, 6), 77);
	assert_int_equal(sqlite3_column_int(q, 7), 1);
	assert_int_equal(sqlite3_column_int(q, 8), 1000);
	assert_string_equal(sqlite3_column_text(q, 9), "/opt/app/bin/worker");
	assert_string_equal(sqlite3_column_text(q, 10), "worker");
	assert_string_equal(sqlite3_column_text(q, 11), "/tmp/sp ace'\"");
	assert_string_equal(sqlite3_column_text(q, 12), s.cid);
	assert_string_equal(sqlite3_column_text(q, 13), printed);
	sqlite3_finalize(q);
	free(printed);
	json_object_put(o);
	/* a record without the indexed fields (its typed finding) is refused, not stored
	 * half-empty */
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("finding"));
	rec = (struct tg_record){.kind = TG_RECORD_FINDING, .json = o};
	assert_int_equal(tg_store_record(st, &rec), -1);
	json_object_put(o);
	tg_store_close(st);
}

/* Names that are not UTF-8: the columns hold the text the JSON form holds (its \xNN form), so
 * that a query matches what it prints. */
static void test_columns_of_raw_bytes(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	struct spec s = {
		.t = now,
		.rule = TG_RULE_NONEXCLUSIVE_CREATE,
		.sev = TG_SEV_HIGH,
		.pid = 78,
		.exe = "/opt/w\xc3(rk\xff",
		.path = "/tmp/\xff\xfe x",
	};
	struct tg_record rec = finding(&s);
	json_object *proc = NULL, *v = NULL;
	sqlite3_stmt *q;

	begin(st, now);
	assert_int_equal(tg_store_record(st, &rec), 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(sqlite3_prepare_v2(tg_store_db(st),
					    "SELECT exe, comm, path FROM findings WHERE pid = 78",
					    -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(json_object_object_get_ex(rec.json, "proc", &proc));
	assert_true(json_object_object_get_ex(proc, "exe", &v));
	assert_string_equal(sqlite3_column_text(q, 0), json_object_get_string(v));
	assert_string_equal(sqlite3_column_text(q, 0), "/opt/w\\xc3(rk\\xff");
	assert_true(json_object_object_get_ex(proc, "comm", &v));
	assert_string_equal(sqlite3_column_text(q, 1), json_object_get_string(v));
	assert_true(json_object_object_get_ex(rec.json, "path", &v));
	assert_string_equal(sqlite3_column_text(q, 2), json_object_get_string(v));
	assert_string_equal(sqlite3_column_text(q, 2), "/tmp/\\xff\\xfe x");
	sqlite3_finalize(q);
	json_object_put(rec.json);
	tg_store_close(st);
}

/* ---- retention ---- */

static void test_retention_by_age(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	struct tg_retention r = {0};
	const struct tg_loss l = {
		.time_ns = now - 119 * DAY + NSEC,
		.host = "testhost",
		.from_ns = now - 119 * DAY,
		.to_ns = now - 119 * DAY + NSEC,
		.lost = 3,
		.lost_total = 3,
	};
	struct tg_record rec = {.kind = TG_RECORD_LOSS, .loss = &l};

	/* an old session with old findings and an old loss, a recent one with both ages */
	begin(st, now - 120 * DAY);
	add_n(st, 5, now - 120 * DAY, NSEC, 0);
	rec.json = tg_loss_json(&l);
	assert_int_equal(tg_store_record(st, &rec), 0);
	json_object_put(rec.json);
	assert_int_equal(end(st, json_object_new_object(), now - 119 * DAY), 0);
	tg_store_close(st);
	st = open_store(f, 0, 0, 0);
	begin(st, now - 100 * DAY);
	add_n(st, 4, now - 100 * DAY, NSEC, 0); /* too old */
	add_n(st, 3, now - 10 * DAY, NSEC, 0);	/* kept */
	assert_int_equal(tg_store_commit(st), 0);
	tg_store_close(st);

	/* at open, with the default age: the old findings, the loss and the first session */
	st = open_store(f, TG_STORE_MAX_AGE_DAYS * DAY, 0, 0);
	r = tg_store_stats(st)->removed;
	assert_int_equal(r.findings, 9);
	assert_int_equal(r.losses, 1);
	assert_int_equal(r.sessions, 1);
	assert_non_null(
		strstr(logged(f), "retention: removed 9 findings, 1 losses and 1 sessions"));
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 3);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM losses"), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions"), 1);
	assert_true(count_rows(f->db, "SELECT min(time_ns) FROM findings") == now - 10 * DAY);
	/* again: nothing more to do */
	memset(&r, 0, sizeof(r));
	assert_int_equal(tg_store_retain(st, now, &r), 0);
	assert_int_equal(r.findings + r.losses + r.sessions, 0);
	/* hourly from the ticks: 91 days later, the rest ages out, with the second session (it
	 * ended at its last commit, about now), but not our own */
	begin(st, now);
	tg_store_tick(st, now + 91 * DAY);
	assert_int_equal(tg_store_stats(st)->removed.findings, 12);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions"), 1);
	assert_true(count_rows(f->db, "SELECT id FROM sessions") == tg_store_session_id(st));
	tg_store_close(st);
}

static void test_retention_by_size(void **state)
{
	struct fx *f = *state;
	const int64_t limit = 1 << 20;
	struct tg_store *st = open_store(f, 0, 0, 0);
	int64_t kept_min, n_before, n_after, t_before;
	struct stat sb;

	begin(st, now - DAY);
	add_n(st, 3000, now - DAY, NSEC, 1500); /* ~ 2 KiB each: about 6 MiB */
	assert_int_equal(tg_store_commit(st), 0);
	tg_store_close(st);
	n_before = count_rows(f->db, "SELECT count(*) FROM findings");
	assert_int_equal(n_before, 3000);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_true(sb.st_size > 4 * limit);
	t_before = count_rows(f->db, "SELECT max(time_ns) FROM findings");

	st = open_store(f, 0, limit, 0);
	n_after = count_rows(f->db, "SELECT count(*) FROM findings");
	assert_true(n_after > 0 && n_after < n_before);
	assert_int_equal(tg_store_stats(st)->removed.findings, n_before - n_after);
	/* the oldest went, the newest stayed */
	kept_min = count_rows(f->db, "SELECT min(time_ns) FROM findings");
	assert_true(kept_min == now - DAY + (n_before - n_after) * NSEC);
	assert_true(count_rows(f->db, "SELECT max(time_ns) FROM findings") == t_before);
	/* the live pages fit, and the file shrank (incremental vacuum + checkpoint) */
	assert_true(count_rows(f->db,
			       "SELECT (page_count - freelist_count) * page_size FROM "
			       "pragma_page_count, pragma_freelist_count, pragma_page_size") <=
		    limit);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_true(sb.st_size <= limit + limit / 4);
	assert_non_null(strstr(logged(f), "retention: removed"));
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM pragma_integrity_check WHERE "
					   "integrity_check = 'ok'"),
			 1);
	tg_store_close(st);
}

/* ---- schema version 2: migration, keys, forwarding marks ---- */

/* One text value from the store (another connection); a new string, or NULL. */
static char *text_of(const char *db, const char *sql)
{
	char err[512], *v = NULL;
	sqlite3 *r = tg_store_open_read(db, err, sizeof(err));
	sqlite3_stmt *s;

	if (!r)
		fail_msg("tg_store_open_read: %s", err);
	assert_int_equal(sqlite3_prepare_v2(r, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(r);
	return v;
}

/* tests/data/store-v1.db: written by tmpguard 0.1.0 before schema version 2 (two `run --db`
 * sessions that stopped cleanly, a third killed with SIGKILL), copied into the test's
 * directory as the field has it. */
static void copy_v1(struct fx *f)
{
	const char *dir = getenv("TG_TEST_DATA");
	char src[512], buf[65536];
	ssize_t n;
	int in, out;

	if (!dir)
		fail_msg("TG_TEST_DATA is not set (tests/CMakeLists.txt sets it to tests/data)");
	snprintf(src, sizeof(src), "%s/store-v1.db", dir);
	in = open(src, O_RDONLY);
	assert_true(in >= 0);
	out = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	close(in);
	close(out);
}

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	struct tg_store_opts o = {.log = f->logf, .host_id = "test-host:0123"};
	char err[512], *v1_json, *json;
	struct tg_store *st;
	sqlite3 *r;

	copy_v1(f);
	/* the read side reads version 1 as it is, and leaves it so */
	r = tg_store_open_read(f->db, err, sizeof(err));
	if (!r)
		fail_msg("tg_store_open_read (v1): %s", err);
	assert_int_equal(tg_store_schema_version(r), 1);
	sqlite3_close(r);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 9);
	v1_json = text_of(f->db, "SELECT group_concat(id || ' ' || session || ' ' || json, '|') "
				 "FROM (SELECT * FROM findings ORDER BY id)");
	assert_non_null(v1_json);

	/* the writer migrates it in place */
	st = tg_store_open(f->db, &o, now, err, sizeof(err));
	if (!st)
		fail_msg("tg_store_open (v1): %s", err);
	assert_true(tg_store_stats(st)->migrated);
	assert_non_null(strstr(logged(f), "migrated from store schema version 1 to 2"));
	/* the crashed third session is said, once, as before */
	assert_int_equal(tg_store_stats(st)->unclean_found, 1);
	assert_int_equal(tg_store_schema_version(tg_store_db(st)), 2);
	/* every row, with its id and session, byte for byte */
	json = text_of(f->db, "SELECT group_concat(id || ' ' || session || ' ' || json, '|') FROM "
			      "(SELECT * FROM findings ORDER BY id)");
	assert_string_equal(json, v1_json);
	free(json);
	free(v1_json);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions"), 3);
	/* keys: one each, distinct; the host's identity; revs in id order, the crashed session's
	 * moved on when it was marked ended */
	assert_int_equal(count_rows(f->db, "SELECT count(DISTINCT key) FROM sessions WHERE key "
					   "!= 0"),
			 3);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions WHERE host_id = "
					   "'test-host:0123'"),
			 3);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions WHERE id = 1"), 1);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions WHERE id = 2"), 2);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions WHERE id = 3"), 4);
	assert_int_equal(count_rows(f->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
					   "'session_rev'"),
			 4);
	/* AUTOINCREMENT everywhere, the forwarding tables, every index again */
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sqlite_master WHERE type = "
					   "'table' AND sql LIKE '%AUTOINCREMENT%'"),
			 5);
	assert_int_equal(count_rows(f->db, "SELECT seq FROM sqlite_sequence WHERE name = "
					   "'findings'"),
			 9);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sqlite_master WHERE type = "
					   "'index' AND name LIKE 'findings_%'"),
			 10);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM pragma_foreign_key_list("
					   "'findings') WHERE \"table\" = 'sessions'"),
			 1);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM pragma_integrity_check WHERE "
					   "integrity_check = 'ok'"),
			 1);
	/* and it goes on: the next finding is id 10 of a fourth session */
	begin(st, now);
	add_n(st, 1, now, 0, 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(count_rows(f->db, "SELECT max(id) FROM findings"), 10);
	assert_int_equal(count_rows(f->db, "SELECT session FROM findings WHERE id = 10"), 4);
	tg_store_close(st);
	/* opened again: nothing more to migrate */
	st = open_store(f, 0, 0, 0);
	assert_false(tg_store_stats(st)->migrated);
	tg_store_close(st);
}

/* Without AUTOINCREMENT, SQLite gives the largest id again once its row is gone, and a
 * forwarder's mark on ids would skip the new row. */
static void test_ids_never_reused(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);

	begin(st, now);
	add_n(st, 3, now, NSEC, 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(sqlite3_exec(tg_store_db(st), "DELETE FROM findings WHERE id = 3", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	add_n(st, 1, now + 5 * NSEC, 0, 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(count_rows(f->db, "SELECT max(id) FROM findings"), 4);
	tg_store_close(st);
}

/* A session's rev moves on when the row changes: when it starts, every heartbeat of commits,
 * at its end. */
static void test_session_revs(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	int64_t r0;

	begin(st, now);
	r0 = count_rows(f->db, "SELECT rev FROM sessions");
	assert_true(r0 > 0);
	add_n(st, 1, now, 0, 0);
	tg_store_tick(st, now + NSEC);
	tg_store_tick(st, now + 3 * NSEC);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions"), r0);
	/* a heartbeat later: the fleet hears of it */
	tg_store_tick(st, now + TG_STORE_IDLE_HEARTBEAT_NS + 2 * NSEC);
	tg_store_tick(st, now + 2 * TG_STORE_IDLE_HEARTBEAT_NS + 2 * NSEC);
	assert_true(count_rows(f->db, "SELECT rev FROM sessions") > r0);
	r0 = count_rows(f->db, "SELECT rev FROM sessions");
	assert_int_equal(end(st, json_object_new_object(), now + 100 * NSEC), 0);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions"), r0 + 1);
	assert_int_equal(count_rows(f->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
					   "'session_rev'"),
			 r0 + 1);
	tg_store_close(st);
	/* a counter of its own: not given again once the session holding it is gone */
	st = open_store(f, 0, 0, 0);
	assert_int_equal(sqlite3_exec(tg_store_db(st), "DELETE FROM sessions", NULL, NULL, NULL),
			 SQLITE_OK);
	begin(st, now + 200 * NSEC);
	assert_int_equal(count_rows(f->db, "SELECT rev FROM sessions"), r0 + 2);
	tg_store_close(st);
}

static void test_forward_marks(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	int64_t hwm[TG_FWD_NSTREAMS] = {0}, again[TG_FWD_NSTREAMS];

	assert_int_equal(tg_store_forward_target(st, "postgresql://u@h/db", hwm), 0);
	for (int i = 0; i < TG_FWD_NSTREAMS; i++)
		assert_int_equal(hwm[i], 0);
	hwm[TG_FWD_FINDINGS] = 7;
	hwm[TG_FWD_SESSIONS] = 2;
	assert_int_equal(tg_store_forwarded(st, "postgresql://u@h/db", hwm), 0);
	assert_int_equal(tg_store_commit(st), 0);
	/* never lowered */
	hwm[TG_FWD_FINDINGS] = 3;
	assert_int_equal(tg_store_forwarded(st, "postgresql://u@h/db", hwm), 0);
	tg_store_close(st);
	st = open_store(f, 0, 0, 0);
	assert_int_equal(tg_store_forward_target(st, "postgresql://u@h/db", again), 0);
	assert_int_equal(again[TG_FWD_FINDINGS], 7);
	assert_int_equal(again[TG_FWD_SESSIONS], 2);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM forward_state"), TG_FWD_NSTREAMS);
	tg_store_close(st);
}

/* Rows a target refused for what they hold: recorded once each; the table is made in place in
 * a file that lacks it (written by a tmpguard before it). */
static void test_forward_refused(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	struct tg_fwd_refused r[2] = {
		{TG_FWD_FINDINGS, 5, "23514", "path /tmp/x is not allowed here"},
		{TG_FWD_HEALTH, 9, "22P02", "invalid input syntax for type json"},
	};
	sqlite3 *db;

	assert_int_equal(tg_store_forward_refused(st, "postgresql://u@h/db", r, 2), 0);
	assert_int_equal(tg_store_forward_refused(st, "postgresql://u@h/db", r, 1), 0);
	assert_int_equal(tg_store_forward_refused(st, "postgresql://u@h/db", r, 0), 0);
	assert_int_equal(tg_store_commit(st), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM forward_refused"), 2);
	assert_int_equal(count_rows(f->db, "SELECT row_id FROM forward_refused WHERE stream = "
					   "'findings' AND sqlstate = '23514' AND reason LIKE "
					   "'%not allowed%'"),
			 5);
	tg_store_close(st);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE forward_refused", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	st = open_store(f, 0, 0, 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM forward_refused"), 0);
	tg_store_close(st);
}

/* Retention by age keeps what a known target has not committed. */
static void test_retention_keeps_unforwarded(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	int64_t hwm[TG_FWD_NSTREAMS] = {0};
	struct tg_retention r = {0};

	assert_int_equal(tg_store_forward_target(st, "T", hwm), 0);
	begin(st, now - 120 * DAY);
	add_n(st, 5, now - 120 * DAY, NSEC, 0);
	assert_int_equal(end(st, json_object_new_object(), now - 119 * DAY), 0);
	tg_store_close(st);
	/* all too old, none forwarded: all kept */
	st = open_store(f, TG_STORE_MAX_AGE_DAYS * DAY, 0, 0);
	assert_int_equal(tg_store_stats(st)->removed.findings, 0);
	assert_int_equal(tg_store_stats(st)->removed.sessions, 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 5);
	/* two forwarded: those two go; the session stays with its other findings */
	hwm[TG_FWD_FINDINGS] = 2;
	assert_int_equal(tg_store_forwarded(st, "T", hwm), 0);
	assert_int_equal(tg_store_retain(st, now, &r), 0);
	assert_int_equal(r.findings, 2);
	assert_int_equal(count_rows(f->db, "SELECT min(id) FROM findings"), 3);
	/* every finding forwarded, but not the session's last change: it stays */
	hwm[TG_FWD_FINDINGS] = 5;
	assert_int_equal(tg_store_forwarded(st, "T", hwm), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(tg_store_retain(st, now, &r), 0);
	assert_int_equal(r.findings, 3);
	assert_int_equal(r.sessions, 0);
	hwm[TG_FWD_SESSIONS] = count_rows(f->db, "SELECT max(rev) FROM sessions");
	assert_int_equal(tg_store_forwarded(st, "T", hwm), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(tg_store_retain(st, now, &r), 0);
	assert_int_equal(r.sessions, 1);
	assert_int_equal(tg_store_stats(st)->evicted_unforwarded, 0);
	tg_store_close(st);
}

/* The size limit evicts what every target has first; what it must take beyond is counted,
 * logged and recorded as a forward gap, per target that lacked it. */
static void test_size_limit_records_gaps(void **state)
{
	struct fx *f = *state;
	const int64_t limit = 1 << 20;
	struct tg_store *st = open_store(f, 0, 0, 0);
	int64_t hwm[TG_FWD_NSTREAMS] = {0}, n_after, gap_rows;

	assert_int_equal(tg_store_forward_target(st, "A", hwm), 0);
	hwm[TG_FWD_FINDINGS] = 1000; /* A has the first 1000 */
	assert_int_equal(tg_store_forward_target(st, "B", (int64_t[TG_FWD_NSTREAMS]){0}), 0);
	begin(st, now - DAY);
	add_n(st, 3000, now - DAY, NSEC, 1500); /* ~ 6 MiB */
	assert_int_equal(tg_store_forwarded(st, "A", hwm), 0);
	assert_int_equal(tg_store_commit(st), 0);
	tg_store_close(st);

	st = open_store(f, 0, limit, 0);
	n_after = count_rows(f->db, "SELECT count(*) FROM findings");
	assert_true(n_after > 0 && n_after < 3000);
	/* B has nothing: every evicted row is a gap for it; A only lacks those above 1000 */
	assert_int_equal(count_rows(f->db, "SELECT sum(evicted) FROM forward_gaps WHERE target = "
					   "'B'"),
			 3000 - n_after);
	gap_rows = count_rows(f->db, "SELECT COALESCE(sum(evicted), 0) FROM forward_gaps WHERE "
				     "target = 'A'");
	assert_int_equal(gap_rows, 3000 - n_after - 1000 > 0 ? 3000 - n_after - 1000 : 0);
	assert_true(count_rows(f->db, "SELECT min(first_id) FROM forward_gaps WHERE target = "
				      "'B'") == 1);
	assert_true(count_rows(f->db, "SELECT min(from_ns) FROM forward_gaps WHERE target = "
				      "'B'") == now - DAY);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM forward_gaps WHERE session_key "
					   "= (SELECT key FROM sessions)"),
			 count_rows(f->db, "SELECT count(*) FROM forward_gaps"));
	assert_int_equal(tg_store_stats(st)->evicted_unforwarded, 3000 - n_after);
	assert_true(tg_store_stats(st)->forward_gaps >= 1);
	assert_non_null(strstr(logged(f), "that B did not have yet (ids 1 to"));
	assert_non_null(strstr(logged(f), "recorded as a forward gap"));
	tg_store_close(st);
}

/* ---- unclean sessions ---- */

static void test_unclean_session_after_sigkill(void **state)
{
	struct fx *f = *state;
	struct tg_store *st;
	int64_t last;
	pid_t child;
	int status;

	/* A writer that commits 10 findings, leaves 5 in the open batch, and is SIGKILLed. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct tg_store_opts o = {.batch_rows = 1000};
		char err[512];

		st = tg_store_open(f->db, &o, now, err, sizeof(err));
		if (!st)
			_exit(1);
		begin(st, now);
		add_n(st, 10, now, NSEC, 0);
		tg_store_tick(st, now + NSEC / 2); /* the batch is younger than 1 s */
		tg_store_tick(st, now + 5 * NSEC); /* commits: complete until the last tick */
		add_n(st, 5, now + 20 * NSEC, NSEC, 0);
		raise(SIGKILL);
		_exit(2);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	last = count_rows(f->db, "SELECT last_commit_ns FROM sessions");
	assert_true(last == now + NSEC / 2 - TG_STORE_INFLIGHT_NS);
	st = open_store(f, 0, 0, 0);
	assert_int_equal(tg_store_stats(st)->unclean_found, 1);
	assert_non_null(strstr(logged(f), "tmpguard: the previous session (pid 4242, started "
					  "2026-11-28T06:30:00.000000000Z) did not stop cleanly; "
					  "findings after 2026-11-28T06:30:00.250000000Z may be "
					  "missing"));
	/* the committed batch is whole, the open one is gone, the file is intact */
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM findings"), 10);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM pragma_integrity_check WHERE "
					   "integrity_check = 'ok'"),
			 1);
	/* marked: ended at its last commit, still not clean, said once */
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM sessions WHERE clean = 0 AND "
					   "ended_ns = last_commit_ns"),
			 1);
	tg_store_close(st);
	st = open_store(f, 0, 0, 0);
	assert_int_equal(tg_store_stats(st)->unclean_found, 0);
	tg_store_close(st);
}

/* ---- query ---- */

static int64_t *run_query(struct fx *f, const struct tg_query *q, int *n)
{
	static int64_t pids[64];
	char err[512];
	sqlite3 *db = tg_store_open_read(f->db, err, sizeof(err));
	sqlite3_stmt *s;

	assert_non_null(db);
	s = tg_query_prepare(db, q);
	if (!s)
		fail_msg("tg_query_prepare: %s", sqlite3_errmsg(db));
	*n = 0;
	while (sqlite3_step(s) == SQLITE_ROW && *n < 64) {
		json_object *o = json_tokener_parse((const char *)sqlite3_column_text(s, 0)), *p,
			    *v;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "proc", &p));
		assert_true(json_object_object_get_ex(p, "pid", &v));
		pids[(*n)++] = json_object_get_int64(v);
		json_object_put(o);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return pids;
}

#define EXPECT_PIDS(q, ...)                                                                        \
	do {                                                                                       \
		const int64_t want[] = {__VA_ARGS__};                                              \
		int n_;                                                                            \
		int64_t *got = run_query(f, q, &n_);                                               \
		assert_int_equal(n_, sizeof(want) / sizeof(want[0]));                              \
		for (int i_ = 0; i_ < n_; i_++)                                                    \
			assert_int_equal(got[i_], want[i_]);                                       \
	} while (0)

#define EXPECT_NONE(q)                                                                             \
	do {                                                                                       \
		int n_;                                                                            \
		run_query(f, q, &n_);                                                              \
		assert_int_equal(n_, 0);                                                           \
	} while (0)

static void test_query_filters(void **state)
{
	struct fx *f = *state;
	struct tg_store *st = open_store(f, 0, 0, 0);
	static const char cid_a[] =
		"aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888";
	static const char cid_b[] =
		"aaaa1112bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888";
	const struct spec rows[] = {
		{now - 3 * 3600 * NSEC, TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, 1, 0,
		 "/usr/bin/dash", "/tmp/build.1", NULL, 0},
		{now - 2 * 3600 * NSEC, TG_RULE_LOOSE_MODE, TG_SEV_MEDIUM, 2, 1000,
		 "/usr/bin/python3.11", "/tmp/build.2", cid_a, 0},
		{now - 3600 * NSEC, TG_RULE_SYMLINK_FOLLOW, TG_SEV_CRITICAL, 3, 1000, "/opt/dash",
		 "/var/tmp/[x]*'q", cid_b, 0},
		{now - 60 * NSEC, TG_RULE_INHERITABLE_FD, TG_SEV_LOW, 4, 0, "dash", "/tmp/BUILD.4",
		 NULL, 0},
		{now - 30 * NSEC, TG_RULE_CHECK_THEN_CREATE, TG_SEV_HIGH, 5, 65534,
		 "/usr/bin/xdash", "/tmp/build.5/sub", cid_a, 0},
	};
	struct tg_query q;

	begin(st, now - 4 * 3600 * NSEC);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		add(st, &rows[i]);
	tg_store_close(st); /* commits; an unclean session does not matter to queries */

	tg_query_init(&q);
	EXPECT_PIDS(&q, 1, 2, 3, 4, 5); /* no filter: everything, oldest first */
	q.has_since = true;
	q.since_ns = now - 2 * 3600 * NSEC; /* inclusive */
	EXPECT_PIDS(&q, 2, 3, 4, 5);
	q.has_until = true;
	q.until_ns = now - 60 * NSEC; /* exclusive */
	EXPECT_PIDS(&q, 2, 3);

	tg_query_init(&q);
	q.rule = "loose-mode";
	EXPECT_PIDS(&q, 2);
	tg_query_init(&q);
	q.severity = TG_SEV_HIGH; /* high and above */
	EXPECT_PIDS(&q, 1, 3, 5);
	q.severity = TG_SEV_LOW;
	EXPECT_PIDS(&q, 1, 2, 3, 4, 5);

	/* exe: the full path, or the basename, never a suffix of a name */
	tg_query_init(&q);
	q.exe = "dash";
	EXPECT_PIDS(&q, 1, 3, 4);
	q.exe = "/usr/bin/dash";
	EXPECT_PIDS(&q, 1);
	q.exe = "ash";
	EXPECT_NONE(&q);
	q.exe = "bin/dash";
	EXPECT_PIDS(&q, 1);

	tg_query_init(&q);
	q.has_pid = true;
	q.pid = 4;
	EXPECT_PIDS(&q, 4);
	tg_query_init(&q);
	q.has_uid = true;
	q.uid = 1000;
	EXPECT_PIDS(&q, 2, 3);

	/* container: a prefix (the short id), or the whole id */
	tg_query_init(&q);
	q.container = "aaaa1111bbbb";
	EXPECT_PIDS(&q, 2, 5);
	q.container = "aaaa111";
	EXPECT_PIDS(&q, 2, 3, 5);
	q.container = cid_b;
	EXPECT_PIDS(&q, 3);
	q.container = "b";
	EXPECT_NONE(&q);

	/* path: GLOB, case-sensitive, '*' crosses '/', brackets are classes */
	tg_query_init(&q);
	q.path_glob = "/tmp/build.*";
	EXPECT_PIDS(&q, 1, 2, 5);
	q.path_glob = "/tmp/build.[12]";
	EXPECT_PIDS(&q, 1, 2);
	q.path_glob = "/var/tmp/[[]x]*'q"; /* a literal '[' and a quote in the pattern */
	EXPECT_PIDS(&q, 3);
	q.path_glob = "*'*";
	EXPECT_PIDS(&q, 3);
	/* hostile values are values: no SQL is ever spliced */
	q.path_glob = "' OR 1=1; DROP TABLE findings; --";
	EXPECT_NONE(&q);
	tg_query_init(&q);
	q.exe = "x' OR '1'='1";
	EXPECT_NONE(&q);
	q.exe = NULL;
	q.rule = "\"; DELETE FROM findings; --";
	EXPECT_NONE(&q);
	tg_query_init(&q);
	EXPECT_PIDS(&q, 1, 2, 3, 4, 5);

	/* filters combine with AND */
	tg_query_init(&q);
	q.exe = "dash";
	q.severity = TG_SEV_HIGH;
	q.path_glob = "/tmp/*";
	EXPECT_PIDS(&q, 1);

	/* limit: the newest N, oldest first */
	tg_query_init(&q);
	q.limit = 2;
	EXPECT_PIDS(&q, 4, 5);
	q.rule = "nonexclusive-create";
	EXPECT_PIDS(&q, 1);
}

/* ---- rendering ---- */

static void check_cell(const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	tg_csv_field(m, in);
	fclose(m);
	assert_string_equal(buf, want);
	free(buf);
}

static void test_csv_cells(void **state)
{
	(void)state;
	check_cell("", "");
	check_cell("/tmp/x", "/tmp/x");
	check_cell("a,b", "\"a,b\"");
	check_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
	/* no raw control byte: line breaks and escapes in their printable form */
	check_cell("line\nbreak", "line\\nbreak");
	check_cell("cr\rx", "cr\\rx");
	check_cell("\x1b[31mred", "\\x1b[31mred");
	/* formula injection: = + - @ (and tab, CR) lead to a quoted-as-text cell */
	check_cell("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"");
	check_cell("+1", "\"'+1\"");
	check_cell("-2", "\"'-2\"");
	check_cell("@SUM(A1)", "\"'@SUM(A1)\"");
	check_cell("\tx", "\"'\\tx\"");
	check_cell("a=b", "a=b");
	check_cell("'already", "'already");
}

static void test_csv_and_text_rows(void **state)
{
	struct spec s = {now,
			 TG_RULE_NONEXCLUSIVE_CREATE,
			 TG_SEV_HIGH,
			 42,
			 0,
			 "/usr/bin/bash",
			 "/tmp/a,\"b\"\n=c\x1b[31m",
			 NULL,
			 0};
	json_object *o = finding(&s).json;
	const char *head = "time,host,rule,severity,cwe,action,syscall,path,flags,mode,"
			   "effective_mode,pid,ppid,uid,user,comm,exe,cmdline,container_id,"
			   "container_runtime,ancestry,pattern,language,count,advice\r\n";
	const char *row = "2026-11-28T06:30:00.000000000Z,testhost,nonexclusive-create,high,"
			  "CWE-377,alert,openat,\"/tmp/a,\"\"b\"\"\\n=c\\x1b[31m\","
			  "O_WRONLY|O_CREAT|O_TRUNC,0666,0644,42,1,0,u0,bash,/usr/bin/bash,"
			  "/usr/bin/bash,,,1 sh < 1 init,,c,1,";
	char *buf = NULL, *line2;
	size_t len = 0;
	FILE *m;

	(void)state;
	m = open_memstream(&buf, &len);
	assert_int_equal(tg_query_csv_header(m), 0);
	assert_int_equal(tg_query_csv_row(m, o), 0);
	fclose(m);
	/* the columns of report --format csv too (finding_csv.c, docs/schema/README.md) */
	assert_true(!strncmp(buf, head, strlen(head)));
	line2 = buf + strlen(head);
	/* the path cell is quoted, its quotes doubled, its newline and ESC printable; lists
	 * joined by '|'; a null container id an empty cell */
	assert_true(!strncmp(line2, row, strlen(row)));
	assert_non_null(strstr(line2, "\r\n"));
	free(buf);

	buf = NULL;
	m = open_memstream(&buf, &len);
	assert_int_equal(tg_query_text_row(m, o), 0);
	fclose(m);
	/* two lines, no raw control byte but the line ends */
	for (size_t i = 0; i < len; i++)
		assert_true(buf[i] == '\n' || ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f));
	assert_non_null(strstr(buf, "2026-11-28T06:30:00.000000000Z  HIGH  nonexclusive-create  "
				    "host testhost  pid 42 bash (/usr/bin/bash)  uid 0 (u0)  path "
				    "/tmp/a,\"b\"\\n=c\\x1b[31m\n"));
	assert_non_null(strstr(buf, "\n  ancestry 1 sh < 1 init\n"));
	free(buf);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_maps_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_columns_and_verbatim_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_columns_of_raw_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_revs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_keeps_unforwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit_records_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclean_session_after_sigkill, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_query_filters, setup, teardown),
		cmocka_unit_test(test_csv_cells),
		cmocka_unit_test(test_csv_and_text_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
