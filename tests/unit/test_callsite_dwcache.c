// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Native call sites, the caches of callsite_dw.c: a file and its process image are reused from
 * one record to the next, evicted least recently used first, and never trusted once the file
 * changed. The records are made here, from copies of this test's own executable mapped where
 * it is mapped now, so each is symbolized as the running code is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "callsite.h"
#include "callsite_native.h"

static char dir[] = "/tmp/tg-dwcache-XXXXXX";
static uint64_t text_start, text_end, text_pgoff; /* this executable's mapping of target() */

__attribute__((noinline, used)) int tg_dwcache_target(int x)
{
	return x * 3 + 1;
}

/* The mapping of this executable that holds tg_dwcache_target. */
static void find_text(void)
{
	uintptr_t pc = (uintptr_t)&tg_dwcache_target;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;

		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) == 3 && pc >= s && pc < e) {
			text_start = s;
			text_end = e;
			text_pgoff = off;
		}
	}
	fclose(f);
	assert_true(text_end > text_start);
}

/* Writes a copy of this executable at dir/name (over what is there: the same inode). */
static void copy_exe(const char *name)
{
	char path[256], buf[65536];
	int in = open("/proc/self/exe", O_RDONLY), out;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* A stack record of this process with one mapping: dir/name at this executable's text, the
 * instruction pointer in tg_dwcache_target (shift moves the whole mapping: another image). */
static struct tg_stack *record(const char *name, uint64_t shift, size_t *size)
{
	struct tg_stack *s = calloc(1, sizeof(*s));
	struct tg_stk_map *m = &s->maps[0];
	struct stat st;

	assert_non_null(s);
	snprintf(m->path, sizeof(m->path), "%s/%s", dir, name);
	m->path_len = (__u32)strlen(m->path) + 1;
	if (stat(m->path, &st) == 0) {
		m->ino = st.st_ino;
		m->dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	}
	m->start = text_start + shift;
	m->end = text_end + shift;
	m->pgoff = text_pgoff;
	s->n_maps = 1;
	s->kind = TG_KIND_STACK;
	s->pid = (__u32)getpid();
	s->tid = s->pid;
	s->ip = (uintptr_t)&tg_dwcache_target + shift;
	s->sp = 0x7ff000000000ULL;
	s->stack_len = 0;
	*size = TG_STACK_HDR_LEN;
	return s;
}

/* The call site of a record of dir/name; the function of its first frame in fn. */
static void resolve(const char *name, uint64_t shift, struct tg_callsite *cs)
{
	size_t size;
	struct tg_stack *s = record(name, shift, &size);

	tg_callsite_resolve(NULL, s, size, cs, NULL);
	free(s);
	assert_int_equal(cs->kind, TG_CS_NATIVE);
	assert_true(cs->n >= 1);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	find_text();
	copy_exe("a");
	copy_exe("b");
	copy_exe("c");
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = {"a", "b", "c", "hostile", "a.new"};
	char path[256];

	(void)state;
	tg_dw_cache_free();
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

/* The second record of the same image reuses the file and the Dwfl, and says the same. */
static void hit(void **state)
{
	struct tg_callsite *cs1 = calloc(1, sizeof(*cs1)), *cs2 = calloc(1, sizeof(*cs2));
	struct tg_dw_cache_stats st;

	(void)state;
	tg_dw_cache_limits(0, 0);
	resolve("a", 0, cs1);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_misses, 1);
	assert_int_equal(st.image_misses, 1);
	assert_int_equal(st.file_hits + st.image_hits, 0);
	assert_string_equal(cs1->frames[0].function, "tg_dwcache_target");

	resolve("a", 0, cs2);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_hits, 1);
	assert_int_equal(st.image_hits, 1);
	assert_int_equal(st.file_misses, 1);
	assert_int_equal(st.image_misses, 1);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.images, 1);
	assert_int_equal(cs1->n, cs2->n);
	for (unsigned i = 0; i < cs1->n; i++) {
		assert_string_equal(cs1->frames[i].function, cs2->frames[i].function);
		assert_string_equal(cs1->frames[i].build_id, cs2->frames[i].build_id);
		assert_int_equal(cs1->frames[i].offset, cs2->frames[i].offset);
	}
	assert_string_equal(cs1->missing, cs2->missing);

	/* The same file mapped elsewhere (another process): the file is reused, not the image. */
	resolve("a", 0x100000000ULL, cs2);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_hits, 2);
	assert_int_equal(st.image_misses, 2);
	assert_int_equal(st.images, 2);
	assert_string_equal(cs2->frames[0].function, "tg_dwcache_target");
	free(cs1);
	free(cs2);
}

