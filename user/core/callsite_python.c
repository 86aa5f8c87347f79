// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "callsite_python.h"

_Static_assert(sizeof(struct tg_interp_key) == 16, "tg_interp_key: no hidden padding");
_Static_assert(sizeof(struct tg_py_offsets) == 80, "tg_py_offsets: all fields aligned");
_Static_assert(sizeof(struct tg_py_frame) ==
		       40 + TG_PY_FILE_LEN + TG_PY_NAME_LEN + TG_PY_LINETAB_LEN,
	       "tg_py_frame: all fields aligned");
_Static_assert(sizeof(struct tg_py_frame) % 8 == 0, "tg_py_frame: frames stay aligned");
_Static_assert(__builtin_offsetof(struct tg_py_record, frames) == 48,
	       "tg_py_record: header all aligned");
_Static_assert(sizeof(struct tg_py_record) == 48 + TG_PY_FRAMES * sizeof(struct tg_py_frame),
	       "tg_py_record: frames last");

/*
 * x86_64 release builds (no Py_DEBUG, no Py_TRACE_REFS: PyObject is 16 bytes). Checked against
 * Debian 12's python3.11 (3.11.2) and a CPython 3.12.1 build by walking a live interpreter's
 * structures (ctypes): Include/internal/pycore_runtime.h (_PyRuntimeState), pycore_interp.h,
 * cpython/pystate.h (PyThreadState, _PyCFrame), pycore_frame.h (_PyInterpreterFrame),
 * cpython/code.h (PyCodeObject), cpython/unicodeobject.h, cpython/bytesobject.h.
 */
static const struct {
	unsigned minor;
	struct tg_py_offsets o;
} py_tables[] = {
	{11,
	 {
		 .rt_interp_head = 40,
		 .is_threads_head = 16,
		 .ts_next = 8,
		 .ts_native_tid = 160,
		 .ts_cframe = 56,
		 .cf_current = 8, /* after int use_tracing */
		 .fr_code = 32,
		 .fr_previous = 48,
		 .fr_prev_instr = 56,
		 .fr_owner = 69,
		 .co_filename = 112,
		 .co_name = 128, /* co_qualname */
		 .co_linetable = 136,
		 .co_firstlineno = 72,
		 .co_code = 184,
		 .str_length = 16,
		 .str_state = 32,
		 .str_ascii_data = 48, /* 3.11 still has wstr */
		 .str_compact_data = 72,
		 .bytes_size = 16,
		 .bytes_data = 32,
	 }},
	{12,
	 {
		 .rt_interp_head = 40,
		 .is_threads_head = 72,
		 .ts_next = 8,
		 .ts_native_tid = 144,
		 .ts_cframe = 56,
		 .cf_current = 0,
		 .fr_code = 0,
		 .fr_previous = 8,
		 .fr_prev_instr = 56,
		 .fr_owner = 70,
		 .co_filename = 112,
		 .co_name = 128,
		 .co_linetable = 136,
		 .co_firstlineno = 68,
		 .co_code = 192,
		 .str_length = 16,
		 .str_state = 32,
		 .str_ascii_data = 40,
		 .str_compact_data = 56,
		 .bytes_size = 16,
		 .bytes_data = 32,
	 }},
};

/* 3.12: _PyInterpreterFrame.owner of the shim frame _PyEval_EvalFrameDefault pushes on entry
 * (FRAME_OWNED_BY_CSTACK): code of the interpreter's own, no frame of the program. */
#define PY312_OWNED_BY_CSTACK 3

int tg_py_offsets_for(unsigned major, unsigned minor, struct tg_py_offsets *o)
{
	if (major != 3)
		return -1;
	for (size_t i = 0; i < sizeof(py_tables) / sizeof(py_tables[0]); i++) {
		if (py_tables[i].minor != minor)
			continue;
		struct tg_py_offsets keep = *o;

		*o = py_tables[i].o;
		o->runtime = keep.runtime;
		o->text_vaddr = keep.text_vaddr;
		o->lib_ld = keep.lib_ld;
		o->exe_debug = keep.exe_debug;
		o->version = keep.version;
		return 0;
	}
	return -1;
}

/* Objects/locations.md: a varint is 6-bit chunks, least significant first, bit 6 set on every
 * chunk but the last. */
