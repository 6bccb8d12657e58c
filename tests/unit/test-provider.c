/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Provider adapters: every body shape, id validation edges, ChangeType forms, routes. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "tap.h"

static const struct ph_provider *oi, *cielo;

#define like_prefix(got, want, ...)                                         \
	do {                                                                \
		const char *g_ = (got), *w_ = (want);                       \
		ok(strncmp(g_, w_, strlen(w_)) == 0, __VA_ARGS__);          \
		if (strncmp(g_, w_, strlen(w_)) != 0)                       \
			printf("#   got \"%s\", want \"%s...\"\n", g_, w_); \
	} while (0)

/* Decode a NUL-terminated body with provider p. */
static int
dec(const struct ph_provider *p, const char *body, struct ph_notification *n, char *err)
{
	return provider_decode(p, body, strlen(body), n, err, 160);
}

static void
test_oneinfinite(void)
{
	struct ph_notification n;
	char err[160];

	ok(dec(oi,
	       "{\"id\":\"uCEarm1kXJsroMQ6dt\",\"event_type\":\"PAYMENT_ORDER.CLOSED\","
	       "\"entity_type\":\"PAYMENT_ORDER\",\"entity_id\":\"rcAaNfKdKJRmrnj4l5\"}",
	       &n, err) == 0,
	    "oneinfinite: seed body decodes");
	is_str(n.id, "uCEarm1kXJsroMQ6dt", "oneinfinite: id");
	is_str(n.event, "PAYMENT_ORDER.CLOSED", "oneinfinite: event");
	is_int(n.nentities, 1, "oneinfinite: one entity");
	is_str(n.entities[0].type, "payment_order", "oneinfinite: type lower-cased");
	is_str(n.entities[0].id, "rcAaNfKdKJRmrnj4l5", "oneinfinite: entity id");

	ok(dec(oi,
	       "{\"id\":\"w1\",\"event_type\":\"PAYMENT_ORDER.OPENED\","
	       "\"payment_order_id\":\"po_1\"}",
	       &n, err) == 0 &&
	        strcmp(n.entities[0].type, "payment_order") == 0 &&
	        strcmp(n.entities[0].id, "po_1") == 0,
	    "oneinfinite: payment_order_id shape");
	ok(dec(oi,
	       "{\"id\":\"w2\",\"event_type\":\"RECURRENT_PAYMENT.ACTIVE\","
	       "\"recurrent_payment_id\":\"rp-9\"}",
	       &n, err) == 0 &&
	        strcmp(n.entities[0].type, "recurrent_payment") == 0 &&
	        strcmp(n.entities[0].id, "rp-9") == 0,
	    "oneinfinite: recurrent_payment_id shape");
	ok(dec(oi,
	       "{\"id\":\"w3\",\"event_type\":\"RECURRENT_PAYMENT.TRIALING\","
	       "\"entity_id\":\"rp1\"}",
	       &n, err) == 0 &&
	        strcmp(n.entities[0].type, "recurrent_payment") == 0,
	    "oneinfinite: type from the event_type prefix");
	ok(dec(oi,
	       "{\"id\":\"w4\",\"event_type\":\"PAYMENT_ORDER.SOMETHING_NEW\","
	       "\"entity_type\":\"PAYMENT_ORDER\",\"entity_id\":\"x\"}",
	       &n, err) == 0,
	    "oneinfinite: unknown event of a known entity accepted");
	ok(dec(oi,
	       "{\"id\":\"w5\",\"event_type\":\"REFUND.CREATED\",\"entity_type\":\"REFUND\","
	       "\"entity_id\":\"r1\"}",
	       &n, err) == 0 &&
	        strcmp(n.entities[0].type, "refund") == 0 &&
	        provider_route(oi, n.entities[0].type) == NULL,
	    "oneinfinite: unknown entity type decodes and has no route");

	ok(dec(oi, "{\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"x\"}", &n, err) != 0 &&
	        strstr(err, "id") != NULL,
	    "oneinfinite: missing id rejected (%s)", err);
	ok(dec(oi, "{\"id\":7,\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"x\"}", &n,
	       err) != 0,
	    "oneinfinite: numeric id rejected");
	ok(dec(oi, "{\"id\":\"a\",\"entity_id\":\"x\"}", &n, err) != 0 &&
	        strstr(err, "event_type") != NULL,
	    "oneinfinite: missing event_type rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"CLOSED\",\"entity_id\":\"x\"}", &n, err) != 0,
	    "oneinfinite: no entity type anywhere rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"PAYMENT_ORDER.CLOSED\"}", &n, err) != 0 &&
	        strstr(err, "entity_id") != NULL,
	    "oneinfinite: no entity id rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"../x\"}",
	       &n, err) != 0,
	    "oneinfinite: entity_id ../x rejected");
	ok(dec(oi,
	       "{\"id\":\"a\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_type\":\"A B\","
	       "\"entity_id\":\"x\"}",
	       &n, err) != 0,
	    "oneinfinite: entity_type with space rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"PAYMENT ORDER\",\"entity_id\":\"x\"}", &n,
	       err) != 0,
	    "oneinfinite: event_type with space rejected");
}

