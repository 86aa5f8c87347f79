// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tmpguard doctor: the host's settings. Privileges, tracefs, kernel lockdown, whether creates
 * through io_uring and 32-bit syscalls reach tmpguard's hooks, the fs.protected_* sysctls and
 * the mounts of the shared temporary directories. Reads and probes; mounts and changes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "doctor_int.h"
#include "loader.h"
#include "tracefs.h"

/* linux/capability.h numbers; CAP_BPF and CAP_PERFMON exist since 5.8. */
#define TG_CAP_SYS_ADMIN 21
#define TG_CAP_PERFMON	 38
#define TG_CAP_BPF	 39

void read_caps(struct doctor *d)
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

/* The syscall tracepoints tmpguard attaches under --hooks tracepoint (bpf/open.bpf.c,
 * mkdir.bpf.c, probe.bpf.c); --hooks auto falls back to them where fentry does not load. */
static const char *const syscall_tps[] = {
	"sys_enter_open", "sys_enter_openat", "sys_enter_openat2", "sys_enter_creat",
	"sys_exit_open",  "sys_exit_openat",  "sys_exit_openat2",  "sys_exit_creat",
	"sys_exit_mkdir", "sys_exit_mkdirat", "sys_exit_mknod",	   "sys_exit_mknodat",
	"sys_exit_bind",
};

static void check_syscall_tps(struct doctor *d, bool fentry)
{
	char path[PATH_MAX], absent[256] = "";
	int n_absent = 0, err = 0;
	struct doc_check *c;

	for (size_t i = 0; i < ARRAY_SIZE(syscall_tps); i++) {
		snprintf(path, sizeof(path), "%s/events/syscalls/%s", TG_TRACEFS_PATH,
			 syscall_tps[i]);
		if (access(path, F_OK) == 0)
			continue;
		if (errno != ENOENT) {
			err = errno;
			break;
		}
		n_absent++;
		snprintf(absent + strlen(absent), sizeof(absent) - strlen(absent), "%s%s",
			 n_absent > 1 ? " " : "", syscall_tps[i]);
	}
	if (err) {
		c = check_add(d, DOC_WARN, "syscall tracepoints");
		check_value(c, "%s", errno_name(err));
		check_verdict(c, "cannot look in %s/events/syscalls (%s): run as root",
			      TG_TRACEFS_PATH, strerror(err));
	} else if (!n_absent) {
		c = check_add(d, DOC_OK, "syscall tracepoints");
		check_value(c, "%zu present", ARRAY_SIZE(syscall_tps));
		check_verdict(c, "syscalls/sys_enter_open* and sys_exit_{open*,creat,mkdir*,mknod*,"
				 "bind} exist: tmpguard can attach its tracepoint hooks");
	} else if (fentry) {
		c = check_add(d, DOC_WARN, "syscall tracepoints");
		check_value(c, "absent: %s", absent);
		check_verdict(c, "--hooks auto audits from fexit programs here and needs none of "
				 "them; --hooks tracepoint would fail");
	} else {
		c = check_add(d, DOC_MISSING, "syscall tracepoints");
		check_value(c, "absent: %s", absent);
		check_verdict(c, "the kernel lacks syscall tracepoints tmpguard attaches (built "
				 "without CONFIG_FTRACE_SYSCALLS?): tmpguard cannot see these "
				 "syscalls; use a kernel with CONFIG_FTRACE_SYSCALLS=y");
		block(d, "the kernel has no syscalls/%s tracepoint%s", absent,
		      n_absent > 1 ? "s" : "");
	}
}

/* Under --hooks auto tracefs and the syscall tracepoints are needed only where fexit programs do
 * not load (the loader mounts tracefs only then): what check_hooks reports, asked early. */
void check_tracefs(struct doctor *d)
{
	bool mounted = tg_tracefs_mounted(), fentry;
	struct doc_check *c;
	char why[384];

	fentry = d->bpf_ok && tg_fentry_loadable(why, sizeof(why)) == 0;

	if (mounted) {
		c = check_add(d, DOC_OK, "tracefs");
		check_value(c, "mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c, "tracepoints can be looked up by name");
	} else if (d->sys_admin) {
		c = check_add(d, DOC_INFO, "tracefs");
		check_value(c, "not mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c, "tmpguard will mount it at start (doctor mounts nothing)");
	} else if (fentry) {
		c = check_add(d, DOC_INFO, "tracefs");
		check_value(c, "not mounted at %s", TG_TRACEFS_PATH);
		check_verdict(c,
			      "--hooks auto audits from fexit programs here and needs no tracefs; "
			      "--hooks tracepoint would need it mounted (mount -t tracefs tracefs "
			      "/sys/kernel/tracing)");
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

	if (mounted) {
		check_syscall_tps(d, fentry);
		return;
	}
	c = check_add(d, DOC_INFO, "syscall tracepoints");
	check_value(c, "unknown");
	check_verdict(c, "cannot look for syscalls/sys_enter_openat and the others until tracefs "
			 "is mounted (doctor mounts nothing; tmpguard will)");
}

/*
 * Kernel lockdown (security/lockdown, Documentation/admin-guide/kernel-parameters.txt):
 * integrity refuses bpf_probe_write_user, which tmpguard does not use; confidentiality also
 * refuses bpf_probe_read_kernel(_str), which every program of tmpguard calls (BPF_CORE_READ),
 * and the opening of tracefs files, through which tracepoints are found by name. The mode comes
 * from securityfs when it is mounted (doctor mounts nothing); the verdict from a real load of a
 * program that calls the helper.
 */
void check_lockdown(struct doctor *d)
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
		d->confidentiality = strcmp(mode, "confidentiality") == 0;
	} else {
		snprintf(mode, sizeof(mode), "%s",
			 err == ENOENT ? "unknown (securityfs not mounted, or no lockdown LSM)"
				       : "unknown");
	}
	fd = pretend_missing("bpf_probe_read_kernel")
		     ? -EPERM
		     : bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "tg_doctor", "GPL", insns,
				     ARRAY_SIZE(insns), NULL);
	if (fd >= 0) {
		close(fd);
		c = check_add(d, DOC_OK, "lockdown");
		check_value(c, "%s", mode);
		if (strcmp(mode, "integrity") == 0)
			check_verdict(c,
				      "integrity refuses bpf_probe_write_user, which tmpguard does "
				      "not use; bpf_probe_read_kernel loads: tmpguard's programs "
				      "may read kernel memory");
		else
			check_verdict(c,
				      "bpf_probe_read_kernel loads: tmpguard's programs may read "
				      "kernel memory");
		return;
	}
	c = check_add(d, d->bpf_ok ? DOC_MISSING : DOC_WARN, "lockdown");
	check_value(c, "%s", mode);
	if (refused_for_privilege(d, c))
		return;
	if (d->confidentiality) {
		check_verdict(c,
			      "lockdown=confidentiality refuses bpf_probe_read_kernel (%s), which "
			      "every tmpguard program calls, and the opening of tracefs files: no "
			      "tmpguard program can load; boot with lockdown=integrity or none",
			      errno_name(-fd));
		block(d, "lockdown=confidentiality refuses bpf_probe_read_kernel: boot with "
			 "lockdown=integrity or none");
		return;
	}
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
void check_io_uring(struct doctor *d)
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
void check_ia32(struct doctor *d)
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
void check_protected(struct doctor *d, const char *name, const char *path, const char *one,
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

void check_tmpdir(struct doctor *d, const char *dir)
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

void check_privileges(struct doctor *d)
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
