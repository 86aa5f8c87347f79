// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records into the report's model: the inputs, each session (its record, its summary), its
 * losses and health records, and the dispatch of every record to them; findings go on to
 * report_count.c.
 *
 * Sessions. In a store every row names its session. In JSON lines order decides: a session
 * record opens one, a summary closes it (a clean stop), and findings and losses belong to the
 * one they follow. Output of tmpguard before session records existed has none: its findings
 * open an implicit session, closed by the summary. A session still open at the end of its
 * input never stopped cleanly (crash, kill -9, or still running), so nothing is known after its
 * last record: the report says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report_int.h"
#include "util/json_util.h"

/* ---- sessions ---- */

static struct tg_rpt_session *new_session(struct tg_rpt *r, const char *host)
{
	struct tg_rpt_session *s =
		rpt_grow(r, r->sessions, &r->cap_sessions, r->n_sessions + 1, sizeof(*r->sessions));

	if (!s)
		return NULL;
	r->sessions = s;
	s = &r->sessions[r->n_sessions];
	*s = (struct tg_rpt_session){
		.input = r->n_inputs - 1,
		.start_ns = TG_RPT_NOTIME,
		.end_ns = TG_RPT_NOTIME,
		.end_policy_since_ns = TG_RPT_NOTIME,
		.heard_ns = TG_RPT_NOTIME,
	};
	for (int i = 0; i < TG_RPT_NSYSCTL; i++)
		s->posture.sysctl[i] = -1;
	s->host = rpt_dup(r, host);
	if (r->failed)
		return NULL;
	r->n_sessions++;
	return s;
}

/* A record of session s happened at t: widen what is known of its span. */
void rpt_touch(struct tg_rpt_session *s, int64_t t)
{
	if (t == TG_RPT_NOTIME)
		return;
	if (!s->has_record && (s->start_ns == TG_RPT_NOTIME || t < s->start_ns))
		s->start_ns = t;
	if (!s->end_recorded && (s->end_ns == TG_RPT_NOTIME || t > s->end_ns))
		s->end_ns = t;
}

static void read_posture(struct tg_rpt *r, struct tg_rpt_posture *p, json_object *o)
{
	json_object *sys = tg_json_get(o, "sysctls"), *mounts = tg_json_get(o, "mounts");
	size_t n;

	if (!o || !json_object_is_type(o, json_type_object))
		return;
	p->known = true;
	for (int i = 0; i < TG_RPT_NSYSCTL; i++)
		p->sysctl[i] = tg_json_int(sys, tg_rpt_sysctl_names[i], -1);
	if (!mounts || !json_object_is_type(mounts, json_type_array))
		return;
	n = json_object_array_length(mounts);
	p->mounts = calloc(n ? n : 1, sizeof(*p->mounts));
	if (!p->mounts) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		struct tg_rpt_mount *d = &p->mounts[p->n_mounts];

		if (!json_object_is_type(m, json_type_object))
			continue;
		d->path = rpt_dup(r, tg_json_str(m, "path", NULL));
		d->fstype = rpt_dup(r, tg_json_str(m, "fstype", NULL));
		d->options = rpt_dup(r, tg_json_str(m, "options", NULL));
		d->mode = rpt_dup(r, tg_json_str(m, "mode", NULL));
		d->mount_point = rpt_dup(r, tg_json_str(m, "mount_point", NULL));
		d->separate = tg_json_bool(m, "separate", -1);
		d->exists = tg_json_bool(m, "exists", -1);
		p->n_mounts++;
	}
}

static void set_exceptions(struct tg_rpt_session *s, json_object *x, bool counts)
{
	if (!x || !json_object_is_type(x, json_type_array))
		return;
	json_object_put(s->exceptions);
	s->exceptions = json_object_get(x);
	s->exception_counts = counts;
}

