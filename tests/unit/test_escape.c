// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/util/escape.c: hostile names for terminals and JSON. Unprivileged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>
#include <json.h>
#include "util/escape.h"

/* Both escapers, on the bytes of a literal (which may hold NULs), checked in full. */
#define TEXT(lit, want)	      check_text(lit, sizeof(lit) - 1, want)
#define JSONB(lit, want, esc) check_json(lit, sizeof(lit) - 1, want, esc)

static void check_text(const char *in, size_t n, const char *want)
{
	char out[256];
	size_t need = tg_escape_text(in, n, out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(need, strlen(want));
}

static void check_json(const char *in, size_t n, const char *want, bool want_escaped)
{
	char out[256];
	bool escaped = !want_escaped;
	size_t need = tg_escape_json_bytes(in, n, out, sizeof(out), &escaped);

	assert_string_equal(out, want);
	assert_int_equal(need, strlen(want));
	assert_int_equal(escaped, want_escaped);
}

/* No byte a terminal would act on: C0, DEL, and the C1 range as UTF-8 (C2 80..C2 9F). */
static void assert_no_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (*p == 0xc2)
			assert_false(p[1] >= 0x80 && p[1] <= 0x9f);
	}
}

/* What json-c would pass raw: the C1 controls and the bidi controls. */
static void assert_no_c1_bidi(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p == 0xc2)
			assert_false(p[1] >= 0x80 && p[1] <= 0x9f);
		if (p[0] == 0xe2 && p[1] == 0x80)
			assert_false(p[2] >= 0xaa && p[2] <= 0xae);
		if (p[0] == 0xe2 && p[1] == 0x81)
			assert_false(p[2] >= 0xa6 && p[2] <= 0xa9);
	}
}

static void test_plain(void **state)
{
	(void)state;
	TEXT("", "");
	TEXT("/tmp/foo.txt", "/tmp/foo.txt");
	/* Quotes are printable ASCII: they pass, JSON quoting is json-c's business. */
	TEXT("a\"b'c", "a\"b'c");
	TEXT("a b~", "a b~");
}

static void test_whitespace_controls(void **state)
{
	(void)state;
	TEXT("a\nb", "a\\nb");
	TEXT("a\rb", "a\\rb");
	TEXT("a\tb", "a\\tb");
	TEXT("x\r\n", "x\\r\\n");
	TEXT("\a\b\f\v", "\\x07\\x08\\x0c\\x0b");
	TEXT("a\0b", "a\\x00b");
	TEXT("\x7f", "\\x7f");
	TEXT("\x1f ", "\\x1f ");
}

