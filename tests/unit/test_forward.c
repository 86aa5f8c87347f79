// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The forwarder's pure parts and its checks of what it is given: --forward URLs (a password in
 * one is refused), the password file's owner and mode, COPY's text escaping, the fleet
 * schema's version checks and partition names, the hints that go with libpq's errors;
 * --http-output URLs (a user or password in one is refused, unechoed) and the key each post
 * carries. The forwarder against a real PostgreSQL is tests/live/test_fleet.py, against a real
 * HTTP receiver tests/live/test_http_output.py.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "forward.h"
#include "http_post.h"
#include "pg_schema.h"

#define NSEC 1000000000LL

static void test_target(void **state)
{
	char t[TG_FORWARD_TARGET_MAX], err[512];

	(void)state;
	assert_int_equal(tg_forward_target("postgresql://tg@db.example.com:5433/fleet?sslmode="
					   "verify-full&sslrootcert=/etc/tmpguard/ca.pem",
					   t, sizeof(t), err, sizeof(err)),
			 0);
	assert_string_equal(t, "postgresql://tg@db.example.com:5433/fleet");
	/* a unix socket directory, percent-encoded as in a URI */
	assert_int_equal(tg_forward_target("postgresql://tg@%2Fvar%2Frun%2Fpostgresql/fleet", t,
					   sizeof(t), err, sizeof(err)),
			 0);
	assert_string_equal(t, "postgresql://tg@%2Fvar%2Frun%2Fpostgresql/fleet");
	/* key=value strings too */
	assert_int_equal(tg_forward_target("host=db user=tg dbname=fleet sslmode=require", t,
					   sizeof(t), err, sizeof(err)),
			 0);
	assert_string_equal(t, "postgresql://tg@db/fleet");
	/* a password, however given, is refused with what to do instead */
	assert_int_equal(tg_forward_target("postgresql://tg:secret@db/fleet", t, sizeof(t), err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "refusing a --forward URL with a password in it"));
	assert_non_null(strstr(err, "--forward-password-file"));
	assert_null(strstr(err, "secret"));
	/* one that does not parse either: libpq's reason, which quotes it, is not shown */
	assert_int_equal(tg_forward_target("postgresql://tg:secret@[::1/fleet", t, sizeof(t), err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "invalid --forward URL, and it seems to hold a password"));
	assert_null(strstr(err, "secret"));
	assert_int_equal(tg_forward_target("postgresql://tg@[::1/fleet?password=secret", t,
					   sizeof(t), err, sizeof(err)),
			 -1);
	assert_null(strstr(err, "secret"));
	assert_int_equal(
		tg_forward_target("postgresql://tg@[::1/fleet", t, sizeof(t), err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "invalid --forward URL: "));
	assert_non_null(strstr(err, "[::1/fleet")); /* libpq's reason, no password in it */
	assert_int_equal(tg_forward_target("postgresql://db/fleet?password=secret", t, sizeof(t),
					   err, sizeof(err)),
			 -1);
	assert_int_equal(
		tg_forward_target("host=db password=secret", t, sizeof(t), err, sizeof(err)), -1);
	/* what does not parse, said with the expected form */
	assert_int_equal(tg_forward_target("postgresql://db/fleet?nosuchoption=1", t, sizeof(t),
					   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "invalid --forward URL"));
	assert_non_null(strstr(err, "nosuchoption"));
	assert_non_null(strstr(err, "postgresql://USER@HOST[:PORT]/DATABASE"));
	assert_int_equal(tg_forward_target("http://db/fleet", t, sizeof(t), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid --forward URL"));
}

static void test_password_file(void **state)
{
	char dir[] = "/tmp/tg-forward-test-XXXXXX", path[128], link[160], err[512], *pw;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("s3cret\nsecond line\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	pw = tg_forward_read_password(path, err, sizeof(err));
	assert_non_null(pw);
	assert_string_equal(pw, "s3cret");
	tg_forward_password_free(pw);
	assert_int_equal(chmod(path, 0400), 0);
	pw = tg_forward_read_password(path, err, sizeof(err));
	assert_non_null(pw);
	tg_forward_password_free(pw);
	/* readable by others */
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(tg_forward_read_password(path, err, sizeof(err)));
	assert_non_null(strstr(err, "group or others may read or write it (chmod 600"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(tg_forward_read_password(path, err, sizeof(err)));
	/* a symbolic link, a missing file, an empty one */
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_null(tg_forward_read_password(link, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(link, sizeof(link), "%s/missing", dir);
	assert_null(tg_forward_read_password(link, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open the password file"));
	assert_int_equal(truncate(path, 0), 0);
	assert_null(tg_forward_read_password(path, err, sizeof(err)));
	assert_non_null(strstr(err, "is empty"));
	/* someone else's (needs root to make one) */
	if (geteuid() == 0) {
		assert_int_equal(truncate(path, 0), 0);
		fp = fopen(path, "w");
		fputs("x\n", fp);
		fclose(fp);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_null(tg_forward_read_password(path, err, sizeof(err)));
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
	snprintf(link, sizeof(link), "rm -rf '%s'", dir);
	assert_int_equal(system(link), 0);
}

/* COPY's binary format, byte for byte as PostgreSQL's documentation of COPY gives it. */
static void test_copy_binary(void **state)
{
	static const char header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	static const char row[] = "\0\3"		       /* three fields */
				  "\377\377\377\377"	       /* NULL */
				  "\0\0\0\5a\tb\\c"	       /* 5 bytes, verbatim */
				  "\0\0\0\2\377\376"	       /* int2 -2 */
				  "\0\0\0\4\200\0\0\0"	       /* int4 INT32_MIN */
				  "\0\0\0\10\1\2\3\4\5\6\7\10" /* int8 */
				  "\377\377";		       /* the trailer */
	char *buf = NULL;
	size_t len = 0, cap = 0;

	(void)state;
	assert_int_equal(tg_forward_copy_header(&buf, &len, &cap), 0);
	assert_int_equal(len, 19);
	assert_memory_equal(buf, header, 19);
	len = 0;
	assert_int_equal(tg_forward_copy_row(&buf, &len, &cap, 3), 0);
	assert_int_equal(tg_forward_copy_null(&buf, &len, &cap), 0);
	/* text and json go as they are: COPY's text escapes do not apply */
	assert_int_equal(tg_forward_copy_bytes(&buf, &len, &cap, "a\tb\\c", 5), 0);
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, -2, 2), 0);
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, INT32_MIN, 4), 0);
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, 0x0102030405060708LL, 8), 0);
	/* a value its column's type cannot hold: refused, nothing appended */
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, 32768, 2), 1);
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, -32769, 2), 1);
	assert_int_equal(tg_forward_copy_int(&buf, &len, &cap, 1LL << 31, 4), 1);
	assert_int_equal(tg_forward_copy_trailer(&buf, &len, &cap), 0);
	assert_int_equal(len, sizeof(row) - 1);
	assert_memory_equal(buf, row, len);
	/* growth past the first allocation */
	len = 0;
	for (int i = 0; i < 20000; i++)
		assert_int_equal(tg_forward_copy_bytes(&buf, &len, &cap, "\t\t\t\t", 4), 0);
	assert_int_equal(len, 160000);
	assert_true(cap > len);
	free(buf);
}

