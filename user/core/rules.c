// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Classification: kernel facts -> findings. Pure; every branch is covered by test_rules.c. */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "decide.h"
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
	/* A hook that saw the walk follow a link in a shared directory (TG_F_REQDIR_SHARED
	 * with the path's directory unknown) proved where the caller named: no need to ask. */
	if ((e->facts & TG_F_REQDIR_UNKNOWN) && !(e->facts & TG_F_REQDIR_SHARED))
		return false;
	v->shared = e->facts & TG_F_REQDIR_SHARED;
	v->is_holding_dir = !(e->facts & TG_F_PARENT_MISMATCH);
	return true;
}

/* The path's directory ends in ".", ".." or an empty component ("a//b"): names the kernel
 * could not compare with the holding directory's, so its TG_F_PARENT_MISMATCH says nothing. */
static bool dir_name_uncomparable(const char *path)
{
	const char *slash = strrchr(path, '/'), *start;
	size_t len;

	if (!slash)
		return true;
	for (start = slash; start > path && start[-1] != '/'; start--)
		;
	len = (size_t)(slash - start);
	return len == 0 || (len == 1 && start[0] == '.') ||
	       (len == 2 && start[0] == '.' && start[1] == '.');
}

void tg_dir_verdict_holding(const struct tg_event *e, struct tg_dir_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->shared = e->facts & TG_F_DIR_SHARED;
	/* The kernel compared the names: where they differed, the path does not name the
	 * opened file's directory (a link, a rewritten path): flagged, not explained. */
	v->is_holding_dir = !(e->facts & TG_F_PARENT_MISMATCH) || dir_name_uncomparable(e->path);
	v->unknown = true;
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
	/* Someone else's link to a directory, in a shared one, on the way. */
	if (v->dir_link && v->dir_link_foreign)
		return true;
	/* A hook saw every symlink the walk followed (fentry, BPF LSM): none in a shared
	 * directory, whatever the string says. */
	if (e->facts & TG_F_LINKS_WATCHED)
		return false;
	if ((e->facts & TG_F_PATH_CHANGED) || !tg_path_mismatch(e, v))
		return false;
	/* Nothing could be looked at (the process was gone): a mismatch is flagged, never
	 * called a link on a guess about both the link and where it sat. */
	if (v->unknown)
		return false;
	/* One's own link (or the directory owner's) is no attack: the kernel's
	 * protected_symlinks line. The create is still one of a name in a shared directory. */
	if (v->requested_link == TG_LINK_PRESENT && v->requested_link_own)
		return false;
	return v->requested_link != TG_LINK_ABSENT;
}

bool tg_probe_related(const struct tg_event *e, uint64_t window_ns)
{
	struct tg_actor probe = {.ts_ns = e->probe_ts_ns,
				 .pid = e->probe_pid,
				 .ppid = e->probe_ppid,
				 .sid = e->probe_sid};
	struct tg_actor creator = {
		.ts_ns = e->ts_ns, .pid = e->pid, .ppid = e->ppid, .sid = e->sid};

	return (e->facts & TG_F_PROBED) && tg_actors_related(&probe, &creator, window_ns);
}

/* tg_classify's severities: the registry's defaults, loose-mode critical when o+w. */
static enum tg_severity severity(enum tg_rule r, const struct tg_event *e)
{
	if (r == TG_RULE_LOOSE_MODE && (e->file_mode & 0002))
		return TG_SEV_CRITICAL;
	return tg_rule_default_severity(r);
}

int tg_classify(const struct tg_event *e, const struct tg_dir_verdict *v,
		const struct tg_rules_config *cfg, struct tg_finding *out)
{
	__u32 rules = 0;
	int n = 0;

	if (e->kind == TG_KIND_MKDIR) {
		rules = tg_decide_mkdir(v->shared, e->file_mode, cfg->dir_loose_mask);
	} else if (e->kind == TG_KIND_NODE) {
		rules = tg_decide_node(v->shared, e->file_mode, cfg->file_loose_mask);
	} else if (e->kind == TG_KIND_OPEN && (e->flags & O_CREAT)) {
		struct tg_open_case c = {
			.flags = e->flags,
			.file_mode = e->file_mode,
			.loose_mask = cfg->file_loose_mask,
			.created = !!(e->facts & TG_F_CREATED),
			.dir_shared = !!(e->facts & TG_F_DIR_SHARED),
			.req_shared = v->shared,
			.symlink = tg_symlink_followed(e, v),
			.foreign = e->file_uid != e->fsuid,
			.hardlink = tg_hardlinked(e->file_mode, e->file_nlink),
			.probed = tg_probe_related(e, cfg->probe_window_ns),
		};

		rules = tg_decide_open(&c);
	}
	/* In precedence order, as the kernel decides (bpf/decide.h). */
	for (unsigned int i = 0; i < TG_DECIDE_NRULES; i++) {
		enum tg_rule r = (enum tg_rule)tg_decide_nth(i);

		if ((rules & TG_RULE_BIT(r)) && cfg->enabled[r] && n < TG_MAX_FINDINGS) {
			out[n].rule = r;
			out[n].severity = severity(r, e);
			n++;
		}
	}
	return n;
}
