/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Call sites the kernel may name instead of sending their stack again (tmpguard.h, tg_stk_sig
 * and TG_STK_F_REF). A native call site resolved from a stack record that it can vouch for
 * (tg_callsite_native's signature) is kept here under a new id, and its signature published
 * (the host writes it to the kernel's map); a later record of the same thread, registers and
 * stack words is a reference to that id, resolved here without unwinding. Bounded: the least
 * recently used call site goes first, and its signature is withdrawn from the kernel, so that a
 * reference names a call site kept here, but for the one in flight when it went (counted).
 * Pure: the publishing is the host's callbacks.
 */
#ifndef TG_CALLSITE_REUSE_H
#define TG_CALLSITE_REUSE_H

#include <stdint.h>
#include <linux/types.h>
#include "callsite.h"
#include "tmpguard.h"

#define TG_CS_REUSE_DEFAULT 256 /* call sites kept */

struct tg_cs_reuse_ops {
	void *ctx;
	/* Makes sig the kernel's for key: 0, or a negative errno (the call site is not kept). */
	int (*publish)(void *ctx, const struct tg_stk_sig_key *key, const struct tg_stk_sig *sig);
	/* Withdraws key's signature if it is still the one of id. */
	void (*withdraw)(void *ctx, const struct tg_stk_sig_key *key, uint64_t id);
};

/* Stacks of findings that were not printed (rate-limited, over budget, excepted) resolved
 * anyway, so that the kernel sends the next ones by reference: at most this many a second (by
 * the records' clock), and a thread, ip and sp whose stack could not be kept is not tried
 * again within a second. */
#define TG_CS_LEARN_PER_SEC 32
#define TG_CS_LEARN_FAILED  32 /* keys remembered as not kept */

struct tg_cs_reuse_stats {
	uint64_t kept;	    /* call sites kept (signatures published) */
	uint64_t learned;   /* of which from findings not printed */
	uint64_t hits;	    /* references resolved */
	uint64_t forgotten; /* references to a call site no longer kept */
	uint64_t evicted;   /* call sites dropped for room */
	uint64_t publish_errors;
	unsigned held;
};

struct tg_cs_reuse;

/* slots: call sites kept (0: TG_CS_REUSE_DEFAULT); ops is copied. NULL when out of memory. */
struct tg_cs_reuse *tg_cs_reuse_new(unsigned slots, const struct tg_cs_reuse_ops *ops);
/* Withdraws every signature it published, then frees it. NULL is fine. */
void tg_cs_reuse_free(struct tg_cs_reuse *r);
/* Keeps cs, resolved from the stack record s whose signature is sig (n > 0), under a new id
 * written into sig->id, and publishes it. Returns the id, 0 when not kept. */
uint64_t tg_cs_reuse_put(struct tg_cs_reuse *r, const struct tg_stack *s, struct tg_stk_sig *sig,
			 const struct tg_callsite *cs);
/* Whether the stack record s, of a finding that was not printed, is to be resolved now
 * (TG_CS_LEARN_PER_SEC): a full stack whose key did not fail lately. */
bool tg_cs_reuse_learn_now(struct tg_cs_reuse *r, const struct tg_stack *s);
/* What came of it: kept (id != 0) or not (the key is not tried again for a second). */
void tg_cs_reuse_learned(struct tg_cs_reuse *r, const struct tg_stack *s, uint64_t id);
/* The call site kept under id into cs: 0, or -ESTALE when it is not kept (cs->missing says
 * so). */
int tg_cs_reuse_get(struct tg_cs_reuse *r, uint64_t id, struct tg_callsite *cs);
void tg_cs_reuse_stats(const struct tg_cs_reuse *r, struct tg_cs_reuse_stats *st);

#endif
