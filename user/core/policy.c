// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policies: libyaml's document API builds the tree, this file walks it against a fixed schema.
 * The walk only ever descends into nodes the schema names (at most four levels), so a hostile
 * file cannot make it recurse deeply, and aliases (which libyaml resolves to shared nodes, even
 * to an ancestor) cannot make it loop. Every error stops the parse: a policy loads whole or not
 * at all, so a typo never silently drops an exception or re-enables a rule.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <linux/types.h> /* tmpguard.h is the BPF ABI: kernel integer types */
#include "policy.h"
#include "tmpguard.h"
#include "util/sha256.h"
#include "util/textfile.h"
#include "util/timefmt.h"

#define MAX_MASK	 0777u
#define MAX_WINDOW_S	 3600u
#define MAX_PER_MINUTE	 100000u
#define MAX_UID		 4294967294u /* (uid_t)-1 means "no uid" to the kernel */
#define MAX_POLICY_BYTES (4u << 20)
#define MSG_QUOTE_MAX	 60 /* bytes of a user-supplied value quoted in a message */
#define NS_PER_S	 1000000000ULL
#define NS_PER_DAY	 (86400 * (int64_t)NS_PER_S)
#define BUILTIN_NAME	 "<builtin default>"
#define EXPECT_EXCEPTION                                                                           \
	"rule, a condition (exe, comm, path, user, uid, container, cgroup) and reason"
#define EXPECT_MASK "an octal mask from \"0000\" to \"0777\", such as \"0027\" or 0027"
#define EXPECT_EXPIRES                                                                             \
	"a date YYYY-MM-DD (the exception holds through that day, UTC) or an RFC 3339 time such "  \
	"as 2026-12-31T18:00:00Z, from 1970 to 2262"

static const char *const action_names[] = {
	[TG_ACTION_ALERT] = "alert",
	[TG_ACTION_DENY] = "deny",
	[TG_ACTION_KILL] = "kill",
};
#define NACTION (sizeof(action_names) / sizeof(action_names[0]))

const char *tg_action_name(enum tg_action a)
{
	return (unsigned int)a < NACTION ? action_names[a] : "unknown";
}

struct ctx {
	const char *name;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	struct tg_policy *p;
};

/* Values from the file are quoted in messages: cut long ones, and never pass a control byte,
 * escape sequence or bidi control to the terminal (everything outside printable ASCII is \xNN). */
static const char *quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == MSG_QUOTE_MAX) {
			o += snprintf(buf + o, size - o, "...");
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	buf[o] = '\0';
	return buf;
}

static void verr(char *err, size_t errlen, const char *name, size_t line, size_t col,
		 const char *fmt, va_list ap)
{
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "%s:%zu:%zu: ", name, line, col);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, const yaml_node_t *n,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* libyaml's marks are 0-based; editors and compilers count from 1 */
	verr(c->err, c->errlen, c->name, n ? n->start_mark.line + 1 : 1,
	     n ? n->start_mark.column + 1 : 1, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_oom(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	return -1;
}

static yaml_node_t *node(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "empty";
	}
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	size_t i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(sval(n), nulls[i]))
			return true;
	return false;
}

static bool is_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/*
 * A `key:` with nothing after it (or a list whose entries are all commented out) is YAML's
 * null; for a list or mapping that is taken as empty, so commenting out the last entry of a
 * section does not make the file invalid. Returns 1 for a container of type t, 0 for null.
 */
static int want_container(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *what,
			  const char *expected)
{
	if (n->type == t)
		return 1;
	if (is_null(n))
		return 0;
	return fail(c, n, "%s is %s; expected %s", what, kind(n), expected);
}

/* A scalar as a C string: NUL bytes (from "\0" escapes) would silently cut it, so they are
 * refused rather than truncated. */
static const char *want_string(struct ctx *c, const yaml_node_t *n, const char *what,
			       const char *expected)
{
	if (n->type != YAML_SCALAR_NODE) {
		fail(c, n, "%s is %s; expected %s", what, kind(n), expected);
		return NULL;
	}
	if (strlen(sval(n)) != n->data.scalar.length) {
		fail(c, n, "%s contains a NUL byte; expected %s", what, expected);
		return NULL;
	}
	return sval(n);
}

/*
 * An unsigned decimal integer, written plain (a quoted "10" is a string in YAML). A leading
 * zero is refused: YAML 1.1 reads 010 as octal 8, and the reader should not have to guess.
 */
