/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Strings of untrusted bytes for JSON (json-c) and for a terminal. */
#ifndef TG_JSON_UTIL_H
#define TG_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/* A JSON string of arbitrary bytes: as is when valid UTF-8, else the lossless \xNN form with
 * *escaped set (escaped may be NULL). */
json_object *tg_json_bytes(const char *s, size_t n, bool *escaped);
/* A copy of s safe for a terminal (tg_escape_text); caller frees. NULL on ENOMEM. */
char *tg_text_dup(const char *s, size_t n);

#endif
