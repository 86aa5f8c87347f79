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
	/* C++'s and Rust's runtimes */
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"));
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"));
	assert_true(tg_cs_runtime_module("/usr/lib/llvm-14/lib/libc++.so.1"));
	assert_true(tg_cs_runtime_module("/usr/lib/llvm-14/lib/libc++abi.so.1"));
	assert_true(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libstd-d0dc2ac4c6bfd95e.so"));
	assert_false(tg_cs_runtime_module("/usr/lib/x86_64-linux-gnu/libstdlog.a"));
	assert_false(tg_cs_runtime_module("/usr/lib/libstdc-utils.so"));
}

static void demangled(const char *sym, const char *want)
{
	char buf[256];

	if (!want) {
		assert_false(tg_cs_demangle(sym, buf, sizeof(buf)));
		return;
	}
	assert_true(tg_cs_demangle(sym, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void demangle(void **state)
{
	char small[8];

	(void)state;
	/* C++ */
	demangled("_Z12write_reportPKc", "write_report");
	demangled("_ZL12write_reportPKc", "write_report"); /* static */
	demangled("_ZN6report12write_reportEPKc", "report::write_report");
	demangled("_ZN6report12write_reportEPKc.isra.0", "report::write_report");
	demangled("_ZNK6report6Writer5flushEv", "report::Writer::flush"); /* const */
	demangled("_ZN6report6WriterC2EPKc", "report::Writer::Writer");
	demangled("_ZN6report6WriterD1Ev", "report::Writer::~Writer");
	demangled("_ZNSt8ios_base4InitC1Ev", "std::ios_base::Init::Init");
	demangled("_ZSt4endlIcSt11char_traitsIcEERSt13basic_ostreamIT_T0_ES6_", "std::endl");
	demangled("_ZN6report5titleB5cxx11Ev", "report::title"); /* ABI tag */
	demangled("_ZNSt13basic_filebufIcSt11char_traitsIcEE4openEPKcSt13_Ios_Openmode",
		  NULL);			 /* a template's member: left mangled */
	demangled("_ZN6reportplERKS_S1_", NULL); /* an operator */
	/* Rust (legacy mangling) */
	demangled("_ZN13callsite_rust12write_report17h48582ad6ba090ceeE",
		  "callsite_rust::write_report");
	demangled("_ZN3std2fs11OpenOptions5_open17h4fc94ffc41092d48E",
		  "std::fs::OpenOptions::_open");
	demangled("_ZN48_$LT$std..fs..File$u20$as$u20$std..io..Write$GT$5write17h0123456789abcdefE",
		  "<std::fs::File as std::io::Write>::write");
	demangled("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE",
		  "std::rt::lang_start::{{closure}}");
	demangled("_ZN4core3ptr13drop_in_place17h0123456789abcdefE.llvm.123",
		  "core::ptr::drop_in_place");
	demangled("_ZN3std2fs4$XX$17h0123456789abcdefE", NULL);	  /* no such escape */
	demangled("_ZN3std2fs6a$u9$b17h0123456789abcdefE", NULL); /* a control character */
	/* not mangled, cut short, too long */
	demangled("write_report", NULL);
	demangled("main.writeReport", NULL);
	demangled("_ZN6report99write_reportEv", NULL);
	demangled("_Z", NULL);
	assert_false(tg_cs_demangle("_ZN6report12write_reportEPKc", small, sizeof(small)));

	assert_true(tg_cs_rust_symbol("_ZN13callsite_rust12write_report17h48582ad6ba090ceeE"));
	assert_false(tg_cs_rust_symbol("_ZN6report12write_reportEPKc"));
	assert_true(tg_cs_rust_symbol("_ZN4core3ptr13drop_in_place17h0123456789abcdefE.llvm.1"));
	/* C++'s with parameters after the name */
	assert_false(tg_cs_rust_symbol("_ZN6report17h48582ad6ba090ceeEv"));
	assert_false(tg_cs_rust_symbol("_ZN6report17hxyz82ad6ba090ceeE"));
}

static void cxx_and_rust_runtime_functions(void **state)
{
	(void)state;
	assert_true(tg_cs_cxx_runtime("std::ios_base::Init::Init"));
	assert_true(tg_cs_cxx_runtime("__gnu_cxx::stdio_filebuf::open"));
	assert_true(tg_cs_cxx_runtime("__cxxabiv1::__terminate"));
	assert_true(tg_cs_cxx_runtime("_ZN10__cxxabiv111__terminateEPFvvE"));
	assert_true(tg_cs_cxx_runtime("_ZNK9__gnu_cxx17__normal_iteratorIPcSsE4baseEv"));
	assert_true(tg_cs_cxx_runtime(
		"_ZN9__gnu_cxx13stdio_filebufIcSt11char_traitsIcEEC1EiSt13_Ios_Openmodem"));
	assert_true(tg_cs_cxx_runtime(
		"_ZNSt13basic_filebufIcSt11char_traitsIcEE4openEPKcSt13_Ios_Openmode"));
	assert_true(tg_cs_cxx_runtime("_ZNKSt5ctypeIcE8do_widenEc"));
	assert_true(tg_cs_cxx_runtime("_ZNSo5flushEv"));   /* std::ostream */
	assert_true(tg_cs_cxx_runtime("_ZNKSi6gcountEv")); /* std::istream, const */
	assert_true(
		tg_cs_cxx_runtime("_ZSt4endlIcSt11char_traitsIcEERSt13basic_ostreamIT_T0_ES6_"));
	assert_false(tg_cs_cxx_runtime("report::write_report"));
	assert_false(tg_cs_cxx_runtime("stdx::open"));
	assert_false(tg_cs_cxx_runtime("_ZN6report12write_reportEPKc"));
	assert_false(tg_cs_cxx_runtime("_ZNS"));
	assert_false(tg_cs_cxx_runtime("_ZNS1_3fooEv"));
	assert_false(tg_cs_cxx_runtime("main"));

	assert_true(tg_cs_rust_runtime("std::fs::OpenOptions::_open", ""));
	assert_true(tg_cs_rust_runtime("core::ops::function::FnOnce::call_once", ""));
	assert_true(tg_cs_rust_runtime("alloc::vec::Vec<T>::push", ""));
	assert_true(tg_cs_rust_runtime("<std::fs::File as std::io::Write>::write", ""));
	assert_true(tg_cs_rust_runtime("<&mut std::fs::File as std::io::Write>::write", ""));
	assert_true(tg_cs_rust_runtime("<*const core::ffi::c_void as core::fmt::Debug>::fmt", ""));
	/* std's code compiled into the program for its types, known by its file */
	assert_true(tg_cs_rust_runtime("<callsite_rust::Report as std::io::Write>::write_all",
				       "/usr/src/rustc-1.63.0/library/std/src/io/mod.rs"));
	assert_true(tg_cs_rust_runtime("<str as core::fmt::Display>::fmt",
				       "/rustc/4b91a6ea7258a947e59c6522cd5898e7c0a6a88f/library/"
				       "core/src/fmt/mod.rs"));
	assert_false(tg_cs_rust_runtime("callsite_rust::write_report",
					"/src/callsite_rust/callsite_rust.rs"));
	assert_false(tg_cs_rust_runtime("<callsite_rust::Report as std::io::Write>::write",
					"/src/callsite_rust/callsite_rust.rs"));
	assert_false(tg_cs_rust_runtime("stdlib::open", ""));
	/* left mangled (too long for a frame's function) */
	assert_true(
		tg_cs_rust_runtime("_ZN4core3ptr393drop_in_place$LT$std..sync..once..Once..call_"
				   "once_force17h2ac6b5a9e457fe3dE",
				   ""));
	assert_true(tg_cs_rust_runtime("_ZN3std2fs4File6create17h1111111111111111E", NULL));
	assert_true(tg_cs_rust_runtime("_ZN5alloc3vec3Vec4push17h1111111111111111E", NULL));
	assert_false(tg_cs_rust_runtime("_ZN6stdlib4open17h1111111111111111E", NULL));
	assert_false(tg_cs_rust_runtime("main", NULL));
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

/* C++: libc, libstdc++ and std:: frames skipped; the program's function is the call site, its
 * name demangled. */
static void select_cxx(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char label[512];

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "_IO_file_fopen", "", 0);
	add(cs, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
	    "_ZNSt12__basic_fileIcE4openEPKcSt13_Ios_Openmodei", "", 0);
	/* a std:: template instantiated in the program itself */
	add(cs, "/usr/bin/app", "_ZNSt14basic_ofstreamIcSt11char_traitsIcEEC1EPKcSt13_Ios_Openmode",
	    "/usr/include/c++/12/fstream", 790);
	add(cs, "/usr/bin/app", "_ZN6report12write_reportEPKc", "/src/app.cpp", 17);
	add(cs, "/usr/bin/app", "main", "/src/app.cpp", 34);
	assert_int_equal(tg_cs_select(cs), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(cs->frames[i].runtime);
	assert_false(cs->frames[4].runtime || cs->frames[5].runtime);
	assert_string_equal(cs->frames[4].function, "report::write_report");
	assert_string_equal(cs->frames[2].function,
			    "_ZNSt12__basic_fileIcE4openEPKcSt13_Ios_Openmodei"); /* a template */
	tg_callsite_label(cs, label, sizeof(label));
	assert_string_equal(label, "app.cpp:17 in report::write_report()");
	free(cs);
}

/* Rust: std, core and alloc (linked into the program) skipped; the crate's function is the call
 * site, its name demangled without the hash. */
static void select_rust(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char label[512];

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "open64", "", 0);
	add(cs, "/tmp/rs", "_ZN3std3sys4unix2fs4File6open_c17h0123456789abcdefE",
	    "/usr/src/rustc-1.63.0/library/std/src/sys/unix/fs.rs", 940);
	add(cs, "/tmp/rs", "_ZN3std2fs11OpenOptions5_open17h4fc94ffc41092d48E",
	    "/usr/src/rustc-1.63.0/library/std/src/fs.rs", 967);
	/* generic std code compiled into the crate for the crate's own call */
	add(cs, "/tmp/rs", "_ZN3std2fs4File6create17h1111111111111111E",
	    "/usr/src/rustc-1.63.0/library/std/src/fs.rs", 369);
	add(cs, "/tmp/rs", "_ZN13callsite_rust12write_report17h48582ad6ba090ceeE",
	    "/src/callsite_rust.rs", 15);
	add(cs, "/tmp/rs", "_ZN13callsite_rust4main17h2222222222222222E", "/src/callsite_rust.rs",
	    25);
	add(cs, "/tmp/rs", "_ZN4core3ops8function6FnOnce9call_once17h3333333333333333E", "", 0);
	add(cs, "/tmp/rs", "main", "", 0);
	assert_int_equal(tg_cs_select(cs), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(cs->frames[i].runtime);
	assert_false(cs->frames[4].runtime || cs->frames[5].runtime || cs->frames[7].runtime);
	assert_true(cs->frames[6].runtime);
	assert_string_equal(cs->frames[4].function, "callsite_rust::write_report");
	assert_string_equal(cs->frames[2].function, "std::fs::OpenOptions::_open");
	assert_string_equal(cs->frames[6].function, "core::ops::function::FnOnce::call_once");
	tg_callsite_label(cs, label, sizeof(label));
	assert_string_equal(label, "callsite_rust.rs:15 in callsite_rust::write_report()");
	free(cs);
}

/* A C++ namespace named like a Rust crate is the program's own: core:: is Rust's only. */
static void select_cxx_core_namespace(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));

	(void)state;
	cs->kind = TG_CS_NATIVE;
	add(cs, "/usr/lib/x86_64-linux-gnu/libc.so.6", "__open64", "", 0);
	add(cs, "/usr/bin/app", "_ZN4core5store4saveEv", "/src/store.cpp", 9);
	assert_int_equal(tg_cs_select(cs), 1);
	assert_string_equal(cs->frames[1].function, "core::store::save");
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

/* A hostile name (a program's own, a script's) in the label: escaped, since the label goes
 * into text, JSON (advice_at) and Falco's output as it is: no raw control byte, valid UTF-8. */
static void label_escapes_names(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char label[256];

	(void)state;
	cs->kind = TG_CS_SHELL;
	add(cs, "/tmp/bin/=1+2|<b>\x1b[7m\xfe\n", "", "", 0);
	snprintf(cs->command, sizeof(cs->command), "echo x");
	cs->command_line = 1;
	cs->site = 0;
	assert_true(tg_callsite_label(cs, label, sizeof(label)) > 0);
	assert_string_equal(label, "=1+2|<b>\\x1b[7m\\xfe\\n -c, line 1");
	cs->kind = TG_CS_NATIVE;
	snprintf(cs->frames[0].file, sizeof(cs->frames[0].file), "/src/a\xff.c");
	cs->frames[0].line = 7;
	assert_true(tg_callsite_label(cs, label, sizeof(label)) > 0);
	assert_string_equal(label, "a\\xff.c:7");
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
		cmocka_unit_test(demangle),
		cmocka_unit_test(cxx_and_rust_runtime_functions),
		cmocka_unit_test(select_c),
		cmocka_unit_test(select_go),
		cmocka_unit_test(select_cxx),
		cmocka_unit_test(select_rust),
		cmocka_unit_test(select_cxx_core_namespace),
		cmocka_unit_test(missing_debug_info),
		cmocka_unit_test(no_site),
		cmocka_unit_test(label_escapes_names),
		cmocka_unit_test(advice_names_the_line),
		cmocka_unit_test(json_shape),
		cmocka_unit_test(stack_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
