// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "policy.h"
#include "policy_cmd.h"
#include "policy_kernel.h"

#define TG_EXIT_USAGE 2

static const char usage[] =
	"Usage: tmpguard policy check [FILE]\n"
	"Validate a policy file and print the effective policy (every default filled in), and\n"
	"which exceptions the kernel applies on this host. Without FILE: the built-in default.\n"
	"Exit status: 0 valid, 2 invalid (the error names file, line and column).\n";

int cmd_policy(int argc, char **argv)
{
	struct tg_policy_kernel pk;
	struct tg_policy *p;
	char err[1024];

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check") || argc > 3) {
		fputs(usage, stderr);
		return TG_EXIT_USAGE;
	}
	p = argc == 3 ? tg_policy_load(argv[2], err, sizeof(err))
		      : tg_policy_default(err, sizeof(err));
	if (!p) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	tg_policy_print(p, stdout);
	/* Where each exception will apply here: resolution messages go to stderr. */
	if (tg_policy_kernel_build(p, &pk, stderr) == 0) {
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
