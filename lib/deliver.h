/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhook-deliver's decisions and formats, kept pure so they can be tested
 * without a network (DESIGN.md: Delivery): the delivery record kept in
 * Redis, the request body (Standard Webhooks), what an answer leads to, how
 * long a retry waits, and the latency bucket of an answer.
 */
#ifndef PH_DELIVER_H
#define PH_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* An endpoint's consumer group: "payhook-deliver:" and its name. */
#define PH_DELIVER_GROUP_MAX (16 + PH_ENDPOINT_NAME_MAX + 1)
void deliver_group(char *buf, size_t len, const char *endpoint);

/* A growable buffer; oom set once an append failed (the rest are skipped). */
struct deliver_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void deliver_buf_free(struct deliver_buf *b);

/* One delivery: an events entry, as kept in held (the record). */
struct deliver_record {
	char id[48]; /* the stream entry id, "ms-seq" */
	char provider[32];
	char entity_type[64];
	char entity_id[160];
	uint64_t fetched_at;
	char status[64];
	const char *body; /* the stored JSON (in the caller's or the parser's memory) */
	size_t body_len;
	long attempt; /* failed attempts so far */
};

/*
 * Write a record as JSON: {"id","provider","entity_type","entity_id",
 * "fetched_at","status","body" (a string),"attempt"}; with reason set, a dead
 * entry: the same plus "reason", "attempts" and "dead_at". 0, or -1 when out
 * of memory (b is reset first).
 */
int deliver_record_json(const struct deliver_record *r, const char *reason, uint64_t dead_at,
    struct deliver_buf *b);

/*
 * Read a record from its JSON. Its body points into *keep, a copy the
 * caller frees with free(). 0, or -1 when it is not a record.
 */
int deliver_record_parse(const char *json, size_t len, struct deliver_record *r, char **keep);

/*
 * Whether an events entry's fields make a record (provider, entity_type,
 * entity_id, fetched_at, body; status may be absent): fields holds n
 * name/value pairs. 0, or -1 with r untouched beyond what was set.
 */
int deliver_record_from_fields(const char *id, const char *const *names, const size_t *name_lens,
    const char *const *values, const size_t *value_lens, size_t n, struct deliver_record *r);

/*
 * The request body: {"type":"{provider}.{entity_type}.updated",
 * "timestamp":"{fetched_at, RFC 3339 UTC with ms}","data":{"provider",
 * "entity_type","entity_id","fetched_at","status","entity":<the stored
 * JSON>}}. A stored body that is not JSON goes as a string. 0 or -1.
 */
int deliver_body(const struct deliver_record *r, struct deliver_buf *b);

/* Whether an endpoint takes an event of this provider and entity type. */
int deliver_wants(const struct ph_endpoint_cfg *e, const char *provider, const char *type);

/* What an answer leads to. */
enum deliver_result {
	DELIVER_OK,      /* 2xx */
	DELIVER_RETRY,   /* again after delay_ms */
	DELIVER_DEAD,    /* the schedule is used up */
	DELIVER_DISABLE, /* 410: disable the endpoint */
};

/*
 * Decide the outcome of a POST: http_status 0 when the transfer failed
 * (transport names why: "timeout", "connect", ...), retry_after_s the
 * Retry-After of a 429 or 503 in seconds (0: none), attempt the failures
 * before it, rnd a random number for the jitter (+-10 % of a step).
 * Retry-After is honoured, capped at the longest step. The reason
 * ("http_500", "timeout", ...) goes into reason.
 */
enum deliver_result deliver_classify(const struct ph_endpoint_cfg *e, long http_status,
    const char *transport, long retry_after_s, long attempt, uint64_t rnd, uint64_t *delay_ms,
    char *reason, size_t reason_len);

/* The outcomes counted in deliveries:{endpoint}:{outcome} (DESIGN.md: the stats fields). */
enum deliver_count {
	DELIVER_COUNT_DELIVERED,
	DELIVER_COUNT_RETRIED,
	DELIVER_COUNT_DEAD,
	DELIVER_COUNT_SUPERSEDED,
	DELIVER_COUNT_DISABLED,
	DELIVER_COUNT_FILTERED,
	DELIVER_NCOUNTS,
};
extern const char *const ph_deliver_counts[DELIVER_NCOUNTS];

/* The histogram buckets of delivery_seconds (s), and the label of the bucket of ms. */
#define PH_DELIVER_BUCKETS 9
extern const char *const ph_deliver_buckets[PH_DELIVER_BUCKETS];
const char *deliver_bucket(long ms);

#endif
