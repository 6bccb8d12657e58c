/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhook-fetcher: take jobs from the Redis queue, GET each entity from its
 * provider's API with the merchant's credentials, and store the snapshot
 * (DESIGN.md: Fetching).
 *
 * One thread: one Redis connection (hiredis, blocking, short timeouts) and
 * one curl multi handle with up to `concurrency` transfers in flight. Each
 * job lives in a slot that goes CLAIM (lock the entity) -> FETCH (GET in
 * flight) -> FINISH (store, retry or dead-letter in one script) -> FREE.
 * A slot whose Redis step failed stays where it is and is tried again once
 * Redis answers: until its script ran, the job is still in our processing
 * list, so neither a Redis outage nor a crash loses it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "call.h"
#include "conf.h"
#include "fetch.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "payhook.h"
#include "provider.h"
#include "redis.h"
#include "refresh.h"

#define FETCHER_ENTRY_MAX (PH_JOB_MAX + 1024)
#define FETCHER_ERROR_MAX 256
/* Longest a BLMOVE blocks: bounds how late a heartbeat or SIGTERM is seen. */
#define FETCHER_BLOCK_MS 500
/* How often an idle loop looks at Redis when there is nothing to block on. */
#define FETCHER_POLL_MS 50
/* At most this many due retries are moved per script call. */
#define FETCHER_DUE_BATCH 100
/* libcurl's receive buffer of each transfer (its default is 16 KiB). */
#define FETCHER_RECV_BUFFER 4096L
/* How long every fetcher holds a provider back after its 429 without Retry-After. */
#define FETCHER_429_HOLD_MS 1000
/* At most this many jobs are taken in one pipelined turn. */
#define FETCHER_TAKE_BATCH 64
/* Pipelined turns in a row while one makes work for the next. */
#define FETCHER_ROUNDS 3
/* At most this many due refreshes are moved per script call. */
#define FETCHER_REFRESH_BATCH 100
/* At most this many stale workers are re-queued per check. */
#define FETCHER_REAP_BATCH 16
/* After SIGTERM, how long Redis may stay away before the rest is left to others. */
#define FETCHER_STOP_GRACE_MS 5000

enum slot_state {
	SLOT_FREE,
	SLOT_CLAIM,  /* taken from the queue; the lock is not ours yet */
	SLOT_FETCH,  /* GET in flight */
	SLOT_FINISH, /* outcome decided; its script has not run yet */
};

enum slot_action {
	ACTION_STORE,
	ACTION_RETRY,
	ACTION_DEAD,
};

/* The script a slot sent in the pipeline of this turn, whose reply is awaited. */
enum slot_sent {
	SENT_NONE,
	SENT_CLAIM,
	SENT_STORE,
	SENT_RESCHEDULE,
};

struct fetcher;

/* One job being worked on. */
struct slot {
	enum slot_state state;
	struct fetcher *f;
	char *raw; /* the job exactly as taken, for LREM */
	size_t rawlen;
	struct ph_job job;
	int decoded;
	const struct ph_provider *provider;
	const struct ph_provider_cfg *pcfg;
	char token[33];
	char lock_key[PH_KEY_MAX];
	char pending_key[PH_KEY_MAX];
	char entity_key[PH_KEY_MAX];

	CURL *easy;   /* kept from GET to GET (curl_easy_reset) */
	int in_multi; /* easy is added to the multi handle: a GET in flight */
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	char *body;
	size_t len, cap;
	int toobig;

	enum slot_action action;
	char entry[FETCHER_ENTRY_MAX]; /* retry or dead entry */
	uint64_t delay_ms;             /* a retry: due this long after now, in Redis' time */
	long http_status;
	long elapsed_ms; /* of the GET; -1 when none was made */
	uint64_t fetched_at;
	char sha[65];
	const char *stat; /* stats field suffix */
	enum ph_status_class cls;
	int cls_known;       /* the status matched a row of the table */
	char status[64];     /* as text, "" when absent */
	size_t pidx;         /* the provider's index, once decoded */
	int granted;         /* the provider's rate limit let its GET go */
	int held;            /* held back by it at least once (counted) */
	uint64_t penalty_ms; /* a 429: ms every fetcher waits from now, 0 when none */
	enum slot_sent sent; /* in the pipeline now */
	int sent_penalty;    /* the 429's penalty script goes before it */
};

struct fetcher {
	struct ph_config *cfg;
	struct ph_redis *redis;
	struct ph_pipe pipe; /* one turn's steps, sent as one batch */
	const char *id;
	int once;
	long concurrency;
	struct slot *slots;
	int busy;
	CURLM *multi;
	CURLSH *share;
	struct fetch_policy policy;
	char queue_key[PH_KEY_MAX];
	char processing_key[PH_KEY_MAX];
	char workers_key[PH_KEY_MAX];
	char retry_key[PH_KEY_MAX];
	char dead_key[PH_KEY_MAX];
	char events_key[PH_KEY_MAX];
	char stats_key[PH_KEY_MAX];
	char refresh_key[PH_KEY_MAX];
	char events_trim_key[PH_KEY_MAX];
	char trimmed_field[64]; /* events:trimmed_unread */
	char rate_key[PH_MAX_PROVIDERS][PH_KEY_MAX];
	uint64_t rate_until[PH_MAX_PROVIDERS]; /* monotonic ms: no grant asked before */
	long rate_held[PH_MAX_PROVIDERS];      /* newly held back, not yet counted in Redis */
	int recovered;                         /* our own processing list re-queued at start */
	int redis_down;                        /* logged the outage already */
	uint64_t next_beat;                    /* monotonic ms */
	uint64_t next_due;                     /* monotonic ms of the next DUE call */
	uint64_t empty_until;                  /* monotonic: the queue was empty, no LMOVE before */
	int queue_empty;
	int due_moved;
	int refresh_moved;   /* a full batch: more may be due */
	int adopt;           /* Redis failed: our list may hold a job no slot has */
	struct ph_call call; /* the script call being built (one at a time) */
};

static volatile sig_atomic_t fetcher_stop;

/* Note a termination signal. */
static void
fetcher_signal(int sig)
{
	(void)sig;
	fetcher_stop = 1;
}

/* Log a Redis failure once per outage. */
static void
fetcher_redis_failed(struct fetcher *f, const char *what)
{
	if (!f->redis_down)
		log_warn("redis_down", "during=%s error=\"%s\"", what, ph_redis_err(f->redis));
	f->redis_down = 1;
	/* A move whose reply was lost left a job no slot knows: look once back. */
	f->adopt = 1;
}

/* Log that Redis answers again. */
static void
fetcher_redis_ok(struct fetcher *f)
{
	if (f->redis_down)
		log_info("redis_up", "worker=%s", f->id);
	f->redis_down = 0;
}

/* Check a script reply; NULL means the connection failed (logged). */
static int
fetcher_reply_ok(struct fetcher *f, redisReply *rep, const char *what)
{
	if (rep == NULL) {
		fetcher_redis_failed(f, what);
		return 0;
	}
	fetcher_redis_ok(f);
	if (rep->type == REDIS_REPLY_ERROR) {
		/* -READONLY (a demoted master) or NOSCRIPT: the batch saw it; sent again next turn. */
		log_error("redis_error", "during=%s error=\"%s\"", what, rep->str);
		return 0;
	}
	return 1;
}

