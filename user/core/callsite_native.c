// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Native call sites, the pure part (callsite_native.h): no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callsite_native.h"

_Static_assert(__builtin_offsetof(struct tg_stack, kind) ==
		       __builtin_offsetof(struct tg_event, kind),
	       "a stack record's kind is where an event's is");
_Static_assert(__builtin_offsetof(struct tg_stack, fp) % 8 == 0, "8-byte fields aligned");
_Static_assert(sizeof(struct tg_stk_map) % 8 == 0, "mappings are 8-byte multiples");
_Static_assert(TG_STACK_HDR_LEN + TG_STK_COPY == sizeof(struct tg_stack), "stack is last");
_Static_assert(__builtin_offsetof(struct tg_stack, cwd) + TG_EXE_LEN == TG_STACK_REF_LEN,
	       "a reference ends with cwd");
_Static_assert(TG_STK_COPY - 8 <= UINT16_MAX, "a signature's offsets fit in 16 bits");

bool tg_is_stack_record(const void *data, size_t size)
{
	__u32 kind;

	if (size < TG_STACK_KIND_END)
		return false;
	memcpy(&kind, (const char *)data + TG_STACK_KIND_OFF, sizeof(kind));
	return kind == TG_KIND_STACK;
}

int tg_stack_check(const void *data, size_t size, char *err, size_t errlen)
{
	const struct tg_stack *s = data;

	if (size >= TG_STACK_CWD_OFF && (s->flags & TG_STK_F_REF)) {
		if (s->cwd_len <= TG_EXE_LEN && size == TG_STACK_CWD_OFF + s->cwd_len && s->ref_id)
			return 0;
		snprintf(err, errlen,
			 "stack reference of %zu bytes, expected %zu and its cwd (%u), naming %llu",
			 size, (size_t)TG_STACK_CWD_OFF, s->cwd_len, (unsigned long long)s->ref_id);
		return -1;
	}
	if (size < TG_STACK_HDR_LEN || size > sizeof(*s)) {
		snprintf(err, errlen, "stack record of %zu bytes, expected %zu to %zu", size,
			 (size_t)TG_STACK_HDR_LEN, sizeof(*s));
		return -1;
	}
	if (s->stack_len != size - TG_STACK_HDR_LEN || s->n_fp > TG_STK_FP_MAX ||
	    s->n_maps > TG_STK_MAPS_MAX) {
		snprintf(err, errlen,
			 "stack record of %zu bytes says %u bytes of stack, %u addresses, %u "
			 "mappings",
			 size, s->stack_len, s->n_fp, s->n_maps);
		return -1;
	}
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

bool tg_cs_runtime_module(const char *module)
{
	const char *b = base_name(module);

	return prefix(b, "libc.so") || prefix(b, "libc-") || prefix(b, "libpthread") ||
	       prefix(b, "ld-linux") || prefix(b, "ld64.so") || prefix(b, "ld-2.") ||
	       prefix(b, "ld-musl") || prefix(b, "libc.musl") ||
	       /* C++: GNU's and LLVM's standard libraries, the unwinder */
	       prefix(b, "libstdc++.so") || prefix(b, "libgcc_s.so") || prefix(b, "libc++.so") ||
	       prefix(b, "libc++abi.so") ||
	       /* Rust's std as a shared library (rustc -C prefer-dynamic) */
	       (prefix(b, "libstd-") && strstr(b, ".so"));
}

/* The length-prefixed identifier at *p ("12write_report"): its length, p moved past the digits;
 * 0 if there is none or it runs past the end of the string. */
static size_t ident(const char **p)
{
	size_t n = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9' && n < 4096)
		n = n * 10 + (size_t)(*s++ - '0');
	if (strnlen(s, n) < n)
		return 0;
	*p = s;
	return n;
}

static bool is_rust_hash(const char *id, size_t n)
{
	if (n != 17 || id[0] != 'h')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

bool tg_cs_rust_symbol(const char *sym)
{
	const char *p = sym + 3, *id = NULL;
	size_t n, last = 0;

	if (!prefix(sym, "_ZN"))
		return false;
	while ((n = ident(&p))) {
		id = p;
		last = n;
		p += n;
	}
	return *p == 'E' && (!p[1] || p[1] == '.') && id && is_rust_hash(id, last);
}

struct out {
	char *s;
	size_t len, n;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->n + n >= o->len) {
		o->full = true;
		return;
	}
	memcpy(o->s + o->n, s, n);
	o->n += n;
	o->s[o->n] = 0;
}

/* One component of a Rust legacy path: "$LT$" for '<', "$u7b$" for '{', ".." for "::". */
static bool put_rust(struct out *o, const char *id, size_t n)
{
	static const struct {
		const char *esc, *c;
	} escs[] = {{"SP", "@"}, {"BP", "*"}, {"RF", "&"}, {"LT", "<"},
		    {"GT", ">"}, {"LP", "("}, {"RP", ")"}, {"C", ","}};
	const char *end = id + n;

	if (n >= 2 && id[0] == '_' && id[1] == '$')
		id++; /* "_$LT$": a '$' may not begin an identifier */
	while (id < end) {
		const char *close;
		size_t k;

		if (*id == '.') {
			bool two = id + 1 < end && id[1] == '.';

			put(o, two ? "::" : ".", two ? 2 : 1);
			id += two ? 2 : 1;
			continue;
		}
		if (*id != '$') {
			put(o, id++, 1);
			continue;
		}
		close = memchr(id + 1, '$', (size_t)(end - id - 1));
		if (!close)
			return false;
		k = (size_t)(close - id - 1);
		if (k >= 2 && id[1] == 'u') { /* "$u7b$": a character by its code */
			char hex[8], c;
			unsigned long v;

			if (k - 1 >= sizeof(hex))
				return false;
			memcpy(hex, id + 2, k - 1);
			hex[k - 1] = 0;
			v = strtoul(hex, NULL, 16);
			if (v < 0x20 || v > 0x7e)
				return false;
			c = (char)v;
			put(o, &c, 1);
		} else {
			size_t i;

			for (i = 0; i < sizeof(escs) / sizeof(escs[0]); i++)
				if (strlen(escs[i].esc) == k && !memcmp(escs[i].esc, id + 1, k))
					break;
			if (i == sizeof(escs) / sizeof(escs[0]))
				return false;
			put(o, escs[i].c, 1);
		}
		id = close + 1;
	}
	return true;
}

bool tg_cs_demangle(const char *sym, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};
	bool rust = tg_cs_rust_symbol(sym), nested;
	const char *p = sym + 2, *id = NULL;
	size_t n = 0;

	if (!len || !prefix(sym, "_Z"))
		return false;
	buf[0] = 0;
	if (*p == 'L') /* internal linkage (static) */
		p++;
	nested = *p == 'N';
	if (nested)
		for (p++; *p == 'K' || *p == 'V' || *p == 'r'; p++) /* a method's cv-qualifiers */
			;
	if (p[0] == 'S' && p[1] == 't') {
		put(&o, "std", 3);
		p += 2;
	}
	for (;;) {
		size_t k;

		if (nested && *p == 'E')
			break;
		if (nested && o.n && (p[0] == 'C' || p[0] == 'D') && p[1] >= '0' && p[1] <= '4' &&
		    id) { /* a constructor or a destructor: the class's name */
			put(&o, "::", 2);
			if (p[0] == 'D')
				put(&o, "~", 1);
			put(&o, id, n);
			p += 2;
			continue;
		}
		if (p[0] == 'B' && o.n) { /* an ABI tag ("B5cxx11"): not part of the name */
			p++;
			if (!(k = ident(&p)))
				return false;
			p += k;
			continue;
		}
		if (!(k = ident(&p)))
			return false; /* templates, operators, substitutions: left mangled */
		if (rust && p[k] == 'E' && is_rust_hash(p, k)) {
			p += k;
			continue;
		}
		if (o.n)
			put(&o, "::", 2);
		if (rust) {
			if (!put_rust(&o, p, k))
				return false;
		} else {
			put(&o, p, k);
		}
		id = p;
		n = k;
		p += k;
		if (!nested)
			break;
	}
	return o.n && !o.full;
}

