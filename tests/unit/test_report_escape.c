// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/fleet/report_escape.c and the renderers: hostile names (newline, CR, ESC,
 * quotes, markup, '|', formulas, invalid UTF-8, bidi controls) through Markdown, HTML, CSV,
 * JSON, SARIF and file URIs. Unprivileged.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "report.h"
#include "report_render.h"
#include "util/escape.h"
#include "util/timefmt.h"

typedef void (*escaper)(FILE *, const char *);

/* What an escaper writes for s. Caller frees. */
static char *run(escaper e, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	e(f, s);
	fclose(f);
	return buf;
}

#define ESC(e, in, want)                                                                           \
	do {                                                                                       \
		char *got_ = run(e, in);                                                           \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

/* No byte a terminal or viewer acts on: C0 (newline allowed where the format has lines), DEL,
 * C1 as UTF-8; and valid UTF-8 throughout. */
static void assert_clean(const char *s, bool newlines)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n' && newlines)
			continue;
		if (*p == '\r' && newlines && p[1] == '\n')
			continue;
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("raw control byte 0x%02x at offset %td", *p, (const char *)p - s);
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fail_msg("raw C1 control at offset %td", (const char *)p - s);
	}
	assert_true(tg_utf8_valid(s, strlen(s)));
}

static const char *const hostile[] = {
	"/tmp/a\nb",
	"/tmp/\x1b[31mred\x1b[0m",
	"/tmp/\r\x07\x7f",
	"/tmp/\"'`<script>alert(1)</script>",
	"/tmp/a|b|c",
	"=HYPERLINK(\"http://x\")",
	"/tmp/\xff\xfe\xc3",
	"/tmp/\xc2\x9b"
	"31m", /* C1 CSI, as UTF-8 */
	"/tmp/\xe2\x80\xae"
	"fdp", /* U+202E RIGHT-TO-LEFT OVERRIDE */
	"# heading",
	"1. item",
	"www.evil.example",
	"a\\b",
};

static void test_md(void **state)
{
	(void)state;
	ESC(tg_md_escape, "/tmp/plain.txt", "/tmp/plain.txt");
	ESC(tg_md_escape, "a|b", "a\\|b");
	ESC(tg_md_escape, "a\nb", "a\\\\nb"); /* "\n" as text, its backslash escaped */
	ESC(tg_md_escape, "\x1b[1m", "\\\\x1b\\[1m");
	ESC(tg_md_escape, "<b>&", "&lt;b&gt;&amp;");
	ESC(tg_md_escape, "`code`", "\\`code\\`");
	ESC(tg_md_escape, "*x* _y_ ~z~", "\\*x\\* \\_y\\_ \\~z\\~");
	ESC(tg_md_escape, "[a](b)", "\\[a\\](b)");
	ESC(tg_md_escape, "# h", "\\# h");
	ESC(tg_md_escape, "- x", "\\- x");
	ESC(tg_md_escape, "a - b # c", "a - b # c"); /* only at the start */
	ESC(tg_md_escape, "12. x", "12\\. x");
	ESC(tg_md_escape, "v1.2", "v1.2");
	ESC(tg_md_escape, "http://x", "http\\://x");
	ESC(tg_md_escape, "www.x", "www\\.x");
	ESC(tg_md_escape, "a@b.c", "a\\@b.c");
	ESC(tg_md_escape, "\xff", "\\\\xff");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *got = run(tg_md_escape, hostile[i]);

		assert_clean(got, false);
		/* No unescaped pipe: a name never adds a table column. */
		for (const char *p = got; (p = strchr(p, '|')); p++)
			assert_true(p > got && p[-1] == '\\');
		assert_null(strchr(got, '<'));
		free(got);
	}
}

static void test_html(void **state)
{
	(void)state;
	ESC(tg_html_escape, "/tmp/plain.txt", "/tmp/plain.txt");
	ESC(tg_html_escape, "<script>\"'&", "&lt;script&gt;&quot;&#39;&amp;");
	ESC(tg_html_escape, "a\nb\x1b", "a\\nb\\x1b");
	ESC(tg_html_escape, "\xe2\x80\xae", "\\xe2\\x80\\xae");
	ESC(tg_html_escape, "caf\xc3\xa9", "caf\xc3\xa9"); /* printable UTF-8 passes */
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *got = run(tg_html_escape, hostile[i]);

		assert_clean(got, false);
		assert_null(strpbrk(got, "<>\"'"));
		free(got);
	}
}

