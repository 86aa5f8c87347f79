// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/core/advice.c: language detection and per-language advice. Unprivileged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "advice.h"

static void test_detect_interpreters(void **state)
{
	static const struct {
		const char *exe;
		enum tg_lang lang;
	} cases[] = {
		{"python", TG_LANG_PYTHON},
		{"python3", TG_LANG_PYTHON},
		{"python3.11", TG_LANG_PYTHON},
		{"/usr/bin/python3.11", TG_LANG_PYTHON},
		{"pypy3", TG_LANG_PYTHON},
		{"/opt/pypy/bin/pypy3.9", TG_LANG_PYTHON},
		{"perl", TG_LANG_PERL},
		{"/usr/bin/perl5.36.0", TG_LANG_PERL},
		{"ruby", TG_LANG_RUBY},
		{"/usr/bin/ruby3.1", TG_LANG_RUBY},
		{"sh", TG_LANG_SHELL},
		{"/bin/bash", TG_LANG_SHELL},
		{"/usr/bin/dash", TG_LANG_SHELL},
		{"zsh", TG_LANG_SHELL},
		{"ksh", TG_LANG_SHELL},
		{"mksh", TG_LANG_SHELL},
		{"ash", TG_LANG_SHELL},
		{"/bin/busybox", TG_LANG_SHELL},
		{"/usr/bin/fish", TG_LANG_SHELL},
		{"node", TG_LANG_NODE},
		{"/usr/bin/nodejs", TG_LANG_NODE},
		{"/usr/local/bin/node18", TG_LANG_NODE},
		{"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", TG_LANG_JAVA},
		{"php", TG_LANG_PHP},
		{"/usr/bin/php8.2", TG_LANG_PHP},
		{"/usr/sbin/php-fpm8.2", TG_LANG_PHP},
		{"/usr/bin/python3.11 (deleted)", TG_LANG_PYTHON},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_lang got = tg_lang_detect(cases[i].exe, NULL, 0);

		if (got != cases[i].lang)
			fail_msg("%s: got %s, want %s", cases[i].exe, tg_lang_name(got),
				 tg_lang_name(cases[i].lang));
	}
}

static void test_detect_c_and_lookalikes(void **state)
{
	static const char *const c_like[] = {
		"/usr/bin/gcc",	      "cat",	   "/usr/bin/python-config", "perldoc",
		"/usr/bin/rubocop",   "shasum",	   "/usr/bin/bashbug",	     "nodemon",
		"/usr/bin/javac",     "phpize",	   "/usr/bin/flash",	     "python3-dbg",
		"/usr/bin/sh/../cat", "/usr/bin/",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c_like) / sizeof(c_like[0]); i++) {
		enum tg_lang got = tg_lang_detect(c_like[i], NULL, 0);

		if (got != TG_LANG_C)
			fail_msg("%s: got %s, want c", c_like[i], tg_lang_name(got));
	}
	/* The directory does not count, only the basename. */
	assert_int_equal(tg_lang_detect("/opt/python3/bin/myapp", NULL, 0), TG_LANG_C);
	assert_int_equal(tg_lang_detect("/opt/tools/bin/python3", NULL, 0), TG_LANG_PYTHON);
}

static void test_detect_comm_fallback(void **state)
{
	(void)state;
	assert_int_equal(tg_lang_detect(NULL, "python3", 0), TG_LANG_PYTHON);
	assert_int_equal(tg_lang_detect("", "bash", 0), TG_LANG_SHELL);
	assert_int_equal(tg_lang_detect(NULL, "php-fpm8.2", 0), TG_LANG_PHP);
	assert_int_equal(tg_lang_detect(NULL, "ruby3.1", 0), TG_LANG_RUBY);
	assert_int_equal(tg_lang_detect(NULL, "myserver", 0), TG_LANG_C);
	assert_int_equal(tg_lang_detect(NULL, NULL, 0), TG_LANG_C);
	assert_int_equal(tg_lang_detect("", "", 0), TG_LANG_C);
	/* A known exe wins over comm: a #! script's comm is the script's name. */
	assert_int_equal(tg_lang_detect("/usr/bin/python3", "backup.sh", 0), TG_LANG_PYTHON);
	assert_int_equal(tg_lang_detect("/usr/bin/cp", "bash", 0), TG_LANG_C);
}

