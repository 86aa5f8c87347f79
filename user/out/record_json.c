// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON forms of the small records. */
#include <string.h>
#include "record_json.h"
#include "util/json_util.h"
#include "util/timefmt.h"

static json_object *time_json(int64_t real_ns)
{
	char t[64];

	tg_format_time(real_ns, t, sizeof(t));
	return json_object_new_string(t);
}

/* type, schema version, time and host: how every record starts. */
static json_object *record_json(enum tg_record_kind kind, int64_t time_ns, const char *host)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(tg_record_kind_name(kind)));
	json_object_object_add(o, "schema_version", json_object_new_int(TG_RECORD_SCHEMA_VERSION));
	json_object_object_add(o, "time", time_json(time_ns));
	json_object_object_add(o, "host", tg_json_bytes(host, strlen(host), NULL));
	return o;
}

json_object *tg_loss_json(const struct tg_loss *l)
{
	json_object *o = record_json(TG_RECORD_LOSS, l->time_ns, l->host);

	json_object_object_add(o, "from", time_json(l->from_ns));
	json_object_object_add(o, "to", time_json(l->to_ns));
	json_object_object_add(o, "lost", json_object_new_int64((int64_t)l->lost));
	json_object_object_add(o, "lost_total", json_object_new_int64((int64_t)l->lost_total));
	return o;
}

json_object *tg_health_json(const struct tg_health *h)
{
	json_object *o = record_json(TG_RECORD_HEALTH, h->time_ns, h->host);

	json_object_object_add(o, "status", json_object_new_string(h->status));
	json_object_object_add(o, "reason", json_object_new_string(h->reason));
	return o;
}
