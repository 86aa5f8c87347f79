// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Output sinks: the stream (standard output or --output FILE, rotated by size) and syslog(3).
 *
 * Records are whole lines, written with one write(2) each through an O_APPEND descriptor: a
 * write that fails halfway is cut back off the file (ftruncate to the size before it), so a
 * file never holds half a record, and a record is never split across two files: the record that
 * would take a file past --rotate-size goes whole into the next one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "falco.h"
#include "rules.h"
#include "sink.h"
#include "summary.h"
#include "util/json_util.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define WRITE_FAIL                                                                                 \
	"tmpguard: WARNING: cannot write to %s: %s; records are dropped (and counted) until it "   \
	"works again\n"

/* Failures of one kind of write: counted always, said once per burst. A burst ends at a write
 * at least as large as the smallest one refused in it, or at any write once none has failed for
 * TG_FAIL_QUIET_NS: on a nearly full disk, short records still fit between refused long ones,
 * and that is not "works again" (it would be said, then the failure again, at every record). */
#define TG_FAIL_QUIET_NS (10ULL * 1000000000ULL)

struct tg_fail {
	uint64_t count;
	int last_err;
	bool in_burst;
	size_t min_bytes; /* the smallest write refused in this burst; 0: not known */
	uint64_t last_ns; /* CLOCK_MONOTONIC of the last failure */
};

struct tg_sinks {
	struct tg_sink_opts o;
	FILE *diag;
	char *path;	  /* --output, or NULL */
	const char *base; /* last component of path */
	int dirfd;	  /* its directory, -1 for standard output */
	int fd;		  /* current file, or 1 */
	bool is_reg;	  /* a regular file of ours: cut back after a partial write */
	bool is_pipe;	  /* a pipe or FIFO: its reader can go away */
	bool epipe;	  /* a write met EPIPE: the reader went away */
	uint64_t size;	  /* bytes in the current file */
	uint64_t body;	  /* bytes in it besides the session record copied at its start */
	char *header;	  /* the last session record, as written (one line) */
	size_t header_len;
	uint64_t written, rotations, syslog_msgs, syslog_cut;
	uint64_t planted; /* entries at rotated names that were not tmpguard's */
	struct tg_fail wfail, rfail, cfail;
};

/* ---- pure helpers ---- */

int tg_format_parse(const char *name)
{
	if (!strcmp(name, "text"))
		return TG_FORMAT_TEXT;
	if (!strcmp(name, "json"))
		return TG_FORMAT_JSON;
	if (!strcmp(name, "falco"))
		return TG_FORMAT_FALCO;
	return -1;
}

int tg_syslog_facility_parse(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} map[] = {
		{"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},	{"authpriv", LOG_AUTHPRIV},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
		{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
		{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(name, map[i].name))
			return map[i].fac;
	return -1;
}

int tg_syslog_severity(const char *severity)
{
	if (!severity)
		return -1;
	if (!strcmp(severity, "critical"))
		return LOG_CRIT;
	if (!strcmp(severity, "high"))
		return LOG_ERR;
	if (!strcmp(severity, "medium"))
		return LOG_WARNING;
	if (!strcmp(severity, "low"))
		return LOG_NOTICE;
	return -1;
}

int tg_record_syslog_severity(const struct tg_record *rec)
{
	switch (rec->kind) {
	case TG_RECORD_FINDING:
		return tg_syslog_severity(tg_severity_name(rec->finding->finding.severity));
	case TG_RECORD_LOSS:
		return LOG_WARNING;
	case TG_RECORD_SUMMARY:
		return rec->summary->events.lost ? LOG_WARNING : LOG_INFO;
	case TG_RECORD_SESSION:
	case TG_RECORD_HEALTH:
		break;
	}
	return -1;
}

void tg_sink_stats_json(const struct tg_sink_stats *st, json_object *summary)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "records_written", json_object_new_int64(st->records_written));
	json_object_object_add(o, "records_failed", json_object_new_int64(st->records_failed));
	json_object_object_add(o, "rotations", json_object_new_int64(st->rotations));
	json_object_object_add(o, "rotations_failed", json_object_new_int64(st->rotations_failed));
	json_object_object_add(o, "rotation_planted", json_object_new_int64(st->rotation_planted));
	json_object_object_add(o, "syslog_messages", json_object_new_int64(st->syslog_messages));
	json_object_object_add(o, "syslog_truncated", json_object_new_int64(st->syslog_truncated));
	json_object_object_add(summary, "output", o);
}

