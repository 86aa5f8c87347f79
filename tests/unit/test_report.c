// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/fleet/report.c, the report model: counts, the period, merging hosts, loss
 * windows, unclean sessions, unreadable lines, exceptions (their owner and expiry, in the model,
 * JSON and Markdown), posture remarks, the trend.
 * Records are written here as `audit --format json` prints them. Unprivileged.
 */
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
#include "util/timefmt.h"

#define NSEC 1000000000LL

static int64_t T(const char *s)
{
	int64_t t;

	assert_int_equal(tg_parse_rfc3339(s, &t), 0);
	return t;
}

static struct tg_rpt *new_rpt(const char *since, const char *until, bool keep)
{
	struct tg_rpt_opts o = {
		.since_ns = since ? T(since) : TG_RPT_NOTIME,
		.until_ns = until ? T(until) : TG_RPT_NOTIME,
		.now_ns = T("2026-11-28T12:00:00Z"),
		.keep_findings = keep,
	};
	struct tg_rpt *r = tg_rpt_new(&o);

	assert_non_null(r);
	return r;
}

static void line(struct tg_rpt *r, const char *s)
{
	tg_rpt_line(r, s, strlen(s));
}

/* A finding record; count is the aggregate counter (not a multiplier). */
static void finding(struct tg_rpt *r, const char *time, const char *host, const char *rule,
		    const char *sev, const char *exe, const char *path, int pid, int count)
{
	char buf[2048];

	snprintf(
		buf, sizeof(buf),
		"{\"type\":\"finding\",\"time\":\"%s\",\"host\":\"%s\",\"rule\":\"%s\","
		"\"severity\":\"%s\",\"cwe\":[\"CWE-377\"],\"action\":\"alert\",\"why\":\"w\","
		"\"syscall\":\"openat\",\"entry\":\"syscall\",\"path\":\"%s\",\"proc\":{\"pid\":%d,"
		"\"tid\":%d,\"ppid\":1,\"uid\":1000,\"user\":\"u\",\"comm\":\"c\",\"exe\":\"%s\","
		"\"cmdline\":\"c\",\"container_id\":null,\"container_runtime\":null},"
		"\"language\":\"shell\",\"advice\":\"use mktemp\",\"count\":%d,\"pattern\":\"%s\"}",
		time, host, rule, sev, path, pid, pid, exe, count, path);
	line(r, buf);
}

static void summary(struct tg_rpt *r, const char *time, const char *host, int lost)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"summary\",%s%s%s\"host\":\"%s\",\"events\":{\"lost\":%d,"
		 "\"repeats_not_printed\":0},\"policy\":\"p.yaml\",\"exceptions\":[]}",
		 time ? "\"time\":\"" : "", time ? time : "", time ? "\"," : "", host, lost);
	line(r, buf);
}

static void session(struct tg_rpt *r, const char *time, const char *host)
{
	char buf[1024];

	snprintf(
		buf, sizeof(buf),
		"{\"type\":\"session\",\"time\":\"%s\",\"host\":\"%s\",\"version\":\"0.1.0\","
		"\"policy\":\"p.yaml\",\"hooks\":[\"tracepoint/syscalls/sys_exit_openat\"],"
		"\"enforcement\":\"off\",\"posture\":{\"sysctls\":{\"fs.protected_symlinks\":0,"
		"\"fs.protected_regular\":2,\"fs.protected_fifos\":1,\"fs.protected_hardlinks\":1},"
		"\"mounts\":[{\"path\":\"/"
		"tmp\",\"fstype\":\"tmpfs\",\"options\":\"rw,nosuid,nodev\","
		"\"mode\":\"1777\",\"separate\":true}]},\"exceptions\":[{\"line\":3,\"rule\":\"*\","
		"\"reason\":\"lock files\",\"applied_in\":\"kernel\"}]}",
		time, host);
	line(r, buf);
}

static const struct tg_rpt_row *row(const struct tg_rpt_table *t, const char *k, const char *k2)
{
	const struct tg_rpt_row *w = tg_rpt_table_get(t, k, k2);

	if (!w)
		fail_msg("no row '%s'/'%s'", k, k2 ? k2 : "");
	return w;
}

static bool has_gap(const struct tg_rpt *r, const char *needle)
{
	for (size_t i = 0; i < r->n_gaps; i++)
		if (strstr(r->gaps[i], needle))
			return true;
	return false;
}

