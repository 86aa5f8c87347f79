// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Output sinks, for real in a scratch directory: rotation (sizes, the session record at the
 * head of every file, keep-N, planted symlinks), the refusals of untrusted places, write errors
 * counted and said once per burst, a partial write cut back, and the syslog message shrinking.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "sink.h"
#include "summary.h"

struct scratch {
	char dir[64];
	char path[128];
	char *diag_buf;
	size_t diag_len;
	FILE *diag;
};

static int setup(void **state)
{
	struct scratch *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/tg-unit-sink-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/out.json", t->dir);
	t->diag = open_memstream(&t->diag_buf, &t->diag_len);
	assert_non_null(t->diag);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *t = *state;
	char cmd[128];

	fclose(t->diag);
	free(t->diag_buf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static json_object *record(const char *type, int seq, size_t pad)
{
	json_object *o = json_object_new_object();
	char *filler = malloc(pad + 1);

	assert_non_null(filler);
	memset(filler, 'x', pad);
	filler[pad] = 0;
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "time", json_object_new_string("2026-11-28T06:30:00.000000000Z"));
	json_object_object_add(o, "host", json_object_new_string("h"));
	json_object_object_add(o, "rule", json_object_new_string("nonexclusive-create"));
	json_object_object_add(o, "severity", json_object_new_string("high"));
	json_object_object_add(o, "seq", json_object_new_int(seq));
	json_object_object_add(o, "filler", json_object_new_string(filler));
	free(filler);
	return o;
}

/* A record of that kind with the JSON form JSON output prints (all the JSON format reads). */
static void put(struct tg_sinks *k, enum tg_record_kind kind, int seq, size_t pad)
{
	const struct tg_record rec = {.kind = kind,
				      .json = record(tg_record_kind_name(kind), seq, pad)};

	tg_sinks_record(k, &rec);
	json_object_put(rec.json);
}

/* The sinks' counts as the summary record holds them. */
static void stats_json(const struct tg_sinks *k, json_object *summary)
{
	struct tg_sink_stats st;

	tg_sinks_stats(k, &st);
	tg_sink_stats_json(&st, summary);
}

/* Every line of path as a JSON object; asserts the file is whole lines of JSON. */
static size_t read_lines(const char *path, json_object **out, size_t max, size_t *bytes)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	assert_non_null(f);
	*bytes = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		assert_int_equal(line[len - 1], '\n');
		*bytes += (size_t)len;
		assert_true(n < max);
		out[n] = json_tokener_parse(line);
		if (!out[n])
			fail_msg("not JSON in %s: %s", path, line);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

static const char *type_of(json_object *o)
{
	json_object *v;

	return json_object_object_get_ex(o, "type", &v) ? json_object_get_string(v) : "";
}

static int seq_of(json_object *o)
{
	json_object *v;

	return json_object_object_get_ex(o, "seq", &v) ? json_object_get_int(v) : -1;
}

static struct tg_sinks *open_json_at(struct scratch *t, const char *path, uint64_t rotate,
				     unsigned keep)
{
	char err[512] = "";
	struct tg_sinks *k = tg_sinks_open(&(struct tg_sink_opts){.format = TG_FORMAT_JSON,
								  .path = path,
								  .rotate_bytes = rotate,
								  .rotate_keep = keep,
								  .diag = t->diag},
					   err, sizeof(err));

	if (!k)
		fail_msg("tg_sinks_open: %s", err);
	return k;
}

static struct tg_sinks *open_json(struct scratch *t, uint64_t rotate, unsigned keep)
{
	return open_json_at(t, t->path, rotate, keep);
}

static void test_pure_maps(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(tg_format_parse("text"), TG_FORMAT_TEXT);
	assert_int_equal(tg_format_parse("json"), TG_FORMAT_JSON);
	assert_int_equal(tg_format_parse("falco"), TG_FORMAT_FALCO);
	assert_int_equal(tg_format_parse("JSON"), -1);
	assert_int_equal(tg_syslog_facility_parse("daemon"), LOG_DAEMON);
	assert_int_equal(tg_syslog_facility_parse("local0"), LOG_LOCAL0);
	assert_int_equal(tg_syslog_facility_parse("local7"), LOG_LOCAL7);
	assert_int_equal(tg_syslog_facility_parse("auth"), LOG_AUTH);
	assert_int_equal(tg_syslog_facility_parse("authpriv"), LOG_AUTHPRIV);
	assert_int_equal(tg_syslog_facility_parse("local8"), -1);
	assert_int_equal(tg_syslog_facility_parse("kern"), -1);
	assert_int_equal(tg_syslog_severity("critical"), LOG_CRIT);
	assert_int_equal(tg_syslog_severity("high"), LOG_ERR);
	assert_int_equal(tg_syslog_severity("medium"), LOG_WARNING);
	assert_int_equal(tg_syslog_severity("low"), LOG_NOTICE);
	assert_int_equal(tg_syslog_severity("info"), -1);

	assert_int_equal(tg_rotated_name("out.json", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "out.json");
	assert_int_equal(tg_rotated_name("out.json", 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "out.json.1");
	assert_int_equal(tg_rotated_name("out.json", 1000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "out.json.1000");
	assert_int_equal(tg_rotated_name("out.json", 1000, buf, 13), -1);
}

/* Who reads a record's JSON form: the JSON format, syslog beside text; not Falco. */
static void test_want_json(void **state)
{
	struct scratch *t = *state;
	static const struct {
		enum tg_format format;
		bool syslog, want;
	} cases[] = {
		{TG_FORMAT_JSON, false, true},	 {TG_FORMAT_JSON, true, true},
		{TG_FORMAT_FALCO, false, false}, {TG_FORMAT_FALCO, true, false},
		{TG_FORMAT_TEXT, false, false},	 {TG_FORMAT_TEXT, true, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct tg_sinks *k =
			tg_sinks_open(&(struct tg_sink_opts){.format = cases[i].format,
							     .path = t->path,
							     .syslog = cases[i].syslog,
							     .syslog_facility = LOG_LOCAL7,
							     .diag = t->diag},
				      err, sizeof(err));

		if (!k)
			fail_msg("tg_sinks_open: %s", err);
		assert_int_equal(tg_sinks_want_json(k), cases[i].want);
		tg_sinks_close(k);
	}
	assert_false(tg_sinks_want_json(NULL));
}

static void test_record_syslog_severity(void **state)
{
	struct tg_report r = {.finding = {TG_RULE_NONEXCLUSIVE_CREATE, TG_SEV_HIGH}};
	struct tg_loss loss = {.lost = 1};
	struct tg_summary sum;
	struct tg_record rec = {.kind = TG_RECORD_FINDING, .finding = &r};

	(void)state;
	memset(&sum, 0, sizeof(sum));
	assert_int_equal(tg_record_syslog_severity(&rec), LOG_ERR);
	r.finding.severity = TG_SEV_CRITICAL;
	assert_int_equal(tg_record_syslog_severity(&rec), LOG_CRIT);
	rec = (struct tg_record){.kind = TG_RECORD_LOSS, .loss = &loss};
	assert_int_equal(tg_record_syslog_severity(&rec), LOG_WARNING);
	rec = (struct tg_record){.kind = TG_RECORD_SUMMARY, .summary = &sum};
	sum.events.lost = 0;
	assert_int_equal(tg_record_syslog_severity(&rec), LOG_INFO);
	sum.events.lost = 3;
	assert_int_equal(tg_record_syslog_severity(&rec), LOG_WARNING);
	rec = (struct tg_record){.kind = TG_RECORD_SESSION};
	assert_int_equal(tg_record_syslog_severity(&rec), -1);
	rec = (struct tg_record){.kind = TG_RECORD_HEALTH};
	assert_int_equal(tg_record_syslog_severity(&rec), -1);
}

/*
 * 4 KiB files, keep 3, 100 records of ~300 bytes after one session record: every file is
 * whole lines, at most 4 KiB, starts with the session record; the newest records survive, in
 * order, none twice, none missing from the ones kept.
 */
static void test_rotation(void **state)
{
	struct scratch *t = *state;
	struct tg_sinks *k = open_json(t, 4096, 3);
	json_object *lines[64], *summary = json_object_new_object(), *out, *v;
	const char *names[] = {".3", ".2", ".1", ""};
	char p[160];
	struct stat st;
	int expect = -1, kept = 0;

	put(k, TG_RECORD_SESSION, -1, 100);
	for (int i = 0; i < 100; i++)
		put(k, TG_RECORD_FINDING, i, 200);
	stats_json(k, summary);
	tg_sinks_close(k);

	snprintf(p, sizeof(p), "%s.4", t->path);
	assert_int_equal(stat(p, &st), -1); /* keep-N: FILE.4 never exists */
	for (size_t f = 0; f < 4; f++) {
		size_t bytes, n;

		snprintf(p, sizeof(p), "%s%s", t->path, names[f]);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);
		n = read_lines(p, lines, 64, &bytes);
		assert_true(bytes <= 4096);
		assert_int_equal(bytes, (size_t)st.st_size);
		assert_true(n >= 2);
		assert_string_equal(type_of(lines[0]), "session");
		for (size_t i = 1; i < n; i++) {
			assert_string_equal(type_of(lines[i]), "finding");
			if (expect >= 0)
				assert_int_equal(seq_of(lines[i]), expect);
			expect = seq_of(lines[i]) + 1;
			kept++;
		}
		for (size_t i = 0; i < n; i++)
			json_object_put(lines[i]);
	}
	assert_int_equal(expect, 100); /* the newest record is the last line of FILE */
	assert_true(kept < 100);       /* and the oldest ones went with FILE.4 */
	assert_true(json_object_object_get_ex(summary, "output", &out));
	assert_true(json_object_object_get_ex(out, "rotations", &v));
	assert_true(json_object_get_int(v) > 3);
	assert_true(json_object_object_get_ex(out, "records_written", &v));
	assert_int_equal(json_object_get_int(v), 101);
	assert_true(json_object_object_get_ex(out, "records_failed", &v));
	assert_int_equal(json_object_get_int(v), 0);
	json_object_put(summary);
	fflush(t->diag);
	assert_int_equal(t->diag_len, 0);
}

/* All kept: the records across the files are exactly those written, each once. */
static void test_rotation_loses_nothing(void **state)
{
	struct scratch *t = *state;
	struct tg_sinks *k = open_json(t, 2048, 1000);
	json_object *lines[64];
	char p[160];
	int next = 0, files = 0;
	struct stat st;

	put(k, TG_RECORD_SESSION, -1, 50);
	for (int i = 0; i < 200; i++)
		put(k, TG_RECORD_FINDING, i, 100 + (i * 37) % 900);
	tg_sinks_close(k);
	for (int f = 1000; f >= 0; f--) {
		size_t bytes, n;

		assert_int_equal(tg_rotated_name(t->path, (unsigned)f, p, sizeof(p)), 0);
		if (stat(p, &st))
			continue;
		files++;
		n = read_lines(p, lines, 64, &bytes);
		assert_true(bytes <= 2048);
		assert_string_equal(type_of(lines[0]), "session");
		for (size_t i = 1; i < n; i++)
			assert_int_equal(seq_of(lines[i]), next++);
		for (size_t i = 0; i < n; i++)
			json_object_put(lines[i]);
	}
	assert_int_equal(next, 200);
	assert_true(files > 10);
}

/* A record bigger than the limit still goes whole into a file of its own (after the header). */
static void test_record_larger_than_limit(void **state)
{
	struct scratch *t = *state;
	struct tg_sinks *k = open_json(t, 1024, 5);
	json_object *lines[8];
	size_t bytes, n;
	char p[160];

	put(k, TG_RECORD_SESSION, -1, 10);
	put(k, TG_RECORD_FINDING, 0, 100);
	put(k, TG_RECORD_FINDING, 1, 3000);
	put(k, TG_RECORD_FINDING, 2, 100);
	tg_sinks_close(k);
	snprintf(p, sizeof(p), "%s.1", t->path);
	n = read_lines(p, lines, 8, &bytes);
	assert_int_equal(n, 2);
	assert_int_equal(seq_of(lines[1]), 1);
	for (size_t i = 0; i < n; i++)
		json_object_put(lines[i]);
	n = read_lines(t->path, lines, 8, &bytes);
	assert_int_equal(n, 2);
	assert_string_equal(type_of(lines[0]), "session");
	assert_int_equal(seq_of(lines[1]), 2);
	for (size_t i = 0; i < n; i++)
		json_object_put(lines[i]);
}

/* Symlinks planted at rotation targets are replaced, never followed. */
static void test_planted_symlinks_not_followed(void **state)
{
	struct scratch *t = *state;
	char target[160], link1[160], link3[160], buf[64] = "";
	struct tg_sinks *k;
	struct stat st;
	FILE *f;

	snprintf(target, sizeof(target), "%s/precious", t->dir);
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	snprintf(link1, sizeof(link1), "%s.1", t->path);
	snprintf(link3, sizeof(link3), "%s.3", t->path);
	assert_int_equal(symlink(target, link1), 0);
	assert_int_equal(symlink(target, link3), 0);

	k = open_json(t, 1024, 3);
	put(k, TG_RECORD_SESSION, -1, 10);
	for (int i = 0; i < 40; i++)
		put(k, TG_RECORD_FINDING, i, 200);
	tg_sinks_close(k);

	f = fopen(target, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_null(fgets(buf + strlen(buf), sizeof(buf) - strlen(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	assert_int_equal(lstat(link1, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(link3, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void expect_refused(struct scratch *t, const char *path, uint64_t rotate, enum tg_format fmt,
			   const char *why)
{
	char err[512] = "";
	struct tg_sinks *k = tg_sinks_open(&(struct tg_sink_opts){.format = fmt,
								  .path = path,
								  .rotate_bytes = rotate,
								  .rotate_keep = 5,
								  .diag = t->diag},
					   err, sizeof(err));

	if (k) {
		tg_sinks_close(k);
		fail_msg("%s was accepted", path);
	}
	if (!strstr(err, why))
		fail_msg("refusing %s: '%s' does not say '%s'", path, err, why);
}

static void test_refusals(void **state)
{
	struct scratch *t = *state;
	char p[192], q[256];
	struct tg_sinks *k;
	int fd;

	/* the output itself a symlink */
	assert_int_equal(symlink("/etc/passwd", t->path), 0);
	expect_refused(t, t->path, 0, TG_FORMAT_JSON, "symlink");
	assert_int_equal(unlink(t->path), 0);

	/* a directory others can write that is not sticky; sticky is fine */
	snprintf(p, sizeof(p), "%s/open", t->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, 0777), 0);
	snprintf(q, sizeof(q), "%s/out.json", p);
	expect_refused(t, q, 0, TG_FORMAT_JSON, "not sticky");
	assert_int_equal(chmod(p, 01777), 0);
	k = open_json_at(t, q, 1 << 20, 2);
	put(k, TG_RECORD_SESSION, 0, 10);
	tg_sinks_close(k);
	assert_int_equal(access(q, F_OK), 0);

	/* the directory part a symlink */
	snprintf(p, sizeof(p), "%s/dirlink", t->dir);
	assert_int_equal(symlink(t->dir, p), 0);
	snprintf(q, sizeof(q), "%s/out2.json", p);
	expect_refused(t, q, 0, TG_FORMAT_JSON, "symlink");

	/* an existing file others can write, or with a second link */
	snprintf(p, sizeof(p), "%s/loose.json", t->dir);
	fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	fchmod(fd, 0666);
	close(fd);
	expect_refused(t, p, 0, TG_FORMAT_JSON, "writable by group or others");
	assert_int_equal(chmod(p, 0600), 0);
	snprintf(q, sizeof(q), "%s/hardlink", t->dir);
	assert_int_equal(link(p, q), 0);
	expect_refused(t, p, 0, TG_FORMAT_JSON, "links");

	/* rotation needs a file, and lines */
	expect_refused(t, NULL, 1 << 20, TG_FORMAT_JSON, "--output");
	expect_refused(t, t->path, 1 << 20, TG_FORMAT_TEXT, "--format json or falco");
	expect_refused(t, "/dev/null", 1 << 20, TG_FORMAT_JSON, "not a regular file");
	snprintf(p, sizeof(p), "%s/", t->dir);
	expect_refused(t, p, 0, TG_FORMAT_JSON, "directory");
}

/* An existing file of ours is appended to; a new one is 0600 whatever the umask. */
static void test_append_and_mode(void **state)
{
	struct scratch *t = *state;
	json_object *lines[8];
	struct tg_sinks *k;
	struct stat st;
	size_t bytes, n;
	mode_t old = umask(0);

	k = open_json(t, 0, 0);
	put(k, TG_RECORD_FINDING, 1, 10);
	tg_sinks_close(k);
	umask(old);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	k = open_json(t, 0, 0);
	put(k, TG_RECORD_FINDING, 2, 10);
	tg_sinks_close(k);
	n = read_lines(t->path, lines, 8, &bytes);
	assert_int_equal(n, 2);
	assert_int_equal(seq_of(lines[0]), 1);
	assert_int_equal(seq_of(lines[1]), 2);
	json_object_put(lines[0]);
	json_object_put(lines[1]);
}

/* /dev/full: every write fails with ENOSPC; counted each time, said once. */
static void test_errors_counted_said_once(void **state)
{
	struct scratch *t = *state;
	char err[512] = "";
	json_object *summary = json_object_new_object(), *out, *v;
	struct tg_sinks *k = tg_sinks_open(&(struct tg_sink_opts){.format = TG_FORMAT_JSON,
								  .path = "/dev/full",
								  .diag = t->diag},
					   err, sizeof(err));

	if (!k)
		fail_msg("%s", err);
	for (int i = 0; i < 5; i++)
		put(k, TG_RECORD_FINDING, i, 10);
	stats_json(k, summary);
	tg_sinks_close(k);
	fflush(t->diag);
	assert_int_equal(count_str(t->diag_buf, "cannot write to /dev/full: No space left"), 1);
	assert_int_equal(count_str(t->diag_buf, "5 records could not be written to /dev/full"), 1);
	assert_true(json_object_object_get_ex(summary, "output", &out));
	assert_true(json_object_object_get_ex(out, "records_failed", &v));
	assert_int_equal(json_object_get_int(v), 5);
	json_object_put(summary);
}

/* A write cut short (RLIMIT_FSIZE) leaves no half line; the next burst is said again. */
static void test_partial_write_cut_back(void **state)
{
	struct scratch *t = *state;
	struct rlimit old, lim;
	json_object *lines[8];
	struct tg_sinks *k = open_json(t, 0, 0);
	size_t bytes, n, one;
	struct stat st;

	signal(SIGXFSZ, SIG_IGN);
	put(k, TG_RECORD_FINDING, 0, 300);
	assert_int_equal(stat(t->path, &st), 0);
	one = (size_t)st.st_size;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = one * 2 + one / 2; /* room for 1.5 more */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	put(k, TG_RECORD_FINDING, 1, 300); /* fits */
	put(k, TG_RECORD_FINDING, 2, 300); /* half of it would: cut back */
	put(k, TG_RECORD_FINDING, 3, 300); /* EFBIG */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	put(k, TG_RECORD_FINDING, 4, 300); /* works again */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	put(k, TG_RECORD_FINDING, 5, 300); /* a second burst */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	tg_sinks_close(k);
	signal(SIGXFSZ, SIG_DFL);

	n = read_lines(t->path, lines, 8, &bytes);
	assert_int_equal(n, 3);
	assert_int_equal(seq_of(lines[0]), 0);
	assert_int_equal(seq_of(lines[1]), 1);
	assert_int_equal(seq_of(lines[2]), 4);
	for (size_t i = 0; i < n; i++)
		json_object_put(lines[i]);
	fflush(t->diag);
	assert_int_equal(count_str(t->diag_buf, "cannot write to"), 2);
	assert_int_equal(count_str(t->diag_buf, "works again (2 failures so far)"), 1);
	assert_int_equal(count_str(t->diag_buf, "3 records could not be written"), 1);
}

/* A nearly full disk: short records still fit between refused long ones. That is not "works
 * again": the failure is said once, not at every record, until a record as long as a refused
 * one is written. */
static void test_nearly_full_said_once(void **state)
{
	struct scratch *t = *state;
	struct rlimit old, lim;
	struct tg_sinks *k = open_json(t, 0, 0);
	struct stat st;

	signal(SIGXFSZ, SIG_IGN);
	put(k, TG_RECORD_FINDING, 0, 100);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 5000; /* one long record and the short ones */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 1; i <= 20; i++)
		put(k, TG_RECORD_FINDING, i,
		    i % 2 ? 3000 : 20); /* the long ones fail from the 3rd */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	fflush(t->diag);
	assert_int_equal(count_str(t->diag_buf, "cannot write to"), 1);
	assert_int_equal(count_str(t->diag_buf, "works again ("), 0);
	put(k, TG_RECORD_FINDING, 21, 20); /* short: still the same burst */
	fflush(t->diag);
	assert_int_equal(count_str(t->diag_buf, "works again ("), 0);
	put(k, TG_RECORD_FINDING, 22, 3000); /* as long as the refused ones: it works again */
	tg_sinks_close(k);
	signal(SIGXFSZ, SIG_DFL);
	fflush(t->diag);
	assert_int_equal(count_str(t->diag_buf, "cannot write to"), 1);
	assert_int_equal(count_str(t->diag_buf, "works again (9 failures so far)"), 1);
}

/* The session record copied at the head of each file is the latest one. */
static void test_header_is_latest_session(void **state)
{
	struct scratch *t = *state;
	struct tg_sinks *k = open_json(t, 1024, 2);
	json_object *lines[8];
	size_t bytes, n;

	put(k, TG_RECORD_SESSION, 100, 10);
	put(k, TG_RECORD_FINDING, 0, 600);
	put(k, TG_RECORD_SESSION, 200, 10);
	put(k, TG_RECORD_FINDING, 1, 600);
	put(k, TG_RECORD_FINDING, 2, 600);
	tg_sinks_close(k);
	n = read_lines(t->path, lines, 8, &bytes);
	assert_int_equal(n, 2);
	assert_string_equal(type_of(lines[0]), "session");
	assert_int_equal(seq_of(lines[0]), 200);
	assert_int_equal(seq_of(lines[1]), 2);
	for (size_t i = 0; i < n; i++)
		json_object_put(lines[i]);
}

static size_t plain_len(json_object *o)
{
	size_t n = 0;

	json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	return n;
}

static bool in_list(json_object *o, const char *name)
{
	json_object *list;

	if (!json_object_object_get_ex(o, "syslog_truncated", &list))
		return false;
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)), name))
			return true;
	return false;
}

static void test_json_fit(void **state)
{
	json_object *o = record("finding", 7, 10), *proc = json_object_new_object(), *aggs, *re;
	char *path = malloc(4097), *cmd = malloc(2001);
	size_t len;

	(void)state;
	memset(path, 'p', 4096);
	path[0] = '/';
	path[4096] = 0;
	memset(cmd, 'c', 2000);
	cmd[2000] = 0;
	memcpy(cmd + 10, "\xc3\xa9\xc3\xa9\xc3\xa9", 6); /* UTF-8 never cut in two */
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(proc, "cmdline", json_object_new_string(cmd));
	json_object_object_add(o, "proc", proc);
	assert_true(plain_len(o) > 6000);
	len = tg_json_fit(o, 3000);
	assert_true(len <= 3000);
	assert_int_equal(plain_len(o), len);
	assert_true(in_list(o, "path"));
	assert_int_equal(seq_of(o), 7);
	/* Still valid JSON, the same keys. */
	re = json_tokener_parse(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	assert_non_null(re);
	json_object_put(re);
	len = tg_json_fit(o, 1200);
	assert_true(len <= 1200);
	assert_true(in_list(o, "proc.cmdline"));
	json_object_put(o);

	/* A summary's long list of short entries: the list is halved, not each string. */
	o = record("summary", 1, 10);
	aggs = json_object_new_array();
	for (int i = 0; i < 500; i++) {
		json_object *a = json_object_new_object();

		json_object_object_add(a, "pattern", json_object_new_string("/tmp/build.*.o"));
		json_object_object_add(a, "count", json_object_new_int(i));
		json_object_array_add(aggs, a);
	}
	json_object_object_add(o, "aggregates", aggs);
	len = tg_json_fit(o, 8000);
	assert_true(len <= 8000);
	assert_true(in_list(o, "aggregates"));
	assert_true(json_object_array_length(aggs) > 10);
	json_object_put(o);

	/* Below what can be cut: stops, over the limit, without looping. */
	o = record("loss", 1, 0);
	len = tg_json_fit(o, 10);
	assert_true(len > 10);
	json_object_put(o);
	free(path);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pure_maps),
		cmocka_unit_test(test_record_syslog_severity),
		cmocka_unit_test_setup_teardown(test_want_json, setup, teardown),
		cmocka_unit_test(test_json_fit),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_larger_than_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_symlinks_not_followed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_counted_said_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_write_cut_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nearly_full_said_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_is_latest_session, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
