// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Path patterns, aggregation and its bound; container ids; record decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "aggregate.h"
#include "container.h"
#include "events.h"

static void expect_pattern(const char *path, const char *want)
{
	char out[256];

	tg_path_pattern(path, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_path_pattern(void **state)
{
	(void)state;
	expect_pattern("/tmp/f.12345", "/tmp/f.*");
	expect_pattern("/tmp/tmp.Ab3xYzQ9", "/tmp/tmp.*");
	expect_pattern("/tmp/fileAbCdEf", "/tmp/*");
	expect_pattern("/tmp/python3.log", "/tmp/python3.log");
	expect_pattern("/tmp/README", "/tmp/README");
	expect_pattern("/tmp/build-2024-11-28.lock", "/tmp/build-*-*-*.lock");
	expect_pattern("relative/x", "relative/x");
}

static void test_pattern_truncates(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'Z', sizeof(out));
	tg_path_pattern("/tmp/abcdefghij", out, 6);
	assert_string_equal(out, "/tmp/");
	assert_int_equal(out[6], 'Z');
}

static void test_aggregate(void **state)
{
	struct tg_agg *a = tg_agg_new(2, 0);
	const struct tg_agg_entry *const *s;
	bool print;

	(void)state;
	assert_non_null(a);
	assert_int_equal(tg_agg_add(a, 10, 0, "sh", "/bin/sh", TG_RULE_NONEXCLUSIVE_CREATE,
				    TG_SEV_HIGH, "/tmp/f.*", 1, 1, &print),
			 1);
	assert_int_equal(tg_agg_add(a, 10, 0, "sh", "/bin/sh", TG_RULE_NONEXCLUSIVE_CREATE,
				    TG_SEV_HIGH, "/tmp/f.*", 2, 1, &print),
			 2);
	/* another rule is another key */
	assert_int_equal(tg_agg_add(a, 5, 0, "sh", "/bin/sh", TG_RULE_LOOSE_MODE, TG_SEV_MEDIUM,
				    "/tmp/f.*", 3, 1, &print),
			 1);
	/* full: counted as overflow, never lost */
	assert_int_equal(tg_agg_add(a, 11, 0, "py", "/usr/bin/python3", TG_RULE_LOOSE_MODE,
				    TG_SEV_CRITICAL, "/tmp/g", 4, 1, &print),
			 0);
	assert_int_equal(tg_agg_overflow(a), 1);
	assert_int_equal(tg_agg_size(a), 2);
	assert_int_equal(tg_agg_by_severity(a, TG_SEV_HIGH), 2);
	assert_int_equal(tg_agg_by_severity(a, TG_SEV_CRITICAL), 1);
	assert_int_equal(tg_agg_by_rule(a, TG_RULE_LOOSE_MODE), 2);
	s = tg_agg_sorted(a);
	assert_int_equal(s[0]->pid, 5);
	assert_int_equal(s[1]->pid, 10);
	assert_int_equal(s[1]->count, 2);
	assert_int_equal(s[1]->first_ns, 1);
	assert_int_equal(s[1]->last_ns, 2);
	tg_agg_free(a);
}

static void test_aggregate_share_per_user(void **state)
{
	struct tg_agg *a = tg_agg_new(8, 3);
	const struct tg_agg_entry *const *s;
	char pat[32];
	bool print;

	(void)state;
	/* uid 65534 makes 100 distinct names: its first 3 keys, then one folded key per rule */
	for (int i = 0; i < 100; i++) {
		snprintf(pat, sizeof(pat), "/tmp/flood.x%c%c", 'a' + i / 26, 'a' + i % 26);
		assert_int_not_equal(tg_agg_add(a, 100 + i % 7, 65534, "flood", "/flood",
						TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, pat, i, 1,
						&print),
				     0);
		/* folded findings are not one key's repeats: printed (the budget decides) */
		assert_true(print);
	}
	assert_int_equal(tg_agg_add(a, 100, 65534, "flood", "/flood", TG_RULE_LOOSE_MODE,
				    TG_SEV_CRITICAL, "/tmp/other", 200, 1, &print),
			 1);
	assert_int_equal(tg_agg_size(a), 5);
	assert_int_equal(tg_agg_folded(a), 98);
	/* another user's finding still has its own key, and its repeats are its own */
	assert_int_equal(tg_agg_add(a, 7, 0, "bash", "/usr/bin/bash", TG_RULE_SYMLINK_FOLLOW,
				    TG_SEV_CRITICAL, "/tmp/link", 300, 1, &print),
			 1);
	assert_int_equal(tg_agg_add(a, 7, 0, "bash", "/usr/bin/bash", TG_RULE_SYMLINK_FOLLOW,
				    TG_SEV_CRITICAL, "/tmp/link", 301, 1, &print),
			 2);
	assert_false(print);
	assert_int_equal(tg_agg_overflow(a), 0);
	s = tg_agg_sorted(a);
	assert_int_equal(s[0]->pid, 7);
	assert_int_equal(s[0]->uid, 0);
	assert_false(s[0]->folded);
	/* the folded keys last: uid 65534's, per rule, pattern "*", no process */
	assert_false(s[3]->folded);
	assert_true(s[4]->folded);
	assert_true(s[5]->folded);
	assert_int_equal(s[5]->uid, 65534);
	assert_int_equal(s[5]->pid, 0);
	assert_string_equal(s[5]->pattern, "*");
	assert_string_equal(s[5]->comm, "");
	assert_int_equal(s[4]->rule + s[5]->rule, TG_RULE_NONEXCLUSIVE_CREATE + TG_RULE_LOOSE_MODE);
	assert_int_equal(s[4]->count + s[5]->count, 98);
	/* a key the user already held is still counted in it */
	assert_int_equal(tg_agg_add(a, 100, 65534, "flood", "/flood", TG_RULE_NONEXCLUSIVE_CREATE,
				    TG_SEV_HIGH, "/tmp/flood.xaa", 400, 1, &print),
			 2);
	tg_agg_free(a);
}

static void test_rate_limit(void **state)
{
	const uint64_t sec = 1000000000ULL;
	struct tg_agg *a = tg_agg_new(4, 0);
	bool print[5];

	(void)state;
	/* two per key per minute: the third in the same minute is counted, not printed */
	for (int i = 0; i < 3; i++)
		tg_agg_add(a, 1, 0, "c", "/c", TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, "/tmp/x",
			   (10 + i) * sec, 2, &print[i]);
	/* a new minute of that key starts 60 s after its window opened */
	tg_agg_add(a, 1, 0, "c", "/c", TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, "/tmp/x", 70 * sec,
		   2, &print[3]);
	/* another key has its own budget */
	tg_agg_add(a, 2, 0, "c", "/c", TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH, "/tmp/x", 13 * sec,
		   2, &print[4]);
	assert_true(print[0]);
	assert_true(print[1]);
	assert_false(print[2]);
	assert_true(print[3]);
	assert_true(print[4]);
	assert_int_equal(tg_agg_sorted(a)[0]->count, 4);
	tg_agg_free(a);
}

static void test_container_id(void **state)
{
	const char *id64 = "3f2a9c0d1e2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7";
	char path[512], id[80];

	(void)state;
	snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", id64);
	assert_string_equal(tg_container_id(path, id, sizeof(id)), "docker");
	assert_string_equal(id, id64);
	snprintf(path, sizeof(path), "/docker/%s", id64);
	assert_string_equal(tg_container_id(path, id, sizeof(id)), "docker");
	snprintf(path, sizeof(path),
		 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/"
		 "cri-containerd-%s.scope",
		 id64);
	assert_string_equal(tg_container_id(path, id, sizeof(id)), "containerd");
	snprintf(path, sizeof(path), "/machine.slice/crio-%s.scope", id64);
	assert_string_equal(tg_container_id(path, id, sizeof(id)), "cri-o");
	snprintf(path, sizeof(path), "/machine.slice/libpod-%s.scope", id64);
	assert_string_equal(tg_container_id(path, id, sizeof(id)), "podman");
	snprintf(path, sizeof(path), "/machine.slice/libpod-conmon-%s.scope", id64);
	assert_null(tg_container_id(path, id, sizeof(id)));
	assert_null(tg_container_id("/user.slice/user-0.slice/session-1.scope", id, sizeof(id)));
	assert_string_equal(id, "");
	assert_null(tg_container_id("/system.slice/docker-3f2a.scope", id, sizeof(id)));
}

/* A record as the BPF side sends it: the header, then path and its NUL; exactly that many bytes
 * on the heap (an ASan build catches a read past them). Returns its size. */
static size_t wire(const struct tg_event *hdr, const char *path, unsigned char **out)
{
	size_t plen = strlen(path) + 1, size = TG_EVENT_HDR_LEN + plen;
	unsigned char *buf = malloc(size);
	struct tg_event h = *hdr;

	assert_non_null(buf);
	h.path_len = plen;
	memcpy(buf, &h, TG_EVENT_HDR_LEN);
	memcpy(buf + TG_EVENT_HDR_LEN, path, plen);
	*out = buf;
	return size;
}

static void test_decode(void **state)
{
	static struct tg_event raw, out;
	unsigned char *buf;
	char err[128];
	size_t size;

	(void)state;
	memset(&raw, 'A', sizeof(raw)); /* no NUL in the header's strings */
	raw.kind = TG_KIND_OPEN;
	raw.syscall = TG_SYS_OPENAT;
	raw.args_len = 100000;
	raw.probe_syscall = 999;
	raw.entry = TG_ENTRY_MAX;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(size, TG_EVENT_HDR_LEN + 15);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry"));
	free(buf);
	raw.entry = TG_ENTRY_IO_URING;
	/* an unknown action, or a decision without its rule, is not a record */
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "action"));
	free(buf);
	raw.action = TG_ACT_DENIED;
	raw.rule = TG_R_NONE;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	free(buf);
	raw.rule = TG_R_MAX;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	free(buf);
	raw.rule = TG_R_SYMLINK_FOLLOW;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	free(buf);
	raw.action = TG_ACT_NONE;
	raw.rule = TG_R_MAX;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	free(buf);
	raw.rule = TG_R_NONE;
	size = wire(&raw, "/tmp/report.42", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	assert_int_equal(out.entry, TG_ENTRY_IO_URING);
	assert_string_equal(out.path, "/tmp/report.42");
	assert_int_equal(out.path_len, 15);
	assert_int_equal(strlen(out.comm), TG_COMM_LEN - 1);
	assert_int_equal(strlen(out.name), TG_NAME_LEN - 1);
	assert_int_equal(out.args_len, TG_ARGS_LEN);
	assert_int_equal(out.probe_syscall, 0);
	free(buf);
	raw.kind = 7;
	size = wire(&raw, "/tmp/x", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kind"));
	free(buf);
	raw.kind = TG_KIND_MKDIR;
	raw.syscall = TG_SYS_MAX;
	size = wire(&raw, "/tmp/x", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "syscall"));
	free(buf);
	assert_string_equal(tg_syscall_name(TG_SYS_OPENAT2), "openat2");
	assert_string_equal(tg_syscall_name(12345), "unknown");
	assert_string_equal(tg_entry_name(TG_ENTRY_SYSCALL), "syscall");
	assert_string_equal(tg_entry_name(TG_ENTRY_IA32), "ia32");
	assert_string_equal(tg_entry_name(TG_ENTRY_IO_URING), "io_uring");
	assert_string_equal(tg_entry_name(TG_ENTRY_MAX), "unknown");
}

