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
 *   events:trimmed_unread     events a consumer group had not read, trimmed
 *                             past events_hard_maxlen (script_store)
 *   deliveries:{endpoint}:{outcome}          payhook-deliver's outcomes
 *   delivery_seconds:{endpoint}:{le|sum|count} its latency histogram
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

/* The most consumer groups of the events stream read in one scrape. */
#define PH_EVENTS_GROUPS_MAX 64
/* The longest group name shown: 1..128 of [A-Za-z0-9_.:-] (others are skipped). */
#define PH_EVENTS_GROUP_NAME_MAX 128

/* A consumer group of the events stream, from XINFO GROUPS. */
struct ph_events_group {
	char name[PH_EVENTS_GROUP_NAME_MAX + 1];
	long long consumers;
	long long pending; /* delivered, not acknowledged */
	long long lag;     /* not yet delivered; -1 when Redis cannot tell (Redis < 7, deletions) */
	char last_id[48];  /* last-delivered-id */
};

/*
 * Read the groups of an XINFO GROUPS reply into out (at most max, names
 * checked as above). Returns how many; *skipped counts the groups left out
 * (bad name, or past max). An error reply (no stream yet) has none.
 */
int metrics_events_groups(const redisReply *rep, struct ph_events_group *out, int max,
    int *skipped);

/* An [endpoint NAME] of the config, as Redis holds it now. */
struct ph_endpoint_gauge {
	const char *name;         /* the config's */
	int up;                   /* 0 while disabled (a 410): endpoint:{NAME} has disabled_at */
	uint64_t disabled_at;     /* ms, Redis time; 0 when up */
	char disabled_reason[16]; /* "410", "" when up or unknown */
	long long group_lag;      /* events its group has not read; -1 when Redis cannot tell */
	long long due;            /* deliveries in endpoint:{NAME}:due (waiting or retrying) */
	long long dead;           /* entries of endpoint:{NAME}:dead */
};

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
	int ngroups;               /* consumer groups of the events stream */
	int groups_skipped;        /* left out: bad name or past PH_EVENTS_GROUPS_MAX */
	struct ph_events_group groups[PH_EVENTS_GROUPS_MAX];
	int nendpoints; /* as the config's */
	struct ph_endpoint_gauge endpoints[PH_MAX_ENDPOINTS];
};

/* An endpoint's lag: its group's (0 without a group) plus its due deliveries; -1 unknown. */
long long metrics_endpoint_lag(const struct ph_endpoint_gauge *e);

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
