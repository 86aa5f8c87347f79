// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as JSON (the model, one document) and as SARIF 2.1.0 (one result per finding,
 * the executable as the artifact: a runtime finding has no source line, and the executable is
 * what a team owns and fixes). Everything through json-c; every hostile string through
 * tg_json_bytes, so the output is valid UTF-8 whatever the names held. Pure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"
#include "record.h"
#include "report_render.h"
#include "util/hash.h"
#include "util/json_util.h"
#include "util/timefmt.h"

#define SARIF_SCHEMA                                                                               \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-"         \
	"2.1.0.json"

static json_object *str(const char *s)
{
	return tg_json_bytes(s ? s : "", s ? strlen(s) : 0, NULL);
}

static json_object *time_json(int64_t ns)
{
	char buf[64];

	if (ns == TG_RPT_NOTIME)
		return NULL;
	tg_format_time(ns, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static json_object *sev_json(const uint64_t *sev)
{
	json_object *o = json_object_new_object();

	for (int i = TG_SEV_CRITICAL; i >= 0; i--)
		add(o, tg_severity_name(i), u64(sev[i]));
	return o;
}

static json_object *rules_json(const uint64_t *rule)
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < TG_RPT_NRULE; i++)
		if (rule[i])
			add(o, i < TG_RULE_MAX ? tg_rule_id(i) : "other", u64(rule[i]));
	return o;
}

/* A table's rows; key names the first key, key2 the second, text its text. */
static json_object *table_json(const struct tg_rpt_table *t, const char *key, const char *key2,
			       const char *text, size_t max)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < t->n && i < max; i++) {
		const struct tg_rpt_row *w = &t->rows[i];
		json_object *o = json_object_new_object();

		add(o, key, str(w->key));
		if (key2)
			add(o, key2, str(w->key2));
		if (text)
			add(o, text, w->text ? str(w->text) : NULL);
		add(o, "findings", u64(w->n));
		add(o, "by_severity", sev_json(w->sev));
		add(o, "by_rule", rules_json(w->rule));
		add(o, "worst", json_object_new_string(tg_severity_name(w->worst)));
		add(o, "first", time_json(w->first_ns));
		add(o, "last", time_json(w->last_ns));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *strings_json(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, str(v[i]));
	return a;
}

static json_object *posture_json(const struct tg_rpt_posture *p)
{
	json_object *o, *sys, *mounts;

	if (!p->known)
		return NULL;
	o = json_object_new_object();
	sys = json_object_new_object();
	mounts = json_object_new_array();
	for (int i = 0; i < TG_RPT_NSYSCTL; i++)
		add(sys, tg_rpt_sysctl_names[i],
		    p->sysctl[i] < 0 ? NULL : json_object_new_int64(p->sysctl[i]));
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct tg_rpt_mount *m = &p->mounts[i];
		json_object *mo = json_object_new_object();

		add(mo, "path", str(m->path));
		add(mo, "fstype", str(m->fstype));
		add(mo, "options", str(m->options));
		add(mo, "mode", str(m->mode));
		add(mo, "separate", m->separate < 0 ? NULL : json_object_new_boolean(m->separate));
		add(mo, "mount_point", *m->mount_point ? str(m->mount_point) : NULL);
		add(mo, "exists", m->exists < 0 ? NULL : json_object_new_boolean(m->exists));
		json_object_array_add(mounts, mo);
	}
	add(o, "sysctls", sys);
	add(o, "mounts", mounts);
	return o;
}

static json_object *session_json(const struct tg_rpt *r, const struct tg_rpt_session *s)
{
	json_object *o = json_object_new_object();

	add(o, "host", str(s->host));
	add(o, "input", str(r->inputs[s->input].name));
	add(o, "start", time_json(s->start_ns));
	add(o, "end", time_json(s->end_ns));
	add(o, "clean", json_object_new_boolean(s->clean));
	add(o, "end_recorded", json_object_new_boolean(s->end_recorded));
	/* An unclean session: what happened after its last record is unknown. */
	add(o, "unknown_after", s->clean ? NULL : time_json(s->end_ns));
	add(o, "session_record", json_object_new_boolean(s->has_record));
	add(o, "scope",
	    json_object_new_string(!s->has_record ? "unknown"
				   : s->tree_only ? "process-tree"
						  : "host"));
	add(o, "version", s->version ? str(s->version) : NULL);
	add(o, "policy", s->policy ? str(s->policy) : NULL);
	add(o, "policy_sha256", s->policy_sha256 ? str(s->policy_sha256) : NULL);
	add(o, "enforcement", s->enforcement ? str(s->enforcement) : NULL);
	add(o, "hooks", s->has_record ? strings_json(s->hooks, s->n_hooks) : NULL);
	add(o, "findings", u64(s->findings));
	add(o, "lost", u64(s->lost_windows > s->lost_summary ? s->lost_windows : s->lost_summary));
	add(o, "repeats_not_recorded", u64(s->not_printed));
	return o;
}

