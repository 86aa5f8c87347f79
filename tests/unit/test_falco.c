// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --format falco: findings (the typed struct tg_report live output renders) and the other
 * records (typed as the session makes them) converted to Falco's alert shape, checked against
 * what Falcosidekick requires (FalcoPayload.Check(): a known priority, a rule, a non-zero
 * time, non-empty output_fields); every string the event repeats is the finding's JSON form's.
 */
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
#include "falco.h"
#include "output.h"
#include "rule_registry.h"
#include "summary.h"
#include "util/timefmt.h"

static const char *const falco_keys[] = {"output", "priority", "rule", "time",
					 "source", "hostname", "tags", "output_fields"};
static const char *const priorities[] = {"Emergency", "Alert",	"Critical",	 "Error",
					 "Warning",   "Notice", "Informational", "Debug"};

struct fixture {
	struct tg_event e;
	struct tg_proc_info p;
	struct tg_report r;
};

static void make_report(struct fixture *f, enum tg_rule rule, enum tg_severity sev)
{
	memset(f, 0, sizeof(*f));
	f->e.kind = TG_KIND_OPEN;
	f->e.syscall = TG_SYS_OPENAT;
	f->e.flags = O_WRONLY | O_CREAT | O_TRUNC;
	f->e.mode = 0666;
	f->e.umask = 022;
	f->e.file_mode = 0100644;
	f->e.dir_mode = 041777;
	f->e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	f->e.ts_ns = 1500000000ULL;
	f->e.pid = 1234;
	f->e.tid = 1234;
	f->e.ppid = 1200;
	f->e.uid = 1000;
	f->e.dfd = -100;
	snprintf(f->e.path, sizeof(f->e.path), "/tmp/report.\n1234");
	snprintf(f->e.name, sizeof(f->e.name), "report.\n1234");
	snprintf(f->e.comm, sizeof(f->e.comm), "sh");
	snprintf(f->e.pcomm, sizeof(f->e.pcomm), "make");
	snprintf(f->p.exe, sizeof(f->p.exe), "/usr/bin/dash");
	snprintf(f->p.user, sizeof(f->p.user), "alice");
	f->p.cmdline_len = snprintf(f->p.cmdline, sizeof(f->p.cmdline), "sh -c echo x");
	f->r.e = &f->e;
	f->r.proc = &f->p;
	f->r.finding.rule = rule;
	f->r.finding.severity = sev;
	f->r.dir.shared = true;
	f->r.dir.is_holding_dir = true;
	f->r.lang = TG_LANG_SHELL;
	f->r.count = 3;
	f->r.host = "web-1";
	f->r.boot_to_real_ns = 1764311400LL * 1000000000LL; /* 2025-11-28T06:30:00Z */
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static const char *s(json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

/* What Falcosidekick's FalcoPayload holds and its Check() requires, and nothing else. */
static void assert_falco_shape(json_object *f)
{
	int64_t t;
	bool known = false;

	assert_non_null(f);
	assert_int_equal(json_object_object_length(f), 8);
	for (size_t i = 0; i < sizeof(falco_keys) / sizeof(falco_keys[0]); i++)
		get(f, falco_keys[i]);
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++)
		known |= !strcmp(s(f, "priority"), priorities[i]);
	assert_true(known);
	assert_true(s(f, "rule")[0]);
	assert_int_equal(tg_parse_rfc3339(s(f, "time"), &t), 0);
	assert_true(t > 0);
	assert_string_equal(s(f, "source"), "tmpguard");
	assert_true(json_object_is_type(get(f, "tags"), json_type_array));
	assert_true(json_object_is_type(get(f, "output_fields"), json_type_object));
	/* evt.time is Falco's: an integer, ns since the epoch, the same instant as time. */
	assert_true(json_object_is_type(get(get(f, "output_fields"), "evt.time"), json_type_int));
	assert_true(json_object_get_int64(get(get(f, "output_fields"), "evt.time")) == t);
	/* The output sentence starts like Falco's: "<time>: <Priority> ". */
	assert_int_equal(strncmp(s(f, "output"), s(f, "time"), strlen(s(f, "time"))), 0);
	assert_int_equal(strncmp(s(f, "output") + strlen(s(f, "time")), ": ", 2), 0);
	assert_int_equal(strncmp(s(f, "output") + strlen(s(f, "time")) + 2, s(f, "priority"),
				 strlen(s(f, "priority"))),
			 0);
}

static json_object *falco_of(struct fixture *fx)
{
	return tg_falco_finding(&fx->r);
}

static void test_priority_map(void **state)
{
	(void)state;
	assert_string_equal(tg_falco_priority("critical"), "Critical");
	assert_string_equal(tg_falco_priority("high"), "Error");
	assert_string_equal(tg_falco_priority("medium"), "Warning");
	assert_string_equal(tg_falco_priority("low"), "Notice");
	assert_null(tg_falco_priority("severe"));
	assert_null(tg_falco_priority(""));
	assert_null(tg_falco_priority(NULL));
}

static void test_finding(void **state)
{
	struct fixture fx;
	json_object *f, *of, *tags;
	const char *want_tags[] = {
		"CWE-59", "T1068", "filesystem", "host", "mitre_privilege_escalation", "tmpguard"};

	(void)state;
	make_report(&fx, TG_RULE_SYMLINK_FOLLOW, TG_SEV_CRITICAL);
	fx.r.action = TG_ACT_WOULD_DENY;
	f = falco_of(&fx);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Critical");
	assert_string_equal(s(f, "rule"), "Insecure temporary file: symlink-follow");
	assert_string_equal(s(f, "time"), "2025-11-28T06:30:01.500000000Z");
	assert_string_equal(s(f, "hostname"), "web-1");
	assert_non_null(strstr(s(f, "output"),
			       "2025-11-28T06:30:01.500000000Z: Critical "
			       "Insecure temporary file: symlink-follow by sh "
			       "(pid 1234, user alice) on \"/tmp/report.\\x0a1234\""));
	assert_non_null(strstr(s(f, "output"), "action=would-deny"));
	/* Tags: a sorted set, as Falco writes its std::set. */
	tags = get(f, "tags");
	assert_int_equal(json_object_array_length(tags), sizeof(want_tags) / sizeof(want_tags[0]));
	for (size_t i = 0; i < sizeof(want_tags) / sizeof(want_tags[0]); i++)
		assert_string_equal(json_object_get_string(json_object_array_get_idx(tags, i)),
				    want_tags[i]);

	of = get(f, "output_fields");
	assert_int_equal(json_object_get_int64(get(of, "evt.time")), 1764311401500000000LL);
	assert_string_equal(s(of, "evt.type"), "openat");
	assert_string_equal(s(of, "evt.arg.flags"), "O_WRONLY|O_CREAT|O_TRUNC");
	assert_string_equal(s(of, "evt.arg.mode"), "0666");
	assert_string_equal(s(of, "proc.name"), "sh");
	assert_int_equal(json_object_get_int64(get(of, "proc.pid")), 1234);
	assert_int_equal(json_object_get_int64(get(of, "proc.ppid")), 1200);
	assert_string_equal(s(of, "proc.pname"), "make");
	assert_string_equal(s(of, "proc.exepath"), "/usr/bin/dash");
	assert_string_equal(s(of, "proc.cmdline"), "sh -c echo x");
	assert_string_equal(s(of, "user.name"), "alice");
	assert_int_equal(json_object_get_int64(get(of, "user.uid")), 1000);
	assert_string_equal(s(of, "fd.name"), "/tmp/report.\n1234");
	assert_string_equal(s(of, "container.id"), "host");
	assert_string_equal(s(of, "tmpguard.rule"), "symlink-follow");
	assert_string_equal(s(of, "tmpguard.severity"), "critical");
	assert_string_equal(s(of, "tmpguard.action"), "would-deny");
	assert_string_equal(s(of, "tmpguard.cwe"), "CWE-59");
	assert_true(strlen(s(of, "tmpguard.advice")) > 10);
	assert_int_equal(json_object_get_int64(get(of, "tmpguard.count")), 3);
	/* One line whatever the path holds. */
	assert_null(strchr(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN), '\n'));
	json_object_put(f);
}

