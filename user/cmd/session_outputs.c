// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where a session's records go, over its life: the sinks (--output, --syslog, sink.h) and the
 * event store (--db, store.h), opened before the programs attach, the store committed from the
 * poll loops and closed with what it kept.
 */
#include <stdio.h>
#include <syslog.h>
#include "session_outputs.h"

/* --output, --syslog: 1 on failure, said. */
int sinks_open(struct session *s)
{
	char err[1024];

	/* Opened before the programs attach: a file is created 0600 with O_EXCL, never through
	 * a symlink, in a directory only root or this user can rename files in (sink.h). */
	s->sinks = tg_sinks_open(
		&(struct tg_sink_opts){
			.format = s->opt.format,
			.path = s->opt.output_path,
			.rotate_bytes = s->opt.rotate_bytes,
			.rotate_keep =
				s->opt.rotate_keep ? s->opt.rotate_keep : TG_ROTATE_KEEP_DEFAULT,
			.syslog = s->opt.syslog,
			.syslog_facility =
				s->opt.syslog_facility > 0 ? s->opt.syslog_facility : LOG_DAEMON,
			.syslog_max = s->opt.syslog_max_set ? (size_t)s->opt.syslog_max
							    : TG_SYSLOG_MAX_DEFAULT,
			.diag = stderr,
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
		};

		s->store = tg_store_open(s->opt.db_path, &so, event_now(s), err, sizeof(err));
		if (!s->store) {
			fprintf(stderr, "tmpguard: %s\n", err);
			return TG_EXIT_USAGE;
		}
	}
	return 0;
}

/* From the poll loops: batches committed about every second, and before a policy reload. */
void store_tick(struct session *s)
{
	if (!s->store)
		return;
	tg_store_tick(s->store, event_now(s));
	if (reload_requested())
		tg_store_commit(s->store);
}

/* At the end: what the store kept and what retention removed, said; then it is closed. */
void store_close(struct session *s)
{
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
