/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text and JSON renderings of a finding. Pure (writes to the FILE it is given). */
#ifndef TG_OUTPUT_H
#define TG_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "advice.h"
#include "finding.h"
#include "rules.h"

/* The advice for r: its language's for its rule (tg_advice), or the one for a node that is
 * not a regular file; with a call site and a buf (len > 0), naming it (tg_advice_at, in buf). */
const char *tg_report_advice(const struct tg_report *r, char *buf, size_t len);
#define TG_ADVICE_AT_LEN 2048 /* room for the advice and its call site */
/* The finding as a JSON object (caller puts it). */
json_object *tg_report_json(const struct tg_report *r);
/* One line of JSON, newline-terminated. Returns 0 or -errno. */
int tg_output_json(FILE *out, const struct tg_report *r);
/* One readable block; never writes a raw control byte from the event. */
int tg_output_text(FILE *out, const struct tg_report *r);

#endif
