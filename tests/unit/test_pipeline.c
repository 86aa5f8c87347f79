// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The record pipeline (pipeline.h): hand-made records on the wire, as the BPF side sends them,
 * through tg_pipeline_record with a fake host that records every call. Covers the directory
 * verdict when nothing resolves, the LSM's refusals, the policy's severities and exceptions
 * (by acting user, and that they never hide a refusal), the rate limit, the budgets, and what
 * the host is asked once per record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "advice.h"
#include "pipeline.h"
#include "policy.h"

#define SEC_NS	    1000000000ULL
#define MAX_EMITTED 32

/* What the pipeline showed of one emitted finding. */
struct emitted {
	enum tg_rule rule;
	enum tg_severity severity;
	uint32_t action;
	enum tg_lang lang;
	bool same_event;
	bool dir_unknown;
	uint64_t count;
	char pattern[256];
	char name[TG_NAME_LEN];
	char base_dir[64];
	const char *base_status;
	const char *host;
	bool has_callsite;
	uint32_t callsite_line;
	const struct tg_callsite *callsite;
};

/* The fake host: what it answers, and every call it got. */
static struct {
	int resolve_result; /* resolve_dir's return */
	bool resolve_shared;
	enum tg_link_state link;
	struct tg_proc_info proc;
	const struct tg_callsite *shell; /* shell_site's answer */
	unsigned shell_calls;
	char shell_cwd[64]; /* the cwd shell_site was given ("" for NULL) */
	/* calls */
	int resolve_calls, link_calls, proc_calls, user_calls, base_calls;
	size_t resolve_n_shared;
	uint32_t last_user_uid;
	int n_emitted;
	struct emitted emitted[MAX_EMITTED];
	int budget_calls, budget_why;
	uint32_t budget_uid;
	int malformed_calls;
	char malformed_why[128];
	int callsite_calls;
	uint32_t callsite_tid; /* the capture's */
	int callsite_ret;      /* what the fake callsite() returns */
	int learn_calls;       /* captures handed to callsite_learn() */
} host;

static struct tg_pipeline pl;
static struct tg_policy *pol;
static uint64_t hits[8];
static const struct tg_dir_key shared_dirs[2];

static int fake_resolve_dir(void *ctx, const struct tg_event *e, const struct tg_dir_key *shared,
			    size_t n_shared, struct tg_dir_verdict *v)
{
	(void)ctx;
	(void)e;
	assert_ptr_equal(shared, shared_dirs);
	host.resolve_calls++;
	host.resolve_n_shared = n_shared;
	if (host.resolve_result)
		return host.resolve_result;
	memset(v, 0, sizeof(*v));
	v->shared = host.resolve_shared;
	v->is_holding_dir = true;
	return 0;
}

static enum tg_link_state fake_requested_link(void *ctx, const struct tg_event *e, bool *own)
{
	(void)ctx;
	(void)e;
	host.link_calls++;
	*own = false;
	return host.link;
}

static const struct tg_proc_info *fake_proc(void *ctx, const struct tg_event *e)
{
	(void)ctx;
	(void)e;
	host.proc_calls++;
	return &host.proc;
}

/* NSS as the test's passwd: 0 root, 1000 alice, 1001 bob. */
static const char *fake_user_name(void *ctx, uint32_t uid, char *buf, size_t len)
{
	(void)ctx;
	host.user_calls++;
	host.last_user_uid = uid;
	if (uid == 0)
		snprintf(buf, len, "root");
	else if (uid == 1000)
		snprintf(buf, len, "alice");
	else if (uid == 1001)
		snprintf(buf, len, "bob");
	else
		snprintf(buf, len, "%u", uid);
	return buf;
}

static const char *fake_base_dir(void *ctx, const struct tg_event *e, char *buf, size_t len)
{
	(void)ctx;
	host.base_calls++;
	if (e->path[0] == '/')
		return "absolute";
	snprintf(buf, len, "/home/alice");
	return "ok";
}

/* A shell's call site: host.shell (NULL: the process is no shell). */
static const struct tg_callsite *fake_shell_site(void *ctx, const struct tg_event *e,
						 const struct tg_proc_info *p, const char *cwd)
{
	(void)ctx;
	(void)e;
	assert_ptr_equal(p, &host.proc);
	host.shell_calls++;
	snprintf(host.shell_cwd, sizeof(host.shell_cwd), "%s", cwd ? cwd : "");
	return host.shell;
}

