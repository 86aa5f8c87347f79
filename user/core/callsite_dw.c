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

struct dw_file;

#define TG_DW_READS_MAX 512 /* words of the stack copy an unwinding may read to be signed */

struct unwind {
	const struct tg_stack *s;
	struct dw_file
		*files[TG_STK_MAPS_MAX];    /* the mappings' files, NULL: not the recorded one */
	Dwfl_Module *mods[TG_STK_MAPS_MAX]; /* in the image: unwinding */
	GElf_Addr bias[TG_STK_MAPS_MAX];    /* the mapping's load bias */
	bool has_bias[TG_STK_MAPS_MAX];
	uint64_t pcs[TG_CS_FRAMES_MAX];
	bool act[TG_CS_FRAMES_MAX]; /* pc is an activation (the first): no -1 adjustment */
	unsigned n;
	bool more;
	/* Each frame's rsp and rbp as the unwinding found them (regs: bit 0, bit 1 known). */
	uint64_t rsp[TG_CS_FRAMES_MAX], rbp[TG_CS_FRAMES_MAX];
	uint8_t regs[TG_CS_FRAMES_MAX];
	/* The words of the stack copy the unwinding read (tg_stk_sig), and whether it read one
	 * that cannot go in a signature (sig_bad). */
	unsigned n_read;
	uint16_t read_off[TG_DW_READS_MAX];
	uint64_t read_val[TG_DW_READS_MAX];
	bool sig_bad;
};

/*
 * What libdw learns of a file (its symbol table, line tables, libc's separate debug file) is
 * what a record costs, so it is kept from one record to the next, in two caches, each bounded
 * and emptied least recently used first:
 *
 * - files, by (dev, ino) as the record gives them: an open descriptor, checked (the hostile-ELF
 *   guard) once, its PT_LOAD headers, and a Dwfl of the file alone at its own addresses for
 *   symbols and lines, shared by every process that maps it (a frame is looked up there at its
 *   address less its mapping's load bias). A record's path is stat()ed every time: it must
 *   still be the recorded inode (else "not the file that was mapped", as without a cache), and
 *   the cached file is used only while size, mtime and ctime are what they were when it was
 *   opened (a file rewritten in place is opened and checked again, and the images that
 *   reported it are dropped). Each opening gets a new generation number, which images refer to.
 * - images, for unwinding: a Dwfl with the files reported where one process mapped them, CFI
 *   only (no separate debug files), attached once (the state callbacks read whichever record is
 *   being unwound). A record uses an image holding each of its file mappings at the same
 *   address, offset and file generation (more modules than the record's are the same process
 *   image, or one forked from it); else a new one is made, which costs little: the files'
 *   headers and .eh_frame, already mapped.
 */
struct dw_file {
	uint64_t gen;  /* this opening's number; 0: a free slot */
	uint64_t used; /* the record that last used it (cache.tick) */
	uint64_t ino;
	__u32 dev; /* kernel dev_t encoding, as the record's */
	struct timespec ctime, mtime;
	off_t size;
	int fd;	   /* -1: refused by the section-count guard */
	long nsec; /* its announced section count */
	unsigned n_loads;
	struct {
		uint64_t offset, vaddr, filesz;
	} loads[TG_DW_LOADS_MAX]; /* its PT_LOAD headers */
	/* Symbols and lines: the file alone in a Dwfl at its own addresses (load bias 0), made
	 * at its first frame to symbolize, shared by every process image that maps it. */
	Dwfl *sym;
	Dwfl_Module *sym_mod;
};

struct dw_image_map {
	uint64_t start, end, pgoff, gen;
	Dwfl_Module *mod; /* NULL: reported, libdw took no module from it */
};

struct dw_image {
	uint64_t used; /* 0: a free slot */
	Dwfl *dwfl;
	bool attached;
	unsigned n;
	struct dw_image_map maps[TG_STK_MAPS_MAX];
	struct unwind *cur; /* the record being unwound, for the state callbacks */
};