static int want_uint(struct ctx *c, const yaml_node_t *n, const char *what, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char q[MSG_QUOTE_MAX * 4 + 8];
	const char *s;
	uint64_t v = 0;
	size_t i;

	s = want_string(c, n, what, "an integer");
	if (!s)
		return -1;
	if (!is_plain(n))
		return fail(c, n, "%s is a quoted string; expected an integer from %llu to %llu",
			    what, (unsigned long long)min, (unsigned long long)max);
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fail(c, n,
				    "%s '%s' is not an integer; expected an integer from %llu to "
				    "%llu",
				    what, quote(q, sizeof(q), s, strlen(s)),
				    (unsigned long long)min, (unsigned long long)max);
		if (v <= max)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (!i)
		return fail(c, n, "%s is empty; expected an integer from %llu to %llu", what,
			    (unsigned long long)min, (unsigned long long)max);
	if (i > 1 && s[0] == '0')
		return fail(c, n,
			    "%s '%s' has a leading zero (YAML 1.1 reads it as octal); expected a "
			    "decimal integer from %llu to %llu",
			    what, quote(q, sizeof(q), s, i), (unsigned long long)min,
			    (unsigned long long)max);
	if (v < min || v > max)
		return fail(c, n, "%s %s is out of range; expected an integer from %llu to %llu",
			    what, quote(q, sizeof(q), s, i), (unsigned long long)min,
			    (unsigned long long)max);
	*out = v;
	return 0;
}

static int want_bool(struct ctx *c, const yaml_node_t *n, const char *what, bool *out)
{
	char q[MSG_QUOTE_MAX * 4 + 8];
	const char *s;

	s = want_string(c, n, what, "true or false");
	if (!s)
		return -1;
	if (is_plain(n) && (!strcmp(s, "true") || !strcmp(s, "yes"))) {
		*out = true;
		return 0;
	}
	if (is_plain(n) && (!strcmp(s, "false") || !strcmp(s, "no"))) {
		*out = false;
		return 0;
	}
	return fail(c, n, "%s %s'%s' is not a boolean; expected true or false", what,
		    is_plain(n) ? "" : "(quoted) ", quote(q, sizeof(q), s, strlen(s)));
}

/*
 * A mode mask. Written plain, YAML reads 27 as decimal and 0027 as (YAML 1.1) octal, so a plain
 * mask must carry its leading 0 (or 0o); a quoted string is always octal digits, as for chmod.
 */
static int want_mask(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t *out)
{
	char q[MSG_QUOTE_MAX * 4 + 8];
	const char *s, *d;
	uint32_t v = 0;

	s = want_string(c, n, what, EXPECT_MASK);
	if (!s)
		return -1;
	d = s;
	if (is_plain(n)) {
		if (d[0] != '0')
			return fail(c, n,
				    "%s %s is not octal (plain YAML reads it as decimal); expected "
				    "%s",
				    what, quote(q, sizeof(q), s, strlen(s)), EXPECT_MASK);
		if (d[1] == 'o')
			d += 2;
	}
	if (!*d)
		return fail(c, n, "%s '%s' has no digits; expected %s", what,
			    quote(q, sizeof(q), s, strlen(s)), EXPECT_MASK);
	for (; *d; d++) {
		if (*d < '0' || *d > '7')
			return fail(c, n, "%s '%s' is not octal; expected %s", what,
				    quote(q, sizeof(q), s, strlen(s)), EXPECT_MASK);
		if (v <= MAX_MASK)
			v = v * 8 + (uint32_t)(*d - '0');
	}
	if (v > MAX_MASK)
		return fail(c, n, "%s '%s' is out of range; expected %s", what,
			    quote(q, sizeof(q), s, strlen(s)), EXPECT_MASK);
	*out = v;
	return 0;
}

/*
 * glibc's fnmatch() treats an unclosed '[' as a literal and a trailing '\' as a mismatch, so
 * either typo would quietly make an exception match nothing (or something else): refuse both.
 * Inside brackets, "[:alpha:]", "[.x.]" and "[=x=]" are skipped whole, and '\' escapes (flags 0,
 * no FNM_NOESCAPE) as it does in glibc.
 */
static const char *glob_problem(const char *g)
{
	const char *s = g;

	while (*s) {
		if (*s == '\\') {
			if (!s[1])
				return "a trailing '\\'";
			s += 2;
			continue;
		}
		if (*s != '[') {
			s++;
			continue;
		}
		s++;
		if (*s == '!' || *s == '^')
			s++;
		if (*s == ']') /* a ']' first in the set is a member, not the end */
			s++;
		for (;;) {
			if (!*s)
				return "an unbalanced '['";
			if (*s == ']')
				break;
			if (*s == '\\') {
				if (!s[1])
					return "a trailing '\\'";
				s += 2;
				continue;
			}
			if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
				char delim = s[1];
				const char *e = s + 2;

				while (*e && !(e[0] == delim && e[1] == ']'))
					e++;
				if (!*e)
					return "an unbalanced '['";
				s = e + 2;
				continue;
			}
			s++;
		}
		s++;
	}
	return NULL;
}