static void fake_emit(void *ctx, const struct tg_report *r)
{
	struct emitted *m;

	(void)ctx;
	assert_true(host.n_emitted < MAX_EMITTED);
	m = &host.emitted[host.n_emitted++];
	assert_ptr_equal(r->proc, &host.proc);
	m->rule = r->finding.rule;
	m->severity = r->finding.severity;
	m->action = r->action;
	m->lang = r->lang;
	m->same_event = r->same_event;
	m->dir_unknown = r->dir.unknown;
	m->count = r->count;
	snprintf(m->pattern, sizeof(m->pattern), "%s", r->pattern);
	snprintf(m->name, sizeof(m->name), "%s", r->e->name);
	snprintf(m->base_dir, sizeof(m->base_dir), "%s", r->base_dir);
	m->base_status = r->base_status;
	m->host = r->host;
	m->callsite = r->callsite;
	m->callsite_line = r->callsite ? r->callsite->frames[0].line : 0;
	m->has_callsite = r->callsite != NULL;
}

/* The capture's tid as the line of its only frame, for the test to see which one it got. */
static int fake_callsite(void *ctx, const struct tg_event *e, const void *capture, size_t size,
			 struct tg_callsite *cs)
{
	const struct tg_stack *s = capture;

	(void)ctx;
	(void)e;
	assert_true(size >= TG_STACK_CWD_OFF);
	host.callsite_calls++;
	host.callsite_tid = s->tid;
	memset(cs, 0, sizeof(*cs));
	cs->kind = TG_CS_NATIVE;
	cs->n = 1;
	cs->frames[0].line = s->tid;
	return host.callsite_ret;
}

static void fake_learn(void *ctx, const struct tg_event *e, const void *capture, size_t size)
{
	(void)ctx;
	(void)e;
	(void)capture;
	assert_true(size >= TG_STACK_CWD_OFF);
	host.learn_calls++;
}

static void fake_budget_warn(void *ctx, int why, uint32_t uid)
{
	(void)ctx;
	host.budget_calls++;
	host.budget_why = why;
	host.budget_uid = uid;
}

static void fake_malformed(void *ctx, const char *why)
{
	(void)ctx;
	host.malformed_calls++;
	snprintf(host.malformed_why, sizeof(host.malformed_why), "%s", why);
}

static const struct tg_pipeline_cb fake_cb = {
	.resolve_dir = fake_resolve_dir,
	.requested_link = fake_requested_link,
	.proc = fake_proc,
	.user_name = fake_user_name,
	.base_dir = fake_base_dir,
	.shell_site = fake_shell_site,
	.emit = fake_emit,
	.budget_warn = fake_budget_warn,
	.malformed = fake_malformed,
	.callsite = fake_callsite,
	.callsite_learn = fake_learn,
};

static struct tg_policy *parse_policy(const char *yaml)
{
	struct tg_policy *p;
	char err[512];

