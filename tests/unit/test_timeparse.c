// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "util/timefmt.h"

#define NSEC 1000000000LL
static const int64_t now = 1795847400LL * NSEC; /* 2026-11-28T06:30:00Z */

static void test_relative(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(tg_parse_time_arg("2h", now, &t), 0);
	assert_true(t == now - 7200 * NSEC);
	assert_int_equal(tg_parse_time_arg("30d", now, &t), 0);
	assert_true(t == now - 30LL * 86400 * NSEC);
	assert_int_equal(tg_parse_time_arg("90s", now, &t), 0);
	assert_true(t == now - 90 * NSEC);
	assert_int_equal(tg_parse_time_arg("1w", now, &t), 0);
	assert_true(t == now - 7LL * 86400 * NSEC);
	assert_int_equal(tg_parse_time_arg("15m", now, &t), 0);
	assert_true(t == now - 900 * NSEC);
}

static void test_absolute(void **state)
{
	int64_t t;
	char buf[64];

	(void)state;
	assert_int_equal(tg_parse_time_arg("2026-11-28T06:30:00Z", now, &t), 0);
	assert_true(t == now);
	assert_int_equal(tg_parse_time_arg("2026-11-28T07:30:00+01:00", now, &t), 0);
	assert_true(t == now);
	assert_int_equal(tg_parse_time_arg("2026-11-28", now, &t), 0);
	assert_true(t == now - (6 * 3600 + 1800) * NSEC);
	assert_int_equal(tg_parse_time_arg("1970-01-01T00:00:00.5Z", now, &t), 0);
	assert_true(t == NSEC / 2);
	assert_int_equal(tg_parse_time_arg("2024-02-29", now, &t), 0);
	/* What tg_format_time writes reads back to the nanosecond. */
	tg_format_time(now + 123456789, buf, sizeof(buf));
	assert_int_equal(tg_parse_rfc3339(buf, &t), 0);
	assert_true(t == now + 123456789);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"h",
		"2",
		"2x",
		"-2h",
		"2hh",
		"2026-13-01",
		"2026-02-30",
		"2025-02-29",
		"2026-11-28T25:00:00Z",
		"2026-11-28T06:30:00",
		"2026-11-28T06:30Z",
		"2026-11-28T06:30:00.Z",
		"2026-11-28T06:30:00Zjunk",
		"99999999999999999999d",
		"106751d9",
	};
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tg_parse_time_arg(bad[i], now, &t) == 0)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(tg_parse_time_arg(NULL, now, &t), -1);
}

/* Dates alone, and times past what int64 nanoseconds hold (2262-04-11T23:47:16Z). */
static void test_date_and_range(void **state)
{
	int64_t t;
	char buf[64];

	(void)state;
	assert_int_equal(tg_parse_date("2026-11-28", &t), 0);
	assert_true(t == now - (6 * 3600 + 1800) * NSEC);
	assert_int_equal(tg_parse_date("2026-11-28T06:30:00Z", &t), -1);
	assert_int_equal(tg_parse_date("2026-11-2", &t), -1);
	assert_int_equal(tg_parse_date(NULL, &t), -1);
	assert_int_equal(tg_parse_date("2262-04-11", &t), 0);
	assert_int_equal(tg_parse_date("2262-04-12", &t), -1);
	assert_int_equal(tg_parse_date("9999-12-31", &t), -1);
	assert_int_equal(tg_parse_rfc3339("2262-04-11T23:47:16Z", &t), 0);
	assert_int_equal(tg_parse_rfc3339("2262-04-11T23:47:17Z", &t), -1);
	assert_int_equal(tg_parse_rfc3339("9999-12-31T23:59:59Z", &t), -1);
	assert_int_equal(tg_parse_time_arg("9999-12-31", now, &t), -1);

	tg_format_time_short(now, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-28T06:30:00Z");
	tg_format_time_short(now + 5, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-28T06:30:00.000000005Z");
	assert_int_equal(tg_parse_rfc3339(buf, &t), 0);
	assert_true(t == now + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_date_and_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
