// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Who holds the connections to the metrics port: /proc/net/tcp and tcp6 as the kernel prints
 * them (addresses as 32-bit words in host order; a little-endian host here). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "peers.h"

#define HDR                                                                                        \
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "      \
	"timeout inode\n"
/* 127.0.0.1:9464 (0x24F8) listening (0A), then connections. */
#define ROW(n, l, r, st, uid)                                                                      \
	"  " #n ": " l " " r " " st " 00000000:00000000 00:00000000 00000000 " #uid                \
	"        0 1 1 0000000000000000 20 4 30 10 -1\n"

static struct tg_peer v4(const char *ip, uint16_t port)
{
	struct tg_peer p = {.family = AF_INET, .port = port};

	assert_int_equal(inet_pton(AF_INET, ip, p.addr), 1);
	return p;
}

static void test_local_users_are_told_apart(void **state)
{
	const char *text = HDR ROW(0, "0100007F:24F8", "00000000:0000", "0A", 0)
		/* nobody (65534) holds three: their sockets and the server's ends */
		ROW(1, "0100007F:A001", "0100007F:24F8", "01", 65534) ROW(2, "0100007F:24F8",
									  "0100007F:A001", "01", 0)
			ROW(3, "0100007F:A002", "0100007F:24F8", "01", 65534)
				ROW(4, "0100007F:24F8", "0100007F:A002", "01", 0)
					ROW(5, "0100007F:A003", "0100007F:24F8", "01", 65534)
						ROW(6, "0100007F:24F8", "0100007F:A003", "01", 0)
		/* prometheus (110) holds one */
		ROW(7, "0100007F:B001", "0100007F:24F8", "01", 110)
			ROW(8, "0100007F:24F8", "0100007F:B001", "01", 0)
		/* a closed one of nobody's does not count */
		ROW(9, "0100007F:A004", "0100007F:24F8", "06", 65534)
			ROW(10, "0100007F:24F8", "0100007F:A004", "08", 0);
	struct tg_peer c = v4("127.0.0.1", 0xA003);
	long uid;

	(void)state;
	assert_int_equal(tg_peer_count(text, 9464, &c, &uid), 3);
	assert_int_equal(uid, 65534);
	c = v4("127.0.0.1", 0xB001);
	assert_int_equal(tg_peer_count(text, 9464, &c, &uid), 1);
	assert_int_equal(uid, 110);
	/* another port: no such server */
	assert_int_equal(tg_peer_count(text, 9465, &c, &uid), -1);
}

static void test_remote_peers_by_address(void **state)
{
	/* 10.0.0.7 (0x0700000A) twice, 10.0.0.8 once, to 10.0.0.1:9464 */
	const char *text = HDR ROW(0, "0100000A:24F8", "0700000A:C001", "01", 0)
		ROW(1, "0100000A:24F8", "0700000A:C002", "01", 0)
			ROW(2, "0100000A:24F8", "0800000A:C001", "01", 0);
	struct tg_peer c = v4("10.0.0.7", 0xC002);
	long uid;

	(void)state;
	assert_int_equal(tg_peer_count(text, 9464, &c, &uid), 2);
	assert_int_equal(uid, -1);
	c = v4("10.0.0.8", 0xC001);
	assert_int_equal(tg_peer_count(text, 9464, &c, &uid), 1);
}

static void test_ipv6_and_junk(void **state)
{
	/* [::1]:9464 <- [::1]:0xD001 of uid 1000 */
	const char *text =
		HDR "garbage line\n" ROW(0, "00000000000000000000000001000000:24F8",
					 "00000000000000000000000001000000:D001", "01", 0)
			ROW(1, "00000000000000000000000001000000:D001",
			    "00000000000000000000000001000000:24F8", "01", 1000) "   9: short\n";
	struct tg_peer c = {.family = AF_INET6, .port = 0xD001};
	long uid;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "::1", c.addr), 1);
	assert_int_equal(tg_peer_count(text, 9464, &c, &uid), 1);
	assert_int_equal(uid, 1000);
	assert_int_equal(tg_peer_count("", 9464, &c, &uid), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_users_are_told_apart),
		cmocka_unit_test(test_remote_peers_by_address),
		cmocka_unit_test(test_ipv6_and_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
