// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard query`: parse filters -> open the store read-only -> one SELECT with every value
 * bound as a parameter -> each stored finding as text, its JSON line verbatim, or CSV.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "query.h"
#include "report_render.h"
#include "rules.h"
#include "store.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define TG_EXIT_USAGE 2

enum { P_SINCE = 1, P_UNTIL, P_RULE, P_SEV, P_EXE, P_PID, P_UID, P_CONT, P_PATH, P_LIMIT };

void tg_query_init(struct tg_query *q)
{
	memset(q, 0, sizeof(*q));
	q->severity = -1;
}

sqlite3_stmt *tg_query_prepare(sqlite3 *db, const struct tg_query *q)
{
	char where[1024] = "1", sql[2048];
	sqlite3_stmt *s;
	size_t n = 1;

#define ADD(cond) n += snprintf(where + n, sizeof(where) - n, " AND %s", cond)
	if (q->has_since)
		ADD("time_ns >= ?1");
	if (q->has_until)
		ADD("time_ns < ?2");
	if (q->rule)
		ADD("rule = ?3");
	if (q->severity >= 0)
		ADD("severity_level >= ?4");
	/* The full path, or the basename: exe ends in "/NAME" (or is NAME, when the process was
	 * gone and the kernel gave only its name). */
	if (q->exe)
		ADD("(exe = ?5 OR substr(exe, -length(?5) - 1) = '/' || ?5)");
	if (q->has_pid)
		ADD("pid = ?6");
	if (q->has_uid)
		ADD("uid = ?7");
	/* A prefix of a lowercase hex id, as a range so the index serves it: every id starting
	 * with P sorts at or after P and before P || 'g' ('g' follows every hex digit). */
	if (q->container)
		ADD("container_id >= ?8 AND container_id < ?8 || 'g'");
	if (q->path_glob)
		ADD("path GLOB ?9");
#undef ADD
	if (n >= sizeof(where))
		return NULL;
	if (q->limit > 0)
		snprintf(sql, sizeof(sql),
			 "SELECT json, time_ns FROM (SELECT json, time_ns, id FROM findings WHERE "
			 "%s ORDER BY time_ns DESC, id DESC LIMIT ?10) ORDER BY time_ns, id",
			 where);
	else
		snprintf(sql, sizeof(sql),
			 "SELECT json, time_ns FROM findings WHERE %s ORDER BY time_ns, id", where);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
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
	return s;
}

/* ---- rendering ---- */

/* A field as text: strings as they are, numbers and booleans in JSON form, null as "". */
static const char *jtext(json_object *o, const char *key)
{
	json_object *v = tg_json_get(o, key);

	return v ? json_object_get_string(v) : "";
}

static const char *const csv_columns[] = {
	"time", "host",	 "rule", "severity",	   "action",	   "pid",
	"ppid", "uid",	 "user", "comm",	   "exe",	   "cmdline",
	"path", "flags", "mode", "effective_mode", "container_id", "ancestry",
};

int tg_query_csv_header(FILE *out)
{
	size_t n = sizeof(csv_columns) / sizeof(csv_columns[0]);

	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", csv_columns[i], i + 1 < n ? "," : "\r\n");
	return ferror(out) ? -1 : 0;
}

/* Array elements joined by sep, for flags and a cmdline given as a list. */
static char *join(json_object *arr, const char *sep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	if (json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++)
			fprintf(m, "%s%s", i ? sep : "",
				json_object_get_string(json_object_array_get_idx(arr, i)));
	} else if (arr) {
		fputs(json_object_get_string(arr), m);
	}
	fclose(m);
	return buf;
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
	json_object *proc = tg_json_get(f, "proc");
	char *flags = join(tg_json_get(f, "flags"), "|");
	char *cmd = join(tg_json_get(proc, "cmdline"), " ");
	char *anc = ancestry_str(f);
	const char *v[] = {
		jtext(f, "time"),
		jtext(f, "host"),
		jtext(f, "rule"),
		jtext(f, "severity"),
		jtext(f, "action"),
		jtext(proc, "pid"),
		jtext(proc, "ppid"),
		jtext(proc, "uid"),
		jtext(proc, "user"),
		jtext(proc, "comm"),
		jtext(proc, "exe"),
		cmd ? cmd : "",
		jtext(f, "path"),
		flags ? flags : "",
		jtext(f, "mode"),
		jtext(f, "effective_mode"),
		jtext(proc, "container_id"),
		anc ? anc : "",
	};
	size_t n = sizeof(v) / sizeof(v[0]);
	int err = 0;

	_Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(csv_columns) / sizeof(csv_columns[0]),
		       "a value per CSV column");
	/* The report's CSV cells: printable form (no raw control byte), quoted as RFC 4180
	 * wants, formulas neutralised. */
	for (size_t i = 0; i < n; i++) {
		tg_csv_field(out, v[i]);
		fputs(i + 1 < n ? "," : "\r\n", out);
	}
	free(flags);
	free(cmd);
	free(anc);
	return err || ferror(out) ? -1 : 0;
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

