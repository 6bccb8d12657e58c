/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Mercado Pago webhooks (developers' docs, "Notifications > Webhooks"):
 * {"id","type","action","data":{"id"},"date_created","live_mode","user_id",
 * "api_version"}, with ?data.id=...&type=... on the URL. "id" is unique per
 * notification (a number or a string). The x-signature header,
 * "ts=...,v1=<hex>", is HMAC-SHA256 under the application's secret of the
 * manifest "id:{data.id};request-id:{x-request-id};ts:{ts};", where data.id
 * comes from the query string (lower case when alphanumeric) and a part
 * that is absent is left out.
 */
#include "config.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "provider.h"

static const struct ph_route mercadopago_routes[] = {
	{ "payment", "/v1/payments/" },
	{ "merchant_order", "/merchant_orders/" },
	{ "subscription_preapproval", "/preapproval/" },
	{ "subscription_authorized_payment", "/authorized_payments/" },
	{ "chargebacks", "/v1/chargebacks/" },
	{ NULL, NULL },
};

/*
 * The notification's type as payhook's entity type: the Webhooks panel's
 * topic names ("topic_merchant_order_wh") go to the entity they name; any
 * other type is kept (lower case, "-" as "_") and dead-lettered as no_route.
 */
static const struct {
	const char *type;
	const char *entity;
} mercadopago_types[] = {
	{ "topic_merchant_order_wh", "merchant_order" },
	{ "topic_chargebacks_wh", "chargebacks" },
};

/*
 * Statuses (Mercado Pago API reference: payment "status", merchant order
 * "status", preapproval "status", authorized payment "status"). Chargebacks
 * have no status list in the docs: refreshed as in progress until
 * refresh_max_age.
 */
static const struct ph_status_row mercadopago_statuses[] = {
	{ "payment", "status", "pending", PH_CLASS_PROGRESS },
	{ "payment", "status", "in_process", PH_CLASS_PROGRESS },
	{ "payment", "status", "authorized", PH_CLASS_PROGRESS },
	{ "payment", "status", "in_mediation", PH_CLASS_PROGRESS },
	{ "payment", "status", "approved", PH_CLASS_SETTLED },
	{ "payment", "status", "rejected", PH_CLASS_FINAL },
	{ "payment", "status", "cancelled", PH_CLASS_FINAL },
	{ "payment", "status", "refunded", PH_CLASS_FINAL },
	{ "payment", "status", "charged_back", PH_CLASS_FINAL },

	{ "merchant_order", "status", "opened", PH_CLASS_PROGRESS },
	{ "merchant_order", "status", "closed", PH_CLASS_SETTLED },
	{ "merchant_order", "status", "expired", PH_CLASS_FINAL },

	{ "subscription_preapproval", "status", "pending", PH_CLASS_PROGRESS },
	{ "subscription_preapproval", "status", "authorized", PH_CLASS_ONGOING },
	{ "subscription_preapproval", "status", "paused", PH_CLASS_ONGOING },
	{ "subscription_preapproval", "status", "cancelled", PH_CLASS_FINAL },

	{ "subscription_authorized_payment", "status", "scheduled", PH_CLASS_PROGRESS },
	{ "subscription_authorized_payment", "status", "recycling", PH_CLASS_PROGRESS },
	{ "subscription_authorized_payment", "status", "processed", PH_CLASS_SETTLED },
	{ "subscription_authorized_payment", "status", "cancelled", PH_CLASS_FINAL },
	{ NULL, NULL, NULL, PH_CLASS_PROGRESS },
};

/* An id member: a string, or a whole number (Mercado Pago sends both); 0 absent, -1 bad. */
static int
mercadopago_id(struct json_object *o, const char *key, char out[PH_ID_MAX + 1])
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x < 0)
			return -1;
		snprintf(out, PH_ID_MAX + 1, "%lld", (long long)x);
		return 1;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!ph_id_valid(s, len))
		return -1;
	memcpy(out, s, len + 1);
	return 1;
}

