// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The session summary (summary.h): what the collector takes from the pipeline, the kernel's
 * counters, the policy, the sinks and the store; the text for standard error, line by line;
 * the JSON record, member by member and in order; the aggregates it lists and those it only
 * counts; the policy as the session record has it (no counts yet).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "summary.h"
#include "tmpguard.h"

#define SEC_NS 1000000000LL
/* 2026-11-28T06:30:00Z and an hour earlier, on the real clock; the boot clock 100 s in. */
#define NOW_NS	   (1795847400LL * SEC_NS)
#define START_NS   (NOW_NS - 3600 * SEC_NS)
#define BOOT_TO_RL (START_NS - 100 * SEC_NS)

static const char policy_yaml[] = "version: 1\n"
				  "exceptions:\n"
				  "  - rule: loose-mode\n"
				  "    comm: sh\n"
				  "    reason: \"scratch\\x1b files\"\n"
				  "  - rule: \"*\"\n"
				  "    uid: 5\n"
				  "    reason: two\n";

struct fx {
	struct tg_pipeline pl;
	struct tg_policy *pol;
	uint64_t kstats[TG_STAT_MAX];
	bool in_kernel[2];
	uint64_t hid_kernel[2], hid_user[2];
	struct tg_sink_stats output;
	struct tg_store_stats store;
	struct tg_summary_source src;
	struct tg_summary sum;
};

static void add(struct fx *f, uint32_t pid, uint32_t uid, const char *comm, enum tg_rule rule,
		enum tg_severity sev, const char *pattern, int times)
{
	bool print;

	for (int i = 0; i < times; i++)
		assert_true(tg_agg_add(f->pl.agg, pid, uid, comm, "/bin/sh", rule, sev, pattern,
				       (uint64_t)(10 + i) * SEC_NS, 100, &print) > 0);
}

/* Three processes' findings (many: 600 more keys of a fourth), 70 users over budget, every
 * counter distinct; per_uid: the aggregation table's share per user. */
static struct fx *build(bool many, size_t per_uid)
{
	struct fx *f = calloc(1, sizeof(*f));
	const struct tg_pipeline_cb cb = {0};
	char err[256];

	assert_non_null(f);
	assert_int_equal(tg_pipeline_init(&f->pl, &cb, 4096, per_uid), 0);
	f->pol = tg_policy_parse("/etc/tmpguard/policy.yaml", policy_yaml, strlen(policy_yaml), err,
				 sizeof(err));
	assert_non_null(f->pol);
	add(f, 10, 1000, "sh\x1b", TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, "/tmp/a", 3);
	add(f, 10, 1000, "sh\x1b", TG_RULE_LOOSE_MODE, TG_SEV_CRITICAL, "/tmp/b", 1);
	add(f, 11, 1001, "py", TG_RULE_LOOSE_TEMPDIR, TG_SEV_MEDIUM, "/tmp/c.*", 2);
	for (int i = 0; many && i < 600; i++) {
		char pat[16];

		snprintf(pat, sizeof(pat), "/tmp/k%c%c", 'a' + i / 26, 'a' + i % 26);
		add(f, 12, 1002, "flood", TG_RULE_INHERITABLE_FD, TG_SEV_LOW, pat, 1);
	}
	for (uint32_t uid = 2000; uid < 2070; uid++)
		for (int i = 0; i < 2; i++)
			tg_budget_allow(f->pl.budget, uid, 5 * SEC_NS, 1, 1000);
	f->pl.received = 5000;
	f->pl.unresolved = 7;
	f->pl.decode_errors = 3;
	f->pl.suppressed = 9;
	for (int i = 0; i < TG_STAT_MAX; i++)
		f->kstats[i] = 100 + i;
	f->in_kernel[1] = true;
	f->hid_kernel[0] = 4;
	f->hid_kernel[1] = 5;
	f->hid_user[0] = 6;
	f->hid_user[1] = 7;
	f->output = (struct tg_sink_stats){1, 2, 3, 4, 5, 6, 7};
	f->store = (struct tg_store_stats){.findings = 10,
					   .losses = 2,
					   .commit_failures = 1,
					   .unclean_found = 1,
					   .removed = {.findings = 3, .losses = 4, .sessions = 5}};
	f->src = (struct tg_summary_source){
		.pl = &f->pl,
		.kstats = f->kstats,
		.enforcement = TG_ENFORCE_OFF,
		.health_alerts = 2,
		.agg_per_uid = per_uid,
		.host = "web-1",
		.started_ns = START_NS,
		.now_ns = NOW_NS,
		.boot_to_real_ns = BOOT_TO_RL,
		.policy = {.pol = f->pol,
			   .in_kernel = f->in_kernel,
			   .hid_kernel = f->hid_kernel,
			   .hid_user = f->hid_user,
			   .n_hid_kernel = 2,
			   .reloads = 2,
			   .reloads_refused = 1},
		.output = &f->output,
		.db_path = "/var/lib/tmpguard/events.db",
		.store = &f->store,
	};
	return f;
}

