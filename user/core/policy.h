/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policies: YAML files (parsed with libyaml) that decide which rules are reported, how loudly,
 * what is excepted and with what justification, which extra directories count as shared, and
 * what action each finding takes. Parsing and matching are pure (no BPF, no /proc): the
 * collector applies the result. A policy either loads whole or not at all.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "rules.h"

enum tg_action {
	TG_ACTION_ALERT = 0,
	TG_ACTION_DENY,
	TG_ACTION_KILL,
};

struct tg_rule_policy {
	bool enabled;
	bool severity_set; /* severity overrides the rule's default (and loose-mode's escalation) */
	enum tg_severity severity;
	enum tg_action action;
};

/* One exception: every condition given must hold, until it expires. Strings are NULL when
 * absent. */
struct tg_exception {
	int rule;   /* enum tg_rule, or -1 for "*" */
	char *exe;  /* glob on the executable path */
	char *comm; /* glob on the command name */
	char *path; /* glob on the requested path */
	char *user; /* user name (compared with the process's user name) */
	bool has_uid;
	uint32_t uid;
	char *container; /* glob on the container id */
	char *cgroup;	 /* glob on the cgroup v2 path ("/system.slice/cron.service") */
	char *reason;	 /* required */
	char *owner;	 /* who answers for it (free text: a team, an address); not a condition */
	/* CLOCK_REALTIME nanoseconds from which it no longer applies (a date's next midnight
	 * UTC), 0: never */
	int64_t expires_ns;
	int line; /* where it starts in the file (1-based), for messages and reports */
};

#define TG_PER_USER_PER_MINUTE 120
#define TG_PER_HOST_PER_MINUTE 1000

struct tg_policy {
	char *source;	 /* file name, or "<builtin default>" */
	char sha256[65]; /* of the bytes parsed (the file as loaded), lowercase hex */
	int version;
	struct tg_rule_policy rules[TG_RULE_MAX];
	uint32_t file_loose_mask; /* rules.loose-mode.mask, default 0027 */
	uint32_t dir_loose_mask;  /* rules.loose-tempdir.mask, default 0077 */
	uint64_t probe_window_ns; /* rules.check-then-create.window_seconds, default 10 */
	char **shared_dirs;	  /* absolute paths */
	size_t n_shared_dirs;
	struct tg_exception *exceptions;
	size_t n_exceptions;
	unsigned int per_key_per_minute; /* rate_limit.per_key_per_minute, default 1 */
	/* rate_limit.per_user_per_minute: findings printed per acting user and minute, whatever
	 * their keys (which the user chooses), default TG_PER_USER_PER_MINUTE */
	unsigned int per_user_per_minute;
	/* rate_limit.per_host_per_minute: the same for all users together, past each user's
	 * first TG_BUDGET_FLOOR of the minute; default TG_PER_HOST_PER_MINUTE */
	unsigned int per_host_per_minute;
};

/*
 * Parses a policy. name is used in messages ("policies/ci.yaml:12:5: ..."). On error returns
 * NULL and writes one message into err: "<name>:<line>:<column>: <what is wrong>; expected
 * <what>" (line and column 1-based, of the offending node). Errors: not YAML, not a mapping,
 * missing or unsupported version, unknown key (at any level), wrong type (scalar vs list vs
 * mapping, non-integer, out of range), unknown rule id, unknown severity or action, bad glob
 * (unbalanced '[' or trailing '\'), exception without reason or without any condition, empty
 * reason or owner, an expires that is neither a date nor an RFC 3339 time (or is before 1970 or
 * after 2262), relative shared_dirs path, duplicate key.
 */
struct tg_policy *tg_policy_parse(const char *name, const char *yaml, size_t len, char *err,
				  size_t errlen);
/* Reads and parses a file (err also covers "cannot read <file>: <strerror>"). */
struct tg_policy *tg_policy_load(const char *path, char *err, size_t errlen);

/* The built-in default: policies/default.yaml as compiled into the binary. */
struct tg_policy *tg_policy_default(char *err, size_t errlen);
void tg_policy_free(struct tg_policy *p);

/* Classifier settings from the policy (enabled rules, masks, window). */
void tg_policy_rules_config(const struct tg_policy *p, struct tg_rules_config *cfg);
/* The severity to report for a finding of rule r whose default severity is sev. */
enum tg_severity tg_policy_severity(const struct tg_policy *p, enum tg_rule r,
				    enum tg_severity sev);

/* What an exception is matched against. Any string may be NULL (unknown): a condition on an
 * unknown value does not match. */
struct tg_match_subject {
	enum tg_rule rule;
	const char *exe;
	const char *comm;
	const char *path;
	const char *user;
	uint32_t uid;
	const char *container_id;
	const char *cgroup;
};

/* Index of the first exception that matches s at now_ns (CLOCK_REALTIME: the event's time; an
 * exception expired then does not match), or -1. */
int tg_policy_match(const struct tg_policy *p, const struct tg_match_subject *s, int64_t now_ns);

/* Whether e no longer applies at now_ns (CLOCK_REALTIME): it expires at or before it. */
bool tg_exception_expired(const struct tg_exception *e, int64_t now_ns);
/* The earliest expiry of p's exceptions after now_ns, 0 if none: when what p excepts changes
 * next. */
int64_t tg_policy_next_expiry(const struct tg_policy *p, int64_t now_ns);

/*
 * Kernel-decidable: rule "*", at least one condition, and no conditions other than exe (a
 * literal path, no glob characters: matched by inode), uid or user (matched by uid, the caller
 * resolves the name) and cgroup (a literal path: matched by cgroup id). The kernel drops such
 * events before they reach the ring buffer; all other exceptions apply in user space.
 */
bool tg_exception_kernel_decidable(const struct tg_exception *e);

/* The built-in default's text (policies/default.yaml, compiled in by the build). */
extern const char tg_default_policy_yaml[];
extern const size_t tg_default_policy_yaml_len;

/* Writes the effective policy, every default filled in, as YAML that tg_policy_parse accepts. */
void tg_policy_print(const struct tg_policy *p, FILE *out);

const char *tg_action_name(enum tg_action a); /* "alert", "deny", "kill" */

#endif
