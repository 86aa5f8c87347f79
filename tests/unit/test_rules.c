// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Each rule's decision, both ways, from hand-built kernel facts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "rules.h"

#define SEC_NS 1000000000ULL

static struct tg_rules_config cfg;

/* root creates /tmp/x with open(O_WRONLY|O_CREAT|O_TRUNC, 0600) in a shared directory */
static struct tg_event base_event(void)
{
	struct tg_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TG_KIND_OPEN;
	e.syscall = TG_SYS_OPENAT;
	e.flags = O_WRONLY | O_CREAT | O_TRUNC;
	e.mode = 0600;
	e.umask = 022;
	e.file_mode = 0100600;
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	e.ts_ns = 100 * SEC_NS;
	e.pid = e.tid = 1000;
	e.ppid = 999;
	e.sid = 999;
	return e;
}

static int classify(const struct tg_event *e, struct tg_finding *out)
{
	struct tg_dir_verdict v;

	if (!tg_dir_verdict_from_kernel(e, &v)) {
		v.shared = false;
		v.is_holding_dir = true;
	}
	return tg_classify(e, &v, &cfg, out);
}

static bool has(const struct tg_finding *f, int n, enum tg_rule r, enum tg_severity *sev)
{
	for (int i = 0; i < n; i++)
		if (f[i].rule == r) {
			if (sev)
				*sev = f[i].severity;
			return true;
		}
	return false;
}

static int setup(void **state)
{
	(void)state;
	tg_rules_config_default(&cfg);
	return 0;
}

static void test_nonexclusive_create(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	enum tg_severity sev;
	int n;

	(void)state;
	n = classify(&e, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, &sev));
	assert_int_equal(sev, TG_SEV_HIGH);

	/* with O_EXCL: clean */
	e.flags |= O_EXCL;
	assert_int_equal(classify(&e, f), 0);
	/* in a private directory: clean */
	e = base_event();
	e.facts = TG_F_CREATED;
	assert_int_equal(classify(&e, f), 0);
	/* re-opening an existing file you own: clean */
	e = base_event();
	e.facts &= ~TG_F_CREATED;
	assert_int_equal(classify(&e, f), 0);
}

static void test_creat_is_nonexclusive(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];

	(void)state;
	e.syscall = TG_SYS_CREAT;
	e.flags = O_CREAT | O_WRONLY | O_TRUNC;
	assert_true(has(f, classify(&e, f), TG_RULE_NONEXCLUSIVE_CREATE, NULL));
}

static void test_check_then_create(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	int n;

	(void)state;
	e.facts |= TG_F_PROBED;
	e.probe_ts_ns = e.ts_ns - 2 * SEC_NS;
	e.probe_pid = 1001; /* a child: n=$(mktemp -u); echo x > "$n" */
	e.probe_ppid = 1000;
	n = classify(&e, f);
	assert_true(has(f, n, TG_RULE_CHECK_THEN_CREATE, NULL));
	/* it replaces nonexclusive-create for the same act */
	assert_false(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));

	/* outside the window */
	e.probe_ts_ns = e.ts_ns - 11 * SEC_NS;
	n = classify(&e, f);
	assert_false(has(f, n, TG_RULE_CHECK_THEN_CREATE, NULL));
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));

	/* an unrelated process's probe */
	e.probe_ts_ns = e.ts_ns - SEC_NS;
	e.probe_pid = 5000;
	e.probe_ppid = 4999;
	e.probe_sid = 4999;
	assert_false(has(f, classify(&e, f), TG_RULE_CHECK_THEN_CREATE, NULL));

	/* same session */
	e.probe_sid = e.sid;
	assert_true(has(f, classify(&e, f), TG_RULE_CHECK_THEN_CREATE, NULL));

	/* probe then O_EXCL create: secure */
	e.flags |= O_EXCL;
	assert_int_equal(classify(&e, f), 0);
}