static void test_counts(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, true);
	uint64_t trend = 0;

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	finding(r, "2026-11-28T06:00:00.000000001Z", "h1", "nonexclusive-create", "high", "/bin/sh",
		"/tmp/a.1", 10, 1);
	finding(r, "2026-11-28T06:00:00.000000001Z", "h1", "loose-mode", "medium", "/bin/sh",
		"/tmp/a.1", 10, 1);
	/* The aggregate counter says 50: still one finding. */
	finding(r, "2026-11-28T06:30:00Z", "h1", "nonexclusive-create", "high", "/usr/bin/perl",
		"/tmp/b.2", 11, 50);
	finding(r, "2026-11-28T07:00:00Z", "h1", "symlink-follow", "critical", "/bin/sh",
		"/tmp/c.3", 12, 1);
	summary(r, "2026-11-28T08:00:00Z", "h1", 0);
	assert_int_equal(tg_rpt_finish(r), 0);

	assert_int_equal(r->total, 4);
	assert_int_equal(r->by_sev[TG_SEV_CRITICAL], 1);
	assert_int_equal(r->by_sev[TG_SEV_HIGH], 2);
	assert_int_equal(r->by_sev[TG_SEV_MEDIUM], 1);
	assert_int_equal(r->by_sev[TG_SEV_LOW], 0);
	assert_int_equal(row(&r->by_rule, "nonexclusive-create", NULL)->n, 2);
	assert_int_equal(row(&r->by_rule, "loose-mode", NULL)->n, 1);
	assert_int_equal(row(&r->by_rule, "symlink-follow", NULL)->n, 1);
	assert_string_equal(row(&r->by_rule, "symlink-follow", NULL)->text, "CWE-377");
	assert_int_equal(row(&r->by_exe, "/bin/sh", NULL)->n, 3);
	assert_int_equal(row(&r->by_exe, "/bin/sh", NULL)->worst, TG_SEV_CRITICAL);
	assert_int_equal(row(&r->by_exe, "/usr/bin/perl", NULL)->n, 1);
	assert_int_equal(row(&r->by_container, "", NULL)->n, 4);
	assert_int_equal(row(&r->advice, "nonexclusive-create", "shell")->n, 2);
	assert_string_equal(row(&r->advice, "loose-mode", "shell")->text, "use mktemp");
	assert_int_equal(row(&r->cwe, "CWE-377", NULL)->n, 4);
	/* Top offenders: highest count first, with the rule mix. */
	assert_string_equal(r->offenders.rows[0].key, "/bin/sh");
	assert_string_equal(r->offenders.rows[0].key2, "h1");
	assert_int_equal(r->offenders.rows[0].rule[TG_RULE_NONEXCLUSIVE_CREATE], 1);
	assert_int_equal(r->offenders.rows[0].rule[TG_RULE_LOOSE_MODE], 1);
	assert_int_equal(r->offenders.rows[0].rule[TG_RULE_SYMLINK_FOLLOW], 1);
	/* Kept for csv/sarif, in time order. */
	assert_int_equal(r->n_findings, 4);
	assert_string_equal(r->findings[3].rule_id, "symlink-follow");
	assert_int_equal(r->findings[2].count, 50);
	/* One session, clean, from its first record to the summary. */
	assert_int_equal(r->n_sessions, 1);
	assert_true(r->sessions[0].clean);
	assert_true(r->sessions[0].start_ns == T("2026-11-28T06:00:00.000000001Z"));
	assert_true(r->sessions[0].end_ns == T("2026-11-28T08:00:00Z"));
	/* The trend holds every finding once. */
	for (size_t i = 0; i < r->trend.n; i++)
		for (int s = 0; s < TG_RPT_NSEV; s++)
			trend += r->trend.counts[i][s];
	assert_int_equal(trend, 4);
	assert_int_equal(r->trend.first_half + r->trend.second_half, 4);
	tg_rpt_free(r);
}

static void test_period(void **state)
{
	struct tg_rpt *r = new_rpt("2026-11-28T06:00:00Z", "2026-11-28T07:00:00Z", true);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	/* A session wholly before the period: gone, findings and all. */
	finding(r, "2026-11-27T06:00:00Z", "old", "loose-mode", "medium", "/bin/sh", "/tmp/o", 9,
		1);
	summary(r, "2026-11-27T06:10:00Z", "old", 0);
	finding(r, "2026-11-28T05:59:59.999999999Z", "h1", "loose-mode", "medium", "/bin/sh",
		"/tmp/x", 1, 1);
	finding(r, "2026-11-28T06:00:00Z", "h1", "loose-mode", "medium", "/bin/sh", "/tmp/x", 2,
		1); /* the bounds are inclusive */
	finding(r, "2026-11-28T07:00:00Z", "h1", "loose-mode", "medium", "/bin/sh", "/tmp/x", 3, 1);
	finding(r, "2026-11-28T07:00:00.000000001Z", "h1", "loose-mode", "medium", "/bin/sh",
		"/tmp/x", 4, 1);
	summary(r, "2026-11-28T08:00:00Z", "h1", 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->total, 2);
	assert_int_equal(r->n_findings, 2);
	assert_int_equal(r->findings[0].pid, 2);
	assert_int_equal(r->findings[1].pid, 3);
	assert_int_equal(r->n_sessions, 1);
	assert_string_equal(r->sessions[0].host, "h1");
	assert_int_equal(r->n_hosts, 1);
	/* Covered: the session, clipped to the period. */
	assert_true(r->covered_from == T("2026-11-28T06:00:00Z"));
	assert_true(r->covered_to == T("2026-11-28T07:00:00Z"));
	assert_true(r->covered_ns == 3600 * NSEC);
	assert_int_equal(r->trend.unit, TG_RPT_HOUR);
	assert_int_equal(r->trend.n, 2);
	tg_rpt_free(r);
}

