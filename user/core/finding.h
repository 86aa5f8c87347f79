/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One finding as the pipeline hands it to the outputs: the rule and severity (struct
 * tg_finding) with the record, the process and what every output prints of them. Types, and the
 * two readings every output shares (its time, its action's name): the pipeline makes it,
 * output.c, falco.c and sink.c render it, the store indexes it.
 */
#ifndef TG_FINDING_H
#define TG_FINDING_H

#include <stdbool.h>
#include <stdint.h>
#include "advice.h"
#include "callsite.h"
#include "process.h"
#include "rules.h"

struct tg_report {
	const struct tg_event *e;
	const struct tg_proc_info *proc;
	struct tg_finding finding;
	struct tg_dir_verdict dir;
	enum tg_lang lang;
	uint64_t count;		 /* occurrences of this aggregate key so far, this one included */
	const char *pattern;	 /* aggregate path pattern */
	int64_t boot_to_real_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	const char *host;
	bool same_event; /* another finding of the event just printed: text says so briefly */
	uint32_t action; /* enum tg_action_taken for this finding */
	/* relative paths: the directory they were resolved from (tg_resolve_base) */
	const char *base_dir;	 /* "" unless base_status is "ok" */
	const char *base_status; /* "ok", "gone", "too-long", "unreachable"; NULL: absolute */
	const struct tg_callsite *callsite; /* which line made it (callsite.h); NULL: none */
};

/* The event's time on CLOCK_REALTIME: in u64, as the kernel's clock is, so a wild value wraps,
 * never overflows. */
int64_t tg_report_time_ns(const struct tg_report *r);
/* "alert", "denied", "killed", "would-deny" (enum tg_action_taken). */
const char *tg_action_taken_name(uint32_t action);

#endif