static void test_loose_mode(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	enum tg_severity sev;
	int n;

	(void)state;
	e.flags |= O_EXCL;
	e.file_mode = 0100644;
	n = classify(&e, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_LOOSE_MODE, &sev));
	assert_int_equal(sev, TG_SEV_MEDIUM);

	e.file_mode = 0100666;
	assert_true(has(f, classify(&e, f), TG_RULE_LOOSE_MODE, &sev));
	assert_int_equal(sev, TG_SEV_CRITICAL);

	/* group-readable only: not loose by default, loose under a strict mask */
	e.file_mode = 0100640;
	assert_int_equal(classify(&e, f), 0);
	cfg.file_loose_mask = 0077;
	assert_true(has(f, classify(&e, f), TG_RULE_LOOSE_MODE, NULL));
	cfg.file_loose_mask = 0027;

	/* not created (existing file): not this rule */
	e.flags &= ~O_EXCL;
	e.facts &= ~TG_F_CREATED;
	e.file_mode = 0100666;
	assert_false(has(f, classify(&e, f), TG_RULE_LOOSE_MODE, NULL));
}

static void test_foreign_file_reuse(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	enum tg_severity sev;
	int n;

	(void)state;
	e.facts &= ~TG_F_CREATED;
	e.file_uid = 65534;
	e.fsuid = 0;
	n = classify(&e, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_FOREIGN_FILE_REUSE, &sev));
	assert_int_equal(sev, TG_SEV_CRITICAL);
	/* own file: clean */
	e.file_uid = 0;
	assert_int_equal(classify(&e, f), 0);
	/* foreign file in a private directory: not this rule */
	e.file_uid = 65534;
	e.facts &= ~(TG_F_DIR_SHARED | TG_F_REQDIR_SHARED);
	assert_int_equal(classify(&e, f), 0);
}

static void test_symlink_follow(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	struct tg_dir_verdict v;
	enum tg_severity sev;
	int n;

	(void)state;
	/* /tmp/x -> /root/target: the kernel could not tie "/tmp" to the holding dir (/root) */
	e.facts = TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN;
	e.file_uid = 0;
	assert_false(tg_dir_verdict_from_kernel(&e, &v));
	v.shared = true; /* user space resolved /tmp */
	v.is_holding_dir = false;
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_SYMLINK_FOLLOW, &sev));
	assert_int_equal(sev, TG_SEV_CRITICAL);

	/* same name through a link in a private directory: clean */
	v.shared = false;
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);

	/* /tmp/x -> /tmp/y, both in /tmp: the kernel decided */
	e.facts = TG_F_NAME_MISMATCH | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	assert_true(has(f, classify(&e, f), TG_RULE_SYMLINK_FOLLOW, NULL));
	/* O_EXCL never follows a link, and a name match is no link */
	e.facts = TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	assert_int_equal(classify(&e, f), 0);
}

/* A path another thread rewrote during the call, a mismatch with no link behind it, and the
 * BPF LSM's proof: what each makes of a symlink-follow. */
