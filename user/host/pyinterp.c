// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pyinterp.h"

_Static_assert(sizeof(struct tg_bash_offsets) == 40, "tg_bash_offsets: all fields aligned");
_Static_assert(sizeof(struct tg_interp) == 8 + sizeof(struct tg_py_offsets),
	       "tg_interp: all fields aligned");

/* The bytes at vaddr in the file, from the PT_LOAD segment that maps them. */
static int read_vaddr(Elf *elf, int fd, uint64_t vaddr, void *buf, size_t n)
{
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return -1;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr + n <= ph.p_vaddr + ph.p_filesz)
			return pread(fd, buf, n, ph.p_offset + (vaddr - ph.p_vaddr)) == (ssize_t)n
				       ? 0
				       : -1;
	}
	return -1;
}

/* The lowest p_vaddr of an executable PT_LOAD segment, UINT64_MAX if none. */
static uint64_t text_vaddr(Elf *elf)
{
	uint64_t text = UINT64_MAX;
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return text;
	for (size_t i = 0; i < phnum; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    ph.p_vaddr < text)
			text = ph.p_vaddr;
	return text;
}

/* The st_value of each of names[0..n) defined in elf's dynamic symbols into vals (0: none). */
static void dynsyms(Elf *elf, const char *const *names, uint64_t *vals, size_t n)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	memset(vals, 0, n * sizeof(*vals));
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 24); i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (size_t k = 0; name && k < n; k++)
				if (!strcmp(name, names[k]))
					vals[k] = sym.st_value;
		}
	}
}

/* path as an ELF file (its descriptor in *fd), or NULL with why said and nothing left open. */
static Elf *elf_open(const char *path, int *fd, char *why, size_t whylen)
{
	Elf *elf;

	elf_version(EV_CURRENT);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(why, whylen, "cannot open %s: %m", path);
		return NULL;
	}
	elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(why, whylen, "%s is not an ELF file", path);
		if (elf)
			elf_end(elf);
		close(*fd);
		return NULL;
	}
	return elf;
}

/* The p_vaddr of elf's PT_DYNAMIC segment, 0 if none. */
static uint64_t dynamic_vaddr(Elf *elf)
{
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_DYNAMIC)
			return ph.p_vaddr;
	return 0;
}

/* What an executable's dynamic section says of a shared libpython. */
struct py_dyn {
	char needed[128];  /* DT_NEEDED libpython3.N.so..., "" if none */
	char runpath[512]; /* DT_RUNPATH, else DT_RPATH */
	uint64_t debug;	   /* the file address of DT_DEBUG's value, 0 if none */
};

static void dyn_scan(Elf *elf, struct py_dyn *d)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	memset(d, 0, sizeof(*d));
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && gelf_getdyn(data, i, &dyn); i++) {
			const char *s = dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RUNPATH ||
							dyn.d_tag == DT_RPATH
						? elf_strptr(elf, sh.sh_link, dyn.d_un.d_val)
						: NULL;

			if (dyn.d_tag == DT_DEBUG)
				d->debug = sh.sh_addr + i * sizeof(Elf64_Dyn) +
					   __builtin_offsetof(Elf64_Dyn, d_un);
			else if (s && dyn.d_tag == DT_NEEDED && !strncmp(s, "libpython", 9) &&
				 !d->needed[0])
				snprintf(d->needed, sizeof(d->needed), "%s", s);
			else if (s && (dyn.d_tag == DT_RUNPATH || !d->runpath[0]))
				snprintf(d->runpath, sizeof(d->runpath), "%s", s);
		}
	}
}

/* Where the dynamic loader would find name for the executable exe: its run path ($ORIGIN
 * expanded), then the system's directories. The kernel checks that the library it finds
 * loaded is this one (tg_py_offsets.lib_ld), so a miss costs a call site, never a wrong one. */
