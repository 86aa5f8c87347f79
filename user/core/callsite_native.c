// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Native call sites, the pure part (callsite_native.h): no I/O. */
#include <stdio.h>
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
	       prefix(b, "ld-musl") || prefix(b, "libc.musl");
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
	bool go = false;

	for (unsigned i = 0; i < cs->n; i++)
		if (prefix(cs->frames[i].function, "runtime.") ||
		    ends_with(cs->frames[i].file, ".go"))
			go = true;
	cs->site = -1;
	for (unsigned i = 0; i < cs->n; i++) {
		struct tg_frame *f = &cs->frames[i];

		f->runtime = tg_cs_runtime_module(f->module) ||
			     (go && f->function[0] && tg_cs_go_runtime(f->function));
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
