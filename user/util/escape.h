/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Escaping of hostile names (newline, CR, quotes, ANSI escapes, invalid UTF-8) for a terminal
 * and for JSON. Pure.
 */
#ifndef TG_ESCAPE_H
#define TG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* true when in[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and holds no
 * NUL byte. */
bool tg_utf8_valid(const char *in, size_t n);

/*
 * For a terminal: printable ASCII and valid UTF-8 sequences of printable characters pass;
 * backslash becomes "\\"; \n \r \t become "\n" "\r" "\t"; every other C0/C1 control byte, DEL,
 * and every byte of an invalid UTF-8 sequence becomes "\xNN". The result never holds a raw
 * control byte. Always NUL-terminates out (when outlen > 0); returns the length it needed
 * (excluding NUL), like snprintf.
 */
size_t tg_escape_text(const char *in, size_t n, char *out, size_t outlen);

/*
 * For JSON strings that must stay valid UTF-8 and safe to show: if in is valid UTF-8 without
 * C1 or bidi controls it is copied unchanged (json-c escapes C0 controls itself) and
 * *lossless_escaped = false. Otherwise the result is in's bytes with backslash as "\\" and
 * each byte of an invalid sequence, of a C1 control and of a bidi control as "\xNN" (text, not
 * a JSON escape), and *lossless_escaped = true. Same return convention.
 */
size_t tg_escape_json_bytes(const char *in, size_t n, char *out, size_t outlen,
			    bool *lossless_escaped);

#endif
