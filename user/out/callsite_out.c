// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The call site in a finding's JSON ("call_site", "stack") and its text line (callsite_out.h). */
#include <stdio.h>
#include <string.h>
#include "callsite_out.h"
#include "util/json_util.h"

static json_object *str(const char *s)
{
	bool lossless = false;

	return tg_json_bytes(s, strlen(s), &lossless);
}

static json_object *hex_offset(uint64_t off)
{
	char b[32];

	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)off);
	return json_object_new_string(b);
}

/* The fields a call site and a stack frame share. */
static void frame_fields(json_object *o, const struct tg_frame *f)
{
	json_object_object_add(o, "module", str(f->module));
	json_object_object_add(o, "build_id",
			       f->build_id[0] ? json_object_new_string(f->build_id) : NULL);
	json_object_object_add(o, "offset", hex_offset(f->offset));
	json_object_object_add(o, "function", str(f->function));
	json_object_object_add(o, "file", str(f->file));
	json_object_object_add(o, "line", f->line ? json_object_new_int64(f->line) : NULL);
}

static json_object *site_json(const struct tg_callsite *cs)
{
	const struct tg_frame *f = tg_callsite_frame(cs);
	static const struct tg_frame none;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(tg_cs_kind_name(cs->kind)));
	frame_fields(o, f ? f : &none);
	if (!f || cs->kind == TG_CS_SHELL) /* a script has no offset */
		json_object_object_add(o, "offset", NULL);
	if (cs->missing[0] || !f)
		json_object_object_add(
			o, "missing", str(cs->missing[0] ? cs->missing : "no call site was found"));
	if (cs->command[0])
		json_object_object_add(o, "command", str(cs->command));
	return o;
}

void tg_callsite_add_json(json_object *o, const struct tg_callsite *cs)
{
	json_object *stack;

	if (!cs) {
		json_object_object_add(o, "call_site", NULL);
		return;
	}
	json_object_object_add(o, "call_site", site_json(cs));
	stack = json_object_new_array();
	for (unsigned i = 0; i < cs->n && i < TG_CS_FRAMES_MAX; i++) {
		json_object *fr = json_object_new_object();

		frame_fields(fr, &cs->frames[i]);
		json_object_object_add(fr, "runtime",
				       json_object_new_boolean(cs->frames[i].runtime));
		json_object_object_add(fr, "inlined",
				       json_object_new_boolean(cs->frames[i].inlined));
		json_object_array_add(stack, fr);
	}
	json_object_object_add(o, "stack", stack);
	json_object_object_add(o, "stack_truncated", json_object_new_boolean(cs->truncated));
}

int tg_callsite_text(const struct tg_callsite *cs, char *buf, size_t len)
{
	if (!cs)
		return snprintf(buf, len, "%s", "");
	if (tg_callsite_label(cs, buf, len) > 0)
		return (int)strlen(buf);
	return snprintf(buf, len, "unknown (%s)", cs->missing[0] ? cs->missing : "no frame");
}