/* Bounded: the least recently used file (and the images that reported it) goes first. */
static void eviction(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	struct tg_dw_cache_stats st;

	(void)state;
	tg_dw_cache_limits(2, 0);
	resolve("a", 0, cs);
	resolve("b", 0, cs);
	resolve("a", 0, cs); /* a is now the most recent: b goes for c */
	resolve("c", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.file_evictions, 1);
	assert_int_equal(st.images, 2);
	resolve("a", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_hits, 2);
	assert_int_equal(st.file_misses, 3);
	resolve("b", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_misses, 4);
	assert_int_equal(st.file_evictions, 2);
	assert_string_equal(cs->frames[0].function, "tg_dwcache_target");

	tg_dw_cache_limits(0, 1);
	resolve("a", 0, cs);
	resolve("b", 0, cs);
	resolve("b", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.images, 1);
	assert_int_equal(st.image_evictions, 1);
	assert_int_equal(st.image_hits, 1);
	assert_int_equal(st.files, 2); /* files outlive the images that reported them */
	free(cs);
}

/* A file rewritten in place (same inode, new mtime) is opened and checked again, and the
 * images that reported it are not used. */
static void invalidation(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	struct tg_dw_cache_stats st;
	struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	char path[256];

	(void)state;
	tg_dw_cache_limits(0, 0);
	resolve("a", 0, cs);
	copy_exe("a");
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	resolve("a", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_invalidations, 1);
	assert_int_equal(st.file_hits, 0);
	assert_int_equal(st.file_misses, 2);
	assert_int_equal(st.image_hits, 0);
	assert_int_equal(st.image_misses, 2);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.images, 1);
	assert_string_equal(cs->frames[0].function, "tg_dwcache_target");
	assert_string_equal(cs->missing, "");
	resolve("a", 0, cs);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_hits, 1);
	assert_int_equal(st.image_hits, 1);
	free(cs);
}

/* A path that now names another file (replaced: new inode) is not read, cached or not. */
static void replaced(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	struct tg_dw_cache_stats st;
	char from[256], to[256];
	size_t size;
	struct tg_stack *s;

	(void)state;
	tg_dw_cache_limits(0, 0);
	resolve("a", 0, cs);
	s = record("a", 0, &size); /* the inode mapped: the one there now */
	copy_exe("a.new");
	snprintf(from, sizeof(from), "%s/a.new", dir);
	snprintf(to, sizeof(to), "%s/a", dir);
	assert_int_equal(rename(from, to), 0);
	tg_callsite_resolve(NULL, s, size, cs, NULL);
	free(s);
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_hits, 0);
	assert_non_null(strstr(cs->missing, "is not the file that was mapped"));
	assert_string_equal(cs->frames[0].function, "");
	assert_int_equal(st.image_hits, 0);
	free(cs);
}

/* The section-count guard is asked before libdw opens a file, and its refusal is kept. */
static void hostile(void **state)
{
	struct tg_callsite *cs = calloc(1, sizeof(*cs));
	struct tg_dw_cache_stats st;
	uint16_t shnum = 0xfff0;
	char path[256];
	int fd;

	(void)state;
	tg_dw_cache_limits(0, 0);
	copy_exe("hostile");
	snprintf(path, sizeof(path), "%s/hostile", dir);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	/* e_shnum, in the ELF64 header */
	assert_int_equal(pwrite(fd, &shnum, sizeof(shnum), 0x3c), sizeof(shnum));
	close(fd);
	for (int i = 0; i < 2; i++) {
		memset(cs, 0, sizeof(*cs));
		resolve("hostile", 0, cs);
		assert_non_null(strstr(cs->missing, "announces 65520 ELF sections"));
		assert_string_equal(cs->frames[0].function, "");
	}
	tg_dw_cache_stats(&st);
	assert_int_equal(st.file_misses, 1);
	assert_int_equal(st.file_hits, 1);
	free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit),		cmocka_unit_test(eviction),
		cmocka_unit_test(invalidation), cmocka_unit_test(replaced),
		cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
