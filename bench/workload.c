// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_workload: the micro-workloads of the benchmark, each a fixed number of iterations
 * timed with CLOCK_MONOTONIC by the program itself (process start-up and the tracer's
 * start-up are outside the measurement). Not pinned: on a shared 2-core machine a pinned
 * loop cannot move away from a neighbour that occupies its CPU.
 *
 * Prints one JSON object on standard output: workload, ops, elapsed_ns (the whole loop),
 * best_batch_ns_per_op (the fastest of BATCHES equal slices, robust to a preemption),
 * utime_ns/stime_ns (getrusage of this process: BPF programs run in the caller's context
 * and count as its system time).
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCHES	    20
#define NR_EXISTING 16
#define DEFAULT_DIR "/dev/shm"

enum workload { W_EXISTING, W_SECURE, W_INSECURE, W_GETPPID, W_FLOOD };

static const char *const names[] = {"existing", "secure", "insecure", "getppid", "flood"};

static struct {
	enum workload w;
	long iterations;
	double seconds;
	const char *dir;
	long gap_us;
} env;

static const char default_dir[] = DEFAULT_DIR;

static const char doc[] =
	"Run one benchmark workload and print its timing as one JSON line.\v"
	"WORKLOAD is one of:\n"
	"  existing  open(O_RDONLY) + close of 16 existing files in --dir (a private directory:\n"
	"            the common case, no creates); the files are made first if missing\n"
	"  secure    open(O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC, 0600) + close + unlink in --dir\n"
	"  insecure  open(O_CREAT|O_WRONLY|O_TRUNC, 0644) + close + unlink in --dir: every\n"
	"            iteration is a finding in a shared directory (no O_EXCL, loose mode)\n"
	"  getppid   the getppid syscall: what tracepoints add to unrelated syscalls\n"
	"  flood     insecure creates as fast as possible for --seconds\n"
	"\n"
	"Examples:\n"
	"  bench_workload getppid -n 2000000\n"
	"  bench_workload existing -n 300000 --dir /var/lib/bench/existing\n"
	"  bench_workload insecure -n 200000 --dir /dev/shm\n"
	"  bench_workload flood --seconds 10\n"
	"  bench_workload insecure -n 5000 --gap-us 200   (a finding every ~0.2 ms: call sites)\n";