static void test_path_race(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	struct tg_dir_verdict v;
	int n;

	(void)state;
	/* Rewritten: the string-based facts (mismatch, "/tmp" requested) prove nothing; the file
	 * was created in a shared directory, and that decides. */
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_NAME_MISMATCH | TG_F_PARENT_MISMATCH |
		  TG_F_REQDIR_UNKNOWN | TG_F_PATH_CHANGED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_true(v.shared);
	assert_true(v.is_holding_dir);
	assert_false(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	/* ... and created in a private one, whatever the string said: nothing. */
	e.facts &= ~TG_F_DIR_SHARED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_false(v.shared);
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);

	/* The same string at entry and exit, another name opened: a symlink only if one is
	 * there (or that cannot be checked); else the mismatch is flagged, not named a link. */
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED | TG_F_NAME_MISMATCH;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_true(tg_path_mismatch(&e, &v));
	v.requested_link = TG_LINK_PRESENT;
	assert_true(has(f, tg_classify(&e, &v, &cfg, f), TG_RULE_SYMLINK_FOLLOW, NULL));
	v.requested_link = TG_LINK_UNKNOWN;
	assert_true(has(f, tg_classify(&e, &v, &cfg, f), TG_RULE_SYMLINK_FOLLOW, NULL));
	v.requested_link = TG_LINK_ABSENT;
	n = tg_classify(&e, &v, &cfg, f);
	assert_false(has(f, n, TG_RULE_SYMLINK_FOLLOW, NULL));
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	assert_true(tg_path_mismatch(&e, &v));
	/* a link there now, but the creator's own (or the directory owner's): not an attack,
	 * still a create through a name in a shared directory */
	v.requested_link = TG_LINK_PRESENT;
	v.requested_link_own = true;
	assert_false(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_false(has(f, n, TG_RULE_SYMLINK_FOLLOW, NULL));
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	v.requested_link_own = false;

	/* The BPF LSM saw the link followed: proof, rewritten string or not. */
	e.facts = TG_F_NAME_MISMATCH | TG_F_REQDIR_SHARED | TG_F_LINK_FOLLOWED | TG_F_PATH_CHANGED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_true(tg_symlink_followed(&e, &v));
	assert_true(has(f, tg_classify(&e, &v, &cfg, f), TG_RULE_SYMLINK_FOLLOW, NULL));

	/* A hook watched every symlink the walk followed (fentry, BPF LSM) and saw none in a
	 * shared directory: a mismatch is not a link, even with one there now. */
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED | TG_F_NAME_MISMATCH |
		  TG_F_LINKS_WATCHED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	v.requested_link = TG_LINK_PRESENT;
	assert_false(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_false(has(f, n, TG_RULE_SYMLINK_FOLLOW, NULL));
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	e.facts |= TG_F_LINK_FOLLOWED;
	assert_true(has(f, tg_classify(&e, &v, &cfg, f), TG_RULE_SYMLINK_FOLLOW, NULL));

	/* No mismatch, no flag. */
	e = base_event();
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_false(tg_path_mismatch(&e, &v));
}

/* A symlink to a directory, in /tmp, on the way to the created file (user space found it):
 * someone else's is a symlink-follow; one's own still names a shared directory's entry. */
static void test_dir_link(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	struct tg_dir_verdict v;
	int n;

	(void)state;
	/* /tmp/app -> /srv/data; open("/tmp/app/state", O_CREAT): created in /srv/data */
	e.facts = TG_F_CREATED | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN;
	assert_false(tg_dir_verdict_from_kernel(&e, &v));
	memset(&v, 0, sizeof(v));
	v.is_holding_dir = true; /* /tmp/app, followed, is the holding directory */
	v.shared = v.dir_link = v.dir_link_foreign = true;
	v.dir_link_uid = 65534;
	assert_true(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_SYMLINK_FOLLOW, NULL));
	/* the creator's own link: the exploitable pattern, not an attack */
	v.dir_link_foreign = false;
	assert_false(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	/* ... and with O_EXCL nothing: the name in /tmp was the caller's to begin with */
	e.flags |= O_EXCL;
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);
	/* fentry or the BPF LSM saw the walk follow that link: the kernel's word decides, even
	 * where the path's directory is one user space would have to resolve */
	e.flags &= ~O_EXCL;
	e.facts = TG_F_CREATED | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN | TG_F_REQDIR_SHARED |
		  TG_F_LINKS_WATCHED | TG_F_LINK_FOLLOWED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	assert_true(v.shared);
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_SYMLINK_FOLLOW, NULL));
	/* ... the creator's own link (no TG_F_LINK_FOLLOWED): a nonexclusive-create */
	e.facts &= ~TG_F_LINK_FOLLOWED;
	assert_true(tg_dir_verdict_from_kernel(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	/* no link in a shared directory on the way: the private directory's create is clean */
	e.flags &= ~O_EXCL;
	memset(&v, 0, sizeof(v));
	v.is_holding_dir = true;
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);
}

