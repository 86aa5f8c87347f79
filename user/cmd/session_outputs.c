// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where a session's records go, over its life: the sinks (--output, --syslog, sink.h) and the
 * event store (--db, store.h), opened before the programs attach, the store committed from the
 * poll loops and closed with what it kept; with --forward and --http-output, the forwarders
 * (forward.h) that send the store's rows on, to PostgreSQL and to an event router, whose marks
 * the store keeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "falco.h"
#include "http_post.h"
#include "session_outputs.h"

/* The store's falco column (store.h): the record's Falco form, as --format falco prints it. */
static char *falco_text(const struct tg_record *rec)
{
	json_object *o = tg_falco_record(rec);
	char *t;

	if (!o)
		return NULL;
	t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return t;
}

/* --output, --syslog: 1 on failure, said. */
int sinks_open(struct session *s)
{
	char err[1024];
	int spool = 0;

	if (s->opt.sarif) {
		spool = fcntl(s->sarif_fd, F_DUPFD_CLOEXEC, 3);
		if (spool < 0) {
			fprintf(stderr, "tmpguard: the SARIF spool: %s\n", strerror(errno));
			return 1;
		}
	}
	/* Opened before the programs attach: a file is created 0600 with O_EXCL, never through
	 * a symlink, in a directory only root or this user can rename files in (sink.h). */
	s->sinks = tg_sinks_open(
		&(struct tg_sink_opts){
			.format = s->opt.format,
			/* --format sarif: --output is the SARIF log, written at the end */
			.path = s->opt.sarif ? NULL : s->opt.output_path,
			.spool_fd = spool,
			.rotate_bytes = s->opt.rotate_bytes,
			.rotate_keep =
				s->opt.rotate_keep ? s->opt.rotate_keep : TG_ROTATE_KEEP_DEFAULT,
			.syslog = s->opt.syslog,
			.syslog_facility =
				s->opt.syslog_facility > 0 ? s->opt.syslog_facility : LOG_DAEMON,
			.syslog_max = s->opt.syslog_max_set ? (size_t)s->opt.syslog_max
							    : TG_SYSLOG_MAX_DEFAULT,
			.diag = stderr,
			/* audit and run stop when their reader goes; the daemon's FIFO reader
			 * may come back */
			.stop_on_epipe = !s->opt.config_name,
		},
		err, sizeof(err));
	if (!s->sinks) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return 1;
	}
	return 0;
}

/* --db: 0, or the exit status with the failure said. */
int store_open(struct session *s)
{
	char err[1024];
	int rc;

	if ((s->opt.db_max_age_days || s->opt.db_max_size_mib) && !s->opt.db_path) {
		fprintf(stderr, "tmpguard: --db-max-age and --db-max-size need --db FILE\n");
		return TG_EXIT_USAGE;
	}
	if (s->opt.db_path) {
		/* Opened, checked and trimmed before the programs attach, like --output. */
		struct tg_store_opts so = {
			.max_age_ns = (s->opt.db_max_age_days ? s->opt.db_max_age_days
							      : TG_STORE_MAX_AGE_DAYS) *
				      86400LL * 1000000000LL,
			.max_bytes = (int64_t)(s->opt.db_max_size_mib ? s->opt.db_max_size_mib
								      : TG_STORE_MAX_SIZE_MIB)
				     << 20,
			.log = stderr,
			.host_id = s->host_id,
			.falco = falco_text,
		};

		s->store = tg_store_open(s->opt.db_path, &so, event_now(s), err, sizeof(err));
		if (!s->store) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	}
	if ((rc = forward_open(s)))
		return rc;
	return http_open(s);
}

/* --forward URL: the URL and the password file checked, the target made known to the store
 * (so that retention keeps what it lacks), the forwarder started on the store. 0, or the exit
 * status with the failure said. */
