// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard report`: parse arguments -> read every input (a store, or JSON lines) into the
 * model -> finish it -> render it into the output. The model and its renderings are fleet's
 * (pure: report.h, report_render.h), and so is reading a store (tg_rpt_load_store); this file
 * opens the inputs, reads JSON lines and writes the output.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli.h"
#include "pg_read.h"
#include "report.h"
#include "report_cmd.h"
#include "report_render.h"
#include "util/sha256.h"
#include "util/timefmt.h"

#define TG_EXIT_USAGE 2
#define SQLITE_MAGIC  "SQLite format 3" /* and its NUL: 16 bytes */

enum fmt { FMT_MD, FMT_HTML, FMT_JSON, FMT_SARIF, FMT_CSV };

struct input {
	const char *path;
	bool db; /* given with --db: must be a store */
	bool pg; /* --db postgresql://...: the fleet store */
};

struct args {
	struct input *inputs;
	size_t n_inputs;
	const char *since, *until, *output, *as_of;
	const char *source_root;   /* --source-root DIR */
	const char *password_file; /* for --db postgresql://... */
	const char *hosts[TG_RPT_HOSTS_MAX];
	size_t n_hosts;
	enum fmt fmt;
};

enum {
	OPT_DB = 0x100,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_AS_OF,
	OPT_HOST,
	OPT_PASSWORD_FILE,
	OPT_SOURCE_ROOT,
};

static const struct argp_option options[] = {
	{"db", OPT_DB, "FILE|URL", 0,
	 "a store written by audit --db, or the fleet store: postgresql://USER@HOST/DB "
	 "(repeatable)",
	 0},
	{"host", OPT_HOST, "HOST", 0,
	 "stores: only this host's sessions, by host id (HOSTNAME:MACHINE-ID) or hostname "
	 "(repeatable: any of them)",
	 0},
	{"password-file", OPT_PASSWORD_FILE, "FILE", 0,
	 "--db URL: the password, first line of FILE (root's, mode 0600); else PGPASSWORD or "
	 "PGPASSFILE",
	 0},
	{"since", OPT_SINCE, "TIME", 0,
	 "only findings from TIME on: 30d, 12h, an RFC 3339 time or a date", 0},
	{"until", OPT_UNTIL, "TIME", 0, "only findings up to TIME (default: no limit)", 0},
	{"as-of", OPT_AS_OF, "TIME", 0,
	 "make the report as if at TIME (default: now): its date, relative --since/--until, "
	 "expiries and hosts that stopped reporting are judged then; the same inputs and TIME "
	 "give the same bytes",
	 0},
	{"format", 'f', "FORMAT", 0, "md (default), html, json, sarif or csv", 0},
	{"source-root", OPT_SOURCE_ROOT, "DIR", 0,
	 "sarif: place each result at its call site's file and line, relative to the repository "
	 "checked out in DIR, for code scanning; results whose call site is not under DIR are "
	 "left out and counted",
	 0},
	{"output", 'o', "FILE", 0,
	 "write the report to FILE (replaced atomically) instead of standard output", 0},
	{},
};