/* Free what a slot holds and make it free; its curl handle is kept for its next GET. */
static void
slot_clear(struct slot *s)
{
	if (s->in_multi) {
		curl_multi_remove_handle(s->f->multi, s->easy);
		s->in_multi = 0;
	}
	curl_slist_free_all(s->headers);
	free(s->raw);
	free(s->body);
	if (s->state != SLOT_FREE)
		s->f->busy--;
	memset(&s->job, 0, sizeof s->job);
	s->headers = NULL;
	s->raw = NULL;
	s->body = NULL;
	s->len = s->cap = 0;
	s->toobig = 0;
	s->granted = 0;
	s->held = 0;
	s->penalty_ms = 0;
	s->state = SLOT_FREE;
}

/* Decide a retry of the slot's job with the given error; dead past max_attempts. */
static void
slot_fail(struct slot *s, enum fetch_outcome out, const char *error, long retry_after)
{
	struct fetcher *f = s->f;
	struct ph_job next = s->job;
	uint64_t rnd;
	int n;

	/* Every retry counts against max_attempts, whatever its cause. */
	if (out == FETCH_RETRY && s->job.attempt + 1 >= f->policy.max_attempts)
		out = FETCH_DEAD;
	if (out == FETCH_RETRY) {
		next.attempt = s->job.attempt + 1;
		if (ph_random_bytes(&rnd, sizeof rnd) != 0)
			rnd = ph_mono_ms();
		s->delay_ms = fetch_backoff_ms(&f->policy, s->job.attempt, rnd, retry_after);
		n = job_encode(&next, s->entry, sizeof s->entry);
		s->action = ACTION_RETRY;
		s->stat = "retried";
		if (n >= 0)
			goto done;
		error = "job_too_long";
	}
	n = job_encode_dead(&s->job, error, s->job.attempt + 1, ph_now_ms(), s->entry,
	    sizeof s->entry);
	if (n < 0)
		n = job_encode_dead(&s->job, "error_too_long", s->job.attempt + 1, ph_now_ms(),
		    s->entry, sizeof s->entry);
	if (n < 0)
		n = fetch_encode_invalid(s->raw, s->rawlen, error, ph_now_ms(), s->entry,
		    sizeof s->entry);
	if (n < 0)
		snprintf(s->entry, sizeof s->entry, "{\"v\":1,\"error\":\"unencodable\"}");
	s->action = ACTION_DEAD;
	s->stat = "dead";
done:
	log_info(s->action == ACTION_RETRY ? "fetch_retry" : "fetch_dead",
	    "provider=%s type=%s id=%s attempt=%ld error=\"%s\"", s->job.provider,
	    s->job.entity_type, s->job.entity_id, s->job.attempt + 1, error);
	s->state = SLOT_FINISH;
}

/* Dead-letter a job that never reached its GET (bad job, no route, no credentials). */
static void
slot_dead_now(struct slot *s, const char *error)
{
	if (!s->decoded) {
		if (fetch_encode_invalid(s->raw, s->rawlen, error, ph_now_ms(), s->entry,
		        sizeof s->entry) < 0)
			snprintf(s->entry, sizeof s->entry, "{\"v\":1,\"error\":\"invalid_job\"}");
		log_warn("fetch_dead", "error=\"invalid_job: %s\"", error);
	} else {
		if (job_encode_dead(&s->job, error, s->job.attempt, ph_now_ms(), s->entry,
		        sizeof s->entry) < 0)
			snprintf(s->entry, sizeof s->entry, "{\"v\":1,\"error\":\"%s\"}", error);
		log_warn("fetch_dead", "provider=%s type=%s id=%s error=%s", s->job.provider,
		    s->job.entity_type, s->job.entity_id, error);
	}
	s->action = ACTION_DEAD;
	s->stat = "dead";
	s->state = SLOT_FINISH;
}

/* Collect a response body, bounded by [fetcher] max_body. */
static size_t
slot_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct slot *s = arg;
	size_t n = size * nmemb, want;
	char *nb;

	if (n > (size_t)s->f->cfg->fetcher.max_body - s->len) {
		s->toobig = 1;
		return 0; /* aborts the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		want = s->cap == 0 ? 4096 : s->cap;
		while (want < s->len + n + 1)
			want *= 2;
		if (want > (size_t)s->f->cfg->fetcher.max_body + 1)
			want = (size_t)s->f->cfg->fetcher.max_body + 1;
		nb = realloc(s->body, want);
		if (nb == NULL)
			return 0;
		s->body = nb;
		s->cap = want;
	}
	memcpy(s->body + s->len, data, n);
	s->len += n;
	s->body[s->len] = '\0';
	return n;
}

/*
 * Start the GET of a claimed job: 0, -1 if curl could not set it up (try
 * again later), or -2 with the reason in why when it never can.
 */
static int
slot_start(struct slot *s, const char **why)
{
	struct fetcher *f = s->f;
	const struct ph_route *route;
	struct ph_headers h;
	struct curl_slist *l;
	char url[2048];
	int i;

	route = provider_route(s->provider, s->job.entity_type);
	if (route == NULL || provider_url(s->pcfg, route, s->job.entity_id, url, sizeof url) != 0) {
		*why = "url_too_long";
		return -2;
	}
	memset(&h, 0, sizeof h);
	if (s->provider->auth_headers(s->pcfg, &h) != 0) {
		explicit_bzero(&h, sizeof h);
		*why = "no_credentials";
		return -2;
	}
	for (i = 0; i < h.n; i++) {
		l = curl_slist_append(s->headers, h.line[i]);
		if (l == NULL)
			goto fail;
		s->headers = l;
	}
	explicit_bzero(&h, sizeof h);
	l = curl_slist_append(s->headers, "Accept: application/json");
	if (l == NULL)
		goto fail;
	s->headers = l;

	/* A slot's handle serves GET after GET: reset, not made anew. */
	if (s->easy != NULL)
		curl_easy_reset(s->easy);
	else
		s->easy = curl_easy_init();
	if (s->easy == NULL)
		goto fail;
	s->curl_err[0] = '\0';
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "payhook/" PACKAGE_VERSION);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, f->cfg->fetcher.timeout_ms);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, slot_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(s->easy, CURLOPT_SHARE, f->share);
	curl_easy_setopt(s->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->cfg->fetcher.max_body);
	/* Entity bodies are small JSON: a 4 KiB receive buffer, not 16, for each GET in flight. */
	curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, FETCHER_RECV_BUFFER);
	/* An API answers where it is asked: no redirects, no other scheme. */
	curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (curl_multi_add_handle(f->multi, s->easy) != CURLM_OK)
		goto fail;
	s->in_multi = 1;
	log_debug("fetch_start", "provider=%s type=%s id=%s attempt=%ld", s->job.provider,
	    s->job.entity_type, s->job.entity_id, s->job.attempt + 1);
	s->state = SLOT_FETCH;
	return 0;
fail:
	explicit_bzero(&h, sizeof h);
	if (s->easy != NULL) {
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	return -1;
}

/* What checking a taken job did. */
enum slot_prepared {
	PREPARED,       /* keys built, a token drawn: it may be claimed */
	PREPARED_DEAD,  /* a bad job: dead-lettered (SLOT_FINISH) */
	PREPARED_LATER, /* no randomness for its token now: tried again next turn */
};

