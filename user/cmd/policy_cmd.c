// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "policy.h"
#include "policy_cmd.h"
#include "policy_kernel.h"

#define TG_EXIT_USAGE 2

static const struct argp_option policy_options[] = {
	/* -h has always meant help here; argp's own short help is -? */
	{NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0},
	{},
};

static const char policy_doc[] =
	"Validate a policy file and print the effective policy (every default filled in), and "
	"which exceptions the kernel applies on this host. Without FILE: the built-in default.\v"
	"Examples:\n"
	"  tmpguard policy check policies/strict.yaml\n"
	"  tmpguard policy check\n"
	"\n"
	"Exit status: 0 valid, 2 invalid (the error names file, line and column) or a usage error.";

struct policy_args {
	bool check;	  /* the command, "check", was given */
	const char *file; /* NULL: the built-in default */
};

static error_t parse_policy(int key, char *arg, struct argp_state *state)
{
	struct policy_args *a = state->input;

	switch (key) {
	case 'h':
		argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0) {
			if (strcmp(arg, "check")) {
				argp_error(state, "unknown policy command '%s': expected check",
					   arg);
				return EINVAL;
			}
			a->check = true;
		} else if (state->arg_num == 1) {
			a->file = arg;
		} else {
			argp_error(state, "unexpected argument '%s': check takes one FILE", arg);
			return EINVAL;
		}
		break;
	case ARGP_KEY_END:
		if (!a->check) {
			argp_error(state, "missing command: expected check");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	struct argp argp = {
		.options = policy_options,
		.parser = parse_policy,
		.args_doc = "check [FILE]",
		.doc = policy_doc,
	};
	struct policy_args a = {0};
	struct tg_policy_kernel pk;
	struct tg_policy *p;
	struct timespec now;
	char err[1024];

	argv[0] = "tmpguard policy";
	argp_err_exit_status = TG_EXIT_USAGE; /* argp exits on a usage error, 0 on --help */
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;
	p = a.file ? tg_policy_load(a.file, err, sizeof(err)) : tg_policy_default(err, sizeof(err));
	if (!p) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	tg_policy_print(p, stdout);
	/* Where each exception will apply here: resolution messages go to stderr. */
	clock_gettime(CLOCK_REALTIME, &now);
	if (tg_policy_kernel_build(p, &pk, stderr,
				   (int64_t)now.tv_sec * 1000000000 + now.tv_nsec) == 0) {
		printf("# on this host:\n");
		for (size_t i = 0; i < p->n_exceptions; i++)
			printf("#   exception at line %d: applied in %s\n", p->exceptions[i].line,
			       pk.in_kernel[i] ? "the kernel (no ring-buffer traffic)"
					       : "user space");
		printf("#   shared_dirs resolved: %zu of %zu\n", pk.n_dirs, p->n_shared_dirs);
		tg_policy_kernel_free(&pk);
	}
	printf("# %s: valid\n", p->source);
	tg_policy_free(p);
	return 0;
}