static int lib_find(const char *exe, const struct py_dyn *d, char *out, size_t len)
{
	static const char *const sys_dirs[] = {"/lib/x86_64-linux-gnu",
					       "/usr/lib/x86_64-linux-gnu",
					       "/usr/local/lib",
					       "/lib64",
					       "/usr/lib64",
					       "/lib",
					       "/usr/lib"};
	char origin[PATH_MAX], rp[sizeof(d->runpath)], *save = NULL, *dir;
	char *slash;

	if (!realpath(exe, origin))
		return -1;
	slash = strrchr(origin, '/');
	if (slash)
		*slash = 0;
	snprintf(rp, sizeof(rp), "%s", d->runpath);
	for (dir = strtok_r(rp, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		const char *base = "", *rest = dir;
		int n;

		if (!strncmp(dir, "$ORIGIN", 7) || !strncmp(dir, "${ORIGIN}", 9)) {
			base = origin;
			rest = dir + (dir[1] == '{' ? 9 : 7);
		}
		n = snprintf(out, len, "%s%s/%s", base, rest, d->needed);
		if (n > 0 && (size_t)n < len && !access(out, R_OK))
			return 0;
	}
	for (size_t i = 0; i < sizeof(sys_dirs) / sizeof(sys_dirs[0]); i++) {
		int n = snprintf(out, len, "%s/%s", sys_dirs[i], d->needed);

		if (n > 0 && (size_t)n < len && !access(out, R_OK))
			return 0;
	}
	return -1;
}

/* _PyRuntime, Py_Version's value and PT_DYNAMIC of elf (the executable, or its libpython). */
static void runtime_syms(Elf *elf, int fd, uint64_t *runtime, uint32_t *hex, uint64_t *pyver)
{
	static const char *const names[] = {"_PyRuntime", "Py_Version"};
	uint64_t addr[2];

	dynsyms(elf, names, addr, 2);
	*runtime = addr[0];
	*pyver = addr[1];
	*hex = 0;
	if (addr[1] && read_vaddr(elf, fd, addr[1], hex, sizeof(*hex)))
		*hex = 0;
}

int tg_pyinterp_probe(const char *path, struct tg_py_offsets *o, char *version, size_t vlen,
		      char *why, size_t whylen)
{
	uint64_t runtime, pyver_addr, text, lib_ld = 0;
	struct py_dyn dyn;
	char lib[PATH_MAX];
	uint32_t hex = 0;
	Elf *elf, *lelf = NULL;
	int fd, lfd = -1, rc = -1;
	unsigned maj, min;

	memset(o, 0, sizeof(*o));
	version[0] = 0;
	elf = elf_open(path, &fd, why, whylen);
	if (!elf)
		return -1;
	dyn_scan(elf, &dyn);
	/* libpython3.12.so.1.0: the version, for what is missing to say */
	if (dyn.needed[0] && sscanf(dyn.needed, "libpython%u.%u", &maj, &min) == 2)
		snprintf(version, vlen, "%u.%u", maj, min);
	runtime_syms(elf, fd, &runtime, &hex, &pyver_addr);
	if (!runtime && dyn.needed[0]) {
		/* --enable-shared: the runtime is in the library, found at run time through
		 * the loader's list (DT_DEBUG) */
		if (!dyn.debug) {
			snprintf(why, whylen, "its runtime is in %s and it has no DT_DEBUG entry",
				 dyn.needed);
			goto out;
		}
		if (lib_find(path, &dyn, lib, sizeof(lib))) {
			snprintf(why, whylen, "its runtime is in %s, which tmpguard did not find",
				 dyn.needed);
			goto out;
		}
		lelf = elf_open(lib, &lfd, why, whylen);
		if (!lelf)
			goto out;
		runtime_syms(lelf, lfd, &runtime, &hex, &pyver_addr);
		lib_ld = dynamic_vaddr(lelf);
		if (runtime && !lib_ld) {
			snprintf(why, whylen, "%s has no PT_DYNAMIC segment", lib);
			goto out;
		}
	}
	if (hex)
		snprintf(version, vlen, "%u.%u", hex >> 24, (hex >> 16) & 0xff);
	if (!runtime || !pyver_addr) {
		snprintf(why, whylen, "%s",
			 pyver_addr ? "no _PyRuntime in its dynamic symbols"
				    : "no Py_Version in its dynamic symbols (CPython before 3.11, "
				      "or no CPython)");
		goto out;
	}
	text = text_vaddr(elf);
	if (text == UINT64_MAX) {
		snprintf(why, whylen, "no executable segment");
		goto out;
	}
	o->runtime = runtime;
	o->text_vaddr = text;
	o->lib_ld = lib_ld;
	o->exe_debug = lib_ld ? dyn.debug : 0;
	o->version = hex;
	if (tg_py_offsets_for(hex >> 24, (hex >> 16) & 0xff, o)) {
		snprintf(why, whylen, "CPython %s is not one whose frames tmpguard can read",
			 version);
		goto out;
	}
	rc = 0;
out:
	if (lelf) {
		elf_end(lelf);
		close(lfd);
	}
	elf_end(elf);
	close(fd);
	return rc;
}

int tg_bashinterp_probe(const char *path, struct tg_bash_offsets *o, char *why, size_t whylen)
{
	/* the order of tg_bash_offsets' addresses */
	static const char *const names[] = {"line_number", "sourcelevel", "parse_and_execute_level",
					    "variable_context"};
	uint64_t addr[4];
	Elf *elf;
	int fd, rc = -1;

	memset(o, 0, sizeof(*o));
	elf = elf_open(path, &fd, why, whylen);
	if (!elf)
		return -1;
	dynsyms(elf, names, addr, 4);
	for (size_t k = 0; k < 4; k++)
		if (!addr[k]) {
			snprintf(why, whylen, "no %s in its dynamic symbols", names[k]);
			goto out;
		}
	o->text_vaddr = text_vaddr(elf);
	if (o->text_vaddr == UINT64_MAX) {
		snprintf(why, whylen, "no executable segment");
		goto out;
	}
	o->line_number = addr[0];
	o->sourcelevel = addr[1];
	o->parse_level = addr[2];
	o->variable_context = addr[3];
	rc = 0;
out:
	elf_end(elf);
	close(fd);
	return rc;
}

int tg_interp_key(const char *path, struct tg_interp_key *key)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	memset(key, 0, sizeof(*key));
	key->ino = st.st_ino;
	key->dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	return 0;
}

