/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Points in time as text: RFC 3339 written and read back, and the --since/--until forms. Pure. */
#ifndef TG_TIMEFMT_H
#define TG_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 3339 UTC with nanoseconds: "2026-11-28T06:30:00.123456789Z". */
/* Now on clock c (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME), in nanoseconds. */
int64_t tg_clock_ns(clockid_t c);

void tg_format_time(int64_t real_ns, char *buf, size_t len);
/* The same for people: the fraction only when there is one, "2026-11-28T06:30:00Z". */
void tg_format_time_short(int64_t real_ns, char *buf, size_t len);

/*
 * Parses a point in time into CLOCK_REALTIME nanoseconds:
 *   a duration back from now_ns: "90s", "15m", "2h", "30d", "1w" (an integer and one unit);
 *   an RFC 3339 time in UTC or with an offset: "2026-11-28T06:30:00Z",
 *   "2026-11-28T06:30:00.5+01:00";
 *   a date, meaning its midnight UTC: "2026-11-28".
 * Returns 0, or -1 when s is none of these.
 */
int tg_parse_time_arg(const char *s, int64_t now_ns, int64_t *out_ns);

/* Parses the RFC 3339 form only (as tg_format_time writes it). Returns 0, or -1 (also for a time
 * that int64 nanoseconds cannot hold, past 2262-04-11). */
int tg_parse_rfc3339(const char *s, int64_t *out_ns);

/* Parses a date, "YYYY-MM-DD" and nothing else, into its midnight UTC. Returns 0 or -1. */
int tg_parse_date(const char *s, int64_t *out_ns);

#endif