/* What the audited process chose cannot add fields to the sentence nor reach a terminal. */
static void test_output_sentence_is_not_the_process_s(void **state)
{
	struct fixture fx;
	json_object *f;
	const char *out;

	(void)state;
	make_report(&fx, TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH);
	fx.p.cmdline_len = snprintf(fx.p.cmdline, sizeof(fx.p.cmdline),
				    "x parent=sshd user_uid=0 \x1b]0;owned\x07 \xc2\x9b"
				    "2J \"q\" \\");
	snprintf(fx.e.comm, sizeof(fx.e.comm), "a) (b=c");
	f = falco_of(&fx);
	out = s(f, "output");
	assert_non_null(strstr(out, " command=\"x parent=sshd user_uid=0 \\x1b]0;owned\\x07 "));
	assert_non_null(strstr(out, " \\\"q\\\" \\\\\\\\\" parent=make ppid=1200 user_uid=1000 "));
	assert_non_null(strstr(out, " by \"a) (b=c\" (pid 1234, "));
	assert_non_null(strstr(out, "(process=\"a) (b=c\" proc_exepath=/usr/bin/dash "));
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		assert_false(*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
	/* the fields themselves keep the values as they were */
	assert_string_equal(s(get(f, "output_fields"), "proc.name"), "a) (b=c");
	json_object_put(f);
}

static void test_every_severity_and_container(void **state)
{
	static const struct {
		enum tg_rule rule;
		enum tg_severity sev;
		const char *prio, *cwe_tag, *mitre;
	} cases[] = {
		{TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, "Error", "CWE-377",
		 "mitre_privilege_escalation"},
		{TG_RULE_CHECK_THEN_CREATE, TG_SEV_HIGH, "Error", "CWE-367",
		 "mitre_privilege_escalation"},
		{TG_RULE_LOOSE_MODE, TG_SEV_MEDIUM, "Warning", "CWE-732", "mitre_collection"},
		{TG_RULE_FOREIGN_FILE_REUSE, TG_SEV_CRITICAL, "Critical", "CWE-377",
		 "mitre_privilege_escalation"},
		{TG_RULE_LOOSE_TEMPDIR, TG_SEV_MEDIUM, "Warning", "CWE-377", "mitre_collection"},
		{TG_RULE_INHERITABLE_FD, TG_SEV_LOW, "Notice", "CWE-403", "mitre_collection"},
	};
	struct fixture fx;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *f, *tags;
		bool cwe = false, mitre = false, container = false;

		make_report(&fx, cases[i].rule, cases[i].sev);
		snprintf(fx.p.container_id, sizeof(fx.p.container_id), "%064d", 7);
		f = falco_of(&fx);
		assert_falco_shape(f);
		assert_string_equal(s(f, "priority"), cases[i].prio);
		assert_string_equal(s(get(f, "output_fields"), "container.id"), fx.p.container_id);
		tags = get(f, "tags");
		for (size_t t = 0; t < json_object_array_length(tags); t++) {
			const char *tag =
				json_object_get_string(json_object_array_get_idx(tags, t));

			cwe |= !strcmp(tag, cases[i].cwe_tag);
			mitre |= !strcmp(tag, cases[i].mitre);
			container |= !strcmp(tag, "container");
			assert_string_not_equal(tag, "host");
		}
		assert_true(cwe && mitre && container);
		json_object_put(f);
	}
}

