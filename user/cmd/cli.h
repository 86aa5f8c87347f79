/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every command's command line shares: -h as --help (argp's own short help is -?), the
 * version, and what happens when the reader of the output goes away.
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <argp.h>
#include <stdbool.h>

/* The status when the output's reader went away (EPIPE): what a shell reports for a writer
 * that SIGPIPE stopped (128 + 13), so pipelines treat tmpguard as any other writer. */
#define TG_EXIT_EPIPE 141

/* argp children of every command: -h. End the list with {0}. */
extern const struct argp_child tg_cli_children[];

/* Says "CMD: output closed (EPIPE): stopping" on stderr; returns TG_EXIT_EPIPE. */
int tg_cli_output_closed(const char *cmd);
/* Standard output flushed at the end of CMD: 0, TG_EXIT_EPIPE when its reader went away (said
 * as above), 1 on another write error (said). */
int tg_cli_stdout_done(const char *cmd);

#endif