	p = tg_policy_parse("test.yaml", yaml, strlen(yaml), err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	return p;
}

/* Makes yaml the policy in force, with its classifier settings, counting into hits. */
static void use_policy(const char *yaml)
{
	struct tg_rules_config rc;

	tg_policy_free(pol);
	pol = parse_policy(yaml);
	assert_true(pol->n_exceptions <= sizeof(hits) / sizeof(hits[0]));
	tg_policy_rules_config(pol, &rc);
	memset(hits, 0, sizeof(hits));
	tg_pipeline_set_policy(&pl, pol, &rc, shared_dirs, 2, hits);
}

static int setup(void **state)
{
	(void)state;
	memset(&host, 0, sizeof(host));
	snprintf(host.proc.exe, sizeof(host.proc.exe), "/usr/bin/python3.11");
	snprintf(host.proc.comm, sizeof(host.proc.comm), "python3");
	snprintf(host.proc.cgroup, sizeof(host.proc.cgroup), "/user.slice/user-1000.slice");
	assert_int_equal(tg_pipeline_init(&pl, &fake_cb, 1024, 256), 0);
	pl.host = "testhost";
	pl.boot_to_real_ns = 0;
	use_policy("version: 1\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tg_pipeline_fini(&pl);
	tg_policy_free(pol);
	pol = NULL;
	return 0;
}

/* alice's python3 opens /tmp/report.1234 with O_WRONLY|O_CREAT|O_TRUNC, 0600, and creates it in
 * /tmp: what the kernel sends for `open("/tmp/report.1234", O_CREAT | O_TRUNC)`. */
static struct tg_event open_event(void)
{
	struct tg_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TG_KIND_OPEN;
	e.syscall = TG_SYS_OPENAT;
	e.entry = TG_ENTRY_SYSCALL;
	e.flags = O_WRONLY | O_CREAT | O_TRUNC;
	e.mode = 0600;
	e.umask = 022;
	e.file_mode = 0100600;
	e.file_uid = 1000;
	e.file_nlink = 1;
	e.dir_mode = 041777;
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_SHARED;
	e.ts_ns = 600 * SEC_NS; /* a minute's start: budgets count per minute */
	e.pid = e.tid = 4242;
	e.ppid = 4000;
	e.sid = 4000;
	e.uid = e.euid = e.fsuid = 1000;
	e.dfd = -100;
	e.ret = 3;
	e.action = TG_ACT_NONE;
	e.rule = TG_R_NONE;
	snprintf(e.comm, sizeof(e.comm), "python3");
	snprintf(e.exe, sizeof(e.exe), "/usr/bin/python3.11");
	snprintf(e.name, sizeof(e.name), "report.1234");
	snprintf(e.path, sizeof(e.path), "/tmp/report.1234");
	return e;
}

/* The same create with 0666 under umask 0: nonexclusive-create, and loose-mode (critical: others
 * can write). */
static struct tg_event loose_open_event(void)
{
	struct tg_event e = open_event();

	e.mode = 0666;
	e.umask = 0;
	e.file_mode = 0100666;
	return e;
}

/* mkdir("/tmp/build.77", 0777) under umask 0. */
static struct tg_event mkdir_event(void)
{
	struct tg_event e = open_event();

	e.kind = TG_KIND_MKDIR;
	e.syscall = TG_SYS_MKDIRAT;
	e.flags = 0;
	e.mode = 0777;
	e.umask = 0;
	e.file_mode = 040777;
	e.facts = TG_F_IS_DIR | TG_F_REQDIR_SHARED;
	e.name[0] = 0; /* the kernel names no dentry for a mkdir */
	snprintf(e.path, sizeof(e.path), "/tmp/build.77");
	return e;
}

/* e on the wire: the header, then the path and its NUL, exactly that many bytes on the heap
 * (as test_aggregate.c's wire()); fed to the pipeline. Returns tg_pipeline_record's result. */
static int feed(const struct tg_event *e)
{
	size_t plen = strlen(e->path) + 1, size = TG_EVENT_HDR_LEN + plen;
	unsigned char *buf = malloc(size);
	struct tg_event h = *e;
	int ret;

	assert_non_null(buf);
	h.path_len = plen;
	memcpy(buf, &h, TG_EVENT_HDR_LEN);
	memcpy(buf + TG_EVENT_HDR_LEN, e->path, plen);
	ret = tg_pipeline_record(&pl, buf, size);
	free(buf);
	return ret;
}

static void test_plain_finding(void **state)
{
	struct tg_event e = open_event();
	const struct emitted *m = &host.emitted[0];

	(void)state;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(m->rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(m->severity, TG_SEV_HIGH);
	assert_int_equal(m->action, TG_ACT_NONE);
	assert_int_equal(m->lang, TG_LANG_PYTHON);
	assert_false(m->same_event);
	assert_false(m->dir_unknown);
	assert_int_equal(m->count, 1);
	assert_string_equal(m->pattern, "/tmp/report.*");
	assert_string_equal(m->host, "testhost");
	assert_null(m->base_status); /* an absolute path has no base directory */
	/* the kernel's verdict stood: nothing resolved, no link looked at */
	assert_int_equal(host.resolve_calls, 0);
	assert_int_equal(host.link_calls, 0);
	assert_int_equal(pl.received, 1);
	assert_int_equal(pl.worst, TG_SEV_HIGH);
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH], 1);
	assert_int_equal(pl.no_finding + pl.unresolved + pl.decode_errors + pl.suppressed, 0);

	/* the same create with O_EXCL: no finding, and no process looked up */
	e.flags |= O_EXCL;
	e.ts_ns += SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(pl.no_finding, 1);
	assert_int_equal(host.proc_calls, 1);
	assert_int_equal(host.base_calls, 1);
}

/* A call-site record (TG_KIND_STACK) of thread tid, as the kernel sends it before its event. */
static void feed_capture(uint32_t tid)
{
	struct tg_stack *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->kind = TG_KIND_STACK;
	s->tid = tid;
	s->stack_len = 8;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), 0);
	free(s);
}

/* A call-site record (TG_KIND_STACK) is kept for its thread's event, and only that thread's:
 * another thread's record may come between the two. It is not a record received. */