/* "a, b, c" from names[0..n), cut (never overrun) if it does not fit. */
static const char *join(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

/* Every rule id, in the order of enum tg_rule, for "expected one of ..." */
static const char *rule_list(char *buf, size_t size)
{
	const char *ids[TG_RULE_MAX];
	int r;

	for (r = 0; r < TG_RULE_MAX; r++)
		ids[r] = tg_rule_id((enum tg_rule)r);
	return join(buf, size, ids, TG_RULE_MAX);
}

static char *dup_string(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		fail_oom(c);
	return d;
}

/* allowed[] (NULL-terminated) as "a, b, c", or every rule id when allowed is NULL. */
static const char *key_list(char *buf, size_t size, const char *const *allowed)
{
	size_t n = 0;

	if (!allowed)
		return rule_list(buf, size);
	while (allowed[n])
		n++;
	return join(buf, size, allowed, n);
}

/*
 * Checks the key of one pair of mapping m: a scalar, one of allowed[] (or, with allowed NULL, any
 * rule id), not seen before in this mapping. Because unknown keys stop the walk first, the
 * duplicate scan is bounded by the number of allowed keys, not by the size of the mapping.
 */
static const char *want_key(struct ctx *c, const yaml_node_t *m, const yaml_node_pair_t *pair,
			    const char *const *allowed, const char *where)
{
	char q[MSG_QUOTE_MAX * 4 + 8], list[256];
	const yaml_node_pair_t *prev;
	yaml_node_t *k = node(c, pair->key);
	const char *s;
	size_t i;

	if (!k)
		return fail(c, m, "broken document; expected YAML"), NULL;
	if (k->type != YAML_SCALAR_NODE) {
		fail(c, k, "key in %s is %s; expected one of %s", where, kind(k),
		     key_list(list, sizeof(list), allowed));
		return NULL;
	}
	s = sval(k);
	if (allowed) {
		for (i = 0; allowed[i] && strcmp(s, allowed[i]); i++)
			;
		if (!allowed[i] || strlen(s) != k->data.scalar.length) {
			fail(c, k, "unknown key '%s' in %s; expected one of %s",
			     quote(q, sizeof(q), s, k->data.scalar.length), where,
			     key_list(list, sizeof(list), allowed));
			return NULL;
		}
	} else if (tg_rule_parse(s) < 0 || strlen(s) != k->data.scalar.length) {
		fail(c, k, "unknown rule '%s'; expected one of %s",
		     quote(q, sizeof(q), s, k->data.scalar.length), rule_list(list, sizeof(list)));
		return NULL;
	}
	for (prev = m->data.mapping.pairs.start; prev < pair; prev++) {
		yaml_node_t *pk = node(c, prev->key);

		if (pk && pk->type == YAML_SCALAR_NODE && !strcmp(sval(pk), s)) {
			fail(c, k,
			     "duplicate key '%s' in %s (first at line %zu); expected each key once",
			     s, where, pk->start_mark.line + 1);
			return NULL;
		}
	}
	return s;
}

static int parse_rule(struct ctx *c, enum tg_rule r, yaml_node_t *m)
{
	static const char *const keys_plain[] = {"enabled", "severity", "action", NULL};
	static const char *const keys_mask[] = {"enabled", "severity", "action", "mask", NULL};
	static const char *const keys_window[] = {"enabled", "severity", "action", "window_seconds",
						  NULL};
	struct tg_rule_policy *rp = &c->p->rules[r];
	const char *const *keys = keys_plain;
	char where[64], q[MSG_QUOTE_MAX * 4 + 8];
	yaml_node_pair_t *pair;
	int rc;

	if (r == TG_RULE_LOOSE_MODE || r == TG_RULE_LOOSE_TEMPDIR)
		keys = keys_mask;
	else if (r == TG_RULE_CHECK_THEN_CREATE)
		keys = keys_window;
	snprintf(where, sizeof(where), "rules.%s", tg_rule_id(r));
	rc = want_container(c, m, YAML_MAPPING_NODE, where,
			    "a mapping such as { enabled: true, severity: high, action: alert }");
	if (rc <= 0)
		return rc;
	for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		const char *k = want_key(c, m, pair, keys, where);
		yaml_node_t *v = node(c, pair->value);
		const char *s;
		uint64_t u;
		int i;

		if (!k)
			return -1;
		if (!strcmp(k, "enabled")) {
			if (want_bool(c, v, "enabled", &rp->enabled))
				return -1;
		} else if (!strcmp(k, "severity")) {
			s = want_string(c, v, "severity", "one of low, medium, high, critical");
			if (!s)
				return -1;
			i = tg_severity_parse(s);
			if (i < 0)
				return fail(c, v,
					    "unknown severity '%s'; expected one of low, medium, "
					    "high, critical",
					    quote(q, sizeof(q), s, strlen(s)));
			rp->severity = (enum tg_severity)i;
			rp->severity_set = true;
		} else if (!strcmp(k, "action")) {
			s = want_string(c, v, "action", "one of alert, deny, kill");
			if (!s)
				return -1;
			for (i = 0; i < (int)NACTION && strcmp(s, action_names[i]); i++)
				;
			if (i == (int)NACTION)
				return fail(
					c, v,
					"unknown action '%s'; expected one of alert, deny, kill",
					quote(q, sizeof(q), s, strlen(s)));
			rp->action = (enum tg_action)i;
		} else if (!strcmp(k, "mask")) {
			if (want_mask(c, v, "mask",
				      r == TG_RULE_LOOSE_MODE ? &c->p->file_loose_mask
							      : &c->p->dir_loose_mask))
				return -1;
		} else { /* window_seconds */
			if (want_uint(c, v, "window_seconds", 1, MAX_WINDOW_S, &u))
				return -1;
			c->p->probe_window_ns = u * NS_PER_S;
		}
	}
	return 0;
}

