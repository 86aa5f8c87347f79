// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Classification: kernel facts -> findings. Pure; every branch is covered by test_rules.c. */
#include <fcntl.h>
#include <string.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "rules.h"

/* The kernel names rules by tmpguard.h's enum tg_rule_id: the same numbers. */
_Static_assert((int)TG_R_NONEXCLUSIVE_CREATE == (int)TG_RULE_NONEXCLUSIVE_CREATE, "rule ids");
_Static_assert((int)TG_R_CHECK_THEN_CREATE == (int)TG_RULE_CHECK_THEN_CREATE, "rule ids");
_Static_assert((int)TG_R_LOOSE_MODE == (int)TG_RULE_LOOSE_MODE, "rule ids");
_Static_assert((int)TG_R_FOREIGN_FILE_REUSE == (int)TG_RULE_FOREIGN_FILE_REUSE, "rule ids");
_Static_assert((int)TG_R_SYMLINK_FOLLOW == (int)TG_RULE_SYMLINK_FOLLOW, "rule ids");
_Static_assert((int)TG_R_LOOSE_TEMPDIR == (int)TG_RULE_LOOSE_TEMPDIR, "rule ids");
_Static_assert((int)TG_R_INHERITABLE_FD == (int)TG_RULE_INHERITABLE_FD, "rule ids");
_Static_assert((int)TG_R_MAX == (int)TG_RULE_MAX, "rule ids");

void tg_rules_config_default(struct tg_rules_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < TG_RULE_MAX; i++)
		cfg->enabled[i] = true;
	cfg->enabled[TG_RULE_INHERITABLE_FD] = false;
	cfg->file_loose_mask = 0027;
	cfg->dir_loose_mask = 0077;
	cfg->probe_window_ns = (uint64_t)TG_PROBE_WINDOW_S * 1000000000ULL;
}

bool tg_dir_verdict_from_kernel(const struct tg_event *e, struct tg_dir_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (e->kind == TG_KIND_OPEN && (e->facts & TG_F_PATH_CHANGED) &&
	    !(e->facts & TG_F_LINK_FOLLOWED)) {
		v->shared = e->facts & TG_F_DIR_SHARED;
		v->is_holding_dir = true;
		return true;
	}
	if (e->facts & TG_F_REQDIR_UNKNOWN)
		return false;
	v->shared = e->facts & TG_F_REQDIR_SHARED;
	v->is_holding_dir = !(e->facts & TG_F_PARENT_MISMATCH);
	return true;
}

bool tg_path_mismatch(const struct tg_event *e, const struct tg_dir_verdict *v)
{
	return e->kind == TG_KIND_OPEN &&
	       ((e->facts & (TG_F_NAME_MISMATCH | TG_F_LINK_FOLLOWED)) || !v->is_holding_dir);
}

bool tg_symlink_followed(const struct tg_event *e, const struct tg_dir_verdict *v)
{
	if (e->facts & TG_F_LINK_FOLLOWED)
		return true;
	if ((e->facts & TG_F_PATH_CHANGED) || !tg_path_mismatch(e, v))
		return false;
	return v->requested_link != TG_LINK_ABSENT;
}

bool tg_probe_related(const struct tg_event *e, uint64_t window_ns)
{
	if (!(e->facts & TG_F_PROBED) || e->probe_ts_ns > e->ts_ns ||
	    e->ts_ns - e->probe_ts_ns > window_ns)
		return false;
	/* Same process, parent and child either way (n=$(mktemp -u) probes in a child of the
	 * shell that creates), or the same session. */
	return e->probe_pid == e->pid || e->probe_ppid == e->pid || e->ppid == e->probe_pid ||
	       (e->sid != 0 && e->probe_sid == e->sid);
}

static int add(struct tg_finding *out, int n, const struct tg_rules_config *cfg, enum tg_rule r,
	       enum tg_severity sev)
{
	if (!cfg->enabled[r] || n >= TG_MAX_FINDINGS)
		return n;
	out[n].rule = r;
	out[n].severity = sev;
	return n + 1;
}

int tg_classify(const struct tg_event *e, const struct tg_dir_verdict *v,
		const struct tg_rules_config *cfg, struct tg_finding *out)
{
	bool created = e->facts & TG_F_CREATED;
	bool dir_shared = e->facts & TG_F_DIR_SHARED;
	bool excl = e->flags & O_EXCL;
	int n = 0;

	if (e->kind == TG_KIND_MKDIR) {
		if (v->shared && (e->file_mode & cfg->dir_loose_mask))
			n = add(out, n, cfg, TG_RULE_LOOSE_TEMPDIR, TG_SEV_MEDIUM);
		return n;
	}
	if (e->kind != TG_KIND_OPEN || !(e->flags & O_CREAT))
		return 0;

	/* The act of creating (or reusing) the name: one finding, the most specific. */
	if (!excl) {
		if (v->shared && tg_symlink_followed(e, v))
			n = add(out, n, cfg, TG_RULE_SYMLINK_FOLLOW, TG_SEV_CRITICAL);
		else if (!created && dir_shared && e->file_uid != e->fsuid)
			n = add(out, n, cfg, TG_RULE_FOREIGN_FILE_REUSE, TG_SEV_CRITICAL);
		else if (created && dir_shared && tg_probe_related(e, cfg->probe_window_ns))
			n = add(out, n, cfg, TG_RULE_CHECK_THEN_CREATE, TG_SEV_HIGH);
		else if (created && dir_shared)
			n = add(out, n, cfg, TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH);
	}
	/* What the new file looks like, whichever way it was created. */
	if (created && dir_shared && (e->file_mode & cfg->file_loose_mask))
		n = add(out, n, cfg, TG_RULE_LOOSE_MODE,
			(e->file_mode & 0002) ? TG_SEV_CRITICAL : TG_SEV_MEDIUM);
	if (created && dir_shared && !(e->flags & O_CLOEXEC))
		n = add(out, n, cfg, TG_RULE_INHERITABLE_FD, TG_SEV_LOW);
	return n;
}
