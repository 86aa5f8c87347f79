// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Decoding of open(2) flags and file modes. Pure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "flags.h"

/*
 * The flags come raw from the syscall, so they are the kernel's values, not glibc's. The two
 * differ only for O_LARGEFILE: glibc defines it 0 on 64-bit targets (the kernel forces it
 * there), but a caller may still pass the bit and force_o_largefile() callers see it set. This
 * is the x86_64 value; other architectures put it elsewhere (arm64: 0400000).
 */
#define TG_O_LARGEFILE 0100000

/*
 * O_SYNC and O_TMPFILE are composites: the kernel's __O_SYNC and __O_TMPFILE bits only mean
 * O_SYNC / O_TMPFILE together with O_DSYNC / O_DIRECTORY (a lone __O_TMPFILE is rejected with
 * EINVAL). glibc does not export the single bits, so derive them.
 */
#define TG_O_SYNC_BIT	 ((uint64_t)(O_SYNC & ~O_DSYNC))
#define TG_O_TMPFILE_BIT ((uint64_t)(O_TMPFILE & ~O_DIRECTORY))

#ifdef __x86_64__
/* What the names below promise: the x86_64 kernel's include/uapi/asm-generic/fcntl.h. */
_Static_assert(O_CREAT == 0100 && O_EXCL == 0200 && O_NOCTTY == 0400 && O_TRUNC == 01000,
	       "x86_64 open flags");
_Static_assert(O_APPEND == 02000 && O_NONBLOCK == 04000 && O_DSYNC == 010000 && O_ASYNC == 020000 &&
		       O_DIRECT == 040000,
	       "x86_64 open flags");
_Static_assert(O_DIRECTORY == 0200000 && O_NOFOLLOW == 0400000 && O_NOATIME == 01000000 &&
		       O_CLOEXEC == 02000000 && O_PATH == 010000000,
	       "x86_64 open flags");
_Static_assert(TG_O_SYNC_BIT == 04000000 && TG_O_TMPFILE_BIT == 020000000, "x86_64 open flags");
#endif

struct flag_name {
	uint64_t mask;
	const char *name;
};

/* The order flags.h promises; access mode is handled before this table. */
static const struct flag_name flag_names[] = {
	{O_CREAT, "O_CREAT"},	      {O_EXCL, "O_EXCL"},
	{O_NOCTTY, "O_NOCTTY"},	      {O_TRUNC, "O_TRUNC"},
	{O_APPEND, "O_APPEND"},	      {O_NONBLOCK, "O_NONBLOCK"},
	{O_DSYNC, "O_DSYNC"},	      {O_ASYNC, "O_ASYNC"},
	{O_DIRECT, "O_DIRECT"},	      {TG_O_LARGEFILE, "O_LARGEFILE"},
	{O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
	{O_NOATIME, "O_NOATIME"},     {O_CLOEXEC, "O_CLOEXEC"},
	{O_SYNC, "O_SYNC"},	      {O_PATH, "O_PATH"},
	{O_TMPFILE, "O_TMPFILE"},
};

/* Every name plus the unknown bits: the most tg_flags_str can ever need. */
#define TG_FLAGS_MAX_NAMES (1 + (int)(sizeof(flag_names) / sizeof(flag_names[0])) + 1)
/* "0x" + 16 hex digits + NUL */
#define TG_FLAGS_UNKNOWN_LEN 19

int tg_flags_names(uint64_t flags, const char **names, int max, char *unknown_buf,
		   size_t unknown_len)
{
	uint64_t rest = flags;
	int n = 0;
	size_t i;

	/* 3 is not a mode a program asks for by name (it is the ioctl-only open), so it is
	 * left for the hex tail rather than dressed up as O_RDWR. */
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		if (n < max)
			names[n++] = "O_RDONLY";
		break;
	case O_WRONLY:
		if (n < max)
			names[n++] = "O_WRONLY";
		break;
	case O_RDWR:
		if (n < max)
			names[n++] = "O_RDWR";
		break;
	}
	if ((flags & O_ACCMODE) != O_ACCMODE)
		rest &= ~(uint64_t)O_ACCMODE;

	/* Take the composites out first so O_DSYNC and O_DIRECTORY are not named twice. */
	bool sync = (flags & O_SYNC) == O_SYNC;
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	if (sync)
		rest &= ~(uint64_t)O_SYNC;
	if (tmpfile)
		rest &= ~(uint64_t)O_TMPFILE;

	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		const struct flag_name *f = &flag_names[i];
		bool set;

		if (f->mask == (uint64_t)O_SYNC)
			set = sync;
		else if (f->mask == (uint64_t)O_TMPFILE)
			set = tmpfile;
		else
			set = rest & f->mask;
		if (!set)
			continue;
		rest &= ~f->mask;
		if (n < max)
			names[n++] = f->name;
	}

	/* A truncated hex number would be a wrong number, so it is left out rather than cut. */
	if (rest && n < max && unknown_buf && unknown_len >= TG_FLAGS_UNKNOWN_LEN) {
		snprintf(unknown_buf, unknown_len, "0x%" PRIx64, rest);
		names[n++] = unknown_buf;
	}
	return n;
}

size_t tg_flags_str(uint64_t flags, char *buf, size_t len)
{
	const char *names[TG_FLAGS_MAX_NAMES];
	char unknown[TG_FLAGS_UNKNOWN_LEN];
	size_t need = 0;
	int n, i;

	n = tg_flags_names(flags, names, TG_FLAGS_MAX_NAMES, unknown, sizeof(unknown));
	for (i = 0; i < n; i++) {
		const char *parts[2] = {i ? "|" : "", names[i]};
		int p;

		for (p = 0; p < 2; p++) {
			size_t l = strlen(parts[p]);

			/* Copy what fits, keeping the last byte for the NUL, like snprintf. */
			if (need + 1 < len) {
				size_t room = len - 1 - need;

				memcpy(buf + need, parts[p], l < room ? l : room);
			}
			need += l;
		}
	}
	if (len)
		buf[need < len ? need : len - 1] = '\0';
	return need;
}

void tg_mode_str(uint32_t mode, char *buf, size_t len)
{
	if (!len)
		return;
	/* Permission, sticky and set-id bits only: the file type bits are not a mode to read. */
	snprintf(buf, len, "%04" PRIo32, mode & 07777);
}
