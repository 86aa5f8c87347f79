// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tracefs: is it mounted at /sys/kernel/tracing, and mount it when it is not. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "tracefs.h"

/* mountinfo escapes space, tab, newline and backslash in paths as \ooo (fs/proc_namespace.c). */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": mount id,
 * parent id, major:minor, root, mount point, mount options, zero or more optional fields ended
 * by "-", then fstype, source and superblock options (Documentation/filesystems/proc.rst).
 */
int tg_mountinfo_parse(char *line, struct tg_mountinfo *m)
{
	char *field[6] = {};
	char *save = NULL, *tok;
	int i;

	line[strcspn(line, "\n")] = '\0';
	tok = strtok_r(line, " ", &save);
	for (i = 0; tok && i < 6; i++) {
		field[i] = tok;
		tok = strtok_r(NULL, " ", &save);
	}
	if (i < 6)
		return -EINVAL;
	while (tok && strcmp(tok, "-") != 0) /* optional fields */
		tok = strtok_r(NULL, " ", &save);
	if (!tok)
		return -EINVAL;
	m->fstype = strtok_r(NULL, " ", &save);
	m->source = strtok_r(NULL, " ", &save);
	m->super_opts = strtok_r(NULL, " ", &save);
	if (!m->fstype || !m->source)
		return -EINVAL;
	if (!m->super_opts)
		m->super_opts = "";
	m->root = field[3];
	m->mnt_point = field[4];
	m->mnt_opts = field[5];
	unescape_octal(m->root);
	unescape_octal(m->mnt_point);
	unescape_octal(m->source);
	return 0;
}

bool tg_tracefs_mounted(void)
{
	struct tg_mountinfo m;
	struct statfs sfs;
	bool mounted = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return statfs(TG_TRACEFS_PATH, &sfs) == 0 && sfs.f_type == TRACEFS_MAGIC;
	/* Later lines are mounted on top of earlier ones: the last line for the path wins. */
	while (getline(&line, &cap, f) > 0) {
		if (tg_mountinfo_parse(line, &m) == 0 && strcmp(m.mnt_point, TG_TRACEFS_PATH) == 0)
			mounted = strcmp(m.fstype, "tracefs") == 0;
	}
	free(line);
	fclose(f);
	return mounted;
}

int tg_tracefs_ensure(char *msg, size_t msglen)
{
	int err;

	if (msg && msglen)
		msg[0] = '\0';
	if (tg_tracefs_mounted())
		return 0;
	if (mount("tracefs", TG_TRACEFS_PATH, "tracefs", 0, NULL) == 0) {
		if (msg && msglen)
			snprintf(msg, msglen, "mounted tracefs at %s", TG_TRACEFS_PATH);
		return 0;
	}
	err = errno;
	if (msg && msglen)
		snprintf(msg, msglen,
			 "cannot mount tracefs at %s: %s; syscall tracepoints cannot attach; mount "
			 "it "
			 "by hand: mount -t tracefs tracefs %s",
			 TG_TRACEFS_PATH, strerror(err), TG_TRACEFS_PATH);
	return -err;
}