static int parse_rules(struct ctx *c, yaml_node_t *m)
{
	yaml_node_pair_t *pair;
	int rc;

	rc = want_container(c, m, YAML_MAPPING_NODE, "rules",
			    "a mapping from rule ids to settings");
	if (rc <= 0)
		return rc;
	for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		const char *k = want_key(c, m, pair, NULL, "rules");

		if (!k || parse_rule(c, (enum tg_rule)tg_rule_parse(k), node(c, pair->value)))
			return -1;
	}
	return 0;
}

static int parse_shared_dirs(struct ctx *c, yaml_node_t *n)
{
	const char *expected = "an absolute directory path such as /srv/scratch";
	char q[MSG_QUOTE_MAX * 4 + 8];
	yaml_node_item_t *it;
	size_t count;
	int rc;

	rc = want_container(c, n, YAML_SEQUENCE_NODE, "shared_dirs",
			    "a list of absolute directory paths");
	if (rc <= 0)
		return rc;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return 0;
	c->p->shared_dirs = calloc(count, sizeof(*c->p->shared_dirs));
	if (!c->p->shared_dirs)
		return fail_oom(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node(c, *it);
		const char *s = want_string(c, v, "shared_dirs entry", expected);

		if (!s)
			return -1;
		if (s[0] != '/')
			return fail(c, v, "shared_dirs entry '%s' is %s; expected %s",
				    quote(q, sizeof(q), s, strlen(s)),
				    s[0] ? "a relative path" : "empty", expected);
		c->p->shared_dirs[c->p->n_shared_dirs] = dup_string(c, s);
		if (!c->p->shared_dirs[c->p->n_shared_dirs])
			return -1;
		c->p->n_shared_dirs++;
	}
	return 0;
}

/* A non-empty string condition; globs are checked so a typo cannot silently match nothing. */
static int want_condition(struct ctx *c, yaml_node_t *v, const char *what, bool glob, char **out)
{
	char q[MSG_QUOTE_MAX * 4 + 8];
	const char *s, *problem;

	s = want_string(c, v, what, glob ? "a glob" : "a user name");
	if (!s)
		return -1;
	if (!*s)
		return fail(c, v, "empty %s; expected %s", what,
			    glob ? "a glob (fnmatch, * also matches /)" : "a user name");
	/* user: 1000 is almost certainly a uid; useradd refuses all-digit names for this reason */
	if (!glob && is_plain(v) && strspn(s, "0123456789") == strlen(s))
		return fail(c, v, "user %s is a number; expected a user name, or uid: %s", s, s);
	if (glob && (problem = glob_problem(s)))
		return fail(c, v,
			    "bad glob '%s' in %s: %s; expected a fnmatch(3) pattern (write a "
			    "literal [ or \\ as \\[ or \\\\)",
			    quote(q, sizeof(q), s, strlen(s)), what, problem);
	*out = dup_string(c, s);
	return *out ? 0 : -1;
}

/*
 * When an exception stops applying. A date means the end of that day, UTC (its next midnight):
 * "expires: 2026-12-31" holds until 2027-01-01T00:00:00Z. An RFC 3339 time means that instant.
 * Times before 1970 are refused (0 means never), and int64 nanoseconds end in 2262.
 */
static int want_expiry(struct ctx *c, yaml_node_t *v, int64_t *out)
{
	char q[MSG_QUOTE_MAX * 4 + 8];
	const char *s = want_string(c, v, "expires", EXPECT_EXPIRES);
	int64_t t;
	bool ok;

	if (!s)
		return -1;
	if (!tg_parse_date(s, &t))
		ok = !__builtin_add_overflow(t, NS_PER_DAY, &t);
	else
		ok = !tg_parse_rfc3339(s, &t);
	if (!ok || t <= 0)
		return fail(c, v, "bad expires '%s'; expected %s",
			    quote(q, sizeof(q), s, strlen(s)), EXPECT_EXPIRES);
	*out = t;
	return 0;
}

