/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The session's side of the Prometheus endpoint and --bpf-stats. */
#ifndef TG_SESSION_METRICS_H
#define TG_SESSION_METRICS_H

#include "session_int.h"

void metrics_sync(struct session *s);
/* Before the BPF load: --bpf-stats and the endpoint's socket; 1 on failure, said. */
int metrics_open(struct session *s);
/* Once the programs are attached; 1 on failure, said. */
int metrics_serve(struct session *s);

#endif
