/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Aggregation of identical findings (same process, rule and path pattern) and the per-process
 * summary. Bounded: past max_entries new keys are counted as overflow, never dropped silently.
 * Pure.
 */
#ifndef TG_AGGREGATE_H
#define TG_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rules.h"

struct tg_agg_entry {
	uint32_t pid; /* 0 when folded */
	uint32_t uid; /* the acting user's (of the first finding) */
	bool folded;  /* a user's keys past its share of the table, per rule: no comm, exe */
	enum tg_rule rule;
	enum tg_severity severity; /* highest seen */
	uint64_t count;
	uint64_t first_ns, last_ns; /* event times (boot clock) */
	uint64_t window_ns;	    /* start of the current rate-limit minute */
	uint64_t window_count;	    /* findings of this key in that minute */
	char comm[16];
	char exe[256];
	char pattern[256];
};

struct tg_agg;

/* A user (uid) holds at most per_uid keys (0: no limit); its new keys past that are folded
 * into one key per rule (pid 0, pattern "*"): one user's flood of distinct names cannot fill
 * the table that everyone's findings are counted in. Past TG_BUDGET_USERS users, the rest share
 * one such count. */
struct tg_agg *tg_agg_new(size_t max_entries, size_t per_uid);
void tg_agg_free(struct tg_agg *a);
/* Adds one finding; returns its key's count including this one (1: first of its kind), or 0
 * when the table is full and the finding was only counted as overflow. *print says whether it
 * is among the first per_minute findings of its key in the current minute (always true on
 * overflow and for folded keys, so nothing goes unseen). */
uint64_t tg_agg_add(struct tg_agg *a, uint32_t pid, uint32_t uid, const char *comm, const char *exe,
		    enum tg_rule rule, enum tg_severity sev, const char *pattern, uint64_t ts_ns,
		    unsigned int per_minute, bool *print);
size_t tg_agg_size(const struct tg_agg *a);
/* Entries ordered by pid, then rule, then pattern, the folded ones last by uid (valid until
 * the next tg_agg_add). */
const struct tg_agg_entry *const *tg_agg_sorted(struct tg_agg *a);
uint64_t tg_agg_overflow(const struct tg_agg *a);
uint64_t tg_agg_folded(const struct tg_agg *a); /* findings counted in folded keys */
/* Which of n entries (as tg_agg_sorted orders them) a summary lists when it lists at most
 * limit: the most severe, then the most counted. Their indexes, ascending (so in ents'
 * order), go to idx (room for min(n, limit)); returns how many. */
size_t tg_agg_top(const struct tg_agg_entry *const *ents, size_t n, size_t limit, size_t *idx);
uint64_t tg_agg_by_severity(const struct tg_agg *a,
			    enum tg_severity s); /* findings, with repeats */
uint64_t tg_agg_by_rule(const struct tg_agg *a, enum tg_rule r);

/*
 * The budget of printed findings per acting user (uid) and per host, in one-minute windows.
 * The keys of tg_agg_add (a process, a path pattern) are the user's to choose, a new one for
 * every create; the uid is not. A user past per_user findings this minute is suppressed; so
 * is one past TG_BUDGET_FLOOR while the host is past per_host, so that many users (a user
 * namespace has 65,536) cannot flood either, yet each user's first findings of a minute are
 * always printed: one user's flood cannot bury another's attack. Bounded: past
 * TG_BUDGET_USERS users in a minute, the rest share one budget (reported as uid 4294967295).
 */
#define TG_BUDGET_USERS 1024
#define TG_BUDGET_FLOOR 10
#define TG_BUDGET_USER	1 /* suppressed: over the user's budget */
#define TG_BUDGET_HOST	2 /* suppressed: over the host's budget, past the user's floor */
struct tg_budget;

struct tg_budget *tg_budget_new(void);
void tg_budget_free(struct tg_budget *b);
/* 0: this finding of uid may be printed; otherwise TG_BUDGET_USER or TG_BUDGET_HOST, and it
 * is counted as suppressed. ts_ns: the record's time (any clock that does not go back). */
int tg_budget_allow(struct tg_budget *b, uint32_t uid, uint64_t ts_ns, unsigned int per_user,
		    unsigned int per_host);
/* The users whose findings were suppressed, the most suppressed first (then by uid): the
 * first n of them into uids/counts; returns how many there are in all. */
size_t tg_budget_suppressed(const struct tg_budget *b, uint32_t *uids, uint64_t *counts, size_t n);
uint64_t tg_budget_total(const struct tg_budget *b);   /* all suppressed */
uint64_t tg_budget_by_host(const struct tg_budget *b); /* of which over the host's budget */

/* The path with its random parts replaced by '*': runs of digits, and components (between
 * '/', '.', '-', '_') of 6+ characters that mix letters with 2+ digits or both cases, as
 * mktemp, tmpnam and $$ produce. "/tmp/f.12345" -> "/tmp/f.*", "/tmp/tmp.Ab3xYz" -> "/tmp/tmp.*".
 */
void tg_path_pattern(const char *path, char *out, size_t outlen);

#endif
