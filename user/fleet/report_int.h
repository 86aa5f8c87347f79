/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of the report's model share (report.c, report_read.c, report_count.c,
 * report_period.c, report_hosts.c, report_evidence.c); the renderers and the rest of tmpguard use
 * report.h.
 *
 * Allocation failures do not travel back up: they set r->failed, which every entry point of
 * report.h checks and turns into -ENOMEM.
 */
#ifndef TG_REPORT_INT_H
#define TG_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "report.h"

/* report.c: allocation, and a record's fields */
char *rpt_dup(struct tg_rpt *r, const char *s); /* NULL is copied as "" */
/* p grown to hold need elements of size (capacity doubled, in *cap); NULL on ENOMEM. */
void *rpt_grow(struct tg_rpt *r, void *p, size_t *cap, size_t need, size_t size);
/* An RFC 3339 field as ns, or TG_RPT_NOTIME. */
int64_t rpt_get_time(json_object *o, const char *key);
char *rpt_str_field(struct tg_rpt *r, json_object *o, const char *key, json_object *escaped,
		    const char *dflt);
/* A record of the current input this version does not understand, counted (where: line or
 * row). */
void rpt_invalid(struct tg_rpt *r, uint64_t where, const char *why);
void rpt_free_session(struct tg_rpt_session *s);

/* JSON lines: the next record belongs to no session (until a session record or a finding). */
static inline void rpt_close_session(struct tg_rpt *r)
{
	r->open_session = -1;
}

/* report_read.c */
void rpt_touch(struct tg_rpt_session *s, int64_t t);

/* report_count.c: the tables, and a finding record counted into them */
struct tg_rpt_row *rpt_table_row(struct tg_rpt *r, struct tg_rpt_table *t, const char *key,
				 const char *key2, bool *created);
void rpt_count_in(struct tg_rpt *r, struct tg_rpt_table *t, const char *key, const char *key2,
		  const char *text, int sev, int rule, int64_t time);
void rpt_table_free(struct tg_rpt_table *t);
/* A finding record of session (-1: none), at where (line or row) of the current input. */
void rpt_add_finding(struct tg_rpt *r, json_object *o, long session, uint64_t where);

/* The steps of tg_rpt_finish, in its order. report_period.c: */
void rpt_select_sessions(struct tg_rpt *r);
void rpt_coverage(struct tg_rpt *r, const char *host, int64_t *from, int64_t *to, int64_t *len);
/* report_hosts.c: */
void rpt_build_hosts(struct tg_rpt *r);
void rpt_build_exceptions(struct tg_rpt *r);
/* report_evidence.c: per host, the policies in force (after the exceptions), its forward
 * gaps, whether it stopped reporting */
void rpt_build_evidence(struct tg_rpt *r);
/* report_period.c: */
void rpt_build_trend(struct tg_rpt *r);
void rpt_build_gaps(struct tg_rpt *r);

#endif
