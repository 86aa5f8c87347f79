// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Native call sites, the libdw part: a TG_KIND_STACK record unwound with DWARF CFI (as perf's
 * util/unwind-libdw.c does: each recorded mapping reported as an ELF at its load bias, the
 * stack copy served as memory, the registers as the initial state) and each frame symbolized.
 * The process may be gone: everything comes from the record and the files it names, which must
 * still be the same files (device and inode).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "callsite_native.h"
#include "util/elfhdr.h"

struct unwind {
	const struct tg_stack *s;
	int fds[TG_STK_MAPS_MAX]; /* the mappings' files, -1: not the recorded one */
	Dwfl_Module *mods[TG_STK_MAPS_MAX];
	uint64_t pcs[TG_CS_FRAMES_MAX];
	bool act[TG_CS_FRAMES_MAX]; /* pc is an activation (the first): no -1 adjustment */
	unsigned n;
	bool more;
};

static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static int map_of(const struct tg_stack *s, uint64_t addr)
{
	for (unsigned i = 0; i < s->n_maps; i++)
		if (addr >= s->maps[i].start && addr < s->maps[i].end)
			return (int)i;
	return -1;
}

/* The load bias of the file mapped at m: where its PT_LOAD holding pgoff was put, less its
 * p_vaddr (ET_EXEC: 0). */
static bool load_bias(int fd, const struct tg_stk_map *m, GElf_Addr *bias)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t n = 0;
	bool ok = false;

	if (!elf)
		return false;
	if (elf_getphdrnum(elf, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (m->pgoff >= (ph.p_offset & ~0xfffULL) &&
			    m->pgoff < ph.p_offset + ph.p_filesz) {
				*bias = m->start - m->pgoff -
					((ph.p_vaddr & ~0xfffULL) - (ph.p_offset & ~0xfffULL));
				ok = true;
				break;
			}
		}
	elf_end(elf);
	return ok;
}

/* Opens the recorded mappings' files, if they are still the files that were mapped. */
static void open_files(struct unwind *u, struct tg_callsite *cs)
{
	const struct tg_stack *s = u->s;
	struct stat st;
	long nsec;

	for (unsigned i = 0; i < s->n_maps; i++) {
		const struct tg_stk_map *m = &s->maps[i];
		__u32 kdev;

		u->fds[i] = -1;
		if (!m->path_len || !m->path[0])
			continue;
		if (i && strcmp(m->path, s->maps[i - 1].path) == 0 && u->fds[i - 1] < 0)
			continue;
		u->fds[i] = open(m->path, O_RDONLY | O_CLOEXEC);
		if (u->fds[i] < 0 || fstat(u->fds[i], &st))
			goto gone;
		kdev = (major(st.st_dev) << 20) | minor(st.st_dev);
		if (st.st_ino != m->ino || kdev != m->dev)
			goto gone;
		nsec = tg_elf_section_count(u->fds[i]);
		if (nsec >= 0 && nsec <= TG_ELF_SECTIONS_MAX)
			continue;
		close(u->fds[i]);
		u->fds[i] = -1;
		if (!cs->missing[0])
			snprintf(cs->missing, sizeof(cs->missing),
				 "%s announces %ld ELF sections (more than %d, or none readable): "
				 "not "
				 "read, its frames are not symbolized",
				 m->path, nsec, TG_ELF_SECTIONS_MAX);
		continue;
	gone:
		if (u->fds[i] >= 0)
			close(u->fds[i]);
		u->fds[i] = -1;
		if (!cs->missing[0])
			snprintf(cs->missing, sizeof(cs->missing),
				 "%s is not the file that was mapped (replaced or deleted since): "
				 "its frames are not symbolized",
				 m->path);
	}
}

