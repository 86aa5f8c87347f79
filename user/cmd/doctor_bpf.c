// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tmpguard doctor: what the kernel's BPF can do here. BTF, the map types and helpers tmpguard's
 * programs use, the program types, BPF LSM, fentry and tp_btf on the tracepoints tmpguard uses,
 * the hooks --hooks auto takes; with -v, tmpguard's own programs as run loads them. A probe
 * loads a program (or creates a map) and closes it at once; the release is information only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "doctor_int.h"
#include "loader.h"

/* Loads "r0 = 0; exit" as a BTF-attached program and closes it at once. Returns 0 if the kernel
 * accepted it, otherwise the errno it refused it with. */
static int try_btf_prog(enum bpf_prog_type type, enum bpf_attach_type attach, int btf_id)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach,
		    .attach_btf_id = (__u32)btf_id);
	int fd;

	fd = bpf_prog_load(type, "tg_doctor", "GPL", insns, ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		return -fd; /* libbpf 1.x returns -errno */
	close(fd);
	return 0;
}

/* For information only: what tmpguard needs is probed below, feature by feature, since distribution
 * kernels backport BPF features and a release number proves nothing either way. */
void check_kernel(struct doctor *d)
{
	struct doc_check *c = check_add(d, DOC_INFO, "kernel");
	struct utsname u;

	if (uname(&u)) {
		check_value(c, "unknown");
		check_verdict(c, "uname failed (%s); the BPF probes below decide", strerror(errno));
		return;
	}
	check_value(c, "%s %s", u.release, u.machine);
	if (strcmp(u.machine, "x86_64") != 0) { /* bpf/ is built with __TARGET_ARCH_x86 */
		c->status = DOC_MISSING;
		check_verdict(c, "tmpguard's BPF programs read x86_64 syscall registers: run it on "
				 "an x86_64 kernel");
		block(d, "not an x86_64 kernel (%s)", u.machine);
		return;
	}
	check_verdict(c, "for information: tmpguard's needs are probed below, not read from the "
			 "release (it was written for 5.17 or later)");
}

/* The loader reads /sys/kernel/btf/vmlinux itself and refuses to start without it; libbpf's
 * fallbacks (/boot/vmlinux-*) would serve CO-RE but not tp_btf or LSM attach. */
void check_btf(struct doctor *d)
{
	const char *path = "/sys/kernel/btf/vmlinux";
	struct doc_check *c;
	int err;

	if (access(path, R_OK)) {
		err = errno;
		c = check_add(d, DOC_MISSING, "btf");
		check_value(c, "%s: %s", path, errno_name(err));
		if (err == EACCES)
			check_verdict(c, "not readable by this user: run as root");
		else
			check_verdict(c,
				      "the kernel exposes no BTF (%s): tmpguard needs a kernel "
				      "built with CONFIG_DEBUG_INFO_BTF=y",
				      strerror(err));
		block(d, "no readable %s", path);
		return;
	}
	errno = 0;
	d->vmlinux = btf__load_vmlinux_btf();
	if (!d->vmlinux) {
		err = errno ? errno : EINVAL;
		c = check_add(d, DOC_MISSING, "btf");
		check_value(c, "%s: %s", path, errno_name(err));
		check_verdict(c, "libbpf cannot parse the kernel's BTF (%s): CO-RE cannot relocate",
			      strerror(err));
		block(d, "libbpf cannot parse %s", path);
		return;
	}
	c = check_add(d, DOC_OK, "btf");
	check_value(c, "%s (%u types)", path, btf__type_cnt(d->vmlinux));
	check_verdict(c, "kernel types readable: CO-RE relocations and BTF attach work");
}

void check_ringbuf(struct doctor *d)
{
	int r = pretend_missing("ringbuf") ? 0
					   : libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	struct doc_check *c;

	if (r == 1) {
		c = check_add(d, DOC_OK, "ringbuf map");
		check_value(c, "supported");
		check_verdict(c, "tmpguard delivers its events through a BPF ring buffer");
		return;
	}
	c = check_add(d, DOC_MISSING, "ringbuf map");
	if (r == 0)
		check_value(c, "refused");
	else
		check_value(c, "probe failed: %s", errno_name(-r));
	if (refused_for_privilege(d, c))
		return;
	check_verdict(c, "the kernel would not create a BPF_MAP_TYPE_RINGBUF map: tmpguard cannot "
			 "deliver events; it needs Linux 5.8 or later");
	block(d, "no BPF ring buffer map (Linux 5.8 or later)");
}