static const struct argp_option options[] = {
	{"iterations", 'n', "N", 0, "Iterations (default per workload)", 0},
	{"dir", 'd', "DIR", 0, "Directory to work in (default /dev/shm)", 0},
	{"seconds", 's', "S", 0, "Duration of flood (default 10)", 0},
	{"gap-us", 'g', "US", 0,
	 "Sleep US microseconds after each iteration (default 0): a pace the reader keeps up "
	 "with, so that every finding's call site is captured (the kernel skips it while a "
	 "quarter of the ring is unread)",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	unsigned i;

	switch (key) {
	case 'n':
		errno = 0;
		env.iterations = strtol(arg, &end, 10);
		if (errno || *end || env.iterations < BATCHES)
			argp_error(state, "bad --iterations '%s' (an integer >= %d)", arg, BATCHES);
		break;
	case 'd':
		env.dir = arg;
		break;
	case 'g':
		errno = 0;
		env.gap_us = strtol(arg, &end, 10);
		if (errno || *end || env.gap_us < 0 || env.gap_us > 1000000)
			argp_error(state, "bad --gap-us '%s' (0 to 1000000)", arg);
		break;
	case 's':
		errno = 0;
		env.seconds = strtod(arg, &end);
		if (errno || *end || env.seconds <= 0)
			argp_error(state, "bad --seconds '%s'", arg);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_usage(state);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(arg, names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			argp_error(state, "unknown workload '%s'", arg);
		env.w = i;
		break;
	case ARGP_KEY_END:
		if (state->arg_num != 1)
			argp_usage(state);
		if (env.w == W_EXISTING && env.dir == default_dir)
			argp_error(state, "existing needs --dir: a private directory, not %s",
				   DEFAULT_DIR);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned long long tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1000000000ULL + tv.tv_usec * 1000ULL;
}

static char existing[NR_EXISTING][PATH_MAX];
static char name[PATH_MAX];

/* One iteration of workload w; i is the iteration number. Returns -1 on failure. */
static int step(enum workload w, long i)
{
	int fd;

	switch (w) {
	case W_EXISTING:
		fd = open(existing[i % NR_EXISTING], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		return close(fd);
	case W_SECURE:
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		close(fd);
		return unlink(name);
	case W_INSECURE:
	case W_FLOOD:
		/* No O_EXCL and 0644 under umask 022: nonexclusive-create and loose-mode. */
		fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0)
			return -1;
		close(fd);
		return unlink(name);
	case W_GETPPID:
		syscall(SYS_getppid);
		return 0;
	}
	return -1;
}

static int setup(void)
{
	int i, fd;

	switch (env.w) {
	case W_EXISTING:
		if (mkdir(env.dir, 0700) && errno != EEXIST)
			return -1;
		for (i = 0; i < NR_EXISTING; i++) {
			snprintf(existing[i], sizeof(existing[i]), "%s/f%02d", env.dir, i);
			fd = open(existing[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
			if (fd < 0)
				return -1;
			close(fd);
		}
		return 0;
	case W_SECURE:
	case W_INSECURE:
	case W_FLOOD:
		/* One name per process, unlinked after each iteration: every open creates. */
		snprintf(name, sizeof(name), "%s/tgbench-%s.%d", env.dir, names[env.w],
			 (int)getpid());
		unlink(name);
		return 0;
	default:
		return 0;
	}
}

static long default_iterations(enum workload w)
{
	switch (w) {
	case W_EXISTING:
		return 400000;
	case W_SECURE:
	case W_INSECURE:
		return 200000;
	case W_GETPPID:
		return 4000000;
	default:
		return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, "WORKLOAD", doc, NULL, NULL, NULL};
	unsigned long long start, t0, t1, best = ~0ULL, elapsed;
	struct rusage ru;
	long i, b, per, done = 0;
	int err;

	env.iterations = -1;
	env.seconds = 10;
	env.dir = default_dir;
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 2;
	if (env.iterations < 0)
		env.iterations = default_iterations(env.w);
	if (setup()) {
		fprintf(stderr, "bench_workload: cannot prepare %s in %s: %s\n", names[env.w],
			env.dir, strerror(errno));
		return 1;
	}

	start = now_ns();
	if (env.w == W_FLOOD) {
		unsigned long long stop = start + (unsigned long long)(env.seconds * 1e9);

		/* Check the clock every 256 creates: a vDSO call, but not on every one. */
		while (now_ns() < stop) {
			for (i = 0; i < 256; i++, done++)
				if (step(W_FLOOD, done))
					goto fail;
		}
		elapsed = now_ns() - start;
		best = elapsed / (done ? done : 1);
	} else {
		per = env.iterations / BATCHES;
		for (b = 0; b < BATCHES; b++) {
			t0 = now_ns();
			for (i = 0; i < per; i++, done++) {
				if (step(env.w, done))
					goto fail;
				if (env.gap_us)
					usleep((useconds_t)env.gap_us);
			}
			t1 = now_ns();
			if ((t1 - t0) / per < best)
				best = (t1 - t0) / per;
		}
		elapsed = now_ns() - start;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"workload\":\"%s\",\"ops\":%ld,\"elapsed_ns\":%llu,\"best_batch_ns_per_op\":%llu,"
	       "\"utime_ns\":%llu,\"stime_ns\":%llu,\"pid\":%d}\n",
	       names[env.w], done, elapsed, best, tv_ns(ru.ru_utime), tv_ns(ru.ru_stime),
	       (int)getpid());
	return 0;
fail:
	fprintf(stderr, "bench_workload: %s failed at iteration %ld: %s\n", names[env.w], done,
		strerror(errno));
	return 1;
}
