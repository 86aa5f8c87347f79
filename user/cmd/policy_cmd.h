/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `tmpguard policy check FILE`: validate a policy and print it as it will be applied. */
#ifndef TG_POLICY_CMD_H
#define TG_POLICY_CMD_H

#include <stddef.h>

struct tg_policy;

/* argv[0] is "policy". Returns 0 if the policy is valid, 2 if not (or on a usage error). */
int cmd_policy(int argc, char **argv);

/* p's exceptions as they apply on this host now, one "#   exception at line N: ..." line each
 * on stdout (where, owner, expiry), with a warning on stderr for each expired one and a note
 * for each expiring within 30 days; their counts in *n_expired and *n_soon. `daemon --check`
 * shows them too. */
void policy_print_exceptions(const struct tg_policy *p, size_t *n_expired, size_t *n_soon);

/* "; N exceptions expired (no longer applied), M expire within 30 days", or nothing when both
 * are 0: the end of a "valid" line. */
void policy_print_expiry_counts(size_t n_expired, size_t n_soon);

#endif