static struct {
	/* a record's own files are never evicted for one another: up to TG_STK_MAPS_MAX more */
	struct dw_file files[TG_DW_FILES_MAX + TG_STK_MAPS_MAX];
	struct dw_image images[TG_DW_IMAGES_MAX];
	unsigned file_limit, image_limit;
	uint64_t tick, gen;
	struct tg_dw_cache_stats st;
} cache = {.file_limit = TG_DW_FILES_DEFAULT, .image_limit = TG_DW_IMAGES_DEFAULT};

#define N_FILE_SLOTS (sizeof(cache.files) / sizeof(cache.files[0]))

static char *debuginfo_path;
/* Symbolizing: a file's separate debug info too (a -dbgsym package, by build id). */
static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* Unwinding: the CFI of the files themselves (.eh_frame, else their own .debug_frame); a
 * separate debug file would be read into every image for nothing. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks unwind_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = no_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static int map_of(const struct tg_stack *s, uint64_t addr)
{
	for (unsigned i = 0; i < s->n_maps; i++)
		if (addr >= s->maps[i].start && addr < s->maps[i].end)
			return (int)i;
	return -1;
}

/* The PT_LOAD headers of f's file, for load_bias. */
static void read_loads(struct dw_file *f)
{
	Elf *elf;
	size_t n = 0;

	elf_version(EV_CURRENT); /* libelf's start, before any Dwfl has made it */
	elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return;
	if (elf_getphdrnum(elf, &n) == 0)
		for (size_t i = 0; i < n && f->n_loads < TG_DW_LOADS_MAX; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			f->loads[f->n_loads].offset = ph.p_offset;
			f->loads[f->n_loads].vaddr = ph.p_vaddr;
			f->loads[f->n_loads++].filesz = ph.p_filesz;
		}
	elf_end(elf);
}

/* The load bias of f mapped at m: where its PT_LOAD holding pgoff was put, less its p_vaddr
 * (ET_EXEC: 0). */
static bool load_bias(const struct dw_file *f, const struct tg_stk_map *m, GElf_Addr *bias)
{
	for (unsigned i = 0; i < f->n_loads; i++) {
		uint64_t off = f->loads[i].offset, va = f->loads[i].vaddr;

		if (m->pgoff >= (off & ~0xfffULL) && m->pgoff < off + f->loads[i].filesz) {
			*bias = m->start - m->pgoff - ((va & ~0xfffULL) - (off & ~0xfffULL));
			return true;
		}
	}
	return false;
}

/* f's module for symbols and lines, at its own addresses; NULL if libdw takes none. */
static Dwfl_Module *file_module(struct dw_file *f, const char *path)
{
	int fd;

	if (f->sym)
		return f->sym_mod;
	f->sym = dwfl_begin(&dwfl_cbs);
	if (!f->sym)
		return NULL;
	dwfl_report_begin(f->sym);
	fd = dup(f->fd); /* libdw closes it */
	f->sym_mod = dwfl_report_elf(f->sym, path, path, fd, 0, true);
	if (!f->sym_mod && fd >= 0)
		close(fd);
	dwfl_report_end(f->sym, NULL, NULL);
	return f->sym_mod;
}

static void image_free(struct dw_image *im)
{
	if (im->dwfl)
		dwfl_end(im->dwfl);
	memset(im, 0, sizeof(*im));
}

/* Closes f, and drops the images that reported it. */
static void file_free(struct dw_file *f)
{
	for (unsigned i = 0; i < TG_DW_IMAGES_MAX; i++) {
		struct dw_image *im = &cache.images[i];

		for (unsigned j = 0; im->used && j < im->n; j++)
			if (im->maps[j].gen == f->gen) {
				image_free(im);
				cache.st.image_evictions++;
			}
	}
	if (f->sym)
		dwfl_end(f->sym);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static unsigned files_held(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < N_FILE_SLOTS; i++)
		n += cache.files[i].gen != 0;
	return n;
}

