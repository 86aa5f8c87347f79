// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/core/callsite_python.c: CPython location tables decoded to lines (tables
 * and expected lines taken from real interpreters' co_linetable and co_lines()), the standard
 * library told from the program, and frame records turned into call sites. Unprivileged.
 *
 * The source of the tables (compiled as /src/mod.py, f starts on line 2):
 *
 *	def f(a, b):
 *	    x = [i
 *	         for i in range(a)]
 *	    try:
 *	        y = a + \
 *	            b
 *	    except ValueError:
 *	        y = 0
 *	    (three empty lines)
 *	    return (x,
 *	            y,
 *	            open("/tmp/z",
 *	                 "w"))
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "callsite_python.h"

struct lt_case {
	int off;       /* byte offset of an instruction */
	unsigned line; /* its line, 0 for none */
};

/* CPython 3.11.2: co_linetable of f in tests/unit/test_callsite_python.c's source */
static const uint8_t lt_311[] = {
	0x80, 0x00, 0xf0, 0x02, 0x01, 0x09, 0x1c, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0xdd, 0x12, 0x17,
	0x98, 0x01, 0x91, 0x28, 0x94, 0x28, 0xf0, 0x03, 0x01, 0x09, 0x1c, 0xf1, 0x00, 0x01, 0x09,
	0x1c, 0xf4, 0x00, 0x01, 0x09, 0x1c, 0x80, 0x41, 0xf0, 0x04, 0x04, 0x05, 0x0e, 0xd8, 0x0c,
	0x0d, 0xd8, 0x0c, 0x0d, 0xf1, 0x03, 0x01, 0x0d, 0x0e, 0x88, 0x01, 0x88, 0x01, 0xf8, 0xe5,
	0x0b, 0x15, 0xf0, 0x00, 0x01, 0x05, 0x0e, 0xf0, 0x00, 0x01, 0x05, 0x0e, 0xf0, 0x00, 0x01,
	0x05, 0x0e, 0xd8, 0x0c, 0x0d, 0x88, 0x01, 0x88, 0x01, 0x88, 0x01, 0xf0, 0x03, 0x01, 0x05,
	0x0e, 0xf8, 0xf8, 0xf8, 0xf0, 0x0a, 0x00, 0x0d, 0x0e, 0xd8, 0x0c, 0x0d, 0xdd, 0x0c, 0x10,
	0x90, 0x18, 0xd8, 0x11, 0x14, 0xf1, 0x03, 0x01, 0x0d, 0x16, 0xf4, 0x00, 0x01, 0x0d, 0x16,
	0xf0, 0x05, 0x03, 0x0c, 0x17, 0xf0, 0x00, 0x03, 0x05, 0x17};
static const int firstline_311 = 2;
static const struct lt_case cases_311[] = {
	{0, 2},	   {2, 3},    {4, 3},	 {6, 4},    {8, 4},    {10, 4},	  {12, 4},   {14, 4},
	{16, 4},   {18, 4},   {20, 4},	 {22, 4},   {24, 4},   {26, 4},	  {28, 4},   {30, 4},
	{32, 4},   {34, 3},   {36, 3},	 {38, 3},   {40, 3},   {42, 3},	  {44, 3},   {46, 3},
	{48, 3},   {50, 3},   {52, 5},	 {54, 6},   {56, 7},   {58, 6},	  {60, 6},   {62, 6},
	{64, 6},   {66, 0},   {68, 8},	 {70, 8},   {72, 8},   {74, 8},	  {76, 8},   {78, 8},
	{80, 8},   {82, 8},   {84, 8},	 {86, 9},   {88, 9},   {90, 9},	  {92, 9},   {94, 8},
	{96, 0},   {98, 0},   {100, 0},	 {102, 13}, {104, 14}, {106, 15}, {108, 15}, {110, 15},
	{112, 15}, {114, 15}, {116, 15}, {118, 15}, {120, 16}, {122, 15}, {124, 15}, {126, 15},
	{128, 15}, {130, 15}, {132, 15}, {134, 15}, {136, 13}, {138, 13}};
