// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The options of audit, run and daemon: one argp table shared by the three (run adds
 * --fail-on, audit --duration and --pid), one parser, and the checks between options.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "forward.h"
#include "hostid.h"
#include "http_post.h"
#include "loader.h"
#include "options.h"
#include "rules.h"
#include "sink.h"

enum {
	OPT_RINGBUF = 0x100,
	OPT_ALL_RULES,
	OPT_FAIL_ON,
	OPT_POLICY,
	OPT_ENFORCE,
	OPT_DRY_RUN,
	OPT_FALLBACK,
	OPT_METRICS_ADDR,
	OPT_BPF_STATS,
	OPT_NO_CALL_SITES,
	OPT_CALL_SITES,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_KEEP,
	OPT_SYSLOG,
	OPT_SYSLOG_FACILITY,
	OPT_SYSLOG_MAX,
	OPT_DB,
	OPT_DB_MAX_AGE,
	OPT_DB_MAX_SIZE,
	OPT_HOOKS,
	OPT_HOST_ID,
	OPT_FORWARD,
	OPT_FORWARD_PASSWORD_FILE,
	OPT_HTTP_OUTPUT,
	OPT_HTTP_OUTPUT_AUTH_FILE,
	OPT_HTTP_OUTPUT_CA,
	OPT_SOURCE_ROOT,
};

/* clang-format off */
#define COMMON_OPTIONS \
	{ "format", 'f', "FORMAT", 0, "text (default), json (one object per line) or falco (Falco's JSON alerts)", 0 }, \
	{ "output", 'o', "FILE", 0, "write findings to FILE instead of standard output", 0 }, \
	{ "policy", OPT_POLICY, "FILE", 0, "policy file (default: the built-in policies/default.yaml)", 0 }, \
	{ "all-rules", OPT_ALL_RULES, NULL, 0, "also report inheritable-fd (off by default)", 0 }, \
	{ "ringbuf-size", OPT_RINGBUF, "MIB", 0, "ring buffer size in MiB, a power of two (4)", 0 }, \
	{ "verbose", 'v', NULL, 0, "libbpf debug output", 0 }, \
	{ "hooks", OPT_HOOKS, "KIND", 0, "auto (the default, unless $TMPGUARD_HOOKS names another), fentry (fexit programs on kernel functions: no syscall tracepoint) or tracepoint (syscall tracepoints); auto takes fentry where the kernel loads it", 0 }, \
	{ "enforce", OPT_ENFORCE, NULL, 0, "enforce the policy's deny and kill actions (BPF LSM)", 0 }, \
	{ "dry-run", OPT_DRY_RUN, NULL, 0, "decide as --enforce would, report would-deny, refuse nothing", 0 }, \
	{ "enforce-fallback", OPT_FALLBACK, "kill", 0, "without BPF LSM: SIGKILL offenders after the fact", 0 }, \
	{ "metrics-addr", OPT_METRICS_ADDR, "ADDR:PORT", 0, "serve Prometheus metrics on http://ADDR:PORT/metrics (127.0.0.1:9464, [::1]:9464)", 0 }, \
	{ "bpf-stats", OPT_BPF_STATS, NULL, 0, "measure the BPF programs' run time while running (kernel BPF stats)", 0 }, \
	{ "rotate-size", OPT_ROTATE_SIZE, "MIB", 0, "rotate --output before it passes MIB MiB (json and falco formats)", 0 }, \
	{ "rotate-keep", OPT_ROTATE_KEEP, "N", 0, "rotated files kept, FILE.1 (newest) .. FILE.N (5)", 0 }, \
	{ "syslog", OPT_SYSLOG, NULL, 0, "also send findings, loss and summary records to syslog, one JSON line each", 0 }, \
	{ "syslog-facility", OPT_SYSLOG_FACILITY, "NAME", 0, "daemon (default), local0..local7, auth or authpriv", 0 }, \
	{ "syslog-max-size", OPT_SYSLOG_MAX, "BYTES", 0, "shorten syslog messages longer than BYTES (8000, fits rsyslog's default; 0: never, e.g. for journald)", 0 }, \
	{ "db", OPT_DB, "FILE", 0, "also write every record to the event store FILE (SQLite; see tmpguard query)", 0 }, \
	{ "db-max-age", OPT_DB_MAX_AGE, "DAYS", 0, "with --db: delete findings older than DAYS (90)", 0 }, \
	{ "db-max-size", OPT_DB_MAX_SIZE, "MIB", 0, "with --db: delete the oldest findings beyond MIB (1024)", 0 }, \
	{ "host-id", OPT_HOST_ID, "ID", 0, "this host's identity in the fleet (HOSTNAME:MACHINE-ID from /etc/machine-id); give each container or test instance its own", 0 }, \
	{ "forward", OPT_FORWARD, "URL", 0, "with --db: forward the store's rows to PostgreSQL at URL, postgresql://USER@HOST[:PORT]/DB[?sslmode=verify-full&sslrootcert=FILE] (no password in it)", 0 }, \
	{ "forward-password-file", OPT_FORWARD_PASSWORD_FILE, "FILE", 0, "--forward's password: the first line of FILE (owned by root, mode 0600); else libpq's PGPASSWORD or PGPASSFILE", 0 }, \
	{ "http-output", OPT_HTTP_OUTPUT, "URL", 0, "with --db: post each finding, loss and health record in the store to URL (http:// or https://, no user or password in it) as one Falco event, as Falcosidekick takes them; at least once, from the store", 0 }, \
	{ "http-output-auth-file", OPT_HTTP_OUTPUT_AUTH_FILE, "FILE", 0, "--http-output's Authorization header value: the first line of FILE (owned by root, mode 0600); else $TMPGUARD_HTTP_AUTH", 0 }, \
	{ "http-output-ca", OPT_HTTP_OUTPUT_CA, "FILE", 0, "verify --http-output's https against the CA certificates in FILE (PEM) instead of the system's", 0 }
