/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One ABI's syscall table, included by syscalls.c (native numbers) and syscalls_ia32.c (ia32
 * numbers) after their <asm/unistd_*.h>, with TG_SYSCALLS_FN naming the function: the two
 * headers define the same __NR_ names, so each needs a file of its own. Argument indexes are
 * the syscall's own (0 first); the BPF side reads them with the ABI's registers.
 */
#define N TG_ARG_NONE
#define ENTRY(nr, s, o, dfd_, path_, flags_, mode_, how_)                                          \
	do {                                                                                       \
		if ((nr) < n)                                                                      \
			t[nr] = (struct tg_sys_desc){.sys = (s),                                   \
						     .op = (o),                                    \
						     .dfd = (dfd_),                                \
						     .path = (path_),                              \
						     .flags = (flags_),                            \
						     .mode = (mode_),                              \
						     .how = (how_)};                               \
	} while (0)

void TG_SYSCALLS_FN(struct tg_sys_desc *t, size_t n)
{
	/*    number           syscall            op           dfd path flags mode how */
	ENTRY(__NR_open, TG_SYS_OPEN, TG_OP_OPEN, N, 0, 1, 2, N);
	ENTRY(__NR_openat, TG_SYS_OPENAT, TG_OP_OPEN, 0, 1, 2, 3, N);
	ENTRY(__NR_openat2, TG_SYS_OPENAT2, TG_OP_OPEN, 0, 1, N, N, 2);
	ENTRY(__NR_creat, TG_SYS_CREAT, TG_OP_OPEN, N, 0, N, 1, N);
	ENTRY(__NR_mkdir, TG_SYS_MKDIR, TG_OP_MKDIR, N, 0, N, 1, N);
	ENTRY(__NR_mkdirat, TG_SYS_MKDIRAT, TG_OP_MKDIR, 0, 1, N, 2, N);
	ENTRY(__NR_mknod, TG_SYS_MKNOD, TG_OP_MKNOD, N, 0, N, 1, N);
	ENTRY(__NR_mknodat, TG_SYS_MKNODAT, TG_OP_MKNOD, 0, 1, N, 2, N);
#ifdef __NR_bind
	ENTRY(__NR_bind, TG_SYS_BIND, TG_OP_BIND, N, 1, N, N, N);
#endif
#ifdef __NR_socketcall
	/* ia32: glibc's bind() goes through socketcall (it assumes no kernel newer than 3.2) */
	ENTRY(__NR_socketcall, TG_SYS_SOCKETCALL, TG_OP_SOCKETCALL, N, N, N, N, N);
#endif
	ENTRY(__NR_access, TG_SYS_ACCESS, TG_OP_PROBE, N, 0, N, N, N);
	ENTRY(__NR_faccessat, TG_SYS_FACCESSAT, TG_OP_PROBE, 0, 1, N, N, N);
	ENTRY(__NR_faccessat2, TG_SYS_FACCESSAT2, TG_OP_PROBE, 0, 1, N, N, N);
	ENTRY(__NR_statx, TG_SYS_STATX, TG_OP_PROBE, 0, 1, N, N, N);
#ifdef __NR_stat64
	/* ia32: the 64-bit stat calls (the old stat, lstat are left out, as before) */
	ENTRY(__NR_stat64, TG_SYS_STAT, TG_OP_PROBE, N, 0, N, N, N);
	ENTRY(__NR_lstat64, TG_SYS_LSTAT, TG_OP_PROBE, N, 0, N, N, N);
	ENTRY(__NR_fstatat64, TG_SYS_NEWFSTATAT, TG_OP_PROBE, 0, 1, N, N, N);
#else
	ENTRY(__NR_stat, TG_SYS_STAT, TG_OP_PROBE, N, 0, N, N, N);
	ENTRY(__NR_lstat, TG_SYS_LSTAT, TG_OP_PROBE, N, 0, N, N, N);
	ENTRY(__NR_newfstatat, TG_SYS_NEWFSTATAT, TG_OP_PROBE, 0, 1, N, N, N);
#endif
}

#undef ENTRY
#undef N