/* CPython 3.12.1: co_linetable of f in tests/unit/test_callsite_python.c's source */
static const uint8_t lt_312[] = {
	0x80, 0x00, 0xe4, 0x12, 0x17, 0x98, 0x01, 0x93, 0x28, 0xf6, 0x03, 0x01, 0x09, 0x1c,
	0xd8, 0x0d, 0x0e, 0xf2, 0x03, 0x00, 0x0a, 0x0b, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0x80,
	0x41, 0xf0, 0x00, 0x01, 0x09, 0x1c, 0xf0, 0x04, 0x04, 0x05, 0x0e, 0xd8, 0x0c, 0x0d,
	0xd8, 0x0c, 0x0d, 0xf1, 0x03, 0x01, 0x0d, 0x0e, 0x88, 0x01, 0xf0, 0x0e, 0x00, 0x0d,
	0x0e, 0xd8, 0x0c, 0x0d, 0xdc, 0x0c, 0x10, 0x90, 0x18, 0xd8, 0x11, 0x14, 0xf3, 0x03,
	0x01, 0x0d, 0x16, 0xf0, 0x05, 0x03, 0x0c, 0x17, 0xf0, 0x00, 0x03, 0x05, 0x17, 0xf9,
	0xf2, 0x15, 0x01, 0x09, 0x1c, 0xf8, 0xf4, 0x0a, 0x00, 0x0c, 0x16, 0xf2, 0x00, 0x01,
	0x05, 0x0e, 0xd8, 0x0c, 0x0d, 0x8a, 0x01, 0xf0, 0x03, 0x01, 0x05, 0x0e, 0xfa};
static const int firstline_312 = 2;
static const struct lt_case cases_312[] = {
	{0, 2},	  {2, 4},   {4, 4},   {6, 4},	{8, 4},	  {10, 4},  {12, 4},  {14, 4},	{16, 4},
	{18, 4},  {20, 4},  {22, 3},  {24, 3},	{26, 3},  {28, 3},  {30, 3},  {32, 3},	{34, 3},
	{36, 4},  {38, 3},  {40, 3},  {42, 3},	{44, 3},  {46, 3},  {48, 3},  {50, 5},	{52, 6},
	{54, 7},  {56, 6},  {58, 6},  {60, 6},	{62, 13}, {64, 14}, {66, 15}, {68, 15}, {70, 15},
	{72, 15}, {74, 15}, {76, 15}, {78, 16}, {80, 15}, {82, 15}, {84, 15}, {86, 15}, {88, 13},
	{90, 13}, {92, 0},  {94, 0},  {96, 3},	{98, 3},  {100, 3}, {102, 0}, {104, 8}, {106, 8},
	{108, 8}, {110, 8}, {112, 8}, {114, 8}, {116, 8}, {118, 8}, {120, 9}, {122, 9}, {124, 9},
	{126, 9}, {128, 8}, {130, 0}, {132, 0}, {134, 0}};

static void check_table(const uint8_t *lt, size_t n, int first, const struct lt_case *c, size_t nc)
{
	for (size_t i = 0; i < nc; i++) {
		uint32_t line = 12345;

		assert_int_equal(tg_py_line(lt, n, first, c[i].off, &line), 0);
		if (line != c[i].line)
			fail_msg("offset %d: line %u, want %u", c[i].off, line, c[i].line);
	}
	/* past the last entry: the table does not say */
	uint32_t line;
	assert_int_equal(tg_py_line(lt, n, first, c[nc - 1].off + 2, &line), -1);
}

static void test_line_311(void **state)
{
	(void)state;
	check_table(lt_311, sizeof(lt_311), firstline_311, cases_311,
		    sizeof(cases_311) / sizeof(cases_311[0]));
}

static void test_line_312(void **state)
{
	(void)state;
	check_table(lt_312, sizeof(lt_312), firstline_312, cases_312,
		    sizeof(cases_312) / sizeof(cases_312[0]));
}

/* A table cut short (the kernel copies a prefix): what the prefix covers still decodes, past it
 * the answer is "unknown", never a wrong line. */
