// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fleet store's schema in PostgreSQL and its migrations (pg_schema.h); the partitions of
 * findings; what to say when the server refuses.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pg_schema.h"

/*
 * Migration 1: the tables. Times are kept twice: *_ns (bigint) exactly as the host wrote them,
 * and a timestamptz (microseconds) for people and for partitioning. Bodies are `json`, the
 * record's text as the host printed it, kept verbatim (jsonb would reorder keys and refuse
 * \u0000); cast to jsonb in a query to look inside. exe and path are COLLATE "C", so that
 * `path LIKE '/tmp/build-%'` uses their index whatever the database's collation.
 */
static const char migration_1[] =
	"CREATE SCHEMA IF NOT EXISTS tmpguard;\n"
	/* ns since the epoch -> timestamptz (microseconds, exact below 2^53 us) */
	"CREATE FUNCTION tmpguard.ns_time(bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE "
	"STRICT PARALLEL SAFE AS $$ SELECT timestamptz 'epoch' + ($1 / 1000) * interval '1 "
	"microsecond' $$;\n"
	"CREATE TABLE tmpguard.sessions (\n"
	"  host_id text NOT NULL,\n"
	"  session_key bigint NOT NULL,\n"
	"  host text NOT NULL,\n"
	"  started timestamptz NOT NULL,\n"
	"  started_ns bigint NOT NULL,\n"
	"  ended_ns bigint,\n"
	"  last_commit timestamptz,\n"
	"  last_commit_ns bigint,\n"
	"  clean boolean NOT NULL,\n"
	"  rev bigint NOT NULL,\n"
	"  body json NOT NULL,\n"
	"  summary json,\n"
	"  received timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (host_id, session_key));\n"
	"CREATE INDEX sessions_started ON tmpguard.sessions (started);\n"
	"CREATE INDEX sessions_host_alive ON tmpguard.sessions (host_id, last_commit);\n"
	"CREATE TABLE tmpguard.findings (\n"
	"  host_id text NOT NULL,\n"
	"  session_key bigint NOT NULL,\n"
	"  seq bigint NOT NULL,\n"
	"  time timestamptz NOT NULL,\n"
	"  time_ns bigint NOT NULL,\n"
	"  host text NOT NULL,\n"
	"  rule text NOT NULL,\n"
	"  severity text NOT NULL,\n"
	"  severity_level smallint NOT NULL,\n"
	"  action text NOT NULL,\n"
	"  pid integer NOT NULL,\n"
	"  ppid integer NOT NULL,\n"
	"  uid bigint NOT NULL,\n"
	"  exe text COLLATE \"C\" NOT NULL,\n"
	"  comm text NOT NULL,\n"
	"  path text COLLATE \"C\" NOT NULL,\n"
	"  container_id text,\n"
	"  body json NOT NULL,\n"
	"  received timestamptz NOT NULL DEFAULT now(),\n"
	/* the partition key (time) must be in it; a row's time never changes, so a retry meets
	 * its first copy in the same partition */
	"  PRIMARY KEY (host_id, session_key, seq, time)\n"
	") PARTITION BY RANGE (time);\n"
	"CREATE INDEX findings_time ON tmpguard.findings (time);\n"
	/* (host_id, time) was here until schema 4, which drops it: see migration_4 */
	"CREATE INDEX findings_rule ON tmpguard.findings (rule, time);\n"
	"CREATE INDEX findings_exe ON tmpguard.findings (exe, time);\n"
	"CREATE INDEX findings_path ON tmpguard.findings (path, time);\n"
	/* few rows: not partitioned, retention by DELETE */
	"CREATE TABLE tmpguard.losses (\n"
	"  host_id text NOT NULL,\n"
	"  session_key bigint NOT NULL,\n"
	"  seq bigint NOT NULL,\n"
	"  time timestamptz NOT NULL,\n" /* the window's end */
	"  from_ns bigint NOT NULL,\n"
	"  to_ns bigint NOT NULL,\n"
	"  lost bigint NOT NULL,\n"
	"  body json NOT NULL,\n"
	"  received timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (host_id, session_key, seq));\n"
	"CREATE INDEX losses_time ON tmpguard.losses (time);\n"
	"CREATE TABLE tmpguard.health (\n"
	"  host_id text NOT NULL,\n"
	"  session_key bigint NOT NULL,\n"
	"  seq bigint NOT NULL,\n"
	"  time timestamptz NOT NULL,\n"
	"  time_ns bigint NOT NULL,\n"
	"  status text NOT NULL,\n"
	"  body json NOT NULL,\n"
	"  received timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (host_id, session_key, seq));\n"
	"CREATE INDEX health_time ON tmpguard.health (time);\n"
	/* rows a host's size limit evicted before they were forwarded: keyed by the first of
	 * them, whose key is unique */
	"CREATE TABLE tmpguard.forward_gaps (\n"
	"  host_id text NOT NULL,\n"
	"  stream text NOT NULL,\n"
	"  session_key bigint NOT NULL,\n"
	"  first_seq bigint NOT NULL,\n"
	"  last_seq bigint NOT NULL,\n"
	"  evicted bigint NOT NULL,\n"
	"  from_time timestamptz NOT NULL,\n"
	"  to_time timestamptz NOT NULL,\n"
	"  time timestamptz NOT NULL,\n" /* when they were evicted */
	"  received timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (host_id, stream, session_key, first_seq));\n"
	/* Retention: drops the partitions of days that end at or before cutoff; returns their
	 * names. SELECT tmpguard.drop_findings_before(now() - interval '90 days'); */
	"CREATE FUNCTION tmpguard.drop_findings_before(cutoff timestamptz) RETURNS SETOF text "
	"LANGUAGE plpgsql AS $$\n"
	"DECLARE p record;\n"
	"BEGIN\n"
	"  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid\n"
	"      WHERE i.inhparent = 'tmpguard.findings'::regclass\n"
	"        AND c.relname ~ '^findings_p[0-9]{8}$' ORDER BY c.relname LOOP\n"
	"    IF (to_date(substr(p.relname, 11), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'\n"
	"        <= cutoff THEN\n"
	"      EXECUTE format('DROP TABLE tmpguard.%I', p.relname);\n"
	"      RETURN NEXT p.relname;\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"END $$;\n";

