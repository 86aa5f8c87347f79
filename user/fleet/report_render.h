/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `tmpguard report`: the five renderings of one model (report.h), and the escaping each format
 * needs. Pure (writes to the FILE it is given). Every string of the model is hostile: each
 * renderer first makes it printable (tg_escape_text: no control byte, no invalid UTF-8, no
 * bidi control survives), then escapes it for its format.
 */
#ifndef TG_REPORT_RENDER_H
#define TG_REPORT_RENDER_H

#include <stdio.h>
#include <json-c/json.h>
#include "report.h"

/* Each returns 0, or -errno when writing failed. */
int tg_rpt_md(FILE *out, const struct tg_rpt *r, const char *version);
int tg_rpt_html(FILE *out, const struct tg_rpt *r, const char *version);
int tg_rpt_csv(FILE *out, const struct tg_rpt *r);
int tg_rpt_json_write(FILE *out, const struct tg_rpt *r, const char *version);
int tg_rpt_sarif_write(FILE *out, const struct tg_rpt *r, const char *version);

/* The model as one JSON object, and as a SARIF 2.1.0 log (caller puts them). */
json_object *tg_rpt_json(const struct tg_rpt *r, const char *version);
json_object *tg_rpt_sarif(const struct tg_rpt *r, const char *version);

/*
 * Escapers: each writes s (NUL-terminated bytes) to out.
 *   md:   for a Markdown paragraph or table cell: \ ` * _ [ ] | ~ @ are backslash-escaped,
 *         and so are the ':' of "://" and the '.' of "www." (no autolink), & < > become
 *         entities, a leading block marker (# + - = "1.") is escaped;
 *   html: & < > " ' become entities;
 *   csv:  one RFC 4180 field (quoted when it holds , " or a space at either end; quotes
 *         doubled); a field starting with = + - @ TAB or CR gets a leading ' so that
 *         spreadsheets do not run it as a formula.
 * All three write the printable form (tg_escape_text) of s: a newline is the text "\n".
 */
void tg_md_escape(FILE *out, const char *s);
void tg_html_escape(FILE *out, const char *s);
void tg_csv_field(FILE *out, const char *s);
/* A URI for an executable: file:///abs/path, or a relative reference for a bare name, every
 * byte outside A-Z a-z 0-9 - . _ ~ / percent-encoded. Caller frees; NULL on ENOMEM. */
char *tg_file_uri(const char *path);

#endif
