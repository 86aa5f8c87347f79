// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/core/callsite_shell.c: which shell, which script or -c text, which line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "callsite_shell.h"
#include "tmpguard.h"

/* An argument vector written with '|' for its NULs, as the kernel sends it (last NUL kept). */
static size_t vec(char *buf, size_t len, const char *bars)
{
	size_t n = strlen(bars);

	assert_true(n + 1 <= len);
	for (size_t i = 0; i < n; i++)
		buf[i] = bars[i] == '|' ? 0 : bars[i];
	buf[n] = 0;
	return n + 1;
}

static void parse(const char *exe, const char *bars, enum tg_shell shell, const char *script,
		  const char *command)
{
	char buf[512];
	size_t n = vec(buf, sizeof(buf), bars);
	struct tg_shell_argv a;
	bool is = tg_shell_parse(exe, buf, n, &a);

	assert_int_equal(is, shell != TG_SHELL_NONE);
	assert_int_equal(a.shell, shell);
	if (script) {
		assert_non_null(a.script);
		assert_int_equal(a.script_len, strlen(script));
		assert_memory_equal(a.script, script, a.script_len);
	} else {
		assert_null(a.script);
	}
	if (command) {
		assert_non_null(a.command);
		assert_int_equal(a.command_len, strlen(command));
		assert_memory_equal(a.command, command, a.command_len);
		assert_ptr_equal(a.command, buf + a.command_off);
	} else {
		assert_null(a.command);
	}
}

static void test_which_shell(void **state)
{
	(void)state;
	assert_int_equal(tg_shell_of("/usr/bin/bash", "bash"), TG_SHELL_BASH);
	assert_int_equal(tg_shell_of("/usr/bin/dash", "sh"), TG_SHELL_DASH);
	assert_int_equal(tg_shell_of("/bin/sh", "sh"), TG_SHELL_DASH);
	assert_int_equal(tg_shell_of("/usr/bin/zsh", "zsh"), TG_SHELL_ZSH);
	assert_int_equal(tg_shell_of("/usr/bin/ksh93", "ksh"), TG_SHELL_KSH);
	assert_int_equal(tg_shell_of("/usr/bin/mksh", "mksh"), TG_SHELL_KSH);
	assert_int_equal(tg_shell_of("/bin/busybox", "sh"), TG_SHELL_BUSYBOX);
	assert_int_equal(tg_shell_of("/bin/busybox", "-sh"), TG_SHELL_BUSYBOX);
	assert_int_equal(tg_shell_of("/bin/busybox", "/bin/ash"), TG_SHELL_BUSYBOX);
	/* busybox's other applets are not shells */
	assert_int_equal(tg_shell_of("/bin/busybox", "cat"), TG_SHELL_NONE);
	assert_int_equal(tg_shell_of("/usr/bin/python3.11", "python3"), TG_SHELL_NONE);
	assert_int_equal(tg_shell_of("/usr/bin/bashful", "bashful"), TG_SHELL_NONE);
	/* exe unknown (a kernel thread's, another namespace's): argv0 */
	assert_int_equal(tg_shell_of("", "/bin/bash"), TG_SHELL_BASH);
	assert_string_equal(tg_shell_name(TG_SHELL_BUSYBOX), "busybox sh");
}

