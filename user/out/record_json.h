/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The JSON forms of the small records (core/record.h's typed forms). Pure. */
#ifndef TG_RECORD_JSON_H
#define TG_RECORD_JSON_H

#include <json-c/json.h>
#include "record.h"

/* The JSON forms of a loss and a health record (caller puts them). */
json_object *tg_loss_json(const struct tg_loss *l);
json_object *tg_health_json(const struct tg_health *h);

#endif