static void test_callsite_capture(void **state)
{
	struct tg_stack *s = calloc(1, sizeof(*s));
	struct tg_event e = open_event();

	(void)state;
	assert_non_null(s);
	s->kind = TG_KIND_STACK;
	s->tid = 777; /* another thread's, whose event is still to come */
	s->stack_len = 8;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), 0);
	s->tid = 4242;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), 0);
	assert_int_equal(pl.received, 0);
	assert_int_equal(pl.captured, 2);
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.callsite_calls, 1);
	assert_int_equal(host.callsite_tid, 4242);
	assert_int_equal(host.learn_calls, 0); /* resolved for its finding: nothing to learn */
	assert_true(host.emitted[0].has_callsite);
	assert_int_equal(host.emitted[0].callsite_line, 4242);
	/* taken: the thread's next event without a capture has no call site */
	e.ts_ns += SEC_NS;
	e.path[5] = 'x';
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_false(host.emitted[1].has_callsite);
	assert_int_equal(host.callsite_calls, 1);
	/* a malformed one (its stack_len is not its size) is dropped, said once */
	s->stack_len = 16;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), -EBADMSG);
	assert_int_equal(pl.decode_errors, 1);
	free(s);
}

/* A reference (TG_STK_F_REF: the header up to cwd and cwd_len bytes, naming a stack resolved
 * before) is a capture like a stack record, its cwd included; one the host no longer keeps
 * (-ESTALE) is counted with the unmatched captures; a reference of another size or naming
 * nothing is malformed. */
static void test_callsite_reference(void **state)
{
	struct tg_stack *s = calloc(1, sizeof(*s));
	struct tg_event e = open_event();

	(void)state;
	assert_non_null(s);
	s->kind = TG_KIND_STACK;
	s->tid = 4242;
	s->flags = TG_STK_F_REF;
	s->ref_id = 7;
	strcpy(s->cwd, "/srv/app");
	s->cwd_len = sizeof("/srv/app");
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_CWD_OFF + s->cwd_len), 0);
	assert_int_equal(pl.captured, 1);
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.callsite_calls, 1);
	assert_int_equal(host.emitted[0].callsite_line, 4242);
	assert_string_equal(host.shell_cwd, "/srv/app");
	assert_int_equal(pl.captures_unmatched, 0);
	/* no longer kept by the host */
	host.callsite_ret = -ESTALE;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_CWD_OFF + s->cwd_len), 0);
	e.ts_ns += SEC_NS;
	e.path[5] = 'x';
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.callsite_calls, 2);
	assert_int_equal(pl.captures_unmatched, 1);
	/* malformed: longer than the header and its cwd, or naming no call site */
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_CWD_OFF + s->cwd_len + 8), -EBADMSG);
	s->ref_id = 0;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_CWD_OFF + s->cwd_len), -EBADMSG);
	assert_int_equal(pl.decode_errors, 2);
	free(s);
}

/* A shell's call site: asked for each finding emitted, never for a record without one. */
static void test_shell_site(void **state)
{
	static struct tg_callsite cs = {.kind = TG_CS_SHELL, .n = 1, .site = 0};
	struct tg_event e = open_event();

	(void)state;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_null(host.emitted[0].callsite); /* no shell */
	assert_int_equal(host.shell_calls, 1);
	host.shell = &cs;
	e.ts_ns += SEC_NS;
	e.pid++;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_ptr_equal(host.emitted[1].callsite, &cs);
	assert_int_equal(host.shell_calls, 2);
	assert_string_equal(host.shell_cwd, ""); /* no capture: no directory */
	/* with O_EXCL: no finding, nothing asked */
	e.flags |= O_EXCL;
	e.ts_ns += SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.shell_calls, 2);
}

/* The current directory the kernel captured with the stack reaches the shell's call site (a
 * script named relatively is placed after the shell is gone); a malformed one does not. */
static void test_shell_site_cwd(void **state)
{
	struct tg_stack *s = calloc(1, sizeof(*s));
	struct tg_event e = open_event();

	(void)state;
	assert_non_null(s);
	s->kind = TG_KIND_STACK;
	s->tid = e.tid;
	s->stack_len = 8;
	strcpy(s->cwd, "/srv/repo");
	s->cwd_len = sizeof("/srv/repo");
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), 0);
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.shell_calls, 1);
	assert_string_equal(host.shell_cwd, "/srv/repo");
	/* its length does not end at its NUL: not passed on */
	s->cwd_len = 4;
	e.ts_ns += SEC_NS;
	e.pid++;
	assert_int_equal(tg_pipeline_record(&pl, s, TG_STACK_HDR_LEN + 8), 0);
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.shell_calls, 2);
	assert_string_equal(host.shell_cwd, "");
	free(s);
}

/* A relative path: the host names the directory it was resolved from. */
static void test_relative_path(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	snprintf(e.path, sizeof(e.path), "report.1234");
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_string_equal(host.emitted[0].base_status, "ok");
	assert_string_equal(host.emitted[0].base_dir, "/home/alice");
}