/* The period asked for, and the part of it the sessions covered. */
static json_object *period_json(const struct tg_rpt *r)
{
	json_object *p = json_object_new_object(), *x;

	x = json_object_new_object();
	add(x, "since", time_json(r->opts.since_ns));
	add(x, "until", time_json(r->opts.until_ns));
	add(p, "requested", x);
	x = json_object_new_object();
	add(x, "from", time_json(r->covered_from));
	add(x, "to", time_json(r->covered_to));
	add(x, "seconds", json_object_new_int64(r->covered_ns / 1000000000));
	add(p, "covered", x);
	return p;
}

static json_object *inputs_json(const struct tg_rpt *r)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->n_inputs; i++) {
		const struct tg_rpt_input *in = &r->inputs[i];
		json_object *x = json_object_new_object();

		add(x, "name", str(in->name));
		add(x, "kind", json_object_new_string(tg_rpt_input_kind(in)));
		add(x, "records", u64(in->records));
		add(x, "unreadable", u64(in->unreadable));
		add(x, "invalid", u64(in->invalid));
		add(x, "duplicates", u64(in->duplicates));
		add(x, "undated_sessions", u64(in->undated));
		add(x, "forward_gaps", u64(in->forward_gaps));
		/* What the report read, by content: null where it could not say */
		add(x, "bytes", in->bytes >= 0 ? json_object_new_int64(in->bytes) : NULL);
		add(x, "sha256", *in->sha256 ? json_object_new_string(in->sha256) : NULL);
		add(x, "digest", in->digest_how ? str(in->digest_how) : NULL);
		if (in->wal_bytes) {
			json_object *w = json_object_new_object();

			add(w, "bytes", u64(in->wal_bytes));
			add(w, "sha256", json_object_new_string(in->wal_sha256));
			add(x, "write_ahead_log", w);
		} else {
			add(x, "write_ahead_log", NULL);
		}
		json_object_array_add(a, x);
	}
	return a;
}

static json_object *totals_json(const struct tg_rpt *r)
{
	json_object *x = json_object_new_object();

	add(x, "findings", u64(r->total));
	add(x, "by_severity", sev_json(r->by_sev));
	add(x, "hosts", u64(r->n_hosts));
	add(x, "sessions", u64(r->n_sessions));
	add(x, "unclean_sessions", u64(r->n_unclean));
	add(x, "sessions_without_record", u64(r->n_no_record));
	add(x, "lost", u64(r->lost));
	add(x, "repeats_not_recorded", u64(r->not_printed));
	add(x, "duplicates", u64(r->duplicates));
	add(x, "hidden_by_exceptions_of_replaced_policies", u64(r->hidden_by_replaced));
	add(x, "forward_gaps", u64(r->n_fwd_gaps));
	add(x, "forward_gap_rows", u64(r->fwd_evicted));
	add(x, "hosts_stopped_reporting", u64(r->n_silent));
	return x;
}

static json_object *losses_json(const struct tg_rpt *r)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->n_losses; i++) {
		const struct tg_rpt_loss *l = &r->losses[i];
		json_object *x = json_object_new_object();

		add(x, "host", str(l->host));
		add(x, "from", time_json(l->from_ns));
		add(x, "to", time_json(l->to_ns));
		add(x, "lost", u64(l->lost));
		add(x, "window_known", json_object_new_boolean(!l->unknown_time));
		json_object_array_add(a, x);
	}
	return a;
}

static json_object *policies_json(const struct tg_rpt_host *h)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < h->n_policies; i++) {
		const struct tg_rpt_policy *p = &h->policies[i];
		json_object *x = json_object_new_object(), *xs = NULL;

		add(x, "policy", str(p->path));
		add(x, "sha256", p->sha256 ? str(p->sha256) : NULL);
		add(x, "from", time_json(p->from_ns));
		add(x, "to", time_json(p->to_ns));
		add(x, "sessions", u64(p->sessions));
		add(x, "partial", json_object_new_boolean(p->partial));
		/* indices into the report's "exceptions"; null: not recorded */
		if (p->exceptions_known) {
			xs = json_object_new_array();
			for (size_t k = 0; k < p->n_exceptions; k++)
				json_object_array_add(xs, u64(p->exceptions[k]));
		}
		add(x, "exceptions", xs);
		json_object_array_add(a, x);
	}
	return a;
}

static json_object *fwd_gaps_json(const struct tg_rpt_host *h)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < h->n_fwd_gaps; i++) {
		const struct tg_rpt_fwd_gap *g = &h->fwd_gaps[i];
		json_object *x = json_object_new_object();

		add(x, "host_id", str(g->host_id));
		add(x, "target", str(g->target));
		add(x, "stream", str(g->stream));
		add(x, "session_key", json_object_new_int64(g->session_key));
		add(x, "first_id", json_object_new_int64(g->first_id));
		add(x, "last_id", json_object_new_int64(g->last_id));
		add(x, "evicted", u64(g->evicted));
		add(x, "from", time_json(g->from_ns));
		add(x, "to", time_json(g->to_ns));
		add(x, "evicted_at", time_json(g->time_ns));
		json_object_array_add(a, x);
	}
	return a;
}