/*
 * 2: what the fleet benchmark (bench/fleet.py) found. The investigation by host and path
 * ("this host, this path prefix, last week") read the host's rows of each day through
 * (host_id, time) and dropped most of them on the path: (host_id, path, time) makes the path's
 * prefix a range of the index. And a finding's body is just over the size PostgreSQL
 * compresses at: pglz took 39% of the server's CPU during ingest, lz4 (PostgreSQL 14 and later,
 * when built with it, as Debian's is) a fraction of that; on an older or other server the
 * bodies stay as they were. New partitions take the parent's setting; existing ones are set
 * too (rows already written keep their compression).
 */
static const char migration_2[] =
	"CREATE INDEX findings_host_path ON tmpguard.findings (host_id, path, time);\n"
	"DO $$\n"
	"DECLARE p record;\n"
	"BEGIN\n"
	"  EXECUTE 'ALTER TABLE tmpguard.findings ALTER COLUMN body SET COMPRESSION lz4';\n"
	"  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid\n"
	"      WHERE i.inhparent = 'tmpguard.findings'::regclass LOOP\n"
	"    EXECUTE format('ALTER TABLE tmpguard.%I ALTER COLUMN body SET COMPRESSION lz4',\n"
	"                   p.relname);\n"
	"  END LOOP;\n"
	"EXCEPTION WHEN syntax_error OR feature_not_supported OR invalid_parameter_value THEN\n"
	"  RAISE NOTICE 'tmpguard: findings bodies stay compressed with pglz: %', SQLERRM;\n"
	"END $$;\n";