/* Evicts the least recently used file not used by the record at hand (keep: the current
 * record's are kept); false if there is none. */
static bool file_evict(bool keep)
{
	struct dw_file *lru = NULL;

	for (unsigned i = 0; i < N_FILE_SLOTS; i++) {
		struct dw_file *f = &cache.files[i];

		if (f->gen && (!keep || f->used < cache.tick) && (!lru || f->used < lru->used))
			lru = f;
	}
	if (!lru)
		return false;
	file_free(lru);
	cache.st.file_evictions++;
	return true;
}

/* A free slot, the least recently used file evicted when the cache is full. */
static struct dw_file *file_slot(void)
{
	if (files_held() >= cache.file_limit)
		file_evict(true);
	for (unsigned i = 0; i < N_FILE_SLOTS; i++)
		if (!cache.files[i].gen)
			return &cache.files[i];
	return NULL; /* not reached: a record has at most TG_STK_MAPS_MAX files over the limit */
}

static __u32 kdev_of(dev_t d)
{
	return (major(d) << 20) | minor(d);
}

static bool same_ts(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The file of mapping m, if the path still is the file that was mapped: from the cache, else
 * opened and checked; NULL with why in cs->missing. */
static struct dw_file *file_get(const struct tg_stk_map *m, struct tg_callsite *cs)
{
	struct dw_file *f = NULL;
	struct stat st;
	int fd;

	if (stat(m->path, &st) || st.st_ino != m->ino || kdev_of(st.st_dev) != m->dev)
		goto gone;
	for (unsigned i = 0; i < N_FILE_SLOTS && !f; i++)
		if (cache.files[i].gen && cache.files[i].ino == m->ino &&
		    cache.files[i].dev == m->dev)
			f = &cache.files[i];
	if (f && f->size == st.st_size && same_ts(&f->mtime, &st.st_mtim) &&
	    same_ts(&f->ctime, &st.st_ctim)) {
		cache.st.file_hits++;
		f->used = cache.tick;
		goto found;
	}
	if (f) { /* changed in place since it was opened */
		cache.st.file_invalidations++;
		file_free(f);
	}
	cache.st.file_misses++;
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_ino != m->ino || kdev_of(st.st_dev) != m->dev) {
		if (fd >= 0)
			close(fd);
		goto gone;
	}
	f = file_slot();
	if (!f) {
		close(fd);
		return NULL;
	}
	*f = (struct dw_file){.gen = ++cache.gen,
			      .used = cache.tick,
			      .ino = m->ino,
			      .dev = m->dev,
			      .ctime = st.st_ctim,
			      .mtime = st.st_mtim,
			      .size = st.st_size,
			      .fd = fd,
			      .nsec = tg_elf_section_count(fd)};
	if (f->nsec < 0 || f->nsec > TG_ELF_SECTIONS_MAX) {
		close(fd);
		f->fd = -1;
	} else {
		read_loads(f);
	}
found:
	if (f->fd >= 0)
		return f;
	if (!cs->missing[0])
		snprintf(cs->missing, sizeof(cs->missing),
			 "%s announces %ld ELF sections (more than %d, or none readable): not "
			 "read, its frames are not symbolized",
			 m->path, f->nsec, TG_ELF_SECTIONS_MAX);
	return NULL;
gone:
	if (!cs->missing[0])
		snprintf(cs->missing, sizeof(cs->missing),
			 "%s is not the file that was mapped (replaced or deleted since): "
			 "its frames are not symbolized",
			 m->path);
	return NULL;
}

/* The recorded mappings' files, if they are still the files that were mapped. */
static void open_files(struct unwind *u, struct tg_callsite *cs)
{
	const struct tg_stack *s = u->s;

	for (unsigned i = 0; i < s->n_maps; i++) {
		const struct tg_stk_map *m = &s->maps[i];

		u->files[i] = NULL;
		if (!m->path_len || !m->path[0])
			continue;
		if (i && strcmp(m->path, s->maps[i - 1].path) == 0)
			u->files[i] = u->files[i - 1];
		else
			u->files[i] = file_get(m, cs);
		u->has_bias[i] = u->files[i] && load_bias(u->files[i], m, &u->bias[i]);
	}
}

