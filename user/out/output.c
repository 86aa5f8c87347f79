// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "events.h"
#include "flags.h"
#include "callsite_out.h"
#include "output.h"
#include "record.h"
#include "util/json_util.h"
#include "util/timefmt.h"

/* requested_link: "present", "absent", "unknown"; the BPF LSM's proof counts as present. */
static const char *link_state_name(const struct tg_event *e, const struct tg_dir_verdict *v)
{
	if (e->facts & TG_F_LINK_FOLLOWED)
		return "present";
	if (e->facts & TG_F_PATH_CHANGED)
		return "unknown";
	return v->requested_link == TG_LINK_PRESENT  ? "present"
	       : v->requested_link == TG_LINK_ABSENT ? "absent"
						     : "unknown";
}

/* The kind of entry an i_mode is (its S_IFMT bits). */
static const char *file_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "directory";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "char-device";
	case S_IFBLK:
		return "block-device";
	case S_IFLNK:
		return "symlink";
	}
	return "unknown";
}

const char *tg_report_advice(const struct tg_report *r, char *buf, size_t len)
{
	const char *a = r->e->kind == TG_KIND_NODE && (r->e->file_mode & S_IFMT) != S_IFREG
				? tg_advice_node()
				: tg_advice(r->lang, r->finding.rule);
	char site[sizeof(r->callsite->frames[0].file) + 300];

	if (!len || !r->callsite || tg_callsite_label(r->callsite, site, sizeof(site)) <= 0)
		return a;
	return tg_advice_at(a, site, buf, len);
}

static json_object *mode_json(uint32_t mode)
{
	char buf[16];

	tg_mode_str(mode, buf, sizeof(buf));
	return json_object_new_string(buf);
}

/* Adds key: the bytes as a valid-UTF-8 string, noting in `escaped` when they were not. */
static void add_bytes(json_object *obj, const char *key, const char *s, size_t n,
		      json_object *escaped)
{
	bool lossless = false;

	json_object_object_add(obj, key, tg_json_bytes(s, n, &lossless));
	if (lossless)
		json_object_array_add(escaped, json_object_new_string(key));
}

static void add_str(json_object *obj, const char *key, const char *s, json_object *escaped)
{
	add_bytes(obj, key, s, strlen(s), escaped);
}

static json_object *cwe_json(enum tg_rule rule)
{
	json_object *arr = json_object_new_array();
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", tg_rule_cwe(rule));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(t));
	return arr;
}