static void test_detect_go(void **state)
{
	(void)state;
	assert_int_equal(tg_lang_detect("/usr/local/bin/server", "server", 1), TG_LANG_GO);
	assert_int_equal(tg_lang_detect(NULL, NULL, 1), TG_LANG_GO);
	/* The build id is proof; the name is only a guess. */
	assert_int_equal(tg_lang_detect("/usr/bin/sh", "sh", 1), TG_LANG_GO);
	assert_int_equal(tg_lang_detect("/usr/local/bin/server", "server", 0), TG_LANG_C);
}

static void test_lang_names(void **state)
{
	static const char *const want[TG_LANG_MAX] = {
		"c", "python", "perl", "ruby", "shell", "node", "java", "php", "go",
	};
	int l;

	(void)state;
	for (l = 0; l < TG_LANG_MAX; l++)
		assert_string_equal(tg_lang_name((enum tg_lang)l), want[l]);
	assert_string_equal(tg_lang_name(TG_LANG_MAX), "c");
	assert_string_equal(tg_lang_name((enum tg_lang) - 1), "c");
}

/*
 * For each (language, rule): strings the advice must contain. Each names that language's own
 * secure API for the finding, so a table that drifted (or copied another language's advice)
 * fails here.
 */
static const char *const must[TG_LANG_MAX][TG_RULE_MAX][3] = {
	[TG_LANG_C] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"mkstemp()", "O_TMPFILE",
							 "never mktemp()"},
			[TG_RULE_CHECK_THEN_CREATE] = {"O_CREAT | O_EXCL", "mkstemp()"},
			[TG_RULE_LOOSE_MODE] = {"0600", "umask(077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"mkstemp()", "mkdtemp()"},
			[TG_RULE_SYMLINK_FOLLOW] = {"O_EXCL | O_NOFOLLOW", "mkstemp()"},
			[TG_RULE_LOOSE_TEMPDIR] = {"mkdtemp()", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"O_CLOEXEC", "mkostemp(template, O_CLOEXEC)"},
		},
	[TG_LANG_PYTHON] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"tempfile.mkstemp()",
							 "tempfile.NamedTemporaryFile()",
							 "never tempfile.mktemp()"},
			[TG_RULE_CHECK_THEN_CREATE] = {"os.O_CREAT | os.O_EXCL",
						       "tempfile.mkstemp()"},
			[TG_RULE_LOOSE_MODE] = {"0o600", "os.umask(0o077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"tempfile.mkstemp()", "tempfile.mkdtemp()"},
			[TG_RULE_SYMLINK_FOLLOW] = {"tempfile.mkstemp()", "os.O_NOFOLLOW"},
			[TG_RULE_LOOSE_TEMPDIR] = {"tempfile.mkdtemp()",
						   "tempfile.TemporaryDirectory()", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"os.set_inheritable", "O_CLOEXEC"},
		},
	[TG_LANG_PERL] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"File::Temp", "tempfile()",
							 "O_CREAT | O_EXCL"},
			[TG_RULE_CHECK_THEN_CREATE] = {"sysopen(", "O_CREAT | O_EXCL"},
			[TG_RULE_LOOSE_MODE] = {"0600", "umask(077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"tempfile()", "tempdir("},
			[TG_RULE_SYMLINK_FOLLOW] = {"File::Temp", "O_NOFOLLOW"},
			[TG_RULE_LOOSE_TEMPDIR] = {"File::Temp", "tempdir(", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"$^F", "FD_CLOEXEC"},
		},
	[TG_LANG_RUBY] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"Tempfile.create", "File::EXCL"},
			[TG_RULE_CHECK_THEN_CREATE] = {"File.exist?", "File::CREAT | File::EXCL"},
			[TG_RULE_LOOSE_MODE] = {"0600", "File.umask(0077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"Tempfile.create", "Dir.mktmpdir"},
			[TG_RULE_SYMLINK_FOLLOW] = {"Tempfile.create", "File::NOFOLLOW"},
			[TG_RULE_LOOSE_TEMPDIR] = {"Dir.mktmpdir", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"close_on_exec"},
		},
	[TG_LANG_SHELL] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"f=$(mktemp)", "mktemp -d",
							 "never > /tmp/name.$$"},
			[TG_RULE_CHECK_THEN_CREATE] = {"f=$(mktemp)", "set -C"},
			[TG_RULE_LOOSE_MODE] = {"umask 077", "mktemp"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"f=$(mktemp)", "d=$(mktemp -d)"},
			[TG_RULE_SYMLINK_FOLLOW] = {"mktemp", "never mktemp -u"},
			[TG_RULE_LOOSE_TEMPDIR] = {"d=$(mktemp -d)", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"exec 3>&-", "O_CLOEXEC"},
		},
	[TG_LANG_NODE] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] =
				{"fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))",
				 "fs.openSync(p, 'wx', 0o600)"},
			[TG_RULE_CHECK_THEN_CREATE] = {"fs.existsSync()",
						       "fs.openSync(p, 'wx', 0o600)"},
			[TG_RULE_LOOSE_MODE] = {"0o600", "process.umask(0o077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"fs.mkdtempSync(", "'wx'"},
			[TG_RULE_SYMLINK_FOLLOW] = {"'wx'", "O_EXCL"},
			[TG_RULE_LOOSE_TEMPDIR] = {"fs.mkdtempSync(", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"O_CLOEXEC", "child_process.spawn()"},
		},
	[TG_LANG_JAVA] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"Files.createTempFile", "CREATE_NEW"},
			[TG_RULE_CHECK_THEN_CREATE] = {"Files.exists()", "CREATE_NEW"},
			[TG_RULE_LOOSE_MODE] = {"Files.createTempFile()", "rw-------"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"Files.createTempFile()",
							"Files.createTempDirectory()"},
			[TG_RULE_SYMLINK_FOLLOW] = {"Files.createTempFile()", "CREATE_NEW"},
			[TG_RULE_LOOSE_TEMPDIR] = {"Files.createTempDirectory(", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"ProcessBuilder", "O_CLOEXEC"},
		},
	[TG_LANG_PHP] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"tempnam(sys_get_temp_dir(), 'x')",
							 "tmpfile()", "fopen($p, 'x')"},
			[TG_RULE_CHECK_THEN_CREATE] = {"file_exists()", "fopen($p, 'x')"},
			[TG_RULE_LOOSE_MODE] = {"0600", "umask(0077)"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"tmpfile()", "tempnam("},
			[TG_RULE_SYMLINK_FOLLOW] = {"fopen($p, 'x')", "O_EXCL"},
			[TG_RULE_LOOSE_TEMPDIR] = {"mkdir(", "0700", "random_bytes("},
			[TG_RULE_INHERITABLE_FD] = {"'e'", "fclose()"},
		},
	[TG_LANG_GO] =
		{
			[TG_RULE_NONEXCLUSIVE_CREATE] = {"os.CreateTemp",
							 "os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600"},
			[TG_RULE_CHECK_THEN_CREATE] = {"os.Stat()", "os.O_CREATE|os.O_EXCL"},
			[TG_RULE_LOOSE_MODE] = {"os.CreateTemp", "0600"},
			[TG_RULE_FOREIGN_FILE_REUSE] = {"os.CreateTemp", "os.MkdirTemp"},
			[TG_RULE_SYMLINK_FOLLOW] = {"os.CreateTemp", "os.O_EXCL"},
			[TG_RULE_LOOSE_TEMPDIR] = {"os.MkdirTemp", "0700"},
			[TG_RULE_INHERITABLE_FD] = {"O_CLOEXEC", "ExtraFiles"},
		},
};

