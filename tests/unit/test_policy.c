// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/core/policy.c: parsing (valid files, every error class with its line and
 * column, garbage), defaults, severity overrides, exception matching both ways, exceptions'
 * owners and expiry, kernel decidability, and the print/parse round trip. Unprivileged.
 *
 * The shipped policies are read from the directory given as argv[1] or in TG_POLICY_DIR
 * (CMake sets it to policies/); without either, those cases are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "policy.h"

#define NS  1000000000ULL
#define DAY (86400 * (int64_t)NS)
/* 2026-12-31T00:00:00Z and 2027-01-01T00:00:00Z */
#define NYE_NS	    (1798675200LL * (int64_t)NS)
#define NEW_YEAR_NS (NYE_NS + DAY)

static const char *policy_dir;
static char err[1024];

static struct tg_policy *parse(const char *yaml)
{
	return tg_policy_parse("p.yaml", yaml, strlen(yaml), err, sizeof(err));
}

static struct tg_policy *must_parse(const char *yaml)
{
	struct tg_policy *p = parse(yaml);

	if (!p)
		fail_msg("unexpected error: %s\ninput:\n%s", err, yaml);
	return p;
}

/* The message must start with prefix ("p.yaml:LINE:COL: problem"); the rest is free text. */
static void expect_error_len(const char *yaml, size_t len, const char *prefix)
{
	struct tg_policy *p = tg_policy_parse("p.yaml", yaml, len, err, sizeof(err));

	if (p) {
		tg_policy_free(p);
		fail_msg("parsed, expected an error starting with \"%s\"", prefix);
	}
	if (strncmp(err, prefix, strlen(prefix)))
		fail_msg("error \"%s\"\ndoes not start with \"%s\"", err, prefix);
	/* every message says what was expected instead */
	assert_non_null(strstr(err, "; expected ") ? err : strstr(err, "out of memory"));
}

static void expect_error(const char *yaml, const char *prefix)
{
	expect_error_len(yaml, strlen(yaml), prefix);
}