/*
 * 3: the same benchmark, profiled (perf) during ingest: a finding's body, compressed, still
 * went out of line into the TOAST table (toast_save_datum: its own heap insert and index
 * insert per row, 7% of the server's CPU). STORAGE MAIN keeps the compressed body in the row
 * (out of line only if the row would not fit in a page), which the investigation queries read
 * anyway. Partitions inherit it; rows already written stay where they are. And `--host NAME`
 * finds the host ids of a hostname in sessions: by index, not by reading every session.
 */
static const char migration_3[] =
	"ALTER TABLE tmpguard.findings ALTER COLUMN body SET STORAGE MAIN;\n"
	"CREATE INDEX sessions_host ON tmpguard.sessions (host);\n";

/*
 * 4: (host_id, time) is dropped. Since schema 2 every investigation by host is served by
 * (host_id, path, time): its leading column is the same, and a finding's partition is one day,
 * so within a partition the host's rows are what `time` would have narrowed them to anyway
 * (EXPLAIN: the same index scans, tests/live/test_fleet_read.py FleetRead
 * test_host_queries_use_an_index). One index fewer to insert every row into. Migration 1 no
 * longer creates it; a database made before schema 4 has it until this runs.
 */
static const char migration_4[] = "DROP INDEX IF EXISTS tmpguard.findings_host;\n";

/*
 * 5: what migration 3 missed. TOAST makes a row fit in 2 KB by taking the columns whose storage
 * is EXTENDED first, compressing them and then moving them out of line, and only then
 * compressing the MAIN ones. With the body MAIN and every text column EXTENDED, a finding
 * whose body is over 2 KB before compression had its host id and path (any text over 24
 * bytes) moved into the TOAST table, a heap and an index insert each, before its body was
 * compressed to fit (pg_waldump of the benchmark: 1.8 TOAST rows of about 40 bytes a finding,
 * a third of its WAL records). MAIN on them too: they stay in the row, and the body is
 * compressed first. ALTER TABLE recurses into the partitions; rows already written stay where
 * they are.
 */
static const char migration_5[] =
	"ALTER TABLE tmpguard.findings ALTER COLUMN host_id SET STORAGE MAIN,\n"
	"  ALTER COLUMN host SET STORAGE MAIN, ALTER COLUMN rule SET STORAGE MAIN,\n"
	"  ALTER COLUMN severity SET STORAGE MAIN, ALTER COLUMN action SET STORAGE MAIN,\n"
	"  ALTER COLUMN exe SET STORAGE MAIN, ALTER COLUMN comm SET STORAGE MAIN,\n"
	"  ALTER COLUMN path SET STORAGE MAIN, ALTER COLUMN container_id SET STORAGE MAIN;\n";

/* The migrations, by the version they bring the schema to. */
static const char *const migrations[] = {
	[1] = migration_1, [2] = migration_2, [3] = migration_3,
	[4] = migration_4, [5] = migration_5,
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == TG_PG_SCHEMA_VERSION + 1,
	       "one migration per schema version");

int tg_pg_check_server(int version, char *err, size_t errlen)
{
	if (version >= TG_PG_MIN_SERVER)
		return 0;
	snprintf(err, errlen,
		 "the PostgreSQL server is version %d.%d, older than %d, the oldest tmpguard's "
		 "fleet schema runs on (partitioned tables with primary keys and ON CONFLICT): "
		 "upgrade the server",
		 version / 10000, version >= 100000 ? version % 10000 : version / 100 % 100,
		 TG_PG_MIN_SERVER / 10000);
	return -1;
}

int tg_pg_check_schema(int db, char *err, size_t errlen)
{
	if (db <= TG_PG_SCHEMA_VERSION)
		return 0;
	snprintf(err, errlen,
		 "the fleet database has tmpguard schema version %d, newer than this tmpguard's "
		 "%d: upgrade tmpguard on this host (its rows wait in the local store until then)",
		 db, TG_PG_SCHEMA_VERSION);
	return -1;
}

