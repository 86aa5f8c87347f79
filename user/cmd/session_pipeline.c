// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The record pipeline (pipeline.h) bound to a session: the host's look-ups it calls back (the
 * directory and the link from /proc, the process, the acting user's name from NSS), its warnings,
 * and where a finding goes (the sinks and the store).
 */
#define _GNU_SOURCE
#include <pwd.h>
#include <stdio.h>
#include "output.h"
#include "callsite.h"
#include "callsite_reuse.h"
#include "loader.h"
#include "session_pipeline.h"
#include "shell_site.h"

/*
 * A finding that passed exceptions and the rate limit. The store keeps what is printed: the
 * repeats the rate limit does not print are not stored either (their counts are in the
 * summary's aggregates).
 */
static void emit_finding(void *ctx, const struct tg_report *r)
{
	struct session *s = ctx;
	/* Its JSON form: built once, shared by the sinks that write JSON and the store; not at
	 * all for the Falco format alone, which writes from r. */
	const struct tg_record rec = {
		.kind = TG_RECORD_FINDING,
		.finding = r,
		.json = s->store || tg_sinks_want_json(s->sinks) ? tg_report_json(r) : NULL,
	};

	s->printed++;
	if (!s->opt.json)
		tg_sinks_text(s->sinks, r);
	tg_sinks_record(s->sinks, &rec); /* json or falco lines, syslog */
	if (s->store)
		tg_store_record(s->store, &rec);
	json_object_put(rec.json);
}

/*
 * The name of uid, for exceptions by user: the acting credentials of a create (fsuid) may be
 * another user than the process's real one (a setuid helper). A few names are kept: a lookup
 * goes through NSS.
 */
static const char *acting_user(void *ctx, uint32_t uid, char *buf, size_t len)
{
	static struct {
		uint32_t uid;
		char name[64];
	} cache[8];
	static unsigned int next;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	(void)ctx;
	for (unsigned int i = 0; i < sizeof(cache) / sizeof(cache[0]); i++)
		if (cache[i].name[0] && cache[i].uid == uid)
			return snprintf(buf, len, "%s", cache[i].name), buf;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", uid);
	cache[next].uid = uid;
	snprintf(cache[next].name, sizeof(cache[next].name), "%s", buf);
	next = (next + 1) % (sizeof(cache) / sizeof(cache[0]));
	return buf;
}

/* A flood is said on stderr at once, then at most once a minute per reason; the summary
 * and every report count what it suppressed. */
static void budget_warn(void *ctx, int why, uint32_t uid)
{
	struct session *s = ctx;
	uint64_t minute = (uint64_t)tg_clock_ns(CLOCK_MONOTONIC) / 60000000000ULL + 1;
	uint64_t *last = &s->budget_warned[why == TG_BUDGET_HOST];

	if (*last == minute)
		return;
	*last = minute;
	if (why == TG_BUDGET_USER)
		fprintf(stderr,
			"tmpguard: WARNING: uid %u made more than %u findings this minute: the "
			"rest of its minute's are counted, not printed "
			"(rate_limit.per_user_per_minute; over_budget in the summary)\n",
			uid, s->pol->per_user_per_minute);
	else
		fprintf(stderr,
			"tmpguard: WARNING: this host made more than %u findings this minute: "
			"past each user's first %d, the rest of the minute's are counted, not "
			"printed (rate_limit.per_host_per_minute; over_budget in the summary)\n",
			s->pol->per_host_per_minute, TG_BUDGET_FLOOR);
}

/* Said once: the first malformed record's reason (tg_event_decode); the rest are counted. */
static void malformed_record(void *ctx, const char *why)
{
	(void)ctx;
	fprintf(stderr, "tmpguard: dropping a malformed record: %s\n", why);
}

/* The pipeline's look-ups in /proc (enrich.c). */
static int resolve_dir(void *ctx, const struct tg_event *e, const struct tg_dir_key *shared,
		       size_t n_shared, struct tg_dir_verdict *v)
{
	struct session *s = ctx;

	return tg_resolve_dir(s->en, e, shared, n_shared, v);
}

