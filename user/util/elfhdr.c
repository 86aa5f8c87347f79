// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* An ELF file's section count, read before libelf or libdw sees the file (elfhdr.h). */
#include <elf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "elfhdr.h"

/*
 * The section count an ELF header announces, read with one pread() before libelf sees the file:
 * any user can make an executable with 500,000 section headers (extended numbering: e_shnum 0,
 * the count in section 0's sh_size), and libelf would spend half a second and 130 MB on each
 * one, on the thread that reads every record. -1 when it is no 64-bit ELF or cannot be read.
 */
long tg_elf_section_count(int fd)
{
	union {
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
	} eh;
	union {
		Elf64_Shdr s64;
		Elf32_Shdr s32;
	} sh0;
	uint64_t shoff, size;
	bool is64;

	if (pread(fd, &eh, sizeof(eh), 0) < (ssize_t)sizeof(eh.e32) ||
	    memcmp(eh.e64.e_ident, ELFMAG, SELFMAG))
		return -1;
	is64 = eh.e64.e_ident[EI_CLASS] == ELFCLASS64;
	if (is64 ? eh.e64.e_shentsize != sizeof(Elf64_Shdr)
		 : eh.e32.e_ident[EI_CLASS] != ELFCLASS32 ||
			    eh.e32.e_shentsize != sizeof(Elf32_Shdr))
		return -1;
	if (is64 ? eh.e64.e_shnum : eh.e32.e_shnum)
		return is64 ? eh.e64.e_shnum : eh.e32.e_shnum;
	shoff = is64 ? eh.e64.e_shoff : eh.e32.e_shoff;
	if (!shoff)
		return 0;
	if (pread(fd, &sh0, is64 ? sizeof(sh0.s64) : sizeof(sh0.s32), (off_t)shoff) !=
	    (ssize_t)(is64 ? sizeof(sh0.s64) : sizeof(sh0.s32)))
		return -1;
	size = is64 ? sh0.s64.sh_size : sh0.s32.sh_size;
	return size > LONG_MAX ? LONG_MAX : (long)size;
}
