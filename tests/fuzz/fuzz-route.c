/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a request through payhook-fcgi's routing (handler/route.c)
 * and, when it is let through, the body through route_decode. The input is
 * "METHOD\nURI\nHEADER\nBODY"; the config sets a path token for oneinfinite
 * and a required header for cielo. Beyond "no crash": only an exact POST to
 * /webhooks/oneinfinite/s3cret, or to /webhooks/cielo (or /webhooks/cielo/)
 * with the right header, gets through, and every answer is a known status
 * with a JSON body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TOKEN "s3cret"
#define FUZZ_HEADER "abc"

static struct ph_config fuzz_cfg;
static int fuzz_ready;

/* Load the config once: a token on oneinfinite, a required header on cielo. */
static void
fuzz_setup(void)
{
	static const char text[] = "[oneinfinite]\ntoken = " FUZZ_TOKEN
	                           "\n"
	                           "[cielo]\nrequired_header = X-Cielo-Token: " FUZZ_HEADER "\n";
	char path[] = "/tmp/payhook-fuzz-route.XXXXXX", *cause = NULL;
	int fd;

	fd = mkstemp(path);
	if (fd == -1 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
		abort();
	close(fd);
	if (conf_load(&fuzz_cfg, path, 1, &cause) != 0) {
		fprintf(stderr, "fuzz-route: %s\n", cause != NULL ? cause : "?");
		abort();
	}
	unlink(path);
	fuzz_ready = 1;
}

/* Every header asked for has the value of the input's header line. */
static const char *
fuzz_param(const char *name, void *arg)
{
	(void)name;
	return arg;
}

/* Abort unless s is one JSON object. */
static void
fuzz_json_object(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		abort();
	json_object_put(o);
	json_tokener_free(tok);
}

/* Split off the next line of *p (n bytes left) as a NUL-terminated copy. */
static char *
fuzz_line(const uint8_t **p, size_t *n)
{
	const uint8_t *nl = memchr(*p, '\n', *n);
	size_t len = nl != NULL ? (size_t)(nl - *p) : *n;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += nl != NULL ? len + 1 : len;
	*n -= nl != NULL ? len + 1 : len;
	return s;
}

/* Route one request. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_response resp;
	struct ph_notification n;
	const struct ph_provider *p;
	char *method, *uri, *header, buf[512];
	const char *body;
	enum route_kind kind;
	size_t pidx = (size_t)-1, plen;

	if (!fuzz_ready)
		fuzz_setup();
	if (size > 64 * 1024)
		return 0;
	method = fuzz_line(&data, &size);
	uri = fuzz_line(&data, &size);
	header = fuzz_line(&data, &size);
	memset(&resp, 0, sizeof resp);
	kind = route_request(&fuzz_cfg, method, uri, fuzz_param, header[0] != '\0' ? header : NULL,
	    (long)size, &pidx, &resp);
	plen = strcspn(uri, "?");
	switch (kind) {
	case ROUTE_REFETCH:
		/* Only a POST with no body, its entity valid as a key part. */
		if (pidx >= provider_count() || strcmp(method, "POST") != 0 || size != 0 ||
		    strncmp(uri, "/entities/", 10) != 0 ||
		    !ph_type_valid(resp.entity_type, strlen(resp.entity_type)) ||
		    !ph_id_valid(resp.entity_id, strlen(resp.entity_id)) ||
		    provider_route(provider_at(pidx), resp.entity_type) == NULL)
			abort();
		break;
	case ROUTE_WEBHOOK:
		if (pidx >= provider_count() || strcmp(method, "POST") != 0)
			abort();
		p = provider_at(pidx);
		if (strcmp(p->name, "oneinfinite") == 0 &&
		    (plen != strlen("/webhooks/oneinfinite/" FUZZ_TOKEN) ||
		        strncmp(uri, "/webhooks/oneinfinite/" FUZZ_TOKEN, plen) != 0))
			abort();
		/* No token set: a trailing slash (an empty token) is let through too. */
		if (strcmp(p->name, "cielo") == 0 &&
		    ((plen != strlen("/webhooks/cielo") && plen != strlen("/webhooks/cielo/")) ||
		        strncmp(uri, "/webhooks/cielo/", plen) != 0 ||
		        strcmp(header, FUZZ_HEADER) != 0))
			abort();
		if (route_decode(p, NULL, (const char *)data, size, &n, &resp) == 0)
			break;
		if (resp.status != 400)
			abort();
		/* FALLTHROUGH */
	case ROUTE_ANSWER:
		if (strcmp(route_reason(resp.status), "Unknown") == 0)
			abort();
		body = route_body(&resp, buf, sizeof buf);
		if (body == NULL)
			abort();
		fuzz_json_object(body);
		break;
	case ROUTE_HEALTHZ:
	case ROUTE_METRICS:
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			abort();
		break;
	}
	free(method);
	free(uri);
	free(header);
	return 0;
}