/* Check a taken job, build its keys and draw its lock token. */
static enum slot_prepared
slot_prepare(struct slot *s)
{
	struct fetcher *f = s->f;
	const char *prefix = f->cfg->redis.prefix;
	unsigned char rnd[16];
	char err[128];
	size_t idx, i;

	if (job_decode(s->raw, s->rawlen, &s->job, err, sizeof err) != 0) {
		slot_dead_now(s, err);
		return PREPARED_DEAD;
	}
	s->decoded = 1;
	/* First the marker's key: a job dead from here on drops its marker with it. */
	if (ph_key_entity(s->pending_key, sizeof s->pending_key, prefix, PH_KEY_PENDING,
	        s->job.provider, s->job.entity_type, s->job.entity_id) < 0) {
		s->pending_key[0] = '\0';
		slot_dead_now(s, "key_too_long");
		return PREPARED_DEAD;
	}
	s->provider = provider_find(s->job.provider, strlen(s->job.provider), &idx);
	if (s->provider == NULL || provider_route(s->provider, s->job.entity_type) == NULL) {
		slot_dead_now(s, "no_route");
		return PREPARED_DEAD;
	}
	s->pcfg = &f->cfg->providers[idx];
	s->pidx = idx;
	if ((s->provider->key_id_key != NULL && s->pcfg->key_id == NULL) ||
	    s->pcfg->secret == NULL) {
		slot_dead_now(s, "no_credentials");
		return PREPARED_DEAD;
	}
	if (ph_key_entity(s->lock_key, sizeof s->lock_key, prefix, PH_KEY_LOCK, s->job.provider,
	        s->job.entity_type, s->job.entity_id) < 0 ||
	    ph_key_entity(s->entity_key, sizeof s->entity_key, prefix, PH_KEY_ENTITY,
	        s->job.provider, s->job.entity_type, s->job.entity_id) < 0) {
		slot_dead_now(s, "key_too_long");
		return PREPARED_DEAD;
	}
	if (ph_random_bytes(rnd, sizeof rnd) != 0) {
		/* Not unique enough to guard a lock: leave the job for later. */
		return PREPARED_LATER;
	}
	for (i = 0; i < sizeof rnd; i++)
		snprintf(s->token + 2 * i, 3, "%02x", rnd[i]);
	return PREPARED;
}

/* Send the claim script of a slot: take its entity's lock (pipelined). -1 when Redis failed. */
static int
slot_claim_send(struct slot *s)
{
	struct fetcher *f = s->f;
	const struct ph_claim a = {
		.lock_key = s->lock_key,
		.pending_key = s->pending_key,
		.token = s->token,
		.lock_ttl_ms = f->cfg->fetcher.lock_ttl,
	};

	ph_call_claim(&f->call, &a);
	if (ph_pipe_call(&f->pipe, &f->call) != 0)
		return -1;
	s->sent = SENT_CLAIM;
	return 0;
}

/* Act on the claim's reply: start the GET, or wait for another fetch of the entity. */
static void
slot_claim_reply(struct slot *s, const redisReply *rep)
{
	struct fetcher *f = s->f;
	const char *why = NULL;
	int rc;

	if (rep->type != REDIS_REPLY_INTEGER)
		return; /* logged by the caller: sent again next turn */
	if (rep->integer == 0) {
		/* Another fetch of this entity is running: wait, not an attempt. */
		s->token[0] = '\0';
		memcpy(s->entry, s->raw, s->rawlen);
		s->entry[s->rawlen] = '\0';
		s->delay_ms = (uint64_t)f->cfg->fetcher.lock_wait_ms;
		s->action = ACTION_RETRY;
		s->stat = "lock_wait";
		s->state = SLOT_FINISH;
		log_debug("fetch_lock_wait", "provider=%s type=%s id=%s", s->job.provider,
		    s->job.entity_type, s->job.entity_id);
		return;
	}
	rc = slot_start(s, &why);
	if (rc == -2)
		slot_fail(s, FETCH_DEAD, why, 0);
	else if (rc != 0)
		slot_fail(s, FETCH_RETRY, "curl_setup", 0);
}

/*
 * Send the slot's closing script (pipelined): store, or retry / dead-letter,
 * after the penalty of a 429. -1 when Redis failed.
 */
static int
slot_finish_send(struct slot *s)
{
	struct fetcher *f = s->f;
	char field[96], lat[96], latsum[96], member[PH_KEY_MAX];
	unsigned short rnd = 0;

	s->sent_penalty = 0;
	if (s->penalty_ms != 0) {
		ph_call_rate_penalty(&f->call, f->rate_key[s->pidx], f->stats_key, s->job.provider,
		    s->penalty_ms);
		if (ph_pipe_call(&f->pipe, &f->call) != 0)
			return -1;
		s->sent_penalty = 1;
	}

	lat[0] = '\0';
	ph_stat_field(latsum, sizeof latsum, PH_STAT_FETCH_MS_SUM,
	    s->decoded ? s->job.provider : "unknown", NULL);
	if (s->elapsed_ms >= 0 && s->decoded &&
	    metrics_latency_field(lat, sizeof lat, s->job.provider, s->elapsed_ms) != 0)
		lat[0] = '\0';

	if (s->action == ACTION_STORE) {
		/* A store always counts a latency: one with no GET timed goes to +Inf. */
		if (lat[0] == '\0')
			ph_stat_field(lat, sizeof lat, PH_STAT_FETCH_MS, "unknown", "inf");
		if (refresh_member(member, sizeof member, s->job.provider, s->job.entity_type,
		        s->job.entity_id) < 0)
			member[0] = '\0';
		/* Up to 10% of the step later: entities stored together come due apart. */
		ph_random_bytes(&rnd, sizeof rnd);
		const struct ph_store st = {
			.lock_key = s->lock_key,
			.entity_key = s->entity_key,
			.events_key = f->events_key,
			.processing_key = f->processing_key,
			.stats_key = f->stats_key,
			.refresh_key = f->refresh_key,
			.events_trim_key = f->events_trim_key,
			.token = s->token,
			.job = s->raw,
			.job_len = s->rawlen,
			.body = s->body != NULL ? s->body : "",
			.body_len = s->len,
			.fetched_at = s->fetched_at,
			.http_status = s->http_status,
			.sha256 = s->sha,
			.notification_id = s->job.notification_id,
			.provider = s->job.provider,
			.entity_type = s->job.entity_type,
			.entity_id = s->job.entity_id,
			.events_maxlen = f->cfg->fetcher.events_maxlen,
			.events_hard_maxlen = f->cfg->fetcher.events_hard_maxlen,
			.trimmed_field = f->trimmed_field,
			.latency_field = lat,
			.latency_ms = s->elapsed_ms >= 0 ? s->elapsed_ms : 0,
			.refresh_member = member,
			.refresh_class = s->pcfg != NULL && s->pcfg->refresh_off
			    ? "off"
			    : refresh_class_name(s->cls),
			.refresh_schedule_ms = f->cfg->fetcher.refresh_schedule_ms,
			.refresh_settled_ms = f->cfg->fetcher.refresh_settled_ms,
			.refresh_max_age_ms = (long long)f->cfg->fetcher.refresh_max_age * 1000,
			.jitter = (unsigned)(rnd % 1000),
			.status = s->status,
		};
		ph_call_store(&f->call, &st);
		if (ph_pipe_call(&f->pipe, &f->call) != 0)
			return -1;
		s->sent = SENT_STORE;
		return 0;
	}

	ph_stat_field(field, sizeof field, PH_STAT_FETCH, s->decoded ? s->job.provider : "unknown",
	    s->stat);
	const struct ph_reschedule rs = {
		.processing_key = f->processing_key,
		.retry_key = f->retry_key,
		.dead_key = f->dead_key,
		.lock_key = s->decoded && s->lock_key[0] != '\0' ? s->lock_key : f->retry_key,
		.stats_key = f->stats_key,
		.pending_key = s->decoded && s->pending_key[0] != '\0' ? s->pending_key : NULL,
		.job = s->raw,
		.job_len = s->rawlen,
		.dead = s->action != ACTION_RETRY,
		.entry = s->entry,
		.delay_ms = s->delay_ms,
		.token = s->token,
		.stats_field = field,
		.latency_field = lat,
		.latency_sum_field = latsum,
		.latency_ms = s->elapsed_ms >= 0 ? s->elapsed_ms : 0,
	};
	ph_call_reschedule(&f->call, &rs);
	if (ph_pipe_call(&f->pipe, &f->call) != 0)
		return -1;
	s->sent = SENT_RESCHEDULE;
	return 0;
}