static void test_line_cut(void **state)
{
	size_t nc = sizeof(cases_311) / sizeof(cases_311[0]);
	uint32_t line;

	(void)state;
	for (size_t cut = 0; cut < sizeof(lt_311); cut++)
		for (size_t i = 0; i < nc; i++) {
			line = 0;
			if (tg_py_line(lt_311, cut, firstline_311, cases_311[i].off, &line) == 0 &&
			    line != cases_311[i].line)
				fail_msg("cut at %zu, offset %d: line %u, want %u", cut,
					 cases_311[i].off, line, cases_311[i].line);
		}
	/* a frame not started yet (prev_instr before the first instruction) */
	assert_int_equal(tg_py_line(lt_311, sizeof(lt_311), 7, -2, &line), 0);
	assert_int_equal(line, 7);
	/* garbage: an entry's first byte without bit 7 */
	assert_int_equal(tg_py_line((const uint8_t *)"\x01\x02", 2, 1, 4, &line), -1);
}

static void test_runtime_file(void **state)
{
	(void)state;
	assert_true(tg_py_runtime_file("/usr/lib/python3.11/logging/__init__.py"));
	assert_true(tg_py_runtime_file("/usr/local/lib/python3.12/tempfile.py"));
	assert_true(tg_py_runtime_file("<frozen importlib._bootstrap>"));
	assert_true(tg_py_runtime_file("/opt/venv/lib/python3.11/os.py"));
	assert_false(tg_py_runtime_file("/usr/lib/python3/dist-packages/requests/api.py"));
	assert_false(tg_py_runtime_file("/opt/venv/lib/python3.11/site-packages/foo/bar.py"));
	assert_false(tg_py_runtime_file("/home/u/lib/python3.11-tools.py"));
	assert_false(tg_py_runtime_file("/srv/app/main.py"));
	assert_false(tg_py_runtime_file("<stdin>"));
}

static void test_offsets(void **state)
{
	struct tg_py_offsets o = {
		.runtime = 0xa5b740, .text_vaddr = 0x41f000, .version = 0x030b02f0};

	(void)state;
	assert_int_equal(tg_py_offsets_for(3, 11, &o), 0);
	assert_int_equal(o.runtime, 0xa5b740);
	assert_int_equal(o.text_vaddr, 0x41f000);
	assert_int_equal(o.version, 0x030b02f0);
	assert_int_equal(o.fr_code, 32);
	assert_int_equal(tg_py_offsets_for(3, 12, &o), 0);
	assert_int_equal(o.fr_code, 0);
	assert_int_equal(o.runtime, 0xa5b740);
	assert_int_equal(tg_py_offsets_for(3, 10, &o), -1);
	assert_int_equal(tg_py_offsets_for(3, 13, &o), -1);
	assert_int_equal(tg_py_offsets_for(2, 11, &o), -1);
}

static void set_frame(struct tg_py_frame *f, const char *file, const char *name, int lasti)
{
	memset(f, 0, sizeof(*f));
	f->code = 0x1000;
	f->lasti = lasti;
	f->firstlineno = firstline_311;
	f->file_len = strlen(file);
	memcpy(f->file, file, f->file_len);
	f->name_len = strlen(name);
	memcpy(f->name, name, f->name_len);
	f->kinds = 1 | 1 << 4;
	f->linetab_len = sizeof(lt_311);
	f->linetab_full = sizeof(lt_311);
	memcpy(f->linetable, lt_311, sizeof(lt_311));
}

static size_t rec_size(unsigned n)
{
	return offsetof(struct tg_py_record, frames) + n * sizeof(struct tg_py_frame);
}

/* The innermost frame is the standard library's (logging opening its file): the call site is
 * the program's frame that called it. */
