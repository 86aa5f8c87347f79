/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The text files tmpguard reads its settings from (policies, the daemon's configuration). */
#ifndef TG_TEXTFILE_H
#define TG_TEXTFILE_H

#include <stddef.h>
#include <yaml.h>

/* A whole text file of at most max bytes (what names it in the error), malloc'd; NULL with the
 * reason in err. */
char *tg_read_text_file(const char *path, size_t max, const char *what, size_t *len, char *err,
			size_t errlen);
/* "name:line:col: not YAML: ..." for a parser that failed on yaml (len bytes). */
void tg_yaml_error(const yaml_parser_t *parser, const char *name, const char *yaml, size_t len,
		   char *err, size_t errlen);

#endif
