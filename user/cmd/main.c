// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tmpguard: argp dispatch to a subcommand; nothing else. */
#include <argp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "cli.h"
#include "doctor.h"
#include "options.h"
#include "policy_cmd.h"
#include "query_cmd.h"
#include "report_cmd.h"
#include "session.h"

/* --version (and -V) of every command: argp adds them where this hook is set. */
static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "tmpguard %s (ABI %d)\n", TG_VERSION, TG_ABI_VERSION);
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"audit", cmd_audit},	{"daemon", cmd_daemon}, {"run", cmd_run},
	{"query", cmd_query},	{"doctor", cmd_doctor}, {"policy", cmd_policy},
	{"report", cmd_report},
};

static const char doc[] =
	"Find processes that create temporary files insecurely, live, with eBPF.\n"
	"\n"
	"Commands:\n"
	"  audit    watch the whole machine and report insecure temp-file creation\n"
	"  daemon   audit as a service, configured by a YAML file (tmpguard.yaml(5))\n"
	"  run      run a command and report what it and its descendants do (CI gate)\n"
	"  query    search the event store written by audit --db\n"
	"  doctor   what this kernel offers and what tmpguard will use\n"
	"  policy   check [FILE]: validate a policy and print it as it will apply\n"
	"  report   a compliance report over stores and JSON lines (md, html, sarif, csv)\n"
	"  version  print the version\n"
	"  help     [COMMAND]: this help, or COMMAND's\n"
	"\v"
	"Examples:\n"
	"  tmpguard audit\n"
	"  tmpguard audit --format json --output /var/log/tmpguard.json --duration 3600\n"
	"  tmpguard daemon --config /etc/tmpguard/tmpguard.yaml\n"
	"  tmpguard run --fail-on high -- make check\n"
	"  tmpguard audit --policy /etc/tmpguard/policy.yaml\n"
	"  tmpguard audit --db /var/lib/tmpguard/events.db\n"
	"  tmpguard query --db /var/lib/tmpguard/events.db --since 2h --severity high\n"
	"  tmpguard policy check policies/strict.yaml\n"
	"  tmpguard doctor\n"
	"  tmpguard report --db /var/lib/tmpguard/events.db --since 30d --format html\n"
	"\n"
	"`tmpguard COMMAND --help` describes each command's options; man tmpguard describes "
	"them all.";

struct main_args {
	int argc; /* COMMAND and its arguments */
	char **argv;
};

static error_t parse_main(int key, char *arg, struct argp_state *state)
{
	struct main_args *a = state->input;

	(void)arg;
	switch (key) {
	case ARGP_KEY_ARG:
		/* COMMAND: the rest of the line is its own */
		a->argv = &state->argv[state->next - 1];
		a->argc = state->argc - state->next + 1;
		state->next = state->argc;
		return 0;
	case ARGP_KEY_NO_ARGS:
		fprintf(stderr, "tmpguard: missing COMMAND\n");
		argp_state_help(state, stderr, ARGP_HELP_STD_USAGE);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* "tmpguard help COMMAND" is "tmpguard COMMAND --help"; "tmpguard help" (name NULL) is
 * "tmpguard --help". */
static int help_for(const char *name, const struct argp *argp, char *prog)
{
	char help[] = "--help", *argv[] = {name ? (char *)name : prog, help, NULL};
	const struct command *c = name ? find_command(name) : NULL;

	if (!name)
		return argp_parse(argp, 2, argv, 0, NULL, NULL) ? TG_EXIT_USAGE : 0;
	if (!c) {
		fprintf(stderr, "tmpguard: unknown command '%s'\n", name);
		argp_help(argp, stderr, ARGP_HELP_SEE, prog);
		return TG_EXIT_USAGE;
	}
	return c->run(2, argv);
}

int main(int argc, char **argv)
{
	struct argp argp = {
		.parser = parse_main,
		.args_doc = "COMMAND [OPTIONS]",
		.doc = doc,
		.children = tg_cli_children,
	};
	struct main_args a = {0};
	const struct command *c;
	char *prog = "tmpguard", name[32];
	int rc, out;

	argv[0] = prog;
	argp_err_exit_status = TG_EXIT_USAGE; /* argp exits on a usage error, 0 on --help */
	/* A reader that goes away is met as EPIPE and said, not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &a))
		return TG_EXIT_USAGE;
	if (!strcmp(a.argv[0], "help")) {
		return help_for(a.argc > 1 ? a.argv[1] : NULL, &argp, prog);
	}
	if (!strcmp(a.argv[0], "version")) {
		print_version(stdout, NULL);
		return tg_cli_stdout_done("tmpguard");
	}
	c = find_command(a.argv[0]);
	if (!c) {
		fprintf(stderr, "tmpguard: unknown command '%s'\n", a.argv[0]);
		argp_help(&argp, stderr, ARGP_HELP_SEE, prog);
		return TG_EXIT_USAGE;
	}
	rc = c->run(a.argc, a.argv);
	if (rc == TG_EXIT_EPIPE)
		return rc; /* said already */
	snprintf(name, sizeof(name), "tmpguard %s", c->name);
	out = tg_cli_stdout_done(name);
	return out ? out : rc;
}
