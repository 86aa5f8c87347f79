// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Prometheus exposition of a snapshot, and --metrics-addr parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "metrics_text.h"

static char *render(const struct tg_metrics_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(tg_metrics_render(s, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len); /* no NUL inside */
	return buf;
}

static void fill(struct tg_metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->user.version = "0.1.0";
	s->user.enforcement = "off";
	s->user.scope = "host";
	s->user.start_time_ns = 1764311400123456789LL;
	s->user.ringbuf_bytes = 8u << 20;
	s->user.findings[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH] = 7;
	s->user.findings[TG_RULE_LOOSE_MODE][TG_SEV_CRITICAL] = 2;
	s->user.findings_excepted = 3;
	s->user.repeats_not_printed = 5;
	s->user.over_budget = 6;
	s->user.received = 11;
	s->user.unresolved = 1;
	s->user.malformed = 0;
	s->user.reloads = 4;
	s->user.reloads_refused = 2;
	s->have_kernel = true;
	s->kstat[TG_STAT_CREATE_SEEN] = 100;
	s->kstat[TG_STAT_PROBE_ENOENT] = 40;
	s->kstat[TG_STAT_MKDIR_SEEN] = 6;
	s->kstat[TG_STAT_SENT] = 12;
	s->kstat[TG_STAT_LOST] = 9;
	s->kstat[TG_STAT_STACK_LOST] = 17;
	s->kstat[TG_STAT_PY_LOST] = 2;
	s->kstat[TG_STAT_STACK_REF] = 31;
	s->user.captures_unmatched = 4;
	s->kstat[TG_STAT_TRACK_FULL] = 16;
	s->kstat[TG_STAT_EXCEPTED] = 8;
	s->kstat[TG_STAT_DENIED] = 13;
	s->kstat[TG_STAT_KILLED] = 14;
	s->kstat[TG_STAT_WOULD_DENY] = 15;
	s->run_time_stats = true;
	s->n_progs = 3;
	s->progs[0] =
		(struct tg_metrics_prog){"tracepoint__syscalls__sys_exit_openat",
					 "tracepoint/syscalls/sys_exit_openat", 1500000123, 42};
	s->progs[1] = (struct tg_metrics_prog){"idle", "tp_btf/x", 0, 0};
	s->progs[2] = (struct tg_metrics_prog){"big", "h", UINT64_MAX, UINT64_MAX};
}

static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("missing line: %s\n--- in ---\n%s", line, text);
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/*
 * The format's grammar, line by line: each family is "# HELP name text", "# TYPE name type",
 * then its samples, each of that name; no family twice; counters end in _total and nothing
 * else does; names are valid and carry base units only; every value parses to its end.
 */
static int check_exposition(const char *text)
{
	char fam[128] = "", type[16] = "", seen[64][128];
	int n_seen = 0, samples = 0;
	const char *p = text;

	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol - p, nl;
		char line[1024], name[128];

		assert_non_null(eol);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = 0;
		p = eol + 1;
		if (has_prefix(line, "# HELP ")) {
			nl = strcspn(line + 7, " ");
			assert_true(nl > 0 && nl < sizeof(fam));
			memcpy(fam, line + 7, nl);
			fam[nl] = 0;
			assert_true(strlen(line + 7 + nl) > 1); /* a help text */
			for (int i = 0; i < n_seen; i++)
				if (!strcmp(seen[i], fam))
					fail_msg("family %s written twice", fam);
			assert_true(n_seen < 64);
			strcpy(seen[n_seen++], fam);
			type[0] = 0;
			continue;
		}
		if (has_prefix(line, "# TYPE ")) {
			nl = strlen(fam);
			assert_true(fam[0] && !strncmp(line + 7, fam, nl) && line[7 + nl] == ' ');
			snprintf(type, sizeof(type), "%s", line + 8 + nl);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
			if (!strcmp(type, "counter") != ends_with(fam, nl, "_total"))
				fail_msg("%s is a %s: only counters end in _total", fam, type);
			assert_true(has_prefix(fam, "tmpguard_"));
			assert_null(strstr(fam, "_ns"));
			assert_null(strstr(fam, "nanosec"));
			assert_null(strstr(fam, "millisec"));
			assert_null(strstr(fam, "microsec"));
			continue;
		}
		assert_true(line[0] != '#');
		/* A sample of the current family, after its HELP and TYPE. */
		assert_true(type[0]);
		nl = strcspn(line, "{ ");
		assert_true(nl < sizeof(name));
		memcpy(name, line, nl);
		name[nl] = 0;
		assert_string_equal(name, fam);
		assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz_0123456789"), nl);
		{
			const char *v = strrchr(line, ' ');
			char *end;

			assert_non_null(v);
			strtod(v + 1, &end);
			assert_true(end > v + 1 && *end == 0);
		}
		samples++;
	}
	return samples;
}

