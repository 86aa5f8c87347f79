// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats) under Prometheus' naming conventions (prometheus.io/docs/practices/
 * naming): prefix tmpguard_, base units in the name (seconds, bytes), counters end in _total.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "metrics_text.h"
#include "util/escape.h"

enum fam_type { COUNTER, GAUGE };

/* The family being written: its samples repeat its full name. */
struct fam {
	FILE *out;
	char name[128];
};

/* Backslash and newline always; the double quote inside label values only. */
static void put_escaped(FILE *out, const char *s, bool label)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (label && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* Prometheus refuses a scrape with a label value that is not UTF-8: bad bytes go out in the
 * lossless \xNN text form that JSON output uses too. */
static void put_label_value(FILE *out, const char *v)
{
	size_t n = strlen(v);
	char *buf;
	bool escaped;

	if (tg_utf8_valid(v, n)) {
		put_escaped(out, v, true);
		return;
	}
	buf = malloc(4 * n + 1); /* at worst every byte becomes \xNN */
	if (!buf) {
		fputs("?", out);
		return;
	}
	tg_escape_json_bytes(v, n, buf, 4 * n + 1, &escaped);
	put_escaped(out, buf, true);
	free(buf);
}

/* # HELP and # TYPE; a counter's name gets its _total here, so no caller can forget it. */
static void fam_begin(struct fam *f, FILE *out, const char *base, enum fam_type t, const char *help)
{
	f->out = out;
	snprintf(f->name, sizeof(f->name), "%s%s", base, t == COUNTER ? "_total" : "");
	fprintf(out, "# HELP %s ", f->name);
	put_escaped(out, help, false);
	fprintf(out, "\n# TYPE %s %s\n", f->name, t == COUNTER ? "counter" : "gauge");
}

/* labels: name, value, name, value, ..., NULL; or NULL for none. */
static void put_name_labels(struct fam *f, const char *const *labels)
{
	fputs(f->name, f->out);
	if (!labels || !labels[0])
		return;
	fputc('{', f->out);
	for (int i = 0; labels[i]; i += 2) {
		fprintf(f->out, "%s%s=\"", i ? "," : "", labels[i]);
		put_label_value(f->out, labels[i + 1] ? labels[i + 1] : "");
		fputc('"', f->out);
	}
	fputc('}', f->out);
}

static void put_u64(struct fam *f, const char *const *labels, uint64_t v)
{
	put_name_labels(f, labels);
	fprintf(f->out, " %" PRIu64 "\n", v);
}

/* Nanoseconds as seconds, written digit for digit from the integer: no rounding and no
 * locale's decimal comma on the way. */
static void put_seconds(struct fam *f, const char *const *labels, uint64_t ns)
{
	put_name_labels(f, labels);
	fprintf(f->out, " %" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000, ns % 1000000000);
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* --forward: how far the fleet store is behind, what reached it, what never will. */
static void render_forward(const struct tg_metrics_user *u, FILE *out)
{
	static const char *const streams[TG_METRICS_FWD_STREAMS] = {"sessions", "findings",
								    "losses", "health", "gaps"};
	struct fam f;

	if (!u->forward_on)
		return;
	fam_begin(&f, out, "tmpguard_forward_up", GAUGE,
		  "1 while the forwarder's last attempt to reach the fleet store (--forward) "
		  "worked, 0 while it is failing and rows wait in the local store.");
	put_u64(&f, NULL, u->forward_up);
	fam_begin(&f, out, "tmpguard_forward_backlog_rows", GAUGE,
		  "Rows of the local store the fleet store does not have yet: findings, losses, "
		  "health records and forward gaps.");
	put_u64(&f, NULL, u->forward_backlog);
	fam_begin(&f, out, "tmpguard_forward_lag_seconds", GAUGE,
		  "Age (event time) of the oldest row not forwarded yet; 0 when none waits.");
	put_seconds(&f, NULL, u->forward_lag_ns > 0 ? (uint64_t)u->forward_lag_ns : 0);
	fam_begin(&f, out, "tmpguard_forward_rows", COUNTER,
		  "Rows committed in the fleet store, by stream (a session is sent again when it "
		  "changes).");
	for (int i = 0; i < TG_METRICS_FWD_STREAMS; i++)
		put_u64(&f, (const char *const[]){"stream", streams[i], NULL}, u->forward_rows[i]);
	fam_begin(&f, out, "tmpguard_forward_rows_duplicate", COUNTER,
		  "Rows sent again that the fleet store already had (a retry after a commit whose "
		  "answer was lost): kept once.");
	put_u64(&f, NULL, u->forward_duplicates);
	fam_begin(&f, out, "tmpguard_forward_batches", COUNTER,
		  "Batches the fleet store committed.");
	put_u64(&f, NULL, u->forward_batches);
	fam_begin(&f, out, "tmpguard_forward_errors", COUNTER,
		  "Failed attempts to connect to the fleet store or to commit a batch there.");
	put_u64(&f, NULL, u->forward_errors);
	fam_begin(&f, out, "tmpguard_forward_outages", COUNTER,
		  "Times forwarding started failing (each logged once, and again at recovery).");
	put_u64(&f, NULL, u->forward_outages);
	fam_begin(&f, out, "tmpguard_forward_refused_rows", COUNTER,
		  "Rows the fleet store refused for what they hold (a constraint or trigger there, "
		  "SQLSTATE class 22 or 23): passed over, kept locally in forward_refused.");
	put_u64(&f, NULL, u->forward_refused_rows);
	fam_begin(&f, out, "tmpguard_forward_gap_rows", COUNTER,
		  "Findings the local store's size limit evicted before the fleet store had them: "
		  "lost to the fleet, each recorded in a forward gap.");
	put_u64(&f, NULL, u->forward_gap_rows);
	fam_begin(&f, out, "tmpguard_forward_gaps", COUNTER,
		  "Forward gaps recorded (from/to and count of the findings evicted unforwarded).");
	put_u64(&f, NULL, u->forward_gaps);
}

/* --http-output: the same questions for the event router. */
static void render_http(const struct tg_metrics_http *h, FILE *out)
{
	/* enum tg_fwd_stream's findings, losses and health: 1, 2, 3 */
	static const char *const streams[] = {"findings", "losses", "health"};
	struct fam f;

	if (!h->on)
		return;
	fam_begin(&f, out, "tmpguard_http_output_up", GAUGE,
		  "1 while the last post to the event router (--http-output) was taken, 0 while "
		  "posts fail and rows wait in the local store.");
	put_u64(&f, NULL, h->up);
	fam_begin(&f, out, "tmpguard_http_output_backlog_rows", GAUGE,
		  "Findings, losses and health records of the local store not posted yet.");
	put_u64(&f, NULL, h->backlog);
	fam_begin(&f, out, "tmpguard_http_output_lag_seconds", GAUGE,
		  "Age (event time) of the oldest row not posted yet; 0 when none waits.");
	put_seconds(&f, NULL, h->lag_ns > 0 ? (uint64_t)h->lag_ns : 0);
	fam_begin(&f, out, "tmpguard_http_output_rows", COUNTER,
		  "Rows posted and taken (2xx), one Falco event a post, by stream.");
	for (int i = 0; i < 3; i++)
		put_u64(&f, (const char *const[]){"stream", streams[i], NULL}, h->rows[i + 1]);
	fam_begin(&f, out, "tmpguard_http_output_errors", COUNTER,
		  "Failed posts (no answer, or an answer other than 2xx).");
	put_u64(&f, NULL, h->errors);
	fam_begin(&f, out, "tmpguard_http_output_refused", COUNTER,
		  "Posts the receiver refused (3xx, or 4xx but 408 and 429): the row waits.");
	put_u64(&f, NULL, h->refused);
	fam_begin(&f, out, "tmpguard_http_output_outages", COUNTER,
		  "Times posting started failing (each logged once, and again at recovery).");
	put_u64(&f, NULL, h->outages);
	fam_begin(&f, out, "tmpguard_http_output_skipped", COUNTER,
		  "Rows stored before an HTTP target was known, without a Falco form: not "
		  "posted.");
	put_u64(&f, NULL, h->skipped);
	fam_begin(&f, out, "tmpguard_http_output_gap_rows", COUNTER,
		  "Findings the local store's size limit evicted before every target had them, "
		  "each recorded in a forward gap.");
	put_u64(&f, NULL, h->gap_rows);
	fam_begin(&f, out, "tmpguard_http_output_gaps", COUNTER,
		  "Forward gaps recorded for those findings.");
	put_u64(&f, NULL, h->gaps);
}

static void render_user(const struct tg_metrics_user *u, FILE *out)
{
	struct fam f;

	fam_begin(&f, out, "tmpguard_info", GAUGE,
		  "Always 1; the labels say which tmpguard this is and how it runs.");
	put_u64(&f,
		(const char *const[]){"version", str(u->version), "enforcement",
				      str(u->enforcement), "scope", str(u->scope), NULL},
		1);
	fam_begin(&f, out, "tmpguard_start_time_seconds", GAUGE,
		  "When tmpguard started, in seconds since the Unix epoch.");
	put_seconds(&f, NULL, u->start_time_ns > 0 ? (uint64_t)u->start_time_ns : 0);
	fam_begin(&f, out, "tmpguard_ringbuf_size_bytes", GAUGE,
		  "Size of the BPF ring buffer that carries records to tmpguard (--ringbuf-size).");
	put_u64(&f, NULL, u->ringbuf_bytes);

	fam_begin(&f, out, "tmpguard_findings", COUNTER,
		  "Findings that passed the policy's exceptions, by rule and severity, including "
		  "the repeats the rate limit did not print.");
	for (int r = 0; r < TG_RULE_MAX; r++)
		for (int sev = 0; sev < TG_METRICS_NR_SEV; sev++)
			put_u64(&f,
				(const char *const[]){"rule", tg_rule_id(r), "severity",
						      tg_severity_name(sev), NULL},
				u->findings[r][sev]);
	fam_begin(&f, out, "tmpguard_findings_excepted", COUNTER,
		  "Findings hidden by the policy's exceptions in user space (those applied in "
		  "the kernel are tmpguard_events_excepted_in_kernel_total).");
	put_u64(&f, NULL, u->findings_excepted);
	fam_begin(&f, out, "tmpguard_findings_repeats_not_printed", COUNTER,
		  "Repeats of a (process, rule, path pattern) past the policy's rate limit: "
		  "counted in tmpguard_findings_total, not printed.");
	put_u64(&f, NULL, u->repeats_not_printed);
	fam_begin(&f, out, "tmpguard_findings_over_budget", COUNTER,
		  "Findings past a user's or the host's budget (rate_limit.per_user_per_minute, "
		  "per_host_per_minute): a flood; counted in tmpguard_findings_total, not "
		  "printed.");
	put_u64(&f, NULL, u->over_budget);

	fam_begin(&f, out, "tmpguard_records_received", COUNTER,
		  "Records user space read from the ring buffer.");
	put_u64(&f, NULL, u->received);
	fam_begin(&f, out, "tmpguard_records_unresolved", COUNTER,
		  "Records whose requested directory user space could not resolve (the process "
		  "or its mount namespace was gone): opens are judged by the holding directory "
		  "the kernel saw, mkdirs are dropped.");
	put_u64(&f, NULL, u->unresolved);
	fam_begin(&f, out, "tmpguard_records_malformed", COUNTER,
		  "Records dropped because they did not decode.");
	put_u64(&f, NULL, u->malformed);

	fam_begin(&f, out, "tmpguard_policy_reloads", COUNTER,
		  "Policy reloads (SIGHUP) that took effect.");
	put_u64(&f, NULL, u->reloads);
	fam_begin(&f, out, "tmpguard_policy_reloads_refused", COUNTER,
		  "Policy reloads refused (the file did not load): the previous policy stayed.");
	put_u64(&f, NULL, u->reloads_refused);

	render_forward(u, out);
	render_http(&u->http, out);
	if (!u->health_checked)
		return;
	fam_begin(&f, out, "tmpguard_producer_healthy", GAUGE,
		  "1 while the BPF programs see tmpguard's canary create and records flow, 0 when "
		  "they are detached, not running, or the ring buffer is stalled.");
	put_u64(&f, NULL, u->producer_healthy);
	fam_begin(&f, out, "tmpguard_producer_unhealthy", COUNTER,
		  "Times the producer became unhealthy (a health record and a warning each).");
	put_u64(&f, NULL, u->health_alerts);
}

static void render_kernel(const struct tg_metrics_snapshot *s, FILE *out)
{
	static const char *const kinds[] = {"create", "enoent_probe", "loose_mkdir"};
	static const int kind_stat[] = {TG_STAT_CREATE_SEEN, TG_STAT_PROBE_ENOENT,
					TG_STAT_MKDIR_SEEN};
	static const struct {
		const char *action;
		int stat;
	} actions[] = {
		{"denied", TG_STAT_DENIED},
		{"killed", TG_STAT_KILLED},
		{"would-deny", TG_STAT_WOULD_DENY},
	};
	struct fam f;

	fam_begin(&f, out, "tmpguard_events_seen", COUNTER,
		  "Candidate events the BPF programs saw: O_CREAT opens that returned a file, "
		  "stat/access probes that failed with ENOENT, mkdirs, mknods and AF_UNIX "
		  "binds with a loose mode (loose_mkdir).");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		put_u64(&f, (const char *const[]){"kind", kinds[i], NULL}, s->kstat[kind_stat[i]]);
	fam_begin(&f, out, "tmpguard_events_excepted_in_kernel", COUNTER,
		  "Candidate events the policy's exceptions dropped in the kernel, unsent.");
	put_u64(&f, NULL, s->kstat[TG_STAT_EXCEPTED]);
	fam_begin(&f, out, "tmpguard_records_sent", COUNTER,
		  "Records the BPF programs committed to the ring buffer.");
	put_u64(&f, NULL, s->kstat[TG_STAT_SENT]);
	fam_begin(&f, out, "tmpguard_records_lost", COUNTER,
		  "Records lost because the ring buffer was full: findings were missed "
		  "(raise --ringbuf-size).");
	put_u64(&f, NULL, s->kstat[TG_STAT_LOST]);
	fam_begin(&f, out, "tmpguard_call_sites_lost", COUNTER,
		  "Findings sent without their call site (--call-sites): not_sent, the kernel "
		  "skipped or could not send the stack or the Python frames (a burst: a quarter "
		  "of the ring unread); unmatched, the capture did not reach its event. The "
		  "summary's call_sites_lost is their sum.");
	put_u64(&f, (const char *const[]){"reason", "not_sent", NULL},
		s->kstat[TG_STAT_STACK_LOST] + s->kstat[TG_STAT_PY_LOST]);
	put_u64(&f, (const char *const[]){"reason", "unmatched", NULL}, s->user.captures_unmatched);
	fam_begin(&f, out, "tmpguard_call_sites_reused", COUNTER,
		  "Findings whose stack the kernel did not copy again: the same thread, registers "
		  "and stack words as one already resolved, sent as a reference to its call site "
		  "(--call-sites).");
	put_u64(&f, NULL, s->kstat[TG_STAT_STACK_REF]);
	fam_begin(&f, out, "tmpguard_forks_untracked", COUNTER,
		  "Forks in the audited process tree (run, --pid) that were not followed because "
		  "the tracking map was full: those processes were not audited.");
	put_u64(&f, NULL, s->kstat[TG_STAT_TRACK_FULL]);
	fam_begin(&f, out, "tmpguard_enforcement_actions", COUNTER,
		  "Enforcement decisions: operations the BPF LSM denied, processes killed, "
		  "dry-run would-deny decisions.");
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		put_u64(&f, (const char *const[]){"action", actions[i].action, NULL},
			s->kstat[actions[i].stat]);
}

static void render_programs(const struct tg_metrics_snapshot *s, FILE *out)
{
	size_t n = s->n_progs < TG_METRICS_MAX_PROGS ? s->n_progs : TG_METRICS_MAX_PROGS;
	struct fam f;

	fam_begin(&f, out, "tmpguard_bpf_run_time_stats_enabled", GAUGE,
		  "1 while the kernel measures BPF program run time (kernel.bpf_stats_enabled=1, "
		  "or tmpguard --bpf-stats); tmpguard_bpf_program_run* only grow then.");
	put_u64(&f, NULL, s->run_time_stats);
	if (!n)
		return;
	fam_begin(&f, out, "tmpguard_bpf_program_run_seconds", COUNTER,
		  "Time the kernel spent running each attached BPF program (run_time_ns), "
		  "while run-time statistics were on.");
	for (size_t i = 0; i < n; i++)
		put_seconds(&f,
			    (const char *const[]){"program", str(s->progs[i].name), "hook",
						  str(s->progs[i].hook), NULL},
			    s->progs[i].run_time_ns);
	fam_begin(&f, out, "tmpguard_bpf_program_runs", COUNTER,
		  "Runs of each attached BPF program (run_cnt), while run-time statistics "
		  "were on.");
	for (size_t i = 0; i < n; i++)
		put_u64(&f,
			(const char *const[]){"program", str(s->progs[i].name), "hook",
					      str(s->progs[i].hook), NULL},
			s->progs[i].run_cnt);
}

int tg_metrics_render(const struct tg_metrics_snapshot *s, FILE *out)
{
	render_user(&s->user, out);
	if (s->have_kernel)
		render_kernel(s, out);
	render_programs(s, out);
	return ferror(out) ? -EIO : 0;
}

int tg_metrics_parse_addr(const char *s, struct tg_metrics_addr *a, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *port, *end;
	size_t hl, pl;
	unsigned long p;
	bool v6 = s[0] == '[';

	memset(a, 0, sizeof(*a));
	if (v6) {
		end = strchr(s, ']');
		if (!end || end[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPv6-ADDRESS]:PORT, as [::1]:9464",
				 s);
			return -1;
		}
		h = s + 1;
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end) {
			snprintf(err, errlen,
				 "'%s': expected ADDRESS:PORT, as 127.0.0.1:9464 or [::1]:9464", s);
			return -1;
		}
		if (memchr(s, ':', end - s)) {
			snprintf(err, errlen,
				 "'%s': an IPv6 address goes in brackets, as [::1]:9464", s);
			return -1;
		}
		h = s;
		port = end + 1;
	}
	hl = end - h;
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "'%s': %s address", s, hl ? "an overlong" : "a missing");
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = 0;

	pl = strlen(port);
	p = pl && pl <= 5 && strspn(port, "0123456789") == pl ? strtoul(port, NULL, 10) : 0;
	if (p < 1 || p > 65535) {
		snprintf(err, errlen, "'%s': the port must be a number from 1 to 65535", s);
		return -1;
	}

	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen,
				 "'%s': '%s' is not an IPv6 address (zone ids are not "
				 "supported)",
				 s, host);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		a->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen,
				 "'%s': '%s' is not an IPv4 address (give the address to bind, not "
				 "a host name)",
				 s, host);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		a->len = sizeof(*sin);
	}
	return 0;
}
