/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy of a running session: read, install, reload, enforcement. */
#ifndef TG_POLICY_SESSION_H
#define TG_POLICY_SESSION_H

#include "session_int.h"

/* path NULL: the built-in default. Warns when the file is writable by others than root. */
struct tg_policy *read_policy(const char *path, char *err, size_t errlen);
/* The kernel's part of a policy: its exceptions and extra shared directories. */
int kernel_install(struct tg_bpf *b, const struct tg_policy_kernel *pk);
/* Makes pol the policy in force (takes ownership); -errno, the old one kept, on failure. */
int policy_install(struct session *s, struct tg_policy *pol);
void apply_enforcement(struct session *s);
void policy_reload(struct session *s);
/* The poll loop's look at the clock: an exception expired since the last look is said on
 * standard error and taken out of the kernel (user space already judges each event at its own
 * time). */
void policy_check_expiry(struct session *s);
void announce_enforcement(const struct session *s);
/* --enforce or --dry-run with a policy that has no enabled deny or kill rule: says that nothing
 * will be blocked and what to give instead (before the programs load, whose failure to load the
 * LSM would otherwise be all the user sees). */
void warn_nothing_to_enforce(const struct session *s);

#endif
