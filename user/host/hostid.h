/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The host's identity in a fleet: "HOSTNAME:MACHINE-ID", the name for people and systemd's
 * machine id (machine-id(5)) for uniqueness, so that two hosts of one name stay apart and so do
 * clones of one golden image that kept its machine id but got a name of their own. It goes on
 * the session record ("host_id"), on the store's session rows, and with every row forwarded
 * (fleet/forward.h), where it leads every key. Containers often share their image's machine id
 * or have none, and tests run several instances on one machine: --host-id overrides it.
 */
#ifndef TG_HOSTID_H
#define TG_HOSTID_H

#include <stdbool.h>
#include <stddef.h>

#define TG_HOST_ID_MAX 160 /* bytes, with the NUL: 64 of hostname, ':', 32 of machine id */

/* An identity as --host-id takes it: 1..TG_HOST_ID_MAX-1 bytes of [A-Za-z0-9._:@/+-]. */
bool tg_host_id_valid(const char *id);

/* A machine id as machine-id(5) writes it: 32 lowercase hex digits, not all zero. */
bool tg_machine_id_valid(const char *id);

/* Pure: "HOSTNAME:MACHINE-ID" into out (machine_id NULL: HOSTNAME alone). 0, or -1 with the
 * reason in err when the result is not a valid identity. */
int tg_host_id_make(const char *hostname, const char *machine_id, char *out, size_t outlen,
		    char *err, size_t errlen);

/*
 * This host's identity into out: override when given (checked), else the hostname and the
 * machine id of /etc/machine-id (or /var/lib/dbus/machine-id). Without a machine id, the
 * hostname alone, and *weak (when non-NULL) is set: no fleet should key on that. Returns 0, or
 * -1 with the reason in err.
 */
int tg_host_id(const char *override, char *out, size_t outlen, bool *weak, char *err,
	       size_t errlen);

#endif
