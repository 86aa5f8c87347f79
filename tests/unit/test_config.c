// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"

static const struct tg_config_key keys[] = {
	{"format", true},   {"output", true},	    {"enforce", false},
	{"dry-run", false}, {"ringbuf-size", true},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int parse(const char *yaml, struct tg_daemon_config *c, char *err, size_t errlen)
{
	return tg_config_parse("c.yaml", yaml, strlen(yaml), keys, NKEYS, c, err, errlen);
}

static void test_valid(void **state)
{
	struct tg_daemon_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(parse("format: json\noutput: /var/log/t.json\nenforce: yes\n"
			       "dry-run: false\nringbuf-size: 16\n",
			       &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.argc, 5); /* argv[0] + four: a false flag gives no argument */
	assert_null(c.argv[0]);
	assert_string_equal(c.argv[1], "--format=json");
	assert_string_equal(c.argv[2], "--output=/var/log/t.json");
	assert_string_equal(c.argv[3], "--enforce");
	assert_string_equal(c.argv[4], "--ringbuf-size=16");
	assert_null(c.argv[5]);
	assert_string_equal(c.text, "format: json\noutput: /var/log/t.json\nenforce: true\n"
				    "dry-run: false\nringbuf-size: 16\n");
	tg_config_free(&c);
}

static void test_empty_and_trailing_separator(void **state)
{
	struct tg_daemon_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.argc, 1);
	tg_config_free(&c);
	assert_int_equal(parse("# only comments\n", &c, err, sizeof(err)), 0);
	tg_config_free(&c);
	assert_int_equal(parse("format: json\n---\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.argc, 2);
	tg_config_free(&c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{"format: json\nbogus: 1\n", "c.yaml:2:1: unknown option 'bogus'; expected one of: "
					     "format, output, enforce, dry-run, ringbuf-size"},
		{"format: json\nformat: text\n", "c.yaml:2:1: 'format' given twice"},
		{"enforce: maybe\n", "c.yaml:1:10: 'enforce' is 'maybe'; expected true or false"},
		{"output: [a, b]\n", "c.yaml:1:9: 'output' has a list value"},
		{"output: {a: b}\n", "c.yaml:1:9: 'output' has a mapping value"},
		{"output:\n", "c.yaml:1:8: 'output' has no value"},
		{"- format\n", "c.yaml:1:1: the configuration is not a mapping"},
		{"just text\n", "c.yaml:1:1: the configuration is not a mapping"},
		{"[a]: b\n", "c.yaml:1:1: a key that is not a name"},
		{"format: json\n---\nformat: text\n", "c.yaml:3:1: a second YAML document"},
		{"format: 'json\n", "c.yaml:"},
		{"\"\\e[31mx\": 1\n", "unknown option '\\x1b[31mx'"},
	};
	struct tg_daemon_config c;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		if (parse(cases[i].yaml, &c, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", cases[i].yaml);
		if (!strstr(err, cases[i].want))
			fail_msg("for %s: got '%s', want '%s'", cases[i].yaml, err, cases[i].want);
		for (const char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20)
				fail_msg("control byte in message: %s", err);
		assert_null(c.argv);
	}
}

static void test_load_missing_file(void **state)
{
	struct tg_daemon_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(tg_config_load("/nonexistent/tg.yaml", keys, NKEYS, &c, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot read /nonexistent/tg.yaml: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_empty_and_trailing_separator),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