static void test_structure(void **state)
{
	struct tg_metrics_snapshot s;
	char *t;

	(void)state;
	fill(&s);
	t = render(&s);
	/* 7 rules x 4 severities, zeros included, plus the rest. */
	assert_true(check_exposition(t) > TG_RULE_MAX * TG_METRICS_NR_SEV);
	free(t);
}

static void test_values(void **state)
{
	struct tg_metrics_snapshot s;
	char *t;
	int findings = 0;

	(void)state;
	fill(&s);
	t = render(&s);
	assert_line(t, "tmpguard_info{version=\"0.1.0\",enforcement=\"off\",scope=\"host\"} 1");
	assert_line(t, "tmpguard_start_time_seconds 1764311400.123456789");
	assert_line(t, "tmpguard_ringbuf_size_bytes 8388608");
	assert_line(t, "tmpguard_findings_total{rule=\"nonexclusive-create\",severity=\"high\"} 7");
	assert_line(t, "tmpguard_findings_total{rule=\"loose-mode\",severity=\"critical\"} 2");
	assert_line(t, "tmpguard_findings_total{rule=\"inheritable-fd\",severity=\"low\"} 0");
	for (const char *p = t; (p = strstr(p, "\ntmpguard_findings_total{")); p++)
		findings++;
	assert_int_equal(findings, TG_RULE_MAX * TG_METRICS_NR_SEV);
	assert_line(t, "tmpguard_findings_excepted_total 3");
	assert_line(t, "tmpguard_findings_repeats_not_printed_total 5");
	assert_line(t, "tmpguard_findings_over_budget_total 6");
	assert_line(t, "tmpguard_records_received_total 11");
	assert_line(t, "tmpguard_records_unresolved_total 1");
	assert_line(t, "tmpguard_records_malformed_total 0");
	assert_line(t, "tmpguard_policy_reloads_total 4");
	assert_line(t, "tmpguard_policy_reloads_refused_total 2");
	assert_line(t, "tmpguard_events_seen_total{kind=\"create\"} 100");
	assert_line(t, "tmpguard_events_seen_total{kind=\"enoent_probe\"} 40");
	assert_line(t, "tmpguard_events_seen_total{kind=\"loose_mkdir\"} 6");
	assert_line(t, "tmpguard_events_excepted_in_kernel_total 8");
	assert_line(t, "tmpguard_records_sent_total 12");
	assert_line(t, "tmpguard_records_lost_total 9");
	assert_line(t, "tmpguard_call_sites_lost_total{reason=\"not_sent\"} 19");
	assert_line(t, "tmpguard_call_sites_lost_total{reason=\"unmatched\"} 4");
	assert_line(t, "tmpguard_call_sites_reused_total 31");
	assert_line(t, "tmpguard_forks_untracked_total 16");
	assert_line(t, "tmpguard_enforcement_actions_total{action=\"denied\"} 13");
	assert_line(t, "tmpguard_enforcement_actions_total{action=\"killed\"} 14");
	assert_line(t, "tmpguard_enforcement_actions_total{action=\"would-deny\"} 15");
	assert_line(t, "tmpguard_bpf_run_time_stats_enabled 1");
	/* Run time in seconds, from nanoseconds, every digit kept. */
	assert_line(t, "tmpguard_bpf_program_run_seconds_total{program=\"tracepoint__syscalls__"
		       "sys_exit_openat\",hook=\"tracepoint/syscalls/sys_exit_openat\"} "
		       "1.500000123");
	assert_line(t, "tmpguard_bpf_program_run_seconds_total{program=\"idle\",hook=\"tp_btf/x\"} "
		       "0.000000000");
	assert_line(t, "tmpguard_bpf_program_run_seconds_total{program=\"big\",hook=\"h\"} "
		       "18446744073.709551615");
	assert_line(t, "tmpguard_bpf_program_runs_total{program=\"tracepoint__syscalls__"
		       "sys_exit_openat\",hook=\"tracepoint/syscalls/sys_exit_openat\"} 42");
	assert_line(t, "tmpguard_bpf_program_runs_total{program=\"big\",hook=\"h\"} "
		       "18446744073709551615");
	assert_null(strstr(t, "1500000123"));
	free(t);
}

