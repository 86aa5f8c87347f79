/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The host's posture against this bug class, recorded when auditing starts: the fs.protected_*
 * sysctls (which blunt planted symlinks and files in sticky directories) and how the shared
 * directories are mounted.
 */
#ifndef TG_POSTURE_H
#define TG_POSTURE_H

#include <stdio.h>
#include <json-c/json.h>

/*
 * {"sysctls": {"fs.protected_symlinks": 0, ...}, "mounts": [{"path": "/tmp", "fstype":
 * "tmpfs", "mount_point": "/tmp", "separate": true, "options": "rw,nosuid,nodev", "mode":
 * "1777"}, ...]}. A sysctl that cannot be read is null. mounts is the text of
 * /proc/self/mounts (NULL: read it).
 */
json_object *tg_posture_json(FILE *mounts);

#endif
