// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report per host: its sessions, the union of their hooks, the posture of its latest
 * session and the remarks on it (weak sysctls, shared directories, enforcement); and the
 * exceptions in force across the sessions, with the findings they hid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report_int.h"
#include "util/json_util.h"

const char *const tg_rpt_sysctl_names[TG_RPT_NSYSCTL] = {
	"fs.protected_symlinks",
	"fs.protected_regular",
	"fs.protected_fifos",
	"fs.protected_hardlinks",
};

/* ---- posture ---- */

static int remark(char ***out, size_t *n, const char *fmt, ...)
{
	char **v, *s;
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (e < 0)
		return -ENOMEM;
	v = realloc(*out, (*n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	*out = v;
	v[(*n)++] = s;
	return 0;
}

static bool has_option(const char *opts, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && !strncmp(p, want, n))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* Documentation/admin-guide/sysctl/fs.rst says what each protected_* value allows. */
int tg_rpt_posture_remarks(const struct tg_rpt_posture *p, const char *enforcement, char ***out,
			   size_t *n)
{
	static const char *const weak[TG_RPT_NSYSCTL] = {
		"symlinks planted in sticky directories are followed: symlink-follow and "
		"nonexclusive-create findings are exploitable here (set it to 1)",
		"O_CREAT opens of other users' files in sticky directories succeed: "
		"foreign-file-reuse findings are exploitable here (set it to 2)",
		"O_CREAT opens of other users' FIFOs in sticky directories succeed (set it to 2)",
		"users can hard-link files they do not own into shared directories (set it to 1)",
	};
	int e = 0;

	if (!p->known)
		e = remark(out, n,
			   "posture not recorded (no session record): sysctls and mounts "
			   "unknown");
	for (int i = 0; p->known && !e && i < TG_RPT_NSYSCTL; i++)
		if (p->sysctl[i] == 0)
			e = remark(out, n, "%s=0: %s", tg_rpt_sysctl_names[i], weak[i]);
	for (size_t i = 0; p->known && !e && i < p->n_mounts; i++) {
		const struct tg_rpt_mount *m = &p->mounts[i];
		char missing[64] = "";
		unsigned long mode = strtoul(m->mode, NULL, 8);

		if (m->exists == 0)
			continue; /* no such directory on that host: nothing is shared there */
		if (*m->mode && (mode & 0002) && !(mode & 01000))
			e = remark(out, n,
				   "%s is world-writable without the sticky bit (mode %s): any "
				   "user can delete or replace anyone's files there (chmod 1777)",
				   m->path, m->mode);
		/* Hard links cannot cross file systems; protected_hardlinks=1 stops them anyway. */
		if (!e && m->separate == 0)
			e = remark(out, n,
				   "%s is not a separate mount: users can fill the file system it "
				   "shares%s%s",
				   m->path,
				   p->sysctl[3] == 1
					   ? ""
					   : ", and hard-link others' files from it into ",
				   p->sysctl[3] == 1 ? "" : m->path);
		if (e || m->separate == 0 || !*m->options)
			continue;
		for (const char *const *o =
			     (const char *const[]){"nosuid", "nodev", "noexec", NULL};
		     *o; o++)
			if (!has_option(m->options, *o))
				snprintf(missing + strlen(missing),
					 sizeof(missing) - strlen(missing), "%s%s",
					 *missing ? ", " : "", *o);
		if (*missing)
			e = remark(out, n,
				   "%s is mounted without %s (CIS benchmarks ask for nodev, nosuid "
				   "and noexec on temporary directories)",
				   m->path, missing);
	}
	if (e)
		return e;
	if (!enforcement)
		return p->known ? remark(out, n, "enforcement mode not recorded") : 0;
	if (!strcmp(enforcement, "off"))
		return remark(out, n,
			      "enforcement off: findings were reported, nothing was "
			      "prevented");
	if (!strcmp(enforcement, "dry-run"))
		return remark(out, n, "dry run: would-deny was reported, nothing was refused");
	if (!strcmp(enforcement, "kill-fallback"))
		return remark(out, n,
			      "enforcement by SIGKILL after the fact (no BPF LSM): the "
			      "file exists before the process dies");
	if (strcmp(enforcement, "lsm"))
		return remark(out, n, "enforcement mode '%s' unknown to this version", enforcement);
	return 0;
}

/* ---- hosts ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct tg_rpt_host *)a)->name, ((const struct tg_rpt_host *)b)->name);
}

static void build_host(struct tg_rpt *r, struct tg_rpt_host *h)
{
	size_t n_hooks = 0, cap = 0;
	char **hooks = NULL;
	const struct tg_rpt_row *w = tg_rpt_table_get(&r->by_host, h->name, NULL);

	h->first_ns = h->last_ns = TG_RPT_NOTIME;
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		if (strcmp(s->host, h->name))
			continue;
		h->n_sessions++;
		h->n_unclean += !s->clean;
		h->n_no_record += !s->has_record;
		h->n_tree_only += s->tree_only;
		if (s->has_record && (!h->latest || s->start_ns >= h->latest->start_ns))
			h->latest = s;
		for (size_t k = 0; k < s->n_hooks; k++) {
			char **v = rpt_grow(r, hooks, &cap, n_hooks + 1, sizeof(*hooks));

			if (!v)
				break;
			hooks = v;
			hooks[n_hooks++] = s->hooks[k];
		}
	}
	/* The union, sorted, each once. */
	if (n_hooks)
		qsort(hooks, n_hooks, sizeof(*hooks), cmp_str);
	h->hooks = calloc(n_hooks + 1, sizeof(*h->hooks));
	if (!h->hooks) {
		r->failed = true;
		free(hooks);
		return;
	}
	for (size_t i = 0; i < n_hooks; i++)
		if (!i || strcmp(hooks[i], hooks[i - 1]))
			h->hooks[h->n_hooks++] = rpt_dup(r, hooks[i]);
	free(hooks);
	for (size_t i = 0; i < r->n_losses; i++)
		if (!strcmp(r->losses[i].host, h->name))
			h->lost += r->losses[i].lost;
	h->findings = w ? w->n : 0;
	rpt_coverage(r, h->name, &h->first_ns, &h->last_ns, &h->covered_ns);
	if (h->first_ns == TG_RPT_NOTIME && w) {
		h->first_ns = w->first_ns;
		h->last_ns = w->last_ns;
	}
	if (h->latest) {
		if (tg_rpt_posture_remarks(&h->latest->posture, h->latest->enforcement, &h->remarks,
					   &h->n_remarks))
			r->failed = true;
	} else {
		struct tg_rpt_posture unknown = {0};

		if (tg_rpt_posture_remarks(&unknown, NULL, &h->remarks, &h->n_remarks))
			r->failed = true;
	}
}

void rpt_build_hosts(struct tg_rpt *r)
{
	struct tg_rpt_table names = {0};

	for (size_t i = 0; i < r->n_sessions; i++)
		rpt_table_row(r, &names, r->sessions[i].host, NULL, NULL);
	for (size_t i = 0; i < r->by_host.n; i++)
		rpt_table_row(r, &names, r->by_host.rows[i].key, NULL, NULL);
	r->hosts = calloc(names.n + 1, sizeof(*r->hosts));
	if (!r->hosts || r->failed) {
		r->failed = true;
		rpt_table_free(&names);
		return;
	}
	for (size_t i = 0; i < names.n; i++) {
		r->hosts[i].name = names.rows[i].key;
		names.rows[i].key = NULL;
	}
	r->n_hosts = names.n;
	rpt_table_free(&names);
	qsort(r->hosts, r->n_hosts, sizeof(*r->hosts), cmp_host);
	for (size_t i = 0; i < r->n_hosts && !r->failed; i++)
		build_host(r, &r->hosts[i]);
}

void tg_rpt_unseen_hosts(const struct tg_rpt *r, char *buf, size_t len)
{
	size_t counts[3] = {0, 0, r->n_silent}, at = 0;
	static const char *const what[3] = {"with forward gaps", "with loss windows",
					    "stopped reporting"};

	/* Distinct hosts: tg_rpt_finish sorts both by host. */
	for (size_t i = 0; i < r->n_fwd_gaps; i++)
		counts[0] += !i || strcmp(r->fwd_gaps[i].host, r->fwd_gaps[i - 1].host);
	for (size_t i = 0; i < r->n_losses; i++)
		counts[1] += !i || strcmp(r->losses[i].host, r->losses[i - 1].host);
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < 3; i++) {
		if (!counts[i] || at + 1 >= len)
			continue;
		snprintf(buf + at, len - at, "%s%zu host%s %s", at ? ", " : "", counts[i],
			 counts[i] == 1 ? "" : "s", what[i]);
		at += strlen(buf + at);
	}
}