static const char doc[] =
	"A compliance report over stores (--db) and JSON-line files (INPUT, as `audit --format "
	"json` writes them; a store given as INPUT is recognised by its header): the period "
	"covered and what could not be seen (records lost, sessions that did not stop cleanly, "
	"unreadable lines), findings by rule, severity, host, executable and container, the "
	"trend, the top offenders, the exceptions in force and what they hid, each host's "
	"posture and the policies in force on it (by SHA-256), CWEs and advice, and the inputs "
	"by content (SHA-256, size, records). Several inputs make one fleet report; the fleet "
	"store in PostgreSQL (--db postgresql://USER@HOST/DB, no password in it) is one input "
	"holding every host that forwards there. It lists per host its forward gaps and whether "
	"it stopped reporting.\v"
	"Examples:\n"
	"  tmpguard report --db /var/lib/tmpguard/events.db --since 30d\n"
	"  tmpguard report --format html --output report.html host1.json host2.json\n"
	"  tmpguard report --format sarif --output tmpguard.sarif findings.json\n"
	"  tmpguard report --db postgresql://tmpguard@db.example/fleet --password-file FILE "
	"--since 1d\n"
	"\n"
	"Exit status: 0, or 2 for a usage error or an input that cannot be read (the message "
	"names the file and what is wrong).";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	static const char *const names[] = {"md", "html", "json", "sarif", "csv"};
	struct input *in;

	switch (key) {
	case OPT_DB:
	case ARGP_KEY_ARG:
		in = realloc(a->inputs, (a->n_inputs + 1) * sizeof(*in));
		if (!in)
			argp_failure(state, 1, ENOMEM, "arguments");
		a->inputs = in;
		a->inputs[a->n_inputs++] = (struct input){
			.path = arg, .db = key == OPT_DB, .pg = key == OPT_DB && tg_pg_is_url(arg)};
		break;
	case OPT_HOST:
		if (!*arg || a->n_hosts == TG_RPT_HOSTS_MAX) {
			argp_error(state, "--host needs a host id or a hostname (at most %d)",
				   TG_RPT_HOSTS_MAX);
			return EINVAL;
		}
		a->hosts[a->n_hosts++] = arg;
		break;
	case OPT_PASSWORD_FILE:
		a->password_file = arg;
		break;
	case OPT_SINCE:
		a->since = arg;
		break;
	case OPT_UNTIL:
		a->until = arg;
		break;
	case OPT_AS_OF:
		a->as_of = arg;
		break;
	case OPT_SOURCE_ROOT:
		a->source_root = arg;
		break;
	case 'o':
		a->output = arg;
		break;
	case 'f':
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(arg, names[i])) {
				a->fmt = (enum fmt)i;
				return 0;
			}
		argp_error(state, "invalid format '%s': expected md, html, json, sarif or csv",
			   arg);
		return EINVAL;
	case ARGP_KEY_END:
		if (!a->n_inputs)
			argp_error(state, "no input: give --db FILE or INPUT files");
		for (size_t i = 0; a->n_hosts && i < a->n_inputs; i++)
			if (!a->inputs[i].db)
				argp_error(state,
					   "--host reads stores (--db) only: %s is not given "
					   "with --db",
					   a->inputs[i].path);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int parse_time(const char *arg, const char *opt, int64_t now, int64_t *out)
{
	if (!arg || !tg_parse_time_arg(arg, now, out))
		return 0;
	fprintf(stderr,
		"tmpguard report: invalid %s '%s': expected a duration back from now (90s, 15m, "
		"2h, 30d, 1w), an RFC 3339 time (2026-11-28T06:30:00Z) or a date (2026-11-28)\n",
		opt, arg);
	return -1;
}

/* ---- inputs ---- */

/* JSON lines, hashed as they are read (the bytes read are what the report saw, also from a
 * pipe). */
static int read_lines(struct tg_rpt *r, FILE *f, const char *path)
{
	struct tg_sha256 *h = tg_sha256_new();
	char *line = NULL, hex[TG_SHA256_HEX];
	size_t cap = 0;
	int64_t bytes = 0;
	ssize_t n;

	if (!h) {
		fprintf(stderr, "tmpguard report: out of memory\n");
		return 1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		tg_sha256_update(h, line, (size_t)n);
		bytes += n;
		if (n && line[n - 1] == '\n')
			n--;
		tg_rpt_line(r, line, (size_t)n);
	}
	free(line);
	if (ferror(f)) {
		fprintf(stderr, "tmpguard report: cannot read %s: %s\n", path, strerror(errno));
		tg_sha256_free(h);
		return TG_EXIT_USAGE;
	}
	tg_rpt_input_size(r, bytes);
	if (tg_sha256_final(h, hex) ||
	    tg_rpt_input_digest(r, hex, "of JSON lines: the bytes read")) {
		fprintf(stderr, "tmpguard report: out of memory\n");
		return 1;
	}
	return 0;
}

