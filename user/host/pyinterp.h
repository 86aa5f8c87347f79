/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython interpreters on this host: their version and _PyRuntime's address, read from the
 * executable's ELF file (libelf), with the struct offsets of that version
 * (callsite_python.c), for the kernel's frame walk (tg_py_interp). Python call sites and what
 * keeps one from being available.
 */
#ifndef TG_PYINTERP_H
#define TG_PYINTERP_H

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

/* key of the file at path (its inode and kernel dev_t, as the kernel's records say): 0 or -1. */
int tg_pyinterp_key(const char *path, struct tg_py_key *key);

/* Calls add(ctx, path, key, offsets) for each CPython interpreter this host has that tmpguard
 * can walk: python3.* in /usr/bin and /usr/local/bin (each file once, whatever its names).
 * Returns how many were found. */
int tg_pyinterp_scan(int (*add)(void *ctx, const char *path, const struct tg_py_key *key,
				const struct tg_py_offsets *o),
		     void *ctx);

#endif
