// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "loader.h"
#include "syscalls.h"
#include "tmpguard.skel.h"
#include "tracefs.h"

struct tg_bpf {
	struct tmpguard_bpf *skel;
	struct ring_buffer *rb;
	struct ring_buffer *py_rb; /* tg_pyframes, when tg_bpf_py_ring() opened it */
	int nr_attached;
	enum tg_hooks hooks;	  /* in use: TG_HOOKS_FENTRY or TG_HOOKS_TRACEPOINT */
	char hooks_fallback[384]; /* why auto did not take fentry */
	enum tg_ia32 ia32;	  /* 32-bit syscalls on this machine (tg_ia32_probe) */
	char ia32_why[256];
};

static bool verbose_libbpf;

/* The running kernel's BTF, parsed once per process (some 40 ms a parse): the probes of what
 * the kernel offers all look in it. libbpf parses its own copy for CO-RE. */
static const struct btf *kernel_btf(void)
{
	static struct btf *vmlinux;

	if (!vmlinux)
		vmlinux = btf__load_vmlinux_btf();
	return vmlinux;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static bool has_cap(uint64_t capeff, int cap)
{
	return capeff & (1ULL << cap);
}

int tg_check_requirements(char *err, size_t errlen)
{
	char line[256];
	uint64_t capeff = 0;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %lx", &capeff) == 1)
				break;
		fclose(f);
	}
	/* CAP_BPF 39 and CAP_PERFMON 38 load and attach; CAP_SYS_ADMIN 21 mounts tracefs;
	 * CAP_SYS_PTRACE 19 reads other users' /proc/PID/exe. */
	if (!has_cap(capeff, 39) || !has_cap(capeff, 38) || !has_cap(capeff, 21)) {
		snprintf(err, errlen,
			 "needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load its BPF "
			 "programs: run it with sudo, or as root");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(err, errlen,
			 "no kernel BTF at /sys/kernel/btf/vmlinux (%s): tmpguard needs a kernel "
			 "built with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, Fedora and RHEL "
			 "kernels have it)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Attach every program that is set to load; name the one that fails and why. */
static int attach_all(struct tg_bpf *b, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, b->skel->obj)
	{
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			int e = errno;

			snprintf(err, errlen, "cannot attach %s (%s): %s%s",
				 bpf_program__name(prog), bpf_program__section_name(prog),
				 strerror(e),
				 e == ENOENT ? " (tracefs not mounted, or this kernel lacks the "
					       "tracepoint: see tmpguard doctor)"
					     : "");
			return -e;
		}
		/* The skeleton does not own links attached this way: keep them on the
		 * program's skeleton slot for destroy. */
		for (int i = 0; i < b->skel->skeleton->prog_cnt; i++)
			if (*b->skel->skeleton->progs[i].prog == prog)
				*b->skel->skeleton->progs[i].link = link;
		b->nr_attached++;
	}
	return 0;
}

/*
 * Can this kernel run BPF LSM programs? A minimal lsm/file_open program, loaded and dropped.
 * Some kernels refuse them outright (EPERM before the verifier runs); others do not have "bpf"
 * in their lsm= list, and then an attached program would never run.
 */
static int lsm_loadable(char *err, size_t errlen)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_LSM_MAC);
	const struct btf *vmlinux = kernel_btf();
	char lsms[256] = "";
	int id, fd;
	FILE *f;

	if (!vmlinux) {
		snprintf(err, errlen, "cannot read kernel BTF");
		return -1;
	}
	id = btf__find_by_name_kind(vmlinux, "bpf_lsm_file_open", BTF_KIND_FUNC);
	if (id < 0) {
		snprintf(err, errlen,
			 "this kernel has no BPF LSM (CONFIG_BPF_LSM): enforcement is not possible "
			 "here; --enforce-fallback=kill kills offending processes instead, after "
			 "the "
			 "file exists");
		return -1;
	}
	o.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "tg_lsm_probe", "GPL", insns, 2, &o);
	if (fd < 0) {
		int e = errno;

		snprintf(
			err, errlen,
			"this kernel refuses BPF LSM programs (%s): enforcement (deny) is not "
			"possible here; --enforce-fallback=kill kills offending processes instead, "
			"after the file exists",
			strerror(e));
		return -1;
	}
	close(fd);
	/* The active LSM list is in securityfs, which is not always mounted. */
	if (access("/sys/kernel/security/lsm", R_OK) != 0)
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	f = fopen("/sys/kernel/security/lsm", "re");
	if (f) {
		if (!fgets(lsms, sizeof(lsms), f))
			lsms[0] = 0;
		fclose(f);
		if (!strstr(lsms, "bpf")) {
			snprintf(err, errlen,
				 "BPF LSM programs load but \"bpf\" is not in the active LSM list "
				 "(%s): add lsm=...,bpf to the kernel command line; or use "
				 "--enforce-fallback=kill",
				 lsms);
			return -1;
		}
	}
	return 0;
}

