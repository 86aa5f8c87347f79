// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A shell's call site from its argument vector and bash's line (callsite_shell.h). Pure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "callsite_shell.h"
#include "tmpguard.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

enum tg_shell tg_shell_of(const char *exe, const char *argv0)
{
	static const struct {
		const char *name;
		enum tg_shell s;
	} names[] = {
		{"bash", TG_SHELL_BASH},   {"rbash", TG_SHELL_BASH},   {"sh", TG_SHELL_DASH},
		{"dash", TG_SHELL_DASH},   {"zsh", TG_SHELL_ZSH},      {"ksh", TG_SHELL_KSH},
		{"ksh93", TG_SHELL_KSH},   {"mksh", TG_SHELL_KSH},     {"lksh", TG_SHELL_KSH},
		{"ash", TG_SHELL_BUSYBOX}, {"hush", TG_SHELL_BUSYBOX},
	};
	const char *b = base_name(exe && *exe ? exe : argv0 ? argv0 : "");

	if (!strcmp(b, "busybox")) {
		/* Only its shell applets: "busybox cat" is cat. A login shell's argv0 is "-sh". */
		const char *a = base_name(argv0 ? argv0 : "");

		a += *a == '-';
		return !strcmp(a, "sh") || !strcmp(a, "ash") || !strcmp(a, "hush")
			       ? TG_SHELL_BUSYBOX
			       : TG_SHELL_NONE;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(b, names[i].name))
			return names[i].s;
	return TG_SHELL_NONE;
}

const char *tg_shell_name(enum tg_shell s)
{
	static const char *const n[] = {"", "bash", "dash", "zsh", "ksh", "busybox sh"};

	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "";
}

/*
 * The options every one of these shells takes before its operands, as POSIX sh does: clusters
 * of letters after '-' or '+' ("-ec", "+x"), where each 'o' (and bash's 'O') takes the next
 * argument as its name ("-euo pipefail"); bash's long options, of which --rcfile and
 * --init-file take an argument; "--" or "-" ends them. The first operand is the -c text when
 * 'c' was given, else the script, unless 's' said the commands come from standard input.
 */
bool tg_shell_parse(const char *exe, const char *args, size_t args_len, struct tg_shell_argv *out)
{
	size_t off = 0, idx = 0, skip = 0;
	bool opts = true, has_c = false, has_s = false;

	memset(out, 0, sizeof(*out));
	out->shell = tg_shell_of(exe, args_len ? args : "");
	if (out->shell == TG_SHELL_NONE)
		return false;
	while (off < args_len) {
		const char *a = args + off;
		size_t n = strnlen(a, args_len - off);

		off += n + 1;
		if (idx++ == 0)
			continue; /* argv0 */
		if (skip) {
			skip--;
			continue;
		}
		if (opts && (!strcmp(a, "--") || !strcmp(a, "-"))) {
			opts = false;
			continue;
		}
		if (opts && n > 2 && a[0] == '-' && a[1] == '-') {
			if (!strcmp(a, "--rcfile") || !strcmp(a, "--init-file"))
				skip = 1;
			continue;
		}
		if (opts && n > 1 && (a[0] == '-' || a[0] == '+')) {
			for (size_t i = 1; i < n; i++) {
				has_c |= a[0] == '-' && a[i] == 'c';
				has_s |= a[0] == '-' && a[i] == 's';
				skip += a[i] == 'o' || a[i] == 'O';
			}
			continue;
		}
		/* The first operand. */
		if (has_c) {
			out->command = a;
			out->command_len = n;
			out->command_off = (size_t)(a - args);
		} else if (!has_s) {
			out->script = a;
			out->script_len = n;
		}
		/* It ran to the end of what was given: it may have been cut. */
		out->incomplete = off >= args_len;
		return true;
	}
	out->incomplete = has_c; /* -c, and its text not among what was given */
	return true;
}