static void
test_cielo(void)
{
	struct ph_notification n;
	char err[160];

	ok(dec(cielo,
	       "{\"RecurrentPaymentId\":\"11111111-2222-3333-4444-555555555555\","
	       "\"PaymentId\":\"AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":\"2\"}",
	       &n, err) == 0,
	    "cielo: sample with real GUIDs decodes");
	is_int(n.nentities, 2, "cielo: ChangeType 2 fetches two entities");
	is_str(n.entities[0].type, "sale", "cielo: first the sale");
	is_str(n.entities[0].id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cielo: GUID lower-cased");
	is_str(n.entities[1].type, "recurrent_payment", "cielo: then the recurrence");
	is_str(n.event, "2", "cielo: event is the ChangeType");
	is_str(n.id, "", "cielo: no notification id");

	ok(dec(cielo, "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":1}",
	       &n, err) == 0 &&
	        n.nentities == 1 && strcmp(n.event, "1") == 0,
	    "cielo: ChangeType as a number");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":4,"
	       "\"RecurrentPaymentId\":\"11111111-2222-3333-4444-555555555555\"}",
	       &n, err) == 0 &&
	        n.nentities == 2,
	    "cielo: ChangeType 4 fetches two entities");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":\"1\","
	       "\"RecurrentPaymentId\":\"11111111-2222-3333-4444-555555555555\"}",
	       &n, err) == 0 &&
	        n.nentities == 1,
	    "cielo: ChangeType 1 fetches only the sale");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":\"25\"}", &n,
	       err) == 0 &&
	        strcmp(n.event, "25") == 0,
	    "cielo: ChangeType 25");
	ok(dec(cielo, "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":77}",
	       &n, err) == 0 &&
	        n.nentities == 1 && strcmp(n.entities[0].type, "sale") == 0,
	    "cielo: unknown ChangeType fetches the sale");

	ok(dec(cielo,
	       "{\"RecurrentPaymentId\":\"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\","
	       "\"PaymentId\":\"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\",\"ChangeType\":\"2\"}",
	       &n, err) != 0,
	    "cielo: the seed's placeholder body is rejected");
	ok(dec(cielo, "{\"ChangeType\":1}", &n, err) != 0 && strstr(err, "PaymentId") != NULL,
	    "cielo: missing PaymentId rejected");
	ok(dec(cielo, "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"}", &n, err) != 0 &&
	        strstr(err, "ChangeType") != NULL,
	    "cielo: missing ChangeType rejected");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":\"x1\"}", &n,
	       err) != 0,
	    "cielo: ChangeType not numeric rejected");
	ok(dec(cielo, "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":1.5}",
	       &n, err) != 0,
	    "cielo: ChangeType 1.5 rejected");
	ok(dec(cielo, "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":0}",
	       &n, err) != 0,
	    "cielo: ChangeType 0 rejected");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":\"\"}", &n,
	       err) != 0,
	    "cielo: empty ChangeType rejected");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":true}", &n,
	       err) != 0,
	    "cielo: boolean ChangeType rejected");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":2,"
	       "\"RecurrentPaymentId\":\"nope\"}",
	       &n, err) != 0,
	    "cielo: bad RecurrentPaymentId rejected");
	ok(dec(cielo,
	       "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":2,"
	       "\"RecurrentPaymentId\":null}",
	       &n, err) == 0 &&
	        n.nentities == 1,
	    "cielo: null RecurrentPaymentId fetches the sale only");
}

