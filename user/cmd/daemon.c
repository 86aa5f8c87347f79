// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard daemon`: audit's options from a configuration file, reloaded with the policy on
 * SIGHUP, and systemd's readiness protocol around audit's loop.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "forward.h"
#include "http_post.h"
#include "policy_cmd.h"
#include "policy_session.h"
#include "session.h"

struct daemon {
	const char *config_path;
	struct tg_daemon_config cfg; /* the configuration in force: the session points into it */
	struct tg_daemon_config
		*retired; /* earlier ones, kept for pointers the session still holds */
	size_t n_retired;
	int64_t watchdog_ns;	  /* WATCHDOG_USEC, 0 when systemd set no watchdog */
	int64_t watchdog_next_ns; /* when the next WATCHDOG=1 is due */
	bool watchdog_starved;	  /* pings stopped for an unhealthy producer (said once) */
};

/* systemd's readiness protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET, if set. */
void daemon_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		fprintf(stderr, "tmpguard: cannot notify the service manager: %s\n",
			strerror(errno));
	close(fd);
}

/*
 * The watchdog (WatchdogSec=): systemd passes WATCHDOG_USEC (and WATCHDOG_PID, which must be
 * ours). WATCHDOG=1 goes out at half of it, from the poll loop, only while the producer-health
 * canary passes: once the programs stop seeing tmpguard's canary create or records stop
 * flowing (health.c), the pings stop and systemd restarts the service, which attaches afresh.
 */
static void daemon_watchdog_init(struct daemon *d)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	d->watchdog_ns = 0;
	if (!usec || (pid && strtoll(pid, NULL, 10) != getpid()))
		return;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || !v || v > INT64_MAX / 1000)
		return;
	d->watchdog_ns = (int64_t)v * 1000;
	d->watchdog_next_ns = 0; /* the first ping at once */
}

void daemon_watchdog(struct session *s, struct daemon *d)
{
	int64_t now;

	if (!d->watchdog_ns)
		return;
	if (s->unhealthy) {
		if (!d->watchdog_starved)
			fprintf(stderr,
				"tmpguard: ERROR: producer unhealthy: no longer feeding "
				"systemd's "
				"watchdog, which will restart tmpguard within %" PRId64 " s\n",
				d->watchdog_ns / 1000000000);
		d->watchdog_starved = true;
		return;
	}
	d->watchdog_starved = false;
	now = tg_clock_ns(CLOCK_MONOTONIC);
	if (now < d->watchdog_next_ns)
		return;
	daemon_notify("WATCHDOG=1");
	d->watchdog_next_ns = now + d->watchdog_ns / 2;
}

/*
 * Journald priorities. When stderr is the journal's stream ($JOURNAL_STREAM names its device
 * and inode, sd_journal_stream_fd(3)), every line gets sd-daemon(3)'s "<N>" prefix, which
 * systemd's SyslogLevelPrefix=yes (the default) turns into the entry's priority. A line that
 * already starts with "<N>" keeps it; a WARNING is a warning, an ERROR an error, and so is
 * a message of tmpguard's (or libbpf's) that starts with one of the phrases errors of this
 * program start with ("cannot", "refusing", "failed", "out of memory", a refused reload, ...);
 * the rest is information. Every message of tmpguard goes through stderr, so they all get
 * one without each call site changing.
 */
#define LOG_LINE_MAX 4096
struct journal_stream {
	int fd;
	size_t len;
	char line[LOG_LINE_MAX];
};

static int journal_priority(const char *line, size_t len)
{
	static const char *const errors[] = {
		"cannot ",
		"refusing ",
		"failed ",
		"error",
		"out of memory",
		"no such ",
		"polling ",
		"policy reload refused",
		"configuration reload refused",
	};
	char text[LOG_LINE_MAX + 1];
	const char *body;

	memcpy(text, line, len);
	text[len] = 0;
	if (strstr(text, "WARNING"))
		return 4; /* LOG_WARNING */
	if (strstr(text, "ERROR"))
		return 3; /* LOG_ERR */
	/* "tmpguard: cannot ...", "tmpguard daemon: ...: failed ...", "libbpf: failed ..." */
	body = strstr(text, ": ");
	if (!body || (strncmp(text, "tmpguard", 8) && strncmp(text, "libbpf", 6)))
		return 6; /* LOG_INFO: continuation lines, summaries */
	body += 2;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (!strncmp(body, errors[i], strlen(errors[i])))
			return 3;
	return 6;
}

/* One whole line (or a cut one at LOG_LINE_MAX) to the journal, with its priority. */
static void journal_emit(struct journal_stream *j)
{
	char prefix[4] = "<6>";
	bool has = j->len >= 3 && j->line[0] == '<' && j->line[1] >= '0' && j->line[1] <= '7' &&
		   j->line[2] == '>';
	struct iovec iov[2];

	if (!has)
		prefix[1] = (char)('0' + journal_priority(j->line, j->len));
	iov[0] = (struct iovec){.iov_base = prefix, .iov_len = has ? 0 : 3};
	iov[1] = (struct iovec){.iov_base = j->line, .iov_len = j->len};
	if (writev(j->fd, iov, 2) < 0) {
		/* nowhere left to say it */
	}
	j->len = 0;
}

