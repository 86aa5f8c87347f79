// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Call sites the kernel may name instead of sending their stack again: the signature
 * tg_callsite_native() vouches for, on a real stack (this test's own, unwound with libdw as a
 * kernel record would be), and the cache that keeps the call sites (callsite_reuse.c).
 *
 * The signature's promise is what the kernel relies on: a stack with the same registers and the
 * same words at the signature's offsets unwinds to the same frames, whatever the other bytes
 * of the copy hold. Checked by rewriting every other byte at random; and a signature word
 * changed must change the unwinding (else the signature vouches for words it does not need).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "callsite.h"
#include "callsite_native.h"
#include "callsite_reuse.h"

/* This thread's stack, captured in tg_reuse_inner (called by tg_reuse_outer): registers, the
 * copy, and the executable file mappings from /proc/self/maps. */
static struct tg_stack *rec;
static size_t rec_size;

static void add_maps(struct tg_stack *s, uint64_t *stack_end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off;
		char perms[8], path[512] = "";
		struct stat st;
		struct tg_stk_map *m;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &a, &b, perms, &off, path) < 4)
			continue;
		if (s->sp >= a && s->sp < b)
			*stack_end = b;
		if (perms[2] != 'x' || path[0] != '/' || s->n_maps >= TG_STK_MAPS_MAX ||
		    stat(path, &st))
			continue;
		m = &s->maps[s->n_maps++];
		m->start = a;
		m->end = b;
		m->pgoff = off;
		m->ino = st.st_ino;
		m->dev = (major(st.st_dev) << 20) | minor(st.st_dev);
		snprintf(m->path, sizeof(m->path), "%s", path);
		m->path_len = (__u32)strlen(m->path) + 1;
	}
	fclose(f);
}

__attribute__((noipa)) static void tg_reuse_inner(int depth)
{
	uint64_t ip, sp, bp, end = 0;
	struct tg_stack *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	s->kind = TG_KIND_STACK;
	s->pid = s->tid = (__u32)getpid();
	s->start_ns = 12345;
	s->exec_id = 1;
	s->ip = ip;
	s->sp = sp;
	s->bp = bp;
	add_maps(s, &end);
	assert_true(end > sp);
	s->stack_len = end - sp < TG_STK_COPY ? (__u32)(end - sp) : TG_STK_COPY;
	memcpy(s->stack, (const void *)sp, s->stack_len);
	rec = s;
	rec_size = TG_STACK_HDR_LEN + s->stack_len;
	__asm__ volatile("" ::"r"(depth) : "memory");
}

__attribute__((noipa)) static void tg_reuse_outer(int depth)
{
	tg_reuse_inner(depth + 1);
	__asm__ volatile("" ::: "memory"); /* not a tail call: this frame stays */
}

static int setup(void **state)
{
	(void)state;
	tg_reuse_outer(1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(rec);
	tg_dw_cache_free();
	return 0;
}

static bool same_frames(const struct tg_callsite *a, const struct tg_callsite *b)
{
	if (a->n != b->n || a->site != b->site)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->frames[i].offset != b->frames[i].offset ||
		    strcmp(a->frames[i].module, b->frames[i].module) ||
		    strcmp(a->frames[i].function, b->frames[i].function))
			return false;
	return true;
}

static bool in_sig(const struct tg_stk_sig *sig, size_t byte)
{
	for (unsigned i = 0; i < sig->n; i++)
		if (byte >= sig->off[i] && byte < sig->off[i] + 8u)
			return true;
	return false;
}

/* addr's offset in the file mapped there (as tg_frame.offset), or 0. */
static uint64_t file_offset(uint64_t addr)
{
	for (unsigned i = 0; i < rec->n_maps; i++)
		if (addr >= rec->maps[i].start && addr < rec->maps[i].end)
			return addr - rec->maps[i].start + rec->maps[i].pgoff;
	return 0;
}

/* Where main's frame is in the copy: below it, this test's frames and cmocka's (the return
 * address into main is the highest of them). */
