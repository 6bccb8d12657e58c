/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One typed encoder per Lua script (lib/scripts.c): the caller fills a
 * struct with what the script needs, the encoder lays it out as the
 * script's KEYS and ARGV, and ph_redis_call() or ph_cmd_call() sends it
 * by EVALSHA. No caller counts argument positions. The accept
 * script has its own encoder, accept_prepare() in accept.h.
 */
#ifndef PH_CALL_H
#define PH_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "scripts.h"

/* The most KEYS + ARGV of one call (the refresh mover's batch of 100 needs 407). */
#define PH_CALL_ARGS 512
/* Numbers an encoder formats itself. */
#define PH_CALL_NUMS 10

/* A script call: KEYS then ARGV. The strings are the caller's or in num. */
struct ph_call {
	enum ph_script script;
	int nkeys;
	int argc;
	const char *argv[PH_CALL_ARGS];
	size_t lens[PH_CALL_ARGS];
	char num[PH_CALL_NUMS][32];
	int nnum;
};

/* Claim: take an entity's lock, drop its pending marker. Reply 1 taken, 0 held elsewhere. */
struct ph_claim {
	const char *lock_key;
	const char *pending_key;
	const char *token;
	long lock_ttl_ms;
};
void ph_call_claim(struct ph_call *c, const struct ph_claim *a);

/*
 * How long the store script keeps the events stream's trim bound, read from
 * its consumer groups, before it asks them again (script_store, LUA_TRIM).
 */
#define PH_EVENTS_TRIM_MS 1000

/* Store a snapshot and set the entity's next refresh (see script_store). */
struct ph_store {
	const char *lock_key, *entity_key, *events_key, *processing_key, *stats_key, *refresh_key;
	const char *events_trim_key;
	const char *token;
	const char *job; /* as taken */
	size_t job_len;
	const char *body;
	size_t body_len;
	uint64_t fetched_at;
	long http_status;
	const char *sha256;
	const char *notification_id, *provider, *entity_type, *entity_id;
	long events_maxlen;
	long events_hard_maxlen;   /* with consumer groups: trimmed anyway past this */
	const char *trimmed_field; /* the stats field of unread entries trimmed */
	const char *latency_field;
	long latency_ms;
	const char *refresh_member;
	const char *refresh_class; /* progress, ongoing, settled, final, off */
	const char *refresh_schedule_ms, *refresh_settled_ms;
	long long refresh_max_age_ms;
	unsigned jitter; /* 0..999 */
	const char *status;
};
void ph_call_store(struct ph_call *c, const struct ph_store *a);

/*
 * Give a job back: to the retry zset or the dead list (see script_reschedule).
 * A dead job drops its pending marker if the marker holds it: pending_key,
 * or NULL when the job does not decode (it has none).
 */
struct ph_reschedule {
	const char *processing_key, *retry_key, *dead_key, *lock_key, *stats_key;
	const char *pending_key;
	const char *job; /* as taken */
	size_t job_len;
	int dead;          /* 1: dead list, 0: retry */
	const char *entry; /* the retry job or the dead entry */
	uint64_t delay_ms; /* a retry is due this long after Redis' TIME */
	const char *token; /* "" when no lock is held */
	const char *stats_field;
	const char *latency_field; /* "" when no GET was made */
	const char *latency_sum_field;
	long latency_ms;
};
void ph_call_reschedule(struct ph_call *c, const struct ph_reschedule *a);

/*
 * The scripts below read the time from Redis (TIME): the caller passes
 * durations, never its own clock.
 */

/* Move due retries to the queue. Reply {moved, ms until the next is due or -1}. */
void ph_call_due(struct ph_call *c, const char *retry_key, const char *queue_key, long limit);

/* Heartbeat of a worker. Reply the workers silent for timeout_ms (at most limit). */
void ph_call_heartbeat(struct ph_call *c, const char *workers_key, const char *worker,
    long timeout_ms, long limit);

/* Re-queue a worker's processing list if silent for timeout_ms. Reply jobs moved, -1 alive. */
void ph_call_requeue(struct ph_call *c, const char *processing_key, const char *queue_key,
    const char *workers_key, const char *worker, long timeout_ms, int force);

/* Ask a provider's rate limit for n GETs. Reply {granted, ms to wait}. */
struct ph_rate {
	const char *rate_key, *stats_key, *provider;
	double interval_ms; /* 0: no rate */
	double tolerance_ms;
	long wanted;
	long newly_held;
};
void ph_call_rate(struct ph_call *c, const struct ph_rate *a);