static void test_label_escaping(void **state)
{
	struct tg_metrics_snapshot s;
	char *t;

	(void)state;
	fill(&s);
	s.n_progs = 3;
	s.progs[0] = (struct tg_metrics_prog){"a\\b\"c\nd", "tp/\"x\"", 1, 1};
	s.progs[1] = (struct tg_metrics_prog){"bad\xff\xc0utf8", "caf\xc3\xa9", 2, 2};
	s.progs[2] = (struct tg_metrics_prog){"", NULL, 3, 3};
	s.user.version = "1.0 \"rc\"\n";
	t = render(&s);
	check_exposition(t);
	assert_line(t, "tmpguard_bpf_program_runs_total{program=\"a\\\\b\\\"c\\nd\","
		       "hook=\"tp/\\\"x\\\"\"} 1");
	/* Prometheus refuses invalid UTF-8: the lossless \xNN form, its backslash escaped. */
	assert_line(t, "tmpguard_bpf_program_runs_total{program=\"bad\\\\xff\\\\xc0utf8\","
		       "hook=\"caf\xc3\xa9\"} 2");
	assert_line(t, "tmpguard_bpf_program_runs_total{program=\"\",hook=\"\"} 3");
	assert_line(t, "tmpguard_info{version=\"1.0 \\\"rc\\\"\\n\",enforcement=\"off\","
		       "scope=\"host\"} 1");
	free(t);
}

static void test_without_kernel(void **state)
{
	struct tg_metrics_snapshot s;
	char *t;

	(void)state;
	fill(&s);
	s.have_kernel = false;
	s.n_progs = 0;
	s.run_time_stats = false;
	t = render(&s);
	check_exposition(t);
	/* Unknown is absent, never a made-up 0. */
	assert_null(strstr(t, "# TYPE tmpguard_records_sent_total"));
	assert_null(strstr(t, "# TYPE tmpguard_records_lost_total"));
	assert_null(strstr(t, "# TYPE tmpguard_forks_untracked_total"));
	assert_null(strstr(t, "# TYPE tmpguard_events_seen_total"));
	assert_null(strstr(t, "# TYPE tmpguard_bpf_program_run"));
	assert_non_null(strstr(t, "# TYPE tmpguard_records_received_total counter\n"));
	assert_line(t, "tmpguard_bpf_run_time_stats_enabled 0");
	assert_line(t, "tmpguard_records_received_total 11");
	free(t);
}