static void drop(struct fx *f)
{
	tg_pipeline_fini(&f->pl);
	tg_policy_free(f->pol);
	free(f);
}

static char *text_of(const struct tg_summary *sum)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	tg_summary_text(m, sum);
	fclose(m);
	return buf;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return v;
}

static int64_t num(json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

static void test_collect(void **state)
{
	struct fx *f = build(true, 0);
	const struct tg_summary_events *ev = &f->sum.events;

	(void)state;
	tg_summary_collect(&f->sum, &f->src);
	assert_int_equal(f->sum.findings, 3 + 1 + 2 + 600);
	assert_int_equal(f->sum.by_severity[TG_SEV_CRITICAL], 1);
	assert_int_equal(f->sum.by_severity[TG_SEV_HIGH], 3);
	assert_int_equal(f->sum.by_severity[TG_SEV_MEDIUM], 2);
	assert_int_equal(f->sum.by_severity[TG_SEV_LOW], 600);
	assert_int_equal(f->sum.by_rule[TG_RULE_INHERITABLE_FD], 600);
	assert_int_equal(f->sum.by_rule[TG_RULE_SYMLINK_FOLLOW], 0);
	/* 603 keys: the 512 most severe listed, in the table's order; the rest counted */
	assert_int_equal(f->sum.n_entries, 603);
	assert_int_equal(f->sum.n_listed, TG_SUMMARY_AGGREGATES);
	assert_int_equal(f->sum.not_listed_findings, 91);
	for (size_t l = 1; l < f->sum.n_listed; l++)
		assert_true(f->sum.listed[l] > f->sum.listed[l - 1]);
	assert_int_equal(f->sum.entries[f->sum.listed[0]]->pid, 10);
	/* each counter from where it is kept */
	assert_int_equal(ev->creates_seen, 100 + TG_STAT_CREATE_SEEN);
	assert_int_equal(ev->probes_recorded, 100 + TG_STAT_PROBE_ENOENT);
	assert_int_equal(ev->mkdirs_seen, 100 + TG_STAT_MKDIR_SEEN);
	assert_int_equal(ev->sent, 100 + TG_STAT_SENT);
	assert_int_equal(ev->lost, 100 + TG_STAT_LOST);
	assert_int_equal(ev->excepted_in_kernel, 100 + TG_STAT_EXCEPTED);
	assert_int_equal(ev->denied, 100 + TG_STAT_DENIED);
	assert_int_equal(ev->killed, 100 + TG_STAT_KILLED);
	assert_int_equal(ev->would_deny, 100 + TG_STAT_WOULD_DENY);
	assert_int_equal(ev->io_uring_unseen, 100 + TG_STAT_URING_UNSEEN);
	assert_int_equal(ev->opens_unseen, 100 + TG_STAT_STASH_FAILED);
	assert_int_equal(ev->forks_untracked, 100 + TG_STAT_TRACK_FULL);
	assert_int_equal(ev->call_sites_lost, 200 + TG_STAT_STACK_LOST + TG_STAT_PY_LOST);
	assert_int_equal(ev->call_sites_reused, 100 + TG_STAT_STACK_REF);
	assert_int_equal(ev->received, 5000);
	assert_int_equal(ev->unresolved, 7);
	assert_int_equal(ev->malformed, 3);
	assert_int_equal(ev->repeats_not_printed, 9);
	assert_int_equal(ev->health_alerts, 2);
	/* 70 users over budget, 64 named */
	assert_int_equal(ev->over_budget, 70);
	assert_int_equal(ev->over_budget_by_host, 0);
	assert_int_equal(ev->n_budget_uids, TG_SUMMARY_BUDGET_UIDS);
	assert_int_equal(ev->budget_not_printed[0], 1);
	assert_int_equal(f->sum.output.syslog_truncated, 7);
	assert_string_equal(f->sum.db_path, "/var/lib/tmpguard/events.db");
	assert_int_equal(f->sum.store.removed.sessions, 5);
	/* no sinks, no store: nothing of theirs */
	f->src.output = NULL;
	f->src.db_path = NULL;
	tg_summary_collect(&f->sum, &f->src);
	assert_false(f->sum.has_output);
	assert_null(f->sum.db_path);
	drop(f);
}

static void test_text(void **state)
{
	struct fx *f = build(false, 0);
	char *t;

	(void)state;
	f->hid_kernel[1] = 0;
	f->src.policy.hid_by_earlier = 3;
	f->kstats[TG_STAT_URING_UNSEEN] = 0;
	f->kstats[TG_STAT_TRACK_FULL] = 0;
	f->kstats[TG_STAT_STACK_LOST] = 2;
	f->kstats[TG_STAT_PY_LOST] = 1;
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_string_equal(
		t,
		"tmpguard: summary: 6 findings (1 critical, 3 high, 2 medium, 0 low), 3 distinct\n"
		"  pid 10 sh\\x1b (/bin/sh)\n"
		"    nonexclusive-create  high     x3     /tmp/a\n"
		"    loose-mode           critical x1     /tmp/b\n"
		"  pid 11 py (/bin/sh)\n"
		"    loose-tempdir        medium   x2     /tmp/c.*\n"
		"  events: seen 303 (creates 100, ENOENT probes 101, loose mkdirs and nodes 102), "
		"sent 103, excepted in the kernel 105, lost 104; received 5000, unresolved 7, "
		"malformed 3; repeats not printed 9, over budget 70\n"
		"  policy /etc/tmpguard/policy.yaml: 2 reloads (1 refused)\n"
		"    exception line 3 (loose-mode, applied in user space): hid 4 in the kernel, 6 "
		"in user space: scratch\\x1b files\n"
		"    exception line 6 (*, applied in the kernel): hid 0 in the kernel, 7 in user "
		"space: two\n"
		"    exceptions of earlier policies hid 3\n"
		"  enforcement: 106 denied, 107 killed, 108 would-deny\n"
		"  WARNING: the producer was unhealthy 2 time(s): this report is incomplete\n"
		"  WARNING: 104 records were lost: this report is incomplete\n"
		"  WARNING: 111 O_CREAT opens could not be followed from entry to exit (task "
		"storage full or busy): they were not seen\n"
		"  WARNING: 3 call-site captures were not sent (a full ring) or not matched to "
		"their finding: those findings have no call site\n");
	free(t);
	/* nothing enforced, nothing lost, no blind spot: none of those lines */
	f->kstats[TG_STAT_DENIED] = f->kstats[TG_STAT_KILLED] = f->kstats[TG_STAT_WOULD_DENY] = 0;
	f->kstats[TG_STAT_LOST] = f->kstats[TG_STAT_STASH_FAILED] = 0;
	f->kstats[TG_STAT_STACK_LOST] = f->kstats[TG_STAT_PY_LOST] = 0;
	f->src.health_alerts = 0;
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_null(strstr(t, "enforcement:"));
	assert_null(strstr(t, "WARNING"));
	free(t);
	/* enforcement in force: said even at zero */
	f->src.enforcement = TG_ENFORCE_DRY_RUN;
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_non_null(strstr(t, "  enforcement: 0 denied, 0 killed, 0 would-deny\n"));
	free(t);
	drop(f);
}

/* Past the listed ones, a line counts the rest; a user's folded keys are said as such. */
static void test_text_not_listed_and_folded(void **state)
{
	struct fx *f = build(true, 0);
	char *t;

	(void)state;
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_non_null(strstr(t, "  and 91 more (91 findings), not listed: the summary lists the "
				  "512 most severe, then most counted\n"));
	assert_non_null(strstr(t, "  pid 12 flood (/bin/sh)\n    inheritable-fd       low      x1"
				  "     /tmp/kaa\n"));
	free(t);
	drop(f);

	f = build(true, 8);
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_non_null(strstr(t, "  uid 1002, past its share of the table (8 keys)\n"
				  "    inheritable-fd       low      x592   *\n"));
	assert_non_null(strstr(t, "  592 findings of users past their share of the aggregation "
				  "table were counted per user and rule\n"));
	free(t);
	drop(f);
}

static void assert_keys(json_object *o, const char *const *keys, size_t n)
{
	size_t i = 0;

	json_object_object_foreach(o, k, v)
	{
		(void)v;
		assert_true(i < n);
		assert_string_equal(k, keys[i]);
		i++;
	}
	assert_int_equal(i, n);
}

static void test_json(void **state)
{
	static const char *const top[] = {"type",
					  "schema_version",
					  "time",
					  "started",
					  "host",
					  "findings",
					  "by_severity",
					  "by_rule",
					  "aggregates",
					  "aggregates_not_listed",
					  "events",
					  "policy",
					  "policy_sha256",
					  "policy_reloads",
					  "policy_reloads_refused",
					  "exceptions",
					  "suppressed_by_earlier_policies",
					  "output",
					  "store"};
	static const char *const events[] = {"creates_seen",
					     "probes_recorded",
					     "mkdirs_seen",
					     "sent",
					     "lost",
					     "received",
					     "unresolved",
					     "malformed",
					     "repeats_not_printed",
					     "over_budget",
					     "over_budget_by_host",
					     "over_budget_by_uid",
					     "aggregate_overflow",
					     "aggregate_folded",
					     "denied",
					     "killed",
					     "would_deny",
					     "excepted_in_kernel",
					     "health_alerts",
					     "io_uring_unseen",
					     "opens_unseen",
					     "forks_untracked",
					     "call_sites_lost",
					     "call_sites_reused"};
	static const char *const agg[] = {"pid",      "uid",	 "comm",  "exe",   "rule",
					  "severity", "pattern", "count", "first", "last"};
	struct fx *f = build(true, 0);
	json_object *o, *a, *x;

	(void)state;
	tg_summary_collect(&f->sum, &f->src);
	o = tg_summary_json(&f->sum);
	assert_keys(o, top, sizeof(top) / sizeof(top[0]));
	assert_keys(get(o, "events"), events, sizeof(events) / sizeof(events[0]));
	assert_string_equal(json_object_get_string(get(o, "type")), "summary");
	assert_string_equal(json_object_get_string(get(o, "time")),
			    "2026-11-28T06:30:00.000000000Z");
	assert_string_equal(json_object_get_string(get(o, "started")),
			    "2026-11-28T05:30:00.000000000Z");
	assert_int_equal(num(o, "findings"), 606);
	assert_int_equal(num(get(o, "by_severity"), "low"), 600);
	assert_int_equal(num(get(o, "by_rule"), "loose-tempdir"), 2);
	assert_int_equal(json_object_object_length(get(o, "by_rule")), TG_RULE_MAX);
	assert_int_equal(json_object_array_length(get(o, "aggregates")), TG_SUMMARY_AGGREGATES);
	a = json_object_array_get_idx(get(o, "aggregates"), 0);
	assert_keys(a, agg, sizeof(agg) / sizeof(agg[0]));
	assert_string_equal(json_object_get_string(get(a, "comm")),
			    "sh\x1b"); /* json-c escapes it */
	assert_int_equal(num(a, "count"), 3);
	/* the boot clock's 10 s and 12 s, on the real clock */
	assert_string_equal(json_object_get_string(get(a, "first")),
			    "2026-11-28T05:28:30.000000000Z");
	assert_string_equal(json_object_get_string(get(a, "last")),
			    "2026-11-28T05:28:32.000000000Z");
	assert_int_equal(num(get(o, "aggregates_not_listed"), "keys"), 91);
	assert_int_equal(num(get(o, "aggregates_not_listed"), "findings"), 91);
	assert_int_equal(num(get(o, "events"), "lost"), 100 + TG_STAT_LOST);
	assert_int_equal(json_object_array_length(get(get(o, "events"), "over_budget_by_uid")),
			 TG_SUMMARY_BUDGET_UIDS);
	x = json_object_array_get_idx(get(o, "exceptions"), 1);
	assert_string_equal(json_object_get_string(get(x, "applied_in")), "kernel");
	assert_int_equal(num(x, "suppressed_kernel"), 5);
	assert_int_equal(num(x, "suppressed_user"), 7);
	assert_int_equal(num(get(o, "output"), "rotation_planted"), 5);
	assert_string_equal(json_object_get_string(get(get(o, "store"), "db")),
			    "/var/lib/tmpguard/events.db");
	assert_int_equal(num(get(get(o, "store"), "retention_removed"), "losses"), 4);
	json_object_put(o);

	/* no sinks, no store */
	f->src.output = NULL;
	f->src.db_path = NULL;
	tg_summary_collect(&f->sum, &f->src);
	o = tg_summary_json(&f->sum);
	assert_keys(o, top, sizeof(top) / sizeof(top[0]) - 2);
	json_object_put(o);
	drop(f);
}

/* The session record's policy: what is in force, nothing counted yet. */
static void test_policy_json_uncounted(void **state)
{
	static const char *const keys[] = {
		"policy",	  "policy_sha256",	    "policy_since",
		"policy_reloads", "policy_reloads_refused", "exceptions"};
	static const char *const xkeys[] = {"line", "rule", "reason", "applied_in", "expired"};
	struct fx *f = build(false, 0);
	json_object *o = json_object_new_object();

	(void)state;
	f->src.policy.hid_kernel = f->src.policy.hid_user = NULL;
	f->src.policy.since_ns = 1795847400LL * 1000000000LL;
	tg_summary_policy_json(o, &f->src.policy);
	assert_keys(o, keys, 6);
	/* The policy by content: sha256sum of the bytes parsed, and since when it is in force. */
	assert_string_equal(json_object_get_string(get(o, "policy_sha256")),
			    "25156936058edca102f392d857070d9c158f0b978adf52beb1d792c5f77edbd2");
	assert_string_equal(json_object_get_string(get(o, "policy_since")),
			    "2026-11-28T06:30:00.000000000Z");
	assert_keys(json_object_array_get_idx(get(o, "exceptions"), 0), xkeys, 5);
	assert_string_equal(json_object_get_string(get(
				    json_object_array_get_idx(get(o, "exceptions"), 0), "reason")),
			    "scratch\x1b files");
	json_object_put(o);
	drop(f);
}

/* A policy may have more exceptions than the kernel counts (TG_KEXC_MAX): past the counts it
 * is given, an exception hid nothing in the kernel, and nothing past them is read. */
static void test_more_exceptions_than_kernel_counts(void **state)
{
	struct fx *f = build(false, 0);
	json_object *o;
	char *t;

	(void)state;
	f->src.policy.n_hid_kernel = 1;
	f->hid_kernel[1] = 99;
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_non_null(strstr(t, "    exception line 6 (*, applied in the kernel): hid 0 in the "
				  "kernel, 7 in user space: two\n"));
	free(t);
	o = tg_summary_json(&f->sum);
	assert_int_equal(
		num(json_object_array_get_idx(get(o, "exceptions"), 0), "suppressed_kernel"), 4);
	assert_int_equal(
		num(json_object_array_get_idx(get(o, "exceptions"), 1), "suppressed_kernel"), 0);
	json_object_put(o);
	drop(f);
}

/* Owners and expiries: listed with each exception, and whether it had expired by the summary's
 * time (the hour before NOW_NS, NOW_NS itself, an hour after). */
static void test_owner_and_expiry(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"exceptions:\n"
		"  - { rule: loose-mode, comm: sh, reason: one, owner: \"ops\\x1b team\",\n"
		"      expires: \"2026-11-28T05:30:00Z\" }\n"
		"  - { rule: '*', uid: 5, reason: two, expires: \"2026-11-28T07:30:00Z\" }\n"
		"  - { rule: '*', uid: 6, reason: three, expires: \"2026-11-28T06:30:00Z\" }\n";
	static const char *const xkeys[] = {
		"line",		  "rule",    "reason",	"applied_in",
		"owner",	  "expires", "expired", "suppressed_kernel",
		"suppressed_user"};
	struct fx *f = build(false, 0);
	bool in_kernel[3] = {false, true, true};
	uint64_t zero[3] = {0};
	char err[256], *t;
	json_object *o, *xs;

	(void)state;
	tg_policy_free(f->pol);
	f->pol = tg_policy_parse("p.yaml", yaml, strlen(yaml), err, sizeof(err));
	assert_non_null(f->pol);
	f->src.policy = (struct tg_summary_policy){.pol = f->pol,
						   .in_kernel = in_kernel,
						   .hid_kernel = zero,
						   .hid_user = zero,
						   .n_hid_kernel = 3,
						   .now_ns = NOW_NS};
	tg_summary_collect(&f->sum, &f->src);
	t = text_of(&f->sum);
	assert_non_null(strstr(t,
			       "    exception line 3 (loose-mode, applied in user space, expired "
			       "at 2026-11-28T05:30:00Z; owner: ops\\x1b team): hid 0 in the "
			       "kernel, 0 in user space: one\n"
			       "    exception line 5 (*, applied in the kernel until "
			       "2026-11-28T07:30:00Z): hid 0 in the kernel, 0 in user space: two\n"
			       "    exception line 6 (*, applied in the kernel, expired at "
			       "2026-11-28T06:30:00Z): hid"));
	free(t);
	o = tg_summary_json(&f->sum);
	xs = get(o, "exceptions");
	assert_keys(json_object_array_get_idx(xs, 0), xkeys, 9);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(xs, 0), "owner")),
			    "ops\x1b team");
	assert_string_equal(
		json_object_get_string(get(json_object_array_get_idx(xs, 0), "expires")),
		"2026-11-28T05:30:00.000000000Z");
	assert_true(json_object_get_boolean(get(json_object_array_get_idx(xs, 0), "expired")));
	assert_false(json_object_get_boolean(get(json_object_array_get_idx(xs, 1), "expired")));
	/* expired at the very nanosecond of its expiry */
	assert_true(json_object_get_boolean(get(json_object_array_get_idx(xs, 2), "expired")));
	assert_false(json_object_object_get_ex(json_object_array_get_idx(xs, 1), "owner", NULL));
	json_object_put(o);
	drop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_not_listed_and_folded),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_policy_json_uncounted),
		cmocka_unit_test(test_more_exceptions_than_kernel_counts),
		cmocka_unit_test(test_owner_and_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
