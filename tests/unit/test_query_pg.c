// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * query --db postgresql://...'s pure parts (query_pg.h, pg_read.h): an SQLite GLOB made into
 * a LIKE on its literal prefix and an anchored regular expression, the SELECT with its time
 * bound on the partition key and every value a parameter, the forwarder's messages said for a
 * reader. Against a real PostgreSQL (the same output as over the local stores, the plans):
 * tests/live/test_fleet_read.py.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "forward.h"
#include "pg_read.h"
#include "pg_schema.h"
#include "query_pg.h"

static void like_is(const char *glob, const char *want, bool want_exact)
{
	char *like = NULL;
	bool exact;

	assert_int_equal(tg_glob_like(glob, &like, &exact), 0);
	assert_string_equal(like, want);
	assert_int_equal(exact, want_exact);
	free(like);
}

static void re_is(const char *glob, int rc, const char *want)
{
	char *re = NULL;

	assert_int_equal(tg_glob_regex(glob, &re), rc);
	if (!rc)
		assert_string_equal(re, want);
	free(re);
}

static void test_glob_like(void **state)
{
	(void)state;
	like_is("/tmp/build.*", "/tmp/build.%", true);
	like_is("/tmp/a?b", "/tmp/a_b", true);
	/* LIKE's own wildcards and its escape are literal in a GLOB */
	like_is("/tmp/100%_x\\*", "/tmp/100\\%\\_x\\\\%", true);
	/* a bracket: the literal prefix only, the rest to the regular expression */
	like_is("/tmp/build-[0-9]*", "/tmp/build-%", false);
	like_is("[ab]", "%", false);
}

static void test_glob_regex(void **state)
{
	(void)state;
	re_is("/tmp/build.*", 0, "^\\/tmp\\/build\\..*$");
	re_is("a?b", 0, "^a.b$");
	re_is("/x[0-9]y", 0, "^\\/x[0-9]y$");
	/* SQLite's bracket rules: ^ inverts, a leading ] is itself, a trailing - is itself */
	re_is("[^ab]", 0, "^[^ab]$");
	re_is("[]a]", 0, "^[\\]a]$");
	re_is("[a-]", 0, "^[a\\-]$");
	/* a reversed range matches nothing in SQLite: left out */
	re_is("[z-ab]", 0, "^[zb]$");
	/* UTF-8 stays whole, in a range too */
	re_is("caf\xc3\xa9[\xc3\xa0-\xc3\xaa]", 0, "^caf\xc3\xa9[\xc3\xa0-\xc3\xaa]$");
	/* an unclosed bracket matches nothing (SQLite) */
	re_is("/tmp/[ab", 1, NULL);
}

static bool has(const char *sql, const char *part)
{
	return strstr(sql, part) != NULL;
}

static void test_sql(void **state)
{
	const char *hosts[] = {"web-1", "db-1:0123"};
	struct tg_query q;
	struct tg_pg_sql s;

	(void)state;
	tg_query_init(&q);
	assert_int_equal(tg_query_pg_sql(&q, NULL, &s), 0);
	assert_int_equal(s.n, 0);
	/* led by the indexed time (time_ns to the microsecond: the same order) */
	assert_string_equal(s.sql, "SELECT body, time_ns FROM tmpguard.findings WHERE true ORDER "
				   "BY time, time_ns, host_id COLLATE \"C\", session_key, seq");
	tg_query_pg_sql_free(&s);

	q.has_since = q.has_until = true;
	q.since_ns = 1796083200000000000LL;
	q.until_ns = 1796256000000000001LL;
	q.exe = "/usr/bin/python3";
	q.path_glob = "/tmp/build-[0-9]*";
	q.hosts = hosts;
	q.n_hosts = 2;
	q.limit = 10;
	/* --host needs the ids tg_query_pg_open looked up */
	assert_int_equal(tg_query_pg_sql(&q, NULL, &s), -1);
	assert_int_equal(tg_query_pg_sql(&q, "{\"web-1\",\"db-1:0123\",\"web-1:9f\"}", &s), 0);
	/* the partition key, so that only those days are read; then the exact bound */
	assert_true(has(s.sql, "time >= tmpguard.ns_time($1::bigint) AND time_ns >= $1::bigint"));
	assert_true(has(s.sql, "time <= tmpguard.ns_time($2::bigint) AND time_ns < $2::bigint"));
	assert_string_equal(s.values[0], "1796083200000000000");
	assert_string_equal(s.values[1], "1796256000000000001");
	/* a full path: equality, which the (exe, time) index serves */
	assert_true(has(s.sql, "AND exe = $3::text"));
	assert_false(has(s.sql, "right(exe"));
	assert_true(has(s.sql, "path LIKE $4::text AND path ~ $5::text"));
	assert_string_equal(s.values[3], "/tmp/build-%");
	assert_string_equal(s.values[4], "^\\/tmp\\/build\\-[0-9].*$");
	/* the host ids as one value, which the planner estimates from the column's statistics */
	assert_true(has(s.sql, "AND host_id = ANY ($6::text[])"));
	assert_false(has(s.sql, "sessions"));
	assert_string_equal(s.values[5], "{\"web-1\",\"db-1:0123\",\"web-1:9f\"}");
	assert_true(has(s.sql, "ORDER BY time DESC, time_ns DESC, host_id COLLATE \"C\" DESC, "
			       "session_key DESC, seq DESC LIMIT $7::bigint) t ORDER BY time_ns, "
			       "host_id COLLATE \"C\", session_key, seq"));
	assert_int_equal(s.n, 7);
	/* no value is ever spliced into the SQL */
	assert_false(has(s.sql, "python3"));
	assert_false(has(s.sql, "web-1"));
	tg_query_pg_sql_free(&s);

	/* a basename; a GLOB that can match nothing */
	tg_query_init(&q);
	q.exe = "python3";
	q.path_glob = "/tmp/[x";
	assert_int_equal(tg_query_pg_sql(&q, NULL, &s), 0);
	assert_true(has(s.sql, "(exe = $1::text OR right(exe, length($1::text) + 1) = '/' || "
			       "$1::text)"));
	assert_true(has(s.sql, "AND false"));
	tg_query_pg_sql_free(&s);

	tg_query_init(&q);
	q.n_hosts = TG_QUERY_HOSTS_MAX + 1;
	assert_int_equal(tg_query_pg_sql(&q, "{}", &s), -1);
}