static void report(Dwfl *dwfl, struct unwind *u)
{
	const struct tg_stack *s = u->s;

	dwfl_report_begin(dwfl);
	for (unsigned i = 0; i < s->n_maps; i++) {
		GElf_Addr bias;
		int fd;

		u->mods[i] = NULL;
		if (u->fds[i] < 0 || !load_bias(u->fds[i], &s->maps[i], &bias))
			continue;
		/* One module per file: a second mapping of it is the same module. */
		for (unsigned j = 0; j < i; j++)
			if (u->mods[j] && strcmp(s->maps[j].path, s->maps[i].path) == 0)
				u->mods[i] = u->mods[j];
		if (u->mods[i])
			continue;
		fd = dup(u->fds[i]); /* libdw closes it */
		u->mods[i] =
			dwfl_report_elf(dwfl, s->maps[i].path, s->maps[i].path, fd, bias, false);
		if (!u->mods[i] && fd >= 0)
			close(fd);
	}
	dwfl_report_end(dwfl, NULL, NULL);
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	if (*thread_argp)
		return 0;
	*thread_argp = arg;
	return dwfl_pid(dwfl);
}

/* The stack copy, else the mapped files. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwind *u = arg;
	const struct tg_stack *s = u->s;
	int i;

	(void)dwfl;
	if (addr >= s->sp && addr + sizeof(*result) <= s->sp + s->stack_len) {
		memcpy(result, s->stack + (addr - s->sp), sizeof(*result));
		return true;
	}
	i = map_of(s, addr);
	if (i < 0 || u->fds[i] < 0)
		return false;
	return pread(u->fds[i], result, sizeof(*result),
		     (off_t)(addr - s->maps[i].start + s->maps[i].pgoff)) == sizeof(*result);
}

/* x86_64 DWARF numbering: 6 rbp, 7 rsp, 16 rip. Only those were captured. */
static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Word regs[17] = {0};

	regs[6] = u->s->bp;
	regs[7] = u->s->sp;
	regs[16] = u->s->ip;
	return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (u->n >= TG_CS_FRAMES_MAX) {
		u->more = true;
		return DWARF_CB_ABORT;
	}
	u->act[u->n] = activation;
	u->pcs[u->n++] = pc;
	return DWARF_CB_OK;
}

static void hex(const unsigned char *b, int n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < n && o + 3 <= len; i++)
		o += (size_t)snprintf(out + o, len - o, "%02x", b[i]);
}

/*
 * The compilation unit holding addr: libdw's look-up, else a scan of the units, for DWARF
 * without .debug_aranges (Go's), which libdw before 0.191 does not look up by address.
 */
static bool cu_of(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Die *cu, Dwarf_Addr *bias)
{
	Dwarf_Die *d = dwfl_module_addrdie(mod, addr, bias);
	Dwarf *dw;
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (d) {
		*cu = *d;
		return true;
	}
	dw = dwfl_module_getdwarf(mod, bias);
	if (!dw)
		return false;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, addr - *bias) > 0)
			return true;
		off = next;
	}
	return false;
}

/* The source file src of cu into f->file: a name relative to the compilation directory (gcc
 * src/save.c) joined to it, so that it names the file wherever the reader stands. */
static void set_file(Dwarf_Die *cu, const char *src, struct tg_frame *f)
{
	Dwarf_Attribute at;
	const char *dir;

	if (src[0] != '/' && (dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &at))) &&
	    dir[0] == '/') {
		size_t n = strlen(dir);

		while (src[0] == '.' && src[1] == '/')
			src += 2;
		snprintf(f->file, sizeof(f->file), "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
			 src);
		return;
	}
	snprintf(f->file, sizeof(f->file), "%s", src);
}

/* A line in code inlined into the function (os.Create in main.writeReport) is the inlined
 * function's: the line of the function's own is where the outermost inlining was called. */
static void outer_call_line(Dwarf_Die *cu, Dwarf_Addr addr, struct tg_frame *f)
{
	Dwarf_Die *scopes = NULL;
	Dwarf_Files *files;
	Dwarf_Attribute at;
	Dwarf_Word line, file;
	size_t nfiles;
	const char *src;
	int n = dwarf_getscopes(cu, addr, &scopes);

	for (int i = n - 1; i >= 0; i--) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &at), &line) == 0 &&
		    dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &at), &file) == 0 &&
		    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && file < nfiles &&
		    (src = dwarf_filesrc(files, file, NULL, NULL)) && line > 0) {
			set_file(cu, src, f);
			f->line = (uint32_t)line;
		}
		break;
	}
	free(scopes);
}