int forward_open(struct session *s)
{
	struct tg_forward_opts fo = {
		.db_path = s->opt.db_path,
		.url = s->opt.forward_url,
		.target = s->forward_target,
		.version = TG_VERSION,
		.log = stderr,
	};
	char err[1024], *pw = NULL;

	if (!s->opt.forward_url)
		return 0;
	if (tg_forward_target(s->opt.forward_url, s->forward_target, sizeof(s->forward_target), err,
			      sizeof(err))) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	if (s->host_id_weak) {
		fprintf(stderr,
			"tmpguard: this host has no machine id (/etc/machine-id is missing or "
			"empty; systemd-machine-id-setup makes one), so its name alone would "
			"identify it in the fleet: give --host-id ID\n");
		return TG_EXIT_USAGE;
	}
	if (s->opt.forward_password_file) {
		pw = tg_forward_read_password(s->opt.forward_password_file, err, sizeof(err));
		if (!pw) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	}
	fo.password = pw;
	if (tg_store_forward_target(s->store, s->forward_target, fo.hwm)) {
		tg_forward_password_free(pw);
		return 1;
	}
	memcpy(s->forward_saved, fo.hwm, sizeof(fo.hwm));
	s->forward = tg_forward_start(&fo, err, sizeof(err));
	tg_forward_password_free(pw);
	if (!s->forward) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return 1;
	}
	fprintf(stderr, "tmpguard: forwarding %s to %s as host %s\n", s->opt.db_path,
		s->forward_target, s->host_id);
	return 0;
}

/* --http-output's Authorization value: the file's first line, else the environment's. */
static int http_auth(struct session *s, char **auth)
{
	const char *env = getenv(TG_HTTP_AUTH_ENV);
	char err[1024];

	*auth = NULL;
	if (s->opt.http_output_auth_file) {
		*auth = tg_forward_read_secret(s->opt.http_output_auth_file,
					       "the Authorization file", err, sizeof(err));
		if (!*auth) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	} else if (env && *env && !(*auth = strdup(env))) {
		fprintf(stderr, "tmpguard: out of memory\n");
		return 1;
	}
	return 0;
}

/* --http-output URL: as --forward, to an event router (http_post.h). 0, or the exit status
 * with the failure said. */
int http_open(struct session *s)
{
	struct tg_forward_opts fo = {
		.kind = TG_FORWARD_HTTP,
		.db_path = s->opt.db_path,
		.url = s->opt.http_output_url,
		.target = s->http_target,
		.ca_file = s->opt.http_output_ca,
		.version = TG_VERSION,
		.log = stderr,
	};
	char err[1024], *auth = NULL;
	int rc;

	if (!s->opt.http_output_url)
		return 0;
	if (tg_http_target(s->opt.http_output_url, s->http_target, sizeof(s->http_target), err,
			   sizeof(err))) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	if ((rc = http_auth(s, &auth)))
		return rc;
	fo.password = auth;
	if (tg_store_forward_target(s->store, s->http_target, fo.hwm)) {
		tg_forward_password_free(auth);
		return 1;
	}
	memcpy(s->http_saved, fo.hwm, sizeof(fo.hwm));
	s->http = tg_forward_start(&fo, err, sizeof(err));
	tg_forward_password_free(auth);
	if (!s->http) {
		fprintf(stderr, "tmpguard: %s\n", err);
		return TG_EXIT_USAGE;
	}
	fprintf(stderr, "tmpguard: posting %s's findings to %s as host %s (Falco events)\n",
		s->opt.db_path, s->http_target, s->host_id);
	return 0;
}

/* A forwarder's marks into the store, when they moved, and the rows the target refused (the
 * marks passed them), both written with its next batch. */
static void marks_save(struct session *s, const char *target, int64_t saved[TG_FWD_NSTREAMS],
		       const struct tg_forward_stats *fs)
{
	if (memcmp(fs->hwm, saved, sizeof(fs->hwm)) &&
	    !tg_store_forward_refused(s->store, target, fs->refusals, fs->n_refusals) &&
	    !tg_store_forwarded(s->store, target, fs->hwm))
		memcpy(saved, fs->hwm, sizeof(fs->hwm));
}

static void forward_save(struct session *s, const struct tg_forward_stats *fs)
{
	marks_save(s, s->forward_target, s->forward_saved, fs);
}

