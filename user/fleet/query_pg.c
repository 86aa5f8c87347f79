// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `query --db postgresql://...` (query_pg.h): the SELECT over tmpguard.findings, a GLOB made
 * into what PostgreSQL and its indexes take, and the rows read one at a time.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_read.h"
#include "pg_schema.h"
#include "query_pg.h"

/* ---- a GLOB for PostgreSQL ---- */

/* The length of the UTF-8 character at p (1 for a stray byte). */
static size_t u8len(const char *p)
{
	unsigned char c = (unsigned char)*p;
	size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	for (size_t i = 1; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Its code point, to compare the ends of a range as SQLite does. */
static unsigned long u8cp(const char *p, size_t n)
{
	unsigned long c = (unsigned char)p[0];

	if (n == 1)
		return c;
	c &= 0x3f >> (n - 1);
	for (size_t i = 1; i < n; i++)
		c = c << 6 | ((unsigned char)p[i] & 0x3f);
	return c;
}

/* One character into a regular expression, punctuation escaped (in brackets too). */
static void re_char(FILE *m, const char *p, size_t n)
{
	if (n == 1 && ispunct((unsigned char)*p))
		fputc('\\', m);
	fwrite(p, 1, n, m);
}

/* A bracket expression from just after its '[': SQLite's rules (a leading '^' inverts, a
 * ']' first is itself, a '-' between two characters is a range). Where it ends, or NULL when
 * it does not (nothing matches). */
static const char *re_set(FILE *m, const char *p)
{
	const char *prior = NULL;
	size_t prior_n = 0;
	bool invert = *p == '^';
	char *set = NULL;
	size_t len = 0;
	FILE *s = open_memstream(&set, &len);

	if (!s)
		return NULL;
	p += invert;
	if (*p == ']') {
		re_char(s, p++, 1);
	}
	while (*p && *p != ']') {
		size_t n;

		if (*p == '-' && p[1] != ']' && p[1] && prior) {
			n = u8len(++p);
			if (u8cp(prior, prior_n) <= u8cp(p, n)) {
				fputc('-', s);
				re_char(s, p, n);
			}
			prior = NULL;
		} else {
			n = u8len(p);
			re_char(s, p, n);
			prior = p;
			prior_n = n;
		}
		p += n;
	}
	fclose(s);
	/* never empty: a ']' right after '[' or "[^" is a member */
	if (*p == ']')
		fprintf(m, "[%s%s]", invert ? "^" : "", set ? set : "");
	free(set);
	return *p == ']' ? p + 1 : NULL;
}

int tg_glob_regex(const char *glob, char **re)
{
	size_t len = 0;
	FILE *m = open_memstream(re, &len);
	const char *p = glob;
	int rc = 0;

	if (!m)
		return -1;
	fputc('^', m);
	while (*p) {
		size_t n = u8len(p);

		if (*p == '[') {
			p = re_set(m, p + 1);
			if (!p) {
				rc = 1;
				break;
			}
			continue;
		}
		if (*p == '*')
			fputs(".*", m);
		else if (*p == '?')
			fputc('.', m);
		else
			re_char(m, p, n);
		p += n;
	}
	fputc('$', m);
	if (fclose(m))
		return -1;
	return rc;
}

int tg_glob_like(const char *glob, char **like, bool *exact)
{
	size_t len = 0;
	FILE *m = open_memstream(like, &len);
	const char *p;

	if (!m)
		return -1;
	*exact = !strchr(glob, '[');
	for (p = glob; *p && (*exact || !strchr("*?[", *p)); p++) {
		if (*p == '*')
			fputc('%', m);
		else if (*p == '?')
			fputc('_', m);
		else if (strchr("%_\\", *p))
			fprintf(m, "\\%c", *p);
		else
			fputc(*p, m);
	}
	if (!*exact)
		fputc('%', m);
	return fclose(m) ? -1 : 0;
}

/* ---- the SELECT ---- */

/* The next $n, for value (owned: freed with the rest). */
static int param(struct tg_pg_sql *s, const char *value, char *owned)
{
	s->owned[s->n] = owned;
	s->values[s->n] = owned ? owned : value;
	return ++s->n;
}

static int param_i64(struct tg_pg_sql *s, long long v)
{
	char *x;

	if (asprintf(&x, "%lld", v) < 0)
		x = NULL; /* a NULL value: found by tg_query_pg_sql */
	return param(s, NULL, x);
}

/* " AND path LIKE $n [AND path ~ $m]", or " AND false" when the GLOB matches nothing. */
static int path_cond(FILE *m, struct tg_pg_sql *s, const char *glob)
{
	char *like = NULL, *re = NULL;
	bool exact;
	int rc = tg_glob_like(glob, &like, &exact), k;

	if (rc < 0)
		return -1;
	k = param(s, NULL, like);
	fprintf(m, " AND path LIKE $%d::text", k);
	if (exact)
		return 0;
	rc = tg_glob_regex(glob, &re);
	if (rc < 0)
		return -1;
	if (rc) {
		free(re);
		fputs(" AND false", m);
		return 0;
	}
	fprintf(m, " AND path ~ $%d::text", param(s, NULL, re));
	return 0;
}

char *tg_pg_text_array(const char *const *v, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return NULL;
	fputc('{', m);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\"" : "\"", m);
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', m);
			fputc(*p, m);
		}
		fputc('"', m);
	}
	fputc('}', m);
	if (fclose(m)) {
		free(out);
		return NULL;
	}
	return out;
}

