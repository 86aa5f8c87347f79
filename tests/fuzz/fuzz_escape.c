// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for output escaping: every byte string a hostile file name can hold.
 * Checks the properties the outputs rely on, not just the absence of crashes:
 *   tg_escape_text: no raw control byte (C0, DEL, C1) in the result, valid UTF-8, and the
 *     length it reports is the length it writes;
 *   tg_escape_json_bytes / tg_json_bytes: the result is valid UTF-8, valid input passes
 *     unchanged, and the \xNN form decodes back to the input exactly (lossless);
 *   truncation: a short buffer is always NUL-terminated and a prefix of the full result.
 *
 *   tests/fuzz/run_fuzz.sh ./fuzz_escape 60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "util/escape.h"
#include "util/json_util.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undoes the lossless form: "\\" is a backslash, "\xNN" a byte. */
static size_t unescape(const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\\' && i + 1 < n && in[i + 1] == '\\') {
			out[o++] = '\\';
			i++;
		} else if (in[i] == '\\' && i + 3 < n && in[i + 1] == 'x' &&
			   hexval(in[i + 2]) >= 0 && hexval(in[i + 3]) >= 0) {
			out[o++] = (char)(hexval(in[i + 2]) * 16 + hexval(in[i + 3]));
			i += 3;
		} else if (in[i] == '\\') {
			abort(); /* a lone backslash: the form is ambiguous */
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t need, got, small;
	char *out, *back, *part;
	bool esc;

	/* tg_escape_text */
	need = tg_escape_text(in, size, NULL, 0);
	out = malloc(need + 1);
	if (!out)
		abort();
	got = tg_escape_text(in, size, out, need + 1);
	if (got != need || strlen(out) != need || !tg_utf8_valid(out, need))
		abort();
	for (size_t i = 0; i < need; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < need && (unsigned char)out[i + 1] >= 0x80 &&
		     (unsigned char)out[i + 1] <= 0x9f))
			abort();
	}
	small = size % 17;
	part = malloc(small + 1);
	if (!part)
		abort();
	tg_escape_text(in, size, part, small + 1);
	if (strlen(part) > small || strncmp(part, out, strlen(part)))
		abort();
	free(part);
	free(out);

	/* tg_escape_json_bytes */
	need = tg_escape_json_bytes(in, size, NULL, 0, &esc);
	out = malloc(need + 1);
	back = malloc(need + 1);
	if (!out || !back)
		abort();
	tg_escape_json_bytes(in, size, out, need + 1, &esc);
	if (!tg_utf8_valid(out, need) && need)
		abort();
	if (!esc) {
		if (need != size || memcmp(out, in, size))
			abort(); /* valid, safe UTF-8 passes unchanged */
		/* and holds no C1 or bidi control (json-c would pass them raw) */
		for (size_t i = 0; i + 1 < size; i++)
			if ((unsigned char)in[i] == 0xc2 && (unsigned char)in[i + 1] >= 0x80 &&
			    (unsigned char)in[i + 1] <= 0x9f)
				abort();
	} else if (unescape(out, need, back) != size || memcmp(back, in, size)) {
		abort(); /* lossless */
	}
	free(out);
	free(back);

	/* tg_json_bytes: the string json-c holds is what was checked above */
	{
		json_object *o = tg_json_bytes(in, size, &esc);
		const char *s = json_object_get_string(o);

		if (!tg_utf8_valid(s, strlen(s)) && *s)
			abort();
		json_object_put(o);
	}
	return 0;
}
