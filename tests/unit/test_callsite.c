// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Call sites: runtime classification, frame selection, what is missing, labels, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "advice.h"
#include "callsite.h"
#include "callsite_native.h"
#include "callsite_out.h"

static struct tg_frame *add(struct tg_callsite *cs, const char *module, const char *fn,
			    const char *file, unsigned line)
{
	struct tg_frame *f = &cs->frames[cs->n++];

	snprintf(f->module, sizeof(f->module), "%s", module);
	snprintf(f->function, sizeof(f->function), "%s", fn);
	snprintf(f->file, sizeof(f->file), "%s", file);
	f->line = line;
	f->offset = 0x1234;
	return f;
}

static void runtime_modules(void **state)
{
	(void)state;
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(tg_cs_runtime_module("/lib/x86_64-linux-gnu/libc-2.31.so"));
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
	assert_true(tg_cs_runtime_module("/lib/x86_64-linux-gnu/libpthread.so.0"));
	assert_false(tg_cs_runtime_module("/usr/bin/foo"));
	assert_false(tg_cs_runtime_module("/usr/lib/libcurl.so.4"));
	assert_false(tg_cs_runtime_module("/opt/libcx/bin/ld-tool"));
}

static void go_runtime_functions(void **state)
{
	(void)state;
	assert_true(tg_cs_go_runtime("runtime.goexit"));
	assert_true(tg_cs_go_runtime("os.OpenFile"));
	assert_true(tg_cs_go_runtime("syscall.openat"));
	assert_true(tg_cs_go_runtime("internal/poll.(*FD).Init"));
	assert_true(tg_cs_go_runtime("internal/runtime/syscall.Syscall6"));
	assert_false(tg_cs_go_runtime("main.main"));
	assert_false(tg_cs_go_runtime("main.writeReport"));
	assert_false(tg_cs_go_runtime("github.com/acme/tool/report.Write"));
	assert_false(tg_cs_go_runtime("example.com/x.F"));
	assert_false(tg_cs_go_runtime("write_report")); /* C */
}

/* C: libc frames skipped, the first frame of the program is the call site. */
static void select_c(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "_IO_file_fopen", "", 0);
	add(cs, "/usr/bin/app", "write_report", "app.c", 13);
	add(cs, "/usr/bin/app", "main", "app.c", 26);
	/* a C function named like a Go one is not Go's runtime: no Go frame here */
	add(cs, "/usr/bin/app", "write_report.cold", "", 0);
	assert_int_equal(tg_cs_select(cs), 2);
	assert_true(cs->frames[0].runtime && cs->frames[1].runtime);
	assert_false(cs->frames[2].runtime || cs->frames[3].runtime || cs->frames[4].runtime);
	tg_cs_set_missing(cs);
	assert_string_equal(cs->missing, "");
	free(cs);
}

/* Go: the runtime and the standard library skipped, main's frame is the call site. */
static void select_go(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char label[512];

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/tmp/gofix", "internal/runtime/syscall.Syscall6", "syscall_linux_amd64.s", 36);
	add(cs, "/tmp/gofix", "syscall.openat", "zsyscall_linux_amd64.go", 83);
	add(cs, "/tmp/gofix", "os.OpenFile", "file.go", 366);
	add(cs, "/tmp/gofix", "main.writeReport", "/src/gofix/main.go", 12);
	add(cs, "/tmp/gofix", "main.main", "/src/gofix/main.go", 20);
	add(cs, "/tmp/gofix", "runtime.main", "proc.go", 283);
	assert_int_equal(tg_cs_select(cs), 3);
	assert_true(cs->frames[5].runtime);
	assert_false(cs->frames[4].runtime);
	tg_callsite_label(cs, label, sizeof(label));
	assert_string_equal(label, "main.go:12 in main.writeReport()");
	free(cs);
}

/* No debug info: module and offset, and what is missing says how to get the line. */
static void missing_debug_info(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	struct tg_frame *f;
	char label[512];

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	f = add(cs, "/usr/bin/stripped", "", "", 0);
	snprintf(f->build_id, sizeof(f->build_id), "%s", "0123abcd");
	assert_int_equal(tg_cs_select(cs), 1);
	tg_cs_set_missing(cs);
	assert_non_null(strstr(cs->missing, "/usr/bin/stripped"));
	assert_non_null(strstr(cs->missing, "0123abcd"));
	assert_non_null(strstr(cs->missing, "0x1234"));
	assert_non_null(strstr(cs->missing, "-dbgsym"));
	assert_non_null(strstr(cs->missing, "-g"));
	tg_callsite_label(cs, label, sizeof(label));
	assert_string_equal(label, "stripped+0x1234");
	free(cs);
}

