/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The typed encoders of the scripts' KEYS and ARGV (see call.h and lib/scripts.c). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "log.h"

/* Start a call of a script. */
static void
call_begin(struct ph_call *c, enum ph_script script)
{
	c->script = script;
	c->nkeys = 0;
	c->argc = 0;
	c->nnum = 0;
}

/* Add a string of len bytes (KEYS first, then ARGV: call_keys_done in between). */
static void
call_add_len(struct ph_call *c, const char *s, size_t len)
{
	/* The encoders' shapes are fixed and bounded: more is a bug. */
	if (c->argc == PH_CALL_ARGS)
		fatalx("script %d: more than %d arguments", (int)c->script, PH_CALL_ARGS);
	c->argv[c->argc] = s;
	c->lens[c->argc] = len;
	c->argc++;
}

static void
call_add(struct ph_call *c, const char *s)
{
	call_add_len(c, s, strlen(s));
}

/* Everything added so far is KEYS. */
static void
call_keys_done(struct ph_call *c)
{
	c->nkeys = c->argc;
}

/* Add a number, formatted into the call. */
static void __attribute__((format(printf, 2, 3))) call_addf(struct ph_call *c, const char *fmt, ...)
{
	va_list ap;
	char *n;

	if (c->nnum == PH_CALL_NUMS)
		fatalx("script %d: more than %d numbers", (int)c->script, PH_CALL_NUMS);
	n = c->num[c->nnum++];
	va_start(ap, fmt);
	vsnprintf(n, sizeof c->num[0], fmt, ap);
	va_end(ap);
	call_add(c, n);
}

void
ph_call_claim(struct ph_call *c, const struct ph_claim *a)
{
	call_begin(c, PH_SCRIPT_CLAIM);
	call_add(c, a->lock_key);
	call_add(c, a->pending_key);
	call_keys_done(c);
	call_add(c, a->token);
	call_addf(c, "%ld", a->lock_ttl_ms);
}

void
ph_call_store(struct ph_call *c, const struct ph_store *a)
{
	call_begin(c, PH_SCRIPT_STORE);
	call_add(c, a->lock_key);
	call_add(c, a->entity_key);
	call_add(c, a->events_key);
	call_add(c, a->processing_key);
	call_add(c, a->stats_key);
	call_add(c, a->refresh_key);
	call_add(c, a->events_trim_key);
	call_keys_done(c);
	call_add(c, a->token);
	call_add_len(c, a->job, a->job_len);
	call_add_len(c, a->body, a->body_len); /* bytes: never strlen */
	call_addf(c, "%" PRIu64, a->fetched_at);
	call_addf(c, "%ld", a->http_status);
	call_add(c, a->sha256);
	call_add(c, a->notification_id);
	call_add(c, a->provider);
	call_add(c, a->entity_type);
	call_add(c, a->entity_id);
	call_addf(c, "%ld", a->events_maxlen);
	call_add(c, a->latency_field);
	call_addf(c, "%ld", a->latency_ms);
	call_add(c, a->refresh_member);
	call_add(c, a->refresh_class);
	call_add(c, a->refresh_schedule_ms);
	call_add(c, a->refresh_settled_ms);
	call_addf(c, "%lld", a->refresh_max_age_ms);
	call_addf(c, "%u", a->jitter);
	call_add(c, a->status);
	call_addf(c, "%ld", a->events_hard_maxlen);
	call_add(c, a->trimmed_field);
	call_addf(c, "%d", PH_EVENTS_TRIM_MS);
}

void
ph_call_reschedule(struct ph_call *c, const struct ph_reschedule *a)
{
	call_begin(c, PH_SCRIPT_RESCHEDULE);
	call_add(c, a->processing_key);
	call_add(c, a->retry_key);
	call_add(c, a->dead_key);
	call_add(c, a->lock_key);
	call_add(c, a->stats_key);
	/* No marker: any key of the keyspace's slot stands in, never read. */
	call_add(c, a->pending_key != NULL ? a->pending_key : a->retry_key);
	call_keys_done(c);
	call_add_len(c, a->job, a->job_len);
	call_add(c, a->dead ? "dead" : "retry");
	call_add(c, a->entry);
	call_addf(c, "%" PRIu64, a->delay_ms);
	call_add(c, a->token);
	call_add(c, a->stats_field);
	call_add(c, a->latency_field);
	call_add(c, a->latency_sum_field);
	call_addf(c, "%ld", a->latency_ms);
	call_add(c, a->pending_key != NULL ? "1" : "0");
}

void
ph_call_due(struct ph_call *c, const char *retry_key, const char *queue_key, long limit)
{
	call_begin(c, PH_SCRIPT_DUE);
	call_add(c, retry_key);
	call_add(c, queue_key);
	call_keys_done(c);
	call_addf(c, "%ld", limit);
}

