// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "posture.h"

static const char *const sysctls[] = {
	"fs.protected_symlinks",
	"fs.protected_regular",
	"fs.protected_fifos",
	"fs.protected_hardlinks",
};

static const char *const shared_dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};

static json_object *sysctl_json(const char *name)
{
	char path[128], buf[32];
	FILE *f;
	int v;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%d", &v) != 1) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return json_object_new_int(v);
}

/* Whether mount point mp holds path: equal, or a prefix ending at a '/'. */
static size_t covers(const char *mp, const char *path)
{
	size_t n = strlen(mp);

	if (!strcmp(mp, "/"))
		return 1;
	if (strncmp(mp, path, n) || (path[n] && path[n] != '/'))
		return 0;
	return n;
}

static json_object *mount_json(FILE *mounts, const char *path)
{
	json_object *o = json_object_new_object();
	char mode[8], *fstype = NULL, *opts = NULL, *mp = NULL;
	size_t best = 0;
	struct mntent *m;
	struct stat st;

	/* The last, longest mount point that covers path is the one in effect. */
	rewind(mounts);
	while ((m = getmntent(mounts))) {
		size_t n = covers(m->mnt_dir, path);

		if (n && n >= best) {
			best = n;
			free(fstype);
			free(opts);
			free(mp);
			fstype = strdup(m->mnt_type);
			opts = strdup(m->mnt_opts);
			mp = strdup(m->mnt_dir);
		}
	}
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "fstype", fstype ? json_object_new_string(fstype) : NULL);
	json_object_object_add(o, "mount_point", mp ? json_object_new_string(mp) : NULL);
	json_object_object_add(o, "separate", json_object_new_boolean(mp && !strcmp(mp, path)));
	json_object_object_add(o, "options", opts ? json_object_new_string(opts) : NULL);
	if (stat(path, &st) == 0) {
		snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
		json_object_object_add(o, "mode", json_object_new_string(mode));
		json_object_object_add(o, "exists", json_object_new_boolean(true));
	} else {
		json_object_object_add(o, "mode", NULL);
		json_object_object_add(o, "exists", json_object_new_boolean(false));
	}
	free(fstype);
	free(opts);
	free(mp);
	return o;
}

json_object *tg_posture_json(FILE *mounts)
{
	json_object *o = json_object_new_object(), *sc = json_object_new_object();
	json_object *ms = json_object_new_array();
	FILE *own = NULL;

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		json_object_object_add(sc, sysctls[i], sysctl_json(sysctls[i]));
	json_object_object_add(o, "sysctls", sc);
	if (!mounts)
		mounts = own = setmntent("/proc/self/mounts", "re");
	for (size_t i = 0; mounts && i < sizeof(shared_dirs) / sizeof(shared_dirs[0]); i++)
		json_object_array_add(ms, mount_json(mounts, shared_dirs[i]));
	if (own)
		endmntent(own);
	json_object_object_add(o, "mounts", ms);
	return o;
}