#if defined(__x86_64__)
static void ia32_probe_fault(int sig)
{
	_exit(128 + sig);
}

/* The child: getpid is syscall 20 in the ia32 table; int $0x80 clobbers r8-r11. */
static void __attribute__((noreturn)) ia32_probe_child(void)
{
	struct sigaction sa = {.sa_handler = ia32_probe_fault};
	long ret;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	_exit(ret == getpid() ? 0 : 2);
}
#endif

const char *tg_ia32_name(enum tg_ia32 v)
{
	return v == TG_IA32_ON ? "on" : v == TG_IA32_OFF ? "off" : "unknown";
}

enum tg_ia32 tg_ia32_probe(char *why, size_t whylen)
{
	static enum tg_ia32 answer = -1;
	static char seen[256];

	if ((int)answer < 0) {
#if defined(__x86_64__)
		int status;
		pid_t pid;

		answer = TG_IA32_UNKNOWN;
		pid = fork();
		if (pid == 0)
			ia32_probe_child();
		if (pid < 0) {
			snprintf(seen, sizeof(seen), "cannot fork the int $0x80 probe: %s",
				 strerror(errno));
		} else if (waitpid(pid, &status, 0) != pid) {
			snprintf(seen, sizeof(seen), "cannot wait for the int $0x80 probe: %s",
				 strerror(errno));
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			answer = TG_IA32_ON;
			snprintf(seen, sizeof(seen), "int $0x80 getpid runs");
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGSEGV) {
			answer = TG_IA32_OFF;
			snprintf(seen, sizeof(seen),
				 "int $0x80 faults: 32-bit emulation is off (booted with "
				 "ia32_emulation=0, built with IA32_EMULATION_DEFAULT_DISABLED, or "
				 "without IA32_EMULATION)");
		} else {
			/* SIGSYS or an errno: a seccomp filter on us, not the machine's facts. */
			snprintf(seen, sizeof(seen), "the int $0x80 probe %s %d",
				 WIFSIGNALED(status) ? "was killed by signal" : "exited",
				 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
#else
		answer = TG_IA32_OFF;
		snprintf(seen, sizeof(seen), "not an x86-64 kernel");
#endif
	}
	if (why && whylen)
		snprintf(why, whylen, "%s", seen);
	return answer;
}

/*
 * Hooks that depend on what the kernel has:
 * - io_uring's submission tracepoint was io_uring_submit_sqe until 6.4 renamed it
 *   io_uring_submit_req: keep the program for the one this kernel has; without either (no
 *   io_uring), none of the io_uring programs is loaded.
 * - tp_btf/sys_exit runs for every syscall of every process, for the sake of 32-bit ones: a
 *   kernel whose 32-bit emulation is off (tg_ia32_probe: not built in, or off at boot) has
 *   none, and does without it. The fexit programs see 32-bit syscalls too: with them it is
 *   left out as well.
 */
static void select_hooks(struct tg_bpf *b, bool fentry)
{
	struct bpf_program *prog;
	const struct btf *vmlinux = kernel_btf();
	bool req = false, sqe = false, ia32;

	b->ia32 = tg_ia32_probe(b->ia32_why, sizeof(b->ia32_why));
	ia32 = b->ia32 != TG_IA32_OFF;
	if (vmlinux) {
		req = btf__find_by_name_kind(vmlinux, "btf_trace_io_uring_submit_req",
					     BTF_KIND_TYPEDEF) >= 0;
		sqe = btf__find_by_name_kind(vmlinux, "btf_trace_io_uring_submit_sqe",
					     BTF_KIND_TYPEDEF) >= 0;
	}
	bpf_program__set_autoload(b->skel->progs.tp_btf__io_uring_submit_req, req);
	bpf_program__set_autoload(b->skel->progs.tp_btf__io_uring_submit_sqe, sqe && !req);
	bpf_program__set_autoload(b->skel->progs.tp_btf__io_uring_complete, req || sqe);
	bpf_program__set_autoload(b->skel->progs.tp_btf__sys_exit, ia32 && !fentry);
	/* Syscall tracepoints or the fentry/fexit programs of bpf/fexit.bpf.c, by section. */
	bpf_object__for_each_program(prog, b->skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "tracepoint/syscalls/", 20))
			bpf_program__set_autoload(prog, !fentry);
		else if (!strncmp(sec, "fexit/", 6) || !strncmp(sec, "fentry/", 7))
			bpf_program__set_autoload(prog, fentry);
	}
}

