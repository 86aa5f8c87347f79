// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Record kinds by name. */
#include "record.h"

const char *tg_record_kind_name(enum tg_record_kind kind)
{
	static const char *const names[] = {
		[TG_RECORD_FINDING] = "finding", [TG_RECORD_SESSION] = "session",
		[TG_RECORD_LOSS] = "loss",	 [TG_RECORD_HEALTH] = "health",
		[TG_RECORD_SUMMARY] = "summary",
	};

	return (unsigned int)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}
