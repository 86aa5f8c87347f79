// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `tmpguard daemon`: audit's options from a configuration file, reloaded with the policy on
 * SIGHUP, and systemd's readiness protocol around audit's loop.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "policy_cmd.h"
#include "policy_session.h"
#include "session.h"

struct daemon {
	const char *config_path;
	struct tg_daemon_config cfg; /* the configuration in force: the session points into it */
	struct tg_daemon_config
		*retired; /* earlier ones, kept for pointers the session still holds */
	size_t n_retired;
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

/* --check: the configuration as read, then its policy's exceptions with their owners and
 * expiry as `policy check` shows them. 0, or 2 when the policy does not load. */
static int daemon_check(const char *path, const struct tg_daemon_config *cfg,
			const struct session_opts *o)
{
	size_t n_expired, n_soon;
	struct tg_policy *pol;
	char perr[1024];

	pol = read_policy(o->policy_path, perr, sizeof(perr));
	if (!pol) {
		fprintf(stderr, "tmpguard daemon: %s\n", perr);
		return TG_EXIT_USAGE;
	}
	printf("# %s: valid\n%s", path, cfg->text);
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