static void
test_body(void)
{
	struct ph_notification n;
	char err[160];
	static const char nul[] = "{\"id\":\"a\0b\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"}";

	ok(provider_decode(oi, "", 0, &n, err, sizeof err) != 0, "body: empty rejected");
	ok(dec(oi, "not json", &n, err) != 0 && strstr(err, "JSON") != NULL,
	    "body: not JSON rejected");
	ok(dec(oi, "[1,2]", &n, err) != 0 && strstr(err, "object") != NULL, "body: array rejected");
	ok(dec(oi, "\"str\"", &n, err) != 0, "body: string rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"} {}", &n, err) != 0,
	    "body: trailing data rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"}\r\n", &n, err) == 0,
	    "body: trailing white space accepted");
	ok(provider_decode(oi, nul, sizeof nul - 1, &n, err, sizeof err) != 0,
	    "body: NUL byte rejected");
	ok(dec(oi,
	       "{\"id\":\"a\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],"
	       "\"event_type\":\"X.Y\",\"entity_id\":\"x\"}",
	       &n, err) != 0,
	    "body: deep nesting rejected");
	ok(dec(oi, "{\"id\":\"a\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"", &n, err) != 0,
	    "body: truncated JSON rejected");
	ok(dec(oi, "\xef\xbb\xbf{\"id\":\"a\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"}", &n,
	       err) == 0 &&
	        strcmp(n.id, "a") == 0,
	    "body: one leading UTF-8 BOM skipped (oneinfinite)");
	ok(dec(cielo,
	       "\xef\xbb\xbf{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"ChangeType\":"
	       "1}",
	       &n, err) == 0 &&
	        n.nentities == 1,
	    "body: one leading UTF-8 BOM skipped (cielo)");
	ok(dec(oi,
	       "\xef\xbb\xbf\xef\xbb\xbf{\"id\":\"a\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"}",
	       &n, err) != 0,
	    "body: two BOMs rejected");
	ok(dec(oi, "\xef\xbb\xbf", &n, err) != 0 && strstr(err, "empty") != NULL,
	    "body: a BOM alone is an empty body");
	ok(dec(oi, "\xef\xbb{}", &n, err) != 0, "body: half a BOM rejected");
}

static void
test_ids(void)
{
	char s[200];

	ok(!ph_id_valid("", 0), "id: empty invalid");
	memset(s, 'a', sizeof s);
	ok(ph_id_valid(s, 128), "id: 128 chars valid");
	ok(!ph_id_valid(s, 129), "id: 129 chars invalid");
	ok(!ph_id_valid("../x", 4), "id: ../x invalid");
	ok(!ph_id_valid("a%2Fb", 5), "id: %%2F invalid");
	ok(!ph_id_valid("a b", 3), "id: space invalid");
	ok(!ph_id_valid("caf\xc3\xa9", 5), "id: non-ASCII invalid");
	ok(!ph_id_valid("a\0b", 3), "id: NUL invalid");
	ok(!ph_id_valid("a:b", 3), "id: colon invalid (key separator)");
	ok(!ph_id_valid("a{b}", 4), "id: braces invalid (cluster hash tag)");
	ok(ph_id_valid("Az09_-", 6), "id: the whole allowed set");
	ok(ph_guid_valid("01234567-89ab-CDEF-0123-456789abcdef", 36), "guid: valid mixed case");
	ok(!ph_guid_valid("01234567-89ab-cdef-0123-456789abcde", 35), "guid: short invalid");
	ok(!ph_guid_valid("0123456789ab-cdef-0123-456789abcdef-", 36), "guid: dashes misplaced");
	ok(!ph_guid_valid("g1234567-89ab-cdef-0123-456789abcdef", 36), "guid: non-hex invalid");
}

static void
test_routes(void)
{
	struct ph_provider_cfg cfg = { 0 };
	char url[512];

	cfg.base = "http://127.0.0.1:9999";
	ok(provider_url(&cfg, provider_route(oi, "payment_order"), "rcA", url, sizeof url) == 0,
	    "route: payment order URL built");
	is_str(url, "http://127.0.0.1:9999/v1/payment_orders/rcA", "route: payment order path");
	provider_url(&cfg, provider_route(oi, "recurrent_payment"), "r1", url, sizeof url);
	is_str(url, "http://127.0.0.1:9999/v1/recurrent_payments/r1",
	    "route: recurrent payment path");
	provider_url(&cfg, provider_route(cielo, "sale"), "a-b", url, sizeof url);
	is_str(url, "http://127.0.0.1:9999/1/sales/a-b", "route: cielo sale path");
	provider_url(&cfg, provider_route(cielo, "recurrent_payment"), "a-b", url, sizeof url);
	is_str(url, "http://127.0.0.1:9999/1/RecurrentPayment/a-b", "route: cielo recurrence path");
	provider_url(&cfg, provider_route(cielo, "sale"), "../a/b?c", url, sizeof url);
	is_str(url, "http://127.0.0.1:9999/1/sales/..%2Fa%2Fb%3Fc",
	    "route: ids escaped in the path");
	ok(provider_url(&cfg, provider_route(cielo, "sale"), "abc", url, 30) != 0,
	    "route: too long for the buffer is an error");
	ok(provider_find("cielo", 5, NULL) == cielo && provider_find("cie", 3, NULL) == NULL &&
	        provider_find("paypal", 6, NULL) == NULL,
	    "provider_find: exact names only");
}

