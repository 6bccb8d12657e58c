/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Routing and the status table (DESIGN.md: Accepting a notification). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static const struct {
	int status;
	const char *reason;
	const char *body;
} route_answers[] = {
	{ 200, "OK", "{\"status\":\"accepted\"}" },
	{ 400, "Bad Request", NULL },
	{ 401, "Unauthorized", "{\"error\":\"unauthorized\"}" },
	{ 404, "Not Found", "{\"error\":\"not_found\"}" },
	{ 405, "Method Not Allowed", "{\"error\":\"method_not_allowed\"}" },
	{ 413, "Payload Too Large", "{\"error\":\"body_too_large\"}" },
	{ 500, "Internal Server Error", "{\"error\":\"internal\"}" },
	{ 503, "Service Unavailable", "{\"error\":\"unavailable\"}" },
};

/* Seconds a provider is asked to wait before it retries after a 503. */
#define ROUTE_RETRY_AFTER 5

/* Return the reason phrase of a status. */
const char *
route_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof route_answers / sizeof route_answers[0]; i++) {
		if (route_answers[i].status == status)
			return route_answers[i].reason;
	}
	return "Unknown";
}

/* Fill a fixed answer. */
void
route_answer(struct route_response *resp, int status)
{
	size_t i;

	memset(resp, 0, sizeof *resp);
	resp->status = status;
	for (i = 0; i < sizeof route_answers / sizeof route_answers[0]; i++) {
		if (route_answers[i].status == status)
			resp->body = route_answers[i].body;
	}
	if (status == 405)
		resp->allow_post = 1;
	if (status == 503)
		resp->retry_after = ROUTE_RETRY_AFTER;
}

/* Give the body of a response; the 400 one carries its message. */
const char *
route_body(const struct route_response *resp, char *buf, size_t len)
{
	if (resp->body != NULL)
		return resp->body;
	/* Messages are our own text, never the request's bytes: no escaping. */
	snprintf(buf, len, "{\"error\":\"%s\",\"message\":\"%s\"}",
	    resp->error != NULL ? resp->error : "invalid_notification", resp->message);
	return buf;
}

/* A 400 about a refetch request. */
static enum route_kind
route_bad_request(struct route_response *resp, const char *message)
{
	route_answer(resp, 400);
	resp->error = "invalid_request";
	snprintf(resp->message, sizeof resp->message, "%s", message);
	return ROUTE_ANSWER;
}

/*
 * Route POST /entities/{provider}/{type}/{id}/refetch (path, plen: after
 * "/entities/"): a known provider, an entity type it has a route for, an id
 * as a notification would carry it, and no body.
 */