static void test_malformed(void **state)
{
	struct tg_event e = open_event();
	unsigned char *buf = malloc(sizeof(e));
	size_t size = TG_EVENT_HDR_LEN + strlen(e.path) + 1;

	(void)state;
	assert_non_null(buf);
	e.path_len = strlen(e.path) + 1;
	memcpy(buf, &e, size);
	/* cut short, a path_len that does not match, a kind that is none: dropped, counted,
	 * and said once */
	assert_int_equal(tg_pipeline_record(&pl, buf, size - 1), -EBADMSG);
	assert_int_equal(host.malformed_calls, 1);
	assert_non_null(strstr(host.malformed_why, "path_len"));
	((struct tg_event *)buf)->path_len = 3;
	assert_int_equal(tg_pipeline_record(&pl, buf, size), -EBADMSG);
	((struct tg_event *)buf)->path_len = e.path_len;
	((struct tg_event *)buf)->kind = 9;
	assert_int_equal(tg_pipeline_record(&pl, buf, size), -EBADMSG);
	assert_int_equal(tg_pipeline_record(&pl, buf, 7), -EBADMSG);
	assert_int_equal(host.malformed_calls, 1);
	assert_int_equal(pl.decode_errors, 4);
	assert_int_equal(pl.received, 4);
	assert_int_equal(host.n_emitted + host.proc_calls + host.resolve_calls, 0);
	/* a good record after them goes through */
	((struct tg_event *)buf)->kind = TG_KIND_OPEN;
	assert_int_equal(tg_pipeline_record(&pl, buf, size), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(pl.decode_errors, 4);
	free(buf);
}

/* The kernel could not tell which directory the caller named, and neither can the host (the
 * process is gone): an open is judged by its holding directory, and says so. */
static void test_unresolved_open(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	e.facts = TG_F_CREATED | TG_F_DIR_SHARED | TG_F_REQDIR_UNKNOWN;
	host.resolve_result = -1;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.resolve_calls, 1);
	assert_int_equal(host.resolve_n_shared, 2); /* the policy's shared dirs */
	assert_int_equal(pl.unresolved, 1);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_true(host.emitted[0].dir_unknown);
	/* a holding directory that is not shared: counted, no finding */
	e.facts &= ~TG_F_DIR_SHARED;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(pl.unresolved, 2);
	assert_int_equal(pl.no_finding, 1);
	assert_int_equal(host.n_emitted, 1);
	/* resolved by the host: its verdict, not unknown */
	e.path[5] = 'x'; /* not a repeat of the first */
	host.resolve_result = 0;
	host.resolve_shared = true;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(pl.unresolved, 2);
	assert_int_equal(host.n_emitted, 2);
	assert_false(host.emitted[1].dir_unknown);
}

/* A mkdir's holding directory is not known at all: dropped, counted; resolved, it is judged
 * and named after its path. */
static void test_unresolved_mkdir(void **state)
{
	struct tg_event e = mkdir_event();

	(void)state;
	e.facts = TG_F_IS_DIR | TG_F_REQDIR_UNKNOWN;
	host.resolve_result = -1;
	assert_int_equal(feed(&e), -ENOENT);
	assert_int_equal(pl.unresolved, 1);
	assert_int_equal(pl.no_finding, 0);
	assert_int_equal(host.n_emitted + host.proc_calls + host.base_calls, 0);
	host.resolve_result = 0;
	host.resolve_shared = true;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_LOOSE_TEMPDIR);
	assert_string_equal(host.emitted[0].name, "build.77");
	assert_int_equal(pl.unresolved, 1);
}

/* The opened file is not the one the path names: the host is asked what is there now. */
static void test_requested_link(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	e.facts |= TG_F_NAME_MISMATCH;
	e.file_uid = 0; /* root's file, reached through the link */
	e.facts &= ~TG_F_CREATED;
	host.link = TG_LINK_PRESENT;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.link_calls, 1);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_SYMLINK_FOLLOW);
	/* a hook saw the link followed: nothing to ask */
	e.facts |= TG_F_LINK_FOLLOWED;
	e.ts_ns += SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.link_calls, 1);
	assert_int_equal(host.n_emitted, 1); /* the same key within the minute: a repeat */
	assert_int_equal(pl.suppressed, 1);
}

/* The LSM refused the create: that decision is the one finding, at the severity its finding
 * had, whatever else the classifier found. */
