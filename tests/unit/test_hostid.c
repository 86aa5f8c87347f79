// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The host's identity in a fleet: what --host-id takes, machine ids, the composed form. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hostid.h"

static void test_valid(void **state)
{
	char long_id[TG_HOST_ID_MAX + 1];

	(void)state;
	assert_true(tg_host_id_valid("build-01"));
	assert_true(tg_host_id_valid("build-01.example.com:3d1219c7c4c5404aaa1f6d2a48adfda4"));
	assert_true(tg_host_id_valid("k8s/node-3/pod@ns+1_x"));
	assert_false(tg_host_id_valid(""));
	assert_false(tg_host_id_valid("two words"));
	assert_false(tg_host_id_valid("tab\there"));
	assert_false(tg_host_id_valid("nl\n"));
	assert_false(tg_host_id_valid("quote'"));
	assert_false(tg_host_id_valid("caf\xc3\xa9"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[TG_HOST_ID_MAX] = 0;
	assert_false(tg_host_id_valid(long_id));
	long_id[TG_HOST_ID_MAX - 1] = 0;
	assert_true(tg_host_id_valid(long_id));
}

static void test_machine_id(void **state)
{
	(void)state;
	assert_true(tg_machine_id_valid("3d1219c7c4c5404aaa1f6d2a48adfda4"));
	assert_false(tg_machine_id_valid("00000000000000000000000000000000"));
	assert_false(tg_machine_id_valid("3D1219C7C4C5404AAA1F6D2A48ADFDA4")); /* as written */
	assert_false(tg_machine_id_valid("3d1219c7c4c5404aaa1f6d2a48adfda"));
	assert_false(tg_machine_id_valid("uninitialized"));
	assert_false(tg_machine_id_valid(""));
}

static void test_make(void **state)
{
	char out[TG_HOST_ID_MAX], err[256];

	(void)state;
	assert_int_equal(tg_host_id_make("build-01", "3d1219c7c4c5404aaa1f6d2a48adfda4", out,
					 sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "build-01:3d1219c7c4c5404aaa1f6d2a48adfda4");
	assert_int_equal(tg_host_id_make("build-01", NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "build-01");
	/* a name that cannot be a key: said, with what to do */
	assert_int_equal(tg_host_id_make("my host", "3d1219c7c4c5404aaa1f6d2a48adfda4", out,
					 sizeof(out), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "--host-id"));
}

static void test_this_host(void **state)
{
	char out[TG_HOST_ID_MAX], err[256];
	bool weak = true;

	(void)state;
	assert_int_equal(tg_host_id("test-a", out, sizeof(out), &weak, err, sizeof(err)), 0);
	assert_string_equal(out, "test-a");
	assert_false(weak);
	assert_int_equal(tg_host_id("bad id", out, sizeof(out), &weak, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid host id 'bad id'"));
	/* This machine: HOSTNAME[:MACHINE-ID], whatever it is named. */
	if (tg_host_id(NULL, out, sizeof(out), &weak, err, sizeof(err)) == 0) {
		assert_true(tg_host_id_valid(out));
		if (!weak)
			assert_true(tg_machine_id_valid(strrchr(out, ':') + 1));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_machine_id),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_this_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
