/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Classification: a pure function from the kernel's facts about one event (and the
 * classifier's settings) to the findings it proves. No I/O, no globals. What each rule is
 * (its id, words, severity) is the registry's: rule_registry.h.
 */
#ifndef TG_RULES_H
#define TG_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include "rule_registry.h"

struct tg_event;

/* What the classifier needs beyond the record itself. */
struct tg_rules_config {
	bool enabled[TG_RULE_MAX];
	uint32_t file_loose_mask; /* default 0027 */
	uint32_t dir_loose_mask;  /* default 0077 */
	uint64_t probe_window_ns; /* default 10 s */
};

#define TG_MAX_FINDINGS 4

struct tg_finding {
	enum tg_rule rule;
	enum tg_severity severity;
};

void tg_rules_config_default(struct tg_rules_config *cfg);
/* The directory the caller named, as decided by the kernel (TG_F_REQDIR_SHARED,
 * TG_F_PARENT_MISMATCH) or, when it could not (TG_F_REQDIR_UNKNOWN), by user space. */
/* What the requested path's last component is now, looked at when the opened file is not the
 * one the path names (tg_requested_link in enrich.c). */
enum tg_link_state {
	TG_LINK_UNKNOWN = 0, /* not looked at, or could not be (process gone, no access) */
	TG_LINK_PRESENT,     /* a symlink */
	TG_LINK_ABSENT,	     /* anything else, or nothing */
};

struct tg_dir_verdict {
	bool shared;	     /* sticky and world-writable, or reached through a name in one */
	bool is_holding_dir; /* it is the directory that holds the opened entry */
	enum tg_link_state requested_link;
	bool requested_link_own; /* that link is the creator's or the directory owner's */
	/* Neither the kernel nor user space could resolve it (the process was gone, or in
	 * another mount namespace, before its record was read): judged by the directory that
	 * holds the opened file, which the kernel knows. */
	bool unknown;
	/* The path reached the directory through a symlink that sits in a shared directory
	 * (ln -s /some/dir /tmp/app; open("/tmp/app/state", O_CREAT)): the name the caller
	 * used is in that shared directory, wherever the link points. */
	bool dir_link;
	bool dir_link_foreign; /* that link is owned by neither the follower nor the directory's
				* owner: the kernel's protected_symlinks line, someone else's */
	uint32_t dir_link_uid; /* the link's owner */
};

/* The kernel's verdict, when it had one. Returns false if user space must resolve. A path
 * rewritten during the call (TG_F_PATH_CHANGED) names nothing for sure: the verdict is then
 * the holding directory's. */
bool tg_dir_verdict_from_kernel(const struct tg_event *e, struct tg_dir_verdict *v);
/* No verdict from the kernel and none from user space: the holding directory's (the kernel's
 * TG_F_DIR_SHARED), marked unknown. Opens only; a mkdir's holding directory is not known. */
void tg_dir_verdict_holding(const struct tg_event *e, struct tg_dir_verdict *v);
/* The requested path does not lead to the opened file: another name, another directory. */
bool tg_path_mismatch(const struct tg_event *e, const struct tg_dir_verdict *v);
/*
 * A symlink was followed. Proven by a hook (TG_F_LINK_FOLLOWED; where one watched every link,
 * TG_F_LINKS_WATCHED, its silence disproves it), or inferred from a
 * mismatch of a path that was the same at entry and exit, when a symlink is there now (or that
 * cannot be checked). Not inferred when nothing else is there now: a thread that rewrote the
 * path and put it back (a change the entry/exit checksum cannot see) looks the same as a link
 * removed since; the opened file's own rules decide, and the mismatch is flagged.
 */
bool tg_symlink_followed(const struct tg_event *e, const struct tg_dir_verdict *v);
/* The ENOENT probe recorded for this path was made by this process tree within the window. */
bool tg_probe_related(const struct tg_event *e, uint64_t window_ns);

/* Fills out[] (at most TG_MAX_FINDINGS) and returns how many findings the event proves. */
int tg_classify(const struct tg_event *e, const struct tg_dir_verdict *v,
		const struct tg_rules_config *cfg, struct tg_finding *out);

#endif
