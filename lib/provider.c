/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Provider table, body decoding common to every provider, id validation, routing. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "provider.h"

extern const struct ph_provider provider_oneinfinite;
extern const struct ph_provider provider_cielo;
extern const struct ph_provider provider_mercadopago;
extern const struct ph_provider provider_stripe;

/* Every provider payhook knows: adding one is one file and one row here. */
static const struct ph_provider *providers[] = {
	&provider_oneinfinite,
	&provider_cielo,
	&provider_mercadopago,
	&provider_stripe,
};

/* Nesting deeper than this is no notification. */
#define PROVIDER_JSON_DEPTH 8

/* Return the number of providers. */
size_t
provider_count(void)
{
	return sizeof providers / sizeof providers[0];
}

/* Return provider number i. */
const struct ph_provider *
provider_at(size_t i)
{
	return i < provider_count() ? providers[i] : NULL;
}

/* Look a provider up by name. */
const struct ph_provider *
provider_find(const char *name, size_t len, size_t *idx)
{
	size_t i;

	for (i = 0; i < provider_count(); i++) {
		if (strlen(providers[i]->name) == len &&
		    memcmp(providers[i]->name, name, len) == 0) {
			if (idx != NULL)
				*idx = i;
			return providers[i];
		}
	}
	return NULL;
}

/* Tell whether s is an id: [A-Za-z0-9_-], 1..128 chars (DESIGN.md). */
int
ph_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PH_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Tell whether s is a GUID: 8-4-4-4-12 hex digits. */
int
ph_guid_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		               (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Tell whether s is an entity type: [a-z0-9_], 1..32 chars. */
int
ph_type_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PH_TYPE_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Tell whether s is an event name: [A-Za-z0-9_.-], 1..64 chars. */
int
ph_event_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PH_EVENT_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Get a string member of an object. */
int
provider_json_string(struct json_object *root, const char *key, const char **s, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(root, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

/* Check and copy an entity id. */
int
provider_entity_id(const struct ph_provider *p, const char *id, size_t len, char out[PH_ID_MAX + 1])
{
	size_t i;

	if (p->guid_ids ? !ph_guid_valid(id, len) : !ph_id_valid(id, len))
		return -1;
	for (i = 0; i < len; i++)
		out[i] =
		    p->guid_ids && id[i] >= 'A' && id[i] <= 'Z' ? (char)(id[i] - 'A' + 'a') : id[i];
	out[len] = '\0';
	return 0;
}

/* The length of one leading UTF-8 byte order mark of a body: 3, or 0. */
size_t
provider_bom_len(const char *body, size_t len)
{
	return len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/*
 * Decode a body: it must be exactly one JSON object (trailing white space
 * allowed), with no NUL byte, then the provider's adapter validates it. One
 * leading UTF-8 byte order mark is skipped: RFC 8259 section 8.1 lets a
 * parser ignore it, and senders built on .NET can emit one.
 */
int
provider_decode(const struct ph_provider *p, const char *body, size_t len,
    struct ph_notification *n, char *err, size_t errlen)
{
	struct json_tokener *tok = provider_tokener_new();
	int rc;

	if (tok == NULL) {
		memset(n, 0, sizeof *n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = provider_decode_tok(p, tok, body, len, n, err, errlen);
	json_tokener_free(tok);
	return rc;
}

/* A tokener for provider_decode_tok: bounded depth, strict JSON. */
struct json_tokener *
provider_tokener_new(void)
{
	struct json_tokener *tok = json_tokener_new_ex(PROVIDER_JSON_DEPTH);

	if (tok != NULL)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

/* Decode a body with a tokener kept by the caller (reset here). */
int
provider_decode_tok(const struct ph_provider *p, struct json_tokener *tok, const char *body,
    size_t len, struct ph_notification *n, char *err, size_t errlen)
{
	struct json_object *root = NULL;
	size_t end, bom;
	int rc = -1;

	memset(n, 0, sizeof *n);
	bom = provider_bom_len(body, len);
	body += bom;
	len -= bom;
	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return -1;
	}
	if (memchr(body, '\0', len) != NULL) {
		snprintf(err, errlen, "body contains a NUL byte");
		return -1;
	}
	json_tokener_reset(tok);
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errlen, "body is not JSON");
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (body[end] != ' ' && body[end] != '\t' && body[end] != '\r' &&
		    body[end] != '\n') {
			snprintf(err, errlen, "body has data after the JSON value");
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "body is not a JSON object");
		goto out;
	}
	rc = p->decode(root, n, err, errlen);
out:
	json_object_put(root);
	return rc;
}

/* Find the route of an entity type. */
const struct ph_route *
provider_route(const struct ph_provider *p, const char *type)
{
	const struct ph_route *r;

	for (r = p->routes; r->entity_type != NULL; r++) {
		if (strcmp(r->entity_type, type) == 0)
			return r;
	}
	return NULL;
}

/*
 * Build the GET URL. Ids are validated before they get here, but every byte
 * outside RFC 3986's unreserved set is still percent-encoded, so no id can
 * ever leave its path segment.
 */
int
provider_url(const struct ph_provider_cfg *cfg, const struct ph_route *r, const char *id, char *buf,
    size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	int n;
	size_t o;

	n = snprintf(buf, len, "%s%s", cfg->base, r->path);
	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	for (; *id != '\0'; id++) {
		unsigned char c = (unsigned char)*id;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				return -1;
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return 0;
}