bool tg_cs_cxx_runtime(const char *fn)
{
	static const char *const ns[] = {"std::", "__gnu_cxx::", "__cxxabiv1::"};
	static const char *const mangled[] = {"_ZSt",	       "_ZNSt",		 "_ZNKSt",
					      "_ZN9__gnu_cxx", "_ZNK9__gnu_cxx", "_ZN10__cxxabiv1"};

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (prefix(fn, ns[i]))
			return true;
	for (size_t i = 0; i < sizeof(mangled) / sizeof(mangled[0]); i++)
		if (prefix(fn, mangled[i]))
			return true;
	/* std::allocator, basic_string, string, istream, ostream, iostream: "Sa", "Sb", ... */
	if (prefix(fn, "_ZNS") || prefix(fn, "_ZNKS"))
		return fn[fn[3] == 'K' ? 5 : 4] && strchr("abdios", fn[fn[3] == 'K' ? 5 : 4]);
	return false;
}

bool tg_cs_rust_runtime(const char *fn, const char *file)
{
	static const char *const crates[] = {
		"std::", "core::", "alloc::", "_ZN3std", "_ZN4core", "_ZN5alloc"};
	static const char *const srcs[] = {"/library/std/src/", "/library/core/src/",
					   "/library/alloc/src/"};

	if (file)
		for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++)
			if (strstr(file, srcs[i]))
				return true;
	/* "<std::fs::File as std::io::Write>::write", "<&mut W as core::fmt::Write>": the type's */
	for (;;) {
		if (*fn == '<' || *fn == '&' || *fn == '*')
			fn++;
		else if (prefix(fn, "mut ") || prefix(fn, "dyn "))
			fn += 4;
		else if (prefix(fn, "const "))
			fn += 6;
		else
			break;
	}
	for (size_t i = 0; i < sizeof(crates) / sizeof(crates[0]); i++)
		if (prefix(fn, crates[i]))
			return true;
	return false;
}