static ssize_t journal_write(void *cookie, const char *buf, size_t size)
{
	struct journal_stream *j = cookie;

	for (size_t i = 0; i < size; i++) {
		j->line[j->len++] = buf[i];
		if (buf[i] == '\n' || j->len == sizeof(j->line))
			journal_emit(j);
	}
	return (ssize_t)size;
}

static int journal_close(void *cookie)
{
	struct journal_stream *j = cookie;

	if (j->len) {
		j->line[j->len++] = '\n';
		journal_emit(j);
	}
	return 0;
}

static void daemon_journal_init(void)
{
	static struct journal_stream j;
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	FILE *f;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) ||
	    st.st_dev != dev || st.st_ino != ino)
		return;
	j.fd = STDERR_FILENO;
	f = fopencookie(&j, "w",
			(cookie_io_functions_t){.write = journal_write, .close = journal_close});
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0); /* every fprintf reaches journal_write at once */
	stderr = f;
}

/* Loads path into cfg and parses it into o as audit's options would be. Returns 0, or 2 with
 * the problem said on stderr. */
static int daemon_config(const char *path, struct tg_daemon_config *cfg, struct session_opts *o)
{
	struct tg_config_key keys[64];
	size_t nkeys = config_keys(keys, 64);
	char err[2048];
	struct stat st;

	if (tg_config_load(path, keys, nkeys, cfg, err, sizeof(err))) {
		fprintf(stderr, "tmpguard daemon: %s\n", err);
		if (errno == ENOENT && access(path, F_OK))
			fprintf(stderr, "tmpguard daemon: install one (an example is "
					"packaging/tmpguard.yaml) or pass --config FILE\n");
		return TG_EXIT_USAGE;
	}
	/* Whoever can write the configuration can turn auditing off: say so when not root. */
	if (stat(path, &st) == 0 && ((st.st_mode & 022) || st.st_uid != 0))
		fprintf(stderr,
			"tmpguard: WARNING: the configuration %s is writable by %s: whoever can "
			"write it can turn auditing off (chown root and chmod go-w it)\n",
			path, (st.st_mode & 022) ? "group or others" : "a user other than root");
	o->config_name = path;
	if (parse_opts(o, cfg->argc, cfg->argv, false, "tmpguard daemon",
		       ARGP_IN_ORDER | ARGP_NO_EXIT | ARGP_NO_HELP)) {
		cfg->argv[0] = NULL;
		return TG_EXIT_USAGE;
	}
	cfg->argv[0] = NULL; /* argp's name: not ours to free */
	return 0;
}

/* Whether key's line differs between two configurations' "key: value" texts. */
static bool config_line_changed(const char *a, const char *b, const char *key)
{
	char pat[96];
	const char *x, *y;
	size_t lx, ly;

	snprintf(pat, sizeof(pat), "\n%s: ", key);
	x = !strncmp(a, pat + 1, strlen(pat) - 1) ? a : strstr(a, pat);
	y = !strncmp(b, pat + 1, strlen(pat) - 1) ? b : strstr(b, pat);
	if (!x || !y)
		return !x != !y;
	x += *x == '\n';
	y += *y == '\n';
	lx = strcspn(x, "\n");
	ly = strcspn(y, "\n");
	return lx != ly || memcmp(x, y, lx);
}

/*
 * SIGHUP under the daemon: read the configuration again, then the policy it names. The
 * policy (and a new policy path) applies at once; other changes need a restart, and the log
 * says which. A configuration that does not load leaves everything as it was.
 */
void daemon_reload(struct session *s, struct daemon *d)
{
	struct session_opts tmp = SESSION_OPTS_DEFAULT;
	struct tg_config_key keys[64];
	size_t nkeys = config_keys(keys, 64);
	struct tg_daemon_config cfg, *r;
	char changed[512] = "";

	daemon_notify("RELOADING=1");
	reload_clear();
	if (daemon_config(d->config_path, &cfg, &tmp)) {
		s->reload_failures++;
		fprintf(stderr,
			"tmpguard: configuration reload refused, keeping the one in force\n");
		daemon_notify("READY=1");
		return;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (!strcmp(keys[i].name, "policy") ||
		    !config_line_changed(d->cfg.text, cfg.text, keys[i].name))
			continue;
		if (strlen(changed) + strlen(keys[i].name) + 3 < sizeof(changed))
			snprintf(changed + strlen(changed), sizeof(changed) - strlen(changed),
				 "%s%s", changed[0] ? ", " : "", keys[i].name);
	}
	if (changed[0])
		fprintf(stderr,
			"tmpguard: configuration changes to %s take effect at the next restart\n",
			changed);
	/* The session keeps pointers into the configuration it was started with. */
	r = realloc(d->retired, (d->n_retired + 1) * sizeof(*r));
	if (!r) {
		tg_config_free(&cfg);
		s->reload_failures++;
		daemon_notify("READY=1");
		return;
	}
	d->retired = r;
	d->retired[d->n_retired++] = d->cfg;
	d->cfg = cfg;
	s->opt.policy_path = tmp.policy_path;
	policy_reload(s);
	daemon_notify("READY=1");
}

