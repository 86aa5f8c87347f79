// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the policy parser. Policies come from files an operator edits and that
 * tmpguard re-reads on SIGHUP, so any byte string must give a policy or one message, never a
 * crash, a leak or undefined behaviour. Beyond not crashing, every accepted input is checked
 * for the print/parse round trip: tg_policy_print() must write YAML that parses back to the
 * same policy, or `tmpguard policy check` would show something other than what applies.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iuser/core -Iuser -Ibpf \
 *         tests/fuzz/fuzz_policy.c user/core/policy.c user/core/rule_registry.c \
 *         user/util/textfile.c user/util/timefmt.c default_policy.c -lyaml -o fuzz_policy
 *   tests/fuzz/run_fuzz.sh ./fuzz_policy 60 policies/default.yaml policies/strict.yaml \
 *         policies/ci.yaml
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool is_literal(const char *glob)
{
	return !glob || !strpbrk(glob, "*?[\\");
}

/* Field by field; source and the exceptions' line numbers name where a policy came from. */
static bool same_policy(const struct tg_policy *a, const struct tg_policy *b)
{
	size_t i;
	int r;

	if (a->version != b->version || a->file_loose_mask != b->file_loose_mask ||
	    a->dir_loose_mask != b->dir_loose_mask || a->probe_window_ns != b->probe_window_ns ||
	    a->per_key_per_minute != b->per_key_per_minute ||
	    a->per_user_per_minute != b->per_user_per_minute ||
	    a->per_host_per_minute != b->per_host_per_minute ||
	    a->n_shared_dirs != b->n_shared_dirs || a->n_exceptions != b->n_exceptions)
		return false;
	for (r = 0; r < TG_RULE_MAX; r++) {
		const struct tg_rule_policy *x = &a->rules[r], *y = &b->rules[r];

		if (x->enabled != y->enabled || x->severity_set != y->severity_set ||
		    (x->severity_set && x->severity != y->severity) || x->action != y->action)
			return false;
	}
	for (i = 0; i < a->n_shared_dirs; i++)
		if (strcmp(a->shared_dirs[i], b->shared_dirs[i]))
			return false;
	for (i = 0; i < a->n_exceptions; i++) {
		const struct tg_exception *x = &a->exceptions[i], *y = &b->exceptions[i];

		if (x->rule != y->rule || !same_str(x->exe, y->exe) ||
		    !same_str(x->comm, y->comm) || !same_str(x->path, y->path) ||
		    !same_str(x->user, y->user) || x->has_uid != y->has_uid ||
		    (x->has_uid && x->uid != y->uid) || !same_str(x->container, y->container) ||
		    !same_str(x->cgroup, y->cgroup) || !same_str(x->reason, y->reason) ||
		    !same_str(x->owner, y->owner) || x->expires_ns != y->expires_ns)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_match_subject subj = {.rule = TG_RULE_LOOSE_MODE};
	struct tg_policy *p, *q;
	char err[512], *text = NULL;
	struct tg_rules_config cfg;
	size_t len = 0, i;
	FILE *f;
	int r;

	p = tg_policy_parse("fuzz.yaml", (const char *)data, size, err, sizeof(err));
	if (!p) {
		/* the one message always names the input and a position */
		if (strncmp(err, "fuzz.yaml:", 10) && strcmp(err, "fuzz.yaml: out of memory"))
			abort();
		return 0;
	}

	f = fopen("/dev/null", "w");
	if (f) {
		tg_policy_print(p, f);
		fclose(f);
	}
	f = open_memstream(&text, &len);
	if (!f)
		abort();
	tg_policy_print(p, f);
	if (fclose(f))
		abort();
	q = tg_policy_parse("printed.yaml", text, len, err, sizeof(err));
	if (!q) {
		fprintf(stderr, "printed policy does not parse: %s\n%s\n", err, text);
		abort();
	}
	if (!same_policy(p, q)) {
		fprintf(stderr, "printed policy differs from the original:\n%s\n", text);
		abort();
	}

	/* matching and decidability on whatever the input produced: fnmatch on its globs */
	subj.exe = "/usr/bin/foo";
	subj.comm = "foo";
	subj.path = "/tmp/foo.1234";
	subj.user = "alice";
	subj.uid = 1000;
	subj.container_id = "3f2a";
	subj.cgroup = "/system.slice/foo.service";
	tg_policy_match(p, &subj, 0);
	tg_policy_match(p, &subj, INT64_MAX);
	tg_policy_next_expiry(p, 0);
	tg_policy_rules_config(p, &cfg);
	for (r = 0; r < TG_RULE_MAX; r++)
		if (tg_policy_severity(p, (enum tg_rule)r, TG_SEV_LOW) != TG_SEV_LOW &&
		    !p->rules[r].severity_set)
			abort();
	for (i = 0; i < p->n_exceptions; i++) {
		const struct tg_exception *e = &p->exceptions[i];
		int m;

		tg_exception_kernel_decidable(e);
		/* an exception without glob characters matches a subject spelled like it, so the
		 * first match is this one or an earlier one; once it has expired, never this one */
		if (is_literal(e->exe) && is_literal(e->comm) && is_literal(e->path) &&
		    is_literal(e->container) && is_literal(e->cgroup)) {
			subj = (struct tg_match_subject){
				.rule = e->rule < 0 ? TG_RULE_INHERITABLE_FD
						    : (enum tg_rule)e->rule,
				.exe = e->exe,
				.comm = e->comm,
				.path = e->path,
				.user = e->user,
				.uid = e->has_uid ? e->uid : 0,
				.container_id = e->container,
				.cgroup = e->cgroup,
			};
			m = tg_policy_match(p, &subj, 0);
			if (m < 0 || (size_t)m > i)
				abort();
			m = tg_policy_match(p, &subj, e->expires_ns ? e->expires_ns : INT64_MAX);
			if (e->expires_ns && (size_t)m == i)
				abort();
		}
	}

	free(text);
	tg_policy_free(q);
	tg_policy_free(p);
	return 0;
}
