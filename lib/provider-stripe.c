/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stripe webhooks (docs.stripe.com: "Receive Stripe events in your webhook
 * endpoint", "Event destinations"). Two forms, both fetched, never trusted:
 *   snapshot: {"id":"evt_...","object":"event","type":"payment_intent.succeeded",
 *              "data":{"object":{"id":"pi_...","object":"payment_intent",...}}}
 *   thin:     {"id":"evt_...","object":"v2.core.event","type":...,
 *              "related_object":{"id":"pi_...","type":"payment_intent",
 *                                "url":"/v1/payment_intents/pi_..."}}
 * The entity is (object type, id), the type with "." as "_"
 * ("checkout.session" is checkout_session: payhook's types are [a-z0-9_]).
 * A thin event's related_object.url must be the route of its type plus its
 * id: the fetch goes to that same URL, and a notification cannot point the
 * fetcher anywhere else; a thin event whose related_object is null (the
 * Events v2 API allows it) is recorded and deduplicated with nothing to
 * fetch. The event id is unique (the dedup key).
 *
 * Stripe-Signature: "t=<unix s>,v1=<hex>[,v1=<hex>]..." (one v1 per secret
 * while the endpoint's secret is rolled; v0 is Stripe's test scheme, ignored),
 * each HMAC-SHA256 of "{t}.{raw body}" keyed with the endpoint secret's text
 * ("whsec_...", used as it is).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"

extern const struct ph_provider provider_stripe;

static const struct ph_route stripe_routes[] = {
	{ "payment_intent", "/v1/payment_intents/" },
	{ "charge", "/v1/charges/" },
	{ "refund", "/v1/refunds/" },
	{ "invoice", "/v1/invoices/" },
	{ "subscription", "/v1/subscriptions/" },
	{ "dispute", "/v1/disputes/" },
	{ "checkout_session", "/v1/checkout/sessions/" },
	{ NULL, NULL },
};

/* Statuses (Stripe API reference: each object's "status" enum). */
static const struct ph_status_row stripe_statuses[] = {
	{ "payment_intent", "status", "requires_payment_method", PH_CLASS_PROGRESS },
	{ "payment_intent", "status", "requires_confirmation", PH_CLASS_PROGRESS },
	{ "payment_intent", "status", "requires_action", PH_CLASS_PROGRESS },
	{ "payment_intent", "status", "processing", PH_CLASS_PROGRESS },
	{ "payment_intent", "status", "requires_capture", PH_CLASS_PROGRESS },
	{ "payment_intent", "status", "succeeded", PH_CLASS_SETTLED },
	{ "payment_intent", "status", "canceled", PH_CLASS_FINAL },

	{ "charge", "status", "pending", PH_CLASS_PROGRESS },
	{ "charge", "status", "succeeded", PH_CLASS_SETTLED },
	{ "charge", "status", "failed", PH_CLASS_FINAL },

	{ "refund", "status", "pending", PH_CLASS_PROGRESS },
	{ "refund", "status", "requires_action", PH_CLASS_PROGRESS },
	{ "refund", "status", "succeeded", PH_CLASS_SETTLED },
	{ "refund", "status", "failed", PH_CLASS_FINAL },
	{ "refund", "status", "canceled", PH_CLASS_FINAL },

	{ "invoice", "status", "draft", PH_CLASS_PROGRESS },
	{ "invoice", "status", "open", PH_CLASS_PROGRESS },
	{ "invoice", "status", "paid", PH_CLASS_SETTLED },
	{ "invoice", "status", "uncollectible", PH_CLASS_SETTLED }, /* may still be paid */
	{ "invoice", "status", "void", PH_CLASS_FINAL },

	{ "subscription", "status", "incomplete", PH_CLASS_PROGRESS },
	{ "subscription", "status", "past_due", PH_CLASS_PROGRESS },
	{ "subscription", "status", "unpaid", PH_CLASS_PROGRESS },
	{ "subscription", "status", "trialing", PH_CLASS_ONGOING },
	{ "subscription", "status", "active", PH_CLASS_ONGOING },
	{ "subscription", "status", "paused", PH_CLASS_ONGOING },
	{ "subscription", "status", "canceled", PH_CLASS_FINAL },
	{ "subscription", "status", "incomplete_expired", PH_CLASS_FINAL },

	{ "dispute", "status", "warning_needs_response", PH_CLASS_PROGRESS },
	{ "dispute", "status", "warning_under_review", PH_CLASS_PROGRESS },
	{ "dispute", "status", "needs_response", PH_CLASS_PROGRESS },
	{ "dispute", "status", "under_review", PH_CLASS_PROGRESS },
	{ "dispute", "status", "won", PH_CLASS_FINAL },
	{ "dispute", "status", "lost", PH_CLASS_FINAL },
	{ "dispute", "status", "warning_closed", PH_CLASS_FINAL },
	{ "dispute", "status", "prevented", PH_CLASS_FINAL },

	{ "checkout_session", "status", "open", PH_CLASS_PROGRESS },
	{ "checkout_session", "status", "complete", PH_CLASS_SETTLED },
	{ "checkout_session", "status", "expired", PH_CLASS_FINAL },
	{ NULL, NULL, NULL, PH_CLASS_PROGRESS },
};

/* A Stripe object type ("checkout.session") as payhook's type; -1 if it is not one. */
static int
stripe_type(const char *s, size_t len, char out[PH_TYPE_MAX + 1])
{
	size_t i;

	if (len == 0 || len > PH_TYPE_MAX)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = s[i] == '.' ? '_' : s[i];
	out[len] = '\0';
	return ph_type_valid(out, len) ? 0 : -1;
}

/* Read the {id, type} of the object an event is about into e; -1 with a reason. */
static int
stripe_object(struct json_object *o, const char *where, const char *type_key, struct ph_entity *e,
    char *err, size_t errlen)
{
	const char *s;
	size_t len;
	int r;

	r = provider_json_string(o, "id", &s, &len);
	if (r <= 0 || !ph_id_valid(s, len)) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: %s.id"
		           : "%s.id is not a valid id ([A-Za-z0-9_-], 1..128)",
		    where);
		return -1;
	}
	memcpy(e->id, s, len + 1);
	r = provider_json_string(o, type_key, &s, &len);
	if (r <= 0 || stripe_type(s, len, e->type) != 0) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: %s.%s"
		           : "%s.%s is not a valid type ([a-z0-9_.], 1..32)",
		    where, type_key);
		return -1;
	}
	return 0;
}