static uint64_t last_frame_off(const struct tg_callsite *cs)
{
	uint64_t off = 0;

	for (unsigned b = 0; b + 8 <= rec->stack_len; b += 8) {
		uint64_t w;

		memcpy(&w, rec->stack + b, 8);
		for (unsigned i = 0; i < cs->n; i++)
			if (strcmp(cs->frames[i].function, "main") == 0 &&
			    file_offset(w) == cs->frames[i].offset)
				off = b;
	}
	return off;
}

/* A real stack unwinds through tg_reuse_inner and tg_reuse_outer, and vouches for it. */
static void test_signature_of_a_real_stack(void **state)
{
	static struct tg_callsite cs;
	struct tg_stk_sig sig;
	bool inner = false, outer = false;

	(void)state;
	assert_int_equal(tg_callsite_native(NULL, rec, rec_size, &cs, &sig), 0);
	for (unsigned i = 0; i < cs.n; i++) {
		inner |= strcmp(cs.frames[i].function, "tg_reuse_inner") == 0;
		outer |= strcmp(cs.frames[i].function, "tg_reuse_outer") == 0;
	}
	assert_true(inner && outer);
	assert_true(cs.n >= 3);
	assert_true(sig.n > 0 && sig.n <= TG_STK_SIG_WORDS);
	assert_true(sig.span > 0 && sig.span <= rec->stack_len);
	assert_int_equal(sig.start_ns, 12345);
	assert_int_equal(sig.exec_id, 1);
	assert_int_equal(sig.bp, rec->bp);
	/* The fewest words: return addresses (into the mapped files), and what ended the walk
	 * (read at or above the last frame: _start's, nothing of this test's own frames); not
	 * the saved registers' slots, which hold the callers' variables. */
	for (unsigned i = 0; i < sig.n; i++)
		assert_true(file_offset(sig.val[i]) || sig.off[i] >= last_frame_off(&cs));
	for (unsigned i = 0; i < sig.n; i++) {
		uint64_t w;

		assert_int_equal(sig.off[i] % 8, 0);
		assert_true(sig.off[i] + 8u <= sig.span);
		memcpy(&w, rec->stack + sig.off[i], 8);
		assert_true(w == sig.val[i]);
	}
}

/* Every byte outside the signature's words rewritten at random, 20 times: the same frames, the
 * same signature. */
static void test_other_bytes_do_not_matter(void **state)
{
	static struct tg_callsite cs0, cs;
	struct tg_stk_sig sig0, sig;
	struct tg_stack *m = malloc(sizeof(*m));

	(void)state;
	assert_non_null(m);
	assert_int_equal(tg_callsite_native(NULL, rec, rec_size, &cs0, &sig0), 0);
	assert_true(sig0.n > 0);
	srand(7);
	for (int round = 0; round < 20; round++) {
		memcpy(m, rec, rec_size);
		for (size_t b = 0; b < m->stack_len; b++)
			if (!in_sig(&sig0, b))
				m->stack[b] = (uint8_t)rand();
		assert_int_equal(tg_callsite_native(NULL, m, rec_size, &cs, &sig), 0);
		assert_true(same_frames(&cs0, &cs));
		assert_int_equal(sig.n, sig0.n);
		assert_memory_equal(sig.off, sig0.off, sig0.n * sizeof(sig0.off[0]));
		assert_memory_equal(sig.val, sig0.val, sig0.n * sizeof(sig0.val[0]));
	}
	free(m);
}

/* The return address into tg_reuse_outer is one of the signature's words: changed to another
 * address in the same function, the unwinding changes. */
