// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as evidence, per host: which policies were in force (by the SHA-256 of the file as
 * loaded, with when, and the exceptions each held), the rows its store evicted before a forward
 * target had them (forward gaps), and whether it stopped reporting. Pure; after the hosts and
 * the exceptions are built (report_hosts.c).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "report_int.h"

/* ---- forward gaps ---- */

static int cmp_gap(const void *a, const void *b)
{
	const struct tg_rpt_fwd_gap *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	if (c)
		return c;
	if (x->from_ns != y->from_ns)
		return x->from_ns < y->from_ns ? -1 : 1;
	if (x->first_id != y->first_id)
		return x->first_id < y->first_id ? -1 : 1;
	return strcmp(x->target, y->target);
}

/* A gap names its host by the host id of its rows: the name a session of that id gives. */
static void name_gap_hosts(struct tg_rpt *r)
{
	for (size_t i = 0; i < r->n_fwd_gaps; i++) {
		struct tg_rpt_fwd_gap *g = &r->fwd_gaps[i];
		const char *name = NULL;

		for (size_t k = 0; !g->host && k < r->n_sessions && !name; k++)
			if (r->sessions[k].host_id && !strcmp(r->sessions[k].host_id, g->host_id))
				name = r->sessions[k].host;
		if (!g->host)
			g->host = rpt_dup(r, name ? name : *g->host_id ? g->host_id : "unknown");
		r->fwd_evicted += g->evicted;
	}
	if (!r->failed && r->n_fwd_gaps)
		qsort(r->fwd_gaps, r->n_fwd_gaps, sizeof(*r->fwd_gaps), cmp_gap);
}

static void host_gaps(struct tg_rpt *r, struct tg_rpt_host *h)
{
	for (size_t i = 0; i < r->n_fwd_gaps; i++) {
		if (strcmp(r->fwd_gaps[i].host, h->name))
			continue;
		if (!h->n_fwd_gaps)
			h->fwd_gaps = &r->fwd_gaps[i];
		h->n_fwd_gaps++;
		h->fwd_evicted += r->fwd_gaps[i].evicted;
	}
}

/* ---- stopped reporting ---- */

/* Its latest session has no end, and its store has not been heard from since well before the
 * report's end. Sessions are sorted by host and start: the host's last one is its latest. */
static void host_silent(struct tg_rpt *r, struct tg_rpt_host *h)
{
	int64_t end = r->opts.now_ns;
	const struct tg_rpt_session *last = NULL;

	if (r->opts.until_ns != TG_RPT_NOTIME && r->opts.until_ns < end)
		end = r->opts.until_ns;
	for (size_t i = 0; i < r->n_sessions; i++)
		if (!strcmp(r->sessions[i].host, h->name))
			last = &r->sessions[i];
	if (!last || last->clean || last->heard_ns == TG_RPT_NOTIME ||
	    last->heard_ns >= end - TG_RPT_SILENT_NS)
		return;
	h->silent = last;
	r->n_silent++;
}

/* ---- policies in force ---- */

/* A part of a session under one policy. */
struct seg {
	const char *path, *sha256;
	int64_t from, to;
	bool partial, with_exceptions;
	const struct tg_rpt_session *s;
};

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void widen(int64_t *from, int64_t *to, int64_t f, int64_t t)
{
	if (f != TG_RPT_NOTIME && (*from == TG_RPT_NOTIME || f < *from))
		*from = f;
	if (t != TG_RPT_NOTIME && (*to == TG_RPT_NOTIME || t > *to))
		*to = t;
}

static void link_exceptions(struct tg_rpt *r, struct tg_rpt_policy *p,
			    const struct tg_rpt_session *s)
{
	for (size_t i = 0; i < s->n_exc_idx; i++) {
		size_t k = 0, *v;

		while (k < p->n_exceptions && p->exceptions[k] < s->exc_idx[i])
			k++;
		if (k < p->n_exceptions && p->exceptions[k] == s->exc_idx[i])
			continue;
		v = realloc(p->exceptions, (p->n_exceptions + 1) * sizeof(*v));
		if (!v) {
			r->failed = true;
			return;
		}
		p->exceptions = v;
		memmove(v + k + 1, v + k, (p->n_exceptions - k) * sizeof(*v));
		v[k] = s->exc_idx[i];
		p->n_exceptions++;
	}
}