/* An image with each of the record's file mappings at the same place, and no module where
 * the record's file could not be used; u->mods set from it. */
static struct dw_image *image_find(struct unwind *u)
{
	const struct tg_stack *s = u->s;

	for (unsigned k = 0; k < TG_DW_IMAGES_MAX; k++) {
		struct dw_image *im = &cache.images[k];
		bool ok = im->used != 0;

		for (unsigned i = 0; ok && i < s->n_maps; i++) {
			const struct tg_stk_map *m = &s->maps[i];
			const struct dw_image_map *hit = NULL;

			for (unsigned j = 0; j < im->n && !hit; j++)
				if (im->maps[j].start == m->start && im->maps[j].end == m->end &&
				    im->maps[j].pgoff == m->pgoff)
					hit = &im->maps[j];
			if (u->files[i])
				ok = hit && hit->gen == u->files[i]->gen;
			else
				ok = !hit;
			u->mods[i] = ok && hit ? hit->mod : NULL;
		}
		if (ok) {
			im->used = cache.tick;
			cache.st.image_hits++;
			return im;
		}
	}
	memset(u->mods, 0, sizeof(u->mods));
	return NULL;
}

static const Dwfl_Thread_Callbacks thread_cbs;

/* A new image: the record's files reported at their load bias, the unwinder attached. */
static struct dw_image *image_new(struct unwind *u)
{
	const struct tg_stack *s = u->s;
	struct dw_image *im = NULL, *lru = NULL;
	unsigned held = 0;

	cache.st.image_misses++;
	for (unsigned k = 0; k < TG_DW_IMAGES_MAX; k++) {
		struct dw_image *c = &cache.images[k];

		if (!c->used) {
			im = im ? im : c;
			continue;
		}
		held++;
		if (!lru || c->used < lru->used)
			lru = c;
	}
	if (held >= cache.image_limit && lru) {
		image_free(lru);
		cache.st.image_evictions++;
		im = lru;
	}
	if (!im)
		return NULL;
	im->dwfl = dwfl_begin(&unwind_cbs);
	if (!im->dwfl)
		return NULL;
	im->used = cache.tick;
	dwfl_report_begin(im->dwfl);
	for (unsigned i = 0; i < s->n_maps; i++) {
		int fd;

		u->mods[i] = NULL;
		if (!u->files[i])
			continue;
		/* One module per file: a second mapping of it is the same module. */
		for (unsigned j = 0; j < i; j++)
			if (u->mods[j] && u->files[j] == u->files[i])
				u->mods[i] = u->mods[j];
		if (!u->mods[i] && u->has_bias[i]) {
			fd = dup(u->files[i]->fd); /* libdw closes it */
			u->mods[i] = dwfl_report_elf(im->dwfl, s->maps[i].path, s->maps[i].path, fd,
						     u->bias[i], false);
			if (!u->mods[i] && fd >= 0)
				close(fd);
		}
		im->maps[im->n++] = (struct dw_image_map){.start = s->maps[i].start,
							  .end = s->maps[i].end,
							  .pgoff = s->maps[i].pgoff,
							  .gen = u->files[i]->gen,
							  .mod = u->mods[i]};
	}
	dwfl_report_end(im->dwfl, NULL, NULL);
	im->cur = u;
	im->attached =
		dwfl_attach_state(im->dwfl, NULL, s->pid ? (pid_t)s->pid : 1, &thread_cbs, im);
	return im;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	if (*thread_argp)
		return 0;
	*thread_argp = arg;
	return dwfl_pid(dwfl);
}

/* A word of the stack copy the unwinding read, for the signature (tg_stk_sig). What it read
 * of the copy is all it read of the stack: a read below sp or at or past TG_STK_COPY fails
 * whatever the kernel copies; one past a shorter copy would not fail in a longer one. */
