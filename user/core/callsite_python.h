/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython call sites: the struct offsets of the interpreters tmpguard can walk, the decoding of
 * a code object's location table (3.11, 3.12: CPython's Objects/locations.md), and the frames
 * of a tg_py_record (bpf/tmpguard.h) as a struct tg_callsite. Pure: reading an interpreter's
 * ELF file is user/host/pyinterp.c's.
 */
#ifndef TG_CALLSITE_PYTHON_H
#define TG_CALLSITE_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "callsite.h"
#include "tmpguard.h"

/* The struct offsets of CPython major.minor (x86_64, release build) into o (its runtime,
 * text_vaddr and version left as they are): 0, or -1 for a version tmpguard cannot walk. */
int tg_py_offsets_for(unsigned major, unsigned minor, struct tg_py_offsets *o);

/*
 * The line of the instruction at byte offset lasti of a code object whose first line is
 * firstlineno and whose co_linetable is lt (n bytes): 0 with *line set (0 when the instruction
 * has no line), or -1 when lt ends before the instruction's entry (a table cut at
 * TG_PY_LINETAB_LEN, or malformed). lasti < 0 (a frame not started) is firstlineno.
 */
int tg_py_line(const uint8_t *lt, size_t n, int firstlineno, int lasti, uint32_t *line);

/* Is a frame of this file the interpreter's own (standard library, frozen modules, importlib),
 * never a call site? */
bool tg_py_runtime_file(const char *file);

/*
 * The frames of the record r (size bytes as received) into cs: kind python, module the
 * interpreter (exe), file co_filename, function co_qualname, line decoded, runtime marked, site
 * the innermost frame that is not the runtime's. 0, or -1 with a reason in err when r is not a
 * record of this ABI (cs then untouched). A record that holds no frame (status) fills cs with
 * no frame and missing saying why.
 */
int tg_py_callsite(const void *r, size_t size, const char *exe, struct tg_callsite *cs, char *err,
		   size_t errlen);

/* cs for a finding of interpreter exe (CPython version, e.g. "3.13", or "" when unknown) that
 * tmpguard cannot walk: no frame, missing saying which version and why. */
void tg_py_callsite_unsupported(const char *exe, const char *version, const char *why,
				struct tg_callsite *cs);

#endif