/* Every rule's event says what its registry row says: the sentence after the path, its tags. */
static void test_every_rule_from_registry(void **state)
{
	struct fixture fx;

	(void)state;
	for (int r = 0; r < TG_RULE_MAX; r++) {
		const struct tg_rule_info *ri = tg_rule_info((enum tg_rule)r);
		json_object *f, *tags;
		char want[256];
		size_t found = 0;

		make_report(&fx, (enum tg_rule)r, ri->severity);
		f = falco_of(&fx);
		assert_falco_shape(f);
		snprintf(want, sizeof(want), ": %s (process=", ri->falco_output);
		assert_non_null(strstr(s(f, "output"), want));
		snprintf(want, sizeof(want), "Insecure temporary file: %s", ri->id);
		assert_string_equal(s(f, "rule"), want);
		tags = get(f, "tags");
		for (size_t t = 0; t < json_object_array_length(tags); t++)
			for (size_t k = 0; k < TG_RULE_FALCO_TAGS; k++)
				found += !strcmp(
					json_object_get_string(json_object_array_get_idx(tags, t)),
					ri->falco_tags[k]);
		assert_int_equal(found, TG_RULE_FALCO_TAGS);
		json_object_put(f);
	}
}

/* An RFC 3339 time as the records write it, in ns since the epoch. */
static int64_t ns(const char *t)
{
	int64_t v;

	assert_int_equal(tg_parse_rfc3339(t, &v), 0);
	return v;
}