static void test_lsm_denied(void **state)
{
	struct tg_event e = loose_open_event();

	(void)state;
	/* without a decision: two findings */
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(host.emitted[1].rule, TG_RULE_LOOSE_MODE);
	assert_int_equal(host.emitted[1].severity, TG_SEV_CRITICAL);

	host.n_emitted = 0;
	e.path[5] = 'x'; /* another name: not a repeat */
	e.action = TG_ACT_DENIED;
	e.rule = TG_R_LOOSE_MODE;
	e.ret = -13; /* EACCES */
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_LOOSE_MODE);
	assert_int_equal(host.emitted[0].severity, TG_SEV_CRITICAL);
	assert_int_equal(host.emitted[0].action, TG_ACT_DENIED);

	/* a rule the classifier did not find (the kernel saw a link user space cannot): high */
	host.n_emitted = 0;
	e.path[5] = 'y';
	e.rule = TG_R_SYMLINK_FOLLOW;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_SYMLINK_FOLLOW);
	assert_int_equal(host.emitted[0].severity, TG_SEV_HIGH);
	assert_int_equal(host.emitted[0].action, TG_ACT_DENIED);

	/* even where the classifier finds nothing (O_EXCL, a private mode) */
	host.n_emitted = 0;
	e = open_event();
	e.path[5] = 'z';
	e.flags |= O_EXCL;
	e.action = TG_ACT_DENIED;
	e.rule = TG_R_NONEXCLUSIVE_CREATE;
	e.ret = -13;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(host.emitted[0].severity, TG_SEV_HIGH);
	assert_int_equal(pl.no_finding, 0);
}

/* KILLED with a failed call is a refusal too (the LSM's kill); with a call that succeeded (the
 * fallback's kill after the fact) the classifier's findings stand, the killed one marked. */
static void test_lsm_killed(void **state)
{
	struct tg_event e = loose_open_event();

	(void)state;
	e.action = TG_ACT_KILLED;
	e.rule = TG_R_NONEXCLUSIVE_CREATE;
	e.ret = -4;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(host.emitted[0].severity, TG_SEV_HIGH);
	assert_int_equal(host.emitted[0].action, TG_ACT_KILLED);

	host.n_emitted = 0;
	e.path[5] = 'x';
	e.rule = TG_R_LOOSE_MODE;
	e.ret = 0; /* the file was opened (fd 0), then the process killed */
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(host.emitted[0].action, TG_ACT_NONE);
	assert_int_equal(host.emitted[1].rule, TG_RULE_LOOSE_MODE);
	assert_int_equal(host.emitted[1].severity, TG_SEV_CRITICAL);
	assert_int_equal(host.emitted[1].action, TG_ACT_KILLED);
	assert_true(host.emitted[1].same_event);
}

static void test_policy_severity(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	use_policy("version: 1\nrules:\n  nonexclusive-create: { severity: low }\n");
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].severity, TG_SEV_LOW);
	assert_int_equal(pl.worst, TG_SEV_LOW);
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_LOW], 1);
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH], 0);
	/* a refusal's severity is the policy's too */
	e.path[5] = 'x';
	e.action = TG_ACT_DENIED;
	e.rule = TG_R_NONEXCLUSIVE_CREATE;
	e.ret = -13;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_int_equal(host.emitted[1].severity, TG_SEV_LOW);
}

/* An exception hides what it matches (counted per exception), but not what the kernel refused
 * or killed; a dry run's would-deny is a finding like any other. */
static void test_exception(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	use_policy("version: 1\n"
		   "exceptions:\n"
		   "  - { rule: loose-mode, comm: make, reason: \"not this one\" }\n"
		   "  - { rule: nonexclusive-create, comm: python3, exe: \"/usr/bin/python3*\",\n"
		   "      reason: \"its own lock file\" }\n");
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 0);
	assert_int_equal(hits[0], 0);
	assert_int_equal(hits[1], 1);
	assert_int_equal(pl.worst, -1);
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH], 0);
	assert_int_equal(pl.no_finding, 0);
	assert_int_equal(host.proc_calls, 1); /* exceptions need the process */

	e.action = TG_ACT_DENIED;
	e.rule = TG_R_NONEXCLUSIVE_CREATE;
	e.ret = -13;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].action, TG_ACT_DENIED);
	assert_int_equal(hits[1], 1);

	e.path[5] = 'x';
	e.action = TG_ACT_KILLED;
	e.ret = -4;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_int_equal(host.emitted[1].action, TG_ACT_KILLED);

	/* killed after the fact: still a refusal of this finding's rule */
	e.path[5] = 'y';
	e.ret = 5;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 3);
	assert_int_equal(host.emitted[2].action, TG_ACT_KILLED);
	assert_int_equal(hits[1], 1);

	e.path[5] = 'z';
	e.action = TG_ACT_WOULD_DENY;
	e.ret = 3;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 3);
	assert_int_equal(hits[1], 2);

	/* a refusal of another rule does not shield this finding from its exception */
	e.path[5] = 'w';
	e.action = TG_ACT_KILLED;
	e.rule = TG_R_INHERITABLE_FD;
	e.ret = 5;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 3);
	assert_int_equal(hits[1], 3);
	assert_int_equal(hits[0], 0);
}

