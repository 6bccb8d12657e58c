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

#include "conf.h"
#include "redis.h"

/* Upper bounds (ms) of the fetch latency histogram; the last bucket is +Inf. */
#define PH_FETCH_BUCKETS 11
extern const long ph_fetch_buckets_ms[PH_FETCH_BUCKETS];

/* The stats field of a fetch latency observation: "fetch_ms:{provider}:{le}". */
int metrics_latency_field(char *buf, size_t len, const char *provider, long ms);

/*
 * Render the Prometheus text exposition of everything in Redis into an
 * allocated buffer (caller frees). -1 with r->err when Redis failed.
 */
int metrics_render(struct ph_redis *r, const struct ph_config *cfg, char **out, size_t *outlen);

#endif