/* The WHERE conditions after "WHERE true". -1 when out of memory. */
static int where(FILE *m, struct tg_pg_sql *s, const struct tg_query *q, const char *host_ids)
{
	int k;

	/* The partition key first (only those days are read), then the exact bound: a row's
	 * time is its time_ns truncated to microseconds. */
	if (q->has_since) {
		k = param_i64(s, q->since_ns);
		fprintf(m, " AND time >= tmpguard.ns_time($%d::bigint) AND time_ns >= $%d::bigint",
			k, k);
	}
	if (q->has_until) {
		k = param_i64(s, q->until_ns);
		fprintf(m, " AND time <= tmpguard.ns_time($%d::bigint) AND time_ns < $%d::bigint",
			k, k);
	}
	if (q->rule)
		fprintf(m, " AND rule = $%d::text", param(s, q->rule, NULL));
	if (q->severity >= 0)
		fprintf(m, " AND severity_level >= $%d::smallint", param_i64(s, q->severity));
	if (q->exe && q->exe[0] == '/') {
		fprintf(m, " AND exe = $%d::text", param(s, q->exe, NULL));
	} else if (q->exe) {
		k = param(s, q->exe, NULL);
		fprintf(m,
			" AND (exe = $%d::text OR right(exe, length($%d::text) + 1) = '/' || "
			"$%d::text)",
			k, k, k);
	}
	if (q->has_pid)
		fprintf(m, " AND pid = $%d::integer", param_i64(s, q->pid));
	if (q->has_uid)
		fprintf(m, " AND uid = $%d::bigint", param_i64(s, q->uid));
	if (q->container)
		fprintf(m, " AND starts_with(container_id, $%d::text)",
			param(s, q->container, NULL));
	if (q->path_glob && path_cond(m, s, q->path_glob))
		return -1;
	/* Values, not a subquery: the planner then estimates the hosts' rows from the column's
	 * statistics (a subquery's result it cannot see: on 2 M findings it planned 2,400 rows
	 * for 313 and two parallel workers, 46-49 ms against 6-8 with the values). */
	if (host_ids)
		fprintf(m, " AND host_id = ANY ($%d::text[])", param(s, host_ids, NULL));
	return 0;
}

int tg_query_pg_sql(const struct tg_query *q, const char *host_ids, struct tg_pg_sql *s)
{
	size_t len = 0;
	FILE *m;
	int e;

	memset(s, 0, sizeof(*s));
	if (q->n_hosts > TG_QUERY_HOSTS_MAX || (q->n_hosts && !host_ids) ||
	    !(m = open_memstream(&s->sql, &len)))
		return -1;
	if (q->limit > 0)
		fputs("SELECT body, time_ns FROM (SELECT body, time, time_ns, host_id, "
		      "session_key, seq "
		      "FROM tmpguard.findings WHERE true",
		      m);
	else
		fputs("SELECT body, time_ns FROM tmpguard.findings WHERE true", m);
	e = where(m, s, q, host_ids);
	/*
	 * The order of tg_query_prepare's: time, host id (bytes: "C"), session key, id. Led by
	 * `time` (time_ns truncated to microseconds: the same order), which is indexed in every
	 * partition: the server reads the partitions' (time) indexes in order (Merge Append) and
	 * sorts only rows of the same microsecond, and with --limit stops after N of them,
	 * instead of sorting every row that matches.
	 */
	if (!e && q->limit > 0)
		fprintf(m,
			" ORDER BY time DESC, time_ns DESC, host_id COLLATE \"C\" DESC, "
			"session_key "
			"DESC, seq DESC LIMIT $%d::bigint) t ORDER BY time_ns, host_id COLLATE "
			"\"C\", "
			"session_key, seq",
			param_i64(s, q->limit));
	else if (!e)
		fputs(" ORDER BY time, time_ns, host_id COLLATE \"C\", session_key, seq", m);
	for (int i = 0; i < s->n; i++)
		e = e || !s->values[i];
	if (fclose(m) || e) {
		tg_query_pg_sql_free(s);
		return -1;
	}
	return 0;
}

