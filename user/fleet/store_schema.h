/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event store's schema (SQLite), shared by the writer (store.c), `query` and `report`.
 *
 * Every row keeps the record exactly as live JSON output prints it (column json), so a query
 * or a report over a database sees the same objects as one over JSON-line files. The other
 * columns are the record's fields as that JSON holds them (the writer takes them from the
 * typed record), for indexes.
 *
 * Records (the "type" field of each JSON object):
 *   session  written when auditing starts: host, version, policy, hooks, enforcement, posture,
 *            exceptions in force
 *   finding  one per finding, as printed live
 *   loss     records the kernel could not deliver: "from"/"to" bound the window, "lost" counts
 *   health   the producer stopped working ("unhealthy") or works again ("recovered")
 *   summary  written at a clean stop: counters, aggregates, exceptions with what each hid
 */
#ifndef TG_STORE_SCHEMA_H
#define TG_STORE_SCHEMA_H

#define TG_STORE_SCHEMA_VERSION 2
/* The oldest version the read side (query, report) still reads: version 2 only added to 1. */
#define TG_STORE_SCHEMA_READ_MIN 1

/*
 * Version 2 makes the store the forwarder's spool (fleet/forward.h):
 *  - every id is AUTOINCREMENT, so that an id is never given twice in a file's life (without
 *    it SQLite reuses the largest id once that row is deleted, and a high-water mark on ids
 *    would skip the new row);
 *  - a session has a random key (never reused, whichever file or host it was written in), the
 *    host's identity (host_id, host/hostid.h) and rev, the store's change counter (meta
 *    'session_rev') when the row last changed: a forwarded row's key is (host_id, session key,
 *    id of the row), a session is sent again when its rev passes the target's mark;
 *  - forward_state holds each target's high-water mark per stream; forward_gaps the rows the
 *    size limit evicted before a target had them.
 * The defaults let rows written the version 1 way (tests' hand-made stores) still load.
 */
#define TG_STORE_SCHEMA                                                                            \
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"                     \
	"CREATE TABLE IF NOT EXISTS sessions(\n"                                                   \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                \
	"  host TEXT NOT NULL,\n"                                                                  \
	"  started_ns INTEGER NOT NULL,\n"	/* CLOCK_REALTIME ns */                            \
	"  ended_ns INTEGER,\n"			/* NULL while running or after a crash */          \
	"  last_commit_ns INTEGER,\n"		/* every finding before it is committed */         \
	"  clean INTEGER NOT NULL DEFAULT 0,\n" /* 1 after a clean stop */                         \
	"  json TEXT NOT NULL,\n"		/* the session record */                           \
	"  summary TEXT,\n"			/* the summary record, at a clean stop */          \
	"  host_id TEXT,\n"			/* hostid.h; NULL: written before version 2 */     \
	"  key INTEGER NOT NULL UNIQUE DEFAULT (random()),\n"                                      \
	"  rev INTEGER NOT NULL DEFAULT 0);\n"                                                     \
	"CREATE TABLE IF NOT EXISTS findings(\n"                                                   \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                \
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,\n"                  \
	"  time_ns INTEGER NOT NULL,\n"                                                            \
	"  host TEXT NOT NULL,\n"                                                                  \
	"  rule TEXT NOT NULL,\n"                                                                  \
	"  severity TEXT NOT NULL,\n"                                                              \
	"  severity_level INTEGER NOT NULL,\n" /* 0 low .. 3 critical */                           \
	"  action TEXT NOT NULL,\n"                                                                \
	"  pid INTEGER NOT NULL,\n"                                                                \
	"  ppid INTEGER NOT NULL,\n"                                                               \
	"  uid INTEGER NOT NULL,\n"                                                                \
	"  exe TEXT NOT NULL,\n"                                                                   \
	"  comm TEXT NOT NULL,\n"                                                                  \
	"  path TEXT NOT NULL,\n"                                                                  \
	"  container_id TEXT,\n"                                                                   \
	"  json TEXT NOT NULL);\n"                                                                 \
	"CREATE INDEX IF NOT EXISTS findings_time ON findings(time_ns);\n"                         \
	"CREATE INDEX IF NOT EXISTS findings_rule ON findings(rule, time_ns);\n"                   \
	"CREATE INDEX IF NOT EXISTS findings_severity ON findings(severity_level, time_ns);\n"     \
	"CREATE INDEX IF NOT EXISTS findings_pid ON findings(pid, time_ns);\n"                     \
	"CREATE INDEX IF NOT EXISTS findings_exe ON findings(exe, time_ns);\n"                     \
	"CREATE INDEX IF NOT EXISTS findings_uid ON findings(uid, time_ns);\n"                     \
	"CREATE INDEX IF NOT EXISTS findings_path ON findings(path);\n"                            \
	"CREATE INDEX IF NOT EXISTS findings_container ON findings(container_id, time_ns);\n"      \
	"CREATE INDEX IF NOT EXISTS findings_host ON findings(host, time_ns);\n"                   \
	"CREATE INDEX IF NOT EXISTS findings_session ON findings(session);\n"                      \
	"CREATE TABLE IF NOT EXISTS losses(\n"                                                     \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                \
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,\n"                  \
	"  from_ns INTEGER NOT NULL,\n"                                                            \
	"  to_ns INTEGER NOT NULL,\n"                                                              \
	"  lost INTEGER NOT NULL,\n"                                                               \
	"  json TEXT NOT NULL);\n"                                                                 \
	"CREATE INDEX IF NOT EXISTS losses_time ON losses(to_ns);\n"                               \
	"CREATE INDEX IF NOT EXISTS losses_session ON losses(session);\n"                          \
	"CREATE TABLE IF NOT EXISTS health(\n"                                                     \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                \
	"  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,\n"                  \
	"  time_ns INTEGER NOT NULL,\n"                                                            \
	"  status TEXT NOT NULL,\n"                                                                \
	"  json TEXT NOT NULL);\n"                                                                 \
	"CREATE INDEX IF NOT EXISTS health_time ON health(time_ns);\n"                             \
	"CREATE INDEX IF NOT EXISTS health_session ON health(session);\n" TG_STORE_SCHEMA_FORWARD

