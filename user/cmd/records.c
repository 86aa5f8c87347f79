// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The records a session makes of itself: the session record (what this run can see and do),
 * the summary at the end, and the way out they share with loss and health records.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "posture.h"
#include "record.h"
#include "records.h"
#include "summary.h"
#include "util/json_util.h"
#include "util/timefmt.h"

/* A session, loss, health or summary record, stored already by the caller (takes its JSON).
 * Text output shows these on stderr instead. */
void emit_record(struct session *s, const struct tg_record *rec)
{
	tg_sinks_record(s->sinks, rec); /* json or falco lines (not text), syslog */
	json_object_put(rec->json);
}

static json_object *time_json(int64_t real_ns)
{
	char t[64];

	tg_format_time(real_ns, t, sizeof(t));
	return json_object_new_string(t);
}

/* The policy in force; with khits, what each exception hid so far in the kernel and here. */
struct tg_summary_policy summary_policy(const struct session *s, const uint64_t *khits)
{
	return (struct tg_summary_policy){
		.pol = s->pol,
		.in_kernel = s->pk.in_kernel,
		.hid_kernel = khits,
		.n_hid_kernel = khits ? s->pol->n_exceptions : 0,
		.hid_user = khits ? s->exc_user_hits : NULL,
		.reloads = s->reloads,
		.reloads_refused = s->reload_failures,
		.hid_by_earlier = s->exc_retired,
		.since_ns = s->policy_since_ns,
		.now_ns = event_now(s),
	};
}

const char *enforcement_name(uint32_t mode)
{
	static const char *const names[] = {
		[TG_ENFORCE_OFF] = "off",
		[TG_ENFORCE_LSM] = "lsm",
		[TG_ENFORCE_DRY_RUN] = "dry-run",
		[TG_ENFORCE_KILL_FALLBACK] = "kill-fallback",
	};

	return mode < sizeof(names) / sizeof(names[0]) && names[mode] ? names[mode] : "unknown";
}

static void add_hook(void *ctx, const char *name, const char *sec, int fd)
{
	(void)name;
	(void)fd;
	json_object_array_add(ctx, json_object_new_string(sec));
}

/* The verifier's work on each program (bpf_prog_info.verified_insns, 5.16): deterministic for
 * a kernel and a mode, budgeted by the tests (TG_VERIFIED_INSNS_BUDGET). */
static void add_verified(void *ctx, const char *name, const char *sec, int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	(void)sec;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		json_object_object_add(ctx, name, json_object_new_int64(info.verified_insns));
}

static void count_hook(void *ctx, const char *name, const char *sec, int fd)
{
	(void)name;
	(void)sec;
	(void)fd;
	(*(size_t *)ctx)++;
}

/* The session record's JSON: si, and what the loader holds (hooks, the verifier's work, ia32),
 * the policy and the host's posture. */