static char *read_shipped(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", policy_dir, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct tg_policy *load_shipped(const char *name)
{
	char path[4096];
	struct tg_policy *p;

	snprintf(path, sizeof(path), "%s/%s", policy_dir, name);
	p = tg_policy_load(path, err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	assert_string_equal(p->source, path);
	return p;
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Everything but source and the exceptions' line numbers, which name where a policy came from. */
static void assert_same_policy(const struct tg_policy *a, const struct tg_policy *b)
{
	size_t i;
	int r;

	assert_int_equal(a->version, b->version);
	for (r = 0; r < TG_RULE_MAX; r++) {
		assert_int_equal(a->rules[r].enabled, b->rules[r].enabled);
		assert_int_equal(a->rules[r].severity_set, b->rules[r].severity_set);
		if (a->rules[r].severity_set)
			assert_int_equal(a->rules[r].severity, b->rules[r].severity);
		assert_int_equal(a->rules[r].action, b->rules[r].action);
	}
	assert_int_equal(a->file_loose_mask, b->file_loose_mask);
	assert_int_equal(a->dir_loose_mask, b->dir_loose_mask);
	assert_int_equal(a->probe_window_ns, b->probe_window_ns);
	assert_int_equal(a->per_key_per_minute, b->per_key_per_minute);
	assert_int_equal(a->per_user_per_minute, b->per_user_per_minute);
	assert_int_equal(a->per_host_per_minute, b->per_host_per_minute);
	assert_int_equal(a->n_shared_dirs, b->n_shared_dirs);
	for (i = 0; i < a->n_shared_dirs; i++)
		assert_string_equal(a->shared_dirs[i], b->shared_dirs[i]);
	assert_int_equal(a->n_exceptions, b->n_exceptions);
	for (i = 0; i < a->n_exceptions; i++) {
		const struct tg_exception *x = &a->exceptions[i], *y = &b->exceptions[i];

		assert_int_equal(x->rule, y->rule);
		assert_str_or_null(x->exe, y->exe);
		assert_str_or_null(x->comm, y->comm);
		assert_str_or_null(x->path, y->path);
		assert_str_or_null(x->user, y->user);
		assert_int_equal(x->has_uid, y->has_uid);
		if (x->has_uid)
			assert_int_equal(x->uid, y->uid);
		assert_str_or_null(x->container, y->container);
		assert_str_or_null(x->cgroup, y->cgroup);
		assert_string_equal(x->reason, y->reason);
		assert_str_or_null(x->owner, y->owner);
		assert_int_equal(x->expires_ns, y->expires_ns);
	}
}

/* Prints p, parses the output, and checks that nothing changed. */
static void assert_round_trip(const struct tg_policy *p)
{
	struct tg_policy *q;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	tg_policy_print(p, f);
	assert_int_equal(fclose(f), 0);
	q = tg_policy_parse("printed.yaml", text, len, err, sizeof(err));
	if (!q)
		fail_msg("printed policy does not parse: %s\n%s", err, text);
	assert_same_policy(p, q);
	tg_policy_free(q);
	free(text);
}

/* ---- valid policies ---- */

static void assert_defaults(const struct tg_policy *p)
{
	int r;

	assert_int_equal(p->version, 1);
	for (r = 0; r < TG_RULE_MAX; r++) {
		assert_int_equal(p->rules[r].enabled, r != TG_RULE_INHERITABLE_FD);
		assert_false(p->rules[r].severity_set);
		assert_int_equal(p->rules[r].action, TG_ACTION_ALERT);
	}
	assert_int_equal(p->file_loose_mask, 0027);
	assert_int_equal(p->dir_loose_mask, 0077);
	assert_int_equal(p->probe_window_ns, 10 * NS);
	assert_int_equal(p->per_key_per_minute, 1);
	assert_int_equal(p->n_shared_dirs, 0);
	assert_int_equal(p->n_exceptions, 0);
}

static void test_defaults(void **state)
{
	struct tg_rules_config cfg;
	struct tg_policy *p;
	int r;

	(void)state;
	p = must_parse("version: 1\n");
	assert_string_equal(p->source, "p.yaml");
	assert_defaults(p);
	tg_policy_rules_config(p, &cfg);
	for (r = 0; r < TG_RULE_MAX; r++)
		assert_int_equal(cfg.enabled[r], r != TG_RULE_INHERITABLE_FD);
	assert_int_equal(cfg.file_loose_mask, 0027);
	assert_int_equal(cfg.dir_loose_mask, 0077);
	assert_int_equal(cfg.probe_window_ns, 10 * NS);
	tg_policy_free(p);
	/* no policy at all: the same */
	memset(&cfg, 0xff, sizeof(cfg));
	tg_policy_rules_config(NULL, &cfg);
	for (r = 0; r < TG_RULE_MAX; r++)
		assert_int_equal(cfg.enabled[r], r != TG_RULE_INHERITABLE_FD);
	assert_int_equal(cfg.file_loose_mask, 0027);
	assert_int_equal(cfg.dir_loose_mask, 0077);
	assert_int_equal(cfg.probe_window_ns, 10 * NS);

	/* sections left empty (entries commented out) are empty, not errors */
	p = must_parse("version: 1\nshared_dirs:\nrules:\nexceptions: ~\nrate_limit: null\n"
		       "---\n");
	assert_defaults(p);
	tg_policy_free(p);
	p = must_parse("version: 1\nrules: { inheritable-fd: }\nexceptions: []\nshared_dirs: []\n");
	assert_defaults(p);
	tg_policy_free(p);
}

/* The built-in policy (policies/default.yaml) says exactly what the defaults are. */
static void test_builtin_default(void **state)
{
	struct tg_policy *p;

	(void)state;
	p = tg_policy_default(err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	assert_string_equal(p->source, "<builtin default>");
	assert_defaults(p);
	assert_round_trip(p);
	tg_policy_free(p);
}

/* The example of the format, every key used. */
static const char full_example[] =
	"version: 1\n"
	"shared_dirs:              # in addition to every sticky world-writable directory\n"
	"  - /srv/scratch\n"
	"  - \"/var/tmp/with space\"\n"
	"rules:\n"
	"  nonexclusive-create: { severity: high, action: alert }\n"
	"  inheritable-fd:      { enabled: false }\n"
	"  loose-mode:          { mask: \"0077\", severity: critical }\n"
	"  loose-tempdir:       { mask: 0070, action: deny }\n"
	"  check-then-create:   { window_seconds: 30, enabled: no }\n"
	"  symlink-follow:      { action: kill, enabled: yes }\n"
	"exceptions:\n"
	"  - rule: nonexclusive-create\n"
	"    exe: /usr/lib/foo/*\n"
	"    comm: foo\n"
	"    path: /tmp/foo-*.lock\n"
	"    user: alice\n"
	"    container: 3f2a*\n"
	"    cgroup: /system.slice/foo.service\n"
	"    reason: \"lock file, created once at boot by root\"\n"
	"  - rule: \"*\"\n"
	"    uid: 1000\n"
	"    reason: 'the build user: its /tmp files are its own problem'\n"
	"rate_limit: { per_key_per_minute: 60 }\n";

static void test_full_example(void **state)
{
	const struct tg_exception *x;
	struct tg_policy *p;

	(void)state;
	p = must_parse(full_example);
	assert_int_equal(p->n_shared_dirs, 2);
	assert_string_equal(p->shared_dirs[0], "/srv/scratch");
	assert_string_equal(p->shared_dirs[1], "/var/tmp/with space");

	assert_true(p->rules[TG_RULE_NONEXCLUSIVE_CREATE].enabled);
	assert_true(p->rules[TG_RULE_NONEXCLUSIVE_CREATE].severity_set);
	assert_int_equal(p->rules[TG_RULE_NONEXCLUSIVE_CREATE].severity, TG_SEV_HIGH);
	assert_false(p->rules[TG_RULE_INHERITABLE_FD].enabled);
	assert_int_equal(p->file_loose_mask, 0077);
	assert_int_equal(p->rules[TG_RULE_LOOSE_MODE].severity, TG_SEV_CRITICAL);
	assert_int_equal(p->dir_loose_mask, 0070);
	assert_int_equal(p->rules[TG_RULE_LOOSE_TEMPDIR].action, TG_ACTION_DENY);
	assert_false(p->rules[TG_RULE_LOOSE_TEMPDIR].severity_set);
	assert_int_equal(p->probe_window_ns, 30 * NS);
	assert_false(p->rules[TG_RULE_CHECK_THEN_CREATE].enabled);
	assert_int_equal(p->rules[TG_RULE_SYMLINK_FOLLOW].action, TG_ACTION_KILL);
	assert_true(p->rules[TG_RULE_SYMLINK_FOLLOW].enabled);
	assert_false(p->rules[TG_RULE_FOREIGN_FILE_REUSE].severity_set);
	assert_int_equal(p->per_key_per_minute, 60);

	assert_int_equal(p->n_exceptions, 2);
	x = &p->exceptions[0];
	assert_int_equal(x->rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_string_equal(x->exe, "/usr/lib/foo/*");
	assert_string_equal(x->comm, "foo");
	assert_string_equal(x->path, "/tmp/foo-*.lock");
	assert_string_equal(x->user, "alice");
	assert_false(x->has_uid);
	assert_string_equal(x->container, "3f2a*");
	assert_string_equal(x->cgroup, "/system.slice/foo.service");
	assert_string_equal(x->reason, "lock file, created once at boot by root");
	assert_int_equal(x->line, 13);
	x = &p->exceptions[1];
	assert_int_equal(x->rule, -1);
	assert_true(x->has_uid);
	assert_int_equal(x->uid, 1000);
	assert_null(x->exe);
	assert_null(x->user);
	assert_null(x->comm);
	assert_null(x->path);
	assert_null(x->container);
	assert_null(x->cgroup);
	assert_int_equal(x->line, 21);
	assert_round_trip(p);
	tg_policy_free(p);
}

static void test_severity_override(void **state)
{
	struct tg_policy *p;

	(void)state;
	p = must_parse("version: 1\nrules:\n  loose-mode: { severity: low }\n"
		       "  symlink-follow: { severity: medium }\n");
	/* an override replaces whatever the classifier said, escalation included */
	assert_int_equal(tg_policy_severity(p, TG_RULE_LOOSE_MODE, TG_SEV_MEDIUM), TG_SEV_LOW);
	assert_int_equal(tg_policy_severity(p, TG_RULE_LOOSE_MODE, TG_SEV_CRITICAL), TG_SEV_LOW);
	assert_int_equal(tg_policy_severity(p, TG_RULE_SYMLINK_FOLLOW, TG_SEV_CRITICAL),
			 TG_SEV_MEDIUM);
	/* the others keep the classifier's */
	assert_int_equal(tg_policy_severity(p, TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH),
			 TG_SEV_HIGH);
	assert_int_equal(tg_policy_severity(p, TG_RULE_FOREIGN_FILE_REUSE, TG_SEV_CRITICAL),
			 TG_SEV_CRITICAL);
	assert_int_equal(tg_policy_severity(p, TG_RULE_MAX, TG_SEV_HIGH), TG_SEV_HIGH);
	assert_int_equal(tg_policy_severity(NULL, TG_RULE_LOOSE_MODE, TG_SEV_HIGH), TG_SEV_HIGH);
	tg_policy_free(p);
}

static void test_scalar_forms(void **state)
{
	static const struct {
		const char *mask;
		uint32_t value;
	} masks[] = {
		{"\"0027\"", 0027}, {"'0077'", 0077},	{"0027", 0027},
		{"027", 027},	    {"\"27\"", 027},	{"0o22", 022},
		{"0", 0},	    {"\"0777\"", 0777}, {"0777", 0777},
	};
	static const struct {
		const char *text;
		bool value;
	} bools[] = {{"true", true}, {"yes", true}, {"false", false}, {"no", false}};
	struct tg_policy *p;
	char yaml[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		snprintf(yaml, sizeof(yaml), "version: 1\nrules: { loose-mode: { mask: %s } }\n",
			 masks[i].mask);
		p = must_parse(yaml);
		assert_int_equal(p->file_loose_mask, masks[i].value);
		tg_policy_free(p);
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nrules: { inheritable-fd: { enabled: %s } }\n", bools[i].text);
		p = must_parse(yaml);
		assert_int_equal(p->rules[TG_RULE_INHERITABLE_FD].enabled, bools[i].value);
		tg_policy_free(p);
	}
	p = must_parse("version: 1\nrules: { check-then-create: { window_seconds: 3600 } }\n"
		       "rate_limit: { per_key_per_minute: 100000, per_user_per_minute: 7,"
		       " per_host_per_minute: 9 }\n"
		       "exceptions: [ { rule: '*', uid: 4294967294, reason: r },"
		       " { rule: '*', uid: 0, reason: r } ]\n");
	assert_int_equal(p->probe_window_ns, 3600 * NS);
	assert_int_equal(p->per_key_per_minute, 100000);
	assert_int_equal(p->per_user_per_minute, 7);
	assert_int_equal(p->per_host_per_minute, 9);
	assert_int_equal(p->exceptions[0].uid, 4294967294u);
	assert_true(p->exceptions[1].has_uid);
	assert_int_equal(p->exceptions[1].uid, 0);
	tg_policy_free(p);
	/* anchors and aliases are YAML: one rule's settings reused for another */
	p = must_parse("version: 1\nrules:\n  loose-mode: &m { mask: \"0077\", action: deny }\n"
		       "  loose-tempdir: *m\n");
	assert_int_equal(p->file_loose_mask, 0077);
	assert_int_equal(p->dir_loose_mask, 0077);
	assert_int_equal(p->rules[TG_RULE_LOOSE_TEMPDIR].action, TG_ACTION_DENY);
	tg_policy_free(p);
}

/* ---- errors: each class, with its line and column ---- */

static void test_errors_structure(void **state)
{
	(void)state;
	expect_error("version: 1\nrules: {\n", "p.yaml:3:1: not YAML: ");
	expect_error("version: 1\nreason: \"unterminated\n\n", "p.yaml:4:1: not YAML: ");
	expect_error("version: 1\n\tbad: tab\n", "p.yaml:2:1: not YAML: ");
	/* an unquoted * starts an alias: the message says to quote it */
	expect_error("version: 1\nexceptions:\n  - rule: *\n    uid: 1\n    reason: r\n",
		     "p.yaml:3:12: not YAML: ");
	assert_non_null(strstr(err, "rule: \"*\""));
	expect_error("- version: 1\n", "p.yaml:1:1: policy is a sequence; expected a mapping");
	expect_error("just text\n", "p.yaml:1:1: policy is a scalar; expected a mapping");
	expect_error("rules: {}\n", "p.yaml:1:1: missing version; expected version: 1");
	expect_error("\n\nrate_limit: {}\n", "p.yaml:3:1: missing version");
	expect_error("version: 2\n", "p.yaml:1:10: unsupported version 2; expected version: 1");
	expect_error("version: \"1\"\n", "p.yaml:1:10: unsupported version \"1\"");
	expect_error("version: 1.0\n", "p.yaml:1:10: unsupported version 1.0");
	expect_error("version: [1]\n", "p.yaml:1:10: version is a sequence; expected version: 1");
	expect_error("version: 1\n---\nversion: 1\n",
		     "p.yaml:3:1: a second YAML document; expected one policy per file");
	expect_error("version: 1\n---\n[\n", "p.yaml:4:1: not YAML: ");
}

static void test_errors_keys(void **state)
{
	(void)state;
	expect_error("version: 1\nrule:\n", "p.yaml:2:1: unknown key 'rule' in the policy; "
					    "expected one of version, shared_dirs, rules, "
					    "exceptions, rate_limit");
	expect_error("version: 1\n"
		     "rules:\n"
		     "  nonexclusive-create:\n"
		     "    severity: high\n"
		     "  loose-mode:\n"
		     "    mask: \"0027\"\n"
		     "    sevrity: high\n",
		     "p.yaml:7:5: unknown key 'sevrity' in rules.loose-mode; expected one of "
		     "enabled, severity, action, mask");
	assert_string_equal(err, "p.yaml:7:5: unknown key 'sevrity' in rules.loose-mode; expected "
				 "one of enabled, severity, action, mask");
	expect_error("version: 1\nrules:\n  check-then-create: { mask: \"0027\" }\n",
		     "p.yaml:3:24: unknown key 'mask' in rules.check-then-create; expected one of "
		     "enabled, severity, action, window_seconds");
	expect_error("version: 1\nrules:\n  symlink-follow: { window_seconds: 3 }\n",
		     "p.yaml:3:21: unknown key 'window_seconds' in rules.symlink-follow; expected "
		     "one of enabled, severity, action");
	expect_error(
		"version: 1\nrules:\nexceptions:\n  - rule: '*'\n    uid: 1\n    why: x\n",
		"p.yaml:6:5: unknown key 'why' in an exception; expected one of rule, exe, comm, "
		"path, user, uid, container, cgroup, reason");
	expect_error("version: 1\nrate_limit: { per_minute: 3 }\n",
		     "p.yaml:2:15: unknown key 'per_minute' in rate_limit");
	expect_error("version: 1\n[a]: 1\n", "p.yaml:2:1: key in the policy is a sequence");
	expect_error(
		"version: 1\nrules:\n  nonexclusive: { enabled: false }\n",
		"p.yaml:3:3: unknown rule 'nonexclusive'; expected one of nonexclusive-create, "
		"check-then-create, loose-mode, foreign-file-reuse, symlink-follow, "
		"loose-tempdir, inheritable-fd");
	/* case matters: rule ids are identifiers */
	expect_error("version: 1\nrules: { Loose-Mode: {} }\n", "p.yaml:2:10: unknown rule");
	/* duplicates at every level */
	expect_error("version: 1\nversion: 1\n",
		     "p.yaml:2:1: duplicate key 'version' in the policy (first at line 1)");
	expect_error("version: 1\nrules:\n  loose-mode: {}\n  loose-mode: {}\n",
		     "p.yaml:4:3: duplicate key 'loose-mode' in rules (first at line 3)");
	expect_error("version: 1\nrules:\n  loose-mode:\n    mask: \"0027\"\n    mask: \"0077\"\n",
		     "p.yaml:5:5: duplicate key 'mask' in rules.loose-mode (first at line 4)");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, uid: 2, reason: r }\n",
		     "p.yaml:3:26: duplicate key 'uid' in an exception");
	/* a key with a NUL in it is not the key it starts with */
	expect_error("version: 1\n\"rules\\0x\": {}\n", "p.yaml:2:1: unknown key 'rules\\x00x'");
}

static void test_errors_types(void **state)
{
	(void)state;
	expect_error("version: 1\nrules: [loose-mode]\n",
		     "p.yaml:2:8: rules is a sequence; expected a mapping");
	expect_error("version: 1\nrules:\n  loose-mode: true\n",
		     "p.yaml:3:15: rules.loose-mode is a scalar; expected a mapping");
	expect_error("version: 1\nshared_dirs: /srv\n",
		     "p.yaml:2:14: shared_dirs is a scalar; expected a list");
	expect_error("version: 1\nshared_dirs: [[/srv]]\n",
		     "p.yaml:2:15: shared_dirs entry is a sequence; expected an absolute");
	expect_error("version: 1\nexceptions: { rule: '*' }\n",
		     "p.yaml:2:13: exceptions is a mapping; expected a list");
	expect_error("version: 1\nexceptions:\n  - nonexclusive-create\n",
		     "p.yaml:3:5: exception is a scalar; expected a mapping");
	expect_error("version: 1\nrate_limit: 60\n",
		     "p.yaml:2:13: rate_limit is a scalar; expected a mapping");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', exe: [a], reason: r }\n",
		     "p.yaml:3:23: exe is a sequence; expected a glob");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: { a: b } }\n",
		     "p.yaml:3:34: reason is a mapping; expected reason: ");
	expect_error("version: 1\nrules: { loose-mode: { severity: [high] } }\n",
		     "p.yaml:2:34: severity is a sequence; expected one of low, medium, high, "
		     "critical");
	/* booleans */
	expect_error("version: 1\nrules: { loose-mode: { enabled: maybe } }\n",
		     "p.yaml:2:33: enabled 'maybe' is not a boolean; expected true or false");
	expect_error("version: 1\nrules: { loose-mode: { enabled: \"true\" } }\n",
		     "p.yaml:2:33: enabled (quoted) 'true' is not a boolean");
	expect_error("version: 1\nrules: { loose-mode: { enabled: 1 } }\n",
		     "p.yaml:2:33: enabled '1' is not a boolean");
	/* integers and ranges */
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: ten } }\n",
		     "p.yaml:2:47: window_seconds 'ten' is not an integer; expected an integer "
		     "from 1 to 3600");
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: 0 } }\n",
		     "p.yaml:2:47: window_seconds 0 is out of range; expected an integer from 1 to "
		     "3600");
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: 3601 } }\n",
		     "p.yaml:2:47: window_seconds 3601 is out of range");
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: -5 } }\n",
		     "p.yaml:2:47: window_seconds '-5' is not an integer");
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: '10' } }\n",
		     "p.yaml:2:47: window_seconds is a quoted string; expected an integer");
	expect_error("version: 1\nrules: { check-then-create: { window_seconds: 010 } }\n",
		     "p.yaml:2:47: window_seconds '010' has a leading zero");
	expect_error(
		"version: 1\nrules: { check-then-create: { window_seconds: "
		"99999999999999999999999999999999 } }\n",
		"p.yaml:2:47: window_seconds 99999999999999999999999999999999 is out of range");
	expect_error(
		"version: 1\nrate_limit: { per_key_per_minute: 0 }\n",
		"p.yaml:2:35: per_key_per_minute 0 is out of range; expected an integer from 1 "
		"to 100000");
	expect_error("version: 1\nrate_limit: { per_key_per_minute: 100001 }\n",
		     "p.yaml:2:35: per_key_per_minute 100001 is out of range");
	expect_error("version: 1\nexceptions: [ { rule: '*', uid: 4294967295, reason: r } ]\n",
		     "p.yaml:2:33: uid 4294967295 is out of range; expected an integer from 0 to "
		     "4294967294");
	expect_error("version: 1\nexceptions: [ { rule: '*', uid: root, reason: r } ]\n",
		     "p.yaml:2:33: uid 'root' is not an integer");
	/* masks: octal only, 0..0777 */
	expect_error("version: 1\nrules: { loose-mode: { mask: 27 } }\n",
		     "p.yaml:2:30: mask 27 is not octal (plain YAML reads it as decimal); expected "
		     "an octal mask");
	expect_error("version: 1\nrules: { loose-mode: { mask: \"0089\" } }\n",
		     "p.yaml:2:30: mask '0089' is not octal");
	expect_error("version: 1\nrules: { loose-tempdir: { mask: 01000 } }\n",
		     "p.yaml:2:33: mask '01000' is out of range");
	expect_error("version: 1\nrules: { loose-mode: { mask: \"\" } }\n",
		     "p.yaml:2:30: mask '' has no digits");
	expect_error("version: 1\nrules: { loose-mode: { mask: 0x1f } }\n",
		     "p.yaml:2:30: mask '0x1f' is not octal");
	/* names */
	expect_error("version: 1\nrules: { loose-mode: { severity: hi } }\n",
		     "p.yaml:2:34: unknown severity 'hi'; expected one of low, medium, high, "
		     "critical");
	expect_error("version: 1\nrules: { loose-mode: { severity: High } }\n",
		     "p.yaml:2:34: unknown severity 'High'");
	expect_error("version: 1\nrules: { loose-mode: { action: block } }\n",
		     "p.yaml:2:32: unknown action 'block'; expected one of alert, deny, kill");
	expect_error("version: 1\nshared_dirs: [srv/scratch]\n",
		     "p.yaml:2:15: shared_dirs entry 'srv/scratch' is a relative path; expected an "
		     "absolute directory path");
	expect_error("version: 1\nshared_dirs: ['']\n",
		     "p.yaml:2:15: shared_dirs entry '' is empty");
}