static void test_merge_hosts(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	finding(r, "2026-11-28T06:00:00Z", "alpha", "loose-mode", "medium", "/bin/sh", "/tmp/x", 1,
		1);
	finding(r, "2026-11-28T06:01:00Z", "alpha", "loose-mode", "medium", "/bin/sh", "/tmp/y", 2,
		1);
	summary(r, NULL, "alpha", 0);
	assert_int_equal(tg_rpt_input(r, "b.json", false), 0);
	finding(r, "2026-11-28T06:00:00Z", "beta", "nonexclusive-create", "high", "/bin/sh",
		"/tmp/x", 1, 1);
	/* The same record again (the same file given twice): counted once. */
	finding(r, "2026-11-28T06:00:00Z", "alpha", "loose-mode", "medium", "/bin/sh", "/tmp/x", 1,
		1);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->total, 3);
	assert_int_equal(r->duplicates, 1);
	assert_int_equal(r->inputs[1].duplicates, 1);
	assert_int_equal(r->n_hosts, 2);
	assert_string_equal(r->hosts[0].name, "alpha");
	assert_string_equal(r->hosts[1].name, "beta");
	assert_int_equal(r->hosts[0].findings, 2);
	assert_int_equal(r->hosts[1].findings, 1);
	assert_int_equal(row(&r->by_host, "alpha", NULL)->n, 2);
	assert_int_equal(row(&r->offenders, "/bin/sh", "beta")->n, 1);
	/* b.json's host changed without session records: a session per host, none stopped. */
	assert_int_equal(r->n_sessions, 3);
	assert_int_equal(r->n_unclean, 2);
	tg_rpt_free(r);
}

static void test_loss(void **state)
{
	struct tg_rpt *r = new_rpt("2026-11-28T06:00:00Z", "2026-11-28T09:00:00Z", false);
	char buf[256];

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	line(r, "{\"type\":\"loss\",\"time\":\"2026-11-28T05:31:00Z\",\"host\":\"h1\","
		"\"from\":\"2026-11-28T05:30:00Z\",\"to\":\"2026-11-28T05:31:00Z\",\"lost\":5}");
	line(r, "{\"type\":\"loss\",\"time\":\"2026-11-28T06:31:00Z\",\"host\":\"h1\","
		"\"from\":\"2026-11-28T06:30:00Z\",\"to\":\"2026-11-28T06:31:00Z\",\"lost\":7}");
	/* The summary counts 20: 8 were lost outside any window record. */
	summary(r, "2026-11-28T08:00:00Z", "h1", 20);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->n_losses, 2);
	assert_int_equal(r->lost, 15);
	assert_false(r->losses[0].unknown_time);
	assert_int_equal(r->losses[0].lost, 7); /* the 05:30 window is before the period */
	assert_true(r->losses[0].from_ns == T("2026-11-28T06:30:00Z"));
	assert_true(r->losses[1].unknown_time);
	assert_int_equal(r->losses[1].lost, 8);
	assert_string_equal(r->losses[1].host, "h1");
	assert_int_equal(r->hosts[0].lost, 15);
	tg_rpt_unseen_hosts(r, buf, sizeof(buf));
	assert_string_equal(buf, "1 host with loss windows");
	/* A second host with a window, and one that stopped reporting, in one line. */
	r->n_silent = 1;
	r->losses[1].host = "h2";
	tg_rpt_unseen_hosts(r, buf, sizeof(buf));
	assert_string_equal(buf, "2 hosts with loss windows, 1 host stopped reporting");
	r->losses[1].host = r->losses[0].host;
	r->n_silent = 0;
	/* Cut short, never past the buffer. */
	tg_rpt_unseen_hosts(r, buf, 8);
	assert_string_equal(buf, "1 host ");
	assert_true(has_gap(r, "h1: 7 records lost between 2026-11-28T06:30:00Z and "
			       "2026-11-28T06:31:00Z"));
	assert_true(has_gap(r, "8 records lost (per its summary) at an unknown time"));
	/* 06:00-08:00 of 06:00-09:00 covered. */
	assert_true(r->covered_ns == 2 * 3600 * NSEC);
	assert_true(has_gap(r, "the sessions cover 2h 0m of the 3h 0m asked for (67%)"));
	tg_rpt_free(r);
}

static void test_health(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "h.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	line(r, "{\"type\":\"health\",\"time\":\"2026-11-28T05:10:00Z\",\"host\":\"h1\","
		"\"status\":\"unhealthy\",\"reason\":\"programs detached\"}");
	line(r, "{\"type\":\"health\",\"time\":\"2026-11-28T05:20:00Z\",\"host\":\"h1\","
		"\"status\":\"recovered\",\"reason\":\"records flow\"}");
	line(r, "{\"type\":\"health\",\"time\":\"2026-11-28T05:40:00Z\",\"host\":\"h1\","
		"\"status\":\"unhealthy\",\"reason\":\"stalled\"}");
	line(r, "{\"type\":\"health\",\"host\":\"h1\",\"status\":\"unhealthy\"}");
	summary(r, "2026-11-28T06:00:00Z", "h1", 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->sessions[0].n_unhealthy, 2);
	assert_true(has_gap(r, "h1: the BPF programs were not working from 2026-11-28T05:10:00Z to "
			       "2026-11-28T05:20:00Z (programs detached)"));
	/* Never recovered: until the session's end. */
	assert_true(has_gap(r, "from 2026-11-28T05:40:00Z to the session's last record, at "
			       "2026-11-28T06:00:00Z (stalled)"));
	assert_true(has_gap(r, "a health record without status and time"));
	tg_rpt_free(r);
}

