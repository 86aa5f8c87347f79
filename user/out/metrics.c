// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <microhttpd.h>
#include "metrics.h"
#include "peers.h"

/* Connections one local user (or one remote address) may hold: one user cannot take the 16
 * there are, and the scraper finds one free. */
#define TG_METRICS_PER_PEER 4

struct tg_metrics {
	int listen_fd; /* ours until MHD takes it */
	int family;
	uint16_t port; /* the listening port, host order */
	struct MHD_Daemon *d;
	struct tg_bpf *bpf;
	pthread_mutex_t lock; /* guards user: written by the collector, read by the HTTP thread */
	struct tg_metrics_user user;
	uint64_t refused; /* connections refused by accept_peer(): the HTTP thread's only */
	size_t n_progs;
	struct {
		char *name, *hook;
		int fd;
	} progs[TG_METRICS_MAX_PROGS];
};

struct tg_metrics *tg_metrics_listen(const struct tg_metrics_addr *addr, const char *text,
				     char *err, size_t errlen)
{
	struct tg_metrics *m = calloc(1, sizeof(*m));
	int one = 1, e;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->listen_fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		goto fail;
	/* A restarted tmpguard binds again while the last scrape's connection is in TIME_WAIT;
	 * on Linux this does not let two listeners share the port. */
	if (setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	/* [::]:PORT means IPv6 only: bind exactly what was given. */
	if (addr->ss.ss_family == AF_INET6 &&
	    setsockopt(m->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (bind(m->listen_fd, (const struct sockaddr *)&addr->ss, addr->len) ||
	    listen(m->listen_fd, 16))
		goto fail;
	m->family = addr->ss.ss_family;
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (getsockname(m->listen_fd, (struct sockaddr *)&ss, &len))
			goto fail;
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	}
	return m;
fail:
	e = errno;
	snprintf(err, errlen, "cannot listen on %s (--metrics-addr): %s%s", text, strerror(e),
		 e == EADDRINUSE      ? " (another process has this port: choose another)"
		 : e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
				      : "");
	tg_metrics_free(m);
	return NULL;
}

static void add_prog(void *ctx, const char *name, const char *sec, int fd)
{
	struct tg_metrics *m = ctx;
	char *n, *h;

	if (m->n_progs >= TG_METRICS_MAX_PROGS)
		return;
	n = strdup(name);
	h = strdup(sec);
	if (!n || !h) {
		free(n);
		free(h);
		return;
	}
	m->progs[m->n_progs].name = n;
	m->progs[m->n_progs].hook = h;
	m->progs[m->n_progs].fd = fd;
	m->n_progs++;
}

/* kernel.bpf_stats_enabled shows the sysctl's own setting, not BPF_ENABLE_STATS fds. */
static bool sysctl_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* The snapshot, rendered; NULL on ENOMEM. Runs on the HTTP thread. */
static char *render(struct tg_metrics *m, size_t *len)
{
	struct tg_metrics_snapshot *s = calloc(1, sizeof(*s));
	char *buf = NULL;
	FILE *f;
	int err;

	if (!s)
		return NULL;
	pthread_mutex_lock(&m->lock);
	s->user = m->user;
	pthread_mutex_unlock(&m->lock);
	s->have_kernel = tg_bpf_stats(m->bpf, s->kstat) == 0;
	s->run_time_stats = s->user.run_time_stats_held || sysctl_stats_enabled();
	for (size_t i = 0; i < m->n_progs; i++) {
		struct bpf_prog_info info = {};
		__u32 ilen = sizeof(info);

		/* A program whose statistics cannot be read is left out, not shown as 0. */
		if (bpf_obj_get_info_by_fd(m->progs[i].fd, &info, &ilen))
			continue;
		s->progs[s->n_progs++] = (struct tg_metrics_prog){
			.name = m->progs[i].name,
			.hook = m->progs[i].hook,
			.run_time_ns = info.run_time_ns,
			.run_cnt = info.run_cnt,
		};
	}
	f = open_memstream(&buf, len);
	if (!f) {
		free(s);
		return NULL;
	}
	err = tg_metrics_render(s, f);
	if (fclose(f) || err) {
		free(buf);
		buf = NULL;
	}
	free(s);
	return buf;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A whole /proc file (it has no size to stat), or NULL. */
static char *read_proc(const char *path)
{
	size_t len = 0, cap = 64 * 1024;
	char *buf = malloc(cap), *nb;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!buf || !f) {
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			if (cap >= 64u << 20 || !(nb = realloc(buf, cap * 2)))
				break;
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

/*
 * Accepts a connection unless its owner holds TG_METRICS_PER_PEER already: the uid that owns
 * the client's socket when it is one of this host's, else its address. A local user who opens
 * connections and keeps them alive (a header line every few seconds) holds at most that many.
 */
static enum MHD_Result accept_peer(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct tg_metrics *m = cls;
	struct tg_peer client = {.family = sa->sa_family};
	char *text;
	long uid;
	int n;

	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		memcpy(client.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		client.port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		memcpy(client.addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		client.port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	} else {
		return MHD_YES;
	}
	text = read_proc(sa->sa_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6");
	if (!text)
		return MHD_YES; /* cannot tell: the overall limit still holds */
	n = tg_peer_count(text, m->port, &client, &uid);
	free(text);
	if (n > TG_METRICS_PER_PEER) {
		/* Said the first time and every 1000th: a flood of refusals is no flood of lines.
		 */
		if (m->refused++ % 1000 == 0) {
			char who[INET6_ADDRSTRLEN + 16];

			if (uid >= 0)
				snprintf(who, sizeof(who), "uid %ld", uid);
			else if (!inet_ntop(sa->sa_family, client.addr, who, sizeof(who)))
				snprintf(who, sizeof(who), "?");
			fprintf(stderr,
				"tmpguard: WARNING: metrics: refused a connection of %s, which "
				"holds "
				"%d already (%llu refused so far)\n",
				who, TG_METRICS_PER_PEER, (unsigned long long)m->refused);
		}
		return MHD_NO;
	}
	return MHD_YES;
}

/* GET (and HEAD, which libmicrohttpd answers without the body) /metrics; 404 for any other
 * path, 405 for any other method. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct tg_metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	/* Any other method is refused at once, its body unread (the connection then closes). */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics is served\n");
	/* The first call has only the headers: a response queued then closes the connection,
	 * one queued on the second keeps it open for the next scrape. */
	if (!*req_cls) {
		*req_cls = m;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return respond(c, MHD_HTTP_NOT_FOUND, "not found: tmpguard serves /metrics\n");
	body = render(m, &len);
	if (!body)
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the metrics\n");
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, TG_METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int tg_metrics_serve(struct tg_metrics *m, struct tg_bpf *b, char *err, size_t errlen)
{
	sigset_t all, old;

	m->bpf = b;
	tg_bpf_for_each_attached(b, add_prog, m);
	/* The HTTP thread inherits this mask: SIGINT, SIGTERM and SIGHUP stay with the thread
	 * that polls the ring buffer, whose poll they interrupt. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* MHD_USE_AUTO: epoll here, so no FD_SETSIZE limit on tmpguard's own fds. */
	m->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, accept_peer, m, handle, m,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->listen_fd,
				MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT,
				10u, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->d) {
		snprintf(err, errlen, "cannot start the metrics endpoint (libmicrohttpd)");
		return -1;
	}
	m->listen_fd = -1; /* MHD_stop_daemon closes it */
	return 0;
}

void tg_metrics_update(struct tg_metrics *m, const struct tg_metrics_user *u)
{
	pthread_mutex_lock(&m->lock);
	m->user = *u;
	pthread_mutex_unlock(&m->lock);
}

void tg_metrics_free(struct tg_metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	for (size_t i = 0; i < m->n_progs; i++) {
		free(m->progs[i].name);
		free(m->progs[i].hook);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int tg_bpf_run_stats_enable(char *err, size_t errlen)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0) {
		snprintf(err, errlen, "cannot turn on BPF run-time statistics (--bpf-stats): %s%s",
			 strerror(-fd),
			 -fd == EINVAL ? " (this kernel predates BPF_ENABLE_STATS, 5.8: use "
					 "sysctl kernel.bpf_stats_enabled=1)"
				       : "");
		return -1;
	}
	return fd;
}