static void test_errors_exceptions(void **state)
{
	(void)state;
	expect_error("version: 1\n"
		     "exceptions:\n"
		     "  - rule: \"*\"\n"
		     "    uid: 0\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "  - rule: loose-mode\n"
		     "    exe: /usr/bin/x\n",
		     "p.yaml:3:5: exception without reason; expected reason: \"<why this is "
		     "safe>\"");
	expect_error("version: 1\n"
		     "exceptions:\n"
		     "  - rule: \"*\"\n"
		     "    uid: 0\n"
		     "    reason: ok\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "\n"
		     "  - rule: loose-mode\n"
		     "    exe: /usr/bin/x\n",
		     "p.yaml:12:5: exception without reason; expected reason: \"<why this is "
		     "safe>\"");
	expect_error("version: 1\nexceptions:\n  - rule: '*'\n    uid: 1\n    reason: \"\"\n",
		     "p.yaml:5:13: empty reason; expected reason: \"<why this is safe>\"");
	expect_error("version: 1\nexceptions:\n  - rule: '*'\n    uid: 1\n    reason: \" \\t\"\n",
		     "p.yaml:5:13: empty reason");
	expect_error("version: 1\nexceptions:\n  - rule: '*'\n    uid: 1\n    reason:\n",
		     "p.yaml:5:12: empty reason");
	expect_error(
		"version: 1\nexceptions:\n  - rule: loose-mode\n    reason: because\n",
		"p.yaml:3:5: exception without a condition; expected at least one of exe, comm, "
		"path, user, uid, container, cgroup");
	expect_error("version: 1\nexceptions:\n  - exe: /bin/true\n    reason: because\n",
		     "p.yaml:3:5: exception without rule; expected rule: \"*\" or one of "
		     "nonexclusive-create, ");
	expect_error("version: 1\nexceptions:\n  - rule: nonexclusive\n    uid: 1\n    reason: r\n",
		     "p.yaml:3:11: unknown rule 'nonexclusive'; expected \"*\" or one of "
		     "nonexclusive-create, check-then-create, ");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', user: alice, uid: 1, reason: r }\n",
		     "p.yaml:3:31: both user and uid in one exception; expected only one of them");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, user: alice, reason: r }\n",
		     "p.yaml:3:26: both user and uid in one exception");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', user: 1000, reason: r }\n",
		     "p.yaml:3:24: user 1000 is a number; expected a user name, or uid: 1000");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', comm: '', reason: r }\n",
		     "p.yaml:3:24: empty comm; expected a glob");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', exe: \"/bin/a\\0b\", reason: r }\n",
		     "p.yaml:3:23: exe contains a NUL byte");
	/* globs fnmatch() would misread: unbalanced '[', trailing '\' */
	expect_error("version: 1\nexceptions:\n  - { rule: '*', exe: '/usr/bin/[ab', reason: r }\n",
		     "p.yaml:3:23: bad glob '/usr/bin/[ab' in exe: an unbalanced '['");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', path: '/tmp/x\\', reason: r }\n",
		     "p.yaml:3:24: bad glob '/tmp/x\\x5c' in path: a trailing '\\'");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', comm: '[[:alpha:]', reason: r }\n",
		     "p.yaml:3:24: bad glob '[[:alpha:]' in comm: an unbalanced '['");
	expect_error(
		"version: 1\nexceptions:\n  - { rule: '*', container: '[[:alpha:', reason: r }\n",
		"p.yaml:3:29: bad glob '[[:alpha:' in container: an unbalanced '['");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', cgroup: '/a[\\', reason: r }\n",
		     "p.yaml:3:26: bad glob '/a[\\x5c' in cgroup: a trailing '\\'");
}