static int parse_exception(struct ctx *c, yaml_node_t *m, struct tg_exception *e)
{
	static const char *const keys[] = {"rule",   "exe",   "comm",	   "path",
					   "user",   "uid",   "container", "cgroup",
					   "reason", "owner", "expires",   NULL};
	char q[MSG_QUOTE_MAX * 4 + 8], rules[256];
	bool has_rule = false, has_reason = false;
	yaml_node_pair_t *pair;
	int conds = 0;

	e->rule = -1;
	e->line = (int)m->start_mark.line + 1;
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "exception is %s; expected a mapping with %s", kind(m),
			    EXPECT_EXCEPTION);
	for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		const char *k = want_key(c, m, pair, keys, "an exception");
		yaml_node_t *v = node(c, pair->value);
		const char *s;
		uint64_t u;
		int rc = 0;

		if (!k)
			return -1;
		if (!strcmp(k, "rule")) {
			s = want_string(c, v, "rule", "\"*\" or a rule id");
			if (!s)
				return -1;
			if (strcmp(s, "*")) {
				e->rule = tg_rule_parse(s);
				if (e->rule < 0)
					return fail(
						c, v,
						"unknown rule '%s'; expected \"*\" or one of %s",
						quote(q, sizeof(q), s, strlen(s)),
						rule_list(rules, sizeof(rules)));
			}
			has_rule = true;
			continue;
		}
		if (!strcmp(k, "reason")) {
			s = want_string(c, v, "reason", "reason: \"<why this is safe>\"");
			if (!s)
				return -1;
			if (!s[strspn(s, " \t\r\n")])
				return fail(c, v,
					    "empty reason; expected reason: \"<why this is "
					    "safe>\"");
			e->reason = dup_string(c, s);
			if (!e->reason)
				return -1;
			has_reason = true;
			continue;
		}
		if (!strcmp(k, "owner")) {
			s = want_string(c, v, "owner", "owner: \"<who answers for it>\"");
			if (!s)
				return -1;
			if (!s[strspn(s, " \t\r\n")])
				return fail(
					c, v,
					"empty owner; expected owner: \"<who answers for it>\", "
					"such as a team or an address");
			e->owner = dup_string(c, s);
			if (!e->owner)
				return -1;
			continue;
		}
		if (!strcmp(k, "expires")) {
			if (want_expiry(c, v, &e->expires_ns))
				return -1;
			continue;
		}
		if ((!strcmp(k, "uid") && e->user) || (!strcmp(k, "user") && e->has_uid))
			return fail(
				c, node(c, pair->key),
				"both user and uid in one exception; expected only one of them");
		conds++;
		if (!strcmp(k, "exe"))
			rc = want_condition(c, v, "exe", true, &e->exe);
		else if (!strcmp(k, "comm"))
			rc = want_condition(c, v, "comm", true, &e->comm);
		else if (!strcmp(k, "path"))
			rc = want_condition(c, v, "path", true, &e->path);
		else if (!strcmp(k, "container"))
			rc = want_condition(c, v, "container", true, &e->container);
		else if (!strcmp(k, "cgroup"))
			rc = want_condition(c, v, "cgroup", true, &e->cgroup);
		else if (!strcmp(k, "user"))
			rc = want_condition(c, v, "user", false, &e->user);
		else { /* uid */
			rc = want_uint(c, v, "uid", 0, MAX_UID, &u);
			if (!rc) {
				e->uid = (uint32_t)u;
				e->has_uid = true;
			}
		}
		if (rc)
			return -1;
	}
	if (!has_reason)
		return fail(c, m,
			    "exception without reason; expected reason: \"<why this is safe>\"");
	if (!has_rule)
		return fail(c, m, "exception without rule; expected rule: \"*\" or one of %s",
			    rule_list(rules, sizeof(rules)));
	if (!conds)
		return fail(c, m,
			    "exception without a condition; expected at least one of exe, comm, "
			    "path, user, uid, container, cgroup");
	return 0;
}

static int parse_exceptions(struct ctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t count;
	int rc;

	rc = want_container(c, n, YAML_SEQUENCE_NODE, "exceptions",
			    "a list of mappings, each with " EXPECT_EXCEPTION);
	if (rc <= 0)
		return rc;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return 0;
	c->p->exceptions = calloc(count, sizeof(*c->p->exceptions));
	if (!c->p->exceptions)
		return fail_oom(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		/* counted before parsing, so tg_policy_free() frees a half-built entry */
		struct tg_exception *e = &c->p->exceptions[c->p->n_exceptions++];

		if (parse_exception(c, node(c, *it), e))
			return -1;
	}
	return 0;
}

static int parse_rate_limit(struct ctx *c, yaml_node_t *m)
{
	static const char *const keys[] = {"per_key_per_minute", "per_user_per_minute",
					   "per_host_per_minute", NULL};
	yaml_node_pair_t *pair;
	const char *k;
	uint64_t u;
	int rc;

	rc = want_container(c, m, YAML_MAPPING_NODE, "rate_limit",
			    "a mapping such as { per_key_per_minute: 60 }");
	if (rc <= 0)
		return rc;
	for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		if (!(k = want_key(c, m, pair, keys, "rate_limit")))
			return -1;
		if (want_uint(c, node(c, pair->value), k, 1, MAX_PER_MINUTE, &u))
			return -1;
		if (!strcmp(k, "per_key_per_minute"))
			c->p->per_key_per_minute = (unsigned int)u;
		else if (!strcmp(k, "per_user_per_minute"))
			c->p->per_user_per_minute = (unsigned int)u;
		else
			c->p->per_host_per_minute = (unsigned int)u;
	}
	return 0;
}