static json_object *session_json(struct session *s, const struct tg_session_info *si)
{
	json_object *o = json_object_new_object(), *hooks = json_object_new_array();
	const struct tg_summary_policy pol = summary_policy(s, NULL);
	json_object *verified;
	const char *ia32_why;
	enum tg_ia32 ia32;

	json_object_object_add(o, "type", json_object_new_string("session"));
	json_object_object_add(o, "schema_version", json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	json_object_object_add(o, "time", time_json(si->time_ns));
	json_object_object_add(o, "host", tg_json_bytes(si->host, strlen(si->host), NULL));
	if (si->host_id)
		json_object_object_add(o, "host_id", json_object_new_string(si->host_id));
	json_object_object_add(o, "version", json_object_new_string(si->version));
	json_object_object_add(o, "pid", json_object_new_int64(si->pid));
	json_object_object_add(o, "scope", json_object_new_string(si->scope));
	tg_bpf_for_each_attached(s->bpf, add_hook, hooks);
	json_object_object_add(o, "hooks", hooks);
	verified = json_object_new_object();
	tg_bpf_for_each_attached(s->bpf, add_verified, verified);
	json_object_object_add(o, "verified_insns", verified);
	/* fentry or tracepoint, and why auto did not take fentry. */
	json_object_object_add(o, "hooks_kind",
			       json_object_new_string(tg_hooks_name(tg_bpf_hooks(s->bpf))));
	if (*tg_bpf_hooks_fallback(s->bpf))
		json_object_object_add(o, "hooks_fallback",
				       json_object_new_string(tg_bpf_hooks_fallback(s->bpf)));
	/* Whether 32-bit syscalls can happen here, and what the probe saw (loader.h). */
	ia32 = tg_bpf_ia32(s->bpf, &ia32_why);
	json_object_object_add(o, "ia32_syscalls", json_object_new_string(tg_ia32_name(ia32)));
	if (ia32 != TG_IA32_ON)
		json_object_object_add(o, "ia32_why", json_object_new_string(ia32_why));
	json_object_object_add(o, "enforcement", json_object_new_string(si->enforcement));
	json_object_object_add(o, "ringbuf_bytes", json_object_new_int64(s->opt.ringbuf_bytes));
	tg_summary_policy_json(o, &pol);
	json_object_object_add(o, "posture", tg_posture_json(NULL));
	return o;
}

/* What this run can see and do, for reports: hooks, enforcement, policy, the host's posture. */
void emit_session_record(struct session *s)
{
	struct tg_session_info si = {
		/* Coverage starts now that every program is attached (loading takes seconds). */
		.time_ns = tg_clock_ns(CLOCK_REALTIME),
		.host = s->host,
		.host_id = s->host_id,
		.version = TG_VERSION,
		.pid = getpid(),
		.scope = s->scoped ? "process-tree" : "host",
		.enforcement = enforcement_name(s->enforce_mode),
		.policy = s->pol->source,
	};
	struct tg_record rec = {.kind = TG_RECORD_SESSION, .session = &si};

	tg_bpf_for_each_attached(s->bpf, count_hook, &si.n_hooks);
	rec.json = session_json(s, &si);
	if (s->store)
		tg_store_begin(s->store, &rec);
	emit_record(s, &rec);
}

/* What each exception of the policy in force had the kernel drop, by the policy's index (the
 * kernel counts per key in force; earlier installs of the same policy are banked): a new
 * array, one entry per exception, or NULL. */
uint64_t *kexc_hits(const struct session *s)
{
	uint64_t *h = calloc(s->pol->n_exceptions + 1, sizeof(*h));

	if (!h)
		return NULL;
	tg_bpf_kexc_hits(s->bpf, s->pk.idx, s->pk.n, h, s->pol->n_exceptions);
	for (size_t i = 0; s->exc_kernel_banked && i < s->pol->n_exceptions; i++)
		h[i] += s->exc_kernel_banked[i];
	return h;
}

/* The summary: on stderr as text, and as a record (also for text output: every sink but the
 * terminal keeps it). */
void print_summary(struct session *s)
{
	uint64_t st[TG_STAT_MAX] = {0}, *khits = kexc_hits(s);
	struct tg_sink_stats out;
	struct tg_summary sum;
	struct tg_record rec = {.kind = TG_RECORD_SUMMARY, .summary = &sum};
	struct tg_summary_source src = {
		.pl = &s->pl,
		.kstats = st,
		.enforcement = s->enforce_mode,
		.health_alerts = s->health_alerts,
		.agg_per_uid = TG_AGG_PER_UID,
		.host = s->host,
		.started_ns = s->started_ns,
		.boot_to_real_ns = s->boot_to_real_ns,
		.policy = summary_policy(s, khits),
		.output = s->sinks ? &out : NULL,
		.db_path = s->store ? s->opt.db_path : NULL,
		.store = s->store ? tg_store_stats(s->store) : NULL,
	};

	tg_bpf_stats(s->bpf, st);
	if (s->sinks)
		tg_sinks_stats(s->sinks, &out);
	src.now_ns = tg_clock_ns(CLOCK_REALTIME);
	tg_summary_collect(&sum, &src);
	tg_summary_text(stderr, &sum);
	rec.json = tg_summary_json(&sum);
	if (s->store)
		tg_store_end(s->store, &rec, event_now(s));
	emit_record(s, &rec);
	fflush(s->out);
	free(khits);
}