/* ---- the command ---- */

enum { FMT_TEXT, FMT_JSON, FMT_CSV };

struct query_args {
	const char *db;
	int format;
	struct tg_query q;
	char container[80];
	int64_t now_ns;
};

enum {
	OPT_DB = 0x100,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_RULE,
	OPT_SEVERITY,
	OPT_EXE,
	OPT_PID,
	OPT_UID,
	OPT_CONTAINER,
	OPT_PATH,
	OPT_LIMIT,
};

static const struct argp_option query_options[] = {
	{"db", OPT_DB, "FILE", 0, "the event store written by audit --db (required)", 0},
	{"since", OPT_SINCE, "TIME", 0, "findings at or after TIME: 2h, 30d, 2026-11-28, RFC 3339",
	 0},
	{"until", OPT_UNTIL, "TIME", 0, "findings before TIME (same forms)", 0},
	{"rule", OPT_RULE, "RULE", 0, "this rule id only (nonexclusive-create, ...)", 0},
	{"severity", OPT_SEVERITY, "SEVERITY", 0, "this severity and above (low..critical)", 0},
	{"exe", OPT_EXE, "EXE", 0, "executable: the full path or its basename", 0},
	{"pid", OPT_PID, "PID", 0, "process id", 0},
	{"uid", OPT_UID, "UID", 0, "real uid of the process (a number or a user name)", 0},
	{"container", OPT_CONTAINER, "ID", 0, "container id or a prefix of it (12-char short id)",
	 0},
	{"path", OPT_PATH, "GLOB", 0, "path as requested, a GLOB pattern: '/tmp/build.*'", 0},
	{"format", 'f', "FORMAT", 0, "text (default), json (stored records, one per line) or csv",
	 0},
	{"limit", OPT_LIMIT, "N", 0, "only the N most recent matches (still printed oldest first)",
	 0},
	{},
};

static int parse_int(struct argp_state *state, const char *what, const char *arg, int64_t min,
		     int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		argp_error(state, "invalid %s '%s': expected an integer in [%lld, %lld]", what, arg,
			   (long long)min, (long long)max);
		return EINVAL;
	}
	*out = v;
	return 0;
}