/* A finding's time as COPY sends it: what tmpguard.ns_time() gives on the server, in
 * microseconds since 2000-01-01 (the live tests check every forwarded row's time against
 * it). */
static void test_copy_time(void **state)
{
	static const struct {
		int64_t ns, us;
	} cases[] = {
		{0, -946684800000000LL},
		{946684800000000000LL, 0},
		{1796120200123456789LL, 849435400123456LL},
		{1796120200000000999LL, 849435400000000LL},
		/* before the epoch: truncated toward zero, as bigint division on the server */
		{-999, -946684800000000LL},
		{-1500, -946684800000001LL},
		{-86400000000000LL, -946771200000000LL},
	};
	char *buf = NULL;
	size_t len = 0, cap = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		len = 0;
		assert_int_equal(tg_forward_copy_time(&buf, &len, &cap, cases[i].ns), 0);
		assert_int_equal(len, 12);
		assert_memory_equal(buf, "\0\0\0\10", 4);
		for (int b = 4; b < 12; b++)
			v = v << 8 | (unsigned char)buf[b];
		assert_int_equal((int64_t)v, cases[i].us);
	}
	free(buf);
}

static void test_versions(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(tg_pg_check_server(150018, err, sizeof(err)), 0);
	assert_int_equal(tg_pg_check_server(TG_PG_MIN_SERVER, err, sizeof(err)), 0);
	assert_int_equal(tg_pg_check_server(100023, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 10.23, older than 11"));
	assert_non_null(strstr(err, "upgrade the server"));
	assert_int_equal(tg_pg_check_server(90624, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 9.6,"));
	assert_int_equal(tg_pg_check_schema(0, err, sizeof(err)), 0);
	assert_int_equal(tg_pg_check_schema(TG_PG_SCHEMA_VERSION, err, sizeof(err)), 0);
	assert_int_equal(tg_pg_check_schema(TG_PG_SCHEMA_VERSION + 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer than this tmpguard's"));
	assert_non_null(strstr(err, "upgrade tmpguard on this host"));
}

static void test_partitions(void **state)
{
	char name[64];

	(void)state;
	assert_int_equal(tg_pg_day(0), 0);
	assert_int_equal(tg_pg_day(86400 * NSEC - 1), 0);
	assert_int_equal(tg_pg_day(86400 * NSEC), 1);
	assert_int_equal(tg_pg_day(-1), -1); /* floored: 1969-12-31 */
	tg_pg_partition_name(tg_pg_day(1795847400LL * NSEC), name, sizeof(name));
	assert_string_equal(name, "findings_p20261128");
	tg_pg_partition_name(-1, name, sizeof(name));
	assert_string_equal(name, "findings_p19691231");
	tg_pg_partition_name(0, name, sizeof(name));
	assert_string_equal(name, "findings_p19700101");
}

static void test_hints(void **state)
{
	(void)state;
	assert_non_null(strstr(tg_pg_hint(NULL, "connection to server on socket "
						"\"/tmp/x/.s.PGSQL.5432\" failed: FATAL:  "
						"password authentication failed for user \"tg\""),
			       "--forward-password-file"));
	assert_non_null(
		strstr(tg_pg_hint(NULL, "fe_sendauth: no password supplied"), "PGPASSWORD"));
	assert_non_null(strstr(tg_pg_hint(NULL, "connection to server on socket "
						"\"/tmp/x/.s.PGSQL.5432\" failed: No such file or "
						"directory"),
			       "is PostgreSQL running"));
	assert_non_null(strstr(tg_pg_hint(NULL, "FATAL:  database \"flet\" does not exist"),
			       "create the database"));
	assert_non_null(strstr(tg_pg_hint("53100", "could not extend file"), "disk space"));
	assert_non_null(
		strstr(tg_pg_hint("23514", "refused row 23"), "CHECK constraint or trigger"));
	assert_non_null(strstr(tg_pg_hint("42501", "permission denied for database fleet"),
			       "CREATE on the database"));
	assert_string_equal(tg_pg_hint("XX000", "something else"), "");
	/* The SQLSTATE decides over the words: "database \"" is also 3D000's text. */
	assert_non_null(strstr(tg_pg_hint("42501", "permission denied for database \"fleet\""),
			       "CREATE on the database"));
	/* in the server's language (lc_messages), known by its SQLSTATE */
	assert_non_null(strstr(tg_pg_hint("28P01", "Passwort-Authentifizierung für Benutzer »tg« "
						   "fehlgeschlagen"),
			       "check the password (--forward-password-file"));
	assert_non_null(strstr(tg_pg_hint("53100", "Auf dem Gerät ist kein Speicherplatz mehr "
						   "verfügbar"),
			       "out of disk space"));
	/* a state of a known class: the connection's (08), a shortage (53) */
	assert_non_null(strstr(tg_pg_hint("08006", "Verbindung verloren"), "went away"));
	assert_non_null(strstr(tg_pg_hint("53200", "out of memory"), "lacks a resource"));
	/* with a SQLSTATE, the text alone does not choose */
	assert_string_equal(tg_pg_hint("XX000", "could not open certificate file"), "");
}

/* A statement that failed without a SQLSTATE on a connection now bad: the connection was lost,
 * whatever libpq's text says (here "No such file or directory", which alone would ask whether
 * PostgreSQL runs). */
static void test_error_by_status(void **state)
{
	PGconn *c = PQconnectdb("host=/nonexistent-tg-dir dbname=x connect_timeout=2");
	PGresult *r;
	char err[1024];

	(void)state;
	assert_int_equal(PQstatus(c), CONNECTION_BAD);
	r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	assert_null(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	tg_pg_error(c, r, "cannot commit", err, sizeof(err));
	assert_non_null(strstr(err, "cannot commit: "));
	assert_non_null(strstr(err, "(the server went away; rows wait in the local store until "
				    "it is back)"));
	tg_pg_error_as(TG_PG_READER, c, r, "reading", err, sizeof(err));
	assert_non_null(strstr(err, "(the server went away)"));
	/* a connection attempt (no result): by its text */
	tg_pg_error(c, NULL, "cannot connect", err, sizeof(err));
	assert_non_null(strstr(err, "is PostgreSQL running, with its socket in that directory?"));
	PQclear(r);
	PQfinish(c);
}

static void test_http_target(void **state)
{
	char t[TG_FORWARD_TARGET_MAX], err[512];

	(void)state;
	assert_int_equal(tg_http_target("https://sidekick.example.com:2801/?token=x", t, sizeof(t),
					err, sizeof(err)),
			 0);
	assert_string_equal(t, "https://sidekick.example.com:2801/"); /* no query */
	assert_int_equal(tg_http_target("http://127.0.0.1/falco", t, sizeof(t), err, sizeof(err)),
			 0);
	assert_string_equal(t, "http://127.0.0.1:80/falco");
	assert_int_equal(
		tg_http_target("http://u:hunter2@127.0.0.1/", t, sizeof(t), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "user name or password"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(tg_http_target("http://u@127.0.0.1/", t, sizeof(t), err, sizeof(err)), -1);
	assert_int_equal(tg_http_target("ftp://127.0.0.1/", t, sizeof(t), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "scheme is ftp"));
	assert_int_equal(tg_http_target("not a url", t, sizeof(t), err, sizeof(err)), -1);
}

static void test_http_body(void **state)
{
	char *b = tg_http_body("{\"rule\":\"r\",\"output_fields\":{\"evt.time\":1}}", "web-1:abc",
			       42, "findings", 7);
	json_object *o, *f;

	(void)state;
	assert_non_null(b);
	o = json_tokener_parse(b);
	assert_true(json_object_object_get_ex(o, "output_fields", &f));
	assert_string_equal(json_object_get_string(json_object_object_get(f, "tmpguard.key")),
			    "web-1:abc/42/findings/7");
	assert_int_equal(json_object_get_int64(json_object_object_get(f, "tmpguard.seq")), 7);
	assert_int_equal(json_object_get_int64(json_object_object_get(f, "evt.time")), 1);
	json_object_put(o);
	free(b);
	assert_null(tg_http_body("{\"rule\":\"r\"}", "h", 1, "findings", 1));
	assert_null(tg_http_body("not json", "h", 1, "findings", 1));
}

/* A batch refused for what it holds is no outage; it is halved down to the one row refused. */
static void test_refusal(void **state)
{
	unsigned n = TG_FORWARD_BATCH_ROWS, tries = 0;

	(void)state;
	assert_true(tg_forward_data_refusal("23514"));
	assert_true(tg_forward_data_refusal("22P02"));
	assert_true(tg_forward_data_refusal("23505"));
	assert_false(tg_forward_data_refusal("53100")); /* disk full: an outage */
	assert_false(tg_forward_data_refusal("57P01"));
	assert_false(tg_forward_data_refusal("28P01"));
	assert_false(tg_forward_data_refusal(""));
	assert_false(tg_forward_data_refusal(NULL));
	assert_false(tg_forward_data_refusal("2351"));
	while ((n = tg_forward_halve(n)))
		tries++;
	assert_int_equal(tries, 9); /* 1000, 500, ..., 3, 1: ten batches find the row */
	assert_int_equal(tg_forward_halve(2), 1);
	assert_int_equal(tg_forward_halve(3), 1);
	assert_int_equal(tg_forward_halve(1), 0);
	assert_int_equal(tg_forward_halve(0), 0);
}

/* One outage, said once: the SQLSTATE, not the file PostgreSQL names, makes the reason. */
static void test_failure_class(void **state)
{
	char a[256], b[256];

	(void)state;
	tg_forward_failure_class("cannot insert a batch of findings: could not extend file "
				 "\"base/16384/t3_16500\": No space left on device [53100] (free "
				 "space on the server's data disk)",
				 a, sizeof(a));
	tg_forward_failure_class("cannot insert a batch of findings: could not extend file "
				 "\"base/16384/t3_16611\": No space left on device [53100] (free "
				 "space on the server's data disk)",
				 b, sizeof(b));
	assert_string_equal(a, "[53100]");
	assert_string_equal(a, b);
	tg_forward_failure_class("cannot connect: password authentication failed for user "
				 "\"tg\" [28P01]",
				 b, sizeof(b));
	assert_string_equal(b, "[28P01]");
	/* without an SQLSTATE: the text before the first quoted name */
	tg_forward_failure_class("cannot connect: database \"x\" does not exist", a, sizeof(a));
	tg_forward_failure_class("cannot connect: database \"y\" does not exist", b, sizeof(b));
	assert_string_equal(a, "cannot connect: database ");
	assert_string_equal(a, b);
	/* a bracket that is no SQLSTATE is text */
	tg_forward_failure_class("the server said [oops]", a, sizeof(a));
	assert_string_equal(a, "the server said [oops]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),	    cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_copy_binary), cmocka_unit_test(test_copy_time),
		cmocka_unit_test(test_versions),    cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_hints),	    cmocka_unit_test(test_error_by_status),
		cmocka_unit_test(test_http_target), cmocka_unit_test(test_http_body),
		cmocka_unit_test(test_refusal),	    cmocka_unit_test(test_failure_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
