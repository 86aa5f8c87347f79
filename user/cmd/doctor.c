// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tmpguard doctor: one line per check, each with a status, a value and a one-line verdict, then
 * whether tmpguard can audit here. BPF features are probed by loading (and closing at once)
 * programs that do nothing; nothing is attached, mounted or written.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "doctor.h"
#include "doctor_int.h"
#include "loader.h"
#include "tracefs.h"

#define TG_EXIT_USAGE 2

/* linux/capability.h numbers; CAP_BPF and CAP_PERFMON exist since 5.8. */
#define TG_CAP_SYS_ADMIN 21
#define TG_CAP_PERFMON	 38
#define TG_CAP_BPF	 39

static const char *const doc_status_names[] = {
	[DOC_OK] = "ok",
	[DOC_WARN] = "warn",
	[DOC_MISSING] = "missing",
	[DOC_INFO] = "info",
};

struct doc_check *check_add(struct doctor *d, enum doc_status status, const char *name)
{
	struct doc_check *c = d->n < DOCTOR_MAX_CHECKS ? &d->checks[d->n++] : &d->overflow;

	c->status = status;
	c->name = name;
	c->value[0] = '\0';
	c->verdict[0] = '\0';
	return c;
}

__attribute__((format(printf, 2, 3))) void check_value(struct doc_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->value, sizeof(c->value), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) void check_verdict(struct doc_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->verdict, sizeof(c->verdict), fmt, ap);
	va_end(ap);
}

