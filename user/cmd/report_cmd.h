/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_REPORT_CMD_H
#define TG_REPORT_CMD_H

/* `tmpguard report`: argv[0] is "report". Returns the exit status. */
int cmd_report(int argc, char **argv);
/* run --format sarif: the session's JSON lines, spooled in fd, as one SARIF log into output
 * (standard output when NULL; a new file renamed over it), results placed under source_root
 * when given. 0, or the exit status with the failure said. */
int report_sarif_spool(int fd, const char *source_root, const char *output);

#endif
