// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "container.h"
#include "util/elfhdr.h"
#include "enrich.h"

#define CACHE_SLOTS 1024 /* direct-mapped by pid: bounded memory, good enough hit rate */

struct tg_enrich {
	struct tg_proc_info *slots;
	bool *used;
	ino_t self_mntns;
	/* The last mount namespace a process was looked for in: a process in it, or none (0)
	 * as of when (CLOCK_MONOTONIC s), so that a namespace with none is scanned for once a
	 * second at most. */
	uint32_t ns_ino;
	pid_t ns_pid;
	time_t ns_when;
};

struct tg_enrich *tg_enrich_new(void)
{
	struct tg_enrich *en = calloc(1, sizeof(*en));
	struct stat st;

	if (!en)
		return NULL;
	en->slots = calloc(CACHE_SLOTS, sizeof(*en->slots));
	en->used = calloc(CACHE_SLOTS, sizeof(*en->used));
	if (!en->slots || !en->used) {
		tg_enrich_free(en);
		return NULL;
	}
	if (stat("/proc/self/ns/mnt", &st) == 0)
		en->self_mntns = st.st_ino;
	elf_version(EV_CURRENT);
	return en;
}

void tg_enrich_free(struct tg_enrich *en)
{
	if (!en)
		return;
	free(en->slots);
	free(en->used);
	free(en);
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Go binaries carry a .note.go.buildid or .go.buildinfo section. Real ones have some tens of
 * sections: past TG_ELF_SECTIONS_MAX (util/elfhdr.h) the file is not read (and not called Go). */
static bool elf_fd_is_go(int fd)
{
	bool go = false;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf *elf;
	long nsec;

	if (fd < 0)
		return false;
	nsec = tg_elf_section_count(fd);
	if (nsec < 0 || nsec > TG_ELF_SECTIONS_MAX) {
		close(fd);
		return false;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while ((scn = elf_nextscn(elf, scn)) && !go) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				break;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			go = name &&
			     (!strcmp(name, ".note.go.buildid") || !strcmp(name, ".go.buildinfo"));
		}
	}
	elf_end(elf);
	close(fd);
	return go;
}

static bool elf_is_go(const char *path)
{
	return elf_fd_is_go(open(path, O_RDONLY | O_CLOEXEC));
}

static bool in_mntns(pid_t pid, uint32_t ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) == 0 && st.st_ino == ns;
}

/* A live process in mount namespace ns (its inode), or 0. */
static pid_t pid_in_mntns(struct tg_enrich *en, uint32_t ns)
{
	struct timespec now;
	struct dirent *de;
	DIR *d;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (en->ns_ino == ns && (en->ns_pid ? in_mntns(en->ns_pid, ns) : now.tv_sec == en->ns_when))
		return en->ns_pid;
	en->ns_ino = ns;
	en->ns_pid = 0;
	en->ns_when = now.tv_sec;
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0 && in_mntns((pid_t)pid, ns)) {
			en->ns_pid = (pid_t)pid;
			break;
		}
	}
	closedir(d);
	return en->ns_pid;
}

/* path, resolved inside the root of process pid (RESOLVE_IN_ROOT: its symlinks cannot lead
 * out of it), or in tmpguard's own when pid is 0. Never blocks on a FIFO. */
static int open_in_root(pid_t pid, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char root[64];
	int dfd, fd;

	if (!pid)
		return open(path, (int)how.flags);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	close(dfd);
	return fd;
}

/* A process that is gone: its executable, found by the path the kernel walked (in its mount
 * namespace: tmpguard's, or through a process still in that one), if that is the very file
 * it ran (same inode and device). */
static bool gone_exe_is_go(struct tg_enrich *en, const struct tg_event *e)
{
	struct stat st;
	pid_t pid = 0;
	int fd;

	if (e->exe[0] != '/' || (e->facts & TG_F_EXE_TRUNC) || !en)
		return false;
	if (e->mntns != (uint32_t)en->self_mntns && !(pid = pid_in_mntns(en, e->mntns)))
		return false;
	fd = open_in_root(pid, e->exe);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) || st.st_ino != e->exe_ino ||
	    st.st_dev != makedev(e->exe_dev >> 20, e->exe_dev & 0xfffff)) {
		close(fd);
		return false;
	}
	return elf_fd_is_go(fd);
}

