// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "config.h"
#include "util/textfile.h"

#define MAX_CONFIG_BYTES (256u << 10)

struct cctx {
	const char *name;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct cctx *c, const yaml_node_t *n,
						      const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!c->err || !c->errlen)
		return -1;
	k = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, n ? n->start_mark.line + 1 : 1,
		     n ? n->start_mark.column + 1 : 1);
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < c->errlen)
		vsnprintf(c->err + k, c->errlen - k, fmt, ap);
	va_end(ap);
	return -1;
}

/* Printable ASCII only in messages: a config value never reaches a terminal raw. */
static const char *quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;

	for (; *s && o + 8 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	buf[o] = 0;
	return buf;
}

/* YAML 1.1 booleans, as libyaml users write them. -1: not a boolean. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
									       "off"};

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

static int append(struct tg_daemon_config *out, char *arg)
{
	char **nv = realloc(out->argv, (out->argc + 2) * sizeof(*nv));

	if (!nv) {
		free(arg);
		return -1;
	}
	out->argv = nv;
	out->argv[out->argc++] = arg;
	out->argv[out->argc] = NULL;
	return 0;
}

static int append_text(struct tg_daemon_config *out, const char *key, const char *val)
{
	size_t old = out->text ? strlen(out->text) : 0, n = strlen(key) + strlen(val) + 4;
	char *t = realloc(out->text, old + n);

	if (!t)
		return -1;
	snprintf(t + old, n, "%s: %s\n", key, val);
	out->text = t;
	return 0;
}

static int parse_root(struct cctx *c, yaml_document_t *doc, const struct tg_config_key *keys,
		      size_t nkeys, struct tg_daemon_config *out)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	bool *seen;
	char q[128], allowed[1024];
	size_t o = 0;

	if (!root || (root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		return 0; /* an empty file: audit's defaults */
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, root,
			    "the configuration is not a mapping; expected 'option: value' "
			    "lines");
	for (size_t i = 0; i < nkeys && o < sizeof(allowed) - 32; i++)
		o += snprintf(allowed + o, sizeof(allowed) - o, "%s%s", i ? ", " : "",
			      keys[i].name);
	seen = calloc(nkeys ? nkeys : 1, sizeof(*seen));
	if (!seen)
		return fail(c, NULL, "out of memory");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *key, *val;
		size_t i;
		char *arg;
		int b;

		if (k->type != YAML_SCALAR_NODE) {
			free(seen);
			return fail(c, k, "a key that is not a name; expected one of: %s", allowed);
		}
		key = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys && strcmp(keys[i].name, key); i++)
			;
		if (i == nkeys) {
			fail(c, k, "unknown option '%s'; expected one of: %s",
			     quote(q, sizeof(q), key), allowed);
			free(seen);
			return -1;
		}
		if (seen[i]) {
			free(seen);
			return fail(c, k, "'%s' given twice; expected each option once", key);
		}
		seen[i] = true;
		if (v->type != YAML_SCALAR_NODE) {
			free(seen);
			return fail(c, v, "'%s' has a %s value; expected a single value", key,
				    v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
		}
		val = (const char *)v->data.scalar.value;
		if (!keys[i].takes_arg) {
			b = parse_bool(val);
			if (b < 0) {
				fail(c, v, "'%s' is '%s'; expected true or false", key,
				     quote(q, sizeof(q), val));
				free(seen);
				return -1;
			}
			if (append_text(out, key, b ? "true" : "false")) {
				free(seen);
				return fail(c, NULL, "out of memory");
			}
			if (!b)
				continue;
			arg = malloc(strlen(key) + 3);
			if (arg)
				sprintf(arg, "--%s", key);
		} else {
			if (!v->data.scalar.length &&
			    v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
				free(seen);
				return fail(c, v, "'%s' has no value; expected one", key);
			}
			if (append_text(out, key, quote(q, sizeof(q), val))) {
				free(seen);
				return fail(c, NULL, "out of memory");
			}
			arg = malloc(strlen(key) + strlen(val) + 4);
			if (arg)
				sprintf(arg, "--%s=%s", key, val);
		}
		if (!arg || append(out, arg)) {
			free(seen);
			return fail(c, NULL, "out of memory");
		}
	}
	free(seen);
	return 0;
}

int tg_config_parse(const char *name, const char *yaml, size_t len,
		    const struct tg_config_key *keys, size_t nkeys, struct tg_daemon_config *out,
		    char *err, size_t errlen)
{
	struct cctx c = {.name = name, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (append(out, NULL) || !(out->text = strdup(""))) /* argv[0]: the caller's */
		return fail(&c, NULL, "out of memory");
	if (!yaml_parser_initialize(&parser))
		return fail(&c, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		tg_yaml_error(&parser, name, yaml, len, err, errlen);
		goto out;
	}
	rc = parse_root(&c, &doc, keys, nkeys, out);
	yaml_document_delete(&doc);
	if (rc)
		goto out;
	/* One file is one configuration: a second document is refused, not ignored. */
	if (!yaml_parser_load(&parser, &extra)) {
		tg_yaml_error(&parser, name, yaml, len, err, errlen);
		rc = -1;
		goto out;
	}
	root = yaml_document_get_root_node(&extra);
	if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		rc = fail(&c, root, "a second YAML document; expected one configuration per file");
	yaml_document_delete(&extra);
out:
	yaml_parser_delete(&parser);
	if (rc)
		tg_config_free(out);
	return rc;
}

int tg_config_load(const char *path, const struct tg_config_key *keys, size_t nkeys,
		   struct tg_daemon_config *out, char *err, size_t errlen)
{
	size_t len;
	char *buf =
		tg_read_text_file(path, MAX_CONFIG_BYTES, "configuration file", &len, err, errlen);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -1;
	rc = tg_config_parse(path, buf, len, keys, nkeys, out, err, errlen);
	free(buf);
	return rc;
}

void tg_config_free(struct tg_daemon_config *c)
{
	for (int i = 1; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->text);
	memset(c, 0, sizeof(*c));
}