/* Every counter of what a session could not see, from its summary, is a gap. */
static void test_summary_blind_spots(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "s.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	line(r, "{\"type\":\"summary\",\"time\":\"2026-11-28T06:00:00Z\",\"host\":\"h1\","
		"\"events\":{\"lost\":0,\"unresolved\":3,\"malformed\":1},"
		"\"store\":{\"commit_failures\":2},\"output\":{\"records_failed\":4},"
		"\"policy\":\"p.yaml\",\"exceptions\":[]}");
	session(r, "2026-11-28T07:00:00Z", "h2");
	summary(r, "2026-11-28T08:00:00Z", "h2", 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_true(has_gap(r, "h1: 3 records of the session started 2026-11-28T05:00:00Z named a "
			       "directory that could not be resolved"));
	assert_true(has_gap(r, "h1: 1 record of the session started 2026-11-28T05:00:00Z could not "
			       "be decoded"));
	assert_true(has_gap(r, "h1: 2 commits to the store"));
	assert_true(has_gap(r,
			    "h1: 4 records of the session started 2026-11-28T05:00:00Z could not "
			    "be written to its output"));
	/* A summary that counts none says nothing. */
	for (size_t i = 0; i < r->n_gaps; i++)
		assert_null(strstr(r->gaps[i], "h2:"));
	tg_rpt_free(r);
}

/* A session with an unhealthy window is still named by its own start in the counts that
 * follow (they named it by the window's start). */
static void test_blind_spots_after_unhealthy(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "u.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	line(r, "{\"type\":\"health\",\"time\":\"2026-11-28T05:10:00Z\",\"host\":\"h1\","
		"\"status\":\"unhealthy\",\"reason\":\"programs detached\"}");
	line(r, "{\"type\":\"summary\",\"time\":\"2026-11-28T06:00:00Z\",\"host\":\"h1\","
		"\"events\":{\"lost\":0,\"malformed\":1},\"policy\":\"p.yaml\",\"exceptions\":[]}");
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_true(has_gap(r, "from 2026-11-28T05:10:00Z to the session's last record"));
	assert_true(has_gap(r, "h1: 1 record of the session started 2026-11-28T05:00:00Z could not "
			       "be decoded"));
	tg_rpt_free(r);
}

static void test_unclean(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);
	long s;

	(void)state;
	assert_int_equal(tg_rpt_input(r, "killed.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	finding(r, "2026-11-28T05:10:00Z", "h1", "loose-mode", "medium", "/bin/sh", "/tmp/x", 1, 1);
	line(r, "{\"type\":\"finding\",\"time\":\"2026-11-28T05:1"); /* torn by kill -9 */
	/* The next input starts afresh: the open session ended with its file. */
	assert_int_equal(tg_rpt_input(r, "store.db", true), 0);
	s = tg_rpt_db_session(r, 1,
			      "{\"type\":\"session\",\"time\":\"2026-11-28T04:00:00Z\","
			      "\"host\":\"h2\",\"enforcement\":\"lsm\"}",
			      NULL, false, T("2026-11-28T04:00:00Z"), TG_RPT_NOTIME,
			      T("2026-11-28T04:30:00Z"));
	assert_true(s >= 0);
	tg_rpt_db_record(
		r, 7, s,
		"{\"type\":\"finding\",\"time\":\"2026-11-28T04:20:00Z\",\"host\":\"h2\","
		"\"rule\":\"loose-mode\",\"severity\":\"medium\",\"proc\":{\"exe\":\"/x\"}}");
	tg_rpt_db_record(r, 8, s, "not json");
	assert_int_equal(tg_rpt_finish(r), 0);

	assert_int_equal(r->n_sessions, 2);
	assert_int_equal(r->n_unclean, 2);
	assert_string_equal(r->sessions[0].host, "h1");
	assert_false(r->sessions[0].clean);
	assert_true(r->sessions[0].end_ns == T("2026-11-28T05:10:00Z"));
	/* The store's last commit is later than its last finding: known up to then. */
	assert_true(r->sessions[1].end_ns == T("2026-11-28T04:30:00Z"));
	assert_true(has_gap(r, "h1: the session started 2026-11-28T05:00:00Z has no clean stop"));
	assert_true(has_gap(r, "nothing is known after its last record, at 2026-11-28T05:10:00Z"));
	assert_true(has_gap(r, "h2: the session started 2026-11-28T04:00:00Z has no clean stop"));
	assert_int_equal(r->inputs[0].unreadable, 1);
	assert_int_equal(r->inputs[0].first_unreadable, 3);
	assert_true(has_gap(r, "killed.json: 1 line could not be read"));
	assert_int_equal(r->inputs[1].unreadable, 1);
	assert_int_equal(r->inputs[1].first_unreadable, 8);
	assert_true(has_gap(r, "store.db: 1 row could not be read"));
	assert_int_equal(r->total, 2);
	tg_rpt_free(r);
}

static void test_unreadable(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "x.json", false), 0);
	line(r, "");
	line(r, "   \t"); /* blank: nothing there, nothing counted */
	line(r, "[1,2]"); /* line 3 */
	line(r, "\"just a string\"");
	line(r, "{\"type\":\"finding\"} trailing");
	tg_rpt_line(r, "{\"a\":1}\0{\"b\":2}", 15); /* a NUL inside */
	line(r, "{\"type\":\"heartbeat\"}");
	line(r, "{\"no\":\"type\"}");
	line(r,
	     "{\"type\":\"finding\",\"time\":\"yesterday\",\"rule\":\"x\",\"severity\":\"low\"}");
	finding(r, "2026-11-28T06:00:00Z", "h", "future-rule", "low", "/bin/sh", "/tmp/x", 1, 1);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->inputs[0].unreadable, 4);
	assert_int_equal(r->inputs[0].first_unreadable, 3);
	assert_int_equal(r->inputs[0].invalid, 3);
	assert_int_equal(r->inputs[0].first_invalid, 7);
	assert_true(has_gap(r, "x.json: 4 lines could not be read: not JSON objects (the first: "
			       "line 3)"));
	assert_true(has_gap(r, "x.json: 3 records were not understood (the first, line 7: a "
			       "record of a type this version does not know)"));
	/* A rule this build does not know still counts, as "other" in the mixes. */
	assert_int_equal(r->total, 1);
	assert_int_equal(row(&r->by_rule, "future-rule", NULL)->rule[TG_RULE_MAX], 1);
	tg_rpt_free(r);
}