static void test_forward(void **state)
{
	struct tg_metrics_snapshot s;
	char *t;

	(void)state;
	fill(&s);
	t = render(&s);
	/* off: no family of it */
	assert_null(strstr(t, "tmpguard_forward_"));
	free(t);
	s.user.forward_on = true;
	s.user.forward_up = false;
	s.user.forward_backlog = 1234;
	s.user.forward_lag_ns = 31500000000LL;
	s.user.forward_rows[1] = 5000; /* findings */
	s.user.forward_rows[0] = 12;   /* sessions */
	s.user.forward_duplicates = 7;
	s.user.forward_batches = 9;
	s.user.forward_errors = 6;
	s.user.forward_outages = 1;
	s.user.forward_refused_rows = 3;
	s.user.forward_gap_rows = 40;
	s.user.forward_gaps = 2;
	t = render(&s);
	check_exposition(t);
	assert_line(t, "tmpguard_forward_up 0");
	assert_line(t, "tmpguard_forward_backlog_rows 1234");
	assert_line(t, "tmpguard_forward_lag_seconds 31.500000000");
	assert_line(t, "tmpguard_forward_rows_total{stream=\"sessions\"} 12");
	assert_line(t, "tmpguard_forward_rows_total{stream=\"findings\"} 5000");
	assert_line(t, "tmpguard_forward_rows_total{stream=\"gaps\"} 0");
	assert_line(t, "tmpguard_forward_rows_duplicate_total 7");
	assert_line(t, "tmpguard_forward_batches_total 9");
	assert_line(t, "tmpguard_forward_errors_total 6");
	assert_line(t, "tmpguard_forward_outages_total 1");
	assert_line(t, "tmpguard_forward_refused_rows_total 3");
	assert_line(t, "tmpguard_forward_gap_rows_total 40");
	assert_line(t, "tmpguard_forward_gaps_total 2");
	assert_null(strstr(t, "tmpguard_http_output_"));
	free(t);
	s.user.http = (struct tg_metrics_http){.on = true,
					       .backlog = 3,
					       .lag_ns = 2000000000LL,
					       .errors = 4,
					       .outages = 1,
					       .refused = 2,
					       .skipped = 5};
	s.user.http.rows[1] = 100; /* findings */
	s.user.http.rows[2] = 1;   /* losses */
	t = render(&s);
	check_exposition(t);
	assert_line(t, "tmpguard_http_output_up 0");
	assert_line(t, "tmpguard_http_output_backlog_rows 3");
	assert_line(t, "tmpguard_http_output_lag_seconds 2.000000000");
	assert_line(t, "tmpguard_http_output_rows_total{stream=\"findings\"} 100");
	assert_line(t, "tmpguard_http_output_rows_total{stream=\"losses\"} 1");
	assert_line(t, "tmpguard_http_output_rows_total{stream=\"health\"} 0");
	assert_line(t, "tmpguard_http_output_errors_total 4");
	assert_line(t, "tmpguard_http_output_refused_total 2");
	assert_line(t, "tmpguard_http_output_outages_total 1");
	assert_line(t, "tmpguard_http_output_skipped_total 5");
	assert_line(t, "tmpguard_forward_up 0"); /* both, side by side */
	free(t);
}

static void test_parse_addr(void **state)
{
	static const struct {
		const char *in, *addr;
		int family, port;
	} good[] = {
		{"127.0.0.1:9464", "127.0.0.1", AF_INET, 9464},
		{"0.0.0.0:1", "0.0.0.0", AF_INET, 1},
		{"10.1.2.3:65535", "10.1.2.3", AF_INET, 65535},
		{"[::1]:9464", "::1", AF_INET6, 9464},
		{"[::]:80", "::", AF_INET6, 80},
		{"[2001:db8::7]:9464", "2001:db8::7", AF_INET6, 9464},
		{"[::ffff:127.0.0.1]:9464", "::ffff:127.0.0.1", AF_INET6, 9464},
	};
	static const char *const bad[] = {
		"",
		"9464",
		":9464",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:99999999999999999999",
		"127.0.0.1:+80",
		"127.0.0.1:-80",
		"127.0.0.1: 80",
		"127.0.0.1:80 ",
		"127.0.0.1:80x",
		"127.0.0.1:0x50",
		" 127.0.0.1:80",
		"localhost:9464",
		"1.2.3:80",
		"256.1.1.1:80",
		"01.2.3.4:80",
		"::1:9464",
		"[::1]9464",
		"[::1]:",
		"[::1",
		"::1]:80",
		"[]:80",
		"[127.0.0.1]:80",
		"[fe80::1%eth0]:9464",
		"[::1]:80:80",
		"[[::1]]:80",
	};
	struct tg_metrics_addr a;
	char err[256], text[INET6_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = 0;
		if (tg_metrics_parse_addr(good[i].in, &a, err, sizeof(err)))
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(a.ss.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

			assert_int_equal(a.len, sizeof(*sin));
			assert_int_equal(ntohs(sin->sin_port), good[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

			assert_int_equal(a.len, sizeof(*sin6));
			assert_int_equal(ntohs(sin6->sin6_port), good[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		}
		assert_string_equal(text, good[i].addr);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (tg_metrics_parse_addr(bad[i], &a, err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		/* The message quotes what was given. */
		assert_non_null(strstr(err, bad[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),      cmocka_unit_test(test_values),
		cmocka_unit_test(test_label_escaping), cmocka_unit_test(test_without_kernel),
		cmocka_unit_test(test_forward),	       cmocka_unit_test(test_parse_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
