/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record pipeline bound to a session: the host's look-ups (/proc, NSS) and the outputs. */
#ifndef TG_SESSION_PIPELINE_H
#define TG_SESSION_PIPELINE_H

#include <stddef.h>
#include "session_int.h"

/* First in start-up: s->pl with this session's look-ups and outputs; nonzero when out of memory. */
int pipeline_init(struct session *s);
/* The ring buffer's callback (s as ctx). Output is flushed after each record judged. */
int handle_record(void *ctx, void *data, size_t size);

#endif
