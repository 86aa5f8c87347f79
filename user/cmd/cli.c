// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What every command's command line shares: -h next to argp's --help and -?, and how a
 * command ends when the reader of its standard output is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "sink.h"

static const struct argp_option help_options[] = {
	{NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0},
	{},
};

static error_t parse_help(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	if (key != 'h')
		return ARGP_ERR_UNKNOWN;
	/* the root argp's help, on stdout, exit 0, as --help */
	argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
	return 0;
}

static const struct argp help_argp = {.options = help_options, .parser = parse_help};

const struct argp_child tg_cli_children[] = {
	{&help_argp, 0, NULL, 0},
	{},
};

int tg_cli_output_closed(const char *cmd)
{
	fprintf(stderr, "%s: output closed (EPIPE): stopping\n", cmd);
	return TG_EXIT_EPIPE;
}

int tg_cli_stdout_done(const char *cmd)
{
	bool failed = ferror(stdout);
	int e = 0;

	if (fflush(stdout)) {
		failed = true;
		e = errno;
	}
	if (!failed)
		return 0;
	/* A write that failed earlier left errno behind long ago: ask the pipe itself. */
	if (e == EPIPE || tg_fd_reader_gone(STDOUT_FILENO))
		return tg_cli_output_closed(cmd);
	fprintf(stderr, "%s: cannot write to standard output: %s\n", cmd, strerror(e ? e : EIO));
	return 1;
}