/* Exceptions by user match the credentials that made the create (fsuid), not the process's. */
static void test_exception_acting_user(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	use_policy("version: 1\n"
		   "exceptions:\n"
		   "  - { rule: \"*\", user: alice, reason: \"alice's scratch files\" }\n");
	/* root's setuid helper acting as alice */
	e.uid = 0;
	e.fsuid = 1000;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 0);
	assert_int_equal(hits[0], 1);
	assert_int_equal(host.last_user_uid, 1000);
	/* alice's program acting as root */
	e.uid = 1000;
	e.fsuid = 0;
	e.file_uid = 0;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.last_user_uid, 0);
	assert_int_equal(hits[0], 1);

	use_policy("version: 1\n"
		   "exceptions:\n"
		   "  - { rule: nonexclusive-create, uid: 1001, reason: \"bob's\" }\n");
	e.uid = 1000;
	e.fsuid = e.file_uid = 1001;
	e.path[5] = 'x';
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(hits[0], 1);
}

/* An exception is judged at the event's time (the boot clock plus the offset to the real one),
 * not at the time its record is read: one second before its expiry it hides, one after it
 * does not. */
static void test_exception_expiry(void **state)
{
	const int64_t expiry = 1798675200LL * (int64_t)SEC_NS; /* 2026-12-31T00:00:00Z */
	struct tg_event e = open_event();

	(void)state;
	use_policy("version: 1\n"
		   "exceptions:\n"
		   "  - { rule: nonexclusive-create, comm: python3, reason: \"its lock file\",\n"
		   "      expires: \"2026-12-31T00:00:00Z\" }\n");
	pl.boot_to_real_ns = expiry - (int64_t)e.ts_ns - (int64_t)SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 0);
	assert_int_equal(hits[0], 1);

	e.ts_ns += 2 * SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(hits[0], 1);
}

/* Past per_key_per_minute, repeats of (process, rule, pattern) are counted, not emitted. */
static void test_rate_limit(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	assert_int_equal(feed(&e), 0);
	snprintf(e.path, sizeof(e.path), "/tmp/report.5678"); /* the same pattern */
	e.ts_ns += 10 * SEC_NS;
	assert_int_equal(feed(&e), 0);
	e.ts_ns += 10 * SEC_NS;
	feed_capture(e.tid); /* a repeat held back costs no unwinding for its finding... */
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(pl.suppressed, 2);
	assert_int_equal(host.callsite_calls, 0);
	/* ...but its stack is the host's to learn (within its budget), once */
	assert_int_equal(host.learn_calls, 1);
	/* counted all the same: in the worst severity, the metrics and the aggregate */
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH], 3);
	assert_int_equal(tg_agg_by_rule(pl.agg, TG_RULE_NONEXCLUSIVE_CREATE), 3);
	/* the next minute: emitted, with the count so far */
	e.ts_ns += 61 * SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_int_equal(host.emitted[1].count, 4);
	assert_int_equal(pl.suppressed, 2);
	assert_int_equal(host.budget_calls, 0);
}

/* Past the user's budget, its findings are counted, not emitted, and the host warned; another
 * user's still go through. */
