// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Escaping for the report formats. Names come from whoever created the file, often the
 * attacker: a name must not add a table column (md |), run script (html <), run a formula
 * (csv =) or move the cursor (ESC). Each escaper starts from the printable form (tg_escape_text)
 * so that none of them has to reason about control bytes or invalid UTF-8. Pure.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "report_render.h"
#include "util/json_util.h"

/* The printable form; on ENOMEM a placeholder, never the raw bytes. */
static char *printable(const char *s)
{
	return tg_text_dup(s ? s : "", s ? strlen(s) : 0);
}

void tg_md_escape(FILE *out, const char *s)
{
	char *t = printable(s);
	const char *p;
	size_t digits;

	if (!t) {
		fputs("?", out);
		return;
	}
	/* A leading "#", "-", "+", "=", ">" or "12." would start a heading, list or quote. */
	digits = strspn(t, "0123456789");
	for (p = t; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '&')
			fputs("&amp;", out);
		else if (c == '<')
			fputs("&lt;", out);
		else if (c == '>')
			fputs("&gt;", out);
		/* GFM's autolinks need "scheme://", "www." or "user@host": break all three. */
		else if (strchr("\\`*_[]|~@", c) || (p == t && strchr("#-+=", c)) ||
			 (digits && p == t + digits && strchr(".)", c)) ||
			 (c == ':' && !strncmp(p + 1, "//", 2)) ||
			 (c == '.' && p - t >= 3 && !strncasecmp(p - 3, "www", 3)))
			fprintf(out, "\\%c", c);
		else
			fputc(c, out);
	}
	free(t);
}

void tg_html_escape(FILE *out, const char *s)
{
	char *t = printable(s);

	if (!t) {
		fputs("?", out);
		return;
	}
	for (const char *p = t; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*p, out);
		}
	}
	free(t);
}

void tg_csv_field(FILE *out, const char *s)
{
	char *t = printable(s);
	bool formula, quote;
	size_t n;

	if (!t) {
		fputs("?", out);
		return;
	}
	n = strlen(t);
	/* OWASP's list; TAB and CR cannot survive tg_escape_text, checked on s all the same. */
	formula = (s && *s && strchr("=+-@\t\r", *s)) || (*t && strchr("=+-@", *t));
	quote = formula || strpbrk(t, ",\"") || (n && (t[0] == ' ' || t[n - 1] == ' '));
	if (quote)
		fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (const char *p = t; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	if (quote)
		fputc('"', out);
	free(t);
}

char *tg_file_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *u = malloc(3 * n + 8), *w = u;

	if (!u)
		return NULL;
	if (path[0] == '/')
		w = stpcpy(w, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (isalnum(*p) || strchr("-._~/", *p)) {
			*w++ = (char)*p;
		} else {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		}
	}
	*w = 0;
	return u;
}
