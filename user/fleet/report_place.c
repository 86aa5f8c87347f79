// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where the per-finding formats place a finding (report.h, tg_rpt_place): the executable by its
 * canonical name, and the call site's file relative to --source-root. The one part of the
 * report that reads the file system (realpath), kept apart from the pure model and renderers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

/* realpath's last component, else the name's own: "bash", "/bin/bash", "/usr/bin/bash" all
 * give "bash"; /bin/sh gives "dash" where it links to dash. */
static char *canonical_exe(const char *exe)
{
	char buf[PATH_MAX];
	const char *p = exe, *s;

	if (exe[0] == '/' && realpath(exe, buf))
		p = buf;
	s = strrchr(p, '/');
	return strdup(s ? s + 1 : p);
}

/* file relative to root (both canonical), or NULL when it is not under root. A file that no
 * longer exists is judged by its directory's real path. */
static char *relative(const char *root, const char *file)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	size_t n = strlen(root);
	const char *p = NULL;

	if (file[0] != '/')
		return NULL;
	if (realpath(file, buf)) {
		p = buf;
	} else {
		const char *slash = strrchr(file, '/');
		size_t dl = (size_t)(slash - file);

		if (dl >= sizeof(dir))
			return NULL;
		memcpy(dir, file, dl);
		dir[dl] = 0;
		if (!realpath(dl ? dir : "/", buf) || strlen(buf) + strlen(slash) >= sizeof(buf))
			return NULL;
		strcat(buf, slash);
		p = buf;
	}
	if (!strcmp(root, "/"))
		return p[1] ? strdup(p + 1) : NULL;
	if (strncmp(p, root, n) || p[n] != '/' || !p[n + 1])
		return NULL;
	return strdup(p + n + 1);
}

int tg_rpt_place(struct tg_rpt *r)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		struct tg_rpt_finding *f = &r->findings[i];

		free(f->exe_canon);
		f->exe_canon = canonical_exe(f->exe);
		if (!f->exe_canon)
			return -ENOMEM;
		free(f->src_rel);
		f->src_rel = NULL;
		if (r->opts.source_root && f->cs_file && *f->cs_file)
			f->src_rel = relative(r->opts.source_root, f->cs_file);
	}
	return 0;
}
