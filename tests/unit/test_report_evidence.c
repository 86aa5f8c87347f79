// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the report as evidence (user/fleet/report_evidence.c and what feeds it): input
 * digests set by a loader, each host's policies by digest across a reload with their
 * exceptions linked, forward gaps (host named by its host id, deduplicated, the period), hosts
 * that stopped reporting (the store's heartbeat against the report's end), in the model, JSON
 * and Markdown. Unprivileged.
 */
#include <errno.h>
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
#include "util/sha256.h"
#include "util/timefmt.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int64_t T(const char *s)
{
	int64_t t;

	assert_int_equal(tg_parse_rfc3339(s, &t), 0);
	return t;
}

static struct tg_rpt *new_rpt(const char *since, const char *until, const char *now)
{
	struct tg_rpt_opts o = {
		.since_ns = since ? T(since) : TG_RPT_NOTIME,
		.until_ns = until ? T(until) : TG_RPT_NOTIME,
		.now_ns = T(now ? now : "2026-11-28T12:00:00Z"),
	};
	struct tg_rpt *r = tg_rpt_new(&o);

	assert_non_null(r);
	return r;
}

static void line(struct tg_rpt *r, const char *s)
{
	tg_rpt_line(r, s, strlen(s));
}

static char *render(int (*fn)(FILE *, const struct tg_rpt *, const char *), const struct tg_rpt *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, r, "0.1.0"), 0);
	fclose(f);
	return buf;
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v;
}

static bool has_gap(const struct tg_rpt *r, const char *needle)
{
	for (size_t i = 0; i < r->n_gaps; i++)
		if (strstr(r->gaps[i], needle))
			return true;
	return false;
}

/* A store's session row of host (host id hid), started at start, last committed at heard. */
static long db_session(struct tg_rpt *r, const char *host, const char *hid, const char *start,
		       const char *heard, bool clean)
{
	char buf[512];
	long s;

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"session\",\"time\":\"%s\",\"host\":\"%s\",\"host_id\":\"%s\","
		 "\"policy\":\"/etc/p.yaml\",\"policy_sha256\":\"" A64 "\"}",
		 start, host, hid);
	s = tg_rpt_db_session(r, 1, buf,
			      clean ? "{\"type\":\"summary\",\"policy\":\"/etc/p.yaml\"}" : NULL,
			      clean, T(start), clean ? T(heard) : TG_RPT_NOTIME, T(heard));
	assert_true(s >= 0);
	return s;
}

/* A loader's digest on the current input; refused when it is no SHA-256. */
static void test_input_digest(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, NULL);
	char hex[TG_SHA256_HEX], up[65], *md, *js;
	json_object *o, *in;

	(void)state;
	assert_int_equal(tg_rpt_input_digest(r, A64, "x"), -EINVAL); /* no input yet */
	assert_int_equal(tg_rpt_input(r, "postgresql://fleet/db", false), 0);
	assert_int_equal(tg_rpt_input_digest(r, "abc", "x"), -EINVAL);
	assert_int_equal(tg_rpt_input_digest(r, "A" A64 + 2, "x"), -EINVAL); /* 63 digits */
	memset(up, 'A', 64);
	up[64] = 0;
	assert_int_equal(tg_rpt_input_digest(r, up, "x"), -EINVAL); /* upper case */
	/* sha256sum of "abc", as a loader would compute it over what it read */
	assert_int_equal(tg_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(tg_rpt_input_digest(r, hex, "of PostgreSQL: the rows read"), 0);
	assert_int_equal(tg_rpt_input(r, "f.json", false), 0);
	tg_rpt_input_size(r, 1234);
	assert_int_equal(tg_rpt_input_digest(r, B64, "of JSON lines: the bytes read"), 0);
	assert_int_equal(tg_rpt_finish(r), 0);

	js = render(tg_rpt_json_write, r);
	o = json_tokener_parse(js);
	in = json_object_array_get_idx(get(o, "inputs"), 0);
	assert_string_equal(json_object_get_string(get(in, "sha256")), hex);
	assert_true(json_object_is_type(get(in, "bytes"), json_type_null));
	assert_string_equal(json_object_get_string(get(in, "digest")),
			    "of PostgreSQL: the rows read");
	in = json_object_array_get_idx(get(o, "inputs"), 1);
	assert_int_equal(json_object_get_int64(get(in, "bytes")), 1234);
	assert_string_equal(json_object_get_string(get(in, "sha256")), B64);
	md = render(tg_rpt_md, r);
	assert_non_null(strstr(md,
			       "| postgresql\\://fleet/db | JSON lines | - | " /* name escaped */
			       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
			       " |"));
	assert_non_null(strstr(md, "| 1234 | " B64 " |"));
	assert_non_null(strstr(md, "SHA-256 of PostgreSQL: the rows read.\n"));
	assert_non_null(strstr(md, "SHA-256 of JSON lines: the bytes read.\n"));
	free(md);
	free(js);
	json_object_put(o);
	tg_rpt_free(r);
}

