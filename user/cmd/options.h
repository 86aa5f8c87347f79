/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The options audit, run and daemon share: argp's tables and parsers, filling struct
 * session_opts. The daemon's configuration file takes audit's long options as its keys. */
#ifndef TG_OPTIONS_H
#define TG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "metrics.h"

#define TG_EXIT_USAGE	   2
#define TG_RINGBUF_DEFAULT (4u << 20) /* as tg_events in bpf/maps.bpf.h */

struct session_opts {
	bool json; /* true for the json and falco formats */
	const char *output_path;
	long duration_s;
	pid_t pid;
	bool all_rules;
	bool verbose;
	int fail_on; /* severity, -1 = off */
	size_t ringbuf_bytes;
	char **command;		 /* run: argv of COMMAND */
	const char *policy_path; /* NULL: the built-in default */
	bool enforce, dry_run, fallback_kill;
	int hooks;		 /* enum tg_hooks; -1: not given (TMPGUARD_HOOKS, else auto) */
	const char *config_name; /* daemon: the configuration file the options come from */
	const char *cmd_name;	 /* "tmpguard audit", "tmpguard run", "tmpguard daemon" */
	/* --metrics-addr, --bpf-stats */
	const char *metrics_addr_text; /* NULL: no endpoint */
	struct tg_metrics_addr metrics_addr;
	bool bpf_stats;
	bool call_sites;    /* --call-sites: each finding's user stack captured (off by default) */
	bool no_call_sites; /* --no-call-sites: none (the default; overrides --call-sites) */
	/* output sinks (sink.h) */
	int format; /* enum tg_format */
	/* run --format sarif: the session's records are spooled as JSON lines and written as one
	 * SARIF log to --output (or standard output) when COMMAND has exited */
	bool sarif;
	const char *source_root; /* run --source-root DIR: SARIF results placed at DIR's files */
	uint64_t rotate_bytes;
	long rotate_keep; /* 0: --rotate-keep not given */
	bool syslog;
	int syslog_facility; /* 0: --syslog-facility not given */
	long syslog_max;
	bool syslog_max_set;
	bool syslog_opts_set; /* --syslog-facility or --syslog-max-size given */
	/* the event store (--db) */
	const char *db_path;
	long db_max_age_days, db_max_size_mib; /* 0: the defaults */
	/* the fleet: this host's identity, forwarding the store to PostgreSQL */
	const char *host_id; /* NULL: hostname:machine-id */
	const char *forward_url;
	const char *forward_password_file;
	/* posting to an event router (--http-output) */
	const char *http_output_url;
	const char *http_output_auth_file;
	const char *http_output_ca;
};

#define SESSION_OPTS_DEFAULT                                                                       \
	{                                                                                          \
		.fail_on = -1, .ringbuf_bytes = TG_RINGBUF_DEFAULT                                 \
	}

/* audit's or run's command line into o; 0, or the exit status (argp exits itself on --help
 * and on a usage error). */
int parse_args(struct session_opts *o, int argc, char **argv, bool run);
/* name: argp's name in messages; flags: argp's (the daemon's config adds ARGP_NO_EXIT). */
int parse_opts(struct session_opts *o, int argc, char **argv, bool run, const char *name,
	       unsigned int flags);
/* The daemon configuration file's keys: audit's long options. */
size_t config_keys(struct tg_config_key *keys, size_t max);

#endif
