/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who holds the connections to a local TCP server, from /proc/net/tcp and tcp6: pure parsing,
 * so that the metrics endpoint can limit each local user (by the uid that owns the client's
 * socket) and each remote address, and no one can hold every connection. test_peers.c covers it.
 */
#ifndef TG_PEERS_H
#define TG_PEERS_H
#include <stdint.h>

struct tg_peer {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; the first 4 bytes for AF_INET */
	uint16_t port;	  /* host byte order */
};

/*
 * In text (a /proc/net/tcp or tcp6 of client's family), the established connections to
 * server_port and among them those of client's owner: the local uid that owns client's socket
 * (*uid, or -1 when client is not a socket of this host: then its address). Returns that
 * count, the client's own connection included, or -1 if text has no line of that server.
 */
int tg_peer_count(const char *text, uint16_t server_port, const struct tg_peer *client, long *uid);

#endif