/* --host's names and ids as one array value: quoted, so that a comma, a brace, a space or
 * NULL are characters of a name; a quote and a backslash escaped. */
static void test_text_array(void **state)
{
	const char *v[] = {"web-1", "a,b {c} NULL", "q\"uote\\back", ""};
	char *a;

	(void)state;
	a = tg_pg_text_array(v, 0);
	assert_string_equal(a, "{}");
	free(a);
	a = tg_pg_text_array(v, 4);
	assert_string_equal(a, "{\"web-1\",\"a,b {c} NULL\",\"q\\\"uote\\\\back\",\"\"}");
	free(a);
}

/* A reader's messages name its options (--db URL, --password-file) and no local store. */
static void test_reader_messages(void **state)
{
	char name[TG_PG_NAME_MAX], err[1024];

	(void)state;
	assert_int_equal(tg_pg_url_target("postgresql://u:pw@h/db", true, name, sizeof(name), err,
					  sizeof(err)),
			 -1);
	assert_string_equal(err, "refusing a --db URL with a password in it: every user of this "
				 "host can read a command line (ps, /proc/PID/cmdline); put the "
				 "password in a file only root can read and give --password-file "
				 "FILE, or set PGPASSWORD or PGPASSFILE");
	assert_int_equal(
		tg_pg_url_target("postgresql://[::1/x", true, name, sizeof(name), err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "invalid --db URL: "));
	assert_int_equal(tg_pg_url_target("postgresql://u@h:5433/db?sslmode=require", true, name,
					  sizeof(name), err, sizeof(err)),
			 0);
	assert_string_equal(name, "postgresql://u@h:5433/db");
	assert_string_equal(tg_pg_hint_as(TG_PG_READER, NULL,
					  "connection to server at \"h\", port 5432 failed: "
					  "Connection refused"),
			    "is PostgreSQL running and listening there?");
	assert_string_equal(tg_pg_hint_as(TG_PG_READER, "28P01", "any words"),
			    "check the password (--password-file, PGPASSWORD or PGPASSFILE) and "
			    "the user in the URL");
	assert_string_equal(tg_pg_hint_as(TG_PG_READER, "57P01", "terminating connection"),
			    "the server went away");
	/* no forwarder's words in what a reader is told, nor the other way */
	for (int side = TG_PG_FORWARDER; side <= TG_PG_READER; side++) {
		const char *h = tg_pg_hint_as(side, NULL, "fe_sendauth: no password supplied");

		assert_true(!strstr(h, "--forward") == (side == TG_PG_READER));
		h = tg_pg_hint_as(side, NULL, "server closed the connection unexpectedly");
		assert_true(!strstr(h, "local store") == (side == TG_PG_READER));
	}
	assert_true(tg_pg_is_url("postgresql://u@h/db"));
	assert_true(tg_pg_is_url("postgres://u@h/db"));
	assert_false(tg_pg_is_url("/var/lib/tmpguard/events.db"));
	assert_false(tg_pg_is_url("postgresql.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_like),
		cmocka_unit_test(test_glob_regex),
		cmocka_unit_test(test_sql),
		cmocka_unit_test(test_text_array),
		cmocka_unit_test(test_reader_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
