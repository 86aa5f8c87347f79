/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `tmpguard doctor`: what this kernel offers (BTF, tracefs, BPF map and program types, BPF LSM,
 * io_uring tracepoints), how the host protects shared temporary directories, and whether
 * tmpguard can audit here. Reads and probes only: mounts and changes nothing.
 */
#ifndef TG_DOCTOR_H
#define TG_DOCTOR_H

/* argv[0] is "doctor"; options: --format text|json, -v/--verbose, -h/--help (argp). Returns 0 if
 * tmpguard can audit on this host, 1 if it cannot, 2 on a usage error. */
int cmd_doctor(int argc, char **argv);

#endif