/* Act on the store's reply: done, or a retry when the lock was lost meanwhile. */
static void
slot_store_reply(struct slot *s, const redisReply *rep)
{
	int stored;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER)
		return; /* sent again next turn */
	stored = rep->element[0]->integer == 1;
	/* A consumer group fell events_hard_maxlen behind: what it had not read is gone. */
	if (stored && rep->element[3]->type == REDIS_REPLY_INTEGER && rep->element[3]->integer > 0)
		log_warn("events_trimmed_unread",
		    "count=%lld events_hard_maxlen=%ld: a consumer group had not read them",
		    rep->element[3]->integer, s->f->cfg->fetcher.events_hard_maxlen);
	/* Said once per entity and status: when the stored status changes. */
	if (stored && !s->cls_known && rep->element[2]->type == REDIS_REPLY_INTEGER &&
	    rep->element[2]->integer == 1)
		log_warn("status_unknown",
		    "provider=%s type=%s id=%s status=\"%s\" counted_as=progress", s->job.provider,
		    s->job.entity_type, s->job.entity_id, s->status);
	if (stored) {
		log_info("fetch_stored",
		    "provider=%s type=%s id=%s status=%ld "
		    "bytes=%zu changed=%lld attempt=%ld",
		    s->job.provider, s->job.entity_type, s->job.entity_id, s->http_status, s->len,
		    rep->element[1]->integer, s->job.attempt + 1);
		slot_clear(s);
		return;
	}
	/* The lock expired during the GET: a later fetch may own the entity. */
	slot_fail(s, FETCH_RETRY, "lock_lost", 0);
}

/* Act on the reschedule's reply: the slot is free again. */
static void
slot_reschedule_reply(struct slot *s, const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_INTEGER)
		return; /* sent again next turn */
	if (rep->integer == 0)
		log_info("fetch_requeued_elsewhere", "provider=%s type=%s id=%s", s->job.provider,
		    s->job.entity_type, s->job.entity_id);
	slot_clear(s);
}

/* Turn a finished transfer into the slot's outcome. */
static void
slot_done(struct slot *s, CURLcode cc)
{
	struct fetcher *f = s->f;
	enum fetch_outcome out;
	char error[FETCHER_ERROR_MAX], transport[FETCHER_ERROR_MAX];
	curl_off_t ra = 0, us = 0;
	long status = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK && us >= 0)
		s->elapsed_ms = (long)(us / 1000);
#if LIBCURL_VERSION_NUM >= 0x074200
	curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &ra);
#endif
	curl_multi_remove_handle(f->multi, s->easy);
	s->in_multi = 0;
	curl_slist_free_all(s->headers);
	s->headers = NULL;

	if (s->toobig || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(error, sizeof error, "body_too_large (max_body %ld)",
		    f->cfg->fetcher.max_body);
		slot_fail(s, FETCH_DEAD, error, 0);
		return;
	}
	if (cc != CURLE_OK) {
		if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(transport, sizeof transport, "timeout");
		else
			snprintf(transport, sizeof transport, "%s",
			    s->curl_err[0] != '\0' ? s->curl_err : curl_easy_strerror(cc));
		status = 0;
	}
	/* A 429 slows the provider down for every fetcher, not only for this job. */
	if (status == 429)
		s->penalty_ms =
		    ra > 0 ? (uint64_t)(ra > 86400 ? 86400 : ra) * 1000 : FETCHER_429_HOLD_MS;
	out = fetch_classify(&f->policy, status, cc != CURLE_OK ? transport : NULL, s->job.attempt,
	    error, sizeof error);
	s->http_status = status;
	if (out != FETCH_STORE) {
		slot_fail(s, out, error, ra > 0 ? (long)(ra > 86400 ? 86400 : ra) : 0);
		return;
	}
	s->fetched_at = ph_now_ms();
	if (fetch_sha256_hex(s->body != NULL ? s->body : "", s->len, s->sha) != 0) {
		slot_fail(s, FETCH_RETRY, "sha256", 0);
		return;
	}
	s->cls_known = refresh_classify(s->job.provider, s->job.entity_type,
	    s->body != NULL ? s->body : "", s->len, s->status, sizeof s->status, &s->cls);
	s->action = ACTION_STORE;
	s->state = SLOT_FINISH;
}

/* Drive transfers and collect the finished ones. */
static void
fetcher_transfers(struct fetcher *f, int wait_ms)
{
	CURLMsg *m;
	struct slot *s;
	int running, left, round, done = 0;

	/*
	 * Start what was just added, wait for activity, then collect. When the
	 * first perform already finished a transfer (a fast API answers before
	 * the poll), its slot waits for Redis: go back to the loop, no wait.
	 */
	for (round = 0; round < 2 && done == 0; round++) {
		if (round == 1)
			curl_multi_poll(f->multi, NULL, 0, wait_ms, NULL);
		curl_multi_perform(f->multi, &running);
		while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			s = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (s != NULL) {
				slot_done(s, m->data.result);
				done++;
			}
		}
	}
}

/* Put a job as taken (exactly its bytes) into a free slot, to be claimed. */
static void
slot_load(struct slot *s, const char *raw, size_t len)
{
	s->raw = malloc(len + 1);
	if (s->raw == NULL)
		fatalx("out of memory");
	memcpy(s->raw, raw, len);
	s->raw[len] = '\0';
	s->rawlen = len;
	s->decoded = 0;
	s->elapsed_ms = -1;
	s->token[0] = '\0';
	s->lock_key[0] = '\0';
	s->pending_key[0] = '\0';
	s->state = SLOT_CLAIM;
	s->f->busy++;
}

/* The first free slot from *from on, or NULL; *from moves past it (a turn's takes scan once). */
static struct slot *
fetcher_free_slot(struct fetcher *f, long *from)
{
	for (; *from < f->concurrency; (*from)++) {
		if (f->slots[*from].state == SLOT_FREE)
			return &f->slots[(*from)++];
	}
	return NULL;
}

/* Whether a slot waits for its provider's rate limit to let its GET go. */
static int
slot_waits_rate(const struct slot *s, size_t pi)
{
	return s->state == SLOT_CLAIM && s->decoded && s->token[0] != '\0' && !s->granted &&
	    s->pidx == pi;
}

/* Append a provider's rate script for its n waiting jobs. -1 when Redis failed. */
static int
fetcher_rate_send(struct fetcher *f, size_t pi, long n)
{
	long max_rps = f->cfg->providers[pi].max_rps;
	/* A burst of a tenth of a second's GETs, at least one. */
	long burst = max_rps / 10 > 1 ? max_rps / 10 : 1;
	double t = max_rps > 0 ? 1000.0 / (double)max_rps : 0;
	const struct ph_rate a = {
		.rate_key = f->rate_key[pi],
		.stats_key = f->stats_key,
		.provider = provider_at(pi)->name,
		.interval_ms = t,
		.tolerance_ms = t * (double)(burst - 1),
		.wanted = n,
		.newly_held = f->rate_held[pi],
	};

	ph_call_rate(&f->call, &a);
	return ph_pipe_call(&f->pipe, &f->call);
}

