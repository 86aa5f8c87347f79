// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report model: records in, one merged report out (see report.h). Pure: no I/O. The model's
 * files (report_int.h):
 *   report.c         what the others share (allocation, field readers), finish and free
 *   report_read.c    records in: inputs, sessions, losses, health; JSON lines and store rows
 *   report_count.c   findings counted into tables keyed by rule, host, executable, ...
 *   report_period.c  the period: sessions in it, what they cover, the trend, what was not seen
 *   report_hosts.c   per host: its sessions, hooks and posture; the exceptions in force
 *   report_evidence.c per host: the policies in force, forward gaps, whether it went silent
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report_int.h"
#include "util/json_util.h"
#include "util/timefmt.h"

/* ---- small helpers ---- */

char *rpt_dup(struct tg_rpt *r, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		r->failed = true;
	return d;
}

void *rpt_grow(struct tg_rpt *r, void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	q = realloc(p, n * size);
	if (!q) {
		r->failed = true;
		return NULL;
	}
	*cap = n;
	return q;
}

int64_t rpt_get_time(json_object *o, const char *key)
{
	const char *s = tg_json_str(o, key, NULL);
	int64_t t;

	return s && !tg_parse_rfc3339(s, &t) ? t : TG_RPT_NOTIME;
}

static bool listed(json_object *arr, const char *key)
{
	size_t n = tg_json_array_len(arr);

	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (s && !strcmp(s, key))
			return true;
	}
	return false;
}

bool tg_rpt_unescape_lossless(char *s)
{
	char *w = s;
	const char *p;

	/* Check first, so that s is left alone when it is not in that form. */
	for (p = s; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] == '\\') {
			p++;
			continue;
		}
		if (p[1] != 'x' || !p[2] || !strchr("0123456789abcdef", p[2]) || !p[3] ||
		    !strchr("0123456789abcdef", p[3]) || (p[2] == '0' && p[3] == '0'))
			return false;
		p += 3;
	}
	for (p = s; *p; p++) {
		if (*p != '\\') {
			*w++ = *p;
		} else if (p[1] == '\\') {
			*w++ = '\\';
			p++;
		} else {
			*w++ = (char)strtol((char[]){p[2], p[3], 0}, NULL, 16);
			p += 3;
		}
	}
	*w = 0;
	return true;
}

/* A string field as bytes: decoded when the record lists it in escaped_fields. */
char *rpt_str_field(struct tg_rpt *r, json_object *o, const char *key, json_object *escaped,
		    const char *dflt)
{
	const char *s = tg_json_str(o, key, NULL);
	char *out = rpt_dup(r, s ? s : dflt);

	if (out && s && listed(escaped, key))
		tg_rpt_unescape_lossless(out);
	return out;
}

void rpt_invalid(struct tg_rpt *r, uint64_t where, const char *why)
{
	struct tg_rpt_input *in = &r->inputs[r->n_inputs - 1];

	if (!in->invalid++) {
		in->first_invalid = where;
		in->invalid_why = why;
	}
}

/* ---- finishing ---- */

