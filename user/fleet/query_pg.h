/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `query --db postgresql://...` (query_pg.c): the findings of a query (query.h) in the fleet
 * store, with SQL the schema's indexes serve (pg_schema.c): the time bounds on the partition
 * key (time) so that only the days asked for are read, exe and path compared in "C" order (a
 * path GLOB becomes a LIKE with a literal prefix), hosts through an index led by host_id. Read in
 * single-row mode: a query over millions of rows does not hold them all.
 */
#ifndef TG_QUERY_PG_H
#define TG_QUERY_PG_H

#include <stdbool.h>
#include "query.h"

#define TG_QUERY_PG_PARAMS (16 + TG_QUERY_HOSTS_MAX)

/* A SELECT and its $n values, as text. */
struct tg_pg_sql {
	char *sql;
	int n;
	const char *values[TG_QUERY_PG_PARAMS];
	char *owned[TG_QUERY_PG_PARAMS];
};

/* Pure: the SELECT for q (rows: body, time_ns; ordered by time_ns, host_id, session_key,
 * seq, as tg_query_prepare orders a local store). With --host, host_ids is the array literal
 * of the host ids to read (tg_query_pg_open looks them up: each name, and the ids of the
 * sessions whose hostname it is). 0, or -1 (out of memory, too many hosts, no host_ids). */
int tg_query_pg_sql(const struct tg_query *q, const char *host_ids, struct tg_pg_sql *out);
void tg_query_pg_sql_free(struct tg_pg_sql *s);

/* Pure: a PostgreSQL array literal of n strings, each quoted (" and \ escaped). NULL when
 * out of memory. */
char *tg_pg_text_array(const char *const *v, size_t n);

/*
 * Pure: an SQLite GLOB (case-sensitive; * ? [...] [^...]) for PostgreSQL. tg_glob_like: a
 * LIKE pattern (escape '\'): the whole GLOB when it has no '[' (*exact), else its literal
 * prefix then '%'. tg_glob_regex: the whole GLOB as an anchored regular expression (for ~).
 * Both: 0, 1 when the GLOB can match nothing (an unclosed '[', as SQLite says), -1 out of
 * memory.
 */
int tg_glob_like(const char *glob, char **like, bool *exact);
int tg_glob_regex(const char *glob, char **re);

struct tg_query_pg;
struct tg_query_pg *tg_query_pg_open(const char *url, const char *password_file,
				     const struct tg_query *q, char *name, size_t namelen,
				     char *err, size_t errlen);
int tg_query_pg_next(struct tg_query_pg *p, const char **json, char *err, size_t errlen);
void tg_query_pg_close(struct tg_query_pg *p);

#endif
