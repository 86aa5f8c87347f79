// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A store written by `audit --db` into the report's model (report.h): open it read-only, check
 * that it is tmpguard's store of this schema version, then hand the model its sessions and the
 * findings, losses and health records of the period, row by row (tg_rpt_db_session,
 * tg_rpt_db_record).
 *
 * Not tg_store_open_read(): the report names what it could not read in its own words ("not a
 * tmpguard store", "store schema version N"), which its users and tests know, and it has
 * already told a store from JSON lines by the file's header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "report.h"
#include "store_schema.h"

#define BUSY_TIMEOUT_MS 5000 /* audit --db may be writing */

/* %s: " AND <--host condition>" or "" (host_cond()). */
static const char q_sessions[] = "SELECT id, started_ns, ended_ns, last_commit_ns, clean, json, "
				 "summary FROM sessions WHERE true%s ORDER BY id";
static const char q_findings[] = "SELECT id, session, json FROM findings WHERE time_ns >= ?1 "
				 "AND time_ns <= ?2%s ORDER BY time_ns, id";
static const char q_losses[] = "SELECT id, session, json FROM losses WHERE to_ns >= ?1 AND "
			       "from_ns <= ?2%s ORDER BY from_ns, id";
static const char q_health[] = "SELECT id, session, json FROM health WHERE time_ns >= ?1 "
			       "AND time_ns <= ?2%s ORDER BY time_ns, id";

/* One store being read. */
struct load {
	struct tg_rpt *r;
	const char *path;
	sqlite3 *db;
	sqlite3_stmt *st;
	/* Session ids of the store -> the model's sessions, in id order. */
	struct id_map {
		int64_t id;
		long session;
	} * map;
	size_t n_map, cap;
	char *err;
	size_t errlen;
	int version;	/* the store's schema version */
	char *hosts;	/* --host: " AND <condition on a session's row>", or "" */
	char *in_hosts; /* the same for the rows of a table: " AND session IN (...)" */
};

static long lookup(const struct load *l, int64_t id)
{
	size_t lo = 0, hi = l->n_map;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->map[mid].id == id)
			return l->map[mid].session;
		if (l->map[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? TG_RPT_NOTIME
							 : sqlite3_column_int64(st, i);
}

/* "PATH: what: SQLite's message". Returns -EINVAL. */
static int db_fail(struct load *l, const char *what)
{
	snprintf(l->err, l->errlen, "%s: %s: %s", l->path, what, sqlite3_errmsg(l->db));
	return -EINVAL;
}

/* Read-only, and never created: a mistyped name is an error, not an empty store. */
static int open_store(struct load *l)
{
	int rc;
	const char *v;

	if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return db_fail(l, "cannot open the store");
	sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
	if (sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
			       &l->st, NULL) != SQLITE_OK)
		return db_fail(l, "not a tmpguard store (no meta table)");
	rc = sqlite3_step(l->st);
	v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(l->st, 0) : NULL;
	/* A version-1 store (before forwarding) holds every column read here: read as it is,
	 * not migrated (the report opens it read-only). */
	if (!v || strtol(v, NULL, 10) < TG_STORE_SCHEMA_READ_MIN ||
	    strtol(v, NULL, 10) > TG_STORE_SCHEMA_VERSION || strspn(v, "0123456789") != strlen(v)) {
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_fail(l, "cannot read its schema version");
		snprintf(l->err, l->errlen,
			 "%s: store schema version %s; this tmpguard reads versions %d to %d (use "
			 "the tmpguard that wrote it)",
			 l->path, v ? v : "missing", TG_STORE_SCHEMA_READ_MIN,
			 TG_STORE_SCHEMA_VERSION);
		return -EINVAL;
	}
	l->version = (int)strtol(v, NULL, 10);
	sqlite3_finalize(l->st);
	l->st = NULL;
	return 0;
}

/*
 * --host as SQL, values ?3, ?4, ...: a session whose host id (its hostname before version 2)
 * is one named, or is that of a session whose hostname is (as query and the fleet store's
 * loader say it).
 */
static int host_cond(struct load *l)
{
	const struct tg_rpt_opts *o = &l->r->opts;
	const char *hid = l->version >= 2 ? "COALESCE(host_id, host)" : "host";
	char *list = NULL;
	size_t len = 0;
	FILE *m;

	if (!o->n_hosts) {
		l->hosts = strdup("");
		l->in_hosts = strdup("");
		return l->hosts && l->in_hosts ? 0 : -ENOMEM;
	}
	m = open_memstream(&list, &len);
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_hosts; i++)
		fprintf(m, "%s?%zu", i ? "," : "", i + 3);
	if (fclose(m) ||
	    asprintf(&l->hosts,
		     " AND (%s IN (%s) OR %s IN (SELECT %s FROM sessions WHERE host IN (%s)))", hid,
		     list, hid, hid, list) < 0 ||
	    asprintf(&l->in_hosts, " AND session IN (SELECT id FROM sessions WHERE true%s)",
		     l->hosts) < 0) {
		free(list);
		return -ENOMEM;
	}
	free(list);
	return 0;
}