static void test_lossless(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, true);
	char a[] = "/tmp/a\\xffb\\\\c", b[] = "/tmp/\\x00", c[] = "/tmp/\\q", d[] = "\\x4",
	     e[] = "";

	(void)state;
	assert_true(tg_rpt_unescape_lossless(a));
	assert_string_equal(a, "/tmp/a\xff"
			       "b\\c");
	assert_false(tg_rpt_unescape_lossless(b)); /* would hold a NUL: kept as text */
	assert_string_equal(b, "/tmp/\\x00");
	assert_false(tg_rpt_unescape_lossless(c));
	assert_false(tg_rpt_unescape_lossless(d));
	assert_true(tg_rpt_unescape_lossless(e));

	/* Only fields named in escaped_fields are decoded. */
	assert_int_equal(tg_rpt_input(r, "x.json", false), 0);
	line(r,
	     "{\"type\":\"finding\",\"time\":\"2026-11-28T06:00:00Z\",\"host\":\"h\","
	     "\"rule\":\"loose-mode\",\"severity\":\"low\",\"path\":\"/tmp/\\\\xfe\","
	     "\"proc\":{\"exe\":\"/x\\\\xfe\",\"comm\":\"\\\\xfe\"},\"pattern\":\"/tmp/\\\\xfe\","
	     "\"escaped_fields\":[\"path\",\"exe\"]}");
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_string_equal(r->findings[0].path, "/tmp/\xfe");
	assert_string_equal(r->findings[0].exe, "/x\xfe");
	assert_string_equal(r->findings[0].comm, "\\xfe");
	assert_string_equal(r->findings[0].pattern, "/tmp/\\xfe");
	tg_rpt_free(r);
}

static void test_exceptions_posture(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	session(r, "2026-11-28T05:00:00Z", "h1");
	line(r, "{\"type\":\"summary\",\"time\":\"2026-11-28T06:00:00Z\",\"host\":\"h1\","
		"\"events\":{\"lost\":0},\"policy\":\"p.yaml\",\"exceptions\":[{\"line\":3,"
		"\"rule\":\"*\",\"reason\":\"lock files\",\"applied_in\":\"kernel\","
		"\"suppressed_kernel\":5,\"suppressed_user\":1}],\"suppressed_by_earlier_"
		"policies\":2}");
	session(r, "2026-11-28T07:00:00Z", "h1"); /* still running: no counts */
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->n_exceptions, 1);
	assert_string_equal(r->exceptions[0].reason, "lock files");
	assert_string_equal(r->exceptions[0].policy, "p.yaml");
	assert_int_equal(r->exceptions[0].line, 3);
	assert_int_equal(r->exceptions[0].sessions, 2);
	assert_int_equal(r->exceptions[0].sessions_uncounted, 1);
	assert_int_equal(r->exceptions[0].hidden_kernel, 5);
	assert_int_equal(r->exceptions[0].hidden_user, 1);
	assert_int_equal(r->hidden_by_replaced, 2);
	/* Posture and hooks of the host, from its latest session record. */
	assert_int_equal(r->n_hosts, 1);
	assert_ptr_equal(r->hosts[0].latest, &r->sessions[1]);
	assert_int_equal(r->hosts[0].n_hooks, 1);
	assert_string_equal(r->hosts[0].hooks[0], "tracepoint/syscalls/sys_exit_openat");
	assert_int_equal(r->hosts[0].latest->posture.sysctl[0], 0);
	assert_int_equal(r->hosts[0].n_remarks, 3);
	assert_true(!strncmp(r->hosts[0].remarks[0], "fs.protected_symlinks=0: ", 25));
	assert_true(!strncmp(r->hosts[0].remarks[1], "/tmp is mounted without noexec ", 31));
	assert_true(!strncmp(r->hosts[0].remarks[2], "enforcement off", 15));
	tg_rpt_free(r);
}

/* A session record and its summary listing the exceptions xs (a JSON array's members). */
static void session_with(struct tg_rpt *r, const char *start, const char *end, const char *xs,
			 const char *counts)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"session\",\"time\":\"%s\",\"host\":\"h1\",\"version\":\"0.1.0\","
		 "\"policy\":\"p.yaml\",\"hooks\":[],\"enforcement\":\"off\",\"exceptions\":[%s]}",
		 start, xs);
	line(r, buf);
	if (!end)
		return;
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"summary\",\"time\":\"%s\",\"host\":\"h1\",\"events\":{\"lost\":0},"
		 "\"policy\":\"p.yaml\",\"exceptions\":[%s]}",
		 end, counts);
	line(r, buf);
}

static const struct tg_rpt_exception *exc(const struct tg_rpt *r, long line_no)
{
	for (size_t i = 0; i < r->n_exceptions; i++)
		if (r->exceptions[i].line == line_no)
			return &r->exceptions[i];
	fail_msg("no exception of line %ld", line_no);
	return NULL;
}

/* The exceptions of the expiry tests, as a session record (expired as of its start, Nov 1). */
#define X_NEVER                                                                                    \
	"{\"line\":1,\"rule\":\"*\",\"reason\":\"r1\",\"applied_in\":\"kernel\",\"expired\":"      \
	"false}"