static enum tg_link_state requested_link(void *ctx, const struct tg_event *e, bool *own)
{
	struct session *s = ctx;

	return tg_requested_link(s->en, e, own);
}

static const struct tg_proc_info *enrich_proc(void *ctx, const struct tg_event *e)
{
	struct session *s = ctx;

	return tg_enrich_proc(s->en, e);
}

static const char *base_dir(void *ctx, const struct tg_event *e, char *buf, size_t len)
{
	(void)ctx;
	return tg_base_status_name(tg_resolve_base(e, buf, len));
}

/* What the kernel captured, as a call site (libdw reads the mapped files: the process may be
 * gone). */
static int callsite(void *ctx, const struct tg_event *e, const void *capture, size_t size,
		    struct tg_callsite *cs)
{
	struct session *s = ctx;

	return tg_callsite_resolve(e, capture, size, cs, s->cs_reuse);
}

/* A stack no printed finding resolved: learnt within the budget (tg_callsite_learn), so that
 * a burst from one place goes by reference after its first records. */
static void callsite_learn(void *ctx, const struct tg_event *e, const void *capture, size_t size)
{
	static struct tg_callsite cs;
	struct session *s = ctx;

	tg_callsite_learn(e, capture, size, &cs, s->cs_reuse);
}

/* The kernel's copy of the signatures of the call sites kept (callsite_reuse.h). */
static int sig_publish(void *ctx, const struct tg_stk_sig_key *key, const struct tg_stk_sig *sig)
{
	struct session *s = ctx;

	return tg_bpf_stk_sig_set(s->bpf, key, sig);
}

static void sig_withdraw(void *ctx, const struct tg_stk_sig_key *key, uint64_t id)
{
	struct session *s = ctx;

	tg_bpf_stk_sig_withdraw(s->bpf, key, id);
}

/* Once the programs are loaded, with call sites on: the native call sites the kernel may name
 * instead of sending their stack again. Without it (out of memory), every stack is sent. */
void callsite_reuse_start(struct session *s)
{
	const struct tg_cs_reuse_ops ops = {
		.ctx = s, .publish = sig_publish, .withdraw = sig_withdraw};

	s->cs_reuse = tg_cs_reuse_new(0, &ops);
}

/* A finding's interpreter call site: CPython's frames sent with the record being judged
 * (session_python.c), else a shell's script or -c text (shell_site.c). One at a time: the
 * pipeline emits each finding before it asks for the next. */
static const struct tg_callsite *shell_site(void *ctx, const struct tg_event *e,
					    const struct tg_proc_info *p, const char *cwd)
{
	static struct tg_callsite cs;
	struct session *s = ctx;

	if (s->py_site)
		return s->py_site;
	return tg_shell_site(e, p, cwd, session_interps(), s->bpf, &cs);
}

/* The pipeline, with this file's look-ups and outputs. */
int pipeline_init(struct session *s)
{
	const struct tg_pipeline_cb cb = {
		.ctx = s,
		.resolve_dir = resolve_dir,
		.requested_link = requested_link,
		.proc = enrich_proc,
		.user_name = acting_user,
		.base_dir = base_dir,
		.shell_site = s->opt.call_sites && !s->opt.no_call_sites ? shell_site : NULL,
		.emit = emit_finding,
		.budget_warn = budget_warn,
		.malformed = malformed_record,
		.callsite = callsite,
		.callsite_learn = callsite_learn,
	};

	return tg_pipeline_init(&s->pl, &cb, TG_AGG_MAX, TG_AGG_PER_UID);
}

/* The ring buffer's callback. Output is flushed after each record judged. */
int handle_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	static struct tg_callsite cs;

	/* The record's CPython frames, sent before it: its findings' call site (shell_site). */
	s->py_site = s->opt.call_sites && !s->opt.no_call_sites &&
				     !session_python_callsite(s, data, size, &cs)
			     ? &cs
			     : NULL;
	if (!tg_pipeline_record(&s->pl, data, size))
		fflush(s->out);
	s->py_site = NULL;
	return 0;
}