/* clang-format on */

static const struct argp_option audit_options[] = {
	COMMON_OPTIONS,
	{"call-sites", OPT_CALL_SITES, NULL, 0,
	 "capture each finding's user stack and report its call site (file:line with debug "
	 "info); off by default for audit: a thread's first stack from a place costs ~15 us of BPF "
	 "time and ~13 KiB of ring buffer, its repeats go by reference (~130 bytes), and the "
	 "collector holds more (libdw's files)",
	 0},
	{"no-call-sites", OPT_NO_CALL_SITES, NULL, 0,
	 "do not capture the user stack of findings (the default; call_site is null)", 0},
	{"duration", 'd', "SECONDS", 0, "stop after SECONDS (default: until SIGINT/SIGTERM)", 0},
	{"pid", 'p', "PID", 0, "only this process and the children it forks from now on", 0},
	{},
};

static const struct argp_option run_options[] = {
	COMMON_OPTIONS,
	{"call-sites", OPT_CALL_SITES, NULL, 0,
	 "capture each finding's user stack and report its call site (file:line with debug "
	 "info): the default for run",
	 0},
	{"no-call-sites", OPT_NO_CALL_SITES, NULL, 0,
	 "do not capture the user stack of findings (call_site is null)", 0},
	{"fail-on", OPT_FAIL_ON, "SEVERITY", 0,
	 "exit 3 if a finding at or above SEVERITY (low|medium|high|critical) occurred", 0},
	{"source-root", OPT_SOURCE_ROOT, "DIR", 0,
	 "with --format sarif: place each result at its call site's file and line, relative to "
	 "the repository DIR (results with no call site under DIR are left out, and counted)",
	 0},
	{},
};

/* A bad option value: argp says it for the command line; for the daemon, the configuration
 * file is named instead (there is no command line to get help for). */
__attribute__((format(printf, 2, 3))) static void opt_error(struct argp_state *state,
							    const char *fmt, ...)
{
	const struct session_opts *o = state->input;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->config_name)
		fprintf(stderr, "tmpguard daemon: %s: %s\n", o->config_name, msg);
	else
		argp_error(state, "%s", msg);
}

/* Strict integer parsing; a bad value is reported by argp and stops the parse. */
static int parse_long(const char *arg, const char *what, long min, long max,
		      struct argp_state *state, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < min || *out > max) {
		opt_error(state, "invalid %s '%s': expected an integer in [%ld, %ld]", what, arg,
			  min, max);
		return EINVAL;
	}
	return 0;
}