static void session_record(struct tg_rpt *r, struct tg_rpt_session *s, json_object *o)
{
	json_object *hooks = tg_json_get(o, "hooks");
	const char *version = tg_json_str(o, "version", NULL);
	const char *policy = tg_json_str(o, "policy", NULL);
	const char *enforcement = tg_json_str(o, "enforcement", NULL);
	const char *host_id = tg_json_str(o, "host_id", NULL);
	const char *digest = tg_json_str(o, "policy_sha256", NULL);
	size_t n = tg_json_array_len(hooks);

	s->has_record = true;
	s->start_ns = rpt_get_time(o, "time");
	s->version = version ? rpt_dup(r, version) : NULL;
	s->policy = policy ? rpt_dup(r, policy) : NULL;
	s->enforcement = enforcement ? rpt_dup(r, enforcement) : NULL;
	s->host_id = host_id ? rpt_dup(r, host_id) : NULL;
	s->policy_sha256 = digest ? rpt_dup(r, digest) : NULL;
	s->tree_only = !strcmp(tg_json_str(o, "scope", ""), "process-tree");
	s->hooks = calloc(n ? n : 1, sizeof(*s->hooks));
	if (!s->hooks) {
		r->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(hooks, i));

		if (h)
			s->hooks[s->n_hooks++] = rpt_dup(r, h);
	}
	read_posture(r, &s->posture, tg_json_get(o, "posture"));
	set_exceptions(s, tg_json_get(o, "exceptions"), false);
}

static void session_summary(struct tg_rpt *r, struct tg_rpt_session *s, json_object *o)
{
	json_object *ev = tg_json_get(o, "events");
	int64_t t = rpt_get_time(o, "time");

	s->has_summary = true;
	s->clean = true;
	/* Summaries since session records say when the run started, too. */
	if (!s->has_record && rpt_get_time(o, "started") != TG_RPT_NOTIME)
		s->start_ns = rpt_get_time(o, "started");
	if (t != TG_RPT_NOTIME) {
		s->end_ns = t;
		s->end_recorded = true;
		if (s->start_ns == TG_RPT_NOTIME)
			s->start_ns = t;
	}
	if (!s->policy && tg_json_str(o, "policy", NULL))
		s->policy = rpt_dup(r, tg_json_str(o, "policy", NULL));
	/* The policy in force at the stop, and since when (a reload changes both). */
	if (tg_json_str(o, "policy", NULL))
		s->end_policy = rpt_dup(r, tg_json_str(o, "policy", NULL));
	if (tg_json_str(o, "policy_sha256", NULL))
		s->end_policy_sha256 = rpt_dup(r, tg_json_str(o, "policy_sha256", NULL));
	s->end_policy_since_ns = rpt_get_time(o, "policy_since");
	s->policy_reloads = (uint64_t)tg_json_int(o, "policy_reloads", 0);
	set_exceptions(s, tg_json_get(o, "exceptions"), true);
	s->lost_summary = (uint64_t)tg_json_int(ev, "lost", 0);
	s->not_printed = (uint64_t)tg_json_int(ev, "repeats_not_printed", 0);
	s->forks_untracked = (uint64_t)tg_json_int(ev, "forks_untracked", 0);
	s->unresolved = (uint64_t)tg_json_int(ev, "unresolved", 0);
	s->over_budget = (uint64_t)tg_json_int(ev, "over_budget", 0);
	s->malformed = (uint64_t)tg_json_int(ev, "malformed", 0);
	s->commit_failures = (uint64_t)tg_json_int(tg_json_get(o, "store"), "commit_failures", 0);
	s->records_failed = (uint64_t)tg_json_int(tg_json_get(o, "output"), "records_failed", 0);
	s->hidden_by_replaced = (uint64_t)tg_json_int(o, "suppressed_by_earlier_policies", 0);
}

/* ---- losses and health ---- */