static void join_args(char *dst, size_t dstlen, size_t *outlen, const char *src, size_t n)
{
	size_t k = n < dstlen - 1 ? n : dstlen - 1;

	memcpy(dst, src, k);
	while (k && dst[k - 1] == 0)
		k--; /* trailing NULs */
	for (size_t i = 0; i < k; i++)
		if (dst[i] == 0)
			dst[i] = ' ';
	dst[k] = 0;
	*outlen = k;
}

/* The ppid and comm fields of /proc/PID/stat ("pid (comm) state ppid ..."). */
static int proc_stat(uint32_t pid, uint32_t *ppid, char *comm, size_t commlen)
{
	char path[64], buf[512], *l, *r;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	n = read_file(path, buf, sizeof(buf));
	/* comm may hold ')' and spaces: it ends at the last ')'. */
	if (n <= 0 || !(l = strchr(buf, '(')) || !(r = strrchr(buf, ')')) || r < l)
		return -1;
	*r = 0;
	snprintf(comm, commlen, "%s", l + 1);
	return sscanf(r + 1, " %*c %u", ppid) == 1 ? 0 : -1;
}

/* The parent chain from the event's parent up to pid 1. The first parent comes from the kernel
 * record when /proc no longer has it; the chain stops at the first one that is gone. */
static void fill_ancestry(struct tg_proc_info *pi, const struct tg_event *e)
{
	uint32_t pid = e->ppid;

	pi->n_ancestry = 0;
	while (pid) {
		struct tg_ancestor *a;
		char path[64];
		uint32_t ppid = 0;
		ssize_t n;

		if (pi->n_ancestry == TG_ANCESTRY_MAX) {
			pi->ancestry_truncated = true;
			break;
		}
		a = &pi->ancestry[pi->n_ancestry];
		memset(a, 0, sizeof(*a));
		a->pid = pid;
		if (proc_stat(pid, &ppid, a->comm, sizeof(a->comm))) {
			if (pi->n_ancestry == 0) {
				snprintf(a->comm, sizeof(a->comm), "%s", e->pcomm);
				pi->n_ancestry++;
			}
			break;
		}
		snprintf(path, sizeof(path), "/proc/%u/exe", pid);
		n = readlink(path, a->exe, sizeof(a->exe) - 1);
		a->exe[n > 0 ? n : 0] = 0;
		pi->n_ancestry++;
		if (pid == 1 || ppid == pid)
			break;
		pid = ppid;
	}
}

/*
 * /proc/PID is still the process that made the record: the same start, in the clock ticks
 * since boot that /proc/PID/stat gives (field 22). A pid reused since, by a process another
 * user may have made to look alike (its comm set with prctl), shows another start.
 */
