/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_REPORT_CMD_H
#define TG_REPORT_CMD_H

/* `tmpguard report`: argv[0] is "report". Returns the exit status. */
int cmd_report(int argc, char **argv);

#endif
