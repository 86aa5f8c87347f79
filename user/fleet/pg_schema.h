/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fleet store's schema in PostgreSQL (docs/fleet.md), applied by tmpguard itself: numbered
 * migrations in schema "tmpguard", each recorded in tmpguard.schema_migrations, applied in one
 * transaction under an advisory lock, so that a thousand forwarders starting at once apply
 * each exactly once. A database whose schema is newer than this tmpguard's is refused (the
 * forwarder waits: upgrade tmpguard), and so is a server older than TG_PG_MIN_SERVER.
 *
 * Every key leads with host_id (host/hostid.h): a row's key is (host_id, session_key, seq),
 * seq being the row's id in the host's store, never given twice (store_schema.h). So every
 * table can be distributed by host_id (Citus) with its keys intact. Findings are partitioned
 * by day (UTC) on their time, so that retention drops partitions
 * (tmpguard.drop_findings_before()); the forwarder creates the partitions it needs.
 */
#ifndef TG_PG_SCHEMA_H
#define TG_PG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#define TG_PG_SCHEMA_VERSION 5
/* PostgreSQL 11: primary keys on partitioned tables, INSERT ... ON CONFLICT into them. */
#define TG_PG_MIN_SERVER 110000
/* pg_advisory_xact_lock(TG_PG_LOCK_CLASS, 1) around migrations, (..., 2) around creating
 * partitions: "tmpg". */
#define TG_PG_LOCK_CLASS 1953329255

/* Pure: 0 if a server of PQserverVersion() version will do, else -1 with what to do in err. */
int tg_pg_check_server(int version, char *err, size_t errlen);
/* Pure: 0 if a schema of version db (0: none yet) can be used or brought up to date by this
 * tmpguard, else -1 with what to do in err. */
int tg_pg_check_schema(int db, char *err, size_t errlen);

/*
 * On a new connection: checks the server's version, then the schema's, applying the
 * migrations it lacks (version: this tmpguard's, recorded with them). 0, or -1 with the
 * failure and what to do in err.
 */
int tg_pg_migrate(PGconn *c, const char *version, char *err, size_t errlen);

/* Pure: the UTC day (days since 1970-01-01, floored) of a time in ns, and the name of its
 * findings partition ("findings_p20261128"). */
int64_t tg_pg_day(int64_t time_ns);
void tg_pg_partition_name(int64_t day, char *name, size_t len);
/* Creates the findings partition of day unless it exists. 0, or -1 with err set. */
int tg_pg_ensure_partition(PGconn *c, int64_t day, char *err, size_t errlen);

/* Who meets a failure: a forwarder (--forward, --forward-password-file; its rows wait in
 * the local store) or a reader (query and report --db URL, --password-file; no store). */
enum tg_pg_side {
	TG_PG_FORWARDER,
	TG_PG_READER,
};

/* Pure: what to do about a libpq failure (a connection's PQerrorMessage, or a result's
 * SQLSTATE and message), said for side: a short hint, "" when there is none to give. A
 * SQLSTATE decides when there is one (exactly, else by its class); the text only when there
 * is none (libpq's own errors, and the server's at connection time). */
const char *tg_pg_hint_as(enum tg_pg_side side, const char *sqlstate, const char *message);
/* The same for a forwarder. */
const char *tg_pg_hint(const char *sqlstate, const char *message);
/* err = "what: message [SQLSTATE] (hint)" of a failed result (or the connection's error), the
 * hint for side; a result without SQLSTATE on a connection now bad is a lost connection. */
void tg_pg_error_as(enum tg_pg_side side, PGconn *c, const PGresult *r, const char *what, char *err,
		    size_t errlen);
/* The same for a forwarder. */
void tg_pg_error(PGconn *c, const PGresult *r, const char *what, char *err, size_t errlen);

#endif
