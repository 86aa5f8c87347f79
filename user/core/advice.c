// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-language advice. Pure. */
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include "advice.h"

struct interp {
	const char *name;
	enum tg_lang lang;
};

/*
 * Matched against the basename with any version suffix ("python3.11", "perl5.36.0",
 * "php-fpm8.2"), because distributions install interpreters under versioned names.
 */
static const struct interp interps[] = {
	{"python", TG_LANG_PYTHON}, {"pypy", TG_LANG_PYTHON}, {"perl", TG_LANG_PERL},
	{"ruby", TG_LANG_RUBY},	    {"sh", TG_LANG_SHELL},    {"bash", TG_LANG_SHELL},
	{"dash", TG_LANG_SHELL},    {"zsh", TG_LANG_SHELL},   {"ksh", TG_LANG_SHELL},
	{"mksh", TG_LANG_SHELL},    {"ash", TG_LANG_SHELL},   {"busybox", TG_LANG_SHELL},
	{"fish", TG_LANG_SHELL},    {"node", TG_LANG_NODE},   {"nodejs", TG_LANG_NODE},
	{"java", TG_LANG_JAVA},	    {"php", TG_LANG_PHP},     {"php-fpm", TG_LANG_PHP},
	{"php-cgi", TG_LANG_PHP},
};

/* name[0..len) is prefix followed only by version characters (digits and dots), if any. */
static bool name_matches(const char *name, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix), i;

	if (len < pl || memcmp(name, prefix, pl))
		return false;
	for (i = pl; i < len; i++)
		if ((name[i] < '0' || name[i] > '9') && name[i] != '.')
			return false;
	return true;
}

static bool lang_from_name(const char *path, enum tg_lang *out)
{
	/* readlink(/proc/PID/exe) marks a replaced binary this way; the process still runs it. */
	static const char deleted[] = " (deleted)";
	const char *base = strrchr(path, '/');
	size_t len, i;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len >= sizeof(deleted) - 1 && !strcmp(base + len - (sizeof(deleted) - 1), deleted))
		len -= sizeof(deleted) - 1;
	for (i = 0; i < sizeof(interps) / sizeof(interps[0]); i++) {
		if (name_matches(base, len, interps[i].name)) {
			*out = interps[i].lang;
			return true;
		}
	}
	return false;
}

enum tg_lang tg_lang_detect(const char *exe, const char *comm, int is_go)
{
	enum tg_lang l;

	/* The build id is proof; a name is only a guess (and a Go binary may be called "sh"). */
	if (is_go)
		return TG_LANG_GO;
	/*
	 * comm only when there is no exe: a script run through its #! line has the script's name
	 * as comm, so comm says nothing about the interpreter when exe is known.
	 */
	if (exe && *exe)
		return lang_from_name(exe, &l) ? l : TG_LANG_C;
	if (comm && *comm && lang_from_name(comm, &l))
		return l;
	return TG_LANG_C;
}

static const char *const lang_names[TG_LANG_MAX] = {
	[TG_LANG_C] = "c",	 [TG_LANG_PYTHON] = "python", [TG_LANG_PERL] = "perl",
	[TG_LANG_RUBY] = "ruby", [TG_LANG_SHELL] = "shell",   [TG_LANG_NODE] = "node",
	[TG_LANG_JAVA] = "java", [TG_LANG_PHP] = "php",	      [TG_LANG_GO] = "go",
};

const char *tg_lang_name(enum tg_lang l)
{
	if ((unsigned int)l >= TG_LANG_MAX)
		return lang_names[TG_LANG_C];
	return lang_names[l];
}

/*
 * Each entry names the call that fixes the finding in that language, so the reader can act on
 * it without looking anything up. Where a language's own API already avoids the problem by
 * default (close-on-exec in Python, Ruby, Go, Node), the advice says what must have undone it.
 */