/* Where records go: --output's rotation, syslog, the event store. */
static error_t parse_output(int key, char *arg, struct argp_state *state)
{
	struct session_opts *o = state->input;
	long v;

	switch (key) {
	case OPT_ROTATE_SIZE:
		if (parse_long(arg, "rotation size (MiB)", 1, 1L << 20, state, &v))
			return EINVAL;
		o->rotate_bytes = (uint64_t)v << 20;
		break;
	case OPT_ROTATE_KEEP:
		if (parse_long(arg, "number of rotated files", 1, TG_ROTATE_KEEP_MAX, state,
			       &o->rotate_keep))
			return EINVAL;
		break;
	case OPT_SYSLOG:
		o->syslog = true;
		break;
	case OPT_SYSLOG_FACILITY:
		o->syslog_facility = tg_syslog_facility_parse(arg);
		if (o->syslog_facility < 0) {
			opt_error(state,
				  "invalid syslog facility '%s': expected daemon, local0..local7, "
				  "auth or authpriv",
				  arg);
			return EINVAL;
		}
		o->syslog_opts_set = true;
		break;
	case OPT_SYSLOG_MAX:
		if (parse_long(arg, "syslog message size", 0, 1L << 24, state, &o->syslog_max))
			return EINVAL;
		if (o->syslog_max && o->syslog_max < 1024) {
			opt_error(state, "syslog message size %ld is below 1024 bytes",
				  o->syslog_max);
			return EINVAL;
		}
		o->syslog_max_set = o->syslog_opts_set = true;
		break;
	case OPT_DB:
		o->db_path = arg;
		break;
	case OPT_DB_MAX_AGE:
		if (parse_long(arg, "age in days", 1, 36500, state, &o->db_max_age_days))
			return EINVAL;
		break;
	case OPT_DB_MAX_SIZE:
		if (parse_long(arg, "size in MiB", 1, 1 << 30, state, &o->db_max_size_mib))
			return EINVAL;
		break;
	case OPT_HOST_ID:
		if (!tg_host_id_valid(arg)) {
			opt_error(state,
				  "invalid host id '%s': 1 to %d bytes of letters, digits and "
				  "._:@/+-",
				  arg, TG_HOST_ID_MAX - 1);
			return EINVAL;
		}
		o->host_id = arg;
		break;
	case OPT_FORWARD:
		o->forward_url = arg;
		break;
	case OPT_FORWARD_PASSWORD_FILE:
		o->forward_password_file = arg;
		break;
	case OPT_HTTP_OUTPUT:
		o->http_output_url = arg;
		break;
	case OPT_HTTP_OUTPUT_AUTH_FILE:
		o->http_output_auth_file = arg;
		break;
	case OPT_HTTP_OUTPUT_CA:
		o->http_output_ca = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct session_opts *o = state->input;
	long v;

	switch (key) {
	case 'f':
		/* sarif (run only, checked in parse_opts): the session writes JSON lines to its
		 * spool, turned into one SARIF log at the end */
		o->sarif = !strcmp(arg, "sarif");
		o->format = o->sarif ? TG_FORMAT_JSON : tg_format_parse(arg);
		if (o->format < 0) {
			bool run = o->cmd_name && !strcmp(o->cmd_name, "tmpguard run");

			opt_error(state, "invalid format '%s': expected text, json%s", arg,
				  run ? ", falco or sarif" : " or falco");
			return EINVAL;
		}
		o->json = o->format != TG_FORMAT_TEXT;
		break;
	case 'o':
		o->output_path = arg;
		break;
	case OPT_ALL_RULES:
		o->all_rules = true;
		break;
	case OPT_RINGBUF:
		if (parse_long(arg, "ring buffer size", 1, 1024, state, &v))
			return EINVAL;
		if (v & (v - 1)) {
			opt_error(state, "ring buffer size %ld MiB is not a power of two", v);
			return EINVAL;
		}
		o->ringbuf_bytes = (size_t)v << 20;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_POLICY:
		o->policy_path = arg;
		break;
	case OPT_ENFORCE:
		o->enforce = true;
		break;
	case OPT_DRY_RUN:
		o->dry_run = true;
		break;
	case OPT_HOOKS:
		o->hooks = tg_hooks_parse(arg);
		if (o->hooks < 0) {
			opt_error(state, "invalid hooks '%s': expected auto, fentry or tracepoint",
				  arg);
			return EINVAL;
		}
		break;
	case OPT_FALLBACK:
		if (strcmp(arg, "kill")) {
			opt_error(state, "invalid fallback '%s': expected kill", arg);
			return EINVAL;
		}
		o->fallback_kill = true;
		break;
	case OPT_METRICS_ADDR: {
		char msg[256];

		if (tg_metrics_parse_addr(arg, &o->metrics_addr, msg, sizeof(msg))) {
			opt_error(state, "invalid --metrics-addr %s", msg);
			return EINVAL;
		}
		o->metrics_addr_text = arg;
		break;
	}
	case OPT_BPF_STATS:
		o->bpf_stats = true;
		break;
	case OPT_CALL_SITES:
		o->call_sites = true;
		break;
	case OPT_SOURCE_ROOT:
		o->source_root = arg;
		break;
	case OPT_NO_CALL_SITES:
		o->no_call_sites = true;
		break;
	case 'd':
		if (parse_long(arg, "duration", 1, LONG_MAX / 1000000000, state, &o->duration_s))
			return EINVAL;
		break;
	case 'p':
		if (parse_long(arg, "pid", 1, INT_MAX, state, &v))
			return EINVAL;
		o->pid = v;
		break;
	case OPT_FAIL_ON:
		o->fail_on = tg_severity_parse(arg);
		if (o->fail_on < 0) {
			opt_error(state,
				  "invalid severity '%s': expected low, medium, high or critical",
				  arg);
			return EINVAL;
		}
		break;
	case ARGP_KEY_ARGS:
		o->command = state->argv + state->next;
		break;
	default:
		return parse_output(key, arg, state);
	}
	return 0;
}

static const char audit_doc[] =
	"Watch the whole machine for files and directories created insecurely in shared "
	"(sticky, world-writable) directories, and print each finding with the secure call to "
	"use instead. Stops on SIGINT/SIGTERM or after --duration, then prints a per-process "
	"summary on standard error. Exit status: 0, 1 on a failure at run time, 2 on a usage "
	"error or without root, 141 when the output's reader went away (EPIPE).\v"
	"Examples:\n"
	"  tmpguard audit\n"
	"  tmpguard audit --format json --output /var/log/tmpguard.json\n"
	"  tmpguard audit --pid 1234 --duration 60";

static const char run_doc[] =
	"Run COMMAND and report only what it and all its descendants do. Exits with COMMAND's "
	"status (128+N if killed by signal N), or 3 if --fail-on is given and a finding at or "
	"above that severity occurred, or 141 if the output's reader went away (EPIPE: COMMAND "
	"gets SIGTERM).\v"
	"Examples:\n"
	"  tmpguard run --fail-on high -- make check\n"
	"  tmpguard run --format json --output findings.json -- ./test.sh\n"
	"  tmpguard run --format sarif --source-root . --output tmpguard.sarif -- make check";

int parse_args(struct session_opts *o, int argc, char **argv, bool run)
{
	return parse_opts(o, argc, argv, run, run ? "tmpguard run" : "tmpguard audit",
			  ARGP_IN_ORDER);
}

/* A target's refusal, naming where the URL came from: the option, or the key of the
 * daemon's configuration. */
static int target_error(const struct session_opts *o, const char *key, const char *err)
{
	if (o->config_name)
		fprintf(stderr, "tmpguard daemon: %s: key %s: %s\n", o->config_name, key, err);
	else
		fprintf(stderr, "tmpguard: %s\n", err);
	return TG_EXIT_USAGE;
}

/* --forward and --http-output checked as they are parsed (the URL's syntax, no credentials
 * in it), so that a mistake stops the start, and `daemon --check`, at once. Nothing is
 * connected to. */
static int check_targets(const struct session_opts *o)
{
	char target[512], err[1024];

	if (o->forward_url &&
	    tg_forward_target(o->forward_url, target, sizeof(target), err, sizeof(err)))
		return target_error(o, "forward", err);
	if (o->http_output_url &&
	    tg_http_target(o->http_output_url, target, sizeof(target), err, sizeof(err)))
		return target_error(o, "http-output", err);
	return 0;
}

/* name: argp's name in messages; flags: argp's (the daemon's config adds ARGP_NO_EXIT). */
int parse_opts(struct session_opts *o, int argc, char **argv, bool run, const char *name,
	       unsigned int flags)
{
	struct argp argp = {
		.options = run ? run_options : audit_options,
		.parser = parse_common,
		.args_doc = run ? "-- COMMAND [ARGS...]" : NULL,
		.doc = run ? run_doc : audit_doc,
		.children = tg_cli_children,
	};
	int err;

	argv[0] = (char *)name;
	o->cmd_name = name;
	argp_err_exit_status = TG_EXIT_USAGE; /* argp exits on a usage error, 0 on --help */
	o->hooks = -1;
	err = argp_parse(&argp, argc, argv, flags, NULL, o);
	if (err)
		return TG_EXIT_USAGE;
	/* run is where a team meets its findings (a CI gate): each names the line of code that
	 * made it unless --no-call-sites. audit, a machine's monitor, asks for them. */
	if (run)
		o->call_sites = true;
	/* The environment's choice where the options make none (the VM tests force fentry). */
	if (o->hooks < 0 && getenv("TMPGUARD_HOOKS") && *getenv("TMPGUARD_HOOKS")) {
		o->hooks = tg_hooks_parse(getenv("TMPGUARD_HOOKS"));
		if (o->hooks < 0) {
			fprintf(stderr,
				"tmpguard: invalid TMPGUARD_HOOKS '%s': expected auto, fentry or "
				"tracepoint\n",
				getenv("TMPGUARD_HOOKS"));
			return TG_EXIT_USAGE;
		}
	}
	if (o->hooks < 0)
		o->hooks = TG_HOOKS_AUTO;
	if (run && (!o->command || !o->command[0])) {
		fprintf(stderr, "tmpguard run: missing COMMAND (tmpguard run [OPTIONS] -- COMMAND "
				"[ARGS...])\n");
		return TG_EXIT_USAGE;
	}
	if (o->enforce && o->dry_run) {
		fprintf(stderr, "tmpguard: --enforce and --dry-run exclude each other\n");
		return TG_EXIT_USAGE;
	}
	if (o->fallback_kill && !o->enforce) {
		fprintf(stderr, "tmpguard: --enforce-fallback=kill needs --enforce\n");
		return TG_EXIT_USAGE;
	}
	if (!run && o->command && o->command[0]) {
		fprintf(stderr, "tmpguard audit: unexpected argument '%s'\n", o->command[0]);
		return TG_EXIT_USAGE;
	}
	if (o->sarif && !run) {
		fprintf(stderr,
			"%s: --format sarif is for tmpguard run (one log when COMMAND exits); for "
			"a "
			"store or JSON lines: tmpguard report --format sarif\n",
			name);
		return TG_EXIT_USAGE;
	}
	if (o->source_root && !o->sarif) {
		fprintf(stderr, "%s: --source-root places SARIF results: give --format sarif\n",
			name);
		return TG_EXIT_USAGE;
	}
	if (o->sarif && (o->rotate_bytes || o->syslog)) {
		fprintf(stderr,
			"%s: --format sarif writes one log at the end: no --rotate-size "
			"or --syslog with it\n",
			name);
		return TG_EXIT_USAGE;
	}
	/* A SARIF log for code scanning places results at call sites: they are captured unless
	 * --no-call-sites says not to. */
	if (o->sarif)
		o->call_sites = true;
	if (o->rotate_bytes && !o->output_path) {
		fprintf(stderr, "tmpguard: --rotate-size needs --output FILE\n");
		return TG_EXIT_USAGE;
	}
	/* Text blocks are for a terminal; rotated files are for tools (and `tmpguard report`). */
	if (o->rotate_bytes && !o->json) {
		fprintf(stderr, "tmpguard: --rotate-size writes JSON lines: give --format json or "
				"falco\n");
		return TG_EXIT_USAGE;
	}
	if (o->rotate_keep && !o->rotate_bytes) {
		fprintf(stderr, "tmpguard: --rotate-keep needs --rotate-size\n");
		return TG_EXIT_USAGE;
	}
	if (o->forward_url && !o->db_path) {
		fprintf(stderr,
			"tmpguard: --forward needs --db FILE: the local store is what rows "
			"are forwarded from (and where they wait while the target is away)\n");
		return TG_EXIT_USAGE;
	}
	if (o->forward_password_file && !o->forward_url) {
		fprintf(stderr, "tmpguard: --forward-password-file needs --forward URL\n");
		return TG_EXIT_USAGE;
	}
	if (o->http_output_url && !o->db_path) {
		fprintf(stderr,
			"tmpguard: --http-output needs --db FILE: the local store is what events "
			"are posted from (and where they wait while the receiver is away)\n");
		return TG_EXIT_USAGE;
	}
	if ((o->http_output_auth_file || o->http_output_ca) && !o->http_output_url) {
		fprintf(stderr, "tmpguard: --http-output-auth-file and --http-output-ca need "
				"--http-output URL\n");
		return TG_EXIT_USAGE;
	}
	if (o->syslog_opts_set && !o->syslog) {
		fprintf(stderr,
			"tmpguard: --syslog-facility and --syslog-max-size need --syslog\n");
		return TG_EXIT_USAGE;
	}
	return check_targets(o);
}

/* The config file's keys: audit's long options, so every audit option is one. */
size_t config_keys(struct tg_config_key *keys, size_t max)
{
	size_t n = 0;

	for (const struct argp_option *o = audit_options; o->name || o->key; o++)
		if (o->name && n < max)
			keys[n++] = (struct tg_config_key){.name = o->name, .takes_arg = o->arg};
	return n;
}
