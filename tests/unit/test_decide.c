// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf/decide.h: the rule precedence the BPF LSM, the kill fallback and tg_classify share. Every
 * branch, from hand-built cases: what the kernel enforces is what user space reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/types.h>
#include "decide.h"

#define B(r)   TG_RULE_BIT(TG_R_##r)
#define SEC_NS 1000000000ULL

/* root creates a new 0600 file in /tmp without O_EXCL: nonexclusive-create, inheritable-fd */
static struct tg_open_case new_file(void)
{
	struct tg_open_case c = {
		.flags = 01 | 0100 | 01000, /* O_WRONLY|O_CREAT|O_TRUNC */
		.file_mode = 0100600,
		.loose_mask = 0027,
		.created = 1,
		.dir_shared = 1,
		.req_shared = 1,
	};
	return c;
}

static void test_nonexclusive_create(void **state)
{
	struct tg_open_case c = new_file();

	(void)state;
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE) | B(INHERITABLE_FD));
	c.flags |= TG_O_CLOEXEC;
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE));
	/* A private directory: nothing, whatever the flags. */
	c.dir_shared = c.req_shared = 0;
	assert_int_equal(tg_decide_open(&c), 0);
}

static void test_exclusive_create(void **state)
{
	struct tg_open_case c = new_file();

	(void)state;
	c.flags |= TG_O_EXCL | TG_O_CLOEXEC;
	assert_int_equal(tg_decide_open(&c), 0);
	/* O_EXCL excludes every act rule, even with a probe or a "symlink". */
	c.probed = c.symlink = 1;
	assert_int_equal(tg_decide_open(&c), 0);
	/* but not the new file's looks */
	c.file_mode = 0100644;
	c.flags &= ~(__u64)TG_O_CLOEXEC;
	assert_int_equal(tg_decide_open(&c), B(LOOSE_MODE) | B(INHERITABLE_FD));
}

static void test_precedence_of_the_act_rules(void **state)
{
	struct tg_open_case c = new_file();

	(void)state;
	c.flags |= TG_O_CLOEXEC;
	c.probed = 1;
	assert_int_equal(tg_decide_open(&c), B(CHECK_THEN_CREATE));
	c.symlink = 1; /* a symlink beats the probe */
	assert_int_equal(tg_decide_open(&c), B(SYMLINK_FOLLOW));
	/* a symlink matters only when the named directory is shared */
	c.req_shared = 0;
	assert_int_equal(tg_decide_open(&c), B(CHECK_THEN_CREATE));
	/* an existing file of another user, reused */
	c = new_file();
	c.flags |= TG_O_CLOEXEC;
	c.created = 0;
	c.foreign = 1;
	assert_int_equal(tg_decide_open(&c), B(FOREIGN_FILE_REUSE));
	c.symlink = 1;
	assert_int_equal(tg_decide_open(&c), B(SYMLINK_FOLLOW));
	/* one's own existing file, reopened where named: nothing */
	c.symlink = c.foreign = 0;
	assert_int_equal(tg_decide_open(&c), 0);
	/* ... unless it has another name: a hard link made there to a file elsewhere */
	c.hardlink = 1;
	assert_int_equal(tg_decide_open(&c), B(FOREIGN_FILE_REUSE));
	c.dir_shared = c.req_shared = 0; /* not in a shared directory: nothing */
	assert_int_equal(tg_decide_open(&c), 0);
	c.dir_shared = c.req_shared = 1;
	c.created = 1; /* a file this open created has no other name */
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE));
	/* a socket is loose only if others may write (connect) to it */
	assert_int_equal(tg_decide_node(1, 0140755, 0027), 0);
	assert_int_equal(tg_decide_node(1, 0140775, 0027), B(LOOSE_MODE));
	assert_int_equal(tg_decide_node(1, 0010644, 0027), B(LOOSE_MODE)); /* a FIFO others read */
	assert_int_equal(tg_decide_node(0, 0140777, 0027), 0);
	/* tg_hardlinked: regular files with more than one link only */
	assert_true(tg_hardlinked(0100644, 2));
	assert_false(tg_hardlinked(0100644, 1));
	assert_false(tg_hardlinked(0010644, 2)); /* a FIFO */
	assert_false(tg_hardlinked(0040755, 3)); /* a directory */
	/* a new file in a private directory, reached by a name in a shared one (a link of the
	 * caller's own to a directory): that name could have been someone else's first */
	c = new_file();
	c.flags |= TG_O_CLOEXEC;
	c.dir_shared = 0;
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE));
	c.probed = 1;
	assert_int_equal(tg_decide_open(&c), B(CHECK_THEN_CREATE));
	c.file_mode = 0100666; /* the shape of a file in a private directory is not judged */
	c.flags &= ~TG_O_CLOEXEC;
	assert_int_equal(tg_decide_open(&c), B(CHECK_THEN_CREATE));
	c = new_file();
	c.created = 0;
	c.foreign = 1;
	/* another user's file in a private directory: nothing */
	c.foreign = 1;
	c.dir_shared = c.req_shared = 0;
	assert_int_equal(tg_decide_open(&c), 0);
}