static void add_loss(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	struct tg_rpt_loss *l;
	int64_t from = rpt_get_time(o, "from"), to = rpt_get_time(o, "to");
	long long lost = tg_json_int(o, "lost", -1);

	if (from == TG_RPT_NOTIME || to == TG_RPT_NOTIME || lost < 0 || session < 0) {
		rpt_invalid(r, where, "a loss record without from, to and lost");
		return;
	}
	rpt_touch(&r->sessions[session], to);
	r->sessions[session].lost_windows += lost;
	l = rpt_grow(r, r->losses, &r->cap_losses, r->n_losses + 1, sizeof(*l));
	if (!l)
		return;
	r->losses = l;
	r->losses[r->n_losses++] = (struct tg_rpt_loss){
		.session = session,
		.from_ns = from < to ? from : to,
		.to_ns = from < to ? to : from,
		.lost = lost,
	};
}

/* A health record: the producer stopped working ("unhealthy") or works again ("recovered"). */
static void add_health(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	const char *status = tg_json_str(o, "status", NULL);
	const char *reason = tg_json_str(o, "reason", NULL);
	int64_t t = rpt_get_time(o, "time");
	struct tg_rpt_session *s;
	void *u;

	if (!status || t == TG_RPT_NOTIME || session < 0) {
		rpt_invalid(r, where, "a health record without status and time");
		return;
	}
	s = &r->sessions[session];
	rpt_touch(s, t);
	if (!strcmp(status, "unhealthy")) {
		u = realloc(s->unhealthy, (s->n_unhealthy + 1) * sizeof(*s->unhealthy));
		if (!u) {
			r->failed = true;
			return;
		}
		s->unhealthy = u;
		s->unhealthy[s->n_unhealthy] = (struct tg_rpt_unhealthy){
			.from_ns = t,
			.to_ns = TG_RPT_NOTIME,
			.reason = reason ? strdup(reason) : NULL,
		};
		if (reason && !s->unhealthy[s->n_unhealthy].reason)
			r->failed = true;
		s->n_unhealthy++;
	} else if (!strcmp(status, "recovered")) {
		if (s->n_unhealthy && s->unhealthy[s->n_unhealthy - 1].to_ns == TG_RPT_NOTIME)
			s->unhealthy[s->n_unhealthy - 1].to_ns = t;
	} else {
		rpt_invalid(r, where, "a health record of an unknown status");
	}
}

/* ---- JSON lines ---- */

/* The session a finding or loss of host belongs to: the open one, or a new implicit one. */
static long session_for(struct tg_rpt *r, json_object *o)
{
	const char *host = tg_json_str(o, "host", NULL);
	struct tg_rpt_session *s;

	/* Without session records, a change of host is a new session (files concatenated). */
	if (r->open_session >= 0) {
		s = &r->sessions[r->open_session];
		if (s->has_record || !host || !strcmp(host, s->host))
			return r->open_session;
	}
	s = new_session(r, host ? host : "unknown");
	if (!s)
		return -1;
	r->open_session = r->n_sessions - 1;
	return r->open_session;
}

static void add_record(struct tg_rpt *r, json_object *o, long session, uint64_t where)
{
	const char *type = tg_json_str(o, "type", NULL);
	struct tg_rpt_session *s;

	r->inputs[r->n_inputs - 1].records++;
	if (!type) {
		rpt_invalid(r, where, "an object without a \"type\"");
	} else if (!strcmp(type, "finding")) {
		if (session < 0)
			session = session_for(r, o);
		rpt_add_finding(r, o, session, where);
	} else if (!strcmp(type, "loss")) {
		if (session < 0)
			session = session_for(r, o);
		add_loss(r, o, session, where);
	} else if (!strcmp(type, "health")) {
		if (session < 0)
			session = session_for(r, o);
		add_health(r, o, session, where);
	} else if (!strcmp(type, "session") && r->inputs[r->n_inputs - 1].sqlite) {
		rpt_invalid(r, where, "a session record outside the sessions table");
	} else if (!strcmp(type, "session")) {
		rpt_close_session(r);
		s = new_session(r, tg_json_str(o, "host", "unknown"));
		if (!s)
			return;
		session_record(r, s, o);
		r->open_session = r->n_sessions - 1;
	} else if (!strcmp(type, "summary") && !r->inputs[r->n_inputs - 1].sqlite) {
		session = session_for(r, o);
		if (session < 0)
			return;
		session_summary(r, &r->sessions[session], o);
		rpt_close_session(r);
	} else {
		rpt_invalid(r, where, "a record of a type this version does not know");
	}
}

