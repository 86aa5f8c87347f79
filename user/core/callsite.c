// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Call sites (callsite.h): what was captured, turned into a call site, and its short label. */
#include <stdio.h>
#include <string.h>
#include "callsite.h"

const char *tg_cs_kind_name(enum tg_cs_kind k)
{
	switch (k) {
	case TG_CS_NATIVE:
		return "native";
	case TG_CS_PYTHON:
		return "python";
	case TG_CS_SHELL:
		return "shell";
	case TG_CS_NONE:
		break;
	}
	return "none";
}

/* The base name of a path. */
static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int tg_callsite_label(const struct tg_callsite *cs, char *buf, size_t len)
{
	const struct tg_frame *f = tg_callsite_frame(cs);
	int n;

	if (!len)
		return 0;
	buf[0] = 0;
	if (!f)
		return 0;
	if (f->file[0] && f->line)
		n = snprintf(buf, len, "%s:%u", base_name(f->file), f->line);
	else if (cs->kind == TG_CS_SHELL && !f->file[0] && cs->command[0] && cs->command_line)
		n = snprintf(buf, len, "%s -c, line %u", base_name(f->module), cs->command_line);
	else if (cs->kind == TG_CS_SHELL && !f->file[0])
		/* a -c text whose line is not known, or commands read from standard input */
		n = snprintf(buf, len, "%s%s", base_name(f->module), cs->command[0] ? " -c" : "");
	else if (cs->kind == TG_CS_SHELL)
		n = snprintf(buf, len, "%s", base_name(f->file));
	else
		n = snprintf(buf, len, "%s+0x%llx", base_name(f->module),
			     (unsigned long long)f->offset);
	if (f->function[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " in %s()", f->function);
	return n;
}