/* Grant the GETs the rate script allowed, in slot order; count the rest held back. */
static void
fetcher_rate_reply(struct fetcher *f, size_t pi, long wanted, const redisReply *rep)
{
	long i, k;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER)
		return;
	f->rate_held[pi] = 0;
	k = (long)rep->element[0]->integer;
	f->rate_until[pi] = k < wanted ? ph_mono_ms() + (uint64_t)rep->element[1]->integer : 0;
	for (i = 0; i < f->concurrency; i++) {
		struct slot *s = &f->slots[i];

		if (!slot_waits_rate(s, pi))
			continue;
		if (k > 0) {
			s->granted = 1;
			k--;
		} else if (!s->held) {
			s->held = 1;
			f->rate_held[pi]++;
		}
	}
}

/*
 * One pipelined turn: every Redis step the slots wait for, and takes for
 * free slots, written at once, then every reply read in order. Sent: the
 * rate script of each provider with jobs waiting for it, the claim of every
 * granted job, the closing script of every finished one, and up to
 * FETCHER_TAKE_BATCH LMOVEs when take is set. Scripts check their token, so
 * a step whose reply was lost is sent again next turn with the same effect
 * as today's one-by-one calls. 1 when the turn made work for another
 * (grants, takes, a lock lost), 0 when not, -1 when Redis failed.
 */
static int
fetcher_pipeline(struct fetcher *f, int take)
{
	long wanted[PH_MAX_PROVIDERS] = { 0 }, i, ntake = 0, taken = 0, next_free = 0;
	int asked[PH_MAX_PROVIDERS] = { 0 }, failed = 0, more = 0;
	size_t pi, np = provider_count() < PH_MAX_PROVIDERS ? provider_count() : PH_MAX_PROVIDERS;
	uint64_t mono = ph_mono_ms();
	int busy_before = f->busy;
	redisReply *rep;
	struct slot *s;

	/* Check taken jobs and build their keys; a bad one is dead-lettered. */
	for (i = 0; i < f->concurrency; i++) {
		s = &f->slots[i];
		s->sent = SENT_NONE;
		s->sent_penalty = 0;
		if (s->state == SLOT_CLAIM && (!s->decoded || s->token[0] == '\0'))
			(void)slot_prepare(s); /* PREPARED_LATER: next turn */
		if (s->state == SLOT_CLAIM && s->decoded && s->token[0] != '\0' && !s->granted)
			wanted[s->pidx]++;
	}
	if (ph_redis_connect(f->redis) != 0) {
		fetcher_redis_failed(f, "connect");
		return -1;
	}
	ph_pipe_reset(&f->pipe);
	for (pi = 0; pi < np; pi++) {
		if (wanted[pi] == 0 || mono < f->rate_until[pi])
			continue;
		if (fetcher_rate_send(f, pi, wanted[pi]) != 0)
			goto lost;
		asked[pi] = 1;
	}
	for (i = 0; i < f->concurrency; i++) {
		s = &f->slots[i];
		if (s->state == SLOT_CLAIM && s->granted && slot_claim_send(s) != 0)
			goto lost;
		if (s->state == SLOT_FINISH && slot_finish_send(s) != 0)
			goto lost;
	}
	if (take) {
		for (i = 0; i < f->concurrency && ntake < FETCHER_TAKE_BATCH; i++)
			ntake += f->slots[i].state == SLOT_FREE;
		for (i = 0; i < ntake; i++) {
			if (ph_pipe_fmt(&f->pipe, "LMOVE %s %s RIGHT LEFT", f->queue_key,
			        f->processing_key) != 0)
				goto lost;
		}
	}

	/* One batch; the replies, in the order sent. */
	if (ph_redis_pipe(f->redis, &f->pipe) == 0)
		goto lost;
	for (pi = 0; pi < np; pi++) {
		if (!asked[pi])
			continue;
		if ((rep = ph_pipe_reply(&f->pipe)) == NULL)
			goto lost;
		if (fetcher_reply_ok(f, rep, "rate")) {
			fetcher_rate_reply(f, pi, wanted[pi], rep);
			more = 1;
		} else
			failed = 1;
		freeReplyObject(rep);
	}
	for (i = 0; i < f->concurrency; i++) {
		s = &f->slots[i];
		if (s->sent_penalty) {
			if ((rep = ph_pipe_reply(&f->pipe)) == NULL)
				goto lost;
			if (fetcher_reply_ok(f, rep, "rate_penalty")) {
				log_info("rate_throttled", "provider=%s hold_ms=%" PRIu64,
				    s->job.provider, s->penalty_ms);
				s->penalty_ms = 0;
			} else
				failed = 1;
			freeReplyObject(rep);
		}
		if (s->sent == SENT_NONE)
			continue;
		if ((rep = ph_pipe_reply(&f->pipe)) == NULL)
			goto lost;
		if (!fetcher_reply_ok(f, rep,
		        s->sent == SENT_CLAIM       ? "claim"
		            : s->sent == SENT_STORE ? "store"
		                                    : "reschedule"))
			failed = 1;
		else if (s->sent == SENT_CLAIM)
			slot_claim_reply(s, rep);
		else if (s->sent == SENT_STORE) {
			slot_store_reply(s, rep);
			more |= s->state == SLOT_FINISH; /* lock lost: its reschedule next */
		} else
			slot_reschedule_reply(s, rep);
		s->sent = SENT_NONE;
		freeReplyObject(rep);
	}
	for (i = 0; i < ntake; i++) {
		if ((rep = ph_pipe_reply(&f->pipe)) == NULL)
			goto lost;
		if (!fetcher_reply_ok(f, rep, "take"))
			failed = 1;
		else if (rep->type == REDIS_REPLY_STRING &&
		    (s = fetcher_free_slot(f, &next_free)) != NULL) {
			slot_load(s, rep->str, rep->len);
			taken++;
		} else if (rep->type == REDIS_REPLY_STRING) {
			f->adopt = 1; /* no slot (cannot happen): our list holds it */
		}
		freeReplyObject(rep);
	}
	if (take) {
		/* A nil answer: the queue is empty for now. */
		f->queue_empty = taken < ntake;
		if (f->queue_empty)
			f->empty_until = mono + FETCHER_POLL_MS;
	}
	/* A slot freed in this turn can take the next job at once (no wait at --concurrency 1). */
	if (f->busy < busy_before && !f->queue_empty)
		more = 1;
	if (failed)
		return -1;
	return more || taken > 0 ? 1 : 0;
lost:
	/* Which steps ran is unknown: each is sent again (same token, same effect). */
	if (ph_redis_err(f->redis)[0] == '\0')
		ph_redis_set_err(f->redis, "pipeline: no reply");
	ph_redis_drop(f->redis);
	fetcher_redis_failed(f, "pipeline");
	for (i = 0; i < f->concurrency; i++) {
		f->slots[i].sent = SENT_NONE;
		f->slots[i].sent_penalty = 0;
	}
	return -1;
}

/*
 * Run the Redis steps slots wait for, turn after turn while one makes work.
 * 1 when work for another turn is still left (the caller goes on at once),
 * 0 when none, -1 when Redis failed.
 */
