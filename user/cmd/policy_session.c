// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy of a running session: read, installed (user space and the kernel's share),
 * reloaded on SIGHUP, and its deny and kill rules enforced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "policy_session.h"
#include "records.h"
#include "rules.h"

struct tg_policy *read_policy(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!path)
		return tg_policy_default(err, errlen);
	/* Whoever can write the policy can add exceptions: say so when that is not root. */
	if (stat(path, &st) == 0 && ((st.st_mode & 022) || st.st_uid != 0))
		fprintf(stderr,
			"tmpguard: WARNING: the policy file is writable by %s: whoever can write "
			"it "
			"can hide findings (chown root and chmod go-w it)\n",
			(st.st_mode & 022) ? "group or others" : "a user other than root");
	return tg_policy_load(path, err, errlen);
}

/* Rule settings from the policy, --all-rules on top. */
static void policy_rules(const struct session *s, const struct tg_policy *p,
			 struct tg_rules_config *rc)
{
	tg_policy_rules_config(p, rc);
	if (s->opt.all_rules)
		rc->enabled[TG_RULE_INHERITABLE_FD] = true;
}

/*
 * Makes pol the policy in force: classifier settings, the programs' settings, kernel-decided
 * exceptions and extra shared directories. Takes ownership of pol. On failure the previous
 * policy stays in force (the kernel maps may then hold the new one's exceptions: user space
 * still applies the old policy to everything they let through) and -errno is returned.
 */
/* The kernel's part of a policy: its exceptions and extra shared directories. */
int kernel_install(struct tg_bpf *b, const struct tg_policy_kernel *pk)
{
	return tg_bpf_set_policy(b, pk->keys, pk->n, pk->combos, pk->dirs, pk->n_dirs);
}

int policy_install(struct session *s, struct tg_policy *pol)
{
	struct tg_policy_kernel pk;
	uint64_t *hits = calloc(pol->n_exceptions + 1, sizeof(*hits));
	struct tg_rules_config rc;
	int err;

	if (!hits) {
		tg_policy_free(pol);
		return -ENOMEM;
	}
	err = tg_policy_kernel_build(pol, &pk, stderr);
	if (err) {
		free(hits);
		tg_policy_free(pol);
		return err;
	}
	policy_rules(s, pol, &rc);
	if (s->bpf) {
		/* All or nothing: a refused install leaves the policy in force untouched. */
		err = kernel_install(s->bpf, &pk);
		if (err) {
			free(hits);
			tg_policy_kernel_free(&pk);
			tg_policy_free(pol);
			return err;
		}
		tg_bpf_set_settings(s->bpf, rc.file_loose_mask, rc.dir_loose_mask,
				    rc.enabled[TG_RULE_INHERITABLE_FD], rc.probe_window_ns);
	}
	if (s->pol) {
		for (size_t i = 0; i < s->pol->n_exceptions; i++) {
			s->exc_retired += s->exc_user_hits[i];
			s->exc_user_retired += s->exc_user_hits[i];
		}
		tg_policy_kernel_free(&s->pk);
		tg_policy_free(s->pol);
		free(s->exc_user_hits);
	}
	s->pol = pol;
	s->pk = pk;
	s->exc_user_hits = hits;
	tg_pipeline_set_policy(&s->pl, pol, &rc, s->pk.dirs, s->pk.n_dirs, hits);
	return 0;
}

/* The policy's deny/kill rules, in the kernel, in the mode chosen at start-up. */
void apply_enforcement(struct session *s)
{
	uint32_t deny = 0, kill = 0;

	for (int r = 0; r < TG_RULE_MAX; r++) {
		if (!s->pol->rules[r].enabled)
			continue;
		if (s->pol->rules[r].action != TG_ACTION_ALERT)
			deny |= 1u << r;
		if (s->pol->rules[r].action == TG_ACTION_KILL)
			kill |= 1u << r;
	}
	/* Without the LSM there is nothing to deny with: every enforced rule kills. */
	if (s->enforce_mode == TG_ENFORCE_KILL_FALLBACK)
		kill = deny;
	tg_bpf_set_enforce(s->bpf, deny, kill);
}

/* SIGHUP: read the file again; a policy that does not load leaves the old one in force. */
void policy_reload(struct session *s)
{
	uint64_t *khits;
	struct tg_policy *pol;
	char err[1024];
	int e;

	reload_clear();
	pol = read_policy(s->opt.policy_path, err, sizeof(err));
	if (!pol) {
		s->reload_failures++;
		fprintf(stderr, "tmpguard: policy reload refused, keeping %s: %s\n", s->pol->source,
			err);
		return;
	}
	/* The kernel's counters are zeroed with the new exceptions: bank them first. */
	khits = kexc_hits(s);
	for (size_t i = 0; khits && i < s->pol->n_exceptions; i++)
		s->exc_retired += khits[i];
	e = policy_install(s, pol);
	if (e) {
		/* The old exceptions are still in force: their hits are theirs, not retired. */
		for (size_t i = 0; khits && i < s->pol->n_exceptions; i++)
			s->exc_retired -= khits[i];
		free(khits);
		s->reload_failures++;
		fprintf(stderr, "tmpguard: policy reload refused, keeping %s: %s\n", s->pol->source,
			strerror(-e));
		return;
	}
	free(khits);
	s->reloads++;
	apply_enforcement(s);
	fprintf(stderr, "tmpguard: policy reloaded from %s (%zu exceptions, %zu in the kernel)\n",
		s->pol->source, s->pol->n_exceptions, s->pk.n);
}

/* Says at start-up what will be enforced, and how, or why not. */
void announce_enforcement(const struct session *s)
{
	static const char *const how[] = {
		[TG_ENFORCE_LSM] = "denied by the BPF LSM (EACCES, before anything is written)",
		[TG_ENFORCE_DRY_RUN] = "dry run: reported as would-deny, nothing is refused",
		[TG_ENFORCE_KILL_FALLBACK] = "killed with SIGKILL from the exit tracepoint, after "
					     "the file exists",
	};
	int n = 0;

	for (int r = 0; r < TG_RULE_MAX; r++) {
		enum tg_action a = s->pol->rules[r].action;

		if (a == TG_ACTION_ALERT || !s->pol->rules[r].enabled)
			continue;
		n++;
		if (s->enforce_mode == TG_ENFORCE_OFF)
			fprintf(stderr,
				"tmpguard: note: the policy asks '%s' for %s; without --enforce it "
				"is reported as an alert\n",
				tg_action_name(a), tg_rule_id(r));
		else
			fprintf(stderr, "tmpguard: enforcing %s for %s: %s%s\n", tg_action_name(a),
				tg_rule_id(r), how[s->enforce_mode],
				s->scoped ? " (this process tree only)" : "");
	}
	if (n == 0 && s->enforce_mode != TG_ENFORCE_OFF)
		fprintf(stderr,
			"tmpguard: WARNING: --%s given, but the policy has no rule with "
			"action deny or kill: nothing will be enforced\n",
			s->opt.enforce ? "enforce" : "dry-run");
}