static void test_parse(void **state)
{
	(void)state;
	parse("/usr/bin/dash", "sh|script.sh|a|b", TG_SHELL_DASH, "script.sh", NULL);
	parse("/usr/bin/bash", "bash|/opt/x/run.sh", TG_SHELL_BASH, "/opt/x/run.sh", NULL);
	parse("/usr/bin/dash", "sh|-c|echo x > /tmp/f.$$", TG_SHELL_DASH, NULL,
	      "echo x > /tmp/f.$$");
	/* -c in a cluster, options after it, then the text and its $0 */
	parse("/usr/bin/bash", "bash|-ec|-x|: > /tmp/a|name|arg", TG_SHELL_BASH, NULL,
	      ": > /tmp/a");
	/* 'o' takes the next argument: pipefail is no script */
	parse("/usr/bin/bash", "bash|-euo|pipefail|./s.sh", TG_SHELL_BASH, "./s.sh", NULL);
	parse("/usr/bin/bash", "bash|-o|errexit|+o|nounset|-O|extglob|s.sh", TG_SHELL_BASH, "s.sh",
	      NULL);
	parse("/usr/bin/bash", "bash|--norc|--rcfile|rc|--|-weird-name.sh", TG_SHELL_BASH,
	      "-weird-name.sh", NULL);
	/* a #! line's argument: the kernel's vector is interpreter, its argument, the script */
	parse("/usr/bin/dash", "/bin/sh|-e|./build.sh|all", TG_SHELL_DASH, "./build.sh", NULL);
	/* commands from standard input, or interactive: no script */
	parse("/usr/bin/bash", "bash|-s|arg", TG_SHELL_BASH, NULL, NULL);
	parse("/usr/bin/bash", "-bash", TG_SHELL_BASH, NULL, NULL);
	parse("/usr/bin/zsh", "zsh|-i", TG_SHELL_ZSH, NULL, NULL);
	parse("/bin/busybox", "sh|-c|touch /tmp/x", TG_SHELL_BUSYBOX, NULL, "touch /tmp/x");
	parse("/bin/busybox", "cat|/tmp/x", TG_SHELL_NONE, NULL, NULL);
	parse("/usr/bin/cat", "cat|s.sh", TG_SHELL_NONE, NULL, NULL);
}

static void test_join(void **state)
{
	char out[64];

	(void)state;
	assert_true(tg_shell_join("/home/u/repo", "script.sh", 9, out, sizeof(out)));
	assert_string_equal(out, "/home/u/repo/script.sh");
	assert_true(tg_shell_join("/home/u/repo/", "./ci/../t/./s.sh", 16, out, sizeof(out)));
	assert_string_equal(out, "/home/u/repo/t/s.sh");
	assert_true(tg_shell_join("/a", "../../../s", 10, out, sizeof(out)));
	assert_string_equal(out, "/s");
	assert_true(tg_shell_join("/", "s", 1, out, sizeof(out)));
	assert_string_equal(out, "/s");
	assert_true(tg_shell_join("", "/abs/s.sh", 9, out, sizeof(out)));
	assert_string_equal(out, "/abs/s.sh");
	/* only script_len bytes are the operand */
	assert_true(tg_shell_join("/d", "s.shXXXX", 4, out, sizeof(out)));
	assert_string_equal(out, "/d/s.sh");
	/* no directory to join to; too long */
	assert_false(tg_shell_join("", "s.sh", 4, out, sizeof(out)));
	assert_false(tg_shell_join("relative", "s.sh", 4, out, sizeof(out)));
	assert_false(tg_shell_join("/0123456789012345678901234567890123456789012345678901234567",
				   "s.sh", 4, out, sizeof(out)));
}

static struct tg_shell_proc proc(char *buf, size_t len, const char *exe, const char *bars)
{
	struct tg_shell_proc p = {.pid = 42, .exe = exe, .args = buf};

	p.args_len = vec(buf, len, bars);
	return p;
}

static void test_callsite_script(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/dash", "sh|./t.sh");
	const struct tg_frame *f;

	(void)state;
	p.script_path = "/home/u/repo/t.sh";
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(cs.kind, TG_CS_SHELL);
	f = tg_callsite_frame(&cs);
	assert_non_null(f);
	assert_string_equal(f->module, "/usr/bin/dash");
	assert_string_equal(f->file, "/home/u/repo/t.sh");
	assert_int_equal(f->line, 0);
	assert_string_equal(cs.command, "");
	assert_non_null(strstr(cs.missing, "line not known"));
	/* the host could not find the script (the shell had exited): its name as given */
	p.script_path = NULL;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_string_equal(tg_callsite_frame(&cs)->file, "./t.sh");
	assert_non_null(strstr(cs.missing, "directory is not known"));
	/* not a shell: nothing */
	p = proc(buf, sizeof(buf), "/usr/bin/cat", "cat|t.sh");
	cs.kind = TG_CS_NATIVE;
	assert_false(tg_callsite_shell(&p, &cs));
}

