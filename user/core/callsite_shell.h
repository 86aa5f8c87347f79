/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A shell's call site: the script a shell was running, or the text of its `sh -c`, read from
 * its executable and argument vector, and bash's current line. Pure: the host finds what needs
 * /proc (the script's absolute path, the parent of a child, that parent's line) and hands it in.
 *
 * The line: bash's line_number (what $LINENO shows), which the kernel reads from a bash's
 * memory at a record it sends (tg_event.shell_line, shell_flags); for a program a bash started,
 * from the bash's forked copy at the program's execve (TG_SH_PARENT), or, when the kernel could
 * not, user space from the live parent bash when it reads the record (line_later). Other shells
 * keep theirs where tmpguard does not look: tg_callsite.missing says so.
 */
#ifndef TG_CALLSITE_SHELL_H
#define TG_CALLSITE_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "callsite.h"

enum tg_shell {
	TG_SHELL_NONE = 0,
	TG_SHELL_BASH,
	TG_SHELL_DASH, /* dash, and /bin/sh where that is not bash */
	TG_SHELL_ZSH,
	TG_SHELL_KSH, /* ksh, ksh93, mksh */
	TG_SHELL_BUSYBOX,
};

/* What a shell's arguments say it runs. Pointers into the argument vector given. */
struct tg_shell_argv {
	enum tg_shell shell;
	const char *script; /* the script operand (as given: maybe relative), or NULL */
	size_t script_len;
	const char *command; /* the -c text, or NULL */
	size_t command_len;
	size_t command_off; /* its offset in the argument vector */
	bool incomplete;    /* the vector ended inside the script operand or the -c text */
};

/* A shell process as the host saw it. */
struct tg_shell_proc {
	uint32_t pid;
	const char *exe;  /* its executable's path ("" unknown) */
	const char *args; /* its argument vector, NUL-separated */
	size_t args_len;
	bool args_truncated; /* args is only the start of the vector */
	const char *cmdline; /* the whole vector, joined by spaces (NULL: not read) */
	size_t cmdline_len;
	const char *script_path; /* the script's absolute path, as the host found it (one of the
				  * shell's open files, or its cwd joined), NULL: not found */
	uint32_t line;		 /* the shell's line (bash's line_number) with TG_SH_LINE */
	uint32_t line_flags;	 /* TG_SH_* (tmpguard.h): whether line was read, where it is
				  * (TG_SH_PARENT: read at the child's execve, exact) */
	bool line_later;	 /* line was read by user space as it read the record (a
				  * child's parent), not by the kernel at the create */
	const char *line_why;	 /* why no line, without TG_SH_LINE (NULL: the shell's line is
				  * not one tmpguard reads) */
};

/* Which shell exe is (argv0 decides for busybox, whose applets are not all shells). */
enum tg_shell tg_shell_of(const char *exe, const char *argv0);
const char *tg_shell_name(enum tg_shell s);

/* Parses a shell's argument vector (NUL-separated, args_len bytes, the last NUL optional).
 * Returns false when exe is no shell. */
bool tg_shell_parse(const char *exe, const char *args, size_t args_len, struct tg_shell_argv *out);

/* The call site of a create made by the shell sh itself: its script (frame file) or its -c
 * text (command). Returns false (cs cleared) when sh is no shell. */
bool tg_callsite_shell(const struct tg_shell_proc *sh, struct tg_callsite *cs);

/* The call site of a create made by a program (child_exe, pid child_pid) that a shell running a
 * script started: frame 0 is the program, frame 1 (the call site) the parent's script. Returns
 * false when the parent is no shell or runs no script or -c text. */
bool tg_callsite_shell_child(const char *child_exe, uint32_t child_pid,
			     const struct tg_shell_proc *parent, struct tg_callsite *cs);

/* Joins a relative script operand to a directory: "dir/script", "./" and "../" folded
 * lexically; an absolute one is copied. Returns false if it does not fit. */
bool tg_shell_join(const char *dir, const char *script, size_t script_len, char *out, size_t len);

#endif
