/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --http-output URL: the HTTP side of a forward target (forward.h) that posts each row of the
 * store to an event router such as Falcosidekick, one Falco event (out/falco.h, kept in the
 * row's falco column by the store) per POST, with the row's key added to its output_fields so
 * that a receiver can drop the copy of a post it already had: delivery is at least once.
 *
 * libcurl, one easy handle per target reused for every post (its connection kept alive), a
 * timeout on each; https is verified against the system's CAs or --http-output-ca FILE, and
 * there is no way to turn verification off. The URL may hold no user name or password (the
 * command line is visible to every user): an Authorization header comes from a root-only file
 * or the environment (TMPGUARD_HTTP_AUTH).
 */
#ifndef TG_HTTP_POST_H
#define TG_HTTP_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_HTTP_CONNECT_S   5  /* connecting (2 at stop) */
#define TG_HTTP_TIMEOUT_S   10 /* a whole post */
#define TG_HTTP_AUTH_ENV    "TMPGUARD_HTTP_AUTH"
#define TG_HTTP_EXCERPT_MAX 200 /* of a refusing answer's body, in the log */

struct tg_http;

/*
 * Checks --http-output URL: http:// or https://, parsed by libcurl, no user name or password
 * in it (refused without echoing it). Its name for forward_state, SCHEME://HOST[:PORT]/PATH
 * (no query), goes to target. 0, or -1 with the reason and what to do in err.
 */
int tg_http_target(const char *url, char *target, size_t len, char *err, size_t errlen);

/* A handle for url; auth: the Authorization header's value or NULL; ca_file: a CA bundle
 * (PEM) to verify https against instead of the system's, or NULL. NULL with err on failure. */
struct tg_http *tg_http_new(const char *url, const char *auth, const char *ca_file, char *err,
			    size_t errlen);
void tg_http_free(struct tg_http *h);

/*
 * POSTs body (application/json). 0 when the receiver answered 2xx. Otherwise -1, with err
 * saying why and *status the HTTP status (0: no answer). *refused is set for an answer that
 * refuses this event (a 3xx or a 4xx other than 408 and 429): sending it again will not help
 * until someone fixes the receiver or its configuration; every other failure is the receiver
 * being away or busy. quick: connect within 2 s (at stop).
 */
int tg_http_post(struct tg_http *h, const char *body, size_t len, bool quick, long *status,
		 bool *refused, char *err, size_t errlen);
/* Makes a post in progress, and every later one, fail at once (thread-safe: at stop). */
void tg_http_abort(struct tg_http *h);

/*
 * Pure: the body of one post: falco (a Falco event's JSON text) with the row's key added to
 * its output_fields: tmpguard.host_id, tmpguard.session_key, tmpguard.stream, tmpguard.seq and
 * tmpguard.key ("HOST_ID/SESSION_KEY/STREAM/SEQ"), unique in the fleet. A new string, or NULL
 * when falco is not a JSON object with output_fields.
 */
char *tg_http_body(const char *falco, const char *host_id, int64_t session_key, const char *stream,
		   int64_t seq);

#endif
