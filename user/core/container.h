/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Container id from a cgroup path: docker, containerd (CRI), cri-o and podman layouts. Pure. */
#ifndef TG_CONTAINER_H
#define TG_CONTAINER_H

#include <stddef.h>

/*
 * Recognises, in the last components of a cgroup v2 path (or a bare leaf name):
 *   docker-<id>.scope, /docker/<id>               -> "docker"
 *   cri-containerd-<id>.scope, /kubepods.../<id>  -> "containerd"
 *   crio-<id>.scope                               -> "cri-o"
 *   libpod-<id>.scope, /libpod_parent/libpod-<id> -> "podman"
 * where <id> is 64 hex digits. Writes the id to id (>= 65 bytes) and returns the runtime name,
 * or returns NULL (id = "") for a host process.
 */
const char *tg_container_id(const char *cgroup, char *id, size_t idlen);

#endif