void tg_query_pg_sql_free(struct tg_pg_sql *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->owned[i]);
	free(s->sql);
	memset(s, 0, sizeof(*s));
}

/* ---- the rows ---- */

struct tg_query_pg {
	PGconn *c;
	PGresult *row;
	char name[TG_PG_NAME_MAX];
	bool done;
};

/*
 * --host's names as host ids, in the reader's transaction (one snapshot with the findings):
 * each name itself, and the host id of every session whose hostname it is (through
 * sessions (host)); as an array literal. NULL with err set.
 */
static char *host_ids(PGconn *c, const struct tg_query *q, char *err, size_t errlen)
{
	char *names = tg_pg_text_array(q->hosts, q->n_hosts), *ids = NULL;
	const char **v = NULL;
	PGresult *r = NULL;
	int n = 0;

	if (!names)
		goto oom;
	r = PQexecParams(c,
			 "SELECT DISTINCT host_id FROM tmpguard.sessions WHERE host = ANY "
			 "($1::text[])",
			 1, NULL, (const char *const *)&names, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		tg_pg_error_as(TG_PG_READER, c, r, "cannot look up the hosts' ids", err, errlen);
		goto out;
	}
	n = PQntuples(r);
	v = calloc(q->n_hosts + (size_t)n, sizeof(*v));
	if (!v)
		goto oom;
	for (size_t i = 0; i < q->n_hosts; i++)
		v[i] = q->hosts[i];
	for (int i = 0; i < n; i++)
		v[q->n_hosts + (size_t)i] = PQgetvalue(r, i, 0);
	ids = tg_pg_text_array((const char *const *)v, q->n_hosts + (size_t)n);
	if (!ids)
		goto oom;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(v);
	PQclear(r);
	free(names);
	return ids;
}

struct tg_query_pg *tg_query_pg_open(const char *url, const char *password_file,
				     const struct tg_query *q, char *name, size_t namelen,
				     char *err, size_t errlen)
{
	struct tg_query_pg *p = calloc(1, sizeof(*p));
	struct tg_pg_sql s = {0};
	char *ids = NULL;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->c = tg_pg_open_read(url, password_file, p->name, sizeof(p->name), err, errlen);
	if (p->c && q->n_hosts && !(ids = host_ids(p->c, q, err, errlen))) {
		tg_pg_close_read(p->c);
		p->c = NULL;
	}
	if (p->c && tg_query_pg_sql(q, ids, &s)) {
		snprintf(err, errlen, "out of memory");
		tg_pg_close_read(p->c);
		p->c = NULL;
	}
	if (p->c && (!PQsendQueryParams(p->c, s.sql, s.n, NULL, s.values, NULL, NULL, 0) ||
		     !PQsetSingleRowMode(p->c))) {
		tg_pg_error_as(TG_PG_READER, p->c, NULL, "cannot send the query", err, errlen);
		tg_pg_close_read(p->c);
		p->c = NULL;
	}
	tg_query_pg_sql_free(&s);
	free(ids);
	if (!p->c) {
		free(p);
		return NULL;
	}
	snprintf(name, namelen, "%s", p->name);
	return p;
}

int tg_query_pg_next(struct tg_query_pg *p, const char **json, char *err, size_t errlen)
{
	PGresult *r;
	char what[TG_PG_NAME_MAX + 16];

	PQclear(p->row);
	p->row = NULL;
	if (p->done)
		return 0;
	r = PQgetResult(p->c);
	if (r && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
		p->row = r;
		*json = PQgetvalue(r, 0, 0);
		return 1;
	}
	p->done = true;
	if (!r || PQresultStatus(r) == PGRES_TUPLES_OK) {
		PQclear(r);
		while ((r = PQgetResult(p->c)))
			PQclear(r);
		return 0;
	}
	snprintf(what, sizeof(what), "reading %s", p->name);
	tg_pg_error_as(TG_PG_READER, p->c, r, what, err, errlen);
	PQclear(r);
	while ((r = PQgetResult(p->c)))
		PQclear(r);
	return -1;
}

void tg_query_pg_close(struct tg_query_pg *p)
{
	PGresult *r;

	if (!p)
		return;
	PQclear(p->row);
	if (!p->done) { /* stopped early: do not wait for the rest */
		PGcancel *x = PQgetCancel(p->c);
		char e[256];

		if (x)
			PQcancel(x, e, sizeof(e));
		PQfreeCancel(x);
	}
	while ((r = PQgetResult(p->c)))
		PQclear(r);
	tg_pg_close_read(p->c);
	free(p);
}