/* Decode and validate a Mercado Pago notification. */
static int
mercadopago_decode(struct json_object *root, struct ph_notification *n, char *err, size_t errlen)
{
	struct ph_entity *e = &n->entities[0];
	struct json_object *data;
	const char *s;
	size_t len, i;
	int r;

	r = mercadopago_id(root, "id", n->id);
	if (r <= 0) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: id" : "id is not a valid id ([A-Za-z0-9_-], 1..128)");
		return -1;
	}
	r = provider_json_string(root, "type", &s, &len);
	if (r <= 0) {
		snprintf(err, errlen, r == 0 ? "missing field: type" : "type is not a string");
		return -1;
	}
	if (len == 0 || len > PH_TYPE_MAX) {
		snprintf(err, errlen, "type is not valid ([a-z0-9_-], 1..32)");
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];
		e->type[i] = c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	e->type[len] = '\0';
	if (!ph_type_valid(e->type, len)) {
		snprintf(err, errlen, "type is not valid ([a-z0-9_-], 1..32)");
		return -1;
	}
	for (i = 0; i < sizeof mercadopago_types / sizeof mercadopago_types[0]; i++) {
		if (strcmp(e->type, mercadopago_types[i].type) == 0)
			snprintf(e->type, sizeof e->type, "%s", mercadopago_types[i].entity);
	}
	/* The event: the action ("payment.updated"), else the type. */
	r = provider_json_string(root, "action", &s, &len);
	if (r < 0 || (r > 0 && !ph_event_valid(s, len))) {
		snprintf(err, errlen, "action is not valid ([A-Za-z0-9_.-], 1..64)");
		return -1;
	}
	snprintf(n->event, sizeof n->event, "%s", r > 0 ? s : e->type);

	if (!json_object_object_get_ex(root, "data", &data) || data == NULL ||
	    !json_object_is_type(data, json_type_object)) {
		snprintf(err, errlen, "missing field: data (an object)");
		return -1;
	}
	/*
	 * Some topics carry no entity id (automatic-payments' card.updated has
	 * customer and card ids in data): recorded, deduplicated, nothing to fetch.
	 */
	r = mercadopago_id(data, "id", e->id);
	if (r < 0) {
		snprintf(err, errlen, "data.id is not a valid id ([A-Za-z0-9_-], 1..128)");
		return -1;
	}
	if (r == 0) {
		e->type[0] = '\0';
		return 0;
	}
	n->nentities = 1;
	return 0;
}

/* Whether s is alphanumeric (then the manifest has it in lower case). */
static int
mercadopago_alnum(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/*
 * Whether the body's data.id is the signed one: the signature covers the
 * query's data.id only, so a body naming another entity is refused. A body
 * that is not JSON passes here and gets its 400 from the decode.
 */
static int
mercadopago_same_id(const char *body, size_t len, const char *id)
{
	struct json_tokener *tok = provider_tokener_new();
	struct json_object *root, *data;
	char got[PH_ID_MAX + 1];
	int same = 1;

	if (tok == NULL)
		return 1; /* out of memory: the decode fails the same way */
	if (len > 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
		body += 3;
		len -= 3;
	}
	root = len <= (size_t)INT32_MAX ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
	if (root != NULL && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "data", &data) && data != NULL &&
	    json_object_is_type(data, json_type_object) && mercadopago_id(data, "id", got) > 0)
		same = strcasecmp(got, id) == 0;
	json_object_put(root);
	json_tokener_free(tok);
	return same;
}