static int lt_varint(const uint8_t *lt, size_t n, size_t *i, uint32_t *v)
{
	unsigned shift = 0;

	*v = 0;
	for (;;) {
		if (*i >= n || shift > 30)
			return -1;
		uint8_t b = lt[(*i)++];

		*v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			return 0;
	}
}

static int lt_svarint(const uint8_t *lt, size_t n, size_t *i, int32_t *v)
{
	uint32_t u;

	if (lt_varint(lt, n, i, &u))
		return -1;
	*v = (u & 1) ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return 0;
}

/*
 * Each entry: a first byte with bit 7 set, code (bits 3-6) and length - 1 in code units (bits
 * 0-2), then by code: 0-9 short form (one byte of columns, same line), 10-12 one-line form (line
 * + code - 10, two bytes of columns), 13 no columns (svarint line delta), 14 long form (svarint
 * line delta, varint end line delta, start and end columns), 15 no location (no line; the
 * running line is kept). codeobject.c's advance() and PyCode_Addr2Line() in 3.11 and 3.12.
 */
int tg_py_line(const uint8_t *lt, size_t n, int firstlineno, int lasti, uint32_t *line)
{
	int32_t cur = firstlineno, delta;
	uint32_t skip;
	long addr = 0;
	size_t i = 0;

	if (lasti < 0) {
		*line = firstlineno > 0 ? (uint32_t)firstlineno : 0;
		return 0;
	}
	while (i < n) {
		uint8_t first = lt[i++];
		unsigned code = (first >> 3) & 15;
		long end = addr + 2 * ((first & 7) + 1);
		bool none = false;

		if (!(first & 128))
			return -1;
		if (code == 15) {
			none = true;
		} else if (code == 14) {
			if (lt_svarint(lt, n, &i, &delta) || lt_varint(lt, n, &i, &skip) ||
			    lt_varint(lt, n, &i, &skip) || lt_varint(lt, n, &i, &skip))
				return -1;
			cur += delta;
		} else if (code == 13) {
			if (lt_svarint(lt, n, &i, &delta))
				return -1;
			cur += delta;
		} else if (code >= 10) {
			cur += code - 10;
			i += 2;
		} else {
			i += 1;
		}
		if (i > n)
			return -1;
		if (lasti < end) {
			*line = none || cur <= 0 ? 0 : (uint32_t)cur;
			return 0;
		}
		addr = end;
	}
	return -1;
}

bool tg_py_runtime_file(const char *file)
{
	const char *p;

	if (!strncmp(file, "<frozen ", 8))
		return true;
	/* the standard library of any prefix (/usr/lib/python3.11/, /usr/local/lib/python3.12/,
	 * a venv's base): its site-packages and dist-packages are the program's */
	p = strstr(file, "/lib/python3.");
	if (!p)
		return false;
	p = strchr(p + strlen("/lib/python3."), '/');
	return p && strncmp(p, "/site-packages/", 15) && strncmp(p, "/dist-packages/", 15);
}

/* A PyUnicode's bytes of kind (1: latin-1, ASCII included; 2, 4: UCS-2, UCS-4, little endian)
 * as UTF-8 into out (NUL-terminated, cut at a whole character). */
static void py_str(const char *in, uint32_t n, unsigned kind, char *out, size_t cap)
{
	size_t o = 0;

	if (kind != 1 && kind != 2 && kind != 4)
		kind = 1;
	for (uint32_t i = 0; i + kind <= n; i += kind) {
		uint32_t c = (uint8_t)in[i];
		char u[4];
		size_t k;

		if (kind >= 2)
			c |= (uint32_t)(uint8_t)in[i + 1] << 8;
		if (kind == 4)
			c |= (uint32_t)(uint8_t)in[i + 2] << 16 | (uint32_t)(uint8_t)in[i + 3]
									  << 24;
		if (c < 0x80) {
			u[0] = c;
			k = 1;
		} else if (c < 0x800) {
			u[0] = 0xc0 | c >> 6;
			u[1] = 0x80 | (c & 63);
			k = 2;
		} else if (c < 0x10000) {
			u[0] = 0xe0 | c >> 12;
			u[1] = 0x80 | ((c >> 6) & 63);
			u[2] = 0x80 | (c & 63);
			k = 3;
		} else if (c < 0x110000) {
			u[0] = 0xf0 | c >> 18;
			u[1] = 0x80 | ((c >> 12) & 63);
			u[2] = 0x80 | ((c >> 6) & 63);
			u[3] = 0x80 | (c & 63);
			k = 4;
		} else {
			continue;
		}
		if (!c || o + k >= cap)
			break;
		memcpy(out + o, u, k);
		o += k;
	}
	out[o] = 0;
}