/* The outage hints' tail, for a forwarder only: a reader has no local store. */
#define AWAY_WAIT " Rows wait in the local store until it is back"
#define AWAY_ONLY "the server went away"

/*
 * What to do about a failure. A server's error is known by its SQLSTATE, exact or of its
 * class ("08": the connection), whatever its message's language; libpq's own errors (and the
 * server's at connection time, which libpq gives without a SQLSTATE) only by their text.
 * fwd: the forwarder's hint; read: the reader's, when it differs (NULL: fwd).
 */
static const struct pg_hint {
	const char *state, *text, *fwd, *read;
} pg_hints[] = {
	{"28P01", "password authentication failed",
	 "check the password (--forward-password-file, PGPASSWORD or PGPASSFILE) and the user in "
	 "the URL",
	 "check the password (--password-file, PGPASSWORD or PGPASSFILE) and the user in the "
	 "URL"},
	{NULL, "no password supplied",
	 "give the password in --forward-password-file FILE (owned by root, mode 0600), "
	 "PGPASSWORD or PGPASSFILE",
	 "give the password in --password-file FILE (owned by root, mode 0600), PGPASSWORD or "
	 "PGPASSFILE"},
	{"28000", "pg_hba.conf",
	 "allow this host and user in the server's pg_hba.conf, or fix the user and sslmode in "
	 "the URL",
	 NULL},
	{"3D000", "database \"", "create the database, or fix the database name in the URL", NULL},
	{NULL, "role \"", "create the role, or fix the user in the URL", NULL},
	{"42501", "permission denied",
	 "grant the role what it needs: CREATE on the database to apply the schema (or apply it "
	 "once as the database's owner), then INSERT, UPDATE and SELECT on schema tmpguard's "
	 "tables",
	 "grant the role USAGE on schema tmpguard and SELECT on its tables"},
	{"53100", "No space left",
	 "the PostgreSQL server is out of disk space: free space on the filesystem of its data "
	 "directory or pg_wal (and start PostgreSQL again if it stopped), or drop old days with "
	 "SELECT tmpguard.drop_findings_before(CUTOFF)",
	 NULL},
	/* a row refused for what it holds: it holds up its stream (no quarantine yet) */
	{"23514", "violates check constraint",
	 "the server refuses a row for what it holds: a CHECK constraint or trigger on "
	 "tmpguard's tables? The stream's later rows wait behind it until the server takes it",
	 NULL},
	{"22021", "invalid byte sequence",
	 "the server refuses a row's bytes as not UTF-8, which tmpguard should never send "
	 "(report it): the stream's later rows wait behind it",
	 NULL},
	{"53300", "too many clients",
	 "the server has no connection to spare: raise max_connections or put a pooler in "
	 "front of it",
	 NULL},
	{"57P03", "starting up", "the server is starting up or shutting down", NULL},
	{NULL, "could not translate host name", "fix the host in the URL", NULL},
	{NULL, "certificate",
	 "check sslmode and sslrootcert in the URL against the server's certificate", NULL},
	{NULL, "SSL", "check sslmode and sslrootcert in the URL", NULL},
	{NULL, "timeout expired",
	 "the server did not answer within connect_timeout: is the host reachable?", NULL},
	{NULL, "Connection refused", "is PostgreSQL running and listening there?" AWAY_WAIT,
	 "is PostgreSQL running and listening there?"},
	{NULL, "No such file or directory",
	 "is PostgreSQL running, with its socket in that directory?" AWAY_WAIT,
	 "is PostgreSQL running, with its socket in that directory?"},
	{NULL, "server closed the connection",
	 AWAY_ONLY "; rows wait in the local store until it is back", AWAY_ONLY},
	{"57P01", "terminating connection",
	 AWAY_ONLY "; rows wait in the local store until it is back", AWAY_ONLY},
	{"57P02", NULL, AWAY_ONLY "; rows wait in the local store until it is back", AWAY_ONLY},
	/* classes, after the exact states: any other connection exception or shortage */
	{"08", NULL, AWAY_ONLY "; rows wait in the local store until it is back", AWAY_ONLY},
	{"53", NULL, "the server lacks a resource (disk, memory or connections): see its log",
	 NULL},
};