/* What was found: the rule, its severity and CWEs, what was done, through which call. */
static void add_finding(json_object *o, const struct tg_report *r, json_object *escaped)
{
	char buf[64];

	tg_format_time(tg_report_time_ns(r), buf, sizeof(buf));
	json_object_object_add(o, "type", json_object_new_string("finding"));
	json_object_object_add(o, "schema_version", json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	json_object_object_add(o, "time", json_object_new_string(buf));
	if (r->host)
		add_str(o, "host", r->host, escaped);
	json_object_object_add(o, "rule", json_object_new_string(tg_rule_id(r->finding.rule)));
	json_object_object_add(o, "severity",
			       json_object_new_string(tg_severity_name(r->finding.severity)));
	json_object_object_add(o, "cwe", cwe_json(r->finding.rule));
	json_object_object_add(o, "action",
			       json_object_new_string(tg_action_taken_name(r->action)));
	json_object_object_add(o, "why", json_object_new_string(tg_rule_why(r->finding.rule)));
	json_object_object_add(o, "syscall",
			       json_object_new_string(tg_syscall_name(r->e->syscall)));
	json_object_object_add(o, "entry", json_object_new_string(tg_entry_name(r->e->entry)));
}

/* The file: the path as requested, flags and modes, and what the call created. */
static void add_file(json_object *o, const struct tg_report *r, json_object *escaped)
{
	const struct tg_event *e = r->e;
	json_object *flags = json_object_new_array();
	const char *names[24];
	char unknown[24];
	int n;

	add_str(o, "path", e->path, escaped);
	json_object_object_add(o, "path_truncated",
			       json_object_new_boolean(e->facts & TG_F_PATH_TRUNC));
	add_str(o, "resolved_name", e->name, escaped);
	/* A relative path's directory: its path, or why it cannot be given. */
	if (r->base_status && !strcmp(r->base_status, "ok"))
		add_str(o, "base_dir", r->base_dir, escaped);
	else
		json_object_object_add(o, "base_dir", NULL);
	json_object_object_add(
		o, "base_dir_status",
		json_object_new_string(r->base_status ? r->base_status : "absolute"));
	json_object_object_add(o, "dfd", json_object_new_int(e->dfd));
	n = tg_flags_names(e->flags, names, 24, unknown, sizeof(unknown));
	for (int i = 0; i < n; i++)
		json_object_array_add(flags, json_object_new_string(names[i]));
	json_object_object_add(o, "flags", flags);
	json_object_object_add(o, "mode", mode_json(e->mode));
	json_object_object_add(o, "umask", mode_json(e->umask));
	json_object_object_add(o, "effective_mode", mode_json(e->mode & ~e->umask & 07777));
	json_object_object_add(o, "file_mode", mode_json(e->file_mode & 07777));
	json_object_object_add(o, "file_type", json_object_new_string(file_type(e->file_mode)));
	json_object_object_add(o, "created", json_object_new_boolean(e->facts & TG_F_CREATED));
	json_object_object_add(o, "file_uid", json_object_new_int64(e->file_uid));
	json_object_object_add(o, "file_nlink", json_object_new_int64(e->file_nlink));
}

/* The directory and the decision about it: shared?, reached through a link?, the name the
 * caller used against the one opened, and the ENOENT probe that preceded the create. */
static void add_decision(json_object *o, const struct tg_report *r)
{
	const struct tg_event *e = r->e;

	json_object_object_add(o, "dir_shared", json_object_new_boolean(r->dir.shared));
	json_object_object_add(o, "requested_dir",
			       json_object_new_string(r->dir.unknown ? "unknown" : "resolved"));
	if (r->dir.dir_link) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "owner_uid", json_object_new_int64(r->dir.dir_link_uid));
		json_object_object_add(l, "foreign",
				       json_object_new_boolean(r->dir.dir_link_foreign));
		json_object_object_add(o, "dir_link", l);
	} else {
		json_object_object_add(o, "dir_link", NULL);
	}
	json_object_object_add(o, "dir_mode", mode_json(e->dir_mode & 07777));
	json_object_object_add(o, "dir_uid", json_object_new_int64(e->dir_uid));
	json_object_object_add(o, "symlink_followed",
			       json_object_new_boolean(e->kind == TG_KIND_OPEN &&
						       tg_symlink_followed(e, &r->dir)));
	json_object_object_add(o, "path_changed",
			       json_object_new_boolean(e->facts & TG_F_PATH_CHANGED));
	json_object_object_add(o, "path_mismatch",
			       json_object_new_boolean(tg_path_mismatch(e, &r->dir)));
	json_object_object_add(o, "requested_link",
			       tg_path_mismatch(e, &r->dir)
				       ? json_object_new_string(link_state_name(e, &r->dir))
				       : NULL);
	if (e->facts & TG_F_PROBED) {
		json_object *pr = json_object_new_object();

		json_object_object_add(pr, "syscall",
				       json_object_new_string(tg_syscall_name(e->probe_syscall)));
		json_object_object_add(pr, "pid", json_object_new_int64(e->probe_pid));
		json_object_object_add(
			pr, "age_ms",
			json_object_new_double((double)(e->ts_ns - e->probe_ts_ns) / 1e6));
		json_object_object_add(o, "probe", pr);
	} else {
		json_object_object_add(o, "probe", NULL);
	}
}

/* Which process, whatever reuses its pid later: its start, and an id built from it. */
static void add_start(json_object *proc, const struct tg_report *r, json_object *escaped)
{
	const struct tg_event *e = r->e;
	char st[64], id[320];

	if (!e->start_ns) {
		json_object_object_add(proc, "start_time", NULL);
		json_object_object_add(proc, "exec_id", NULL);
		return;
	}
	/* In u64, as the event time is: a wild value wraps, never overflows. */
	tg_format_time((int64_t)(e->start_ns + (uint64_t)r->boot_to_real_ns), st, sizeof(st));
	json_object_object_add(proc, "start_time", json_object_new_string(st));
	snprintf(id, sizeof(id), "%s:%llu:%u", r->host ? r->host : "",
		 (unsigned long long)e->start_ns, e->pid);
	add_str(proc, "exec_id", id, escaped);
}

