// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fleet store in PostgreSQL into the report's model (report.h), as report_load.c reads a
 * local store: its sessions (record and summary), then the findings, losses and health
 * records of the period, each row handed to the model with the session it belongs to
 * (tg_rpt_db_session, tg_rpt_db_record), and the forward gaps the hosts recorded
 * (tg_rpt_db_gap). One function per table, in one read-only snapshot (pg_read.h).
 *
 * The input's content hash (tg_rpt_input_digest) is the SHA-256 of what was read, in the
 * order read: each session's body, a NUL, its summary (or nothing), a NUL; each finding's,
 * loss's and health record's body and a NUL; each gap's columns as text, tab-separated, and
 * a NUL. Two reports over the same rows give the same digest; a row added, changed or
 * removed changes it.
 *
 * Rows come by host id (bytes), then as report_load.c orders one store's (time, then id: seq
 * here), so that the model sees what it sees when given each host's store in host-id order:
 * `report --db postgresql://...` equals `report --db a.db --db b.db ...` but for the inputs'
 * names. A session's key there is (host_id, session_key); a row's (host_id, session_key, seq).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "pg_read.h"
#include "pg_schema.h"
#include "report.h"
#include "util/sha256.h"

#define MAX_PARAMS (2 + TG_RPT_HOSTS_MAX)

/* The fleet store being read. */
struct pgload {
	struct tg_rpt *r;
	PGconn *c;
	char name[TG_PG_NAME_MAX];
	int64_t since, until; /* TG_RPT_NOTIME: open */
	/* (host_id, session_key) -> the model's session, sorted for bsearch */
	struct pg_session {
		char *host_id;
		long long key;
		long session;
	} * map;
	size_t n_map, cap;
	struct tg_sha256 *digest; /* of the rows read */
	char *err;
	size_t errlen;
};

/* A row's text into the digest, and the NUL that ends it. */
static void digest(struct pgload *l, const char *text)
{
	tg_sha256_update(l->digest, text, strlen(text) + 1);
}

/* A statement's conditions and their $n values. */
struct conds {
	char *sql;
	size_t len;
	int n;
	const char *values[MAX_PARAMS];
	char num[2][32];
};

static int cmp_session(const void *a, const void *b)
{
	const struct pg_session *x = a, *y = b;
	int c = strcmp(x->host_id, y->host_id);

	if (c)
		return c;
	return x->key < y->key ? -1 : x->key > y->key;
}

static long lookup(const struct pgload *l, const char *host_id, long long key)
{
	struct pg_session k = {.host_id = (char *)host_id, .key = key}, *s;

	s = bsearch(&k, l->map, l->n_map, sizeof(*l->map), cmp_session);
	return s ? s->session : -1;
}

static int64_t col_time(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? TG_RPT_NOTIME
					  : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int fail(struct pgload *l, const PGresult *res, const char *what)
{
	char w[TG_PG_NAME_MAX + 64];

	snprintf(w, sizeof(w), "%s: %s", l->name, what);
	tg_pg_error_as(TG_PG_READER, l->c, res, w, l->err, l->errlen);
	return -EINVAL;
}

/*
 * " AND ..." for a table's rows: in the period (lo_col >= since, hi_col <= until; on
 * findings the partition key too, so that only the period's days are read) and of the hosts
 * asked for (--host: a host id, or the hostname of one of its sessions).
 */
static int where(const struct pgload *l, struct conds *w, const char *lo_col, const char *hi_col,
		 bool partitioned)
{
	const struct tg_rpt_opts *o = &l->r->opts;
	FILE *m = open_memstream(&w->sql, &w->len);

	if (!m)
		return -ENOMEM;
	w->n = 0;
	if (lo_col && l->since != TG_RPT_NOTIME) {
		snprintf(w->num[0], sizeof(w->num[0]), "%lld", (long long)l->since);
		w->values[w->n++] = w->num[0];
		if (partitioned)
			fprintf(m, " AND time >= tmpguard.ns_time($%d::bigint)", w->n);
		fprintf(m, " AND %s >= $%d::bigint", lo_col, w->n);
	}
	if (hi_col && l->until != TG_RPT_NOTIME) {
		snprintf(w->num[1], sizeof(w->num[1]), "%lld", (long long)l->until);
		w->values[w->n++] = w->num[1];
		if (partitioned)
			fprintf(m, " AND time <= tmpguard.ns_time($%d::bigint)", w->n);
		fprintf(m, " AND %s <= $%d::bigint", hi_col, w->n);
	}
	if (o->n_hosts) {
		int first = w->n + 1;

		fputs(" AND host_id = ANY (ARRAY(SELECT host_id FROM tmpguard.sessions WHERE host "
		      "= "
		      "ANY (ARRAY[",
		      m);
		for (size_t i = 0; i < o->n_hosts; i++) {
			w->values[w->n++] = o->hosts[i];
			fprintf(m, "%s$%d::text", i ? "," : "", first + (int)i);
		}
		fputs("])) || ARRAY[", m);
		for (size_t i = 0; i < o->n_hosts; i++)
			fprintf(m, "%s$%d::text", i ? "," : "", first + (int)i);
		fputs("])", m);
	}
	return fclose(m) ? -ENOMEM : 0;
}

/* The rows of sql (a format with one %s: " AND <--host condition>"), all at once. */
static int select_hosts(struct pgload *l, const char *sql_fmt, const char *what, PGresult **res)
{
	struct conds w = {0};
	char *sql = NULL;
	int e = where(l, &w, NULL, NULL, false);

	if (e || asprintf(&sql, sql_fmt, w.sql) < 0) {
		free(w.sql);
		snprintf(l->err, l->errlen, "out of memory");
		return -ENOMEM;
	}
	*res = PQexecParams(l->c, sql, w.n, NULL, w.values, NULL, NULL, 0);
	free(sql);
	free(w.sql);
	if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
		e = fail(l, *res, what);
		PQclear(*res);
		*res = NULL;
	}
	return e;
}

