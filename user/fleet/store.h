/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event store (SQLite, schema in store_schema.h): the writer behind `audit --db` and the
 * read helpers `query` uses. Records arrive typed, with their kind (struct tg_record,
 * record.h): the columns the store indexes come from the typed form (struct tg_report for a
 * finding, tg_session_info, tg_loss, tg_health), and the row's body is the record's JSON form
 * (rec->json, the object live JSON output prints), kept verbatim for query and report to read
 * back. The store never reads the JSON it is given; a record without its JSON form is refused.
 *
 * Writing is batched: rows go into an open transaction that is committed every
 * TG_STORE_BATCH_ROWS rows, or when tg_store_tick() finds it older than commit_interval_ns, or
 * at tg_store_commit() / tg_store_end(). A process crash loses at most that open batch.
 *
 * Times: every *_ns is CLOCK_REALTIME nanoseconds on the clock findings carry (event time).
 *
 * The store is also the forwarder's spool (forward.h): a version 1 file is migrated in place
 * when opened for writing; every target's high-water mark is kept here, and retention never
 * deletes a row a known target has not committed, except when the size limit forces it, and
 * then the rows are counted, logged and recorded as a forward gap (store_schema.h).
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>
#include "record.h"

#define TG_STORE_BATCH_ROWS	   256
#define TG_STORE_COMMIT_NS	   1000000000LL		   /* ~1 s between commits */
#define TG_STORE_RETENTION_NS	   (3600LL * 1000000000LL) /* retention: at open, then hourly */
#define TG_STORE_MAX_AGE_DAYS	   90
#define TG_STORE_MAX_SIZE_MIB	   1024
#define TG_STORE_BUSY_TIMEOUT_MS   2000
#define TG_STORE_IDLE_HEARTBEAT_NS (30LL * 1000000000LL)
/* How far a record's timestamp may precede its arrival in the ring buffer: the BPF program
 * takes the time, then fills and submits the record (it may be preempted in between). */
#define TG_STORE_INFLIGHT_NS (250LL * 1000000LL)

struct tg_store_opts {
	int64_t max_age_ns;	    /* 0: no age limit */
	int64_t max_bytes;	    /* 0: no size limit */
	unsigned batch_rows;	    /* 0: TG_STORE_BATCH_ROWS */
	int64_t commit_interval_ns; /* 0: TG_STORE_COMMIT_NS */
	FILE *log;		    /* warnings and notes ("tmpguard: ..."); NULL: silent */
	const char *host_id;	    /* given to sessions of a version 1 file (hostid.h) */
	/* A record's Falco form as JSON text (malloc'd; NULL: it has none), kept in the row's
	 * falco column while an HTTP target (http_post.h) is known in forward_state: that is
	 * what the target posts. NULL: never kept. */
	char *(*falco)(const struct tg_record *rec);
};

/* What one retention pass removed. */
struct tg_retention {
	uint64_t findings, losses, sessions;
	int64_t bytes_before, bytes_after;
};

struct tg_store_stats {
	uint64_t findings, losses; /* rows written by this store (committed or pending) */
	uint64_t commits, commit_failures;
	uint64_t unclean_found;	      /* earlier sessions found not stopped cleanly at open */
	struct tg_retention removed;  /* sum of every retention pass */
	uint64_t evicted_unforwarded; /* findings the size limit removed before every target had
				       * them */
	uint64_t forward_gaps;	      /* forward_gaps rows written for them */
	bool migrated;		      /* the file was version 1, now 2 */
};

/* What a forward target takes from the store, each with its own high-water mark: sessions by
 * rev, the others by id (store_schema.h). */
enum tg_fwd_stream {
	TG_FWD_SESSIONS,
	TG_FWD_FINDINGS,
	TG_FWD_LOSSES,
	TG_FWD_HEALTH,
	TG_FWD_GAPS,
	TG_FWD_NSTREAMS
};

struct tg_store;