/* The hint for a lost connection: by the connection's status, whatever libpq's text. */
static const struct pg_hint pg_lost = {
	NULL, NULL, AWAY_ONLY "; rows wait in the local store until it is back", AWAY_ONLY};

static const char *hint_text(const struct pg_hint *h, enum tg_pg_side side)
{
	return side == TG_PG_READER && h->read ? h->read : h->fwd;
}

const char *tg_pg_hint_as(enum tg_pg_side side, const char *sqlstate, const char *m)
{
	const size_t n = sizeof(pg_hints) / sizeof(pg_hints[0]);

	if (sqlstate && *sqlstate) {
		for (size_t i = 0; i < n; i++)
			if (pg_hints[i].state && strlen(pg_hints[i].state) == 5 &&
			    !strcmp(sqlstate, pg_hints[i].state))
				return hint_text(&pg_hints[i], side);
		for (size_t i = 0; i < n; i++)
			if (pg_hints[i].state && strlen(pg_hints[i].state) == 2 &&
			    !strncmp(sqlstate, pg_hints[i].state, 2))
				return hint_text(&pg_hints[i], side);
		return "";
	}
	for (size_t i = 0; m && i < n; i++)
		if (pg_hints[i].text && strstr(m, pg_hints[i].text))
			return hint_text(&pg_hints[i], side);
	return "";
}

const char *tg_pg_hint(const char *sqlstate, const char *m)
{
	return tg_pg_hint_as(TG_PG_FORWARDER, sqlstate, m);
}

void tg_pg_error_as(enum tg_pg_side side, PGconn *c, const PGresult *r, const char *what, char *err,
		    size_t errlen)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char one[512];
	const char *hint;
	size_t n;

	if (!msg)
		msg = c ? PQerrorMessage(c) : "unknown error";
	/* libpq's messages end in a newline and may hold several lines: one line here. */
	snprintf(one, sizeof(one), "%s", msg);
	for (char *p = one; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(one);
	while (n && one[n - 1] == ' ')
		one[--n] = 0;
	/* A statement that failed without a server's SQLSTATE on a connection that is now
	 * bad: the connection was lost, whatever words libpq found for it. */
	if (r && !state && c && PQstatus(c) == CONNECTION_BAD)
		hint = hint_text(&pg_lost, side);
	else
		hint = tg_pg_hint_as(side, state, one);
	snprintf(err, errlen, "%s: %s%s%s%s", what, one, state ? " [" : "", state ? state : "",
		 state ? "]" : "");
	if (*hint) {
		n = strlen(err);
		snprintf(err + n, errlen - n, " (%s)", hint);
	}
}

void tg_pg_error(PGconn *c, const PGresult *r, const char *what, char *err, size_t errlen)
{
	tg_pg_error_as(TG_PG_FORWARDER, c, r, what, err, errlen);
}

/* Runs sql, expecting no rows; -1 with err set ("what: ...") on failure. */
static int run(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		tg_pg_error(c, r, what, err, errlen);
	PQclear(r);
	return ok ? 0 : -1;
}

/* The schema's version: 0 when there is none yet, -1 on error (err set). */
static int schema_version(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT COALESCE(max(version), 0) FROM tmpguard.schema_migrations");
	const char *state;
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = atoi(PQgetvalue(r, 0, 0));
	} else {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* no schema tmpguard, or no migrations table in it: nothing applied yet */
		if (state && (!strcmp(state, "3F000") || !strcmp(state, "42P01")))
			v = 0;
		else
			tg_pg_error(c, r, "cannot read the fleet schema's version", err, errlen);
	}
	PQclear(r);
	return v;
}

