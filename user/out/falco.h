/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `--format falco`: tmpguard's records in the shape of Falco's JSON alerts, so that an existing
 * Falcosidekick (which accepts POSTs of Falco's json_output) can route findings to its outputs.
 * Pure: typed records in (record.h), JSON out. Every string the event repeats from a record is
 * written as that record's JSON form holds it (tg_json_bytes).
 */
#ifndef TG_FALCO_H
#define TG_FALCO_H

#include <json-c/json.h>
#include "output.h"
#include "record.h"

/* Falco's priority for a tmpguard severity: critical -> "Critical", high -> "Error",
 * medium -> "Warning", low -> "Notice". NULL for anything else. */
const char *tg_falco_priority(const char *severity);

/*
 * The Falco-shaped event of one record: {"output", "priority", "rule", "time", "source",
 * "hostname", "tags", "output_fields"}. Findings keep their severity (see tg_falco_priority); a
 * loss is a "tmpguard records lost" Warning; session and summary are Informational events (a
 * summary that reports lost records is a Warning); a health record is "tmpguard producer
 * unhealthy" (Error) or "tmpguard producer recovered" (Notice). Each returns a new object (caller
 * puts it), or NULL when the record lacks what Falcosidekick requires (a time after the epoch, a
 * severity it can express).
 */
json_object *tg_falco_finding(const struct tg_report *r);
json_object *tg_falco_session(const struct tg_session_info *s);
json_object *tg_falco_loss(const struct tg_loss *l);
json_object *tg_falco_summary(const struct tg_summary *s);
json_object *tg_falco_health(const struct tg_health *h);
/* By rec's kind; NULL for unknown kinds. */
json_object *tg_falco_record(const struct tg_record *rec);

#endif
