/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The status table of DESIGN.md, decided without a web server (handler/route.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "route.h"
#include "tap.h"

static struct ph_config cfg;
static const char *header_value;

/* Request parameters: only the required header is known. */
static const char *
param(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "HTTP_X_CIELO_TOKEN") == 0 ? header_value : NULL;
}

/* Route a request and return the status, 0 for "go on and read the body", 1 for healthz. */
static int
route(const char *method, const char *uri, long content_length)
{
	struct route_response resp;
	size_t p;

	switch (route_request(&cfg, method, uri, param, NULL, content_length, &p, &resp)) {
	case ROUTE_WEBHOOK:
		return 0;
	case ROUTE_HEALTHZ:
		return 1;
	case ROUTE_METRICS:
		return 2;
	case ROUTE_REFETCH:
		return 3;
	default:
		return resp.status;
	}
}

/* The signature check before the body is read: who checks, who refuses. */
static void
test_verify(void)
{
	struct route_response resp;
	char why[160];
	size_t mp, st, oi;

	provider_find("mercadopago", 11, &mp);
	provider_find("stripe", 6, &st);
	provider_find("oneinfinite", 11, &oi);
	memset(&resp, 0, sizeof resp);
	is_int(route_verify(&cfg, mp, "/webhooks/mercadopago?data.id=1", param, NULL, "{}", 2, 0,
	           &resp, why, sizeof why),
	    PH_SIG_SIGNATURE, "a signing provider with no secret refuses");
	ok(resp.status == 401 && strcmp(resp.body, "{\"error\":\"unauthorized\"}") == 0,
	    "401 unauthorized (%s)", why);
	memset(&resp, 0, sizeof resp);
	is_int(route_verify(&cfg, st, "/webhooks/stripe", param, NULL, "{}", 2, 0, &resp, why,
	           sizeof why),
	    PH_SIG_OK, "unsigned = on: not checked");
	is_int(route_verify(&cfg, oi, "/webhooks/oneinfinite", param, NULL, "{}", 2, 0, &resp, why,
	           sizeof why),
	    PH_SIG_OK, "a provider that does not sign: not checked");
}

