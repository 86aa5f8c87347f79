// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CPython frame walk against a real interpreter, without BPF: user/host/pyinterp.c reads
 * Debian's /usr/bin/python3.11 (version, _PyRuntime, the executable segment), and this test
 * walks a running child's memory the way bpf/pyframe.bpf.c does (process_vm_readv for
 * bpf_probe_read_user, /proc/PID/stat's start_code for mm->start_code), builds a tg_py_record
 * and decodes it with user/core/callsite_python.c: the call site must be the script's line and
 * function. The child waits in a read() (the GIL released, as in open()). Skips (77) without
 * /usr/bin/python3.11 or the right to read a child's memory.
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
#include "pyinterp.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_311),
		cmocka_unit_test(test_probe_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