static void test_a_signature_word_matters(void **state)
{
	static struct tg_callsite cs0, cs;
	struct tg_stk_sig sig0, sig;
	struct tg_stack *m = malloc(sizeof(*m));
	int k = -1;

	(void)state;
	assert_non_null(m);
	assert_int_equal(tg_callsite_native(NULL, rec, rec_size, &cs0, &sig0), 0);
	for (unsigned i = 0; i < cs0.n && k < 0; i++)
		if (strcmp(cs0.frames[i].function, "tg_reuse_outer") == 0)
			for (unsigned j = 0; j < sig0.n && k < 0; j++)
				if (file_offset(sig0.val[j]) == cs0.frames[i].offset)
					k = (int)j;
	assert_true(k >= 0);
	memcpy(m, rec, rec_size);
	*(uint64_t *)(m->stack + sig0.off[k]) = (uintptr_t)&tg_reuse_inner + 1;
	assert_int_equal(tg_callsite_native(NULL, m, rec_size, &cs, &sig), 0);
	assert_false(same_frames(&cs0, &cs));
	free(m);
}

/* A copy shorter than TG_STK_COPY that the unwinding ran past: no signature (a longer copy
 * could unwind further). */
static void test_a_short_copy_is_not_vouched_for(void **state)
{
	static struct tg_callsite cs;
	struct tg_stk_sig sig0, sig;
	struct tg_stack *m = malloc(sizeof(*m));

	(void)state;
	assert_non_null(m);
	assert_int_equal(tg_callsite_native(NULL, rec, rec_size, &cs, &sig0), 0);
	memcpy(m, rec, rec_size);
	m->stack_len = sig0.off[sig0.n - 1] & ~7u; /* the last word read is cut off */
	assert_int_equal(tg_callsite_native(NULL, m, TG_STACK_HDR_LEN + m->stack_len, &cs, &sig),
			 0);
	assert_int_equal(sig.n, 0);
	free(m);
}

/* The cache: what is published, evicted (withdrawn with its id), forgotten. */
static struct {
	int published, withdrawn, fail;
	struct tg_stk_sig_key last_key;
	uint64_t last_id, withdrawn_id;
} pub;

static int fake_publish(void *ctx, const struct tg_stk_sig_key *key, const struct tg_stk_sig *sig)
{
	(void)ctx;
	if (pub.fail)
		return -ENOMEM;
	pub.published++;
	pub.last_key = *key;
	pub.last_id = sig->id;
	return 0;
}

static void fake_withdraw(void *ctx, const struct tg_stk_sig_key *key, uint64_t id)
{
	(void)ctx;
	(void)key;
	pub.withdrawn++;
	pub.withdrawn_id = id;
}

static void test_reuse_cache(void **state)
{
	static struct tg_callsite cs, got;
	const struct tg_cs_reuse_ops ops = {.publish = fake_publish, .withdraw = fake_withdraw};
	struct tg_cs_reuse *r = tg_cs_reuse_new(2, &ops);
	struct tg_cs_reuse_stats st;
	struct tg_stk_sig sig;
	uint64_t a, b, c;

	(void)state;
	memset(&pub, 0, sizeof(pub));
	assert_non_null(r);
	assert_int_equal(tg_callsite_native(NULL, rec, rec_size, &cs, &sig), 0);
	a = tg_cs_reuse_put(r, rec, &sig, &cs);
	assert_true(a > 0);
	assert_int_equal(pub.published, 1);
	assert_int_equal(pub.last_id, a);
	assert_int_equal(pub.last_key.tid, rec->tid);
	assert_true(pub.last_key.ip == rec->ip && pub.last_key.sp == rec->sp);
	/* a reference resolves to the same call site, and is resolved again through the
	 * dispatcher */
	assert_int_equal(tg_cs_reuse_get(r, a, &got), 0);
	assert_true(same_frames(&cs, &got));
	rec->flags = TG_STK_F_REF;
	rec->ref_id = a;
	memset(&got, 0, sizeof(got));
	assert_int_equal(tg_callsite_resolve(NULL, rec, TG_STACK_CWD_OFF + rec->cwd_len, &got, r),
			 0);
	assert_true(same_frames(&cs, &got));
	assert_int_equal(
		tg_callsite_resolve(NULL, rec, TG_STACK_CWD_OFF + rec->cwd_len, &got, NULL),
		-ESTALE);
	rec->flags = 0;
	rec->ref_id = 0;
	b = tg_cs_reuse_put(r, rec, &sig, &cs);
	assert_int_equal(tg_cs_reuse_get(r, a, &got), 0); /* a is now the most recent */
	c = tg_cs_reuse_put(r, rec, &sig, &cs);		  /* b goes */
	assert_true(b > a && c > b);
	assert_int_equal(pub.withdrawn, 1);
	assert_int_equal(pub.withdrawn_id, b);
	assert_int_equal(tg_cs_reuse_get(r, b, &got), -ESTALE);
	assert_non_null(strstr(got.missing, "no longer kept"));
	assert_int_equal(got.n, 0);
	/* not published: not kept */
	pub.fail = 1;
	assert_int_equal(tg_cs_reuse_put(r, rec, &sig, &cs), 0);
	pub.fail = 0;
	tg_cs_reuse_stats(r, &st);
	assert_int_equal(st.kept, 3);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.forgotten, 1);
	assert_int_equal(st.publish_errors, 1);
	/* the failed put evicted c's least recent neighbour first: what is held is withdrawn at
	 * the end */
	pub.withdrawn = 0;
	tg_cs_reuse_free(r);
	assert_int_equal(pub.withdrawn, (int)st.held);
}

