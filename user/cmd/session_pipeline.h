/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record pipeline bound to a session: the host's look-ups (/proc, NSS) and the outputs. */
#ifndef TG_SESSION_PIPELINE_H
#define TG_SESSION_PIPELINE_H

#include <stddef.h>
#include "session_int.h"

/* First in start-up: s->pl with this session's look-ups and outputs; nonzero when out of memory. */
/* With call sites on, once the programs are loaded: the call sites the kernel may name instead
 * of sending their stack again (callsite_reuse.h; s->cs_reuse, NULL: none). */
void callsite_reuse_start(struct session *s);
int pipeline_init(struct session *s);
/* The ring buffer's callback (s as ctx). Output is flushed after each record judged. */
int handle_record(void *ctx, void *data, size_t size);

/* session_python.c: interpreter call sites. Registers the interpreters (CPython, bash) with the
 * kernel and opens CPython's frame ring (after the programs are loaded); the call site of the
 * tg_events record data (0 with cs filled), or -1 when the record is no CPython interpreter's;
 * the interpreters registered (empty before start). */
struct session;
struct tg_callsite;
struct tg_interp_reg;
void session_python_start(struct session *s);
int session_python_callsite(struct session *s, const void *data, size_t size,
			    struct tg_callsite *cs);
const struct tg_interp_reg *session_interps(void);

#endif