static void add_seg(struct tg_rpt *r, struct tg_rpt_host *h, const struct seg *g)
{
	struct tg_rpt_policy *p = NULL;

	for (size_t i = 0; i < h->n_policies && !p; i++)
		if (same_str(h->policies[i].sha256, g->sha256) &&
		    !strcmp(h->policies[i].path, g->path))
			p = &h->policies[i];
	if (!p) {
		p = realloc(h->policies, (h->n_policies + 1) * sizeof(*p));
		if (!p) {
			r->failed = true;
			return;
		}
		h->policies = p;
		p = &h->policies[h->n_policies++];
		*p = (struct tg_rpt_policy){.from_ns = TG_RPT_NOTIME, .to_ns = TG_RPT_NOTIME};
		p->path = rpt_dup(r, g->path);
		p->sha256 = g->sha256 ? rpt_dup(r, g->sha256) : NULL;
	}
	widen(&p->from_ns, &p->to_ns, g->from, g->to);
	p->sessions++;
	p->partial |= g->partial;
	if (g->with_exceptions) {
		p->exceptions_known = true;
		link_exceptions(r, p, g->s);
	}
}

/*
 * A session's policies: the session record's from its start; after a reload, the summary's
 * from when it was installed to the stop. The exceptions a session lists are those of the
 * policy in force at its stop (the summary's), else at its start.
 */
static void session_policies(struct tg_rpt *r, struct tg_rpt_host *h,
			     const struct tg_rpt_session *s)
{
	const char *path = s->policy ? s->policy : "unknown";
	const char *end_path = s->end_policy ? s->end_policy : path;
	const char *end_sha = s->end_policy_sha256 ? s->end_policy_sha256 : s->policy_sha256;
	int64_t since = s->end_policy_since_ns;
	bool reloaded = s->policy_reloads &&
			(!same_str(end_sha, s->policy_sha256) || strcmp(end_path, path));

	if (!reloaded) {
		add_seg(r, h,
			&(struct seg){path, s->policy_sha256 ? s->policy_sha256 : end_sha,
				      s->start_ns, s->end_ns, false, true, s});
		return;
	}
	if (since == TG_RPT_NOTIME || (s->start_ns != TG_RPT_NOTIME && since < s->start_ns))
		since = s->start_ns;
	add_seg(r, h,
		&(struct seg){path, s->policy_sha256, s->start_ns, since, s->policy_reloads > 1,
			      false, s});
	add_seg(r, h, &(struct seg){end_path, end_sha, since, s->end_ns, false, true, s});
}

static int cmp_policy(const void *a, const void *b)
{
	const struct tg_rpt_policy *x = a, *y = b;

	if (x->from_ns != y->from_ns)
		return x->from_ns < y->from_ns ? -1 : 1;
	if (!x->sha256 != !y->sha256)
		return x->sha256 ? -1 : 1;
	if (x->sha256 && strcmp(x->sha256, y->sha256))
		return strcmp(x->sha256, y->sha256);
	return strcmp(x->path, y->path);
}

static void host_policies(struct tg_rpt *r, struct tg_rpt_host *h)
{
	for (size_t i = 0; i < r->n_sessions && !r->failed; i++)
		if (!strcmp(r->sessions[i].host, h->name) &&
		    (r->sessions[i].has_record || r->sessions[i].end_policy))
			session_policies(r, h, &r->sessions[i]);
	if (h->n_policies)
		qsort(h->policies, h->n_policies, sizeof(*h->policies), cmp_policy);
}

void rpt_build_evidence(struct tg_rpt *r)
{
	name_gap_hosts(r);
	for (size_t i = 0; i < r->n_hosts && !r->failed; i++) {
		host_policies(r, &r->hosts[i]);
		host_gaps(r, &r->hosts[i]);
		host_silent(r, &r->hosts[i]);
	}
}