/* Well-formed globs are accepted as they are. */
static void test_good_globs(void **state)
{
	static const char *const globs[] = {
		"/usr/bin/[ab]*", "[]]x",	  "[!]]x",	  "[^a-z]", "\\[literal",
		"a\\*b",	  "[[:digit:]]*", "[[.hyphen.]]", "x[\\]]", "*",
	};
	struct tg_policy *p;
	char yaml[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nexceptions: [ { rule: '*', comm: '%s', reason: r } ]\n",
			 globs[i]);
		p = must_parse(yaml);
		assert_string_equal(p->exceptions[0].comm, globs[i]);
		tg_policy_free(p);
	}
}

/* Values from the file reach the terminal only escaped and cut short. */
static void test_error_messages_are_safe(void **state)
{
	char yaml[2048];
	char small[24];
	struct tg_policy *p;

	(void)state;
	expect_error("version: 1\n\"\\e[31mred\\r\": 1\n",
		     "p.yaml:2:1: unknown key '\\x1b[31mred\\x0d'");
	memset(yaml, 0, sizeof(yaml));
	strcpy(yaml, "version: 1\n");
	memset(yaml + strlen(yaml), 'k', 900);
	strcat(yaml, ": 1\n");
	expect_error(yaml, "p.yaml:2:1: unknown key 'kkkk");
	assert_non_null(strstr(err, "kkk...'"));
	assert_true(strlen(err) < 300);
	/* bidi controls and other non-ASCII are escaped byte by byte */
	expect_error("version: 1\n\"\\u202Eevil\": 1\n",
		     "p.yaml:2:1: unknown key '\\xe2\\x80\\xaeevil'");
	/* a short buffer gets a cut message, never an overflow; NULL gets none */
	p = tg_policy_parse("p.yaml", "version: 2\n", 11, small, sizeof(small));
	assert_null(p);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_null(tg_policy_parse("p.yaml", "version: 2\n", 11, NULL, 0));
	assert_null(tg_policy_parse("p.yaml", "version: 2\n", 11, small, 0));
	/* a parse error after a half-built policy frees what was built (valgrind checks) */
	expect_error("version: 1\nshared_dirs: [/a, /b]\nexceptions:\n  - { rule: '*', uid: 1, "
		     "exe: /x, comm: y, path: z, container: c, cgroup: /g, reason: r }\n"
		     "  - { rule: '*', exe: /x, comm: y, path: z, container: c, cgroup: /g,"
		     " user: u, reason: r, bogus: 1 }\n",
		     "p.yaml:5:");
}

