/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Enrichment from /proc, read once per process and cached: executable path, full command line,
 * user name, cgroup path and container id, Go binary or not. When the process is already gone
 * (short-lived tools), the kernel's own record fills in (exe basename, argv head, cgroup leaf).
 */
#ifndef TG_ENRICH_H
#define TG_ENRICH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "process.h"
#include "rules.h"

/* The directory a relative path was resolved from (the cwd, or the dirfd of *at calls). */
enum tg_base_status {
	TG_BASE_ABSOLUTE = 0, /* the path is absolute: no base directory */
	TG_BASE_OK,	      /* base holds the directory's path */
	TG_BASE_GONE,	      /* the process (or its fd) was gone when the record was read */
	TG_BASE_TOO_LONG,     /* the directory's path is longer than PATH_MAX (dirfd chains) */
	TG_BASE_UNREACHABLE,  /* outside tmpguard's view (another root, a deleted directory) */
};

struct tg_enrich;

struct tg_enrich *tg_enrich_new(void);
void tg_enrich_free(struct tg_enrich *en);
const struct tg_proc_info *tg_enrich_proc(struct tg_enrich *en, const struct tg_event *e);

/*
 * Resolves the directory the caller named when the kernel could not (TG_F_REQDIR_UNKNOWN):
 * the path's directory part, looked up from the process's root, cwd or dirfd through
 * /proc/PID, or when the process is gone from tmpguard's own view (same mount namespace) or
 * through a live process of its mount namespace (en may be NULL: not that). extra_shared are the
 * policy's shared_dirs (kernel dev_t encoding). Returns 0 and fills v, or -1 when it cannot be
 * resolved.
 */
int tg_resolve_dir(struct tg_enrich *en, const struct tg_event *e,
		   const struct tg_dir_key *extra_shared, size_t n_extra, struct tg_dir_verdict *v);

/*
 * The requested path's last component now, not followed: a symlink, something else or
 * nothing, or unknown (the process and its view are gone, the path was cut or unreadable).
 * Asked only when the opened file is not the one the path names.
 */
enum tg_link_state tg_requested_link(struct tg_enrich *en, const struct tg_event *e, bool *own);

/*
 * For a relative path: the directory it was resolved from, as /proc/PID/cwd or
 * /proc/PID/fd/DFD shows it now (the process's view; a directory since renamed shows its new
 * name). Never a silently wrong path: what cannot be known is said by the status.
 */
enum tg_base_status tg_resolve_base(const struct tg_event *e, char *base, size_t len);
const char *tg_base_status_name(enum tg_base_status s); /* "ok", "gone", ... */

#endif
