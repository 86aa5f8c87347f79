/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which line of code made a finding's create: the call site and the stack it was found in.
 *
 * The kernel captures what it can at a finding only (never for an open that is not sent): a
 * native stack (return addresses, or a copy of the top of the user stack and the registers for
 * DWARF unwinding), an interpreter's current frames (CPython), a shell's script and line. User
 * space turns that into frames, symbolizes them (libdw) and picks the call site: the first frame
 * outside libc and the language's runtime. Outputs print it; the store keeps it in the finding's
 * JSON ("call_site" and "stack"); SARIF places results at it.
 *
 * Every string is NUL-terminated; an unknown one is "". A frame that could not be symbolized
 * still names its module, build id and offset, and tg_callsite.missing says what is missing and
 * how to get a symbolized call site.
 */
#ifndef TG_CALLSITE_H
#define TG_CALLSITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_CS_FRAMES_MAX   32
#define TG_CS_BUILD_ID_LEN 41 /* 20 bytes in hex, NUL */

enum tg_cs_kind {
	TG_CS_NONE =
		0, /* nothing captured (call sites off, or the capture failed: why in missing) */
	TG_CS_NATIVE = 1, /* C, C++, Go, Rust...: machine frames */
	TG_CS_PYTHON = 2, /* CPython frames */
	TG_CS_SHELL = 3,  /* a shell script or an sh -c command */
};

struct tg_frame {
	char module[256]; /* native: the mapped file (executable or library); python/shell: the
			   * interpreter */
	char build_id[TG_CS_BUILD_ID_LEN];
	uint64_t offset;    /* native: the address's offset in module's file; python: the
			     * instruction's byte offset in its code object */
	char function[256]; /* "" if unknown */
	char file[512];	    /* source file as the debug info or the interpreter names it */
	uint32_t line;	    /* 0 if unknown */
	bool runtime;	    /* in libc, the dynamic loader or the language's runtime/standard
			     * library: never the call site */
	bool inlined;	    /* a function inlined at this address (the next frame, at the same
			     * address, is the one it was inlined into) */
};

struct tg_callsite {
	enum tg_cs_kind kind;
	int site;	/* index in frames of the call site; -1 if no frame qualifies */
	unsigned n;	/* frames, innermost first */
	bool truncated; /* the stack had more frames than were kept */
	struct tg_frame frames[TG_CS_FRAMES_MAX];
	char command[1024];    /* shell: the sh -c command text (raw bytes, escaped on output) */
	uint32_t command_line; /* shell: the line of that text bash was running; 0 if unknown */
	char missing[512];     /* what kept the call site from being symbolized and how to get it
				* ("no debug info for /usr/bin/foo (build id ..., offset 0x...): install
				* the -dbgsym package or build with -g"); "" when complete */
};

/* The call site's frame, or NULL (site < 0, or nothing captured). */
static inline const struct tg_frame *tg_callsite_frame(const struct tg_callsite *cs)
{
	return cs && cs->kind != TG_CS_NONE && cs->site >= 0 && (unsigned)cs->site < cs->n
		       ? &cs->frames[cs->site]
		       : 0;
}

const char *tg_cs_kind_name(enum tg_cs_kind k); /* "native", "python", "shell", "none" */

struct tg_event;
struct tg_cs_reuse;
/*
 * The call site of e from what the kernel captured for it (capture: size bytes of the record
 * sent before it, e.g. a TG_KIND_STACK record; NULL when none came): fills *cs (kind TG_CS_NONE
 * and -1 when nothing usable came). callsite_resolve.c dispatches on what was captured: each
 * kind's producer plugs in there. With reuse (callsite_reuse.h), a native call site the kernel
 * may name again is kept there, and a reference (TG_STK_F_REF) is resolved from it: -ESTALE
 * when it is not kept there (or reuse is NULL).
 */
int tg_callsite_resolve(const struct tg_event *e, const void *capture, size_t size,
			struct tg_callsite *cs, struct tg_cs_reuse *reuse);
/*
 * The stack record capture, of a finding that was not printed (or of a record that was no
 * finding): resolved anyway when reuse's learning budget allows (tg_cs_reuse_learn_now), so
 * that the kernel sends the next stacks of that thread, ip and sp by reference. cs: scratch.
 * Returns 1 when it was kept, else 0.
 */
int tg_callsite_learn(const struct tg_event *e, const void *capture, size_t size,
		      struct tg_callsite *cs, struct tg_cs_reuse *reuse);
/* "foo.c:42 in main()", or "module+0x1234 in f()" without a line, "build.sh:12", "bash -c,
 * line 3", into buf, escaped for a terminal (tg_escape_text); "" without a call site. Returns
 * what snprintf does. */
int tg_callsite_label(const struct tg_callsite *cs, char *buf, size_t len);

#endif
