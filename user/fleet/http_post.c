// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An HTTP target's posts (http_post.h): the URL checked, one libcurl easy handle kept for the
 * target's life, each post's answer sorted into delivered, refused and away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "http_post.h"

struct tg_http {
	CURL *curl;
	struct curl_slist *headers;
	atomic_bool abort;
	char errbuf[CURL_ERROR_SIZE];
	char answer[TG_HTTP_EXCERPT_MAX + 1]; /* the start of the answer's body */
	size_t answer_len;
};

int tg_http_target(const char *url, char *target, size_t len, char *err, size_t errlen)
{
	char *scheme = NULL, *user = NULL, *pass = NULL, *host = NULL, *port = NULL, *path = NULL;
	CURLU *u;
	CURLUcode rc;
	int ret = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(u = curl_url())) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	/* Not echoed: it may hold a password. */
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc) {
		snprintf(err, errlen,
			 "invalid --http-output URL (%s): expected http://HOST[:PORT]/PATH or "
			 "https://HOST[:PORT]/PATH",
			 curl_url_strerror(rc));
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		snprintf(err, errlen,
			 "invalid --http-output URL: its scheme is %s, expected http or https",
			 scheme ? scheme : "missing");
	} else if (user || pass) {
		snprintf(err, errlen,
			 "refusing an --http-output URL with a user name or password in it (not "
			 "echoed): every user of this host can read a command line; put the "
			 "Authorization header's value in a file only root can read and give "
			 "--http-output-auth-file FILE, or set %s",
			 TG_HTTP_AUTH_ENV);
	} else if (!host || !*host) {
		snprintf(err, errlen, "invalid --http-output URL: it names no host");
	} else {
		snprintf(target, len, "%s://%s:%s%s", scheme, host, port ? port : "",
			 path ? path : "/");
		ret = 0;
	}
out:
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

/* Keeps the start of the answer's body for the log; reads (and drops) the rest. */
static size_t on_answer(char *data, size_t size, size_t n, void *arg)
{
	struct tg_http *h = arg;
	size_t len = size * n, room = TG_HTTP_EXCERPT_MAX - h->answer_len;

	if (room) {
		if (room > len)
			room = len;
		memcpy(h->answer + h->answer_len, data, room);
		h->answer_len += room;
		h->answer[h->answer_len] = 0;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct tg_http *h = arg;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&h->abort) ? 1 : 0;
}

/* The CA file is read now, so that a wrong path is said at start rather than at each post. */
static int check_ca(const char *ca_file, char *err, size_t errlen)
{
	int fd = open(ca_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot read --http-output-ca %s: %s", ca_file,
			 strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int set_auth(struct tg_http *h, const char *auth, char *err, size_t errlen)
{
	char *line = NULL;
	struct curl_slist *l;

	if (strpbrk(auth, "\r\n")) {
		snprintf(err, errlen, "the Authorization header's value holds a line break");
		return -1;
	}
	if (asprintf(&line, "Authorization: %s", auth) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l = curl_slist_append(h->headers, line);
	explicit_bzero(line, strlen(line));
	free(line);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->headers = l;
	return 0;
}

struct tg_http *tg_http_new(const char *url, const char *auth, const char *ca_file, char *err,
			    size_t errlen)
{
	struct tg_http *h = calloc(1, sizeof(*h));
	struct curl_slist *l;

	if (!h || !(h->curl = curl_easy_init())) {
		snprintf(err, errlen, "cannot initialise libcurl");
		free(h);
		return NULL;
	}
	l = curl_slist_append(NULL, "Content-Type: application/json");
	h->headers = l ? curl_slist_append(l, "Expect:") : NULL; /* no 100-continue round trip */
	if (!h->headers) {
		curl_slist_free_all(l);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((auth && set_auth(h, auth, err, errlen)) || (ca_file && check_ca(ca_file, err, errlen)))
		goto fail;
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L); /* a thread of its own: no SIGALRM */
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)TG_HTTP_TIMEOUT_S);
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "tmpguard");
	return h;
fail:
	tg_http_free(h);
	return NULL;
}

void tg_http_free(struct tg_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers); /* the Authorization line is libcurl's copy */
	free(h);
}

void tg_http_abort(struct tg_http *h)
{
	atomic_store(&h->abort, true);
}

/* The answer's excerpt, on one line. */
static void excerpt(struct tg_http *h)
{
	for (size_t i = 0; i < h->answer_len; i++)
		if (h->answer[i] == '\n' || h->answer[i] == '\r' || h->answer[i] == '\t')
			h->answer[i] = ' ';
}

int tg_http_post(struct tg_http *h, const char *body, size_t len, bool quick, long *status,
		 bool *refused, char *err, size_t errlen)
{
	CURLcode rc;

	*status = 0;
	*refused = false;
	if (atomic_load(&h->abort)) {
		snprintf(err, errlen, "stopped");
		return -1;
	}
	h->errbuf[0] = 0;
	h->answer_len = 0;
	h->answer[0] = 0;
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, quick ? 2L : (long)TG_HTTP_CONNECT_S);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot post: %s",
			 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300)
		return 0;
	excerpt(h);
	*refused = *status < 500 && *status != 408 && *status != 429;
	snprintf(err, errlen, "the receiver answered HTTP %ld%s%s%s", *status,
		 h->answer_len ? " (\"" : "", h->answer, h->answer_len ? "\")" : "");
	return -1;
}

char *tg_http_body(const char *falco, const char *host_id, int64_t session_key, const char *stream,
		   int64_t seq)
{
	json_object *o = json_tokener_parse(falco), *f = NULL;
	char key[512], *out = NULL;

	if (!o || !json_object_object_get_ex(o, "output_fields", &f) ||
	    !json_object_is_type(f, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	snprintf(key, sizeof(key), "%s/%lld/%s/%lld", host_id, (long long)session_key, stream,
		 (long long)seq);
	json_object_object_add(f, "tmpguard.host_id", json_object_new_string(host_id));
	json_object_object_add(f, "tmpguard.session_key", json_object_new_int64(session_key));
	json_object_object_add(f, "tmpguard.stream", json_object_new_string(stream));
	json_object_object_add(f, "tmpguard.seq", json_object_new_int64(seq));
	json_object_object_add(f, "tmpguard.key", json_object_new_string(key));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