/* ---- garbage: no crash, no unbounded recursion, a message ---- */

static void test_garbage(void **state)
{
	uint32_t seed = 12345;
	char *buf;
	size_t i, n;
	int round;

	(void)state;
	expect_error_len("", 0, "p.yaml:1:1: empty policy; expected a mapping");
	assert_null(tg_policy_parse("p.yaml", NULL, 0, err, sizeof(err)));
	expect_error("\n\n# only a comment\n", "p.yaml:1:1: empty policy");
	expect_error("---\n", "p.yaml:");
	expect_error("[", "p.yaml:1:2: not YAML: ");
	expect_error("{", "p.yaml:1:2: not YAML: ");
	expect_error("]", "p.yaml:1:1: not YAML: ");
	expect_error("version: 1\n\xff\xfe\n", "p.yaml:2:1: not YAML: invalid leading UTF-8 octet");
	expect_error_len("version: 1\n\0\n", 13, "p.yaml:2:1: not YAML: control characters");
	expect_error("version: 1\n\x1b[2J\n", "p.yaml:2:1: not YAML: control characters");

	/* random bytes, deterministic */
	buf = malloc(4096);
	assert_non_null(buf);
	for (round = 0; round < 200; round++) {
		struct tg_policy *p;

		n = (size_t)(round * 20 + 1);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (char)(seed >> 16);
		}
		p = tg_policy_parse("p.yaml", buf, n, err, sizeof(err));
		assert_null(p);
		assert_true(strncmp(err, "p.yaml:", 7) == 0);
	}
	free(buf);
}

static char *repeat(const char *head, const char *unit, size_t count, const char *mid,
		    const char *unit2, size_t count2, const char *tail)
{
	size_t len = strlen(head) + strlen(unit) * count + strlen(mid) + strlen(unit2) * count2 +
		     strlen(tail) + 1;
	char *s = malloc(len), *o = s;
	size_t i;

	assert_non_null(s);
	o = stpcpy(o, head);
	for (i = 0; i < count; i++)
		o = stpcpy(o, unit);
	o = stpcpy(o, mid);
	for (i = 0; i < count2; i++)
		o = stpcpy(o, unit2);
	stpcpy(o, tail);
	return s;
}

static void test_huge_and_deep(void **state)
{
	struct tg_policy *p;
	char *s;

	(void)state;
	/* 1 MB: as a reason it is legal, as a key it is refused and quoted briefly */
	s = repeat("version: 1\nexceptions:\n  - rule: '*'\n    uid: 7\n    reason: \"", "x",
		   1 << 20, "\"\n", "", 0, "");
	p = must_parse(s);
	assert_int_equal(strlen(p->exceptions[0].reason), 1 << 20);
	tg_policy_free(p);
	free(s);
	/* an explicit key ("? "): libyaml caps implicit keys at 1024 characters */
	s = repeat("version: 1\n? \"", "k", 1 << 20, "\"\n: 1\n", "", 0, "");
	expect_error(s, "p.yaml:2:3: unknown key 'kkk");
	assert_true(strlen(err) < 300);
	free(s);
	s = repeat("", "a", 1 << 20, "", "", 0, "");
	expect_error(s, "p.yaml:1:1: policy is a scalar");
	free(s);
	s = repeat("version: 1\nshared_dirs:\n", "  - /srv/d\n", 100000, "", "", 0, "");
	p = must_parse(s);
	assert_int_equal(p->n_shared_dirs, 100000);
	tg_policy_free(p);
	free(s);

	/* 10000 levels, flow and block, at the top and where the schema expects a scalar */
	s = repeat("", "[", 10000, "", "]", 10000, "\n");
	expect_error(s, "p.yaml:1:1: policy is a sequence");
	free(s);
	s = repeat("", "{a: ", 10000, "1", "}", 10000, "\n");
	expect_error(s, "p.yaml:1:2: unknown key 'a' in the policy");
	free(s);
	s = repeat("version: 1\nrules: { loose-mode: { mask: ", "[", 10000, "", "]", 10000,
		   " } }\n");
	expect_error(s, "p.yaml:2:30: mask is a sequence");
	free(s);
	s = repeat("version: 1\nexceptions:\n", "- ", 10000, "x\n", "", 0, "");
	expect_error(s, "p.yaml:3:3: exception is a sequence");
	free(s);
	/* an alias to its own ancestor: the walk must not follow it */
	expect_error("version: 1\nexceptions: &a [*a]\n", "p.yaml:2:13: exception is a sequence");
	expect_error("version: 1\nrules: &r { loose-mode: *r }\n",
		     "p.yaml:2:13: unknown key 'loose-mode' in rules.loose-mode");
}

/* ---- matching ---- */

static const char match_policy[] = "version: 1\n"
				   "exceptions:\n"
				   "  - rule: nonexclusive-create\n"
				   "    exe: /usr/lib/foo/*\n"
				   "    comm: foo*\n"
				   "    path: /tmp/foo-*.lock\n"
				   "    user: alice\n"
				   "    container: 3f2a*\n"
				   "    cgroup: /system.slice/foo.service\n"
				   "    reason: \"lock file\"\n"
				   "  - rule: \"*\"\n"
				   "    uid: 1000\n"
				   "    reason: \"build user\"\n"
				   "  - rule: loose-tempdir\n"
				   "    path: /tmp/*/cache\n"
				   "    reason: \"* crosses /\"\n";

