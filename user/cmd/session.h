/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The `audit`, `run` and `daemon` commands (session.c, run_cmd.c, daemon.c): load, consume
 * records, classify, report, summarise. */
#ifndef TG_SESSION_H
#define TG_SESSION_H

int cmd_audit(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_daemon(int argc, char **argv);

#endif