void
ph_call_heartbeat(struct ph_call *c, const char *workers_key, const char *worker, long timeout_ms,
    long limit)
{
	call_begin(c, PH_SCRIPT_HEARTBEAT);
	call_add(c, workers_key);
	call_keys_done(c);
	call_add(c, worker);
	call_addf(c, "%ld", timeout_ms);
	call_addf(c, "%ld", limit);
}

void
ph_call_requeue(struct ph_call *c, const char *processing_key, const char *queue_key,
    const char *workers_key, const char *worker, long timeout_ms, int force)
{
	call_begin(c, PH_SCRIPT_REQUEUE);
	call_add(c, processing_key);
	call_add(c, queue_key);
	call_add(c, workers_key);
	call_keys_done(c);
	call_add(c, worker);
	call_addf(c, "%ld", timeout_ms);
	call_add(c, force ? "1" : "0");
}

void
ph_call_rate(struct ph_call *c, const struct ph_rate *a)
{
	call_begin(c, PH_SCRIPT_RATE);
	call_add(c, a->rate_key);
	call_add(c, a->stats_key);
	call_keys_done(c);
	call_addf(c, "%.3f", a->interval_ms);
	call_addf(c, "%.3f", a->tolerance_ms);
	call_addf(c, "%ld", a->wanted);
	call_add(c, a->provider);
	call_addf(c, "%ld", a->newly_held);
}

void
ph_call_rate_penalty(struct ph_call *c, const char *rate_key, const char *stats_key,
    const char *provider, uint64_t hold_ms)
{
	call_begin(c, PH_SCRIPT_RATE_PENALTY);
	call_add(c, rate_key);
	call_add(c, stats_key);
	call_keys_done(c);
	call_addf(c, "%" PRIu64, hold_ms);
	call_add(c, provider);
}

/*
 * The refresh mover's KEYS and ARGV interleave per member (KEYS 2+2i, 3+2i;
 * ARGV 2+2i, 3+2i), so its members are kept apart and laid out when sent.
 * Begin writes the fixed parts; each add inserts one member's keys before
 * the ARGV and its member and job after.
 */
void
ph_call_refresh_due(struct ph_call *c, const struct ph_refresh_due *a)
{
	call_begin(c, PH_SCRIPT_REFRESH_DUE);
	call_add(c, a->refresh_key);
	call_add(c, a->queue_key);
	call_add(c, a->stats_key);
	call_keys_done(c);
	call_addf(c, "%lld", a->lease_ms);
	call_addf(c, "%ld", a->pending_ttl);
	call_addf(c, "%lld", a->max_age_ms);
}

int
ph_call_refresh_due_add(struct ph_call *c, const char *pending_key, const char *entity_key,
    const char *member, const char *job)
{
	int i;

	if (c->argc + 4 > PH_CALL_ARGS)
		return -1;
	/* Two keys in before the ARGV. */
	for (i = c->argc - 1; i >= c->nkeys; i--) {
		c->argv[i + 2] = c->argv[i];
		c->lens[i + 2] = c->lens[i];
	}
	c->argv[c->nkeys] = pending_key;
	c->lens[c->nkeys] = strlen(pending_key);
	c->argv[c->nkeys + 1] = entity_key;
	c->lens[c->nkeys + 1] = strlen(entity_key);
	c->nkeys += 2;
	c->argc += 2;
	call_add(c, member);
	call_add(c, job);
	return 0;
}

void
ph_call_refetch(struct ph_call *c, const char *queue_key, const char *retry_key,
    const char *pending_key, const char *job, long pending_ttl)
{
	call_begin(c, PH_SCRIPT_REFETCH);
	call_add(c, queue_key);
	call_add(c, pending_key);
	call_add(c, retry_key);
	call_keys_done(c);
	call_add(c, job);
	call_addf(c, "%ld", pending_ttl);
}

void
ph_call_dead_replay(struct ph_call *c, const struct ph_dead_replay *a)
{
	call_begin(c, PH_SCRIPT_DEAD_REPLAY);
	call_add(c, a->dead_key);
	call_add(c, a->queue_key);
	call_add(c, a->pending_key);
	call_add(c, a->retry_key);
	call_keys_done(c);
	call_add(c, a->entry);
	call_add(c, a->job);
	call_addf(c, "%ld", a->pending_ttl);
	call_add(c, a->use_marker ? "1" : "0");
}

void
ph_call_dead_purge(struct ph_call *c, const char *dead_key)
{
	call_begin(c, PH_SCRIPT_DEAD_PURGE);
	call_add(c, dead_key);
	call_keys_done(c);
}