static void test_callsite_command(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	const char *whole = "sh -c echo x > /tmp/a-long-name-cut-here and more";
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/dash", "sh|-c|echo x > /tmp/f");

	(void)state;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_string_equal(cs.command, "echo x > /tmp/f");
	assert_string_equal(tg_callsite_frame(&cs)->file, "");
	assert_null(strstr(cs.missing, "cut"));
	/* the kernel kept the start of the vector only: /proc's whole one has the rest */
	p = proc(buf, sizeof(buf), "/usr/bin/dash", "sh|-c|echo x > /tmp/a-long");
	p.args_truncated = true;
	p.cmdline = whole;
	p.cmdline_len = strlen(whole);
	assert_true(tg_callsite_shell(&p, &cs));
	assert_string_equal(cs.command, "echo x > /tmp/a-long-name-cut-here and more");
	/* ... and without it, the text is said to be cut */
	p.cmdline = NULL;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_string_equal(cs.command, "echo x > /tmp/a-long");
	assert_non_null(strstr(cs.missing, "cut"));
}

static void test_callsite_child(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|/r/make.sh");

	(void)state;
	assert_true(tg_callsite_shell_child("/usr/bin/cat", 43, &p, &cs));
	assert_int_equal(cs.kind, TG_CS_SHELL);
	assert_int_equal(cs.n, 2);
	assert_string_equal(cs.frames[0].module, "/usr/bin/cat");
	assert_string_equal(tg_callsite_frame(&cs)->file, "/r/make.sh");
	assert_string_equal(tg_callsite_frame(&cs)->module, "/usr/bin/bash");
	assert_non_null(strstr(cs.missing, "made by cat (pid 43)"));
	/* an interactive parent runs no script: no call site */
	p = proc(buf, sizeof(buf), "/usr/bin/bash", "-bash");
	assert_false(tg_callsite_shell_child("/usr/bin/cat", 43, &p, &cs));
	p = proc(buf, sizeof(buf), "/usr/bin/python3", "python3|x.py");
	assert_false(tg_callsite_shell_child("/usr/bin/cat", 43, &p, &cs));
}

