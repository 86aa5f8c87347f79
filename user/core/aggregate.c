// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "util/hash.h"

struct tg_budget_slot {
	bool used;
	uint32_t uid;
	uint64_t n; /* budget: this minute's printed findings, or (in sup) all suppressed;
		     * aggregation: the user's keys, folded ones not counted */
};

/* uid's slot in a table of TG_BUDGET_USERS (open addressing), or *others when it is full. */
static struct tg_budget_slot *budget_slot(struct tg_budget_slot *t, struct tg_budget_slot *others,
					  uint32_t uid)
{
	size_t h = (size_t)(uid * 2654435761u) % TG_BUDGET_USERS;

	for (size_t i = 0; i < TG_BUDGET_USERS; i++) {
		struct tg_budget_slot *s = &t[(h + i) % TG_BUDGET_USERS];

		if (!s->used) {
			s->used = true;
			s->uid = uid;
			return s;
		}
		if (s->uid == uid)
			return s;
	}
	return others;
}

struct tg_agg {
	struct tg_agg_entry *entries;
	size_t n, max, per_uid;
	struct tg_budget_slot users[TG_BUDGET_USERS], others; /* keys per user */
	uint64_t folded;
	size_t *index; /* open addressing: slot -> entry + 1, 0 = empty */
	size_t nslots;
	struct tg_agg_entry **sorted;
	uint64_t overflow;
	uint64_t by_sev[TG_SEV_CRITICAL + 1];
	uint64_t by_rule[TG_RULE_MAX];
};

struct tg_agg *tg_agg_new(size_t max_entries, size_t per_uid)
{
	struct tg_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->max = max_entries ? max_entries : 1;
	a->per_uid = per_uid;
	a->nslots = 16;
	while (a->nslots < a->max * 2)
		a->nslots <<= 1;
	a->entries = calloc(a->max, sizeof(*a->entries));
	a->index = calloc(a->nslots, sizeof(*a->index));
	a->sorted = calloc(a->max, sizeof(*a->sorted));
	if (!a->entries || !a->index || !a->sorted) {
		tg_agg_free(a);
		return NULL;
	}
	return a;
}

void tg_agg_free(struct tg_agg *a)
{
	if (!a)
		return;
	free(a->entries);
	free(a->index);
	free(a->sorted);
	free(a);
}