/* A host that stopped reporting: when it was last heard from; null when it did not. */
static json_object *silent_json(const struct tg_rpt_host *h)
{
	json_object *x;

	if (!h->silent)
		return NULL;
	x = json_object_new_object();
	add(x, "session_start", time_json(h->silent->start_ns));
	add(x, "last_heard", time_json(h->silent->heard_ns));
	return x;
}

/* A host: its span, counts, hooks, latest posture and the remarks on it, its sessions. */
static json_object *host_json(const struct tg_rpt *r, const struct tg_rpt_host *h)
{
	json_object *x = json_object_new_object(), *ss = json_object_new_array();

	add(x, "host", str(h->name));
	add(x, "first", time_json(h->first_ns));
	add(x, "last", time_json(h->last_ns));
	add(x, "covered_seconds", json_object_new_int64(h->covered_ns / 1000000000));
	add(x, "findings", u64(h->findings));
	add(x, "lost", u64(h->lost));
	add(x, "unclean_sessions", u64(h->n_unclean));
	add(x, "hooks", strings_json(h->hooks, h->n_hooks));
	add(x, "enforcement",
	    h->latest && h->latest->enforcement ? str(h->latest->enforcement) : NULL);
	add(x, "posture", h->latest ? posture_json(&h->latest->posture) : NULL);
	add(x, "remarks", strings_json(h->remarks, h->n_remarks));
	for (size_t k = 0; k < r->n_sessions; k++)
		if (!strcmp(r->sessions[k].host, h->name))
			json_object_array_add(ss, session_json(r, &r->sessions[k]));
	add(x, "sessions", ss);
	add(x, "policies", policies_json(h));
	add(x, "forward_gaps", fwd_gaps_json(h));
	add(x, "forward_gap_rows", u64(h->fwd_evicted));
	add(x, "stopped_reporting", silent_json(h));
	return x;
}

/* The findings by severity, and the tables by rule, host, executable, container, CWE, path. */
static json_object *findings_json(const struct tg_rpt *r)
{
	json_object *x = json_object_new_object();

	add(x, "by_severity", sev_json(r->by_sev));
	add(x, "by_rule", table_json(&r->by_rule, "rule", NULL, "cwe", SIZE_MAX));
	add(x, "by_host", table_json(&r->by_host, "host", NULL, NULL, SIZE_MAX));
	add(x, "by_executable", table_json(&r->by_exe, "exe", NULL, NULL, SIZE_MAX));
	add(x, "by_container",
	    table_json(&r->by_container, "container_id", NULL, "runtime", SIZE_MAX));
	add(x, "by_cwe", table_json(&r->cwe, "cwe", NULL, NULL, SIZE_MAX));
	add(x, "by_path", table_json(&r->by_pattern, "pattern", NULL, NULL, TG_RPT_TOP_PATHS));
	return x;
}

static json_object *trend_json(const struct tg_rpt *r)
{
	json_object *x = json_object_new_object(), *a = json_object_new_array();
	char buf[32];

	add(x, "bucket", json_object_new_string(tg_rpt_bucket_name(r->trend.unit)));
	add(x, "bucket_seconds", json_object_new_int64(r->trend.bucket_ns / 1000000000));
	add(x, "first_half", u64(r->trend.first_half));
	add(x, "second_half", u64(r->trend.second_half));
	tg_rpt_change(r->trend.first_half, r->trend.second_half, buf, sizeof(buf));
	add(x, "change", json_object_new_string(buf));
	for (size_t i = 0; i < r->trend.n; i++) {
		json_object *b = sev_json(r->trend.counts[i]);

		add(b, "start", time_json(r->trend.from_ns + (int64_t)i * r->trend.bucket_ns));
		json_object_array_add(a, b);
	}
	add(x, "buckets", a);
	return x;
}

static json_object *exceptions_json(const struct tg_rpt *r)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->n_exceptions; i++) {
		const struct tg_rpt_exception *e = &r->exceptions[i];
		json_object *x = json_object_new_object();

		add(x, "policy", str(e->policy));
		add(x, "line", json_object_new_int64(e->line));
		add(x, "rule", str(e->rule));
		add(x, "reason", str(e->reason));
		add(x, "applied_in", str(e->applied_in));
		add(x, "sessions", u64(e->sessions));
		add(x, "sessions_without_counts", u64(e->sessions_uncounted));
		add(x, "hidden_kernel", u64(e->hidden_kernel));
		add(x, "hidden_user", u64(e->hidden_user));
		/* null where the policy names no owner or no expiry: an auditor asks for both */
		add(x, "owner", e->owner ? str(e->owner) : NULL);
		add(x, "expires", time_json(e->expires_ns));
		add(x, "expired", json_object_new_boolean(e->expired));
		add(x, "expiry", json_object_new_string(tg_rpt_expiry_name(e->expiry)));
		json_object_array_add(a, x);
	}
	return a;
}