/* Only runtime frames: no call site, and it says so. */
static void no_site(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char label[64];

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	add(cs, "", "", "", 0); /* an address in no recorded mapping */
	assert_int_equal(tg_cs_select(cs), -1);
	assert_null(tg_callsite_frame(cs));
	tg_cs_set_missing(cs);
	assert_non_null(strstr(cs->missing, "no frame"));
	assert_int_equal(tg_callsite_label(cs, label, sizeof(label)), 0);
	free(cs);
}

static void advice_names_the_line(void **state)
{
	char buf[256];

	(void)state;
	assert_string_equal(tg_advice_at("use mkstemp()", "foo.c:42 in main()", buf, sizeof(buf)),
			    "`foo.c:42 in main()`: use mkstemp()");
	assert_string_equal(tg_advice_at("use mkstemp()", "", buf, sizeof(buf)), "use mkstemp()");
	assert_string_equal(tg_advice_at("use mkstemp()", NULL, buf, sizeof(buf)), "use mkstemp()");
}

static void json_shape(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	json_object *o = json_object_new_object(), *site, *v, *stack;

	(void)state;
	tg_callsite_add_json(o, NULL);
	assert_true(json_object_object_get_ex(o, "call_site", &v));
	assert_null(v);
	assert_false(json_object_object_get_ex(o, "stack", &v));
	json_object_put(o);

	o = json_object_new_object();
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	add(cs, "/usr/bin/app", "write_report", "app.c", 13);
	tg_cs_select(cs);
	tg_cs_set_missing(cs);
	tg_callsite_add_json(o, cs);
	assert_true(json_object_object_get_ex(o, "call_site", &site));
	assert_string_equal(json_object_get_string(json_object_object_get(site, "kind")), "native");
	assert_string_equal(json_object_get_string(json_object_object_get(site, "file")), "app.c");
	assert_int_equal(json_object_get_int(json_object_object_get(site, "line")), 13);
	assert_string_equal(json_object_get_string(json_object_object_get(site, "offset")),
			    "0x1234");
	assert_true(json_object_object_get_ex(site, "build_id", &v));
	assert_null(v);
	assert_false(json_object_object_get_ex(site, "missing", &v)); /* complete */
	assert_false(json_object_object_get_ex(site, "command", &v));
	assert_true(json_object_object_get_ex(o, "stack", &stack));
	assert_int_equal(json_object_array_length(stack), 2);
	assert_true(json_object_get_boolean(
		json_object_object_get(json_object_array_get_idx(stack, 0), "runtime")));
	assert_false(json_object_get_boolean(json_object_object_get(o, "stack_truncated")));
	json_object_put(o);
	free(cs);
}

/* A stack record is told from an event by its kind, and checked before it is kept. */
static void stack_record(void **state)
{
	struct tg_stack *s = calloc(1, sizeof(*s));
	char err[128];

	(void)state;
	s->kind = TG_KIND_STACK;
	s->stack_len = 16;
	assert_true(tg_is_stack_record(s, TG_STACK_HDR_LEN + 16));
	assert_int_equal(tg_stack_check(s, TG_STACK_HDR_LEN + 16, err, sizeof(err)), 0);
	assert_int_equal(tg_stack_check(s, TG_STACK_HDR_LEN + 8, err, sizeof(err)), -1);
	s->n_maps = TG_STK_MAPS_MAX + 1;
	assert_int_equal(tg_stack_check(s, TG_STACK_HDR_LEN + 16, err, sizeof(err)), -1);
	s->kind = TG_KIND_OPEN;
	assert_false(tg_is_stack_record(s, TG_STACK_HDR_LEN + 16));
	assert_false(tg_is_stack_record(s, 8));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runtime_modules),
		cmocka_unit_test(go_runtime_functions),
		cmocka_unit_test(select_c),
		cmocka_unit_test(select_go),
		cmocka_unit_test(missing_debug_info),
		cmocka_unit_test(no_site),
		cmocka_unit_test(advice_names_the_line),
		cmocka_unit_test(json_shape),
		cmocka_unit_test(stack_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
