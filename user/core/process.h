/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process behind a record, as the pipeline hands it on: filled by the host's enrichment
 * (enrich.c, from /proc) or, when the process was gone, from the kernel's record. Types only,
 * so that the pure stages and the outputs read it without depending on the host.
 */
#ifndef TG_PROCESS_H
#define TG_PROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "tmpguard.h"

#define TG_ANCESTRY_MAX 16

/* One process of the parent chain, as /proc showed it when the first finding was made. */
struct tg_ancestor {
	uint32_t pid;
	char comm[TG_COMM_LEN];
	char exe[256]; /* "" when unreadable (kernel thread, gone, another namespace) */
};

struct tg_proc_info {
	uint32_t pid;
	uint64_t start_ns; /* the process's start (boot ns): with pid, which process it is */
	uint64_t exe_ino;  /* the record's executable (tg_event.exe_ino): which program it ran */
	char comm[TG_COMM_LEN];
	char exe[PATH_MAX];
	char cmdline[2048]; /* arguments joined by spaces; raw bytes, escaped on output */
	size_t cmdline_len;
	char user[64];
	char cgroup[1024];
	char container_id[80];
	const char *runtime; /* "docker", ... or NULL */
	bool is_go;
	bool from_kernel; /* the process was gone: fields come from the kernel record */
	/* Parent, grandparent, ... up to pid 1, or where the chain breaks (a parent exited). */
	struct tg_ancestor ancestry[TG_ANCESTRY_MAX];
	unsigned n_ancestry;
	bool ancestry_truncated; /* longer than TG_ANCESTRY_MAX */
};

#endif
