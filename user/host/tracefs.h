/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tracefs: syscall tracepoints are looked up under /sys/kernel/tracing, which some hosts leave
 * unmounted. Also the /proc/self/mountinfo parsing this needs, shared with `tmpguard doctor`.
 */
#ifndef TG_TRACEFS_H
#define TG_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>

#define TG_TRACEFS_PATH "/sys/kernel/tracing"

/* One line of /proc/self/mountinfo, split in place: the fields point into the line. */
struct tg_mountinfo {
	char *root; /* path inside the filesystem that is mounted here */
	char *mnt_point;
	char *mnt_opts; /* per-mount options: rw, nosuid, nodev, noexec, relatime, ... */
	char *fstype;
	char *source;
	char *super_opts; /* per-superblock options */
};

/* Splits line (one line of /proc/self/mountinfo, trailing newline allowed) in place and decodes
 * the octal escapes (\040 ...) of root, mnt_point and source. Returns 0, or -EINVAL when the line
 * is not in mountinfo's format. */
int tg_mountinfo_parse(char *line, struct tg_mountinfo *m);

/* true when the topmost mount at /sys/kernel/tracing is a tracefs (per /proc/self/mountinfo;
 * statfs() when mountinfo cannot be read). Mounts nothing. */
bool tg_tracefs_mounted(void);

/*
 * Makes sure tracefs is mounted at /sys/kernel/tracing, mounting it if it is not (needs
 * CAP_SYS_ADMIN). Returns 0 when it is mounted, with msg set to "" (it already was) or to
 * "mounted tracefs at /sys/kernel/tracing"; otherwise -errno with msg saying what failed and what
 * to do. msg may be NULL.
 */
int tg_tracefs_ensure(char *msg, size_t msglen);

#endif
