/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records tmpguard writes, by kind: findings (struct tg_report, finding.h), the session
 * record when auditing starts, loss windows, producer health changes, and the summary at the
 * end (struct tg_summary, out/summary.h). A record reaches the sinks (out/) and the store
 * (fleet/) with its kind and its typed form; its JSON form (what JSON output prints, syslog and
 * the store keep) goes along where something needs it. Types and the kinds' names, here below
 * both of them; the JSON forms are out's (output.h, record_json.h, summary.h). Pure.
 */
#ifndef TG_RECORD_H
#define TG_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct tg_report;
struct tg_summary;

enum tg_record_kind {
	TG_RECORD_FINDING,
	TG_RECORD_SESSION,
	TG_RECORD_LOSS,
	TG_RECORD_HEALTH,
	TG_RECORD_SUMMARY,
};

/* The version of the JSON records' shapes, in each record as "schema_version" (and in Falco
 * events as output_fields "tmpguard.schema_version"): docs/schema/ holds a JSON Schema per
 * record type. Raised when a record loses a field or a field changes its meaning or type; a new
 * optional field keeps it. Records written before versioning carry none. */
#define TG_RECORD_SCHEMA_VERSION 1

/* The record's "type" in JSON: "finding", "session", "loss", "health", "summary"; "unknown"
 * for anything else. */
const char *tg_record_kind_name(enum tg_record_kind kind);

/* What the session record says of a run that its Falco event repeats. The JSON record says
 * more (the hooks by name, the verifier's work, the policy's exceptions, the host's posture):
 * the session builds it from the loader's state. */
struct tg_session_info {
	int64_t time_ns; /* CLOCK_REALTIME: auditing starts, every program attached */
	const char *host;
	const char *host_id; /* the host's identity in a fleet (host/hostid.h); NULL: none */
	const char *version;
	int64_t pid;
	const char *scope;	 /* "host" or "process-tree" */
	const char *enforcement; /* "off", "lsm", "dry-run", "kill-fallback" */
	const char *policy;	 /* the policy's source */
	size_t n_hooks;		 /* programs attached */
};

/* Records the ring buffer could not take, between from_ns and to_ns (CLOCK_REALTIME). */
struct tg_loss {
	int64_t time_ns;
	const char *host;
	int64_t from_ns, to_ns;
	uint64_t lost;	     /* in this window */
	uint64_t lost_total; /* since the start */
};

/* The producer found unhealthy, or healthy again. */
struct tg_health {
	int64_t time_ns;
	const char *host;
	const char *status; /* "unhealthy" or "recovered" */
	const char *reason;
};

/* One record on its way out. */
struct tg_record {
	enum tg_record_kind kind;
	union { /* the member kind names */
		const struct tg_report *finding;
		const struct tg_session_info *session;
		const struct tg_loss *loss;
		const struct tg_health *health;
		const struct tg_summary *summary;
	};
	json_object *json; /* its JSON form; NULL when no sink needs it (not taken) */
};

#endif
