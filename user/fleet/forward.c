// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The forwarder (forward.h): a thread that reads the store's rows above each stream's mark and
 * copies them to its target, retrying with backoff while it cannot: PostgreSQL, a batch per
 * transaction, or an HTTP receiver (http_post.h), a post per row. Both kinds share everything
 * but the sending (the spool's reading, the marks, the backoff and its log, the stop's flush),
 * so they live here together: a target is one or the other (f->kind), and the few places that
 * differ (connect, send a batch, disconnect, cancel) say so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include "forward.h"
#include "http_post.h"
#include "pg_schema.h"
#include "record.h"
#include "util/timefmt.h"

/* ---- the target and its password ---- */

/* Appends s to out (of len bytes) with '/' and '%' percent-encoded, as in a URI's host. */
static void put_host(char *out, size_t len, const char *s)
{
	size_t n = strlen(out);

	for (; *s && n + 4 < len; s++) {
		if (*s == '/' || *s == '%')
			n += snprintf(out + n, len - n, "%%%02X", (unsigned char)*s);
		else
			out[n++] = *s;
	}
	out[n] = 0;
}

/* Whether url may hold a password: a "password" key, or a ':' in a URI's user part. libpq's
 * parse errors quote the URL, so such a URL's are not shown. */
static bool may_hold_password(const char *url)
{
	const char *s = strstr(url, "://"), *at = NULL;
	size_t n;

	if (strcasestr(url, "password"))
		return true;
	if (!s)
		return false;
	s += 3;
	n = strcspn(s, "/?");
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	return at && memchr(s, ':', at - s);
}

int tg_forward_target(const char *url, char *target, size_t len, char *err, size_t errlen)
{
	return tg_pg_url_target(url, false, target, len, err, errlen);
}

int tg_pg_url_target(const char *url, bool reader, char *target, size_t len, char *err,
		     size_t errlen)
{
	const char *opt = reader ? "--db" : "--forward";
	const char *pw_opt = reader ? "--password-file" : "--forward-password-file";
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	bool password = false;

	if (!opts && may_hold_password(url)) {
		snprintf(err, errlen,
			 "invalid %s URL, and it seems to hold a password (libpq's reason is not "
			 "shown: it quotes the URL): take the password out, put it in a file only "
			 "root can read and give %s FILE, or set PGPASSWORD or PGPASSFILE",
			 opt, pw_opt);
		PQfreemem(perr);
		return -1;
	}
	if (!opts) {
		char *nl = perr ? strchr(perr, '\n') : NULL;

		if (nl)
			*nl = 0;
		snprintf(err, errlen,
			 "invalid %s URL: %s (expected "
			 "postgresql://USER@HOST[:PORT]/DATABASE, "
			 "with options such as ?sslmode=verify-full&sslrootcert=FILE after it)",
			 opt, perr ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "password"))
			password = true;
		else if (!strcmp(o->keyword, "user"))
			user = o->val;
		else if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "hostaddr") && !host)
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
	}
	if (password) {
		snprintf(err, errlen,
			 "refusing a %s URL with a password in it: every user of this host "
			 "can read a command line (ps, /proc/PID/cmdline); put the password in a "
			 "file only root can read and give %s FILE, or set "
			 "PGPASSWORD or PGPASSFILE",
			 opt, pw_opt);
		PQconninfoFree(opts);
		return -1;
	}
	snprintf(target, len, "postgresql://%s%s", user ? user : "", user ? "@" : "");
	put_host(target, len, host ? host : "");
	if (port)
		snprintf(target + strlen(target), len - strlen(target), ":%s", port);
	snprintf(target + strlen(target), len - strlen(target), "/%s", db ? db : "");
	PQconninfoFree(opts);
	return 0;
}

char *tg_forward_read_secret(const char *path, const char *what, char *err, size_t errlen)
{
	char buf[4096], *pw = NULL;
	struct stat sb;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen,
			 errno == ELOOP ? "refusing %s %s: it is a symbolic link"
					: "cannot open %s %s: %s",
			 what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb)) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "refusing %s %s: not a regular file", what, path);
	} else if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "refusing %s %s: it is owned by uid %u, not root (chown "
			 "root it)",
			 what, path, sb.st_uid);
	} else if (sb.st_mode & 077) {
		snprintf(err, errlen,
			 "refusing %s %s: group or others may read or write it "
			 "(chmod 600 %s)",
			 what, path, path);
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
	} else {
		buf[n] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		if (!buf[0])
			snprintf(err, errlen,
				 "%s %s is empty (its first line is "
				 "the secret)",
				 what, path);
		else if (!(pw = strdup(buf)))
			snprintf(err, errlen, "out of memory");
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return pw;
}

char *tg_forward_read_password(const char *path, char *err, size_t errlen)
{
	return tg_forward_read_secret(path, "the password file", err, errlen);
}

