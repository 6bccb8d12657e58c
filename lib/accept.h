/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Accepting a notification: the one Redis round trip of DESIGN.md. */
#ifndef PH_ACCEPT_H
#define PH_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "job.h"
#include "provider.h"
#include "redis.h"

enum ph_accept {
	PH_ACCEPT_NEW,         /* recorded; jobs queued or covered by waiting ones */
	PH_ACCEPT_DUPLICATE,   /* its id was seen before: nothing written */
	PH_ACCEPT_UNAVAILABLE, /* Redis unreachable or erroring: answer 503 */
};

/* What every notification's script call shares: built once, at start-up. */
struct ph_accept_ctx {
	const struct ph_config *cfg;
	char queue[PH_KEY_MAX];
	char dead[PH_KEY_MAX];
	char notifications[PH_KEY_MAX];
	char stats[PH_KEY_MAX];
	char dedup_ttl[24];
	char pending_ttl[24];
	char maxlen[24];
};

/* Build the shared keys and arguments; -1 if the prefix makes a key too long. */
int accept_init(struct ph_accept_ctx *ctx, const struct ph_config *cfg);

/* The arguments of one accept script call, built by accept_prepare (they point into it). */
struct ph_accept_call {
	char seen[PH_KEY_MAX];
	char pending[PH_MAX_ENTITIES][PH_KEY_MAX];
	char jobs[PH_MAX_ENTITIES][PH_JOB_MAX];
	char dead[PH_MAX_ENTITIES][PH_JOB_MAX];
	char now[24];
	char count[8];
	char notification_id[PH_ID_MAX + 1];
	const char *argv[5 + PH_MAX_ENTITIES + 10 + 3 * PH_MAX_ENTITIES];
	size_t lens[5 + PH_MAX_ENTITIES + 10 + 3 * PH_MAX_ENTITIES];
	int nkeys;
	int argc;
};

/*
 * Build the script call of a validated notification (body must outlive the
 * call). 0, or -1 when a key or job does not fit (the prefix).
 */
int accept_prepare(const struct ph_accept_ctx *ctx, const struct ph_provider *p,
    const struct ph_notification *n, const char *body, size_t len, uint64_t now_ms,
    struct ph_accept_call *call);

/*
 * Read the script's verdict from its reply; PH_ACCEPT_UNAVAILABLE with the
 * reason in err when it is not one (an error reply).
 */
enum ph_accept accept_verdict(const redisReply *rep, int *queued, char *err, size_t errlen);

/*
 * Record a validated notification: seen (SET NX), pending markers and jobs,
 * dead letters for entity types with no route, the raw notification. *queued
 * gets the number of jobs pushed. On PH_ACCEPT_UNAVAILABLE the reason is in
 * r->err.
 */
enum ph_accept accept_notification(const struct ph_accept_ctx *ctx, struct ph_redis *r,
    const struct ph_provider *p, const struct ph_notification *n, const char *body, size_t len,
    uint64_t now_ms, int *queued);

enum ph_refetch {
	PH_REFETCH_QUEUED,      /* a job was queued */
	PH_REFETCH_PENDING,     /* a job for the entity waits already: nothing queued */
	PH_REFETCH_UNAVAILABLE, /* Redis unreachable or erroring (reason in r->err) */
};

/*
 * Queue a fetch of the job's entity by hand (POST /entities/.../refetch,
 * payhookctl refetch) under its pending marker, like a notification.
 */
enum ph_refetch accept_refetch(const struct ph_accept_ctx *ctx, struct ph_redis *r,
    const struct ph_job *job);

#endif
