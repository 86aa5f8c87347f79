// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for what happens to a ring-buffer record in user space: decoding,
 * classification, aggregation patterns, and both renderings. A record is written by our own
 * BPF programs, but its strings are whatever processes put in their paths, names and argv, and
 * a bug on the BPF side must not become memory corruption in the collector. Records are
 * variable-length (a header and a NUL-terminated path, tmpguard.h), and each one is handed to
 * the decoder in a heap block of exactly its size, so ASan sees any read past it. Beyond not
 * crashing: the decoder accepts exactly the records whose size, path_len and path agree (an
 * oracle written apart from it checks), and copies the path whole; the JSON rendering must
 * parse back as one valid JSON object, and the text rendering must never hold a control byte
 * other than its own newlines. The Falco event, made from the same typed finding, must parse
 * back too, its output sentence hold no control byte at all, and each string it repeats be the
 * one the JSON rendering holds.
 *
 *   tests/fuzz/run_fuzz.sh ./fuzz_events 60
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "advice.h"
#include "aggregate.h"
#include "events.h"
#include "falco.h"
#include "output.h"
#include "rules.h"

static void check_text(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			abort();
		/* C1 controls as UTF-8 (U+0080..U+009F) are controls too */
		if (c == 0xc2 && i + 1 < n && (unsigned char)buf[i + 1] >= 0x80 &&
		    (unsigned char)buf[i + 1] <= 0x9f)
			abort();
	}
}