static void test_csv(void **state)
{
	(void)state;
	ESC(tg_csv_field, "plain", "plain");
	ESC(tg_csv_field, "a,b", "\"a,b\"");
	ESC(tg_csv_field, "say \"hi\"", "\"say \"\"hi\"\"\"");
	ESC(tg_csv_field, "a\r\nb", "a\\r\\nb");
	ESC(tg_csv_field, " lead", "\" lead\"");
	/* Formula injection: a leading ' and quotes. */
	ESC(tg_csv_field, "=1+2", "\"'=1+2\"");
	ESC(tg_csv_field, "+1", "\"'+1\"");
	ESC(tg_csv_field, "-1", "\"'-1\"");
	ESC(tg_csv_field, "@SUM(A1)", "\"'@SUM(A1)\"");
	ESC(tg_csv_field, "\t=1", "\"'\\t=1\"");
	ESC(tg_csv_field, "\r=1", "\"'\\r=1\"");
	ESC(tg_csv_field, "=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
	ESC(tg_csv_field, "a=1", "a=1");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *got = run(tg_csv_field, hostile[i]);

		assert_clean(got, false);
		assert_false(strchr("=+-@", got[0]) && got[0]);
		free(got);
	}
}

static void test_uri(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"/usr/bin/dash", "file:///usr/bin/dash"},
		{"/opt/my app/%x", "file:///opt/my%20app/%25x"},
		{"/x/\xff\n\"<", "file:///x/%FF%0A%22%3C"},
		{"/a:b?c#d", "file:///a%3Ab%3Fc%23d"},
		{"bash", "bash"},
		{"a:b", "a%3Ab"}, /* never mistaken for a scheme */
		{"/-._~", "file:///-._~"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = tg_file_uri(cases[i].in);

		assert_non_null(u);
		assert_string_equal(u, cases[i].want);
		free(u);
	}
}

/* ---- whole renderings of a hostile model ---- */

static void line(struct tg_rpt *r, const char *s)
{
	tg_rpt_line(r, s, strlen(s));
}

static struct tg_rpt *hostile_model(void)
{
	struct tg_rpt_opts o = {
		.since_ns = TG_RPT_NOTIME,
		.until_ns = TG_RPT_NOTIME,
		.now_ns = 1795847400LL * 1000000000LL,
		.keep_findings = true,
	};
	struct tg_rpt *r = tg_rpt_new(&o);

	assert_non_null(r);
	assert_int_equal(tg_rpt_input(r, "in\x1b[2J|<i>.json", false), 0);
	/* Raw invalid UTF-8 in the file itself, and the lossless form, and JSON escapes. */
	line(r, "{\"type\":\"session\",\"time\":\"2026-11-28T05:00:00Z\",\"host\":\"h<b>|\\n\","
		"\"policy\":\"/etc/p\\u001b.yaml\",\"hooks\":[\"tp/<x>|\"],\"enforcement\":\"off\","
		"\"posture\":{\"sysctls\":{\"fs.protected_symlinks\":0},\"mounts\":[{\"path\":"
		"\"/tmp\\n<m>\",\"fstype\":\"|\",\"options\":\"rw\",\"mode\":\"0777\","
		"\"separate\":true}]},\"exceptions\":[{\"line\":1,\"rule\":\"*\",\"reason\":"
		"\"=cmd|' /C calc'!A0\\r\\n<script>\",\"applied_in\":\"user\",\"owner\":"
		"\"<i>own</i>|\\u001b[2J\\n[o](javascript:alert(1))\\u202e\"}]}");
	line(r,
	     "{\"type\":\"finding\",\"time\":\"2026-11-28T05:01:00Z\",\"host\":\"h<b>|\\n\","
	     "\"rule\":\"nonexclusive-create\",\"severity\":\"high\",\"cwe\":[\"CWE-377\"],"
	     "\"why\":\"w\\u009b "
	     "[click](https://evil.example/)\",\"path\":\"/tmp/\\n\\u001b[31m|<script>`\\\\xff\","
	     "\"proc\":{\"pid\":1,\"tid\":1,\"comm\":\"=1+2\",\"exe\":\"/x/\\u202e<b>|\","
	     "\"user\":\"-u\",\"cmdline\":\"@c\",\"container_id\":\"+c\\u0007\"},"
	     "\"ancestry\":[{\"pid\":5,\"comm\":\"ba\\u001bsh\",\"exe\":\"/bin/bash\"},"
	     "{\"pid\":1,\"comm\":\"=systemd\",\"exe\":null}],\"ancestry_truncated\":true,"
	     "\"language\":\"sh\\n\",\"advice\":\"a|b<c>\\u001b\",\"count\":1,"
	     "\"pattern\":\"/tmp/\\n\\u001b[*m|<script>`\\\\xff\",\"escaped_fields\":[\"path\","
	     "\"pattern\"]}");
	line(r, "{\"type\":\"finding\",\"time\":\"2026-11-28T05:02:00Z\",\"host\":\"h2\xff\","
		"\"rule\":\"new-rule|<x>\",\"severity\":\"low\",\"path\":\"/tmp/\xfe\","
		"\"proc\":{\"pid\":2,\"exe\":\"bash\"}}");
	line(r, "{\"type\":\"loss\",\"time\":\"2026-11-28T05:03:00Z\",\"host\":\"h<b>|\\n\","
		"\"from\":\"2026-11-28T05:02:00Z\",\"to\":\"2026-11-28T05:03:00Z\",\"lost\":3}");
	line(r, "not json \x1b[2J");
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->total, 2);
	return r;
}