static int
fetcher_slots(struct fetcher *f, int take)
{
	int round, rc = 0;

	for (round = 0; round < FETCHER_ROUNDS; round++) {
		rc = fetcher_pipeline(f,
		    take && !fetcher_stop && f->busy < f->concurrency &&
		        ph_mono_ms() >= f->empty_until);
		if (rc <= 0)
			return rc;
	}
	return rc;
}

/* Take one job into a free slot, blocking up to block_ms; 1 taken, 0 none, -1 failed. */
static int
fetcher_take(struct fetcher *f, long block_ms)
{
	long from = 0;
	struct slot *s = fetcher_free_slot(f, &from);
	redisReply *rep;
	char secs[32];

	if (s == NULL)
		return 0;
	if (ph_redis_connect(f->redis) != 0) {
		fetcher_redis_failed(f, "connect");
		return -1;
	}
	/* The reply comes only after the block: the socket must wait longer. */
	ph_redis_set_timeout(f->redis, f->cfg->redis.command_timeout_ms + block_ms);
	snprintf(secs, sizeof secs, "%ld.%03ld", block_ms / 1000, block_ms % 1000);
	rep = ph_redis_cmd(f->redis, "BLMOVE %s %s RIGHT LEFT %s", f->queue_key, f->processing_key,
	    secs);
	if (ph_redis_connected(f->redis))
		ph_redis_set_timeout(f->redis, f->cfg->redis.command_timeout_ms);
	if (!fetcher_reply_ok(f, rep, "take")) {
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return 0;
	}
	slot_load(s, rep->str, rep->len);
	freeReplyObject(rep);
	return 1;
}

/*
 * Give slots the jobs of our processing list that no slot holds: a take
 * whose reply was lost moved its job there. 0 when done, -1 when Redis failed
 * or the slots are full (tried again later).
 */
