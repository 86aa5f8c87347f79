// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What every output and the store read the same way from a finding. */
#include "finding.h"

int64_t tg_report_time_ns(const struct tg_report *r)
{
	return (int64_t)(r->e->ts_ns + (uint64_t)r->boot_to_real_ns);
}

const char *tg_action_taken_name(uint32_t action)
{
	switch (action) {
	case TG_ACT_DENIED:
		return "denied";
	case TG_ACT_KILLED:
		return "killed";
	case TG_ACT_WOULD_DENY:
		return "would-deny";
	default:
		return "alert";
	}
}