/* s is one JSON object on one line, as strict a parser as a log shipper's reads it. */
static void check_json(const char *s)
{
	json_tokener *tok = json_tokener_new();
	json_object *back;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	back = json_tokener_parse_ex(tok, s, (int)strlen(s));
	if (!back || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(back, json_type_object) || strchr(s, '\n'))
		abort();
	json_object_put(back);
	json_tokener_free(tok);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void same(const char *a, const char *b)
{
	if (strcmp(a, b))
		abort();
}

/* The finding's Falco event beside its JSON form rec. */
static void check_falco(const struct tg_report *r, json_object *rec)
{
	json_object *f = tg_falco_finding(r), *of = NULL, *proc = NULL;
	const char *out;

	if (!f) {
		/* refused only for a time Falcosidekick would drop */
		if ((int64_t)(r->e->ts_ns + (uint64_t)r->boot_to_real_ns) > 0)
			abort();
		return;
	}
	check_json(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
	out = str(f, "output");
	check_text(out, strlen(out));
	if (strchr(out, '\n'))
		abort();
	if (!json_object_object_get_ex(f, "output_fields", &of) ||
	    !json_object_object_get_ex(rec, "proc", &proc))
		abort();
	same(str(f, "time"), str(rec, "time"));
	same(str(f, "hostname"), str(rec, "host"));
	same(str(of, "fd.name"), str(rec, "path"));
	same(str(of, "tmpguard.resolved_name"), str(rec, "resolved_name"));
	same(str(of, "tmpguard.pattern"), str(rec, "pattern"));
	same(str(of, "proc.name"), str(proc, "comm"));
	same(str(of, "proc.pname"), str(proc, "pcomm"));
	same(str(of, "proc.exepath"), str(proc, "exe"));
	same(str(of, "proc.cmdline"), str(proc, "cmdline"));
	same(str(of, "user.name"), str(proc, "user"));
	json_object_put(f);
}

/* What tmpguard.h says a record is, apart from its fields' values. */
static bool wire_ok(const unsigned char *rec, size_t size)
{
	uint32_t path_len;

	if (size < TG_EVENT_HDR_LEN + 1 || size > TG_EVENT_HDR_LEN + TG_PATH_LEN)
		return false;
	memcpy(&path_len, rec + offsetof(struct tg_event, path_len), sizeof(path_len));
	return path_len == size - TG_EVENT_HDR_LEN &&
	       strnlen((const char *)rec + TG_EVENT_HDR_LEN, path_len) == path_len - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_finding findings[TG_MAX_FINDINGS];
	struct tg_rules_config rc;
	struct tg_proc_info *proc;
	struct tg_dir_verdict dir;
	struct tg_event e, *hdr;
	unsigned char *rec;
	char err[160], pattern[256];
	bool formed;
	uint8_t sel;
	int n;

	/* The first byte chooses: the rest of the input as the record, as it is (malformed ones
	 * too); or as a header (zero-padded) and a path, made into the record the BPF side would
	 * send (path_len set, the path cut at its first NUL or PATH_MAX - 1 bytes), so most
	 * inputs get past the wire checks and exercise the rest. */
	if (size < 1)
		return 0;
	sel = data[0];
	formed = sel & 1;
	data++;
	size--;
	if (formed) {
		size_t hdr = size < TG_EVENT_HDR_LEN ? size : TG_EVENT_HDR_LEN;
		size_t plen = size > hdr ? strnlen((const char *)data + hdr, size - hdr) : 0;
		uint32_t path_len;

		if (plen > TG_PATH_LEN - 1)
			plen = TG_PATH_LEN - 1;
		path_len = plen + 1;
		rec = calloc(1, TG_EVENT_HDR_LEN + path_len);
		if (!rec)
			abort();
		memcpy(rec, data, hdr);
		memcpy(rec + offsetof(struct tg_event, path_len), &path_len, sizeof(path_len));
		memcpy(rec + TG_EVENT_HDR_LEN, data + hdr, plen);
		size = TG_EVENT_HDR_LEN + path_len;
	} else {
		rec = malloc(size ? size : 1);
		if (!rec)
			abort();
		memcpy(rec, data, size);
	}
	proc = calloc(1, sizeof(*proc));
	hdr = calloc(1, sizeof(*hdr));
	if (!proc || !hdr)
		abort();
	err[0] = 0;
	if (tg_event_decode(rec, size, &e, err, sizeof(err))) {
		if (!err[0])
			abort(); /* a refusal always says why */
		/* A well-formed record is refused only for a field's value. */
		if (wire_ok(rec, size) && !strstr(err, "unknown"))
			abort();
		goto out;
	}
	/* Accepted: it was a record as tmpguard.h describes it, and its path came across whole. */
	if (!wire_ok(rec, size) || e.path_len != size - TG_EVENT_HDR_LEN ||
	    strlen(e.path) != e.path_len - 1 || memcmp(e.path, rec + TG_EVENT_HDR_LEN, e.path_len))
		abort();
	/* Numeric fields as sent, but for the two the decoder clamps. */
	memcpy(hdr, rec, offsetof(struct tg_event, comm));
	if (hdr->args_len > TG_ARGS_LEN)
		hdr->args_len = TG_ARGS_LEN;
	if (hdr->probe_syscall >= TG_SYS_MAX)
		hdr->probe_syscall = 0;
	if (memcmp(&e, hdr, offsetof(struct tg_event, comm)))
		abort();
	if (!tg_dir_verdict_from_kernel(&e, &dir))
		dir = (struct tg_dir_verdict){.shared = sel & 2, .is_holding_dir = sel & 4};
	tg_rules_config_default(&rc);
	rc.enabled[TG_RULE_INHERITABLE_FD] = true;
	n = tg_classify(&e, &dir, &rc, findings);
	if (n < 0 || n > TG_MAX_FINDINGS)
		abort();

	/* What enrichment fills from /proc, here from the record itself (as for a process that
	 * is gone). */
	proc->pid = e.pid;
	memcpy(proc->comm, e.comm, sizeof(proc->comm));
	snprintf(proc->exe, sizeof(proc->exe), "%s", e.exe);
	memcpy(proc->cmdline, e.args, e.args_len);
	proc->cmdline_len = e.args_len;
	snprintf(proc->user, sizeof(proc->user), "%u", e.uid);
	snprintf(proc->cgroup, sizeof(proc->cgroup), "%s", e.cgroup);
	proc->n_ancestry = 1;
	proc->ancestry[0].pid = e.ppid;
	memcpy(proc->ancestry[0].comm, e.pcomm, sizeof(proc->ancestry[0].comm));
	snprintf(proc->ancestry[0].exe, sizeof(proc->ancestry[0].exe), "%s", e.path);
	tg_path_pattern(e.path, pattern, sizeof(pattern));

	for (int i = 0; i < n; i++) {
		struct tg_report r = {
			.e = &e,
			.proc = proc,
			.finding = findings[i],
			.dir = dir,
			.lang = tg_lang_detect(proc->exe, e.comm, sel & 8),
			.count = 1,
			.pattern = pattern,
			.boot_to_real_ns = 1795847400LL * 1000000000LL,
			.host = e.name,
			.same_event = i > 0,
			.action = e.action,
		};
		json_object *o = tg_report_json(&r);
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		/* Strict: what a log shipper's parser would refuse must not be written. */
		check_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		check_falco(&r, o);
		json_object_put(o);

		f = open_memstream(&buf, &len);
		if (!f)
			abort();
		tg_output_text(f, &r);
		fclose(f);
		check_text(buf, len);
		free(buf);
	}
out:
	free(rec);
	free(hdr);
	free(proc);
	return 0;
}
