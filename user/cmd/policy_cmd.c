// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `tmpguard policy check [FILE]`: validate a policy and print it as it will apply here. */
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "policy.h"
#include "policy_cmd.h"
#include "policy_kernel.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define TG_EXIT_USAGE 2
#define NS_PER_S      1000000000LL
/* An exception that expires within this many days is pointed out, for its owner to renew. */
#define EXPIRES_SOON_DAYS 30

static const char policy_doc[] =
	"Validate a policy file and print the effective policy (every default filled in), and "
	"which exceptions the kernel applies on this host. Without FILE: the built-in default.\v"
	"Examples:\n"
	"  tmpguard policy check policies/strict.yaml\n"
	"  tmpguard policy check\n"
	"\n"
	"Each exception is listed with its owner and expiry; expired ones (no longer applied) and "
	"those expiring within 30 days are pointed out on standard error.\n"
	"\n"
	"Exit status: 0 valid, expired exceptions included (tmpguard loads such a policy and "
	"no longer applies them), 2 invalid (the error names file, line and column) or a usage "
	"error.";

struct policy_args {
	bool check;	  /* the command, "check", was given */
	const char *file; /* NULL: the built-in default */
};

static error_t parse_policy(int key, char *arg, struct argp_state *state)
{
	struct policy_args *a = state->input;

	switch (key) {
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

/* "in 12 days", "in 5 hours", "in 3 minutes": how long until an expiry, rounded. */
static const char *time_left(char *buf, size_t len, int64_t ns)
{
	long long s = (long long)(ns / NS_PER_S);

	if (s >= 2 * 86400)
		snprintf(buf, len, "in %lld days", (s + 43200) / 86400);
	else if (s >= 2 * 3600)
		snprintf(buf, len, "in %lld hours", (s + 1800) / 3600);
	else
		snprintf(buf, len, "in %lld minutes", s / 60 + 1);
	return buf;
}

/* One exception: where it applies on this host, who owns it, until when. Returns 1 when it has
 * expired, 2 when it expires within EXPIRES_SOON_DAYS, else 0. */
static int describe_exception(const struct tg_exception *x, const struct tg_policy_kernel *pk,
			      size_t i, int64_t now)
{
	char t[64], left[32], *owner = x->owner ? tg_text_dup(x->owner, strlen(x->owner)) : NULL;
	bool expired = tg_exception_expired(x, now);
	bool soon = !expired && x->expires_ns &&
		    x->expires_ns - now <= EXPIRES_SOON_DAYS * 86400 * NS_PER_S;

	tg_format_time_short(x->expires_ns, t, sizeof(t));
	printf("#   exception at line %d: ", x->line);
	if (expired)
		printf("EXPIRED at %s, no longer applied", t);
	else
		printf("applied in %s",
		       pk->in_kernel[i] ? "the kernel (no ring-buffer traffic)" : "user space");
	/* the owner is free text from the file: one line, no control bytes (tg_text_dup) */
	printf("; owner: %s", owner ? owner : "none");
	if (!x->expires_ns)
		printf("; never expires\n");
	else if (!expired)
		printf("; expires %s (%s)\n", t,
		       time_left(left, sizeof(left), x->expires_ns - now));
	else
		printf("\n");
	if (expired)
		fprintf(stderr,
			"tmpguard: warning: exception line %d expired at %s and is no longer "
			"applied; renew its expires or remove it (owner: %s)\n",
			x->line, t, owner ? owner : "none");
	else if (soon)
		fprintf(stderr, "tmpguard: note: exception line %d expires at %s (%s; owner: %s)\n",
			x->line, t, left, owner ? owner : "none");
	free(owner);
	return expired ? 1 : soon ? 2 : 0;
}

void policy_print_exceptions(const struct tg_policy *p, size_t *n_expired, size_t *n_soon)
{
	struct tg_policy_kernel pk;
	int64_t now = tg_clock_ns(CLOCK_REALTIME);
	char when[64];

	*n_expired = *n_soon = 0;
	tg_format_time_short(now - now % NS_PER_S, when, sizeof(when));
	/* Where each exception will apply here, and until when: resolution messages, expired
	 * exceptions and those about to expire go to stderr too. */
	if (tg_policy_kernel_build(p, &pk, stderr, now))
		return;
	printf("# on this host, as of %s:\n", when);
	for (size_t i = 0; i < p->n_exceptions; i++) {
		int state = describe_exception(&p->exceptions[i], &pk, i, now);

		*n_expired += state == 1;
		*n_soon += state == 2;
	}
	printf("#   shared_dirs resolved: %zu of %zu\n", pk.n_dirs, p->n_shared_dirs);
	tg_policy_kernel_free(&pk);
}

void policy_print_expiry_counts(size_t n_expired, size_t n_soon)
{
	if (n_expired || n_soon)
		printf("; %zu exception%s expired (no longer applied), %zu expire%s within %d days",
		       n_expired, n_expired == 1 ? "" : "s", n_soon, n_soon == 1 ? "s" : "",
		       EXPIRES_SOON_DAYS);
}

int cmd_policy(int argc, char **argv)
{
	struct argp argp = {
		.parser = parse_policy,
		.args_doc = "check [FILE]",
		.doc = policy_doc,
		.children = tg_cli_children,
	};
	struct policy_args a = {0};
	size_t n_expired, n_soon;
	struct tg_policy *p;
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
	policy_print_exceptions(p, &n_expired, &n_soon);
	/* Valid either way: an expired exception is one that no longer hides anything. */
	printf("# %s: valid", p->source);
	policy_print_expiry_counts(n_expired, n_soon);
	printf("\n");
	tg_policy_free(p);
	return 0;
}