static void note_read(struct unwind *u, uint64_t off, const Dwarf_Word *val)
{
	for (unsigned i = 0; i < u->n_read; i++)
		if (u->read_off[i] == off)
			return;
	if (u->n_read >= TG_DW_READS_MAX || (off & 7)) {
		u->sig_bad = true;
		return;
	}
	u->read_off[u->n_read] = (uint16_t)off;
	u->read_val[u->n_read++] = *val;
}

/* The stack copy, else the mapped files. arg: the image; what is read is its current
 * record's. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwind *u = ((const struct dw_image *)arg)->cur;
	const struct tg_stack *s = u->s;
	int i;

	(void)dwfl;
	if (addr >= s->sp && addr + sizeof(*result) <= s->sp + s->stack_len) {
		memcpy(result, s->stack + (addr - s->sp), sizeof(*result));
		note_read(u, addr - s->sp, result);
		return true;
	}
	if (addr >= s->sp && addr < s->sp + TG_STK_COPY)
		u->sig_bad = true;
	i = map_of(s, addr);
	if (i < 0 || !u->files[i])
		return false;
	return pread(u->files[i]->fd, result, sizeof(*result),
		     (off_t)(addr - s->maps[i].start + s->maps[i].pgoff)) == sizeof(*result);
}

/* x86_64 DWARF numbering: 6 rbp, 7 rsp, 16 rip. Only those were captured. */
static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct unwind *u = ((const struct dw_image *)arg)->cur;
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
	u->regs[u->n] = (dwfl_frame_reg(state, 7, &u->rsp[u->n]) == 0) |
			(dwfl_frame_reg(state, 6, &u->rbp[u->n]) == 0) << 1;
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

/* The call line of the inlined_subroutine die into f (its file and line), if its debug info
 * says. */
static void call_line(Dwarf_Die *cu, Dwarf_Die *die, struct tg_frame *f)
{
	Dwarf_Files *files;
	Dwarf_Attribute at;
	Dwarf_Word line, file;
	size_t nfiles;
	const char *src;

	f->file[0] = 0;
	f->line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &at), &line) == 0 &&
	    dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &at), &file) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && file < nfiles &&
	    (src = dwarf_filesrc(files, file, NULL, NULL)) && line > 0) {
		set_file(cu, src, f);
		f->line = (uint32_t)line;
	}
}

/* The name of an inlined function: its linkage name (C++, Rust: demangled with the others),
 * else its name (C, Go's "os.Create"), from the abstract origin. */
static void inline_name(Dwarf_Die *die, struct tg_frame *f)
{
	Dwarf_Attribute at;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &at));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &at));
	if (!name)
		name = dwarf_diename(die);
	snprintf(f->function, sizeof(f->function), "%s", name ? name : "");
}

/*
 * The source lines of addr in mod, as frames into out (room of them; out[0] holds the
 * address's module, offset, build id and symbol): without inlining, one frame at the line
 * table's line. Code inlined into the function (fwrite_report() into main(), os.Create into
 * main.writeReport, std::ofstream's constructor into main()) is one frame per inlining,
 * innermost first, as perf and gdb show them: the inlined function at the line table's line,
 * then each enclosing one at the call line of the inlining inside it, the function itself
 * last. Returns the frames written (at least 1).
 */
