// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A shell's call site on this host (shell_site.h): what core/callsite_shell.c needs from /proc.
 * The script's absolute path is the file the shell holds open under the operand's name (bash
 * keeps its script on fd 255, dash on fd 10 and up: right even after a `cd`), else the operand
 * joined to the shell's working directory, else (the shell had exited) the operand as given.
 * The line: what the kernel read of a bash at the create (tg_event.shell_line); for a program a
 * bash started, what the kernel read of that bash's forked copy at the program's execve
 * (TG_SH_PARENT), else, as a fallback, the parent's line read from its memory now (pyinterp.c's
 * tg_bash_read), while it lives: best effort, it may have moved on since the create.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "callsite_shell.h"
#include "loader.h"
#include "pyinterp.h"
#include "shell_site.h"

static const char *base_name(const char *p, size_t n, size_t *len)
{
	const char *s = memrchr(p, '/', n);

	*len = s ? n - (size_t)(s + 1 - p) : n;
	return s ? s + 1 : p;
}

/* The file pid holds open whose name ends with the operand's last component. */
static bool open_script(uint32_t pid, const char *script, size_t n, char *out, size_t len)
{
	char dir[64], link[64 + sizeof(((struct dirent *)0)->d_name)];
	size_t bl;
	const char *b = base_name(script, n, &bl);
	struct dirent *d;
	bool found = false;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	fds = opendir(dir);
	if (!fds)
		return false;
	while (!found && (d = readdir(fds))) {
		ssize_t k;

		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
		k = readlink(link, out, len - 1);
		if (k <= 0 || (size_t)k >= len - 1 || out[0] != '/')
			continue;
		out[k] = 0;
		found = (size_t)k > bl && out[k - bl - 1] == '/' && !memcmp(out + k - bl, b, bl);
	}
	closedir(fds);
	if (!found)
		out[0] = 0;
	return found;
}

/* The script's absolute path (into buf) for the shell pid running args, or NULL. alive: pid
 * is the process that made the record (its /proc is asked); kcwd (or NULL): its current
 * directory as the kernel captured it at the create, which stands when /proc cannot tell. */
static const char *script_path(uint32_t pid, bool alive, const char *exe, const char *args,
			       size_t n, const char *kcwd, char *buf, size_t len)
{
	struct tg_shell_argv a;
	char cwd[PATH_MAX], link[64];
	ssize_t k = 0;

	if (!tg_shell_parse(exe, args, n, &a) || !a.script)
		return NULL;
	if (alive && open_script(pid, a.script, a.script_len, buf, len))
		return buf;
	if (a.script[0] == '/')
		return NULL; /* as given */
	if (alive) {
		snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
		k = readlink(link, cwd, sizeof(cwd) - 1);
	}
	if (k > 0 && (size_t)k < sizeof(cwd) - 1)
		cwd[k] = 0;
	else if (kcwd && strlen(kcwd) < sizeof(cwd))
		strcpy(cwd, kcwd);
	else
		return NULL;
	return tg_shell_join(cwd, a.script, a.script_len, buf, len) ? buf : NULL;
}

static ssize_t read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t k = 0;

	if (fd < 0)
		return -1;
	while (n < len && (k = read(fd, buf + n, len - n)) > 0)
		n += (size_t)k;
	close(fd);
	return k < 0 ? -1 : (ssize_t)n;
}

/* The registered bash of the live process pid (its /proc/PID/exe), or NULL. */
static const struct tg_interp *live_bash(const struct tg_interp_reg *reg, uint32_t pid)
{
	struct tg_interp_key key;
	const struct tg_interp *v;
	char exe[64];

	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	if (!reg || tg_interp_key(exe, &key))
		return NULL;
	v = tg_interp_find(reg, key.ino, key.dev);
	return v && v->lang == TG_INTERP_BASH ? v : NULL;
}

/*
 * A program a bash started, whose parent had exited by the time its record was read: the
 * parent's arguments and executable as the kernel kept them at the program's execve
 * (tg_exec_lines, by tgid, the same process and start), with the line read then. A script
 * given by a relative name stays as given: the parent's directory is not known.
 */
static const struct tg_callsite *exited_parent(const struct tg_event *e,
					       const struct tg_proc_info *p,
					       const struct tg_interp_reg *reg, struct tg_bpf *b,
					       struct tg_callsite *cs)
{
	static struct tg_exec_line x;
	struct tg_shell_proc sh;
	const char *exe = NULL;
	size_t len;