static void test_budget(void **state)
{
	struct tg_event e = open_event();

	(void)state;
	use_policy("version: 1\n"
		   "rate_limit: { per_key_per_minute: 100000, per_user_per_minute: 3 }\n");
	for (int i = 0; i < 5; i++) {
		snprintf(e.path, sizeof(e.path), "/tmp/flood-%c", 'a' + i);
		e.ts_ns += SEC_NS / 10;
		assert_int_equal(feed(&e), 0);
	}
	assert_int_equal(host.n_emitted, 3);
	assert_int_equal(host.budget_calls, 2);
	assert_int_equal(host.budget_why, TG_BUDGET_USER);
	assert_int_equal(host.budget_uid, 1000);
	assert_int_equal(tg_budget_total(pl.budget), 2);
	assert_int_equal(pl.suppressed, 0); /* that is the rate limit's count */
	assert_int_equal(pl.findings_by[TG_RULE_NONEXCLUSIVE_CREATE][TG_SEV_HIGH], 5);

	/* bob, the same minute */
	e.uid = e.euid = e.fsuid = e.file_uid = 1001;
	snprintf(e.path, sizeof(e.path), "/tmp/bob");
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 4);
	assert_int_equal(host.budget_calls, 2);

	/* the host's budget: past each user's first TG_BUDGET_FLOOR */
	use_policy("version: 1\n"
		   "rate_limit: { per_key_per_minute: 100000, per_user_per_minute: 1000,\n"
		   "              per_host_per_minute: 5 }\n");
	e.ts_ns += 60 * SEC_NS; /* a new minute */
	host.n_emitted = 0;
	for (int i = 0; i < TG_BUDGET_FLOOR + 2; i++) {
		snprintf(e.path, sizeof(e.path), "/tmp/host-%c", 'a' + i);
		assert_int_equal(feed(&e), 0);
	}
	assert_int_equal(host.n_emitted, TG_BUDGET_FLOOR);
	assert_int_equal(host.budget_why, TG_BUDGET_HOST);
	assert_int_equal(host.budget_uid, 1001);
	assert_int_equal(tg_budget_by_host(pl.budget), 2);
}

/* One record, several findings: the second is marked as the same event, and counted from the
 * first one emitted. */
static void test_same_event(void **state)
{
	struct tg_event e = loose_open_event();

	(void)state;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 2);
	assert_false(host.emitted[0].same_event);
	assert_true(host.emitted[1].same_event);

	/* the first one excepted: the second is the first emitted */
	use_policy("version: 1\n"
		   "exceptions:\n"
		   "  - { rule: nonexclusive-create, comm: python3, reason: \"a lock\" }\n");
	host.n_emitted = 0;
	e.path[5] = 'x';
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_LOOSE_MODE);
	assert_false(host.emitted[0].same_event);
	assert_int_equal(hits[0], 1);
}

/* The process is looked up once per record with findings, however many it has; user names once
 * per finding; neither for a record without findings. */
static void test_enrich_once(void **state)
{
	struct tg_event e = loose_open_event();

	(void)state;
	use_policy("version: 1\nrules:\n  inheritable-fd: { enabled: true }\n");
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 3);
	assert_int_equal(host.emitted[2].rule, TG_RULE_INHERITABLE_FD);
	assert_int_equal(host.proc_calls, 1);
	assert_int_equal(host.user_calls, 3);
	assert_int_equal(host.base_calls, 1);
	e.ts_ns += SEC_NS;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.proc_calls, 2);
	e.flags |= O_EXCL | O_CLOEXEC;
	e.file_mode = 0100600;
	assert_int_equal(feed(&e), 0);
	assert_int_equal(pl.no_finding, 1);
	assert_int_equal(host.proc_calls, 2);
	assert_int_equal(host.user_calls, 6);
}

/* A policy swapped in (a reload) applies from the next record, and counts into its own
 * exception counters; the one before can then be freed. */
static void test_policy_swap(void **state)
{
	static uint64_t first[1], second[1];
	struct tg_policy *p1 =
		parse_policy("version: 1\n"
			     "exceptions:\n"
			     "  - { rule: \"*\", comm: python3, reason: \"one\" }\n");
	struct tg_policy *p2 =
		parse_policy("version: 1\n"
			     "rules:\n"
			     "  nonexclusive-create: { severity: medium }\n"
			     "exceptions:\n"
			     "  - { rule: loose-mode, comm: python3, reason: \"two\" }\n");
	struct tg_event e = loose_open_event();
	struct tg_rules_config rc;

	(void)state;
	tg_policy_rules_config(p1, &rc);
	tg_pipeline_set_policy(&pl, p1, &rc, shared_dirs, 2, first);
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 0);
	assert_int_equal(first[0], 2);

	tg_policy_rules_config(p2, &rc);
	tg_pipeline_set_policy(&pl, p2, &rc, shared_dirs, 2, second);
	tg_policy_free(p1);
	e.path[5] = 'x';
	assert_int_equal(feed(&e), 0);
	assert_int_equal(host.n_emitted, 1);
	assert_int_equal(host.emitted[0].rule, TG_RULE_NONEXCLUSIVE_CREATE);
	assert_int_equal(host.emitted[0].severity, TG_SEV_MEDIUM);
	assert_int_equal(second[0], 1);
	assert_int_equal(first[0], 2);
	tg_policy_free(p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_finding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callsite_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callsite_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_mkdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requested_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsm_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsm_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_severity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exception, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exception_acting_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrich_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shell_site, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shell_site_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exception_expiry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
