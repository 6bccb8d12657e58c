/* Prometheus text format from the stats hash and the lengths of the keys. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define METRICS_KEY_MAX 256

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

/* Name the stats field of a latency observation. */
int
metrics_latency_field(char *buf, size_t len, const char *provider, long ms)
{
	int i, n;

	for (i = 0; i < PH_FETCH_BUCKETS; i++) {
		if (ms <= ph_fetch_buckets_ms[i])
			break;
	}
	if (i < PH_FETCH_BUCKETS)
		n = snprintf(buf, len, "fetch_ms:%s:%ld", provider, ph_fetch_buckets_ms[i]);
	else
		n = snprintf(buf, len, "fetch_ms:%s:inf", provider);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Tell whether a label value read from Redis is safe to print: [a-z0-9_]. */
static int
metrics_label_ok(const char *s, size_t len)
{
	return ph_type_valid(s, len);
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
			if (pass == 0 && strcmp(p[0], "notifications") == 0) {
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
			} else if (pass == 1 && strcmp(p[0], "fetch") == 0 && n == 3) {
				mbuf_printf(b,
				    "payhook_fetches_total{provider=\"%s\",outcome=\"%s\"} %s\n",
				    p[1], p[2], v->str);
			} else if (pass == 1 && strcmp(p[0], "fetch_ms") == 0 && n == 3) {
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
	/* fetch_ms_sum:{provider} has two parts: read it apart. */
	for (k = 0; k + 1 < stats->elements; k += 2) {
		redisReply *f = stats->element[k], *v = stats->element[k + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    strncmp(f->str, "fetch_ms_sum:", 13) != 0 ||
		    !metrics_label_ok(f->str + 13, strlen(f->str + 13)))
			continue;
		struct latency *l = metrics_latency(lat, &nlat, f->str + 13);
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

/* Print one gauge. */
static void
metrics_gauge(struct mbuf *b, const char *name, const char *help, double value)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.15g\n", name, help, name, name, value);
}

/* Render everything. */
int
metrics_render(struct ph_redis *r, const struct ph_config *cfg, char **out, size_t *outlen)
{
	static const char *const names[] = { "stats", "queue", "retry", "dead", "workers", "events",
		"notifications" };
	char keys[7][METRICS_KEY_MAX], key[METRICS_KEY_MAX], cutoff[24];
	redisReply *rep[8] = { 0 }, *workers = NULL, *len;
	struct mbuf b = { 0 };
	uint64_t now = ph_now_ms();
	long long processing = 0, live = 0;
	double oldest = 0;
	size_t i;
	int rc = -1;

	for (i = 0; i < 7; i++) {
		if (ph_key(keys[i], sizeof keys[i], cfg->redis.prefix, "%s", names[i]) < 0)
			return -1;
	}
	if (ph_redis_connect(r) != 0)
		return -1;
	/* One round trip for the counters and lengths, one for the processing lists. */
	snprintf(cutoff, sizeof cutoff, "%" PRIu64,
	    now - (uint64_t)cfg->fetcher.worker_timeout * 1000);
	redisAppendCommand(r->c, "HGETALL %s", keys[0]);
	redisAppendCommand(r->c, "LLEN %s", keys[1]);
	redisAppendCommand(r->c, "ZCARD %s", keys[2]);
	redisAppendCommand(r->c, "LLEN %s", keys[3]);
	redisAppendCommand(r->c, "ZRANGEBYSCORE %s %s +inf", keys[4], cutoff);
	redisAppendCommand(r->c, "XLEN %s", keys[5]);
	redisAppendCommand(r->c, "XLEN %s", keys[6]);
	redisAppendCommand(r->c, "LINDEX %s -1", keys[1]);
	for (i = 0; i < 8; i++) {
		if (redisGetReply(r->c, (void **)&rep[i]) != REDIS_OK || rep[i] == NULL) {
			snprintf(r->err, sizeof r->err, "metrics: %s", r->c->errstr);
			ph_redis_drop(r);
			goto out;
		}
		if (rep[i]->type == REDIS_REPLY_ERROR) {
			snprintf(r->err, sizeof r->err, "metrics: %s", rep[i]->str);
			goto out;
		}
	}
	/* Every worker that ever registered may still hold jobs: count all of them. */
	workers = ph_redis_cmd(r, "ZRANGE %s 0 %d", keys[4], METRICS_MAX_WORKERS - 1);
	if (workers == NULL || workers->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i < workers->elements; i++) {
		if (ph_key(key, sizeof key, cfg->redis.prefix, "processing:%s",
		        workers->element[i]->str) >= 0)
			redisAppendCommand(r->c, "LLEN %s", key);
		else
			redisAppendCommand(r->c, "PING");
	}
	for (i = 0; i < workers->elements; i++) {
		if (redisGetReply(r->c, (void **)&len) != REDIS_OK || len == NULL) {
			snprintf(r->err, sizeof r->err, "metrics: %s", r->c->errstr);
			ph_redis_drop(r);
			goto out;
		}
		if (len->type == REDIS_REPLY_INTEGER)
			processing += len->integer;
		freeReplyObject(len);
	}
	live = rep[4]->type == REDIS_REPLY_ARRAY ? (long long)rep[4]->elements : 0;
	if (rep[7]->type == REDIS_REPLY_STRING) {
		const char *at = strstr(rep[7]->str, "\"received_at\":");
		if (at != NULL) {
			uint64_t t = strtoull(at + 14, NULL, 10);
			oldest = t > 0 && t < now ? (double)(now - t) / 1000.0 : 0;
		}
	}

	b.size = 4096;
	b.buf = malloc(b.size);
	if (b.buf == NULL)
		goto out;
	metrics_counters(&b, rep[0]);
	metrics_gauge(&b, "payhook_queue_jobs", "Jobs waiting in the queue.",
	    (double)rep[1]->integer);
	metrics_gauge(&b, "payhook_retry_jobs", "Jobs waiting for a retry.",
	    (double)rep[2]->integer);
	metrics_gauge(&b, "payhook_processing_jobs", "Jobs held by fetchers.", (double)processing);
	metrics_gauge(&b, "payhook_dead_jobs", "Jobs in the dead-letter list.",
	    (double)rep[3]->integer);
	metrics_gauge(&b, "payhook_fetchers_live",
	    "Fetchers with a heartbeat newer than worker_timeout.", (double)live);
	metrics_gauge(&b, "payhook_queue_oldest_age_seconds", "Age of the oldest queued job.",
	    oldest);
	metrics_gauge(&b, "payhook_events_length", "Entries in the events stream.",
	    (double)rep[5]->integer);
	metrics_gauge(&b, "payhook_notifications_length", "Entries in the notifications stream.",
	    (double)rep[6]->integer);
	if (b.failed) {
		free(b.buf);
		snprintf(r->err, sizeof r->err, "metrics: out of memory");
		goto out;
	}
	*out = b.buf;
	*outlen = b.len;
	rc = 0;
out:
	for (i = 0; i < 8; i++) {
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	}
	if (workers != NULL)
		freeReplyObject(workers);
	return rc;
}