/* Decode and validate a Stripe event, snapshot or thin. */
static int
stripe_decode(struct json_object *root, struct ph_notification *n, char *err, size_t errlen)
{
	struct ph_entity *e = &n->entities[0];
	struct json_object *data, *obj;
	const struct ph_route *route;
	const char *s, *url;
	size_t len, ulen;
	int r, thin;

	r = provider_json_string(root, "id", &s, &len);
	if (r <= 0 || !ph_id_valid(s, len)) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: id" : "id is not a valid id ([A-Za-z0-9_-], 1..128)");
		return -1;
	}
	memcpy(n->id, s, len + 1);
	r = provider_json_string(root, "type", &s, &len);
	if (r <= 0 || !ph_event_valid(s, len)) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: type" : "type is not valid ([A-Za-z0-9_.-], 1..64)");
		return -1;
	}
	memcpy(n->event, s, len + 1);
	r = provider_json_string(root, "object", &s, &len);
	if (r > 0 && len == 5 && memcmp(s, "event", 5) == 0)
		thin = 0;
	else if (r > 0 && len == 13 && memcmp(s, "v2.core.event", 13) == 0)
		thin = 1;
	else {
		snprintf(err, errlen, "object is not \"event\" or \"v2.core.event\"");
		return -1;
	}

	if (!thin) {
		if (!json_object_object_get_ex(root, "data", &data) || data == NULL ||
		    !json_object_is_type(data, json_type_object) ||
		    !json_object_object_get_ex(data, "object", &obj) || obj == NULL ||
		    !json_object_is_type(obj, json_type_object)) {
			snprintf(err, errlen, "missing field: data.object (an object)");
			return -1;
		}
		if (stripe_object(obj, "data.object", "object", e, err, errlen) != 0)
			return -1;
		n->nentities = 1;
		return 0;
	}

	/* Null when the event is about no object (a thin event may be): recorded, nothing to fetch. */
	if (!json_object_object_get_ex(root, "related_object", &obj) || obj == NULL)
		return 0;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "related_object is not an object");
		return -1;
	}
	if (stripe_object(obj, "related_object", "type", e, err, errlen) != 0)
		return -1;
	r = provider_json_string(obj, "url", &url, &ulen);
	if (r <= 0) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: related_object.url"
		           : "related_object.url is not a string");
		return -1;
	}
	/* Fetched at its route, which must be the URL the event names. */
	route = provider_route(&provider_stripe, e->type);
	if (route != NULL &&
	    (ulen != strlen(route->path) + strlen(e->id) ||
	        memcmp(url, route->path, strlen(route->path)) != 0 ||
	        strcmp(url + strlen(route->path), e->id) != 0)) {
		snprintf(err, errlen, "related_object.url is not the API path of its type and id");
		return -1;
	}
	n->nentities = 1;
	return 0;
}

