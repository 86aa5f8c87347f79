// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "events.h"

/* The wire format's layout, checked at compile time against what the BPF side writes: every
 * 8-byte field first, no implicit padding, the path last (records are cut after it). */
_Static_assert(offsetof(struct tg_event, kind) == 72, "8-byte fields come first");
_Static_assert(offsetof(struct tg_event, comm) == 72 + 34 * 4, "32-bit block is packed");
_Static_assert(sizeof(struct tg_event) % 8 == 0, "record size is a multiple of 8");
_Static_assert(sizeof(struct tg_event) == offsetof(struct tg_event, comm) + TG_COMM_LEN * 2 +
						  TG_EXE_LEN + TG_CGROUP_LEN + TG_ARGS_LEN +
						  TG_NAME_LEN + TG_PATH_LEN,
	       "no padding between strings");
_Static_assert(TG_EVENT_HDR_LEN + TG_PATH_LEN == sizeof(struct tg_event), "path is last");

static const char *const syscall_names[TG_SYS_MAX] = {
	[TG_SYS_OPEN] = "open",
	[TG_SYS_OPENAT] = "openat",
	[TG_SYS_OPENAT2] = "openat2",
	[TG_SYS_CREAT] = "creat",
	[TG_SYS_MKDIR] = "mkdir",
	[TG_SYS_MKDIRAT] = "mkdirat",
	[TG_SYS_STAT] = "stat",
	[TG_SYS_LSTAT] = "lstat",
	[TG_SYS_NEWFSTATAT] = "newfstatat",
	[TG_SYS_STATX] = "statx",
	[TG_SYS_ACCESS] = "access",
	[TG_SYS_FACCESSAT] = "faccessat",
	[TG_SYS_FACCESSAT2] = "faccessat2",
	[TG_SYS_MKNOD] = "mknod",
	[TG_SYS_MKNODAT] = "mknodat",
	[TG_SYS_BIND] = "bind",
	[TG_SYS_SOCKETCALL] = "socketcall",
};

static const char *const entry_names[TG_ENTRY_MAX] = {
	[TG_ENTRY_SYSCALL] = "syscall",
	[TG_ENTRY_IA32] = "ia32",
	[TG_ENTRY_IO_URING] = "io_uring",
};

const char *tg_entry_name(uint32_t entry)
{
	return entry < TG_ENTRY_MAX ? entry_names[entry] : "unknown";
}

const char *tg_syscall_name(uint32_t sys)
{
	if (sys >= TG_SYS_MAX || !syscall_names[sys])
		return "unknown";
	return syscall_names[sys];
}

#define TERMINATE(field) (out->field[sizeof(out->field) - 1] = 0)

int tg_event_decode(const void *data, size_t size, struct tg_event *out, char *err, size_t errlen)
{
	const char *path = (const char *)data + TG_EVENT_HDR_LEN, *nul;
	size_t path_len;

	/* The size first: nothing past it is read. */
	if (size <= TG_EVENT_HDR_LEN || size > sizeof(*out)) {
		snprintf(err, errlen,
			 "record of %zu bytes, expected %zu to %zu (ABI %d: a %zu-byte header and "
			 "a path of 1 to %d bytes)",
			 size, TG_EVENT_HDR_LEN + 1, sizeof(*out), TG_ABI_VERSION, TG_EVENT_HDR_LEN,
			 TG_PATH_LEN);
		return -1;
	}
	path_len = size - TG_EVENT_HDR_LEN;
	memcpy(out, data, TG_EVENT_HDR_LEN);
	if (out->path_len != path_len) {
		snprintf(err, errlen,
			 "record of %zu bytes holds a %zu-byte path, its path_len says %u", size,
			 path_len, out->path_len);
		return -1;
	}
	nul = memchr(path, 0, path_len);
	if (!nul) {
		snprintf(err, errlen, "record's path (%zu bytes) is not NUL-terminated", path_len);
		return -1;
	}
	if ((size_t)(nul - path) != path_len - 1) {
		snprintf(err, errlen,
			 "record's path has a NUL at byte %zu of %zu: path_len is wrong",
			 (size_t)(nul - path), path_len);
		return -1;
	}
	memcpy(out->path, path, path_len);
	if (out->kind != TG_KIND_OPEN && out->kind != TG_KIND_MKDIR && out->kind != TG_KIND_NODE) {
		snprintf(err, errlen, "record of unknown kind %u", out->kind);
		return -1;
	}
	if (out->syscall == 0 || out->syscall >= TG_SYS_MAX) {
		snprintf(err, errlen, "record of unknown syscall %u", out->syscall);
		return -1;
	}
	if (out->entry >= TG_ENTRY_MAX) {
		snprintf(err, errlen, "record of unknown entry %u", out->entry);
		return -1;
	}
	/* A decision names the rule it enforced; a record without one names none. */
	if (out->action >= TG_ACT_MAX ||
	    (out->action == TG_ACT_NONE ? out->rule != TG_R_NONE && out->rule >= TG_R_MAX
					: out->rule >= TG_R_MAX)) {
		snprintf(err, errlen, "record of unknown action %u or rule %u", out->action,
			 out->rule);
		return -1;
	}
	if (out->args_len > TG_ARGS_LEN)
		out->args_len = TG_ARGS_LEN;
	if (out->probe_syscall >= TG_SYS_MAX)
		out->probe_syscall = 0;
	TERMINATE(comm);
	TERMINATE(pcomm);
	TERMINATE(exe);
	TERMINATE(cgroup);
	TERMINATE(name);
	return 0;
}
