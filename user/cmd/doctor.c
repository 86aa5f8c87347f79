// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tmpguard doctor: one line per check, each with a status, a value and a one-line verdict, then
 * whether tmpguard can audit here. BPF features are probed by loading (and closing at once)
 * programs that do nothing; nothing is attached, mounted or written.
 *
 * This file is the report: the helpers every check writes its line and reads the host with, the
 * order the checks run in, the text and JSON forms, and the arguments. The checks are in
 * doctor_bpf.c (what the kernel's BPF can do) and doctor_host.c (the host's settings).
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "doctor.h"
#include "doctor_int.h"
#include "record.h"
#include "loader.h"
#include "tracefs.h"

#define TG_EXIT_USAGE 2

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

/*
 * TMPGUARD_DOCTOR_PRETEND_MISSING=bpf_loop,task_storage,...: for tests only. Doctor treats the
 * helpers and map types named there as refused by the kernel, so that a test can see the
 * verdict and exit status of a kernel that lacks them. It only takes features away: nothing
 * named there can make doctor believe the kernel offers more than its probes found.
 */
bool pretend_missing(const char *name)
{
	const char *list = getenv("TMPGUARD_DOCTOR_PRETEND_MISSING");

	return list && list_has(list, name);
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
	check_lockdown(d);
	check_ringbuf(d);
	check_maps(d);
	check_helpers(d);
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
	printf("programs, as tmpguard run loads them here (verified_insns, budget %d each):\n",
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
	if (!root || !checks ||
	    json_object_object_add(root, "schema_version",
				   json_object_new_int(TG_RECORD_SCHEMA_VERSION)) ||
	    json_object_object_add(root, "checks", checks)) {
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
	 "also load tmpguard's programs as run would, call sites on (this mounts tracefs if it is "
	 "not), and list "
	 "the verifier's work on each (verified_insns) against its budget",
	 0},
	/* -h has always meant help here; argp's own short help is -? */
	{NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0},
	{},
};

static const char doctor_doc[] =
	"Report what this kernel offers and what tmpguard will use: BTF, tracefs and the syscall "
	"tracepoints, lockdown, the BPF map types, helpers and program types tmpguard's programs "
	"use, BPF LSM, fentry, io_uring, ia32, the fs.protected_* sysctls, the mounts of /tmp, "
	"/var/tmp and /dev/shm, and privileges. Every BPF feature is probed by loading a program "
	"or "
	"creating a map (the kernel release is shown for information only); mounts and changes "
	"nothing. docs/requirements.md lists each requirement and its message.\v"
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
