/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loss windows and the producer-health canary, checked from the poll loops. */
#ifndef TG_HEALTH_H
#define TG_HEALTH_H

#include "session_int.h"

/* Loss is said at once and recorded with the window it happened in. */
void check_loss(struct session *s);
/* The canary: machine-wide audits only (not s->scoped). */
void health_start(struct session *s);
void health_end(struct session *s);
void check_health(struct session *s);

#endif
