// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/util/: FNV-1a values that must never change, JSON getters' defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "util/hash.h"
#include "util/json_util.h"

/* FNV-1a's published 64-bit vectors: the step and the basis are FNV's own. */
static void test_fnv1a_vectors(void **state)
{
	(void)state;
	assert_true(tg_fnv1a_str(TG_FNV1A_BASIS, "") == 0xcbf29ce484222325ULL);
	assert_true(tg_fnv1a_str(TG_FNV1A_BASIS, "a") == 0xaf63dc4c8601ec8cULL);
	assert_true(tg_fnv1a_str(TG_FNV1A_BASIS, "foobar") == 0x85944171f73967e8ULL);
	assert_true(tg_fnv1a_str(TG_FNV1A_BASIS, NULL) == TG_FNV1A_BASIS);
	/* bytes, not chars: 0xff folds in as 255 */
	assert_true(tg_fnv1a_str(1, "\xff") == tg_fnv1a_step(1, 0xff));
}

/* The report's table hash of two strings. */
static uint64_t pair(const char *a, const char *b)
{
	return tg_fnv1a_str(tg_fnv1a_step(tg_fnv1a_str(TG_FNV1A_BASIS_REPORT, a), TG_FNV1A_SEP), b);
}

/*
 * A SARIF fingerprint is this hash over rule, executable and pattern: viewers match results
 * across runs by it, so its value for a given finding is part of the output format: this is
 * the one tmpguard has always written for it.
 */
static void test_fnv1a_report_fingerprint(void **state)
{
	const char *parts[] = {"nonexclusive-create", "/usr/bin/dash", "/tmp/f.*"};
	uint64_t h = TG_FNV1A_BASIS_REPORT;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		h = tg_fnv1a_step(tg_fnv1a_str(h, parts[i]), TG_FNV1A_SEP);
	assert_true(h == 0x5729a30c512f9e50ULL);
	/* the separator keeps ("ab", "") and ("a", "b") apart */
	assert_true(pair("ab", "") != pair("a", "b"));
}

static void test_json_getters(void **state)
{
	json_object *o = json_tokener_parse("{\"s\":\"x\",\"i\":-7,\"big\":9007199254740993,"
					    "\"b\":false,\"n\":null,\"a\":[1,2,3],\"o\":{\"k\":1},"
					    "\"si\":\"12\",\"d\":1.5}");
	int64_t v = 42;

	(void)state;
	assert_non_null(o);
	assert_string_equal(tg_json_str(o, "s", NULL), "x");
	assert_int_equal(tg_json_int(o, "i", 0), -7);
	assert_true(tg_json_int(o, "big", 0) == 9007199254740993LL);
	assert_int_equal(tg_json_bool(o, "b", -1), 0);
	assert_int_equal(tg_json_array_len(tg_json_get(o, "a")), 3);
	assert_int_equal(tg_json_int(tg_json_get(o, "o"), "k", 0), 1);
	assert_true(tg_json_int_ex(o, "i", &v));
	assert_int_equal(v, -7);

	/* absent, null and another type all give the default */
	assert_null(tg_json_get(o, "missing"));
	assert_null(tg_json_get(o, "n"));
	assert_string_equal(tg_json_str(o, "missing", "d"), "d");
	assert_string_equal(tg_json_str(o, "n", "d"), "d");
	assert_string_equal(tg_json_str(o, "i", "d"), "d");
	assert_null(tg_json_str(o, "a", NULL));
	assert_int_equal(tg_json_int(o, "si", -1), -1); /* a string of digits is not an integer */
	assert_int_equal(tg_json_int(o, "d", -1), -1);
	assert_int_equal(tg_json_int(o, "n", 5), 5);
	assert_int_equal(tg_json_bool(o, "s", -1), -1);
	assert_int_equal(tg_json_bool(o, "i", -1), -1);
	v = 42;
	assert_false(tg_json_int_ex(o, "s", &v));
	assert_false(tg_json_int_ex(o, "missing", &v));
	assert_int_equal(v, 42);
	assert_int_equal(tg_json_array_len(tg_json_get(o, "o")), 0);
	assert_int_equal(tg_json_array_len(NULL), 0);

	/* a NULL record or one that is not an object has no members */
	assert_null(tg_json_get(NULL, "s"));
	assert_string_equal(tg_json_str(NULL, "s", ""), "");
	assert_int_equal(tg_json_int(tg_json_get(o, "a"), "s", 3), 3);
	assert_null(tg_json_get(tg_json_get(o, "s"), "s"));
	json_object_put(o);
}

/* The C string a renderer uses is the text the JSON string holds, byte for byte. */
static void test_json_bytes_dup(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
		bool escaped;
	} cases[] = {
		{"/tmp/plain", 10, "/tmp/plain", false},
		{"/tmp/a\nb", 8, "/tmp/a\nb", false},
		{"bad\xff", 4, "bad\\xff", true},
		{"back\\slash\xc3", 11, "back\\\\slash\\xc3", true},
		{"nul\0after", 9, "nul\\x00after", true},
		{"", 0, "", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool e1 = !cases[i].escaped, e2 = cases[i].escaped;
		char *dup = tg_json_bytes_dup(cases[i].in, cases[i].n, &e1);
		json_object *o = tg_json_bytes(cases[i].in, cases[i].n, &e2);

		assert_non_null(dup);
		assert_string_equal(dup, cases[i].want);
		assert_string_equal(dup, json_object_get_string(o));
		assert_int_equal(e1, cases[i].escaped);
		assert_int_equal(e2, cases[i].escaped);
		free(dup);
		json_object_put(o);
	}
	free(tg_json_bytes_dup("x", 1, NULL)); /* escaped may be NULL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv1a_vectors),
		cmocka_unit_test(test_fnv1a_report_fingerprint),
		cmocka_unit_test(test_json_getters),
		cmocka_unit_test(test_json_bytes_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
