// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Escaping of hostile names. File names are chosen by whoever created the file, which for this
 * tool is often the attacker, so every byte is treated as hostile. Pure.
 */
#include <stdint.h>
#include <string.h>
#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s (1..4) and its code point, or 0 when s does not
 * start one. The second-byte ranges are those of Unicode's table 3-7: they reject overlongs
 * (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF
 * (F4 90.., F5..FF) without decoding first.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;
	uint32_t c;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/*
 * Code points a terminal does not print but acts on, escaped even though they are valid UTF-8:
 * the C1 controls (U+009B is CSI, an 8-bit ANSI escape on terminals that honour it), the line
 * and paragraph separators, and the bidi controls that let a name display in a different
 * order from its bytes ("Trojan Source", CVE-2021-42574).
 */
static bool cp_unsafe(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

bool tg_utf8_valid(const char *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, l;
	uint32_t c;

	while (i < n) {
		if (!s[i])
			return false;
		l = utf8_seq(s + i, n - i, &c);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/*
 * snprintf-style output. Each unit (one escape, or one whole character) is written whole or
 * not at all, and nothing after the first unit that does not fit: a truncated result is then
 * a prefix of the full one that never ends in half a "\xNN" or half a UTF-8 character.
 */
struct sink {
	char *out;
	size_t outlen;
	size_t need; /* length of the full result so far */
	size_t pos;  /* bytes written to out */
	bool full;
};

static void put(struct sink *k, const void *unit, size_t len)
{
	if (!k->full && k->pos + len < k->outlen) {
		memcpy(k->out + k->pos, unit, len);
		k->pos += len;
	} else {
		k->full = true;
	}
	k->need += len;
}

static void put_hex(struct sink *k, unsigned char b)
{
	static const char hex[] = "0123456789abcdef";
	char u[4] = {'\\', 'x', hex[b >> 4], hex[b & 0xf]};

	put(k, u, sizeof(u));
}

static size_t finish(struct sink *k)
{
	if (k->outlen)
		k->out[k->pos] = '\0';
	return k->need;
}

size_t tg_escape_text(const char *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = {.out = out, .outlen = outlen};
	size_t i = 0, l, j;
	uint32_t c;

	while (i < n) {
		unsigned char b = s[i];

		if (b < 0x80) {
			if (b == '\\')
				put(&k, "\\\\", 2);
			else if (b == '\n')
				put(&k, "\\n", 2);
			else if (b == '\r')
				put(&k, "\\r", 2);
			else if (b == '\t')
				put(&k, "\\t", 2);
			else if (b < 0x20 || b == 0x7f)
				put_hex(&k, b);
			else
				put(&k, &b, 1);
			i++;
			continue;
		}
		l = utf8_seq(s + i, n - i, &c);
		if (!l) {
			/* One byte at a time: the next byte may start a valid sequence. */
			put_hex(&k, b);
			i++;
		} else if (cp_unsafe(c)) {
			for (j = 0; j < l; j++)
				put_hex(&k, s[i + j]);
			i += l;
		} else {
			put(&k, s + i, l);
			i += l;
		}
	}
	return finish(&k);
}

size_t tg_escape_json_bytes(const char *in, size_t n, char *out, size_t outlen,
			    bool *lossless_escaped)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = {.out = out, .outlen = outlen};
	bool valid = tg_utf8_valid(in, n);
	size_t i = 0, l;
	uint32_t c;

	/* Valid UTF-8 that holds a C1 or bidi control is escaped too: json-c would pass it raw,
	 * and a terminal showing the JSON would act on it. */
	for (i = 0; valid && i < n; i += l) {
		l = utf8_seq(s + i, n - i, &c);
		if (cp_unsafe(c))
			valid = false;
	}
	i = 0;
	if (lossless_escaped)
		*lossless_escaped = !valid;
	while (i < n) {
		l = utf8_seq(s + i, n - i, &c);
		if (valid) {
			/* Whole characters only, so a truncated copy is still valid UTF-8. */
			put(&k, s + i, l);
			i += l;
		} else if (s[i] == '\\') {
			/* Doubled so that a literal "\xNN" in the name cannot pass for an escape.
			 */
			put(&k, "\\\\", 2);
			i++;
		} else if (!l || s[i] == '\0') {
			/* NUL counts as invalid (tg_utf8_valid says so) and would end the string.
			 */
			put_hex(&k, s[i]);
			i++;
		} else if (cp_unsafe(c)) {
			for (size_t j = 0; j < l; j++)
				put_hex(&k, s[i + j]);
			i += l;
		} else {
			put(&k, s + i, l);
			i += l;
		}
	}
	return finish(&k);
}
