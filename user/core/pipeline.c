// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The record pipeline (pipeline.h). Pure: the host's callbacks do the I/O. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"
#include "callsite_native.h"
#include "events.h"
#include "pipeline.h"

int tg_pipeline_init(struct tg_pipeline *p, const struct tg_pipeline_cb *cb, size_t agg_max,
		     size_t agg_per_uid)
{
	memset(p, 0, sizeof(*p));
	p->cb = *cb;
	p->worst = -1;
	p->agg = tg_agg_new(agg_max, agg_per_uid);
	p->budget = tg_budget_new();
	p->cs = calloc(1, sizeof(*p->cs));
	return p->agg && p->budget && p->cs ? 0 : -ENOMEM;
}

void tg_pipeline_fini(struct tg_pipeline *p)
{
	tg_agg_free(p->agg);
	tg_budget_free(p->budget);
	p->agg = NULL;
	p->budget = NULL;
	for (int i = 0; i < TG_PIPELINE_CAPTURES; i++) {
		free(p->captures[i].data);
		p->captures[i] = (struct tg_capture){0};
	}
	free(p->cs);
	p->cs = NULL;
}

/* A call-site record: kept for its thread's event, in a free slot or the oldest one's. */
static int capture_keep(struct tg_pipeline *p, const void *data, size_t size)
{
	char err[128];
	struct tg_capture *c = NULL;
	uint32_t tid;

	p->captured++;
	if (tg_stack_check(data, size, err, sizeof(err))) {
		if (p->decode_errors++ == 0)
			p->cb.malformed(p->cb.ctx, err);
		return -EBADMSG;
	}
	tid = ((const struct tg_stack *)data)->tid;
	for (int i = 0; i < TG_PIPELINE_CAPTURES && !c; i++)
		if (p->captures[i].tid == tid)
			c = &p->captures[i]; /* its last one never met its event */
	for (int i = 0; i < TG_PIPELINE_CAPTURES && !c; i++)
		if (!p->captures[i].tid)
			c = &p->captures[i];
	if (!c) {
		c = &p->captures[p->capture_next++ % TG_PIPELINE_CAPTURES];
		p->captures_unmatched++;
	} else if (c->tid) {
		p->captures_unmatched++;
	}
	if (!c->data && !(c->data = malloc(sizeof(struct tg_stack))))
		return -ENOMEM;
	memcpy(c->data, data, size);
	c->size = size;
	c->tid = tid ? tid : UINT32_MAX;
	return 0;
}

/* The capture sent just before e by its thread, taken (the slot freed), or NULL. */
static struct tg_capture *capture_take(struct tg_pipeline *p, const struct tg_event *e)
{
	for (int i = 0; i < TG_PIPELINE_CAPTURES; i++)
		if (p->captures[i].tid == (e->tid ? e->tid : UINT32_MAX)) {
			p->captures[i].tid = 0;
			return &p->captures[i];
		}
	return NULL;
}

void tg_pipeline_set_policy(struct tg_pipeline *p, const struct tg_policy *pol,
			    const struct tg_rules_config *rc, const struct tg_dir_key *shared,
			    size_t n_shared, uint64_t *exc_hits)
{
	p->pol = pol;
	p->rules = *rc;
	p->shared_dirs = shared;
	p->n_shared_dirs = n_shared;
	p->exc_hits = exc_hits;
}

/* A mkdir's or a node's record names no dentry: its name is the path's last component. */
static void name_from_path(struct tg_event *e)
{
	const char *slash, *base;
	size_t n;

	if (e->kind == TG_KIND_OPEN || e->name[0])
		return;
	slash = strrchr(e->path, '/');
	base = slash ? slash + 1 : e->path;
	n = strnlen(base, sizeof(e->name) - 1);
	memcpy(e->name, base, n);
	e->name[n] = 0;
}

/* The directory the caller named: the kernel's verdict, else the host's. Returns -1 when
 * neither knows and the record cannot be judged. */