/* ---- exceptions ---- */

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

const char *tg_rpt_expiry_name(enum tg_rpt_expiry x)
{
	static const char *const names[] = {
		[TG_RPT_EXP_NEVER] = "never",	       [TG_RPT_EXP_LATER] = "later",
		[TG_RPT_EXP_SOON] = "within-30-days",  [TG_RPT_EXP_IN_PERIOD] = "during-period",
		[TG_RPT_EXP_BEFORE] = "before-period", [TG_RPT_EXP_UNKNOWN] = "expired",
	};

	return (unsigned)x < sizeof(names) / sizeof(names[0]) ? names[x] : "unknown";
}

/*
 * Where e's expiry falls in the period. The records' own "expired" says it as of each record's
 * time; the report judges the expiry against its own period instead, and trusts the flag only
 * where a record gives no time.
 */
static void judge_expiry(const struct tg_rpt *r, struct tg_rpt_exception *e)
{
	int64_t end = r->opts.until_ns != TG_RPT_NOTIME ? r->opts.until_ns : r->opts.now_ns;
	int64_t start = r->opts.since_ns != TG_RPT_NOTIME ? r->opts.since_ns : r->covered_from;
	int64_t t = e->expires_ns;

	if (t == TG_RPT_NOTIME)
		e->expiry = e->expired ? TG_RPT_EXP_UNKNOWN : TG_RPT_EXP_NEVER;
	else if (start != TG_RPT_NOTIME && t <= start)
		e->expiry = TG_RPT_EXP_BEFORE;
	else if (t <= end)
		e->expiry = TG_RPT_EXP_IN_PERIOD;
	else if (t - end <= TG_RPT_EXPIRY_SOON)
		e->expiry = TG_RPT_EXP_SOON;
	else
		e->expiry = TG_RPT_EXP_LATER;
	if (t != TG_RPT_NOTIME)
		e->expired = t <= end;
}