/* From the poll loops: batches committed about every second, and before a policy reload. */
void store_tick(struct session *s)
{
	if (!s->store)
		return;
	if (s->forward) {
		struct tg_forward_stats fs;

		tg_forward_stats(s->forward, &fs);
		forward_save(s, &fs);
		if (fs.n_refusals && !memcmp(fs.hwm, s->forward_saved, sizeof(fs.hwm)))
			tg_forward_refusals_taken(s->forward, fs.n_refusals);
	}
	if (s->http) {
		struct tg_forward_stats fs;

		tg_forward_stats(s->http, &fs);
		marks_save(s, s->http_target, s->http_saved, &fs);
	}
	tg_store_tick(s->store, event_now(s));
	if (reload_requested())
		tg_store_commit(s->store);
}

/* --http-output's stop: its flush, its marks, what it posted. */
static void http_close(struct session *s)
{
	struct tg_forward_stats fs;
	bool left;

	if (!s->http)
		return;
	left = tg_forward_stop(s->http, TG_FORWARD_STOP_NS, &fs) != 0;
	s->http = NULL;
	marks_save(s, s->http_target, s->http_saved, &fs);
	fprintf(stderr,
		"tmpguard: http output to %s: %llu findings, %llu losses and %llu health records "
		"posted this session (%llu refused answers, %llu rows without a Falco form "
		"skipped); %s",
		s->http_target, (unsigned long long)fs.rows[TG_FWD_FINDINGS],
		(unsigned long long)fs.rows[TG_FWD_LOSSES],
		(unsigned long long)fs.rows[TG_FWD_HEALTH], (unsigned long long)fs.refused,
		(unsigned long long)fs.skipped, left ? "" : "nothing left to post\n");
	if (left)
		fprintf(stderr, "%llu rows not posted yet stay in %s for the next start\n",
			(unsigned long long)fs.backlog, s->opt.db_path);
}

/* At the end: the forwarders flush what they can and stop, their marks kept; what the store
 * kept and what retention removed, said; then it is closed. */
void store_close(struct session *s)
{
	http_close(s);
	if (s->forward) {
		struct tg_forward_stats fs;
		bool left = tg_forward_stop(s->forward, TG_FORWARD_STOP_NS, &fs) != 0;

		s->forward = NULL;
		forward_save(s, &fs);
		fprintf(stderr,
			"tmpguard: forward to %s: %llu findings, %llu losses, %llu health records "
			"and %llu session updates sent this session (%llu were there already); %s",
			s->forward_target, (unsigned long long)fs.rows[TG_FWD_FINDINGS],
			(unsigned long long)fs.rows[TG_FWD_LOSSES],
			(unsigned long long)fs.rows[TG_FWD_HEALTH],
			(unsigned long long)fs.rows[TG_FWD_SESSIONS],
			(unsigned long long)fs.duplicates, left ? "" : "nothing left to send\n");
		if (left)
			fprintf(stderr, "%llu rows not sent yet stay in %s for the next start\n",
				(unsigned long long)fs.backlog, s->opt.db_path);
		if (fs.refused_rows)
			fprintf(stderr,
				"tmpguard: forward to %s: it refused %llu rows for what they hold "
				"this session; they stay in %s (its forward_refused table lists "
				"them)\n",
				s->forward_target, (unsigned long long)fs.refused_rows,
				s->opt.db_path);
	}
	if (s->store) {
		const struct tg_store_stats *st = tg_store_stats(s->store);

		fprintf(stderr,
			"tmpguard: database %s: %llu findings and %llu losses stored this "
			"session%s; "
			"retention removed %llu findings, %llu losses, %llu sessions\n",
			s->opt.db_path, (unsigned long long)st->findings,
			(unsigned long long)st->losses,
			st->commit_failures ? " (some commits failed, see above)" : "",
			(unsigned long long)st->removed.findings,
			(unsigned long long)st->removed.losses,
			(unsigned long long)st->removed.sessions);
		tg_store_close(s->store);
	}
}
