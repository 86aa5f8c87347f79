// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The event store's writer and read helpers (SQLite). open -> begin (the session record) ->
 * findings, losses and health records into batches (tg_store_record), committed by tick/commit
 * -> end (summary, clean) -> close. Columns come from the typed records, bodies are their JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "finding.h"
#include "store.h"
#include "store_schema.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* What a reader maps of the database file (tg_store_open_read): twice the default size limit
 * (TG_STORE_MAX_SIZE_MIB), as the pragma takes it. */
#define TG_STORE_READ_MMAP "2147483648"

struct tg_store {
	sqlite3 *db;
	/* The database file as we opened (or created) it. Kept open until sqlite3_close(): it
	 * holds the one-writer flock, and closing any descriptor of the file would drop the
	 * POSIX locks sqlite holds on it (fcntl locks belong to the process, not the fd). */
	int fd;
	char *path;
	struct tg_store_opts o;
	sqlite3_stmt *ins_finding, *ins_loss, *ins_health, *ins_session, *upd_commit, *upd_end;
	sqlite3_stmt *upd_rev;	/* meta's session_rev */
	int64_t rev;		/* the last session_rev given */
	int64_t rev_commit_ns;	/* last_commit_ns when the session's rev last changed */
	int64_t session;	/* our sessions.id, 0 before tg_store_begin() */
	bool in_tx;		/* a batch is open */
	unsigned pending;	/* rows in it */
	int64_t tx_started_ns;	/* tick time when it was opened */
	int64_t now_ns;		/* the last tick's time */
	int64_t mark_ns;	/* the tick before: records older than it are handled */
	int64_t handled_ns;	/* every record before this was handled when it was set */
	int64_t last_commit_ns; /* sessions.last_commit_ns as last written */
	int64_t last_retain_ns; /* when retention last ran */
	bool insert_failed;	/* an insert failure was logged (once) */
	bool falco;		/* an HTTP target is known: rows keep their Falco form */
	struct tg_store_stats stats;
};

static void logf_(const struct tg_store *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(const struct tg_store *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->o.log)
		return;
	va_start(ap, fmt);
	fputs("tmpguard: ", st->o.log);
	vfprintf(st->o.log, fmt, ap);
	fputc('\n', st->o.log);
	va_end(ap);
}

/* ---- statements ---- */

static int exec(struct tg_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		logf_(st, "database %s: %s: %s", st->path, sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Steps a statement that returns no rows, then resets it. Returns the sqlite code. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One integer from a query such as "PRAGMA page_count"; -1 on error. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int begin_tx(struct tg_store *st)
{
	if (st->in_tx)
		return 0;
	/* IMMEDIATE: take the write lock now, not half-way through the batch. */
	if (exec(st, "BEGIN IMMEDIATE"))
		return -1;
	st->in_tx = true;
	st->pending = 0;
	st->tx_started_ns = st->now_ns;
	return 0;
}

/*
 * The next session_rev, recorded in meta within the open transaction: a session row that
 * changes takes it, and the forwarder sends sessions whose rev passed its mark. A counter of
 * its own, not max(rev) + 1: that would be given again once retention deleted the session
 * that held it. -1 on failure.
 */
static int64_t next_rev(struct tg_store *st)
{
	sqlite3_bind_int64(st->upd_rev, 1, st->rev + 1);
	if (step_done(st->upd_rev) != SQLITE_OK)
		return -1;
	return ++st->rev;
}

/* Commits the open batch, recording how far it is complete in sessions.last_commit_ns. */
static int commit_tx(struct tg_store *st, int64_t last_commit_ns)
{
	int rc;

	if (!st->in_tx)
		return 0;
	if (last_commit_ns < st->last_commit_ns)
		last_commit_ns = st->last_commit_ns;
	if (st->session) {
		sqlite3_bind_int64(st->upd_commit, 1, last_commit_ns);
		sqlite3_bind_int64(st->upd_commit, 2, st->session);
		/* A new rev (the session is sent again) when the commit time moved on by a
		 * heartbeat: the fleet sees the host alive without a row a second per host. */
		if (last_commit_ns - st->rev_commit_ns >= TG_STORE_IDLE_HEARTBEAT_NS) {
			int64_t rev = next_rev(st);

			if (rev > 0) {
				sqlite3_bind_int64(st->upd_commit, 3, rev);
				st->rev_commit_ns = last_commit_ns;
			}
		}
		rc = step_done(st->upd_commit);
		if (rc != SQLITE_OK)
			logf_(st, "database %s: cannot record the commit time: %s", st->path,
			      sqlite3_errmsg(st->db));
	}
	rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		st->stats.commit_failures++;
		if (sqlite3_get_autocommit(st->db)) {
			/* sqlite rolled the batch back (disk full, I/O error): it is gone. */
			logf_(st, "database %s: a batch of %u rows was lost: %s", st->path,
			      st->pending, sqlite3_errmsg(st->db));
			st->in_tx = false;
			st->pending = 0;
		} else {
			logf_(st, "database %s: commit failed, retrying at the next tick: %s",
			      st->path, sqlite3_errmsg(st->db));
		}
		return -1;
	}
	st->in_tx = false;
	st->pending = 0;
	st->last_commit_ns = last_commit_ns;
	st->stats.commits++;
	return 0;
}

/* Everything handled before this is in the batch: the safe last_commit_ns now. */
static int64_t complete_until(const struct tg_store *st)
{
	return st->handled_ns - TG_STORE_INFLIGHT_NS;
}

int tg_store_commit(struct tg_store *st)
{
	return st ? commit_tx(st, complete_until(st)) : 0;
}

/* ---- opening ---- */

/* The directory must be writable only by its owner, root or us: sqlite creates the -wal and
 * -shm files next to the database with O_CREAT but without O_EXCL. */
static int check_dir(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path), *dir;
	struct stat sb;
	int ret = -1;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	dir = dirname(copy);
	if (stat(dir, &sb)) {
		snprintf(err, errlen, "cannot use the database %s: directory %s: %s", path, dir,
			 strerror(errno));
	} else if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "cannot use the database %s: %s is not a directory", path,
			 dir);
	} else if ((sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022)) {
		snprintf(
			err, errlen,
			"refusing the database %s: its directory %s is %s (sqlite creates %s-wal "
			"and %s-shm there, and others could plant them); use a directory only root "
			"can write to, such as /var/lib/tmpguard",
			path, dir,
			(sb.st_mode & 022) ? "writable by group or others"
					   : "owned by another user",
			path, path);
	} else {
		ret = 0;
	}
	free(copy);
	return ret;
}