static enum route_kind
route_refetch(const char *method, const char *path, size_t plen, long content_length,
    size_t *provider, struct route_response *resp)
{
	static const char suffix[] = "/refetch";
	const struct ph_provider *p;
	const char *t, *id;
	size_t n;

	memset(resp, 0, sizeof *resp);
	if (plen < sizeof suffix ||
	    memcmp(path + plen - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	plen -= sizeof suffix - 1;
	t = memchr(path, '/', plen);
	id = t != NULL ? memchr(t + 1, '/', plen - (size_t)(t + 1 - path)) : NULL;
	if (t == NULL || id == NULL ||
	    memchr(id + 1, '/', plen - (size_t)(id + 1 - path)) != NULL) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	p = provider_find(path, (size_t)(t - path), provider);
	n = (size_t)(id - t - 1);
	if (p == NULL || n == 0 || n > PH_TYPE_MAX) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	memcpy(resp->entity_type, t + 1, n);
	resp->entity_type[n] = '\0';
	if (!ph_type_valid(resp->entity_type, n) || provider_route(p, resp->entity_type) == NULL) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	if (strcmp(method, "POST") != 0) {
		route_answer(resp, 405);
		return ROUTE_ANSWER;
	}
	n = plen - (size_t)(id + 1 - path);
	if (provider_entity_id(p, id + 1, n, resp->entity_id) != 0)
		return route_bad_request(resp,
		    p->guid_ids ? "the id must be a GUID"
		                : "the id must be 1..128 of [A-Za-z0-9_-]");
	if (content_length != 0)
		return route_bad_request(resp, "the body must be empty");
	return ROUTE_REFETCH;
}

/* Route a request. */
enum route_kind
route_request(const struct ph_config *cfg, const char *method, const char *uri,
    route_param_fn param, void *arg, long content_length, size_t *provider,
    struct route_response *resp)
{
	static const char prefix[] = "/webhooks/", entities[] = "/entities/";
	const struct ph_provider_cfg *pc;
	const struct ph_provider *p;
	const char *path, *slash, *token, *given;
	size_t plen, tlen;

	if (method == NULL)
		method = "";
	if (uri == NULL)
		uri = "";
	plen = strcspn(uri, "?");

	if ((plen == 8 && strncmp(uri, "/healthz", 8) == 0) ||
	    (plen == 8 && strncmp(uri, "/metrics", 8) == 0)) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			route_answer(resp, 405);
			return ROUTE_ANSWER;
		}
		return uri[1] == 'h' ? ROUTE_HEALTHZ : ROUTE_METRICS;
	}
	if (plen > sizeof entities - 1 && strncmp(uri, entities, sizeof entities - 1) == 0) {
		return route_refetch(method, uri + sizeof entities - 1,
		    plen - (sizeof entities - 1), content_length, provider, resp);
	}
	if (plen <= sizeof prefix - 1 || strncmp(uri, prefix, sizeof prefix - 1) != 0) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	path = uri + sizeof prefix - 1;
	plen -= sizeof prefix - 1;
	slash = memchr(path, '/', plen);
	p = provider_find(path, slash != NULL ? (size_t)(slash - path) : plen, provider);
	if (p == NULL) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	pc = &cfg->providers[*provider];

	/* /webhooks/{provider}[/{token}]: the token must match when one is set. */
	token = slash != NULL ? slash + 1 : path + plen;
	tlen = (size_t)(path + plen - token);
	if (tlen > 0 && memchr(token, '/', tlen) != NULL) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	if (pc->token != NULL ? !ph_secret_equal(token, tlen, pc->token, strlen(pc->token))
	                      : tlen != 0) {
		route_answer(resp, 404);
		return ROUTE_ANSWER;
	}
	if (strcmp(method, "POST") != 0) {
		route_answer(resp, 405);
		return ROUTE_ANSWER;
	}
	if (pc->header_value != NULL) {
		given = param(pc->header_param, arg);
		if (given == NULL ||
		    !ph_secret_equal(given, strlen(given), pc->header_value,
		        strlen(pc->header_value))) {
			route_answer(resp, 401);
			return ROUTE_ANSWER;
		}
	}
	if (content_length > cfg->handler.max_body) {
		route_answer(resp, 413);
		return ROUTE_ANSWER;
	}
	return ROUTE_WEBHOOK;
}

/* Check a signing provider's signature over the raw request. */
enum ph_sig
route_verify(const struct ph_config *cfg, size_t provider, const char *uri, route_param_fn param,
    void *arg, const char *body, size_t len, int64_t now, struct route_response *resp, char *why,
    size_t whylen)
{
	const struct ph_provider *p = provider_at(provider);
	const struct ph_provider_cfg *pc;
	struct ph_sig_request r;
	const char *q;
	enum ph_sig rc;
	int i;

	why[0] = '\0';
	if (p == NULL || p->verify == NULL)
		return PH_SIG_OK;
	pc = &cfg->providers[provider];
	if (pc->unsigned_on)
		return PH_SIG_OK;
	if (pc->keys == NULL) {
		/* Warned about once at start: refused until a secret is set. */
		snprintf(why, whylen, "no signing_secret set");
		route_answer(resp, 401);
		return PH_SIG_SIGNATURE;
	}
	memset(&r, 0, sizeof r);
	r.keys = pc->keys;
	r.body = body;
	r.len = len;
	/* QUERY_STRING as the server received it; else the query of the URI. */
	r.query = param("QUERY_STRING", arg);
	if (r.query == NULL) {
		q = uri != NULL ? strchr(uri, '?') : NULL;
		r.query = q != NULL ? q + 1 : "";
	}
	for (i = 0; i < PH_SIG_HEADERS_MAX && p->sig_headers[i] != NULL; i++)
		r.header[i] = param(p->sig_headers[i], arg);
	r.now = now;
	r.tolerance_s = pc->tolerance_s;
	rc = p->verify(&r, why, whylen);
	if (rc != PH_SIG_OK)
		route_answer(resp, 401);
	return rc;
}

/* Decode a body into a notification or a 400. */
int
route_decode(const struct ph_provider *p, struct json_tokener *tok, const char *body, size_t len,
    struct ph_notification *n, struct route_response *resp)
{
	char err[160];

	if ((tok != NULL ? provider_decode_tok(p, tok, body, len, n, err, sizeof err)
	                 : provider_decode(p, body, len, n, err, sizeof err)) == 0)
		return 0;
	route_answer(resp, 400);
	snprintf(resp->message, sizeof resp->message, "%s", err);
	return -1;
}