static struct tg_match_subject matching_subject(void)
{
	return (struct tg_match_subject){
		.rule = TG_RULE_NONEXCLUSIVE_CREATE,
		.exe = "/usr/lib/foo/bin/food",
		.comm = "food",
		.path = "/tmp/foo-1234.lock",
		.user = "alice",
		.uid = 1001,
		.container_id = "3f2a0123456789",
		.cgroup = "/system.slice/foo.service",
	};
}

static void test_match(void **state)
{
	struct tg_match_subject s;
	struct tg_policy *p;

	(void)state;
	p = must_parse(match_policy);
	s = matching_subject();
	assert_int_equal(tg_policy_match(p, &s, 0), 0);

	/* change any one field and the first exception no longer holds */
	s = matching_subject();
	s.rule = TG_RULE_CHECK_THEN_CREATE;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.exe = "/usr/bin/food";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.comm = "bar";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.path = "/tmp/foo-1234.lck";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.user = "alicia";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.container_id = "4f2a0123";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.cgroup = "/system.slice/foo.service/sub";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);

	/* an unknown (NULL) value never satisfies a condition on it */
	s = matching_subject();
	s.exe = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.comm = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.path = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.user = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.container_id = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s = matching_subject();
	s.cgroup = NULL;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);

	/* rule "*" with uid: any rule, whatever else is unknown; -1 ("no uid") never matches */
	s = (struct tg_match_subject){.rule = TG_RULE_LOOSE_TEMPDIR, .uid = 1000};
	assert_int_equal(tg_policy_match(p, &s, 0), 1);
	s.rule = TG_RULE_INHERITABLE_FD;
	assert_int_equal(tg_policy_match(p, &s, 0), 1);
	s.uid = 0;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s.uid = UINT32_MAX;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	/* the first match wins */
	s = matching_subject();
	s.uid = 1000;
	assert_int_equal(tg_policy_match(p, &s, 0), 0);

	/* no FNM_PATHNAME: * matches across '/' */
	s = (struct tg_match_subject){
		.rule = TG_RULE_LOOSE_TEMPDIR, .path = "/tmp/a/b/c/cache", .uid = 5};
	assert_int_equal(tg_policy_match(p, &s, 0), 2);
	s.path = "/tmp/a/b/c/cache2";
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s.path = "/tmp/a/b/cache";
	s.rule = TG_RULE_LOOSE_MODE;
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	assert_int_equal(tg_policy_match(NULL, &s, 0), -1);
	assert_int_equal(tg_policy_match(p, NULL, 0), -1);
	tg_policy_free(p);

	/* user is compared as a name, not a glob */
	p = must_parse("version: 1\nexceptions: [ { rule: '*', user: 'a*', reason: r } ]\n");
	s = (struct tg_match_subject){.rule = TG_RULE_LOOSE_MODE, .user = "alice"};
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	s.user = "a*";
	assert_int_equal(tg_policy_match(p, &s, 0), 0);
	tg_policy_free(p);

	/* no exceptions: nothing matches */
	p = must_parse("version: 1\n");
	s = matching_subject();
	assert_int_equal(tg_policy_match(p, &s, 0), -1);
	tg_policy_free(p);
}

/* ---- owners and expiry ---- */

static void test_owner_and_expiry(void **state)
{
	static const struct {
		const char *text;
		int64_t ns;
	} times[] = {
		/* a date: the exception holds through that day, UTC */
		{"2026-12-31", NEW_YEAR_NS},
		{"\"2026-12-31\"", NEW_YEAR_NS},
		{"2024-02-29", 1709251200LL * (int64_t)NS},
		{"1970-01-01", DAY},
		/* an RFC 3339 time: that instant, offsets and fractions included */
		{"2026-12-31T18:00:00Z", NYE_NS + 18 * 3600 * (int64_t)NS},
		{"'2026-12-31T18:00:00+02:00'", NYE_NS + 16 * 3600 * (int64_t)NS},
		{"2026-12-31T00:00:00.25Z", NYE_NS + (int64_t)NS / 4},
		/* the last times int64 nanoseconds hold */
		{"2262-04-11T00:00:00Z", 9223286400LL * (int64_t)NS},
		{"2262-04-10", 9223286400LL * (int64_t)NS},
	};
	const struct tg_exception *x;
	struct tg_policy *p;
	char yaml[512];

	(void)state;
	p = must_parse("version: 1\n"
		       "exceptions:\n"
		       "  - rule: nonexclusive-create\n"
		       "    path: /tmp/foo-*.lock\n"
		       "    reason: \"lock file\"\n"
		       "    owner: \"storage team <storage@example.com>\"\n"
		       "    expires: 2026-12-31\n"
		       "  - rule: \"*\"\n"
		       "    uid: 1000\n"
		       "    reason: r\n");
	x = &p->exceptions[0];
	assert_string_equal(x->owner, "storage team <storage@example.com>");
	assert_true(x->expires_ns == NEW_YEAR_NS);
	/* owner and expires are not conditions: the exception is the same otherwise */
	assert_string_equal(x->path, "/tmp/foo-*.lock");
	assert_false(tg_exception_kernel_decidable(x));
	/* neither given: no owner, never expires */
	assert_null(p->exceptions[1].owner);
	assert_int_equal(p->exceptions[1].expires_ns, 0);
	assert_round_trip(p);
	tg_policy_free(p);

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, expires: "
			 "%s }\n",
			 times[i].text);
		p = must_parse(yaml);
		if (p->exceptions[0].expires_ns != times[i].ns)
			fail_msg("expires %s: %lld, expected %lld", times[i].text,
				 (long long)p->exceptions[0].expires_ns, (long long)times[i].ns);
		assert_round_trip(p);
		tg_policy_free(p);
	}

	/* owner alone, and any text: it is shown, never matched */
	p = must_parse("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, owner: "
		       "\"ops\\u00e9 \\\"on call\\\"\\n#2\" }\n");
	assert_string_equal(p->exceptions[0].owner, "ops\xc3\xa9 \"on call\"\n#2");
	assert_round_trip(p);
	tg_policy_free(p);
	/* exception with an owner and expiry, as the kernel decides it: still decidable */
	p = must_parse("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, owner: o, "
		       "expires: 2030-01-01 }\n");
	assert_true(tg_exception_kernel_decidable(&p->exceptions[0]));
	tg_policy_free(p);
}

static void test_errors_owner_and_expiry(void **state)
{
	static const char *const bad_times[] = {
		"2026-13-01",
		"2026-02-30",
		"2025-02-29",
		"26-12-31",
		"2026-12-31x",
		"2026/12/31",
		"tomorrow",
		"30d",
		"2026-12-31T25:00:00Z",
		"2026-12-31T18:00:00",
		"2026-12-31T18:00Z",
		"2026-12-31T18:00:00+2",
		"1969-12-31",
		"1960-01-01T00:00:00Z",
		"2262-04-11",
		"9999-12-31T23:59:59Z",
		"20261231",
		"\"\"",
	};
	char yaml[512], prefix[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nexceptions:\n  - rule: '*'\n    uid: 1\n    reason: r\n"
			 "    expires: %s\n",
			 bad_times[i]);
		snprintf(prefix, sizeof(prefix), "p.yaml:6:14: bad expires '");
		expect_error(yaml, prefix);
		assert_non_null(strstr(err, "; expected a date YYYY-MM-DD (the exception holds "
					    "through that day, UTC) or an RFC 3339 time such as "
					    "2026-12-31T18:00:00Z, from 1970 to 2262"));
	}
	expect_error("version: 1\nexceptions:\n  - rule: '*'\n    uid: 1\n    reason: r\n"
		     "    expires: 2026-02-30\n",
		     "p.yaml:6:14: bad expires '2026-02-30'; expected a date YYYY-MM-DD");
	expect_error(
		"version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, expires: [1] }\n",
		"p.yaml:3:46: expires is a sequence; expected a date YYYY-MM-DD");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, expires: "
		     "2030-01-01, expires: 2031-01-01 }\n",
		     "p.yaml:3:58: duplicate key 'expires' in an exception");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, owner: '' }\n",
		     "p.yaml:3:44: empty owner; expected owner: \"<who answers for it>\"");
	expect_error("version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, owner: ' ' }\n",
		     "p.yaml:3:44: empty owner");
	expect_error(
		"version: 1\nexceptions:\n  - { rule: '*', uid: 1, reason: r, owner: {a: b} }\n",
		"p.yaml:3:44: owner is a mapping; expected owner: ");
	/* owner and expires do not make an exception: a condition is still needed */
	expect_error("version: 1\nexceptions:\n  - { rule: '*', reason: r, owner: o, expires: "
		     "2030-01-01 }\n",
		     "p.yaml:3:5: exception without a condition");
}