/* Opens the database file itself: an existing regular file of ours, never through a symlink,
 * or a new one created 0600 with O_EXCL. Returns the fd or -1. */
static int open_db_file(const char *path, bool *created, char *err, size_t errlen)
{
	struct stat sb;
	int fd = -1;

	*created = false;
	for (int tries = 0; tries < 3 && fd < 0; tries++) {
		/* O_NONBLOCK: a FIFO planted here must not hang us before the S_ISREG check. */
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno == ELOOP) {
			snprintf(err, errlen,
				 "refusing the database %s: it is a symbolic link (remove it, or "
				 "give the real path)",
				 path);
			return -1;
		}
		if (errno != ENOENT)
			goto fail;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			*created = true;
		else if (errno != EEXIST)
			goto fail; /* EEXIST: created meanwhile, open it as an existing file */
	}
	if (fd < 0)
		goto fail;
	if (fstat(fd, &sb))
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "refusing the database %s: not a regular file", path);
	} else if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "refusing the database %s: it is owned by uid %u, not root (whoever owns "
			 "it can rewrite the findings)",
			 path, sb.st_uid);
	} else if (sb.st_mode & 022) {
		snprintf(err, errlen,
			 "refusing the database %s: it is writable by group or others (chmod 600 "
			 "it)",
			 path);
	} else {
		return fd;
	}
	close(fd);
	return -1;
fail:
	snprintf(err, errlen, "cannot open the database %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int tg_store_schema_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
			  "'meta'") == 0)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = atoi((const char *)sqlite3_column_text(s, 0));
	else
		v = 0;
	sqlite3_finalize(s);
	return v;
}

/* Checks that db holds tmpguard's schema, of a version from min to TG_STORE_SCHEMA_VERSION;
 * returns it, or -1 with err set. */
static int check_schema(sqlite3 *db, const char *path, int min, char *err, size_t errlen)
{
	int v = tg_store_schema_version(db);

	if (v >= min && v <= TG_STORE_SCHEMA_VERSION)
		return v;
	if (v < 0)
		snprintf(err, errlen, "cannot read the database %s: %s", path, sqlite3_errmsg(db));
	else if (v == 0)
		snprintf(err, errlen, "%s is not a tmpguard database (no schema version in meta)",
			 path);
	else
		snprintf(err, errlen,
			 "the database %s has store schema version %d; this tmpguard reads "
			 "versions %d to %d (use a new file, or the tmpguard that wrote it)",
			 path, v, min, TG_STORE_SCHEMA_VERSION);
	return -1;
}

/*
 * Version 1 -> 2 in place, in one transaction: SQLite cannot add AUTOINCREMENT to a table, so
 * each table is rebuilt (sqlite.org/lang_altertable.html, "other kinds of table schema
 * changes": foreign keys off, new tables, copy, drop, rename, indexes, foreign_key_check).
 * Ids are kept, so that what `query` printed before still names the same rows; every session
 * gets a random key and a rev in id order, host_id is the host's identity now (a file is
 * written where its writer runs).
 */
static const char migrate_v1_sql[] =
	"CREATE TABLE sessions_v2(id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, "
	"started_ns INTEGER NOT NULL, ended_ns INTEGER, last_commit_ns INTEGER, clean INTEGER NOT "
	"NULL DEFAULT 0, json TEXT NOT NULL, summary TEXT, host_id TEXT, key INTEGER NOT NULL "
	"UNIQUE DEFAULT (random()), rev INTEGER NOT NULL DEFAULT 0);\n"
	"INSERT INTO sessions_v2(id, host, started_ns, ended_ns, last_commit_ns, clean, json, "
	"summary, host_id, rev) SELECT id, host, started_ns, ended_ns, last_commit_ns, clean, "
	"json, summary, COALESCE(@host_id, host), id FROM sessions ORDER BY id;\n"
	"CREATE TABLE findings_v2(id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL "
	"REFERENCES sessions(id) ON DELETE CASCADE, time_ns INTEGER NOT NULL, host TEXT NOT NULL, "
	"rule TEXT NOT NULL, severity TEXT NOT NULL, severity_level INTEGER NOT NULL, action TEXT "
	"NOT NULL, pid INTEGER NOT NULL, ppid INTEGER NOT NULL, uid INTEGER NOT NULL, exe TEXT NOT "
	"NULL, comm TEXT NOT NULL, path TEXT NOT NULL, container_id TEXT, json TEXT NOT NULL);\n"
	"INSERT INTO findings_v2 SELECT id, session, time_ns, host, rule, severity, "
	"severity_level, action, pid, ppid, uid, exe, comm, path, container_id, json FROM findings "
	"ORDER BY id;\n"
	"CREATE TABLE losses_v2(id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL "
	"REFERENCES sessions(id) ON DELETE CASCADE, from_ns INTEGER NOT NULL, to_ns INTEGER NOT "
	"NULL, lost INTEGER NOT NULL, json TEXT NOT NULL);\n"
	"INSERT INTO losses_v2 SELECT id, session, from_ns, to_ns, lost, json FROM losses ORDER BY "
	"id;\n"
	"CREATE TABLE health_v2(id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL "
	"REFERENCES sessions(id) ON DELETE CASCADE, time_ns INTEGER NOT NULL, status TEXT NOT "
	"NULL, json TEXT NOT NULL);\n"
	"INSERT INTO health_v2 SELECT id, session, time_ns, status, json FROM health ORDER BY id;\n"
	"DROP TABLE findings;\n"
	"DROP TABLE losses;\n"
	"DROP TABLE health;\n"
	"DROP TABLE sessions;\n"
	"ALTER TABLE sessions_v2 RENAME TO sessions;\n"
	"ALTER TABLE findings_v2 RENAME TO findings;\n"
	"ALTER TABLE losses_v2 RENAME TO losses;\n"
	"ALTER TABLE health_v2 RENAME TO health;\n"
	"INSERT OR REPLACE INTO meta(key, value) SELECT 'session_rev', COALESCE(max(rev), 0) FROM "
	"sessions;\n";

/* The statements of sql, one after the other, with @host_id bound where it occurs. */
static int exec_script(struct tg_store *st, const char *sql, const char *host_id)
{
	const char *tail = sql;

	while (*tail) {
		sqlite3_stmt *s = NULL;
		int rc = sqlite3_prepare_v2(st->db, tail, -1, &s, &tail);

		if (rc != SQLITE_OK)
			return -1;
		if (!s)
			continue; /* whitespace at the end */
		if (sqlite3_bind_parameter_index(s, "@host_id"))
			sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, "@host_id"), host_id,
					  -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return -1;
	}
	return 0;
}