json_object *tg_rpt_json(const struct tg_rpt *r, const char *version)
{
	json_object *o = json_object_new_object(), *hosts = json_object_new_array();

	add(o, "type", json_object_new_string("report"));
	add(o, "schema_version", json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	add(o, "version", json_object_new_string(version));
	add(o, "generated", time_json(r->opts.now_ns));
	add(o, "period", period_json(r));
	add(o, "inputs", inputs_json(r));
	add(o, "totals", totals_json(r));
	add(o, "not_seen", strings_json(r->gaps, r->n_gaps));
	add(o, "losses", losses_json(r));
	for (size_t i = 0; i < r->n_hosts; i++)
		json_object_array_add(hosts, host_json(r, &r->hosts[i]));
	add(o, "hosts", hosts);
	add(o, "findings", findings_json(r));
	add(o, "trend", trend_json(r));
	add(o, "top_offenders",
	    table_json(&r->offenders, "exe", "host", "first_pattern", TG_RPT_TOP));
	add(o, "exceptions", exceptions_json(r));
	add(o, "advice", table_json(&r->advice, "rule", "language", "advice", SIZE_MAX));
	return o;
}

static int write_json(FILE *out, json_object *o)
{
	int err = 0;

	if (!o)
		return -ENOMEM;
	if (fprintf(out, "%s\n",
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		err = -errno;
	json_object_put(o);
	return err;
}

int tg_rpt_json_write(FILE *out, const struct tg_rpt *r, const char *version)
{
	return write_json(out, tg_rpt_json(r, version));
}

/* ---- SARIF ---- */

static const char *sarif_level(int sev)
{
	return sev >= TG_SEV_HIGH ? "error" : sev == TG_SEV_MEDIUM ? "warning" : "note";
}

/* GitHub code scanning's scale (CVSS-like, 0.0-10.0). */
static const char *security_severity(int sev)
{
	static const char *const v[] = {"3.0", "5.5", "8.0", "9.5"};

	return sev >= 0 && sev <= TG_SEV_CRITICAL ? v[sev] : "5.5";
}

/*
 * The name of a rule this build does not know (a newer build's record): its id made an
 * identifier, "future-rule" -> "FutureRule", as the registry spells the names of its own.
 */
static json_object *unknown_rule_name(const char *id)
{
	char buf[128];
	size_t n = 0;
	bool up = true;

	for (const char *p = id; *p && n + 1 < sizeof(buf); p++) {
		if (*p == '-' || *p == '_') {
			up = true;
			continue;
		}
		buf[n++] = up && *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;
		up = false;
	}
	buf[n] = 0;
	return str(buf);
}

/*
 * A message's text: SARIF 2.1.0 (3.11.6) reads "[text](target)" in it as an embedded link, so
 * a path, a command or a host name that holds one would put the producer's link in a viewer.
 * Literal square brackets are escaped with a backslash, and so is every backslash, so that an
 * escape in the record's own text (\xNN) reads as it was.
 */
static json_object *message(const char *text)
{
	json_object *m = json_object_new_object();
	size_t n = 0;
	char *t;

	for (const char *p = text; *p; p++)
		n += (*p == '[' || *p == ']' || *p == '\\') ? 2 : 1;
	t = malloc(n + 1);
	if (!t) {
		add(m, "text", str(""));
		return m;
	}
	n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '[' || *p == ']' || *p == '\\')
			t[n++] = '\\';
		t[n++] = *p;
	}
	t[n] = 0;
	add(m, "text", str(t));
	free(t);
	return m;
}

/* One reportingDescriptor: rule i of this build, or id (a rule it does not know). */
static json_object *sarif_rule(const struct tg_rpt *r, int i, const char *id)
{
	json_object *o = json_object_new_object(), *props = json_object_new_object();
	json_object *tags = json_object_new_array(), *cfg = json_object_new_object();
	json_object *help = json_object_new_object();
	char cwes[64], *save = NULL, *text = NULL, *md = NULL;
	size_t tlen = 0, mlen = 0;
	FILE *t = open_memstream(&text, &tlen), *m = open_memstream(&md, &mlen);
	const struct tg_rule_info *ri = tg_rule_info(i);
	int sev = ri ? (int)ri->severity : TG_SEV_HIGH;
	bool any = false;

	add(o, "id", str(id));
	add(o, "name", ri ? str(ri->sarif_name) : unknown_rule_name(id));
	add(o, "shortDescription", message(ri ? ri->title : id));
	add(o, "fullDescription", message(ri ? ri->why : id));
	/* The advice in each language the findings were in; C's when there were none. */
	for (size_t k = 0; t && m && k < r->advice.n; k++) {
		const struct tg_rpt_row *w = &r->advice.rows[k];

		if (strcmp(w->key, id) || !w->text)
			continue;
		fprintf(t, "%s[%s] %s", any ? "\n" : "", w->key2, w->text);
		fprintf(m, "%s- **", any ? "\n" : "");
		tg_md_escape(m, w->key2);
		fputs("**: ", m);
		tg_md_escape(m, w->text);
		any = true;
	}
	if (t && m && !any && ri) {
		fprintf(t, "[c] %s", tg_advice(TG_LANG_C, i));
		fputs("- **c**: ", m);
		tg_md_escape(m, tg_advice(TG_LANG_C, i));
	}
	if (t)
		fclose(t);
	if (m)
		fclose(m);
	add(help, "text", str(text ? text : ""));
	add(help, "markdown", str(md ? md : ""));
	free(text);
	free(md);
	add(o, "help", help);
	add(cfg, "level", json_object_new_string(sarif_level(sev)));
	add(o, "defaultConfiguration", cfg);
	json_object_array_add(tags, json_object_new_string("security"));
	snprintf(cwes, sizeof(cwes), "%s", ri ? ri->cwe : "");
	for (char *c = strtok_r(cwes, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		char tag[64];

		/* "external/cwe/cwe-377", as CodeQL tags its queries. */
		snprintf(tag, sizeof(tag), "external/cwe/%s", c);
		for (char *p = tag; *p; p++)
			*p = *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p;
		json_object_array_add(tags, json_object_new_string(tag));
	}
	add(props, "tags", tags);
	add(props, "precision", json_object_new_string("high"));
	add(props, "problem.severity", json_object_new_string(sarif_level(sev)));
	add(props, "security-severity", json_object_new_string(security_severity(sev)));
	add(o, "properties", props);
	return o;
}

/*
 * A finding's call site, as one string: the repository-relative file (under --source-root) or
 * the file as recorded, with line and function; a shell's -c text; a frame's module (canonical
 * name) and offset. "" when it has none.
 */
static char *site_key(const struct tg_rpt_finding *f)
{
	const char *mod = f->cs_module ? strrchr(f->cs_module, '/') : NULL;
	char *k = NULL;
	int n;

	if (f->src_rel)
		n = asprintf(&k, "src:%s:%lld:%s", f->src_rel, f->cs_line, f->cs_function);
	else if (f->cs_file && *f->cs_file)
		n = asprintf(&k, "file:%s:%lld:%s", f->cs_file, f->cs_line, f->cs_function);
	else if (f->cs_command && *f->cs_command)
		n = asprintf(&k, "command:%s", f->cs_command);
	else if (f->cs_module && *f->cs_module && f->cs_offset >= 0)
		n = asprintf(&k, "module:%s+0x%llx", mod ? mod + 1 : f->cs_module,
			     (unsigned long long)f->cs_offset);
	else
		n = asprintf(&k, "%s", "");
	return n < 0 ? NULL : k;
}

/*
 * What makes two findings one result, and its fingerprint: the rule, the executable's canonical
 * name (tg_rpt_place: "bash" and "/usr/bin/bash" agree), the call site, and the path pattern
 * (random parts as '*') unless the call site names its line. Nothing that changes from run to
 * run (pid, time, host, the random part of a name) is in it. NULL on ENOMEM.
 */
static char *result_key(const struct tg_rpt_finding *f)
{
	char *site = site_key(f), *k = NULL;
	const char *exe = f->exe_canon ? f->exe_canon : f->exe;
	bool line = f->cs_line > 0 && (f->src_rel || (f->cs_file && *f->cs_file));

	if (site &&
	    asprintf(&k, "%zu:%s|%zu:%s|%zu:%s|%s", strlen(f->rule_id), f->rule_id, strlen(exe),
		     exe, strlen(site), site, line ? "" : (*f->pattern ? f->pattern : f->path)) < 0)
		k = NULL;
	free(site);
	return k;
}

static json_object *fingerprint(const char *key)
{
	uint64_t h = tg_fnv1a_str(TG_FNV1A_BASIS_REPORT, key);
	char buf[32];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)h);
	return json_object_new_string(buf);
}