/* bash's line, as the kernel read it (TG_SH_*): the script's line, or why it is not one. */
static void test_bash_line(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|ci/build.sh");
	const struct tg_frame *f;
	char label[128];

	(void)state;
	p.script_path = "/r/ci/build.sh";
	p.line = 12;
	p.line_flags = TG_SH_LINE;
	assert_true(tg_callsite_shell(&p, &cs));
	f = tg_callsite_frame(&cs);
	assert_string_equal(f->file, "/r/ci/build.sh");
	assert_int_equal(f->line, 12);
	assert_string_equal(cs.missing, ""); /* complete */
	/* in a function: the line of the file that defined it, said so */
	p.line_flags = TG_SH_LINE | TG_SH_FUNCTION;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 12);
	assert_non_null(strstr(cs.missing, "in a shell function"));
	/* in an eval or a command substitution: $LINENO's count */
	p.line_flags = TG_SH_LINE | TG_SH_STRING;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 12);
	assert_non_null(strstr(cs.missing, "eval or a command substitution"));
	/* in a sourced file: its line, not the script's: no line, and which one it was */
	p.line_flags = TG_SH_LINE | TG_SH_SOURCED | TG_SH_STRING;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 0);
	assert_non_null(strstr(cs.missing, "line not known: the create was at line 12 of a file "
					   "the script sourced"));
	/* nothing read: why, as the host says it */
	p.line_flags = 0;
	p.line_why = "this bash was not registered";
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 0);
	assert_non_null(strstr(cs.missing, "line not known: this bash was not registered"));
	/* a line of 0 is none, whatever the flag */
	p.line_why = NULL;
	p.line = 0;
	p.line_flags = TG_SH_LINE;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 0);
	assert_non_null(strstr(cs.missing, "line not known"));
	/* dash's line is not read */
	p = proc(buf, sizeof(buf), "/usr/bin/dash", "sh|ci/build.sh");
	p.script_path = "/r/ci/build.sh";
	assert_true(tg_callsite_shell(&p, &cs));
	assert_non_null(strstr(cs.missing, "line not known: tmpguard reads bash's current line, "
					   "not dash's"));
	assert_true(tg_callsite_label(&cs, label, sizeof(label)) > 0);
	assert_string_equal(label, "build.sh"); /* the script, without a line */
	/* bash -c: no file to put a line in; missing says which line of the text */
	p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|-c|: one; echo x > /tmp/f");
	p.line = 1;
	p.line_flags = TG_SH_LINE | TG_SH_STRING;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 0);
	assert_non_null(strstr(cs.missing, "-c, and the create was at its line 1"));
	/* ... and the label (advice_at) names the text's line, not a module offset */
	assert_true(tg_callsite_label(&cs, label, sizeof(label)) > 0);
	assert_string_equal(label, "bash -c, line 1");
	p.line_flags = 0;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_true(tg_callsite_label(&cs, label, sizeof(label)) > 0);
	assert_string_equal(label, "bash -c");
	/* commands from standard input: the line of them */
	p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|-s");
	p.line = 3;
	p.line_flags = TG_SH_LINE;
	assert_true(tg_callsite_shell(&p, &cs));
	assert_non_null(strstr(cs.missing, "at line 3 of them"));
}

/* A program's parent bash: its line as user space read it later, best effort, said so. */
static void test_bash_line_child(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|/r/make.sh");

	(void)state;
	p.line = 7;
	p.line_flags = TG_SH_LINE;
	p.line_later = true;
	assert_true(tg_callsite_shell_child("/usr/bin/touch", 43, &p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 7);
	assert_int_equal(cs.frames[0].line, 0);
	assert_non_null(strstr(cs.missing, "made by touch (pid 43)"));
	assert_non_null(strstr(cs.missing, "line 7 is the shell's when tmpguard read the record"));
}

/* A program's parent bash: its line as the kernel read it at the program's execve (TG_SH_PARENT):
 * the command's line, said without the fallback's caveat; a function's still said. */
static void test_bash_line_child_at_exec(void **state)
{
	static struct tg_callsite cs;
	char buf[256];
	struct tg_shell_proc p = proc(buf, sizeof(buf), "/usr/bin/bash", "bash|/r/make.sh");

	(void)state;
	p.line = 7;
	p.line_flags = TG_SH_LINE | TG_SH_PARENT;
	assert_true(tg_callsite_shell_child("/usr/bin/touch", 43, &p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 7);
	assert_string_equal(cs.frames[1].file, "/r/make.sh");
	assert_string_equal(cs.missing, "the create was made by touch (pid 43), which the shell "
					"(pid 42) started: the call site is the shell's");
	p.line_flags |= TG_SH_FUNCTION;
	assert_true(tg_callsite_shell_child("/usr/bin/touch", 43, &p, &cs));
	assert_int_equal(tg_callsite_frame(&cs)->line, 7);
	assert_non_null(strstr(cs.missing, "in a shell function"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_shell),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_callsite_script),
		cmocka_unit_test(test_callsite_command),
		cmocka_unit_test(test_callsite_child),
		cmocka_unit_test(test_bash_line),
		cmocka_unit_test(test_bash_line_child),
		cmocka_unit_test(test_bash_line_child_at_exec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