static json_object *parse_object(const char *s, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	/* Exactly one object and nothing after it but blanks. */
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && s[end] && strchr(" \t\r\n", s[end]))
			end++;
		if (end != len || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void unreadable(struct tg_rpt *r, uint64_t where)
{
	struct tg_rpt_input *in = &r->inputs[r->n_inputs - 1];

	if (!in->unreadable++)
		in->first_unreadable = where;
}

void tg_rpt_line(struct tg_rpt *r, const char *line, size_t len)
{
	json_object *o;
	size_t i;

	r->line++;
	if (r->failed || !r->n_inputs)
		return;
	for (i = 0; i < len && strchr(" \t\r\n", line[i]) && line[i]; i++)
		;
	if (i == len)
		return; /* blank */
	o = parse_object(line, len);
	if (!o) {
		unreadable(r, r->line);
		return;
	}
	add_record(r, o, -1, r->line);
	json_object_put(o);
}

/* ---- store rows ---- */

long tg_rpt_db_session(struct tg_rpt *r, uint64_t row, const char *json, const char *summary,
		       bool clean, int64_t started_ns, int64_t ended_ns, int64_t last_commit_ns)
{
	json_object *o, *sum = NULL;
	struct tg_rpt_session *s;

	if (r->failed || !r->n_inputs)
		return -1;
	r->inputs[r->n_inputs - 1].records++;
	o = json ? parse_object(json, strlen(json)) : NULL;
	if (!o) {
		unreadable(r, row);
		return -1;
	}
	if (strcmp(tg_json_str(o, "type", ""), "session")) {
		rpt_invalid(r, row, "a sessions row whose json is not a session record");
		json_object_put(o);
		return -1;
	}
	s = new_session(r, tg_json_str(o, "host", "unknown"));
	if (!s) {
		json_object_put(o);
		return -1;
	}
	session_record(r, s, o);
	if (started_ns != TG_RPT_NOTIME)
		s->start_ns = started_ns;
	if (summary) {
		r->inputs[r->n_inputs - 1].records++;
		sum = parse_object(summary, strlen(summary));
		if (sum)
			session_summary(r, s, sum);
		else
			unreadable(r, row);
	}
	/* The store's columns say more than the records: when it stopped, if it did, and when it
	 * was last heard from (the writer commits at least every 30 s, also when idle). */
	s->clean = clean;
	s->heard_ns = started_ns;
	if (last_commit_ns != TG_RPT_NOTIME &&
	    (s->heard_ns == TG_RPT_NOTIME || last_commit_ns > s->heard_ns))
		s->heard_ns = last_commit_ns;
	if (ended_ns != TG_RPT_NOTIME) {
		s->end_ns = ended_ns;
		s->end_recorded = true;
	} else if (!clean) {
		s->end_recorded = false;
		rpt_touch(s, last_commit_ns);
	}
	json_object_put(sum);
	json_object_put(o);
	return r->n_sessions - 1;
}

void tg_rpt_db_record(struct tg_rpt *r, uint64_t row, long session, const char *json)
{
	json_object *o;

	if (r->failed || !r->n_inputs)
		return;
	o = json ? parse_object(json, strlen(json)) : NULL;
	if (!o) {
		r->inputs[r->n_inputs - 1].records++;
		unreadable(r, row);
		return;
	}
	if (session < 0 || (size_t)session >= r->n_sessions) {
		r->inputs[r->n_inputs - 1].records++;
		rpt_invalid(r, row, "a row of a session the store does not hold");
	} else {
		add_record(r, o, session, row);
	}
	json_object_put(o);
}

/* ---- inputs ---- */

struct tg_rpt *tg_rpt_new(const struct tg_rpt_opts *o)
{
	struct tg_rpt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->opts = *o;
	r->open_session = -1;
	r->first_ns = r->last_ns = TG_RPT_NOTIME;
	r->covered_from = r->covered_to = TG_RPT_NOTIME;
	return r;
}

int tg_rpt_input(struct tg_rpt *r, const char *name, bool sqlite)
{
	struct tg_rpt_input *in;

	rpt_close_session(r);
	in = rpt_grow(r, r->inputs, &r->cap_inputs, r->n_inputs + 1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	r->inputs = in;
	in = &r->inputs[r->n_inputs];
	*in = (struct tg_rpt_input){.sqlite = sqlite, .bytes = -1};
	in->name = rpt_dup(r, name);
	if (r->failed)
		return -ENOMEM;
	r->n_inputs++;
	r->line = 0;
	return 0;
}

static bool is_sha256(const char *hex)
{
	return hex && strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64;
}

int tg_rpt_input_digest(struct tg_rpt *r, const char *sha256_hex, const char *how)
{
	struct tg_rpt_input *in;

	if (!r->n_inputs || !is_sha256(sha256_hex))
		return -EINVAL;
	in = &r->inputs[r->n_inputs - 1];
	memcpy(in->sha256, sha256_hex, 65);
	free(in->digest_how);
	in->digest_how = rpt_dup(r, how ? how : "");
	return r->failed ? -ENOMEM : 0;
}

void tg_rpt_input_size(struct tg_rpt *r, int64_t bytes)
{
	if (r->n_inputs)
		r->inputs[r->n_inputs - 1].bytes = bytes;
}

int tg_rpt_input_wal(struct tg_rpt *r, const char *sha256_hex, uint64_t bytes)
{
	struct tg_rpt_input *in;

	if (!r->n_inputs || !is_sha256(sha256_hex))
		return -EINVAL;
	in = &r->inputs[r->n_inputs - 1];
	memcpy(in->wal_sha256, sha256_hex, 65);
	in->wal_bytes = bytes;
	return 0;
}

/* ---- forward gaps ---- */

static bool same_gap(const struct tg_rpt_fwd_gap *a, const struct tg_rpt_gap_row *b)
{
	return a->session_key == b->session_key && a->first_id == b->first_id &&
	       a->last_id == b->last_id && !strcmp(a->host_id, b->host_id ? b->host_id : "") &&
	       !strcmp(a->target, b->target ? b->target : "") &&
	       !strcmp(a->stream, b->stream ? b->stream : "");
}

void tg_rpt_db_gap(struct tg_rpt *r, uint64_t row, const struct tg_rpt_gap_row *g)
{
	struct tg_rpt_fwd_gap *v;

	(void)row;
	if (r->failed || !r->n_inputs)
		return;
	r->inputs[r->n_inputs - 1].records++;
	r->inputs[r->n_inputs - 1].forward_gaps++;
	/* In the period: its rows' times overlap it. */
	if ((r->opts.since_ns != TG_RPT_NOTIME && g->to_ns < r->opts.since_ns) ||
	    (r->opts.until_ns != TG_RPT_NOTIME && g->from_ns > r->opts.until_ns))
		return;
	for (size_t i = 0; i < r->n_fwd_gaps; i++)
		if (same_gap(&r->fwd_gaps[i], g))
			return; /* the same store given twice, or a store and the fleet store */
	v = rpt_grow(r, r->fwd_gaps, &r->cap_fwd_gaps, r->n_fwd_gaps + 1, sizeof(*v));
	if (!v)
		return;
	r->fwd_gaps = v;
	v = &r->fwd_gaps[r->n_fwd_gaps++];
	*v = (struct tg_rpt_fwd_gap){
		.session_key = g->session_key,
		.first_id = g->first_id,
		.last_id = g->last_id,
		.evicted = g->evicted,
		.from_ns = g->from_ns,
		.to_ns = g->to_ns,
		.time_ns = g->time_ns,
	};
	v->host = g->host ? rpt_dup(r, g->host) : NULL;
	v->host_id = rpt_dup(r, g->host_id);
	v->target = rpt_dup(r, g->target);
	v->stream = rpt_dup(r, g->stream ? g->stream : "findings");
}