/* The other map types of bpf/maps.bpf.h, each created (and closed) as the probe. */
void check_maps(struct doctor *d)
{
	static const struct {
		enum bpf_map_type type;
		const char *name, *since;
	} maps[] = {
		{BPF_MAP_TYPE_HASH, "hash", "3.19"},
		{BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array", "4.6"},
		{BPF_MAP_TYPE_LRU_HASH, "lru_hash", "4.10"},
		{BPF_MAP_TYPE_TASK_STORAGE, "task_storage", "5.11"},
	};
	char ok[96] = "", missing[160] = "", since[8] = "";
	struct doc_check *c;

	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		int r = pretend_missing(maps[i].name)
				? 0
				: libbpf_probe_bpf_map_type(maps[i].type, NULL);
		char *buf = r == 1 ? ok : missing;
		size_t len = strlen(buf), cap = r == 1 ? sizeof(ok) : sizeof(missing);

		snprintf(buf + len, cap - len, "%s%s", len ? " " : "", maps[i].name);
		if (r != 1) /* maps[] is in the order the kernel gained them */
			snprintf(since, sizeof(since), "%s", maps[i].since);
	}
	c = check_add(d, missing[0] ? DOC_MISSING : DOC_OK, "map types");
	if (!missing[0]) {
		check_value(c, "%s: created", ok);
		check_verdict(c, "the kernel creates every other map type tmpguard's programs use");
		return;
	}
	check_value(c, "refused: %s", missing);
	if (refused_for_privilege(d, c))
		return;
	check_verdict(c,
		      "the kernel would not create these BPF map types: tmpguard's programs "
		      "cannot load; it needs Linux %s or later",
		      since);
	block(d, "BPF map types refused: %s (Linux %s or later)", missing, since);
}

/*
 * The helpers tmpguard's programs call (bpf/). Each is probed by loading a tracepoint program that
 * calls it: the verifier's "invalid func" (an id it does not know), "unknown func" (up to 6.1)
 * or "program of this type cannot use helper" (later kernels) means the kernel lacks it or
 * refuses it to tracing programs, as lockdown=confidentiality does to bpf_probe_read_kernel. Any
 * other refusal is about the (absent) arguments: the helper is there. libbpf 1.1's
 * libbpf_probe_bpf_helper() knows only the first two messages and so calls a helper refused by
 * a 6.12 kernel available. Every program calls bpf_loop and the readers, so one missing required
 * helper means no program loads. bpf_get_func_ret (fexit) is covered by the hooks line: a kernel
 * that lacks it loads no fexit program, and --hooks auto falls back to the tracepoints.
 */
struct doc_helper {
	enum bpf_func_id id;
	const char *name, *since;
	bool required;
	const char *what; /* what it is for */
};

static const struct doc_helper helpers[] = {
	{BPF_FUNC_probe_read_kernel, "bpf_probe_read_kernel", "5.5", true,
	 "reads kernel structs (BPF_CORE_READ)"},
	{BPF_FUNC_probe_read_kernel_str, "bpf_probe_read_kernel_str", "5.5", true,
	 "reads names from the kernel (dentries, comm)"},
	{BPF_FUNC_probe_read_user, "bpf_probe_read_user", "5.5", true,
	 "reads syscall arguments (open_how)"},
	{BPF_FUNC_probe_read_user_str, "bpf_probe_read_user_str", "5.5", true,
	 "reads the path a program passed"},
	{BPF_FUNC_ringbuf_reserve, "bpf_ringbuf_reserve", "5.8", true, "writes records"},
	{BPF_FUNC_ringbuf_output, "bpf_ringbuf_output", "5.8", true, "writes records"},
	{BPF_FUNC_ringbuf_query, "bpf_ringbuf_query", "5.8", true, "counts records lost"},
	{BPF_FUNC_ktime_get_boot_ns, "bpf_ktime_get_boot_ns", "5.8", true, "stamps records"},
	{BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf", "5.11", true,
	 "reads the calling task"},
	{BPF_FUNC_task_storage_get, "bpf_task_storage_get", "5.11", true,
	 "keeps an open's arguments from syscall entry to exit"},
	{BPF_FUNC_task_pt_regs, "bpf_task_pt_regs", "5.15", true, "reads a syscall's registers"},
	{BPF_FUNC_loop, "bpf_loop", "5.17", true,
	 "walks names and paths within the verifier's budget"},
	{BPF_FUNC_send_signal, "bpf_send_signal", "5.3", false,
	 "--enforce-fallback=kill, where BPF LSM is unavailable"},
};