static int parse_root(struct ctx *c, yaml_node_t *root)
{
	static const char *const keys[] = {"version",	 "shared_dirs", "rules",
					   "exceptions", "rate_limit",	NULL};
	const char *expected = "a mapping that starts with version: 1";
	yaml_node_pair_t *pair;
	bool has_version = false;

	if (!root || is_null(root))
		return fail(c, root, "empty policy; expected %s", expected);
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, root, "policy is %s; expected %s", kind(root), expected);
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		const char *k = want_key(c, root, pair, keys, "the policy");
		yaml_node_t *v = node(c, pair->value);
		int rc;

		if (!k)
			return -1;
		if (!strcmp(k, "version")) {
			char q[MSG_QUOTE_MAX * 4 + 8];
			const char *s = want_string(c, v, "version", "version: 1");

			if (!s)
				return -1;
			/* "1" quoted is a string, and 01 an octal in YAML 1.1: only plain 1 */
			if (!is_plain(v) || strcmp(s, "1"))
				return fail(c, v, "unsupported version %s%s%s; expected version: 1",
					    is_plain(v) ? "" : "\"",
					    quote(q, sizeof(q), s, strlen(s)),
					    is_plain(v) ? "" : "\"");
			c->p->version = 1;
			has_version = true;
			continue;
		}
		if (!strcmp(k, "shared_dirs"))
			rc = parse_shared_dirs(c, v);
		else if (!strcmp(k, "rules"))
			rc = parse_rules(c, v);
		else if (!strcmp(k, "exceptions"))
			rc = parse_exceptions(c, v);
		else
			rc = parse_rate_limit(c, v);
		if (rc)
			return -1;
	}
	if (!has_version)
		return fail(c, root, "missing version; expected version: 1");
	return 0;
}

static void policy_defaults(struct tg_policy *p)
{
	int r;

	for (r = 0; r < TG_RULE_MAX; r++) {
		p->rules[r].enabled = r != TG_RULE_INHERITABLE_FD;
		p->rules[r].action = TG_ACTION_ALERT;
	}
	p->file_loose_mask = 0027;
	p->dir_loose_mask = 0077;
	p->probe_window_ns = (uint64_t)TG_PROBE_WINDOW_S * NS_PER_S;
	p->per_key_per_minute = 1;
	p->per_user_per_minute = TG_PER_USER_PER_MINUTE;
	p->per_host_per_minute = TG_PER_HOST_PER_MINUTE;
}

struct tg_policy *tg_policy_parse(const char *name, const char *yaml, size_t len, char *err,
				  size_t errlen)
{
	struct ctx c = {.name = name ? name : "<policy>", .err = err, .errlen = errlen};
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!yaml)
		len = 0;
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p) {
		fail_oom(&c);
		return NULL;
	}
	policy_defaults(c.p);
	c.p->source = strdup(c.name);
	if (!c.p->source) {
		fail_oom(&c);
		goto out;
	}
	/* Which policy was in force, for reports: a person checks it with sha256sum. */
	if (tg_sha256_hex(yaml ? yaml : "", len, c.p->sha256)) {
		fail_oom(&c);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		fail_oom(&c);
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		tg_yaml_error(&parser, c.name, yaml, len, c.err, c.errlen);
		goto out_parser;
	}
	c.doc = &doc;
	rc = parse_root(&c, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	if (rc)
		goto out_parser;
	/*
	 * A second document would otherwise be ignored: refuse it, one file is one policy. Empty
	 * ones (a trailing "---") say nothing and pass; each load consumes input, so this ends.
	 */
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &extra)) {
			tg_yaml_error(&parser, c.name, yaml, len, c.err, c.errlen);
			rc = -1;
			break;
		}
		root = yaml_document_get_root_node(&extra);
		if (root && !is_null(root)) {
			fail(&c, root, "a second YAML document; expected one policy per file");
			rc = -1;
		}
		yaml_document_delete(&extra);
		if (!root || rc)
			break;
	}
out_parser:
	yaml_parser_delete(&parser);
out:
	if (rc) {
		tg_policy_free(c.p);
		return NULL;
	}
	return c.p;
}

struct tg_policy *tg_policy_load(const char *path, char *err, size_t errlen)
{
	struct tg_policy *p;
	size_t len;
	char *buf = tg_read_text_file(path, MAX_POLICY_BYTES, "policy file", &len, err, errlen);

	if (!buf)
		return NULL;
	p = tg_policy_parse(path, buf, len, err, errlen);
	free(buf);
	return p;
}

struct tg_policy *tg_policy_default(char *err, size_t errlen)
{
	return tg_policy_parse(BUILTIN_NAME, tg_default_policy_yaml, tg_default_policy_yaml_len,
			       err, errlen);
}