static bool proc_is_same(const struct tg_event *e)
{
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], buf[1024], *p, *end;
	unsigned long long start;

	if (!e->start_ns || hz <= 0)
		return true; /* the record does not say: as the kernel shows it */
	snprintf(path, sizeof(path), "/proc/%u/stat", e->pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return false;
	for (int i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return false;
	start = strtoull(p + 1, &end, 10);
	return end != p + 1 && start == e->start_ns / (1000000000ULL / (unsigned long long)hz);
}

/* Whether pid still runs the executable the kernel saw at the record (exe_ino): a process that
 * exec'd since (bash -c '... > /tmp/f; exec prog') keeps its pid and start time, and /proc then
 * names the new program, whose exceptions would wrongly apply. The inode number only: stat()
 * through overlayfs (a container's image) may give another st_dev than the inode's s_dev the
 * kernel recorded, never another number. True when the record does not say. */
static bool proc_runs_exe(const struct tg_event *e)
{
	char path[64];
	struct stat st;

	if (!e->exe_ino)
		return true;
	snprintf(path, sizeof(path), "/proc/%u/exe", e->pid);
	return stat(path, &st) == 0 && st.st_ino == e->exe_ino;
}

static void fill_from_proc(struct tg_enrich *en, struct tg_proc_info *pi, const struct tg_event *e)
{
	char path[64], buf[sizeof(pi->cgroup) + 8];
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	bool same;
	ssize_t n;

	memset(pi, 0, sizeof(*pi));
	pi->pid = e->pid;
	pi->start_ns = e->start_ns;
	pi->exe_ino = e->exe_ino;
	memcpy(pi->comm, e->comm, sizeof(pi->comm));
	/* Checked before and after the reads: the process may end, and its pid be taken, in
	 * between. Another process's /proc is never read as this one's. */
	same = proc_is_same(e);

	snprintf(path, sizeof(path), "/proc/%u/exe", e->pid);
	n = same && proc_runs_exe(e) ? readlink(path, pi->exe, sizeof(pi->exe) - 1) : -1;
	if (n > 0) {
		pi->exe[n] = 0;
		pi->is_go = elf_is_go(path);
	} else {
		/* Gone already, or running another program since: the kernel's path of
		 * mm->exe_file (its basename when the path could not be had), and the language
		 * from that file, if it still is the one. */
		snprintf(pi->exe, sizeof(pi->exe), "%s", e->exe);
		pi->from_kernel = true;
		pi->is_go = gone_exe_is_go(en, e);
	}

	snprintf(path, sizeof(path), "/proc/%u/cmdline", e->pid);
	{
		char *cl = malloc(sizeof(pi->cmdline));

		n = cl && same ? read_file(path, cl, sizeof(pi->cmdline)) : -1;
		/* Use /proc only while it still shows the argv the kernel saw. */
		if (n > 0 && (size_t)n >= e->args_len && !memcmp(cl, e->args, e->args_len))
			join_args(pi->cmdline, sizeof(pi->cmdline), &pi->cmdline_len, cl, n);
		else
			join_args(pi->cmdline, sizeof(pi->cmdline), &pi->cmdline_len, e->args,
				  e->args_len);
		free(cl);
	}

	if (getpwuid_r(e->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		snprintf(pi->user, sizeof(pi->user), "%s", pw.pw_name);
	else
		snprintf(pi->user, sizeof(pi->user), "%u", e->uid);

	snprintf(path, sizeof(path), "/proc/%u/cgroup", e->pid);
	pi->cgroup[0] = 0;
	if (same && read_file(path, buf, sizeof(buf)) > 0) {
		/* cgroup v2: the line "0::/path" */
		char *line = strstr(buf, "0::");

		if (line) {
			line += 3;
			line[strcspn(line, "\n")] = 0;
			snprintf(pi->cgroup, sizeof(pi->cgroup), "%s", line);
		}
	}
	if (!pi->cgroup[0])
		snprintf(pi->cgroup, sizeof(pi->cgroup), "%s", e->cgroup);
	if (same && !pi->from_kernel && !proc_is_same(e)) {
		/* Ended and replaced while being read: what was read may be another's. */
		snprintf(pi->exe, sizeof(pi->exe), "%s", e->exe);
		pi->from_kernel = true;
		pi->is_go = gone_exe_is_go(en, e);
		join_args(pi->cmdline, sizeof(pi->cmdline), &pi->cmdline_len, e->args, e->args_len);
		snprintf(pi->cgroup, sizeof(pi->cgroup), "%s", e->cgroup);
	}
	pi->runtime = tg_container_id(pi->cgroup, pi->container_id, sizeof(pi->container_id));
	fill_ancestry(pi, e);
}

const struct tg_proc_info *tg_enrich_proc(struct tg_enrich *en, const struct tg_event *e)
{
	size_t slot = e->pid % CACHE_SLOTS;
	struct tg_proc_info *pi = &en->slots[slot];

	/* The same process (pid and start: a recycled pid has another start) running the same
	 * program (an exec changes the executable, and usually comm): what was read holds. */
	if (en->used[slot] && pi->pid == e->pid && pi->start_ns == e->start_ns &&
	    pi->exe_ino == e->exe_ino && !strncmp(pi->comm, e->comm, sizeof(pi->comm)))
		return pi;
	fill_from_proc(en, pi, e);
	en->used[slot] = true;
	return pi;
}

enum tg_base_status tg_resolve_base(const struct tg_event *e, char *base, size_t len)
{
	char link[64];
	ssize_t n;

	base[0] = 0;
	if (e->path[0] == '/')
		return TG_BASE_ABSOLUTE;
	if (e->dfd == -100 /* AT_FDCWD */)
		snprintf(link, sizeof(link), "/proc/%u/cwd", e->pid);
	else
		snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->pid, e->dfd);
	n = readlink(link, base, len - 1);
	if (n < 0) {
		/* The kernel cannot name a directory deeper than PATH_MAX. */
		if (errno == ENAMETOOLONG)
			return TG_BASE_TOO_LONG;
		return errno == ENOENT ? TG_BASE_GONE : TG_BASE_UNREACHABLE;
	}
	if ((size_t)n >= len - 1) {
		base[0] = 0;
		return TG_BASE_TOO_LONG;
	}
	base[n] = 0;
	/* "(unreachable)/..." or "... (deleted)": not a path one could follow. */
	if (base[0] != '/' || (n > 10 && !strcmp(base + n - 10, " (deleted)"))) {
		base[0] = 0;
		return TG_BASE_UNREACHABLE;
	}
	return TG_BASE_OK;
}

const char *tg_base_status_name(enum tg_base_status s)
{
	static const char *const names[] = {
		[TG_BASE_ABSOLUTE] = "absolute",
		[TG_BASE_OK] = "ok",
		[TG_BASE_GONE] = "gone",
		[TG_BASE_TOO_LONG] = "too-long",
		[TG_BASE_UNREACHABLE] = "unreachable",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/*
 * stat (or lstat, nofollow) path as the process saw it: from its root, cwd or dirfd through
 * /proc/PID, or, when the process is gone (absolute paths only), from tmpguard's own view if
 * it shares the process's mount namespace, else through the root of a live process in that
 * namespace (tmpguard in a container, with the host's PID namespace, sees the host's /tmp so).
 * Returns stat's result, errno set.
 */
static int stat_as_proc(struct tg_enrich *en, const struct tg_event *e, const char *path,
			bool nofollow, struct stat *st)
{
	char full[TG_PATH_LEN + 64];
	struct stat ns;
	pid_t other;
	int r, err;

	if (path[0] == '/')
		snprintf(full, sizeof(full), "/proc/%u/root%s", e->pid, path);
	else if (e->dfd == -100 /* AT_FDCWD */)
		snprintf(full, sizeof(full), "/proc/%u/cwd/%s", e->pid, path);
	else
		snprintf(full, sizeof(full), "/proc/%u/fd/%d/%s", e->pid, e->dfd, path);
	r = nofollow ? lstat(full, st) : stat(full, st);
	if (r == 0 || path[0] != '/')
		return r;
	err = errno;
	if (stat("/proc/self/ns/mnt", &ns) == 0 && ns.st_ino == e->mntns)
		return nofollow ? lstat(path, st) : stat(path, st);
	other = en ? pid_in_mntns(en, e->mntns) : 0;
	if (other && other != (pid_t)e->pid) {
		snprintf(full, sizeof(full), "/proc/%d/root%s", (int)other, path);
		return nofollow ? lstat(full, st) : stat(full, st);
	}
	errno = err;
	return r;
}

/* The directory part of path: "." for a bare name, "/" for "/name". */
static void path_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

enum tg_link_state tg_requested_link(struct tg_enrich *en, const struct tg_event *e, bool *own)
{
	struct stat st, dst;

	*own = false;
	if (e->facts & (TG_F_PATH_FAULT | TG_F_PATH_TRUNC) || !e->path[0])
		return TG_LINK_UNKNOWN;
	if (stat_as_proc(en, e, e->path, true, &st) == 0) {
		char dir[TG_PATH_LEN];

		if (!S_ISLNK(st.st_mode))
			return TG_LINK_ABSENT;
		/* The follower's own link, or the directory owner's: not someone else's. */
		path_dir(e->path, dir, sizeof(dir));
		*own = st.st_uid == e->fsuid ||
		       (stat_as_proc(en, e, dir, false, &dst) == 0 && st.st_uid == dst.st_uid);
		return TG_LINK_PRESENT;
	}
	/* ENOENT: the name is gone, or the process (its /proc entry) is: the directory tells. */
	if (errno == ENOENT || errno == ENOTDIR) {
		char dir[TG_PATH_LEN];

		path_dir(e->path, dir, sizeof(dir));
		if (stat_as_proc(en, e, dir, false, &st) == 0)
			return TG_LINK_ABSENT;
	}
	return TG_LINK_UNKNOWN;
}

static bool is_shared_dir(const struct stat *st, const struct tg_dir_key *extra, size_t n_extra)
{
	if (!S_ISDIR(st->st_mode))
		return false;
	if ((st->st_mode & S_ISVTX) && (st->st_mode & S_IWOTH))
		return true;
	for (size_t i = 0; i < n_extra; i++)
		if (extra[i].ino == st->st_ino &&
		    extra[i].dev == ((major(st->st_dev) << 20) | minor(st->st_dev)))
			return true;
	return false;
}

/*
 * The directory part of the path, one component at a time, as the kernel walked it: each
 * prefix looked at without following its last component. The first symlink that sits in a
 * shared directory fills v->dir_link*. Prefixes are lexical ("a/../b" is looked up as the
 * kernel would, through a's target), so each lstat() sees what the walk saw there.
 */
static void find_dir_link(struct tg_enrich *en, const struct tg_event *e, const char *dir,
			  const struct tg_dir_key *extra, size_t n_extra, struct tg_dir_verdict *v)
{
	char prefix[TG_PATH_LEN], parent[TG_PATH_LEN];
	size_t len = strlen(dir), i = 0;
	struct stat lst, pst;

	if (!strcmp(dir, ".") || !strcmp(dir, "/"))
		return;
	while (i < len) {
		while (i < len && dir[i] == '/')
			i++;
		if (i >= len)
			break;
		while (i < len && dir[i] != '/')
			i++;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, dir);
		if (stat_as_proc(en, e, prefix, true, &lst) != 0)
			return;
		if (!S_ISLNK(lst.st_mode))
			continue;
		path_dir(prefix, parent, sizeof(parent));
		if (stat_as_proc(en, e, parent, false, &pst) != 0 ||
		    !is_shared_dir(&pst, extra, n_extra))
			continue;
		v->dir_link = true;
		v->dir_link_uid = lst.st_uid;
		v->dir_link_foreign = lst.st_uid != e->fsuid && lst.st_uid != pst.st_uid;
		return;
	}
}

int tg_resolve_dir(struct tg_enrich *en, const struct tg_event *e,
		   const struct tg_dir_key *extra_shared, size_t n_extra, struct tg_dir_verdict *v)
{
	char dir[TG_PATH_LEN];
	struct stat st;

	memset(v, 0, sizeof(*v));
	if (e->facts & (TG_F_PATH_FAULT | TG_F_PATH_TRUNC))
		return -1;
	path_dir(e->path, dir, sizeof(dir));
	if (stat_as_proc(en, e, dir, false, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	v->shared = is_shared_dir(&st, extra_shared, n_extra);
	if (!v->shared) {
		find_dir_link(en, e, dir, extra_shared, n_extra, v);
		v->shared = v->dir_link;
	}
	v->is_holding_dir =
		e->kind != TG_KIND_OPEN ||
		(st.st_ino == e->dir_ino && st.st_dev == makedev(e->dev >> 20, e->dev & 0xfffff));
	return 0;
}