static const char *py_status_why(uint32_t status)
{
	switch (status) {
	case TG_PY_NO_THREAD:
		return "the interpreter has no thread state for this thread";
	case TG_PY_FAULT:
		return "the interpreter's state could not be read from its memory";
	case TG_PY_NO_FRAME:
		return "the thread was running no Python code";
	case TG_PY_NO_LIB:
		return "its libpython is not the one tmpguard registered (another was loaded, "
		       "LD_LIBRARY_PATH?)";
	}
	return "no frame was captured";
}

static void cs_init(struct tg_callsite *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->kind = TG_CS_PYTHON;
	cs->site = -1;
}

int tg_py_callsite(const void *data, size_t size, const char *exe, struct tg_callsite *cs,
		   char *err, size_t errlen)
{
	const size_t hdr = __builtin_offsetof(struct tg_py_record, frames);
	const struct tg_py_record *r = data;
	uint32_t nf;

	if (size < hdr || (size - hdr) % sizeof(struct tg_py_frame) ||
	    (nf = (size - hdr) / sizeof(struct tg_py_frame)) > TG_PY_FRAMES || nf != r->n_frames) {
		snprintf(err, errlen,
			 "a CPython frame record of %zu bytes (header %zu, frames of %zu, at most "
			 "%d; ABI %d)",
			 size, hdr, sizeof(struct tg_py_frame), TG_PY_FRAMES, TG_ABI_VERSION);
		return -1;
	}
	cs_init(cs);
	cs->truncated = r->truncated != 0;
	for (uint32_t i = 0; i < nf && cs->n < TG_CS_FRAMES_MAX; i++) {
		const struct tg_py_frame *f = &r->frames[i];
		struct tg_frame *o = &cs->frames[cs->n];
		uint32_t line = 0;

		if ((r->version >> 16) == 0x030c && f->owner == PY312_OWNED_BY_CSTACK)
			continue;
		memset(o, 0, sizeof(*o));
		snprintf(o->module, sizeof(o->module), "%s", exe ? exe : "");
		py_str(f->file, f->file_len < TG_PY_FILE_LEN ? f->file_len : TG_PY_FILE_LEN - 1,
		       f->kinds & 7, o->file, sizeof(o->file));
		py_str(f->name, f->name_len < TG_PY_NAME_LEN ? f->name_len : TG_PY_NAME_LEN - 1,
		       (f->kinds >> 4) & 7, o->function, sizeof(o->function));
		o->offset = f->lasti >= 0 ? (uint64_t)f->lasti : 0;
		if (f->linetab_len <= TG_PY_LINETAB_LEN &&
		    tg_py_line(f->linetable, f->linetab_len, f->firstlineno, f->lasti, &line) == 0)
			o->line = line;
		o->runtime = tg_py_runtime_file(o->file);
		if (cs->site < 0 && !o->runtime)
			cs->site = cs->n;
		cs->n++;
	}
	if (r->status != TG_PY_OK || !cs->n)
		snprintf(cs->missing, sizeof(cs->missing),
			 "no Python frame for %s (CPython %u.%u): %s",
			 exe ? exe : "the interpreter", r->version >> 24, (r->version >> 16) & 0xff,
			 py_status_why(r->status));
	else if (cs->site >= 0 && !cs->frames[cs->site].line)
		snprintf(cs->missing, sizeof(cs->missing),
			 "the line of %s in %s is past the %d bytes of its location table "
			 "tmpguard copies (offset %llu)",
			 cs->frames[cs->site].function, cs->frames[cs->site].file,
			 TG_PY_LINETAB_LEN, (unsigned long long)cs->frames[cs->site].offset);
	return 0;
}

void tg_py_callsite_unsupported(const char *exe, const char *version, const char *why,
				struct tg_callsite *cs)
{
	cs_init(cs);
	snprintf(cs->missing, sizeof(cs->missing),
		 "%s%s%s: the Python call site is not available (%s; tmpguard walks CPython 3.11 "
		 "and 3.12 interpreters that hold the runtime in the executable)",
		 exe, *version ? " is CPython " : "", version, why);
}