static const char *const advice_c[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Create the file with mkstemp() or mkostemp(template, O_CLOEXEC), or with "
		"open(dir, O_TMPFILE | O_RDWR, 0600) when it needs no name, or use tmpfile(); "
		"never mktemp(), tmpnam() or tempnam(). For a fixed name use open(path, O_CREAT | "
		"O_EXCL | O_NOFOLLOW, 0600).",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not stat() or access() the name before creating it: open(path, O_CREAT | "
		"O_EXCL | O_NOFOLLOW, 0600) checks and creates in one call (EEXIST if taken), and "
		"mkstemp() or tmpfile() do it for you.",
	[TG_RULE_LOOSE_MODE] =
		"Create the file with mode 0600: mkstemp() does, and open() needs 0600 with "
		"O_CREAT | O_EXCL; call umask(077) before creating files others must not read.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Never reuse a name another user can create first: make a fresh file with "
		"mkstemp() or tmpfile(), or a private directory with mkdtemp() and work inside it.",
	[TG_RULE_SYMLINK_FOLLOW] = "Open with O_CREAT | O_EXCL | O_NOFOLLOW so a planted symlink "
				   "makes open() fail, or avoid the guessable name with mkstemp() "
				   "or open(dir, O_TMPFILE | O_RDWR, 0600).",
	[TG_RULE_LOOSE_TEMPDIR] =
		"Create the directory with mkdtemp(), which makes it 0700 under a name nobody can "
		"predict, instead of mkdir() of a fixed name with a loose mode.",
	[TG_RULE_INHERITABLE_FD] = "Open with O_CLOEXEC (open(path, O_CREAT | O_EXCL | O_CLOEXEC, "
				   "0600), mkostemp(template, O_CLOEXEC), fopen mode \"we\") so "
				   "programs started by exec() do not inherit the descriptor.",
};

static const char *const advice_python[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use tempfile.mkstemp(), tempfile.NamedTemporaryFile() or tempfile.TemporaryFile() "
		"instead of open() on a guessed name, and never tempfile.mktemp(). For a fixed "
		"name use os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600).",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not test os.path.exists() before creating: os.open(path, os.O_CREAT | "
		"os.O_EXCL | os.O_WRONLY, 0o600) checks and creates in one call (FileExistsError "
		"if taken), and tempfile.mkstemp() does it for you.",
	[TG_RULE_LOOSE_MODE] = "Create the file with tempfile.mkstemp() (mode 0600) or "
			       "os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), and "
			       "call os.umask(0o077) before creating files others must not read.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not open a name another user may already own: use tempfile.mkstemp() or "
		"tempfile.NamedTemporaryFile() for a fresh file, or tempfile.mkdtemp() / "
		"tempfile.TemporaryDirectory() for a private directory.",
	[TG_RULE_SYMLINK_FOLLOW] =
		"Use tempfile.mkstemp() or tempfile.NamedTemporaryFile(), which open with O_EXCL | "
		"O_NOFOLLOW; for a fixed name use os.open(path, os.O_CREAT | os.O_EXCL | "
		"os.O_NOFOLLOW | os.O_WRONLY, 0o600).",
	[TG_RULE_LOOSE_TEMPDIR] = "Use tempfile.mkdtemp() or tempfile.TemporaryDirectory(), which "
				  "create a 0700 directory with an unpredictable name, instead of "
				  "os.mkdir() or os.makedirs() on a fixed name.",
	[TG_RULE_INHERITABLE_FD] =
		"Python 3.4+ opens files with O_CLOEXEC (PEP 446), including tempfile.mkstemp(), "
		"so remove the os.set_inheritable(fd, True), pass_fds or close_fds=False that "
		"hands this file to child processes.",
};

static const char *const advice_perl[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use File::Temp's tempfile() (my ($fh, $name) = tempfile();) instead of open() on "
		"a guessed name; for a fixed name use sysopen($fh, $path, O_WRONLY | O_CREAT | "
		"O_EXCL, 0600) from Fcntl.",
	[TG_RULE_CHECK_THEN_CREATE] = "Do not test -e $path before open(): sysopen($fh, $path, "
				      "O_WRONLY | O_CREAT | O_EXCL, 0600) checks and creates in "
				      "one call, and File::Temp's tempfile() does it for you.",
	[TG_RULE_LOOSE_MODE] =
		"Pass mode 0600 to sysopen() with O_CREAT | O_EXCL, or use File::Temp's tempfile() "
		"(0600), and call umask(077) before creating files others must not read.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not open a name another user can create first: use File::Temp's tempfile() for "
		"a fresh file, or tempdir(CLEANUP => 1) for a private directory.",
	[TG_RULE_SYMLINK_FOLLOW] =
		"Use File::Temp's tempfile(), which opens with O_EXCL, or sysopen($fh, $path, "
		"O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600), instead of open($fh, '>', "
		"$path), which follows a planted symlink.",
	[TG_RULE_LOOSE_TEMPDIR] =
		"Use File::Temp's tempdir(CLEANUP => 1), which creates a 0700 directory with an "
		"unpredictable name, instead of mkdir on a fixed name.",
	[TG_RULE_INHERITABLE_FD] =
		"Keep $^F at 2 so Perl marks new handles close-on-exec (with O_CLOEXEC since 5.28) "
		"and do not clear FD_CLOEXEC with fcntl; File::Temp's tempfile() then gives a "
		"handle child programs do not inherit.",
};

static const char *const advice_ruby[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use Tempfile.create instead of File.open on a guessed name; for a fixed name use "
		"File.open(path, File::WRONLY | File::CREAT | File::EXCL, 0600).",
	[TG_RULE_CHECK_THEN_CREATE] = "Do not test File.exist? before creating: File.open(path, "
				      "File::WRONLY | File::CREAT | File::EXCL, 0600) checks and "
				      "creates in one call, and Tempfile.create does it for you.",
	[TG_RULE_LOOSE_MODE] = "Use Tempfile.create, which creates the file 0600, or pass 0600 to "
			       "File.open with File::CREAT | File::EXCL, and call File.umask(0077) "
			       "before creating files others must not read.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not open a name another user can create first: use Tempfile.create for a fresh "
		"file, or Dir.mktmpdir for a private directory.",
	[TG_RULE_SYMLINK_FOLLOW] =
		"Use Tempfile.create, which opens with File::EXCL, or File.open(path, File::WRONLY "
		"| File::CREAT | File::EXCL | File::NOFOLLOW, 0600), instead of File.open(path, "
		"'w'), which follows a planted symlink.",
	[TG_RULE_LOOSE_TEMPDIR] = "Use Dir.mktmpdir, which creates a 0700 directory with an "
				  "unpredictable name, instead of Dir.mkdir on a fixed name.",
	[TG_RULE_INHERITABLE_FD] = "Ruby opens files close-on-exec by default, so remove the "
				   "io.close_on_exec = false or spawn redirection that hands this "
				   "file to child processes, and create it with Tempfile.create.",
};

static const char *const advice_shell[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Create the file with f=$(mktemp) (or a directory with d=$(mktemp -d)) and write "
		"to \"$f\"; never > /tmp/name.$$ or a name from mktemp -u. set -C (noclobber) only "
		"partly helps.",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not test [ -e \"$f\" ] before writing: f=$(mktemp) creates the file atomically "
		"with O_EXCL and mode 0600, while set -C (noclobber) only partly closes the race.",
	[TG_RULE_LOOSE_MODE] = "Run umask 077 before creating the file, or create it with "
			       "f=$(mktemp), which makes it 0600.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not write to a fixed or guessed name in /tmp that another user can create "
		"first: use f=$(mktemp), or d=$(mktemp -d) and work inside \"$d\".",
	[TG_RULE_SYMLINK_FOLLOW] =
		"A redirection to /tmp/name.$$ follows a planted symlink; use f=$(mktemp) (or "
		"d=$(mktemp -d)), which creates with O_EXCL, and never mktemp -u.",
	[TG_RULE_LOOSE_TEMPDIR] = "Create the directory with d=$(mktemp -d), which makes it 0700 "
				  "under an unpredictable name, instead of mkdir /tmp/name, and "
				  "run umask 077 for what goes inside.",
	[TG_RULE_INHERITABLE_FD] =
		"Shell redirections cannot set O_CLOEXEC, so close the descriptor (exec 3>&-) "
		"before running other programs, or close it for a single command with cmd 3>&-; "
		"create the file with f=$(mktemp).",
};

static const char *const advice_node[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Create a private directory with fs.mkdtempSync(path.join(os.tmpdir(), 'x-')) and "
		"write inside it; for a fixed name use fs.openSync(p, 'wx', 0o600), which fails if "
		"the name exists.",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not call fs.existsSync() before writing: fs.openSync(p, 'wx', 0o600) checks "
		"and creates in one call (EEXIST if taken), or write inside "
		"fs.mkdtempSync(path.join(os.tmpdir(), 'x-')).",
	[TG_RULE_LOOSE_MODE] = "Pass mode 0o600 when creating (fs.openSync(p, 'wx', 0o600) or "
			       "fs.writeFileSync(p, data, { flag: 'wx', mode: 0o600 })), and call "
			       "process.umask(0o077) before creating files others must not read.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not reuse a name in os.tmpdir() that another user can create first: write "
		"inside fs.mkdtempSync(path.join(os.tmpdir(), 'x-')), or create with "
		"fs.openSync(p, 'wx', 0o600).",
	[TG_RULE_SYMLINK_FOLLOW] =
		"Open with the 'wx' flag (fs.openSync(p, 'wx', 0o600)), which adds O_EXCL so a "
		"planted symlink fails, or write inside fs.mkdtempSync(path.join(os.tmpdir(), "
		"'x-')); 'w' follows the symlink.",
	[TG_RULE_LOOSE_TEMPDIR] =
		"Use fs.mkdtempSync(path.join(os.tmpdir(), 'x-')), which creates a 0700 directory "
		"with an unpredictable name, instead of fs.mkdirSync() on a fixed name.",
	[TG_RULE_INHERITABLE_FD] =
		"Node's fs.openSync() already uses O_CLOEXEC, so this descriptor comes from a "
		"native addon or is passed in child_process.spawn() stdio; open it with O_CLOEXEC "
		"there and pass it to children only on purpose.",
};

static const char *const advice_java[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use Files.createTempFile(prefix, suffix), or Files.newOutputStream(path, "
		"StandardOpenOption.CREATE_NEW) for a fixed name, instead of new "
		"FileOutputStream() on a guessed name or a name from File.createTempFile().",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not test Files.exists() or File.exists() before creating: "
		"Files.newOutputStream(path, StandardOpenOption.CREATE_NEW) checks and creates in "
		"one call, and Files.createTempFile() does it for you.",
	[TG_RULE_LOOSE_MODE] = "Use Files.createTempFile(), which creates the file 0600 "
			       "(File.createTempFile() does not), or pass "
			       "PosixFilePermissions.asFileAttribute(PosixFilePermissions."
			       "fromString(\"rw-------\")) to Files.createFile().",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not open a name another user can create first: use Files.createTempFile() for "
		"a fresh file, or Files.createTempDirectory() for a private directory.",
	[TG_RULE_SYMLINK_FOLLOW] =
		"Create with Files.createTempFile(), or Files.newOutputStream(path, "
		"StandardOpenOption.CREATE_NEW), which fail on a planted symlink; new "
		"FileOutputStream() follows it.",
	[TG_RULE_LOOSE_TEMPDIR] =
		"Use Files.createTempDirectory(prefix), which creates a 0700 directory with an "
		"unpredictable name, instead of File.mkdir() on a fixed name.",
	[TG_RULE_INHERITABLE_FD] =
		"ProcessBuilder closes inherited descriptors in the child, so this one leaks "
		"through JNI code or a launcher that execs directly; open it with O_CLOEXEC there, "
		"and create the file with Files.createTempFile().",
};

static const char *const advice_php[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use tempnam(sys_get_temp_dir(), 'x') or tmpfile() instead of fopen() on a guessed "
		"name; for a fixed name use fopen($p, 'x'), which fails if the name exists.",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not test file_exists() before writing: fopen($p, 'x') checks and creates in "
		"one call, and tempnam(sys_get_temp_dir(), 'x') or tmpfile() do it for you.",
	[TG_RULE_LOOSE_MODE] =
		"Use tempnam(sys_get_temp_dir(), 'x') or tmpfile(), which create the file 0600, or "
		"call umask(0077) before fopen($p, 'x'); a later chmod() leaves a window.",
	[TG_RULE_FOREIGN_FILE_REUSE] = "Do not open a name another user can create first: use "
				       "tmpfile() or tempnam(sys_get_temp_dir(), 'x') for a fresh "
				       "file, or fopen($p, 'x') for a fixed name.",
	[TG_RULE_SYMLINK_FOLLOW] = "Open with fopen($p, 'x') (O_CREAT | O_EXCL), which fails on a "
				   "planted symlink, or use tempnam(sys_get_temp_dir(), 'x') or "
				   "tmpfile(); fopen($p, 'w') and file_put_contents() follow it.",
	[TG_RULE_LOOSE_TEMPDIR] =
		"PHP has no mkdtemp(): create the directory with mkdir(sys_get_temp_dir() . '/x-' "
		". bin2hex(random_bytes(8)), 0700) and treat failure as an error rather than "
		"reusing an existing one.",
	[TG_RULE_INHERITABLE_FD] = "Open the file with the 'e' mode flag (fopen($p, 'xe')) so it "
				   "is close-on-exec, or fclose() it before exec(), system() or "
				   "proc_open(); tmpfile() handles are inherited too.",
};

static const char *const advice_go[TG_RULE_MAX] = {
	[TG_RULE_NONEXCLUSIVE_CREATE] =
		"Use os.CreateTemp(\"\", \"x-*\") instead of os.Create on a guessed name; for a "
		"fixed name use os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600).",
	[TG_RULE_CHECK_THEN_CREATE] =
		"Do not call os.Stat() before creating: os.OpenFile(p, "
		"os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600) checks and creates in one call "
		"(os.ErrExist if taken), and os.CreateTemp does it for you.",
	[TG_RULE_LOOSE_MODE] = "Use os.CreateTemp (mode 0600) or pass 0600 to os.OpenFile(p, "
			       "os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600); os.Create and "
			       "os.WriteFile(p, b, 0644) leave the file readable by others.",
	[TG_RULE_FOREIGN_FILE_REUSE] =
		"Do not open a name another user can create first: use os.CreateTemp for a fresh "
		"file, or os.MkdirTemp for a private directory.",
	[TG_RULE_SYMLINK_FOLLOW] = "Use os.CreateTemp, which opens with O_EXCL, or os.OpenFile(p, "
				   "os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600) for a fixed name; "
				   "os.Create follows a planted symlink.",
	[TG_RULE_LOOSE_TEMPDIR] =
		"Use os.MkdirTemp(\"\", \"x-*\"), which creates a 0700 directory with an "
		"unpredictable name, instead of os.Mkdir or os.MkdirAll on a fixed name.",
	[TG_RULE_INHERITABLE_FD] =
		"The Go runtime opens files with O_CLOEXEC, so this descriptor comes from "
		"syscall.Open or cgo without it: add syscall.O_CLOEXEC there, and hand files to "
		"children only through exec.Cmd.ExtraFiles.",
};

static const char *const *const advice[TG_LANG_MAX] = {
	[TG_LANG_C] = advice_c,		[TG_LANG_PYTHON] = advice_python,
	[TG_LANG_PERL] = advice_perl,	[TG_LANG_RUBY] = advice_ruby,
	[TG_LANG_SHELL] = advice_shell, [TG_LANG_NODE] = advice_node,
	[TG_LANG_JAVA] = advice_java,	[TG_LANG_PHP] = advice_php,
	[TG_LANG_GO] = advice_go,
};

const char *tg_advice_node(void)
{
	return "Make FIFOs and sockets inside a private directory (mkdtemp(), tempfile.mkdtemp(), "
	       "mktemp -d), or with mode 0600: mkfifo(path, 0600), and umask(077) before bind() "
	       "(a socket takes 0777 less the umask). In a shared directory any user can open a "
	       "loose FIFO or connect to a loose socket.";
}

const char *tg_advice(enum tg_lang l, enum tg_rule r)
{
	if ((unsigned int)r >= TG_RULE_MAX)
		return "Create temporary files with an exclusive, atomic call (O_CREAT | O_EXCL, "
		       "mode 0600) or inside a private directory made with mkdtemp().";
	if ((unsigned int)l >= TG_LANG_MAX)
		l = TG_LANG_C;
	return advice[l][r];
}

const char *tg_advice_at(const char *advice, const char *site, char *buf, size_t len)
{
	if (!site || !site[0] || !len)
		return advice;
	snprintf(buf, len, "`%s`: %s", site, advice);
	return buf;
}
