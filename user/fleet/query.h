/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Findings from the event store, filtered (the library of `tmpguard query`, cmd/query_cmd.c):
 * the SELECT, its rows, and a finding as a text line or a CSV row.
 */
#ifndef TG_QUERY_H
#define TG_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include <sqlite3.h>

/* Filters, combined with AND; an unset one matches everything. */
struct tg_query {
	bool has_since, has_until;
	int64_t since_ns, until_ns; /* time_ns >= since, time_ns < until */
	const char *rule;	    /* rule id */
	int severity;		    /* this level and above; -1: any */
	const char *exe;	    /* the full exe path, or its basename */
	bool has_pid, has_uid;
	int64_t pid, uid;
	const char *container; /* a prefix of the (lowercase hex) container id */
	const char *path_glob; /* SQLite GLOB on the path as requested */
	long limit;	       /* the newest N (printed oldest first); 0: all */
	/* Host ids (HOSTNAME:MACHINE-ID) or hostnames, n_hosts of them, any of which matches: a
	 * finding's host id is one of them, or is the host id of a session whose hostname is. */
	const char *const *hosts;
	size_t n_hosts;
};

/* At most this many --host values. */
#define TG_QUERY_HOSTS_MAX 64

void tg_query_init(struct tg_query *q);

/*
 * The SELECT for q, prepared and bound (every value a parameter, never spliced into the SQL).
 * Rows: json, time_ns, in the order both backends share: time, then host id, session key and
 * the row's id (the forwarded seq). An --exe starting with '/' is a full path, matched exactly (an
 * index serves it); without one, a basename. NULL on error (sqlite3_errmsg(db)).
 */
sqlite3_stmt *tg_query_prepare(sqlite3 *db, const struct tg_query *q);

/* The findings q matches in the store at path, oldest first, read one at a time. */
struct tg_query_rows;

/*
 * Opens the store read-only (tg_store_open_read) and prepares the SELECT for q. NULL and err
 * set ("cannot open the database PATH: ...", "PATH: <SQLite's message>") on failure.
 */
struct tg_query_rows *tg_query_open(const char *path, const struct tg_query *q, char *err,
				    size_t errlen);
/*
 * The same over the fleet store in PostgreSQL at url (pg_read.h: read-only, password from
 * password_file or libpq's environment), in the same order (query_pg.c). Its name (the URL
 * without password and options) in name. NULL and err set on failure.
 */
struct tg_query_rows *tg_query_open_pg(const char *url, const char *password_file,
				       const struct tg_query *q, char *name, size_t namelen,
				       char *err, size_t errlen);
/* The next finding: its stored JSON line in *json, valid until the next call. Returns 1, 0 when
 * there is no more, -1 when reading failed (err: "reading PATH: ..."). */
int tg_query_next(struct tg_query_rows *rows, const char **json, char *err, size_t errlen);
/* NULL is fine. */
void tg_query_close(struct tg_query_rows *rows);

/* The CSV header line, and one finding (a stored JSON record) as a CSV row, CRLF-terminated:
 * cells as the report writes them (tg_csv_field: printable, quoted, formulas neutralised). */
int tg_query_csv_header(FILE *out);
int tg_query_csv_row(FILE *out, json_object *f);
/* One readable line per finding, then its ancestry; no raw control byte from the record. */
int tg_query_text_row(FILE *out, json_object *f);

#endif