	if (!(e->shell_flags & TG_SH_PARENT) || !b || !reg || tg_bpf_exec_line(b, e->pid, &x) ||
	    x.start_ns != e->start_ns || !x.args_len || x.args_len > sizeof(x.args))
		return NULL;
	for (int i = 0; i < reg->n; i++)
		if (reg->key[i].ino == x.exe_ino && reg->key[i].dev == x.exe_dev)
			exe = reg->exe[i];
	if (!exe)
		return NULL;
	sh = (struct tg_shell_proc){
		.pid = e->ppid,
		.exe = exe,
		.args = x.args,
		.args_len = x.args_len,
		.args_truncated = x.args_trunc,
		.line = e->shell_line,
		.line_flags = e->shell_flags,
	};
	if (!tg_callsite_shell_child(p->exe, e->pid, &sh, cs))
		return NULL;
	len = strlen(cs->missing);
	snprintf(cs->missing + len, sizeof(cs->missing) - len,
		 "; the shell had exited: its arguments as the kernel kept them at the program's "
		 "execve (%u bytes%s)",
		 x.args_len, x.args_trunc ? ", cut" : "");
	return cs;
}

const struct tg_callsite *tg_shell_site(const struct tg_event *e, const struct tg_proc_info *p,
					const char *cwd, const struct tg_interp_reg *reg,
					struct tg_bpf *b, struct tg_callsite *cs)
{
	static char pargs[4096], pcwd[PATH_MAX], path[PATH_MAX];
	struct tg_shell_proc sh = {
		.pid = e->pid,
		.exe = p->exe,
		.args = e->args,
		.args_len = e->args_len,
		.args_truncated = e->facts & TG_F_ARGS_TRUNC,
		.cmdline = p->from_kernel ? NULL : p->cmdline,
		.cmdline_len = p->from_kernel ? 0 : p->cmdline_len,
		.line = e->shell_line,
		.line_flags = e->shell_flags,
	};
	const struct tg_interp *bash;
	const struct tg_ancestor *par = p->n_ancestry ? &p->ancestry[0] : NULL;
	char ppath[64];
	ssize_t n;

	if (tg_shell_of(p->exe, e->args_len ? e->args : "") != TG_SHELL_NONE) {
		/* A shell that is no registered bash (dash) a bash started: the kernel's line is
		 * the parent's script's, not this shell's. */
		if (e->shell_flags & TG_SH_PARENT)
			sh.line = sh.line_flags = 0;
		bash = tg_interp_find(reg, e->exe_ino, e->exe_dev);
		if (!(e->shell_flags & TG_SH_LINE) &&
		    tg_shell_of(p->exe, e->args_len ? e->args : "") == TG_SHELL_BASH)
			sh.line_why =
				!bash ? "this bash was not registered when tmpguard started "
					"(installed since, or its dynamic symbols have no "
					"line_number)"
				      : "bash had no current line, or its memory could not be "
					"read";
		sh.script_path = script_path(e->pid, !p->from_kernel, p->exe, e->args, e->args_len,
					     cwd, path, sizeof(path));
		return tg_callsite_shell(&sh, cs) ? cs : NULL;
	}
	/* A program a shell script started (cat > /tmp/f): the parent's script, its arguments
	 * read from /proc while it lives, else as the kernel kept them at the program's execve
	 * (TG_SH_PARENT). */
	if (!par || par->pid != e->ppid || !par->exe[0] ||
	    tg_shell_of(par->exe, par->comm) == TG_SHELL_NONE)
		n = 0;
	else {
		snprintf(ppath, sizeof(ppath), "/proc/%u/cmdline", par->pid);
		n = read_all(ppath, pargs, sizeof(pargs));
	}
	if (n <= 0)
		return exited_parent(e, p, reg, b, cs);
	sh = (struct tg_shell_proc){
		.pid = par->pid,
		.exe = par->exe,
		.args = pargs,
		.args_len = (size_t)n,
		.args_truncated = (size_t)n == sizeof(pargs),
	};
	sh.script_path =
		script_path(par->pid, true, par->exe, pargs, (size_t)n, NULL, pcwd, sizeof(pcwd));
	/* The line the kernel read at this program's execve, from the bash child it was forked
	 * as (TG_SH_PARENT): the command that started it. */
	if (e->shell_flags & TG_SH_PARENT) {
		sh.line = e->shell_line;
		sh.line_flags = e->shell_flags;
		return tg_callsite_shell_child(p->exe, e->pid, &sh, cs) ? cs : NULL;
	}
	/* Fallback, only when the kernel gave none (the program exec'd again, as `env touch`
	 * does; the bash was not registered; the exec came before tmpguard started): the parent's
	 * line now, not at the create. It may have moved on (line_later). */
	bash = live_bash(reg, par->pid);
	if (bash && tg_bash_read(par->pid, &bash->bash, &sh.line, &sh.line_flags) == 0 &&
	    (sh.line_flags & TG_SH_LINE))
		sh.line_later = true;
	else if (bash)
		sh.line_why = "the shell's line could not be read from its memory";
	return tg_callsite_shell_child(p->exe, e->pid, &sh, cs) ? cs : NULL;
}