static void test_loss_session_summary(void **state)
{
	struct tg_loss loss = {
		.time_ns = ns("2026-11-28T06:30:00.000000001Z"),
		.host = "h",
		.from_ns = ns("2026-11-28T06:29:59.800000000Z"),
		.to_ns = ns("2026-11-28T06:30:00.000000001Z"),
		.lost = 17,
		.lost_total = 20,
	};
	struct tg_session_info session = {
		.time_ns = ns("2026-11-28T06:00:00.000000000Z"),
		.host = "h",
		.version = "0.1.0",
		.pid = 77,
		.scope = "host",
		.enforcement = "off",
		.policy = "/etc/tg.yaml",
		.n_hooks = 2,
	};
	struct tg_summary summary = {
		.time_ns = ns("2026-11-28T07:00:00.000000000Z"),
		.started_ns = ns("2026-11-28T06:00:00.000000000Z"),
		.host = "h",
		.findings = 5,
		.by_severity = {[TG_SEV_MEDIUM] = 2, [TG_SEV_HIGH] = 3},
	};
	json_object *f;

	(void)state;
	f = tg_falco_loss(&loss);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Warning");
	assert_string_equal(s(f, "rule"), "tmpguard records lost");
	assert_string_equal(s(f, "hostname"), "h");
	assert_int_equal(json_object_get_int64(get(get(f, "output_fields"), "tmpguard.lost")), 17);
	assert_int_equal(json_object_get_int64(get(get(f, "output_fields"), "tmpguard.lost_total")),
			 20);
	assert_string_equal(s(get(f, "output_fields"), "tmpguard.loss_from"),
			    "2026-11-28T06:29:59.800000000Z");
	assert_non_null(strstr(s(f, "output"), "lost=17"));
	json_object_put(f);

	f = tg_falco_session(&session);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Informational");
	assert_string_equal(s(f, "rule"), "tmpguard session started");
	assert_int_equal(json_object_get_int64(get(get(f, "output_fields"), "tmpguard.pid")), 77);
	assert_int_equal(json_object_get_int64(get(get(f, "output_fields"), "tmpguard.hooks")), 2);
	json_object_put(f);

	f = tg_falco_summary(&summary);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Informational");
	assert_string_equal(s(f, "rule"), "tmpguard session summary");
	assert_int_equal(json_object_get_int64(get(get(f, "output_fields"), "tmpguard.findings")),
			 5);
	assert_int_equal(
		json_object_get_int64(get(get(f, "output_fields"), "tmpguard.findings_high")), 3);
	json_object_put(f);
	/* A summary of a run that lost records warns. */
	summary.events.lost = 4;
	f = tg_falco_summary(&summary);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Warning");
	json_object_put(f);
}