/* A store: its error (what failed, naming the file) on stderr. */
static int read_store(struct tg_rpt *r, const char *path, int64_t since, int64_t until)
{
	char err[PATH_MAX + 1024];
	int e = tg_rpt_load_store(r, path, since, until, err, sizeof(err));

	if (!e)
		return 0;
	fprintf(stderr, "tmpguard report: %s\n", err);
	return e == -ENOMEM ? 1 : TG_EXIT_USAGE;
}

/* The fleet store: its error (naming it, without password) on stderr. */
static int read_pg(struct tg_rpt *r, const struct input *in, const char *password_file,
		   int64_t since, int64_t until)
{
	char err[PATH_MAX + 1024];
	int e = tg_rpt_load_pg(r, in->path, password_file, since, until, err, sizeof(err));

	if (!e)
		return 0;
	fprintf(stderr, "tmpguard report: %s\n", err);
	return e == -ENOMEM ? 1 : TG_EXIT_USAGE;
}

/* One input: a store (by its header) or JSON lines. */
static int read_input(struct tg_rpt *r, const struct input *in, int64_t since, int64_t until)
{
	char magic[16] = {0};
	bool sqlite = false;
	struct stat st;
	FILE *f;
	int err;

	f = strcmp(in->path, "-") ? fopen(in->path, "re") : stdin;
	if (!f) {
		fprintf(stderr, "tmpguard report: cannot open %s: %s\n", in->path, strerror(errno));
		return TG_EXIT_USAGE;
	}
	if (fstat(fileno(f), &st) || S_ISDIR(st.st_mode)) {
		fprintf(stderr, "tmpguard report: %s: %s\n", in->path,
			S_ISDIR(st.st_mode) ? "is a directory, not a store or a JSON-line file"
					    : strerror(errno));
		if (f != stdin)
			fclose(f);
		return TG_EXIT_USAGE;
	}
	if (f != stdin && S_ISREG(st.st_mode)) {
		sqlite = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
			 !memcmp(magic, SQLITE_MAGIC, sizeof(magic));
		rewind(f);
	}
	if (in->db && !sqlite) {
		fprintf(stderr,
			"tmpguard report: %s: not an SQLite store (no \"SQLite format 3\" header); "
			"give JSON-line files without --db\n",
			in->path);
		if (f != stdin)
			fclose(f);
		return TG_EXIT_USAGE;
	}
	if (tg_rpt_input(r, in->path, sqlite)) {
		if (f != stdin)
			fclose(f);
		fprintf(stderr, "tmpguard report: out of memory\n");
		return 1;
	}
	if (sqlite) {
		fclose(f);
		err = read_store(r, in->path, since, until);
	} else {
		err = read_lines(r, f, in->path);
		if (f != stdin)
			fclose(f);
	}
	if (!err && !r->inputs[r->n_inputs - 1].records && r->inputs[r->n_inputs - 1].unreadable) {
		fprintf(stderr,
			"tmpguard report: %s: none of its %llu lines is a JSON record (text "
			"output? "
			"record with `tmpguard audit --format json`)\n",
			in->path, (unsigned long long)r->inputs[r->n_inputs - 1].unreadable);
		err = TG_EXIT_USAGE;
	}
	return err;
}

/* ---- output ---- */

/*
 * The report goes to a new file next to FILE, created exclusively (0600: it names users,
 * programs and paths), then renamed over FILE: never written through a name another user
 * may have planted, never seen half-written.
 */
/*
 * A FIFO (or a device) named directly gets the report as it is, if it is the caller's own or
 * root's, or sits where only its owner could have put it: one another user planted in a
 * shared directory (sticky, others may write) would hand them the report. Opened without
 * following a link, and checked again once open.
 */