int tg_rotated_name(const char *base, unsigned i, char *buf, size_t len)
{
	int n = i ? snprintf(buf, len, "%s.%u", base, i) : snprintf(buf, len, "%s", base);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The longest string and the largest array (by their JSON length) under o. */
struct fit_pick {
	json_object *parent, *val;
	const char *key; /* in an object parent */
	size_t idx;	 /* in an array parent */
	size_t len;
	char path[128];
};

static void fit_scan(json_object *o, json_object *parent, const char *key, size_t idx,
		     const char *path, struct fit_pick *str, struct fit_pick *arr)
{
	char sub[128];
	size_t n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		n = (size_t)json_object_get_string_len(o);
		if (n > str->len) {
			*str = (struct fit_pick){parent, o, key, idx, n, ""};
			snprintf(str->path, sizeof(str->path), "%s", path);
		}
		break;
	case json_type_object:
		json_object_object_foreach(o, k, v)
		{
			if (!parent && !strcmp(k, "syslog_truncated"))
				continue;
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
			fit_scan(v, o, k, 0, sub, str, arr);
		}
		break;
	case json_type_array:
		n = json_object_array_length(o);
		if (n && json_object_to_json_string_length(o, JSON_FLAGS, &n) && n > arr->len) {
			*arr = (struct fit_pick){parent, o, key, idx, n, ""};
			snprintf(arr->path, sizeof(arr->path), "%s", path);
		}
		snprintf(sub, sizeof(sub), "%s[]", path);
		for (size_t i = 0; i < json_object_array_length(o); i++)
			fit_scan(json_object_array_get_idx(o, i), o, NULL, i, sub, str, arr);
		break;
	default:
		break;
	}
}

static void note_cut(json_object *o, const char *path)
{
	json_object *list = tg_json_get(o, "syslog_truncated");

	if (!list) {
		list = json_object_new_array();
		json_object_object_add(o, "syslog_truncated", list);
	}
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)), path))
			return;
	json_object_array_add(list, json_object_new_string(path));
}

size_t tg_json_fit(json_object *o, size_t max)
{
	size_t len = 0, prev = SIZE_MAX;

	/* Each round shrinks one field; stop when it fits or a round gains nothing. */
	while (json_object_to_json_string_length(o, JSON_FLAGS, &len) && len > max && len < prev) {
		struct fit_pick s = {0}, a = {0};

		prev = len;
		fit_scan(o, NULL, NULL, 0, "", &s, &a);
		if (a.val && a.len > s.len) {
			size_t n = json_object_array_length(a.val);

			json_object_array_del_idx(a.val, n / 2, n - n / 2);
			note_cut(o, a.path);
		} else if (s.val && s.len > 3) {
			const char *v = json_object_get_string(s.val);
			/* What is over, plus what naming the cut adds: its path in the
			 * syslog_truncated list (and the list itself the first time). */
			size_t excess = len - max + 8 + strlen(s.path) + 4 +
					(tg_json_get(o, "syslog_truncated") ? 0 : 24),
			       keep;
			char *cut;

			keep = s.len > excess + 16 ? s.len - excess : s.len / 2;
			while (keep && ((unsigned char)v[keep] & 0xC0) == 0x80)
				keep--; /* not inside a UTF-8 sequence */
			if (asprintf(&cut, "%.*s...", (int)keep, v) < 0)
				break;
			note_cut(o, s.path);
			if (s.key)
				json_object_object_add(s.parent, s.key,
						       json_object_new_string(cut));
			else
				json_object_array_put_idx(s.parent, s.idx,
							  json_object_new_string(cut));
			free(cut);
		} else {
			break;
		}
	}
	return len;
}

/* ---- secure files ---- */