typedef int (*renderer)(FILE *, const struct tg_rpt *, const char *);

static char *render(renderer fn, const struct tg_rpt *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, r, "0.1.0"), 0);
	fclose(f);
	assert_int_equal(strlen(buf), len); /* no NUL inside */
	return buf;
}

static int csv_render(FILE *f, const struct tg_rpt *r, const char *v)
{
	(void)v;
	return tg_rpt_csv(f, r);
}

static void test_render_md(void **state)
{
	struct tg_rpt *r = hostile_model();
	char *md = render(tg_rpt_md, r), *rest = md, *l;
	int cols = -1;

	(void)state;
	assert_clean(md, true);
	assert_null(strstr(md, "<script"));
	assert_null(strstr(md, "<b>"));
	assert_non_null(strstr(md, "&lt;script&gt;"));
	assert_non_null(strstr(md, "### Host h&lt;b&gt;\\|\\\\n"));
	/* An exception's owner like its reason: no markup, no link, no cell break, no control. */
	assert_non_null(strstr(
		md, "| &lt;i&gt;own&lt;/i&gt;\\|\\\\x1b\\[2J\\\\n\\[o\\](javascript:alert(1))"
		    "\\\\xe2\\\\x80\\\\xae | never expires |"));
	/* Every row of a table has its header's number of cells. */
	while ((l = strsep(&rest, "\n"))) {
		int n = 0;

		if (l[0] != '|') {
			cols = -1;
			continue;
		}
		for (char *p = l; *p; p++)
			n += *p == '|' && (p == l || p[-1] != '\\');
		if (cols < 0)
			cols = n;
		assert_int_equal(n, cols);
	}
	free(md);
	tg_rpt_free(r);
}

static void test_render_html(void **state)
{
	struct tg_rpt *r = hostile_model();
	char *h = render(tg_rpt_html, r);
	const char *p;
	int opened = 0;

	(void)state;
	assert_clean(h, true);
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<b>"));
	assert_null(strstr(h, "<i>"));
	assert_null(strstr(h, "<x>"));
	assert_null(strstr(h, "<m>"));
	assert_null(strstr(h, "://"));
	assert_non_null(strstr(h, "<svg class=\"chart\""));
	assert_non_null(strstr(h, "Host h&lt;b&gt;|\\n</h3>"));
	assert_non_null(strstr(h, "<td>&lt;i&gt;own&lt;/i&gt;|\\x1b[2J\\n[o](javascript:alert(1))"
				  "\\xe2\\x80\\xae</td>"));
	assert_non_null(strstr(h, "/tmp/\\n\\x1b[*m|&lt;script&gt;`\\xff"));
	/* Tags balance where it matters: every table closes. */
	for (p = h; (p = strstr(p, "<table>")); p++)
		opened++;
	for (p = h; (p = strstr(p, "</table>")); p++)
		opened--;
	assert_int_equal(opened, 0);
	free(h);
	tg_rpt_free(r);
}