/* The process: ids, names, command line, cgroup and container, audit session. */
static json_object *proc_json(const struct tg_report *r, json_object *escaped)
{
	const struct tg_event *e = r->e;
	const struct tg_proc_info *p = r->proc;
	json_object *proc = json_object_new_object();

	json_object_object_add(proc, "pid", json_object_new_int64(e->pid));
	json_object_object_add(proc, "tid", json_object_new_int64(e->tid));
	json_object_object_add(proc, "ppid", json_object_new_int64(e->ppid));
	add_str(proc, "pcomm", e->pcomm, escaped);
	json_object_object_add(proc, "uid", json_object_new_int64(e->uid));
	json_object_object_add(proc, "euid", json_object_new_int64(e->euid));
	add_str(proc, "user", p->user, escaped);
	add_str(proc, "comm", e->comm, escaped);
	add_str(proc, "exe", p->exe, escaped);
	add_bytes(proc, "cmdline", p->cmdline, p->cmdline_len, escaped);
	add_str(proc, "cgroup", p->cgroup, escaped);
	json_object_object_add(proc, "cgroup_id", json_object_new_int64((int64_t)e->cgroup_id));
	json_object_object_add(proc, "container_id",
			       p->container_id[0] ? json_object_new_string(p->container_id) : NULL);
	json_object_object_add(proc, "container_runtime",
			       p->runtime ? json_object_new_string(p->runtime) : NULL);
	json_object_object_add(proc, "mntns", json_object_new_int64(e->mntns));
	json_object_object_add(proc, "sid", json_object_new_int64(e->sid));
	add_start(proc, r, escaped);
	json_object_object_add(proc, "auid",
			       e->auid == TG_AUID_UNSET ? NULL : json_object_new_int64(e->auid));
	json_object_object_add(proc, "sessionid",
			       e->ses == TG_AUID_UNSET ? NULL : json_object_new_int64(e->ses));
	return proc;
}

/* The parent chain, parent first, when it was read. */
static void add_ancestry(json_object *o, const struct tg_proc_info *p, json_object *escaped)
{
	json_object *anc;

	if (!p->n_ancestry)
		return;
	anc = json_object_new_array();
	for (unsigned i = 0; i < p->n_ancestry; i++) {
		const struct tg_ancestor *a = &p->ancestry[i];
		json_object *ao = json_object_new_object();

		json_object_object_add(ao, "pid", json_object_new_int64(a->pid));
		add_str(ao, "comm", a->comm, escaped);
		if (a->exe[0])
			add_str(ao, "exe", a->exe, escaped);
		else
			json_object_object_add(ao, "exe", NULL);
		json_object_array_add(anc, ao);
	}
	json_object_object_add(o, "ancestry", anc);
	json_object_object_add(o, "ancestry_truncated",
			       json_object_new_boolean(p->ancestry_truncated));
}

/*
 * Keys in a fixed order (the record's documented shape): the finding, the file, the decision,
 * the process and its ancestry, the advice. `escaped` collects, in that order, the keys whose
 * bytes were not valid UTF-8; it is added last, when not empty.
 */
json_object *tg_report_json(const struct tg_report *r)
{
	json_object *o = json_object_new_object(), *escaped = json_object_new_array();

	add_finding(o, r, escaped);
	add_file(o, r, escaped);
	add_decision(o, r);
	json_object_object_add(o, "proc", proc_json(r, escaped));
	add_ancestry(o, r->proc, escaped);
	json_object_object_add(o, "language", json_object_new_string(tg_lang_name(r->lang)));
	/* The language's advice as such: reports tabulate it per rule and language. The call
	 * site is in call_site; text and Falco name it in the advice. */
	json_object_object_add(o, "advice", json_object_new_string(tg_report_advice(r, NULL, 0)));
	{
		char at[TG_ADVICE_AT_LEN];
		const char *a = tg_report_advice(r, at, sizeof(at));

		/* the same advice at the call site's line, when one is known */
		json_object_object_add(o, "advice_at", a == at ? json_object_new_string(at) : NULL);
	}
	tg_callsite_add_json(o, r->callsite);
	json_object_object_add(o, "count", json_object_new_int64((int64_t)r->count));
	if (r->pattern)
		add_str(o, "pattern", r->pattern, escaped);
	if (json_object_array_length(escaped))
		json_object_object_add(o, "escaped_fields", escaped);
	else
		json_object_put(escaped);
	return o;
}

