/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The session's own records: session, summary; the way out of loss and health records. */
#ifndef TG_RECORDS_H
#define TG_RECORDS_H

#include "session_int.h"

#include "record.h"
#include "summary.h"

/* A session, loss, health or summary record, stored already by the caller (takes its JSON). */
void emit_record(struct session *s, const struct tg_record *rec);
/* The policy in force; with khits, what each exception hid so far in the kernel and here. */
struct tg_summary_policy summary_policy(const struct session *s, const uint64_t *khits);
const char *enforcement_name(uint32_t mode);
/* What each exception of the policy in force had the kernel drop: a new array, or NULL. */
uint64_t *kexc_hits(const struct session *s);
void emit_session_record(struct session *s);
void print_summary(struct session *s);

#endif