bool tg_cs_go_runtime(const char *fn)
{
	const char *slash = strchr(fn, '/'), *dot = strchr(fn, '.');

	if (!dot)
		return false; /* not a Go function name */
	if (prefix(fn, "main."))
		return false;
	if (slash && slash < dot)
		return memchr(fn, '.', (size_t)(slash - fn)) == NULL; /* "internal/poll.x" */
	if (slash) /* "github.com/a/b.F": the first '.' is in the first element */
		return false;
	return true; /* "os.OpenFile", "runtime.goexit" */
}

static bool ends_with(const char *s, const char *t)
{
	size_t n = strlen(s), m = strlen(t);

	return n >= m && strcmp(s + n - m, t) == 0;
}

int tg_cs_select(struct tg_callsite *cs)
{
	bool go = false, rust = false;

	for (unsigned i = 0; i < cs->n; i++) {
		const struct tg_frame *f = &cs->frames[i];

		if (prefix(f->function, "runtime.") || ends_with(f->file, ".go"))
			go = true;
		if (tg_cs_rust_symbol(f->function) || ends_with(f->file, ".rs"))
			rust = true;
	}
	cs->site = -1;
	for (unsigned i = 0; i < cs->n; i++) {
		struct tg_frame *f = &cs->frames[i];
		bool mangled = prefix(f->function, "_Z");
		char name[sizeof(f->function)];

		if (mangled && tg_cs_demangle(f->function, name, sizeof(name)))
			memcpy(f->function, name, sizeof(name));
		f->runtime = tg_cs_runtime_module(f->module) ||
			     (go && f->function[0] && tg_cs_go_runtime(f->function)) ||
			     (rust && tg_cs_rust_runtime(f->function, f->file)) ||
			     (mangled && tg_cs_cxx_runtime(f->function)) ||
			     /* glibc's _FORTIFY_SOURCE wrappers (open() in bits/fcntl2.h) */
			     (f->inlined && prefix(f->file, "/usr/include/"));
		if (cs->site < 0 && !f->runtime && f->module[0])
			cs->site = (int)i;
	}
	return cs->site;
}

void tg_cs_set_missing(struct tg_callsite *cs)
{
	const struct tg_frame *f = tg_callsite_frame(cs);
	char off[32];

	if (cs->missing[0])
		return; /* said already, more precisely */
	if (!f) {
		snprintf(cs->missing, sizeof(cs->missing),
			 "no frame outside libc and the language runtime was found (%u frames)",
			 cs->n);
		return;
	}
	if (f->file[0] && f->line)
		return;
	snprintf(off, sizeof(off), "0x%llx", (unsigned long long)f->offset);
	snprintf(cs->missing, sizeof(cs->missing),
		 "no debug info for %s (build id %s, offset %s): install its -dbgsym package or "
		 "build it with -g to get the file and line",
		 f->module, f->build_id[0] ? f->build_id : "unknown", off);
}
