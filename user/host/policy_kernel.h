/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What of a policy the kernel applies: exceptions it can decide (exe by inode, uid, cgroup id)
 * and the extra shared directories (by inode), resolved on this host. Reads the file system
 * (stat, getpwnam) but touches no BPF map: the loader installs the result.
 */
#ifndef TG_POLICY_KERNEL_H
#define TG_POLICY_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "policy.h"
#include "tmpguard.h"

struct tg_policy_kernel {
	struct tg_kexc_key *keys;
	uint32_t *idx; /* exception index of each key */
	size_t n;
	uint32_t combos; /* bit c: a key uses field set c */
	/* per exception: decided in the kernel on this host (an expired one: while it applied;
	 * it has no key) */
	bool *in_kernel;
	struct tg_dir_key *dirs;
	size_t n_dirs;
};

/* Resolves p on this host as of now_ns (CLOCK_REALTIME): exceptions expired by then get no key.
 * Anything that cannot be resolved (an exe or cgroup that does not exist here, an unknown user,
 * a missing shared dir) is logged on log (NULL: not logged) and left to user space (exceptions)
 * or skipped (directories). Returns 0, -ENOMEM, or -E2BIG (too many shared dirs). */
int tg_policy_kernel_build(const struct tg_policy *p, struct tg_policy_kernel *k, FILE *log,
			   int64_t now_ns);
void tg_policy_kernel_free(struct tg_policy_kernel *k);

#endif