int tg_open_dir_checked(const char *path, const char **base, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;
	int fd;

	if (slash && !slash[1]) {
		snprintf(err, errlen, "%s names a directory, not a file", path);
		return -1;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	*base = slash ? slash + 1 : path;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open directory %s: %s%s", dir, strerror(errno),
			 errno == ELOOP || errno == ENOTDIR ? " (a symlink is not followed)" : "");
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot stat directory %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	/* Whoever can rename files in the directory can swap the output files. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "refusing to write in %s: it is owned by uid %u, who could rename or "
			 "replace the output files (choose a directory owned by root or you)",
			 dir, st.st_uid);
		close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "refusing to write in %s: it is writable by group or others and not "
			 "sticky, so they could rename or replace the output files (use a "
			 "directory only you can write, or a sticky one such as /tmp)",
			 dir);
		close(fd);
		return -1;
	}
	return fd;
}

int tg_open_append_at(int dirfd, const char *name, bool *created, char *err, size_t errlen)
{
	struct stat st;
	int fd = -1;

	*created = false;
	/* Open what is there (never creating, never following), else create it exclusively:
	 * whatever appears in between makes the create fail, and the loop looks again. */
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		fd = openat(dirfd, name,
			    O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		fd = openat(dirfd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			*created = true;
		else if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", name,
			 errno == ELOOP ? "it is a symlink, which is never followed"
					: strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", name, strerror(errno));
		goto refuse;
	}
	if (S_ISCHR(st.st_mode) && st.st_uid == 0)
		goto ok;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file (or a device owned by root)", name);
		goto refuse;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s belongs to uid %u: refusing to write into a file another user "
			 "controls (remove it, or choose another name)",
			 name, st.st_uid);
		goto refuse;
	}
	if (st.st_nlink != 1) {
		snprintf(err, errlen, "%s has %ju links: refusing to write into a hard link", name,
			 (uintmax_t)st.st_nlink);
		goto refuse;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s is writable by group or others, who could forge records (chmod go-w "
			 "it)",
			 name);
		goto refuse;
	}
ok:
	/* O_NONBLOCK was only there so that opening a FIFO could not hang. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
refuse:
	close(fd);
	return -1;
}

/* ---- failures ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bytes: the size of the refused write, 0 when it is not one (a rotation, no memory). */
static void fail(struct tg_sinks *k, struct tg_fail *f, int err, size_t bytes, const char *fmt,
		 const char *what)
{
	f->count++;
	f->last_err = err;
	f->last_ns = mono_ns();
	if (f->in_burst) {
		if (bytes < f->min_bytes)
			f->min_bytes = bytes;
		return;
	}
	f->in_burst = true;
	f->min_bytes = bytes;
	fprintf(k->diag, fmt, what, strerror(err));
	fflush(k->diag);
}

/* bytes: the size of the write that worked. */
static void ok(struct tg_sinks *k, struct tg_fail *f, size_t bytes, const char *verb,
	       const char *what)
{
	if (!f->in_burst)
		return;
	if (bytes < f->min_bytes && mono_ns() - f->last_ns < TG_FAIL_QUIET_NS)
		return;
	f->in_burst = false;
	fprintf(k->diag, "tmpguard: %s %s works again (%llu failures so far)\n", verb, what,
		(unsigned long long)f->count);
	fflush(k->diag);
}

static const char *stream_name(const struct tg_sinks *k)
{
	return k->path ? k->path : "standard output";
}

/* ---- the stream ---- */

bool tg_fd_reader_gone(int fd)
{
	struct pollfd p = {.fd = fd};

	/* A pipe's write end polls POLLERR once no reader is left (pipe_poll()). */
	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

bool tg_sinks_reader_gone(const struct tg_sinks *k)
{
	return k && (k->epipe || (k->is_pipe && tg_fd_reader_gone(k->fd)));
}

/* A failed write to the stream; EPIPE is the caller's to say when it stops on it. */
static void stream_fail(struct tg_sinks *k, int err, size_t bytes)
{
	if (err == EPIPE)
		k->epipe = true;
	if (err == EPIPE && k->o.stop_on_epipe) {
		k->wfail.count++;
		k->wfail.last_err = err;
		return;
	}
	fail(k, &k->wfail, err, bytes, WRITE_FAIL, stream_name(k));
}

/* buf, whole or not at all: a partial write is cut back off the file. Returns 0 or -errno. */
static int write_whole(struct tg_sinks *k, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(k->fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			if (done && k->is_reg && ftruncate(k->fd, (off_t)k->size) == 0)
				done = 0;
			k->size += done;
			return -e;
		}
		done += (size_t)w;
	}
	k->size += n;
	return 0;
}

