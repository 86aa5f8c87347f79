/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `tmpguard policy check FILE`: validate a policy and print it as it will be applied. */
#ifndef TG_POLICY_CMD_H
#define TG_POLICY_CMD_H

/* argv[0] is "policy". Returns 0 if the policy is valid, 2 if not (or on a usage error). */
int cmd_policy(int argc, char **argv);

#endif