static unsigned source_lines(Dwfl_Module *mod, Dwarf_Addr addr, struct tg_frame *out, unsigned room)
{
	Dwarf_Die *scopes = NULL, *chain = NULL, cu;
	unsigned k = 0, w = 0, inl[TG_CS_FRAMES_MAX];
	Dwarf_Addr bias;
	Dwarf_Line *l;
	const char *src;
	int ln, n, i, m = 0;

	if (!cu_of(mod, addr, &cu, &bias))
		return 1;
	addr -= bias;
	l = dwarf_getsrc_die(&cu, addr);
	src = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
	if (!src || dwarf_lineno(l, &ln) || ln <= 0)
		return 1;
	set_file(&cu, src, &out[0]);
	out[0].line = (uint32_t)ln;
	/* dwarf_getscopes follows the innermost inlining's abstract origin (its class,
	 * namespace): the inlinings around it are the concrete parents of that
	 * inlined_subroutine (dwarf_getscopes_die). */
	n = dwarf_getscopes(&cu, addr, &scopes);
	for (i = 0; i < n && dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine; i++)
		;
	if (i < n)
		m = dwarf_getscopes_die(&scopes[i], &chain);
	for (i = 0; i < m && (unsigned)m <= TG_CS_FRAMES_MAX; i++)
		if (dwarf_tag(&chain[i]) == DW_TAG_inlined_subroutine)
			inl[k++] = (unsigned)i; /* inlinings, innermost first */
	if (k && room > 1) {
		struct tg_frame fn = out[0]; /* the function's own: its symbol, not yet its line */

		/* out[0]: the innermost inlined function at the line table's line */
		inline_name(&chain[inl[0]], &out[0]);
		out[0].inlined = true;
		for (unsigned j = 1; j <= k && w + 1 < room; j++) {
			struct tg_frame *f = &out[++w];

			*f = fn;
			call_line(&cu, &chain[inl[j - 1]], f);
			if (j < k) {
				inline_name(&chain[inl[j]], f);
				f->inlined = true;
			}
		}
	}
	free(scopes);
	free(chain);
	return w + 1;
}

/* Frame i: the recorded mapping's file and offset, and what libdw knows of it, into f: one
 * frame, or one per inlining at that address (source_lines), within room. Returns how many. */
static unsigned symbolize(struct unwind *u, unsigned i, struct tg_frame *f, unsigned room)
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
		return 1;
	}
	snprintf(f->module, sizeof(f->module), "%s", s->maps[m].path);
	f->offset = pc - s->maps[m].start + s->maps[m].pgoff;
	/* The file's own module, at the file's addresses: look less the mapping's load bias. */
	mod = u->files[m] && u->has_bias[m] ? file_module(u->files[m], s->maps[m].path) : NULL;
	if (!mod)
		return 1;
	look -= u->bias[m];
	nb = dwfl_module_build_id(mod, &bits, &vaddr);
	if (nb > 0)
		hex(bits, nb, f->build_id, sizeof(f->build_id));
	name = dwfl_module_addrname(mod, look);
	if (name) /* without its symbol version ("_IO_file_fopen@@GLIBC_2.2.5") */
		snprintf(f->function, sizeof(f->function), "%.*s", (int)strcspn(name, "@"), name);
	/* No line in libc, the loader or the C++ runtime: never a call site, and reading libc's
	 * line tables (its -dbg file) cost ~80 ms at the first record, 0.5 ms with them held. */
	if (tg_cs_runtime_module(f->module))
		return 1;
	return source_lines(mod, look, f, room);
}

/* Adds the word read at off to sig (once); false when the unwinding did not read it, or sig is
 * full. */
static bool sig_add(const struct unwind *u, uint64_t off, struct tg_stk_sig *sig)
{
	for (unsigned i = 0; i < sig->n; i++)
		if (sig->off[i] == off)
			return true;
	for (unsigned i = 0; i < u->n_read; i++)
		if (u->read_off[i] == off) {
			if (sig->n >= TG_STK_SIG_WORDS)
				return false;
			sig->off[sig->n] = u->read_off[i];
			sig->val[sig->n++] = u->read_val[i];
			if (off + 8u > sig->span)
				sig->span = (__u32)off + 8u;
			return true;
		}
	return false;
}

/* The words of u's reads its frames may depend on: each caller's return address (at its
 * rsp - 8, rsp being the callee's CFA on x86_64), with with_rbp each saved rbp that a frame
 * restored (a CFA may be rbp's; in code without frame pointers it is any variable), and
 * whatever was read at or above the last frame's rsp (what ended the walk). Not the other
 * callee-saved registers' slots the unwinding also read: a loop's counter in rbx would make
 * every create a new stack. false when one is not where it should be. */