static const char *const hooks_names[] = {
	[TG_HOOKS_AUTO] = "auto",
	[TG_HOOKS_TRACEPOINT] = "tracepoint",
	[TG_HOOKS_FENTRY] = "fentry",
};

int tg_hooks_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(hooks_names) / sizeof(hooks_names[0])); i++)
		if (!strcmp(name, hooks_names[i]))
			return i;
	return -1;
}

const char *tg_hooks_name(enum tg_hooks h)
{
	return (unsigned)h < sizeof(hooks_names) / sizeof(hooks_names[0]) ? hooks_names[h] : "?";
}

/* bpf/fexit.bpf.c's attach points. */
static const char *const fexit_functions[] = {"do_sys_openat2",
					      "do_mkdirat",
					      "do_mknodat",
					      "__sys_bind",
					      "vfs_statx",
					      "do_faccessat",
					      "security_inode_follow_link"};

int tg_fentry_loadable(char *err, size_t errlen)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FEXIT);
	const struct btf *vmlinux = kernel_btf();
	int id = -1, fd;

	if (!vmlinux) {
		snprintf(err, errlen, "cannot read kernel BTF");
		return -1;
	}
	for (size_t i = 0; i < sizeof(fexit_functions) / sizeof(fexit_functions[0]); i++) {
		int fid = btf__find_by_name_kind(vmlinux, fexit_functions[i], BTF_KIND_FUNC);

		if (fid < 0) {
			snprintf(err, errlen,
				 "%s is not in this kernel's BTF (renamed or inlined): no fexit "
				 "program can attach to it",
				 fexit_functions[i]);
			return -1;
		}
		if (i == 0)
			id = fid;
	}
	o.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tg_fexit_probe", "GPL", insns, 2, &o);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "this kernel refuses fentry/fexit programs (%s)",
			 strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