/* The producer's health: an Error when it stops delivering, a Notice when it is back. */
static void test_health(void **state)
{
	struct tg_health h = {.time_ns = ns("2026-11-28T06:30:00.000000000Z"),
			      .host = "web-1",
			      .status = "unhealthy",
			      .reason = "canary not seen for 10 s"};
	json_object *f = tg_falco_health(&h);

	(void)state;
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Error");
	assert_string_equal(s(f, "rule"), "tmpguard producer unhealthy");
	assert_string_equal(s(f, "hostname"), "web-1");
	assert_string_equal(s(get(f, "output_fields"), "tmpguard.reason"),
			    "canary not seen for 10 s");
	assert_non_null(strstr(s(f, "output"), "reason=\"canary not seen for 10 s\")"));
	json_object_put(f);
	h.status = "recovered";
	f = tg_falco_health(&h);
	assert_falco_shape(f);
	assert_string_equal(s(f, "priority"), "Notice");
	assert_string_equal(s(f, "rule"), "tmpguard producer recovered");
	json_object_put(f);
}

static void test_unconvertible(void **state)
{
	struct fixture fx;
	struct tg_loss loss = {.time_ns = 0, .host = "h", .lost = 1};
	struct tg_health health = {.time_ns = ns("2026-11-28T06:30:00.000000000Z"),
				   .host = "h",
				   .status = "unhealthy",
				   .reason = "r"};
	struct tg_record rec;
	json_object *f;
	const char *what;

	(void)state;
	for (int i = 0; i < 6; i++) {
		make_report(&fx, TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH);
		rec = (struct tg_record){.kind = TG_RECORD_LOSS, .loss = &loss};
		switch (i) {
		case 0: /* no Falco form: a health record at the epoch, a kind this build does
			 * not know */
			what = "a health record at the epoch";
			health.time_ns = 0;
			rec = (struct tg_record){.kind = TG_RECORD_HEALTH, .health = &health};
			break;
		case 1:
			what = "a record of kind 99";
			rec.kind = (enum tg_record_kind)99;
			break;
		case 2: /* Falcosidekick drops a zero time, or one before the epoch */
			what = "a loss at the epoch";
			break;
		case 3:
			what = "a loss before the epoch";
			loss.time_ns = -1000000000LL;
			break;
		case 4: /* a finding without a severity Falco can express */
			what = "a finding of severity 7";
			fx.r.finding.severity = (enum tg_severity)7;
			rec = (struct tg_record){.kind = TG_RECORD_FINDING, .finding = &fx.r};
			break;
		default:
			what = "a finding at the epoch";
			fx.r.boot_to_real_ns = -(int64_t)fx.e.ts_ns;
			rec = (struct tg_record){.kind = TG_RECORD_FINDING, .finding = &fx.r};
			break;
		}
		f = tg_falco_record(&rec);
		if (f)
			fail_msg("converted %s", what);
	}
	assert_null(tg_falco_record(NULL));
}

/*
 * Straight from the typed finding: each string the event repeats is the one the finding's JSON
 * form holds (hostile bytes escaped alike, a NUL in the command line included), and the event
 * time is the finding's own nanoseconds.
 */
