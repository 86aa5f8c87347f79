/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_QUERY_CMD_H
#define TG_QUERY_CMD_H

/* `tmpguard query`: findings from the event store, filtered, as text, JSON lines or CSV.
 * argv[0] is "query". Returns the exit status. */
int cmd_query(int argc, char **argv);

#endif