void tg_policy_free(struct tg_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_shared_dirs; i++)
		free(p->shared_dirs[i]);
	free(p->shared_dirs);
	for (i = 0; i < p->n_exceptions; i++) {
		struct tg_exception *e = &p->exceptions[i];

		free(e->exe);
		free(e->comm);
		free(e->path);
		free(e->user);
		free(e->container);
		free(e->cgroup);
		free(e->reason);
		free(e->owner);
	}
	free(p->exceptions);
	free(p->source);
	free(p);
}

void tg_policy_rules_config(const struct tg_policy *p, struct tg_rules_config *cfg)
{
	struct tg_policy def;
	int r;

	/* no policy: the same defaults a "version: 1" file gets */
	if (!p) {
		memset(&def, 0, sizeof(def));
		policy_defaults(&def);
		p = &def;
	}
	memset(cfg, 0, sizeof(*cfg));
	for (r = 0; r < TG_RULE_MAX; r++)
		cfg->enabled[r] = p->rules[r].enabled;
	cfg->file_loose_mask = p->file_loose_mask;
	cfg->dir_loose_mask = p->dir_loose_mask;
	cfg->probe_window_ns = p->probe_window_ns;
}

enum tg_severity tg_policy_severity(const struct tg_policy *p, enum tg_rule r, enum tg_severity sev)
{
	if (p && (unsigned int)r < TG_RULE_MAX && p->rules[r].severity_set)
		return p->rules[r].severity;
	return sev;
}

/* A condition on an unknown (NULL) value never holds: an exception must not widen by accident. */
static bool glob_holds(const char *glob, const char *value)
{
	return !glob || (value && !fnmatch(glob, value, 0));
}

bool tg_exception_expired(const struct tg_exception *e, int64_t now_ns)
{
	return e->expires_ns && now_ns >= e->expires_ns;
}

int64_t tg_policy_next_expiry(const struct tg_policy *p, int64_t now_ns)
{
	int64_t next = 0;

	for (size_t i = 0; p && i < p->n_exceptions; i++) {
		int64_t t = p->exceptions[i].expires_ns;

		if (t > now_ns && (!next || t < next))
			next = t;
	}
	return next;
}

int tg_policy_match(const struct tg_policy *p, const struct tg_match_subject *s, int64_t now_ns)
{
	size_t i;

	if (!p || !s)
		return -1;
	for (i = 0; i < p->n_exceptions; i++) {
		const struct tg_exception *e = &p->exceptions[i];

		if (e->rule != -1 && e->rule != (int)s->rule)
			continue;
		/* Past its expiry an exception is as if it were not written: the finding is
		 * reported again, for its owner to renew or fix. */
		if (tg_exception_expired(e, now_ns))
			continue;
		if (!glob_holds(e->exe, s->exe) || !glob_holds(e->comm, s->comm) ||
		    !glob_holds(e->path, s->path) || !glob_holds(e->container, s->container_id) ||
		    !glob_holds(e->cgroup, s->cgroup))
			continue;
		if (e->user && (!s->user || strcmp(e->user, s->user)))
			continue;
		/* (uint32_t)-1, "no uid", is out of the parser's range, so it never matches */
		if (e->has_uid && e->uid != s->uid)
			continue;
		return (int)i;
	}
	return -1;
}

/*
 * A literal, canonical absolute path. The kernel compares the inode (or cgroup id) that the path
 * resolves to, user space compares the text with fnmatch(): the two agree only for a path
 * without glob characters and without "//", "." or ".." components or a trailing '/'.
 */