#define X_BEFORE                                                                                   \
	"{\"line\":2,\"rule\":\"*\",\"reason\":\"r2\",\"applied_in\":\"user\",\"owner\":\"ops "    \
	"<ops@example.com>\",\"expires\":\"2026-10-01T00:00:00Z\",\"expired\":true}"
#define X_DURING                                                                                   \
	"{\"line\":3,\"rule\":\"nonexclusive-create\",\"reason\":\"r3\",\"applied_in\":\"user\","  \
	"\"owner\":\"storage\",\"expires\":\"2026-11-10T00:00:00Z\",\"expired\":false}"
#define X_SOON                                                                                     \
	"{\"line\":4,\"rule\":\"*\",\"reason\":\"r4\",\"applied_in\":\"user\",\"expires\":"        \
	"\"2026-12-20T00:00:00Z\",\"expired\":false}"
#define X_LATER                                                                                    \
	"{\"line\":5,\"rule\":\"*\",\"reason\":\"r5\",\"applied_in\":\"user\",\"owner\":\"web\","  \
	"\"expires\":\"2027-06-30T16:00:00Z\",\"expired\":false}"
#define X_ALL X_NEVER "," X_BEFORE "," X_DURING "," X_SOON "," X_LATER

static struct tg_rpt *expiry_model(const char *since, const char *until, const char *start)
{
	struct tg_rpt *r = new_rpt(since, until, false);

	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	/* A session still running (no summary): the record's own flags are as of Nov 1 (what
	 * they say of line 3 is not what the report says). */
	session_with(r, start, NULL, X_ALL, NULL);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->n_exceptions, 5);
	return r;
}

static void test_exception_expiry(void **state)
{
	/* The period: Nov 1 (the first session) to Nov 28 12:00 (now). */
	struct tg_rpt *r = expiry_model(NULL, NULL, "2026-11-01T00:00:00Z");
	const struct tg_rpt_exception *e;

	(void)state;
	e = exc(r, 1);
	assert_null(e->owner);
	assert_true(e->expires_ns == TG_RPT_NOTIME);
	assert_int_equal(e->expiry, TG_RPT_EXP_NEVER);
	assert_false(e->expired);
	e = exc(r, 2);
	assert_string_equal(e->owner, "ops <ops@example.com>");
	assert_true(e->expires_ns == T("2026-10-01T00:00:00Z"));
	assert_int_equal(e->expiry, TG_RPT_EXP_BEFORE);
	assert_true(e->expired);
	e = exc(r, 3); /* the record said not yet (Nov 1); by the period's end it had */
	assert_int_equal(e->expiry, TG_RPT_EXP_IN_PERIOD);
	assert_true(e->expired);
	e = exc(r, 4); /* 22 days after the end */
	assert_null(e->owner);
	assert_int_equal(e->expiry, TG_RPT_EXP_SOON);
	assert_false(e->expired);
	assert_int_equal(exc(r, 5)->expiry, TG_RPT_EXP_LATER);
	tg_rpt_free(r);

	/* --until moves the end: before Nov 10, line 3 still held; line 4 is then far off. */
	r = expiry_model(NULL, "2026-11-05T00:00:00Z", "2026-11-01T00:00:00Z");
	assert_int_equal(exc(r, 3)->expiry, TG_RPT_EXP_SOON);
	assert_false(exc(r, 3)->expired);
	assert_int_equal(exc(r, 4)->expiry, TG_RPT_EXP_LATER);
	tg_rpt_free(r);
	/* --since after Nov 10 (a session in it): line 3 lapsed before the period; line 4,
	 * exactly 30 days after the end, is "soon". */
	r = expiry_model("2026-11-15T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-16T00:00:00Z");
	assert_int_equal(exc(r, 3)->expiry, TG_RPT_EXP_BEFORE);
	assert_int_equal(exc(r, 4)->expiry, TG_RPT_EXP_SOON);
	tg_rpt_free(r);
	/* An expiry exactly at the end: no longer applied then (tg_exception_expired's rule). */
	r = expiry_model(NULL, "2026-11-10T00:00:00Z", "2026-11-01T00:00:00Z");
	assert_int_equal(exc(r, 3)->expiry, TG_RPT_EXP_IN_PERIOD);
	assert_true(exc(r, 3)->expired);
	tg_rpt_free(r);
}

static void test_exception_owner_identity(void **state)
{
	struct tg_rpt *r = new_rpt(NULL, NULL, false);

	(void)state;
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	/* The same line twice: the summary's counts join the record's row. */
	session_with(r, "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", X_LATER,
		     "{\"line\":5,\"rule\":\"*\",\"reason\":\"r5\",\"applied_in\":\"user\","
		     "\"owner\":\"web\",\"expires\":\"2027-06-30T16:00:00Z\",\"expired\":false,"
		     "\"suppressed_kernel\":0,\"suppressed_user\":4}");
	/* Renewed with another owner: a row of its own, each with its own owner. */
	session_with(r, "2026-11-22T00:00:00Z", NULL,
		     "{\"line\":5,\"rule\":\"*\",\"reason\":\"r5\",\"applied_in\":\"user\","
		     "\"owner\":\"web-2\",\"expires\":\"2027-06-30T16:00:00Z\"}",
		     NULL);
	/* A record that says it expired without saying when. */
	session_with(r, "2026-11-23T00:00:00Z", NULL,
		     "{\"line\":9,\"rule\":\"*\",\"reason\":\"r9\",\"applied_in\":\"user\","
		     "\"expired\":true}",
		     NULL);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->n_exceptions, 3);
	assert_string_equal(r->exceptions[0].owner, "web");
	assert_int_equal(r->exceptions[0].sessions, 1);
	assert_int_equal(r->exceptions[0].hidden_user, 4);
	assert_string_equal(r->exceptions[1].owner, "web-2");
	assert_int_equal(r->exceptions[2].expiry, TG_RPT_EXP_UNKNOWN);
	assert_true(r->exceptions[2].expired);
	tg_rpt_free(r);
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