static void copy(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

bool tg_shell_join(const char *dir, const char *script, size_t script_len, char *out, size_t len)
{
	size_t n = 0, dl = strlen(dir);
	const char *p = script, *end = script + script_len;

	if (script_len && script[0] == '/') {
		if (script_len >= len)
			return false;
		copy(out, len, script, script_len);
		return true;
	}
	if (!dl || dir[0] != '/' || dl >= len)
		return false;
	memcpy(out, dir, dl);
	n = dl;
	while (n > 1 && out[n - 1] == '/')
		n--;
	/* Each component of script: "." dropped, ".." removes the last of out. */
	while (p < end) {
		const char *q = memchr(p, '/', (size_t)(end - p));
		size_t c = (q ? q : end) - p;

		if (c == 0 || (c == 1 && p[0] == '.')) {
			/* nothing */
		} else if (c == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--; /* the slash, unless it is the root */
		} else {
			if (n + (out[n - 1] != '/') + c >= len)
				return false;
			if (out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c + (q != NULL);
	}
	out[n] = 0;
	return true;
}

/* Appends to why (NUL-terminated, whylen bytes): "; " between parts. */
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	size_t n = strnlen(why, whylen);
	va_list ap;

	if (n + 3 >= whylen)
		return;
	if (n)
		n += (size_t)snprintf(why + n, whylen - n, "; ");
	va_start(ap, fmt);
	vsnprintf(why + n, whylen - n, fmt, ap);
	va_end(ap);
}

/* Why sh's line is not known, when the kernel (or the host) read none. */
static void no_line(const struct tg_shell_proc *sh, enum tg_shell shell, char *why, size_t whylen)
{
	if (sh->line_why && *sh->line_why)
		say(why, whylen, "line not known: %s", sh->line_why);
	else if (shell == TG_SHELL_BASH)
		say(why, whylen, "line not known: this bash's line could not be read");
	else
		say(why, whylen, "line not known: tmpguard reads bash's current line, not %s's",
		    tg_shell_name(shell));
}

/*
 * The script's line (into f->line) and what to say of it. bash's line_number is the line of the
 * command being run in the text bash is reading: in a file run with `.` or source, that file's
 * line (which file, tmpguard does not know); in a function, the line in the file that defined
 * it; inside an eval or a command substitution, counted from where that text starts, one past
 * the command's for each line of the text before it, as $LINENO is. A program's line the kernel
 * read at its execve (TG_SH_PARENT) is the line of the command that started it; one read by
 * user space (line_later, the fallback) is the shell's when the record was read.
 */
static void script_line(const struct tg_shell_proc *sh, enum tg_shell shell, struct tg_frame *f,
			char *why, size_t whylen)
{
	uint32_t fl = sh->line_flags;

	if (!(fl & TG_SH_LINE) || !sh->line) {
		no_line(sh, shell, why, whylen);
		say(why, whylen, "search the script for the path's directory");
		return;
	}
	if (fl & TG_SH_SOURCED) {
		say(why, whylen,
		    "line not known: the create was at line %u of a file the script sourced (`.` "
		    "or source), not of the script",
		    sh->line);
		return;
	}
	f->line = sh->line;
	if (fl & TG_SH_STRING)
		say(why, whylen,
		    "line %u is bash's $LINENO in an eval or a command substitution: past the "
		    "command's line when that text spans lines",
		    sh->line);
	else if (fl & TG_SH_FUNCTION)
		say(why, whylen,
		    "in a shell function: line %u of the file that defined it (the script, unless "
		    "the function came from a file it sourced)",
		    sh->line);
	if (sh->line_later)
		say(why, whylen,
		    "line %u is the shell's when tmpguard read the record, which may be past the "
		    "command that started the program (best effort)",
		    sh->line);
}

/* Frame f and the command of shell sh; false when it is no shell or runs neither a script nor
 * a -c text (want_either). */
static bool shell_frame(const struct tg_shell_proc *sh, bool want_either, struct tg_frame *f,
			struct tg_callsite *cs, char *why, size_t whylen)
{
	struct tg_shell_argv a;
	bool line = (sh->line_flags & TG_SH_LINE) && sh->line && !(sh->line_flags & TG_SH_SOURCED);

	if (!tg_shell_parse(sh->exe, sh->args, sh->args_len, &a))
		return false;
	if (want_either && !a.script && !a.command)
		return false;
	memset(f, 0, sizeof(*f));
	why[0] = 0;
	copy(f->module, sizeof(f->module), *sh->exe ? sh->exe : sh->args,
	     strlen(*sh->exe ? sh->exe : sh->args));
	if (a.script) {
		bool cut = a.incomplete && sh->args_truncated;

		if (sh->script_path && *sh->script_path)
			copy(f->file, sizeof(f->file), sh->script_path, strlen(sh->script_path));
		else
			copy(f->file, sizeof(f->file), a.script, a.script_len);
		script_line(sh, a.shell, f, why, whylen);
		if (cut && !(sh->script_path && *sh->script_path))
			say(why, whylen,
			    "the script's name was cut (the process had exited and the kernel "
			    "keeps 256 bytes of its arguments)");
		else if (f->file[0] != '/')
			say(why, whylen,
			    "the script's directory is not known (the process had exited): its "
			    "name as the shell was given it");
	} else if (a.command) {
		const char *t = a.command;
		size_t n = a.command_len;
		bool cut = a.incomplete && sh->args_truncated;

		/* The kernel's copy of the vector was cut inside the text: /proc's whole (joined)
		 * vector has the rest, with any operands after it. */
		if (cut && sh->cmdline && sh->cmdline_len > a.command_off + n) {
			t = sh->cmdline + a.command_off;
			n = sh->cmdline_len - a.command_off;
			cut = false;
		}
		copy(cs->command, sizeof(cs->command), t, n);
		cs->command_line = line ? sh->line : 0;
		if (line)
			say(why, whylen,
			    "no script file: the command is the text of the shell's -c, and the "
			    "create was at its line %u%s",
			    sh->line, sh->line_later ? " when tmpguard read the record" : "");
		else
			say(why, whylen,
			    "line not known: the command is the text of the shell's -c");
		if (cut || n >= sizeof(cs->command))
			say(why, whylen, "the text was cut: the whole text was not kept");
	} else {
		say(why, whylen,
		    "no script: the shell read its commands from its standard input or a "
		    "terminal");
		if (line)
			say(why, whylen, "it was at line %u of them", sh->line);
	}
	return true;
}

bool tg_callsite_shell(const struct tg_shell_proc *sh, struct tg_callsite *cs)
{
	struct tg_frame f;
	char why[400];

	memset(cs, 0, sizeof(*cs));
	if (!shell_frame(sh, false, &f, cs, why, sizeof(why)))
		return false;
	cs->kind = TG_CS_SHELL;
	cs->frames[0] = f;
	cs->n = 1;
	cs->site = 0;
	snprintf(cs->missing, sizeof(cs->missing), "%s", why);
	return true;
}

bool tg_callsite_shell_child(const char *child_exe, uint32_t child_pid,
			     const struct tg_shell_proc *parent, struct tg_callsite *cs)
{
	struct tg_frame f;
	char why[400];

	memset(cs, 0, sizeof(*cs));
	if (!shell_frame(parent, true, &f, cs, why, sizeof(why)))
		return false;
	cs->kind = TG_CS_SHELL;
	copy(cs->frames[0].module, sizeof(cs->frames[0].module), child_exe, strlen(child_exe));
	cs->frames[1] = f;
	cs->n = 2;
	cs->site = 1;
	snprintf(cs->missing, sizeof(cs->missing),
		 "the create was made by %s (pid %u), which the shell (pid %u) started: the call "
		 "site is the shell's%s%s",
		 base_name(child_exe), child_pid, parent->pid, why[0] ? "; " : "", why);
	return true;
}