/* The artifact of a finding: its executable (a bare name when the process was gone). */
static char *exe_uri(const char *exe)
{
	return tg_file_uri(*exe ? exe : "unknown");
}

/* The call site in words: "FILE:LINE (in FUNCTION)", "sh -c 'TEXT'", "MODULE+0xOFF"; NULL when
 * there is none (or on ENOMEM). Raw bytes: the caller makes it printable. */
static char *site_text(const struct tg_rpt_finding *f)
{
	const char *file = f->src_rel ? f->src_rel : f->cs_file;
	char line[32] = "", *t = NULL;
	int n = -1;

	if (f->cs_line > 0)
		snprintf(line, sizeof(line), ":%lld", f->cs_line);
	if (file && *file)
		n = asprintf(&t, "%s%s%s%s%s", file, line, *f->cs_function ? " (in " : "",
			     f->cs_function, *f->cs_function ? ")" : "");
	else if (f->cs_command && *f->cs_command)
		n = asprintf(&t, "sh -c '%s'", f->cs_command);
	else if (f->cs_module && *f->cs_module && f->cs_offset >= 0)
		n = asprintf(&t, "%s+0x%llx", f->cs_module, (unsigned long long)f->cs_offset);
	return n < 0 ? NULL : t;
}

/* The result's message: every string from the record in its printable form (a viewer may
 * show it on a terminal). NULL on ENOMEM. */
