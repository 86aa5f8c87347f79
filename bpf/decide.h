/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rule precedence, written once. Compiled into the BPF programs (the BPF LSM hooks and the
 * kill fallback, which decide in the kernel) and into user space (tg_classify in user/core/rules.c,
 * which reports): the two can no longer disagree about which rule an event proves. Helper-free
 * C on plain values: no BPF helper, no libc, no kernel type; tmpguard.h's fixed-width types
 * only. tests/unit/test_decide.c covers every branch.
 */
#ifndef TG_DECIDE_H
#define TG_DECIDE_H

#include "tmpguard.h"

/* uapi open flags (the same on every Linux architecture tmpguard builds for: x86). */
#define TG_O_EXCL    00000200
#define TG_O_CLOEXEC 02000000

#define TG_RULE_BIT(r) (1u << (r))

/* What a decision about an O_CREAT open rests on. */
struct tg_open_case {
	__u64 flags;	  /* the open flags the caller passed */
	__u32 file_mode;  /* the opened (or to-be-created) file's mode */
	__u32 loose_mask; /* mode bits that make a created file loose */
	__u8 created;	  /* this open creates the file */
	__u8 dir_shared;  /* the holding directory is shared (sticky and world-writable) */
	__u8 req_shared;  /* the directory the caller named is shared */
	__u8 symlink;	  /* a symlink was followed on the way (proven, or inferred) */
	__u8 foreign;	  /* the file is not the caller's (owner != fsuid) */
	__u8 probed;	  /* a related ENOENT probe of this name came first (tg_probe_related) */
	__u8 hardlink;	  /* the file is a regular file with other links (tg_hardlinked) */
	__u8 pad[5];
};

/* A regular file that has other names than the one opened: in a shared directory, a name that
 * another user can have made, pointing at a file elsewhere (link(2) needs no write access to
 * the file under fs.protected_hardlinks=0, only read and write access with 1). */
static inline int tg_hardlinked(__u32 file_mode, __u32 nlink)
{
	return (file_mode & 0170000) == 0100000 && nlink > 1;
}

/*
 * The rules an O_CREAT open proves, as TG_RULE_BIT()s of enum tg_rule_id. The act of creating
 * (or reusing) the name gives at most one, the most specific: symlink-follow, then
 * foreign-file-reuse (another user's file, or a hard link to a file elsewhere: a name in a
 * shared directory that the caller did not create), check-then-create, nonexclusive-create
 * (tg_actors_related decides
 * "probed"). What the new file looks like
 * adds loose-mode and inheritable-fd, whichever way it was made. O_EXCL guarantees a new entry
 * where the name says: no act rule then.
 */
static inline __u32 tg_decide_open(const struct tg_open_case *c)
{
	int shared_new = c->created && c->dir_shared;
	/* The name the caller used is in a shared directory, wherever it led (a symlink of its
	 * own there, to a directory elsewhere): another user could have made that name first. */
	int named_new = c->created && (c->dir_shared || c->req_shared);
	__u32 rules = 0;

	if (!(c->flags & TG_O_EXCL)) {
		if (c->req_shared && c->symlink)
			rules |= TG_RULE_BIT(TG_R_SYMLINK_FOLLOW);
		else if (!c->created && c->dir_shared && (c->foreign || c->hardlink))
			rules |= TG_RULE_BIT(TG_R_FOREIGN_FILE_REUSE);
		else if (named_new && c->probed)
			rules |= TG_RULE_BIT(TG_R_CHECK_THEN_CREATE);
		else if (named_new)
			rules |= TG_RULE_BIT(TG_R_NONEXCLUSIVE_CREATE);
	}
	if (shared_new && (c->file_mode & c->loose_mask))
		rules |= TG_RULE_BIT(TG_R_LOOSE_MODE);
	if (shared_new && !(c->flags & TG_O_CLOEXEC))
		rules |= TG_RULE_BIT(TG_R_INHERITABLE_FD);
	return rules;
}

/* A directory made in a shared one with group or other access: loose-tempdir. */
static inline __u32 tg_decide_mkdir(int req_shared, __u32 mode, __u32 loose_mask)
{
	return req_shared && (mode & loose_mask) ? TG_RULE_BIT(TG_R_LOOSE_TEMPDIR) : 0;
}

/* The bits of the policy's file mask that matter for a node of this mode: for a socket only
 * write (connect(2) needs write permission; read and execute mean nothing there). */
static inline __u32 tg_node_loose_mask(__u32 mode, __u32 loose_mask)
{
	return (mode & 0170000) == 0140000 ? loose_mask & 0022 : loose_mask;
}

/* A FIFO, socket, device or file made by mknod or bind in a shared directory, with a mode the
 * policy calls loose for files: loose-mode. (These calls fail on an existing name: no act
 * rule.) */
static inline __u32 tg_decide_node(int req_shared, __u32 mode, __u32 loose_mask)
{
	return req_shared && (mode & tg_node_loose_mask(mode, loose_mask))
		       ? TG_RULE_BIT(TG_R_LOOSE_MODE)
		       : 0;
}

/* Who made an ENOENT probe, or a create, and when (boot-time ns). */
struct tg_actor {
	__u64 ts_ns;
	__u32 pid; /* tgid */
	__u32 ppid;
	__u32 sid;
	__u32 pad;
};

/*
 * Is the ENOENT probe p the check half of the create c? Only if it came first, within the
 * window, from the same process, its parent or child (n=$(mktemp -u) probes in a child of the
 * shell that creates), or the same session. A probe by anyone else (another user who stat()ed
 * the victim's future name) proves nothing about the creator.
 */
static inline int tg_actors_related(const struct tg_actor *p, const struct tg_actor *c,
				    __u64 window_ns)
{
	if (p->ts_ns > c->ts_ns || c->ts_ns - p->ts_ns > window_ns)
		return 0;
	return p->pid == c->pid || p->ppid == c->pid || c->ppid == p->pid ||
	       (c->sid != 0 && p->sid == c->sid);
}

/* Precedence: the act rules, most specific first, then what the new entry looks like. */
#define TG_DECIDE_NRULES 7
static inline __u32 tg_decide_nth(unsigned int i)
{
	switch (i) {
	case 0:
		return TG_R_SYMLINK_FOLLOW;
	case 1:
		return TG_R_FOREIGN_FILE_REUSE;
	case 2:
		return TG_R_CHECK_THEN_CREATE;
	case 3:
		return TG_R_NONEXCLUSIVE_CREATE;
	case 4:
		return TG_R_LOOSE_TEMPDIR;
	case 5:
		return TG_R_LOOSE_MODE;
	case 6:
		return TG_R_INHERITABLE_FD;
	}
	return TG_R_NONE;
}

/* The first of rules in precedence order, or TG_R_NONE. The kernel walks the same order and
 * stops at the first rule its policy enforces for the task (exceptions are per rule). */
static inline __u32 tg_decide_first(__u32 rules)
{
	for (unsigned int i = 0; i < TG_DECIDE_NRULES; i++)
		if (rules & TG_RULE_BIT(tg_decide_nth(i)))
			return tg_decide_nth(i);
	return TG_R_NONE;
}

#endif /* TG_DECIDE_H */
