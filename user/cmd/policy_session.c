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
#include "util/json_util.h"
#include "util/timefmt.h"

/* After a failure to take an expired exception out of the kernel, the next try. */
#define EXPIRY_RETRY_NS (10 * 1000000000LL)

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

/* The clock exceptions expire on: the one findings carry once the session has it (so the
 * kernel and the pipeline agree), the real one before. */
static int64_t policy_now(const struct session *s)
{
	return s->boot_to_real_ns ? event_now(s) : tg_clock_ns(CLOCK_REALTIME);
}

/* Says which of the policy's exceptions expired after `after` and by `now`. */
static void say_expired(const struct session *s, int64_t after, int64_t now)
{
	for (size_t i = 0; i < s->pol->n_exceptions; i++) {
		const struct tg_exception *x = &s->pol->exceptions[i];
		char t[64], *reason;

		if (x->expires_ns <= after || !tg_exception_expired(x, now))
			continue;
		tg_format_time_short(x->expires_ns, t, sizeof(t));
		reason = tg_text_dup(x->reason, strlen(x->reason));
		fprintf(stderr,
			"tmpguard: exception line %d (%s) expired at %s: no longer applied\n",
			x->line, reason ? reason : "?", t);
		free(reason);
	}
}

int policy_install(struct session *s, struct tg_policy *pol)
{
	uint64_t *hits = calloc(pol->n_exceptions + 1, sizeof(*hits));
	uint64_t *banked = calloc(pol->n_exceptions + 1, sizeof(*banked));
	int64_t now = policy_now(s);
	struct tg_policy_kernel pk;
	struct tg_rules_config rc;
	int err;

	if (!hits || !banked) {
		free(hits);
		free(banked);
		tg_policy_free(pol);
		return -ENOMEM;
	}
	err = tg_policy_kernel_build(pol, &pk, stderr, now);
	if (err) {
		free(hits);
		free(banked);
		tg_policy_free(pol);
		return err;
	}
	policy_rules(s, pol, &rc);
	if (s->bpf) {
		/* All or nothing: a refused install leaves the policy in force untouched. */
		err = kernel_install(s->bpf, &pk);
		if (err) {
			free(hits);
			free(banked);
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
		free(s->exc_kernel_banked);
	}
	s->pol = pol;
	s->policy_since_ns = tg_clock_ns(CLOCK_REALTIME);
	s->pk = pk;
	s->exc_user_hits = hits;
	s->exc_kernel_banked = banked;
	tg_pipeline_set_policy(&s->pl, pol, &rc, s->pk.dirs, s->pk.n_dirs, hits);
	say_expired(s, 0, now);
	s->expiry_checked_ns = now;
	s->expiry_next_ns = tg_policy_next_expiry(pol, now);
	return 0;
}

/*
 * The policy in force goes into the kernel again as of now: without the exceptions expired
 * since, in one switch like a reload's. What the kernel hid so far stays each exception's.
 */
static int policy_reinstall_kernel(struct session *s, int64_t now)
{
	struct tg_rules_config rc = s->pl.rules;
	struct tg_policy_kernel pk;
	uint64_t *khits = NULL;
	int err;

	err = tg_policy_kernel_build(s->pol, &pk, NULL, now);
	if (err)
		return err;
	if (s->bpf) {
		/* The kernel's counters are zeroed with the new keys: read them first. */
		khits = kexc_hits(s);
		if (!khits) {
			tg_policy_kernel_free(&pk);
			return -ENOMEM;
		}
		err = kernel_install(s->bpf, &pk);
		if (err) {
			free(khits);
			tg_policy_kernel_free(&pk);
			return err;
		}
		memcpy(s->exc_kernel_banked, khits, s->pol->n_exceptions * sizeof(*khits));
		free(khits);
	}
	tg_policy_kernel_free(&s->pk);
	s->pk = pk;
	tg_pipeline_set_policy(&s->pl, s->pol, &rc, s->pk.dirs, s->pk.n_dirs, s->exc_user_hits);
	return 0;
}

void policy_check_expiry(struct session *s)
{
	int64_t now;
	int err;

	if (!s->expiry_next_ns)
		return;
	now = policy_now(s);
	if (now < s->expiry_next_ns)
		return;
	/* User space judges each event at its own time: it stopped applying them already. */
	say_expired(s, s->expiry_checked_ns, now);
	s->expiry_checked_ns = now;
	err = policy_reinstall_kernel(s, now);
	if (err) {
		fprintf(stderr,
			"tmpguard: cannot take an expired exception out of the kernel: %s; its "
			"creates may still be dropped there; trying again in %lld s\n",
			strerror(-err), EXPIRY_RETRY_NS / 1000000000LL);
		s->expiry_next_ns = now + EXPIRY_RETRY_NS;
		return;
	}
	s->expiry_next_ns = tg_policy_next_expiry(s->pol, now);
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

	for (int r = 0; r < TG_RULE_MAX; r++) {
		enum tg_action a = s->pol->rules[r].action;

		if (a == TG_ACTION_ALERT || !s->pol->rules[r].enabled)
			continue;
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
	/* No such rule with --enforce or --dry-run: warn_nothing_to_enforce() said so before
	 * the programs loaded. */
}

void warn_nothing_to_enforce(const struct session *s)
{
	for (int r = 0; r < TG_RULE_MAX; r++)
		if (s->pol->rules[r].enabled && s->pol->rules[r].action != TG_ACTION_ALERT)
			return;
	fprintf(stderr,
		"%s: WARNING: --%s: the policy %s has no enabled rule with action deny or kill: "
		"nothing will be %s, findings are only reported. Give a policy that denies "
		"(--policy policies/strict.yaml denies symlink-follow and foreign-file-reuse), or "
		"set action: deny on the rules to block in yours (tmpguard-policy(5))\n",
		s->opt.cmd_name ? s->opt.cmd_name : "tmpguard",
		s->opt.enforce ? "enforce" : "dry-run", s->pol->source,
		s->opt.enforce ? "blocked" : "reported as would-deny");
}
