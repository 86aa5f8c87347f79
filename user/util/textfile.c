// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading the text files tmpguard is configured with, and saying where libyaml stopped. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "textfile.h"

char *tg_read_text_file(const char *path, size_t max, const char *what, size_t *lenp, char *err,
			size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb;

			if (cap >= max) {
				if (err && errlen)
					snprintf(err, errlen,
						 "cannot read %s: larger than %zu KiB; expected a "
						 "%s",
						 path, max >> 10, what);
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				if (err && errlen)
					snprintf(err, errlen, "cannot read %s: %s", path,
						 strerror(ENOMEM));
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				if (err && errlen)
					snprintf(err, errlen, "cannot read %s: %s", path,
						 strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	*lenp = len;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte offset only. */
static void offset_to_mark(const char *yaml, size_t len, size_t off, yaml_mark_t *mark)
{
	size_t i;

	mark->line = 0;
	mark->column = 0;
	for (i = 0; i < off && i < len; i++) {
		if (yaml[i] == '\n') {
			mark->line++;
			mark->column = 0;
		} else {
			mark->column++;
		}
	}
}

__attribute__((format(printf, 5, 6))) static void fail(char *err, size_t errlen, const char *name,
						       const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	/* libyaml's marks are 0-based; editors and compilers count from 1 */
	n = snprintf(err, errlen, "%s:%zu:%zu: ", name, m->line + 1, m->column + 1);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
}

void tg_yaml_error(const yaml_parser_t *parser, const char *name, const char *yaml, size_t len,
		   char *err, size_t errlen)
{
	const char *problem = parser->problem ? parser->problem : "syntax error";
	yaml_mark_t m = {0};

	if (parser->error == YAML_MEMORY_ERROR) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return;
	}
	/* At the end of the input libyaml's mark is past a line break the file may not have:
	 * name the last character instead of a line that does not exist. */
	if (parser->error == YAML_READER_ERROR)
		offset_to_mark(yaml, len, parser->problem_offset, &m);
	else if (parser->problem_mark.index >= len)
		offset_to_mark(yaml, len, len, &m);
	else
		m = parser->problem_mark;
	if (parser->error == YAML_READER_ERROR && parser->problem_value != -1)
		fail(err, errlen, name, &m,
		     "not YAML: %s (#x%X); expected UTF-8 text without control characters",
		     parser->problem ? parser->problem : "unreadable input",
		     (unsigned int)parser->problem_value);
	else if (parser->context && strstr(parser->context, "alias"))
		/* the usual cause: rule: * (a bare * starts an alias) */
		fail(err, errlen, name, &m,
		     "not YAML: %s %s; expected well-formed YAML (write a lone * quoted: "
		     "rule: \"*\")",
		     problem, parser->context);
	else if (parser->context && parser->context_mark.line < m.line)
		/* an unclosed quote or bracket: where it was opened is the useful part */
		fail(err, errlen, name, &m,
		     "not YAML: %s %s (from line %zu); expected well-formed YAML", problem,
		     parser->context, parser->context_mark.line + 1);
	else if (parser->context)
		fail(err, errlen, name, &m, "not YAML: %s %s; expected well-formed YAML", problem,
		     parser->context);
	else
		fail(err, errlen, name, &m, "not YAML: %s; expected well-formed YAML", problem);
}
