/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Prometheus text format from the stats hash and the lengths of the keys. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "job.h"
#include "metrics.h"
#include "payhook.h"
#include "provider.h"

const long ph_fetch_buckets_ms[PH_FETCH_BUCKETS] = {
	10,
	25,
	50,
	100,
	250,
	500,
	1000,
	2500,
	5000,
	10000,
	30000,
};

/* The most workers whose processing lists are counted in one scrape. */
#define METRICS_MAX_WORKERS 1024
#define METRICS_MAX_PROVIDERS 16

struct mbuf {
	char *buf;
	size_t len;
	size_t size;
	int failed;
};

/* Append formatted text, growing the buffer. */
static void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->size - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *nb = realloc(b->buf, b->size * 2 + (size_t)n);
		if (nb == NULL) {
			b->failed = 1;
			return;
		}
		b->buf = nb;
		b->size = b->size * 2 + (size_t)n;
	}
}

/* Whether the first word of a stats field names the family. */
static int
metrics_family(const char *word, enum ph_stat_family family)
{
	const char *name = ph_stat_prefix(family);
	size_t n = strlen(name) - 1; /* without its ':' */

	return strncmp(word, name, n) == 0 && word[n] == '\0';
}

/* Name the stats field of a latency observation. */
int
metrics_latency_field(char *buf, size_t len, const char *provider, long ms)
{
	char le[24];
	int i, n;

	for (i = 0; i < PH_FETCH_BUCKETS; i++) {
		if (ms <= ph_fetch_buckets_ms[i])
			break;
	}
	if (i < PH_FETCH_BUCKETS)
		snprintf(le, sizeof le, "%ld", ph_fetch_buckets_ms[i]);
	else
		snprintf(le, sizeof le, "inf");
	n = ph_stat_field(buf, len, PH_STAT_FETCH_MS, provider, le);
	return n > 0 ? 0 : -1;
}

/* Tell whether a label value read from Redis is safe to print: [a-z0-9_]. */
static int
metrics_label_ok(const char *s, size_t len)
{
	return ph_type_valid(s, len);
}

/* Tell whether a consumer group's name can be a label value: 1..128 of [A-Za-z0-9_.:-]. */
static int
metrics_group_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PH_EVENTS_GROUP_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' ||
		        ch == '-'))
			return 0;
	}
	return 1;
}