/* 1: the kernel offers the helper to tracepoint programs; 0: it does not; -errno: no answer. */
static int probe_helper(enum bpf_func_id id)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_JMP | BPF_CALL, .imm = id},
		{.code = BPF_JMP | BPF_EXIT},
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "tg_doctor", "GPL", insns,
			       ARRAY_SIZE(insns), &opts);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (strstr(log, "invalid func ") || strstr(log, "unknown func ") ||
	    strstr(log, "program of this type cannot use helper "))
		return 0;
	return log[0] ? 1 : fd; /* the verifier ran and objected to something else */
}

static void helper_missing(struct doctor *d, const struct doc_helper *h, int r)
{
	struct doc_check *c = check_add(d, h->required ? DOC_MISSING : DOC_WARN, h->name);

	if (r < 0)
		check_value(c, "probe failed: %s", errno_name(-r));
	else
		check_value(c, "refused");
	if (refused_for_privilege(d, c))
		return;
	if (h->id == BPF_FUNC_probe_read_kernel || h->id == BPF_FUNC_probe_read_kernel_str) {
		if (d->confidentiality) {
			check_verdict(
				c,
				"%s helper refused under lockdown=confidentiality: no tmpguard "
				"program can load; boot with lockdown=integrity or none",
				h->name);
			block(d, "%s refused under lockdown=confidentiality", h->name);
			return;
		}
	}
	if (h->required) {
		check_verdict(c,
			      "%s helper not available (it %s): tmpguard needs Linux %s or later",
			      h->name, h->what, h->since);
		block(d, "%s helper not available: tmpguard needs Linux %s or later", h->name,
		      h->since);
	} else {
		check_verdict(c, "%s helper not available: no %s; auditing is unaffected", h->name,
			      h->what);
	}
}

void check_helpers(struct doctor *d)
{
	int n_ok = 0, n = (int)ARRAY_SIZE(helpers);
	bool required_missing = false;
	struct doc_check *c;

	for (int i = 0; i < n; i++) {
		int r;

		if (!d->bpf_ok)
			break;
		r = pretend_missing(helpers[i].name) ? 0 : probe_helper(helpers[i].id);
		if (r == 1) {
			n_ok++;
			continue;
		}
		required_missing |= helpers[i].required;
		helper_missing(d, &helpers[i], r);
	}
	c = check_add(d,
		      !d->bpf_ok	 ? DOC_INFO
		      : required_missing ? DOC_MISSING
		      : n_ok < n	 ? DOC_WARN
					 : DOC_OK,
		      "bpf helpers");
	if (!d->bpf_ok) {
		check_value(c, "not probed");
		check_verdict(c, "cannot load BPF programs without CAP_BPF and CAP_PERFMON to find "
				 "out: rerun as root");
		return;
	}
	check_value(c, "%d of %d available", n_ok, n);
	if (n_ok == n)
		check_verdict(c, "every helper tmpguard's programs call is offered to tracing "
				 "programs, bpf_loop (5.17) and bpf_task_pt_regs (5.15) included");
	else
		check_verdict(c, "see the lines above for what is missing");
}

/* libbpf_probe_bpf_prog_type() answers only yes or no: it cannot tell a type the kernel lacks
 * from a load the kernel refuses (a missing privilege, a lockdown). */
