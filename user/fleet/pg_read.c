// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A read-only connection to the fleet store (pg_read.h): the URL checked as --forward checks
 * it, connected, one read-only transaction, the schema's version checked.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "forward.h"
#include "pg_read.h"
#include "pg_schema.h"

bool tg_pg_is_url(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The connection, or NULL with err set. */
static PGconn *connect_read(const char *url, const char *password, char *err, size_t errlen)
{
	const char *kw[8], *val[8];
	bool timeout = strstr(url, "connect_timeout=") != NULL;
	PGconn *c;
	int n = 0;

	kw[n] = "dbname"; /* expanded: the URL, then what follows overrides it */
	val[n++] = url;
	if (password) {
		kw[n] = "password";
		val[n++] = password;
	}
	kw[n] = "fallback_application_name";
	val[n++] = "tmpguard-read";
	kw[n] = "client_encoding";
	val[n++] = "UTF8";
	if (!timeout) {
		kw[n] = "connect_timeout";
		val[n++] = "10";
	}
	kw[n] = NULL;
	val[n] = NULL;
	c = PQconnectdbParams(kw, val, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		tg_pg_error_as(TG_PG_READER, c, NULL, "cannot connect", err, errlen);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, ignore_notice, NULL);
	return c;
}

/* The schema's version, in the transaction: 0 when there is none. -1 on error. */
static int schema_version(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT COALESCE(max(version), 0) FROM tmpguard.schema_migrations");
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	else if (state && (!strcmp(state, "3F000") || !strcmp(state, "42P01")))
		v = 0;
	else
		tg_pg_error_as(TG_PG_READER, c, r, "cannot read the fleet schema's version", err,
			       errlen);
	PQclear(r);
	return v;
}

/* In a read-only transaction, the server and schema checked. -1 with err set. */
static int begin_read(PGconn *c, const char *name, char *err, size_t errlen)
{
	PGresult *r;
	int v;

	if (tg_pg_check_server(PQserverVersion(c), err, errlen))
		return -1;
	r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		tg_pg_error_as(TG_PG_READER, c, r, "cannot begin a read-only transaction", err,
			       errlen);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	v = schema_version(c, err, errlen);
	if (v < 0)
		return -1;
	if (v == 0) {
		snprintf(err, errlen,
			 "%s holds no tmpguard fleet schema (no table tmpguard.schema_migrations): "
			 "nothing was forwarded there yet (forward with `audit --db FILE --forward "
			 "URL`), or the URL names another database",
			 name);
		return -1;
	}
	if (tg_pg_check_schema(v, err, errlen)) {
		snprintf(err, errlen,
			 "%s has tmpguard fleet schema version %d, newer than this tmpguard's %d: "
			 "read it with a tmpguard at least as new as the forwarders' (upgrade "
			 "tmpguard on this host)",
			 name, v, TG_PG_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

PGconn *tg_pg_open_read(const char *url, const char *password_file, char *name, size_t namelen,
			char *err, size_t errlen)
{
	char *password = NULL;
	PGconn *c;

	if (tg_pg_url_target(url, true, name, namelen, err, errlen))
		return NULL;
	if (password_file && !(password = tg_forward_read_password(password_file, err, errlen)))
		return NULL;
	c = connect_read(url, password, err, errlen);
	tg_forward_password_free(password);
	if (c && begin_read(c, name, err, errlen)) {
		PQfinish(c);
		c = NULL;
	}
	if (!c) {
		/* "cannot connect: ..." names no server: say which. */
		if (strncmp(err, name, strlen(name))) {
			char *copy = strdup(err);

			if (copy) {
				snprintf(err, errlen, "%s: %s", name, copy);
				free(copy);
			}
		}
	}
	return c;
}

void tg_pg_close_read(PGconn *c)
{
	if (!c)
		return;
	PQclear(PQexec(c, "COMMIT"));
	PQfinish(c);
}
