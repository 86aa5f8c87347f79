/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `--format falco`: tmpguard's records in the shape of Falco's JSON alerts, so that an existing
 * Falcosidekick (which accepts POSTs of Falco's json_output) can route findings to its outputs.
 * Pure: JSON in, JSON out.
 */
#ifndef TG_FALCO_H
#define TG_FALCO_H

#include <json-c/json.h>

/* Falco's priority for a tmpguard severity: critical -> "Critical", high -> "Error",
 * medium -> "Warning", low -> "Notice". NULL for anything else. */
const char *tg_falco_priority(const char *severity);

/*
 * The Falco-shaped event for one tmpguard record (a "finding", "loss", "session" or "summary"
 * object as JSON output prints it): {"output", "priority", "rule", "time", "source", "hostname",
 * "tags", "output_fields"}. Findings keep their severity (see tg_falco_priority); a loss is a
 * "tmpguard records lost" Warning; session and summary are Informational events (a summary that
 * reports lost records is a Warning). Returns a new object (caller puts it), or NULL when rec is
 * not a record of those types or lacks what Falcosidekick requires (a valid time, a severity).
 */
json_object *tg_falco_from_record(json_object *rec);

#endif