static bool sig_words(const struct unwind *u, bool with_rbp, struct tg_stk_sig *sig)
{
	const struct tg_stack *s = u->s;
	uint64_t last;

	for (unsigned k = 1; k < u->n; k++) {
		if (!(u->regs[k] & 1) || u->rsp[k] < s->sp + 8 ||
		    !sig_add(u, u->rsp[k] - 8 - s->sp, sig))
			return false;
		/* rbp restored by the callee (k - 1): from its own frame, between its rsp and its
		 * CFA (the caller's rsp), where it was saved */
		if (with_rbp && (u->regs[k] & 2) && (u->regs[k - 1] & 2) &&
		    u->rbp[k] != u->rbp[k - 1]) {
			bool found = false;

			if (!(u->regs[k - 1] & 1))
				return false;
			for (unsigned i = 0; i < u->n_read; i++) {
				uint64_t a = s->sp + u->read_off[i];

				if (u->read_val[i] == u->rbp[k] && a >= u->rsp[k - 1] &&
				    a < u->rsp[k])
					found = sig_add(u, u->read_off[i], sig) || found;
			}
			if (!found)
				return false;
		}
	}
	last = u->n && (u->regs[u->n - 1] & 1) ? u->rsp[u->n - 1] : s->sp;
	for (unsigned i = 0; i < u->n_read; i++)
		if (s->sp + u->read_off[i] >= last && !sig_add(u, u->read_off[i], sig))
			return false;
	return sig->n > 0;
}

/* The unwinding of rec by the image im (its frames into u). */
static void unwind_in(struct dw_image *im, struct unwind *u)
{
	im->cur = u;
	dwfl_getthread_frames(im->dwfl, dwfl_pid(im->dwfl), frame_cb, u);
}

/* Whether u's stack unwinds to the same frames with every byte of the copy but sig's words at
 * random (and bp too, with any_bp), twice; m: scratch for the copy. */
static bool sig_holds(const struct unwind *u, struct dw_image *im, const struct tg_stk_sig *sig,
		      bool any_bp, struct tg_stack *m)
{
	const struct tg_stack *s = u->s;
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ s->sp;

	for (unsigned round = 0; round < 2; round++) {
		struct unwind v = {.s = m};

		memcpy(m, s, TG_STACK_HDR_LEN + s->stack_len);
		for (size_t b = 0; b + 8 <= s->stack_len; b += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			memcpy(m->stack + b, &x, 8);
		}
		for (unsigned i = 0; i < sig->n; i++)
			memcpy(m->stack + sig->off[i], &sig->val[i], 8);
		if (any_bp)
			m->bp = x ^ s->bp;
		memcpy(v.files, u->files, sizeof(v.files));
		memcpy(v.mods, u->mods, sizeof(v.mods));
		memcpy(v.bias, u->bias, sizeof(v.bias));
		memcpy(v.has_bias, u->has_bias, sizeof(v.has_bias));
		unwind_in(im, &v);
		if (v.n != u->n || memcmp(v.pcs, u->pcs, u->n * sizeof(u->pcs[0])))
			return false;
	}
	return true;
}

/*
 * What makes u's unwinding stand for the same stack sent again, into sig (n = 0: nothing).
 * The words chosen (sig_words) are checked, not trusted: the stack is unwound again with every
 * other byte of the copy at random, and must give the same frames; first without the saved rbp
 * slots and with bp at random (code without frame pointers: rbp is any register, often a
 * loop's counter), else with them, else with bp as it was. It costs two to six unwindings (no
 * symbolizing) once per call site kept; what it saves is a 13 KiB copy and its unwinding at every
 * create from that call site after.
 */
static void make_sig(const struct unwind *u, struct dw_image *im, bool dwarf,
		     struct tg_stk_sig *sig)
{
	const struct tg_stack *s = u->s;
	struct tg_stack *m;

