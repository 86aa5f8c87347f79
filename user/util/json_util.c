// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "escape.h"
#include "json_util.h"

json_object *tg_json_bytes(const char *s, size_t n, bool *escaped)
{
	size_t need = 4 * n + 1;
	char *buf = malloc(need);
	bool lossless = false;
	json_object *o;

	if (!buf)
		return NULL;
	tg_escape_json_bytes(s, n, buf, need, &lossless);
	o = json_object_new_string(buf);
	free(buf);
	if (escaped)
		*escaped = lossless;
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
