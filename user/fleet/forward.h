/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The forwarder: the local store's rows (store.h, the durable spool) to a target, the fleet
 * store in PostgreSQL (pg_schema.h) or an event router over HTTP (http_post.h), from a thread of
 * its own with its own read-only SQLite connection and its own PostgreSQL connection, so that
 * nothing it waits for (a slow server, an outage, a timeout) reaches event handling.
 *
 * Each stream (sessions, findings, losses, health, gaps) is read above the target's high-water
 * mark in id order (rev for sessions), a batch at a time; a batch is copied into a temporary
 * table and inserted with ON CONFLICT DO NOTHING (sessions: DO UPDATE, when newer) in one
 * transaction; once the server has committed it, the mark moves on. A row's key there is
 * (host_id, session key, id), so a batch sent again (the commit's answer was lost, the host
 * crashed before recording the mark) changes nothing: every row arrives once.
 *
 * The marks live in the writer's store: the forwarder publishes them (tg_forward_stats()) and
 * the session writes them with its next batch (tg_store_forwarded()); a crash in between sends
 * a batch again, which is harmless. While the server cannot be reached or refuses, rows wait
 * in the store and the forwarder retries after 1 s, doubling to 30 s; it says so once when the
 * outage starts and once when it ends, with how long it lasted and how many rows waited.
 *
 * A batch the server refuses for what it holds (SQLSTATE class 22 or 23: a constraint or
 * trigger there) is no outage: the same rows go again in halves down to one row; a row refused
 * alone is published (stats' refusals) for the session to record in forward_refused, said
 * once, counted, and the mark moves past it; the next good batch is full size again.
 *
 * An HTTP target shares all of this (the spool, the marks, the backoff, the stop's flush, the
 * gaps retention records): it posts findings, loss windows and health records, each row's
 * Falco form (the store's falco column) as one POST, in id order, and its mark moves on after
 * each answer 2xx. A post whose answer was lost is sent again: at least once, each post
 * carrying its row's key for the receiver to drop a copy. An answer that refuses the event
 * (3xx, 4xx but 408 and 429) stops the stream there, said once with the answer, and it is
 * retried with the same backoff until the receiver takes it: nothing is skipped. Sessions and
 * forward gaps are not posted; rows stored before any HTTP target was known have no Falco form
 * and are passed over (counted: skipped).
 */
#ifndef TG_FORWARD_H
#define TG_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "store.h"

#define TG_FORWARD_BATCH_ROWS  1000
#define TG_FORWARD_POLL_NS     (1000LL * 1000000LL)  /* looks for new rows every second */
#define TG_FORWARD_BACKOFF_MIN (1000LL * 1000000LL)  /* first retry after an error */
#define TG_FORWARD_BACKOFF_MAX (30LL * 1000000000LL) /* then doubling up to this */
#define TG_FORWARD_STOP_NS     (5LL * 1000000000LL)  /* a clean stop flushes this long */
#define TG_FORWARD_TARGET_MAX  512
#define TG_FORWARD_HTTP_BATCH  100 /* rows read per pass, posted one by one */

enum tg_forward_kind {
	TG_FORWARD_PG,	 /* --forward URL */
	TG_FORWARD_HTTP, /* --http-output URL */
};

struct tg_forward_opts {
	enum tg_forward_kind kind;
	const char *db_path;  /* the local store (already open for writing by the session) */
	const char *url;      /* checked by tg_forward_target() or tg_http_target() */
	const char *target;   /* its name there (forward_state) */
	const char *password; /* NULL: libpq's own (PGPASSWORD, PGPASSFILE, ~/.pgpass); HTTP: the
			       * Authorization header's value, NULL: none */
	const char *ca_file;  /* HTTP: verify https against this CA bundle, NULL: the system's */
	const char *version;  /* tmpguard's, recorded with the schema migrations */
	int64_t hwm[TG_FWD_NSTREAMS]; /* where the target stands (tg_store_forward_target()) */
	unsigned batch_rows;	      /* 0: TG_FORWARD_BATCH_ROWS */
	int64_t backoff_min_ns, backoff_max_ns; /* 0: the defaults */
	FILE *log;				/* "tmpguard: forward to ...: ..." */
};

#define TG_FWD_REFUSALS_MAX 8 /* refused rows published, waiting for the session to record */

struct tg_forward_stats {
	bool up;			   /* the last attempt worked */
	int64_t hwm[TG_FWD_NSTREAMS];	   /* everything up to here is committed there */
	uint64_t rows[TG_FWD_NSTREAMS];	   /* rows sent and committed */
	uint64_t duplicates;		   /* of them, rows the target had already (a retry) */
	uint64_t batches, errors, outages; /* HTTP: a batch is a post */
	uint64_t refused;		   /* HTTP: answers refusing a post (3xx, 4xx) */
	uint64_t skipped;		   /* HTTP: rows without a Falco form, not posted */
	uint64_t refused_rows;		   /* PostgreSQL: rows refused for what they hold */
	/* Of them, those the session has yet to record (tg_store_forward_refused()), oldest
	 * first: the marks above already passed them. */
	struct tg_fwd_refused refusals[TG_FWD_REFUSALS_MAX];
	unsigned n_refusals;
	uint64_t backlog; /* findings, losses, health records and gaps the target lacks */
	int64_t lag_ns;	  /* how old (event time) the oldest of them is; 0 without backlog */
};

/*
 * --forward URL: a libpq connection URI (postgresql://USER@HOST:PORT/DB?sslmode=...) or
 * key=value string, refused when it does not parse or holds a password (the command line is
 * visible to every user: the password comes from a file or the environment). Its name for
 * forward_state, "postgresql://USER@HOST:PORT/DB" without the options, goes to target. 0, or
 * -1 with the reason and what to do in err.
 */
int tg_forward_target(const char *url, char *target, size_t len, char *err, size_t errlen);
/* The same check, its messages naming a reader's options when reader (--db URL,
 * --password-file) and the forwarder's otherwise. */
int tg_pg_url_target(const char *url, bool reader, char *target, size_t len, char *err,
		     size_t errlen);
/*
 * --forward-password-file FILE: a regular file owned by root (or this user), neither readable
 * nor writable by group or others; its first line is the password. A new string (free with
 * tg_forward_password_free()), or NULL with the reason in err.
 */
char *tg_forward_read_password(const char *path, char *err, size_t errlen);
/* The same for another secret, what naming it in messages ("the Authorization file"). */
char *tg_forward_read_secret(const char *path, const char *what, char *err, size_t errlen);
void tg_forward_password_free(char *pw);

/*
 * Pure: COPY's binary format, appended to *buf (of *len bytes, *cap allocated): the header
 * (signature, no flags, no extension), a row's field count, the trailer; a field: NULL, n bytes
 * (text and json alike), an integer of width 2, 4 or 8 bytes (big-endian), or time_ns (ns since
 * the epoch) as the timestamptz tmpguard.ns_time(time_ns) gives (microseconds since
 * 2000-01-01, truncated toward zero as the server's bigint division does). 0, or -1 on ENOMEM;
 * tg_forward_copy_int() returns 1, appending nothing, for a value its width cannot hold.
 */
int tg_forward_copy_header(char **buf, size_t *len, size_t *cap);
int tg_forward_copy_row(char **buf, size_t *len, size_t *cap, int fields);
int tg_forward_copy_trailer(char **buf, size_t *len, size_t *cap);
int tg_forward_copy_null(char **buf, size_t *len, size_t *cap);
int tg_forward_copy_bytes(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
int tg_forward_copy_int(char **buf, size_t *len, size_t *cap, int64_t v, int width);
int tg_forward_copy_time(char **buf, size_t *len, size_t *cap, int64_t time_ns);

/* Pure: true for an SQLSTATE of class 22 (data exception) or 23 (integrity constraint
 * violation): the server refuses the rows for what they hold, not for being away. */
bool tg_forward_data_refusal(const char *sqlstate);
/*
 * Pure: what a failure is about, for saying it once per outage: the SQLSTATE of an error
 * ending "... [XXXXX]" or "... [XXXXX] (hint)" (so a message naming a new file at each attempt
 * is one failure), else the text before its first quote. Into out (len bytes).
 */
void tg_forward_failure_class(const char *err, char *out, size_t len);
/* Pure: the next batch size after a batch of cur rows failed with a data refusal (halved,
 * at least 1); 0 when cur was 1 already (that row is refused). */
unsigned tg_forward_halve(unsigned cur);

/* Opens the store for reading and starts the thread. NULL, with err set, on failure. */
struct tg_forward *tg_forward_start(const struct tg_forward_opts *o, char *err, size_t errlen);
/* A copy of the current counters and marks (thread-safe). */
void tg_forward_stats(struct tg_forward *f, struct tg_forward_stats *out);
/* The session recorded the first n of the refusals its last tg_forward_stats() copy held:
 * they leave the list, making room for more. */
void tg_forward_refusals_taken(struct tg_forward *f, unsigned n);
/*
 * Stops the thread: it sends what is left for up to flush_ns, then ends; the final counters
 * and marks go to *out. A thread stuck in the server past that is cancelled (PQcancel), then
 * left behind if it still does not end. Frees f. Returns 0, or -1 when rows were left unsent
 * (they stay in the store for the next start).
 */
int tg_forward_stop(struct tg_forward *f, int64_t flush_ns, struct tg_forward_stats *out);

#endif
