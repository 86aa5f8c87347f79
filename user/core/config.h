/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's configuration file: a YAML mapping whose keys are `tmpguard audit`'s long
 * option names and whose values are their arguments (true/false for options without one).
 * It becomes the command line audit would have been given, so every audit option is a config
 * key and both are checked by the same code. Pure.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct tg_config_key {
	const char *name; /* long option name */
	bool takes_arg;
};

struct tg_daemon_config {
	char **argv; /* "--name=value" or "--name", NULL-terminated; argv[0] is the caller's */
	int argc;    /* entries in argv including argv[0] */
	char *text;  /* "name: value" lines, for messages and --check */
};

/*
 * Parses yaml (named name in messages) against keys. Unknown keys, duplicates, non-scalar
 * values and non-boolean values of flag options are refused with "name:line:col: problem;
 * expected ..." in err. An empty document is an empty configuration. Returns 0 or -1.
 */
int tg_config_parse(const char *name, const char *yaml, size_t len,
		    const struct tg_config_key *keys, size_t nkeys, struct tg_daemon_config *out,
		    char *err, size_t errlen);
int tg_config_load(const char *path, const struct tg_config_key *keys, size_t nkeys,
		   struct tg_daemon_config *out, char *err, size_t errlen);
void tg_config_free(struct tg_daemon_config *c);

#endif
