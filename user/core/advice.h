/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-language advice: which language a process speaks, and the secure call to use. Pure. */
#ifndef TG_ADVICE_H
#define TG_ADVICE_H

#include <stddef.h>
#include "rules.h"

enum tg_lang {
	TG_LANG_C = 0, /* C/C++ and anything not recognised */
	TG_LANG_PYTHON,
	TG_LANG_PERL,
	TG_LANG_RUBY,
	TG_LANG_SHELL,
	TG_LANG_NODE,
	TG_LANG_JAVA,
	TG_LANG_PHP,
	TG_LANG_GO,
	TG_LANG_MAX,
};

/*
 * exe: executable path or basename ("/usr/bin/python3.11", "python3"), may be NULL or "";
 * comm: the task's comm; is_go: the executable carries a Go build id (decided by the caller
 * from the ELF file). Interpreters are recognised by basename with version suffixes
 * (python3.11, perl5.36, ruby3.1, php8.2, nodejs, node, java, bash, sh, dash, zsh, ksh, mksh,
 * busybox, ash, fish).
 */
enum tg_lang tg_lang_detect(const char *exe, const char *comm, int is_go);
const char *tg_lang_name(enum tg_lang l); /* "python", "c", ... */
/* The concrete secure call for this language and finding: one or two sentences naming the
 * real API (e.g. Python: "use tempfile.mkstemp() or tempfile.NamedTemporaryFile(); never
 * tempfile.mktemp()"). Never NULL. */
const char *tg_advice(enum tg_lang l, enum tg_rule r);
/* The advice naming the line it is for: "`foo.c:42 in main()`: <advice>" into buf (site: a
 * call-site label, tg_callsite_label); advice itself when site is "" or NULL. */
const char *tg_advice_at(const char *advice, const char *site, char *buf, size_t len);
/* For loose-mode on a FIFO, socket or device node (mknod, mkfifo, bind), in any language. */
const char *tg_advice_node(void);

#endif
