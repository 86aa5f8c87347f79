// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/core/rule_registry.c as a table: every row complete and well-formed, ids and
 * SARIF names unique, and the outputs that name rules reading them from it. A rule added to
 * enum tg_rule without a full row fails here. Unprivileged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "report.h"
#include "report_render.h"
#include "rule_registry.h"

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* "CWE-377" or "CWE-367,CWE-377": outputs split it on commas (SARIF tags, Falco tags). */
static bool cwe_list(const char *s)
{
	do {
		size_t n;

		if (strncmp(s, "CWE-", 4))
			return false;
		s += 4;
		n = strspn(s, DIGIT);
		if (!n)
			return false;
		s += n;
	} while (*s == ',' && *++s);
	return !*s;
}

static void test_rows_complete(void **state)
{
	(void)state;
	for (int r = 0; r < TG_RULE_MAX; r++) {
		const struct tg_rule_info *ri = tg_rule_info((enum tg_rule)r);

		assert_non_null(ri);
		/* An id is a policy key and a metrics label: lower case words joined by '-'. */
		assert_non_null(ri->id);
		assert_true(all_of(ri->id, LOWER DIGIT "-"));
		assert_true(ri->id[0] != '-' && ri->id[strlen(ri->id) - 1] != '-');
		assert_non_null(ri->title);
		assert_true(*ri->title);
		assert_non_null(ri->cwe);
		if (!cwe_list(ri->cwe))
			fail_msg("%s: CWE list \"%s\"", ri->id, ri->cwe);
		assert_non_null(ri->why);
		assert_true(*ri->why);
		assert_true(ri->severity >= TG_SEV_LOW && ri->severity <= TG_SEV_CRITICAL);
		/* Falco's sentence follows "on PATH: " and precedes " (fields)": no capital, no
		 * full stop. */
		assert_non_null(ri->falco_output);
		assert_true(ri->falco_output[0] >= 'a' && ri->falco_output[0] <= 'z');
		assert_int_not_equal(ri->falco_output[strlen(ri->falco_output) - 1], '.');
		/* Falco's tag spelling of MITRE ATT&CK: a tactic, then a technique ("T1068"). */
		assert_non_null(ri->falco_tags[0]);
		assert_true(!strncmp(ri->falco_tags[0], "mitre_", 6) && ri->falco_tags[0][6]);
		assert_true(all_of(ri->falco_tags[0], LOWER "_"));
		assert_non_null(ri->falco_tags[1]);
		assert_int_equal(ri->falco_tags[1][0], 'T');
		assert_true(all_of(ri->falco_tags[1] + 1, DIGIT "."));
		/* SARIF: "name" is an identifier; PascalCase, as code scanning shows its rules. */
		assert_non_null(ri->sarif_name);
		assert_true(all_of(ri->sarif_name, UPPER LOWER DIGIT));
		assert_true(ri->sarif_name[0] >= 'A' && ri->sarif_name[0] <= 'Z');
	}
}

static void test_unique(void **state)
{
	(void)state;
	for (int a = 0; a < TG_RULE_MAX; a++)
		for (int b = a + 1; b < TG_RULE_MAX; b++) {
			const struct tg_rule_info *x = tg_rule_info((enum tg_rule)a);
			const struct tg_rule_info *y = tg_rule_info((enum tg_rule)b);

			assert_string_not_equal(x->id, y->id);
			assert_string_not_equal(x->sarif_name, y->sarif_name);
			assert_string_not_equal(x->title, y->title);
			assert_string_not_equal(x->why, y->why);
			assert_string_not_equal(x->falco_output, y->falco_output);
		}
}

/* The accessors and the id parser read the same rows. */
static void test_accessors_are_the_rows(void **state)
{
	(void)state;
	for (int r = 0; r < TG_RULE_MAX; r++) {
		const struct tg_rule_info *ri = tg_rule_info((enum tg_rule)r);

		assert_ptr_equal(tg_rule_id((enum tg_rule)r), ri->id);
		assert_ptr_equal(tg_rule_title((enum tg_rule)r), ri->title);
		assert_ptr_equal(tg_rule_cwe((enum tg_rule)r), ri->cwe);
		assert_ptr_equal(tg_rule_why((enum tg_rule)r), ri->why);
		assert_int_equal(tg_rule_default_severity((enum tg_rule)r), ri->severity);
		assert_int_equal(tg_rule_parse(ri->id), r);
	}
	assert_null(tg_rule_info(TG_RULE_MAX));
	assert_null(tg_rule_info((enum tg_rule) - 1));
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

/* SARIF lists every rule of the build, in enum order (ruleIndex is the enum), as its row. */
static void test_sarif_rules_are_the_rows(void **state)
{
	struct tg_rpt_opts o = {
		.since_ns = TG_RPT_NOTIME,
		.until_ns = TG_RPT_NOTIME,
		.now_ns = 1764331200LL * 1000000000LL,
	};
	struct tg_rpt *r = tg_rpt_new(&o);
	json_object *sarif, *rules;

	(void)state;
	assert_non_null(r);
	assert_int_equal(tg_rpt_input(r, "empty.json", false), 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	sarif = tg_rpt_sarif(r, "0.0.0");
	assert_non_null(sarif);
	rules = get(get(get(json_object_array_get_idx(get(sarif, "runs"), 0), "tool"), "driver"),
		    "rules");
	assert_int_equal(json_object_array_length(rules), TG_RULE_MAX);
	for (int i = 0; i < TG_RULE_MAX; i++) {
		const struct tg_rule_info *ri = tg_rule_info((enum tg_rule)i);
		json_object *d = json_object_array_get_idx(rules, i);

		assert_string_equal(json_object_get_string(get(d, "id")), ri->id);
		assert_string_equal(json_object_get_string(get(d, "name")), ri->sarif_name);
	}
	json_object_put(sarif);
	tg_rpt_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_accessors_are_the_rows),
		cmocka_unit_test(test_sarif_rules_are_the_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