static void test_exception_expiry_json(void **state)
{
	struct tg_rpt *r = expiry_model(NULL, NULL, "2026-11-01T00:00:00Z");
	char *j = render(tg_rpt_json_write, r);
	json_object *o = json_tokener_parse(j), *xs, *x, *v;
	static const struct {
		long line;
		const char *owner, *expires, *expiry;
		bool expired;
	} want[] = {
		{1, NULL, NULL, "never", false},
		{2, "ops <ops@example.com>", "2026-10-01T00:00:00", "before-period", true},
		{3, "storage", "2026-11-10T00:00:00", "during-period", true},
		{4, NULL, "2026-12-20T00:00:00", "within-30-days", false},
		{5, "web", "2027-06-30T16:00:00", "later", false},
	};

	(void)state;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "exceptions", &xs));
	assert_int_equal(json_object_array_length(xs), 5);
	for (size_t i = 0; i < 5; i++) {
		x = json_object_array_get_idx(xs, i);
		assert_int_equal(json_object_get_int(json_object_object_get(x, "line")),
				 want[i].line);
		/* The fields there were before, unchanged. */
		assert_non_null(json_object_object_get(x, "reason"));
		assert_non_null(json_object_object_get(x, "hidden_user"));
		/* owner and expires always present: null where the policy gives none. */
		assert_true(json_object_object_get_ex(x, "owner", &v));
		if (want[i].owner)
			assert_string_equal(json_object_get_string(v), want[i].owner);
		else
			assert_null(v);
		assert_true(json_object_object_get_ex(x, "expires", &v));
		if (want[i].expires)
			assert_true(!strncmp(json_object_get_string(v), want[i].expires,
					     strlen(want[i].expires)));
		else
			assert_null(v);
		assert_int_equal(json_object_get_boolean(json_object_object_get(x, "expired")),
				 want[i].expired);
		assert_string_equal(json_object_get_string(json_object_object_get(x, "expiry")),
				    want[i].expiry);
	}
	json_object_put(o);
	free(j);
	tg_rpt_free(r);
}

static void test_exception_expiry_md(void **state)
{
	struct tg_rpt *r = expiry_model(NULL, NULL, "2026-11-01T00:00:00Z");
	char *md = render(tg_rpt_md, r);

	(void)state;
	assert_non_null(strstr(md, "| Owner | Expires |"));
	assert_non_null(strstr(md, "| r1 | no owner | never expires |"));
	assert_non_null(strstr(md, "| r2 | ops &lt;ops\\@example.com&gt; | 2026-10-01T00:00:00Z: "
				   "expired before the period, no longer applied |"));
	assert_non_null(strstr(md, "| r3 | storage | 2026-11-10T00:00:00Z: expired during the "
				   "period, no longer applied after then |"));
	assert_non_null(strstr(md, "| r4 | no owner | 2026-12-20T00:00:00Z: expires within 30 "
				   "days of the report's end |"));
	assert_non_null(strstr(md, "| r5 | web | 2027-06-30T16:00:00Z |"));
	assert_non_null(strstr(md, "Of the 5 exceptions listed: 1 expired before the period and "
				   "no longer applied; 1 expired during the period; 1 expires "
				   "within 30 days of the report's end (2026-11-28T12:00:00Z); 2 "
				   "have no owner; 1 never expires."));
	free(md);
	tg_rpt_free(r);
}

static bool has(char **v, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i], needle))
			return true;
	return false;
}