/* A session reloaded once: the record's policy from its start to the reload, the summary's
 * from then to the stop, holding the summary's exceptions. */
static void test_policies_across_reload(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, NULL);
	json_object *o, *h, *p;
	char *js, *md;

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	line(r, "{\"type\":\"session\",\"time\":\"2026-11-28T01:00:00Z\",\"host\":\"h1\","
		"\"policy\":\"/etc/p.yaml\",\"policy_sha256\":\"" A64 "\",\"exceptions\":["
		"{\"line\":4,\"rule\":\"*\",\"reason\":\"old\",\"applied_in\":\"user\"}]}");
	line(r, "{\"type\":\"summary\",\"time\":\"2026-11-28T03:00:00Z\",\"host\":\"h1\","
		"\"policy\":\"/etc/p.yaml\",\"policy_sha256\":\"" B64 "\","
		"\"policy_since\":\"2026-11-28T02:00:00Z\",\"policy_reloads\":1,\"exceptions\":["
		"{\"line\":9,\"rule\":\"*\",\"reason\":\"new\",\"applied_in\":\"user\","
		"\"owner\":\"ops\",\"suppressed_kernel\":0,\"suppressed_user\":2}]}");
	/* Another session of the same file: the same policy, one more session. */
	line(r, "{\"type\":\"session\",\"time\":\"2026-11-28T04:00:00Z\",\"host\":\"h1\","
		"\"policy\":\"/etc/p.yaml\",\"policy_sha256\":\"" B64 "\",\"exceptions\":["
		"{\"line\":9,\"rule\":\"*\",\"reason\":\"new\",\"applied_in\":\"user\","
		"\"owner\":\"ops\"}]}");
	line(r, "{\"type\":\"summary\",\"time\":\"2026-11-28T05:00:00Z\",\"host\":\"h1\","
		"\"policy\":\"/etc/p.yaml\",\"policy_sha256\":\"" B64 "\",\"exceptions\":["
		"{\"line\":9,\"rule\":\"*\",\"reason\":\"new\",\"applied_in\":\"user\","
		"\"owner\":\"ops\",\"suppressed_kernel\":0,\"suppressed_user\":1}]}");
	assert_int_equal(tg_rpt_finish(r), 0);

	assert_int_equal(r->n_hosts, 1);
	assert_int_equal(r->hosts[0].n_policies, 2);
	p = NULL;
	{
		const struct tg_rpt_policy *a = &r->hosts[0].policies[0];
		const struct tg_rpt_policy *b = &r->hosts[0].policies[1];

		assert_string_equal(a->sha256, A64);
		assert_true(a->from_ns == T("2026-11-28T01:00:00Z"));
		assert_true(a->to_ns == T("2026-11-28T02:00:00Z"));
		assert_false(a->exceptions_known);
		assert_string_equal(b->sha256, B64);
		assert_true(b->from_ns == T("2026-11-28T02:00:00Z"));
		assert_true(b->to_ns == T("2026-11-28T05:00:00Z"));
		assert_int_equal(b->sessions, 2);
		assert_int_equal(b->n_exceptions, 1);
		assert_int_equal(r->exceptions[b->exceptions[0]].line, 9);
		assert_string_equal(r->exceptions[b->exceptions[0]].owner, "ops");
	}
	js = render(tg_rpt_json_write, r);
	o = json_tokener_parse(js);
	h = json_object_array_get_idx(get(o, "hosts"), 0);
	p = json_object_array_get_idx(get(h, "policies"), 1);
	assert_string_equal(json_object_get_string(get(p, "sha256")), B64);
	assert_string_equal(json_object_get_string(get(p, "from")),
			    "2026-11-28T02:00:00.000000000Z");
	assert_int_equal(json_object_array_length(get(p, "exceptions")), 1);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(get(p, "exceptions"), 0)),
			 (int)r->hosts[0].policies[1].exceptions[0]);
	p = json_object_array_get_idx(get(h, "policies"), 0);
	assert_true(json_object_is_type(get(p, "exceptions"), json_type_null));
	md = render(tg_rpt_md, r);
	assert_non_null(strstr(md,
			       "#### Policies in force\n\n| Policy | SHA-256 | From | To | "
			       "Sessions | Exceptions |\n|---|---|---|---|---|---|\n"
			       "| /etc/p.yaml | " A64 " | 2026-11-28T01:00:00Z | "
			       "2026-11-28T02:00:00Z | 1 | not recorded (replaced by a reload) |\n"
			       "| /etc/p.yaml | " B64 " | 2026-11-28T02:00:00Z | "
			       "2026-11-28T05:00:00Z | 2 | line 9 |\n"));
	free(md);
	free(js);
	json_object_put(o);
	tg_rpt_free(r);
}

