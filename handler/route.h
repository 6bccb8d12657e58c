/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What payhook-fcgi answers before and after it reads a body: routing,
 * path token, method, required header, size, decoding. No I/O here, so the
 * status table of DESIGN.md is tested without a web server.
 */
#ifndef PH_ROUTE_H
#define PH_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "provider.h"

enum route_kind {
	ROUTE_ANSWER,  /* answer now with the response filled in */
	ROUTE_HEALTHZ, /* GET /healthz: ping Redis */
	ROUTE_METRICS, /* GET /metrics: Prometheus text from Redis */
	ROUTE_WEBHOOK, /* read the body, then route_decode */
	ROUTE_REFETCH, /* POST /entities/{provider}/{type}/{id}/refetch: queue a fetch */
};

struct route_response {
	int status;
	const char *body;  /* JSON, or "ok\n" */
	char message[192]; /* 400: the reason, put into body by route_body() */
	int allow_post;    /* add Allow: POST */
	int retry_after;   /* add Retry-After: seconds when > 0 */
	int spooled;       /* add X-Payhook-Spooled: 1 (kept in the spool, not yet in Redis) */
	const char *error; /* the 400 body's error, "invalid_notification" when NULL */
	/* ROUTE_REFETCH: the entity, validated (its provider in *provider). */
	char entity_type[PH_TYPE_MAX + 1];
	char entity_id[PH_ID_MAX + 1];
};

/* A function that returns a request parameter (CGI name) or NULL. */
typedef const char *(*route_param_fn)(const char *name, void *arg);

/*
 * Route a request from its method, URI and headers. For ROUTE_WEBHOOK,
 * *provider is the provider's index.
 */
enum route_kind route_request(const struct ph_config *cfg, const char *method, const char *uri,
    route_param_fn param, void *arg, long content_length, size_t *provider,
    struct route_response *resp);

/*
 * Decode a webhook body with the thread's tokener (NULL: a new one); -1
 * with a 400 response filled in.
 */
int route_decode(const struct ph_provider *p, struct json_tokener *tok, const char *body,
    size_t len, struct ph_notification *n, struct route_response *resp);

/*
 * Check the signature of a webhook's raw body for a signing provider (the
 * headers through param, the query string from the URI): PH_SIG_OK, or the
 * reason with a 401 response filled in and a line to log in why (never a
 * secret or an expected signature). A provider that does not sign, or one
 * set unsigned = on, is always PH_SIG_OK.
 */
enum ph_sig route_verify(const struct ph_config *cfg, size_t provider, const char *uri,
    route_param_fn param, void *arg, const char *body, size_t len, int64_t now,
    struct route_response *resp, char *why, size_t whylen);

/* Fill resp with one of the fixed answers. */
void route_answer(struct route_response *resp, int status);

/* The reason phrase of a status. */
const char *route_reason(int status);

/* The body to send: resp->body, or the 400 body with its message, in buf. */
const char *route_body(const struct route_response *resp, char *buf, size_t len);

#endif