/* The process was gone before its record was read: judged by the holding directory. */
static void test_dir_unknown(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	struct tg_dir_verdict v;
	int n;

	(void)state;
	/* sh -c 'echo x > ./name' in /tmp */
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_PARENT_MISMATCH | TG_F_REQDIR_UNKNOWN;
	assert_false(tg_dir_verdict_from_kernel(&e, &v));
	tg_dir_verdict_holding(&e, &v);
	assert_true(v.unknown);
	assert_true(v.shared);
	assert_true(v.is_holding_dir);
	assert_false(tg_path_mismatch(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	snprintf(e.path, sizeof(e.path), "./name");
	tg_dir_verdict_holding(&e, &v);
	assert_true(v.is_holding_dir); /* "." could not be compared: no mismatch */
	/* a path whose directory's name differs from the holding one's (a rewritten path, a
	 * link removed since): flagged as a mismatch, not called a symlink */
	snprintf(e.path, sizeof(e.path), "/tmp/other/name");
	tg_dir_verdict_holding(&e, &v);
	assert_false(v.is_holding_dir);
	assert_true(tg_path_mismatch(&e, &v));
	assert_false(tg_symlink_followed(&e, &v));
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	/* held by a private directory: nothing to report */
	e.facts &= ~TG_F_DIR_SHARED;
	tg_dir_verdict_holding(&e, &v);
	assert_false(v.shared);
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);
}

static void test_loose_tempdir(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	struct tg_dir_verdict v = {.shared = true, .is_holding_dir = true};
	enum tg_severity sev;
	int n;

	(void)state;
	e.kind = TG_KIND_MKDIR;
	e.syscall = TG_SYS_MKDIR;
	e.flags = 0;
	e.file_mode = 040755;
	n = tg_classify(&e, &v, &cfg, f);
	assert_int_equal(n, 1);
	assert_true(has(f, n, TG_RULE_LOOSE_TEMPDIR, &sev));
	assert_int_equal(sev, TG_SEV_MEDIUM);
	e.file_mode = 040700; /* mkdtemp */
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);
	e.file_mode = 040755;
	v.shared = false;
	assert_int_equal(tg_classify(&e, &v, &cfg, f), 0);
}

static void test_inheritable_fd(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];

	(void)state;
	e.flags |= O_EXCL; /* mkstemp: O_RDWR|O_CREAT|O_EXCL, 0600, no O_CLOEXEC */
	assert_int_equal(classify(&e, f), 0); /* off by default */
	cfg.enabled[TG_RULE_INHERITABLE_FD] = true;
	assert_true(has(f, classify(&e, f), TG_RULE_INHERITABLE_FD, NULL));
	e.flags |= O_CLOEXEC;
	assert_int_equal(classify(&e, f), 0);
	cfg.enabled[TG_RULE_INHERITABLE_FD] = false;
}

static void test_multiple_findings(void **state)
{
	struct tg_event e = base_event();
	struct tg_finding f[TG_MAX_FINDINGS];
	int n;

	(void)state;
	/* echo x > /tmp/f.$$ under umask 022: 0666 -> 0644 */
	e.mode = 0666;
	e.file_mode = 0100644;
	n = classify(&e, f);
	assert_int_equal(n, 2);
	assert_true(has(f, n, TG_RULE_NONEXCLUSIVE_CREATE, NULL));
	assert_true(has(f, n, TG_RULE_LOOSE_MODE, NULL));
	/* a disabled rule is not reported */
	cfg.enabled[TG_RULE_LOOSE_MODE] = false;
	assert_int_equal(classify(&e, f), 1);
	cfg.enabled[TG_RULE_LOOSE_MODE] = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nonexclusive_create, setup),
		cmocka_unit_test_setup(test_creat_is_nonexclusive, setup),
		cmocka_unit_test_setup(test_check_then_create, setup),
		cmocka_unit_test_setup(test_loose_mode, setup),
		cmocka_unit_test_setup(test_foreign_file_reuse, setup),
		cmocka_unit_test_setup(test_symlink_follow, setup),
		cmocka_unit_test_setup(test_path_race, setup),
		cmocka_unit_test_setup(test_dir_link, setup),
		cmocka_unit_test_setup(test_dir_unknown, setup),
		cmocka_unit_test_setup(test_loose_tempdir, setup),
		cmocka_unit_test_setup(test_inheritable_fd, setup),
		cmocka_unit_test_setup(test_multiple_findings, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