/* Forward gaps: named by a session's host id, the same gap from two inputs once, gaps outside
 * the period left out; each in "could not see", per host in JSON, in Markdown's table. */
static void test_forward_gaps(void **state)
{
	struct tg_rpt *r = new_rpt("2026-11-28T00:00:00Z", NULL, NULL);
	struct tg_rpt_gap_row g = {
		.host_id = "web-1:0123",
		.target = "postgresql://fleet@db/tg",
		.stream = "findings",
		.session_key = 77,
		.first_id = 100,
		.last_id = 420,
		.evicted = 300,
		.from_ns = T("2026-11-28T02:00:00Z"),
		.to_ns = T("2026-11-28T03:00:00Z"),
		.time_ns = T("2026-11-28T04:00:00Z"),
	};
	json_object *o, *h, *x;
	char *js, *md, hosts[256];

	(void)state;
	assert_int_equal(tg_rpt_input(r, "web-1.db", true), 0);
	db_session(r, "web-1", "web-1:0123", "2026-11-28T01:00:00Z", "2026-11-28T05:00:00Z", true);
	tg_rpt_db_gap(r, 1, &g);
	g.first_id = 1; /* before the period: left out */
	g.last_id = 5;
	g.from_ns = T("2026-11-27T01:00:00Z");
	g.to_ns = T("2026-11-27T02:00:00Z");
	tg_rpt_db_gap(r, 2, &g);
	/* The same store again: its gap counts once. */
	assert_int_equal(tg_rpt_input(r, "copy.db", true), 0);
	g = (struct tg_rpt_gap_row){
		.host = "web-1",
		.host_id = "web-1:0123",
		.target = "postgresql://fleet@db/tg",
		.stream = "findings",
		.session_key = 77,
		.first_id = 100,
		.last_id = 420,
		.evicted = 300,
		.from_ns = T("2026-11-28T02:00:00Z"),
		.to_ns = T("2026-11-28T03:00:00Z"),
		.time_ns = T("2026-11-28T04:00:00Z"),
	};
	tg_rpt_db_gap(r, 1, &g);
	/* A host without a session here: named by its host id. */
	g.host = NULL;
	g.host_id = "gone:99";
	tg_rpt_db_gap(r, 2, &g);
	assert_int_equal(tg_rpt_finish(r), 0);

	assert_int_equal(r->n_fwd_gaps, 2);
	assert_int_equal(r->fwd_evicted, 600);
	assert_string_equal(r->fwd_gaps[0].host, "gone:99");
	assert_string_equal(r->fwd_gaps[1].host, "web-1");
	assert_int_equal(r->hosts[0].n_fwd_gaps, 1);
	assert_int_equal(r->hosts[0].fwd_evicted, 300);
	assert_int_equal(r->inputs[0].forward_gaps, 2);
	/* The stderr summary counts hosts, not gaps: web-1 and gone:99. */
	tg_rpt_unseen_hosts(r, hosts, sizeof(hosts));
	assert_string_equal(hosts, "2 hosts with forward gaps");
	assert_true(has_gap(r, "web-1: 300 findings evicted by its store's size limit at "
			       "2026-11-28T04:00:00Z before postgresql://fleet@db/tg had them (ids "
			       "100 to 420, from 2026-11-28T02:00:00Z to 2026-11-28T03:00:00Z): a "
			       "forward gap, in no store"));
	js = render(tg_rpt_json_write, r);
	o = json_tokener_parse(js);
	h = json_object_array_get_idx(get(o, "hosts"), 0);
	assert_string_equal(json_object_get_string(get(h, "host")), "web-1");
	x = json_object_array_get_idx(get(h, "forward_gaps"), 0);
	assert_int_equal(json_object_get_int64(get(x, "evicted")), 300);
	assert_int_equal(json_object_get_int64(get(x, "first_id")), 100);
	assert_int_equal(json_object_get_int64(get(x, "session_key")), 77);
	assert_string_equal(json_object_get_string(get(x, "evicted_at")),
			    "2026-11-28T04:00:00.000000000Z");
	assert_int_equal(json_object_get_int64(get(get(o, "totals"), "forward_gap_rows")), 600);
	md = render(tg_rpt_md, r);
	assert_non_null(strstr(md, "### Forward gaps\n"));
	assert_non_null(strstr(md, "| web-1 | postgresql\\://fleet\\@db/tg | findings | 100 to 420 "
				   "| 2026-11-28T02:00:00Z | 2026-11-28T03:00:00Z | "
				   "2026-11-28T04:00:00Z | 300 |\n"));
	free(md);
	free(js);
	json_object_put(o);
	tg_rpt_free(r);
}

