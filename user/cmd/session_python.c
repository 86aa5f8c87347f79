// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Interpreter call sites in a session: the interpreters (CPython, bash) registered with the
 * kernel at start, kept for the look-ups that user space makes itself (a program's parent bash:
 * shell_site.c); CPython's frame records (tg_pyframes) kept until the tg_events record they
 * belong to is handled, and that record's struct tg_callsite, which the pipeline takes as its
 * findings' call site.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "loader.h"
#include "pyinterp.h"
#include "session_int.h"
#include "session_pipeline.h"

#define PY_KEEP 32 /* records kept: a ring's worth of findings between two events is plenty */

struct py_slot {
	bool used;
	size_t size;
	struct tg_py_record r;
};

static struct {
	struct py_slot slot[PY_KEEP];
	unsigned next;
	bool ring;		  /* tg_pyframes is open: CPython's frames can be read */
	struct tg_interp_reg reg; /* the interpreters registered with the kernel */
} py;

static int interp_add(void *ctx, const char *path, const struct tg_interp_key *key,
		      const struct tg_interp *v)
{
	struct tg_bpf *b = ctx;
	struct tg_interp_reg *r = &py.reg;

	if (r->n >= TG_INTERP_MAX || (v->lang == TG_INTERP_CPYTHON && !py.ring) ||
	    tg_bpf_interp_add(b, key, v))
		return -1;
	snprintf(r->exe[r->n], sizeof(r->exe[0]), "%s", path);
	r->key[r->n] = *key;
	r->val[r->n++] = *v;
	return 0;
}

const struct tg_interp_reg *session_interps(void)
{
	return &py.reg;
}

static int py_record(void *ctx, void *data, size_t size)
{
	struct py_slot *s = &py.slot[py.next++ % PY_KEEP];

	(void)ctx;
	if (size > sizeof(s->r) || size < __builtin_offsetof(struct tg_py_record, frames))
		return 0;
	memcpy(&s->r, data, size);
	s->size = size;
	s->used = true;
	return 0;
}

void session_python_start(struct session *s)
{
	py.ring = tg_bpf_py_ring(s->bpf, py_record, s) == 0;
	if (!py.ring)
		fprintf(stderr,
			"tmpguard: cannot open the CPython frame ring: %s; no Python call "
			"sites\n",
			strerror(errno));
	tg_interp_scan(interp_add, s->bpf);
}

/* The frames sent for e, taken out of the slots. */
static struct py_slot *py_take(const struct tg_event *e)
{
	for (unsigned i = 0; i < PY_KEEP; i++) {
		struct py_slot *p = &py.slot[i];

		if (p->used && p->r.ts_ns == e->ts_ns && p->r.tid == e->tid && p->r.pid == e->pid) {
			p->used = false;
			return p;
		}
	}
	return NULL;
}

/* A python3.N executable tmpguard did not register: why (the version it could not walk). One
 * it can walk (installed or upgraded since the start, which gives it a new inode; or outside
 * the directories scanned) is registered now, when the file at its path is the one the record
 * names: this finding has no frame, the next ones do. */
static bool py_unsupported(struct session *s, const struct tg_event *e, struct tg_callsite *cs)
{
	const char *base = strrchr(e->exe, '/');
	struct tg_interp v = {.lang = TG_INTERP_CPYTHON};
	struct tg_interp_key key;
	char ver[16], why[256];

	base = base ? base + 1 : e->exe;
	if (strncmp(base, "python", 6) || e->exe[0] != '/')
		return false;
	if (tg_interp_find(&py.reg, e->exe_ino, e->exe_dev))
		return false;
	if (tg_pyinterp_probe(e->exe, &v.py, ver, sizeof(ver), why, sizeof(why)) == 0) {
		bool same = tg_interp_key(e->exe, &key) == 0 && key.ino == e->exe_ino &&
			    key.dev == e->exe_dev;

		bool added = same && interp_add(s->bpf, e->exe, &key, &v) == 0;

		snprintf(why, sizeof(why),
			 "an interpreter tmpguard had not registered (installed or upgraded since "
			 "it started, or outside /usr/bin, /usr/local/bin and pyenv's versions)%s",
			 added ? ": registered at this finding, its later findings name their line"
			       : "");
	}
	tg_py_callsite_unsupported(e->exe, ver, why, cs);
	return true;
}

int session_python_callsite(struct session *s, const void *data, size_t size,
			    struct tg_callsite *cs)
{
	static struct tg_event e;
	struct py_slot *p;
	char err[256];

	tg_bpf_py_drain(s->bpf);
	if (tg_event_decode(data, size, &e, err, sizeof(err)))
		return -1;
	p = py_take(&e);
	if (p) {
		if (tg_py_callsite(&p->r, p->size, e.exe, cs, err, sizeof(err)))
			return -1;
	} else if (!py_unsupported(s, &e, cs)) {
		return -1;
	}
	return 0;
}
