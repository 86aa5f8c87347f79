/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one CSV column set of `tmpguard query --format csv` and `tmpguard report --format csv`:
 * a row per finding, its cells taken from the finding's JSON record the same way for both, so
 * that the two outputs of one store hold the same columns with the same values. The columns
 * are listed in docs/schema/README.md.
 */
#ifndef TG_FINDING_CSV_H
#define TG_FINDING_CSV_H

#include <stdio.h>
#include <json-c/json.h>

/* The header line, CRLF-terminated (RFC 4180). Returns -1 on a write error. */
int tg_finding_csv_header(FILE *out);

/* The row of finding record f, CRLF-terminated, every cell in its printable form and quoted as
 * RFC 4180 wants, formulas neutralised (tg_csv_field). Caller frees; NULL on ENOMEM. */
char *tg_finding_csv_row(json_object *f);

#endif