/* How far each forward target has each stream (enum tg_fwd_stream's names): the last id (rev
 * for sessions) it committed. Rows above a target's mark are kept by retention; a size limit
 * that evicts them writes a forward_gaps row for that target: what, how many, from/to. */
#define TG_STORE_SCHEMA_FORWARD                                                                    \
	"CREATE TABLE IF NOT EXISTS forward_state(\n"                                              \
	"  target TEXT NOT NULL,\n" /* postgresql://user@host:port/db, no password */              \
	"  stream TEXT NOT NULL,\n"                                                                \
	"  hwm INTEGER NOT NULL DEFAULT 0,\n"                                                      \
	"  updated_ns INTEGER,\n"                                                                  \
	"  PRIMARY KEY (target, stream));\n"                                                       \
	"CREATE TABLE IF NOT EXISTS forward_gaps(\n"                                               \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                \
	"  target TEXT NOT NULL,\n"                                                                \
	"  stream TEXT NOT NULL,\n" /* findings */                                                 \
	"  host_id TEXT,\n"	    /* of the first row evicted */                                 \
	"  session_key INTEGER NOT NULL,\n"                                                        \
	"  first_id INTEGER NOT NULL,\n" /* the lowest and highest ids evicted */                  \
	"  last_id INTEGER NOT NULL,\n"                                                            \
	"  evicted INTEGER NOT NULL,\n"                                                            \
	"  from_ns INTEGER NOT NULL,\n" /* their earliest and latest times */                      \
	"  to_ns INTEGER NOT NULL,\n"                                                              \
	"  time_ns INTEGER NOT NULL);\n" /* when they were evicted */                              \
	"CREATE INDEX IF NOT EXISTS forward_gaps_target ON forward_gaps(target, id);\n"

/*
 * Rows a target refused for what they hold (PostgreSQL's SQLSTATE class 22 or 23: a CHECK
 * constraint or trigger on the server), each once: the mark went past them, so retention treats
 * them as forwarded; they are no forward gap (they exist here). Made in place at each open
 * (IF NOT EXISTS): an older tmpguard opens the file as before and ignores the table, so this is
 * no new schema version.
 */
#define TG_STORE_SCHEMA_REFUSED                                                                    \
	"CREATE TABLE IF NOT EXISTS forward_refused(\n"                                            \
	"  id INTEGER PRIMARY KEY,\n"                                                              \
	"  target TEXT NOT NULL,\n"                                                                \
	"  stream TEXT NOT NULL,\n"    /* findings, losses, health, sessions, gaps */              \
	"  row_id INTEGER NOT NULL,\n" /* its id in that table (rev for sessions) */               \
	"  sqlstate TEXT NOT NULL,\n"                                                              \
	"  reason TEXT NOT NULL,\n" /* the server's message */                                     \
	"  time_ns INTEGER NOT NULL,\n"                                                            \
	"  UNIQUE (target, stream, row_id));\n"

#endif