static void test_callsite(void **state)
{
	struct tg_py_record *r = calloc(1, sizeof(*r));
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	const struct tg_frame *site;
	char err[256];
	size_t last = sizeof(cases_311) / sizeof(cases_311[0]) - 1;

	(void)state;
	r->version = 0x030b02f0;
	r->n_frames = 3;
	set_frame(&r->frames[0], "/usr/lib/python3.11/logging/__init__.py", "FileHandler._open",
		  cases_311[0].off);
	set_frame(&r->frames[1], "/srv/app/main.py", "Job.run", cases_311[last].off);
	set_frame(&r->frames[2], "/srv/app/main.py", "<module>", -1);
	assert_int_equal(
		tg_py_callsite(r, rec_size(3), "/usr/bin/python3.11", cs, err, sizeof(err)), 0);
	assert_int_equal(cs->kind, TG_CS_PYTHON);
	assert_int_equal(cs->n, 3);
	assert_true(cs->frames[0].runtime);
	assert_false(cs->frames[1].runtime);
	assert_int_equal(cs->site, 1);
	site = tg_callsite_frame(cs);
	assert_non_null(site);
	assert_string_equal(site->file, "/srv/app/main.py");
	assert_string_equal(site->function, "Job.run");
	assert_string_equal(site->module, "/usr/bin/python3.11");
	assert_int_equal(site->line, cases_311[last].line);
	assert_int_equal(site->offset, cases_311[last].off);
	assert_int_equal(cs->frames[2].line, firstline_311);
	assert_string_equal(cs->missing, "");

	/* A size that is not header + n_frames frames is refused, cs untouched. */
	cs->n = 99;
	assert_int_equal(tg_py_callsite(r, rec_size(3) - 1, "x", cs, err, sizeof(err)), -1);
	assert_int_equal(tg_py_callsite(r, rec_size(2), "x", cs, err, sizeof(err)), -1);
	assert_int_equal(cs->n, 99);

	/* No thread state found: no frame, and missing says why. */
	r->n_frames = 0;
	r->status = TG_PY_NO_THREAD;
	assert_int_equal(
		tg_py_callsite(r, rec_size(0), "/usr/bin/python3.11", cs, err, sizeof(err)), 0);
	assert_int_equal(cs->n, 0);
	assert_null(tg_callsite_frame(cs));
	assert_non_null(strstr(cs->missing, "CPython 3.11"));
	assert_non_null(strstr(cs->missing, "no thread state"));
	free(r);
	free(cs);
}

/* 3.12's C-stack shim frames are the interpreter's: left out. A UCS-2 file name is UTF-8. */
static void test_callsite_312(void **state)
{
	struct tg_py_record *r = calloc(1, sizeof(*r));
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	char err[256];

	(void)state;
	r->version = 0x030c01f0;
	r->n_frames = 2;
	set_frame(&r->frames[0], "/srv/app/x.py", "f", 0);
	/* "/é€" as UCS-2 */
	memcpy(r->frames[0].file, "/\0\xe9\0\xac\x20", 6);
	r->frames[0].file_len = 6;
	r->frames[0].kinds = 2 | 1 << 4;
	set_frame(&r->frames[1], "", "<interpreter trampoline>", 0);
	r->frames[1].owner = 3;
	assert_int_equal(
		tg_py_callsite(r, rec_size(2), "/usr/bin/python3.12", cs, err, sizeof(err)), 0);
	assert_int_equal(cs->n, 1);
	assert_string_equal(cs->frames[0].file, "/\xc3\xa9\xe2\x82\xac");
	assert_int_equal(cs->site, 0);
	free(r);
	free(cs);
}

static void test_unsupported(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));

	(void)state;
	tg_py_callsite_unsupported("/usr/bin/python3.13", "3.13",
				   "CPython 3.13 is not one whose frames tmpguard can read", cs);
	assert_int_equal(cs->kind, TG_CS_PYTHON);
	assert_int_equal(cs->n, 0);
	assert_int_equal(cs->site, -1);
	assert_non_null(strstr(cs->missing, "/usr/bin/python3.13 is CPython 3.13"));
	assert_non_null(strstr(cs->missing, "not available"));
	free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_311),     cmocka_unit_test(test_line_312),
		cmocka_unit_test(test_line_cut),     cmocka_unit_test(test_runtime_file),
		cmocka_unit_test(test_offsets),	     cmocka_unit_test(test_callsite),
		cmocka_unit_test(test_callsite_312), cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
