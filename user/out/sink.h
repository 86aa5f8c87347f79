/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where records go: a stream (standard output, or --output FILE with size-based rotation) in
 * text, JSON-lines or Falco format, and syslog(3). Every record is written whole or not at all;
 * a record that cannot be written is counted and said on the diagnostics stream once per burst
 * of failures, and tmpguard keeps running (but audit and run stop when the stream's reader goes
 * away: tg_sinks_reader_gone()).
 *
 * Every file created here is created securely: O_CREAT|O_EXCL|O_NOFOLLOW, 0600, relative to a
 * directory opened with O_NOFOLLOW that only root or tmpguard's user can rename files in, so
 * tmpguard auditing itself finds nothing, and a planted file or symlink is never followed.
 */
#ifndef TG_SINK_H
#define TG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "output.h"
#include "record.h"

enum tg_format {
	TG_FORMAT_TEXT = 0,
	TG_FORMAT_JSON,
	TG_FORMAT_FALCO,
};

#define TG_ROTATE_KEEP_DEFAULT 5
#define TG_ROTATE_KEEP_MAX     1000
/* rsyslog's default $MaxMessageSize is 8 KiB, header included: bodies up to this fit. */
#define TG_SYSLOG_MAX_DEFAULT 8000

struct tg_sink_opts {
	enum tg_format format;
	const char *path;      /* NULL: standard output (or spool_fd) */
	int spool_fd;	       /* > 0 (and no path): the stream goes to this descriptor, which the
				* sinks take and close (run --format sarif's spool) */
	uint64_t rotate_bytes; /* 0: never rotate (needs path and a JSON or Falco format) */
	unsigned rotate_keep;  /* FILE.1 .. FILE.N are kept, the oldest is dropped */
	bool syslog;
	int syslog_facility; /* LOG_DAEMON, LOG_LOCAL0, ... */
	size_t syslog_max;   /* longest message body; 0: no limit */
	FILE *diag;	     /* warnings (stderr when NULL) */
	bool stop_on_epipe;  /* the caller stops when the reader goes: EPIPE is not warned about */
};

struct tg_sinks;

/* Opens every sink. NULL with a message in err (what failed, why, what to do) on failure. */
struct tg_sinks *tg_sinks_open(const struct tg_sink_opts *o, char *err, size_t errlen);
/*
 * One record, by its kind (record.h; nothing is taken). The JSON format writes its JSON form as
 * one line to the stream, the Falco format its Falco event (falco.h, made from the typed form);
 * syslog gets findings, loss and summary records, in the stream's shape (JSON for text output).
 * The last session record is kept: every file rotation starts the new file with it, so each
 * file stands alone.
 */
void tg_sinks_record(struct tg_sinks *k, const struct tg_record *rec);
/* Whether tg_sinks_record() reads a record's JSON form: for the JSON format, and for syslog
 * beside the text format. The Falco format and the text stream make their own from the typed
 * record. */
bool tg_sinks_want_json(const struct tg_sinks *k);
/* One finding in the text format (the stream only; nothing when the format is not text). */
void tg_sinks_text(struct tg_sinks *k, const struct tg_report *r);
/* Whether the stream's reader went away: a write met EPIPE, or the stream is a pipe or FIFO
 * that no one reads any more (found without writing, so an idle session notices too). */
bool tg_sinks_reader_gone(const struct tg_sinks *k);
/* Whether fd is the write end of a pipe that no one reads any more. */
bool tg_fd_reader_gone(int fd);
/* What the sinks did so far, for the summary. */
struct tg_sink_stats {
	uint64_t records_written, records_failed; /* failed: not written, or no Falco form */
	uint64_t rotations, rotations_failed, rotation_planted;
	uint64_t syslog_messages, syslog_truncated;
};

void tg_sinks_stats(const struct tg_sinks *k, struct tg_sink_stats *out);
/* Says on the diagnostics stream what could not be written, if anything, then closes. */
void tg_sinks_close(struct tg_sinks *k);

/* ---- pure helpers ---- */

/* "text", "json", "falco" -> enum tg_format; -1 if unknown. */
int tg_format_parse(const char *name);
/* "daemon", "local0".."local7", "auth", "authpriv", "user" -> LOG_*; -1 if unknown. */
int tg_syslog_facility_parse(const char *name);
/* syslog severity of a finding's severity: critical LOG_CRIT, high LOG_ERR, medium
 * LOG_WARNING, low LOG_NOTICE; -1 if unknown. */
int tg_syslog_severity(const char *severity);
/* Severity of a record sent to syslog: a finding's own, LOG_WARNING for loss (and for a
 * summary that reports lost records), LOG_INFO for a summary; -1: not sent (session, health). */
int tg_record_syslog_severity(const struct tg_record *rec);
/* Adds "output": {records_written, records_failed, rotations, rotations_failed,
 * rotation_planted, syslog_messages, syslog_truncated} to a summary record. */
void tg_sink_stats_json(const struct tg_sink_stats *st, json_object *summary);
/* The name of rotated file i of base: base itself for 0, else "base.i". -1 if it does not fit. */
int tg_rotated_name(const char *base, unsigned i, char *buf, size_t len);
/*
 * Shrinks o until its plain JSON form is at most max bytes: the longest strings are cut
 * (ending in "...") and, when strings are short already, the longest arrays are halved; each
 * field cut is named once in o's "syslog_truncated" array. The object stays valid JSON with
 * every key it had. Returns the final length (more than max only when nothing is left to cut).
 */
size_t tg_json_fit(json_object *o, size_t max);

/* ---- secure files (for every file tmpguard writes: output, store, pid file) ---- */

/*
 * Opens the directory part of path (O_DIRECTORY|O_NOFOLLOW) and checks that only root or this
 * user can rename files in it: owned by root or the effective uid, and not writable by group
 * or others unless sticky. Returns the directory fd and points *base at the last component, or
 * -1 with a message in err.
 */
int tg_open_dir_checked(const char *path, const char **base, char *err, size_t errlen);
/*
 * Opens name in dirfd for appending, never through a symlink: an existing regular file must be
 * owned by root or the effective uid, have one link and not be writable by group or others (a
 * character device, such as /dev/null, must be owned by root); a missing one is created with
 * O_CREAT|O_EXCL, mode 0600. Returns the fd (O_CLOEXEC) or -1 with a message in err.
 */
int tg_open_append_at(int dirfd, const char *name, bool *created, char *err, size_t errlen);

#endif
