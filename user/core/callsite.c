// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Call sites (callsite.h): what was captured, turned into a call site, and its short label. */
#include <stdio.h>
#include <string.h>
#include "callsite.h"
#include "util/escape.h"

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

/* The label as is (raw bytes of file and module names). */
static int label_raw(const struct tg_callsite *cs, char *buf, size_t len)
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

/* Escaped (tg_escape_text): names are any bytes (a program's own name, a script's), and the
 * label goes into text, JSON and Falco's output as it is. */
int tg_callsite_label(const struct tg_callsite *cs, char *buf, size_t len)
{
	char raw[1200];
	int n = label_raw(cs, raw, sizeof(raw));

	if (!len)
		return 0;
	buf[0] = 0;
	if (n <= 0)
		return n;
	if ((size_t)n >= sizeof(raw))
		n = (int)sizeof(raw) - 1;
	return (int)tg_escape_text(raw, (size_t)n, buf, len);
}
