/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The call site as the outputs print it (docs/outputs.md: call_site, stack). */
#ifndef TG_CALLSITE_OUT_H
#define TG_CALLSITE_OUT_H

#include <stddef.h>
#include <json-c/json.h>
#include "callsite.h"

/* "call_site" (null without a capture) and, with one, "stack" and "stack_truncated". */
void tg_callsite_add_json(json_object *o, const struct tg_callsite *cs);
/* The text line's value: "foo.c:42 in main()", "module+0x... in f()", or "unknown (why)";
 * "" without a capture. Returns its length as snprintf does. */
int tg_callsite_text(const struct tg_callsite *cs, char *buf, size_t len);

#endif
