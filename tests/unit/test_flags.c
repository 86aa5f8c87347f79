// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/core/flags.c: open(2) flag and mode decoding. Unprivileged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "flags.h"

/* Raw x86_64 kernel values, written out so the tests do not trust <fcntl.h> either. */
#define K_WRONLY    01
#define K_RDWR	    02
#define K_CREAT	    0100
#define K_EXCL	    0200
#define K_TRUNC	    01000
#define K_DSYNC	    010000
#define K_LARGEFILE 0100000
#define K_DIRECTORY 0200000
#define K_NOFOLLOW  0400000
#define K_CLOEXEC   02000000
#define K___SYNC    04000000
#define K_SYNC	    (K___SYNC | K_DSYNC)
#define K___TMPFILE 020000000
#define K_TMPFILE   (K___TMPFILE | K_DIRECTORY)

static void check_str(uint64_t flags, const char *want)
{
	char buf[512];
	size_t n = tg_flags_str(flags, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_creat_trunc(void **state)
{
	(void)state;
	/* What fopen(path, "w") passes: the common nonexclusive create. */
	check_str(577, "O_WRONLY|O_CREAT|O_TRUNC");
	check_str(K_WRONLY | K_CREAT | K_TRUNC, "O_WRONLY|O_CREAT|O_TRUNC");
}

static void test_excl_cloexec(void **state)
{
	(void)state;
	check_str(K_RDWR | K_CREAT | K_EXCL | K_CLOEXEC, "O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC");
	/* 64-bit glibc never passes O_LARGEFILE (the kernel implies it), 32-bit callers do. */
	check_str(K_RDWR | K_CREAT | K_EXCL | K_LARGEFILE, "O_RDWR|O_CREAT|O_EXCL|O_LARGEFILE");
}

static void test_rdonly(void **state)
{
	(void)state;
	check_str(0, "O_RDONLY");
	check_str(K_DIRECTORY, "O_RDONLY|O_DIRECTORY");
	check_str(K_NOFOLLOW | K_CLOEXEC, "O_RDONLY|O_NOFOLLOW|O_CLOEXEC");
}

static void test_tmpfile(void **state)
{
	(void)state;
	/* O_TMPFILE swallows its O_DIRECTORY component. */
	check_str(K_TMPFILE | K_RDWR, "O_RDWR|O_TMPFILE");
	check_str(K_TMPFILE | K_WRONLY | K_EXCL, "O_WRONLY|O_EXCL|O_TMPFILE");
	/* A lone __O_TMPFILE (EINVAL in the kernel) is not O_TMPFILE: shown raw. */
	check_str(K___TMPFILE | K_RDWR, "O_RDWR|0x400000");
}

static void test_sync(void **state)
{
	(void)state;
	check_str(K_SYNC | K_WRONLY, "O_WRONLY|O_SYNC");
	check_str(K_DSYNC | K_WRONLY, "O_WRONLY|O_DSYNC");
	check_str(K___SYNC | K_WRONLY, "O_WRONLY|0x100000");
}

static void test_order_all(void **state)
{
	(void)state;
	/* Every known bit: names in flags.h's order, composites replacing their parts. */
	uint64_t all = K_RDWR | 0100 | 0200 | 0400 | 01000 | 02000 | 04000 | K_SYNC | 020000 |
		       040000 | K_LARGEFILE | K_NOFOLLOW | 01000000 | K_CLOEXEC | 010000000 |
		       K_TMPFILE;
	check_str(all, "O_RDWR|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_ASYNC|"
		       "O_DIRECT|O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_SYNC|O_PATH|"
		       "O_TMPFILE");
	check_str(all & ~(uint64_t)(K___SYNC | K___TMPFILE),
		  "O_RDWR|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_DSYNC|O_ASYNC|"
		  "O_DIRECT|O_LARGEFILE|O_DIRECTORY|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_PATH");
}

static void test_unknown_bits(void **state)
{
	(void)state;
	/* 040 is the kernel-internal __FMODE_EXEC; bit 40 is past every flag. */
	check_str(K_WRONLY | K_CREAT | 040, "O_WRONLY|O_CREAT|0x20");
	check_str(K_CREAT | (1ULL << 40), "O_RDONLY|O_CREAT|0x10000000000");
	check_str(UINT64_C(0x8000000000000000), "O_RDONLY|0x8000000000000000");
	/* Access mode 3 is not named. */
	check_str(3 | K_CREAT, "O_CREAT|0x3");
}

static void test_names_api(void **state)
{
	const char *names[4];
	char unk[32];
	int n;

	(void)state;
	n = tg_flags_names(K_WRONLY | K_CREAT | 040, names, 4, unk, sizeof(unk));
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "O_WRONLY");
	assert_string_equal(names[1], "O_CREAT");
	assert_ptr_equal(names[2], unk);
	assert_string_equal(unk, "0x20");

	/* max bounds what is written. */
	n = tg_flags_names(K_WRONLY | K_CREAT | K_TRUNC, names, 2, unk, sizeof(unk));
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "O_CREAT");

	/* No room for the hex name: it is left out, never truncated into a wrong number. */
	n = tg_flags_names(K_CREAT | (1ULL << 40), names, 4, unk, 5);
	assert_int_equal(n, 2);
	n = tg_flags_names(K_CREAT | (1ULL << 40), names, 4, NULL, 0);
	assert_int_equal(n, 2);
	n = tg_flags_names(K_CREAT, NULL, 0, NULL, 0);
	assert_int_equal(n, 0);
}