void rpt_free_session(struct tg_rpt_session *s)
{
	for (size_t i = 0; i < s->n_unhealthy; i++)
		free(s->unhealthy[i].reason);
	free(s->unhealthy);
	free(s->host);
	free(s->version);
	free(s->policy);
	free(s->enforcement);
	free(s->host_id);
	free(s->policy_sha256);
	free(s->end_policy);
	free(s->end_policy_sha256);
	free(s->exc_idx);
	for (size_t i = 0; i < s->n_hooks; i++)
		free(s->hooks[i]);
	free(s->hooks);
	for (size_t i = 0; i < s->posture.n_mounts; i++) {
		free(s->posture.mounts[i].path);
		free(s->posture.mounts[i].fstype);
		free(s->posture.mounts[i].options);
		free(s->posture.mounts[i].mode);
		free(s->posture.mounts[i].mount_point);
	}
	free(s->posture.mounts);
	json_object_put(s->exceptions);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct tg_rpt_finding *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

int tg_rpt_finish(struct tg_rpt *r)
{
	rpt_close_session(r);
	if (r->failed)
		return -ENOMEM;
	rpt_select_sessions(r);
	if (r->failed)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct tg_rpt_session *s = &r->sessions[i];

		r->n_unclean += !s->clean;
		r->n_no_record += !s->has_record;
		r->not_printed += s->not_printed;
	}
	for (size_t i = 0; i < r->n_losses; i++)
		r->lost += r->losses[i].lost;
	for (size_t i = 0; i < r->n_inputs; i++)
		r->duplicates += r->inputs[i].duplicates;
	rpt_coverage(r, NULL, &r->covered_from, &r->covered_to, &r->covered_ns);
	rpt_build_hosts(r);
	rpt_build_exceptions(r);
	rpt_build_evidence(r);
	rpt_build_trend(r);
	rpt_build_gaps(r);
	if (tg_rpt_table_sort(&r->by_rule) || tg_rpt_table_sort(&r->by_exe) ||
	    tg_rpt_table_sort(&r->by_container) || tg_rpt_table_sort(&r->by_host) ||
	    tg_rpt_table_sort(&r->offenders) || tg_rpt_table_sort(&r->advice) ||
	    tg_rpt_table_sort(&r->by_pattern) || tg_rpt_table_sort(&r->cwe))
		r->failed = true;
	rpt_table_free(&r->seen);
	if (r->n_findings)
		qsort(r->findings, r->n_findings, sizeof(*r->findings), cmp_finding);
	return r->failed ? -ENOMEM : 0;
}

void tg_rpt_free(struct tg_rpt *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_inputs; i++) {
		free(r->inputs[i].name);
		free(r->inputs[i].digest_how);
	}
	free(r->inputs);
	for (size_t i = 0; i < r->n_fwd_gaps; i++) {
		free(r->fwd_gaps[i].host);
		free(r->fwd_gaps[i].host_id);
		free(r->fwd_gaps[i].target);
		free(r->fwd_gaps[i].stream);
	}
	free(r->fwd_gaps);
	for (size_t i = 0; i < r->n_sessions; i++)
		rpt_free_session(&r->sessions[i]);
	free(r->sessions);
	free(r->losses);
	for (size_t i = 0; i < r->n_findings; i++) {
		struct tg_rpt_finding *f = &r->findings[i];

		free(f->host);
		free(f->rule_id);
		free(f->action);
		free(f->exe);
		free(f->comm);
		free(f->user);
		free(f->path);
		free(f->pattern);
		free(f->syscall);
		free(f->language);
		free(f->advice);
		free(f->cwe);
		free(f->why);
		free(f->container_id);
		free(f->container_runtime);
		free(f->cmdline);
		free(f->cs_kind);
		free(f->cs_module);
		free(f->cs_function);
		free(f->cs_file);
		free(f->cs_command);
		free(f->exe_canon);
		free(f->src_rel);
		free(f->ancestry);
		free(f->csv);
	}
	free(r->findings);
	rpt_table_free(&r->by_rule);
	rpt_table_free(&r->by_exe);
	rpt_table_free(&r->by_container);
	rpt_table_free(&r->by_host);
	rpt_table_free(&r->offenders);
	rpt_table_free(&r->by_pattern);
	rpt_table_free(&r->advice);
	rpt_table_free(&r->cwe);
	rpt_table_free(&r->seen);
	for (size_t i = 0; i < r->n_hosts; i++) {
		struct tg_rpt_host *h = &r->hosts[i];

		free(h->name);
		for (size_t k = 0; k < h->n_hooks; k++)
			free(h->hooks[k]);
		free(h->hooks);
		for (size_t k = 0; k < h->n_remarks; k++)
			free(h->remarks[k]);
		free(h->remarks);
		for (size_t k = 0; k < h->n_policies; k++) {
			free(h->policies[k].path);
			free(h->policies[k].sha256);
			free(h->policies[k].exceptions);
		}
		free(h->policies);
	}
	free(r->hosts);
	for (size_t i = 0; i < r->n_exceptions; i++) {
		free(r->exceptions[i].policy);
		free(r->exceptions[i].rule);
		free(r->exceptions[i].reason);
		free(r->exceptions[i].applied_in);
		free(r->exceptions[i].owner);
	}
	free(r->exceptions);
	free(r->trend.counts);
	for (size_t i = 0; i < r->n_gaps; i++)
		free(r->gaps[i]);
	free(r->gaps);
	free(r->times);
	free(r);
}