/* --check of a secret file (forward-password-file, http-output-auth-file): read as the
 * start would read it, and forgotten. 0, or 2 with the key said. */
static int check_secret(const char *path, const char *key, const char *file, const char *what)
{
	char err[1024], *secret;

	if (!file)
		return 0;
	secret = tg_forward_read_secret(file, what, err, sizeof(err));
	if (!secret) {
		fprintf(stderr, "tmpguard daemon: %s: key %s: %s\n", path, key, err);
		return TG_EXIT_USAGE;
	}
	tg_forward_password_free(secret);
	return 0;
}

/* --check: the forward targets' URLs (parse_opts checked them), their secret files, the
 * configuration as read, then its policy's exceptions with their owners and expiry as `policy
 * check` shows them. Connects to nothing. 0, or 2 when a secret file or the policy fails. */
static int daemon_check(const char *path, const struct tg_daemon_config *cfg,
			const struct session_opts *o)
{
	char perr[1024], target[512];
	size_t n_expired, n_soon;
	struct tg_policy *pol;

	if (check_secret(path, "forward-password-file", o->forward_password_file,
			 "the password file") ||
	    check_secret(path, "http-output-auth-file", o->http_output_auth_file,
			 "the Authorization file"))
		return TG_EXIT_USAGE;
	pol = read_policy(o->policy_path, perr, sizeof(perr));
	if (!pol) {
		fprintf(stderr, "tmpguard daemon: %s\n", perr);
		return TG_EXIT_USAGE;
	}
	printf("# %s: valid\n%s", path, cfg->text);
	/* Checked when parsed; said here with the names the forward state will use. */
	if (o->forward_url &&
	    !tg_forward_target(o->forward_url, target, sizeof(target), perr, sizeof(perr)))
		printf("# forward: %s (URL checked, not connected to)\n", target);
	if (o->http_output_url &&
	    !tg_http_target(o->http_output_url, target, sizeof(target), perr, sizeof(perr)))
		printf("# http-output: %s (URL checked, not connected to)\n", target);
	policy_print_exceptions(pol, &n_expired, &n_soon);
	printf("# policy %s: valid, %zu exceptions", pol->source, pol->n_exceptions);
	policy_print_expiry_counts(n_expired, n_soon);
	printf("\n");
	tg_policy_free(pol);
	return 0;
}

static const char daemon_doc[] =
	"Audit the whole machine as a service: the options come from a YAML configuration file "
	"whose keys are `tmpguard audit`'s long options (format: json, output: FILE, policy: "
	"FILE, ...; true/false for options without a value). SIGHUP reloads the configuration "
	"and the policy; SIGTERM drains the ring buffer, writes the summary and exits 0. Under "
	"systemd (Type=notify) readiness is reported once the programs are attached.\v"
	"Examples:\n"
	"  tmpguard daemon --config /etc/tmpguard/tmpguard.yaml\n"
	"  tmpguard daemon --config packaging/tmpguard.yaml --check";

struct daemon_args {
	const char *config;
	bool check;
};

static error_t parse_daemon(int key, char *arg, struct argp_state *state)
{
	struct daemon_args *a = state->input;

	switch (key) {
	case 'c':
		a->config = arg;
		break;
	case 'k':
		a->check = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{"config", 'c', "FILE", 0, "configuration file (/etc/tmpguard/tmpguard.yaml)", 0},
		{"check", 'k', NULL, 0,
		 "check the configuration and its policy, print them (each exception with its "
		 "owner "
		 "and expiry, expired ones warned about), exit",
		 0},
		{},
	};
	struct argp argp = {.options = opts,
			    .parser = parse_daemon,
			    .doc = daemon_doc,
			    .children = tg_cli_children};
	struct daemon_args a = {.config = "/etc/tmpguard/tmpguard.yaml"};
	struct session s = {.opt = SESSION_OPTS_DEFAULT};
	struct daemon d = {0};
	int err;

	argv[0] = "tmpguard daemon";
	daemon_journal_init();
	daemon_watchdog_init(&d);
	argp_err_exit_status = TG_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TG_EXIT_USAGE;
	d.config_path = a.config;
	err = daemon_config(a.config, &d.cfg, &s.opt);
	if (!err && a.check) {
		err = daemon_check(a.config, &d.cfg, &s.opt);
	} else if (!err) {
		err = audit_loop(&s, &d);
	}
	tg_config_free(&d.cfg);
	for (size_t i = 0; i < d.n_retired; i++)
		tg_config_free(&d.retired[i]);
	free(d.retired);
	return err;
}
