/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading the fleet store in PostgreSQL (pg_schema.h), for `query` and `report --db
 * postgresql://...`: the URL under the same rules as --forward (no password in it; the
 * password from --password-file FILE, or libpq's PGPASSWORD / PGPASSFILE; TLS through its
 * sslmode and sslrootcert), a connection in one read-only, repeatable-read transaction (one
 * snapshot for every SELECT a report makes; nothing is created or migrated), and the server's
 * and the schema's versions checked first.
 */
#ifndef TG_PG_READ_H
#define TG_PG_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#define TG_PG_NAME_MAX 512

/* Pure: s is a PostgreSQL URL (postgresql:// or postgres://), not a file name. */
bool tg_pg_is_url(const char *s);

/*
 * Connects to url for reading: the URL checked (tg_forward_target: its name, without password
 * and options, in name), the password read from password_file (NULL: libpq's own), a
 * read-only transaction begun, and the fleet schema checked (present, not newer than this
 * tmpguard's). NULL with what failed and what to do in err.
 */
PGconn *tg_pg_open_read(const char *url, const char *password_file, char *name, size_t namelen,
			char *err, size_t errlen);
/* Ends the transaction and the connection. NULL is fine. */
void tg_pg_close_read(PGconn *c);

#endif