/*
 * Opens path for writing, creating it if missing: created O_EXCL|O_NOFOLLOW 0600; an existing
 * file must be a regular file (not a symlink) owned by root, not writable by group or others,
 * in a directory that only its owner (root) can write to; sqlite's -wal and -shm files take the
 * database file's permissions. One writer at a time (an flock on the file). Creates the schema
 * on a new file; migrates a version 1 file to version 2 in one transaction (ids and rows kept,
 * o->host_id given to its sessions); refuses a newer one. Reports (once) earlier sessions that
 * did not stop cleanly, then applies retention at now_ns. NULL and err set on failure.
 */
struct tg_store *tg_store_open(const char *path, const struct tg_store_opts *o, int64_t now_ns,
			       char *err, size_t errlen);
/* Commits what is pending, closes. NULL is fine. A session not ended stays unclean. */
void tg_store_close(struct tg_store *st);

/* The session record (TG_RECORD_SESSION, first record of a run): a new sessions row (host,
 * started_ns from its tg_session_info), committed at once. Returns 0 or -1 (logged). */
int tg_store_begin(struct tg_store *st, const struct tg_record *session);
/*
 * A finding, loss or health record (the producer unhealthy or recovered), by its kind, into
 * the open batch; after tg_store_begin(). A session or summary record is tg_store_begin()'s or
 * tg_store_end()'s, refused here. Returns 0 or -1 (logged).
 */
int tg_store_record(struct tg_store *st, const struct tg_record *rec);
/*
 * Called from the poll loop after each poll with the time now. Every record with an event
 * time before the previous tick's now has been handled by then: that becomes the session's
 * last_commit_ns at the next commit. Commits a batch older than the commit interval, refreshes
 * last_commit_ns when idle, runs retention hourly.
 */
void tg_store_tick(struct tg_store *st, int64_t now_ns);
/* Commits the open batch now (SIGHUP, shutdown). Returns 0 or -1 (logged). */
int tg_store_commit(struct tg_store *st);
/* Clean stop, everything drained: the summary record (TG_RECORD_SUMMARY), ended_ns = now_ns,
 * clean = 1, committed. */
int tg_store_end(struct tg_store *st, const struct tg_record *summary, int64_t now_ns);
/* Retention by age and size (also run by open and tick). Adds to *r. Returns 0 or -1. */
int tg_store_retain(struct tg_store *st, int64_t now_ns, struct tg_retention *r);

/* forward_state's name of a stream: "sessions", "findings", "losses", "health", "gaps". */
const char *tg_fwd_stream_name(enum tg_fwd_stream s);
/* Makes target (forward.h's tg_forward_target()) known to the store, so that retention keeps
 * what it has not committed, and fills hwm with its marks (0 for a new target). 0 or -1
 * (logged). */
int tg_store_forward_target(struct tg_store *st, const char *target, int64_t hwm[TG_FWD_NSTREAMS]);
/* The target has committed everything up to hwm: written with the open batch (never
 * lowering a mark). 0 or -1 (logged). */
int tg_store_forwarded(struct tg_store *st, const char *target, const int64_t hwm[TG_FWD_NSTREAMS]);

/* A row a target refused for what it holds (forward.h): its stream, id, SQLSTATE, message. */
struct tg_fwd_refused {
	enum tg_fwd_stream stream;
	int64_t id;
	char sqlstate[6];
	char reason[256];
};
/* Records n refused rows of target in forward_refused, with the open batch (each row once:
 * recording one again changes nothing). 0 or -1 (logged). */
int tg_store_forward_refused(struct tg_store *st, const char *target,
			     const struct tg_fwd_refused *r, unsigned n);

const struct tg_store_stats *tg_store_stats(const struct tg_store *st);
sqlite3 *tg_store_db(struct tg_store *st);
/* The session row this store writes, 0 before tg_store_begin(). */
int64_t tg_store_session_id(const struct tg_store *st);

/*
 * Read side (query, report, the forwarder): opens path read-only, with a busy timeout so that
 * it can read while a writer commits, and checks the schema version (TG_STORE_SCHEMA_READ_MIN
 * up to this tmpguard's). NULL and err set on failure.
 */
sqlite3 *tg_store_open_read(const char *path, char *err, size_t errlen);
/* The schema version stored in meta: 0 = a database without tmpguard's meta table, -1 on
 * error. */
int tg_store_schema_version(sqlite3 *db);

#endif
