// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "container.h"

#define ID_LEN 64

static bool hex_run(const char *s)
{
	for (int i = 0; i < ID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return !isxdigit((unsigned char)s[ID_LEN]);
}

static const struct {
	const char *prefix;
	const char *runtime;
} layouts[] = {
	{"docker-", "docker"}, {"cri-containerd-", "containerd"},
	{"crio-", "cri-o"},    {"libpod-", "podman"},
	{"docker/", "docker"}, {"kubepods", "containerd"},
};

const char *tg_container_id(const char *cgroup, char *id, size_t idlen)
{
	const char *runtime = NULL, *found = NULL;

	if (idlen)
		id[0] = 0;
	if (!cgroup)
		return NULL;
	/* The innermost id wins: scan every 64-hex run bounded by a separator. */
	for (const char *p = cgroup; *p; p++) {
		if ((p == cgroup || p[-1] == '-' || p[-1] == '/') && strlen(p) >= ID_LEN &&
		    hex_run(p))
			found = p;
	}
	if (!found)
		return NULL;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		size_t n = strlen(layouts[i].prefix);
		const char *at = strstr(cgroup, layouts[i].prefix);

		if (at && at < found &&
		    (at + n == found || layouts[i].prefix[n - 1] == '/' ||
		     !strcmp(layouts[i].prefix, "kubepods"))) {
			runtime = layouts[i].runtime;
			break;
		}
	}
	if (!runtime)
		return NULL;
	snprintf(id, idlen, "%.*s", ID_LEN, found);
	return runtime;
}