static void
test_headers(void)
{
	struct ph_provider_cfg cfg = { 0 };
	struct ph_headers h;

	ok(oi->auth_headers(&cfg, &h) != 0, "headers: no credentials is an error");
	cfg.key_id = "k";
	cfg.secret = "s";
	ok(oi->auth_headers(&cfg, &h) == 0 && h.n == 2 && strcmp(h.line[0], "x-api-key: k") == 0 &&
	        strcmp(h.line[1], "x-api-secret: s") == 0,
	    "headers: oneinfinite x-api-key, x-api-secret");
	ok(cielo->auth_headers(&cfg, &h) == 0 && h.n == 3 &&
	        strcmp(h.line[0], "MerchantId: k") == 0 &&
	        strcmp(h.line[1], "MerchantKey: s") == 0 &&
	        strncmp(h.line[2], "RequestId: ", 11) == 0 && ph_guid_valid(h.line[2] + 11, 36),
	    "headers: cielo MerchantId, MerchantKey, RequestId GUID");
}

/* Decode p's body; the entity "type/id" into out, or the reason. */
static const char *
ent(const char *name, const char *body, char *out, size_t len)
{
	const struct ph_provider *p = provider_find(name, strlen(name), NULL);
	struct ph_notification n;
	char err[160];

	if (dec(p, body, &n, err) != 0)
		snprintf(out, len, "400 %s", err);
	else
		snprintf(out, len, "%s %s %s/%s", n.id, n.event, n.entities[0].type,
		    n.entities[0].id);
	return out;
}

static void
test_mercadopago(void)
{
	char b[512];

	is_str(ent("mercadopago",
	           "{\"id\":12345,\"live_mode\":true,\"type\":\"payment\",\"date_created\":"
	           "\"2015-03-25T10:04:58.396-04:00\",\"user_id\":44444,\"api_version\":\"v1\","
	           "\"action\":\"payment.created\",\"data\":{\"id\":\"999999999\"}}",
	           b, sizeof b),
	    "12345 payment.created payment/999999999", "mercadopago: the docs' payment example");
	is_str(ent("mercadopago",
	           "{\"id\":\"n-1\",\"type\":\"topic_merchant_order_wh\",\"data\":{\"id\":77}}", b,
	           sizeof b),
	    "n-1 merchant_order merchant_order/77",
	    "mercadopago: panel topic, no action, numeric data.id");
	is_str(ent("mercadopago",
	           "{\"id\":1,\"type\":\"subscription_preapproval\",\"action\":\"updated\","
	           "\"data\":{\"id\":\"2c938084726fca480172750000000000\"}}",
	           b, sizeof b),
	    "1 updated subscription_preapproval/2c938084726fca480172750000000000",
	    "mercadopago: preapproval");
	is_str(ent("mercadopago", "{\"id\":2,\"type\":\"mp-connect\",\"data\":{\"id\":\"x\"}}", b,
	           sizeof b),
	    "2 mp_connect mp_connect/x", "mercadopago: another type kept (no route: dead letter)");
	is_str(ent("mercadopago",
	           "{\"action\":\"card.updated\",\"api_version\":\"v1\",\"data\":{\"customer_id\":"
	           "\"12345678-aluyasdhfyt\",\"new_card_id\":50000102202,\"old_card_id\":"
	           "50000006036},"
	           "\"id\":\"a47fc06844bf4e418a03aeab1479c496\",\"type\":\"automatic-payments\"}",
	           b, sizeof b),
	    "a47fc06844bf4e418a03aeab1479c496 card.updated /",
	    "mercadopago: the docs' card.updated: recorded, no entity to fetch");
	like_prefix(ent("mercadopago", "{\"type\":\"payment\",\"data\":{\"id\":\"1\"}}", b,
	                sizeof b),
	    "400 missing field: id", "mercadopago: no id");
	like_prefix(ent("mercadopago", "{\"id\":1,\"type\":\"payment\"}", b, sizeof b),
	    "400 missing field: data", "mercadopago: no data");
	like_prefix(ent("mercadopago", "{\"id\":1,\"type\":\"payment\",\"data\":{\"id\":\"a b\"}}",
	                b, sizeof b),
	    "400 data.id is not", "mercadopago: bad data.id");
	like_prefix(ent("mercadopago", "{\"id\":-1,\"type\":\"payment\",\"data\":{\"id\":\"1\"}}",
	                b, sizeof b),
	    "400 id is not", "mercadopago: negative id");
	like_prefix(ent("mercadopago", "{\"id\":1,\"type\":7,\"data\":{\"id\":\"1\"}}", b,
	                sizeof b),
	    "400 type is not", "mercadopago: type not a string");
}

