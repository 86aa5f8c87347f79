// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "peers.h"

#define TCP_ESTABLISHED	 1
#define MAX_SERVER_CONNS 256 /* the server's own: its connection limit is far below */

struct row {
	struct tg_peer local, rem;
	unsigned state;
	long uid;
};

/* "0100007F:1F90": the address as the kernel prints it (each 32-bit word in host order). */
static bool parse_addr(const char *s, size_t len, int family, struct tg_peer *p)
{
	size_t words = family == AF_INET ? 1 : 4;
	char word[9], *end;

	if (len != words * 8 + 5 || s[words * 8] != ':')
		return false;
	memset(p, 0, sizeof(*p));
	p->family = family;
	for (size_t i = 0; i < words; i++) {
		uint32_t w;

		memcpy(word, s + i * 8, 8);
		word[8] = 0;
		w = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return false;
		memcpy(p->addr + i * 4, &w, 4);
	}
	p->port = (uint16_t)strtoul(s + words * 8 + 1, &end, 16);
	return end == s + len;
}

static bool parse_row(const char *line, int family, struct row *r)
{
	char local[64], rem[64];
	unsigned long uid;

	if (sscanf(line, " %*[0-9]: %63s %63s %x %*s %*s %*s %lu", local, rem, &r->state, &uid) !=
	    4)
		return false;
	r->uid = (long)uid;
	return parse_addr(local, strlen(local), family, &r->local) &&
	       parse_addr(rem, strlen(rem), family, &r->rem);
}

static bool same(const struct tg_peer *a, const struct tg_peer *b)
{
	return a->port == b->port && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool same_addr(const struct tg_peer *a, const struct tg_peer *b)
{
	return !memcmp(a->addr, b->addr, sizeof(a->addr));
}

int tg_peer_count(const char *text, uint16_t server_port, const struct tg_peer *client, long *uid)
{
	struct tg_peer peers[MAX_SERVER_CONNS];
	size_t n_peers = 0;
	const char *line;
	int count = 0;
	struct row r;

	*uid = -1;
	/* Pass 1: the server's established connections (their peers), and the client's uid. */
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (!parse_row(line, client->family, &r))
			continue;
		if (same(&r.local, client) && r.rem.port == server_port)
			*uid = r.uid;
		if (r.local.port == server_port && r.state == TCP_ESTABLISHED &&
		    n_peers < MAX_SERVER_CONNS)
			peers[n_peers++] = r.rem;
	}
	if (!n_peers)
		return -1;
	if (*uid < 0) {
		for (size_t i = 0; i < n_peers; i++)
			count += same_addr(&peers[i], client);
		return count;
	}
	/* Pass 2: which of those peers are sockets of this host owned by the same uid. */
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (!parse_row(line, client->family, &r) || r.uid != *uid ||
		    r.rem.port != server_port)
			continue;
		for (size_t i = 0; i < n_peers; i++)
			if (same(&peers[i], &r.local)) {
				count++;
				break;
			}
	}
	return count;
}