static bool literal_path(const char *s)
{
	const char *c;

	if (s[0] != '/' || strpbrk(s, "*?[\\"))
		return false;
	if (!s[1])
		return true;
	for (c = s; *c; c++) {
		if (*c != '/')
			continue;
		if (c[1] == '/' || c[1] == '\0')
			return false;
		if (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return false;
		if (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
			return false;
	}
	return true;
}

bool tg_exception_kernel_decidable(const struct tg_exception *e)
{
	if (!e || e->rule != -1)
		return false;
	if (e->comm || e->path || e->container)
		return false;
	if (e->exe && !literal_path(e->exe))
		return false;
	if (e->cgroup && !literal_path(e->cgroup))
		return false;
	return e->exe || e->cgroup || e->user || e->has_uid;
}

/*
 * A YAML double-quoted scalar that reads back as exactly s: printable ASCII and printable
 * non-ASCII UTF-8 as they are; quotes, backslashes, controls, C1, line and paragraph separators
 * and non-characters as escapes. Bytes that are not UTF-8 cannot come from the parser (libyaml
 * refuses them); if one does, it is written as \xNN so the output stays valid YAML.
 */
static void print_quoted(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	while (*s) {
		uint32_t cp;
		int n, i;

		if (*s < 0x80) {
			if (*s == '"' || *s == '\\')
				fprintf(out, "\\%c", *s);
			else if (*s == '\n')
				fputs("\\n", out);
			else if (*s == '\t')
				fputs("\\t", out);
			else if (*s < 0x20 || *s == 0x7f)
				fprintf(out, "\\x%02X", *s);
			else
				fputc(*s, out);
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 2;
			cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 3;
			cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 4;
			cp = *s & 0x07;
		} else {
			n = 0;
			cp = 0;
		}
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (!n || i < n) {
			fprintf(out, "\\x%02X", *s);
			s++;
			continue;
		}
		if ((cp >= 0xa0 && cp <= 0xd7ff && cp != 0x2028 && cp != 0x2029) ||
		    (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
		    (cp >= 0x10000 && cp <= 0x10ffff))
			fwrite(s, 1, (size_t)n, out);
		else if (cp <= 0xff)
			fprintf(out, "\\x%02X", (unsigned int)cp);
		else if (cp <= 0xffff)
			fprintf(out, "\\u%04X", (unsigned int)cp);
		else
			fprintf(out, "\\U%08X", (unsigned int)cp);
		s += n;
	}
	fputc('"', out);
}

/* A comment must stay on one line and be readable YAML: anything unusual becomes '?'. */
static void print_comment_text(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', out);
}

void tg_policy_print(const struct tg_policy *p, FILE *out)
{
	size_t i;
	int r;

	fputs("# tmpguard effective policy from ", out);
	print_comment_text(out, p->source ? p->source : "?");
	fputs("; every default filled in.\n", out);
	fprintf(out, "version: %d\n", p->version ? p->version : 1);

	fputs("# directories treated as shared in addition to every sticky world-writable one\n",
	      out);
	if (!p->n_shared_dirs)
		fputs("shared_dirs: []\n", out);
	else
		fputs("shared_dirs:\n", out);
	for (i = 0; i < p->n_shared_dirs; i++) {
		fputs("  - ", out);
		print_quoted(out, p->shared_dirs[i]);
		fputc('\n', out);
	}

	fputs("rules:\n", out);
	for (r = 0; r < TG_RULE_MAX; r++) {
		const struct tg_rule_policy *rp = &p->rules[r];

		fprintf(out, "  %s:%*s{ enabled: %s", tg_rule_id((enum tg_rule)r),
			(int)(20 - strlen(tg_rule_id((enum tg_rule)r))), "",
			rp->enabled ? "true" : "false");
		if (rp->severity_set)
			fprintf(out, ", severity: %s", tg_severity_name(rp->severity));
		fprintf(out, ", action: %s", tg_action_name(rp->action));
		if (r == TG_RULE_LOOSE_MODE)
			fprintf(out, ", mask: \"%04o\"", p->file_loose_mask);
		else if (r == TG_RULE_LOOSE_TEMPDIR)
			fprintf(out, ", mask: \"%04o\"", p->dir_loose_mask);
		else if (r == TG_RULE_CHECK_THEN_CREATE)
			fprintf(out, ", window_seconds: %llu",
				(unsigned long long)(p->probe_window_ns / NS_PER_S));
		fputs(" }", out);
		/* no severity key: writing the default would pin it and change the policy */
		if (!rp->severity_set)
			fputs("  # severity: the classifier's", out);
		fputc('\n', out);
	}

	if (!p->n_exceptions)
		fputs("exceptions: []\n", out);
	else
		fputs("exceptions:\n", out);
	for (i = 0; i < p->n_exceptions; i++) {
		const struct tg_exception *e = &p->exceptions[i];
		const struct {
			const char *key;
			const char *value;
		} fields[] = {
			{"exe", e->exe},   {"comm", e->comm},		{"path", e->path},
			{"user", e->user}, {"container", e->container}, {"cgroup", e->cgroup},
		};
		size_t f;

		fprintf(out, "  - rule: \"%s\"",
			e->rule < 0 ? "*" : tg_rule_id((enum tg_rule)e->rule));
		if (e->line > 0)
			fprintf(out, "  # line %d", e->line);
		fputc('\n', out);
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			if (!fields[f].value)
				continue;
			fprintf(out, "    %s: ", fields[f].key);
			print_quoted(out, fields[f].value);
			fputc('\n', out);
		}
		if (e->has_uid)
			fprintf(out, "    uid: %u\n", e->uid);
		fputs("    reason: ", out);
		print_quoted(out, e->reason ? e->reason : "");
		fputc('\n', out);
		if (e->owner) {
			fputs("    owner: ", out);
			print_quoted(out, e->owner);
			fputc('\n', out);
		}
		if (e->expires_ns) {
			char t[64];

			tg_format_time_short(e->expires_ns, t, sizeof(t));
			fprintf(out, "    expires: \"%s\"", t);
			/* what "expires: YYYY-MM-DD" became: the day's end */
			if (e->expires_ns % NS_PER_DAY == 0) {
				tg_format_time_short(e->expires_ns - NS_PER_DAY, t, sizeof(t));
				fprintf(out, "  # the end of %.10s UTC", t);
			}
			fputc('\n', out);
		}
	}
	fprintf(out,
		"rate_limit: { per_key_per_minute: %u, per_user_per_minute: %u, "
		"per_host_per_minute: %u }\n",
		p->per_key_per_minute, p->per_user_per_minute, p->per_host_per_minute);
}
