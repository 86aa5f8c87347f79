// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/core/rule_registry.c: rule ids, CWEs, severities. Unprivileged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "rules.h"

/* The ids and CWEs are an interface (policies, JSON, SARIF): any change must show up here. */
static const struct {
	enum tg_rule rule;
	const char *id;
	const char *cwe;
} expected[] = {
	{TG_RULE_NONEXCLUSIVE_CREATE, "nonexclusive-create", "CWE-377"},
	{TG_RULE_CHECK_THEN_CREATE, "check-then-create", "CWE-367,CWE-377"},
	{TG_RULE_LOOSE_MODE, "loose-mode", "CWE-732,CWE-276"},
	{TG_RULE_FOREIGN_FILE_REUSE, "foreign-file-reuse", "CWE-377"},
	{TG_RULE_SYMLINK_FOLLOW, "symlink-follow", "CWE-59"},
	{TG_RULE_LOOSE_TEMPDIR, "loose-tempdir", "CWE-377,CWE-732"},
	{TG_RULE_INHERITABLE_FD, "inheritable-fd", "CWE-403"},
};

static void test_ids_and_cwes(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(sizeof(expected) / sizeof(expected[0]), TG_RULE_MAX);
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		assert_string_equal(tg_rule_id(expected[i].rule), expected[i].id);
		assert_string_equal(tg_rule_cwe(expected[i].rule), expected[i].cwe);
		assert_int_equal(tg_rule_parse(expected[i].id), expected[i].rule);
	}
}

static void test_round_trip(void **state)
{
	int r;

	(void)state;
	for (r = 0; r < TG_RULE_MAX; r++)
		assert_int_equal(tg_rule_parse(tg_rule_id((enum tg_rule)r)), r);
}

static void test_parse_unknown(void **state)
{
	(void)state;
	assert_int_equal(tg_rule_parse("no-such-rule"), -1);
	assert_int_equal(tg_rule_parse(""), -1);
	assert_int_equal(tg_rule_parse(NULL), -1);
	/* Exact spelling only: no case folding, no prefixes, no trailing junk. */
	assert_int_equal(tg_rule_parse("Loose-Mode"), -1);
	assert_int_equal(tg_rule_parse("loose"), -1);
	assert_int_equal(tg_rule_parse("loose-mode "), -1);
	assert_int_equal(tg_rule_parse("CWE-377"), -1);
	assert_int_equal(tg_rule_parse("unknown"), -1);
}

static void test_why(void **state)
{
	int r;

	(void)state;
	assert_string_equal(tg_rule_why(TG_RULE_NONEXCLUSIVE_CREATE),
			    "Without O_EXCL another local user can create the name first, as a "
			    "file or a symlink, and the program then writes into it.");
	for (r = 0; r < TG_RULE_MAX; r++) {
		const char *why = tg_rule_why((enum tg_rule)r);
		size_t n = strlen(why);

		/* One sentence: a capital, one full stop, at the end. */
		assert_true(n > 40);
		assert_true(why[0] >= 'A' && why[0] <= 'Z');
		assert_int_equal(why[n - 1], '.');
		assert_ptr_equal(strchr(why, '.'), why + n - 1);
	}
	assert_non_null(strstr(tg_rule_why(TG_RULE_SYMLINK_FOLLOW), "symlink"));
	assert_non_null(strstr(tg_rule_why(TG_RULE_INHERITABLE_FD), "O_CLOEXEC"));
	assert_non_null(strstr(tg_rule_why(TG_RULE_CHECK_THEN_CREATE), "check"));
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(tg_rule_id(TG_RULE_MAX), "unknown");
	assert_string_equal(tg_rule_id((enum tg_rule) - 1), "unknown");
	assert_string_equal(tg_rule_cwe(TG_RULE_MAX), "");
	assert_string_equal(tg_rule_why(TG_RULE_MAX), "");
	assert_string_equal(tg_severity_name((enum tg_severity)4), "unknown");
	assert_string_equal(tg_severity_name((enum tg_severity) - 1), "unknown");
}

static void test_severities(void **state)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	int s;

	(void)state;
	assert_int_equal(TG_SEV_LOW, 0);
	assert_int_equal(TG_SEV_CRITICAL, 3);
	for (s = TG_SEV_LOW; s <= TG_SEV_CRITICAL; s++) {
		assert_string_equal(tg_severity_name((enum tg_severity)s), names[s]);
		assert_int_equal(tg_severity_parse(names[s]), s);
	}
	assert_int_equal(tg_severity_parse("severe"), -1);
	assert_int_equal(tg_severity_parse("HIGH"), -1);
	assert_int_equal(tg_severity_parse(""), -1);
	assert_int_equal(tg_severity_parse(NULL), -1);
}

/* The severities README's table gives (SARIF's defaultConfiguration.level comes from them). */
static void test_titles_and_severities(void **state)
{
	static const enum tg_severity want[TG_RULE_MAX] = {
		[TG_RULE_NONEXCLUSIVE_CREATE] = TG_SEV_HIGH,
		[TG_RULE_CHECK_THEN_CREATE] = TG_SEV_HIGH,
		[TG_RULE_LOOSE_MODE] = TG_SEV_MEDIUM,
		[TG_RULE_FOREIGN_FILE_REUSE] = TG_SEV_CRITICAL,
		[TG_RULE_SYMLINK_FOLLOW] = TG_SEV_CRITICAL,
		[TG_RULE_LOOSE_TEMPDIR] = TG_SEV_MEDIUM,
		[TG_RULE_INHERITABLE_FD] = TG_SEV_LOW,
	};
	int r;

	(void)state;
	for (r = 0; r < TG_RULE_MAX; r++) {
		const char *t = tg_rule_title((enum tg_rule)r);

		assert_true(strlen(t) > 10 && t[0] >= 'A' && t[0] <= 'Z' &&
			    t[strlen(t) - 1] != '.');
		assert_int_equal(tg_rule_default_severity((enum tg_rule)r), want[r]);
	}
	assert_string_equal(tg_rule_title(TG_RULE_MAX), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_and_cwes),	      cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_unknown),	      cmocka_unit_test(test_why),
		cmocka_unit_test(test_out_of_range),	      cmocka_unit_test(test_severities),
		cmocka_unit_test(test_titles_and_severities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