void check_prog_type(struct doctor *d, const char *name, enum bpf_prog_type type)
{
	int r = libbpf_probe_bpf_prog_type(type, NULL);
	struct doc_check *c;

	switch (type) {
	case BPF_PROG_TYPE_TRACEPOINT:
		if (r == 1) {
			c = check_add(d, DOC_OK, name);
			check_value(c, "supported");
			check_verdict(c, "tracepoint programs load: tmpguard's open, mkdir and "
					 "probe hooks can run");
			return;
		}
		c = check_add(d, DOC_MISSING, name);
		check_value(c, "refused");
		if (refused_for_privilege(d, c))
			return;
		check_verdict(c, "tracepoint programs do not load: tmpguard cannot audit");
		block(d, "tracepoint programs do not load");
		return;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		c = check_add(d, r == 1 ? DOC_OK : DOC_INFO, name);
		check_value(c, r == 1 ? "supported" : "refused");
		if (r != 1 && refused_for_privilege(d, c))
			return;
		check_verdict(c,
			      r == 1 ? "raw tracepoint programs load (tmpguard does not use them)"
				     : "raw tracepoint programs do not load; auditing does not "
				       "need them");
		return;
	default: /* BPF_PROG_TYPE_TRACING */
		if (r == 1 || d->fork_err == 0) {
			c = check_add(d, DOC_OK, name);
			if (r == 1)
				check_value(c, "supported");
			else
				check_value(c, "tp_btf loads, fentry %s",
					    d->fentry_err > 0 ? errno_name(d->fentry_err)
							      : "refused");
			check_verdict(c,
				      "%stp_btf/sched_process_fork loads: `tmpguard run` and "
				      "`audit --pid` can follow forks",
				      r == 1 ? ""
					     : "libbpf's probe (an fentry load) says no, but ");
			return;
		}
		c = check_add(d, DOC_WARN, name);
		if (d->fork_err > 0)
			check_value(c, "tp_btf refused (%s)", errno_name(d->fork_err));
		else
			check_value(c, "refused");
		if (refused_for_privilege(d, c))
			return;
		check_verdict(c,
			      "no tp_btf programs: `tmpguard run` and `audit --pid` cannot follow "
			      "forks; system-wide auditing is unaffected");
		return;
	}
}

/* Is "bpf" in the active LSM list? securityfs says; /proc/cmdline's lsm= is a fallback. */
static int bpf_lsm_active(struct doctor *d)
{
	char list[512], cmdline[4096];
	struct mount_hit hit;
	struct doc_check *c;
	const char *lsm;
	int err;

	err = read_small("/sys/kernel/security/lsm", list, sizeof(list));
	if (!err) {
		bool on = list_has(list, "bpf");

		c = check_add(d, on ? DOC_OK : DOC_WARN, "bpf lsm active");
		check_value(c, "%s", list);
		check_verdict(c, on ? "bpf is an active LSM: attached LSM programs run"
				    : "bpf is not an active LSM: LSM programs would never run; "
				      "enforcement needs lsm=...,bpf on the kernel command line");
		return on;
	}
	if (read_small("/proc/cmdline", cmdline, sizeof(cmdline)) == 0) {
		lsm = strstr(cmdline, "lsm=");
		if (lsm && (lsm == cmdline || lsm[-1] == ' ')) {
			bool on;

			lsm += 4;
			cmdline[lsm - cmdline + strcspn(lsm, " ")] = '\0';
			on = list_has(lsm, "bpf");
			c = check_add(d, on ? DOC_OK : DOC_WARN, "bpf lsm active");
			check_value(c, "lsm=%s (/proc/cmdline)", lsm);
			check_verdict(c, on ? "bpf is in the boot-time LSM list"
					    : "bpf is not in the boot-time LSM list: LSM programs "
					      "would never run");
			return on;
		}
	}
	c = check_add(d, DOC_INFO, "bpf lsm active");
	check_value(c, "unknown");
	if (err == ENOENT && (find_mount("/sys/kernel/security", &hit) ||
			      strcmp(hit.mnt_point, "/sys/kernel/security") != 0 ||
			      strcmp(hit.fstype, "securityfs") != 0))
		check_verdict(c, "securityfs is not mounted, so the active LSM list cannot be read "
				 "(doctor mounts nothing; mount -t securityfs securityfs "
				 "/sys/kernel/security to see it)");
	else
		check_verdict(c, "cannot read /sys/kernel/security/lsm: %s", strerror(err));
	return -1;
}