/* The statement sql (with its "%s" for --host) prepared, the hosts bound. */
static int prepare(struct load *l, const char *sql, const char *cond, const char *what)
{
	char *full;
	int rc;

	sqlite3_finalize(l->st);
	l->st = NULL;
	if (asprintf(&full, sql, cond) < 0) {
		snprintf(l->err, l->errlen, "out of memory");
		return -ENOMEM;
	}
	rc = sqlite3_prepare_v2(l->db, full, -1, &l->st, NULL);
	free(full);
	if (rc != SQLITE_OK)
		return db_fail(l, what);
	for (size_t i = 0; i < l->r->opts.n_hosts; i++)
		sqlite3_bind_text(l->st, (int)i + 3, l->r->opts.hosts[i], -1, SQLITE_STATIC);
	return 0;
}

/* Every session of the store (a report's period is known only once its sessions are). */
static int read_sessions(struct load *l)
{
	sqlite3_stmt *st;
	int rc = prepare(l, q_sessions, l->hosts, "cannot read its sessions");

	if (rc)
		return rc;
	st = l->st;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		long s = tg_rpt_db_session(
			l->r, (uint64_t)id, (const char *)sqlite3_column_text(st, 5),
			(const char *)sqlite3_column_text(st, 6), sqlite3_column_int(st, 4) != 0,
			col_time(st, 1), col_time(st, 2), col_time(st, 3));
		struct id_map *m =
			l->n_map < l->cap
				? l->map
				: realloc(l->map, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof(*m));

		if (!m) {
			snprintf(l->err, l->errlen, "out of memory");
			return -ENOMEM;
		}
		l->map = m;
		l->map[l->n_map++] = (struct id_map){id, s};
	}
	if (rc != SQLITE_DONE)
		return db_fail(l, "cannot read its sessions");
	return 0;
}

/* The rows of one table (findings, losses, health) in [since, until]. */
static int read_rows(struct load *l, const char *sql, const char *what, int64_t since,
		     int64_t until)
{
	int rc = prepare(l, sql, l->in_hosts, what);

	if (rc)
		return rc;
	sqlite3_bind_int64(l->st, 1, since == TG_RPT_NOTIME ? INT64_MIN : since);
	sqlite3_bind_int64(l->st, 2, until == TG_RPT_NOTIME ? INT64_MAX : until);
	while ((rc = sqlite3_step(l->st)) == SQLITE_ROW)
		tg_rpt_db_record(l->r, (uint64_t)sqlite3_column_int64(l->st, 0),
				 lookup(l, sqlite3_column_int64(l->st, 1)),
				 (const char *)sqlite3_column_text(l->st, 2));
	if (rc != SQLITE_DONE)
		return db_fail(l, what);
	return 0;
}

int tg_rpt_load_store(struct tg_rpt *r, const char *path, int64_t since_ns, int64_t until_ns,
		      char *err, size_t errlen)
{
	struct load l = {.r = r, .path = path, .err = err, .errlen = errlen};
	int e;

	e = open_store(&l);
	if (!e && host_cond(&l)) {
		snprintf(err, errlen, "out of memory");
		e = -ENOMEM;
	}
	if (!e)
		e = read_sessions(&l);
	if (!e)
		e = read_rows(&l, q_findings, "cannot read its findings", since_ns, until_ns);
	if (!e)
		e = read_rows(&l, q_losses, "cannot read its losses", since_ns, until_ns);
	if (!e)
		e = read_rows(&l, q_health, "cannot read its health records", since_ns, until_ns);
	sqlite3_finalize(l.st);
	sqlite3_close(l.db);
	free(l.map);
	free(l.hosts);
	free(l.in_hosts);
	return e;
}