static FILE *open_existing_pipe(const char *path, const struct stat *st)
{
	char *copy = strdup(path), *slash;
	struct stat dst, fst;
	bool shared;
	FILE *f;
	int fd;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = 0;
	shared = stat(slash ? copy : ".", &dst) == 0 && (dst.st_mode & S_ISVTX) &&
		 (dst.st_mode & (S_IWOTH | S_IWGRP));
	free(copy);
	if (shared && st->st_uid != geteuid() && st->st_uid != 0) {
		fprintf(stderr,
			"tmpguard report: %s is a %s that belongs to uid %u, in a directory others "
			"can write to: not writing the report into it\n",
			path, S_ISFIFO(st->st_mode) ? "FIFO" : "device", (unsigned)st->st_uid);
		errno = EPERM;
		return NULL;
	}
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &fst) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
		close(fd);
		errno = EAGAIN; /* replaced between the two looks */
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static FILE *open_output(const char *path, char **tmp)
{
	struct stat st;
	int fd;
	FILE *f;

	/* A pipe or a terminal is written as it is: a FIFO named directly, or /dev/stdout and
	 * the like. Through any other name a link could lead anywhere: never follow it. */
	*tmp = NULL;
	if ((!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/self/fd/", 14)) &&
	    stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return fopen(path, "we");
	if (lstat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return open_existing_pipe(path, &st);
	if (asprintf(tmp, "%s.XXXXXX", path) < 0) {
		*tmp = NULL;
		return NULL;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return f;
}

static int render(FILE *out, const struct tg_rpt *r, enum fmt fmt)
{
	switch (fmt) {
	case FMT_HTML:
		return tg_rpt_html(out, r, TG_VERSION);
	case FMT_JSON:
		return tg_rpt_json_write(out, r, TG_VERSION);
	case FMT_SARIF:
		return tg_rpt_sarif_write(out, r, TG_VERSION);
	case FMT_CSV:
		return tg_rpt_csv(out, r);
	default:
		return tg_rpt_md(out, r, TG_VERSION);
	}
}

/* Renders r into output (standard output when NULL): 0, or the exit status with the failure
 * said. who names the command in messages. */
static int write_report(const struct tg_rpt *r, enum fmt fmt, const char *output, const char *who)
{
	FILE *out = stdout;
	char *tmp = NULL;
	int err;

	if (output && !(out = open_output(output, &tmp))) {
		fprintf(stderr, "%s: cannot create the output next to %s: %s\n", who, output,
			strerror(errno));
		return TG_EXIT_USAGE;
	}
	err = render(out, r, fmt);
	if (!err && fflush(out))
		err = -errno;
	if (out != stdout) {
		if (fclose(out) && !err)
			err = -errno;
		if (tmp && !err && rename(tmp, output))
			err = -errno;
		if (tmp && err)
			unlink(tmp);
	}
	free(tmp);
	if (err == -EPIPE)
		return tg_cli_output_closed(who);
	if (err) {
		fprintf(stderr, "%s: cannot write %s: %s\n", who,
			output ? output : "to standard output", strerror(-err));
		return 1;
	}
	/* Say on stderr, too, what the report could not see: a reader of stdout may not look. */
	if (r->n_gaps) {
		char hosts[256];

		tg_rpt_unseen_hosts(r, hosts, sizeof(hosts));
		fprintf(stderr,
			"%s: note: the report lists %zu thing%s it could not see (lost records, "
			"unclean stops, unreadable lines, uncovered time, forward gaps, hosts that "
			"stopped reporting)%s%s\n",
			who, r->n_gaps, r->n_gaps == 1 ? "" : "s", hosts[0] ? "; " : "", hosts);
	}
	return 0;
}

int report_sarif_spool(int fd, const char *source_root, const char *output)
{
	struct tg_rpt_opts o = {
		.since_ns = TG_RPT_NOTIME,
		.until_ns = TG_RPT_NOTIME,
		.now_ns = tg_clock_ns(CLOCK_REALTIME),
		.keep_findings = true,
	};
	const char *who = "tmpguard run";
	struct tg_rpt *r = NULL;
	char *root = NULL;
	FILE *f = NULL;
	int err = 1, dfd;

	if (source_root && !(root = realpath(source_root, NULL))) {
		fprintf(stderr, "%s: --source-root %s: %s\n", who, source_root, strerror(errno));
		return TG_EXIT_USAGE;
	}
	o.source_root = root;
	dfd = dup(fd);
	if (dfd < 0 || lseek(dfd, 0, SEEK_SET) < 0 || !(f = fdopen(dfd, "r"))) {
		fprintf(stderr, "%s: cannot read back the session's records: %s\n", who,
			strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	r = tg_rpt_new(&o);
	if (!r || tg_rpt_input(r, "tmpguard run: this session's records", false)) {
		fprintf(stderr, "%s: out of memory\n", who);
		goto out;
	}
	err = read_lines(r, f, "the session's records");
	if (err)
		goto out;
	if (tg_rpt_finish(r) || tg_rpt_place(r)) {
		fprintf(stderr, "%s: out of memory\n", who);
		err = 1;
		goto out;
	}
	err = write_report(r, FMT_SARIF, output, who);
out:
	if (f)
		fclose(f);
	tg_rpt_free(r);
	free(root);
	return err;
}

int cmd_report(int argc, char **argv)
{
	struct args a = {0};
	struct argp argp = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "[INPUT...]",
		.doc = doc,
		.children = tg_cli_children,
	};
	struct tg_rpt_opts o = {
		.since_ns = TG_RPT_NOTIME,
		.until_ns = TG_RPT_NOTIME,
		.now_ns = tg_clock_ns(CLOCK_REALTIME),
	};
	struct tg_rpt *r = NULL;
	char *root = NULL;
	int err;

	argv[0] = "tmpguard report";
	argp_err_exit_status = TG_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a)) {
		err = TG_EXIT_USAGE;
		goto out;
	}
	if (parse_time(a.as_of, "--as-of", o.now_ns, &o.now_ns) ||
	    parse_time(a.since, "--since", o.now_ns, &o.since_ns) ||
	    parse_time(a.until, "--until", o.now_ns, &o.until_ns)) {
		err = TG_EXIT_USAGE;
		goto out;
	}
	if (o.since_ns != TG_RPT_NOTIME && o.until_ns != TG_RPT_NOTIME && o.since_ns > o.until_ns) {
		fprintf(stderr, "tmpguard report: --since %s is after --until %s\n", a.since,
			a.until);
		err = TG_EXIT_USAGE;
		goto out;
	}
	if (a.source_root && a.fmt != FMT_SARIF) {
		fprintf(stderr, "tmpguard report: --source-root places SARIF results: give "
				"--format sarif\n");
		err = TG_EXIT_USAGE;
		goto out;
	}
	if (a.source_root && !(root = realpath(a.source_root, NULL))) {
		fprintf(stderr, "tmpguard report: --source-root %s: %s\n", a.source_root,
			strerror(errno));
		err = TG_EXIT_USAGE;
		goto out;
	}
	o.source_root = root;
	o.keep_findings = a.fmt == FMT_CSV || a.fmt == FMT_SARIF;
	o.hosts = a.hosts;
	o.n_hosts = a.n_hosts;
	r = tg_rpt_new(&o);
	if (!r) {
		fprintf(stderr, "tmpguard report: out of memory\n");
		err = 1;
		goto out;
	}
	for (size_t i = 0; i < a.n_inputs; i++) {
		if (a.inputs[i].pg)
			err = read_pg(r, &a.inputs[i], a.password_file, o.since_ns, o.until_ns);
		else
			err = read_input(r, &a.inputs[i], o.since_ns, o.until_ns);
		if (err)
			goto out;
	}
	if (tg_rpt_finish(r) || (a.fmt == FMT_SARIF && tg_rpt_place(r))) {
		fprintf(stderr, "tmpguard report: out of memory\n");
		err = 1;
		goto out;
	}
	err = write_report(r, a.fmt, a.output, "tmpguard report");
out:
	free(root);
	free(a.inputs);
	tg_rpt_free(r);
	return err;
}