static void test_render_csv(void **state)
{
	struct tg_rpt *r = hostile_model();
	char *c = render(csv_render, r), *save = NULL;
	int rows = 0;

	(void)state;
	assert_clean(c, true);
	/* CRLF line ends only, a header and one row per finding. */
	for (const char *p = c; (p = strchr(p, '\n')); p++)
		assert_true(p > c && p[-1] == '\r');
	for (char *l = strtok_r(c, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
		rows++;
	assert_int_equal(rows, 3);
	free(c);
	c = render(csv_render, r);
	assert_non_null(strstr(c, ",\"'=1+2\","));
	assert_non_null(strstr(c, ",\"'-u\","));
	assert_non_null(strstr(c, ",\"'+c\\x07\","));
	assert_non_null(strstr(c, ",5 ba\\x1bsh < 1 =systemd < ...,"));
	assert_non_null(strstr(c, ",/tmp/\\n\\x1b[31m|<script>`\\xff,"));
	free(c);
	tg_rpt_free(r);
}

static void test_render_json(void **state)
{
	struct tg_rpt *r = hostile_model();
	char *j = render(tg_rpt_json_write, r), *s = render(tg_rpt_sarif_write, r);
	json_object *o = json_tokener_parse(j), *sarif = json_tokener_parse(s), *v;
	json_object *run, *res;

	(void)state;
	/* Valid UTF-8 JSON whatever the names held; the invalid bytes in the lossless form. */
	assert_true(tg_utf8_valid(j, strlen(j)));
	assert_true(tg_utf8_valid(s, strlen(s)));
	assert_non_null(o);
	assert_non_null(sarif);
	assert_true(json_object_object_get_ex(o, "totals", &v));
	assert_int_equal(json_object_get_int(json_object_object_get(v, "findings")), 2);
	assert_int_equal(json_object_get_int(json_object_object_get(v, "lost")), 3);
	assert_non_null(strstr(j, "\"h2\\\\xff\""));
	run = json_object_array_get_idx(json_object_object_get(sarif, "runs"), 0);
	res = json_object_object_get(run, "results");
	assert_int_equal(json_object_array_length(res), 2);
	/* The unknown rule gets a descriptor after this build's, and the index points at it. */
	v = json_object_array_get_idx(res, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "ruleId")),
			    "new-rule|<x>");
	assert_int_equal(json_object_get_int(json_object_object_get(v, "ruleIndex")), TG_RULE_MAX);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "level")), "note");
	v = json_object_array_get_idx(res, 0);
	assert_string_equal(
		json_object_get_string(json_object_object_get(
			json_object_object_get(
				json_object_object_get(
					json_object_array_get_idx(
						json_object_object_get(v, "locations"), 0),
					"physicalLocation"),
				"artifactLocation"),
			"uri")),
		"file:///x/%E2%80%AE%3Cb%3E%7C");
	/* The message is printable: no raw ESC, newline or C1 from the record. */
	assert_clean(json_object_get_string(
			     json_object_object_get(json_object_object_get(v, "message"), "text")),
		     false);
	/* ... and holds no embedded link (SARIF 3.11.6): brackets and backslashes escaped. */
	{
		const char *t = json_object_get_string(
			json_object_object_get(json_object_object_get(v, "message"), "text"));

		assert_non_null(strstr(t, " \\[click\\](https://evil.example/)"));
		assert_null(strstr(t, " [click]"));
		assert_non_null(strstr(t, "\\\\xff"));
	}
	json_object_put(o);
	json_object_put(sarif);
	free(j);
	free(s);
	tg_rpt_free(r);
}

/* Nothing read: every format still renders, and SARIF has no null where it wants a time. */
static void test_render_empty(void **state)
{
	struct tg_rpt_opts o = {.since_ns = TG_RPT_NOTIME, .until_ns = TG_RPT_NOTIME};
	struct tg_rpt *r = tg_rpt_new(&o);
	renderer all[] = {tg_rpt_md, tg_rpt_html, csv_render, tg_rpt_json_write,
			  tg_rpt_sarif_write};
	json_object *sarif, *inv;
	char *s;

	(void)state;
	assert_non_null(r);
	assert_int_equal(tg_rpt_input(r, "empty.json", false), 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		s = render(all[i], r);
		assert_clean(s, true);
		free(s);
	}
	s = render(tg_rpt_sarif_write, r);
	sarif = json_tokener_parse(s);
	inv = json_object_array_get_idx(
		json_object_object_get(
			json_object_array_get_idx(json_object_object_get(sarif, "runs"), 0),
			"invocations"),
		0);
	assert_non_null(inv);
	assert_false(json_object_object_get_ex(inv, "startTimeUtc", NULL));
	assert_int_equal(
		json_object_array_length(json_object_object_get(inv, "toolExecutionNotifications")),
		1);
	json_object_put(sarif);
	free(s);
	tg_rpt_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md),	     cmocka_unit_test(test_html),
		cmocka_unit_test(test_csv),	     cmocka_unit_test(test_uri),
		cmocka_unit_test(test_render_md),    cmocka_unit_test(test_render_html),
		cmocka_unit_test(test_render_csv),   cmocka_unit_test(test_render_json),
		cmocka_unit_test(test_render_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
