// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the kernel captured for a record, as a call site: by kind, each producer's. */
#include <string.h>
#include "callsite.h"
#include "callsite_native.h"
#include "callsite_reuse.h"

/*
 * What was captured for e, as a call site. The one place each kind's producer plugs in: the
 * native stack record (TG_KIND_STACK) now; an interpreter's frames (Python) and a shell's
 * script or command are other captures, dispatched here by what came.
 */
int tg_callsite_resolve(const struct tg_event *e, const void *capture, size_t size,
			struct tg_callsite *cs, struct tg_cs_reuse *reuse)
{
	const struct tg_stack *s = capture;
	const uint32_t *kind;
	struct tg_stk_sig sig;
	int err;

	memset(cs, 0, sizeof(*cs));
	cs->kind = TG_CS_NONE;
	cs->site = -1;
	if (!capture || size < TG_STACK_KIND_END)
		return -1;
	kind = (const uint32_t *)((const char *)capture + TG_STACK_KIND_OFF);
	switch (*kind) {
	case TG_KIND_STACK:
		/* A reference to a stack resolved before, or one to resolve (and keep, when the
		 * kernel may name it again). */
		if (size >= TG_STACK_CWD_OFF && (s->flags & TG_STK_F_REF))
			return tg_stack_check(capture, size, cs->missing, sizeof(cs->missing))
				       ? -1
				       : tg_cs_reuse_get(reuse, s->ref_id, cs);
		err = tg_callsite_native(e, capture, size, cs, reuse ? &sig : NULL);
		if (!err && reuse && sig.n)
			tg_cs_reuse_put(reuse, s, &sig, cs);
		return err;
	/* Python (interpreter frames) and shell (script, command) captures: here. */
	default:
		return -1;
	}
}

int tg_callsite_learn(const struct tg_event *e, const void *capture, size_t size,
		      struct tg_callsite *cs, struct tg_cs_reuse *reuse)
{
	const struct tg_stack *s = capture;
	struct tg_stk_sig sig;
	uint64_t id = 0;

	if (!capture || size < TG_STACK_CWD_OFF || !tg_is_stack_record(capture, size) ||
	    tg_stack_check(capture, size, cs->missing, sizeof(cs->missing)) ||
	    !tg_cs_reuse_learn_now(reuse, s))
		return 0;
	memset(cs, 0, sizeof(*cs));
	if (!tg_callsite_native(e, capture, size, cs, &sig) && sig.n)
		id = tg_cs_reuse_put(reuse, s, &sig, cs);
	tg_cs_reuse_learned(reuse, s, id);
	return id ? 1 : 0;
}