static void
test_stripe(void)
{
	char b[512];

	is_str(ent("stripe",
	           "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"checkout.session.completed\","
	           "\"data\":{\"object\":{\"id\":\"cs_test_a1\",\"object\":\"checkout.session\"}}}",
	           b, sizeof b),
	    "evt_1 checkout.session.completed checkout_session/cs_test_a1",
	    "stripe: snapshot, checkout.session as checkout_session");
	is_str(ent("stripe",
	           "{\"id\":\"evt_2\",\"object\":\"v2.core.event\",\"type\":\"v1.payment_intent."
	           "succeeded\","
	           "\"related_object\":{\"id\":\"pi_1\",\"type\":\"payment_intent\",\"url\":"
	           "\"/v1/payment_intents/pi_1\"}}",
	           b, sizeof b),
	    "evt_2 v1.payment_intent.succeeded payment_intent/pi_1", "stripe: thin event");
	like_prefix(ent("stripe",
	                "{\"id\":\"evt_2\",\"object\":\"v2.core.event\",\"type\":\"x\","
	                "\"related_object\":{\"id\":\"pi_1\",\"type\":\"payment_intent\",\"url\":"
	                "\"/v1/charges/pi_1\"}}",
	                b, sizeof b),
	    "400 related_object.url is not", "stripe: thin event whose url is not its object's");
	{
		struct ph_notification n;
		char err[160];
		const char *body =
		    "{\"id\":\"evt_2\",\"object\":\"v2.core.event\",\"type\":\"x\","
		    "\"related_object\":null}";

		ok(dec(provider_find("stripe", 6, NULL), body, &n, err) == 0 && n.nentities == 0 &&
		        strcmp(n.id, "evt_2") == 0,
		    "stripe: thin event about no object: recorded, nothing to fetch");
	}
	like_prefix(ent("stripe",
	                "{\"id\":\"evt_2\",\"object\":\"v2.core.event\",\"type\":\"x\","
	                "\"related_object\":[]}",
	                b, sizeof b),
	    "400 related_object is not", "stripe: related_object not an object");
	like_prefix(ent("stripe", "{\"id\":\"evt_3\",\"object\":\"charge\",\"type\":\"x\"}", b,
	                sizeof b),
	    "400 object is not", "stripe: not an event");
	like_prefix(ent("stripe",
	                "{\"id\":\"evt_4\",\"object\":\"event\",\"type\":\"x\",\"data\":{}}", b,
	                sizeof b),
	    "400 missing field: data.object", "stripe: no data.object");
	like_prefix(ent("stripe",
	                "{\"id\":\"evt_5\",\"object\":\"event\",\"type\":\"x\",\"data\":{"
	                "\"object\":"
	                "{\"id\":\"x\",\"object\":\"Charge\"}}}",
	                b, sizeof b),
	    "400 data.object.object is not", "stripe: a type outside [a-z0-9_.]");
	like_prefix(ent("stripe", "{\"object\":\"event\",\"type\":\"x\"}", b, sizeof b),
	    "400 missing field: id", "stripe: no id");
}

int
main(void)
{
	oi = provider_find("oneinfinite", 11, NULL);
	cielo = provider_find("cielo", 5, NULL);
	ok(oi != NULL && cielo != NULL, "both providers in the table");
	test_oneinfinite();
	test_cielo();
	test_body();
	test_ids();
	test_routes();
	test_headers();
	test_mercadopago();
	test_stripe();
	return tap_done();
}