static void test_advice_every_cell(void **state)
{
	int l, r, k;

	(void)state;
	for (l = 0; l < TG_LANG_MAX; l++) {
		for (r = 0; r < TG_RULE_MAX; r++) {
			const char *a = tg_advice((enum tg_lang)l, (enum tg_rule)r);

			assert_non_null(a);
			assert_true(strlen(a) > 40);
			/* One or two sentences, each a full one. */
			assert_int_equal(a[strlen(a) - 1], '.');
			assert_null(strchr(a, '\n'));
			assert_non_null(must[l][r][0]);
			for (k = 0; k < 3 && must[l][r][k]; k++)
				if (!strstr(a, must[l][r][k]))
					fail_msg("%s/%d: \"%s\" lacks \"%s\"",
						 tg_lang_name((enum tg_lang)l), r, a,
						 must[l][r][k]);
		}
	}
}

/* Advice for one language must not be another's text. */
static void test_advice_distinct(void **state)
{
	int a, b, r;

	(void)state;
	for (r = 0; r < TG_RULE_MAX; r++)
		for (a = 0; a < TG_LANG_MAX; a++)
			for (b = a + 1; b < TG_LANG_MAX; b++)
				assert_string_not_equal(
					tg_advice((enum tg_lang)a, (enum tg_rule)r),
					tg_advice((enum tg_lang)b, (enum tg_rule)r));
	/* And within a language the rules get tailored advice. */
	for (a = 0; a < TG_LANG_MAX; a++)
		for (r = 0; r < TG_RULE_MAX; r++)
			for (b = r + 1; b < TG_RULE_MAX; b++)
				assert_string_not_equal(
					tg_advice((enum tg_lang)a, (enum tg_rule)r),
					tg_advice((enum tg_lang)a, (enum tg_rule)b));
}