static char *message_text(const struct tg_rpt_finding *f, const char *time, uint64_t count)
{
	char *site = site_text(f);
	const char *raw[] = {f->path,	  f->exe,    f->host,	 f->why,
			     f->language, f->advice, f->rule_id, site ? site : ""};
	char *p[8] = {0}, *text = NULL, more[64] = "";
	size_t i;

	if (count > 1)
		snprintf(more, sizeof(more), " (%llu findings; the first shown)",
			 (unsigned long long)count);
	for (i = 0; i < 8; i++)
		if (!(p[i] = tg_text_dup(raw[i], strlen(raw[i]))))
			goto out;
	if (asprintf(&text,
		     "%s: %s by %s (pid %lld, uid %lld, host %s) at %s%s.%s%s%s %s Fix (%s): %s",
		     f->rule < TG_RULE_MAX ? tg_rule_title(f->rule) : p[6], p[0], p[1], f->pid,
		     f->uid, p[2], time, more, site ? " Call site: " : "", p[7], site ? "." : "",
		     p[3], p[4], p[5]) < 0)
		text = NULL;
out:
	for (i = 0; i < 8; i++)
		free(p[i]);
	free(site);
	return text;
}

/* The call site in the result's properties, as the record gave it. */
static json_object *site_json(const struct tg_rpt_finding *f)
{
	json_object *o;

	if (!f->cs_kind || !*f->cs_kind)
		return NULL;
	o = json_object_new_object();
	add(o, "kind", str(f->cs_kind));
	add(o, "file", *f->cs_file ? str(f->cs_file) : NULL);
	add(o, "repository_file", f->src_rel ? str(f->src_rel) : NULL);
	add(o, "line", f->cs_line > 0 ? json_object_new_int64(f->cs_line) : NULL);
	add(o, "function", *f->cs_function ? str(f->cs_function) : NULL);
	add(o, "module", *f->cs_module ? str(f->cs_module) : NULL);
	add(o, "offset", f->cs_offset >= 0 ? json_object_new_int64(f->cs_offset) : NULL);
	add(o, "command", *f->cs_command ? str(f->cs_command) : NULL);
	return o;
}

/* The executable (and the call site's function) as logical locations: what a reader of the
 * result knows the program by, wherever the result is placed. */
static json_object *logical_locations(const struct tg_rpt_finding *f)
{
	json_object *a = json_object_new_array(), *m = json_object_new_object();

	add(m, "name", str(f->exe_canon ? f->exe_canon : f->exe));
	add(m, "fullyQualifiedName", str(*f->exe ? f->exe : "unknown"));
	add(m, "kind", json_object_new_string("module"));
	json_object_array_add(a, m);
	if (*f->cs_function) {
		json_object *fn = json_object_new_object();

		add(fn, "name", str(f->cs_function));
		add(fn, "kind", json_object_new_string("function"));
		json_object_array_add(a, fn);
	}
	return a;
}

/* One result: the findings g[0..n) of one key, f = the first (by time). */
static json_object *sarif_result(const struct tg_rpt *r, const struct tg_rpt_finding *f,
				 const struct tg_rpt_finding *last, uint64_t n, long rule_index,
				 const char *key)
{
	json_object *o = json_object_new_object(), *loc = json_object_new_object();
	json_object *phys = json_object_new_object(), *art = json_object_new_object();
	json_object *locs = json_object_new_array(), *fp = json_object_new_object();
	json_object *props = json_object_new_object(), *cwe = json_object_new_array();
	char *text, cw[256], *save = NULL, *uri;
	char t[64], tl[64];

	tg_format_time(f->time_ns, t, sizeof(t));
	tg_format_time(last->time_ns, tl, sizeof(tl));
	text = message_text(f, t, n);
	add(o, "ruleId", str(f->rule_id));
	add(o, "ruleIndex", json_object_new_int64(rule_index));
	add(o, "level", json_object_new_string(sarif_level(f->sev)));
	add(o, "message", message(text ? text : f->rule_id));
	if (f->src_rel) {
		/* In the repository: the file relative to its root, and the line when known. */
		uri = tg_file_uri(f->src_rel);
		add(art, "uri", str(uri ? uri : f->src_rel));
		add(art, "uriBaseId", json_object_new_string("%SRCROOT%"));
		add(phys, "artifactLocation", art);
		if (f->cs_line > 0) {
			json_object *reg = json_object_new_object();

			add(reg, "startLine", json_object_new_int64(f->cs_line));
			add(phys, "region", reg);
		}
	} else {
		/* No repository (no --source-root): the executable, as an analysis target. */
		const struct tg_rpt_row *w = tg_rpt_table_get(&r->by_exe, f->exe, NULL);

		uri = exe_uri(f->exe);
		add(art, "uri", str(uri ? uri : "unknown"));
		if (w)
			add(art, "index", json_object_new_int64(w - r->by_exe.rows));
		add(phys, "artifactLocation", art);
	}
	free(uri);
	add(loc, "physicalLocation", phys);
	add(loc, "logicalLocations", logical_locations(f));
	json_object_array_add(locs, loc);
	add(o, "locations", locs);
	add(fp, "tmpguard/v2", fingerprint(key));
	add(o, "partialFingerprints", fp);
	add(props, "findings", json_object_new_int64((int64_t)n));
	add(props, "time", json_object_new_string(t));
	add(props, "last_time", json_object_new_string(tl));
	add(props, "host", str(f->host));
	add(props, "path", str(f->path));
	add(props, "pattern", str(f->pattern));
	add(props, "severity", json_object_new_string(tg_severity_name(f->sev)));
	add(props, "action", str(f->action));
	add(props, "syscall", str(f->syscall));
	add(props, "pid", json_object_new_int64(f->pid));
	add(props, "uid", json_object_new_int64(f->uid));
	add(props, "user", str(f->user));
	add(props, "comm", str(f->comm));
	add(props, "cmdline", str(f->cmdline));
	add(props, "ancestry", *f->ancestry ? str(f->ancestry) : NULL);
	add(props, "executable", str(f->exe));
	add(props, "language", str(f->language));
	add(props, "container_id", *f->container_id ? str(f->container_id) : NULL);
	add(props, "occurrence", json_object_new_int64(f->count));
	add(props, "call_site", site_json(f));
	snprintf(cw, sizeof(cw), "%s", f->cwe);
	for (char *c = strtok_r(cw, ",", &save); c; c = strtok_r(NULL, ",", &save))
		json_object_array_add(cwe, str(c));
	add(props, "cwe", cwe);
	add(o, "properties", props);
	free(text);
	return o;
}

