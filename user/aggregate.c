// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"

struct tg_agg {
	struct tg_agg_entry *entries;
	size_t n, max;
	size_t *index; /* open addressing: slot -> entry + 1, 0 = empty */
	size_t nslots;
	struct tg_agg_entry **sorted;
	uint64_t overflow;
	uint64_t by_sev[TG_SEV_CRITICAL + 1];
	uint64_t by_rule[TG_RULE_MAX];
};

struct tg_agg *tg_agg_new(size_t max_entries)
{
	struct tg_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->max = max_entries ? max_entries : 1;
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

static uint64_t key_hash(uint32_t pid, enum tg_rule rule, const char *pattern)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ pid ^ ((uint64_t)rule << 32);

	for (const unsigned char *p = (const unsigned char *)pattern; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

#define MINUTE_NS (60ULL * 1000000000ULL)

uint64_t tg_agg_add(struct tg_agg *a, uint32_t pid, const char *comm, const char *exe,
		    enum tg_rule rule, enum tg_severity sev, const char *pattern, uint64_t ts_ns,
		    unsigned int per_minute, bool *print)
{
	size_t slot = key_hash(pid, rule, pattern) & (a->nslots - 1);
	struct tg_agg_entry *e;

	a->by_sev[sev]++;
	a->by_rule[rule]++;
	for (;; slot = (slot + 1) & (a->nslots - 1)) {
		if (!a->index[slot])
			break;
		e = &a->entries[a->index[slot] - 1];
		if (e->pid == pid && e->rule == rule && !strcmp(e->pattern, pattern)) {
			e->count++;
			e->last_ns = ts_ns;
			if (ts_ns - e->window_ns >= MINUTE_NS) {
				e->window_ns = ts_ns;
				e->window_count = 0;
			}
			*print = ++e->window_count <= per_minute;
			if (sev > e->severity)
				e->severity = sev;
			return e->count;
		}
	}
	*print = true;
	if (a->n == a->max) {
		a->overflow++;
		return 0;
	}
	e = &a->entries[a->n++];
	a->index[slot] = a->n;
	e->pid = pid;
	e->rule = rule;
	e->severity = sev;
	e->count = 1;
	e->first_ns = e->last_ns = e->window_ns = ts_ns;
	e->window_count = 1;
	copy_str(e->comm, sizeof(e->comm), comm);
	copy_str(e->exe, sizeof(e->exe), exe);
	copy_str(e->pattern, sizeof(e->pattern), pattern);
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
