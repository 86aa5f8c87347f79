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
	uint32_t pid;
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

struct tg_agg *tg_agg_new(size_t max_entries);
void tg_agg_free(struct tg_agg *a);
/* Adds one finding; returns its key's count including this one (1: first of its kind), or 0
 * when the table is full and the finding was only counted as overflow. *print says whether it
 * is among the first per_minute findings of its key in the current minute (always true on
 * overflow, so nothing goes unseen). */
uint64_t tg_agg_add(struct tg_agg *a, uint32_t pid, const char *comm, const char *exe,
		    enum tg_rule rule, enum tg_severity sev, const char *pattern, uint64_t ts_ns,
		    unsigned int per_minute, bool *print);
size_t tg_agg_size(const struct tg_agg *a);
/* Entries ordered by pid, then rule, then pattern (valid until the next tg_agg_add). */
const struct tg_agg_entry *const *tg_agg_sorted(struct tg_agg *a);
uint64_t tg_agg_overflow(const struct tg_agg *a);
uint64_t tg_agg_by_severity(const struct tg_agg *a,
			    enum tg_severity s); /* findings, with repeats */
uint64_t tg_agg_by_rule(const struct tg_agg *a, enum tg_rule r);

/* The path with its random parts replaced by '*': runs of digits, and components (between
 * '/', '.', '-', '_') of 6+ characters that mix letters with 2+ digits or both cases, as
 * mktemp, tmpnam and $$ produce. "/tmp/f.12345" -> "/tmp/f.*", "/tmp/tmp.Ab3xYz" -> "/tmp/tmp.*".
 */
void tg_path_pattern(const char *path, char *out, size_t outlen);

#endif