int
main(void)
{
	struct route_response resp;
	struct ph_notification n;
	char *cause = NULL, buf[512];
	const struct ph_provider *oi = provider_find("oneinfinite", 11, NULL);

	setenv("PAYHOOK_ONEINFINITE_TOKEN", "s3cret", 1);
	setenv("PAYHOOK_CIELO_REQUIRED_HEADER", "X-Cielo-Token: abc", 1);
	setenv("PAYHOOK_HANDLER_MAX_BODY", "1000", 1);
	setenv("PAYHOOK_STRIPE_UNSIGNED", "on", 1);
	if (conf_load(&cfg, NULL, 0, &cause) != 0)
		return 1;

	is_int(route("POST", "/webhooks/oneinfinite/s3cret", 100), 0,
	    "token matches: read the body");
	is_int(route("POST", "/webhooks/oneinfinite/s3cret?x=1", 100), 0, "query string ignored");
	is_int(route("POST", "/webhooks/oneinfinite", 100), 404, "token missing: 404");
	is_int(route("POST", "/webhooks/oneinfinite/s3cre", 100), 404, "token prefix: 404");
	is_int(route("POST", "/webhooks/oneinfinite/s3cretX", 100), 404, "token longer: 404");
	is_int(route("POST", "/webhooks/oneinfinite/s3cret/x", 100), 404, "extra segment: 404");
	is_int(route("POST", "/webhooks/paypal", 100), 404, "unknown provider: 404");
	is_int(route("POST", "/webhooks/", 100), 404, "no provider: 404");
	is_int(route("POST", "/other", 100), 404, "other path: 404");
	is_int(route("POST", "/webhooks/cielo/tok", 100), 404,
	    "token given where none is set: 404");
	is_int(route("GET", "/webhooks/oneinfinite/s3cret", 0), 405, "GET a webhook: 405");
	route_request(&cfg, "PUT", "/webhooks/oneinfinite/s3cret", param, NULL, 0, &(size_t){ 0 },
	    &resp);
	ok(resp.allow_post == 1, "405 carries Allow: POST");
	is_int(route("GET", "/webhooks/nope", 0), 404, "unknown provider wins over method: 404");

	header_value = NULL;
	is_int(route("POST", "/webhooks/cielo", 100), 401, "required header missing: 401");
	header_value = "abd";
	is_int(route("POST", "/webhooks/cielo", 100), 401, "required header wrong: 401");
	header_value = "abc";
	is_int(route("POST", "/webhooks/cielo", 100), 0, "required header right: read the body");
	is_int(route("POST", "/webhooks/cielo", 1001), 413, "Content-Length over max_body: 413");
	is_int(route("POST", "/webhooks/cielo", 1000), 0, "Content-Length at max_body: read it");

	is_int(route("GET", "/healthz", 0), 1, "GET /healthz");
	is_int(route("POST", "/healthz", 0), 405, "POST /healthz: 405");
	is_int(route("GET", "/metrics", 0), 2, "GET /metrics");
	is_int(route("POST", "/metrics", 0), 405, "POST /metrics: 405");

	/* POST /entities/{provider}/{type}/{id}/refetch */
	is_int(route("POST", "/entities/oneinfinite/payment_order/po_1/refetch", 0), 3,
	    "refetch: queue it");
	is_int(route("POST", "/entities/oneinfinite/recurrent_payment/rp-1/refetch?x", 0), 3,
	    "refetch of a recurrent payment, query ignored");
	ok(route_request(&cfg, "POST",
	       "/entities/cielo/sale/9F8E7D6C-5B4A-4321-8765-0FEDCBA98765/refetch", param, NULL, 0,
	       &(size_t){ 0 }, &resp) == ROUTE_REFETCH &&
	        strcmp(resp.entity_type, "sale") == 0 &&
	        strcmp(resp.entity_id, "9f8e7d6c-5b4a-4321-8765-0fedcba98765") == 0,
	    "refetch: a Cielo GUID kept in lower case");
	is_int(route("POST", "/entities/cielo/sale/not-a-guid/refetch", 0), 400,
	    "refetch: a Cielo id that is no GUID: 400");
	route_request(&cfg, "POST", "/entities/oneinfinite/payment_order/a%2Fb/refetch", param,
	    NULL, 0, &(size_t){ 0 }, &resp);
	is_int(resp.status, 400, "refetch: an id outside [A-Za-z0-9_-]: 400");
	route_body(&resp, buf, sizeof buf);
	ok(strncmp(buf, "{\"error\":\"invalid_request\",\"message\":\"the id", 44) == 0,
	    "refetch 400 body: invalid_request (%s)", buf);
	is_int(route("POST", "/entities/oneinfinite/payment_order/po_1/refetch", 2), 400,
	    "refetch with a body: 400");
	is_int(route("GET", "/entities/oneinfinite/payment_order/po_1/refetch", 0), 405,
	    "refetch by GET: 405");
	is_int(route("POST", "/entities/paypal/charge/ch_1/refetch", 0), 404,
	    "refetch: unknown provider: 404");
	is_int(route("POST", "/entities/oneinfinite/refund/r1/refetch", 0), 404,
	    "refetch: an entity type with no route: 404");
	is_int(route("POST", "/entities/oneinfinite/payment_order/po_1", 0), 404,
	    "refetch: no /refetch: 404");
	is_int(route("POST", "/entities/oneinfinite/payment_order/po_1/x/refetch", 0), 404,
	    "refetch: an extra segment: 404");
	is_int(route("POST", "/entities/oneinfinite/payment_order//refetch", 0), 400,
	    "refetch: an empty id: 400");
	is_int(route("POST", "/entities/", 0), 404, "/entities/ alone: 404");

	ok(route_decode(oi, NULL, "{}", 2, &n, &resp) != 0 && resp.status == 400, "bad body: 400");
	route_body(&resp, buf, sizeof buf);
	ok(strcmp(buf,
	       "{\"error\":\"invalid_notification\",\"message\":"
	       "\"missing field: id\"}") == 0,
	    "400 body: invalid_notification with a message (%s)", buf);
	route_answer(&resp, 200);
	is_str(route_body(&resp, buf, sizeof buf), "{\"status\":\"accepted\"}", "200 body");
	route_answer(&resp, 401);
	is_str(resp.body, "{\"error\":\"unauthorized\"}", "401 body");
	route_answer(&resp, 404);
	is_str(resp.body, "{\"error\":\"not_found\"}", "404 body");
	route_answer(&resp, 405);
	is_str(resp.body, "{\"error\":\"method_not_allowed\"}", "405 body");
	route_answer(&resp, 413);
	is_str(resp.body, "{\"error\":\"body_too_large\"}", "413 body");
	route_answer(&resp, 503);
	ok(strcmp(resp.body, "{\"error\":\"unavailable\"}") == 0 && resp.retry_after > 0,
	    "503 body with Retry-After");
	test_verify();
	conf_free(&cfg);
	return tap_done();
}