static error_t parse_query(int key, char *arg, struct argp_state *state)
{
	struct query_args *a = state->input;
	struct tg_query *q = &a->q;
	int64_t v;
	size_t n;

	switch (key) {
	case OPT_DB:
		a->db = arg;
		break;
	case OPT_SINCE:
	case OPT_UNTIL:
		if (tg_parse_time_arg(arg, a->now_ns,
				      key == OPT_SINCE ? &q->since_ns : &q->until_ns)) {
			argp_error(state,
				   "invalid time '%s': expected a duration back from now (90s, "
				   "15m, 2h, 30d, 1w), an RFC 3339 time or a date (2026-11-28)",
				   arg);
			return EINVAL;
		}
		if (key == OPT_SINCE)
			q->has_since = true;
		else
			q->has_until = true;
		break;
	case OPT_RULE:
		if (tg_rule_parse(arg) < 0) {
			argp_error(state, "unknown rule '%s'", arg);
			return EINVAL;
		}
		q->rule = arg;
		break;
	case OPT_SEVERITY:
		q->severity = tg_severity_parse(arg);
		if (q->severity < 0) {
			argp_error(state,
				   "invalid severity '%s': expected low, medium, high or critical",
				   arg);
			return EINVAL;
		}
		break;
	case OPT_EXE:
		if (!*arg) {
			argp_error(state, "--exe needs a path or a name");
			return EINVAL;
		}
		q->exe = arg;
		break;
	case OPT_PID:
		if (parse_int(state, "pid", arg, 1, INT_MAX, &q->pid))
			return EINVAL;
		q->has_pid = true;
		break;
	case OPT_UID:
		if (isdigit((unsigned char)arg[0])) {
			if (parse_int(state, "uid", arg, 0, UINT32_MAX, &q->uid))
				return EINVAL;
		} else {
			struct passwd *pw = getpwnam(arg);

			if (!pw) {
				argp_error(state, "unknown user '%s'", arg);
				return EINVAL;
			}
			q->uid = pw->pw_uid;
		}
		q->has_uid = true;
		break;
	case OPT_CONTAINER:
		n = strlen(arg);
		if (n == 0 || n >= sizeof(a->container) || n > 64) {
			argp_error(state, "invalid container id '%s': expected 1 to 64 hex digits",
				   arg);
			return EINVAL;
		}
		for (size_t i = 0; i <= n; i++) {
			if (arg[i] && !isxdigit((unsigned char)arg[i])) {
				argp_error(state, "invalid container id '%s': expected hex digits",
					   arg);
				return EINVAL;
			}
			a->container[i] = tolower((unsigned char)arg[i]);
		}
		q->container = a->container;
		break;
	case OPT_PATH:
		q->path_glob = arg;
		break;
	case 'f':
		if (!strcmp(arg, "text"))
			a->format = FMT_TEXT;
		else if (!strcmp(arg, "json"))
			a->format = FMT_JSON;
		else if (!strcmp(arg, "csv"))
			a->format = FMT_CSV;
		else {
			argp_error(state, "invalid format '%s': expected text, json or csv", arg);
			return EINVAL;
		}
		break;
	case OPT_LIMIT:
		if (parse_int(state, "limit", arg, 1, LONG_MAX, &v))
			return EINVAL;
		q->limit = v;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	case ARGP_KEY_END:
		if (!a->db) {
			argp_error(state, "--db FILE is required");
			return EINVAL;
		}
		if (q->has_since && q->has_until && q->until_ns <= q->since_ns) {
			argp_error(state, "--until is not after --since: nothing can match");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char query_doc[] =
	"Findings from the event store written by `tmpguard audit --db FILE`, oldest first. "
	"Filters combine with AND. The database is opened read-only and can be queried while "
	"audit writes to it. Exit status: 0 (also when nothing matches: \"no findings match\" on "
	"standard error), 2 on a usage or database error.\v"
	"Examples:\n"
	"  tmpguard query --db /var/lib/tmpguard/events.db --since 2h\n"
	"  tmpguard query --db DB --severity high --exe python3 --format json\n"
	"  tmpguard query --db DB --path '/tmp/build.*' --since 2026-11-28 --until 2026-11-29\n"
	"  tmpguard query --db DB --container 3f2a9c1b7d4e --format csv > findings.csv";

int cmd_query(int argc, char **argv)
{
	struct argp argp = {.options = query_options, .parser = parse_query, .doc = query_doc};
	struct query_args a = {.format = FMT_TEXT};
	struct timespec ts;
	sqlite3_stmt *s = NULL;
	sqlite3 *db;
	char err[1024];
	uint64_t rows = 0;
	int rc, ret = 0;

	tg_query_init(&a.q);
	clock_gettime(CLOCK_REALTIME, &ts);
	a.now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	argv[0] = "tmpguard query";
	argp_err_exit_status = TG_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;

	db = tg_store_open_read(a.db, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "tmpguard query: %s\n", err);
		return TG_EXIT_USAGE;
	}
	s = tg_query_prepare(db, &a.q);
	if (!s) {
		fprintf(stderr, "tmpguard query: %s: %s\n", a.db, sqlite3_errmsg(db));
		ret = TG_EXIT_USAGE;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *js = (const char *)sqlite3_column_text(s, 0);
		json_object *f;

		if (!js)
			continue;
		if (a.format == FMT_JSON) {
			/* Verbatim: the line live JSON output printed. */
			printf("%s\n", js);
			rows++;
			continue;
		}
		f = json_tokener_parse(js);
		if (!f) {
			fprintf(stderr, "tmpguard query: %s: a stored finding is not valid JSON\n",
				a.db);
			continue;
		}
		if (a.format == FMT_CSV && rows == 0)
			tg_query_csv_header(stdout);
		if (a.format == FMT_CSV)
			tg_query_csv_row(stdout, f);
		else
			tg_query_text_row(stdout, f);
		json_object_put(f);
		rows++;
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "tmpguard query: reading %s: %s\n", a.db, sqlite3_errmsg(db));
		ret = TG_EXIT_USAGE;
	} else if (rows == 0) {
		if (a.format == FMT_CSV)
			tg_query_csv_header(stdout);
		fprintf(stderr, "tmpguard query: no findings match\n");
	}
	if (fflush(stdout)) {
		fprintf(stderr, "tmpguard query: writing the results: %s\n", strerror(errno));
		ret = 1;
	}
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ret;
}