struct scan {
	int (*add)(void *ctx, const char *path, const struct tg_interp_key *key,
		   const struct tg_interp *v);
	void *ctx;
	struct tg_interp_key seen[TG_INTERP_MAX];
	int n;
};

/* path, once per file: a bash, or a CPython that tmpguard can walk. */
static void scan_one(struct scan *sc, const char *path, enum tg_interp_lang lang)
{
	struct tg_interp_key key;
	struct tg_interp v = {.lang = lang};
	char ver[16], why[256];

	if (sc->n >= TG_INTERP_MAX || tg_interp_key(path, &key))
		return;
	for (int i = 0; i < sc->n; i++)
		if (sc->seen[i].ino == key.ino && sc->seen[i].dev == key.dev)
			return;
	if (lang == TG_INTERP_BASH
		    ? tg_bashinterp_probe(path, &v.bash, why, sizeof(why))
		    : tg_pyinterp_probe(path, &v.py, ver, sizeof(ver), why, sizeof(why)))
		return;
	if (sc->add(sc->ctx, path, &key, &v) == 0)
		sc->seen[sc->n++] = key;
}

int tg_interp_scan(int (*add)(void *ctx, const char *path, const struct tg_interp_key *key,
			      const struct tg_interp *v),
		   void *ctx)
{
	/* the system's, /usr/local's (python Docker images, source builds) and pyenv's (root's
	 * and each user's): pyenv's and Docker's are --enable-shared builds */
	static const char *const globs[] = {"/usr/bin", "/usr/local/bin",
					    "/root/.pyenv/versions/*/bin",
					    "/home/*/.pyenv/versions/*/bin"};
	/* /bin/sh is dash on Debian; where it is bash, the same file as bash (or a copy) */
	static const char *const bashes[] = {"/usr/bin/bash", "/bin/bash", "/usr/local/bin/bash",
					     "/bin/sh", "/usr/bin/sh"};
	struct scan sc = {.add = add, .ctx = ctx};

	for (size_t g = 0; g < sizeof(globs) / sizeof(globs[0]); g++) {
		glob_t gl;

		if (glob(globs[g], GLOB_ONLYDIR | GLOB_NOSORT, NULL, &gl))
			continue;
		for (size_t d = 0; d < gl.gl_pathc; d++) {
			DIR *dir = opendir(gl.gl_pathv[d]);
			struct dirent *de;

			if (!dir)
				continue;
			while ((de = readdir(dir))) {
				const char *v = de->d_name + strlen("python3.");
				char path[512];

				/* python3.N exactly: not python3.11-config, python3.11d */
				if (strncmp(de->d_name, "python3.", 8) || !*v ||
				    strspn(v, "0123456789") != strlen(v))
					continue;
				snprintf(path, sizeof(path), "%s/%s", gl.gl_pathv[d], de->d_name);
				scan_one(&sc, path, TG_INTERP_CPYTHON);
			}
			closedir(dir);
		}
		globfree(&gl);
	}
	for (size_t i = 0; i < sizeof(bashes) / sizeof(bashes[0]); i++)
		scan_one(&sc, bashes[i], TG_INTERP_BASH);
	return sc.n;
}

const struct tg_interp *tg_interp_find(const struct tg_interp_reg *r, uint64_t ino, uint32_t dev)
{
	for (int i = 0; r && i < r->n; i++)
		if (r->key[i].ino == ino && r->key[i].dev == dev)
			return &r->val[i];
	return NULL;
}

/* mm->start_code of pid: /proc/PID/stat's field 26 (startcode), 0 if unreadable. */
static uint64_t start_code(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses: fields count after it */
	/* p ends field 2; field 26 follows the 24th space after it */
	for (int i = 0; p && i < 24; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &v) != 1)
		return 0;
	return v;
}

int tg_bash_read(uint32_t pid, const struct tg_bash_offsets *o, uint32_t *line, uint32_t *flags)
{
	const uint64_t addr[4] = {o->line_number, o->variable_context, o->sourcelevel,
				  o->parse_level};
	const uint32_t bit[4] = {TG_SH_LINE, TG_SH_FUNCTION, TG_SH_SOURCED, TG_SH_STRING};
	uint64_t start = start_code(pid);
	int32_t v[4];
	struct iovec local[4], remote[4];

	*line = 0;
	*flags = 0;
	if (!start)
		return -1;
	for (int i = 0; i < 4; i++) {
		local[i] = (struct iovec){&v[i], sizeof(v[i])};
		remote[i] = (struct iovec){(void *)(uintptr_t)(start - o->text_vaddr + addr[i]),
					   sizeof(v[i])};
	}
	if (process_vm_readv((pid_t)pid, local, 4, remote, 4, 0) != (ssize_t)sizeof(v))
		return -1;
	if (v[0] <= 0)
		return 0; /* as the kernel: no line */
	*line = (uint32_t)v[0];
	for (int i = 0; i < 4; i++)
		*flags |= v[i] > 0 ? bit[i] : 0;
	return 0;
}