/* Learning (stacks of findings not printed): TG_CS_LEARN_PER_SEC a second by the records'
 * clock, never a reference or a stack without registers, and a key that could not be kept is
 * not tried again within a second. */
static void test_learning_budget(void **state)
{
	const struct tg_cs_reuse_ops ops = {.publish = fake_publish, .withdraw = fake_withdraw};
	struct tg_cs_reuse *r = tg_cs_reuse_new(4, &ops);
	struct tg_stack *s = calloc(1, sizeof(*s));
	int yes = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(s);
	s->kind = TG_KIND_STACK;
	s->tid = 9;
	s->ip = 0x1000;
	s->sp = 0x7000;
	s->ts_ns = 5 * 1000000000ULL;
	for (int i = 0; i < 2 * TG_CS_LEARN_PER_SEC; i++)
		yes += tg_cs_reuse_learn_now(r, s);
	assert_int_equal(yes, TG_CS_LEARN_PER_SEC);
	s->ts_ns += 1000000000ULL / TG_CS_LEARN_PER_SEC; /* one more */
	assert_true(tg_cs_reuse_learn_now(r, s));
	assert_false(tg_cs_reuse_learn_now(r, s));
	s->ts_ns += 2000000000ULL; /* refilled, not beyond the bucket */
	s->flags = TG_STK_F_REF;
	assert_false(tg_cs_reuse_learn_now(r, s));
	s->flags = TG_STK_F_NO_REGS;
	assert_false(tg_cs_reuse_learn_now(r, s));
	s->flags = 0;
	assert_true(tg_cs_reuse_learn_now(r, s));
	/* not kept: that key waits a second, another does not */
	tg_cs_reuse_learned(r, s, 0);
	s->ts_ns += 500000000ULL;
	assert_false(tg_cs_reuse_learn_now(r, s));
	s->sp += 16;
	assert_true(tg_cs_reuse_learn_now(r, s));
	s->sp -= 16;
	s->ts_ns += 600000000ULL;
	assert_true(tg_cs_reuse_learn_now(r, s));
	yes = 0;
	for (int i = 0; i < 2 * TG_CS_LEARN_PER_SEC; i++)
		yes += tg_cs_reuse_learn_now(r, s);
	assert_true(yes <= TG_CS_LEARN_PER_SEC);
	free(s);
	tg_cs_reuse_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_of_a_real_stack),
		cmocka_unit_test(test_other_bytes_do_not_matter),
		cmocka_unit_test(test_a_signature_word_matters),
		cmocka_unit_test(test_a_short_copy_is_not_vouched_for),
		cmocka_unit_test(test_reuse_cache),
		cmocka_unit_test(test_learning_budget),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