static void test_match_expiry(void **state)
{
	struct tg_match_subject s = {.rule = TG_RULE_NONEXCLUSIVE_CREATE, .uid = 1000};
	struct tg_policy *p;

	(void)state;
	p = must_parse("version: 1\n"
		       "exceptions:\n"
		       "  - { rule: '*', uid: 1000, reason: first, expires: 2026-12-31 }\n"
		       "  - { rule: '*', uid: 1000, reason: later, expires: "
		       "\"2027-06-30T12:00:00Z\" }\n"
		       "  - { rule: '*', uid: 1000, reason: never }\n");
	/* unexpired at the event's time: it matches, until the last nanosecond of the day */
	assert_int_equal(tg_policy_match(p, &s, NYE_NS), 0);
	assert_int_equal(tg_policy_match(p, &s, NEW_YEAR_NS - 1), 0);
	/* expired at the event's time: as if it were not there, the next one in order decides */
	assert_int_equal(tg_policy_match(p, &s, NEW_YEAR_NS), 1);
	assert_int_equal(tg_policy_match(p, &s, NEW_YEAR_NS + 100 * DAY), 1);
	assert_int_equal(tg_policy_match(p, &s, p->exceptions[1].expires_ns), 2);
	assert_int_equal(tg_policy_match(p, &s, INT64_MAX), 2);
	/* an event from before the epoch's clock (0) is within every expiry */
	assert_int_equal(tg_policy_match(p, &s, 0), 0);

	assert_false(tg_exception_expired(&p->exceptions[0], NEW_YEAR_NS - 1));
	assert_true(tg_exception_expired(&p->exceptions[0], NEW_YEAR_NS));
	assert_false(tg_exception_expired(&p->exceptions[2], INT64_MAX));

	/* the next change: the earliest expiry after now, 0 once none is left */
	assert_true(tg_policy_next_expiry(p, 0) == NEW_YEAR_NS);
	assert_true(tg_policy_next_expiry(p, NEW_YEAR_NS - 1) == NEW_YEAR_NS);
	assert_true(tg_policy_next_expiry(p, NEW_YEAR_NS) == p->exceptions[1].expires_ns);
	assert_int_equal(tg_policy_next_expiry(p, p->exceptions[1].expires_ns), 0);
	assert_int_equal(tg_policy_next_expiry(NULL, 0), 0);
	tg_policy_free(p);

	/* only exception, expired: nothing matches */
	p = must_parse("version: 1\nexceptions:\n"
		       "  - { rule: nonexclusive-create, path: /tmp/x, reason: r, expires: "
		       "1999-12-31 }\n");
	s = (struct tg_match_subject){.rule = TG_RULE_NONEXCLUSIVE_CREATE, .path = "/tmp/x"};
	assert_int_equal(tg_policy_match(p, &s, NYE_NS), -1);
	assert_int_equal(tg_policy_match(p, &s, 946684800LL * (int64_t)NS - 1), 0);
	tg_policy_free(p);
}

static void test_print_owner_and_expiry(void **state)
{
	struct tg_policy *p;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	p = must_parse(
		"version: 1\nexceptions:\n"
		"  - { rule: '*', uid: 1, reason: r, owner: ops, expires: 2026-12-31 }\n"
		"  - { rule: '*', uid: 2, reason: r, expires: '2027-01-01T06:00:00.5+01:00' }\n");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	tg_policy_print(p, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text,
			       "    owner: \"ops\"\n"
			       "    expires: \"2027-01-01T00:00:00Z\"  # the end of 2026-12-31 "
			       "UTC\n"));
	assert_non_null(strstr(text, "    expires: \"2027-01-01T05:00:00.500000000Z\"\n"));
	free(text);
	tg_policy_free(p);
}

static bool decidable(const char *conditions)
{
	struct tg_policy *p;
	char yaml[512];
	bool d;

	snprintf(yaml, sizeof(yaml), "version: 1\nexceptions:\n  - { %s, reason: r }\n",
		 conditions);
	p = must_parse(yaml);
	d = tg_exception_kernel_decidable(&p->exceptions[0]);
	tg_policy_free(p);
	return d;
}

static void test_kernel_decidable(void **state)
{
	(void)state;
	assert_true(decidable("rule: '*', exe: /usr/sbin/cron"));
	assert_true(decidable("rule: '*', uid: 0"));
	assert_true(decidable("rule: '*', user: backup"));
	assert_true(decidable("rule: '*', cgroup: /system.slice/cron.service"));
	assert_true(decidable("rule: '*', cgroup: /"));
	assert_true(decidable("rule: '*', exe: /usr/sbin/cron, uid: 0, "
			      "cgroup: /system.slice/cron.service"));
	assert_true(decidable("rule: '*', exe: /opt/my app/bin, user: alice"));

	/* a specific rule: the kernel does not classify */
	assert_false(decidable("rule: nonexclusive-create, exe: /usr/sbin/cron"));
	assert_false(decidable("rule: inheritable-fd, uid: 0"));
	/* conditions the kernel cannot see or compare */
	assert_false(decidable("rule: '*', comm: cron"));
	assert_false(decidable("rule: '*', path: /tmp/x"));
	assert_false(decidable("rule: '*', container: 3f2a"));
	assert_false(decidable("rule: '*', uid: 0, path: /tmp/x"));
	assert_false(decidable("rule: '*', exe: /usr/sbin/cron, comm: cron"));
	/* globs and paths whose text and inode could disagree */
	assert_false(decidable("rule: '*', exe: /usr/sbin/*"));
	assert_false(decidable("rule: '*', exe: /usr/sbin/cro?"));
	assert_false(decidable("rule: '*', exe: '/usr/sbin/[c]ron'"));
	assert_false(decidable("rule: '*', exe: '/usr/sbin/\\cron'"));
	assert_false(decidable("rule: '*', exe: cron"));
	assert_false(decidable("rule: '*', exe: /usr/sbin/../sbin/cron"));
	assert_false(decidable("rule: '*', exe: /usr/./sbin/cron"));
	assert_false(decidable("rule: '*', exe: /usr//sbin/cron"));
	assert_false(decidable("rule: '*', cgroup: /system.slice/"));
	assert_false(decidable("rule: '*', cgroup: /system.slice/*.service"));
	assert_false(decidable("rule: '*', cgroup: system.slice/cron.service"));
	assert_false(decidable("rule: '*', uid: 0, cgroup: /system.slice/*"));
	/* a dotfile name is not a "." component */
	assert_true(decidable("rule: '*', exe: /opt/.hidden/bin"));
	assert_true(decidable("rule: '*', exe: /opt/..x/bin"));

	assert_false(tg_exception_kernel_decidable(NULL));
}

