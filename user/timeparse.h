/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Time arguments of query and report (--since, --until). Pure. */
#ifndef TG_TIMEPARSE_H
#define TG_TIMEPARSE_H

#include <stdint.h>

/*
 * Parses a point in time into CLOCK_REALTIME nanoseconds:
 *   a duration back from now_ns: "90s", "15m", "2h", "30d", "1w" (an integer and one unit);
 *   an RFC 3339 time in UTC or with an offset: "2026-11-28T06:30:00Z",
 *   "2026-11-28T06:30:00.5+01:00";
 *   a date, meaning its midnight UTC: "2026-11-28".
 * Returns 0, or -1 when s is none of these.
 */
int tg_parse_time_arg(const char *s, int64_t now_ns, int64_t *out_ns);

/* Parses the RFC 3339 form only (as tg_format_time writes it). Returns 0 or -1. */
int tg_parse_rfc3339(const char *s, int64_t *out_ns);

#endif