/* A finding's result key, for grouping (by key, then time: findings are in time order). */
struct keyed {
	char *key;
	size_t i;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* A group of findings, one result: its first finding's index, its last, how many. */
struct group {
	size_t first, last, n;
	const char *key;
};

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The inputs by content, in the run's properties (SARIF's artifacts are what was analysed:
 * here the executables). */
static json_object *sarif_inputs(const struct tg_rpt *r)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->n_inputs; i++) {
		const struct tg_rpt_input *in = &r->inputs[i];
		json_object *x = json_object_new_object();

		add(x, "name", str(in->name));
		add(x, "kind", json_object_new_string(tg_rpt_input_kind(in)));
		add(x, "bytes", in->bytes >= 0 ? json_object_new_int64(in->bytes) : NULL);
		add(x, "sha256", *in->sha256 ? json_object_new_string(in->sha256) : NULL);
		add(x, "write_ahead_log_sha256",
		    in->wal_bytes ? json_object_new_string(in->wal_sha256) : NULL);
		add(x, "records", u64(in->records));
		json_object_array_add(a, x);
	}
	return a;
}

/*
 * The results: one per result key (rule, executable, call site; result_key), in the order of
 * their first finding, with how many findings it stands for. Under --source-root, findings
 * whose call site is not in the repository are left out (code scanning refuses a whole file for
 * one result it cannot place) and counted in *unplaced. Returns 0 or -ENOMEM.
 */
static int sarif_results(const struct tg_rpt *r, json_object *results, const char **unknown,
			 size_t n_unknown, uint64_t *unplaced)
{
	struct keyed *k = calloc(r->n_findings + 1, sizeof(*k));
	struct group *g = calloc(r->n_findings + 1, sizeof(*g));
	size_t n = 0, ng = 0;
	int err = 0;

	if (!k || !g) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		if (r->opts.source_root && !r->findings[i].src_rel) {
			(*unplaced)++;
			continue;
		}
		k[n].i = i;
		if (!(k[n++].key = result_key(&r->findings[i]))) {
			err = -ENOMEM;
			goto out;
		}
	}
	qsort(k, n, sizeof(*k), keyed_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!ng || strcmp(g[ng - 1].key, k[i].key))
			g[ng++] = (struct group){.first = k[i].i, .key = k[i].key};
		g[ng - 1].last = k[i].i;
		g[ng - 1].n++;
	}
	qsort(g, ng, sizeof(*g), group_cmp);
	for (size_t i = 0; i < ng; i++) {
		const struct tg_rpt_finding *f = &r->findings[g[i].first];
		long idx = f->rule;

		if (f->rule >= TG_RULE_MAX)
			for (size_t u = 0; u < n_unknown; u++)
				if (!strcmp(unknown[u], f->rule_id))
					idx = TG_RULE_MAX + (long)u;
		json_object_array_add(results, sarif_result(r, f, &r->findings[g[i].last], g[i].n,
							    idx, g[i].key));
	}
out:
	for (size_t i = 0; k && i < n; i++)
		free(k[i].key);
	free(k);
	free(g);
	return err;
}