void tg_forward_password_free(char *pw)
{
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

/* ---- COPY's binary format ---- */

/* What a batch's COPY hands libpq at a time: its output buffer's size, 16 KB, less a message's
 * header, so that it never grows. */
#define TG_FORWARD_COPY_PIECE (16384 - 5)
/* timestamptz 0: 2000-01-01 00:00:00+00, in microseconds since the epoch */
#define TG_PG_EPOCH_US 946684800000000LL

static int grow(char **buf, size_t *len, size_t *cap, size_t more)
{
	char *b;
	size_t c;

	if (*len + more + 1 <= *cap)
		return 0;
	c = *cap ? *cap : 65536;
	while (c < *len + more + 1)
		c *= 2;
	b = realloc(*buf, c);
	if (!b)
		return -1;
	*buf = b;
	*cap = c;
	return 0;
}

static int put(char **buf, size_t *len, size_t *cap, const void *s, size_t n)
{
	if (grow(buf, len, cap, n))
		return -1;
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

static int put_be(char **buf, size_t *len, size_t *cap, uint64_t v, int width)
{
	unsigned char b[8];

	for (int i = 0; i < width; i++)
		b[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
	return put(buf, len, cap, b, (size_t)width);
}

int tg_forward_copy_header(char **buf, size_t *len, size_t *cap)
{
	/* the signature, then flags (none: no OIDs) and the header extension's length (0) */
	static const char sig[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

	return put(buf, len, cap, sig, sizeof(sig) - 1);
}

int tg_forward_copy_row(char **buf, size_t *len, size_t *cap, int fields)
{
	return put_be(buf, len, cap, (uint16_t)fields, 2);
}

int tg_forward_copy_trailer(char **buf, size_t *len, size_t *cap)
{
	return put_be(buf, len, cap, 0xffff, 2);
}

int tg_forward_copy_null(char **buf, size_t *len, size_t *cap)
{
	return put_be(buf, len, cap, 0xffffffffu, 4);
}

int tg_forward_copy_bytes(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (n > INT32_MAX)
		return -1;
	return put_be(buf, len, cap, n, 4) || put(buf, len, cap, s, n) ? -1 : 0;
}

int tg_forward_copy_int(char **buf, size_t *len, size_t *cap, int64_t v, int width)
{
	if ((width == 2 && (v < INT16_MIN || v > INT16_MAX)) ||
	    (width == 4 && (v < INT32_MIN || v > INT32_MAX)))
		return 1;
	return put_be(buf, len, cap, (uint64_t)width, 4) ||
			       put_be(buf, len, cap, (uint64_t)v, width)
		       ? -1
		       : 0;
}

int tg_forward_copy_time(char **buf, size_t *len, size_t *cap, int64_t time_ns)
{
	/* microseconds truncated toward zero, as tmpguard.ns_time()'s bigint division */
	return tg_forward_copy_int(buf, len, cap, time_ns / 1000 - TG_PG_EPOCH_US, 8);
}

/* ---- the streams ---- */

/*
 * One stream: the store's rows above the mark (?1), a batch (?2) at a time, the mark's column
 * first; the type each column is sent as; the temporary table their COPY fills, with exactly
 * those columns; the insert from it. host_id is the session's (its hostname for a session
 * written without one).
 */
struct stream {
	enum tg_fwd_stream id;
	const char *select;
	/* COPY's binary format carries each value as its column's type: a character per column
	 * of select, 't' text (or json), '2', '4', '8' a smallint, integer, bigint */
	const char *types;
	const char *stage;
	const char *insert;
	int time_col; /* the column whose day picks the partition; -1: not partitioned */
	bool upsert;  /* a row is sent again when it changes: none of it is a duplicate */
	/* NULL, or the COPY straight into the target table: each row's time (time_col as a
	 * timestamptz) follows the select's columns. A batch that meets a row already there
	 * (23505: sent again after a commit whose answer was lost) goes the staged way. */
	const char *direct;
};

static const struct stream streams[] = {
	{
		TG_FWD_SESSIONS,
		"SELECT rev, COALESCE(host_id, host), key, host, started_ns, ended_ns, "
		"last_commit_ns, clean, json, summary FROM sessions WHERE rev > ?1 ORDER BY rev "
		"LIMIT ?2",
		"8t8t8884tt",
		"tg_stage_sessions",
		"INSERT INTO tmpguard.sessions AS t (host_id, session_key, host, started, "
		"started_ns, ended_ns, last_commit, last_commit_ns, clean, rev, body, summary) "
		"SELECT host_id, session_key, host, tmpguard.ns_time(started_ns), started_ns, "
		"ended_ns, tmpguard.ns_time(last_commit_ns), last_commit_ns, clean <> 0, rev, "
		"body::json, summary::json FROM tg_stage_sessions ON CONFLICT (host_id, "
		"session_key) DO UPDATE SET host = EXCLUDED.host, ended_ns = EXCLUDED.ended_ns, "
		"last_commit = EXCLUDED.last_commit, last_commit_ns = EXCLUDED.last_commit_ns, "
		"clean = EXCLUDED.clean, rev = EXCLUDED.rev, summary = EXCLUDED.summary, received "
		"= now() WHERE t.rev < EXCLUDED.rev",
		-1,
		true,
		NULL,
	},
	{
		TG_FWD_FINDINGS,
		"SELECT f.id, COALESCE(s.host_id, s.host), s.key, f.time_ns, f.host, f.rule, "
		"f.severity, f.severity_level, f.action, f.pid, f.ppid, f.uid, f.exe, f.comm, "
		"f.path, f.container_id, f.json FROM findings f JOIN sessions s ON s.id = "
		"f.session WHERE f.id > ?1 ORDER BY f.id LIMIT ?2",
		"8t88ttt2t448ttttt",
		"tg_stage_findings",
		"INSERT INTO tmpguard.findings (host_id, session_key, seq, time, time_ns, host, "
		"rule, severity, severity_level, action, pid, ppid, uid, exe, comm, path, "
		"container_id, body) SELECT host_id, session_key, seq, time, time_ns, host, rule, "
		"severity, severity_level, action, pid, ppid, uid, exe, comm, "
		"path, container_id, body::json FROM tg_stage_findings ON CONFLICT DO NOTHING",
		3,
		false,
		"COPY tmpguard.findings (seq, host_id, session_key, time_ns, host, rule, severity, "
		"severity_level, action, pid, ppid, uid, exe, comm, path, container_id, body, "
		"time) FROM STDIN (FORMAT binary)",
	},
	{
		TG_FWD_LOSSES,
		"SELECT l.id, COALESCE(s.host_id, s.host), s.key, l.from_ns, l.to_ns, l.lost, "
		"l.json FROM losses l JOIN sessions s ON s.id = l.session WHERE l.id > ?1 ORDER "
		"BY l.id LIMIT ?2",
		"8t8888t",
		"tg_stage_losses",
		"INSERT INTO tmpguard.losses (host_id, session_key, seq, time, from_ns, to_ns, "
		"lost, body) SELECT host_id, session_key, seq, tmpguard.ns_time(to_ns), from_ns, "
		"to_ns, lost, body::json FROM tg_stage_losses ON CONFLICT DO NOTHING",
		-1,
		false,
		NULL,
	},
	{
		TG_FWD_HEALTH,
		"SELECT h.id, COALESCE(s.host_id, s.host), s.key, h.time_ns, h.status, h.json "
		"FROM health h JOIN sessions s ON s.id = h.session WHERE h.id > ?1 ORDER BY h.id "
		"LIMIT ?2",
		"8t88tt",
		"tg_stage_health",
		"INSERT INTO tmpguard.health (host_id, session_key, seq, time, time_ns, status, "
		"body) SELECT host_id, session_key, seq, tmpguard.ns_time(time_ns), time_ns, "
		"status, body::json FROM tg_stage_health ON CONFLICT DO NOTHING",
		-1,
		false,
		NULL,
	},
	{
		TG_FWD_GAPS,
		"SELECT id, COALESCE(host_id, ''), stream, session_key, first_id, last_id, "
		"evicted, from_ns, to_ns, time_ns FROM forward_gaps WHERE target = ?3 AND id > ?1 "
		"ORDER BY id LIMIT ?2",
		"8tt8888888",
		"tg_stage_gaps",
		"INSERT INTO tmpguard.forward_gaps (host_id, stream, session_key, first_seq, "
		"last_seq, evicted, from_time, to_time, time) SELECT host_id, stream, session_key, "
		"first_seq, last_seq, evicted, tmpguard.ns_time(from_ns), tmpguard.ns_time(to_ns), "
		"tmpguard.ns_time(time_ns) FROM tg_stage_gaps ON CONFLICT DO NOTHING",
		-1,
		false,
		NULL,
	},
};
_Static_assert(sizeof(streams) / sizeof(streams[0]) == TG_FWD_NSTREAMS, "a row per stream");

/* Each stream's temporary table, made on a connection when a batch first needs it (findings
 * only for a batch sent again, sessions at the first session row): a fleet's thousand hosts
 * reconnecting after a server restart do not each make five tables in the catalog. Emptied
 * by each commit. */
static const char *const stage_ddl[TG_FWD_NSTREAMS] = {
	[TG_FWD_SESSIONS] = "CREATE TEMP TABLE tg_stage_sessions (rev bigint, host_id text, "
			    "session_key bigint, host text, started_ns bigint, ended_ns bigint, "
			    "last_commit_ns bigint, clean integer, body text, summary text) ON "
			    "COMMIT DELETE ROWS",
	/* A finding's body passes through here once: not worth compressing (the benchmark
	 * found the server compressing each body twice, here and in findings). */
	[TG_FWD_FINDINGS] = "CREATE TEMP TABLE tg_stage_findings (seq bigint, host_id text, "
			    "session_key bigint, time_ns bigint, host text, rule text, severity "
			    "text, severity_level smallint, action text, pid integer, ppid "
			    "integer, uid bigint, exe text, comm text, path text, container_id "
			    "text, body text, time timestamptz) ON COMMIT DELETE ROWS;"
			    "ALTER TABLE tg_stage_findings ALTER COLUMN body SET STORAGE EXTERNAL",
	[TG_FWD_LOSSES] = "CREATE TEMP TABLE tg_stage_losses (seq bigint, host_id text, "
			  "session_key bigint, from_ns bigint, to_ns bigint, lost bigint, body "
			  "text) ON COMMIT DELETE ROWS",
	[TG_FWD_HEALTH] = "CREATE TEMP TABLE tg_stage_health (seq bigint, host_id text, "
			  "session_key bigint, time_ns bigint, status text, body text) ON COMMIT "
			  "DELETE ROWS",
	[TG_FWD_GAPS] = "CREATE TEMP TABLE tg_stage_gaps (seq bigint, host_id text, stream "
			"text, session_key bigint, first_seq bigint, last_seq bigint, evicted "
			"bigint, from_ns bigint, to_ns bigint, time_ns bigint) ON COMMIT DELETE "
			"ROWS",
};

/* What the backlog counts, per stream (?1: the mark, ?2: the target), with the event time of
 * the oldest row waiting. */
static const char *const backlog_sql[TG_FWD_NSTREAMS] = {
	[TG_FWD_FINDINGS] = "SELECT count(*), (SELECT time_ns FROM findings WHERE id > ?1 ORDER "
			    "BY id LIMIT 1) FROM findings WHERE id > ?1",
	[TG_FWD_LOSSES] = "SELECT count(*), (SELECT to_ns FROM losses WHERE id > ?1 ORDER BY id "
			  "LIMIT 1) FROM losses WHERE id > ?1",
	[TG_FWD_HEALTH] = "SELECT count(*), (SELECT time_ns FROM health WHERE id > ?1 ORDER BY "
			  "id LIMIT 1) FROM health WHERE id > ?1",
	[TG_FWD_GAPS] = "SELECT count(*), (SELECT time_ns FROM forward_gaps WHERE target = ?2 AND "
			"id > ?1 ORDER BY id LIMIT 1) FROM forward_gaps WHERE target = ?2 AND id "
			"> ?1",
};

/*
 * What an HTTP target reads: each row's id, its session's host id and key, and its Falco form;
 * NULL: the stream is not posted (sessions change and are sent again, which posts cannot
 * express). A forward gap of this target has no stored Falco form: its event is made from the
 * row (gap_event(), columns 4 on); its session may have gone by age, so its hostname may be
 * the host id.
 */
static const char *const http_select[TG_FWD_NSTREAMS] = {
	[TG_FWD_FINDINGS] = "SELECT f.id, COALESCE(s.host_id, s.host), s.key, f.falco FROM "
			    "findings f JOIN sessions s ON s.id = f.session WHERE f.id > ?1 "
			    "ORDER BY f.id LIMIT ?2",
	[TG_FWD_LOSSES] = "SELECT l.id, COALESCE(s.host_id, s.host), s.key, l.falco FROM losses "
			  "l JOIN sessions s ON s.id = l.session WHERE l.id > ?1 ORDER BY l.id "
			  "LIMIT ?2",
	[TG_FWD_HEALTH] = "SELECT h.id, COALESCE(s.host_id, s.host), s.key, h.falco FROM health "
			  "h JOIN sessions s ON s.id = h.session WHERE h.id > ?1 ORDER BY h.id "
			  "LIMIT ?2",
	[TG_FWD_GAPS] = "SELECT g.id, COALESCE(g.host_id, s.host_id, s.host, ''), g.session_key, "
			"NULL, COALESCE(s.host, g.host_id, ''), g.stream, g.evicted, g.first_id, "
			"g.last_id, g.from_ns, g.to_ns, g.time_ns FROM forward_gaps g LEFT JOIN "
			"sessions s ON s.key = g.session_key WHERE g.target = ?3 AND g.id > ?1 "
			"ORDER BY g.id LIMIT ?2",
};

/* ---- the forwarder ---- */

struct tg_forward {
	enum tg_forward_kind kind;
	char *url, *target, *password, *version, *db_path, *ca_file;
	unsigned batch;
	int64_t backoff_min, backoff_max;
	FILE *log;
	bool url_sets_timeout; /* the URL has its own connect_timeout */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC: stop asked, thread done */
	/* under mu */
	bool stop, done;
	int64_t deadline; /* CLOCK_MONOTONIC */
	struct tg_forward_stats stats;
	PGcancel *cancel;
	struct tg_http *http; /* set and freed by the thread, aborted by the stop */

	/* the thread's own */
	sqlite3 *db;
	sqlite3_stmt *sel[TG_FWD_NSTREAMS], *count[TG_FWD_NSTREAMS];
	PGconn *pg;
	bool connected; /* pg connected, or http made */
	int64_t hwm[TG_FWD_NSTREAMS];
	bool stop_tried;      /* one connection attempt at stop, whatever the backoff */
	bool outage;	      /* failing since outage_start */
	int64_t outage_start; /* CLOCK_MONOTONIC */
	unsigned attempts;
	char outage_class[1024]; /* what the last logged failure was about */
	uint64_t waited;	 /* backlog when the server came back */
	int64_t backoff, next_try;
	int64_t counted_at;	       /* CLOCK_MONOTONIC of the last backlog count */
	int64_t *ensured, *batch_days; /* partitions made on this connection; a batch's days */
	size_t n_ensured, cap_ensured, n_batch_days, cap_batch_days;
	char *buf;
	size_t len, cap;
	unsigned forget_every, forget_n; /* TMPGUARD_TEST_FORWARD_FORGET */
	bool staged_only;		 /* TMPGUARD_TEST_FORWARD_STAGED */
	bool unsendable; /* the batch's refusal is the forwarder's own (read_batch()) */
	bool stage_made[TG_FWD_NSTREAMS]; /* its temporary table, on this connection */
	int64_t day_checked;		  /* today's and tomorrow's partitions exist */
	bool skip_said;			  /* rows without a Falco form: said once */
	unsigned cur[TG_FWD_NSTREAMS];	  /* PostgreSQL: its batch now (halved on a refusal) */
	char state[6];			  /* the SQLSTATE of the batch's failure, "" if none */
	char reason[256];		  /* and the server's message */
};

static void logf_(struct tg_forward *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line, written at once: the session's thread writes to the same stream. */
static void logf_(struct tg_forward *f, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!f->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(f->log, "tmpguard: %s to %s: %s\n",
		f->kind == TG_FORWARD_HTTP ? "http output" : "forward", f->target, line);
	fflush(f->log);
}

/* Rows of the store the target lacks, and the event time of the oldest. */
static void count_backlog(struct tg_forward *f)
{
	uint64_t total = 0;
	int64_t oldest = INT64_MAX, lag = 0;

	for (int i = 0; i < TG_FWD_NSTREAMS; i++) {
		sqlite3_stmt *s = f->count[i];

		if (!s)
			continue;
		sqlite3_bind_int64(s, 1, f->hwm[i]);
		if (sqlite3_bind_parameter_count(s) >= 2)
			sqlite3_bind_text(s, 2, f->target, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			total += sqlite3_column_int64(s, 0);
			if (sqlite3_column_type(s, 1) != SQLITE_NULL &&
			    sqlite3_column_int64(s, 1) < oldest)
				oldest = sqlite3_column_int64(s, 1);
		}
		sqlite3_reset(s);
	}
	if (total && oldest != INT64_MAX) {
		lag = tg_clock_ns(CLOCK_REALTIME) - oldest;
		if (lag < 0)
			lag = 0;
	}
	f->counted_at = tg_clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&f->mu);
	f->stats.backlog = total;
	f->stats.lag_ns = lag;
	pthread_mutex_unlock(&f->mu);
}

static bool stopping(struct tg_forward *f, int64_t *deadline)
{
	bool s;

	pthread_mutex_lock(&f->mu);
	s = f->stop;
	if (deadline)
		*deadline = f->deadline;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/* Past the stop's deadline: leave what is left for the next start. */
static bool out_of_time(struct tg_forward *f)
{
	int64_t deadline;

	return stopping(f, &deadline) && tg_clock_ns(CLOCK_MONOTONIC) >= deadline;
}

static void disconnect(struct tg_forward *f)
{
	f->connected = false;
	if (f->http) {
		pthread_mutex_lock(&f->mu);
		tg_http_free(f->http);
		f->http = NULL;
		pthread_mutex_unlock(&f->mu);
	}
	if (!f->pg)
		return;
	pthread_mutex_lock(&f->mu);
	PQfreeCancel(f->cancel);
	f->cancel = NULL;
	pthread_mutex_unlock(&f->mu);
	PQfinish(f->pg);
	f->pg = NULL;
	f->n_ensured = 0;
	memset(f->stage_made, 0, sizeof(f->stage_made));
}

/* Failures of the server being away, as opposed to refusing us for a reason to fix: within
 * one outage, only a change of reason is said again. */
static bool unreachable(const char *e)
{
	static const char *const away[] = {
		"Connection refused",
		"No such file or directory",
		"server closed the connection",
		"terminating connection",
		"starting up",
		"shutting down",
		"timeout expired",
		"could not send data",
		"could not receive data",
		"no connection to the server",
		"Connection reset",
		"57P0",
		/* an HTTP receiver away or busy (http_post.h) */
		"Couldn't connect",
		"Could not connect",
		"Failed to connect",
		"Timeout was reached",
		"timed out",
		"Empty reply",
		"Recv failure",
		"Send failure",
		"answered HTTP 5",
		"answered HTTP 408",
		"answered HTTP 429",
	};

	for (size_t i = 0; i < sizeof(away) / sizeof(away[0]); i++)
		if (strstr(e, away[i]))
			return true;
	return false;
}

bool tg_forward_data_refusal(const char *sqlstate)
{
	return sqlstate && strlen(sqlstate) == 5 &&
	       (!strncmp(sqlstate, "22", 2) || !strncmp(sqlstate, "23", 2));
}

/* The SQLSTATE in "... [XXXXX]" at err's end or before its " (hint)"; NULL without one. */
static const char *sqlstate_of(const char *err, char state[6])
{
	for (const char *p = strchr(err, '['); p; p = strchr(p + 1, '[')) {
		size_t n = strspn(p + 1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");

		if (n == 5 && p[6] == ']' && (!p[7] || !strncmp(p + 7, " (", 2))) {
			memcpy(state, p + 1, 5);
			state[5] = 0;
			return state;
		}
	}
	return NULL;
}

void tg_forward_failure_class(const char *err, char *out, size_t len)
{
	char state[6];

	if (sqlstate_of(err, state))
		snprintf(out, len, "[%s]", state);
	else
		snprintf(out, len, "%.*s", (int)strcspn(err, "\""), err);
}

unsigned tg_forward_halve(unsigned cur)
{
	return cur <= 1 ? 0 : cur / 2;
}

static void failed(struct tg_forward *f, const char *err)
{
	char cls[sizeof(f->outage_class)] = "unreachable";
	int64_t now = tg_clock_ns(CLOCK_MONOTONIC);

	if (!unreachable(err))
		tg_forward_failure_class(err, cls, sizeof(cls));
	disconnect(f);
	pthread_mutex_lock(&f->mu);
	f->stats.errors++;
	f->stats.up = false;
	if (!f->outage)
		f->stats.outages++;
	pthread_mutex_unlock(&f->mu);
	if (!f->outage) {
		f->outage = true;
		f->outage_start = now;
		f->attempts = 0;
		logf_(f,
		      "%s; rows wait in the local store and are sent once it works (retried "
		      "after %lld s, doubling up to %lld s)",
		      err, (long long)(f->backoff_min / 1000000000),
		      (long long)(f->backoff_max / 1000000000));
	} else if (strcmp(cls, f->outage_class)) {
		logf_(f, "still failing, now: %s", err);
	}
	snprintf(f->outage_class, sizeof(f->outage_class), "%s", cls);
	f->attempts++;
	f->next_try = now + f->backoff;
	f->backoff = f->backoff * 2 > f->backoff_max ? f->backoff_max : f->backoff * 2;
}

static int exec_ok(struct tg_forward *f, const char *sql, const char *what, char *err,
		   size_t errlen)
{
	PGresult *r = PQexec(f->pg, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		tg_pg_error(f->pg, r, what, err, errlen);
	PQclear(r);
	return ok ? 0 : -1;
}

/* The partition of day, made once per connection. */
static int ensure_day(struct tg_forward *f, int64_t day, char *err, size_t errlen)
{
	for (size_t i = 0; i < f->n_ensured; i++)
		if (f->ensured[i] == day)
			return 0;
	if (tg_pg_ensure_partition(f->pg, day, err, errlen))
		return -1;
	if (f->n_ensured == f->cap_ensured) {
		size_t c = f->cap_ensured ? 2 * f->cap_ensured : 16;
		int64_t *d = realloc(f->ensured, c * sizeof(*d));

		if (!d)
			return 0; /* made; only not remembered */
		f->ensured = d;
		f->cap_ensured = c;
	}
	f->ensured[f->n_ensured++] = day;
	return 0;
}

/* Today's and tomorrow's partitions, made ahead so that the first rows of a day do not wait
 * for one. */
static int ensure_ahead(struct tg_forward *f, char *err, size_t errlen)
{
	int64_t today = tg_pg_day(tg_clock_ns(CLOCK_REALTIME));

	if (today == f->day_checked && f->n_ensured)
		return 0;
	if (ensure_day(f, today, err, errlen) || ensure_day(f, today + 1, err, errlen))
		return -1;
	f->day_checked = today;
	return 0;
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int connect_pg(struct tg_forward *f, bool quick, char *err, size_t errlen)
{
	const char *kw[8], *val[8];
	const char *enc;
	int n = 0;

	kw[n] = "dbname"; /* expanded: the URL, then what follows overrides it */
	val[n++] = f->url;
	if (f->password) {
		kw[n] = "password";
		val[n++] = f->password;
	}
	kw[n] = "fallback_application_name";
	val[n++] = "tmpguard";
	kw[n] = "client_encoding";
	val[n++] = "UTF8";
	if (!f->url_sets_timeout) {
		kw[n] = "connect_timeout";
		val[n++] = quick ? "2" : "10";
	}
	kw[n] = NULL;
	val[n] = NULL;
	f->pg = PQconnectdbParams(kw, val, 1);
	if (!f->pg || PQstatus(f->pg) != CONNECTION_OK) {
		tg_pg_error(f->pg, NULL, "cannot connect", err, errlen);
		return -1;
	}
	/* The server's notices ("schema tmpguard already exists, skipping") are not ours to
	 * print: libpq would write them to stderr. */
	PQsetNoticeProcessor(f->pg, ignore_notice, NULL);
	enc = PQparameterStatus(f->pg, "server_encoding");
	if (enc && strcmp(enc, "UTF8")) {
		snprintf(err, errlen,
			 "the database's encoding is %s: tmpguard's records are UTF-8 (create the "
			 "database with ENCODING 'UTF8')",
			 enc);
		return -1;
	}
	if (tg_pg_migrate(f->pg, f->version, err, errlen) ||
	    exec_ok(f, "SET statement_timeout = '60s'", "cannot set the statement timeout", err,
		    errlen) ||
	    ensure_ahead(f, err, errlen))
		return -1;
	pthread_mutex_lock(&f->mu);
	f->cancel = PQgetCancel(f->pg);
	pthread_mutex_unlock(&f->mu);
	f->connected = true;
	return 0;
}

/* HTTP: a handle, which connects at its first post and keeps the connection. */
static int connect_http(struct tg_forward *f, char *err, size_t errlen)
{
	struct tg_http *h = tg_http_new(f->url, f->password, f->ca_file, err, errlen);

	if (!h)
		return -1;
	pthread_mutex_lock(&f->mu);
	f->http = h;
	pthread_mutex_unlock(&f->mu);
	f->connected = true;
	return 0;
}

static int connect_target(struct tg_forward *f, bool quick, char *err, size_t errlen)
{
	return f->kind == TG_FORWARD_HTTP ? connect_http(f, err, errlen)
					  : connect_pg(f, quick, err, errlen);
}

/* The days of the batch's rows, each once (a batch of a sane host holds one or two). */
static void batch_day(struct tg_forward *f, int64_t day)
{
	for (size_t i = 0; i < f->n_batch_days; i++)
		if (f->batch_days[i] == day)
			return;
	if (f->n_batch_days == f->cap_batch_days) {
		size_t c = f->cap_batch_days ? 2 * f->cap_batch_days : 8;
		int64_t *d = realloc(f->batch_days, c * sizeof(*d));

		if (!d)
			return;
		f->batch_days = d;
		f->cap_batch_days = c;
	}
	f->batch_days[f->n_batch_days++] = day;
}

/* A row's value that COPY's binary format cannot carry as its column's type: refused as the
 * server would refuse its text (SQLSTATE state), so that send_pg() narrows the batch down to
 * the row and records it in forward_refused. */
static int unsendable(struct tg_forward *f, const struct stream *d, sqlite3_stmt *s, int c,
		      char *err, size_t errlen)
{
	static const char *const type[] = {['2'] = "smallint", ['4'] = "integer", ['8'] = "bigint"};
	/* the type first: sqlite3_column_text() may convert the value */
	bool integer = sqlite3_column_type(s, c) == SQLITE_INTEGER;
	const char *v = (const char *)sqlite3_column_text(s, c);

	/* what the server says of the same value as text: out of range, or not a number */
	snprintf(f->state, sizeof(f->state), "%s", integer ? "22003" : "22P02");
	if (integer)
		snprintf(f->reason, sizeof(f->reason), "%s %s is out of range for its %s column",
			 sqlite3_column_name(s, c), v ? v : "", type[(int)d->types[c]]);
	else
		snprintf(f->reason, sizeof(f->reason),
			 "%s \"%.64s\" is not an integer, for its %s column",
			 sqlite3_column_name(s, c), v ? v : "", type[(int)d->types[c]]);
	f->unsendable = true;
	snprintf(err, errlen, "cannot send a row of %s: %s [%s]", tg_fwd_stream_name(d->id),
		 f->reason, f->state);
	sqlite3_reset(s);
	return -2;
}

/*
 * A batch of d's rows above the mark into f->buf, as COPY's binary format. Its size, and the
 * last mark in *last; -1 when the store cannot be read (err), -2 when a row holds a value its
 * column's type cannot (f->state, f->reason, err; *last is that row's mark).
 */
static int read_batch(struct tg_forward *f, const struct stream *d, int64_t *last, char *err,
		      size_t errlen)
{
	sqlite3_stmt *s = f->sel[d->id];
	int nc = (int)strlen(d->types), rows = 0, rc;

	f->len = 0;
	f->n_batch_days = 0;
	if (sqlite3_column_count(s) != nc) {
		snprintf(err, errlen, "the %s stream selects %d columns and types %d",
			 tg_fwd_stream_name(d->id), sqlite3_column_count(s), nc);
		return -1;
	}
	sqlite3_bind_int64(s, 1, f->hwm[d->id]);
	sqlite3_bind_int(s, 2, (int)f->cur[d->id]);
	if (sqlite3_bind_parameter_count(s) >= 3)
		sqlite3_bind_text(s, 3, f->target, -1, SQLITE_STATIC);
	if (tg_forward_copy_header(&f->buf, &f->len, &f->cap))
		goto nomem;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int e = tg_forward_copy_row(&f->buf, &f->len, &f->cap, nc + (d->direct != NULL));

		*last = sqlite3_column_int64(s, 0);

		for (int c = 0; c < nc && !e; c++) {
			int type = sqlite3_column_type(s, c);

			if (type == SQLITE_NULL) {
				e = tg_forward_copy_null(&f->buf, &f->len, &f->cap);
			} else if (d->types[c] == 't') {
				const char *v = (const char *)sqlite3_column_text(s, c);

				e = !v ||
				    tg_forward_copy_bytes(&f->buf, &f->len, &f->cap, v, strlen(v));
			} else {
				if (type != SQLITE_INTEGER)
					return unsendable(f, d, s, c, err, errlen);
				e = tg_forward_copy_int(&f->buf, &f->len, &f->cap,
							sqlite3_column_int64(s, c),
							d->types[c] - '0');
				if (e > 0)
					return unsendable(f, d, s, c, err, errlen);
			}
		}
		/* the direct COPY's last column: the row's time as a timestamptz */
		if (e ||
		    (d->direct && tg_forward_copy_time(&f->buf, &f->len, &f->cap,
						       sqlite3_column_int64(s, d->time_col)))) {
			sqlite3_reset(s);
			goto nomem;
		}
		if (d->time_col >= 0)
			batch_day(f, tg_pg_day(sqlite3_column_int64(s, d->time_col)));
		rows++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read the local store's %s: %s",
			 tg_fwd_stream_name(d->id), sqlite3_errmsg(f->db));
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	if (tg_forward_copy_trailer(&f->buf, &f->len, &f->cap))
		goto nomem;
	return rows;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A statement of the batch failed: err says why; the SQLSTATE and the server's message are
 * kept for telling a refusal of the rows (tg_forward_data_refusal()) from an outage. */
static void batch_error(struct tg_forward *f, const PGresult *r, const char *what, char *err,
			size_t errlen)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(f->state, sizeof(f->state), "%s", state ? state : "");
	snprintf(f->reason, sizeof(f->reason), "%s", msg ? msg : "");
	tg_pg_error(f->pg, r, what, err, errlen);
}

/* The COPY of f->buf by sql (COPY ... FROM STDIN). 0, or -1 with err set. */
static int copy_batch(struct tg_forward *f, const char *sql, char *err, size_t errlen)
{
	PGresult *r;
	int ret = 0;

	r = PQexec(f->pg, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		batch_error(f, r, "cannot copy a batch", err, errlen);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* In pieces: given the whole batch (a few MB) at once, libpq would grow its output
	 * buffer to hold all of it, a second copy of the batch in memory; a piece at a time,
	 * it sends each as its buffer fills. */
	for (size_t off = 0; off < f->len; off += TG_FORWARD_COPY_PIECE) {
		size_t n =
			f->len - off < TG_FORWARD_COPY_PIECE ? f->len - off : TG_FORWARD_COPY_PIECE;

		if (PQputCopyData(f->pg, f->buf + off, (int)n) != 1) {
			batch_error(f, NULL, "cannot copy a batch", err, errlen);
			return -1;
		}
	}
	if (PQputCopyEnd(f->pg, NULL) != 1) {
		batch_error(f, NULL, "cannot copy a batch", err, errlen);
		return -1;
	}
	r = PQgetResult(f->pg);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		batch_error(f, r, "cannot copy a batch", err, errlen);
		ret = -1;
	}
	PQclear(r);
	while ((r = PQgetResult(f->pg)))
		PQclear(r);
	return ret;
}

static int commit_batch(struct tg_forward *f, char *err, size_t errlen);

/* d's temporary table, made outside a batch's transaction (a rollback would take it away). */
static int make_stage(struct tg_forward *f, const struct stream *d, char *err, size_t errlen)
{
	if (f->stage_made[d->id])
		return 0;
	if (exec_ok(f, stage_ddl[d->id], "cannot prepare the copy table", err, errlen))
		return -1;
	f->stage_made[d->id] = true;
	return 0;
}

/* The rows copied, inserted and committed; how many the insert added in *inserted. 0, or -1
 * with err set. */
static int insert_batch(struct tg_forward *f, const struct stream *d, uint64_t *inserted, char *err,
			size_t errlen)
{
	char what[64];
	PGresult *r = PQexec(f->pg, d->insert);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(what, sizeof(what), "cannot insert a batch of %s",
			 tg_fwd_stream_name(d->id));
		batch_error(f, r, what, err, errlen);
		PQclear(r);
		return -1;
	}
	*inserted = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return commit_batch(f, err, errlen);
}

/* The batch's transaction committed. 0, or -1 with err set. */
static int commit_batch(struct tg_forward *f, char *err, size_t errlen)
{
	PGresult *r = PQexec(f->pg, "COMMIT");

	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT")) {
		batch_error(f, r, "cannot commit a batch", err, errlen);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/*
 * One batch of d: copied, inserted, committed, then the mark moves on. The rows sent, -1 with
 * err set, or -2 when the server refused the rows for what they hold (f->state, f->reason; the
 * transaction rolled back, the connection still good): *last is then the batch's last id.
 */
static int send_batch(struct tg_forward *f, const struct stream *d, int64_t *last, char *err,
		      size_t errlen)
{
	uint64_t inserted = 0;
	char sql[64];
	int rows;

	*last = f->hwm[d->id];
	f->state[0] = 0;
	f->unsendable = false;
	rows = read_batch(f, d, last, err, errlen);
	if (rows <= 0)
		return rows;
	for (size_t i = 0; i < f->n_batch_days; i++)
		if (ensure_day(f, f->batch_days[i], err, errlen))
			return -1;
	if ((!d->direct || f->staged_only) && make_stage(f, d, err, errlen))
		return -1;
	if (exec_ok(f, "BEGIN", "cannot begin a batch", err, errlen))
		return -1;
	if (d->direct && !f->staged_only) {
		/* Straight into the table: no staging table to write and read back, no
		 * ON CONFLICT's look-up before each row (about a third of the server's CPU a
		 * finding, bench/README.md). The primary key still refuses a row that is there
		 * already: the batch is then one sent again, and goes the staged way. */
		if (!copy_batch(f, d->direct, err, errlen) && !commit_batch(f, err, errlen)) {
			inserted = (uint64_t)rows;
			goto sent;
		}
		if (strcmp(f->state, "23505")) {
			if (tg_forward_data_refusal(f->state) &&
			    !exec_ok(f, "ROLLBACK", "cannot roll a refused batch back", err,
				     errlen))
				return -2;
			return -1;
		}
		if (exec_ok(f, "ROLLBACK", "cannot roll a batch sent again back", err, errlen) ||
		    make_stage(f, d, err, errlen) ||
		    exec_ok(f, "BEGIN", "cannot begin a batch", err, errlen))
			return -1;
		f->state[0] = 0;
	}
	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", d->stage);
	if (copy_batch(f, sql, err, errlen) || insert_batch(f, d, &inserted, err, errlen)) {
		if (tg_forward_data_refusal(f->state) &&
		    !exec_ok(f, "ROLLBACK", "cannot roll a refused batch back", err, errlen))
			return -2;
		return -1;
	}
sent:
	pthread_mutex_lock(&f->mu);
	f->stats.batches++;
	f->stats.rows[d->id] += rows;
	if (!d->upsert && inserted < (uint64_t)rows)
		f->stats.duplicates += rows - inserted;
	/* Fault injection for the tests: the commit's answer "lost" every Nth batch, as when a
	 * connection breaks after the server committed. The batch goes again: the server must
	 * keep one copy of each row. */
	if (f->forget_every && ++f->forget_n % f->forget_every == 0) {
		pthread_mutex_unlock(&f->mu);
		return rows;
	}
	f->hwm[d->id] = *last;
	f->stats.hwm[d->id] = *last;
	pthread_mutex_unlock(&f->mu);
	return rows;
}

/*
 * A row the server refuses alone: published for the session to record (forward_refused), the
 * mark moved past it, said once. False when the session has not recorded the earlier ones
 * yet: the row waits for the next pass.
 */
static bool refuse_row(struct tg_forward *f, enum tg_fwd_stream id, int64_t row)
{
	struct tg_fwd_refused *r;

	pthread_mutex_lock(&f->mu);
	if (f->stats.n_refusals == TG_FWD_REFUSALS_MAX) {
		pthread_mutex_unlock(&f->mu);
		return false;
	}
	r = &f->stats.refusals[f->stats.n_refusals++];
	r->stream = id;
	r->id = row;
	snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", f->state);
	snprintf(r->reason, sizeof(r->reason), "%s", f->reason);
	f->stats.refused_rows++;
	f->hwm[id] = f->stats.hwm[id] = row;
	pthread_mutex_unlock(&f->mu);
	logf_(f,
	      "%s the %s row %lld for what it holds [%s]: %s; it is not sent again and "
	      "the stream goes on past it; the row stays in the local store, recorded in its "
	      "forward_refused table (tmpguard query --db FILE shows the row; sqlite3 FILE "
	      "'SELECT * FROM forward_refused' the refusals): %s",
	      f->unsendable ? "cannot send" : "refuses", tg_fwd_stream_name(id), (long long)row,
	      f->state, f->reason,
	      f->unsendable ? "its column in PostgreSQL cannot hold it; tmpguard never writes "
			      "such a value, so the local store was changed by hand or is damaged "
			      "(sqlite3 FILE 'PRAGMA integrity_check')"
			    : "fix the server's constraint or trigger");
	return true;
}

void tg_forward_refusals_taken(struct tg_forward *f, unsigned n)
{
	pthread_mutex_lock(&f->mu);
	if (n > f->stats.n_refusals)
		n = f->stats.n_refusals;
	memmove(f->stats.refusals, f->stats.refusals + n,
		(f->stats.n_refusals - n) * sizeof(f->stats.refusals[0]));
	f->stats.n_refusals -= n;
	pthread_mutex_unlock(&f->mu);
}

/*
 * PostgreSQL, the next batch of d. A batch the server refuses for what it holds (SQLSTATE
 * class 22 or 23) is no outage: the same rows go again in halves down to one row, which is
 * then refused (refuse_row()); a good batch restores the full size. The rows sent (a refused
 * row counts as one, so that the stream goes on), 0 when none is left or the refused row
 * must wait, or -1 with err set.
 */
static int send_pg(struct tg_forward *f, const struct stream *d, char *err, size_t errlen)
{
	for (;;) {
		int64_t last;
		int n = send_batch(f, d, &last, err, errlen);

		if (n != -2) {
			if (n > 0)
				f->cur[d->id] = f->batch;
			return n;
		}
		if (!tg_forward_halve(f->cur[d->id])) {
			if (!refuse_row(f, d->id, last))
				return 0;
			f->cur[d->id] = f->batch;
			return 1;
		}
		f->cur[d->id] = tg_forward_halve(f->cur[d->id]);
		if (out_of_time(f))
			return 0;
	}
}

/* A row without a Falco form (stored before an HTTP target was known): passed over, said once. */
static void skipped(struct tg_forward *f, enum tg_fwd_stream id)
{
	pthread_mutex_lock(&f->mu);
	f->stats.skipped++;
	pthread_mutex_unlock(&f->mu);
	if (f->skip_said || id == TG_FWD_HEALTH)
		return;
	f->skip_said = true;
	logf_(f,
	      "%s stored before an HTTP target was known have no Falco form and are not "
	      "posted (they stay in the local store; counted as skipped)",
	      tg_fwd_stream_name(id));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

/*
 * The Falco event of a forward gap row (http_select[TG_FWD_GAPS]): rows this target never had,
 * evicted by the store's size limit while it was away; a Warning, in the shape of the losses'
 * (falco.h), so that the receiver's side learns what it will never get. A new string, or NULL.
 */
static char *gap_event(const struct tg_forward *f, sqlite3_stmt *s)
{
	const char *host = (const char *)sqlite3_column_text(s, 4);
	const char *what = (const char *)sqlite3_column_text(s, 5);
	long long n = sqlite3_column_int64(s, 6);
	int64_t t_ns = sqlite3_column_int64(s, 11);
	char t[64], from[64], to[64], *out = NULL, *text = NULL;
	json_object *o, *fl, *tags;

	tg_format_time(t_ns, t, sizeof(t));
	tg_format_time(sqlite3_column_int64(s, 9), from, sizeof(from));
	tg_format_time(sqlite3_column_int64(s, 10), to, sizeof(to));
	if (asprintf(&out,
		     "%s: Warning tmpguard forward gap: %lld %s of %s (ids %lld-%lld, from %s to "
		     "%s) "
		     "were evicted from its local store by its size limit before they were posted "
		     "to %s: they will not arrive",
		     t, n, what, host, (long long)sqlite3_column_int64(s, 7),
		     (long long)sqlite3_column_int64(s, 8), from, to, f->target) < 0)
		return NULL;
	o = json_object_new_object();
	fl = json_object_new_object();
	tags = json_object_new_array();
	add_str(o, "output", out);
	add_str(o, "priority", "Warning");
	add_str(o, "rule", "tmpguard forward gap");
	add_str(o, "time", t);
	add_str(o, "source", "tmpguard");
	add_str(o, "hostname", host);
	json_object_array_add(tags, json_object_new_string("tmpguard"));
	json_object_object_add(o, "tags", tags);
	json_object_object_add(fl, "evt.time", json_object_new_int64(t_ns));
	json_object_object_add(fl, "tmpguard.schema_version",
			       json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	add_str(fl, "tmpguard.gap_stream", what);
	json_object_object_add(fl, "tmpguard.evicted", json_object_new_int64(n));
	add_str(fl, "tmpguard.gap_from", from);
	add_str(fl, "tmpguard.gap_to", to);
	add_str(fl, "tmpguard.target", f->target);
	json_object_object_add(o, "output_fields", fl);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(out);
	return text;
}

/* One row posted; its mark moves on once the receiver answered 2xx. 0, or -1 with err. */
static int post_row(struct tg_forward *f, enum tg_fwd_stream id, sqlite3_stmt *s, bool quick,
		    char *err, size_t errlen)
{
	char *made = id == TG_FWD_GAPS ? gap_event(f, s) : NULL;
	const char *falco = made ? made : (const char *)sqlite3_column_text(s, 3);
	char *body;
	long status;
	bool refused;
	int rc;

	if (!falco) {
		skipped(f, id);
		return 0;
	}
	body = tg_http_body(falco, (const char *)sqlite3_column_text(s, 1),
			    sqlite3_column_int64(s, 2), tg_fwd_stream_name(id),
			    sqlite3_column_int64(s, 0));
	free(made);
	if (!body) {
		snprintf(err, errlen, "the %s row %lld's Falco form is not a Falco event",
			 tg_fwd_stream_name(id), (long long)sqlite3_column_int64(s, 0));
		return -1;
	}
	rc = tg_http_post(f->http, body, strlen(body), quick, &status, &refused, err, errlen);
	free(body);
	pthread_mutex_lock(&f->mu);
	if (rc && refused)
		f->stats.refused++;
	if (!rc) {
		f->stats.batches++;
		f->stats.rows[id]++;
	}
	pthread_mutex_unlock(&f->mu);
	if (rc && refused)
		snprintf(err + strlen(err), errlen - strlen(err),
			 ": it refuses the %s row %lld, which waits (with every row after it) "
			 "until it takes it; fix the receiver or its configuration",
			 tg_fwd_stream_name(id), (long long)sqlite3_column_int64(s, 0));
	return rc;
}

/*
 * HTTP, a stream that is not posted (sessions): the target wants none of it, so its
 * mark follows the store's last row, and retention, which keeps what a known target lacks,
 * does not keep these rows for it.
 */
static void pass_stream(struct tg_forward *f, enum tg_fwd_stream id)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(f->db, "SELECT COALESCE(max(rev), 0) FROM sessions", -1, &s, NULL) !=
	    SQLITE_OK)
		return;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > f->hwm[id]) {
		pthread_mutex_lock(&f->mu);
		f->hwm[id] = f->stats.hwm[id] = sqlite3_column_int64(s, 0);
		pthread_mutex_unlock(&f->mu);
	}
	sqlite3_finalize(s);
}

/* HTTP: a batch of d's rows above the mark, each posted in turn, the mark moving on after
 * each. The rows passed (posted or skipped), or -1 with err set. */
static int post_batch(struct tg_forward *f, enum tg_fwd_stream id, char *err, size_t errlen)
{
	sqlite3_stmt *s = f->sel[id];
	bool quick = stopping(f, NULL);
	int rows = 0, rc;

	if (!s) {
		pass_stream(f, id);
		return 0;
	}
	sqlite3_bind_int64(s, 1, f->hwm[id]);
	sqlite3_bind_int(s, 2, (int)f->batch);
	if (id == TG_FWD_GAPS)
		sqlite3_bind_text(s, 3, f->target, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (post_row(f, id, s, quick, err, errlen)) {
			sqlite3_reset(s);
			return -1;
		}
		pthread_mutex_lock(&f->mu);
		f->hwm[id] = f->stats.hwm[id] = sqlite3_column_int64(s, 0);
		pthread_mutex_unlock(&f->mu);
		rows++;
		if (out_of_time(f))
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read the local store's %s: %s",
			 tg_fwd_stream_name(id), sqlite3_errmsg(f->db));
		return -1;
	}
	return rows;
}

/* Every stream, batch after batch, until none is left (or the stop's time is up). */
static int send_all(struct tg_forward *f, char *err, size_t errlen)
{
	for (int i = 0; i < TG_FWD_NSTREAMS; i++) {
		int n;

		do {
			if (out_of_time(f))
				return 0;
			n = f->kind == TG_FORWARD_HTTP ? post_batch(f, i, err, errlen)
						       : send_pg(f, &streams[i], err, errlen);
			if (n < 0)
				return -1;
			/* A long catch-up keeps the backlog it reports current. */
			if (n && tg_clock_ns(CLOCK_MONOTONIC) - f->counted_at >= TG_FORWARD_POLL_NS)
				count_backlog(f);
		} while (f->kind == TG_FORWARD_HTTP ? n == (int)f->batch : n > 0);
	}
	return f->kind == TG_FORWARD_HTTP ? 0 : ensure_ahead(f, err, errlen);
}

/* Waits until t (CLOCK_MONOTONIC) or a stop request. */
static void wait_until(struct tg_forward *f, int64_t t)
{
	struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};

	pthread_mutex_lock(&f->mu);
	if (!f->stop)
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	pthread_mutex_unlock(&f->mu);
}

static void *forward_main(void *arg)
{
	struct tg_forward *f = arg;
	char err[1024];

	for (;;) {
		int64_t now = tg_clock_ns(CLOCK_MONOTONIC), deadline;
		bool stop = stopping(f, &deadline);

		if (stop && now >= deadline)
			break;
		count_backlog(f);
		if (!f->connected && (now >= f->next_try || (stop && !f->stop_tried))) {
			f->stop_tried = stop;
			if (connect_target(f, stop, err, sizeof(err))) {
				failed(f, err);
			} else if (f->outage) {
				count_backlog(f);
				pthread_mutex_lock(&f->mu);
				f->waited = f->stats.backlog;
				pthread_mutex_unlock(&f->mu);
			}
		}
		if (f->connected) {
			if (send_all(f, err, sizeof(err))) {
				failed(f, err);
			} else {
				pthread_mutex_lock(&f->mu);
				f->stats.up = true;
				pthread_mutex_unlock(&f->mu);
				f->backoff = f->backoff_min;
				if (f->outage) {
					logf_(f,
					      "working again after %.1f s (%u failed attempts); "
					      "%llu "
					      "rows had waited, now sent",
					      (tg_clock_ns(CLOCK_MONOTONIC) - f->outage_start) /
						      1e9,
					      f->attempts, (unsigned long long)f->waited);
					f->outage = false;
					f->outage_class[0] = 0;
				}
			}
		}
		if (stop) {
			/* Flushing: as long as the server takes rows and there are some. */
			count_backlog(f);
			if (!f->connected || !f->stats.backlog)
				break;
			continue;
		}
		/* New rows, and the next attempt after a failure, are looked for every poll. */
		wait_until(f, tg_clock_ns(CLOCK_MONOTONIC) + TG_FORWARD_POLL_NS);
	}
	count_backlog(f);
	disconnect(f);
	pthread_mutex_lock(&f->mu);
	f->done = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void forward_free(struct tg_forward *f)
{
	for (int i = 0; i < TG_FWD_NSTREAMS; i++) {
		sqlite3_finalize(f->sel[i]);
		sqlite3_finalize(f->count[i]);
	}
	sqlite3_close(f->db);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	tg_forward_password_free(f->password);
	free(f->url);
	free(f->target);
	free(f->version);
	free(f->db_path);
	free(f->ca_file);
	free(f->ensured);
	free(f->batch_days);
	free(f->buf);
	free(f);
}

struct tg_forward *tg_forward_start(const struct tg_forward_opts *o, char *err, size_t errlen)
{
	struct tg_forward *f = calloc(1, sizeof(*f));
	PQconninfoOption *opts;
	pthread_condattr_t ca;
	sigset_t all, old;
	const char *forget = getenv("TMPGUARD_TEST_FORWARD_FORGET");

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	f->url = strdup(o->url);
	f->target = strdup(o->target);
	f->password = o->password ? strdup(o->password) : NULL;
	f->version = strdup(o->version ? o->version : "");
	f->db_path = strdup(o->db_path);
	f->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
	f->kind = o->kind;
	if (!f->url || !f->target || (o->password && !f->password) || !f->version || !f->db_path ||
	    (o->ca_file && !f->ca_file)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	f->batch = o->batch_rows		? o->batch_rows
		   : f->kind == TG_FORWARD_HTTP ? TG_FORWARD_HTTP_BATCH
						: TG_FORWARD_BATCH_ROWS;
	f->backoff_min = o->backoff_min_ns ? o->backoff_min_ns : TG_FORWARD_BACKOFF_MIN;
	f->backoff_max = o->backoff_max_ns ? o->backoff_max_ns : TG_FORWARD_BACKOFF_MAX;
	f->backoff = f->backoff_min;
	f->log = o->log;
	f->day_checked = INT64_MIN;
	if (forget && *forget)
		f->forget_every = (unsigned)strtoul(forget, NULL, 10);
	/* The benchmark's other arm (bench/fleet.py --send staged): findings through the
	 * staging table as every other stream, to compare with the direct COPY in one run. */
	f->staged_only =
		getenv("TMPGUARD_TEST_FORWARD_STAGED") && *getenv("TMPGUARD_TEST_FORWARD_STAGED");
	for (int i = 0; i < TG_FWD_NSTREAMS; i++)
		f->cur[i] = f->batch;
	memcpy(f->hwm, o->hwm, sizeof(f->hwm));
	memcpy(f->stats.hwm, o->hwm, sizeof(f->hwm));
	opts = f->kind == TG_FORWARD_PG ? PQconninfoParse(f->url, NULL) : NULL;
	for (PQconninfoOption *p = opts; p && p->keyword; p++)
		if (!strcmp(p->keyword, "connect_timeout") && p->val && *p->val)
			f->url_sets_timeout = true;
	PQconninfoFree(opts);

	/* Its own connection, read-only: the session's writer is never in its way. */
	f->db = tg_store_open_read(o->db_path, err, errlen);
	if (!f->db)
		goto fail;
	for (int i = 0; i < TG_FWD_NSTREAMS; i++) {
		const char *sel = f->kind == TG_FORWARD_HTTP ? http_select[i] : streams[i].select;

		if (!sel)
			continue; /* not posted: neither read nor counted */
		if (sqlite3_prepare_v3(f->db, sel, -1, SQLITE_PREPARE_PERSISTENT, &f->sel[i],
				       NULL) != SQLITE_OK ||
		    (backlog_sql[i] &&
		     sqlite3_prepare_v3(f->db, backlog_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&f->count[i], NULL) != SQLITE_OK)) {
			snprintf(err, errlen, "cannot read the store %s for forwarding: %s",
				 o->db_path, sqlite3_errmsg(f->db));
			goto fail;
		}
	}
	count_backlog(f);
	/* Signals go to the session's thread, which handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = pthread_create(&f->thread, NULL, forward_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (errno) {
		snprintf(err, errlen, "cannot start the forwarder: %s", strerror(errno));
		goto fail;
	}
	return f;
fail:
	forward_free(f);
	return NULL;
}

void tg_forward_stats(struct tg_forward *f, struct tg_forward_stats *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->stats;
	pthread_mutex_unlock(&f->mu);
}

/* Waits until the thread is done or t (CLOCK_MONOTONIC) passes. */
static bool wait_done(struct tg_forward *f, int64_t t)
{
	struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
	bool done;

	pthread_mutex_lock(&f->mu);
	while (!f->done && pthread_cond_timedwait(&f->cv, &f->mu, &ts) != ETIMEDOUT)
		;
	done = f->done;
	pthread_mutex_unlock(&f->mu);
	return done;
}

int tg_forward_stop(struct tg_forward *f, int64_t flush_ns, struct tg_forward_stats *out)
{
	int64_t deadline = tg_clock_ns(CLOCK_MONOTONIC) + flush_ns;
	int ret;

	pthread_mutex_lock(&f->mu);
	f->stop = true;
	f->deadline = deadline;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	/* A statement in progress ends within a second or two of the deadline; one stuck in a
	 * server that does not answer is cancelled. */
	if (!wait_done(f, deadline + 2000000000LL)) {
		pthread_mutex_lock(&f->mu);
		if (f->cancel)
			PQcancel(f->cancel, (char[256]){0}, 256);
		if (f->http)
			tg_http_abort(f->http);
		pthread_mutex_unlock(&f->mu);
		if (!wait_done(f, tg_clock_ns(CLOCK_MONOTONIC) + 3000000000LL)) {
			tg_forward_stats(f, out);
			logf_(f,
			      "did not stop in time; %llu rows stay in the local store for the "
			      "next start",
			      (unsigned long long)out->backlog);
			pthread_detach(f->thread); /* it still uses f: left as it is */
			return -1;
		}
	}
	pthread_join(f->thread, NULL);
	*out = f->stats;
	ret = out->backlog ? -1 : 0;
	forward_free(f);
	return ret;
}