static int migrate_v1(struct tg_store *st, char *err, size_t errlen)
{
	char sql[128];

	/* Not inside a transaction: SQLite ignores the pragma there. */
	if (exec(st, "PRAGMA foreign_keys = OFF") || exec(st, "BEGIN IMMEDIATE"))
		goto fail;
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
		 TG_STORE_SCHEMA_VERSION);
	if (exec_script(st, migrate_v1_sql, st->o.host_id) || exec(st, TG_STORE_SCHEMA) ||
	    query_int(st->db, "SELECT count(*) FROM pragma_foreign_key_check") != 0 ||
	    exec(st, sql)) {
		snprintf(err, errlen,
			 "cannot migrate the database %s from store schema version 1 to %d: %s "
			 "(it is left as it was)",
			 st->path, TG_STORE_SCHEMA_VERSION, sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		exec(st, "PRAGMA foreign_keys = ON");
		return -1;
	}
	if (exec(st, "COMMIT") || exec(st, "PRAGMA foreign_keys = ON"))
		goto fail;
	st->stats.migrated = true;
	logf_(st, "database %s: migrated from store schema version 1 to %d", st->path,
	      TG_STORE_SCHEMA_VERSION);
	return 0;
fail:
	snprintf(err, errlen, "cannot migrate the database %s: %s", st->path,
		 sqlite3_errmsg(st->db));
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* A new, empty database: incremental auto-vacuum (only settable before the first table),
 * WAL, the schema and its version, in one transaction. */
static int create_schema(struct tg_store *st, char *err, size_t errlen)
{
	char sql[128];

	if (exec(st, "PRAGMA auto_vacuum = INCREMENTAL") || exec(st, "PRAGMA journal_mode = WAL") ||
	    exec(st, "BEGIN IMMEDIATE"))
		goto fail;
	snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value) VALUES ('schema_version', '%d')",
		 TG_STORE_SCHEMA_VERSION);
	if (exec(st, TG_STORE_SCHEMA) || exec(st, sql) || exec(st, "COMMIT")) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot create the schema in %s: %s", st->path,
		 sqlite3_errmsg(st->db));
	return -1;
}

static int prepare(struct tg_store *st, sqlite3_stmt **s, const char *sql)
{
	return sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) == SQLITE_OK
		       ? 0
		       : -1;
}

/*
 * Sessions that are neither clean nor ended stopped without tg_store_end(): a crash or kill -9.
 * We hold the writer's lock, so none of them is still running. Say so once, and end them at
 * their last commit so that the next start does not say it again.
 */
static void report_unclean(struct tg_store *st)
{
	sqlite3_stmt *s, *u;
	char t1[64], t2[64];

	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, started_ns, COALESCE(last_commit_ns, started_ns), json "
			       "FROM sessions WHERE clean = 0 AND ended_ns IS NULL ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(st->db, "UPDATE sessions SET ended_ns = ?1, rev = ?3 WHERE id = ?2",
			       -1, &u, NULL) != SQLITE_OK) {
		sqlite3_finalize(s);
		return;
	}
	if (begin_tx(st)) {
		sqlite3_finalize(s);
		sqlite3_finalize(u);
		return;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *js = (const char *)sqlite3_column_text(s, 3);
		json_object *o = js ? json_tokener_parse(js) : NULL;
		int64_t pid = tg_json_int(o, "pid", -1), last = sqlite3_column_int64(s, 2);

		json_object_put(o);
		tg_format_time(sqlite3_column_int64(s, 1), t1, sizeof(t1));
		tg_format_time(last, t2, sizeof(t2));
		logf_(st,
		      "the previous session (pid %lld, started %s) did not stop cleanly; findings "
		      "after %s may be missing",
		      (long long)pid, t1, t2);
		sqlite3_bind_int64(u, 1, last);
		sqlite3_bind_int64(u, 2, sqlite3_column_int64(s, 0));
		sqlite3_bind_int64(u, 3, next_rev(st));
		if (step_done(u) != SQLITE_OK)
			logf_(st, "database %s: cannot mark session %lld: %s", st->path,
			      (long long)sqlite3_column_int64(s, 0), sqlite3_errmsg(st->db));
		st->stats.unclean_found++;
	}
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	commit_tx(st, st->last_commit_ns);
}

/*
 * The Falco form of a row (an HTTP target's body, http_post.h) in a column of its own, added
 * in place to a file that lacks it: an older tmpguard still reads and writes the file (its
 * inserts name their columns), so this is no new schema version.
 */
static int add_falco_columns(struct tg_store *st)
{
	static const char *const tables[] = {"findings", "losses", "health"};
	char sql[160];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pragma_table_info('%s') WHERE name = 'falco'",
			 tables[i]);
		if (query_int(st->db, sql) > 0)
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN falco TEXT", tables[i]);
		if (exec(st, sql))
			return -1;
	}
	return 0;
}

static bool http_target_known(sqlite3 *db)
{
	return query_int(db, "SELECT count(*) FROM forward_state WHERE target LIKE 'http://%' OR "
			     "target LIKE 'https://%'") > 0;
}

/* The record's Falco form (the session renders it, opts' falco) while an HTTP target is known;
 * NULL otherwise (caller frees). */
static char *falco_form(struct tg_store *st, const struct tg_record *rec)
{
	return st->falco && st->o.falco ? st->o.falco(rec) : NULL;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, char *text)
{
	if (text)
		sqlite3_bind_text(s, i, text, -1, free);
	else
		sqlite3_bind_null(s, i);
}