static int directory(struct tg_pipeline *p, const struct tg_event *e, struct tg_dir_verdict *dir)
{
	if (!tg_dir_verdict_from_kernel(e, dir) &&
	    p->cb.resolve_dir(p->cb.ctx, e, p->shared_dirs, p->n_shared_dirs, dir)) {
		/* The process is gone (or in another mount namespace): an open is judged by
		 * what the kernel knew, its holding directory, and says so; a mkdir's directory
		 * is not known at all. Counted either way, and in every report's gaps. */
		p->unresolved++;
		if (e->kind != TG_KIND_OPEN)
			return -1;
		tg_dir_verdict_holding(e, dir);
	}
	/* The opened file is not the one the path names: is a symlink there? */
	if (tg_path_mismatch(e, dir) && !(e->facts & (TG_F_PATH_CHANGED | TG_F_LINK_FOLLOWED)))
		dir->requested_link = p->cb.requested_link(p->cb.ctx, e, &dir->requested_link_own);
	return 0;
}

/* The LSM refused the operation: report that decision, and only it, with the severity its
 * finding had (high when the classifier did not find it). Returns the findings' number. */
static int refusal(const struct tg_event *e, struct tg_finding *f, int n)
{
	enum tg_severity sev = TG_SEV_HIGH;

	if (e->action != TG_ACT_DENIED && !(e->action == TG_ACT_KILLED && e->ret < 0))
		return n;
	for (int i = 0; i < n; i++)
		if ((uint32_t)f[i].rule == e->rule)
			sev = f[i].severity;
	f[0].rule = (enum tg_rule)e->rule; /* < TG_R_MAX: tg_event_decode */
	f[0].severity = sev;
	return 1;
}

/*
 * Whether one of the policy's exceptions hides r's finding (counted). Every exception applies
 * here, the kernel-decided ones too: they catch what the kernel let through (a reload in
 * progress, an exe replaced since). user and uid are the credentials that made the create
 * (fsuid), as in the kernel: a setuid helper started by an excepted user acts as its owner, and
 * is judged so. An exception holds until its expiry, judged at the event's time.
 */
static bool excepted(struct tg_pipeline *p, const struct tg_report *r)
{
	const struct tg_event *e = r->e;
	char acting[64];
	struct tg_match_subject subj = {
		.rule = r->finding.rule,
		.exe = r->proc->exe,
		.comm = e->comm,
		.path = e->path,
		.user = p->cb.user_name(p->cb.ctx, e->fsuid, acting, sizeof(acting)),
		.uid = e->fsuid,
		.container_id = r->proc->container_id[0] ? r->proc->container_id : NULL,
		.cgroup = r->proc->cgroup,
	};
	int x = tg_policy_match(p->pol, &subj, tg_report_time_ns(r));

	/* An exception the kernel could not honour does not undo a refusal: report it. */
	if (x < 0 || (r->action != TG_ACT_NONE && r->action != TG_ACT_WOULD_DENY))
		return false;
	p->exc_hits[x]++;
	return true;
}

/* The current directory the kernel captured with the record's stack (ABI 12), or NULL. */
static const char *capture_cwd(const struct tg_pipeline *p)
{
	const struct tg_stack *s;

	if (!p->cap || p->cap->size < TG_STACK_CWD_OFF)
		return NULL;
	s = (const struct tg_stack *)p->cap->data;
	if (!s->cwd_len || s->cwd_len > sizeof(s->cwd) || s->cwd[s->cwd_len - 1] ||
	    s->cwd[0] != '/')
		return NULL;
	return s->cwd;
}

/* The record's call site, resolved once, for the first finding of it that is emitted: what is
 * rate-limited or over budget costs no unwinding. NULL when nothing was captured. */
static const struct tg_callsite *callsite(struct tg_pipeline *p, const struct tg_event *e)
{
	if (!p->cap || !p->cb.callsite || !p->cs)
		return NULL;
	if (!p->cs_done) {
		if (p->cb.callsite(p->cb.ctx, e, p->cap->data, p->cap->size, p->cs) == -ESTALE)
			p->captures_unmatched++;
		p->cs_done = true;
	}
	return p->cs;
}

/* Past the exceptions: counted (aggregates, worst, findings_by), then emitted unless past the
 * rate limit or the budget. Returns whether it was emitted. */
