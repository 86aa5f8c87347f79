/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * json-c helpers: members of a record read with a default, whatever the record holds (a
 * missing member, JSON null and a value of another type all give the default), and strings of
 * untrusted bytes for JSON and for a terminal.
 */
#ifndef TG_JSON_UTIL_H
#define TG_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Member key of o; NULL when o is NULL or not an object, or the member is absent or null. */
json_object *tg_json_get(json_object *o, const char *key);
/* Member key when it is a JSON string, else dflt. */
const char *tg_json_str(json_object *o, const char *key, const char *dflt);
/* Member key when it is a JSON integer, else dflt. */
int64_t tg_json_int(json_object *o, const char *key, int64_t dflt);
/* true with *out set when member key is a JSON integer; false (*out untouched) otherwise. */
bool tg_json_int_ex(json_object *o, const char *key, int64_t *out);
/* Member key when it is a JSON boolean (1 or 0), else dflt. */
int tg_json_bool(json_object *o, const char *key, int dflt);
/* The length of a when it is an array, else 0 (json-c asserts on the length of anything else). */
size_t tg_json_array_len(json_object *a);

/* A JSON string of arbitrary bytes: as is when valid UTF-8, else the lossless \xNN form with
 * *escaped set (escaped may be NULL). */
json_object *tg_json_bytes(const char *s, size_t n, bool *escaped);
/* The text that tg_json_bytes(s, n, escaped) holds, as a C string (caller frees): for what
 * renders a record's strings without building its JSON. NULL on ENOMEM. */
char *tg_json_bytes_dup(const char *s, size_t n, bool *escaped);
/* A copy of s safe for a terminal (tg_escape_text); caller frees. NULL on ENOMEM. */
char *tg_text_dup(const char *s, size_t n);

#endif