/* Stopped reporting: a host's latest session without an end, last heard from more than 2
 * minutes before the report's end (--until if earlier than now). */
static void test_stopped_reporting(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, "2026-11-28T12:00:00Z");
	char *md, hosts[256];

	(void)state;
	assert_int_equal(tg_rpt_input(r, "fleet.db", true), 0);
	/* silent: heard 10 minutes before the report */
	db_session(r, "a", "a:1", "2026-11-28T08:00:00Z", "2026-11-28T11:50:00Z", false);
	/* heard 90 s ago: still reporting */
	db_session(r, "b", "b:1", "2026-11-28T08:00:00Z", "2026-11-28T11:58:30Z", false);
	/* an unclean session, then a clean one: its latest stopped cleanly */
	db_session(r, "c", "c:1", "2026-11-28T01:00:00Z", "2026-11-28T02:00:00Z", false);
	db_session(r, "c", "c:1", "2026-11-28T03:00:00Z", "2026-11-28T04:00:00Z", true);
	/* JSON lines carry no heartbeat: no claim either way */
	assert_int_equal(tg_rpt_input(r, "d.json", false), 0);
	line(r, "{\"type\":\"session\",\"time\":\"2026-11-28T01:00:00Z\",\"host\":\"d\"}");
	assert_int_equal(tg_rpt_finish(r), 0);

	assert_int_equal(r->n_silent, 1);
	tg_rpt_unseen_hosts(r, hosts, sizeof(hosts));
	assert_string_equal(hosts, "1 host stopped reporting");
	for (size_t i = 0; i < r->n_hosts; i++)
		assert_true(!r->hosts[i].silent == !!strcmp(r->hosts[i].name, "a"));
	assert_true(r->hosts[0].silent->heard_ns == T("2026-11-28T11:50:00Z"));
	assert_true(has_gap(r, "a: stopped reporting: last heard from at 2026-11-28T11:50:00Z, "
			       "10m 0s before the report's end (2026-11-28T12:00:00Z); its session "
			       "started 2026-11-28T08:00:00Z has no end"));
	md = render(tg_rpt_md, r);
	assert_non_null(strstr(md, "### Hosts that stopped reporting\n"));
	assert_non_null(
		strstr(md, "| a | 2026-11-28T08:00:00Z | 2026-11-28T11:50:00Z | 10m 0s |\n"));
	free(md);
	tg_rpt_free(r);

	/* Judged at --until: heard from after it, it had not stopped then. */
	r = new_rpt(NULL, "2026-11-28T11:51:00Z", "2026-11-28T12:00:00Z");
	assert_int_equal(tg_rpt_input(r, "fleet.db", true), 0);
	db_session(r, "a", "a:1", "2026-11-28T08:00:00Z", "2026-11-28T11:50:00Z", false);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->n_silent, 0);
	tg_rpt_unseen_hosts(r, hosts, sizeof(hosts));
	assert_string_equal(hosts, "");
	tg_rpt_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_digest),
		cmocka_unit_test(test_policies_across_reload),
		cmocka_unit_test(test_forward_gaps),
		cmocka_unit_test(test_stopped_reporting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