void
ph_call_deliver_intake(struct ph_call *c, const struct ph_deliver_intake *a)
{
	call_begin(c, PH_SCRIPT_DELIVER_INTAKE);
	call_add(c, a->events_key);
	call_add(c, a->due_key);
	call_add(c, a->held_key);
	call_add(c, a->stats_key);
	call_keys_done(c);
	call_add(c, a->group);
	call_add(c, a->superseded_field);
	call_add(c, a->filtered_field);
	call_addf(c, "%lld", PH_DELIVER_ORDER_TTL_MS);
}

/* Insert one key before the ARGV (the KEYS of a member go with its ARGV). */
static void
call_insert_key(struct ph_call *c, const char *key)
{
	int i;

	for (i = c->argc - 1; i >= c->nkeys; i--) {
		c->argv[i + 1] = c->argv[i];
		c->lens[i + 1] = c->lens[i];
	}
	c->argv[c->nkeys] = key;
	c->lens[c->nkeys] = strlen(key);
	c->nkeys++;
	c->argc++;
}

int
ph_call_deliver_intake_add(struct ph_call *c, const char *order_key, const char *id,
    const char *record, size_t record_len)
{
	if (c->argc + 3 > PH_CALL_ARGS)
		return -1;
	/* A filtered entry has no order hash: any key of the slot stands in, never read. */
	call_insert_key(c, order_key != NULL ? order_key : c->argv[1]);
	call_add(c, id);
	if (record != NULL)
		call_add_len(c, record, record_len);
	else
		call_add(c, "");
	return 0;
}

void
ph_call_deliver_claim(struct ph_call *c, const char *due_key, const char *held_key,
    const char *stats_key, const char *endpoint_key, const char *superseded_field, long lease_ms)
{
	call_begin(c, PH_SCRIPT_DELIVER_CLAIM);
	call_add(c, due_key);
	call_add(c, held_key);
	call_add(c, stats_key);
	call_add(c, endpoint_key);
	call_keys_done(c);
	call_addf(c, "%ld", lease_ms);
	call_add(c, superseded_field);
	call_addf(c, "%lld", PH_DELIVER_ORDER_TTL_MS);
}

int
ph_call_deliver_claim_add(struct ph_call *c, const char *order_key, const char *id)
{
	if (c->argc + 2 > PH_CALL_ARGS)
		return -1;
	call_insert_key(c, order_key);
	call_add(c, id);
	return 0;
}

void
ph_call_deliver_done(struct ph_call *c, const struct ph_deliver_done *a)
{
	static const char *const outcome[] = {
		[PH_DELIVER_DELIVERED] = "delivered",
		[PH_DELIVER_RETRY] = "retry",
		[PH_DELIVER_DEAD] = "dead",
		[PH_DELIVER_DISABLED] = "disabled",
	};

	call_begin(c, PH_SCRIPT_DELIVER_DONE);
	call_add(c, a->due_key);
	call_add(c, a->held_key);
	call_add(c, a->order_key);
	call_add(c, a->dead_key);
	call_add(c, a->stats_key);
	call_add(c, a->endpoint_key);
	call_keys_done(c);
	call_add(c, a->id);
	call_add(c, a->until);
	call_add(c, outcome[a->outcome]);
	call_addf(c, "%" PRIu64, a->delay_ms);
	call_add_len(c, a->record != NULL ? a->record : "", a->record != NULL ? a->record_len : 0);
	call_add(c, a->outcome_field);
	call_add(c, a->superseded_field);
	call_add(c, a->latency_field);
	call_add(c, a->latency_sum_field);
	call_add(c, a->latency_count_field);
	call_addf(c, "%ld", a->latency_ms);
	call_addf(c, "%lld", PH_DELIVER_ORDER_TTL_MS);
	call_add(c, a->disabled_reason != NULL ? a->disabled_reason : "410");
}

void
ph_call_deliver_replay(struct ph_call *c, const struct ph_deliver_replay *a)
{
	call_begin(c, PH_SCRIPT_DELIVER_REPLAY);
	call_add(c, a->dead_key);
	call_add(c, a->due_key);
	call_add(c, a->held_key);
	call_add(c, a->order_key);
	call_add(c, a->entity_key);
	call_add(c, a->stats_key);
	call_keys_done(c);
	call_add_len(c, a->entry, a->entry_len);
	call_add(c, a->id);
	call_add_len(c, a->record, a->record_len);
	call_addf(c, "%" PRIu64, a->fetched_at);
	call_add(c, a->superseded_field);
	call_addf(c, "%lld", PH_DELIVER_ORDER_TTL_MS);
}
