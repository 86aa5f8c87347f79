// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "escape.h"
#include "json_util.h"

json_object *tg_json_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *tg_json_str(json_object *o, const char *key, const char *dflt)
{
	json_object *v = tg_json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

bool tg_json_int_ex(json_object *o, const char *key, int64_t *out)
{
	json_object *v = tg_json_get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

int64_t tg_json_int(json_object *o, const char *key, int64_t dflt)
{
	int64_t v = dflt;

	tg_json_int_ex(o, key, &v);
	return v;
}

int tg_json_bool(json_object *o, const char *key, int dflt)
{
	json_object *v = tg_json_get(o, key);

	return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}

size_t tg_json_array_len(json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

char *tg_json_bytes_dup(const char *s, size_t n, bool *escaped)
{
	size_t need = 4 * n + 1;
	char *buf = malloc(need);
	bool lossless = false;

	if (!buf)
		return NULL;
	tg_escape_json_bytes(s, n, buf, need, &lossless);
	if (escaped)
		*escaped = lossless;
	return buf;
}

json_object *tg_json_bytes(const char *s, size_t n, bool *escaped)
{
	char *buf = tg_json_bytes_dup(s, n, escaped);
	json_object *o;

	if (!buf)
		return NULL;
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

char *tg_text_dup(const char *s, size_t n)
{
	size_t need = tg_escape_text(s, n, NULL, 0) + 1;
	char *buf = malloc(need);

	if (buf)
		tg_escape_text(s, n, buf, need);
	return buf;
}
