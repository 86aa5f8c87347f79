// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "pyinterp.h"

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

int tg_pyinterp_probe(const char *path, struct tg_py_offsets *o, char *version, size_t vlen,
		      char *why, size_t whylen)
{
	uint64_t runtime = 0, pyver_addr = 0, text = UINT64_MAX;
	bool libpython = false;
	uint32_t hex = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t phnum;
	Elf *elf;
	int fd, rc = -1;

	memset(o, 0, sizeof(*o));
	version[0] = 0;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "cannot open %s: %m", path);
		return -1;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(why, whylen, "%s is not an ELF file", path);
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_DYNAMIC))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		if (sh.sh_type == SHT_DYNAMIC) {
			GElf_Dyn dyn;

			for (size_t i = 0; gelf_getdyn(d, i, &dyn); i++) {
				const char *s = dyn.d_tag == DT_NEEDED ? elf_strptr(elf, sh.sh_link,
										    dyn.d_un.d_val)
								       : NULL;

				unsigned maj, min;

				if (s && !strncmp(s, "libpython", 9)) {
					libpython = true;
					/* libpython3.12.so.1.0: the version, for what is
					 * missing to say */
					if (!version[0] &&
					    sscanf(s, "libpython%u.%u", &maj, &min) == 2)
						snprintf(version, vlen, "%u.%u", maj, min);
				}
			}
			continue;
		}
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 24); i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name)
				continue;
			if (!strcmp(name, "_PyRuntime"))
				runtime = sym.st_value;
			else if (!strcmp(name, "Py_Version"))
				pyver_addr = sym.st_value;
		}
	}
	if (pyver_addr && read_vaddr(elf, fd, pyver_addr, &hex, sizeof(hex)) == 0 && hex)
		snprintf(version, vlen, "%u.%u", hex >> 24, (hex >> 16) & 0xff);
	if (!runtime || !pyver_addr) {
		snprintf(why, whylen, "%s",
			 libpython ? "its runtime is in a shared libpython, not in the executable"
			 : pyver_addr ? "no _PyRuntime in its dynamic symbols"
				      : "no Py_Version in its dynamic symbols (CPython before "
					"3.11, or no "
					"CPython)");
		goto out;
	}
	if (elf_getphdrnum(elf, &phnum))
		goto out;
	for (size_t i = 0; i < phnum; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    ph.p_vaddr < text)
			text = ph.p_vaddr;
	if (text == UINT64_MAX) {
		snprintf(why, whylen, "no executable segment");
		goto out;
	}
	o->runtime = runtime;
	o->text_vaddr = text;
	o->version = hex;
	if (tg_py_offsets_for(hex >> 24, (hex >> 16) & 0xff, o)) {
		snprintf(why, whylen, "CPython %s is not one whose frames tmpguard can read",
			 version);
		goto out;
	}
	rc = 0;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

int tg_pyinterp_key(const char *path, struct tg_py_key *key)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	memset(key, 0, sizeof(*key));
	key->ino = st.st_ino;
	key->dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	return 0;
}

int tg_pyinterp_scan(int (*add)(void *ctx, const char *path, const struct tg_py_key *key,
				const struct tg_py_offsets *o),
		     void *ctx)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/local/bin"};
	struct tg_py_key seen[TG_PY_INTERP_MAX];
	int n = 0;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		if (!dir)
			continue;
		while ((de = readdir(dir)) && n < TG_PY_INTERP_MAX) {
			char path[512], ver[16], why[256];
			struct tg_py_offsets o;
			struct tg_py_key key;
			const char *v = de->d_name + strlen("python3.");
			bool dup = false;

			/* python3.N exactly: not python3.11-config, python3.11d */
			if (strncmp(de->d_name, "python3.", 8) || !*v ||
			    strspn(v, "0123456789") != strlen(v))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], de->d_name);
			if (tg_pyinterp_key(path, &key))
				continue;
			for (int i = 0; i < n; i++)
				dup |= seen[i].ino == key.ino && seen[i].dev == key.dev;
			if (dup || tg_pyinterp_probe(path, &o, ver, sizeof(ver), why, sizeof(why)))
				continue;
			if (add(ctx, path, &key, &o) == 0)
				seen[n++] = key;
		}
		closedir(dir);
	}
	return n;
}
