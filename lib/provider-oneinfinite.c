/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OneInfinite (seed 000): {"id","event_type","entity_type","entity_id"}; the
 * provider's current docs also show {"id","event_type","payment_order_id"}
 * and {"id","event_type","recurrent_payment_id"}. "id" is unique per webhook.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"

static const struct ph_route oneinfinite_routes[] = {
	{ "payment_order", "/v1/payment_orders/" },
	{ "recurrent_payment", "/v1/recurrent_payments/" },
	{ NULL, NULL },
};

/*
 * Statuses (seed 000: the payment order and recurrent payment status
 * tables of OneInfinite's docs).
 */
static const struct ph_status_row oneinfinite_statuses[] = {
	{ "payment_order", "status", "OPENED", PH_CLASS_PROGRESS },
	{ "payment_order", "status", "CLOSED", PH_CLASS_SETTLED },
	{ "payment_order", "status", "EXPIRED", PH_CLASS_FINAL },
	{ "payment_order", "status", "REJECTED", PH_CLASS_FINAL },
	{ "payment_order", "status", "REFUNDED", PH_CLASS_FINAL },

	{ "recurrent_payment", "status", "PENDING", PH_CLASS_PROGRESS },
	{ "recurrent_payment", "status", "TRIALING", PH_CLASS_PROGRESS },
	{ "recurrent_payment", "status", "INCOMPLETE", PH_CLASS_PROGRESS },
	{ "recurrent_payment", "status", "UNPAID", PH_CLASS_PROGRESS },
	{ "recurrent_payment", "status", "ACTIVE", PH_CLASS_ONGOING },
	{ "recurrent_payment", "status", "CANCELED", PH_CLASS_FINAL },
	{ "recurrent_payment", "status", "COMPLETE", PH_CLASS_FINAL },
	{ "recurrent_payment", "status", "EXPIRED", PH_CLASS_FINAL },
	{ "recurrent_payment", "status", "REJECTED", PH_CLASS_FINAL },
	{ NULL, NULL, NULL, PH_CLASS_PROGRESS },
};

/* Lower-case an entity type name ("PAYMENT_ORDER") into out; -1 if not a type. */
static int
oneinfinite_type(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (len == 0 || len >= outlen)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return ph_type_valid(out, len) ? 0 : -1;
}

/* Decode and validate a OneInfinite notification. */
static int
oneinfinite_decode(struct json_object *root, struct ph_notification *n, char *err, size_t errlen)
{
	static const struct {
		const char *field;
		const char *type;
	} id_fields[] = {
		{ "payment_order_id", "payment_order" },
		{ "recurrent_payment_id", "recurrent_payment" },
	};
	struct ph_entity *e = &n->entities[0];
	const char *s, *dot;
	size_t len, i;
	int r;

	r = provider_json_string(root, "id", &s, &len);
	if (r <= 0) {
		snprintf(err, errlen, r == 0 ? "missing field: id" : "id is not a string");
		return -1;
	}
	if (!ph_id_valid(s, len)) {
		snprintf(err, errlen, "id is not a valid id ([A-Za-z0-9_-], 1..128)");
		return -1;
	}
	memcpy(n->id, s, len + 1);

	r = provider_json_string(root, "event_type", &s, &len);
	if (r <= 0) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: event_type" : "event_type is not a string");
		return -1;
	}
	if (!ph_event_valid(s, len)) {
		snprintf(err, errlen, "event_type is not valid ([A-Za-z0-9_.-], 1..64)");
		return -1;
	}
	memcpy(n->event, s, len + 1);

	r = provider_json_string(root, "entity_id", &s, &len);
	if (r < 0) {
		snprintf(err, errlen, "entity_id is not a string");
		return -1;
	}
	if (r > 0) {
		if (!ph_id_valid(s, len)) {
			snprintf(err, errlen, "entity_id is not a valid id");
			return -1;
		}
		memcpy(e->id, s, len + 1);
		/* Type from entity_type, else from the event_type prefix. */
		r = provider_json_string(root, "entity_type", &s, &len);
		if (r < 0) {
			snprintf(err, errlen, "entity_type is not a string");
			return -1;
		}
		if (r == 0) {
			s = n->event;
			dot = strchr(s, '.');
			if (dot == NULL) {
				snprintf(err, errlen, "missing field: entity_type");
				return -1;
			}
			len = (size_t)(dot - s);
		}
		if (oneinfinite_type(s, len, e->type, sizeof e->type) != 0) {
			snprintf(err, errlen, "entity_type is not valid ([A-Za-z0-9_], 1..32)");
			return -1;
		}
		n->nentities = 1;
		return 0;
	}

	for (i = 0; i < sizeof id_fields / sizeof id_fields[0]; i++) {
		r = provider_json_string(root, id_fields[i].field, &s, &len);
		if (r == 0)
			continue;
		if (r < 0 || !ph_id_valid(s, len)) {
			snprintf(err, errlen, "%s is not a valid id", id_fields[i].field);
			return -1;
		}
		memcpy(e->id, s, len + 1);
		snprintf(e->type, sizeof e->type, "%s", id_fields[i].type);
		n->nentities = 1;
		return 0;
	}
	snprintf(err, errlen,
	    "missing field: entity_id (or payment_order_id, "
	    "recurrent_payment_id)");
	return -1;
}

/* Credentials: x-api-key and x-api-secret. */
static int
oneinfinite_auth_headers(const struct ph_provider_cfg *cfg, struct ph_headers *h)
{
	if (cfg->key_id == NULL || cfg->secret == NULL)
		return -1;
	h->n = 2;
	if (snprintf(h->line[0], PH_HEADER_LEN, "x-api-key: %s", cfg->key_id) >= PH_HEADER_LEN ||
	    snprintf(h->line[1], PH_HEADER_LEN, "x-api-secret: %s", cfg->secret) >= PH_HEADER_LEN)
		return -1;
	return 0;
}

const struct ph_provider provider_oneinfinite = {
	.name = "oneinfinite",
	.base_key = "api_base",
	.base_default = "https://api.one.lat",
	.key_id_key = "api_key",
	.secret_key = "api_secret",
	.has_notification_id = 1,
	.decode = oneinfinite_decode,
	.routes = oneinfinite_routes,
	.auth_headers = oneinfinite_auth_headers,
	.statuses = oneinfinite_statuses,
};