int tg_pg_migrate(PGconn *c, const char *version, char *err, size_t errlen)
{
	const char *params[2];
	char sql[256], num[16];
	PGresult *r;
	int v;

	if (tg_pg_check_server(PQserverVersion(c), err, errlen))
		return -1;
	v = schema_version(c, err, errlen);
	if (v < 0 || tg_pg_check_schema(v, err, errlen))
		return -1;
	if (v == TG_PG_SCHEMA_VERSION)
		return 0;
	/* Under the lock, read the version again: another host may have just applied it. */
	snprintf(sql, sizeof(sql),
		 "BEGIN; SET LOCAL lock_timeout = '60s'; SELECT pg_advisory_xact_lock(%d, 1); "
		 "CREATE SCHEMA IF NOT EXISTS tmpguard; ",
		 TG_PG_LOCK_CLASS);
	if (run(c, sql, "cannot start applying the fleet schema", err, errlen) ||
	    run(c,
		"CREATE TABLE IF NOT EXISTS tmpguard.schema_migrations (version integer PRIMARY "
		"KEY, applied timestamptz NOT NULL DEFAULT now(), tmpguard text NOT NULL)",
		"cannot create tmpguard.schema_migrations", err, errlen))
		goto fail;
	v = schema_version(c, err, errlen);
	if (v < 0 || tg_pg_check_schema(v, err, errlen))
		goto fail;
	for (int m = v + 1; m <= TG_PG_SCHEMA_VERSION; m++) {
		snprintf(sql, sizeof(sql), "cannot apply fleet schema migration %d", m);
		if (run(c, migrations[m], sql, err, errlen))
			goto fail;
		snprintf(num, sizeof(num), "%d", m);
		params[0] = num;
		params[1] = version;
		r = PQexecParams(c,
				 "INSERT INTO tmpguard.schema_migrations(version, tmpguard) VALUES "
				 "($1, $2)",
				 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			tg_pg_error(c, r, "cannot record a fleet schema migration", err, errlen);
			PQclear(r);
			goto fail;
		}
		PQclear(r);
	}
	if (run(c, "COMMIT", "cannot commit the fleet schema", err, errlen))
		goto fail;
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int64_t tg_pg_day(int64_t time_ns)
{
	const int64_t day_ns = 86400LL * 1000000000LL;

	return time_ns >= 0 ? time_ns / day_ns : -((-time_ns + day_ns - 1) / day_ns);
}

void tg_pg_partition_name(int64_t day, char *name, size_t len)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(name, len, "findings_p%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int tg_pg_ensure_partition(PGconn *c, int64_t day, char *err, size_t errlen)
{
	char name[64], sql[512], from[32], to[32];
	time_t t0 = (time_t)(day * 86400), t1 = t0 + 86400;
	struct tm a, b;

	tg_pg_partition_name(day, name, sizeof(name));
	gmtime_r(&t0, &a);
	gmtime_r(&t1, &b);
	strftime(from, sizeof(from), "%Y-%m-%d 00:00:00+00", &a);
	strftime(to, sizeof(to), "%Y-%m-%d 00:00:00+00", &b);
	/* One statement string: one implicit transaction, which the lock lasts. Forwarders
	 * creating the same day at once would otherwise collide in the catalog. */
	snprintf(sql, sizeof(sql),
		 "SELECT pg_advisory_xact_lock(%d, 2); CREATE TABLE IF NOT EXISTS tmpguard.%s "
		 "PARTITION OF tmpguard.findings FOR VALUES FROM ('%s') TO ('%s')",
		 TG_PG_LOCK_CLASS, name, from, to);
	return run(c, sql, "cannot create a partition of tmpguard.findings", err, errlen);
}
