// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* RFC 3339 times, and the --since/--until arguments: relative durations, times and dates. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "timefmt.h"

#define NSEC 1000000000LL

int64_t tg_clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

/* The time to the second, then the fraction (all nine digits, or none when short and zero). */
static void format_time(int64_t real_ns, char *buf, size_t len, bool short_form)
{
	time_t sec = real_ns / NSEC;
	long nsec = real_ns % NSEC;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (short_form && !nsec)
		snprintf(buf + n, len - n, "Z");
	else
		snprintf(buf + n, len - n, ".%09ldZ", nsec);
}

void tg_format_time(int64_t real_ns, char *buf, size_t len)
{
	format_time(real_ns, buf, len, false);
}

void tg_format_time_short(int64_t real_ns, char *buf, size_t len)
{
	format_time(real_ns, buf, len, true);
}

/* sec * NSEC + ns, or -1 when int64 nanoseconds cannot hold it (a 4-digit year can reach 9999,
 * they end in 2262). */
static int to_ns(int64_t sec, int64_t ns, int64_t *out_ns)
{
	int64_t v;

	if (__builtin_mul_overflow(sec, NSEC, &v) || __builtin_add_overflow(v, ns, &v))
		return -1;
	*out_ns = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly n digits at *p into *out; advances *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* "YYYY-MM-DD" at *p; advances *p. */
static int parse_date(const char **p, int64_t *days)
{
	int y, m, d;

	if (digits(p, 4, &y) || *(*p)++ != '-' || digits(p, 2, &m) || *(*p)++ != '-' ||
	    digits(p, 2, &d))
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int tg_parse_rfc3339(const char *s, int64_t *out_ns)
{
	const char *p = s;
	int64_t days, ns = 0, off = 0;
	int hh, mm, ss;

	if (parse_date(&p, &days) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mm) || *p++ != ':' ||
	    digits(&p, 2, &ss) || hh > 23 || mm > 59 || ss > 60)
		return -1;
	if (*p == '.') {
		int64_t scale = NSEC / 10;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ns += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = sign * ((int64_t)oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	return to_ns((days * 86400 + hh * 3600 + mm * 60 + ss) - off, ns, out_ns);
}

int tg_parse_date(const char *s, int64_t *out_ns)
{
	const char *p = s;
	int64_t days;

	if (!s || parse_date(&p, &days) || *p)
		return -1;
	return to_ns(days * 86400, 0, out_ns);
}

int tg_parse_time_arg(const char *s, int64_t now_ns, int64_t *out_ns)
{
	static const struct {
		char unit;
		int64_t sec;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)s[0]) && strlen(s) == 10 && s[4] == '-')
		return tg_parse_date(s, out_ns);
	if (strlen(s) > 10 && s[4] == '-')
		return tg_parse_rfc3339(s, out_ns);
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || !end[0] || end[1])
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].unit != end[0])
			continue;
		if (v > LLONG_MAX / NSEC / units[i].sec)
			return -1;
		*out_ns = now_ns - v * units[i].sec * NSEC;
		return 0;
	}
	return -1;
}
