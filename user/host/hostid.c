// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The host's identity in a fleet (hostid.h): hostname and machine id, or --host-id. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "hostid.h"

bool tg_host_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < TG_HOST_ID_MAX &&
	       strspn(id,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+-") == n;
}

bool tg_machine_id_valid(const char *id)
{
	return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32 && strspn(id, "0") != 32;
}

int tg_host_id_make(const char *hostname, const char *machine_id, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	int n = machine_id ? snprintf(out, outlen, "%s:%s", hostname, machine_id)
			   : snprintf(out, outlen, "%s", hostname);

	if (n < 0 || (size_t)n >= outlen || !tg_host_id_valid(out)) {
		snprintf(err, errlen,
			 "this host's name '%.64s' does not make a host id (letters, digits and "
			 "._:@/+- only, under %d bytes): give one with --host-id",
			 hostname, TG_HOST_ID_MAX);
		return -1;
	}
	return 0;
}

/* The machine id of path, if it holds a valid one. */
static bool read_machine_id(const char *path, char *id, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, id, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	id[n] = 0;
	id[strcspn(id, "\n")] = 0;
	return tg_machine_id_valid(id);
}

int tg_host_id(const char *override, char *out, size_t outlen, bool *weak, char *err, size_t errlen)
{
	char host[256] = "", mid[64];
	bool have_mid;

	if (weak)
		*weak = false;
	if (override) {
		if (!tg_host_id_valid(override)) {
			snprintf(err, errlen,
				 "invalid host id '%.200s': 1 to %d bytes of letters, digits and "
				 "._:@/+-",
				 override, TG_HOST_ID_MAX - 1);
			return -1;
		}
		snprintf(out, outlen, "%s", override);
		return 0;
	}
	if (gethostname(host, sizeof(host) - 1)) {
		snprintf(err, errlen, "cannot read this host's name: %s", strerror(errno));
		return -1;
	}
	/* /etc/machine-id is systemd's; D-Bus keeps a copy where systemd is not in use. */
	have_mid = read_machine_id("/etc/machine-id", mid, sizeof(mid)) ||
		   read_machine_id("/var/lib/dbus/machine-id", mid, sizeof(mid));
	if (!have_mid && weak)
		*weak = true;
	return tg_host_id_make(host, have_mid ? mid : NULL, out, outlen, err, errlen);
}