/* ---- print ---- */

static void test_round_trip_hostile_strings(void **state)
{
	struct tg_policy *p;

	(void)state;
	/* quotes, backslashes, line breaks YAML would fold, C0/C1 controls, bidi, BOM, astral */
	p = must_parse("version: 1\n"
		       "shared_dirs: [\"/srv/a b\", \"/srv/\\\"q\\\"\", '/srv/#x: y', /srv/é]\n"
		       "rules:\n"
		       "  loose-mode: { severity: low, action: kill, mask: 0 }\n"
		       "  inheritable-fd: { enabled: true, severity: critical }\n"
		       "  check-then-create: { window_seconds: 1 }\n"
		       "exceptions:\n"
		       "  - rule: '*'\n"
		       "    exe: \"/opt/a\\\\[b]\\t\\n\\r\\x85\\u2028\\u2029\\uFEFF\\x7f\\x9f\"\n"
		       "    comm: \"\\e]0;title\\a\\x01\"\n"
		       "    path: \"/tmp/\\u202Ex\\U0001F600\\uFFFE\\uFFFF\\uFFFD\\xA0\"\n"
		       "    user: \"al'ice\\\"\"\n"
		       "    container: \"# not a comment\"\n"
		       "    cgroup: \"- [not, a, list]\"\n"
		       "    reason: |\n"
		       "      two lines,\n"
		       "      : and a colon\n"
		       "  - rule: symlink-follow\n"
		       "    uid: 4294967294\n"
		       "    reason: \"  leading and trailing spaces  \"\n"
		       "rate_limit: { per_key_per_minute: 7 }\n");
	assert_string_equal(p->exceptions[0].reason, "two lines,\n: and a colon\n");
	assert_string_equal(p->exceptions[0].exe,
			    "/opt/a\\[b]\t\n\r\xc2\x85\xe2\x80\xa8\xe2\x80\xa9"
			    "\xef\xbb\xbf\x7f\xc2\x9f");
	assert_round_trip(p);
	tg_policy_free(p);
}

static void test_print_every_default(void **state)
{
	struct tg_policy *p;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	(void)state;
	p = must_parse("version: 1\n");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	tg_policy_print(p, f);
	fclose(f);
	for (r = 0; r < TG_RULE_MAX; r++)
		assert_non_null(strstr(text, tg_rule_id((enum tg_rule)r)));
	assert_non_null(strstr(text, "version: 1\n"));
	assert_non_null(strstr(text, "mask: \"0027\""));
	assert_non_null(strstr(text, "mask: \"0077\""));
	assert_non_null(strstr(text, "window_seconds: 10"));
	assert_non_null(strstr(text, "per_key_per_minute: 1, per_user_per_minute: 120, "
				     "per_host_per_minute: 1000 }"));
	assert_non_null(strstr(text, "inheritable-fd:      { enabled: false, action: alert }"));
	assert_non_null(strstr(text, "shared_dirs: []"));
	assert_non_null(strstr(text, "exceptions: []"));
	/* a default severity is not written: writing it would pin it */
	assert_null(strstr(text, ", severity: "));
	free(text);
	tg_policy_free(p);
}

/* ---- shipped policies ---- */

static void test_shipped_default(void **state)
{
	struct tg_policy *p, *b;
	size_t len;
	char *text;

	(void)state;
	if (!policy_dir)
		skip();
	p = load_shipped("default.yaml");
	assert_defaults(p);
	assert_round_trip(p);
	/* the built-in copy is this file, byte for byte */
	text = read_shipped("default.yaml", &len);
	assert_int_equal(tg_default_policy_yaml_len, len);
	assert_memory_equal(tg_default_policy_yaml, text, len);
	b = tg_policy_default(err, sizeof(err));
	assert_non_null(b);
	assert_same_policy(p, b);
	tg_policy_free(b);
	free(text);
	tg_policy_free(p);
}

static void test_shipped_strict(void **state)
{
	struct tg_policy *p;
	int r;

	(void)state;
	if (!policy_dir)
		skip();
	p = load_shipped("strict.yaml");
	for (r = 0; r < TG_RULE_MAX; r++)
		assert_true(p->rules[r].enabled);
	assert_int_equal(p->file_loose_mask, 0077);
	assert_int_equal(p->dir_loose_mask, 0077);
	assert_true(p->per_key_per_minute > 1);
	assert_int_equal(p->n_exceptions, 0);
	/* print, parse, compare field by field */
	assert_round_trip(p);
	tg_policy_free(p);
}

static void test_shipped_ci(void **state)
{
	struct tg_policy *p;
	int r;

	(void)state;
	if (!policy_dir)
		skip();
	p = load_shipped("ci.yaml");
	for (r = 0; r < TG_RULE_MAX; r++) {
		assert_true(p->rules[r].enabled);
		/* CI reports and --fail-on gates: nothing is denied or killed */
		assert_int_equal(p->rules[r].action, TG_ACTION_ALERT);
		/* --fail-on must mean the same as on a fleet */
		assert_false(p->rules[r].severity_set);
	}
	assert_true(p->per_key_per_minute >= 1000);
	assert_int_equal(p->n_exceptions, 0);
	assert_round_trip(p);
	tg_policy_free(p);
}

static void test_load(void **state)
{
	char path[] = "/tmp/tg_test_policy.XXXXXX";
	struct tg_policy *p;
	FILE *f;
	int fd;

	(void)state;
	assert_null(tg_policy_load("/nonexistent/policy.yaml", err, sizeof(err)));
	assert_string_equal(err, "cannot read /nonexistent/policy.yaml: No such file or directory");
	assert_null(tg_policy_load("/", err, sizeof(err)));
	assert_string_equal(err, "cannot read /: Is a directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("version: 1\nrules:\n  loose-mode: { mask: 7 }\n", f);
	fclose(f);
	assert_null(tg_policy_load(path, err, sizeof(err)));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(strncmp(err + strlen(path), ":3:23: mask 7 is not octal", 26), 0);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("version: 1\nrate_limit: { per_key_per_minute: 5 }\n", f);
	fclose(f);
	p = tg_policy_load(path, err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(p->source, path);
	assert_int_equal(p->per_key_per_minute, 5);
	tg_policy_free(p);
	unlink(path);
	tg_policy_free(NULL);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(tg_action_name(TG_ACTION_ALERT), "alert");
	assert_string_equal(tg_action_name(TG_ACTION_DENY), "deny");
	assert_string_equal(tg_action_name(TG_ACTION_KILL), "kill");
	assert_string_equal(tg_action_name((enum tg_action)42), "unknown");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_builtin_default),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_severity_override),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_errors_structure),
		cmocka_unit_test(test_errors_keys),
		cmocka_unit_test(test_errors_types),
		cmocka_unit_test(test_errors_exceptions),
		cmocka_unit_test(test_good_globs),
		cmocka_unit_test(test_error_messages_are_safe),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_huge_and_deep),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_owner_and_expiry),
		cmocka_unit_test(test_errors_owner_and_expiry),
		cmocka_unit_test(test_match_expiry),
		cmocka_unit_test(test_print_owner_and_expiry),
		cmocka_unit_test(test_kernel_decidable),
		cmocka_unit_test(test_round_trip_hostile_strings),
		cmocka_unit_test(test_print_every_default),
		cmocka_unit_test(test_shipped_default),
		cmocka_unit_test(test_shipped_strict),
		cmocka_unit_test(test_shipped_ci),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_action_names),
	};

	policy_dir = argc > 1 ? argv[1] : getenv("TG_POLICY_DIR");
	if (policy_dir && !*policy_dir)
		policy_dir = NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