/* Every session (of the hosts asked for): the period is known only once they are. */
static int read_sessions(struct pgload *l)
{
	PGresult *res;
	int e = select_hosts(l,
			     "SELECT host_id, session_key, started_ns, ended_ns, last_commit_ns, "
			     "clean, body, summary FROM tmpguard.sessions WHERE true%s ORDER BY "
			     "host_id COLLATE \"C\", started_ns, session_key",
			     "cannot read its sessions", &res);

	if (e)
		return e;
	l->map = calloc((size_t)PQntuples(res) + 1, sizeof(*l->map));
	for (int i = 0; l->map && i < PQntuples(res); i++) {
		long s = tg_rpt_db_session(l->r, (uint64_t)i + 1, PQgetvalue(res, i, 6),
					   PQgetisnull(res, i, 7) ? NULL : PQgetvalue(res, i, 7),
					   !strcmp(PQgetvalue(res, i, 5), "t"), col_time(res, i, 2),
					   col_time(res, i, 3), col_time(res, i, 4));

		digest(l, PQgetvalue(res, i, 6));
		digest(l, PQgetvalue(res, i, 7)); /* "" when NULL */

		l->map[l->n_map] = (struct pg_session){strdup(PQgetvalue(res, i, 0)),
						       strtoll(PQgetvalue(res, i, 1), NULL, 10), s};
		if (!l->map[l->n_map++].host_id)
			e = -ENOMEM;
	}
	if (!l->map || e) {
		snprintf(l->err, l->errlen, "out of memory");
		e = -ENOMEM;
	}
	PQclear(res);
	if (!e)
		qsort(l->map, l->n_map, sizeof(*l->map), cmp_session);
	return e;
}