json_object *tg_rpt_sarif(const struct tg_rpt *r, const char *version)
{
	json_object *log = json_object_new_object(), *runs = json_object_new_array();
	json_object *run = json_object_new_object(), *tool = json_object_new_object();
	json_object *driver = json_object_new_object(), *rules = json_object_new_array();
	json_object *results = json_object_new_array(), *arts = json_object_new_array();
	json_object *inv = json_object_new_object(), *invs = json_object_new_array();
	json_object *notes = json_object_new_array(), *props = json_object_new_object();
	json_object *auto_ = json_object_new_object();
	const char **unknown = calloc(r->by_rule.n + 1, sizeof(*unknown));
	size_t n_unknown = 0;
	uint64_t unplaced = 0;

	if (!unknown) {
		json_object_put(log);
		return NULL;
	}
	add(log, "$schema", json_object_new_string(SARIF_SCHEMA));
	add(log, "version", json_object_new_string("2.1.0"));
	add(driver, "name", json_object_new_string("tmpguard"));
	add(driver, "version", json_object_new_string(version));
	add(driver, "semanticVersion", json_object_new_string(version));
	/* Every rule of this build (so that ruleIndex is the rule's enum), then unknown ones. */
	for (int i = 0; i < TG_RULE_MAX; i++)
		json_object_array_add(rules, sarif_rule(r, i, tg_rule_id(i)));
	for (size_t i = 0; i < r->by_rule.n; i++)
		if (tg_rule_parse(r->by_rule.rows[i].key) < 0) {
			unknown[n_unknown++] = r->by_rule.rows[i].key;
			json_object_array_add(rules,
					      sarif_rule(r, TG_RULE_MAX, r->by_rule.rows[i].key));
		}
	add(driver, "rules", rules);
	add(tool, "driver", driver);
	add(run, "tool", tool);

	/* What the report could not see, as the run's notifications. */
	add(inv, "executionSuccessful", json_object_new_boolean(true));
	/* SARIF has no null times: a report that covers nothing says so in a notification. */
	if (r->covered_from != TG_RPT_NOTIME) {
		add(inv, "startTimeUtc", time_json(r->covered_from));
		add(inv, "endTimeUtc", time_json(r->covered_to));
	}
	for (size_t i = 0; i < r->n_gaps; i++) {
		json_object *n = json_object_new_object();

		add(n, "level", json_object_new_string("warning"));
		add(n, "message", message(r->gaps[i]));
		json_object_array_add(notes, n);
	}
	add(inv, "toolExecutionNotifications", notes);
	if (r->opts.source_root) {
		json_object *base = json_object_new_object(), *root = json_object_new_object();
		char *u = tg_file_uri(r->opts.source_root), *d = NULL;

		/* SARIF 3.14.14: a base URI ends with a slash. */
		if (u && asprintf(&d, "%s%s", u, u[strlen(u) - 1] == '/' ? "" : "/") < 0)
			d = NULL;
		add(root, "uri", str(d ? d : "file:///"));
		add(base, "%SRCROOT%", root);
		add(run, "originalUriBaseIds", base);
		free(u);
		free(d);
	}
	add(auto_, "id", json_object_new_string("tmpguard/runtime/"));
	add(run, "automationDetails", auto_);
	json_object_array_add(invs, inv);
	add(run, "invocations", invs);

	/* The executables, unless the results are placed in a repository: code scanning resolves
	 * what it is given against the checkout, and an executable is not in it. */
	for (size_t i = 0; !r->opts.source_root && i < r->by_exe.n; i++) {
		json_object *a = json_object_new_object(), *l = json_object_new_object();
		json_object *roles = json_object_new_array();
		char *uri = exe_uri(r->by_exe.rows[i].key);

		add(l, "uri", str(uri ? uri : "unknown"));
		add(a, "location", l);
		json_object_array_add(roles, json_object_new_string("analysisTarget"));
		add(a, "roles", roles);
		json_object_array_add(arts, a);
		free(uri);
	}
	if (r->opts.source_root)
		json_object_put(arts);
	else
		add(run, "artifacts", arts);

	if (sarif_results(r, results, unknown, n_unknown, &unplaced)) {
		json_object_put(log);
		json_object_put(results);
		json_object_put(props);
		free(unknown);
		return NULL;
	}
	if (unplaced) {
		json_object *n = json_object_new_object();
		char *t = NULL;

		if (asprintf(&t,
			     "%llu finding(s) have no call site in the repository under "
			     "--source-root: code scanning cannot place them, so they are left out "
			     "here; `tmpguard report --format json` lists them",
			     (unsigned long long)unplaced) < 0)
			t = NULL;
		add(n, "level", json_object_new_string("warning"));
		add(n, "message", message(t ? t : "findings left out"));
		json_object_array_add(notes, n);
		free(t);
	}
	add(run, "results", results);
	add(run, "columnKind", json_object_new_string("unicodeCodePoints"));
	add(props, "since", time_json(r->opts.since_ns));
	add(props, "until", time_json(r->opts.until_ns));
	add(props, "covered_from", time_json(r->covered_from));
	add(props, "covered_to", time_json(r->covered_to));
	add(props, "hosts", u64(r->n_hosts));
	add(props, "records_lost", u64(r->lost));
	add(props, "findings", u64(r->n_findings));
	add(props, "findings_unplaced", r->opts.source_root ? u64(unplaced) : NULL);
	add(props, "inputs", sarif_inputs(r));
	add(run, "properties", props);
	json_object_array_add(runs, run);
	add(log, "runs", runs);
	free(unknown);
	return log;
}

int tg_rpt_sarif_write(FILE *out, const struct tg_rpt *r, const char *version)
{
	return write_json(out, tg_rpt_sarif(r, version));
}