/* Records one reason tmpguard cannot audit on this host. */
__attribute__((format(printf, 2, 3))) void block(struct doctor *d, const char *fmt, ...)
{
	size_t len = strlen(d->blockers);
	va_list ap;

	if (len && len + 2 < sizeof(d->blockers)) {
		strcpy(d->blockers + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(d->blockers + len, sizeof(d->blockers) - len, fmt, ap);
	va_end(ap);
}

/* "EPERM", or "errno 1234" for numbers glibc has no name for. */
const char *errno_name(int err)
{
	static char buf[24];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* Reads a small text file (sysctl, securityfs) into buf without its trailing newline. Returns 0
 * or the errno of the failure. */
int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;
	int err;

	if (!f)
		return errno;
	n = fread(buf, 1, len - 1, f);
	err = ferror(f) ? EIO : 0;
	fclose(f);
	if (err)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A sysctl under /proc/sys as an integer; returns 0 or an errno (EINVAL: not a number). */
int read_sysctl(const char *path, long *val)
{
	char buf[64], *end;
	int err = read_small(path, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf || *end)
		return EINVAL;
	return 0;
}

/* The mount that holds path: the longest mount point that is a prefix of it, and of several
 * mounts stacked on that point the last (topmost). Returns 0 or an errno. */
int find_mount(const char *path, struct mount_hit *hit)
{
	size_t best = 0, cap = 0;
	struct tg_mountinfo m;
	bool found = false;
	char *line = NULL;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return errno;
	while (getline(&line, &cap, f) > 0) {
		size_t len;

		if (tg_mountinfo_parse(line, &m))
			continue;
		len = strlen(m.mnt_point);
		if (strcmp(m.mnt_point, "/") == 0)
			len = 0; /* "/" is a prefix of every path, shorter than any other */
		else if (strncmp(path, m.mnt_point, len) != 0 ||
			 (path[len] != '/' && path[len] != '\0'))
			continue;
		if (found && len < best)
			continue;
		found = true;
		best = len;
		snprintf(hit->mnt_point, sizeof(hit->mnt_point), "%s", m.mnt_point);
		snprintf(hit->fstype, sizeof(hit->fstype), "%s", m.fstype);
		snprintf(hit->mnt_opts, sizeof(hit->mnt_opts), "%s", m.mnt_opts);
	}
	free(line);
	fclose(f);
	return found ? 0 : ENOENT;
}

/* true when word is one of the comma-separated items of list. */
bool list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == wl && strncmp(p, word, wl) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Without CAP_BPF and CAP_PERFMON every probe is refused, whatever the kernel offers: say so
 * instead of blaming the kernel. Returns true when it wrote c's verdict. */
bool refused_for_privilege(const struct doctor *d, struct doc_check *c)
{
	if (d->bpf_ok)
		return false;
	c->status = DOC_WARN;
	check_verdict(c, "refused, but doctor lacks CAP_BPF and CAP_PERFMON, so this says nothing "
			 "about the kernel: rerun as root");
	return true;
}

static void read_caps(struct doctor *d)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (f) {
		while (getline(&line, &cap, f) > 0) {
			unsigned long long v;

			if (sscanf(line, "CapEff: %llx", &v) == 1) {
				d->cap_eff = v;
				d->caps_known = true;
				break;
			}
		}
		free(line);
		fclose(f);
	}
	if (!d->caps_known) /* no /proc: root is the best guess left */
		d->cap_eff = geteuid() == 0 ? ~0ULL : 0;
	/* bpf_capable() and perfmon_capable() also accept CAP_SYS_ADMIN (kernel/capability.c). */
	d->sys_admin = d->cap_eff & (1ULL << TG_CAP_SYS_ADMIN);
	d->bpf_ok = (d->sys_admin || (d->cap_eff & (1ULL << TG_CAP_BPF))) &&
		    (d->sys_admin || (d->cap_eff & (1ULL << TG_CAP_PERFMON)));
}

static void check_tracefs(struct doctor *d)
{
	const char *ev = TG_TRACEFS_PATH "/events/syscalls/sys_enter_openat";
	bool mounted = tg_tracefs_mounted();
	struct doc_check *c;

	if (mounted) {
		c = check_add(d, DOC_OK, "tracefs");
		check_value(c, "mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c, "tracepoints can be looked up by name");
	} else if (d->sys_admin) {
		c = check_add(d, DOC_INFO, "tracefs");
		check_value(c, "not mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c, "tmpguard will mount it at start (doctor mounts nothing)");
	} else {
		c = check_add(d, DOC_MISSING, "tracefs");
		check_value(c, "not mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c,
			      "tmpguard would mount it at start but lacks CAP_SYS_ADMIN; mount it "
			      "by hand: mount -t tracefs tracefs %s",
			      TG_TRACEFS_PATH);
		block(d, "tracefs is not mounted at %s and tmpguard cannot mount it",
		      TG_TRACEFS_PATH);
	}

	if (!mounted) {
		c = check_add(d, DOC_INFO, "sys_enter_openat");
		check_value(c, "unknown");
		check_verdict(c,
			      "cannot look for syscalls/sys_enter_openat until tracefs is mounted");
	} else if (access(ev, F_OK) == 0) {
		c = check_add(d, DOC_OK, "sys_enter_openat");
		check_value(c, "present");
		check_verdict(c, "syscall tracepoints exist: tmpguard attaches its hooks to them");
	} else if (errno == ENOENT) {
		c = check_add(d, DOC_MISSING, "sys_enter_openat");
		check_value(c, "absent");
		check_verdict(c, "no syscall tracepoints (kernel built without "
				 "CONFIG_FTRACE_SYSCALLS): tmpguard cannot see open(2)");
		block(d, "the kernel has no syscalls/sys_enter_openat tracepoint");
	} else {
		c = check_add(d, DOC_WARN, "sys_enter_openat");
		check_value(c, "%s", errno_name(errno));
		check_verdict(c, "cannot look at %s (%s): run as root", ev, strerror(errno));
	}
}

/*
 * Kernel lockdown (security/lockdown): integrity refuses bpf_probe_write_user, which tmpguard
 * does not use; confidentiality also refuses bpf_probe_read_kernel, which every program of
 * tmpguard calls (BPF_CORE_READ). The mode comes from securityfs when it is mounted (doctor
 * mounts nothing); the verdict from a real load of a program that calls the helper.
 */
static void check_lockdown(struct doctor *d)
{
	const struct bpf_insn insns[] = {
		/* r1 = fp - 8; r2 = 8; r3 = 0; call bpf_probe_read_kernel; r0 = 0; exit */
		{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_10},
		{.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_1, .imm = -8},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 8},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0},
		{.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_read_kernel},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	char mode[128] = "", *lb, *rb;
	struct doc_check *c;
	int fd, err;

	err = read_small("/sys/kernel/security/lockdown", mode, sizeof(mode));
	if (!err && (lb = strchr(mode, '[')) && (rb = strchr(lb, ']'))) {
		*rb = '\0';
		memmove(mode, lb + 1, strlen(lb + 1) + 1);
	} else {
		snprintf(mode, sizeof(mode), "%s",
			 err == ENOENT ? "unknown (securityfs not mounted, or no lockdown LSM)"
				       : "unknown");
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "tg_doctor", "GPL", insns, ARRAY_SIZE(insns),
			   NULL);
	if (fd >= 0) {
		close(fd);
		c = check_add(d, DOC_OK, "lockdown");
		check_value(c, "%s", mode);
		check_verdict(c, "bpf_probe_read_kernel loads: tmpguard's programs may read kernel "
				 "memory (integrity mode refuses only bpf_probe_write_user, which "
				 "tmpguard does not use)");
		return;
	}
	c = check_add(d, d->bpf_ok ? DOC_MISSING : DOC_WARN, "lockdown");
	check_value(c, "%s", mode);
	if (refused_for_privilege(d, c))
		return;
	check_verdict(c,
		      "a program calling bpf_probe_read_kernel is refused (%s), as "
		      "lockdown=confidentiality does: no tmpguard program can load; boot with "
		      "lockdown=integrity or none",
		      errno_name(-fd));
	block(d, "the kernel refuses bpf_probe_read_kernel (lockdown %s)", mode);
}

/*
 * IORING_OP_OPENAT opens files in an io-wq worker: no open(2), so none of the syscall
 * tracepoints see it. tmpguard follows such requests from submission to completion with tp_btf
 * programs on io_uring's own tracepoints (bpf/uring.bpf.c); without them they bypass it.
 */
static void check_io_uring(struct doctor *d)
{
	bool hooked = d->iou_id >= 0 && d->iou_err == 0 && d->iouc_err == 0;
	struct doc_check *c;
	long disabled = 0;
	int err;

	err = read_sysctl("/proc/sys/kernel/io_uring_disabled", &disabled);
	if (err && err != ENOENT) {
		c = check_add(d, DOC_INFO, "io_uring");
		check_value(c, "unknown");
		check_verdict(c, "cannot read /proc/sys/kernel/io_uring_disabled: %s",
			      strerror(err));
	} else if (disabled == 2) {
		c = check_add(d, DOC_OK, "io_uring");
		check_value(c, "io_uring_disabled=2");
		check_verdict(c, "disabled: no file can be created through io_uring");
	} else {
		const char *who = disabled == 1 ? "open to io_uring_group and CAP_SYS_ADMIN"
						: "open to every process";

		c = check_add(d, hooked ? DOC_OK : DOC_WARN, "io_uring");
		if (err == ENOENT)
			check_value(c, "enabled (no io_uring_disabled sysctl)");
		else
			check_value(c, "io_uring_disabled=%ld", disabled);
		if (hooked)
			check_verdict(c,
				      "%s: creates through IORING_OP_OPENAT/OPENAT2 are audited "
				      "(and denied under --enforce); one submitted with "
				      "IOSQE_CQE_SKIP_SUCCESS is counted, its outcome unseen",
				      who);
		else
			check_verdict(
				c,
				"%s: files created through io_uring (IORING_OP_OPENAT) bypass "
				"tmpguard here (its io_uring hooks cannot load, see below)",
				who);
	}

	if (d->iou_id < 0) {
		c = check_add(d, DOC_INFO, "io_uring tp_btf");
		check_value(c, "%s", d->vmlinux ? "no io_uring_submit_req tracepoint" : "no BTF");
		check_verdict(c, "this kernel offers no tp_btf hook for io_uring submissions");
	} else if (hooked) {
		c = check_add(d, DOC_OK, "io_uring tp_btf");
		check_value(c, "%s, io_uring_complete: load", d->iou_tp);
		check_verdict(c, "tmpguard follows io_uring opens from submission to completion");
	} else {
		int e = d->iou_err ? d->iou_err : d->iouc_err;

		c = check_add(d, DOC_WARN, "io_uring tp_btf");
		check_value(c, "%s: %s", d->iou_err ? d->iou_tp : "io_uring_complete",
			    e > 0 ? errno_name(e) : "absent");
		if (!refused_for_privilege(d, c))
			check_verdict(c, "tmpguard's io_uring programs cannot load here: io_uring "
					 "creates are not audited");
	}
}

/*
 * 32-bit syscalls (gcc -m32 programs, int 0x80) run from the ia32 table, where the per-syscall
 * tracepoints ignore them; tmpguard sees them from the generic sys_exit tracepoint
 * (bpf/ia32.bpf.c).
 */
static void check_ia32(struct doctor *d)
{
	struct doc_check *c;

	d->ia32 = tg_ia32_probe(d->ia32_why, sizeof(d->ia32_why));
	if (d->ia32 == TG_IA32_OFF && d->vmlinux && d->ia32_id < 0) {
		c = check_add(d, DOC_OK, "ia32 syscalls");
		check_value(c, "not built in");
		check_verdict(c, "no IA32_EMULATION: 32-bit programs cannot run here, and tmpguard "
				 "leaves its sys_exit hook out");
	} else if (d->ia32 == TG_IA32_OFF) {
		c = check_add(d, DOC_OK, "ia32 syscalls");
		check_value(c, "off");
		check_verdict(c,
			      "%s; no 32-bit program can run here, and tmpguard leaves its "
			      "sys_exit hook out",
			      d->ia32_why);
	} else if (d->ia32 == TG_IA32_UNKNOWN && d->sys_exit_err == 0 && !d->hooks_fentry) {
		c = check_add(d, DOC_INFO, "ia32 syscalls");
		check_value(c, "unknown; tp_btf/sys_exit: loads");
		check_verdict(c, "%s: tmpguard keeps its sys_exit hook in case 32-bit programs run",
			      d->ia32_why);
	} else if (d->sys_exit_err == 0 && d->hooks_fentry) {
		c = check_add(d, DOC_OK, "ia32 syscalls");
		check_value(c, "tp_btf/sys_exit: loads");
		check_verdict(
			c, "32-bit open, creat, openat, openat2, mkdir and probes are audited by "
			   "the fexit programs, as native ones are; --hooks tracepoint would "
			   "add sys_exit, a hook on every syscall");
	} else if (d->sys_exit_err == 0) {
		c = check_add(d, DOC_OK, "ia32 syscalls");
		check_value(c, "tp_btf/sys_exit: loads");
		check_verdict(c,
			      "32-bit open, creat, openat, openat2, mkdir and probes are audited "
			      "from sys_exit, a hook on every syscall; a host that runs no 32-bit "
			      "code can boot with ia32_emulation=0 and do without it");
	} else {
		c = check_add(d, DOC_WARN, "ia32 syscalls");
		check_value(c, "tp_btf/sys_exit: %s",
			    d->sys_exit_err > 0 ? errno_name(d->sys_exit_err) : "absent");
		if (!refused_for_privilege(d, c))
			check_verdict(c, "32-bit programs (and int 0x80) create files unseen here");
	}
}

/* Documentation/admin-guide/sysctl/fs.rst; symlinks/hardlinks since 3.6, fifos/regular 4.19. */
static void check_protected(struct doctor *d, const char *name, const char *path, const char *one,
			    const char *two)
{
	struct doc_check *c;
	long v;
	int err = read_sysctl(path, &v);

	if (err) {
		c = check_add(d, DOC_INFO, name);
		check_value(c, "%s", errno_name(err));
		if (err == ENOENT)
			check_verdict(c, "absent: this kernel predates the protection");
		else
			check_verdict(c, "cannot read it: %s", strerror(err));
		return;
	}
	if (v == 0) {
		c = check_add(d, DOC_WARN, name);
		check_value(c, "0");
		check_verdict(c, "symlink/planted-file attacks in sticky directories work on this "
				 "host: the findings tmpguard reports are exploitable here");
	} else if (v == 1 || (v == 2 && two)) {
		c = check_add(d, DOC_OK, name);
		check_value(c, "%ld", v);
		check_verdict(c, "%s", v == 1 ? one : two);
	} else {
		c = check_add(d, DOC_INFO, name);
		check_value(c, "%ld", v);
		check_verdict(c, "unexpected value");
	}
}

static void check_tmpdir(struct doctor *d, const char *dir)
{
	const char *arrow = "", *target = "";
	char real[PATH_MAX];
	struct mount_hit hit;
	struct doc_check *c;
	bool own_mount;
	struct stat st;
	unsigned int perm;
	long hardlinks;
	int err;

	if (!realpath(dir, real) || stat(real, &st)) {
		err = errno;
		c = check_add(d, DOC_INFO, dir);
		check_value(c, "%s", errno_name(err));
		if (err == ENOENT)
			check_verdict(c, "absent");
		else
			check_verdict(c, "cannot look at it: %s", strerror(err));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		c = check_add(d, DOC_INFO, dir);
		check_value(c, "not a directory");
		check_verdict(c, "not a temporary directory on this host");
		return;
	}
	if (strcmp(real, dir) != 0) { /* a symlink, e.g. /var/tmp -> /tmp */
		arrow = "-> ";
		target = real;
	}
	perm = st.st_mode & 07777;
	err = find_mount(real, &hit);
	own_mount = err || strcmp(hit.mnt_point, real) == 0; /* unknown: claim no sharing */

	if ((st.st_mode & S_ISVTX) && (st.st_mode & S_IWOTH)) {
		c = check_add(d, DOC_OK, dir);
		/* Hardlinks cannot cross filesystems: on its own mount nothing outside can be
		 * linked in. fs.protected_hardlinks=1 limits links to files the linker owns. */
		if (!own_mount &&
		    (read_sysctl("/proc/sys/fs/protected_hardlinks", &hardlinks) || hardlinks != 1))
			check_verdict(
				c,
				"sticky and world-writable: a shared directory tmpguard "
				"audits; on the filesystem of %s, and fs.protected_hardlinks "
				"is off, so users can hardlink others' files from there into it",
				hit.mnt_point);
		else
			check_verdict(c, "sticky and world-writable: a shared directory tmpguard "
					 "audits");
	} else if (st.st_mode & S_IWOTH) {
		c = check_add(d, DOC_WARN, dir);
		check_verdict(c,
			      "world-writable without the sticky bit: any user can delete or "
			      "replace anyone's files here (chmod 1777 %s)",
			      dir);
	} else {
		c = check_add(d, DOC_INFO, dir);
		check_verdict(c, "not world-writable: not a shared directory");
	}
	if (err)
		check_value(c, "%s%s%smount unknown (%s), mode %04o", arrow, target,
			    *target ? ", " : "", errno_name(err), perm);
	else
		check_value(c, "%s%s%s%s%s%s%s, %s %s %s, mode %04o", arrow, target,
			    *target ? ", " : "", hit.fstype, own_mount ? "" : " on ",
			    own_mount ? "" : hit.mnt_point,
			    own_mount ? "" : " (not a separate mount)",
			    list_has(hit.mnt_opts, "nosuid") ? "nosuid" : "suid",
			    list_has(hit.mnt_opts, "nodev") ? "nodev" : "dev",
			    list_has(hit.mnt_opts, "noexec") ? "noexec" : "exec", perm);
}

static void check_privileges(struct doctor *d)
{
	static const struct {
		int bit;
		const char *name;
	} caps[] = {
		{TG_CAP_BPF, "CAP_BPF"},
		{TG_CAP_PERFMON, "CAP_PERFMON"},
		{TG_CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	};
	char have[64] = "", lack[64] = "";
	struct doc_check *c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		char *buf = d->cap_eff & (1ULL << caps[i].bit) ? have : lack;

		snprintf(buf + strlen(buf), 64 - strlen(buf), "%s%s", *buf ? " " : "",
			 caps[i].name);
	}
	c = check_add(d, *lack ? DOC_MISSING : DOC_OK, "privileges");
	if (!*lack)
		check_value(c, "euid %u; %shas %s", (unsigned int)geteuid(),
			    d->caps_known ? "" : "CapEff unknown, ", have);
	else if (!*have)
		check_value(c, "euid %u; %slacks %s", (unsigned int)geteuid(),
			    d->caps_known ? "" : "CapEff unknown, ", lack);
	else
		check_value(c, "euid %u; %shas %s; lacks %s", (unsigned int)geteuid(),
			    d->caps_known ? "" : "CapEff unknown, ", have, lack);
	/* The loader checks all three (user/host/loader.c): CAP_SYS_ADMIN for mounting tracefs. */
	if (!*lack) {
		check_verdict(c,
			      "%s: tmpguard may mount tracefs, load its programs and attach them",
			      geteuid() == 0 ? "running as root" : "capabilities suffice");
	} else {
		check_verdict(c, "tmpguard needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: run it as "
				 "root (sudo tmpguard ...)");
		block(d, "not running as root (tmpguard needs CAP_BPF, CAP_PERFMON and "
			 "CAP_SYS_ADMIN)");
	}
}

static void run_checks(struct doctor *d)
{
	libbpf_print_fn_t old_print;

	read_caps(d);
	/* The probes fail on purpose; libbpf's log would only alarm. */
	old_print = libbpf_set_print(NULL);

	check_kernel(d);
	check_btf(d);
	check_tracefs(d);
	check_ringbuf(d);
	check_lockdown(d);
	probe_tracing(d);
	check_prog_type(d, "tracepoint progs", BPF_PROG_TYPE_TRACEPOINT);
	check_prog_type(d, "raw_tracepoint progs", BPF_PROG_TYPE_RAW_TRACEPOINT);
	check_prog_type(d, "tracing progs", BPF_PROG_TYPE_TRACING);
	check_lsm(d);
	check_fentry(d);
	check_hooks(d);
	check_io_uring(d);
	check_ia32(d);

	libbpf_set_print(old_print);

	check_protected(d, "fs.protected_symlinks", "/proc/sys/fs/protected_symlinks",
			"full: in sticky world-writable directories a symlink is followed only if "
			"the follower or the directory owner owns it",
			NULL);
	check_protected(d, "fs.protected_regular", "/proc/sys/fs/protected_regular",
			"partial: O_CREAT opens of others' regular files in world-writable sticky "
			"directories fail (not in group-writable ones)",
			"full: O_CREAT opens of others' regular files in world- and group-writable "
			"sticky directories fail");
	check_protected(d, "fs.protected_hardlinks", "/proc/sys/fs/protected_hardlinks",
			"full: users can hardlink only files they own or can read and write", NULL);
	check_protected(d, "fs.protected_fifos", "/proc/sys/fs/protected_fifos",
			"partial: O_CREAT opens of others' FIFOs in world-writable sticky "
			"directories fail (not in group-writable ones)",
			"full: O_CREAT opens of others' FIFOs in world- and group-writable sticky "
			"directories fail");
	check_tmpdir(d, "/tmp");
	check_tmpdir(d, "/var/tmp");
	check_tmpdir(d, "/dev/shm");
	check_privileges(d);
}

static void print_progs(const struct doctor *d)
{
	if (d->progs_err[0]) {
		printf("programs: did not load: %s\n", d->progs_err);
		return;
	}
	printf("programs, as tmpguard audit loads them here (verified_insns, budget %d each):\n",
	       TG_VERIFIED_INSNS_BUDGET);
	for (int i = 0; i < d->n_progs; i++)
		printf("  %-46s %-8u %s\n", d->progs[i].sec, d->progs[i].verified_insns,
		       d->progs[i].verified_insns > TG_VERIFIED_INSNS_BUDGET ? "OVER BUDGET" : "");
}

static void print_text(const struct doctor *d)
{
	int i, name_w = 0, value_w = 0;

	for (i = 0; i < d->n; i++) {
		int nl = (int)strlen(d->checks[i].name), vl = (int)strlen(d->checks[i].value);

		name_w = nl > name_w ? nl : name_w;
		value_w = vl > value_w ? vl : value_w;
	}
	if (value_w > 36) /* a few long values should not push every verdict off screen */
		value_w = 36;
	for (i = 0; i < d->n; i++) {
		const struct doc_check *c = &d->checks[i];

		printf("%-7s  %-*s  %-*s  %s\n", doc_status_names[c->status], name_w, c->name,
		       value_w, c->value, c->verdict);
	}
	if (d->blockers[0])
		printf("tmpguard cannot audit on this host: %s\n", d->blockers);
	else
		printf("tmpguard can audit on this host\n");
}

/* Adds key: string to obj; on failure frees what it made and returns -1. */
static int json_add_str(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (!v)
		return -1;
	if (json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int print_json(const struct doctor *d)
{
	struct json_object *root, *checks, *o;
	int i;

	root = json_object_new_object();
	checks = json_object_new_array();
	if (!root || !checks || json_object_object_add(root, "checks", checks)) {
		json_object_put(checks);
		goto oom;
	}
	for (i = 0; i < d->n; i++) {
		const struct doc_check *c = &d->checks[i];

		o = json_object_new_object();
		if (!o || json_object_array_add(checks, o)) {
			json_object_put(o);
			goto oom;
		}
		if (json_add_str(o, "name", c->name) ||
		    json_add_str(o, "status", doc_status_names[c->status]) ||
		    json_add_str(o, "value", c->value) || json_add_str(o, "verdict", c->verdict))
			goto oom;
	}
	if (d->n_progs || d->progs_err[0]) {
		struct json_object *progs = json_object_new_array();

		if (!progs || json_object_object_add(root, "programs", progs)) {
			json_object_put(progs);
			goto oom;
		}
		for (i = 0; i < d->n_progs; i++) {
			o = json_object_new_object();
			if (!o || json_object_array_add(progs, o)) {
				json_object_put(o);
				goto oom;
			}
			if (json_add_str(o, "name", d->progs[i].name) ||
			    json_add_str(o, "hook", d->progs[i].sec) ||
			    json_object_object_add(
				    o, "verified_insns",
				    json_object_new_int64(d->progs[i].verified_insns)))
				goto oom;
		}
		if (json_object_object_add(root, "verified_insns_budget",
					   json_object_new_int(TG_VERIFIED_INSNS_BUDGET)) ||
		    (d->progs_err[0] && json_add_str(root, "programs_error", d->progs_err)))
			goto oom;
	}
	o = json_object_new_boolean(!d->blockers[0]);
	if (!o || json_object_object_add(root, "can_audit", o)) {
		json_object_put(o);
		goto oom;
	}
	if (json_add_str(root, "summary",
			 d->blockers[0] ? d->blockers : "tmpguard can audit on this host"))
		goto oom;
	printf("%s\n", json_object_to_json_string_ext(
			       root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
oom:
	fprintf(stderr, "tmpguard doctor: cannot build the JSON report: out of memory\n");
	json_object_put(root);
	return -ENOMEM;
}

enum { OPT_FORMAT = 0x100 };

static const struct argp_option doctor_options[] = {
	{"format", OPT_FORMAT, "FORMAT", 0, "text (default) or json", 0},
	{"verbose", 'v', NULL, 0,
	 "also load tmpguard's programs as audit would (this mounts tracefs if it is not) and list "
	 "the verifier's work on each (verified_insns) against its budget",
	 0},
	/* -h has always meant help here; argp's own short help is -? */
	{NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0},
	{},
};

static const char doctor_doc[] =
	"Report what this kernel offers and what tmpguard will use: kernel release, BTF, tracefs, "
	"BPF ring buffer and program types, BPF LSM, fentry, io_uring, ia32, the fs.protected_* "
	"sysctls, the mounts of /tmp, /var/tmp and /dev/shm, and privileges. Probes by loading "
	"programs that do nothing; mounts and changes nothing.\v"
	"Examples:\n"
	"  tmpguard doctor\n"
	"  tmpguard doctor --format json\n"
	"  tmpguard doctor -v\n"
	"\n"
	"Exit status: 0 if tmpguard can audit on this host, 1 if it cannot, 2 on a usage error.";

struct doctor_args {
	bool json, verbose;
};

static error_t parse_doctor(int key, char *arg, struct argp_state *state)
{
	struct doctor_args *a = state->input;

	switch (key) {
	case OPT_FORMAT:
		if (!strcmp(arg, "text")) {
			a->json = false;
		} else if (!strcmp(arg, "json")) {
			a->json = true;
		} else {
			argp_error(state, "invalid format '%s': expected text or json", arg);
			return EINVAL;
		}
		break;
	case 'v':
		a->verbose = true;
		break;
	case 'h':
		argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s': doctor takes only options", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	struct argp argp = {.options = doctor_options, .parser = parse_doctor, .doc = doctor_doc};
	struct doctor_args a = {0};
	struct doctor *d;
	int err;

	argv[0] = "tmpguard doctor";
	argp_err_exit_status = TG_EXIT_USAGE; /* argp exits on a usage error, 0 on --help */
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "tmpguard doctor: cannot allocate the report: out of memory\n");
		return 1;
	}
	run_checks(d);
	if (a.verbose && !d->blockers[0])
		load_programs(d);
	if (a.json) {
		err = print_json(d);
	} else {
		print_text(d);
		if (a.verbose)
			print_progs(d);
		err = 0;
	}
	err = (err || d->blockers[0]) ? 1 : 0;
	btf__free(d->vmlinux);
	free(d);
	return err;
}