struct tg_store *tg_store_open(const char *path, const struct tg_store_opts *o, int64_t now_ns,
			       char *err, size_t errlen)
{
	struct tg_store *st = calloc(1, sizeof(*st));
	struct stat a, b;
	bool created;
	const char *jm;
	sqlite3_stmt *s;
	int rc;

	if (!st || !(st->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(st);
		return NULL;
	}
	st->fd = -1;
	st->o = *o;
	if (!st->o.batch_rows)
		st->o.batch_rows = TG_STORE_BATCH_ROWS;
	if (!st->o.commit_interval_ns)
		st->o.commit_interval_ns = TG_STORE_COMMIT_NS;
	st->now_ns = st->mark_ns = st->handled_ns = st->last_retain_ns = now_ns;

	if (check_dir(path, err, errlen))
		goto fail;
	st->fd = open_db_file(path, &created, err, errlen);
	if (st->fd < 0)
		goto fail;
	if (flock(st->fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen,
			 errno == EWOULDBLOCK
				 ? "the database %s is already being written by another tmpguard"
				 : "cannot lock the database %s: %s",
			 path, strerror(errno));
		goto fail;
	}
	/* The main file exists now, so sqlite only opens it; it creates -wal and -shm later
	 * with this file's permission bits (0600 when we created it), whatever the umask. */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the database %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	/* What sqlite opened is what we checked. */
	if (fstat(st->fd, &a) || lstat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		snprintf(err, errlen, "the database %s was replaced while opening it", path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* Waits this long for a lock (a checkpoint, an external writer) instead of failing with
	 * SQLITE_BUSY; readers never block us in WAL mode. */
	sqlite3_busy_timeout(st->db, TG_STORE_BUSY_TIMEOUT_MS);
	/* temp_store = MEMORY: no sqlite temporary file in /var/tmp or /tmp (tmpguard would
	 * report its own 0644 temporaries). */
	if (exec(st, "PRAGMA foreign_keys = ON") || exec(st, "PRAGMA temp_store = MEMORY"))
		goto sqlfail;
	if (query_int(st->db, "SELECT count(*) FROM sqlite_master") == 0) {
		if (create_schema(st, err, errlen))
			goto fail;
	} else {
		int v = check_schema(st->db, path, 1, err, errlen);

		if (v < 0 || (v == 1 && migrate_v1(st, err, errlen)))
			goto fail;
	}
	if (add_falco_columns(st) || exec(st, TG_STORE_SCHEMA_REFUSED))
		goto sqlfail;
	st->falco = http_target_known(st->db);
	st->rev = query_int(st->db, "SELECT max(COALESCE((SELECT CAST(value AS INTEGER) FROM meta "
				    "WHERE key = 'session_rev'), 0), COALESCE((SELECT max(rev) "
				    "FROM sessions), 0))");
	if (st->rev < 0)
		goto sqlfail;
	/*
	 * WAL: readers (query, report) read while we write. synchronous = NORMAL: a commit is
	 * written to the WAL without fsync, which is synced at checkpoints. A process crash
	 * (kill -9, a segfault) loses nothing committed, since the WAL is in the page cache; a
	 * power loss or kernel crash may lose the last commits before a checkpoint, but never
	 * corrupts the database.
	 */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	jm = sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	if (!jm || strcmp(jm, "wal")) {
		snprintf(err, errlen, "cannot put the database %s in WAL mode (journal mode %s)",
			 path, jm ? jm : sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		goto fail;
	}
	sqlite3_finalize(s);
	if (exec(st, "PRAGMA synchronous = NORMAL"))
		goto sqlfail;
	if (prepare(st, &st->ins_finding,
		    "INSERT INTO findings(session, time_ns, host, rule, severity, severity_level, "
		    "action, pid, ppid, uid, exe, comm, path, container_id, json, falco) VALUES "
		    "(?1, "
		    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)") ||
	    prepare(st, &st->ins_loss,
		    "INSERT INTO losses(session, from_ns, to_ns, lost, json, falco) VALUES (?1, "
		    "?2, "
		    "?3, ?4, ?5, ?6)") ||
	    prepare(st, &st->ins_health,
		    "INSERT INTO health(session, time_ns, status, json, falco) VALUES (?1, ?2, ?3, "
		    "?4, ?5)") ||
	    prepare(st, &st->ins_session,
		    "INSERT INTO sessions(host, started_ns, last_commit_ns, clean, json, host_id, "
		    "rev) VALUES (?1, ?2, ?2, 0, ?3, ?4, ?5)") ||
	    prepare(st, &st->upd_commit,
		    "UPDATE sessions SET last_commit_ns = ?1, rev = COALESCE(?3, rev) WHERE id = "
		    "?2") ||
	    prepare(st, &st->upd_end,
		    "UPDATE sessions SET summary = ?1, ended_ns = ?2, last_commit_ns = ?2, clean = "
		    "1, rev = ?4 WHERE id = ?3") ||
	    prepare(st, &st->upd_rev,
		    "INSERT OR REPLACE INTO meta(key, value) VALUES ('session_rev', ?1)"))
		goto sqlfail;
	report_unclean(st);
	if (tg_store_retain(st, now_ns, &st->stats.removed)) {
		snprintf(err, errlen, "retention on the database %s failed: %s", path,
			 sqlite3_errmsg(st->db));
		goto fail;
	}
	return st;
sqlfail:
	snprintf(err, errlen, "cannot prepare the database %s: %s", path, sqlite3_errmsg(st->db));
fail:
	tg_store_close(st);
	return NULL;
}

void tg_store_close(struct tg_store *st)
{
	if (!st)
		return;
	if (st->db && st->in_tx)
		commit_tx(st, complete_until(st));
	sqlite3_finalize(st->ins_finding);
	sqlite3_finalize(st->ins_loss);
	sqlite3_finalize(st->ins_health);
	sqlite3_finalize(st->ins_session);
	sqlite3_finalize(st->upd_commit);
	sqlite3_finalize(st->upd_end);
	sqlite3_finalize(st->upd_rev);
	sqlite3_close(st->db);
	if (st->fd >= 0)
		close(st->fd); /* after sqlite3_close: see struct tg_store */
	free(st->path);
	free(st);
}

/* ---- writing ---- */

static const char *json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_FLAGS);
}

/* A string of the record as its JSON form holds it (tg_json_bytes: bytes that are not UTF-8 in
 * the lossless \xNN form), so that a column matches what query and report read back. Caller
 * frees; NULL on ENOMEM. */
static char *json_bytes(const char *s)
{
	return tg_json_bytes_dup(s, strlen(s), NULL);
}

int tg_store_begin(struct tg_store *st, const struct tg_record *rec)
{
	const struct tg_session_info *si = rec->kind == TG_RECORD_SESSION ? rec->session : NULL;
	char *host;
	int rc;

	if (!si || !rec->json) {
		logf_(st,
		      "database %s: a session begins with the session record, typed and in JSON",
		      st->path);
		return -1;
	}
	if (commit_tx(st, complete_until(st)) && st->in_tx)
		return -1;
	host = json_bytes(si->host ? si->host : "");
	if (!host) {
		logf_(st, "database %s: cannot record the session: out of memory", st->path);
		return -1;
	}
	if (begin_tx(st)) {
		free(host);
		return -1;
	}
	sqlite3_bind_text(st->ins_session, 1, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->ins_session, 2, si->time_ns);
	sqlite3_bind_text(st->ins_session, 3, json_text(rec->json), -1, SQLITE_TRANSIENT);
	if (si->host_id)
		sqlite3_bind_text(st->ins_session, 4, si->host_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->ins_session, 5, next_rev(st));
	rc = step_done(st->ins_session);
	free(host);
	if (rc != SQLITE_OK) {
		logf_(st, "database %s: cannot record the session: %s", st->path,
		      sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		st->in_tx = false;
		return -1;
	}
	st->session = sqlite3_last_insert_rowid(st->db);
	st->last_commit_ns = st->rev_commit_ns = si->time_ns;
	return commit_tx(st, si->time_ns);
}

static void insert_failed(struct tg_store *st, const char *what)
{
	if (!st->insert_failed)
		logf_(st, "database %s: cannot store a %s (further failures are not repeated): %s",
		      st->path, what, sqlite3_errmsg(st->db));
	st->insert_failed = true;
}

/* After a row: the batch is committed when full. */
static void row_added(struct tg_store *st)
{
	if (++st->pending >= st->o.batch_rows)
		commit_tx(st, complete_until(st));
}

/* A finding's row: its columns from the typed report, as its JSON form writes them. */
static int store_finding(struct tg_store *st, const struct tg_record *rec)
{
	const struct tg_report *r = rec->finding;
	const struct tg_event *e = r ? r->e : NULL;
	const struct tg_proc_info *p = r ? r->proc : NULL;
	char *host = NULL, *exe = NULL, *comm = NULL, *path = NULL;
	int ret = -1;

	if (!st->session || !e || !p || !rec->json ||
	    (unsigned int)r->finding.severity > TG_SEV_CRITICAL) {
		if (!st->insert_failed)
			logf_(st, "database %s: %s", st->path,
			      st->session ? "a finding lacks a field the store indexes"
					  : "a finding before the session record");
		st->insert_failed = true;
		return -1;
	}
	host = json_bytes(r->host ? r->host : "");
	exe = json_bytes(p->exe);
	comm = json_bytes(e->comm);
	path = json_bytes(e->path);
	if (!host || !exe || !comm || !path) {
		if (!st->insert_failed)
			logf_(st, "database %s: cannot store a finding: out of memory", st->path);
		st->insert_failed = true;
		goto out;
	}
	if (begin_tx(st))
		goto out;
	sqlite3_bind_int64(st->ins_finding, 1, st->session);
	sqlite3_bind_int64(st->ins_finding, 2, tg_report_time_ns(r));
	sqlite3_bind_text(st->ins_finding, 3, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_finding, 4, tg_rule_id(r->finding.rule), -1, SQLITE_STATIC);
	sqlite3_bind_text(st->ins_finding, 5, tg_severity_name(r->finding.severity), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st->ins_finding, 6, (int)r->finding.severity);
	sqlite3_bind_text(st->ins_finding, 7, tg_action_taken_name(r->action), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->ins_finding, 8, e->pid);
	sqlite3_bind_int64(st->ins_finding, 9, e->ppid);
	sqlite3_bind_int64(st->ins_finding, 10, e->uid);
	sqlite3_bind_text(st->ins_finding, 11, exe, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_finding, 12, comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_finding, 13, path, -1, SQLITE_TRANSIENT);
	if (p->container_id[0])
		sqlite3_bind_text(st->ins_finding, 14, p->container_id, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st->ins_finding, 14);
	sqlite3_bind_text(st->ins_finding, 15, json_text(rec->json), -1, SQLITE_TRANSIENT);
	bind_text_or_null(st->ins_finding, 16, falco_form(st, rec));
	if (step_done(st->ins_finding) != SQLITE_OK) {
		insert_failed(st, "finding");
		goto out;
	}
	st->stats.findings++;
	row_added(st);
	ret = 0;
out:
	free(host);
	free(exe);
	free(comm);
	free(path);
	return ret;
}

static int store_loss(struct tg_store *st, const struct tg_record *rec)
{
	const struct tg_loss *l = rec->loss;

	if (!st->session || !l || !rec->json) {
		logf_(st, "database %s: %s", st->path,
		      st->session ? "a loss record without its typed or JSON form"
				  : "a loss record before the session record");
		return -1;
	}
	if (begin_tx(st))
		return -1;
	sqlite3_bind_int64(st->ins_loss, 1, st->session);
	sqlite3_bind_int64(st->ins_loss, 2, l->from_ns);
	sqlite3_bind_int64(st->ins_loss, 3, l->to_ns);
	sqlite3_bind_int64(st->ins_loss, 4, (int64_t)l->lost);
	sqlite3_bind_text(st->ins_loss, 5, json_text(rec->json), -1, SQLITE_TRANSIENT);
	bind_text_or_null(st->ins_loss, 6, falco_form(st, rec));
	if (step_done(st->ins_loss) != SQLITE_OK) {
		insert_failed(st, "loss record");
		return -1;
	}
	st->stats.losses++;
	row_added(st);
	return 0;
}

static int store_health(struct tg_store *st, const struct tg_record *rec)
{
	const struct tg_health *h = rec->health;

	if (!st->session || !h || !h->status || !rec->json) {
		logf_(st, "database %s: %s", st->path,
		      st->session ? "a health record without its status or JSON form"
				  : "a health record before the session record");
		return -1;
	}
	if (begin_tx(st))
		return -1;
	sqlite3_bind_int64(st->ins_health, 1, st->session);
	sqlite3_bind_int64(st->ins_health, 2, h->time_ns);
	sqlite3_bind_text(st->ins_health, 3, h->status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->ins_health, 4, json_text(rec->json), -1, SQLITE_TRANSIENT);
	bind_text_or_null(st->ins_health, 5, falco_form(st, rec));
	if (step_done(st->ins_health) != SQLITE_OK) {
		insert_failed(st, "health record");
		return -1;
	}
	row_added(st);
	return 0;
}

int tg_store_record(struct tg_store *st, const struct tg_record *rec)
{
	switch (rec->kind) {
	case TG_RECORD_FINDING:
		return store_finding(st, rec);
	case TG_RECORD_LOSS:
		return store_loss(st, rec);
	case TG_RECORD_HEALTH:
		return store_health(st, rec);
	case TG_RECORD_SESSION:
	case TG_RECORD_SUMMARY:
		break;
	}
	logf_(st, "database %s: a %s record is not a row of its own (the session's begin and end)",
	      st->path, tg_record_kind_name(rec->kind));
	return -1;
}

static int64_t used_bytes(sqlite3 *db);

void tg_store_tick(struct tg_store *st, int64_t now_ns)
{
	if (!st)
		return;
	/* The poll that just ended began after the previous tick: everything submitted before
	 * that tick has been read and handled. */
	st->handled_ns = st->mark_ns;
	st->mark_ns = st->now_ns = now_ns;
	if (st->in_tx) {
		if (now_ns - st->tx_started_ns >= st->o.commit_interval_ns)
			commit_tx(st, complete_until(st));
	} else if (st->session &&
		   complete_until(st) - st->last_commit_ns >= TG_STORE_IDLE_HEARTBEAT_NS) {
		/* Idle: move last_commit_ns on, so that a crash after a quiet hour does not
		 * claim that hour's findings may be missing. */
		if (!begin_tx(st))
			commit_tx(st, complete_until(st));
	}
	/* Age hourly; size as soon as it is reached (a few pragmas a commit), so that a flood
	 * cannot fill the disk for an hour. */
	if (now_ns - st->last_retain_ns >= TG_STORE_RETENTION_NS ||
	    (st->o.max_bytes && used_bytes(st->db) > st->o.max_bytes))
		tg_store_retain(st, now_ns, &st->stats.removed);
}

int tg_store_end(struct tg_store *st, const struct tg_record *summary, int64_t now_ns)
{
	if (!st->session)
		return -1;
	if (summary->kind != TG_RECORD_SUMMARY || !summary->json) {
		logf_(st, "database %s: a session ends with the summary record, in JSON", st->path);
		return -1;
	}
	if (begin_tx(st))
		return -1;
	sqlite3_bind_text(st->upd_end, 1, json_text(summary->json), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->upd_end, 2, now_ns);
	sqlite3_bind_int64(st->upd_end, 3, st->session);
	sqlite3_bind_int64(st->upd_end, 4, next_rev(st));
	if (step_done(st->upd_end) != SQLITE_OK) {
		logf_(st, "database %s: cannot record the summary: %s", st->path,
		      sqlite3_errmsg(st->db));
		return -1;
	}
	/* Drained: every record up to now is in this last batch. */
	st->handled_ns = now_ns + TG_STORE_INFLIGHT_NS;
	st->last_commit_ns = st->rev_commit_ns = now_ns;
	return commit_tx(st, now_ns);
}

/* ---- retention ---- */

/* Bytes the database's live pages take (free pages excluded: without auto-vacuum they are
 * reused, not returned). */
static int64_t used_bytes(sqlite3 *db)
{
	int64_t pages = query_int(db, "PRAGMA page_count");
	int64_t free_pages = query_int(db, "PRAGMA freelist_count");
	int64_t size = query_int(db, "PRAGMA page_size");

	return pages < 0 || free_pages < 0 || size < 0 ? -1 : (pages - free_pages) * size;
}

/* Runs sql with ?1..?n bound to v[0..n-1], adding the rows it changed to *count. */
static int delete_rows(struct tg_store *st, const char *sql, const int64_t *v, int n,
		       uint64_t *count)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	if (count)
		*count += sqlite3_changes(st->db);
	return 0;
}

/* The lowest mark of any known target for stream: rows above it are not everywhere yet.
 * INT64_MAX without a target (nothing to keep for anyone). */
static int64_t forwarded_everywhere(struct tg_store *st, enum tg_fwd_stream stream)
{
	sqlite3_stmt *s;
	int64_t v = INT64_MAX;

	if (sqlite3_prepare_v2(st->db, "SELECT min(hwm) FROM forward_state WHERE stream = ?1", -1,
			       &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, tg_fwd_stream_name(stream), -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Which findings the size limit takes first: low before medium, high and critical, oldest
 * first in each, so that a flood of low and medium ones cannot push out the real attack. */
#define EVICT_ORDER " ORDER BY severity_level, time_ns, id LIMIT ?1"

/*
 * The size limit must evict findings that some target has not committed (everything a target
 * has is gone already): for each such target, a forward_gaps row saying how many, which ids,
 * from when to when, keyed by the first one's session; then they go. Adds them to *evicted.
 */
static int evict_unforwarded(struct tg_store *st, int64_t k, int64_t now_ns, uint64_t *evicted)
{
	static const char gap_sql[] =
		"WITH e AS (SELECT id, session, time_ns FROM findings" EVICT_ORDER "), "
		"u AS (SELECT * FROM e WHERE id > ?2) "
		"INSERT INTO forward_gaps(target, stream, host_id, session_key, first_id, last_id, "
		"evicted, from_ns, to_ns, time_ns) "
		"SELECT ?3, 'findings', s.host_id, s.key, (SELECT min(id) FROM u), (SELECT max(id) "
		"FROM u), (SELECT count(*) FROM u), (SELECT min(time_ns) FROM u), (SELECT "
		"max(time_ns) FROM u), ?4 FROM u JOIN sessions s ON s.id = u.session WHERE u.id = "
		"(SELECT min(id) FROM u)";
	sqlite3_stmt *t, *g;
	int64_t v[1] = {k};
	uint64_t before = *evicted;
	int rc = SQLITE_ROW;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT target, hwm FROM forward_state WHERE stream = 'findings'",
			       -1, &t, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(st->db, gap_sql, -1, &g, NULL) != SQLITE_OK) {
		sqlite3_finalize(t);
		return -1;
	}
	while ((rc = sqlite3_step(t)) == SQLITE_ROW) {
		sqlite3_bind_int64(g, 1, k);
		sqlite3_bind_int64(g, 2, sqlite3_column_int64(t, 1));
		sqlite3_bind_text(g, 3, (const char *)sqlite3_column_text(t, 0), -1,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(g, 4, now_ns);
		if (step_done(g) != SQLITE_OK)
			break;
		st->stats.forward_gaps += sqlite3_changes(st->db);
	}
	sqlite3_finalize(t);
	sqlite3_finalize(g);
	if (rc != SQLITE_DONE ||
	    delete_rows(st,
			"DELETE FROM findings WHERE id IN (SELECT id FROM findings" EVICT_ORDER ")",
			v, 1, evicted))
		return -1;
	st->stats.evicted_unforwarded += *evicted - before;
	return 0;
}

/* Says what the size limit evicted unforwarded in this pass: the gaps written since gap0. */
static void log_gaps(struct tg_store *st, int64_t gap0)
{
	sqlite3_stmt *s;
	char t1[64], t2[64];

	if (sqlite3_prepare_v2(st->db,
			       "SELECT target, sum(evicted), min(first_id), max(last_id), "
			       "min(from_ns), max(to_ns) FROM forward_gaps WHERE id > ?1 GROUP BY "
			       "target",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, gap0);
	while (sqlite3_step(s) == SQLITE_ROW) {
		tg_format_time(sqlite3_column_int64(s, 4), t1, sizeof(t1));
		tg_format_time(sqlite3_column_int64(s, 5), t2, sizeof(t2));
		logf_(st,
		      "database %s: the size limit of %lld MiB evicted %lld findings that %s did "
		      "not have yet (ids %lld to %lld, times %s to %s): recorded as a forward gap; "
		      "raise --db-max-size or bring the target back",
		      st->path, (long long)(st->o.max_bytes >> 20),
		      (long long)sqlite3_column_int64(s, 1), sqlite3_column_text(s, 0),
		      (long long)sqlite3_column_int64(s, 2), (long long)sqlite3_column_int64(s, 3),
		      t1, t2);
	}
	sqlite3_finalize(s);
}

/*
 * Whether a session may go: another session's, ended before the cutoff (?1), without findings
 * left, and nothing of it that a target still lacks: its own last change (?3: the sessions
 * mark), its losses (?4) and health records (?5), which deleting it would take along.
 */
#define SESSION_GOES                                                                               \
	"id != ?2 AND COALESCE(ended_ns, last_commit_ns, started_ns) < ?1 AND rev <= ?3 AND NOT "  \
	"EXISTS (SELECT 1 FROM findings f WHERE f.session = s.id) AND NOT EXISTS (SELECT 1 FROM "  \
	"losses l WHERE l.session = s.id AND l.id > ?4) AND NOT EXISTS (SELECT 1 FROM health h "   \
	"WHERE h.session = s.id AND h.id > ?5)"

int tg_store_retain(struct tg_store *st, int64_t now_ns, struct tg_retention *total)
{
	struct tg_retention r = {0};
	int64_t cutoff = now_ns - st->o.max_age_ns, used, gap0;
	int64_t fwd[TG_FWD_NSTREAMS];
	uint64_t before;

	st->last_retain_ns = now_ns;
	if (!st->o.max_age_ns && !st->o.max_bytes)
		return 0;
	if (commit_tx(st, complete_until(st)) && st->in_tx)
		return -1;
	if (begin_tx(st))
		return -1;
	for (int i = 0; i < TG_FWD_NSTREAMS; i++)
		if ((fwd[i] = forwarded_everywhere(st, i)) < 0)
			goto fail;
	gap0 = query_int(st->db, "SELECT COALESCE(max(id), 0) FROM forward_gaps");
	r.bytes_before = used_bytes(st->db);
	/* By age, only what every known target has: the rest waits for the forwarder. */
	if (st->o.max_age_ns &&
	    (delete_rows(st, "DELETE FROM findings WHERE time_ns < ?1 AND id <= ?2",
			 (int64_t[]){cutoff, fwd[TG_FWD_FINDINGS]}, 2, &r.findings) ||
	     delete_rows(st, "DELETE FROM losses WHERE to_ns < ?1 AND id <= ?2",
			 (int64_t[]){cutoff, fwd[TG_FWD_LOSSES]}, 2, &r.losses) ||
	     /* The losses of a session that goes now (the cascade would not count them). */
	     delete_rows(st,
			 "DELETE FROM losses WHERE session IN (SELECT id FROM sessions s "
			 "WHERE " SESSION_GOES ")",
			 (int64_t[]){cutoff, st->session, fwd[TG_FWD_SESSIONS], fwd[TG_FWD_LOSSES],
				     fwd[TG_FWD_HEALTH]},
			 5, &r.losses) ||
	     delete_rows(st, "DELETE FROM sessions AS s WHERE " SESSION_GOES,
			 (int64_t[]){cutoff, st->session, fwd[TG_FWD_SESSIONS], fwd[TG_FWD_LOSSES],
				     fwd[TG_FWD_HEALTH]},
			 5, &r.sessions) ||
	     delete_rows(st,
			 "DELETE FROM forward_gaps AS g WHERE time_ns < ?1 AND id <= "
			 "COALESCE((SELECT hwm FROM forward_state f WHERE f.target = g.target AND "
			 "f.stream = 'gaps'), 0)",
			 (int64_t[]){cutoff}, 1, NULL)))
		goto fail;
	/* By size: what every target has first, in EVICT_ORDER, then what some target lacks,
	 * each round about the share of findings by which the database is too large. */
	while (st->o.max_bytes && (used = used_bytes(st->db)) > st->o.max_bytes) {
		int64_t n = query_int(st->db, "SELECT count(*) FROM findings"), k;

		if (n <= 0) {
			logf_(st,
			      "database %s: %lld bytes without any finding left, over the size "
			      "limit of %lld bytes (sessions and losses are kept until they age "
			      "out)",
			      st->path, (long long)used, (long long)st->o.max_bytes);
			break;
		}
		k = (int64_t)((double)n * (double)(used - st->o.max_bytes) / (double)used) + 1;
		if (k < 64)
			k = 64;
		before = r.findings;
		if (delete_rows(
			    st,
			    "DELETE FROM findings WHERE id IN (SELECT id FROM findings WHERE id "
			    "<= ?2" EVICT_ORDER ")",
			    (int64_t[]){k, fwd[TG_FWD_FINDINGS]}, 2, &r.findings))
			goto fail;
		if (r.findings == before && evict_unforwarded(st, k, now_ns, &r.findings))
			goto fail;
		if (exec(st, "PRAGMA incremental_vacuum"))
			goto fail;
		if (r.findings == before)
			break;
	}
	/* Give the freed pages back to the file system (auto_vacuum = INCREMENTAL, set at
	 * creation; a no-op on a database created without it). */
	if (exec(st, "PRAGMA incremental_vacuum"))
		goto fail;
	r.bytes_after = used_bytes(st->db);
	if (commit_tx(st, complete_until(st)))
		return -1;
	if (gap0 >= 0)
		log_gaps(st, gap0);
	if (r.findings || r.losses || r.sessions) {
		/* The WAL holds the shrunk pages until a checkpoint writes them back. */
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		logf_(st,
		      "retention: removed %llu findings, %llu losses and %llu sessions from %s "
		      "(limits: %lld days, %lld MiB); %.1f MiB -> %.1f MiB",
		      (unsigned long long)r.findings, (unsigned long long)r.losses,
		      (unsigned long long)r.sessions, st->path,
		      (long long)(st->o.max_age_ns / (86400LL * 1000000000LL)),
		      (long long)(st->o.max_bytes >> 20), r.bytes_before / 1048576.0,
		      r.bytes_after / 1048576.0);
	}
	if (total) {
		total->findings += r.findings;
		total->losses += r.losses;
		total->sessions += r.sessions;
		if (!total->bytes_before)
			total->bytes_before = r.bytes_before;
		total->bytes_after = r.bytes_after;
	}
	return 0;
fail:
	logf_(st, "database %s: retention failed: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_tx = false;
	st->pending = 0;
	return -1;
}

/* ---- forwarding ---- */

const char *tg_fwd_stream_name(enum tg_fwd_stream s)
{
	static const char *const names[] = {
		[TG_FWD_SESSIONS] = "sessions", [TG_FWD_FINDINGS] = "findings",
		[TG_FWD_LOSSES] = "losses",	[TG_FWD_HEALTH] = "health",
		[TG_FWD_GAPS] = "gaps",
	};

	return (unsigned int)s < TG_FWD_NSTREAMS ? names[s] : "unknown";
}

int tg_store_forward_target(struct tg_store *st, const char *target, int64_t hwm[TG_FWD_NSTREAMS])
{
	sqlite3_stmt *ins = NULL, *sel = NULL;
	int ret = -1;

	if (commit_tx(st, complete_until(st)) && st->in_tx)
		return -1;
	if (begin_tx(st))
		return -1;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR IGNORE INTO forward_state(target, stream, hwm) VALUES "
			       "(?1, ?2, 0)",
			       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "SELECT hwm FROM forward_state WHERE target = ?1 AND stream = ?2",
			       -1, &sel, NULL) != SQLITE_OK)
		goto out;
	for (int i = 0; i < TG_FWD_NSTREAMS; i++) {
		sqlite3_bind_text(ins, 1, target, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, tg_fwd_stream_name(i), -1, SQLITE_STATIC);
		sqlite3_bind_text(sel, 1, target, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(sel, 2, tg_fwd_stream_name(i), -1, SQLITE_STATIC);
		if (step_done(ins) != SQLITE_OK || sqlite3_step(sel) != SQLITE_ROW)
			goto out;
		hwm[i] = sqlite3_column_int64(sel, 0);
		sqlite3_reset(sel);
	}
	ret = commit_tx(st, complete_until(st));
	st->falco = http_target_known(st->db);
out:
	if (ret)
		logf_(st, "database %s: cannot record the forward target %s: %s", st->path, target,
		      sqlite3_errmsg(st->db));
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return ret;
}

int tg_store_forwarded(struct tg_store *st, const char *target, const int64_t hwm[TG_FWD_NSTREAMS])
{
	sqlite3_stmt *u;
	int ret = 0;

	if (begin_tx(st))
		return -1;
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE forward_state SET hwm = max(hwm, ?1), updated_ns = ?2 WHERE "
			       "target = ?3 AND stream = ?4 AND hwm < ?1",
			       -1, &u, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < TG_FWD_NSTREAMS && !ret; i++) {
		sqlite3_bind_int64(u, 1, hwm[i]);
		sqlite3_bind_int64(u, 2, st->now_ns);
		sqlite3_bind_text(u, 3, target, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(u, 4, tg_fwd_stream_name(i), -1, SQLITE_STATIC);
		if (step_done(u) != SQLITE_OK)
			ret = -1;
	}
	if (ret)
		logf_(st, "database %s: cannot record how far %s has the rows: %s", st->path,
		      target, sqlite3_errmsg(st->db));
	sqlite3_finalize(u);
	if (!ret)
		row_added(st);
	return ret;
}

int tg_store_forward_refused(struct tg_store *st, const char *target,
			     const struct tg_fwd_refused *r, unsigned n)
{
	sqlite3_stmt *ins;
	int ret = 0;

	if (!n)
		return 0;
	if (begin_tx(st))
		return -1;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR IGNORE INTO forward_refused(target, stream, row_id, "
			       "sqlstate, reason, time_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &ins, NULL) != SQLITE_OK) {
		logf_(st, "database %s: cannot record the rows %s refused: %s", st->path, target,
		      sqlite3_errmsg(st->db));
		return -1;
	}
	for (unsigned i = 0; i < n && !ret; i++) {
		sqlite3_bind_text(ins, 1, target, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, tg_fwd_stream_name(r[i].stream), -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, r[i].id);
		sqlite3_bind_text(ins, 4, r[i].sqlstate, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 5, r[i].reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 6, st->now_ns);
		if (step_done(ins) != SQLITE_OK)
			ret = -1;
	}
	if (ret)
		logf_(st, "database %s: cannot record the rows %s refused: %s", st->path, target,
		      sqlite3_errmsg(st->db));
	sqlite3_finalize(ins);
	if (!ret)
		row_added(st);
	return ret;
}

const struct tg_store_stats *tg_store_stats(const struct tg_store *st)
{
	return &st->stats;
}

sqlite3 *tg_store_db(struct tg_store *st)
{
	return st->db;
}

int64_t tg_store_session_id(const struct tg_store *st)
{
	return st->session;
}

/* ---- reading ---- */

sqlite3 *tg_store_open_read(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct stat sb;
	int rc;

	if (stat(path, &sb)) {
		snprintf(err, errlen, "cannot open the database %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "cannot open the database %s: not a regular file", path);
		return NULL;
	}
	/* NOMUTEX: a reader's connection is used by one thread at a time (a forwarder's is
	 * prepared by its caller, then used by its thread alone, then closed after the join),
	 * so SQLite's lock around every call, 17 column reads a finding, is not needed. */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the database %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	/* A writer's commit or checkpoint holds the WAL index lock for a moment: wait, do not
	 * fail with SQLITE_BUSY. */
	sqlite3_busy_timeout(db, 10000);
	sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	/* Pages of the database file read from the page cache through a mapping, not a pread()
	 * and a copy each: a forwarder catching up reads every page of its backlog once, and
	 * the reads were 38% of its CPU (perf, bench/fleet.py). SQLite caps the size at its
	 * build's SQLITE_MAX_MMAP_SIZE (2 GB in Debian's) and reads what lies beyond, and the
	 * WAL's pages, as before. */
	sqlite3_exec(db, "PRAGMA mmap_size = " TG_STORE_READ_MMAP, NULL, NULL, NULL);
	if (check_schema(db, path, TG_STORE_SCHEMA_READ_MIN, err, errlen) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}
