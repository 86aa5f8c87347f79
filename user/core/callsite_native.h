/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Native call sites: the kernel's TG_KIND_STACK record (tmpguard.h) unwound (DWARF CFI with
 * libdw, else the frame-pointer walk), symbolized, and the call site picked: the first frame
 * outside libc, the dynamic loader and the language's runtime. callsite_native.c is the pure
 * part (decoding, runtime classification, frame selection, what is missing); callsite_dw.c the
 * libdw part.
 */
#ifndef TG_CALLSITE_NATIVE_H
#define TG_CALLSITE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "callsite.h"
#include "tmpguard.h"

#define TG_STACK_KIND_OFF __builtin_offsetof(struct tg_stack, kind)
#define TG_STACK_KIND_END (TG_STACK_KIND_OFF + sizeof(__u32))

/* Is this ring-buffer record a TG_KIND_STACK one (by its kind, at tg_event.kind's offset)? */
bool tg_is_stack_record(const void *data, size_t size);
/* Checks a TG_KIND_STACK record of size bytes (a reference, TG_STK_F_REF, is the first
 * TG_STACK_CWD_OFF and cwd_len bytes): 0, or -1 with why in err. */
int tg_stack_check(const void *data, size_t size, char *err, size_t errlen);

/* libc, libpthread, the dynamic loader, C++'s standard library (libstdc++, libc++) and
 * unwinder (libgcc_s), Rust's std as a shared library (by the module's file name). */
bool tg_cs_runtime_module(const char *module);
/*
 * The symbol table names C++ and Rust functions mangled (libdw gives them so). The common forms
 * demangled into buf, without parameters or Rust's hash: a function or a method in namespaces
 * or classes ("_ZN6report12write_reportEPKc": "report::write_report"; static, const, a
 * constructor or destructor, ABI tags), a Rust legacy path ("_ZN13callsite_rust12write_report
 * 17h0123456789abcdefE": "callsite_rust::write_report", "$LT$" as '<'...). false, buf
 * unspecified, for anything else (templates, operators, substitutions: left mangled).
 */
bool tg_cs_demangle(const char *sym, char *buf, size_t len);
/* A Rust legacy-mangled symbol: a nested name whose last element is the hash, "h" + 16 hex. */
bool tg_cs_rust_symbol(const char *sym);
/* C++'s standard library and ABI runtime: std::, __gnu_cxx::, __cxxabiv1:: (demangled, or
 * mangled as when tg_cs_demangle leaves it: "_ZNSt", "_ZNSo"...). */
bool tg_cs_cxx_runtime(const char *function);
/* Rust's std, core and alloc (demangled, "<std::fs::File as std::io::Write>::write" too, or
 * mangled as when too long to demangle), or code of theirs compiled into the program (file in
 * their library/<crate>/src/). */
bool tg_cs_rust_runtime(const char *function, const char *file);
/* A Go function of the runtime or the standard library: its package path's first element has
 * no '.' ("os.OpenFile", "internal/poll.(*FD).Init"), main excepted. */
bool tg_cs_go_runtime(const char *function);
/* Demangles cs's C++ and Rust function names (tg_cs_demangle), marks its runtime frames (a Go
 * program: one with a runtime.* frame or a .go file; Rust: a Rust symbol or a .rs file; C++: a
 * mangled name) and sets site to the first frame that is not runtime and names a
 * module (-1 if none); returns it. */
int tg_cs_select(struct tg_callsite *cs);
/* Says in cs->missing what keeps the call site from being symbolized, and how to get it; ""
 * when it has a file and a line. */
void tg_cs_set_missing(struct tg_callsite *cs);

/* The whole of it, for a TG_KIND_STACK record (callsite_dw.c): 0, or -1 (cs says why). The
 * files and libdw's state are kept for the next records (the caches below); not thread-safe:
 * one thread reads the records. With sig, what makes the result stand for the same stack sent
 * again (tg_stk_sig: the words of the copy the unwinding read, the thread image, the
 * registers; its id is the caller's to set), or sig->n = 0 when it cannot: the frame-pointer
 * walk was used, the unwinding read more than TG_STK_SIG_WORDS words or an unaligned one, or
 * it ran past a copy shorter than TG_STK_COPY (a longer one could unwind further). */
int tg_callsite_native(const struct tg_event *e, const void *rec, size_t size,
		       struct tg_callsite *cs, struct tg_stk_sig *sig);

/*
 * libdw's state kept across records (callsite_dw.c): the mapped files by (dev, ino), checked
 * again on every record, and a Dwfl per process image. Bounded: a file is an open descriptor,
 * an image a Dwfl with what libdw read of its files (symbols, lines, CFI).
 */
#define TG_DW_FILES_DEFAULT  32
#define TG_DW_FILES_MAX	     64
#define TG_DW_IMAGES_DEFAULT 8
#define TG_DW_IMAGES_MAX     32
#define TG_DW_LOADS_MAX	     16 /* PT_LOAD headers kept per file */

struct tg_dw_cache_stats {
	uint64_t file_hits, file_misses;
	uint64_t file_evictions;     /* the least recently used, for room */
	uint64_t file_invalidations; /* changed in place (size, mtime or ctime) since opened */
	uint64_t image_hits, image_misses;
	uint64_t image_evictions; /* for room, or one of their files went */
	unsigned files, images;	  /* held now */
};

void tg_dw_cache_stats(struct tg_dw_cache_stats *st);
/* Empties both caches (their counters too). */
void tg_dw_cache_free(void);
/* Empties them and sets their bounds (0 or out of range: the default). */
void tg_dw_cache_limits(unsigned files, unsigned images);

#endif