static void test_small_buffer(void **state)
{
	const char *want = "O_WRONLY|O_CREAT|O_TRUNC";
	char buf[40];
	size_t n, len;

	(void)state;
	for (len = 0; len <= strlen(want) + 1; len++) {
		memset(buf, 'Z', sizeof(buf));
		n = tg_flags_str(577, buf, len);
		assert_int_equal(n, strlen(want));
		/* The canary right past the buffer is untouched. */
		assert_int_equal(buf[len], 'Z');
		if (len) {
			size_t copied = len - 1 < n ? len - 1 : n;

			assert_int_equal(strlen(buf), copied);
			assert_memory_equal(buf, want, copied);
		}
	}
	assert_int_equal(tg_flags_str(577, NULL, 0), strlen(want));
	/* Exactly strlen + 1 holds it all. */
	n = tg_flags_str(577, buf, 25);
	assert_int_equal(n, 24);
	assert_string_equal(buf, want);
	/* One less drops the last character, like snprintf. */
	n = tg_flags_str(577, buf, 24);
	assert_int_equal(n, 24);
	assert_string_equal(buf, "O_WRONLY|O_CREAT|O_TRUN");
}

static void test_mode(void **state)
{
	char buf[16];

	(void)state;
	tg_mode_str(0644, buf, sizeof(buf));
	assert_string_equal(buf, "0644");
	tg_mode_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "0000");
	/* S_IFREG is not a permission. */
	tg_mode_str(0100600, buf, sizeof(buf));
	assert_string_equal(buf, "0600");
	tg_mode_str(041777, buf, sizeof(buf));
	assert_string_equal(buf, "1777");
	tg_mode_str(04755, buf, sizeof(buf));
	assert_string_equal(buf, "4755");

	memset(buf, 'Z', sizeof(buf));
	tg_mode_str(0644, buf, 3);
	assert_string_equal(buf, "06");
	assert_int_equal(buf[3], 'Z');
	memset(buf, 'Z', sizeof(buf));
	tg_mode_str(0644, buf, 0);
	assert_int_equal(buf[0], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creat_trunc),  cmocka_unit_test(test_excl_cloexec),
		cmocka_unit_test(test_rdonly),	     cmocka_unit_test(test_tmpfile),
		cmocka_unit_test(test_sync),	     cmocka_unit_test(test_order_all),
		cmocka_unit_test(test_unknown_bits), cmocka_unit_test(test_names_api),
		cmocka_unit_test(test_small_buffer), cmocka_unit_test(test_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
