/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `tmpguard report`: the model. Records (session, finding, loss, summary: the JSON objects
 * `audit --format json` prints and the store keeps) from any number of inputs are merged into
 * one report: what was covered and what was not (loss, unclean stops, unreadable lines), the
 * findings by rule, severity, host, executable and container, the trend, the top offenders,
 * the exceptions in force and what they hid, each host's posture. Pure: the caller reads the
 * inputs (cmd/report_cmd.c, and tg_rpt_load_store for a store) and the renderers
 * (report_render.h) write the model out.
 *
 * Every string the model holds comes from a record and is hostile: raw bytes (a field written
 * in tmpguard's lossless "\xNN" form is decoded back), escaped by each renderer for its format.
 */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "rules.h"

#define TG_RPT_NOTIME	 INT64_MIN
#define TG_RPT_NSEV	 (TG_SEV_CRITICAL + 1)
#define TG_RPT_NRULE	 (TG_RULE_MAX + 1) /* [TG_RULE_MAX]: rule ids this build does not know */
#define TG_RPT_TOP	 10		   /* rows of top offenders */
#define TG_RPT_TOP_PATHS 20		   /* rows of the most frequent paths */

struct tg_rpt_opts {
	int64_t since_ns, until_ns; /* the period; TG_RPT_NOTIME: open */
	int64_t now_ns;		    /* when the report is made */
	bool keep_findings;	    /* keep every finding (csv, sarif) */
	/* --host: only the sessions (and their rows) of these host ids, or of hosts of these
	 * names; stores only (report_load.c, report_load_pg.c). */
	const char *const *hosts;
	size_t n_hosts;
};
#define TG_RPT_HOSTS_MAX 64

/* One input file. */
struct tg_rpt_input {
	char *name;
	bool sqlite;
	bool postgresql;     /* (with sqlite: rows of a store) the fleet store, named by its URL */
	uint64_t records;    /* records read, of every type */
	uint64_t unreadable; /* lines (rows) that are not JSON objects */
	uint64_t first_unreadable; /* line (row id) of the first */
	uint64_t invalid;	   /* JSON objects that are no record this version knows */
	uint64_t first_invalid;
	const char *invalid_why; /* why the first was refused (static) */
	uint64_t duplicates;	 /* findings already read from an earlier input */
	uint64_t undated;	 /* sessions without any time, left out of a bounded period */
	/* What the report read, by content (tg_rpt_input_digest): "" / NULL / -1 when unknown */
	char sha256[65];  /* lowercase hex */
	char *digest_how; /* what was hashed, in words */
	int64_t bytes;	  /* how many bytes were hashed */
	/* An SQLite store's write-ahead log, read with it (tg_rpt_input_wal): "" / 0 when none */
	char wal_sha256[65];
	uint64_t wal_bytes;
	uint64_t forward_gaps; /* forward gap rows read from it */
};

/* An input's kind, as the JSON names it and as a reader does. */
static inline const char *tg_rpt_input_kind(const struct tg_rpt_input *in)
{
	return in->postgresql ? "postgresql" : in->sqlite ? "sqlite" : "json-lines";
}

static inline const char *tg_rpt_input_kind_name(const struct tg_rpt_input *in)
{
	return in->postgresql ? "PostgreSQL fleet store"
	       : in->sqlite   ? "SQLite store"
			      : "JSON lines";
}

/* What a session record says about its host (NULL/-1 where it says nothing). */
#define TG_RPT_NSYSCTL 4
extern const char *const tg_rpt_sysctl_names[TG_RPT_NSYSCTL]; /* fs.protected_symlinks, ... */

struct tg_rpt_mount {
	char *path, *fstype, *options, *mode, *mount_point;
	int separate; /* 1, 0, -1 unknown */
	int exists;   /* 1, 0, -1 unknown */
};

struct tg_rpt_posture {
	bool known;
	long sysctl[TG_RPT_NSYSCTL]; /* -1: not recorded */
	struct tg_rpt_mount *mounts;
	size_t n_mounts;
};

/* A window in which the producer was not working (a health record "unhealthy" to the next
 * "recovered"; to_ns NOTIME: to the session's end). */
struct tg_rpt_unhealthy {
	int64_t from_ns, to_ns;
	char *reason; /* NULL: none given */
};

struct tg_rpt_session {
	char *host;
	size_t input;
	bool has_record;  /* a session record (start, hooks, posture) was read */
	bool has_summary; /* a summary was read: it stopped cleanly */
	bool clean;
	bool end_recorded; /* the summary (or the store) says when it stopped */
	int64_t start_ns;  /* the session record's time, else its first record's */
	int64_t end_ns;	   /* clean: the stop; else the last record (or commit) seen */
	char *version, *policy, *enforcement;
	bool tree_only; /* scope "process-tree" (run, audit --pid): the rest of the host unwatched
			 */
	char **hooks;
	size_t n_hooks;
	struct tg_rpt_posture posture;
	json_object *exceptions;     /* the summary's (with counts) or else the session's */
	bool exception_counts;	     /* exceptions carry suppressed_kernel/suppressed_user */
	uint64_t hidden_by_replaced; /* summary suppressed_by_earlier_policies */
	uint64_t findings;	     /* in the period */
	uint64_t lost_windows;	     /* sum of its loss records */
	uint64_t lost_summary;	     /* the summary's events.lost */
	uint64_t not_printed;	     /* the summary's events.repeats_not_printed */
	uint64_t forks_untracked;    /* the summary's events.forks_untracked */
	uint64_t unresolved;	     /* the summary's events.unresolved */
	uint64_t over_budget;	     /* the summary's events.over_budget */
	uint64_t malformed;	     /* the summary's events.malformed */
	uint64_t commit_failures;    /* the summary's store.commit_failures */
	uint64_t records_failed;     /* the summary's output.records_failed */
	bool in_period;
	size_t id; /* order of reading (internal) */
	/* health records: when the producer was not working, and why */
	struct tg_rpt_unhealthy *unhealthy;
	size_t n_unhealthy;
	char *host_id;		 /* the session record's (hostid.h), NULL: not recorded */
	char *policy_sha256;	 /* the session record's: in force from the start */
	char *end_policy;	 /* the summary's policy, digest and since when: in force at the */
	char *end_policy_sha256; /* stop (another one after a reload); NULL: no summary says */
	int64_t end_policy_since_ns;
	uint64_t policy_reloads; /* the summary's */
	int64_t heard_ns;	 /* a store's heartbeat (last commit); NOTIME: no heartbeat */
	size_t *exc_idx;	 /* its exceptions: indices into tg_rpt.exceptions */
	size_t n_exc_idx;
};

struct tg_rpt_loss {
	const char *host; /* the session's */
	size_t session;
	int64_t from_ns, to_ns; /* unknown_time: the session's span */
	uint64_t lost;
	bool unknown_time; /* lost per the summary, without a window record */
};

/* One row of a "findings by X" table, keyed by one or two strings. */
struct tg_rpt_row {
	char *key, *key2;
	char *text; /* advice, the container runtime, a rule's CWEs: depends on the table */
	uint64_t n;
	uint64_t sev[TG_RPT_NSEV];
	uint64_t rule[TG_RPT_NRULE];
	int64_t first_ns, last_ns;
	int worst; /* highest severity */
};

struct tg_rpt_table {
	struct tg_rpt_row *rows;
	size_t n, cap;
	size_t *slots; /* open addressing: row index + 1, 0 empty */
	size_t n_slots;
};

/* A policy in force on a host, by content: from/to the span of the sessions (or parts of them,
 * across a reload) it was in force in. */
struct tg_rpt_policy {
	char *path;
	char *sha256; /* NULL: not recorded (before tmpguard recorded it) */
	int64_t from_ns, to_ns;
	size_t sessions;
	bool partial; /* reloaded more than once in a session: policies between unrecorded */
	bool exceptions_known; /* false: only in force before a reload (the summary lists the
				* exceptions of the policy at the stop) */
	size_t *exceptions;    /* indices into tg_rpt.exceptions, ascending */
	size_t n_exceptions;
};

/* Rows a host's store evicted (its size limit) before a forward target had them: they are in
 * neither store. Stream: "findings". Ids: the host store's row ids. */
struct tg_rpt_fwd_gap {
	char *host, *host_id, *target, *stream;
	int64_t session_key, first_id, last_id;
	uint64_t evicted;
	int64_t from_ns, to_ns; /* the evicted rows' times */
	int64_t time_ns;	/* when they were evicted */
};

/* A host is taken to have stopped reporting when its latest session has no end and was last
 * heard from (its store's heartbeat, every 30 s while idle) this long before the report's
 * end: --until, or when the report is made, whichever is earlier. */
#define TG_RPT_SILENT_NS (120 * 1000000000LL)

struct tg_rpt_host {
	char *name;
	size_t n_sessions, n_unclean, n_no_record, n_tree_only;
	int64_t first_ns, last_ns;
	int64_t covered_ns;
	uint64_t findings, lost;
	char **hooks; /* union over its sessions, sorted */
	size_t n_hooks;
	const struct tg_rpt_session *latest; /* latest session with a record, or NULL */
	char **remarks;			     /* posture remarks: where the host is weak */
	size_t n_remarks;
	struct tg_rpt_policy *policies; /* by from, then digest */
	size_t n_policies;
	const struct tg_rpt_fwd_gap *fwd_gaps; /* its run of tg_rpt.fwd_gaps (by from) */
	size_t n_fwd_gaps;
	uint64_t fwd_evicted;
	const struct tg_rpt_session *silent; /* stopped reporting: its latest session, or NULL */
};

/*
 * Where an exception's expiry falls, judged against the report's period: its start (--since,
 * else the first session's) and its end (--until, else when the report is made). An exception
 * holds until its expiry, exclusive, as core/policy.c's tg_exception_expired says.
 */
enum tg_rpt_expiry {
	TG_RPT_EXP_NEVER,     /* no expiry given */
	TG_RPT_EXP_LATER,     /* more than TG_RPT_EXPIRY_SOON after the period's end */
	TG_RPT_EXP_SOON,      /* after the period's end, within TG_RPT_EXPIRY_SOON of it */
	TG_RPT_EXP_IN_PERIOD, /* expired during the period: applied only before then */
	TG_RPT_EXP_BEFORE,    /* expired before the period: did not apply in it */
	TG_RPT_EXP_UNKNOWN,   /* a record says it had expired, without saying when */
};
#define TG_RPT_EXPIRY_SOON (30 * 86400 * 1000000000LL) /* 30 days, in ns */

struct tg_rpt_exception {
	char *policy, *rule, *reason, *applied_in;
	char *owner;	    /* NULL: the policy names none */
	int64_t expires_ns; /* TG_RPT_NOTIME: never expires */
	enum tg_rpt_expiry expiry;
	bool expired; /* no longer applied at the period's end (or a record says it had expired) */
	long line;
	size_t sessions;	   /* sessions it was in force in */
	size_t sessions_uncounted; /* of those, how many ended without counts */
	uint64_t hidden_kernel, hidden_user;
};

/* One finding, kept for the per-finding formats (csv, sarif). */
struct tg_rpt_finding {
	int64_t time_ns;
	int sev, rule; /* rule: TG_RULE_MAX when unknown */
	long long pid, ppid, uid, count;
	char *host, *rule_id, *action, *exe, *comm, *user, *path, *pattern, *syscall, *language,
		*advice, *cwe, *why, *container_id, *container_runtime, *cmdline;
	char *ancestry; /* "pid comm < pid comm ...", parent first; "" when not recorded */
	char *csv;	/* its CSV row (finding_csv.h) */
};

enum tg_rpt_bucket { TG_RPT_HOUR, TG_RPT_DAY, TG_RPT_WEEK };

struct tg_rpt_trend {
	enum tg_rpt_bucket unit;
	int64_t unit_ns;   /* the unit's length */
	int64_t bucket_ns; /* a multiple of the unit when the period is very long */
	int64_t from_ns, to_ns;
	size_t n;
	uint64_t (*counts)[TG_RPT_NSEV]; /* [n][severity] */
	uint64_t first_half, second_half;
};

struct tg_rpt {
	struct tg_rpt_opts opts;
	struct tg_rpt_input *inputs;
	size_t n_inputs;
	struct tg_rpt_session *sessions; /* after tg_rpt_finish: by host, then start */
	size_t n_sessions;
	struct tg_rpt_loss *losses; /* after tg_rpt_finish: by host, then time */
	size_t n_losses;
	struct tg_rpt_finding *findings; /* opts.keep_findings; after finish: by time */
	size_t n_findings;

	uint64_t total, by_sev[TG_RPT_NSEV];
	int64_t first_ns, last_ns;		      /* of the findings in the period */
	int64_t covered_from, covered_to, covered_ns; /* union of the sessions' spans */
	uint64_t lost, not_printed, hidden_by_replaced, duplicates;
	size_t n_unclean, n_no_record;
	struct tg_rpt_table by_rule;	  /* key rule id; text: CWEs */
	struct tg_rpt_table by_exe;	  /* key exe */
	struct tg_rpt_table by_container; /* key container id ("" = none); text: runtime */
	struct tg_rpt_table by_host;	  /* key host */
	struct tg_rpt_table offenders;	  /* key exe, key2 host; text: first path pattern */
	struct tg_rpt_table by_pattern;	  /* key path pattern (random parts as '*') */
	struct tg_rpt_table advice;	  /* key rule, key2 language; text: advice */
	struct tg_rpt_table cwe;	  /* key CWE id */
	struct tg_rpt_table seen;	  /* dedup: one row per finding identity */
	struct tg_rpt_host *hosts;	  /* by name */
	size_t n_hosts;
	struct tg_rpt_exception *exceptions;
	size_t n_exceptions;
	struct tg_rpt_trend trend;
	char **gaps; /* what this report could not see, one sentence each */
	size_t n_gaps;
	struct tg_rpt_fwd_gap *fwd_gaps; /* deduplicated; after finish: by host, then from */
	size_t n_fwd_gaps, cap_fwd_gaps;
	uint64_t fwd_evicted;
	size_t n_silent; /* hosts that stopped reporting */

	/* internal */
	long open_session; /* JSON lines: the session records go to, -1 none */
	uint64_t line;
	bool failed; /* out of memory */
	size_t cap_inputs, cap_sessions, cap_losses, cap_findings, cap_times, n_times;
	struct tg_rpt_stamp {
		int64_t t;
		int sev;
	} * times; /* every finding in the period: the trend */
};

struct tg_rpt *tg_rpt_new(const struct tg_rpt_opts *o);
void tg_rpt_free(struct tg_rpt *r);

/* Starts an input: everything read next belongs to it. Returns 0 or -ENOMEM. */
int tg_rpt_input(struct tg_rpt *r, const char *name, bool sqlite);
/*
 * JSON lines: one line, without its newline. A session record starts a session, a summary
 * ends it; findings and losses belong to the session they follow (one without a session
 * record starts an implicit one). A line that is not a JSON object is counted, never skipped
 * silently; blank lines carry nothing and are ignored.
 */
void tg_rpt_line(struct tg_rpt *r, const char *line, size_t len);
/* A store's session row: its record and summary (NULL at an unclean stop), and the times the
 * store kept (TG_RPT_NOTIME when NULL). Returns the session's index, or -1 (counted). */
long tg_rpt_db_session(struct tg_rpt *r, uint64_t row, const char *json, const char *summary,
		       bool clean, int64_t started_ns, int64_t ended_ns, int64_t last_commit_ns);
/* A store's finding or loss row of that session. */
void tg_rpt_db_record(struct tg_rpt *r, uint64_t row, long session, const char *json);
/*
 * The content hash of the current input (sha256_hex: 64 lowercase hex digits) and what was
 * hashed, in words the report prints after "SHA-256 " ("of JSON lines: the bytes read", "of
 * PostgreSQL: the rows read, in ..."). Returns 0, -EINVAL (not a SHA-256) or -ENOMEM.
 * tg_rpt_input_size: how many bytes were hashed (-1, the default: not bytes of a file).
 */
int tg_rpt_input_digest(struct tg_rpt *r, const char *sha256_hex, const char *how);
void tg_rpt_input_size(struct tg_rpt *r, int64_t bytes);
/* An SQLite store's write-ahead log, read with the current input. 0 or -EINVAL. */
int tg_rpt_input_wal(struct tg_rpt *r, const char *sha256_hex, uint64_t bytes);
/*
 * A forward gap of the current input (a forward_gaps row, store_schema.h): host is the host's
 * name as its sessions give it, or NULL (then a session of the same host_id names it, else
 * host_id does). Gaps outside the period are left out; one read from two inputs counts once.
 */
struct tg_rpt_gap_row {
	const char *host, *host_id, *target, *stream;
	int64_t session_key, first_id, last_id;
	uint64_t evicted;
	int64_t from_ns, to_ns, time_ns;
};
void tg_rpt_db_gap(struct tg_rpt *r, uint64_t row, const struct tg_rpt_gap_row *g);
/*
 * A store written by audit --db, read into the current input (report_load.c): its sessions,
 * and its findings, losses and health records of [since_ns, until_ns] (TG_RPT_NOTIME: open).
 * Opened read-only, never created, read in one read transaction; the input's digest is the
 * SHA-256 of the file's bytes as read in it (and of its write-ahead log, if it has one).
 * Returns 0; -ENOMEM; -EINVAL when the store cannot be opened
 * or read, or is not tmpguard's store of this schema version. err says what failed, naming
 * path ("PATH: not a tmpguard store (no meta table): ...").
 */
int tg_rpt_load_store(struct tg_rpt *r, const char *path, int64_t since_ns, int64_t until_ns,
		      char *err, size_t errlen);
/*
 * The fleet store in PostgreSQL at url, read as one input named by the URL without password
 * and options (report_load_pg.c): its sessions, and the rows of [since_ns, until_ns], as
 * tg_rpt_load_store reads a store. password_file: NULL for libpq's own. Returns 0, -ENOMEM,
 * or -EINVAL with what failed and what to do in err.
 */
int tg_rpt_load_pg(struct tg_rpt *r, const char *url, const char *password_file, int64_t since_ns,
		   int64_t until_ns, char *err, size_t errlen);
/* Closes the inputs and computes the report. Returns 0 or -ENOMEM. */
int tg_rpt_finish(struct tg_rpt *r);

/* Rows of a table ordered by count (highest first), then key. 0 or -ENOMEM. */
int tg_rpt_table_sort(struct tg_rpt_table *t);
const struct tg_rpt_row *tg_rpt_table_get(const struct tg_rpt_table *t, const char *key,
					  const char *key2);

/* "never", "later", "within-30-days", "during-period", "before-period", "expired". */
const char *tg_rpt_expiry_name(enum tg_rpt_expiry x);

/* "hour", "day", "week". */
const char *tg_rpt_bucket_name(enum tg_rpt_bucket b);
/* The change from the first half of the period to the second, as text: "+50%", "-20%",
 * "new" (none before), "none" (none at all), "0%". */
void tg_rpt_change(uint64_t first, uint64_t second, char *buf, size_t len);
/* "2026-11-28T06:30:00Z" (seconds), or "unknown". */
void tg_rpt_time(int64_t ns, char *buf, size_t len);
/* "3d 4h", "2h 5m", "40s". */
void tg_rpt_duration(int64_t ns, char *buf, size_t len);
/* The remarks on a posture (weak sysctls, mounts), appended to *out (caller frees). */
int tg_rpt_posture_remarks(const struct tg_rpt_posture *p, const char *enforcement, char ***out,
			   size_t *n);
/* After tg_rpt_finish: the hosts that could not be seen whole, for a one-line summary:
 * "2 hosts with forward gaps, 1 host with loss windows, 1 host stopped reporting" (each
 * part only when its count is not 0; "" when all are 0; a host may be in more than one). */
void tg_rpt_unseen_hosts(const struct tg_rpt *r, char *buf, size_t len);
/* Decodes tmpguard's lossless "\xNN" form (tg_escape_json_bytes) back to bytes, in place.
 * Returns false (and leaves s alone) when s is not in that form or would decode to a NUL. */
bool tg_rpt_unescape_lossless(char *s);

#endif
