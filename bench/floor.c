// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_floor: load floor.bpf.c (empty programs on tmpguard's tracepoints), attach them, and
 * wait for SIGINT/SIGTERM. Prints "bench_floor: N programs attached" once they are. With
 * --fexit: the floor of `tmpguard --hooks fentry` (empty fexit programs on its four functions,
 * no syscall tracepoint). tp_btf programs whose tracepoint this kernel lacks are left out.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "floor.skel.h"

#define TRACEFS "/sys/kernel/tracing"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Does this kernel have the tracepoint (its btf_trace_ typedef) a tp_btf program names? */
static bool tp_btf_exists(const struct btf *vmlinux, const char *sec)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", sec + strlen("tp_btf/"));
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel = NULL;
	struct bpf_program *prog;
	struct btf *vmlinux;
	bool fexit = argc == 2 && !strcmp(argv[1], "--fexit");
	int err = 0, n = 0;

	if (argc > 2 || (argc == 2 && !fexit)) {
		fprintf(stderr, "Usage: bench_floor [--fexit]\n"
				"Attach empty programs to tmpguard's tracepoints (--fexit: to the "
				"functions "
				"of --hooks fentry) until SIGINT/SIGTERM.\n");
		return 2;
	}
	libbpf_set_print(print_libbpf);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* Syscall tracepoints attach through tracefs, as for tmpguard. */
	if (!fexit && access(TRACEFS "/events", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
		fprintf(stderr, "bench_floor: cannot mount tracefs at %s: %s\n", TRACEFS,
			strerror(errno));
		return 1;
	}
	skel = floor_bpf__open();
	vmlinux = btf__load_vmlinux_btf();
	if (!skel || !vmlinux) {
		err = -errno;
		fprintf(stderr, "bench_floor: cannot open floor.bpf.o or the kernel's BTF: %s\n",
			strerror(errno));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		bool load;

		if (!strcmp(sec, "tp_btf/sys_exit"))
			load = !fexit; /* 32-bit syscalls: the fexit programs see them */
		else if (!strncmp(sec, "tp_btf/", 7))
			load = tp_btf_exists(vmlinux, sec);
		else if (!strncmp(sec, "fexit/", 6))
			load = fexit;
		else
			load = !fexit; /* syscall tracepoints */
		bpf_program__set_autoload(prog, load);
	}
	btf__free(vmlinux);
	err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "bench_floor: cannot load floor.bpf.o: %s\n", strerror(-err));
		goto cleanup;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "bench_floor: cannot attach: %s\n", strerror(-err));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, skel->obj) n += bpf_program__autoload(prog);
	printf("bench_floor: %d programs attached\n", n);
	fflush(stdout);

	while (!exiting)
		pause();
cleanup:
	floor_bpf__destroy(skel);
	return err < 0 ? -err : 0;
}
