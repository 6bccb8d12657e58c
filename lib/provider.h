/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Provider adapters: decode and validate a notification body, name its
 * idempotency key and the entities to refetch, and route each entity type to
 * a GET on the provider's API. One file per provider, one row in the table of
 * provider.c.
 */
#ifndef PH_PROVIDER_H
#define PH_PROVIDER_H

#include <stddef.h>

#include "payhook.h"
#include "sig.h"

struct json_object;

/* One entity a notification says changed. */
struct ph_entity {
	char type[PH_TYPE_MAX + 1]; /* lower case: "payment_order", "sale" */
	char id[PH_ID_MAX + 1];
};

/* A decoded, validated notification. */
struct ph_notification {
	char id[PH_ID_MAX + 1]; /* idempotency key; "" when the provider has none */
	char event[PH_EVENT_MAX + 1];
	int nentities;
	struct ph_entity entities[PH_MAX_ENTITIES];
};

/* A provider's settings from the config file (DESIGN.md: Configuration). */
struct ph_provider_cfg {
	char *base;            /* API base URL, no trailing slash */
	char *key_id;          /* api_key / merchant_id */
	char *secret;          /* api_secret / merchant_key */
	char *token;           /* optional path token */
	char *header_name;     /* optional required header ("X-Token") */
	char *header_value;    /* its value */
	char header_param[96]; /* the same header as a CGI parameter: HTTP_X_TOKEN */
	char *refresh;         /* "on" or "off": refresh its entities on a schedule */
	int refresh_off;       /* refresh = off */
	long max_rps;          /* GETs a second for all fetchers together; 0: no limit */
	/* Signing providers only (DESIGN.md: Signing providers). */
	char *signing_secret;     /* one or two space-separated secrets */
	long tolerance_s;         /* signature_tolerance_s */
	char *unsigned_s;         /* "on" or "off" */
	int unsigned_on;          /* unsigned = on: signatures are not checked */
	struct ph_sig_keys *keys; /* keyed from signing_secret; NULL when not set */
};

/* An entity type and the path its GET goes to: {base}{path}{escaped id}. */
struct ph_route {
	const char *entity_type;
	const char *path;
};

#define PH_HEADER_MAX 4
#define PH_HEADER_LEN 320

/* Request headers for a GET (the provider's credentials). */
struct ph_headers {
	int n;
	char line[PH_HEADER_MAX][PH_HEADER_LEN];
};

/* How a fetched entity's status bears on refreshing it (docs/REFRESH.md). */
enum ph_status_class {
	PH_CLASS_PROGRESS, /* may change soon: refresh_schedule, step by step */
	PH_CLASS_ONGOING,  /* live for long (a subscription): the last step, repeating */
	PH_CLASS_SETTLED,  /* done, but a refund can still come: refresh_settled, then no more */
	PH_CLASS_FINAL,    /* cannot change: no more refreshes */
};

/*
 * One status of one entity type of a provider; a provider's rows end with a
 * row whose entity_type is NULL. The rows of one type are together, and a
 * status not listed (nor covered by a NULL value) counts as in progress.
 */
struct ph_status_row {
	const char *entity_type;
	const char *path;  /* the status member, dotted: "status", "Payment.Status" */
	const char *value; /* as text ("OPENED", "2"); NULL: any other value present */
	enum ph_status_class cls;
};

struct ph_provider {
	const char *name;
	/* Config key names and the default of the base URL. */
	const char *base_key;
	const char *base_default;
	const char *key_id_key; /* NULL when its API takes one credential (secret_key) */
	const char *secret_key;
	/* Whether the body carries a unique notification id (dedup by SET NX seen). */
	int has_notification_id;
	/* Whether its entity ids are GUIDs (kept in lower case). */
	int guid_ids;
	/* Fill n from a JSON object; -1 with a reason in err when invalid. */
	int (
	    *decode)(struct json_object *root, struct ph_notification *n, char *err, size_t errlen);
	const struct ph_route *routes;
	/* Fill h with the credentials of cfg; -1 when they are not configured. */
	int (*auth_headers)(const struct ph_provider_cfg *cfg, struct ph_headers *h);
	/* Its entities' statuses and their classes (refresh.c reads them). */
	const struct ph_status_row *statuses;
	/*
	 * A signing provider: the request headers its check reads, as CGI
	 * parameters ("HTTP_X_SIGNATURE"), NULL-terminated, and the check of a
	 * raw request (sig.h). why gets a reason to log that never quotes a
	 * secret or an expected signature. NULL verify: the provider does not sign.
	 */
	const char *sig_headers[PH_SIG_HEADERS_MAX + 1];
	enum ph_sig (*verify)(const struct ph_sig_request *r, char *why, size_t whylen);
};

/* How many providers there are, and each by index. */
size_t provider_count(void);
const struct ph_provider *provider_at(size_t i);
/* Find a provider by name (len bytes); its index in *idx. NULL if unknown. */
const struct ph_provider *provider_find(const char *name, size_t len, size_t *idx);

/* 3 when the body starts with a UTF-8 byte order mark (skipped by provider_decode), else 0. */
size_t provider_bom_len(const char *body, size_t len);

/* Decode a raw body: 0, or -1 with a reason in err (answer 400). */
int provider_decode(const struct ph_provider *p, const char *body, size_t len,
    struct ph_notification *n, char *err, size_t errlen);

struct json_tokener;
/* A tokener for provider_decode_tok (json_tokener_free it); NULL when out of memory. */
struct json_tokener *provider_tokener_new(void);
/* provider_decode with a tokener the caller keeps from body to body. */
int provider_decode_tok(const struct ph_provider *p, struct json_tokener *tok, const char *body,
    size_t len, struct ph_notification *n, char *err, size_t errlen);

/* The route of an entity type, NULL when there is none (job dead-lettered as no_route). */
const struct ph_route *provider_route(const struct ph_provider *p, const char *type);

/* Write the GET URL of an entity into buf; -1 if it does not fit. */
int provider_url(const struct ph_provider_cfg *cfg, const struct ph_route *r, const char *id,
    char *buf, size_t len);

/*
 * Check an entity id given from outside a notification (a refetch) and copy
 * it as payhook keeps it (GUIDs in lower case). 0, or -1 when it is not one.
 */
int provider_entity_id(const struct ph_provider *p, const char *id, size_t len,
    char out[PH_ID_MAX + 1]);

/* Validation of what reaches a Redis key or a URL. */
int ph_id_valid(const char *s, size_t len);
int ph_guid_valid(const char *s, size_t len);
int ph_type_valid(const char *s, size_t len);
int ph_event_valid(const char *s, size_t len);

/* For adapters: a string member; 0 absent or null, 1 found, -1 not a string. */
int provider_json_string(struct json_object *root, const char *key, const char **s, size_t *len);

#endif
