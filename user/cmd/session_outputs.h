/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a session's records go: the sinks and the event store, opened, ticked and closed. */
#ifndef TG_SESSION_OUTPUTS_H
#define TG_SESSION_OUTPUTS_H

#include "session_int.h"

/* --output, --syslog, before the programs attach: 1 on failure, said. */
int sinks_open(struct session *s);
/* --db, before the programs attach: 0, or the exit status with the failure said. */
int store_open(struct session *s);
/* --forward, after the store: 0, or the exit status with the failure said. */
int forward_open(struct session *s);
/* --http-output URL: the forwarder to an event router. 0, or the exit status, said. */
int http_open(struct session *s);
/* From the poll loops: batches committed about every second, and before a policy reload. */
void store_tick(struct session *s);
/* At the end: the forwarder flushed and stopped; what the store kept and what retention
 * removed, said; then it is closed. */
void store_close(struct session *s);

#endif