void check_lsm(struct doctor *d)
{
	int active = bpf_lsm_active(d), id, err;
	struct doc_check *c;

	if (!d->vmlinux) {
		c = check_add(d, DOC_INFO, "bpf lsm load");
		check_value(c, "not tried");
		check_verdict(c,
			      "no vmlinux BTF to find the hook in: enforcement (deny) unavailable");
		return;
	}
	id = btf__find_by_name_kind(d->vmlinux, "bpf_lsm_file_open", BTF_KIND_FUNC);
	if (id < 0) {
		c = check_add(d, DOC_MISSING, "bpf lsm load");
		check_value(c, "no bpf_lsm_file_open");
		check_verdict(c, "kernel built without CONFIG_BPF_LSM: enforcement (deny) "
				 "unavailable; auditing is unaffected");
		return;
	}
	err = try_btf_prog(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, id);
	if (err) {
		c = check_add(d, DOC_WARN, "bpf lsm load");
		check_value(c, "lsm/file_open: %s", errno_name(err));
		if (!refused_for_privilege(d, c))
			check_verdict(c,
				      "BPF LSM programs refused by this kernel (%s): --enforce "
				      "unavailable (--enforce-fallback=kill kills after the fact); "
				      "auditing is unaffected",
				      errno_name(err));
	} else if (active == 0) {
		c = check_add(d, DOC_WARN, "bpf lsm load");
		check_value(c, "lsm/file_open: loads");
		check_verdict(c,
			      "loads, but bpf is not an active LSM: enforcement (deny) unavailable "
			      "until booted with lsm=...,bpf");
	} else {
		c = check_add(d, DOC_OK, "bpf lsm load");
		check_value(c, "lsm/file_open: loads");
		check_verdict(c,
			      active == 1
				      ? "enforcement available: --enforce denies, --dry-run reports"
				      : "loads; enforcement (deny) works if bpf is an active "
					"LSM (unknown, see above)");
	}
}

/* tp_btf attaches to the typedef that the kernel's tracepoint macros emit for each event. */
static int try_tp_btf(struct doctor *d, const char *typedef_name, int *id)
{
	*id = btf__find_by_name_kind(d->vmlinux, typedef_name, BTF_KIND_TYPEDEF);
	return *id < 0 ? -1 : try_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, *id);
}

/*
 * BPF_PROG_TYPE_TRACING covers fentry and tp_btf, and a kernel may refuse one and take the other
 * (libbpf's yes/no probe is an fentry load, so it can say no while tp_btf works). Both are tried
 * before the program type lines are written so that the TRACING line can say which.
 */
void probe_tracing(struct doctor *d)
{
	int id;

	d->fentry_fn = "do_sys_openat2";
	d->fentry_err = -1;
	d->fork_err = -1;
	d->iou_tp = "io_uring_submit_req";
	d->iou_id = -ENOENT;
	d->iou_err = -1;
	d->iouc_err = -1;
	d->ia32_id = -ENOENT;
	d->sys_exit_err = -1;
	if (!d->vmlinux)
		return;
	id = btf__find_by_name_kind(d->vmlinux, d->fentry_fn, BTF_KIND_FUNC);
	if (id < 0) {
		d->fentry_fn = "vfs_open";
		id = btf__find_by_name_kind(d->vmlinux, d->fentry_fn, BTF_KIND_FUNC);
	}
	if (id >= 0)
		d->fentry_err = try_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, id);
	/* What tmpguard loads for `run` and `audit --pid` (bpf/proc.bpf.c). */
	d->fork_err = try_tp_btf(d, "btf_trace_sched_process_fork", &id);
	/* What tmpguard loads for io_uring (bpf/uring.bpf.c) and 32-bit syscalls (ia32.bpf.c). */
	d->iou_err = try_tp_btf(d, "btf_trace_io_uring_submit_req", &d->iou_id);
	if (d->iou_id < 0) {
		d->iou_tp = "io_uring_submit_sqe";
		d->iou_err = try_tp_btf(d, "btf_trace_io_uring_submit_sqe", &d->iou_id);
	}
	d->iouc_err = try_tp_btf(d, "btf_trace_io_uring_complete", &id);
	d->sys_exit_err = try_tp_btf(d, "btf_trace_sys_exit", &id);
	d->ia32_id = btf__find_by_name_kind(d->vmlinux, "__ia32_compat_sys_openat", BTF_KIND_FUNC);
}

