// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_floor: load floor.bpf.c (empty programs on tmpguard's tracepoints), attach them, and
 * wait for SIGINT/SIGTERM. Prints "bench_floor: N programs attached" once they are.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>
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

int main(int argc, char **argv)
{
	struct floor_bpf *skel = NULL;
	struct bpf_program *prog;
	int err = 0, n = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr,
			"Usage: bench_floor\n"
			"Attach empty programs to tmpguard's tracepoints until SIGINT/SIGTERM.\n");
		return 2;
	}
	libbpf_set_print(print_libbpf);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* Syscall tracepoints attach through tracefs, as for tmpguard. */
	if (access(TRACEFS "/events", F_OK) && mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
		fprintf(stderr, "bench_floor: cannot mount tracefs at %s: %s\n", TRACEFS,
			strerror(errno));
		return 1;
	}
	skel = floor_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "bench_floor: cannot load floor.bpf.o: %s\n", strerror(errno));
		goto cleanup;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "bench_floor: cannot attach: %s\n", strerror(-err));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, skel->obj) n++;
	printf("bench_floor: %d programs attached\n", n);
	fflush(stdout);

	while (!exiting)
		pause();
cleanup:
	floor_bpf__destroy(skel);
	return err < 0 ? -err : 0;
}
