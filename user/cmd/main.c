// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tmpguard: dispatch to a subcommand; nothing else. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tmpguard.h"
#include "doctor.h"
#include "policy_cmd.h"
#include "query_cmd.h"
#include "report_cmd.h"
#include "session.h"

#define TG_EXIT_USAGE 2

static const char usage[] =
	"Usage: tmpguard COMMAND [OPTIONS]\n"
	"Find processes that create temporary files insecurely, live, with eBPF.\n"
	"\n"
	"Commands:\n"
	"  audit    watch the whole machine and report insecure temp-file creation\n"
	"  daemon   audit as a service, configured by a YAML file (systemd unit: packaging/)\n"
	"  run      run a command and report what it and its descendants do (CI gate)\n"
	"  query    search the event store written by audit --db\n"
	"  doctor   what this kernel offers and what tmpguard will use\n"
	"  policy   check FILE: validate a policy and print it as it will apply\n"
	"  report   a compliance report over stores and JSON-line files (md, html, json, sarif,\n"
	"           csv)\n"
	"  version  print the version\n"
	"\n"
	"Examples:\n"
	"  tmpguard audit\n"
	"  tmpguard audit --format json --output /var/log/tmpguard.json --duration 3600\n"
	"  tmpguard daemon --config /etc/tmpguard/tmpguard.yaml\n"
	"  tmpguard run --fail-on high -- make check\n"
	"  tmpguard audit --policy /etc/tmpguard/policy.yaml\n"
	"  tmpguard audit --db /var/lib/tmpguard/events.db\n"
	"  tmpguard query --db /var/lib/tmpguard/events.db --since 2h --severity high\n"
	"  tmpguard policy check policies/strict.yaml\n"
	"  tmpguard doctor\n"
	"  tmpguard report --db /var/lib/tmpguard/events.db --since 30d --format html -o r.html\n"
	"\n"
	"`tmpguard COMMAND --help` describes each command's options.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return TG_EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("tmpguard %s (ABI %d)\n", TG_VERSION, TG_ABI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "audit"))
		return cmd_audit(argc - 1, argv + 1);
	if (!strcmp(cmd, "daemon"))
		return cmd_daemon(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "query"))
		return cmd_query(argc - 1, argv + 1);
	if (!strcmp(cmd, "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	fprintf(stderr, "tmpguard: unknown command '%s'\n\n%s", cmd, usage);
	return TG_EXIT_USAGE;
}