/* A unique hidden name next to base, created exclusively (0600). */
/* The random part of a hidden name (a temporary file, a planted directory moved aside): from
 * getrandom, or from the pid and the attempt when it fails. */
static unsigned name_tag(int tries)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)getpid() * 2654435761u + (unsigned)tries;
	return r;
}

static int create_temp(struct tg_sinks *k, char *name, size_t len)
{
	for (int tries = 0; tries < 16; tries++) {
		int fd;

		snprintf(name, len, ".%s.%08x", k->base, name_tag(tries));
		fd = openat(k->dirfd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/*
 * An entry at a rotated name that is not a regular file of tmpguard's own (a directory, a
 * FIFO, a link, another user's file) was put there by someone else, in a directory others may
 * write to: shifted along, it would stop every rotation (a directory) or join the rotated set
 * as if tmpguard had written it. A directory is moved aside under a hidden name, anything else
 * removed; either is said, with its owner. Returns 0 or an errno.
 */
static int clear_planted(struct tg_sinks *k, const char *name)
{
	const char *slash = strrchr(k->path, '/');
	int dlen = slash ? (int)(slash - k->path) + 1 : 0;
	struct stat st;
	char aside[PATH_MAX];

	if (fstatat(k->dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : errno;
	if (S_ISREG(st.st_mode) && st.st_uid == geteuid())
		return 0;
	fprintf(k->diag,
		"tmpguard: WARNING: %.*s%s is not one of tmpguard's files (mode %06o, uid %u): "
		"planted; %s\n",
		dlen, k->path, name, (unsigned)st.st_mode, (unsigned)st.st_uid,
		S_ISDIR(st.st_mode) ? "moved aside" : "removed");
	k->planted++;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(k->dirfd, name, 0) && errno != ENOENT ? errno : 0;
	for (int tries = 0; tries < 16; tries++) {
		snprintf(aside, sizeof(aside), ".%s.planted.%08x", name, name_tag(tries));
		if (renameat2(k->dirfd, name, k->dirfd, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return errno;
	}
	return EEXIST;
}

/*
 * A new file is made first, exclusively and under a hidden temporary name, and given the
 * session record; then FILE.(N-1) -> FILE.N, ..., FILE -> FILE.1, and the new file -> FILE.
 * renameat() replaces whatever is at a target, a planted symlink included, without following
 * it; FILE is never missing, and anything created at its name meanwhile is replaced. When the
 * new file cannot be made nothing is moved (repeated failures cannot eat the older files), and
 * the current file stays in use.
 */
static int rotate(struct tg_sinks *k)
{
	char from[PATH_MAX], to[PATH_MAX], tmp[PATH_MAX];
	int fd, e;

	fd = create_temp(k, tmp, sizeof(tmp));
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	for (size_t done = 0; k->header && done < k->header_len;) {
		ssize_t w = write(fd, k->header + done, k->header_len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			goto undo;
		}
		done += (size_t)w;
	}
	for (unsigned i = k->o.rotate_keep; i >= 1; i--) {
		if (tg_rotated_name(k->base, i - 1, from, sizeof(from)) ||
		    tg_rotated_name(k->base, i, to, sizeof(to))) {
			e = ENAMETOOLONG;
			goto undo;
		}
		if ((e = clear_planted(k, to)) || (i > 1 && (e = clear_planted(k, from))))
			goto undo;
		if (renameat(k->dirfd, from, k->dirfd, to) && errno != ENOENT) {
			e = errno;
			goto undo;
		}
	}
	if (renameat(k->dirfd, tmp, k->dirfd, k->base)) {
		e = errno;
		/* Put the current file back under its name; the older ones stay shifted. */
		renameat(k->dirfd, to, k->dirfd, k->base);
		goto undo;
	}
	close(k->fd);
	k->fd = fd;
	k->size = k->header ? k->header_len : 0;
	k->body = 0;
	k->rotations++;
	ok(k, &k->rfail, 0, "rotating", stream_name(k));
	return 0;
undo:
	unlinkat(k->dirfd, tmp, 0);
	close(fd);
fail:
	fail(k, &k->rfail, e, 0,
	     "tmpguard: WARNING: cannot rotate %s: %s; writing on in the current file, past "
	     "--rotate-size\n",
	     stream_name(k));
	return -1;
}

static void stream_line(struct tg_sinks *k, const char *line, size_t n, bool is_session)
{
	bool header_only = false;
	int e;

	if (is_session) {
		char *h = malloc(n);

		if (h) {
			memcpy(h, line, n);
			free(k->header);
			k->header = h;
			k->header_len = n;
		}
		header_only = k->size == 0; /* starts its file: a header, not a record */
	}
	if (k->o.rotate_bytes && k->body > 0 && k->size + n > k->o.rotate_bytes && rotate(k) == 0 &&
	    is_session) {
		if (k->size) /* the new file starts with this very record */
			k->written++;
		return;
	}
	e = write_whole(k, line, n);
	if (e) {
		stream_fail(k, -e, n);
		return;
	}
	k->written++;
	if (!header_only)
		k->body += n;
	ok(k, &k->wfail, n, "writing to", stream_name(k));
}

/* ---- syslog ---- */

static void syslog_record(struct tg_sinks *k, const struct tg_record *rec, json_object *shaped)
{
	int sev = tg_record_syslog_severity(rec);
	json_object *copy = NULL;
	size_t len = 0;
	const char *body;

	if (sev < 0)
		return;
	body = json_object_to_json_string_length(shaped, JSON_FLAGS, &len);
	/* A record longer than the receiver takes would be cut mid-JSON (rsyslog) or split:
	 * send a shortened copy that says what it lost instead. */
	if (k->o.syslog_max && len > k->o.syslog_max &&
	    json_object_deep_copy(shaped, &copy, NULL) == 0) {
		tg_json_fit(copy, k->o.syslog_max);
		body = json_object_to_json_string_ext(copy, JSON_FLAGS);
		k->syslog_cut++;
	}
	syslog(k->o.syslog_facility | sev, "%s", body);
	k->syslog_msgs++;
	json_object_put(copy);
}

/* ---- the sinks ---- */

struct tg_sinks *tg_sinks_open(const struct tg_sink_opts *o, char *err, size_t errlen)
{
	struct tg_sinks *k = calloc(1, sizeof(*k));
	struct stat st;
	bool created;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->o = *o;
	k->diag = o->diag ? o->diag : stderr;
	k->dirfd = -1;
	k->fd = !o->path && o->spool_fd > 0 ? o->spool_fd : STDOUT_FILENO;
	if (o->rotate_bytes && (!o->path || o->format == TG_FORMAT_TEXT)) {
		snprintf(err, errlen,
			 "--rotate-size needs --output FILE and --format json or falco");
		free(k);
		return NULL;
	}
	if (o->rotate_bytes && (o->rotate_keep < 1 || o->rotate_keep > TG_ROTATE_KEEP_MAX)) {
		snprintf(err, errlen, "--rotate-keep must be in [1, %d]", TG_ROTATE_KEEP_MAX);
		free(k);
		return NULL;
	}
	if (o->path) {
		char why[512];

		k->path = strdup(o->path);
		if (!k->path) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		k->dirfd = tg_open_dir_checked(k->path, &k->base, why, sizeof(why));
		if (k->dirfd < 0) {
			snprintf(err, errlen, "cannot open output %s: %s", o->path, why);
			goto fail;
		}
		k->fd = tg_open_append_at(k->dirfd, k->base, &created, why, sizeof(why));
		if (k->fd < 0) {
			snprintf(err, errlen, "cannot open output %s: %s", o->path, why);
			goto fail;
		}
		if (fstat(k->fd, &st) == 0 && S_ISREG(st.st_mode)) {
			k->is_reg = true;
			k->size = k->body = (uint64_t)st.st_size;
		}
		if (o->rotate_bytes && !k->is_reg) {
			snprintf(err, errlen, "cannot rotate %s: not a regular file", o->path);
			goto fail;
		}
	}
	if (fstat(k->fd, &st) == 0 && S_ISFIFO(st.st_mode))
		k->is_pipe = true;
	if (o->syslog) {
		if (stat("/dev/log", &st) || !S_ISSOCK(st.st_mode))
			fprintf(k->diag,
				"tmpguard: WARNING: --syslog: /dev/log is not a socket here (no "
				"syslog daemon or journald listening): syslog(3) will drop the "
				"messages without telling\n");
		openlog("tmpguard", LOG_PID | LOG_NDELAY, o->syslog_facility);
	}
	return k;
fail:
	if (k->fd >= 0 && k->fd != STDOUT_FILENO)
		close(k->fd);
	if (k->dirfd >= 0)
		close(k->dirfd);
	free(k->path);
	free(k);
	return NULL;
}

void tg_sinks_record(struct tg_sinks *k, const struct tg_record *rec)
{
	json_object *falco = NULL, *shaped;
	size_t len = 0;
	const char *s;
	char *line;

	if (!k || !rec)
		return;
	shaped = rec->json;
	if (k->o.format == TG_FORMAT_FALCO) {
		shaped = falco = tg_falco_record(rec);
		if (!falco) {
			fail(k, &k->cfail, EINVAL, 0,
			     "tmpguard: WARNING: a %s record has no Falco form (%s); such records "
			     "are dropped and counted\n",
			     tg_record_kind_name(rec->kind));
			return;
		}
	}
	if (!shaped)
		return;
	if (k->o.format != TG_FORMAT_TEXT) {
		s = json_object_to_json_string_length(shaped, JSON_FLAGS, &len);
		line = malloc(len + 1);
		if (line) {
			memcpy(line, s, len);
			line[len] = '\n';
			stream_line(k, line, len + 1, rec->kind == TG_RECORD_SESSION);
			free(line);
		} else {
			fail(k, &k->wfail, ENOMEM, 0, WRITE_FAIL, stream_name(k));
		}
	}
	if (k->o.syslog)
		syslog_record(k, rec, shaped);
	json_object_put(falco);
}

bool tg_sinks_want_json(const struct tg_sinks *k)
{
	return k &&
	       (k->o.format == TG_FORMAT_JSON || (k->o.format == TG_FORMAT_TEXT && k->o.syslog));
}

void tg_sinks_text(struct tg_sinks *k, const struct tg_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int e = ENOMEM;

	if (!k || k->o.format != TG_FORMAT_TEXT)
		return;
	m = open_memstream(&buf, &len);
	if (m) {
		tg_output_text(m, r);
		fclose(m);
		e = buf ? -write_whole(k, buf, len) : ENOMEM;
	}
	free(buf);
	if (e) {
		stream_fail(k, e, len);
		return;
	}
	k->written++;
	ok(k, &k->wfail, len, "writing to", stream_name(k));
}

void tg_sinks_stats(const struct tg_sinks *k, struct tg_sink_stats *out)
{
	*out = (struct tg_sink_stats){
		.records_written = k->written,
		.records_failed = k->wfail.count + k->cfail.count,
		.rotations = k->rotations,
		.rotations_failed = k->rfail.count,
		.rotation_planted = k->planted,
		.syslog_messages = k->syslog_msgs,
		.syslog_truncated = k->syslog_cut,
	};
}

void tg_sinks_close(struct tg_sinks *k)
{
	if (!k)
		return;
	if (k->wfail.count || k->cfail.count)
		fprintf(k->diag,
			"tmpguard: WARNING: %llu records could not be written to %s (last error: "
			"%s)\n",
			(unsigned long long)(k->wfail.count + k->cfail.count), stream_name(k),
			strerror(k->wfail.count ? k->wfail.last_err : k->cfail.last_err));
	if (k->rfail.count)
		fprintf(k->diag,
			"tmpguard: WARNING: %llu rotations of %s failed (last error: %s)\n",
			(unsigned long long)k->rfail.count, stream_name(k),
			strerror(k->rfail.last_err));
	if (k->o.syslog)
		closelog();
	if (k->fd >= 0 && k->fd != STDOUT_FILENO)
		close(k->fd);
	if (k->dirfd >= 0)
		close(k->dirfd);
	free(k->header);
	free(k->path);
	free(k);
}
