// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Call sites the kernel may name by reference (callsite_reuse.h). Pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callsite_reuse.h"

/* A kept call site: the fields of tg_callsite a native one uses, its frames alone allocated. */
struct slot {
	uint64_t id; /* 0: free */
	uint64_t used;
	struct tg_stk_sig_key key;
	int site;
	unsigned n;
	bool truncated;
	char missing[sizeof(((struct tg_callsite *)0)->missing)];
	struct tg_frame *frames;
};

struct tg_cs_reuse {
	struct tg_cs_reuse_ops ops;
	unsigned n_slots;
	uint64_t next_id, tick;
	/* learning: tokens (TG_CS_LEARN_PER_SEC a second, as many at most) as of learn_ns, and
	 * the keys that could not be kept, when */
	uint64_t learn_ns;
	unsigned tokens;
	struct {
		struct tg_stk_sig_key key;
		uint64_t ts_ns;
	} failed[TG_CS_LEARN_FAILED];
	unsigned failed_next;
	struct tg_cs_reuse_stats st;
	struct slot slots[];
};

struct tg_cs_reuse *tg_cs_reuse_new(unsigned slots, const struct tg_cs_reuse_ops *ops)
{
	struct tg_cs_reuse *r;

	if (!slots)
		slots = TG_CS_REUSE_DEFAULT;
	r = calloc(1, sizeof(*r) + slots * sizeof(r->slots[0]));
	if (!r)
		return NULL;
	r->ops = *ops;
	r->n_slots = slots;
	r->next_id = 1;
	return r;
}

static void slot_drop(struct tg_cs_reuse *r, struct slot *sl)
{
	if (r->ops.withdraw)
		r->ops.withdraw(r->ops.ctx, &sl->key, sl->id);
	free(sl->frames);
	memset(sl, 0, sizeof(*sl));
	r->st.held--;
}

void tg_cs_reuse_free(struct tg_cs_reuse *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_slots; i++)
		if (r->slots[i].id)
			slot_drop(r, &r->slots[i]);
	free(r);
}

/* A free slot, else the least recently used one, emptied (its signature withdrawn). */
static struct slot *slot_take(struct tg_cs_reuse *r)
{
	struct slot *lru = NULL;

	for (unsigned i = 0; i < r->n_slots; i++) {
		if (!r->slots[i].id)
			return &r->slots[i];
		if (!lru || r->slots[i].used < lru->used)
			lru = &r->slots[i];
	}
	slot_drop(r, lru);
	r->st.evicted++;
	return lru;
}

uint64_t tg_cs_reuse_put(struct tg_cs_reuse *r, const struct tg_stack *s, struct tg_stk_sig *sig,
			 const struct tg_callsite *cs)
{
	struct tg_stk_sig_key key = {.ip = s->ip, .sp = s->sp, .tid = s->tid};
	struct slot *sl;
	struct tg_frame *frames;

	if (!r || !sig->n || cs->kind != TG_CS_NATIVE || !cs->n || cs->n > TG_CS_FRAMES_MAX)
		return 0;
	frames = malloc(cs->n * sizeof(*frames));
	if (!frames)
		return 0;
	memcpy(frames, cs->frames, cs->n * sizeof(*frames));
	sl = slot_take(r);
	sig->id = r->next_id++;
	if (r->ops.publish(r->ops.ctx, &key, sig)) {
		r->st.publish_errors++;
		free(frames);
		return 0;
	}
	*sl = (struct slot){.id = sig->id,
			    .used = ++r->tick,
			    .key = key,
			    .site = cs->site,
			    .n = cs->n,
			    .truncated = cs->truncated,
			    .frames = frames};
	snprintf(sl->missing, sizeof(sl->missing), "%s", cs->missing);
	r->st.kept++;
	r->st.held++;
	return sl->id;
}

static bool same_key(const struct tg_stk_sig_key *a, const struct tg_stk_sig_key *b)
{
	return a->tid == b->tid && a->ip == b->ip && a->sp == b->sp;
}

#define SEC_NS 1000000000ULL

bool tg_cs_reuse_learn_now(struct tg_cs_reuse *r, const struct tg_stack *s)
{
	struct tg_stk_sig_key key = {.ip = s->ip, .sp = s->sp, .tid = s->tid};
	uint64_t add;

	if (!r || (s->flags & (TG_STK_F_REF | TG_STK_F_NO_REGS)))
		return false;
	for (unsigned i = 0; i < TG_CS_LEARN_FAILED; i++)
		if (r->failed[i].ts_ns && same_key(&r->failed[i].key, &key) &&
		    s->ts_ns - r->failed[i].ts_ns < SEC_NS)
			return false;
	if (s->ts_ns > r->learn_ns) {
		add = (s->ts_ns - r->learn_ns) * TG_CS_LEARN_PER_SEC / SEC_NS;
		if (add) {
			r->tokens =
				add >= TG_CS_LEARN_PER_SEC || r->tokens + add >= TG_CS_LEARN_PER_SEC
					? TG_CS_LEARN_PER_SEC
					: r->tokens + (unsigned)add;
			r->learn_ns = s->ts_ns;
		}
	}
	if (!r->tokens)
		return false;
	r->tokens--;
	return true;
}

void tg_cs_reuse_learned(struct tg_cs_reuse *r, const struct tg_stack *s, uint64_t id)
{
	if (!r)
		return;
	if (id) {
		r->st.learned++;
		return;
	}
	r->failed[r->failed_next].key =
		(struct tg_stk_sig_key){.ip = s->ip, .sp = s->sp, .tid = s->tid};
	r->failed[r->failed_next].ts_ns = s->ts_ns ? s->ts_ns : 1;
	r->failed_next = (r->failed_next + 1) % TG_CS_LEARN_FAILED;
}

int tg_cs_reuse_get(struct tg_cs_reuse *r, uint64_t id, struct tg_callsite *cs)
{
	cs->kind = TG_CS_NATIVE;
	cs->site = -1;
	cs->n = 0;
	for (unsigned i = 0; r && id && i < r->n_slots; i++) {
		struct slot *sl = &r->slots[i];

		if (sl->id != id)
			continue;
		sl->used = ++r->tick;
		cs->site = sl->site;
		cs->n = sl->n;
		cs->truncated = sl->truncated;
		memcpy(cs->frames, sl->frames, sl->n * sizeof(*sl->frames));
		snprintf(cs->missing, sizeof(cs->missing), "%s", sl->missing);
		r->st.hits++;
		return 0;
	}
	if (r)
		r->st.forgotten++;
	snprintf(cs->missing, sizeof(cs->missing),
		 "the kernel named a call site resolved earlier (%llu) that is no longer kept",
		 (unsigned long long)id);
	return -ESTALE;
}

void tg_cs_reuse_stats(const struct tg_cs_reuse *r, struct tg_cs_reuse_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (r)
		*st = r->st;
}