/* Check Stripe-Signature over "{t}.{raw body}". */
static enum ph_sig
stripe_verify(const struct ph_sig_request *r, char *why, size_t whylen)
{
	const char *sig = r->header[0], *p, *k, *v, *t = NULL;
	size_t klen, vlen, tlen = 0;
	struct ph_sig_part parts[3];
	enum ph_sig rc;
	int it, m, nv1 = 0, match = 0, failed = 0;

	if (sig == NULL) {
		snprintf(why, whylen, "no Stripe-Signature header");
		return PH_SIG_HEADER;
	}
	for (p = sig; (it = sig_item(&p, &k, &klen, &v, &vlen)) > 0;) {
		if (klen == 1 && *k == 't') {
			t = v;
			tlen = vlen;
		} else if (klen == 2 && memcmp(k, "v1", 2) == 0) {
			nv1++;
		}
	}
	if (it < 0 || t == NULL || nv1 == 0) {
		snprintf(why, whylen, "Stripe-Signature is not t=...,v1=...");
		return PH_SIG_HEADER;
	}
	rc = sig_timestamp(t, tlen, r->now, r->tolerance_s, 0);
	if (rc != PH_SIG_OK) {
		snprintf(why, whylen,
		    rc == PH_SIG_HEADER ? "Stripe-Signature t is not a number"
		                        : "Stripe-Signature t is outside signature_tolerance_s");
		return rc;
	}
	parts[0] = (struct ph_sig_part){ t, tlen };
	parts[1] = (struct ph_sig_part){ ".", 1 };
	parts[2] = (struct ph_sig_part){ r->body, r->len };
	/* Every v1 against every secret: the time taken does not say which matched. */
	for (p = sig; sig_item(&p, &k, &klen, &v, &vlen) > 0;) {
		if (klen != 2 || memcmp(k, "v1", 2) != 0)
			continue;
		m = sig_match_hex(r->keys, parts, 3, v, vlen);
		match |= m == 1;
		failed |= m < 0;
	}
	if (!match) {
		snprintf(why, whylen,
		    failed ? "HMAC failed" : "no v1 of Stripe-Signature matches a secret");
		return PH_SIG_SIGNATURE;
	}
	return PH_SIG_OK;
}

/* Credentials: Authorization: Bearer {secret_key}. */
static int
stripe_auth_headers(const struct ph_provider_cfg *cfg, struct ph_headers *h)
{
	if (cfg->secret == NULL)
		return -1;
	h->n = 1;
	if (snprintf(h->line[0], PH_HEADER_LEN, "Authorization: Bearer %s", cfg->secret) >=
	    PH_HEADER_LEN)
		return -1;
	return 0;
}

const struct ph_provider provider_stripe = {
	.name = "stripe",
	.base_key = "api_base",
	.base_default = "https://api.stripe.com",
	.secret_key = "secret_key",
	.has_notification_id = 1,
	.decode = stripe_decode,
	.routes = stripe_routes,
	.auth_headers = stripe_auth_headers,
	.statuses = stripe_statuses,
	.sig_headers = { "HTTP_STRIPE_SIGNATURE", NULL },
	.verify = stripe_verify,
};