/* A 429: hold every fetcher back for hold_ms. */
void ph_call_rate_penalty(struct ph_call *c, const char *rate_key, const char *stats_key,
    const char *provider, uint64_t hold_ms);

/* Move due refreshes: begin, then add each member (with its keys and job). */
struct ph_refresh_due {
	const char *refresh_key, *queue_key, *stats_key;
	long long lease_ms;
	long pending_ttl;
	long long max_age_ms;
};
void ph_call_refresh_due(struct ph_call *c, const struct ph_refresh_due *a);
/* -1 when the call is full. */
int ph_call_refresh_due_add(struct ph_call *c, const char *pending_key, const char *entity_key,
    const char *member, const char *job);

/*
 * Queue a fetch by hand unless one waits (in the queue or the retry zset:
 * the marker holds the job it covers). Reply 1 queued, 2 pending.
 */
void ph_call_refetch(struct ph_call *c, const char *queue_key, const char *retry_key,
    const char *pending_key, const char *job, long pending_ttl);

/* Put a dead entry back. Reply 0 gone, 1 queued, 2 covered. */
struct ph_dead_replay {
	const char *dead_key, *queue_key, *pending_key, *retry_key;
	const char *entry, *job;
	long pending_ttl;
	int use_marker;
};
void ph_call_dead_replay(struct ph_call *c, const struct ph_dead_replay *a);

/* Empty the dead list. Reply the entries it held. */
void ph_call_dead_purge(struct ph_call *c, const char *dead_key);

/*
 * payhook-deliver (DESIGN.md: Delivery). Each endpoint's keys: due, held,
 * dead, endpoint, and an order hash per entity (ph_key_endpoint_entity).
 */

/* How long an entity's order hash lives after its last write: 7 days. */
#define PH_DELIVER_ORDER_TTL_MS 604800000LL

/*
 * Move entries read from events by an endpoint's group to its keys and XACK
 * them: begin, then add each entry. Reply {moved, superseded, filtered}.
 */
struct ph_deliver_intake {
	const char *events_key, *due_key, *held_key, *stats_key;
	const char *group;
	const char *superseded_field, *filtered_field;
};
void ph_call_deliver_intake(struct ph_call *c, const struct ph_deliver_intake *a);
/* An entry: its order hash and record, or NULL for both when filtered out. -1 when full. */
int ph_call_deliver_intake_add(struct ph_call *c, const char *order_key, const char *id,
    const char *record, size_t record_len);

/*
 * Lease due deliveries for lease_ms: begin, then add each member read from
 * due with its order hash. Reply {-2} when the endpoint is disabled, else
 * {ms to the next due or -1, then id, record, until per claimed member}.
 */
void ph_call_deliver_claim(struct ph_call *c, const char *due_key, const char *held_key,
    const char *stats_key, const char *endpoint_key, const char *superseded_field, long lease_ms);
/* -1 when the call is full. */
int ph_call_deliver_claim_add(struct ph_call *c, const char *order_key, const char *id);

/* What became of a POST. */
enum ph_deliver_outcome {
	PH_DELIVER_DELIVERED, /* a 2xx */
	PH_DELIVER_RETRY,     /* due again after delay_ms, record has its attempt counted */
	PH_DELIVER_DEAD,      /* record is the dead entry */
	PH_DELIVER_DISABLED,  /* a 410: the endpoint is disabled, the delivery waits */
};

/* Close a claimed delivery. Reply 0 no longer ours, 1 done, 2 superseded. */
struct ph_deliver_done {
	const char *due_key, *held_key, *order_key, *dead_key, *stats_key, *endpoint_key;
	const char *id;
	const char *until; /* the claim's lease end, as it replied */
	enum ph_deliver_outcome outcome;
	uint64_t delay_ms;
	const char *record; /* retry: the record; dead: the dead entry; else "" */
	size_t record_len;
	const char *outcome_field, *superseded_field;
	const char *latency_field; /* "" when no answer came */
	const char *latency_sum_field, *latency_count_field;
	long latency_ms;
	const char *disabled_reason;
};
void ph_call_deliver_done(struct ph_call *c, const struct ph_deliver_done *a);

/* A dead delivery back to due. Reply 0 gone, 1 due again, 2 superseded. */
struct ph_deliver_replay {
	const char *dead_key, *due_key, *held_key, *order_key, *entity_key, *stats_key;
	const char *entry; /* as listed */
	size_t entry_len;
	const char *id;
	const char *record; /* attempt 0 */
	size_t record_len;
	uint64_t fetched_at;
	const char *superseded_field;
};
void ph_call_deliver_replay(struct ph_call *c, const struct ph_deliver_replay *a);

#endif
