// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The interpreters' state read from real ones, without BPF.
 *
 * CPython: the frame walk against a real interpreter: user/host/pyinterp.c reads
 * Debian's /usr/bin/python3.11 (version, _PyRuntime, the executable segment), and this test
 * walks a running child's memory the way bpf/pyframe.bpf.c does (process_vm_readv for
 * bpf_probe_read_user, /proc/PID/stat's start_code for mm->start_code), builds a tg_py_record
 * and decodes it with user/core/callsite_python.c: the call site must be the script's line and
 * function. The child waits in a read() (the GIL released, as in open()). Skips (77) without
 * /usr/bin/python3.11 or the right to read a child's memory.
 *
 * bash: pyinterp.c finds line_number and the rest in /usr/bin/bash and tg_bash_read() reads
 * them from a bash running a script, stopped in a `read` at known lines: at the top, in a
 * function, in a sourced file, in a command substitution. Skips without /usr/bin/bash.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/types.h>
#include "pyinterp.h"
#include "tmpguard.h"

#define PY "/usr/bin/python3.11"

static pid_t child;

static int rd(uint64_t addr, void *buf, size_t n)
{
	struct iovec l = {buf, n}, r = {(void *)addr, n};

	return addr && process_vm_readv(child, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

static uint64_t ptr(uint64_t addr)
{
	uint64_t v = 0;

	return rd(addr, &v, sizeof(v)) ? 0 : v;
}

static uint64_t start_code(void)
{
	char path[64], buf[4096], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", child);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces: fields count from after it */
	/* field 26 (startcode); p is at field 2's end: 23 more fields to skip */
	for (int i = 0; p && i < 24; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

static uint32_t str(const struct tg_py_offsets *o, uint64_t obj, char *dst, uint32_t cap,
		    uint8_t *kind)
{
	uint32_t state = 0;
	int64_t len = 0;
	uint64_t n;

	*kind = 1;
	if (rd(obj + o->str_state, &state, 4) || rd(obj + o->str_length, &len, 8) || len <= 0)
		return 0;
	*kind = (state >> 2) & 7;
	n = (uint64_t)len * *kind;
	if (n > cap - 1)
		n = cap - 1;
	return rd(obj + ((state & 64) ? o->str_ascii_data : o->str_compact_data), dst, n) ? 0 : n;
}

/* bpf/pyframe.bpf.c's walk, in user space. */
static void walk(const struct tg_py_offsets *o, struct tg_py_record *r)
{
	uint64_t rt = o->runtime + start_code() - o->text_vaddr, ts, fr;

	memset(r, 0, sizeof(*r));
	r->version = o->version;
	r->pid = r->tid = child;
	ts = ptr(ptr(rt + o->rt_interp_head) + o->is_threads_head);
	for (int i = 0; ts && i < TG_PY_THREADS; i++) {
		if (ptr(ts + o->ts_native_tid) == (uint64_t)child)
			break;
		ts = ptr(ts + o->ts_next);
	}
	assert_true(ts != 0);
	fr = ptr(ptr(ts + o->ts_cframe) + o->cf_current);
	for (unsigned i = 0; fr && i < TG_PY_FRAMES; i++) {
		struct tg_py_frame *f = &r->frames[i];
		uint64_t code = ptr(fr + o->fr_code), lt, instr = ptr(fr + o->fr_prev_instr);
		int64_t size = 0;
		uint8_t kf, kn;

		memset(f, 0, sizeof(*f));
		f->code = code;
		rd(fr + o->fr_owner, &f->owner, 1);
		f->lasti = instr ? (int32_t)(instr - (code + o->co_code)) : -2;
		rd(code + o->co_firstlineno, &f->firstlineno, 4);
		f->file_len = str(o, ptr(code + o->co_filename), f->file, TG_PY_FILE_LEN, &kf);
		f->name_len = str(o, ptr(code + o->co_name), f->name, TG_PY_NAME_LEN, &kn);
		f->kinds = kf | kn << 4;
		lt = ptr(code + o->co_linetable);
		if (!rd(lt + o->bytes_size, &size, 8) && size > 0) {
			f->linetab_full = size;
			f->linetab_len = size > TG_PY_LINETAB_LEN ? TG_PY_LINETAB_LEN : size;
			if (rd(lt + o->bytes_data, f->linetable, f->linetab_len))
				f->linetab_len = 0;
		}
		r->n_frames = i + 1;
		fr = ptr(fr + o->fr_previous);
	}
}

static const char script[] = "import sys, os\n"			      /* 1 */
			     "class Job:\n"			      /* 2 */
			     "    def wait(self):\n"		      /* 3 */
			     "        os.write(1, b'ready\\n')\n"     /* 4 */
			     "        return os.read(0, 1)  # WAIT\n" /* 5 */
			     "def main():\n"			      /* 6 */
			     "    x = 1\n"			      /* 7 */
			     "    return Job().wait()\n"	      /* 8 */
			     "main()\n";			      /* 9 */

static void test_walk_311(void **state)
{
	int in[2], out[2];
	struct tg_py_offsets o;
	struct tg_py_record *r = calloc(1, sizeof(*r));
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char ver[16], why[256], buf[8];
	const struct tg_frame *site;

	(void)state;
	if (access(PY, X_OK))
		skip();
	assert_int_equal(tg_pyinterp_probe(PY, &o, ver, sizeof(ver), why, sizeof(why)), 0);
	assert_string_equal(ver, "3.11");
	assert_int_equal(o.version >> 16, 0x030b);
	assert_int_not_equal(o.runtime, 0);
	assert_true(pipe(in) == 0 && pipe(out) == 0);
	child = fork();
	if (!child) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(PY, PY, "-S", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	assert_int_equal(read(out[0], buf, 6), 6);
	usleep(100 * 1000); /* into the read() */
	walk(&o, r);
	if (write(in[1], "x", 1) != 1)
		kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(tg_py_callsite(r,
					offsetof(struct tg_py_record, frames) +
						r->n_frames * sizeof(struct tg_py_frame),
					PY, cs, why, sizeof(why)),
			 0);
	assert_int_equal(cs->n, 3);
	site = tg_callsite_frame(cs);
	assert_non_null(site);
	assert_string_equal(site->file, "<string>");
	assert_string_equal(site->function, "Job.wait");
	assert_int_equal(site->line, 5);
	assert_string_equal(cs->frames[1].function, "main");
	assert_int_equal(cs->frames[1].line, 8);
	assert_string_equal(cs->frames[2].function, "<module>");
	assert_int_equal(cs->frames[2].line, 9);
	free(r);
	free(cs);
}

/* An executable that is no CPython, or one older than 3.11: refused, saying why. */
static void test_probe_refuses(void **state)
{
	struct tg_py_offsets o;
	char ver[16], why[256];

	(void)state;
	assert_int_equal(tg_pyinterp_probe("/bin/sh", &o, ver, sizeof(ver), why, sizeof(why)), -1);
	assert_string_equal(ver, "");
	assert_non_null(strstr(why, "Py_Version"));
	assert_int_equal(tg_pyinterp_probe("/nonexistent", &o, ver, sizeof(ver), why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "cannot open"));
}

#define BASH "/usr/bin/bash"

static const char bash_script[] = "f() {\n"			      /* 1 */
				  "\techo ready; read -r x\n"	      /* 2 */
				  "}\n"				      /* 3 */
				  "echo ready; read -r x\n"	      /* 4 */
				  "f\n"				      /* 5 */
				  ". \"$1\"\n"			      /* 6 */
				  "y=$(echo ready >&2; read -r x)\n"; /* 7 */
static const char bash_sourced[] = "# sourced\n"		      /* 1 */
				   "echo ready; read -r x\n";	      /* 2 */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The bash of pid (or its command substitution's child), waiting in `read` after "ready". */
static void bash_at(int ready, int go, struct tg_bash_offsets *o, uint32_t want_line,
		    uint32_t want_flags, bool in_child)
{
	uint32_t line, flags, pid = (uint32_t)child;
	char buf[8];
	pid_t kid = 0;

	assert_int_equal(read(ready, buf, 6), 6);
	usleep(100 * 1000); /* into the read() */
	if (in_child) {
		/* $(...): a forked bash, child's only child */
		char path[64], kids[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", child, child);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(kids, sizeof(kids), f));
		fclose(f);
		kid = atoi(kids);
		assert_true(kid > 0);
		pid = (uint32_t)kid;
	}
	assert_int_equal(tg_bash_read(pid, o, &line, &flags), 0);
	assert_int_equal(line, want_line);
	assert_int_equal(flags, want_flags);
	assert_int_equal(write(go, "\n", 1), 1);
}

static void test_bash_lines(void **state)
{
	char dir[] = "/tmp/tg-test-bash-XXXXXX", main_sh[64], src_sh[64], why[256];
	struct tg_bash_offsets o;
	struct tg_interp_key key;
	int in[2], out[2], status;

	(void)state;
	if (access(BASH, X_OK))
		skip();
	assert_int_equal(tg_bashinterp_probe(BASH, &o, why, sizeof(why)), 0);
	assert_true(o.line_number && o.sourcelevel && o.parse_level && o.variable_context);
	assert_int_equal(tg_interp_key(BASH, &key), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(main_sh, sizeof(main_sh), "%s/main.sh", dir);
	snprintf(src_sh, sizeof(src_sh), "%s/src.sh", dir);
	write_file(main_sh, bash_script);
	write_file(src_sh, bash_sourced);
	assert_true(pipe(in) == 0 && pipe(out) == 0);
	child = fork();
	if (!child) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(BASH, BASH, main_sh, src_sh, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	bash_at(out[0], in[1], &o, 4, TG_SH_LINE, false);
	bash_at(out[0], in[1], &o, 2, TG_SH_LINE | TG_SH_FUNCTION, false);
	bash_at(out[0], in[1], &o, 2, TG_SH_LINE | TG_SH_SOURCED | TG_SH_STRING, false);
	bash_at(out[0], in[1], &o, 7, TG_SH_LINE | TG_SH_STRING, true);
	close(in[1]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(main_sh);
	unlink(src_sh);
	rmdir(dir);
	/* gone: unreadable */
	assert_int_equal(tg_bash_read((uint32_t)child, &o, &(uint32_t){0}, &(uint32_t){0}), -1);
}

/* An executable that is no bash: refused, saying which global it lacks. */
static void test_bash_probe_refuses(void **state)
{
	struct tg_bash_offsets o;
	char why[256];

	(void)state;
	if (access("/usr/bin/dash", X_OK))
		skip();
	assert_int_equal(tg_bashinterp_probe("/usr/bin/dash", &o, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no line_number in its dynamic symbols"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_311),
		cmocka_unit_test(test_probe_refuses),
		cmocka_unit_test(test_bash_lines),
		cmocka_unit_test(test_bash_probe_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