static void test_advice_specific(void **state)
{
	(void)state;
	/* The headline examples, spelled out. */
	assert_non_null(
		strstr(tg_advice(TG_LANG_PYTHON, TG_RULE_NONEXCLUSIVE_CREATE), "tempfile.mkstemp"));
	assert_non_null(strstr(tg_advice(TG_LANG_SHELL, TG_RULE_NONEXCLUSIVE_CREATE), "mktemp"));
	assert_non_null(
		strstr(tg_advice(TG_LANG_GO, TG_RULE_NONEXCLUSIVE_CREATE), "os.CreateTemp"));
	assert_non_null(strstr(tg_advice(TG_LANG_JAVA, TG_RULE_NONEXCLUSIVE_CREATE),
			       "Files.createTempFile"));
	assert_non_null(strstr(tg_advice(TG_LANG_RUBY, TG_RULE_LOOSE_TEMPDIR), "Dir.mktmpdir"));
	/* Non-C advice does not fall back to C's calls or another language's. */
	assert_null(strstr(tg_advice(TG_LANG_GO, TG_RULE_NONEXCLUSIVE_CREATE), "mkstemp"));
	assert_null(strstr(tg_advice(TG_LANG_SHELL, TG_RULE_NONEXCLUSIVE_CREATE), "tempfile."));
}

static void test_advice_out_of_range(void **state)
{
	const char *a;

	(void)state;
	a = tg_advice(TG_LANG_MAX, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_string_equal(a, tg_advice(TG_LANG_C, TG_RULE_NONEXCLUSIVE_CREATE));
	a = tg_advice(TG_LANG_PYTHON, TG_RULE_MAX);
	assert_non_null(a);
	assert_non_null(strstr(a, "O_EXCL"));
	a = tg_advice((enum tg_lang) - 1, (enum tg_rule) - 1);
	assert_non_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_interpreters),
		cmocka_unit_test(test_detect_c_and_lookalikes),
		cmocka_unit_test(test_detect_comm_fallback),
		cmocka_unit_test(test_detect_go),
		cmocka_unit_test(test_lang_names),
		cmocka_unit_test(test_advice_every_cell),
		cmocka_unit_test(test_advice_distinct),
		cmocka_unit_test(test_advice_specific),
		cmocka_unit_test(test_advice_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
