/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Any user can make an executable or a library with 500,000 section headers (extended
 * numbering: e_shnum 0, the count in section 0's sh_size); libelf and libdw would spend half a
 * second and over 100 MB on each, on the thread that reads every record. Whatever hands a
 * process's file to them first asks for its section count and refuses past
 * TG_ELF_SECTIONS_MAX: real binaries have some tens.
 */
#ifndef TG_UTIL_ELFHDR_H
#define TG_UTIL_ELFHDR_H

#define TG_ELF_SECTIONS_MAX 1024

/* The section count fd's ELF header announces, with one or two pread()s; -1 when it is no ELF
 * of the host's word sizes or cannot be read. */
long tg_elf_section_count(int fd);

#endif