/* Exception idx was in force in session s: the host's policy links to it (report_evidence.c). */
static void session_exception(struct tg_rpt *r, struct tg_rpt_session *s, size_t idx)
{
	size_t *v;

	for (size_t i = 0; i < s->n_exc_idx; i++)
		if (s->exc_idx[i] == idx)
			return;
	v = realloc(s->exc_idx, (s->n_exc_idx + 1) * sizeof(*v));
	if (!v) {
		r->failed = true;
		return;
	}
	s->exc_idx = v;
	s->exc_idx[s->n_exc_idx++] = idx;
}

void rpt_build_exceptions(struct tg_rpt *r)
{
	size_t cap = 0;

	for (size_t i = 0; i < r->n_sessions && !r->failed; i++) {
		struct tg_rpt_session *s = &r->sessions[i];
		size_t n = s->exceptions ? json_object_array_length(s->exceptions) : 0;

		r->hidden_by_replaced += s->hidden_by_replaced;
		for (size_t k = 0; k < n; k++) {
			json_object *x = json_object_array_get_idx(s->exceptions, k);
			const char *rule = tg_json_str(x, "rule", NULL);
			const char *reason = tg_json_str(x, "reason", NULL);
			const char *in = tg_json_str(x, "applied_in", NULL);
			const char *owner = tg_json_str(x, "owner", NULL);
			int64_t expires = rpt_get_time(x, "expires");
			long line = (long)tg_json_int(x, "line", -1);
			struct tg_rpt_exception *e = NULL;

			if (!json_object_is_type(x, json_type_object))
				continue;
			for (size_t j = 0; j < r->n_exceptions && !e; j++) {
				struct tg_rpt_exception *c = &r->exceptions[j];

				/* A renewed expiry or a new owner is a new commitment: its own row.
				 */
				if (c->line == line && same(c->policy, s->policy) &&
				    same(c->rule, rule) && same(c->reason, reason) &&
				    !c->owner == !owner && same(c->owner, owner) &&
				    c->expires_ns == expires)
					e = c;
			}
			if (!e) {
				e = rpt_grow(r, r->exceptions, &cap, r->n_exceptions + 1,
					     sizeof(*e));
				if (!e)
					return;
				r->exceptions = e;
				e = &r->exceptions[r->n_exceptions++];
				*e = (struct tg_rpt_exception){.line = line};
				e->policy = rpt_dup(r, s->policy ? s->policy : "unknown");
				e->rule = rpt_dup(r, rule ? rule : "*");
				e->reason = rpt_dup(r, reason);
				e->applied_in = rpt_dup(r, in ? in : "unknown");
				e->owner = owner ? rpt_dup(r, owner) : NULL;
				e->expires_ns = expires;
			} else if (!same(e->applied_in, in ? in : "unknown")) {
				free(e->applied_in);
				e->applied_in = rpt_dup(r, "kernel or user, by host");
			}
			e->sessions++;
			session_exception(r, s, (size_t)(e - r->exceptions));
			if (tg_json_bool(x, "expired", 0) == 1)
				e->expired = true;
			if (s->exception_counts) {
				e->hidden_kernel +=
					(uint64_t)tg_json_int(x, "suppressed_kernel", 0);
				e->hidden_user += (uint64_t)tg_json_int(x, "suppressed_user", 0);
			} else {
				e->sessions_uncounted++;
			}
		}
	}
	for (size_t i = 0; i < r->n_exceptions; i++)
		judge_expiry(r, &r->exceptions[i]);
}