/* Read the groups of XINFO GROUPS (RESP2: per group a flat array of names and values). */
int
metrics_events_groups(const redisReply *rep, struct ph_events_group *out, int max, int *skipped)
{
	size_t i, k;
	int n = 0;

	*skipped = 0;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i < rep->elements; i++) {
		const redisReply *g = rep->element[i];
		struct ph_events_group e = { .lag = -1 };
		int named = 0;

		if (g->type != REDIS_REPLY_ARRAY)
			continue;
		for (k = 0; k + 1 < g->elements; k += 2) {
			const redisReply *f = g->element[k], *v = g->element[k + 1];

			if (f->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(f->str, "name") == 0 && v->type == REDIS_REPLY_STRING &&
			    metrics_group_ok(v->str, (size_t)v->len)) {
				memcpy(e.name, v->str, (size_t)v->len + 1);
				named = 1;
			} else if (strcmp(f->str, "consumers") == 0 &&
			    v->type == REDIS_REPLY_INTEGER)
				e.consumers = v->integer;
			else if (strcmp(f->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
				e.pending = v->integer;
			else if (strcmp(f->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
				e.lag = v->integer;
			else if (strcmp(f->str, "last-delivered-id") == 0 &&
			    v->type == REDIS_REPLY_STRING && (size_t)v->len < sizeof e.last_id)
				memcpy(e.last_id, v->str, (size_t)v->len + 1);
		}
		if (!named || n == max) {
			(*skipped)++;
			continue;
		}
		out[n++] = e;
	}
	return n;
}

/* Split "a:b:c[:d]" into up to 4 parts; returns the count. */
static int
metrics_split(char *s, char **parts, int max)
{
	int n = 0;

	while (n < max) {
		parts[n++] = s;
		s = strchr(s, ':');
		if (s == NULL)
			break;
		*s++ = '\0';
	}
	return s == NULL ? n : max + 1;
}

struct latency {
	char provider[PH_TYPE_MAX + 1];
	long long buckets[PH_FETCH_BUCKETS + 1];
	long long sum_ms;
};

/* Find or add the latency record of a provider. */
static struct latency *
metrics_latency(struct latency *l, int *n, const char *provider)
{
	int i;

	for (i = 0; i < *n; i++) {
		if (strcmp(l[i].provider, provider) == 0)
			return &l[i];
	}
	if (*n == METRICS_MAX_PROVIDERS)
		return NULL;
	memset(&l[*n], 0, sizeof l[*n]);
	snprintf(l[*n].provider, sizeof l[*n].provider, "%s", provider);
	return &l[(*n)++];
}

/* Print the family of the stats fields {prefix}{outcome} as name{outcome="..."}. */
static void
metrics_outcomes(struct mbuf *b, const redisReply *stats, const char *prefix, const char *name,
    const char *help)
{
	size_t k, plen = strlen(prefix);

	mbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (k = 0; k + 1 < stats->elements; k += 2) {
		const redisReply *f = stats->element[k], *v = stats->element[k + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    strncmp(f->str, prefix, plen) != 0 ||
		    !metrics_label_ok(f->str + plen, strlen(f->str + plen)))
			continue;
		mbuf_printf(b, "%s{outcome=\"%s\"} %s\n", name, f->str + plen, v->str);
	}
}

/*
 * Print payhook_notifications_rejected_total{provider,reason} from the
 * fields sig_rejected:{provider}:{reason}: signatures refused (401).
 */
static void
metrics_sig_rejected(struct mbuf *b, const redisReply *stats)
{
	const char *prefix = ph_stat_prefix(PH_STAT_SIG_REJECTED),
	           *name = "payhook_notifications_rejected_total";
	size_t k, plen = strlen(prefix);
	char field[256], *colon;

	mbuf_printf(b,
	    "# HELP %s Notifications of signing providers refused (401), by provider and "
	    "reason: signature, timestamp or header.\n# TYPE %s counter\n",
	    name, name);
	for (k = 0; k + 1 < stats->elements; k += 2) {
		const redisReply *f = stats->element[k], *v = stats->element[k + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    f->len >= sizeof field || strncmp(f->str, prefix, plen) != 0)
			continue;
		memcpy(field, f->str + plen, f->len - plen + 1);
		colon = strchr(field, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (!metrics_label_ok(field, strlen(field)) ||
		    !metrics_label_ok(colon + 1, strlen(colon + 1)))
			continue;
		mbuf_printf(b, "%s{provider=\"%s\",reason=\"%s\"} %s\n", name, field, colon + 1,
		    v->str);
	}
}

/* Print the counters of the stats hash. */
static void
metrics_counters(struct mbuf *b, redisReply *stats)
{
	struct latency lat[METRICS_MAX_PROVIDERS];
	char field[256], *p[5];
	int nlat = 0, pass, n, i, j;
	size_t k;

	/* Two passes: notifications, then fetches, so each family is one block. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			mbuf_printf(b,
			    "# HELP payhook_notifications_total Notifications answered, by "
			    "provider and outcome.\n"
			    "# TYPE payhook_notifications_total counter\n");
		else
			mbuf_printf(b,
			    "# HELP payhook_fetches_total Entity fetches finished, by provider and "
			    "outcome.\n"
			    "# TYPE payhook_fetches_total counter\n");
		for (k = 0; k + 1 < stats->elements; k += 2) {
			redisReply *f = stats->element[k], *v = stats->element[k + 1];

			if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
			    f->len >= sizeof field)
				continue;
			memcpy(field, f->str, (size_t)f->len + 1);
			n = metrics_split(field, p, 4);
			if (n < 3 || n > 4 || !metrics_label_ok(p[1], strlen(p[1])) ||
			    !metrics_label_ok(p[2], strlen(p[2])))
				continue;
			if (n == 4 && !metrics_label_ok(p[3], strlen(p[3])))
				continue;
			if (pass == 0 && metrics_family(p[0], PH_STAT_NOTIFICATIONS)) {
				if (n == 4)
					mbuf_printf(b,
					    "payhook_notifications_total{provider=\"%s\","
					    "outcome=\"%s\",reason=\"%s\"} %s\n",
					    p[1], p[2], p[3], v->str);
				else
					mbuf_printf(b,
					    "payhook_notifications_total{provider=\"%s\","
					    "outcome=\"%s\"} %s\n",
					    p[1], p[2], v->str);
			} else if (pass == 1 && metrics_family(p[0], PH_STAT_FETCH) && n == 3) {
				mbuf_printf(b,
				    "payhook_fetches_total{provider=\"%s\",outcome=\"%s\"} %s\n",
				    p[1], p[2], v->str);
			} else if (pass == 1 && metrics_family(p[0], PH_STAT_FETCH_MS) && n == 3) {
				struct latency *l = metrics_latency(lat, &nlat, p[1]);
				if (l == NULL)
					continue;
				for (j = 0; j < PH_FETCH_BUCKETS; j++) {
					char le[24];
					snprintf(le, sizeof le, "%ld", ph_fetch_buckets_ms[j]);
					if (strcmp(p[2], le) == 0)
						break;
				}
				if (j < PH_FETCH_BUCKETS || strcmp(p[2], "inf") == 0)
					l->buckets[j] += strtoll(v->str, NULL, 10);
			}
		}
	}
	metrics_sig_rejected(b, stats);
	/* spool:{outcome} and refresh:{outcome}: one counter family each. */
	metrics_outcomes(b, stats, ph_stat_prefix(PH_STAT_SPOOL), "payhook_spool_records_total",
	    "Spooled notifications replayed into Redis, found duplicate, dead-lettered, or "
	    "dropped (torn or corrupt), by outcome.");
	metrics_outcomes(b, stats, ph_stat_prefix(PH_STAT_REFRESH), "payhook_refreshes_total",
	    "Due refreshes moved to the queue, covered by a job already waiting, or dropped "
	    "past refresh_max_age, by outcome.");
	/* rate:{provider}:{held|throttled}: the providers' shared rate limits. */
	for (pass = 0; pass < 2; pass++) {
		const char *what = pass == 0 ? "held" : "throttled";

		mbuf_printf(b,
		    "# HELP payhook_rate_%s_total %s\n# TYPE payhook_rate_%s_total counter\n", what,
		    pass == 0 ? "GETs held back by the provider's max_rps, by provider."
		              : "429 answers that held every fetcher back, by provider.",
		    what);
		for (k = 0; k + 1 < stats->elements; k += 2) {
			redisReply *f = stats->element[k], *v = stats->element[k + 1];

			if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
			    f->len >= sizeof field ||
			    strncmp(f->str, ph_stat_prefix(PH_STAT_RATE),
			        strlen(ph_stat_prefix(PH_STAT_RATE))) != 0)
				continue;
			memcpy(field, f->str, (size_t)f->len + 1);
			n = metrics_split(field, p, 4);
			if (n != 3 || strcmp(p[2], what) != 0 ||
			    !metrics_label_ok(p[1], strlen(p[1])))
				continue;
			mbuf_printf(b, "payhook_rate_%s_total{provider=\"%s\"} %s\n", what, p[1],
			    v->str);
		}
	}
	/* fetch_ms_sum:{provider} has two parts: read it apart. */
	for (k = 0; k + 1 < stats->elements; k += 2) {
		redisReply *f = stats->element[k], *v = stats->element[k + 1];

		const char *sum = ph_stat_prefix(PH_STAT_FETCH_MS_SUM);
		size_t sl = strlen(sum);

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    strncmp(f->str, sum, sl) != 0 ||
		    !metrics_label_ok(f->str + sl, strlen(f->str + sl)))
			continue;
		struct latency *l = metrics_latency(lat, &nlat, f->str + sl);
		if (l != NULL)
			l->sum_ms += strtoll(v->str, NULL, 10);
	}

	mbuf_printf(b,
	    "# HELP payhook_fetch_duration_seconds Time from request to answer of entity GETs.\n"
	    "# TYPE payhook_fetch_duration_seconds histogram\n");
	for (i = 0; i < nlat; i++) {
		long long cum = 0;

		for (j = 0; j <= PH_FETCH_BUCKETS; j++) {
			cum += lat[i].buckets[j];
			if (j < PH_FETCH_BUCKETS)
				mbuf_printf(b,
				    "payhook_fetch_duration_seconds_bucket{provider=\"%s\","
				    "le=\"%g\"} %lld\n",
				    lat[i].provider, (double)ph_fetch_buckets_ms[j] / 1000.0, cum);
			else
				mbuf_printf(b,
				    "payhook_fetch_duration_seconds_bucket{provider=\"%s\","
				    "le=\"+Inf\"} %lld\n",
				    lat[i].provider, cum);
		}
		mbuf_printf(b, "payhook_fetch_duration_seconds_sum{provider=\"%s\"} %.3f\n",
		    lat[i].provider, (double)lat[i].sum_ms / 1000.0);
		mbuf_printf(b, "payhook_fetch_duration_seconds_count{provider=\"%s\"} %lld\n",
		    lat[i].provider, cum);
	}
}

/* The value of one stats field, 0 when absent. */
static long long
metrics_stat(const redisReply *stats, const char *field)
{
	size_t k;

	for (k = 0; k + 1 < stats->elements; k += 2) {
		const redisReply *f = stats->element[k], *v = stats->element[k + 1];

		if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    strcmp(f->str, field) == 0)
			return strtoll(v->str, NULL, 10);
	}
	return 0;
}

/* Print the consumer groups of the events stream and the unread entries trimmed. */
static void
metrics_events(struct mbuf *b, const struct ph_gauges *g)
{
	char field[64];
	int i;

	ph_stat_field(field, sizeof field, PH_STAT_EVENTS, "trimmed_unread", NULL);
	mbuf_printf(b,
	    "# HELP payhook_events_trimmed_unread_total Events a consumer group had not read "
	    "or acknowledged, trimmed past events_hard_maxlen.\n"
	    "# TYPE payhook_events_trimmed_unread_total counter\n"
	    "payhook_events_trimmed_unread_total %lld\n",
	    metrics_stat(g->stats, field));
	mbuf_printf(b,
	    "# HELP payhook_events_group_lag Entries of the events stream not yet delivered to "
	    "the consumer group.\n"
	    "# TYPE payhook_events_group_lag gauge\n");
	for (i = 0; i < g->ngroups; i++) {
		if (g->groups[i].lag >= 0)
			mbuf_printf(b, "payhook_events_group_lag{group=\"%s\"} %lld\n",
			    g->groups[i].name, g->groups[i].lag);
	}
	mbuf_printf(b,
	    "# HELP payhook_events_group_pending Entries of the events stream delivered to the "
	    "consumer group and not acknowledged.\n"
	    "# TYPE payhook_events_group_pending gauge\n");
	for (i = 0; i < g->ngroups; i++)
		mbuf_printf(b, "payhook_events_group_pending{group=\"%s\"} %lld\n",
		    g->groups[i].name, g->groups[i].pending);
}

/* An endpoint's lag. */
long long
metrics_endpoint_lag(const struct ph_endpoint_gauge *e)
{
	return e->group_lag < 0 ? -1 : e->group_lag + e->due;
}

/* The index of an endpoint of the config by name, -1 if none. */
static int
metrics_endpoint_find(const struct ph_gauges *g, const char *name, size_t len)
{
	int i;

	for (i = 0; i < g->nendpoints; i++) {
		if (strlen(g->endpoints[i].name) == len &&
		    memcmp(g->endpoints[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

/* The index of s (len bytes) in a table of n names, -1 if none. */
static int
metrics_index(const char *const *table, int n, const char *s, size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strlen(table[i]) == len && memcmp(table[i], s, len) == 0)
			return i;
	}
	return -1;
}

/*
 * The counters of payhook-deliver, per endpoint of the config: every
 * outcome and bucket is printed, 0 when not counted yet, so that an alert
 * on increase() sees the first dead delivery. The buckets' stats fields
 * hold one count per observation (the first bucket that holds it); the
 * histogram printed is cumulative.
 */
static void
metrics_deliveries(struct mbuf *b, const struct ph_gauges *g)
{
	long long count[PH_MAX_ENDPOINTS][DELIVER_NCOUNTS];
	long long bucket[PH_MAX_ENDPOINTS][PH_DELIVER_BUCKETS];
	long long sum_ms[PH_MAX_ENDPOINTS];
	const char *dprefix = ph_stat_prefix(PH_STAT_DELIVERIES);
	const char *sprefix = ph_stat_prefix(PH_STAT_DELIVERY_SECONDS);
	size_t dl = strlen(dprefix), sl = strlen(sprefix), k;
	int i, j;

	memset(count, 0, sizeof count);
	memset(bucket, 0, sizeof bucket);
	memset(sum_ms, 0, sizeof sum_ms);
	for (k = 0; g->stats->type == REDIS_REPLY_ARRAY && k + 1 < g->stats->elements; k += 2) {
		const redisReply *f = g->stats->element[k], *v = g->stats->element[k + 1];
		const char *rest, *colon;
		long long n;
		int e, o;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strncmp(f->str, dprefix, dl) == 0)
			rest = f->str + dl;
		else if (strncmp(f->str, sprefix, sl) == 0)
			rest = f->str + sl;
		else
			continue;
		/* {endpoint}:{what}: the endpoint's name has no ':'. */
		if ((colon = strchr(rest, ':')) == NULL ||
		    (e = metrics_endpoint_find(g, rest, (size_t)(colon - rest))) < 0)
			continue;
		n = strtoll(v->str, NULL, 10);
		colon++;
		if (rest == f->str + dl) {
			o = metrics_index(ph_deliver_counts, DELIVER_NCOUNTS, colon, strlen(colon));
			if (o >= 0)
				count[e][o] += n;
		} else if (strcmp(colon, "sum") == 0)
			sum_ms[e] += n;
		else if ((o = metrics_index(ph_deliver_buckets, PH_DELIVER_BUCKETS, colon,
		              strlen(colon))) >= 0)
			bucket[e][o] += n;
		/* :count is the +Inf bucket's sum: the buckets say it. */
	}

	mbuf_printf(b,
	    "# HELP payhook_deliveries_total Deliveries of events to the merchant's endpoints "
	    "that ended, by endpoint and outcome (payhook-deliver).\n"
	    "# TYPE payhook_deliveries_total counter\n");
	for (i = 0; i < g->nendpoints; i++) {
		for (j = 0; j < DELIVER_NCOUNTS; j++)
			mbuf_printf(b,
			    "payhook_deliveries_total{endpoint=\"%s\",outcome=\"%s\"} %lld\n",
			    g->endpoints[i].name, ph_deliver_counts[j], count[i][j]);
	}
	mbuf_printf(b,
	    "# HELP payhook_delivery_seconds Time from the POST of a delivery to the endpoint's "
	    "answer.\n"
	    "# TYPE payhook_delivery_seconds histogram\n");
	for (i = 0; i < g->nendpoints; i++) {
		long long cum = 0;

		for (j = 0; j < PH_DELIVER_BUCKETS; j++) {
			cum += bucket[i][j];
			mbuf_printf(b,
			    "payhook_delivery_seconds_bucket{endpoint=\"%s\",le=\"%s\"} %lld\n",
			    g->endpoints[i].name, ph_deliver_buckets[j], cum);
		}
		mbuf_printf(b, "payhook_delivery_seconds_sum{endpoint=\"%s\"} %.3f\n",
		    g->endpoints[i].name, (double)sum_ms[i] / 1000.0);
		mbuf_printf(b, "payhook_delivery_seconds_count{endpoint=\"%s\"} %lld\n",
		    g->endpoints[i].name, cum);
	}
	mbuf_printf(b,
	    "# HELP payhook_endpoint_lag_events Events waiting for the endpoint: not yet read by "
	    "its consumer group, plus deliveries due or retrying.\n"
	    "# TYPE payhook_endpoint_lag_events gauge\n");
	for (i = 0; i < g->nendpoints; i++) {
		long long lag = metrics_endpoint_lag(&g->endpoints[i]);

		if (lag >= 0)
			mbuf_printf(b, "payhook_endpoint_lag_events{endpoint=\"%s\"} %lld\n",
			    g->endpoints[i].name, lag);
	}
	mbuf_printf(b,
	    "# HELP payhook_endpoint_up 1 while the endpoint takes deliveries, 0 while a 410 "
	    "disabled it (payhookctl endpoints enable).\n"
	    "# TYPE payhook_endpoint_up gauge\n");
	for (i = 0; i < g->nendpoints; i++)
		mbuf_printf(b, "payhook_endpoint_up{endpoint=\"%s\"} %d\n", g->endpoints[i].name,
		    g->endpoints[i].up);
}

/* Print one gauge. */
static void
metrics_gauge(struct mbuf *b, const char *name, const char *help, double value)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.15g\n", name, help, name, name, value);
}

/* Take one reply of the batch; NULL (lost: r's reason) or an error reply (freed) fails. */
static redisReply *
metrics_reply(struct ph_redis *r, struct ph_pipe *p)
{
	redisReply *rep = ph_pipe_reply(p);

	if (rep == NULL)
		return NULL;
	if (rep->type == REDIS_REPLY_ERROR) {
		ph_redis_set_err(r, "metrics: %s", rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/*
 * The lag of one consumer group in an XINFO GROUPS reply: 0 when there is
 * no such group (payhook-deliver creates it at "$": nothing before waits
 * for it), -1 when Redis cannot tell (Redis < 7, or entries deleted).
 */
static long long
metrics_group_lag(const redisReply *rep, const char *group)
{
	size_t i, k;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i < rep->elements; i++) {
		const redisReply *gr = rep->element[i];
		long long lag = -1;
		int found = 0;

		if (gr->type != REDIS_REPLY_ARRAY)
			continue;
		for (k = 0; k + 1 < gr->elements; k += 2) {
			const redisReply *f = gr->element[k], *v = gr->element[k + 1];

			if (f->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(f->str, "name") == 0 && v->type == REDIS_REPLY_STRING &&
			    strcmp(v->str, group) == 0)
				found = 1;
			else if (strcmp(f->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
				lag = v->integer;
		}
		if (found)
			return lag;
	}
	return 0;
}

/* Ask for an endpoint's state: HMGET of its hash, ZCARD due, LLEN dead. 0, or -1. */
static int
metrics_endpoint_ask(struct ph_pipe *p, const struct ph_config *cfg, const char *name)
{
	char kh[PH_KEY_MAX], kdue[PH_KEY_MAX], kdead[PH_KEY_MAX];

	if (ph_key_of(kh, sizeof kh, cfg->redis.prefix, PH_KEY_ENDPOINT, name, NULL, NULL) < 0 ||
	    ph_key_of(kdue, sizeof kdue, cfg->redis.prefix, PH_KEY_ENDPOINT_DUE, name, NULL, NULL) <
	        0 ||
	    ph_key_of(kdead, sizeof kdead, cfg->redis.prefix, PH_KEY_ENDPOINT_DEAD, name, NULL,
	        NULL) < 0)
		return -1;
	if (ph_pipe_fmt(p, "HMGET %s disabled_at disabled_reason", kh) != 0 ||
	    ph_pipe_fmt(p, "ZCARD %s", kdue) != 0 || ph_pipe_fmt(p, "LLEN %s", kdead) != 0)
		return -1;
	return 0;
}

/* Read an endpoint's state from the replies of metrics_endpoint_ask. 0, or -1 (r's reason). */
static int
metrics_endpoint_read(struct ph_redis *r, struct ph_pipe *p, struct ph_endpoint_gauge *e)
{
	redisReply *h = metrics_reply(r, p), *due = metrics_reply(r, p),
	           *dead = metrics_reply(r, p);
	int rc = -1;

	if (h == NULL || due == NULL || dead == NULL)
		goto out;
	e->up = 1;
	if (h->type == REDIS_REPLY_ARRAY && h->elements == 2 &&
	    h->element[0]->type == REDIS_REPLY_STRING) {
		e->up = 0;
		e->disabled_at = strtoull(h->element[0]->str, NULL, 10);
		if (h->element[1]->type == REDIS_REPLY_STRING)
			ph_strlcpy(e->disabled_reason, h->element[1]->str,
			    sizeof e->disabled_reason);
	}
	e->due = due->type == REDIS_REPLY_INTEGER ? due->integer : 0;
	e->dead = dead->type == REDIS_REPLY_INTEGER ? dead->integer : 0;
	rc = 0;
out:
	if (h != NULL)
		freeReplyObject(h);
	if (due != NULL)
		freeReplyObject(due);
	if (dead != NULL)
		freeReplyObject(dead);
	return rc;
}

/* Read the gauges. */
int
metrics_collect(struct ph_redis *r, const struct ph_config *cfg, struct ph_gauges *g)
{
	static const enum ph_key_kind names[] = { PH_KEY_STATS, PH_KEY_QUEUE, PH_KEY_RETRY,
		PH_KEY_DEAD, PH_KEY_WORKERS, PH_KEY_EVENTS, PH_KEY_NOTIFICATIONS, PH_KEY_REFRESH };
	char keys[8][PH_KEY_MAX], key[PH_KEY_MAX];
	redisReply *rep[11] = { 0 }, *len, *w, *groups;
	uint64_t now = ph_now_ms(), rnow, cutoff;
	struct ph_job job;
	char err[128];
	size_t i, asked = 0;
	int rc = -1, got = 0;
	struct ph_pipe p;

	memset(g, 0, sizeof *g);
	g->oldest_ms = -1;
	for (i = 0; i < 8; i++) {
		if (ph_key_of(keys[i], sizeof keys[i], cfg->redis.prefix, names[i], NULL, NULL,
		        NULL) < 0) {
			ph_redis_set_err(r, "metrics: prefix too long");
			return -1;
		}
	}
	if (ph_pipe_init(&p, METRICS_MAX_WORKERS + 12 + 3 * PH_MAX_ENDPOINTS) != 0) {
		ph_redis_set_err(r, "metrics: out of memory");
		return -1;
	}
	/* One batch for the counters and lengths, one for the processing lists. */
	if (ph_pipe_fmt(&p, "HGETALL %s", keys[0]) != 0 ||
	    ph_pipe_fmt(&p, "LLEN %s", keys[1]) != 0 || ph_pipe_fmt(&p, "ZCARD %s", keys[2]) != 0 ||
	    ph_pipe_fmt(&p, "LLEN %s", keys[3]) != 0 ||
	    ph_pipe_fmt(&p, "ZRANGE %s 0 %d WITHSCORES", keys[4], METRICS_MAX_WORKERS - 1) != 0 ||
	    ph_pipe_fmt(&p, "XLEN %s", keys[5]) != 0 || ph_pipe_fmt(&p, "XLEN %s", keys[6]) != 0 ||
	    ph_pipe_fmt(&p, "LINDEX %s -1", keys[1]) != 0 ||
	    ph_pipe_fmt(&p, "ZCARD %s", keys[7]) != 0 ||
	    ph_pipe_fmt(&p, "ZRANGE %s 0 0 WITHSCORES", keys[7]) != 0 ||
	    ph_pipe_fmt(&p, "TIME") != 0 || ph_pipe_fmt(&p, "XINFO GROUPS %s", keys[5]) != 0) {
		ph_redis_set_err(r, "metrics: out of memory");
		goto out;
	}
	/* The endpoints of payhook-deliver, from the config: 3 commands each. */
	for (i = 0; i < (size_t)cfg->nendpoints; i++) {
		if (metrics_endpoint_ask(&p, cfg, cfg->endpoints[i].name) != 0) {
			ph_redis_set_err(r, "metrics: endpoint %s: prefix too long",
			    cfg->endpoints[i].name);
			goto out;
		}
	}
	if (ph_redis_pipe(r, &p) == 0)
		goto out;
	for (i = 0; i < 11; i++)
		rep[i] = metrics_reply(r, &p);
	/* The stream's consumer groups: an error reply (no stream yet) has none. */
	if ((groups = ph_pipe_reply(&p)) != NULL)
		g->ngroups = metrics_events_groups(groups, g->groups, PH_EVENTS_GROUPS_MAX,
		    &g->groups_skipped);
	g->nendpoints = cfg->nendpoints;
	for (i = 0; i < (size_t)cfg->nendpoints; i++) {
		struct ph_endpoint_gauge *e = &g->endpoints[i];
		char group[PH_DELIVER_GROUP_MAX];

		e->name = cfg->endpoints[i].name;
		deliver_group(group, sizeof group, e->name);
		e->group_lag = metrics_group_lag(groups, group);
		if (metrics_endpoint_read(r, &p, e) != 0)
			got = -1;
	}
	if (groups != NULL)
		freeReplyObject(groups);
	if (got != 0)
		goto out;
	for (i = 0; i < 11; i++) {
		if (rep[i] == NULL)
			goto out;
	}
	/* Heartbeats and refresh times are Redis' clock (the scripts take TIME): compare with it. */
	rnow = now;
	if (rep[10]->type == REDIS_REPLY_ARRAY && rep[10]->elements == 2 &&
	    rep[10]->element[0]->type == REDIS_REPLY_STRING &&
	    rep[10]->element[1]->type == REDIS_REPLY_STRING)
		rnow = strtoull(rep[10]->element[0]->str, NULL, 10) * 1000 +
		    strtoull(rep[10]->element[1]->str, NULL, 10) / 1000;
	cutoff = rnow - (uint64_t)cfg->fetcher.worker_timeout * 1000;
	g->refresh_tracked = rep[8]->integer;
	if (rep[9]->type == REDIS_REPLY_ARRAY && rep[9]->elements == 2 &&
	    rep[9]->element[1]->type == REDIS_REPLY_STRING) {
		uint64_t due = strtoull(rep[9]->element[1]->str, NULL, 10);
		g->refresh_lag_ms = due < rnow ? (int64_t)(rnow - due) : 0;
	}
	g->queue = rep[1]->integer;
	g->retry = rep[2]->integer;
	g->dead = rep[3]->integer;
	g->events = rep[5]->integer;
	g->notifications = rep[6]->integer;
	if (rep[7]->type == REDIS_REPLY_STRING &&
	    job_decode(rep[7]->str, (size_t)rep[7]->len, &job, err, sizeof err) == 0)
		g->oldest_ms = job.received_at <= now ? (int64_t)(now - job.received_at) : 0;

	/* Every worker that ever registered may still hold jobs: count all of them. */
	w = rep[4];
	ph_pipe_reset(&p);
	for (i = 0; w->type == REDIS_REPLY_ARRAY && i + 1 < w->elements; i += 2) {
		g->workers++;
		if (strtoull(w->element[i + 1]->str, NULL, 10) >= cutoff)
			g->live++;
		if (!ph_id_valid(w->element[i]->str, (size_t)w->element[i]->len) ||
		    ph_key_of(key, sizeof key, cfg->redis.prefix, PH_KEY_PROCESSING,
		        w->element[i]->str, NULL, NULL) < 0)
			continue;
		if (ph_pipe_fmt(&p, "LLEN %s", key) != 0)
			continue;
		asked++;
	}
	if (asked > 0 && ph_redis_pipe(r, &p) == 0)
		goto out;
	for (i = 0; i < asked; i++) {
		if ((len = metrics_reply(r, &p)) == NULL)
			got = -1;
		else {
			if (len->type == REDIS_REPLY_INTEGER)
				g->processing += len->integer;
			freeReplyObject(len);
		}
	}
	if (got != 0)
		goto out;
	g->stats = rep[0];
	rep[0] = NULL;
	rc = 0;
out:
	for (i = 0; i < 11; i++) {
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	}
	ph_pipe_free(&p);
	return rc;
}

/* Render everything. */
int
metrics_render(struct ph_redis *r, const struct ph_config *cfg, char **out, size_t *outlen)
{
	struct ph_gauges g;
	struct mbuf b = { 0 };

	if (metrics_collect(r, cfg, &g) != 0)
		return -1;
	b.size = 4096;
	b.buf = malloc(b.size);
	if (b.buf == NULL) {
		freeReplyObject(g.stats);
		ph_redis_set_err(r, "metrics: out of memory");
		return -1;
	}
	metrics_counters(&b, g.stats);
	metrics_events(&b, &g);
	metrics_deliveries(&b, &g);
	freeReplyObject(g.stats);
	metrics_gauge(&b, "payhook_queue_jobs", "Jobs waiting in the queue.", (double)g.queue);
	metrics_gauge(&b, "payhook_retry_jobs", "Jobs waiting for a retry.", (double)g.retry);
	metrics_gauge(&b, "payhook_processing_jobs", "Jobs held by fetchers.",
	    (double)g.processing);
	metrics_gauge(&b, "payhook_dead_jobs", "Jobs in the dead-letter list.", (double)g.dead);
	metrics_gauge(&b, "payhook_fetchers_live",
	    "Fetchers with a heartbeat newer than worker_timeout.", (double)g.live);
	metrics_gauge(&b, "payhook_queue_oldest_age_seconds", "Age of the oldest queued job.",
	    g.oldest_ms > 0 ? (double)g.oldest_ms / 1000.0 : 0);
	metrics_gauge(&b, "payhook_events_length", "Entries in the events stream.",
	    (double)g.events);
	metrics_gauge(&b, "payhook_notifications_length", "Entries in the notifications stream.",
	    (double)g.notifications);
	metrics_gauge(&b, "payhook_refresh_tracked",
	    "Entities with a refresh scheduled (not final, not past refresh_max_age).",
	    (double)g.refresh_tracked);
	metrics_gauge(&b, "payhook_refresh_lag_seconds",
	    "How long the most overdue refresh has been due: the staleness bound missed by.",
	    (double)g.refresh_lag_ms / 1000.0);
	if (b.failed) {
		free(b.buf);
		ph_redis_set_err(r, "metrics: out of memory");
		return -1;
	}
	*out = b.buf;
	*outlen = b.len;
	return 0;
}