	memset(sig, 0, sizeof(*sig));
	if (!dwarf || !im || u->sig_bad || (s->flags & TG_STK_F_MAPS_FULL))
		return;
	/* Every frame in a file the record names: the mappings the kernel found depend on every
	 * word of the copy, not only on those read, and one missing here may be found next time. */
	for (unsigned i = 0; i < u->n; i++) {
		int k = map_of(s, u->pcs[i]);

		if (k < 0 || !u->files[k])
			return;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return;
	/* The fewest words first: the return addresses alone, rbp (the register, the slots it
	 * was saved in) at random; then with the saved rbp slots; then with bp as it was. */
	if (sig_words(u, false, sig) && sig_holds(u, im, sig, true, m)) {
		sig->flags |= TG_STK_SIG_ANY_BP;
	} else {
		memset(sig, 0, sizeof(*sig));
		if (!sig_words(u, true, sig))
			sig->n = 0;
		else if (sig_holds(u, im, sig, true, m))
			sig->flags |= TG_STK_SIG_ANY_BP;
		else if (!sig_holds(u, im, sig, false, m))
			sig->n = 0;
	}
	free(m);
	if (!sig->n)
		return;
	sig->start_ns = s->start_ns;
	sig->exec_id = s->exec_id;
	sig->bp = s->bp;
}

int tg_callsite_native(const struct tg_event *e, const void *rec, size_t size,
		       struct tg_callsite *cs, struct tg_stk_sig *sig)
{
	struct unwind u = {.s = rec};
	const struct tg_stack *s = rec;
	struct dw_image *im;
	char err[128];
	bool dwarf;

	(void)e;
	if (sig)
		sig->n = 0;
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
	cache.tick++;
	open_files(&u, cs);
	im = image_find(&u);
	if (!im)
		im = image_new(&u);
	if (im && im->attached)
		unwind_in(im, &u);
	/* The frame-pointer walk (its first address is ip), when DWARF unwinding gave no caller:
	 * code without CFI (a stripped Go program). Never chosen by how far each went: in code
	 * built without frame pointers, rbp is any number, and the walk through it is garbage of
	 * any length. */
	dwarf = u.n >= 2;
	if (!dwarf && u.n < s->n_fp) {
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
	cs->n = 0;
	cs->truncated = u.more;
	for (unsigned i = 0; i < u.n; i++) {
		if (cs->n == TG_CS_FRAMES_MAX) { /* inlinings took the room of the last callers */
			cs->truncated = true;
			break;
		}
		cs->n += symbolize(&u, i, &cs->frames[cs->n], TG_CS_FRAMES_MAX - cs->n);
	}
	if (sig)
		make_sig(&u, im && im->attached ? im : NULL, dwarf, sig);
	if (im)
		im->cur = NULL;
	while (files_held() > cache.file_limit && file_evict(false))
		;
	tg_cs_select(cs);
	tg_cs_set_missing(cs);
	return 0;
}

void tg_dw_cache_stats(struct tg_dw_cache_stats *st)
{
	*st = cache.st;
	st->files = files_held();
	st->images = 0;
	for (unsigned k = 0; k < TG_DW_IMAGES_MAX; k++)
		st->images += cache.images[k].used != 0;
}

void tg_dw_cache_free(void)
{
	for (unsigned i = 0; i < N_FILE_SLOTS; i++)
		if (cache.files[i].gen)
			file_free(&cache.files[i]);
	for (unsigned k = 0; k < TG_DW_IMAGES_MAX; k++)
		if (cache.images[k].used)
			image_free(&cache.images[k]);
	memset(&cache.st, 0, sizeof(cache.st));
}

void tg_dw_cache_limits(unsigned files, unsigned images)
{
	tg_dw_cache_free();
	cache.file_limit = files && files <= TG_DW_FILES_MAX ? files : TG_DW_FILES_DEFAULT;
	cache.image_limit = images && images <= TG_DW_IMAGES_MAX ? images : TG_DW_IMAGES_DEFAULT;
}
