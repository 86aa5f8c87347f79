// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "policy_kernel.h"

#define CGROUP2_ROOT "/sys/fs/cgroup"

/* st_dev as the kernel's s_dev (MAJOR << 20 | MINOR). */
static __u32 kernel_dev(dev_t d)
{
	return (major(d) << 20) | minor(d);
}

/* A resolution message, when there is somewhere to say it. */
__attribute__((format(printf, 2, 3))) static void say(FILE *log, const char *fmt, ...)
{
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
}

/* Resolves one kernel-decidable exception into a key; false if something is not on this host. */
static bool resolve(const struct tg_exception *x, struct tg_kexc_key *key, uint32_t *combo,
		    FILE *log)
{
	struct stat st;
	char path[4096];

	memset(key, 0, sizeof(*key));
	key->uid = TG_KEXC_ANY_UID;
	*combo = 0;
	if (x->exe) {
		/* User space matches the exe text against /proc/PID/exe, which is always the
		 * resolved file: a symlink here would make the two disagree. */
		if (lstat(x->exe, &st) == 0 && S_ISLNK(st.st_mode)) {
			say(log,
			    "tmpguard: policy line %d: exe is a symlink; name the file it "
			    "points to (this exception applies in user space only)\n",
			    x->line);
			return false;
		}
		if (stat(x->exe, &st)) {
			say(log,
			    "tmpguard: policy line %d: exe: %s; this exception applies in "
			    "user space only\n",
			    x->line, strerror(errno));
			return false;
		}
		key->exe_ino = st.st_ino;
		key->exe_dev = kernel_dev(st.st_dev);
		*combo |= TG_KEXC_EXE;
	}
	if (x->has_uid || x->user) {
		uint32_t uid = x->uid;

		if (!x->has_uid) {
			struct passwd *pw = getpwnam(x->user);

			if (!pw) {
				say(log,
				    "tmpguard: policy line %d: no such user on this host; "
				    "this exception applies in user space only\n",
				    x->line);
				return false;
			}
			uid = pw->pw_uid;
		}
		key->uid = uid;
		*combo |= TG_KEXC_UID;
	}
	if (x->cgroup) {
		/* A cgroup v2 directory's inode number is its cgroup id. */
		snprintf(path, sizeof(path), "%s%s", CGROUP2_ROOT, x->cgroup);
		if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			say(log,
			    "tmpguard: policy line %d: cgroup not found under %s; this "
			    "exception applies in user space only\n",
			    x->line, CGROUP2_ROOT);
			return false;
		}
		key->cgroup_id = st.st_ino;
		*combo |= TG_KEXC_CGROUP;
	}
	return *combo != 0;
}

int tg_policy_kernel_build(const struct tg_policy *p, struct tg_policy_kernel *k, FILE *log,
			   int64_t now_ns)
{
	memset(k, 0, sizeof(*k));
	k->keys = calloc(p->n_exceptions + 1, sizeof(*k->keys));
	k->idx = calloc(p->n_exceptions + 1, sizeof(*k->idx));
	k->in_kernel = calloc(p->n_exceptions + 1, sizeof(*k->in_kernel));
	k->dirs = calloc(p->n_shared_dirs + 1, sizeof(*k->dirs));
	if (!k->keys || !k->idx || !k->in_kernel || !k->dirs) {
		tg_policy_kernel_free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct tg_exception *x = &p->exceptions[i];
		bool expired = tg_exception_expired(x, now_ns);
		struct tg_kexc_key key;
		uint32_t combo;

		struct tg_exception any = *x;

		/* Conditions the kernel can test; on one rule they exempt from enforcement only,
		 * on every rule they also drop the record. */
		any.rule = -1;
		if (!tg_exception_kernel_decidable(&any) || (!expired && k->n >= TG_KEXC_MAX))
			continue;
		/* An expired exception is resolved only to say where it applied: quietly. */
		if (!resolve(x, &key, &combo, expired ? NULL : log))
			continue;
		if (expired) {
			k->in_kernel[i] = x->rule < 0;
			continue;
		}
		k->keys[k->n] = key;
		k->keys[k->n].rule = x->rule < 0 ? TG_KEXC_ANY_RULE : (uint32_t)x->rule;
		k->idx[k->n++] = i;
		k->combos |= 1u << combo;
		k->in_kernel[i] = x->rule < 0;
	}
	for (size_t i = 0; i < p->n_shared_dirs; i++) {
		struct stat st;

		if (stat(p->shared_dirs[i], &st) || !S_ISDIR(st.st_mode)) {
			say(log,
			    "tmpguard: policy: shared_dirs entry %zu is not a directory on "
			    "this host; skipped\n",
			    i + 1);
			continue;
		}
		k->dirs[k->n_dirs].ino = st.st_ino;
		k->dirs[k->n_dirs].dev = kernel_dev(st.st_dev);
		k->n_dirs++;
	}
	/* Refused here, before anything in the kernel changes. */
	if (k->n_dirs > TG_SHARED_DIRS_MAX) {
		say(log, "tmpguard: policy: %zu shared_dirs; the kernel holds at most %d\n",
		    k->n_dirs, TG_SHARED_DIRS_MAX);
		tg_policy_kernel_free(k);
		return -E2BIG;
	}
	return 0;
}

void tg_policy_kernel_free(struct tg_policy_kernel *k)
{
	free(k->keys);
	free(k->idx);
	free(k->in_kernel);
	free(k->dirs);
	memset(k, 0, sizeof(*k));
}