/* The source file and line of addr in mod, if its debug info says. */
static void source_line(Dwfl_Module *mod, Dwarf_Addr addr, struct tg_frame *f)
{
	Dwarf_Addr bias;
	Dwarf_Die cu;
	Dwarf_Line *l;
	const char *src;
	int ln;

	if (!cu_of(mod, addr, &cu, &bias))
		return;
	l = dwarf_getsrc_die(&cu, addr - bias);
	src = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
	if (!src || dwarf_lineno(l, &ln) || ln <= 0)
		return;
	set_file(&cu, src, f);
	f->line = (uint32_t)ln;
	outer_call_line(&cu, addr - bias, f);
}

/* Frame i: the recorded mapping's file and offset, and what libdw knows of it. */
static void symbolize(struct unwind *u, unsigned i, struct tg_frame *f)
{
	const struct tg_stack *s = u->s;
	uint64_t pc = u->pcs[i], look = u->act[i] || !pc ? pc : pc - 1;
	int m = map_of(s, look);
	Dwfl_Module *mod;
	const unsigned char *bits;
	GElf_Addr vaddr;
	const char *name;
	int nb;

	memset(f, 0, sizeof(*f));
	if (m < 0) {
		f->offset = pc; /* no mapping recorded: the address itself, no module */
		return;
	}
	snprintf(f->module, sizeof(f->module), "%s", s->maps[m].path);
	f->offset = pc - s->maps[m].start + s->maps[m].pgoff;
	mod = u->mods[m];
	if (!mod)
		return;
	nb = dwfl_module_build_id(mod, &bits, &vaddr);
	if (nb > 0)
		hex(bits, nb, f->build_id, sizeof(f->build_id));
	name = dwfl_module_addrname(mod, look);
	if (name) /* without its symbol version ("_IO_file_fopen@@GLIBC_2.2.5") */
		snprintf(f->function, sizeof(f->function), "%.*s", (int)strcspn(name, "@"), name);
	source_line(mod, look, f);
}

int tg_callsite_native(const struct tg_event *e, const void *rec, size_t size,
		       struct tg_callsite *cs)
{
	struct unwind u = {.s = rec};
	const struct tg_stack *s = rec;
	char err[128];
	Dwfl *dwfl;

	(void)e;
	cs->kind = TG_CS_NATIVE;
	cs->site = -1;
	if (tg_stack_check(rec, size, err, sizeof(err))) {
		snprintf(cs->missing, sizeof(cs->missing), "%s", err);
		return -1;
	}
	if (s->flags & TG_STK_F_NO_REGS) {
		snprintf(cs->missing, sizeof(cs->missing),
			 "no user stack: the create was made by a kernel worker (io_uring)");
		return -1;
	}
	open_files(&u, cs);
	dwfl = dwfl_begin(&dwfl_cbs);
	if (dwfl) {
		report(dwfl, &u);
		if (dwfl_attach_state(dwfl, NULL, s->pid ? (pid_t)s->pid : 1, &thread_cbs, &u))
			dwfl_getthread_frames(dwfl, s->pid ? (pid_t)s->pid : 1, frame_cb, &u);
	}
	/* The frame-pointer walk, when DWARF unwinding gave less (its first address is ip). */
	if (u.n < s->n_fp) {
		u.n = 0;
		for (unsigned i = 0; i < s->n_fp && i < TG_CS_FRAMES_MAX; i++) {
			u.act[i] = i == 0;
			u.pcs[u.n++] = s->fp[i];
		}
		u.more = s->n_fp >= TG_STK_FP_MAX;
	}
	if (!u.n) { /* nothing unwound: the instruction pointer alone */
		u.act[0] = true;
		u.pcs[u.n++] = s->ip;
	}
	for (unsigned i = 0; i < u.n; i++)
		symbolize(&u, i, &cs->frames[i]);
	cs->n = u.n;
	cs->truncated = u.more;
	if (dwfl)
		dwfl_end(dwfl);
	for (unsigned i = 0; i < s->n_maps; i++)
		if (u.fds[i] >= 0)
			close(u.fds[i]);
	tg_cs_select(cs);
	tg_cs_set_missing(cs);
	return 0;
}
