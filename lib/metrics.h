/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Metrics: counters live in the Redis hash {p}stats, so /metrics shows the
 * sum over every handler and fetcher process on every machine.
 * Fields:
 *   notifications:{provider}:{accepted|duplicate|unavailable}
 *   notifications:{provider}:rejected:{reason}     (provider "unknown" for 404s)
 *   fetch:{provider}:{stored|unchanged|retried|dead|lock_wait}
 *   fetch_ms:{provider}:{le}  one count per observation, in the first bucket
 *                             whose upper bound (ms, or "inf") holds it
 *   fetch_ms_sum:{provider}   total milliseconds
 */
#ifndef PH_METRICS_H
#define PH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "redis.h"

/* Upper bounds (ms) of the fetch latency histogram; the last bucket is +Inf. */
#define PH_FETCH_BUCKETS 11
extern const long ph_fetch_buckets_ms[PH_FETCH_BUCKETS];

/* The stats field of a fetch latency observation: "fetch_ms:{provider}:{le}". */
int metrics_latency_field(char *buf, size_t len, const char *provider, long ms);

/* What is in Redis now: key lengths, fetchers and the stats hash. */
struct ph_gauges {
	long long queue;
	long long retry;
	long long processing; /* jobs in every registered worker's processing list */
	long long dead;
	long long events;
	long long notifications;
	long workers;              /* registered in {p}workers */
	long live;                 /* of them, with a heartbeat newer than worker_timeout */
	int64_t oldest_ms;         /* age of the oldest queued job; -1 when none */
	long long refresh_tracked; /* entities in {p}refresh */
	int64_t refresh_lag_ms;    /* how overdue the most overdue refresh is; 0 when none */
	redisReply *stats;         /* HGETALL {p}stats (an array) */
};

/*
 * Read the gauges in two pipelined round trips. 0, or -1 with r->err. The
 * caller frees g->stats with freeReplyObject after a success.
 */
int metrics_collect(struct ph_redis *r, const struct ph_config *cfg, struct ph_gauges *g);

/*
 * Render the Prometheus text exposition of everything in Redis into an
 * allocated buffer (caller frees). -1 with r->err when Redis failed.
 */
int metrics_render(struct ph_redis *r, const struct ph_config *cfg, char **out, size_t *outlen);

#endif
