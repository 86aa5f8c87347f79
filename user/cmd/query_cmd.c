// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard query`: parse filters -> open the store read-only -> the findings they match
 * (fleet/query.c: one SELECT, every value bound as a parameter) -> each one as text, its JSON
 * line verbatim, or CSV.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "cli.h"
#include "pg_read.h"
#include "query.h"
#include "query_cmd.h"
#include "rules.h"
#include "util/timefmt.h"

#define TG_EXIT_USAGE 2

enum { FMT_TEXT, FMT_JSON, FMT_CSV };

struct query_args {
	const char *db;
	const char *password_file; /* --db postgresql://...: the password */
	const char *hosts[TG_QUERY_HOSTS_MAX];
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
	OPT_HOST,
	OPT_PASSWORD_FILE,
};

static const struct argp_option query_options[] = {
	{"db", OPT_DB, "FILE|URL", 0,
	 "the event store written by audit --db, or the fleet store: postgresql://USER@HOST/DB "
	 "(required)",
	 0},
	{"host", OPT_HOST, "HOST", 0,
	 "this host only: its host id (HOSTNAME:MACHINE-ID) or hostname (repeatable: any of them)",
	 0},
	{"password-file", OPT_PASSWORD_FILE, "FILE", 0,
	 "--db URL: the password, first line of FILE (root's, mode 0600); else PGPASSWORD or "
	 "PGPASSFILE",
	 0},
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

/* --uid: a number, or a user name looked up in the user database. */
static int parse_uid(struct argp_state *state, const char *arg, int64_t *uid)
{
	struct passwd *pw;

	if (isdigit((unsigned char)arg[0]))
		return parse_int(state, "uid", arg, 0, UINT32_MAX, uid) ? EINVAL : 0;
	pw = getpwnam(arg);
	if (!pw) {
		argp_error(state, "unknown user '%s'", arg);
		return EINVAL;
	}
	*uid = pw->pw_uid;
	return 0;
}

/* --container: 1 to 64 hex digits, kept in lowercase as the store holds them. */
static int parse_container(struct argp_state *state, const char *arg, struct query_args *a)
{
	size_t n = strlen(arg);

	if (n == 0 || n >= sizeof(a->container) || n > 64) {
		argp_error(state, "invalid container id '%s': expected 1 to 64 hex digits", arg);
		return EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		if (arg[i] && !isxdigit((unsigned char)arg[i])) {
			argp_error(state, "invalid container id '%s': expected hex digits", arg);
			return EINVAL;
		}
		a->container[i] = tolower((unsigned char)arg[i]);
	}
	a->q.container = a->container;
	return 0;
}

static int parse_format(struct argp_state *state, const char *arg, int *format)
{
	if (!strcmp(arg, "text"))
		*format = FMT_TEXT;
	else if (!strcmp(arg, "json"))
		*format = FMT_JSON;
	else if (!strcmp(arg, "csv"))
		*format = FMT_CSV;
	else {
		argp_error(state, "invalid format '%s': expected text, json or csv", arg);
		return EINVAL;
	}
	return 0;
}

/* --since and --until: a duration back from now, an RFC 3339 time or a date. */
static int parse_time(struct argp_state *state, const char *arg, int64_t now_ns, int64_t *t,
		      bool *has)
{
	if (tg_parse_time_arg(arg, now_ns, t)) {
		argp_error(state,
			   "invalid time '%s': expected a duration back from now (90s, 15m, 2h, "
			   "30d, 1w), an RFC 3339 time or a date (2026-11-28)",
			   arg);
		return EINVAL;
	}
	*has = true;
	return 0;
}

/* Once every argument is parsed: what the command needs, and filters that can match. */
static int check_args(struct argp_state *state, const struct query_args *a)
{
	if (!a->db) {
		argp_error(state, "--db FILE is required (or --db postgresql://USER@HOST/DB)");
		return EINVAL;
	}
	if (a->password_file && !tg_pg_is_url(a->db)) {
		argp_error(state, "--password-file is for --db postgresql://...: a store file has "
				  "no password");
		return EINVAL;
	}
	if (a->q.has_since && a->q.has_until && a->q.until_ns <= a->q.since_ns) {
		argp_error(state, "--until is not after --since: nothing can match");
		return EINVAL;
	}
	return 0;
}

static error_t parse_query(int key, char *arg, struct argp_state *state)
{
	struct query_args *a = state->input;
	struct tg_query *q = &a->q;
	int64_t v;

	switch (key) {
	case OPT_DB:
		a->db = arg;
		return 0;
	case OPT_PASSWORD_FILE:
		a->password_file = arg;
		return 0;
	case OPT_HOST:
		if (!*arg) {
			argp_error(state, "--host needs a host id or a hostname");
			return EINVAL;
		}
		if (q->n_hosts == TG_QUERY_HOSTS_MAX) {
			argp_error(state, "at most %d --host", TG_QUERY_HOSTS_MAX);
			return EINVAL;
		}
		a->hosts[q->n_hosts++] = arg;
		q->hosts = a->hosts;
		return 0;
	case OPT_SINCE:
		return parse_time(state, arg, a->now_ns, &q->since_ns, &q->has_since);
	case OPT_UNTIL:
		return parse_time(state, arg, a->now_ns, &q->until_ns, &q->has_until);
	case OPT_RULE:
		if (tg_rule_parse(arg) < 0) {
			argp_error(state, "unknown rule '%s'", arg);
			return EINVAL;
		}
		q->rule = arg;
		return 0;
	case OPT_SEVERITY:
		q->severity = tg_severity_parse(arg);
		if (q->severity < 0) {
			argp_error(state,
				   "invalid severity '%s': expected low, medium, high or critical",
				   arg);
			return EINVAL;
		}
		return 0;
	case OPT_EXE:
		if (!*arg) {
			argp_error(state, "--exe needs a path or a name");
			return EINVAL;
		}
		q->exe = arg;
		return 0;
	case OPT_PID:
		if (parse_int(state, "pid", arg, 1, INT_MAX, &q->pid))
			return EINVAL;
		q->has_pid = true;
		return 0;
	case OPT_UID:
		if (parse_uid(state, arg, &q->uid))
			return EINVAL;
		q->has_uid = true;
		return 0;
	case OPT_CONTAINER:
		return parse_container(state, arg, a);
	case OPT_PATH:
		q->path_glob = arg;
		return 0;
	case 'f':
		return parse_format(state, arg, &a->format);
	case OPT_LIMIT:
		if (parse_int(state, "limit", arg, 1, LONG_MAX, &v))
			return EINVAL;
		q->limit = v;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	case ARGP_KEY_END:
		return check_args(state, a);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const char query_doc[] =
	"Findings from the event store written by `tmpguard audit --db FILE`, or from the fleet "
	"store in PostgreSQL its forwarders fill (--db postgresql://USER@HOST/DB, no password "
	"in it), oldest first (by time, then host id). Filters combine with AND. The database is "
	"opened read-only and can be queried while audit writes to it. Exit status: 0 (also "
	"when nothing matches: \"no findings match\" on standard error), 2 on a usage or "
	"database error.\v"
	"Examples:\n"
	"  tmpguard query --db /var/lib/tmpguard/events.db --since 2h\n"
	"  tmpguard query --db DB --severity high --exe python3 --format json\n"
	"  tmpguard query --db DB --path '/tmp/build.*' --since 2026-11-28 --until 2026-11-29\n"
	"  tmpguard query --db DB --container 3f2a9c1b7d4e --format csv > findings.csv\n"
	"  tmpguard query --db postgresql://tmpguard@db.example/fleet --password-file FILE \\\n"
	"      --host web-1 --exe /usr/bin/python3 --since 7d";

int cmd_query(int argc, char **argv)
{
	struct argp argp = {.options = query_options,
			    .parser = parse_query,
			    .doc = query_doc,
			    .children = tg_cli_children};
	struct query_args a = {.format = FMT_TEXT};
	struct tg_query_rows *rows;
	const char *js;
	char err[PATH_MAX + 1024], name[TG_PG_NAME_MAX] = "";
	uint64_t n = 0;
	int rc, ret = 0;

	tg_query_init(&a.q);
	a.now_ns = tg_clock_ns(CLOCK_REALTIME);
	argv[0] = "tmpguard query";
	argp_err_exit_status = TG_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;

	if (tg_pg_is_url(a.db))
		rows = tg_query_open_pg(a.db, a.password_file, &a.q, name, sizeof(name), err,
					sizeof(err));
	else
		rows = tg_query_open(a.db, &a.q, err, sizeof(err));
	if (!rows) {
		fprintf(stderr, "tmpguard query: %s\n", err);
		return TG_EXIT_USAGE;
	}
	while ((rc = tg_query_next(rows, &js, err, sizeof(err))) > 0) {
		json_object *f;

		if (a.format == FMT_JSON) {
			/* Verbatim: the line live JSON output printed. */
			printf("%s\n", js);
			n++;
			if (ferror(stdout))
				break;
			continue;
		}
		f = json_tokener_parse(js);
		if (!f) {
			fprintf(stderr, "tmpguard query: %s: a stored finding is not valid JSON\n",
				*name ? name : a.db);
			continue;
		}
		if (a.format == FMT_CSV && n == 0)
			tg_query_csv_header(stdout);
		if (a.format == FMT_CSV)
			tg_query_csv_row(stdout, f);
		else
			tg_query_text_row(stdout, f);
		json_object_put(f);
		n++;
		if (ferror(stdout))
			break; /* said below: a reader that went away, or a full disk */
	}
	if (rc < 0) {
		fprintf(stderr, "tmpguard query: %s\n", err);
		ret = TG_EXIT_USAGE;
	} else if (n == 0) {
		if (a.format == FMT_CSV)
			tg_query_csv_header(stdout);
		fprintf(stderr, "tmpguard query: no findings match\n");
	}
	rc = tg_cli_stdout_done("tmpguard query");
	if (rc)
		ret = rc;
	tg_query_close(rows);
	return ret;
}
