// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Findings from the event store, for `tmpguard query` (cmd/query_cmd.c): one SELECT with every
 * value bound as a parameter, its rows read one at a time, each stored finding rendered as text
 * or CSV (finding_csv.c: the report's columns).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "finding_csv.h"
#include "query.h"
#include "query_pg.h"
#include "report_render.h"
#include "store.h"
#include "util/json_util.h"

enum { P_SINCE = 1, P_UNTIL, P_RULE, P_SEV, P_EXE, P_PID, P_UID, P_CONT, P_PATH, P_LIMIT, P_HOST0 };

void tg_query_init(struct tg_query *q)
{
	memset(q, 0, sizeof(*q));
	q->severity = -1;
}

/* A version-1 store's sessions have no host_id nor key: the host and 0 stand in for them. */
static bool has_host_ids(sqlite3 *db)
{
	sqlite3_stmt *s;
	bool ok = sqlite3_prepare_v2(db, "SELECT host_id, key FROM sessions LIMIT 0", -1, &s,
				     NULL) == SQLITE_OK;

	sqlite3_finalize(s);
	return ok;
}

/* "?11,?12,...": the --host values' parameters. */
static void host_params(char *buf, size_t len, size_t n)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s?%zu", i ? "," : "", P_HOST0 + i);
}

/* The WHERE clause of q (findings f joined with their session s; hid: the host id). */
static size_t where_clause(const struct tg_query *q, const char *hid, char *where, size_t len)
{
	char hosts[TG_QUERY_HOSTS_MAX * 6 + 1];
	size_t n = snprintf(where, len, "1");

#define ADD(...)                                                                                   \
	do {                                                                                       \
		n += snprintf(where + n, n < len ? len - n : 0, " AND ");                          \
		n += snprintf(where + n, n < len ? len - n : 0, __VA_ARGS__);                      \
	} while (0)
	if (q->has_since)
		ADD("f.time_ns >= ?1");
	if (q->has_until)
		ADD("f.time_ns < ?2");
	if (q->rule)
		ADD("f.rule = ?3");
	if (q->severity >= 0)
		ADD("f.severity_level >= ?4");
	/* A full path (from '/') exactly; a basename: exe ends in "/NAME" (or is NAME, when
	 * the process was gone and the kernel gave only its name). */
	if (q->exe && q->exe[0] == '/')
		ADD("f.exe = ?5");
	else if (q->exe)
		ADD("(f.exe = ?5 OR substr(f.exe, -length(?5) - 1) = '/' || ?5)");
	if (q->has_pid)
		ADD("f.pid = ?6");
	if (q->has_uid)
		ADD("f.uid = ?7");
	/* A prefix of a lowercase hex id, as a range so the index serves it: every id starting
	 * with P sorts at or after P and before P || 'g' ('g' follows every hex digit). */
	if (q->container)
		ADD("f.container_id >= ?8 AND f.container_id < ?8 || 'g'");
	if (q->path_glob)
		ADD("f.path GLOB ?9");
	if (q->n_hosts) {
		host_params(hosts, sizeof(hosts), q->n_hosts);
		ADD("(%s IN (%s) OR %s IN (SELECT %s FROM sessions s2 WHERE s2.host IN (%s)))", hid,
		    hosts, hid,
		    !strcmp(hid, "s.host") ? "s2.host" : "COALESCE(s2.host_id, s2.host)", hosts);
	}
#undef ADD
	return n;
}

static void bind_all(sqlite3_stmt *s, const struct tg_query *q)
{
	if (q->has_since)
		sqlite3_bind_int64(s, P_SINCE, q->since_ns);
	if (q->has_until)
		sqlite3_bind_int64(s, P_UNTIL, q->until_ns);
	if (q->rule)
		sqlite3_bind_text(s, P_RULE, q->rule, -1, SQLITE_STATIC);
	if (q->severity >= 0)
		sqlite3_bind_int(s, P_SEV, q->severity);
	if (q->exe)
		sqlite3_bind_text(s, P_EXE, q->exe, -1, SQLITE_STATIC);
	if (q->has_pid)
		sqlite3_bind_int64(s, P_PID, q->pid);
	if (q->has_uid)
		sqlite3_bind_int64(s, P_UID, q->uid);
	if (q->container)
		sqlite3_bind_text(s, P_CONT, q->container, -1, SQLITE_STATIC);
	if (q->path_glob)
		sqlite3_bind_text(s, P_PATH, q->path_glob, -1, SQLITE_STATIC);
	if (q->limit > 0)
		sqlite3_bind_int64(s, P_LIMIT, q->limit);
	for (size_t i = 0; i < q->n_hosts; i++)
		sqlite3_bind_text(s, P_HOST0 + (int)i, q->hosts[i], -1, SQLITE_STATIC);
}

sqlite3_stmt *tg_query_prepare(sqlite3 *db, const struct tg_query *q)
{
	bool v2 = has_host_ids(db);
	const char *hid = v2 ? "COALESCE(s.host_id, s.host)" : "s.host", *key = v2 ? "s.key" : "0";
	char where[4096], sql[8192];
	sqlite3_stmt *s;
	int n;

	if (q->n_hosts > TG_QUERY_HOSTS_MAX ||
	    where_clause(q, hid, where, sizeof(where)) >= sizeof(where))
		return NULL;
	/* The order `query --db postgresql://...` gives too (query_pg.c): time, host id,
	 * session key, id. */
	if (q->limit > 0)
		n = snprintf(
			sql, sizeof(sql),
			"SELECT json, time_ns FROM (SELECT f.json, f.time_ns, %s AS h, %s AS k, "
			"f.id FROM findings f JOIN sessions s ON s.id = f.session WHERE %s "
			"ORDER BY f.time_ns DESC, h DESC, k DESC, f.id DESC LIMIT ?10) ORDER BY "
			"time_ns, h, k, id",
			hid, key, where);
	else
		n = snprintf(sql, sizeof(sql),
			     "SELECT f.json, f.time_ns FROM findings f JOIN sessions s ON s.id = "
			     "f.session WHERE %s ORDER BY f.time_ns, %s, %s, f.id",
			     where, hid, key);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	bind_all(s, q);
	return s;
}