static void test_strings_as_the_json_holds_them(void **state)
{
	static const struct {
		const char *falco, *json, *proc;
	} same[] = {
		{"proc.name", "comm", "proc"},
		{"proc.exepath", "exe", "proc"},
		{"proc.cmdline", "cmdline", "proc"},
		{"proc.pname", "pcomm", "proc"},
		{"user.name", "user", "proc"},
		{"fd.name", "path", NULL},
		{"tmpguard.resolved_name", "resolved_name", NULL},
		{"tmpguard.pattern", "pattern", NULL},
		{"tmpguard.advice", "advice", NULL},
		{"tmpguard.language", "language", NULL},
		{"tmpguard.why", "why", NULL},
		{"evt.arg.mode", "mode", NULL},
		{"tmpguard.file_mode", "file_mode", NULL},
	};
	static const char cmdline[] = "sh\0-c\xff \xc2\x9b";
	struct fixture fx;
	json_object *f, *rec, *of;

	(void)state;
	make_report(&fx, TG_RULE_FOREIGN_FILE_REUSE, TG_SEV_CRITICAL);
	fx.e.ts_ns = 1500000001ULL;
	snprintf(fx.e.path, sizeof(fx.e.path), "/tmp/bad\xff\n\\x");
	snprintf(fx.e.name, sizeof(fx.e.name), "bad\xff\n\\x");
	snprintf(fx.e.comm, sizeof(fx.e.comm), "\xfe(x)");
	snprintf(fx.e.pcomm, sizeof(fx.e.pcomm), "m\xc2\x9b");
	snprintf(fx.p.exe, sizeof(fx.p.exe), "/opt/w\xc3\xb6rker\xff");
	snprintf(fx.p.user, sizeof(fx.p.user), "r\xc3\xa9mi");
	memcpy(fx.p.cmdline, cmdline, sizeof(cmdline));
	fx.p.cmdline_len = sizeof(cmdline) - 1;
	fx.r.host = "web-\xff";
	fx.r.pattern = "/tmp/bad*";
	f = tg_falco_finding(&fx.r);
	rec = tg_report_json(&fx.r);
	assert_falco_shape(f);
	of = get(f, "output_fields");
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		assert_string_equal(s(of, same[i].falco),
				    s(same[i].proc ? get(rec, same[i].proc) : rec, same[i].json));
	assert_string_equal(s(f, "hostname"), s(rec, "host"));
	assert_string_equal(s(f, "hostname"), "web-\\xff");
	assert_string_equal(s(of, "proc.cmdline"), "sh\\x00-c\\xff \\xc2\\x9b");
	assert_string_equal(s(f, "time"), s(rec, "time"));
	assert_int_equal(json_object_get_int64(get(of, "evt.time")), 1764311401500000001LL);
	json_object_put(rec);
	json_object_put(f);

	/* no host, no pattern: empty, as the JSON form's absent members read */
	fx.r.host = NULL;
	fx.r.pattern = NULL;
	f = tg_falco_finding(&fx.r);
	assert_string_equal(s(f, "hostname"), "");
	assert_string_equal(s(get(f, "output_fields"), "tmpguard.pattern"), "");
	json_object_put(f);
}

/* tg_falco_record goes by the kind it is given, to the same event. */
static void test_record_by_kind(void **state)
{
	struct fixture fx;
	struct tg_loss loss = {.time_ns = 5 * 1000000000LL, .host = "h", .lost = 2};
	struct tg_session_info si = {.time_ns = 4 * 1000000000LL,
				     .host = "h",
				     .version = "1",
				     .scope = "host",
				     .enforcement = "off",
				     .policy = "p"};
	struct tg_summary sum = {.time_ns = 6 * 1000000000LL, .host = "h"};
	const struct tg_record recs[] = {
		{.kind = TG_RECORD_FINDING, .finding = &fx.r},
		{.kind = TG_RECORD_SESSION, .session = &si},
		{.kind = TG_RECORD_LOSS, .loss = &loss},
		{.kind = TG_RECORD_SUMMARY, .summary = &sum},
	};

	(void)state;
	make_report(&fx, TG_RULE_LOOSE_MODE, TG_SEV_MEDIUM);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		json_object *a = tg_falco_record(&recs[i]), *b;

		b = i == 0   ? tg_falco_finding(&fx.r)
		    : i == 1 ? tg_falco_session(&si)
		    : i == 2 ? tg_falco_loss(&loss)
			     : tg_falco_summary(&sum);
		assert_falco_shape(a);
		assert_string_equal(json_object_to_json_string(a), json_object_to_json_string(b));
		json_object_put(a);
		json_object_put(b);
	}
	assert_string_equal(tg_record_kind_name(TG_RECORD_HEALTH), "health");
	assert_string_equal(tg_record_kind_name((enum tg_record_kind)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_map),
		cmocka_unit_test(test_finding),
		cmocka_unit_test(test_output_sentence_is_not_the_process_s),
		cmocka_unit_test(test_every_severity_and_container),
		cmocka_unit_test(test_every_rule_from_registry),
		cmocka_unit_test(test_loss_session_summary),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_unconvertible),
		cmocka_unit_test(test_strings_as_the_json_holds_them),
		cmocka_unit_test(test_record_by_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