void check_fentry(struct doctor *d)
{
	struct doc_check *c;

	if (!d->vmlinux) {
		c = check_add(d, DOC_INFO, "fentry load");
		check_value(c, "not tried");
		check_verdict(c, "no vmlinux BTF to find an attach point in");
	} else if (d->fentry_err < 0) {
		c = check_add(d, DOC_INFO, "fentry load");
		check_value(c, "not tried");
		check_verdict(c, "neither do_sys_openat2 nor vfs_open is in vmlinux BTF");
	} else if (d->fentry_err) {
		c = check_add(d, DOC_INFO, "fentry load");
		check_value(c, "fentry/%s: %s", d->fentry_fn, errno_name(d->fentry_err));
		if (!refused_for_privilege(d, c))
			check_verdict(c,
				      "fentry programs refused by this kernel (%s): auditing uses "
				      "syscall tracepoints (--hooks auto) and is unaffected",
				      errno_name(d->fentry_err));
	} else {
		c = check_add(d, DOC_OK, "fentry load");
		check_value(c, "fentry/%s: loads", d->fentry_fn);
		check_verdict(c, "fentry programs load");
	}
}

/* What --hooks auto (the default) audits from: the loader's own test, as it will run it. */
void check_hooks(struct doctor *d)
{
	struct doc_check *c;
	char why[384];

	if (!d->bpf_ok) {
		c = check_add(d, DOC_INFO, "hooks");
		check_value(c, "unknown");
		check_verdict(c, "cannot load BPF programs without CAP_BPF and CAP_PERFMON to "
				 "find out");
	} else if (tg_fentry_loadable(why, sizeof(why)) == 0) {
		d->hooks_fentry = true;
		c = check_add(d, DOC_OK, "hooks");
		check_value(c, "fentry");
		check_verdict(c,
			      "--hooks auto audits from fexit programs on do_sys_openat2, "
			      "do_mkdirat, do_mknodat, __sys_bind, vfs_statx and do_faccessat: no "
			      "syscall tracepoint, so other syscalls stay on the fast path");
	} else {
		c = check_add(d, DOC_OK, "hooks");
		check_value(c, "tracepoint");
		check_verdict(c,
			      "--hooks auto audits from syscall tracepoints (every syscall then "
			      "takes the tracing slow path): %s",
			      why);
	}
}

static int ignore_record(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

static void add_prog(void *ctx, const char *name, const char *sec, int fd)
{
	struct doctor *d = ctx;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct doc_prog *p;

	if (d->n_progs >= DOCTOR_MAX_PROGS)
		return;
	p = &d->progs[d->n_progs++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->sec, sizeof(p->sec), "%s", sec);
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		p->verified_insns = info.verified_insns;
}

/*
 * -v: loads tmpguard's programs as `tmpguard run` would here (the hooks --hooks auto picks,
 * call sites on, so every program a session loads, each in its larger form; no enforcement;
 * tracefs is mounted if it is not) and keeps what the verifier did with each: deterministic for
 * a kernel and a mode, budgeted (TG_VERIFIED_INSNS_BUDGET).
 */
void load_programs(struct doctor *d)
{
	struct tg_loader_opts lo = {
		.file_loose_mask = 0027,
		.dir_loose_mask = 0077,
		.ringbuf_bytes = 1 << 16,
		.hooks = TG_HOOKS_AUTO,
		.call_sites = true,
	};
	struct tg_bpf *b =
		tg_bpf_start(&lo, ignore_record, NULL, d->progs_err, sizeof(d->progs_err), NULL);

	if (!b)
		return;
	tg_bpf_for_each_attached(b, add_prog, d);
	tg_bpf_stop(b);
}
