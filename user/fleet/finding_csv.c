// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CSV row of a finding, shared by `query` (query.c) and `report` (report_doc.c): the column
 * list below is the only one. Cells are the record's values: time in the records' own form
 * (RFC 3339 UTC with nine digits of fraction, whatever form the record held), numbers in decimal,
 * lists (cwe, flags) joined by '|', the command line's arguments by ' ', the ancestry as "pid comm
 * < pid comm" (parent first), strings the record lists in escaped_fields decoded first; a missing
 * or null value is empty.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "finding_csv.h"
#include "report.h"
#include "report_render.h"
#include "rule_registry.h"
#include "util/json_util.h"
#include "util/timefmt.h"

/* Where a column's value is: the record (R), its "proc" object (P), or worked out (X). */
enum where { R, P, X };

static const struct column {
	const char *name;
	enum where where;
} columns[] = {
	{"time", X},	 {"host", R},	 {"rule", R},		{"severity", R},
	{"cwe", X},	 {"action", R},	 {"syscall", R},	{"path", R},
	{"flags", X},	 {"mode", R},	 {"effective_mode", R}, {"pid", P},
	{"ppid", P},	 {"uid", P},	 {"user", P},		{"comm", P},
	{"exe", P},	 {"cmdline", X}, {"container_id", P},	{"container_runtime", P},
	{"ancestry", X}, {"pattern", R}, {"language", R},	{"count", R},
	{"advice", R},
};

#define NCOLS (sizeof(columns) / sizeof(columns[0]))

int tg_finding_csv_header(FILE *out)
{
	for (size_t i = 0; i < NCOLS; i++)
		fprintf(out, "%s%s", columns[i].name, i + 1 < NCOLS ? "," : "\r\n");
	return ferror(out) ? -1 : 0;
}

static bool listed(json_object *arr, const char *key)
{
	for (size_t i = 0; i < tg_json_array_len(arr); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (s && !strcmp(s, key))
			return true;
	}
	return false;
}

/* o's key as text into m: a string (decoded when escaped lists key), a number or boolean in
 * its JSON form; nothing for null or absent. */
static void put_value(FILE *m, json_object *o, const char *key, json_object *escaped)
{
	json_object *v = tg_json_get(o, key);
	char *s;

	if (!v)
		return;
	if (!json_object_is_type(v, json_type_string) || !listed(escaped, key)) {
		fputs(json_object_get_string(v), m);
		return;
	}
	s = strdup(json_object_get_string(v));
	if (s)
		tg_rpt_unescape_lossless(s);
	fputs(s ? s : "?", m);
	free(s);
}

/* A list's elements joined by sep; a string as it is. */
static void put_list(FILE *m, json_object *v, const char *sep)
{
	if (!json_object_is_type(v, json_type_array)) {
		if (v)
			fputs(json_object_get_string(v), m);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		fprintf(m, "%s%s", i ? sep : "",
			json_object_get_string(json_object_array_get_idx(v, i)));
}

/* As tg_format_time writes it; the string itself when it is not a time. */
static void put_time(FILE *m, json_object *f)
{
	const char *s = tg_json_str(f, "time", NULL);
	char t[64];
	int64_t ns;

	if (s && !tg_parse_rfc3339(s, &ns)) {
		tg_format_time(ns, t, sizeof(t));
		fputs(t, m);
	} else {
		put_value(m, f, "time", NULL);
	}
}

/* The record's CWEs, or the rule's own for a record older than "cwe". */
static void put_cwe(FILE *m, json_object *f)
{
	json_object *cwe = tg_json_get(f, "cwe");
	int rule;

	if (cwe) {
		put_list(m, cwe, "|");
		return;
	}
	rule = tg_rule_parse(tg_json_str(f, "rule", ""));
	if (rule < 0)
		return;
	for (const char *c = tg_rule_cwe((enum tg_rule)rule); *c; c++)
		fputc(*c == ',' ? '|' : *c, m);
}

static void put_ancestry(FILE *m, json_object *f, json_object *escaped)
{
	json_object *anc = tg_json_get(f, "ancestry");
	size_t n = tg_json_array_len(anc);

	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(anc, i);

		fputs(i ? " < " : "", m);
		put_value(m, a, "pid", NULL);
		fputc(' ', m);
		put_value(m, a, "comm", escaped);
	}
	if (n && tg_json_bool(f, "ancestry_truncated", -1) == 1)
		fputs(" < ...", m);
}

/* Column c's cell of f; caller frees; NULL on ENOMEM. */
static char *cell(const struct column *c, json_object *f, json_object *escaped)
{
	json_object *proc = tg_json_get(f, "proc");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	if (c->where != X)
		put_value(m, c->where == R ? f : proc, c->name, escaped);
	else if (!strcmp(c->name, "time"))
		put_time(m, f);
	else if (!strcmp(c->name, "cwe"))
		put_cwe(m, f);
	else if (!strcmp(c->name, "flags"))
		put_list(m, tg_json_get(f, "flags"), "|");
	else if (!strcmp(c->name, "cmdline") && listed(escaped, "cmdline"))
		put_value(m, proc, "cmdline", escaped);
	else if (!strcmp(c->name, "cmdline"))
		put_list(m, tg_json_get(proc, "cmdline"), " ");
	else
		put_ancestry(m, f, escaped);
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *tg_finding_csv_row(json_object *f)
{
	json_object *escaped = tg_json_get(f, "escaped_fields");
	char *buf = NULL, *v;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	bool oom = false;

	if (!m)
		return NULL;
	for (size_t i = 0; i < NCOLS; i++) {
		v = cell(&columns[i], f, escaped);
		oom |= !v;
		tg_csv_field(m, v ? v : "");
		fputs(i + 1 < NCOLS ? "," : "\r\n", m);
		free(v);
	}
	if (fclose(m) || oom) {
		free(buf);
		return NULL;
	}
	return buf;
}