struct tg_query_rows {
	sqlite3 *db;
	sqlite3_stmt *s;
	const char *path;
	struct tg_query_pg *pg; /* a fleet store: query_pg.c reads it */
};

struct tg_query_rows *tg_query_open(const char *path, const struct tg_query *q, char *err,
				    size_t errlen)
{
	struct tg_query_rows *rows = calloc(1, sizeof(*rows));

	if (!rows) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rows->path = path;
	rows->db = tg_store_open_read(path, err, errlen);
	if (!rows->db) {
		free(rows);
		return NULL;
	}
	rows->s = tg_query_prepare(rows->db, q);
	if (!rows->s) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(rows->db));
		tg_query_close(rows);
		return NULL;
	}
	return rows;
}

struct tg_query_rows *tg_query_open_pg(const char *url, const char *password_file,
				       const struct tg_query *q, char *name, size_t namelen,
				       char *err, size_t errlen)
{
	struct tg_query_rows *rows = calloc(1, sizeof(*rows));

	if (!rows) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rows->path = url;
	rows->pg = tg_query_pg_open(url, password_file, q, name, namelen, err, errlen);
	if (!rows->pg) {
		free(rows);
		return NULL;
	}
	return rows;
}

int tg_query_next(struct tg_query_rows *rows, const char **json, char *err, size_t errlen)
{
	int rc;

	if (rows->pg)
		return tg_query_pg_next(rows->pg, json, err, errlen);
	while ((rc = sqlite3_step(rows->s)) == SQLITE_ROW) {
		*json = (const char *)sqlite3_column_text(rows->s, 0);
		if (*json)
			return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "reading %s: %s", rows->path, sqlite3_errmsg(rows->db));
	return -1;
}

void tg_query_close(struct tg_query_rows *rows)
{
	if (!rows)
		return;
	tg_query_pg_close(rows->pg);
	sqlite3_finalize(rows->s);
	sqlite3_close(rows->db);
	free(rows);
}

/* ---- rendering ---- */

/* A field as text: strings as they are, numbers and booleans in JSON form, null as "". */
static const char *jtext(json_object *o, const char *key)
{
	json_object *v = tg_json_get(o, key);

	return v ? json_object_get_string(v) : "";
}

int tg_query_csv_header(FILE *out)
{
	return tg_finding_csv_header(out);
}

/* "1234 sh < 1 systemd": the parent chain as recorded at event time. */
static char *ancestry_str(json_object *f)
{
	json_object *anc = tg_json_get(f, "ancestry"), *tr = tg_json_get(f, "ancestry_truncated");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	for (size_t i = 0; i < tg_json_array_len(anc); i++) {
		json_object *a = json_object_array_get_idx(anc, i);

		fprintf(m, "%s%s %s", i ? " < " : "", jtext(a, "pid"), jtext(a, "comm"));
	}
	if (tr && json_object_get_boolean(tr))
		fputs(" < ...", m);
	fclose(m);
	return buf;
}

int tg_query_csv_row(FILE *out, json_object *f)
{
	char *row = tg_finding_csv_row(f);

	if (row)
		fputs(row, out);
	free(row);
	return !row || ferror(out) ? -1 : 0;
}

static char *esc(const char *s)
{
	return tg_text_dup(s, strlen(s));
}

int tg_query_text_row(FILE *out, json_object *f)
{
	json_object *proc = tg_json_get(f, "proc");
	const char *cid = jtext(proc, "container_id"), *action = jtext(f, "action");
	char *t = esc(jtext(f, "time")), *host = esc(jtext(f, "host"));
	char *rule = esc(jtext(f, "rule")), *comm = esc(jtext(proc, "comm"));
	char *exe = esc(jtext(proc, "exe")), *user = esc(jtext(proc, "user"));
	char *path = esc(jtext(f, "path")), *cont = esc(cid), *act = esc(action);
	char *sev = esc(jtext(f, "severity")), *a = ancestry_str(f), *anc = a ? esc(a) : NULL;
	int err = 0;

	if (!t || !host || !rule || !comm || !exe || !user || !path || !cont || !act || !sev ||
	    !anc) {
		err = -1;
		goto out;
	}
	for (char *c = sev; *c; c++)
		*c = toupper((unsigned char)*c);
	fprintf(out, "%s  %s  %s  host %s  pid %s %s (%s)  uid %s (%s)  path %s", t, sev, rule,
		host, jtext(proc, "pid"), comm, exe, jtext(proc, "uid"), user, path);
	if (*cont)
		fprintf(out, "  container %.12s", cont);
	if (*act && strcmp(act, "alert"))
		fprintf(out, "  action %s", act);
	fputc('\n', out);
	if (*anc)
		fprintf(out, "  ancestry %s\n", anc);
out:
	free(t);
	free(host);
	free(rule);
	free(comm);
	free(exe);
	free(user);
	free(path);
	free(cont);
	free(act);
	free(sev);
	free(a);
	free(anc);
	return err || ferror(out) ? -1 : 0;
}