static void test_loose_mode(void **state)
{
	struct tg_open_case c = new_file();

	(void)state;
	c.flags |= TG_O_CLOEXEC;
	c.file_mode = 0100644; /* o+r: within the default mask 0027 */
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE) | B(LOOSE_MODE));
	c.loose_mask = 0020;
	assert_int_equal(tg_decide_open(&c), B(NONEXCLUSIVE_CREATE));
	/* not created: the mode is not this call's doing */
	c.loose_mask = 0027;
	c.created = 0;
	assert_int_equal(tg_decide_open(&c), 0);
}

static void test_mkdir(void **state)
{
	(void)state;
	assert_int_equal(tg_decide_mkdir(1, 0755, 0077), B(LOOSE_TEMPDIR));
	assert_int_equal(tg_decide_mkdir(1, 0700, 0077), 0);
	assert_int_equal(tg_decide_mkdir(0, 0777, 0077), 0);
}

static void test_actors_related(void **state)
{
	struct tg_actor creator = {.ts_ns = 100 * SEC_NS, .pid = 1000, .ppid = 999, .sid = 999};
	struct tg_actor p = {.ts_ns = 99 * SEC_NS, .pid = 1000, .ppid = 999, .sid = 999};
	__u64 window = 10 * SEC_NS;

	(void)state;
	assert_true(tg_actors_related(&p, &creator, window)); /* same process */
	p.pid = 1001, p.ppid = 1000, p.sid = 5;		      /* its child */
	assert_true(tg_actors_related(&p, &creator, window));
	p.pid = 999, p.ppid = 1, p.sid = 5; /* its parent */
	assert_true(tg_actors_related(&p, &creator, window));
	p.pid = 2000, p.ppid = 1, p.sid = 999; /* the same session */
	assert_true(tg_actors_related(&p, &creator, window));
	/* Another user's process: not related, however recent (the LSM once refused on it). */
	p.pid = 3000, p.ppid = 1, p.sid = 3000;
	assert_false(tg_actors_related(&p, &creator, window));
	/* Session 0 (kernel threads, early boot) relates nothing. */
	creator.sid = 0, p.sid = 0;
	assert_false(tg_actors_related(&p, &creator, window));
	/* The window: at its edge yes, past it no; a probe after the create never. */
	p.pid = 1000;
	p.ts_ns = creator.ts_ns - window;
	assert_true(tg_actors_related(&p, &creator, window));
	p.ts_ns -= 1;
	assert_false(tg_actors_related(&p, &creator, window));
	p.ts_ns = creator.ts_ns + 1;
	assert_false(tg_actors_related(&p, &creator, window));
}

static void test_first_in_precedence_order(void **state)
{
	unsigned int seen = 0;

	(void)state;
	assert_int_equal(tg_decide_first(0), TG_R_NONE);
	assert_int_equal(tg_decide_first(B(INHERITABLE_FD) | B(LOOSE_MODE)), TG_R_LOOSE_MODE);
	assert_int_equal(tg_decide_first(B(LOOSE_MODE) | B(NONEXCLUSIVE_CREATE)),
			 TG_R_NONEXCLUSIVE_CREATE);
	assert_int_equal(tg_decide_first(B(SYMLINK_FOLLOW) | B(LOOSE_MODE)), TG_R_SYMLINK_FOLLOW);
	/* The order names every rule once. */
	for (unsigned int i = 0; i < TG_DECIDE_NRULES; i++) {
		assert_true(tg_decide_nth(i) < TG_R_MAX);
		seen |= TG_RULE_BIT(tg_decide_nth(i));
	}
	assert_int_equal(seen, (1u << TG_R_MAX) - 1);
	assert_int_equal(tg_decide_nth(TG_DECIDE_NRULES), TG_R_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonexclusive_create),
		cmocka_unit_test(test_exclusive_create),
		cmocka_unit_test(test_precedence_of_the_act_rules),
		cmocka_unit_test(test_loose_mode),
		cmocka_unit_test(test_mkdir),
		cmocka_unit_test(test_actors_related),
		cmocka_unit_test(test_first_in_precedence_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
