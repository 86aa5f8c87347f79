/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rule registry: what user space says about each rule, one row per rule, indexed by enum
 * tg_rule. Outputs (text, JSON, Falco, SARIF, reports, metrics, policies) take a rule's id,
 * words and tags from its row. Pure.
 *
 * Adding a rule: a value in enum tg_rule below and its row in rule_registry.c; the same value
 * in bpf/tmpguard.h's enum tg_rule_id (the kernel's numbering, checked in rules.c); its advice
 * in each language's table in advice.c; and what finds it (rules.c, and bpf/decide.h where the
 * kernel decides it too). test_rule_registry.c and test_advice.c fail until the rows are full.
 */
#ifndef TG_RULE_REGISTRY_H
#define TG_RULE_REGISTRY_H

/* The numbers are the kernel's too: bpf/tmpguard.h's enum tg_rule_id (checked in rules.c). */
enum tg_rule {
	TG_RULE_NONEXCLUSIVE_CREATE = 0,
	TG_RULE_CHECK_THEN_CREATE,
	TG_RULE_LOOSE_MODE,
	TG_RULE_FOREIGN_FILE_REUSE,
	TG_RULE_SYMLINK_FOLLOW,
	TG_RULE_LOOSE_TEMPDIR,
	TG_RULE_INHERITABLE_FD,
	TG_RULE_MAX,
};

enum tg_severity {
	TG_SEV_LOW = 0,
	TG_SEV_MEDIUM,
	TG_SEV_HIGH,
	TG_SEV_CRITICAL,
};

/* MITRE ATT&CK tags of a rule's Falco events: its tactic and its technique. */
#define TG_RULE_FALCO_TAGS 2

struct tg_rule_info {
	const char *id;		   /* "nonexclusive-create": policies and outputs name it */
	const char *title;	   /* what was seen, as a heading (reports, SARIF) */
	const char *cwe;	   /* "CWE-377" or "CWE-367,CWE-377" */
	const char *why;	   /* one sentence: why this is exploitable */
	enum tg_severity severity; /* tg_classify's default (loose-mode: critical if o+w) */
	/* Falco's output sentence: what the process did, as "on PATH: <this> (fields)" */
	const char *falco_output;
	const char *falco_tags[TG_RULE_FALCO_TAGS]; /* "mitre_privilege_escalation", "T1068" */
	const char *sarif_name; /* SARIF reportingDescriptor.name: an identifier, "LooseMode" */
};

/* The rule's row; NULL for a value that is not a rule (TG_RULE_MAX and beyond). */
const struct tg_rule_info *tg_rule_info(enum tg_rule r);

/* Out-of-range values get a printable placeholder, never NULL, so callers can print blindly. */
const char *tg_rule_id(enum tg_rule r);		  /* "nonexclusive-create"; "unknown" */
const char *tg_rule_cwe(enum tg_rule r);	  /* "CWE-377" or "CWE-367,CWE-377"; "" */
const char *tg_rule_why(enum tg_rule r);	  /* one sentence: why this is exploitable; "" */
const char *tg_severity_name(enum tg_severity s); /* "low" .. "critical"; "unknown" */
int tg_rule_parse(const char *id);		  /* rule id -> enum, -1 if unknown */
int tg_severity_parse(const char *name);	  /* -1 if unknown */

/* For reports (SARIF rule metadata): a short heading, and the severity tg_classify gives. */
const char *tg_rule_title(enum tg_rule r);
enum tg_severity tg_rule_default_severity(enum tg_rule r);

#endif