/* The rows of one table in the period, one at a time: host_id, session_key, seq, body. */
static int read_rows(struct pgload *l, const char *table, const char *lo_col, const char *hi_col,
		     const char *order, const char *what)
{
	bool findings = !strcmp(table, "findings");
	struct conds w = {0};
	PGresult *res;
	char *sql = NULL;
	int e = where(l, &w, lo_col, hi_col, findings);

	if (e || asprintf(&sql,
			  "SELECT host_id, session_key, seq, body FROM tmpguard.%s WHERE true%s "
			  "ORDER BY host_id COLLATE \"C\", %s, seq",
			  table, w.sql, order) < 0) {
		free(w.sql);
		snprintf(l->err, l->errlen, "out of memory");
		return -ENOMEM;
	}
	if (!PQsendQueryParams(l->c, sql, w.n, NULL, w.values, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(l->c))
		e = fail(l, NULL, what);
	free(sql);
	free(w.sql);
	while (!e && (res = PQgetResult(l->c))) {
		if (PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
			tg_rpt_db_record(l->r, strtoull(PQgetvalue(res, 0, 2), NULL, 10),
					 lookup(l, PQgetvalue(res, 0, 0),
						strtoll(PQgetvalue(res, 0, 1), NULL, 10)),
					 PQgetvalue(res, 0, 3));
			digest(l, PQgetvalue(res, 0, 3));
		} else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			e = fail(l, res, what);
		PQclear(res);
	}
	while ((res = PQgetResult(l->c)))
		PQclear(res);
	return e;
}

/* Their times: timestamptz (microseconds) to ns since the epoch. */
static const char q_gaps[] =
	"SELECT g.host_id, (SELECT s.host FROM tmpguard.sessions s WHERE s.host_id = g.host_id "
	"ORDER BY s.started_ns DESC LIMIT 1), g.stream, g.session_key, g.first_seq, g.last_seq, "
	"g.evicted, (extract(epoch FROM g.from_time) * 1000000)::bigint * 1000, "
	"(extract(epoch FROM g.to_time) * 1000000)::bigint * 1000, "
	"(extract(epoch FROM g.time) * 1000000)::bigint * 1000 FROM tmpguard.forward_gaps g "
	"WHERE true%s ORDER BY g.host_id COLLATE \"C\", g.time, g.stream, g.session_key, "
	"g.first_seq";

/*
 * The forward gaps the hosts recorded (rows their size limit evicted before this store had
 * them), with the host's name from a session of that host. Their target is this store.
 */
static int read_gaps(struct pgload *l)
{
	PGresult *res;
	int e = select_hosts(l, q_gaps, "cannot read its forward gaps", &res);

	if (e)
		return e;
	for (int i = 0; i < PQntuples(res); i++) {
		struct tg_rpt_gap_row g = {
			.host = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
			.host_id = PQgetvalue(res, i, 0),
			.target = l->name,
			.stream = PQgetvalue(res, i, 2),
			.session_key = strtoll(PQgetvalue(res, i, 3), NULL, 10),
			.first_id = strtoll(PQgetvalue(res, i, 4), NULL, 10),
			.last_id = strtoll(PQgetvalue(res, i, 5), NULL, 10),
			.evicted = strtoull(PQgetvalue(res, i, 6), NULL, 10),
			.from_ns = strtoll(PQgetvalue(res, i, 7), NULL, 10),
			.to_ns = strtoll(PQgetvalue(res, i, 8), NULL, 10),
			.time_ns = strtoll(PQgetvalue(res, i, 9), NULL, 10),
		};

		for (int c = 0; c < PQnfields(res); c++) {
			const char *v = PQgetvalue(res, i, c);

			tg_sha256_update(l->digest, v, strlen(v));
			tg_sha256_update(l->digest, c + 1 < PQnfields(res) ? "\t" : "", 1);
		}
		tg_rpt_db_gap(l->r, (uint64_t)i + 1, &g);
	}
	PQclear(res);
	return 0;
}

/* The digest of what was read, as the input's content hash. */
static int finish_digest(struct pgload *l)
{
	char hex[TG_SHA256_HEX];
	int e = tg_sha256_final(l->digest, hex);

	l->digest = NULL;
	if (!e)
		e = tg_rpt_input_digest(l->r, hex,
					"of PostgreSQL: the rows read in one snapshot, in the "
					"report's order (each body and summary, each gap's "
					"columns, NUL-terminated)");
	if (e)
		snprintf(l->err, l->errlen, "cannot hash what was read: out of memory");
	return e ? -ENOMEM : 0;
}

int tg_rpt_load_pg(struct tg_rpt *r, const char *url, const char *password_file, int64_t since_ns,
		   int64_t until_ns, char *err, size_t errlen)
{
	struct pgload l = {
		.r = r, .since = since_ns, .until = until_ns, .err = err, .errlen = errlen};
	int e;

	if (r->opts.n_hosts > TG_RPT_HOSTS_MAX) {
		snprintf(err, errlen, "at most %d --host", TG_RPT_HOSTS_MAX);
		return -EINVAL;
	}
	l.digest = tg_sha256_new();
	if (!l.digest) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l.c = tg_pg_open_read(url, password_file, l.name, sizeof(l.name), err, errlen);
	if (!l.c) {
		tg_sha256_free(l.digest);
		return -EINVAL;
	}
	e = tg_rpt_input(r, l.name, true);
	if (e)
		snprintf(err, errlen, "out of memory");
	else
		r->inputs[r->n_inputs - 1].postgresql = true;
	if (!e)
		e = read_sessions(&l);
	if (!e)
		e = read_rows(&l, "findings", "time_ns", "time_ns", "time_ns",
			      "cannot read its findings");
	if (!e)
		e = read_rows(&l, "losses", "to_ns", "from_ns", "from_ns",
			      "cannot read its losses");
	if (!e)
		e = read_rows(&l, "health", "time_ns", "time_ns", "time_ns",
			      "cannot read its health records");
	if (!e)
		e = read_gaps(&l);
	if (!e)
		e = finish_digest(&l);
	tg_sha256_free(l.digest);
	tg_pg_close_read(l.c);
	for (size_t i = 0; i < l.n_map; i++)
		free(l.map[i].host_id);
	free(l.map);
	return e;
}
