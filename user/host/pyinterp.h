/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The interpreters on this host whose state the kernel reads at a finding (tg_interp): CPython
 * (its version and _PyRuntime's address, with the struct offsets of that version from
 * callsite_python.c, for the frame walk) and bash (the addresses of its line_number and three
 * other globals, for its current line). Each is read from the executable's ELF file (libelf).
 * The registry of those found, and bash's line read from a live process's memory
 * (process_vm_readv), for what the kernel could not read: a program's parent shell.
 */
#ifndef TG_PYINTERP_H
#define TG_PYINTERP_H

#include <stdint.h>
#include <stddef.h>
#include <linux/types.h>
#include "callsite_python.h"

/*
 * The interpreter at path: 0 with *o filled (addresses, version and offsets), or -1 with
 * why (and version, "3.13", when the file says which: "" otherwise), e.g. a version tmpguard
 * cannot walk, or a runtime in a shared libpython rather than the executable.
 */
int tg_pyinterp_probe(const char *path, struct tg_py_offsets *o, char *version, size_t vlen,
		      char *why, size_t whylen);

/* The bash at path: 0 with *o filled, or -1 with why (no such globals in its dynamic symbols:
 * no bash, or one built without exporting them). */
int tg_bashinterp_probe(const char *path, struct tg_bash_offsets *o, char *why, size_t whylen);

/* key of the file at path (its inode and kernel dev_t, as the kernel's records say): 0 or -1. */
int tg_interp_key(const char *path, struct tg_interp_key *key);

/* Calls add(ctx, path, key, interp) for each interpreter this host has whose state tmpguard can
 * read: python3.* in /usr/bin and /usr/local/bin, bash (and /bin/sh where it is bash): each
 * file once, whatever its names. Returns how many were added (add returning 0). */
int tg_interp_scan(int (*add)(void *ctx, const char *path, const struct tg_interp_key *key,
			      const struct tg_interp *v),
		   void *ctx);

/* The interpreters registered with the kernel, as user space keeps them. */
struct tg_interp_reg {
	int n;
	struct tg_interp_key key[TG_INTERP_MAX];
	struct tg_interp val[TG_INTERP_MAX];
	char exe[TG_INTERP_MAX][256];
};

/* The registered interpreter of that executable (ino, kernel dev_t), or NULL. */
const struct tg_interp *tg_interp_find(const struct tg_interp_reg *r, uint64_t ino, uint32_t dev);

/*
 * bash's current line in the live process pid, read from its memory as the kernel reads it at
 * a record (bpf/pyframe.bpf.c): *line and *flags (TG_SH_*) as tg_event.shell_line and
 * shell_flags would be. 0, or -1 when the process is gone or its memory unreadable.
 */
int tg_bash_read(uint32_t pid, const struct tg_bash_offsets *o, uint32_t *line, uint32_t *flags);

#endif