/* Every path length the BPF side can send, from empty to PATH_MAX - 1 bytes, and nothing else. */
static void test_decode_sizes(void **state)
{
	static struct tg_event raw, out;
	static char path[TG_PATH_LEN];
	unsigned char *buf;
	char err[160];
	size_t size;

	(void)state;
	memset(&raw, 0, sizeof(raw));
	raw.kind = TG_KIND_OPEN;
	raw.syscall = TG_SYS_OPEN;
	/* Empty: the header and one NUL (a path the kernel could not read). */
	size = wire(&raw, "", &buf);
	assert_int_equal(size, TG_EVENT_HDR_LEN + 1);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	assert_string_equal(out.path, "");
	free(buf);
	/* The longest: 4095 bytes and the NUL, a whole struct. */
	memset(path, 'p', TG_PATH_LEN - 1);
	size = wire(&raw, path, &buf);
	assert_int_equal(size, sizeof(struct tg_event));
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	assert_int_equal(strlen(out.path), TG_PATH_LEN - 1);
	free(buf);
	/* A shorter one after it: out->path ends at its own NUL. */
	size = wire(&raw, "/tmp/a", &buf);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	assert_string_equal(out.path, "/tmp/a");
	/* Any other size for the same bytes is refused, and says what it expected. */
	for (size_t n = 0; n < size; n++) {
		err[0] = 0;
		assert_int_equal(tg_event_decode(buf, n, &out, err, sizeof(err)), -1);
		assert_true(err[0]);
	}
	assert_int_equal(tg_event_decode(buf, TG_EVENT_HDR_LEN, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected"));
	assert_int_equal(tg_event_decode(buf, sizeof(struct tg_event) + 8, &out, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "expected"));
	free(buf);
}

static void set_path_len(unsigned char *buf, uint32_t v)
{
	memcpy(buf + offsetof(struct tg_event, path_len), &v, sizeof(v));
}

/* Records whose size, path_len and path disagree. */
static void test_decode_malformed(void **state)
{
	static struct tg_event raw, out;
	unsigned char *buf;
	char err[160];
	size_t size;

	(void)state;
	memset(&raw, 0, sizeof(raw));
	raw.kind = TG_KIND_OPEN;
	raw.syscall = TG_SYS_OPEN;
	size = wire(&raw, "/tmp/abc", &buf);
	/* path_len says more, or less, than the record holds. */
	set_path_len(buf, 10);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path_len says 10"));
	set_path_len(buf, 0);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path_len"));
	set_path_len(buf, 9);
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), 0);
	/* No NUL in the path's bytes: not terminated within the record. */
	buf[size - 1] = 'c';
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not NUL-terminated"));
	/* A NUL before the last byte: path_len counts bytes that are not the path. */
	buf[size - 1] = 0;
	buf[TG_EVENT_HDR_LEN + 4] = 0;
	assert_int_equal(tg_event_decode(buf, size, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL at byte 4 of 9"));
	free(buf);
}

/* The budget per user: per uid and minute, whatever the keys; the rest counted by uid. */
static void test_user_budget(void **state)
{
	struct tg_budget *b = tg_budget_new();
	const uint64_t min = 60ULL * 1000000000ULL;
	uint32_t uids[4];
	uint64_t counts[4];
	int printed = 0;

	(void)state;
	assert_non_null(b);
	for (int i = 0; i < 500; i++) {
		int why = tg_budget_allow(b, 65534, 5 * min + (uint64_t)i, 120, 100000);

		assert_true(why == 0 || why == TG_BUDGET_USER);
		printed += !why;
	}
	assert_int_equal(printed, 120);
	/* another user is not touched by the first one's flood */
	assert_int_equal(tg_budget_allow(b, 0, 5 * min + 2000, 120, 100000), 0);
	/* a record a little late from another CPU stays in this window */
	assert_int_equal(tg_budget_allow(b, 65534, 5 * min - 1, 120, 100000), TG_BUDGET_USER);
	/* a new minute, a new budget */
	assert_int_equal(tg_budget_allow(b, 65534, 6 * min, 120, 100000), 0);
	assert_int_equal(tg_budget_total(b), 381);
	assert_int_equal(tg_budget_by_host(b), 0);
	assert_int_equal(tg_budget_suppressed(b, uids, counts, 4), 1);
	assert_int_equal(uids[0], 65534);
	assert_int_equal(counts[0], 381);
	tg_budget_free(b);
}

/* The host's budget: past it, each user still has the first TG_BUDGET_FLOOR of a minute;
 * past TG_BUDGET_USERS users, the rest share one budget, reported as uid 4294967295. */
static void test_host_budget(void **state)
{
	struct tg_budget *b = tg_budget_new();
	const uint64_t min = 60ULL * 1000000000ULL;
	uint32_t uids[8];
	uint64_t counts[8];
	int printed = 0;

	(void)state;
	assert_non_null(b);
	/* 100 users, 50 findings each, a host budget of 1000 */
	for (uint32_t u = 0; u < 100; u++)
		for (int i = 0; i < 50; i++)
			printed += !tg_budget_allow(b, 1000 + u, min, 120, 1000);
	/* the first 20 users fill the host's 1000, the other 80 have their floor each */
	assert_int_equal(printed, 1000 + 80 * TG_BUDGET_FLOOR);
	assert_int_equal(tg_budget_by_host(b), 100 * 50 - printed);
	/* a user new this minute still gets its first findings: the attack is printed */
	for (int i = 0; i < TG_BUDGET_FLOOR; i++)
		assert_int_equal(tg_budget_allow(b, 0, min + 1, 120, 1000), 0);
	assert_int_equal(tg_budget_allow(b, 0, min + 2, 120, 1000), TG_BUDGET_HOST);
	/* a new minute: the host's budget again */
	assert_int_equal(tg_budget_allow(b, 0, 2 * min, 120, 1000), 0);
	tg_budget_free(b);

	b = tg_budget_new();
	assert_non_null(b);
	for (uint32_t u = 1; u <= TG_BUDGET_USERS + 10; u++)
		assert_int_equal(tg_budget_allow(b, 100000 + u, 5000, 1, 100000),
				 u > TG_BUDGET_USERS + 1 ? TG_BUDGET_USER : 0);
	for (uint32_t u = 1; u <= TG_BUDGET_USERS; u++)
		assert_int_equal(tg_budget_allow(b, 100000 + u, 5001, 1, 100000), TG_BUDGET_USER);
	/* the most suppressed first: the others (the second round's last 9 users, once the
	 * table was full: the first round's 9 suppressed users had taken slots), then one
	 * each, by uid */
	assert_int_equal(tg_budget_suppressed(b, uids, counts, 8), TG_BUDGET_USERS + 1);
	assert_int_equal(uids[0], UINT32_MAX);
	assert_int_equal(counts[0], 9);
	assert_int_equal(uids[1], 100001);
	assert_int_equal(uids[7], 100007);
	assert_int_equal(counts[7], 1);
	assert_int_equal(tg_budget_total(b), 9 + TG_BUDGET_USERS);
	tg_budget_free(b);
}

/* What a summary lists past its limit: the most severe, then the most counted, in order. */
static void test_agg_top(void **state)
{
	struct tg_agg_entry e[6] = {
		{.severity = TG_SEV_HIGH, .count = 5},	   {.severity = TG_SEV_LOW, .count = 900},
		{.severity = TG_SEV_CRITICAL, .count = 1}, {.severity = TG_SEV_HIGH, .count = 7},
		{.severity = TG_SEV_MEDIUM, .count = 2},   {.severity = TG_SEV_HIGH, .count = 5},
	};
	const struct tg_agg_entry *ents[6];
	size_t idx[6];

	(void)state;
	for (int i = 0; i < 6; i++)
		ents[i] = &e[i];
	/* critical 2, high 3 (7), then high 0 and 5 (5 each: the first) */
	assert_int_equal(tg_agg_top(ents, 6, 3, idx), 3);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 3);
	/* within the limit: all, in order */
	assert_int_equal(tg_agg_top(ents, 6, 6, idx), 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(idx[i], i);
	assert_int_equal(tg_agg_top(ents, 0, 3, idx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_budget),
		cmocka_unit_test(test_host_budget),
		cmocka_unit_test(test_agg_top),
		cmocka_unit_test(test_path_pattern),
		cmocka_unit_test(test_pattern_truncates),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_aggregate_share_per_user),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_sizes),
		cmocka_unit_test(test_decode_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
