// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON and text renderings of whole findings, with hostile names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <cmocka.h>
#include <linux/types.h>
#include "output.h"

static const char hostile[] = "/tmp/a\nb\r\"q'\x1b[31mred\xff\xc0\xaf\\end";

static void make_report(struct tg_event *e, struct tg_proc_info *p, struct tg_report *r)
{
	memset(e, 0, sizeof(*e));
	memset(p, 0, sizeof(*p));
	memset(r, 0, sizeof(*r));
	e->kind = TG_KIND_OPEN;
	e->syscall = TG_SYS_OPENAT;
	e->flags = O_WRONLY | O_CREAT | O_TRUNC;
	e->mode = 0666;
	e->umask = 022;
	e->file_mode = 0100644;
	e->dir_mode = 041777;
	e->facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	e->ts_ns = 1500000000ULL;
	e->pid = 42;
	e->tid = 43;
	e->ppid = 1;
	e->dfd = -100;
	snprintf(e->path, sizeof(e->path), "%s", hostile);
	snprintf(e->name, sizeof(e->name), "a\nb\x1b]0;title\x07");
	snprintf(e->comm, sizeof(e->comm), "ev\x1bil");
	snprintf(p->exe, sizeof(p->exe), "/usr/bin/bash");
	snprintf(p->user, sizeof(p->user), "root");
	p->cmdline_len = snprintf(p->cmdline, sizeof(p->cmdline), "bash -c echo\x9b x");
	r->e = e;
	r->proc = p;
	r->finding.rule = TG_RULE_NONEXCLUSIVE_CREATE;
	r->finding.severity = TG_SEV_HIGH;
	r->dir.shared = true;
	r->dir.is_holding_dir = true;
	r->lang = TG_LANG_SHELL;
	r->count = 1;
	r->boot_to_real_ns = 1764311400LL * 1000000000LL; /* 2025-11-28T06:30:00Z */
}

static char *render(bool json, const struct tg_report *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(json ? tg_output_json(f, r) : tg_output_text(f, r), 0);
	fclose(f);
	return buf;
}

static void test_json_one_valid_line(void **state)
{
	struct tg_event e;
	struct tg_proc_info p;
	struct tg_report r;
	json_object *o, *v, *flags, *esc;
	size_t len;
	char *out;

	(void)state;
	make_report(&e, &p, &r);
	out = render(true, &r, &len);
	/* exactly one line */
	assert_int_equal(out[len - 1], '\n');
	assert_null(memchr(out, '\n', len - 1));
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "time", &v));
	assert_string_equal(json_object_get_string(v), "2025-11-28T06:30:01.500000000Z");
	assert_true(json_object_object_get_ex(o, "rule", &v));
	assert_string_equal(json_object_get_string(v), "nonexclusive-create");
	assert_true(json_object_object_get_ex(o, "effective_mode", &v));
	assert_string_equal(json_object_get_string(v), "0644");
	assert_true(json_object_object_get_ex(o, "flags", &flags));
	assert_int_equal(json_object_array_length(flags), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(flags, 1)), "O_CREAT");
	/* invalid UTF-8 in path: escaped losslessly, and said so */
	assert_true(json_object_object_get_ex(o, "path", &v));
	assert_non_null(strstr(json_object_get_string(v), "\\xff"));
	assert_true(json_object_object_get_ex(o, "escaped_fields", &esc));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(esc, 0)), "path");
	/* valid UTF-8 with controls: kept exact, json-c escapes the controls */
	assert_true(json_object_object_get_ex(o, "resolved_name", &v));
	assert_string_equal(json_object_get_string(v), "a\nb\x1b]0;title\x07");
	json_object_put(o);
	free(out);
}

static void test_text_no_control_bytes(void **state)
{
	struct tg_event e;
	struct tg_proc_info p;
	struct tg_report r;
	size_t len;
	char *out;

	(void)state;
	make_report(&e, &p, &r);
	out = render(false, &r, &len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = out[i];

		assert_false((c < 0x20 && c != '\n') || c == 0x7f);
	}
	assert_null(strstr(out, "\xc2\x9b"));
	assert_non_null(strstr(out, "/tmp/a\\nb\\r\"q'\\x1b[31mred\\xff\\xc0\\xaf\\\\end"));
	assert_non_null(strstr(out, "O_WRONLY|O_CREAT|O_TRUNC"));
	assert_non_null(strstr(out, "HIGH  nonexclusive-create"));
	assert_non_null(strstr(out, "mktemp"));
	/* one line each: the path, then what the call opened (no "(directory)" for an open) */
	assert_non_null(strstr(
		out, "\\\\end\n  opened   a\\nb\\x1b]0;title\\x07 (created), owner uid 0\n"));
	assert_null(strstr(out, "(directory)"));
	free(out);
}

/* "entry" says how the call entered the kernel; text mentions it only when not a syscall. */
static void test_entry(void **state)
{
	static const struct {
		uint32_t entry;
		const char *json, *text;
	} cases[] = {
		{TG_ENTRY_SYSCALL, "syscall", NULL},
		{TG_ENTRY_IA32, "ia32", "via a 32-bit (ia32) syscall"},
		{TG_ENTRY_IO_URING, "io_uring", "via io_uring"},
	};
	struct tg_event e;
	struct tg_proc_info p;
	struct tg_report r;
	json_object *o, *v;
	size_t len;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_report(&e, &p, &r);
		e.entry = cases[i].entry;
		out = render(true, &r, &len);
		o = json_tokener_parse(out);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "entry", &v));
		assert_string_equal(json_object_get_string(v), cases[i].json);
		json_object_put(o);
		free(out);
		out = render(false, &r, &len);
		if (cases[i].text)
			assert_non_null(strstr(out, cases[i].text));
		else
			assert_null(strstr(out, " via "));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_one_valid_line),
		cmocka_unit_test(test_text_no_control_bytes),
		cmocka_unit_test(test_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