static void free_v(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void test_posture_remarks(void **state)
{
	/* clang-format off */
	/* exists: 1, -1 (not recorded), and 0: absent on that host, nothing to say about it. */
	struct tg_rpt_mount m[] = {
		{.path = "/tmp", .fstype = "tmpfs", .options = "rw,nosuid,nodev,noexec",
		 .mode = "1777", .separate = 1, .exists = 1},
		{.path = "/var/tmp", .fstype = "ext4", .options = "rw", .mode = "1777",
		 .separate = 0, .exists = 1},
		{.path = "/dev/shm", .fstype = "tmpfs", .options = "rw,nosuidx", .mode = "0777",
		 .separate = 1, .exists = -1},
		{.path = "/srv/scratch", .fstype = "", .options = "", .mode = "", .separate = 0,
		 .exists = 0},
	};
	/* clang-format on */
	struct tg_rpt_posture good = {
		.known = true, .sysctl = {1, 2, 2, 1}, .mounts = m, .n_mounts = 1};
	struct tg_rpt_posture weak = {
		.known = true, .sysctl = {0, 0, 1, 0}, .mounts = m, .n_mounts = 4};
	struct tg_rpt_posture unknown = {.known = false};
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(tg_rpt_posture_remarks(&good, "lsm", &v, &n), 0);
	assert_int_equal(n, 0);
	free_v(v, n);
	v = NULL;
	n = 0;
	assert_int_equal(tg_rpt_posture_remarks(&weak, "kill-fallback", &v, &n), 0);
	assert_true(has(v, n, "fs.protected_symlinks=0"));
	assert_true(has(v, n, "fs.protected_regular=0"));
	assert_false(has(v, n, "fs.protected_fifos"));
	assert_true(has(v, n, "fs.protected_hardlinks=0"));
	assert_true(has(v, n, "/var/tmp is not a separate mount"));
	/* protected_hardlinks=0 here: hard links from the shared file system are possible. */
	assert_true(has(v, n, "hard-link others' files from it into /var/tmp"));
	assert_true(has(v, n, "/dev/shm is world-writable without the sticky bit (mode 0777)"));
	/* "nosuidx" is not nosuid: options are matched whole. */
	assert_true(has(v, n, "/dev/shm is mounted without nosuid, nodev, noexec"));
	for (size_t i = 0; i < n; i++)
		assert_true(strncmp(v[i], "/tmp ", 5)); /* /tmp is fine */
	assert_true(has(v, n, "SIGKILL after the fact"));
	assert_false(has(v, n, "/srv/scratch"));
	assert_int_equal(n, 7);
	free_v(v, n);
	v = NULL;
	n = 0;
	assert_int_equal(tg_rpt_posture_remarks(&unknown, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has(v, n, "posture not recorded"));
	free_v(v, n);
}

static void test_trend(void **state)
{
	struct tg_rpt *r;

	(void)state;
	/* 30 days: days; halves split at the middle of the period asked for. */
	r = new_rpt("2026-10-29T12:00:00Z", "2026-11-28T12:00:00Z", false);
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	finding(r, "2026-11-01T00:00:00Z", "h", "loose-mode", "low", "/x", "/tmp/1", 1, 1);
	finding(r, "2026-11-20T00:00:00Z", "h", "loose-mode", "low", "/x", "/tmp/2", 2, 1);
	finding(r, "2026-11-21T00:00:00Z", "h", "loose-mode", "high", "/x", "/tmp/3", 3, 1);
	finding(r, "2026-11-28T11:59:59Z", "h", "loose-mode", "high", "/x", "/tmp/4", 4, 1);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->trend.unit, TG_RPT_DAY);
	assert_true(r->trend.from_ns == T("2026-10-29T00:00:00Z"));
	assert_int_equal(r->trend.n, 31);
	assert_int_equal(r->trend.counts[3][TG_SEV_LOW], 1); /* 11-01 */
	assert_int_equal(r->trend.counts[30][TG_SEV_HIGH], 1);
	assert_int_equal(r->trend.first_half, 1);
	assert_int_equal(r->trend.second_half, 3);
	tg_rpt_free(r);

	/* A year: weeks, starting on a Monday (2025-11-24 was one). */
	r = new_rpt("2025-11-28T00:00:00Z", "2026-11-28T00:00:00Z", false);
	assert_int_equal(tg_rpt_input(r, "a.json", false), 0);
	finding(r, "2025-11-30T23:59:59Z", "h", "loose-mode", "low", "/x", "/tmp/1", 1, 1);
	finding(r, "2025-12-01T00:00:00Z", "h", "loose-mode", "low", "/x", "/tmp/2", 2, 1);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->trend.unit, TG_RPT_WEEK);
	assert_true(r->trend.from_ns == T("2025-11-24T00:00:00Z"));
	assert_int_equal(r->trend.counts[0][TG_SEV_LOW], 1);
	assert_int_equal(r->trend.counts[1][TG_SEV_LOW], 1);
	tg_rpt_free(r);

	/* No bounds and no data: no trend, and no crash. */
	r = new_rpt(NULL, NULL, false);
	assert_int_equal(tg_rpt_input(r, "empty.json", false), 0);
	assert_int_equal(tg_rpt_finish(r), 0);
	assert_int_equal(r->trend.n, 0);
	assert_int_equal(r->n_hosts, 0);
	assert_true(has_gap(r, "this report saw nothing"));
	tg_rpt_free(r);
}

static void test_text(void **state)
{
	char buf[32];

	(void)state;
	tg_rpt_change(4, 6, buf, sizeof(buf));
	assert_string_equal(buf, "+50%");
	tg_rpt_change(10, 8, buf, sizeof(buf));
	assert_string_equal(buf, "-20%");
	tg_rpt_change(0, 3, buf, sizeof(buf));
	assert_string_equal(buf, "new");
	tg_rpt_change(0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	tg_rpt_duration(3 * 86400 * NSEC + 4 * 3600 * NSEC, buf, sizeof(buf));
	assert_string_equal(buf, "3d 4h");
	tg_rpt_duration(40 * NSEC, buf, sizeof(buf));
	assert_string_equal(buf, "40s");
	tg_rpt_duration(NSEC / 4, buf, sizeof(buf));
	assert_string_equal(buf, "0.2s");
	tg_rpt_time(T("2026-11-28T06:30:00.9Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-28T06:30:00Z");
	tg_rpt_time(-1, buf, sizeof(buf)); /* before the epoch: floor, not truncation */
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	tg_rpt_time(TG_RPT_NOTIME, buf, sizeof(buf));
	assert_string_equal(buf, "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_merge_hosts),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_summary_blind_spots),
		cmocka_unit_test(test_blind_spots_after_unhealthy),
		cmocka_unit_test(test_unclean),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_lossless),
		cmocka_unit_test(test_exceptions_posture),
		cmocka_unit_test(test_exception_expiry),
		cmocka_unit_test(test_exception_owner_identity),
		cmocka_unit_test(test_exception_expiry_json),
		cmocka_unit_test(test_exception_expiry_md),
		cmocka_unit_test(test_posture_remarks),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