/* Check x-signature over the manifest. */
static enum ph_sig
mercadopago_verify(const struct ph_sig_request *r, char *why, size_t whylen)
{
	const char *sig = r->header[0], *reqid = r->header[1], *p, *k, *v;
	const char *ts = NULL, *v1 = NULL, *qid = NULL;
	size_t klen, vlen, tslen = 0, v1len = 0, qidlen = 0, i;
	char id[PH_ID_MAX + 1];
	struct ph_sig_part parts[9];
	enum ph_sig rc;
	int np = 0, it, m;

	if (sig == NULL) {
		snprintf(why, whylen, "no x-signature header");
		return PH_SIG_HEADER;
	}
	for (p = sig; (it = sig_item(&p, &k, &klen, &v, &vlen)) != 0;) {
		if (it < 0)
			break;
		if (klen == 2 && memcmp(k, "ts", 2) == 0) {
			ts = v;
			tslen = vlen;
		} else if (klen == 2 && memcmp(k, "v1", 2) == 0) {
			v1 = v;
			v1len = vlen;
		}
	}
	if (it < 0 || ts == NULL || v1 == NULL) {
		snprintf(why, whylen, "x-signature is not ts=...,v1=...");
		return PH_SIG_HEADER;
	}
	/* The docs' examples are seconds; milliseconds are read as such. */
	rc = sig_timestamp(ts, tslen, r->now, r->tolerance_s, 1);
	if (rc != PH_SIG_OK) {
		snprintf(why, whylen,
		    rc == PH_SIG_HEADER ? "x-signature ts is not a number"
		                        : "x-signature ts is outside signature_tolerance_s");
		return rc;
	}
	if (sig_query_param(r->query, "data.id", &qid, &qidlen) && qidlen > 0) {
		if (qidlen > PH_ID_MAX) {
			snprintf(why, whylen, "data.id of the query string is too long");
			return PH_SIG_HEADER;
		}
		for (i = 0; i < qidlen; i++)
			id[i] = qid[i];
		id[qidlen] = '\0';
		if (mercadopago_alnum(id, qidlen)) {
			for (i = 0; i < qidlen; i++)
				id[i] = id[i] >= 'A' && id[i] <= 'Z' ? (char)(id[i] - 'A' + 'a')
				                                     : id[i];
		}
		parts[np++] = (struct ph_sig_part){ "id:", 3 };
		parts[np++] = (struct ph_sig_part){ id, qidlen };
		parts[np++] = (struct ph_sig_part){ ";", 1 };
	} else {
		qid = NULL;
	}
	if (reqid != NULL && *reqid != '\0') {
		parts[np++] = (struct ph_sig_part){ "request-id:", 11 };
		parts[np++] = (struct ph_sig_part){ reqid, strlen(reqid) };
		parts[np++] = (struct ph_sig_part){ ";", 1 };
	}
	parts[np++] = (struct ph_sig_part){ "ts:", 3 };
	parts[np++] = (struct ph_sig_part){ ts, tslen };
	parts[np++] = (struct ph_sig_part){ ";", 1 };
	m = sig_match_hex(r->keys, parts, np, v1, v1len);
	if (m != 1) {
		snprintf(why, whylen, m < 0 ? "HMAC failed" : "x-signature v1 matches no secret");
		return PH_SIG_SIGNATURE;
	}
	if (qid != NULL && !mercadopago_same_id(r->body, r->len, id)) {
		snprintf(why, whylen, "data.id of the body is not the signed one of the query");
		return PH_SIG_SIGNATURE;
	}
	return PH_SIG_OK;
}

/* Credentials: Authorization: Bearer {access_token}. */
static int
mercadopago_auth_headers(const struct ph_provider_cfg *cfg, struct ph_headers *h)
{
	if (cfg->secret == NULL)
		return -1;
	h->n = 1;
	if (snprintf(h->line[0], PH_HEADER_LEN, "Authorization: Bearer %s", cfg->secret) >=
	    PH_HEADER_LEN)
		return -1;
	return 0;
}

const struct ph_provider provider_mercadopago = {
	.name = "mercadopago",
	.base_key = "api_base",
	.base_default = "https://api.mercadopago.com",
	.secret_key = "access_token",
	.has_notification_id = 1,
	.decode = mercadopago_decode,
	.routes = mercadopago_routes,
	.auth_headers = mercadopago_auth_headers,
	.statuses = mercadopago_statuses,
	.sig_headers = { "HTTP_X_SIGNATURE", "HTTP_X_REQUEST_ID", NULL },
	.verify = mercadopago_verify,
};