static bool count_and_emit(struct tg_pipeline *p, struct tg_report *r, char *pattern, size_t len)
{
	const struct tg_event *e = r->e;
	bool print;
	int why;

	r->lang = tg_lang_detect(r->proc->exe, e->comm, r->proc->is_go);
	tg_path_pattern(e->path, pattern, len);
	r->count = tg_agg_add(p->agg, e->pid, e->fsuid, e->comm, r->proc->exe, r->finding.rule,
			      r->finding.severity, pattern, e->ts_ns, p->pol->per_key_per_minute,
			      &print);
	if ((int)r->finding.severity > p->worst)
		p->worst = r->finding.severity;
	p->findings_by[r->finding.rule][r->finding.severity]++;
	/* Past the policy's rate limit, repeats of (process, rule, pattern) are counted, not
	 * printed; the summary has them all. */
	if (!print) {
		p->suppressed++;
		return false;
	}
	/* Past the user's or the host's budget (the keys are the user's to vary, the uid is
	 * not): the same, counted per user. */
	why = tg_budget_allow(p->budget, e->fsuid, e->ts_ns, p->pol->per_user_per_minute,
			      p->pol->per_host_per_minute);
	if (why) {
		p->cb.budget_warn(p->cb.ctx, why, e->fsuid);
		return false;
	}
	r->callsite = callsite(p, e);
	if (p->cb.shell_site) {
		const struct tg_callsite *sh =
			p->cb.shell_site(p->cb.ctx, e, r->proc, capture_cwd(p));
		const struct tg_frame *nat = tg_callsite_frame(r->callsite);

		/* Python's create: its frames. The shell's own: its script. A program's that a
		 * script started: its own source line when that is known (a -g build), else the
		 * script. */
		if (sh && (sh->kind == TG_CS_PYTHON || sh->n == 1 || !nat || !nat->file[0]))
			r->callsite = sh;
	}
	p->cb.emit(p->cb.ctx, r);
	return true;
}

static int record_judge(struct tg_pipeline *p, struct tg_event *e);

int tg_pipeline_record(struct tg_pipeline *p, const void *data, size_t size)
{
	struct tg_event e;
	char err[128];
	int ret;

	if (tg_is_stack_record(data, size))
		return capture_keep(p, data, size);
	p->received++;
	if (tg_event_decode(data, size, &e, err, sizeof(err))) {
		if (p->decode_errors++ == 0)
			p->cb.malformed(p->cb.ctx, err);
		return -EBADMSG;
	}
	p->cap = capture_take(p, &e);
	p->cs_done = false;
	ret = record_judge(p, &e);
	/* A stack no printed finding resolved: the host may learn it all the same. */
	if (p->cap && !p->cs_done && p->cb.callsite_learn)
		p->cb.callsite_learn(p->cb.ctx, &e, p->cap->data, p->cap->size);
	p->cap = NULL;
	return ret;
}

/* e judged, its findings counted and emitted. */
static int record_judge(struct tg_pipeline *p, struct tg_event *e)
{
	struct tg_finding findings[TG_MAX_FINDINGS];
	const struct tg_proc_info *proc = NULL;
	struct tg_dir_verdict dir;
	char pattern[256], base[PATH_MAX];
	const char *base_status;
	int n, emitted = 0;

	name_from_path(e);
	if (directory(p, e, &dir))
		return -ENOENT;
	n = refusal(e, findings, tg_classify(e, &dir, &p->rules, findings));
	if (!n) {
		p->no_finding++;
		return 0;
	}
	base[0] = 0;
	base_status = p->cb.base_dir(p->cb.ctx, e, base, sizeof(base));
	for (int i = 0; i < n; i++) {
		struct tg_report r = {
			.e = e,
			.finding = findings[i],
			.dir = dir,
			.boot_to_real_ns = p->boot_to_real_ns,
			.host = p->host,
			.pattern = pattern,
			.base_dir = base,
			.base_status = e->path[0] == '/' ? NULL : base_status,
		};

		if (!proc)
			proc = p->cb.proc(p->cb.ctx, e);
		r.proc = proc;
		r.finding.severity = tg_policy_severity(p->pol, r.finding.rule, r.finding.severity);
		r.action = (uint32_t)r.finding.rule == e->rule ? e->action : TG_ACT_NONE;
		if (excepted(p, &r))
			continue;
		r.same_event = emitted > 0;
		emitted += count_and_emit(p, &r, pattern, sizeof(pattern));
	}
	return 0;
}
