// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the kernel captured for a record, as a call site: by kind, each producer's. */
#include <string.h>
#include "callsite.h"
#include "callsite_native.h"

/*
 * What was captured for e, as a call site. The one place each kind's producer plugs in: the
 * native stack record (TG_KIND_STACK) now; an interpreter's frames (Python) and a shell's
 * script or command are other captures, dispatched here by what came.
 */
int tg_callsite_resolve(const struct tg_event *e, const void *capture, size_t size,
			struct tg_callsite *cs)
{
	const uint32_t *kind;

	memset(cs, 0, sizeof(*cs));
	cs->kind = TG_CS_NONE;
	cs->site = -1;
	if (!capture || size < TG_STACK_KIND_END)
		return -1;
	kind = (const uint32_t *)((const char *)capture + TG_STACK_KIND_OFF);
	switch (*kind) {
	case TG_KIND_STACK:
		return tg_callsite_native(e, capture, size, cs);
	/* Python (interpreter frames) and shell (script, command) captures: here. */
	default:
		return -1;
	}
}
