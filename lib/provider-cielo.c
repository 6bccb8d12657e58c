/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cielo E-commerce 3.0 (seed 003): {"RecurrentPaymentId","PaymentId","ChangeType"}.
 * PaymentId (GUID) is always there; RecurrentPaymentId comes with ChangeType 2
 * and 4, which fetch both the sale and the recurrence. ChangeType arrives as a
 * number or a numeric string. There is no notification id: idempotency is the
 * per-entity pending marker (DESIGN.md: Cielo).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"

static const struct ph_route cielo_routes[] = {
	{ "sale", "/1/sales/" },
	{ "recurrent_payment", "/1/RecurrentPayment/" },
	{ NULL, NULL },
};

/* Statuses (seed 003: Cielo's Payment.Status and RecurrentPayment.Status tables). */
static const struct ph_status_row cielo_statuses[] = {
	{ "sale", "Payment.Status", "0", PH_CLASS_PROGRESS },  /* NotFinished */
	{ "sale", "Payment.Status", "1", PH_CLASS_PROGRESS },  /* Authorized */
	{ "sale", "Payment.Status", "12", PH_CLASS_PROGRESS }, /* Pending */
	{ "sale", "Payment.Status", "20", PH_CLASS_PROGRESS }, /* Scheduled */
	{ "sale", "Payment.Status", "2", PH_CLASS_SETTLED },   /* PaymentConfirmed */
	{ "sale", "Payment.Status", "3", PH_CLASS_FINAL },     /* Denied */
	{ "sale", "Payment.Status", "10", PH_CLASS_FINAL },    /* Voided */
	{ "sale", "Payment.Status", "11", PH_CLASS_FINAL },    /* Refunded */
	{ "sale", "Payment.Status", "13", PH_CLASS_FINAL },    /* Aborted */

	/* 1 Active; 2 Finished, 3 DeactivatedByMerchant, 4 DisabledMaxAttempts,
	 * 5 DisabledExpiredCreditCard, and any other deactivation code. */
	{ "recurrent_payment", "RecurrentPayment.Status", "1", PH_CLASS_ONGOING },
	{ "recurrent_payment", "RecurrentPayment.Status", NULL, PH_CLASS_FINAL },
	{ NULL, NULL, NULL, PH_CLASS_PROGRESS },
};

/* The largest ChangeType taken; the documented ones go up to 25. */
#define CIELO_CHANGETYPE_MAX 9999

/* Copy a GUID in lower case, so one entity is one key whatever the case sent. */
static void
cielo_guid_copy(char *dst, const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++)
		dst[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	dst[36] = '\0';
}

/* Read ChangeType, a number or a string of digits; -1 if neither. */
static int
cielo_change_type(struct json_object *root, long *out)
{
	struct json_object *v;
	const char *s;
	size_t len, i;
	long ct = 0;

	if (!json_object_object_get_ex(root, "ChangeType", &v) || v == NULL)
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x < 1 || x > CIELO_CHANGETYPE_MAX)
			return -1;
		*out = (long)x;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len > 4)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		ct = ct * 10 + (s[i] - '0');
	}
	if (ct < 1)
		return -1;
	*out = ct;
	return 0;
}

/* Decode and validate a Cielo notification. */
static int
cielo_decode(struct json_object *root, struct ph_notification *n, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	long ct;
	int r;

	r = provider_json_string(root, "PaymentId", &s, &len);
	if (r <= 0) {
		snprintf(err, errlen,
		    r == 0 ? "missing field: PaymentId" : "PaymentId is not a string");
		return -1;
	}
	if (!ph_guid_valid(s, len)) {
		snprintf(err, errlen, "PaymentId is not a GUID");
		return -1;
	}
	cielo_guid_copy(n->entities[0].id, s);
	snprintf(n->entities[0].type, sizeof n->entities[0].type, "sale");
	n->nentities = 1;

	if (cielo_change_type(root, &ct) != 0) {
		snprintf(err, errlen,
		    "ChangeType is missing or not a positive "
		    "number (number or numeric string)");
		return -1;
	}
	snprintf(n->event, sizeof n->event, "%ld", ct);

	r = provider_json_string(root, "RecurrentPaymentId", &s, &len);
	if (r < 0 || (r > 0 && !ph_guid_valid(s, len))) {
		snprintf(err, errlen, "RecurrentPaymentId is not a GUID");
		return -1;
	}
	/* 2 recurrence created, 4 recurrence status: fetch the recurrence too. */
	if (r > 0 && (ct == 2 || ct == 4)) {
		cielo_guid_copy(n->entities[1].id, s);
		snprintf(n->entities[1].type, sizeof n->entities[1].type, "recurrent_payment");
		n->nentities = 2;
	}
	return 0;
}

/* Credentials: MerchantId, MerchantKey, and a fresh RequestId. */
static int
cielo_auth_headers(const struct ph_provider_cfg *cfg, struct ph_headers *h)
{
	char guid[37];

	if (cfg->key_id == NULL || cfg->secret == NULL)
		return -1;
	ph_guid_new(guid);
	h->n = 3;
	if (snprintf(h->line[0], PH_HEADER_LEN, "MerchantId: %s", cfg->key_id) >= PH_HEADER_LEN ||
	    snprintf(h->line[1], PH_HEADER_LEN, "MerchantKey: %s", cfg->secret) >= PH_HEADER_LEN)
		return -1;
	snprintf(h->line[2], PH_HEADER_LEN, "RequestId: %s", guid);
	return 0;
}

const struct ph_provider provider_cielo = {
	.name = "cielo",
	.base_key = "query_base",
	.base_default = "https://apiquery.cieloecommerce.cielo.com.br",
	.key_id_key = "merchant_id",
	.secret_key = "merchant_key",
	.has_notification_id = 0,
	.guid_ids = 1,
	.decode = cielo_decode,
	.routes = cielo_routes,
	.auth_headers = cielo_auth_headers,
	.statuses = cielo_statuses,
};