static int
fetcher_adopt(struct fetcher *f)
{
	redisReply *rep;
	struct slot *s;
	char *held;
	size_t i;
	long k;
	int rc = 0;

	rep = ph_redis_cmd(f->redis, "LRANGE %s 0 -1", f->processing_key);
	if (!fetcher_reply_ok(f, rep, "adopt") || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	held = calloc((size_t)f->concurrency, 1);
	if (held == NULL)
		fatalx("out of memory");
	for (i = 0; i < rep->elements; i++) {
		const redisReply *e = rep->element[i];

		if (e->type != REDIS_REPLY_STRING)
			continue;
		/* Matched one to one, so two identical jobs need two slots. */
		for (k = 0; k < f->concurrency; k++) {
			s = &f->slots[k];
			if (!held[k] && s->state != SLOT_FREE && s->rawlen == e->len &&
			    memcmp(s->raw, e->str, e->len) == 0)
				break;
		}
		if (k < f->concurrency) {
			held[k] = 1;
			continue;
		}
		for (k = 0; k < f->concurrency && f->slots[k].state != SLOT_FREE; k++)
			;
		if (k == f->concurrency) {
			rc = -1;
			break;
		}
		slot_load(&f->slots[k], e->str, e->len);
		held[k] = 1;
		log_info("adopted", "worker=%s", f->id);
	}
	free(held);
	freeReplyObject(rep);
	if (rc == 0)
		f->adopt = 0;
	return rc;
}

/*
 * Move due retries to the queue; *next_retry is the monotonic ms the next
 * one is due (by Redis' clock), 0 when none. -1 when Redis failed.
 */
static int
fetcher_due(struct fetcher *f, uint64_t *next_retry)
{
	redisReply *rep;

	ph_call_due(&f->call, f->retry_key, f->queue_key, FETCHER_DUE_BATCH);
	rep = ph_redis_call(f->redis, &f->call);
	if (!fetcher_reply_ok(f, rep, "due") || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2) {
		freeReplyObject(rep);
		return -1;
	}
	f->due_moved = (int)rep->element[0]->integer;
	*next_retry =
	    rep->element[1]->integer >= 0 ? ph_mono_ms() + (uint64_t)rep->element[1]->integer : 0;
	freeReplyObject(rep);
	if (f->due_moved > 0)
		log_debug("due", "moved=%d", f->due_moved);
	return 0;
}

/* Redis' clock, in ms (TIME). -1 when Redis failed. */
static int
fetcher_redis_time(struct fetcher *f, uint64_t *ms)
{
	redisReply *rep = ph_redis_cmd(f->redis, "TIME");

	if (!fetcher_reply_ok(f, rep, "time") || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return -1;
	}
	*ms = strtoull(rep->element[0]->str, NULL, 10) * 1000 +
	    strtoull(rep->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(rep);
	return 0;
}

/* Forget a refresh member that is not one (or of a provider with refresh off). */
static void
fetcher_refresh_drop(struct fetcher *f, const char *m, const char *why)
{
	redisReply *rep = ph_redis_cmd(f->redis, "ZREM %s %s", f->refresh_key, m);

	freeReplyObject(rep);
	log_warn("refresh_dropped", "member=\"%.200s\" reason=%s", m, why);
}

/*
 * Move due refreshes to the queue as jobs (event "refresh"), at most a batch
 * per call: read them, then one script moves each one still due. Killed in
 * between, nothing is lost: the entries are still due. -1 when Redis failed.
 */
static int
fetcher_refresh_due(struct fetcher *f)
{
	static char pending[FETCHER_REFRESH_BATCH][PH_KEY_MAX];
	static char entity[FETCHER_REFRESH_BATCH][PH_KEY_MAX];
	static char jobs[FETCHER_REFRESH_BATCH][PH_JOB_MAX];
	char provider[PH_PROVIDER_MAX + 1];
	const struct ph_provider *p;
	struct ph_job job;
	redisReply *rep, *mv;
	uint64_t now;
	size_t i, pidx;
	int k = 0;
	/* A moved entry waits until this lease: the store of its fetch sets the real time. */
	const struct ph_refresh_due a = {
		.refresh_key = f->refresh_key,
		.queue_key = f->queue_key,
		.stats_key = f->stats_key,
		.lease_ms = refresh_last_step_ms(f->cfg->fetcher.refresh_schedule_ms),
		.pending_ttl = f->cfg->handler.pending_ttl,
		.max_age_ms = (long long)f->cfg->fetcher.refresh_max_age * 1000,
	};

	f->refresh_moved = 0;
	/* What is due is Redis' time to say: the script checks each member again by it. */
	if (fetcher_redis_time(f, &now) != 0)
		return -1;
	rep = ph_redis_cmd(f->redis, "ZRANGEBYSCORE %s -inf %" PRIu64 " LIMIT 0 %d", f->refresh_key,
	    now, FETCHER_REFRESH_BATCH);
	if (!fetcher_reply_ok(f, rep, "refresh") || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	ph_call_refresh_due(&f->call, &a);
	for (i = 0; i < rep->elements && k < FETCHER_REFRESH_BATCH; i++) {
		const redisReply *m = rep->element[i];

		if (m->type != REDIS_REPLY_STRING)
			continue;
		memset(&job, 0, sizeof job);
		if (refresh_member_parse(m->str, m->len, provider, sizeof provider, job.entity_type,
		        sizeof job.entity_type, job.entity_id, sizeof job.entity_id) != 0 ||
		    (p = provider_find(provider, strlen(provider), &pidx)) == NULL) {
			fetcher_refresh_drop(f, m->str, "not_an_entity");
			continue;
		}
		if (f->cfg->providers[pidx].refresh_off) {
			fetcher_refresh_drop(f, m->str, "refresh_off");
			continue;
		}
		memcpy(job.provider, p->name, strlen(p->name) + 1);
		snprintf(job.notification_id, sizeof job.notification_id, "refresh-%" PRIu64, now);
		snprintf(job.event, sizeof job.event, "refresh");
		job.received_at = now;
		if (job_encode(&job, jobs[k], sizeof jobs[k]) < 0 ||
		    ph_key_entity(pending[k], sizeof pending[k], f->cfg->redis.prefix,
		        PH_KEY_PENDING, job.provider, job.entity_type, job.entity_id) < 0 ||
		    ph_key_entity(entity[k], sizeof entity[k], f->cfg->redis.prefix, PH_KEY_ENTITY,
		        job.provider, job.entity_type, job.entity_id) < 0 ||
		    ph_call_refresh_due_add(&f->call, pending[k], entity[k], m->str, jobs[k]) !=
		        0) {
			fetcher_refresh_drop(f, m->str, "too_long");
			continue;
		}
		k++;
	}
	if (k == 0) {
		freeReplyObject(rep);
		return 0;
	}
	mv = ph_redis_call(f->redis, &f->call);
	freeReplyObject(rep);
	if (!fetcher_reply_ok(f, mv, "refresh_due") || mv->type != REDIS_REPLY_ARRAY ||
	    mv->elements != 3) {
		freeReplyObject(mv);
		return -1;
	}
	f->refresh_moved = k;
	log_debug("refresh_due", "queued=%lld covered=%lld expired=%lld", mv->element[0]->integer,
	    mv->element[1]->integer, mv->element[2]->integer);
	freeReplyObject(mv);
	return 0;
}

/* What re-queueing a worker's processing list did. */
enum requeue_result {
	REQUEUE_DONE,   /* its jobs (maybe none) are back in the queue, the worker forgotten */
	REQUEUE_ALIVE,  /* its heartbeat is recent: left alone */
	REQUEUE_FAILED, /* Redis failed, or its key does not fit */
};

/* Re-queue the processing list of one worker (of ours at start when force is set). */
static enum requeue_result
fetcher_requeue(struct fetcher *f, const char *worker, int force)
{
	char key[PH_KEY_MAX];
	redisReply *rep;
	long n;

	if (ph_key_of(key, sizeof key, f->cfg->redis.prefix, PH_KEY_PROCESSING, worker, NULL,
	        NULL) < 0)
		return REQUEUE_FAILED;
	ph_call_requeue(&f->call, key, f->queue_key, f->workers_key, worker,
	    f->cfg->fetcher.worker_timeout * 1000, force);
	rep = ph_redis_call(f->redis, &f->call);
	if (!fetcher_reply_ok(f, rep, "requeue") || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return REQUEUE_FAILED;
	}
	n = (long)rep->integer;
	freeReplyObject(rep);
	if (n < 0)
		return REQUEUE_ALIVE;
	if (n > 0 || !force)
		log_info("requeued", "worker=%s jobs=%ld by=%s", worker, n, f->id);
	return REQUEUE_DONE;
}

/*
 * Heartbeat, and re-queue the jobs of workers that stopped beating, both in
 * Redis' time: a host whose clock runs ahead sees no live worker as dead.
 * -1 when Redis failed.
 */
static int
fetcher_beat(struct fetcher *f)
{
	redisReply *rep;
	size_t i;

	if (!f->recovered) {
		/* Jobs a previous run under this --id held when it died. */
		if (fetcher_requeue(f, f->id, 1) != REQUEUE_DONE)
			return -1;
		f->recovered = 1;
	}
	ph_call_heartbeat(&f->call, f->workers_key, f->id, f->cfg->fetcher.worker_timeout * 1000,
	    FETCHER_REAP_BATCH);
	rep = ph_redis_call(f->redis, &f->call);
	if (!fetcher_reply_ok(f, rep, "heartbeat") || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i < rep->elements; i++) {
		const redisReply *w = rep->element[i];

		if (w->type != REDIS_REPLY_STRING || !ph_id_valid(w->str, w->len) ||
		    strcmp(w->str, f->id) == 0)
			continue;
		(void)fetcher_requeue(f, w->str, 0);
	}
	freeReplyObject(rep);
	return 0;
}

/* Leave the workers zset when nothing is held any more. */
static void
fetcher_leave(struct fetcher *f)
{
	redisReply *rep;

	rep = ph_redis_cmd(f->redis, "LLEN %s", f->processing_key);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer != 0) {
		/* Jobs still held: our stale heartbeat lets another fetcher re-queue them. */
		if (rep == NULL)
			log_warn("stop_with_jobs", "worker=%s error=\"%s\"", f->id,
			    ph_redis_err(f->redis));
		else
			log_warn("stop_with_jobs", "worker=%s held=%lld", f->id,
			    rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1LL);
		freeReplyObject(rep);
		return;
	}
	freeReplyObject(rep);
	freeReplyObject(ph_redis_cmd(f->redis, "ZREM %s %s", f->workers_key, f->id));
}

/* Make the default worker name: host-pid-random, in the id alphabet. */
static void
fetcher_default_id(char *buf, size_t len)
{
	char host[64];
	unsigned char rnd[3] = { 0, 0, 0 };
	size_t i;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "fetcher");
	host[sizeof host - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		if (!ph_id_valid(host + i, 1))
			host[i] = '-';
	}
	ph_random_bytes(rnd, sizeof rnd);
	snprintf(buf, len, "%.40s-%ld-%02x%02x%02x", host, (long)getpid(), rnd[0], rnd[1], rnd[2]);
}

/* The loop: take, claim, fetch, finish, until stopped or drained. */
static void
fetcher_run(struct fetcher *f)
{
	uint64_t now, beat_every, stop_deadline = 0, next_retry = 0;
	long block;
	int redis_ok, more, rc;

	beat_every = (uint64_t)f->cfg->fetcher.worker_timeout * 1000 / 3;
	if (beat_every > 1000)
		beat_every = 1000;
	for (;;) {
		now = ph_mono_ms();
		redis_ok = 1;
		if (now >= f->next_beat) {
			if (fetcher_beat(f) == 0)
				f->next_beat = now + beat_every;
			else
				redis_ok = 0;
		}
		/* One pipelined round trip for every slot's step, plus takes for free slots. */
		more = 0;
		if (redis_ok) {
			rc = fetcher_slots(f, f->busy > 0 || f->once);
			if (rc < 0)
				redis_ok = 0;
			more = rc > 0;
		}

		if (fetcher_stop) {
			if (stop_deadline == 0) {
				log_info("stopping", "worker=%s in_flight=%d", f->id, f->busy);
				stop_deadline = now + (uint64_t)FETCHER_STOP_GRACE_MS +
				    (uint64_t)f->cfg->fetcher.timeout_ms;
			}
			if (f->busy == 0 || now >= stop_deadline)
				break;
		}

		if (redis_ok && f->adopt && fetcher_adopt(f) == 0 && fetcher_slots(f, 0) != 0)
			redis_ok = 0;
		if (redis_ok && !fetcher_stop && now >= f->next_due) {
			if (fetcher_due(f, &next_retry) != 0 || fetcher_refresh_due(f) != 0)
				redis_ok = 0;
			/* A full batch of refreshes: the next one at once. */
			f->next_due = now + (f->refresh_moved == FETCHER_REFRESH_BATCH ? 0 : 100);
		}

		if (f->once && f->busy == 0 && f->queue_empty && f->recovered && redis_ok) {
			/* Drained: done unless retries came due meanwhile. */
			if (fetcher_due(f, &next_retry) != 0)
				redis_ok = 0;
			else if (f->due_moved == 0)
				break;
			f->queue_empty = 0;
			f->empty_until = 0;
			continue;
		}

		if (f->busy == 0 && redis_ok && !fetcher_stop && !f->once) {
			/* Idle: block on the queue, no longer than the next due retry. */
			block = FETCHER_BLOCK_MS;
			if (next_retry > 0) {
				uint64_t w = ph_mono_ms();
				long until = next_retry > w ? (long)(next_retry - w) : 0;
				if (until < block)
					block = until;
			}
			if (block < 10)
				block = 10;
			if (f->next_beat > now && (long)(f->next_beat - now) < block)
				block = (long)(f->next_beat - now) + 1;
			if (fetcher_take(f, block) > 0)
				fetcher_slots(f, 1);
			f->next_due = 0;
			continue;
		}
		/* Steps still waiting for Redis: only look at the transfers, no wait. */
		fetcher_transfers(f,
		    more              ? 0
		        : f->busy > 0 ? FETCHER_POLL_MS
		                      : (redis_ok ? 10 : 100));
	}
	if (f->busy == 0)
		fetcher_leave(f);
	else
		log_warn("stopped_with_work", "worker=%s in_flight=%d", f->id, f->busy);
}

/* Print usage. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: payhook-fetcher [-c FILE] [--concurrency N] [--id NAME] [--once]\n"
	    "                       [--check-config] [--version] [--help]\n"
	    "\n"
	    "Take jobs from payhook's Redis queue, GET each entity from its provider's\n"
	    "API and keep the latest snapshot, with an event per change.\n"
	    "\n"
	    "  -c, --config FILE    config file (default %s)\n"
	    "      --concurrency N  requests in flight (1..4096; default [fetcher] concurrency)\n"
	    "      --id NAME        worker name, unique among running fetchers\n"
	    "                       ([A-Za-z0-9_-]; default host-pid-random)\n"
	    "      --once           drain the queue and the due retries, then exit\n"
	    "      --check-config   load and validate the config, print it, exit\n"
	    "      --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n",
	    PH_DEFAULT_CONFIG);
}

/* Build the fixed keys; -1 if the prefix makes one too long. */
/* The rate limit key of each provider. */
static int
fetcher_rate_keys(struct fetcher *f)
{
	size_t i;

	for (i = 0; i < provider_count() && i < PH_MAX_PROVIDERS; i++) {
		if (ph_key_of(f->rate_key[i], PH_KEY_MAX, f->cfg->redis.prefix, PH_KEY_RATE,
		        provider_at(i)->name, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static int
fetcher_keys(struct fetcher *f)
{
	const char *p = f->cfg->redis.prefix;

	return ph_key_of(f->queue_key, PH_KEY_MAX, p, PH_KEY_QUEUE, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->processing_key, PH_KEY_MAX, p, PH_KEY_PROCESSING, f->id, NULL, NULL) <
	            0 ||
	        ph_key_of(f->workers_key, PH_KEY_MAX, p, PH_KEY_WORKERS, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->retry_key, PH_KEY_MAX, p, PH_KEY_RETRY, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->dead_key, PH_KEY_MAX, p, PH_KEY_DEAD, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->events_key, PH_KEY_MAX, p, PH_KEY_EVENTS, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->stats_key, PH_KEY_MAX, p, PH_KEY_STATS, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->refresh_key, PH_KEY_MAX, p, PH_KEY_REFRESH, NULL, NULL, NULL) < 0 ||
	        ph_key_of(f->events_trim_key, PH_KEY_MAX, p, PH_KEY_EVENTS_TRIM, NULL, NULL, NULL) <
	            0 ||
	        ph_stat_field(f->trimmed_field, sizeof f->trimmed_field, PH_STAT_EVENTS,
	            "trimmed_unread", NULL) < 0
	    ? -1
	    : fetcher_rate_keys(f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "id", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *conc_arg = NULL, *id_arg = NULL;
	struct ph_config cfg;
	struct fetcher f;
	struct sigaction sa;
	char *end, id[128], err[256], where[300];
	int ch, check = 0;
	long i;

	log_open("payhook-fetcher");
	memset(&f, 0, sizeof f);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			conc_arg = optarg;
			break;
		case 'i':
			id_arg = optarg;
			break;
		case 'o':
			f.once = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("payhook-fetcher %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "payhook-fetcher: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (id_arg != NULL && !ph_id_valid(id_arg, strlen(id_arg)))
		fatalx("--id %s: use 1 to 128 of [A-Za-z0-9_-]", id_arg);

	conf_start(&cfg, config_path);
	f.concurrency = cfg.fetcher.concurrency;
	if (conc_arg != NULL) {
		errno = 0;
		f.concurrency = strtol(conc_arg, &end, 10);
		if (*conc_arg == '\0' || *end != '\0' || errno != 0 || f.concurrency < 1 ||
		    f.concurrency > 4096)
			fatalx("--concurrency %s: must be a whole number from 1 to 4096", conc_arg);
	}
	if (check) {
		conf_check(&cfg);
		return 0;
	}
	if (id_arg != NULL)
		snprintf(id, sizeof id, "%s", id_arg);
	else
		fetcher_default_id(id, sizeof id);
	f.id = id;
	f.cfg = &cfg;
	f.policy.max_attempts = cfg.fetcher.max_attempts;
	f.policy.not_found_attempts = cfg.fetcher.not_found_attempts;
	f.policy.backoff_base_ms = cfg.fetcher.backoff_base_ms;
	f.policy.backoff_cap_ms = cfg.fetcher.backoff_cap_ms;
	if (fetcher_keys(&f) != 0)
		fatalx("config: [redis] prefix: too long");
	f.redis = ph_redis_new(&cfg, err, sizeof err);
	if (f.redis == NULL)
		fatalx("config: [redis] url: %s", err);
	/* A turn's steps: a rate ask per provider, a penalty and a step per slot, the takes. */
	if (ph_pipe_init(&f.pipe, PH_MAX_PROVIDERS + 2 * (int)f.concurrency + FETCHER_TAKE_BATCH) !=
	    0)
		fatalx("out of memory");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fetcher_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	f.multi = curl_multi_init();
	f.share = curl_share_init();
	if (f.multi == NULL || f.share == NULL)
		fatalx("out of memory");
	/* One thread: the share needs no lock callbacks. */
	curl_share_setopt(f.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(f.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(f.multi, CURLMOPT_MAXCONNECTS, f.concurrency);
	f.slots = calloc((size_t)f.concurrency, sizeof *f.slots);
	if (f.slots == NULL)
		fatalx("out of memory");
	for (i = 0; i < f.concurrency; i++)
		f.slots[i].f = &f;

	log_info("started", "version=%s worker=%s concurrency=%ld once=%d redis=%s",
	    PACKAGE_VERSION, f.id, f.concurrency, f.once,
	    ph_redis_where(f.redis, where, sizeof where));
	fetcher_run(&f);

	for (i = 0; i < f.concurrency; i++)
		slot_clear(&f.slots[i]);
	for (i = 0; i < f.concurrency; i++) {
		if (f.slots[i].easy != NULL)
			curl_easy_cleanup(f.slots[i].easy);
	}
	free(f.slots);
	curl_multi_cleanup(f.multi);
	curl_share_cleanup(f.share);
	curl_global_cleanup();
	ph_pipe_free(&f.pipe);
	ph_redis_free(f.redis);
	log_info("stopped", "worker=%s", f.id);
	conf_free(&cfg);
	return 0;
}
