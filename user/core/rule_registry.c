// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rule registry (rule_registry.h): one row per rule, and the names of severities. Pure.
 * (The classifier is in rules.c.)
 */
#include <string.h>
#include "rule_registry.h"

/* The ids are an interface (policies name them, outputs carry them): never rename one. */
static const struct tg_rule_info rules[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		{
			.id = "nonexclusive-create",
			.title = "File created in a shared directory without O_EXCL",
			.cwe = "CWE-377",
			.why = "Without O_EXCL another local user can create the name first, as a "
			       "file or a symlink, and the program then writes into it.",
			.severity = TG_SEV_HIGH,
			.falco_output = "created a file without O_EXCL in a shared directory",
			.falco_tags = {"mitre_privilege_escalation", "T1068"},
			.sarif_name = "NonexclusiveCreate",
		},
	[TG_RULE_CHECK_THEN_CREATE] =
		{
			.id = "check-then-create",
			.title = "Name checked, then created without O_EXCL (check-then-create "
				 "race)",
			.cwe = "CWE-367,CWE-377",
			.why = "Between the check that the name is free and the create another "
			       "local user can plant a file or symlink there, so the check proves "
			       "nothing about what the program then opens.",
			.severity = TG_SEV_HIGH,
			.falco_output =
				"checked that a name was free, then created it without O_EXCL",
			.falco_tags = {"mitre_privilege_escalation", "T1068"},
			.sarif_name = "CheckThenCreate",
		},
	[TG_RULE_LOOSE_MODE] =
		{
			.id = "loose-mode",
			.title =
				"File in a shared directory created readable or writable by others",
			.cwe = "CWE-732,CWE-276",
			.why = "The file is created with permissions that let other users read or "
			       "change it, so they can read its contents or alter them before the "
			       "program uses them.",
			.severity = TG_SEV_MEDIUM,
			.falco_output = "created a file other users can read or change",
			.falco_tags = {"mitre_collection", "T1005"},
			.sarif_name = "LooseMode",
		},
	[TG_RULE_FOREIGN_FILE_REUSE] =
		{
			.id = "foreign-file-reuse",
			.title = "Existing file of another user, or a hard link, opened in a "
				 "shared directory",
			.cwe = "CWE-377",
			.why = "The program opened, as if to create it, a name in a shared "
			       "directory "
			       "that another user made: their file, whose contents they control "
			       "and "
			       "can change while the program uses it, or a hard link to a file "
			       "elsewhere, which the program then truncates or overwrites.",
			.severity = TG_SEV_CRITICAL,
			.falco_output = "opened a name another user planted in a shared directory",
			.falco_tags = {"mitre_privilege_escalation", "T1068"},
			.sarif_name = "ForeignFileReuse",
		},
	[TG_RULE_SYMLINK_FOLLOW] =
		{
			.id = "symlink-follow",
			.title = "Create followed a symlink in a shared directory",
			.cwe = "CWE-59",
			.why = "The program followed a symlink in a sticky world-writable "
			       "directory, which another user can plant to redirect the write to "
			       "any file the program is allowed to modify.",
			.severity = TG_SEV_CRITICAL,
			.falco_output =
				"followed a symlink while creating a file in a shared directory",
			.falco_tags = {"mitre_privilege_escalation", "T1068"},
			.sarif_name = "SymlinkFollow",
		},
	[TG_RULE_LOOSE_TEMPDIR] =
		{
			.id = "loose-tempdir",
			.title = "Directory in a shared directory created accessible to others",
			.cwe = "CWE-377,CWE-732",
			.why = "The directory is created with a mode that lets other users add, "
			       "replace or read entries in it, so everything the program later "
			       "puts inside is exposed.",
			.severity = TG_SEV_MEDIUM,
			.falco_output = "created a directory other users can use",
			.falco_tags = {"mitre_collection", "T1005"},
			.sarif_name = "LooseTempdir",
		},
	[TG_RULE_INHERITABLE_FD] =
		{
			.id = "inheritable-fd",
			.title = "Temporary file opened without O_CLOEXEC",
			.cwe = "CWE-403",
			.why = "Without O_CLOEXEC the descriptor leaks into every program the "
			       "process later runs, which can then read or write the temporary "
			       "file.",
			.severity = TG_SEV_LOW,
			.falco_output = "created a file without O_CLOEXEC",
			.falco_tags = {"mitre_collection", "T1005"},
			.sarif_name = "InheritableFd",
		},
};

/* enum tg_severity has no _MAX member; critical is the last. */
#define NSEV (TG_SEV_CRITICAL + 1)

static const char *const severities[NSEV] = {
	[TG_SEV_LOW] = "low",
	[TG_SEV_MEDIUM] = "medium",
	[TG_SEV_HIGH] = "high",
	[TG_SEV_CRITICAL] = "critical",
};

const struct tg_rule_info *tg_rule_info(enum tg_rule r)
{
	return (unsigned int)r < TG_RULE_MAX ? &rules[r] : NULL;
}

/* Out-of-range values get a printable placeholder, never NULL, so callers can print blindly. */
const char *tg_rule_id(enum tg_rule r)
{
	const struct tg_rule_info *ri = tg_rule_info(r);

	return ri ? ri->id : "unknown";
}

const char *tg_rule_cwe(enum tg_rule r)
{
	const struct tg_rule_info *ri = tg_rule_info(r);

	return ri ? ri->cwe : "";
}

const char *tg_rule_why(enum tg_rule r)
{
	const struct tg_rule_info *ri = tg_rule_info(r);

	return ri ? ri->why : "";
}

const char *tg_rule_title(enum tg_rule r)
{
	const struct tg_rule_info *ri = tg_rule_info(r);

	return ri ? ri->title : "";
}

enum tg_severity tg_rule_default_severity(enum tg_rule r)
{
	const struct tg_rule_info *ri = tg_rule_info(r);

	return ri ? ri->severity : TG_SEV_HIGH;
}

const char *tg_severity_name(enum tg_severity s)
{
	return (unsigned int)s < NSEV ? severities[s] : "unknown";
}

/* Exact, case-sensitive matches: ids are identifiers, and one spelling keeps policies greppable. */
int tg_rule_parse(const char *id)
{
	int r;

	if (!id)
		return -1;
	for (r = 0; r < TG_RULE_MAX; r++)
		if (!strcmp(id, rules[r].id))
			return r;
	return -1;
}

int tg_severity_parse(const char *name)
{
	int s;

	if (!name)
		return -1;
	for (s = 0; s < NSEV; s++)
		if (!strcmp(name, severities[s]))
			return s;
	return -1;
}
