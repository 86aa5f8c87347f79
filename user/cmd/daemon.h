/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The daemon's part in audit's loop: reloads and the service manager. */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include "session_int.h"

/* systemd's readiness protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET, if set. */
void daemon_notify(const char *msg);
/* SIGHUP: the configuration again, then the policy it names. */
void daemon_reload(struct session *s, struct daemon *d);

/* WATCHDOG=1 at half of systemd's WATCHDOG_USEC while the producer-health canary passes. */
void daemon_watchdog(struct session *s, struct daemon *d);

#endif