static struct tg_bpf *start_hooks(const struct tg_loader_opts *opts, bool fentry,
				  ring_buffer_sample_fn cb, void *ctx, char *err, size_t errlen,
				  bool *lsm_refused)
{
	struct tg_bpf *b = calloc(1, sizeof(*b));
	const struct btf *vmlinux;
	char msg[512];
	int e;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->hooks = fentry ? TG_HOOKS_FENTRY : TG_HOOKS_TRACEPOINT;
	verbose_libbpf = opts->verbose;
	libbpf_set_print(libbpf_print);

	/* Syscall tracepoints attach through tracefs, which is not always mounted. */
	e = fentry ? 0 : tg_tracefs_ensure(msg, sizeof(msg));
	if (e) {
		snprintf(err, errlen, "%s", msg);
		goto fail;
	}
	if (!fentry && msg[0] && opts->verbose)
		fprintf(stderr, "tmpguard: %s\n", msg);

	b->skel = tmpguard_bpf__open();
	if (!b->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (b->skel->rodata->tg_abi_version != TG_ABI_VERSION) {
		snprintf(err, errlen, "BPF object has ABI %u, this tmpguard expects %u: rebuild",
			 b->skel->rodata->tg_abi_version, TG_ABI_VERSION);
		goto fail;
	}
	b->skel->rodata->tg_cfg.filter_tracked = opts->filter_tracked;
	/* An eighth of the ring: the reader wakes well before it fills, and not per record. */
	b->skel->rodata->tg_cfg.wakeup_bytes = opts->ringbuf_bytes / 8;
	b->skel->rodata->tg_cfg.self_tgid = getpid();
	/* Not a secret from root, who can read .rodata: it keeps a process from precomputing
	 * two paths with the same checksum on every host. */
	if (getrandom(&b->skel->rodata->tg_cfg.path_seed, sizeof(b->skel->rodata->tg_cfg.path_seed),
		      GRND_NONBLOCK) != sizeof(b->skel->rodata->tg_cfg.path_seed))
		b->skel->rodata->tg_cfg.path_seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	b->skel->rodata->tg_cfg.enforce = opts->enforce;
	b->skel->rodata->tg_cfg.enforce_tracked = opts->enforce_tracked;
	/* fentry on security_inode_follow_link, or lsm/inode_follow_link: every symlink a walk
	 * follows is seen, and the path string need not say. */
	b->skel->rodata->tg_cfg.links_watched = fentry || opts->lsm;
	b->skel->rodata->tg_cfg.call_sites = opts->call_sites;
	tg_syscalls_fill(b->skel->rodata->tg_syscalls);
	tg_bpf_set_settings(b, opts->file_loose_mask, opts->dir_loose_mask, opts->report_cloexec,
			    opts->probe_window_ns);
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(b->skel->maps.tg_events, opts->ringbuf_bytes);
	/* Fault injection for the test of a full tracking map (a blind spot, counted). */
	if (getenv("TMPGUARD_TEST_TRACK_MAX"))
		bpf_map__set_max_entries(b->skel->maps.tg_tracked,
					 (uint32_t)atoi(getenv("TMPGUARD_TEST_TRACK_MAX")));
	/* Process-tree tracking costs a program on every fork: only when scoped. */
	if (!opts->filter_tracked) {
		bpf_program__set_autoload(b->skel->progs.tp_btf__sched_process_fork, false);
		bpf_program__set_autoload(b->skel->progs.tp_btf__sched_process_exit, false);
	}

	select_hooks(b, fentry);
	/* A bash child's line at its execve (bpf/pyframe.bpf.c), for call sites only: the execve
	 * tracepoints, or, with the fentry hooks (no syscall tracepoint), fentry on
	 * security_bprm_creds_for_exec where the kernel has it (not without CONFIG_SECURITY:
	 * then a child's line is user space's fallback). */
	vmlinux = fentry ? kernel_btf() : NULL;
	bpf_program__set_autoload(b->skel->progs.fentry__security_bprm_creds_for_exec,
				  opts->call_sites && vmlinux &&
					  btf__find_by_name_kind(vmlinux,
								 "security_bprm_creds_for_exec",
								 BTF_KIND_FUNC) >= 0);
	bpf_program__set_autoload(b->skel->progs.tracepoint__syscalls__sys_enter_execve,
				  opts->call_sites && !fentry);
	bpf_program__set_autoload(b->skel->progs.tracepoint__syscalls__sys_enter_execveat,
				  opts->call_sites && !fentry);

	if (!opts->lsm) {
		bpf_program__set_autoload(b->skel->progs.lsm__inode_follow_link, false);
		bpf_program__set_autoload(b->skel->progs.lsm__inode_create, false);
		bpf_program__set_autoload(b->skel->progs.lsm__file_open, false);
		bpf_program__set_autoload(b->skel->progs.lsm__inode_mkdir, false);
	}

	if (opts->lsm && lsm_loadable(err, errlen) < 0) {
		if (lsm_refused)
			*lsm_refused = true;
		goto fail;
	}
	e = tmpguard_bpf__load(b->skel);
	if (e) {
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (run with -v for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	e = attach_all(b, err, errlen);
	if (e)
		goto fail;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.tg_events), cb, ctx, NULL);
	if (!b->rb) {
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		goto fail;
	}
	return b;
fail:
	tg_bpf_stop(b);
	return NULL;
}

struct tg_bpf *tg_bpf_start(const struct tg_loader_opts *opts, ring_buffer_sample_fn cb, void *ctx,
			    char *err, size_t errlen, bool *lsm_refused)
{
	char why[384] = "";
	struct tg_bpf *b;

	if (opts->hooks != TG_HOOKS_TRACEPOINT && tg_fentry_loadable(why, sizeof(why)) == 0) {
		b = start_hooks(opts, true, cb, ctx, err, errlen, lsm_refused);
		if (b || opts->hooks == TG_HOOKS_FENTRY || (lsm_refused && *lsm_refused))
			return b;
		/* auto: whatever failed with fentry (a verifier or attach error on a kernel
		 * whose functions changed), the tracepoints may still do. */
		snprintf(why, sizeof(why), "%.300s", err);
	} else if (opts->hooks == TG_HOOKS_FENTRY) {
		snprintf(err, errlen,
			 "--hooks fentry: %s; --hooks tracepoint (or auto) audits from syscall "
			 "tracepoints instead",
			 why);
		return NULL;
	}
	b = start_hooks(opts, false, cb, ctx, err, errlen, lsm_refused);
	if (b && opts->hooks == TG_HOOKS_AUTO)
		snprintf(b->hooks_fallback, sizeof(b->hooks_fallback), "%s", why);
	return b;
}

enum tg_hooks tg_bpf_hooks(const struct tg_bpf *b)
{
	return b->hooks;
}

const char *tg_bpf_hooks_fallback(const struct tg_bpf *b)
{
	return b->hooks_fallback;
}

enum tg_ia32 tg_bpf_ia32(const struct tg_bpf *b, const char **why)
{
	if (why)
		*why = b->ia32_why;
	return b->ia32;
}

int tg_bpf_track(struct tg_bpf *b, pid_t pid)
{
	__u32 key = pid;
	__u8 one = 1;

	if (bpf_map__update_elem(b->skel->maps.tg_tracked, &key, sizeof(key), &one, sizeof(one),
				 BPF_ANY))
		return -errno;
	return 0;
}

int tg_bpf_poll(struct tg_bpf *b, int timeout_ms)
{
	int n = ring_buffer__poll(b->rb, timeout_ms);

	/* Records submitted without a wake-up (event_submit) are read on the timeout. */
	if (n >= 0 || n == -EINTR) {
		int m = ring_buffer__consume(b->rb);

		if (m < 0)
			return m;
		n = n > 0 ? n + m : m;
	}
	return n;
}

int tg_bpf_drain(struct tg_bpf *b)
{
	return ring_buffer__consume(b->rb);
}

/* Sums the first n entries of a per-CPU array map of u64 counters into out. */
static int percpu_sums(struct bpf_map *map, uint64_t *out, uint32_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map__lookup_elem(map, &i, sizeof(i), vals, sizeof(*vals) * ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int tg_bpf_stats(struct tg_bpf *b, uint64_t out[TG_STAT_MAX])
{
	return percpu_sums(b->skel->maps.tg_stats, out, TG_STAT_MAX);
}

void tg_bpf_set_settings(struct tg_bpf *b, uint32_t file_loose_mask, uint32_t dir_loose_mask,
			 bool report_cloexec, uint64_t probe_window_ns)
{
	if (probe_window_ns)
		b->skel->data->tg_set.probe_window_ns = probe_window_ns;
	b->skel->data->tg_set.file_loose_mask = file_loose_mask;
	b->skel->data->tg_set.dir_loose_mask = dir_loose_mask;
	b->skel->data->tg_set.report_cloexec = report_cloexec;
}

/* Deletes the keys of generation gen (struct tg_kexc_key and tg_dir_key both end in gen). */
static int map_clear_gen(struct bpf_map *map, size_t key_size, uint32_t gen)
{
	char key[64], next[64];
	int fd = bpf_map__fd(map), err;
	uint32_t g;
	bool first = true;

	if (key_size > sizeof(key))
		return -EINVAL;
	/* Walk on from a key that stays: deleting the current key restarts the walk */
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		memcpy(&g, next + key_size - sizeof(g), sizeof(g));
		if (g == gen) {
			if (bpf_map_delete_elem(fd, next))
				return -errno;
			continue; /* from the same key (or the start) again */
		}
		memcpy(key, next, key_size);
		first = false;
	}
	err = errno;
	return err == ENOENT ? 0 : -err;
}

int tg_bpf_set_policy(struct tg_bpf *b, const struct tg_kexc_key *keys, size_t n, uint32_t combos,
		      const struct tg_dir_key *dirs, size_t n_dirs)
{
	struct tg_settings *set = &b->skel->data->tg_set;
	uint32_t next = !(set->gen & 1);
	int ncpu = libbpf_num_possible_cpus(), err;
	uint64_t *zero;
	__u8 one = 1;

	if (n > TG_KEXC_MAX || n_dirs > TG_SHARED_DIRS_MAX || ncpu <= 0)
		return -E2BIG;
	/* The generation not in force: emptied (what the reload before this one left), its
	 * counters zeroed, filled. Programs read only the one in force meanwhile. */
	err = map_clear_gen(b->skel->maps.tg_kexc, sizeof(*keys), next);
	if (!err)
		err = map_clear_gen(b->skel->maps.tg_shared_dirs, sizeof(*dirs), next);
	if (err)
		return err;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (uint32_t i = next * TG_KEXC_MAX; i < (next + 1) * TG_KEXC_MAX; i++)
		bpf_map__update_elem(b->skel->maps.tg_kexc_hits, &i, sizeof(i), zero,
				     sizeof(*zero) * ncpu, BPF_ANY);
	free(zero);
	for (size_t i = 0; i < n; i++) {
		struct tg_kexc_key k = keys[i];
		/* the key's counter: its slot in the generation's half of tg_kexc_hits (the
		 * policy's own index may be past TG_KEXC_MAX: kexc_hits maps it back) */
		uint32_t v = (uint32_t)i + next * TG_KEXC_MAX;

		k.gen = next;
		if (bpf_map__update_elem(b->skel->maps.tg_kexc, &k, sizeof(k), &v, sizeof(v),
					 BPF_ANY))
			goto fail;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		struct tg_dir_key k = dirs[i];

		k.gen = next;
		if (bpf_map__update_elem(b->skel->maps.tg_shared_dirs, &k, sizeof(k), &one,
					 sizeof(one), BPF_ANY))
			goto fail;
	}
	set->kexc_combos[next] = combos;
	set->n_shared_dirs[next] = (uint32_t)n_dirs;
	/* Everything of the new generation is in place before the switch. */
	__atomic_store_n(&set->gen, next, __ATOMIC_SEQ_CST);
	return 0;
fail:
	err = -errno;
	/* Refused: the generation in force was never touched. */
	map_clear_gen(b->skel->maps.tg_kexc, sizeof(*keys), next);
	map_clear_gen(b->skel->maps.tg_shared_dirs, sizeof(*dirs), next);
	return err;
}

int tg_bpf_kexc_hits(struct tg_bpf *b, const uint32_t *idx, size_t n_keys, uint64_t *out,
		     size_t n_out)
{
	uint64_t all[2 * TG_KEXC_MAX];
	uint32_t gen = b->skel->data->tg_set.gen & 1;
	int err = percpu_sums(b->skel->maps.tg_kexc_hits, all, 2 * TG_KEXC_MAX);

	memset(out, 0, n_out * sizeof(*out));
	if (err)
		return err;
	for (size_t i = 0; i < n_keys && i < TG_KEXC_MAX; i++)
		if (idx[i] < n_out)
			out[idx[i]] = all[gen * TG_KEXC_MAX + i];
	return 0;
}

void tg_bpf_set_enforce(struct tg_bpf *b, uint32_t deny_rules, uint32_t kill_rules)
{
	b->skel->data->tg_set.kill_rules = kill_rules;
	b->skel->data->tg_set.deny_rules = deny_rules;
}

int tg_bpf_nr_attached(const struct tg_bpf *b)
{
	return b->nr_attached;
}

void tg_bpf_for_each_attached(struct tg_bpf *b,
			      void (*fn)(void *ctx, const char *name, const char *sec, int fd),
			      void *ctx)
{
	for (int i = 0; i < b->skel->skeleton->prog_cnt; i++) {
		struct bpf_program *prog = *b->skel->skeleton->progs[i].prog;

		if (*b->skel->skeleton->progs[i].link)
			fn(ctx, bpf_program__name(prog), bpf_program__section_name(prog),
			   bpf_program__fd(prog));
	}
}

int tg_bpf_detach(struct tg_bpf *b, const char *prog_name)
{
	for (int i = 0; i < b->skel->skeleton->prog_cnt; i++) {
		struct bpf_link **link = b->skel->skeleton->progs[i].link;

		if (*link && !strcmp(b->skel->skeleton->progs[i].name, prog_name)) {
			bpf_link__destroy(*link);
			*link = NULL;
			b->nr_attached--;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * One link after the other. Each detach waits for an RCU grace period
 * (tracepoint_synchronize_unregister()), some 40-70 ms, so a stop takes about a second; the
 * links were once destroyed from one thread each to overlap the waits, and a 6.1 guest then
 * hung with every CPU in a soft lockup inside tmpguard's detaching threads. A stop that is
 * half a second quicker is not worth a machine that may hang.
 */
static void destroy_links(struct tg_bpf *b)
{
	for (int i = 0; i < b->skel->skeleton->prog_cnt; i++) {
		struct bpf_link **link = b->skel->skeleton->progs[i].link;

		bpf_link__destroy(*link);
		*link = NULL;
	}
}

int tg_bpf_interp_add(struct tg_bpf *b, const struct tg_interp_key *key, const struct tg_interp *v)
{
	if (bpf_map__update_elem(b->skel->maps.tg_interp, key, sizeof(*key), v, sizeof(*v),
				 BPF_ANY))
		return -errno;
	return 0;
}

int tg_bpf_exec_line(struct tg_bpf *b, uint32_t tgid, struct tg_exec_line *out)
{
	if (bpf_map__lookup_elem(b->skel->maps.tg_exec_lines, &tgid, sizeof(tgid), out,
				 sizeof(*out), 0))
		return -errno;
	return 0;
}

int tg_bpf_stk_sig_set(struct tg_bpf *b, const struct tg_stk_sig_key *key,
		       const struct tg_stk_sig *sig)
{
	struct bpf_map *map = b->skel->maps.tg_stk_sigs;
	struct tg_stk_sigs v;
	unsigned w = 0;

	/* Into an empty way, else over the oldest (ids grow). */
	if (bpf_map__lookup_elem(map, key, sizeof(*key), &v, sizeof(v), 0))
		memset(&v, 0, sizeof(v));
	for (unsigned i = 0; i < TG_STK_SIG_WAYS; i++) {
		if (!v.way[i].id) {
			w = i;
			break;
		}
		if (v.way[i].id < v.way[w].id)
			w = i;
	}
	v.way[w] = *sig;
	if (bpf_map__update_elem(map, key, sizeof(*key), &v, sizeof(v), BPF_ANY))
		return -errno;
	return 0;
}

void tg_bpf_stk_sig_withdraw(struct tg_bpf *b, const struct tg_stk_sig_key *key, uint64_t id)
{
	struct bpf_map *map = b->skel->maps.tg_stk_sigs;
	struct tg_stk_sigs v;
	bool left = false, found = false;

	if (bpf_map__lookup_elem(map, key, sizeof(*key), &v, sizeof(v), 0))
		return;
	for (unsigned i = 0; i < TG_STK_SIG_WAYS; i++) {
		if (v.way[i].id == id) {
			memset(&v.way[i], 0, sizeof(v.way[i]));
			found = true;
		}
		left |= v.way[i].id != 0;
	}
	if (!found)
		return;
	if (left)
		bpf_map__update_elem(map, key, sizeof(*key), &v, sizeof(v), BPF_EXIST);
	else
		bpf_map__delete_elem(map, key, sizeof(*key), 0);
}

int tg_bpf_py_ring(struct tg_bpf *b, ring_buffer_sample_fn cb, void *ctx)
{
	b->py_rb = ring_buffer__new(bpf_map__fd(b->skel->maps.tg_pyframes), cb, ctx, NULL);
	return b->py_rb ? 0 : -errno;
}

int tg_bpf_py_drain(struct tg_bpf *b)
{
	return b->py_rb ? ring_buffer__consume(b->py_rb) : 0;
}

void tg_bpf_stop(struct tg_bpf *b)
{
	if (!b)
		return;
	ring_buffer__free(b->rb);
	ring_buffer__free(b->py_rb);
	if (b->skel)
		destroy_links(b);
	tmpguard_bpf__destroy(b->skel);
	free(b);
}