static uint64_t key_hash(bool folded, uint32_t id, enum tg_rule rule, const char *pattern)
{
	return tg_fnv1a_str(TG_FNV1A_BASIS ^ id ^ ((uint64_t)rule << 32) ^ ((uint64_t)folded << 40),
			    pattern);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* The entry of the key, or the empty slot where it goes. */
static struct tg_agg_entry *agg_find(struct tg_agg *a, bool folded, uint32_t pid, uint32_t uid,
				     enum tg_rule rule, const char *pattern, size_t *slot)
{
	size_t i = key_hash(folded, folded ? uid : pid, rule, pattern) & (a->nslots - 1);

	for (;; i = (i + 1) & (a->nslots - 1)) {
		struct tg_agg_entry *e;

		if (!a->index[i])
			break;
		e = &a->entries[a->index[i] - 1];
		if (e->folded == folded && e->rule == rule &&
		    (folded ? e->uid == uid : e->pid == pid && !strcmp(e->pattern, pattern)))
			return e;
	}
	*slot = i;
	return NULL;
}

#define MINUTE_NS (60ULL * 1000000000ULL)

uint64_t tg_agg_add(struct tg_agg *a, uint32_t pid, uint32_t uid, const char *comm, const char *exe,
		    enum tg_rule rule, enum tg_severity sev, const char *pattern, uint64_t ts_ns,
		    unsigned int per_minute, bool *print)
{
	struct tg_agg_entry *e;
	struct tg_budget_slot *u = NULL;
	bool folded = false;
	size_t slot;

	a->by_sev[sev]++;
	a->by_rule[rule]++;
	e = agg_find(a, false, pid, uid, rule, pattern, &slot);
	if (!e) {
		/* A new key of a user who holds its share of the table: counted with the
		 * user's other such keys of this rule, so that one user's flood of names
		 * leaves room for everyone else's. */
		u = budget_slot(a->users, &a->others, uid);
		if (a->per_uid && u->n >= a->per_uid) {
			folded = true;
			a->folded++;
			e = agg_find(a, true, 0, uid, rule, "*", &slot);
		}
	}
	if (e) {
		e->count++;
		e->last_ns = ts_ns;
		if (ts_ns - e->window_ns >= MINUTE_NS) {
			e->window_ns = ts_ns;
			e->window_count = 0;
		}
		/* folded keys are not one key's repeats: always printed (the user's budget
		 * still applies) */
		*print = folded || ++e->window_count <= per_minute;
		if (sev > e->severity)
			e->severity = sev;
		return e->count;
	}
	*print = true;
	if (a->n == a->max) {
		a->overflow++;
		return 0;
	}
	e = &a->entries[a->n++];
	a->index[slot] = a->n;
	e->pid = folded ? 0 : pid;
	e->uid = uid;
	e->folded = folded;
	e->rule = rule;
	e->severity = sev;
	e->count = 1;
	e->first_ns = e->last_ns = e->window_ns = ts_ns;
	e->window_count = 1;
	if (!folded) {
		u->n++;
		copy_str(e->comm, sizeof(e->comm), comm);
		copy_str(e->exe, sizeof(e->exe), exe);
	}
	copy_str(e->pattern, sizeof(e->pattern), folded ? "*" : pattern);
	return 1;
}

size_t tg_agg_size(const struct tg_agg *a)
{
	return a->n;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct tg_agg_entry *a = *(const struct tg_agg_entry *const *)x;
	const struct tg_agg_entry *b = *(const struct tg_agg_entry *const *)y;

	if (a->folded != b->folded) /* a user's folded keys after all processes */
		return a->folded ? 1 : -1;
	if (a->folded && a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return strcmp(a->pattern, b->pattern);
}

const struct tg_agg_entry *const *tg_agg_sorted(struct tg_agg *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->sorted[i] = &a->entries[i];
	qsort(a->sorted, a->n, sizeof(*a->sorted), cmp_entry);
	return (const struct tg_agg_entry *const *)a->sorted;
}

uint64_t tg_agg_overflow(const struct tg_agg *a)
{
	return a->overflow;
}

uint64_t tg_agg_folded(const struct tg_agg *a)
{
	return a->folded;
}

uint64_t tg_agg_by_severity(const struct tg_agg *a, enum tg_severity s)
{
	return s <= TG_SEV_CRITICAL ? a->by_sev[s] : 0;
}

uint64_t tg_agg_by_rule(const struct tg_agg *a, enum tg_rule r)
{
	return r < TG_RULE_MAX ? a->by_rule[r] : 0;
}

static bool is_sep(char c)
{
	return c == '/' || c == '.' || c == '-' || c == '_';
}

/* A component that looks generated: 6+ alphanumerics mixing letters with two or more digits,
 * or both letter cases ("python3" and "README" stay). */
static bool looks_random(const char *s, size_t n)
{
	bool upper = false, lower = false;
	int digits = 0;

	if (n < 6)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (isdigit(c))
			digits++;
		else if (isupper(c))
			upper = true;
		else if (islower(c))
			lower = true;
		else
			return false;
	}
	return (digits >= 2 && (upper || lower)) || (upper && lower);
}

void tg_path_pattern(const char *path, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (const char *p = path; *p && o + 1 < outlen;) {
		size_t n = 0;
		bool digits = true;

		if (is_sep(*p)) {
			out[o++] = *p++;
			continue;
		}
		while (p[n] && !is_sep(p[n])) {
			if (!isdigit((unsigned char)p[n]))
				digits = false;
			n++;
		}
		if (digits || looks_random(p, n)) {
			if (o == 0 || out[o - 1] != '*')
				out[o++] = '*';
		} else {
			size_t k = n < outlen - 1 - o ? n : outlen - 1 - o;

			memcpy(out + o, p, k);
			o += k;
		}
		p += n;
	}
	out[o] = 0;
}

/* ---- what a summary lists ---- */

static const struct tg_agg_entry *const *top_ents; /* for the qsort comparator */

static int top_cmp(const void *pa, const void *pb)
{
	const struct tg_agg_entry *a = top_ents[*(const size_t *)pa];
	const struct tg_agg_entry *b = top_ents[*(const size_t *)pb];

	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

static int index_cmp(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return a < b ? -1 : a > b;
}

size_t tg_agg_top(const struct tg_agg_entry *const *ents, size_t n, size_t limit, size_t *idx)
{
	size_t *all;

	if (n <= limit) {
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		return n;
	}
	all = malloc(n * sizeof(*all));
	if (!all) { /* the first limit, rather than none */
		for (size_t i = 0; i < limit; i++)
			idx[i] = i;
		return limit;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	top_ents = ents;
	qsort(all, n, sizeof(*all), top_cmp);
	qsort(all, limit, sizeof(*all), index_cmp);
	memcpy(idx, all, limit * sizeof(*idx));
	free(all);
	return limit;
}

/* ---- the budget per user and per host ---- */

struct tg_budget {
	uint64_t minute; /* the window: ts_ns / one minute */
	uint64_t host_count;
	struct tg_budget_slot slots[TG_BUDGET_USERS], others;	/* this minute's, per uid */
	struct tg_budget_slot sup[TG_BUDGET_USERS], sup_others; /* suppressed, per uid, ever */
	uint64_t total, by_host;
};

struct tg_budget *tg_budget_new(void)
{
	return calloc(1, sizeof(struct tg_budget));
}

void tg_budget_free(struct tg_budget *b)
{
	free(b);
}

int tg_budget_allow(struct tg_budget *b, uint32_t uid, uint64_t ts_ns, unsigned int per_user,
		    unsigned int per_host)
{
	uint64_t minute = ts_ns / (60ULL * 1000000000ULL);
	struct tg_budget_slot *s;
	int why = 0;

	/* Fixed windows on the kernel's clock; a record from a CPU a little behind the others
	 * counts in the current window, never reopens an old one. */
	if (minute > b->minute) {
		b->minute = minute;
		b->host_count = 0;
		memset(b->slots, 0, sizeof(b->slots));
		memset(&b->others, 0, sizeof(b->others));
	}
	s = budget_slot(b->slots, &b->others, uid);
	if (s->n >= per_user)
		why = TG_BUDGET_USER;
	else if (b->host_count >= per_host && s->n >= TG_BUDGET_FLOOR)
		why = TG_BUDGET_HOST;
	if (!why) {
		s->n++;
		b->host_count++;
		return 0;
	}
	budget_slot(b->sup, &b->sup_others, uid)->n++;
	b->total++;
	if (why == TG_BUDGET_HOST)
		b->by_host++;
	return why;
}

/* a before b: more suppressed first, then the lower uid */
static bool budget_before(uint64_t na, uint32_t ua, uint64_t nb, uint32_t ub)
{
	return na != nb ? na > nb : ua < ub;
}

size_t tg_budget_suppressed(const struct tg_budget *b, uint32_t *uids, uint64_t *counts, size_t n)
{
	size_t k = 0;

	/* The top n (the others as UINT32_MAX), by an insertion into the output: past n, one
	 * before the last pushes the last out. */
	for (size_t i = 0; i <= TG_BUDGET_USERS; i++) {
		const struct tg_budget_slot *s = i < TG_BUDGET_USERS ? &b->sup[i] : &b->sup_others;
		uint32_t uid = i < TG_BUDGET_USERS ? s->uid : UINT32_MAX;
		size_t j = k < n ? k : n;

		if (!s->n)
			continue;
		k++;
		if (j == n && (!n || !budget_before(s->n, uid, counts[n - 1], uids[n - 1])))
			continue;
		if (j == n)
			j--;
		for (; j > 0 && budget_before(s->n, uid, counts[j - 1], uids[j - 1]); j--) {
			uids[j] = uids[j - 1];
			counts[j] = counts[j - 1];
		}
		uids[j] = uid;
		counts[j] = s->n;
	}
	return k;
}

uint64_t tg_budget_total(const struct tg_budget *b)
{
	return b->total;
}

uint64_t tg_budget_by_host(const struct tg_budget *b)
{
	return b->by_host;
}