static void test_ansi(void **state)
{
	(void)state;
	/* The escape goes, so "[31m" is left as harmless text. */
	TEXT("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	/* An OSC 52 clipboard write. */
	TEXT("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07");
	/* C1 CSI as UTF-8 (U+009B), and the whole C1 range's ends. */
	TEXT("\xc2\x9b"
	     "31m",
	     "\\xc2\\x9b31m");
	TEXT("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
	/* U+00A0 is the first character past C1: it passes. */
	TEXT("\xc2\xa0", "\xc2\xa0");
	/* A raw 8-bit C1 byte is not UTF-8 at all. */
	TEXT("\x9b"
	     "31m",
	     "\\x9b31m");
}

static void test_backslash(void **state)
{
	(void)state;
	TEXT("a\\b", "a\\\\b");
	/* A name that spells an escape must not read as one. */
	TEXT("\\x1b", "\\\\x1b");
	TEXT("\\\\", "\\\\\\\\");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	TEXT("\xff", "\\xff");
	TEXT("a\xfe"
	     "b",
	     "a\\xfeb");
	/* Overlong "/" (the classic path-traversal disguise). */
	TEXT("\xc0\xaf", "\\xc0\\xaf");
	TEXT("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	TEXT("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
	/* UTF-16 surrogates D800 and DFFF. */
	TEXT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	TEXT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	/* U+D7FF, just below the surrogates, is fine. */
	TEXT("\xed\x9f\xbf", "\xed\x9f\xbf");
	/* Past U+10FFFF. */
	TEXT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	TEXT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	/* Truncated sequences, at the end and in the middle. */
	TEXT("\xe2\x82", "\\xe2\\x82");
	TEXT("\xe2\x82"
	     "x",
	     "\\xe2\\x82x");
	/* A stray continuation byte, then a valid sequence that must survive. */
	TEXT("\x80\xc3\xa9", "\\x80\xc3\xa9");
	/* A broken lead byte does not swallow the valid character after it. */
	TEXT("\xe2\xc3\xa9", "\\xe2\xc3\xa9");
}

static void test_valid_multibyte(void **state)
{
	(void)state;
	TEXT("caf\xc3\xa9", "caf\xc3\xa9");			      /* café */
	TEXT("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
	TEXT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");		      /* 😀 */
	TEXT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");		      /* U+10FFFF */
	TEXT("\xef\xbb\xbf", "\xef\xbb\xbf"); /* BOM: invisible, but not a control */
}

static void test_unicode_format_controls(void **state)
{
	(void)state;
	/* Trojan Source: RLO makes "exe.txt" read as "txt.exe". */
	TEXT("a\xe2\x80\xae"
	     "b",
	     "a\\xe2\\x80\\xaeb");
	TEXT("\xe2\x81\xa6\xe2\x81\xa9", "\\xe2\\x81\\xa6\\xe2\\x81\\xa9"); /* LRI, PDI */
	TEXT("\xe2\x80\x8f", "\\xe2\\x80\\x8f");			    /* RLM */
	TEXT("\xd8\x9c", "\\xd8\\x9c");					    /* ALM */
	TEXT("\xe2\x80\xa8\xe2\x80\xa9", "\\xe2\\x80\\xa8\\xe2\\x80\\xa9"); /* LS, PS */
	/* Their neighbours pass. */
	TEXT("\xe2\x80\xaf\xe2\x80\xa7", "\xe2\x80\xaf\xe2\x80\xa7");
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(tg_utf8_valid("", 0));
	assert_true(tg_utf8_valid("abc", 3));
	assert_true(tg_utf8_valid("a\nb", 3));
	assert_true(tg_utf8_valid("\xe6\x97\xa5\xf0\x9f\x98\x80", 7));
	assert_false(tg_utf8_valid("a\0b", 3));
	assert_false(tg_utf8_valid("\xff", 1));
	assert_false(tg_utf8_valid("\xc0\xaf", 2));
	assert_false(tg_utf8_valid("\xed\xa0\x80", 3));
	assert_false(tg_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(tg_utf8_valid("\xe2\x82", 2));
	/* n bounds the read: a sequence cut by n is truncated even if more bytes follow. */
	assert_false(tg_utf8_valid("\xe2\x82\xac", 2));
	assert_true(tg_utf8_valid("\xe2\x82\xac", 3));
}

/* Every prefix length of the output buffer, with a canary right past it. */
static void check_truncation(const char *in, size_t n, const char *full)
{
	char buf[128];
	size_t len, flen = strlen(full);

	for (len = 0; len <= flen + 1; len++) {
		size_t need;

		memset(buf, 'Z', sizeof(buf));
		need = tg_escape_text(in, n, len ? buf : NULL, len);
		assert_int_equal(need, flen);
		if (!len)
			continue;
		assert_int_equal(buf[len], 'Z');
		assert_true(strlen(buf) < len);
		/* A prefix of the full result, cut only between units. */
		assert_memory_equal(buf, full, strlen(buf));
		assert_no_control(buf);
		assert_true(tg_utf8_valid(buf, strlen(buf)));
	}
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	check_truncation("\x1b[31m\n\xe6\x97\xa5\xff\\", 11, "\\x1b[31m\\n\xe6\x97\xa5\\xff\\\\");

	/* Units are whole: "ab" then "\x1b" does not fit in 5 bytes with its NUL. */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(tg_escape_text("ab\x1b", 3, buf, 5), 6);
	assert_string_equal(buf, "ab");
	assert_int_equal(buf[5], 'Z');
	/* Nor is half of a character written: "a" + 3 bytes of 日 need 5 bytes. */
	assert_int_equal(tg_escape_text("a\xe6\x97\xa5", 4, buf, 4), 4);
	assert_string_equal(buf, "a");
	/* Once a unit is dropped nothing after it is written, even if it would fit. */
	assert_int_equal(tg_escape_text("\x1bq", 2, buf, 3), 5);
	assert_string_equal(buf, "");
	assert_int_equal(tg_escape_text("abc", 3, buf, 1), 3);
	assert_string_equal(buf, "");
}

static void test_json_bytes_valid(void **state)
{
	(void)state;
	/* Valid UTF-8 with C0 controls is copied unchanged: json-c escapes those (\u001b). */
	JSONB("a\nb\x1b[31m\"\\", "a\nb\x1b[31m\"\\", false);
	JSONB("\xe6\x97\xa5", "\xe6\x97\xa5", false);
	JSONB("", "", false);
	/* json-c passes C1 and bidi controls raw: they are written in the lossless form. */
	JSONB("\xe6\x97\xa5\xc2\x9b", "\xe6\x97\xa5\\xc2\\x9b", true);
	JSONB("a\xe2\x80\xae"
	      "b\\",
	      "a\\xe2\\x80\\xaeb\\\\", true);
	JSONB("\xe2\x81\xa6x", "\\xe2\\x81\\xa6x", true);
}

static void test_json_bytes_invalid(void **state)
{
	(void)state;
	/* Invalid bytes become text, backslash is doubled so the text is unambiguous. */
	JSONB("a\xff\\b", "a\\xff\\\\b", true);
	JSONB("\xc0\xaf\n\xe6\x97\xa5", "\\xc0\\xaf\n\xe6\x97\xa5", true);
	JSONB("\xed\xa0\x80", "\\xed\\xa0\\x80", true);
	/* NUL makes the input invalid and is escaped, or it would end the string. */
	JSONB("a\0b", "a\\x00b", true);
	/* The literal text "\xff" and the byte 0xff come out differently. */
	JSONB("\\xff\xff", "\\\\xff\\xff", true);
}

static void test_json_bytes_truncation(void **state)
{
	char buf[8];
	bool esc = true;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	/* Valid input cut at a character boundary stays valid UTF-8. */
	assert_int_equal(tg_escape_json_bytes("ab\xe6\x97\xa5", 5, buf, 5, &esc), 5);
	assert_false(esc);
	assert_string_equal(buf, "ab");
	assert_int_equal(buf[5], 'Z');
	assert_int_equal(tg_escape_json_bytes("\xff", 1, buf, 4, &esc), 4);
	assert_true(esc);
	assert_string_equal(buf, "");
	assert_int_equal(tg_escape_json_bytes("\xff", 1, NULL, 0, NULL), 4);
}

/*
 * The output must survive json-c: one line, and parsed back to the same string. json-c escapes
 * only C0 controls, so the terminal-safety of the document (no C1 either) is checked only for
 * the terminal form; the JSON form passes valid C1 and bidi characters through by contract.
 */
static void check_json_roundtrip(const char *s, size_t n, bool terminal_safe)
{
	json_object *o = json_object_new_string_len(s, (int)n);
	const char *doc = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	json_object *back;

	assert_non_null(doc);
	assert_null(strchr(doc, '\n'));
	assert_null(strchr(doc, '\r'));
	if (terminal_safe) {
		assert_no_control(doc);
	} else {
		for (const char *p = doc; *p; p++)
			assert_true((unsigned char)*p >= 0x20);
	}
	back = json_tokener_parse(doc);
	assert_non_null(back);
	assert_true(json_object_is_type(back, json_type_string));
	assert_int_equal(json_object_get_string_len(back), n);
	assert_memory_equal(json_object_get_string(back), s, n);
	json_object_put(back);
	json_object_put(o);
}

static const struct {
	const char *s;
	size_t n;
} hostile[] = {
#define H(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}
	H("plain"),
	H("new\nline\r\"quoted\"\t"),
	H("\x1b[31mred\x1b[0m\x7f"),
	H("\xc2\x9b"
	  "31m"),
	H("\xff\xc0\xaf\xed\xa0\x80\xe2\x82"),
	H("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"),
	H("back\\slash \\x41 \\u0041"),
	H("nul\0inside"),
	H("a\xe2\x80\xae"
	  "b\xe2\x80\xa8"),
#undef H
};

static void test_json_c_roundtrip(void **state)
{
	char out[256];
	size_t i, n;
	bool esc;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		/* The terminal form is plain text, so json-c must carry it verbatim. */
		n = tg_escape_text(hostile[i].s, hostile[i].n, out, sizeof(out));
		assert_true(n < sizeof(out));
		assert_no_control(out);
		check_json_roundtrip(out, n, true);

		/* The JSON form is always valid UTF-8 without NUL: what json-c needs. */
		n = tg_escape_json_bytes(hostile[i].s, hostile[i].n, out, sizeof(out), &esc);
		assert_true(n < sizeof(out));
		assert_true(tg_utf8_valid(out, n));
		if (!tg_utf8_valid(hostile[i].s, hostile[i].n))
			assert_true(esc);
		assert_no_c1_bidi(out);
		check_json_roundtrip(out, n, false);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_whitespace_controls),
		cmocka_unit_test(test_ansi),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_valid_multibyte),
		cmocka_unit_test(test_unicode_format_controls),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_json_bytes_valid),
		cmocka_unit_test(test_json_bytes_invalid),
		cmocka_unit_test(test_json_bytes_truncation),
		cmocka_unit_test(test_json_c_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