int tg_output_json(FILE *out, const struct tg_report *r)
{
	json_object *o = tg_report_json(r);
	int err = 0;

	if (fprintf(out, "%s\n",
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		err = -errno;
	json_object_put(o);
	return err;
}

static char *esc(const char *s, size_t n)
{
	return tg_text_dup(s, n);
}

static const char *upper_sev(enum tg_severity s)
{
	static const char *const names[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};

	return s <= TG_SEV_CRITICAL ? names[s] : "?";
}

/* Text output names the entry only when it is not a native syscall. */
static const char *entry_note(uint32_t entry)
{
	switch (entry) {
	case TG_ENTRY_IA32:
		return " via a 32-bit (ia32) syscall";
	case TG_ENTRY_IO_URING:
		return " via io_uring";
	default:
		return "";
	}
}

/* The record's names, in printable form (tg_text_dup: no control byte reaches a terminal). */
struct text_names {
	char *path, *name, *comm, *pcomm, *exe, *cmd, *user;
};

/* Who: the process, its parent and ancestry, its command line, its container. */
static void text_process(FILE *out, const struct tg_report *r, const struct text_names *n)
{
	const struct tg_event *e = r->e;
	const struct tg_proc_info *p = r->proc;

	fprintf(out, "  process  pid %u tid %u %s  exe %s%s  user %s (uid %u euid %u)\n", e->pid,
		e->tid, n->comm, n->exe, p->from_kernel ? " (exited)" : "", n->user, e->uid,
		e->euid);
	fprintf(out, "  parent   pid %u %s\n", e->ppid, n->pcomm);
	if (p->n_ancestry > 1) {
		fputs("  ancestry", out);
		for (unsigned i = 0; i < p->n_ancestry; i++) {
			char *c = tg_text_dup(p->ancestry[i].comm, strlen(p->ancestry[i].comm));

			fprintf(out, "%s%u %s", i ? " < " : " ", p->ancestry[i].pid, c ? c : "?");
			free(c);
		}
		fputs(p->ancestry_truncated ? " < ...\n" : "\n", out);
	}
	fprintf(out, "  cmdline  %s%s\n", n->cmd, (e->facts & TG_F_ARGS_TRUNC) ? " ..." : "");
	if (p->container_id[0])
		fprintf(out, "  container %s %.12s\n", p->runtime, p->container_id);
}

/* What: the path (and a relative one's directory), the entry made or opened, and notes on a
 * path that does not name it or a directory that could not be resolved. */
static void text_path(FILE *out, const struct tg_report *r, const struct text_names *n)
{
	const struct tg_event *e = r->e;

	fprintf(out, "  path     %s%s", n->path,
		(e->facts & TG_F_PATH_TRUNC) ? " (truncated)" : "");
	if (r->base_status && !strcmp(r->base_status, "ok")) {
		char *b = tg_text_dup(r->base_dir, strlen(r->base_dir));

		fprintf(out, " (relative to %s)", b ? b : "?");
		free(b);
	} else if (r->base_status) {
		fprintf(out, " (relative to %s: %s)", e->dfd == -100 ? "the cwd" : "a dirfd",
			r->base_status);
	}
	fputc('\n', out);
	/* What the call made or opened: the kind of entry matters only for a node (mkdir,
	 * mknod), an open's entry is a file. */
	if (e->kind == TG_KIND_NODE)
		fprintf(out, "  made     %s, a %s, owner uid %u\n", n->name,
			file_type(e->file_mode), e->file_uid);
	if (e->kind == TG_KIND_OPEN)
		fprintf(out, "  opened   %s%s%s, owner uid %u\n", n->name,
			(e->facts & TG_F_CREATED) ? " (created)" : " (existing)",
			tg_symlink_followed(e, &r->dir) ? " through a symlink" : "", e->file_uid);
	if (e->facts & TG_F_PATH_CHANGED)
		fprintf(out, "  note     the path was rewritten while the call ran: the kernel may "
			     "have used another name; it opened the file above\n");
	else if (tg_path_mismatch(e, &r->dir) && !tg_symlink_followed(e, &r->dir) &&
		 !r->dir.unknown)
		fprintf(out, "  note     the path does not name the opened file, and no symlink is "
			     "there now\n");
	if (r->dir.unknown)
		fprintf(out, "  note     requested directory unknown (the process was gone, or in "
			     "another mount namespace, when its record was read): judged by the "
			     "directory that holds the file\n");
	if (r->dir.dir_link)
		fprintf(out,
			"  note     the path goes through a symlink to a directory, in a shared "
			"directory, owned by uid %u%s\n",
			r->dir.dir_link_uid,
			r->dir.dir_link_foreign ? " (neither the creator nor the directory's owner)"
						: "");
}

/* How: the directory, the call with its flags and modes, the ENOENT probe before it. */
static void text_call(FILE *out, const struct tg_report *r)
{
	const struct tg_event *e = r->e;
	char flags[256], mode[16], umask[16], eff[16], fmode[16], dmode[16];

	tg_flags_str(e->flags, flags, sizeof(flags));
	tg_mode_str(e->mode, mode, sizeof(mode));
	tg_mode_str(e->umask, umask, sizeof(umask));
	tg_mode_str(e->mode & ~e->umask & 07777, eff, sizeof(eff));
	tg_mode_str(e->file_mode & 07777, fmode, sizeof(fmode));
	tg_mode_str(e->dir_mode & 07777, dmode, sizeof(dmode));
	if (e->dir_mode)
		fprintf(out, "  dir      mode %s owner uid %u%s\n", dmode, e->dir_uid,
			r->dir.shared ? " (shared: sticky, world-writable)" : "");
	if (e->kind == TG_KIND_OPEN)
		fprintf(out, "  call     %s(%s, %s)%s  umask %s -> effective %s, file mode %s\n",
			tg_syscall_name(e->syscall), flags, mode, entry_note(e->entry), umask, eff,
			fmode);
	else
		fprintf(out, "  call     %s(%s)%s  umask %s -> effective %s\n",
			tg_syscall_name(e->syscall), mode, entry_note(e->entry), umask, eff);
	if (e->facts & TG_F_PROBED)
		fprintf(out, "  probe    %s by pid %u, %.1f ms before\n",
			tg_syscall_name(e->probe_syscall), e->probe_pid,
			(double)(e->ts_ns - e->probe_ts_ns) / 1e6);
}

/* Which line of code made the call. */
static void text_callsite(FILE *out, const struct tg_report *r)
{
	char site[2048], *s;

	if (!r->callsite || tg_callsite_text(r->callsite, site, sizeof(site)) <= 0)
		return;
	s = esc(site, strlen(site));
	if (!s)
		return;
	fprintf(out, "  call site %s\n", s);
	if (r->callsite->missing[0] && tg_callsite_frame(r->callsite)) {
		free(s);
		s = esc(r->callsite->missing, strlen(r->callsite->missing));
		if (s)
			fprintf(out, "  missing  %s\n", s);
	}
	free(s);
}

/* What was done about it, why it matters, how to fix it. */
static void text_action(FILE *out, const struct tg_report *r)
{
	if (r->action == TG_ACT_DENIED)
		fprintf(out, "  action   DENIED: the BPF LSM refused it with EACCES; nothing was "
			     "written\n");
	else if (r->action == TG_ACT_KILLED)
		fprintf(out, "  action   KILLED: the process was sent SIGKILL%s\n",
			r->e->ret < 0 ? " and the operation refused"
				      : " after the call (no BPF LSM: the file exists)");
	else if (r->action == TG_ACT_WOULD_DENY)
		fprintf(out, "  action   WOULD DENY (dry run): --enforce would refuse this\n");
	fprintf(out, "  why      %s\n", tg_rule_why(r->finding.rule));
	char advice[TG_ADVICE_AT_LEN];

	fprintf(out, "  fix      [%s] %s\n", tg_lang_name(r->lang),
		tg_report_advice(r, advice, sizeof(advice)));
}

int tg_output_text(FILE *out, const struct tg_report *r)
{
	const struct tg_event *e = r->e;
	const struct tg_proc_info *p = r->proc;
	struct text_names n = {
		.path = esc(e->path, strlen(e->path)),
		.name = esc(e->name, strlen(e->name)),
		.comm = esc(e->comm, strlen(e->comm)),
		.pcomm = esc(e->pcomm, strlen(e->pcomm)),
		.exe = esc(p->exe, strlen(p->exe)),
		.cmd = esc(p->cmdline, p->cmdline_len),
		.user = esc(p->user, strlen(p->user)),
	};
	char t[64];
	int err = 0;

	if (!n.path || !n.name || !n.comm || !n.pcomm || !n.exe || !n.cmd || !n.user) {
		err = -ENOMEM;
		goto out;
	}
	tg_format_time(tg_report_time_ns(r), t, sizeof(t));
	fprintf(out, "%s  %s  %s (%s)\n", t, upper_sev(r->finding.severity),
		tg_rule_id(r->finding.rule), tg_rule_cwe(r->finding.rule));
	if (r->same_event) {
		fprintf(out, "  (the same %s call of pid %u as above: %s)\n",
			tg_syscall_name(e->syscall), e->pid, n.path);
	} else {
		text_process(out, r, &n);
		text_path(out, r, &n);
		text_call(out, r);
		text_callsite(out, r);
	}
	text_action(out, r);
	if (fprintf(out, "\n") < 0)
		err = -errno;
out:
	free(n.path);
	free(n.name);
	free(n.comm);
	free(n.pcomm);
	free(n.exe);
	free(n.cmd);
	free(n.user);
	return err;
}
