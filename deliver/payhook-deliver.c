/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhook-deliver: POST every event of the stream events to each configured
 * [endpoint NAME], signed per Standard Webhooks (DESIGN.md: Delivery).
 *
 * One thread: one Redis connection and one curl multi handle with up to
 * `concurrency` POSTs in flight for all endpoints together. Each endpoint
 * reads events through its own consumer group, and a script moves what it
 * read into the endpoint's own keys (due, held) and XACKs it. A claim
 * leases due deliveries (per entity, one at a time, never an older one
 * after a newer), a slot POSTs one, and a done script records its outcome.
 * A turn is three pipelined round trips: (A) outcomes, the endpoints'
 * state, reads and the heads of due; (B) the moves, the records of the
 * heads and the rate limits; (C) the claims. A deliverer that dies loses
 * nothing: what it read is pending in the group (XAUTOCLAIM), what it
 * claimed is due again when its lease ends, with the same webhook-id.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "call.h"
#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "payhook.h"
#include "provider.h"
#include "redis.h"
#include "whsig.h"

/* Entries read from an endpoint's group per turn (one intake call). */
#define DELIVER_READ_BATCH 128
/* Deliveries claimed per endpoint per turn. */
#define DELIVER_CLAIM_BATCH 192
/* One intake (a key and two arguments an entry) and one claim (a key and an argument a member) fit a call. */
_Static_assert(3 * DELIVER_READ_BATCH + 16 <= PH_CALL_ARGS, "intake of a read batch fits a call");
_Static_assert(2 * DELIVER_CLAIM_BATCH + 16 <= PH_CALL_ARGS, "claim batch fits a call");
/* Order-hash keys built for one intake or one claim. */
#define DELIVER_ORDER_KEYS \
	(DELIVER_READ_BATCH > DELIVER_CLAIM_BATCH ? DELIVER_READ_BATCH : DELIVER_CLAIM_BATCH)
/* A read entry nobody moved for this long belongs to a dead deliverer: XAUTOCLAIM. */
#define DELIVER_AUTOCLAIM_IDLE_MS 30000
/* How often the pending entries of dead deliverers are looked for. */
#define DELIVER_AUTOCLAIM_EVERY_MS 5000
/* How often the endpoints' state (disabled or not) is read. */
#define DELIVER_STATE_EVERY_MS 1000
/* Longest wait for activity when there is nothing to do. */
#define DELIVER_POLL_MS 50
/* A claim's lease outlives its POST by this much (contract: timeout_ms + 5000). */
#define DELIVER_LEASE_EXTRA_MS 5000
/* After SIGTERM, how long Redis may stay away before the rest is left to the leases. */
#define DELIVER_STOP_GRACE_MS 5000
/* A response body is read into at most this much, then dropped unread. */
#define DELIVER_RESPONSE_MAX 4096

enum slot_state {
	SLOT_FREE,
	SLOT_POST, /* POST in flight */
	SLOT_DONE, /* outcome decided; its done script has not run yet */
};

struct deliverer;

/* One endpoint: its config, signer, keys and stats fields. */
struct endpoint {
	const struct ph_endpoint_cfg *cfg;
	struct ph_whsig *sig;
	char group[PH_DELIVER_GROUP_MAX];
	char key[PH_KEY_MAX];
	char due_key[PH_KEY_MAX];
	char held_key[PH_KEY_MAX];
	char dead_key[PH_KEY_MAX];
	char rate_key[PH_KEY_MAX];
	char f_delivered[96], f_retried[96], f_dead[96], f_superseded[96], f_disabled[96],
	    f_filtered[96], f_sum[96], f_count[96];
	char f_bucket[PH_DELIVER_BUCKETS][96];
	int group_ok;       /* the consumer group exists */
	int disabled;       /* by a 410, until payhookctl endpoints enable */
	int own_done;       /* our own pending entries (a restart's) were read again */
	char autoclaim[48]; /* XAUTOCLAIM's cursor */
	uint64_t next_autoclaim;
	uint64_t due_at;     /* monotonic ms: claim no earlier (0: now) */
	uint64_t rate_until; /* monotonic ms: no rate grant asked before */
	int more;            /* a full read: read again at once */
	/* This turn: the heads of due read in (A), how many the rate granted in (B). */
	redisReply *heads;
	long granted;
	/* What (A) asked for this endpoint, so its replies are read back in step. */
	int asked_create, asked_state, asked_read, asked_ac, asked_heads;
	int asked_held, asked_rate, claimed;
};

/* One delivery being worked on. */
struct slot {
	enum slot_state state;
	struct deliverer *d;
	struct endpoint *ep;
	struct deliver_record rec;
	char *keep; /* the record's body */
	char until[24];
	char order_key[PH_KEY_MAX];
	struct deliver_buf body;
	struct deliver_buf out; /* the retry record or the dead entry */
	CURL *easy;
	int in_multi;
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	size_t got; /* response bytes read (and dropped) */
	enum ph_deliver_outcome outcome;
	uint64_t delay_ms;
	char reason[64];
	long status;
	long elapsed_ms; /* -1: no answer */
};

struct deliverer {
	struct ph_config *cfg;
	struct ph_redis *redis;
	struct ph_pipe pa; /* (A) and (C) of a turn */
	struct ph_pipe pb; /* (B) */
	struct ph_call call;
	const char *id;
	int once;
	long concurrency;
	struct slot *slots;
	int busy;
	CURLM *multi;
	CURLSH *share;
	struct endpoint *eps;
	int neps;
	int rr; /* the endpoint claims start from, turn after turn */
	char events_key[PH_KEY_MAX];
	char stats_key[PH_KEY_MAX];
	int redis_down;
	int stopping;
	uint64_t next_state;
	int worked; /* the last turn read, claimed or closed something */
	/* The intake's records and order keys, alive until the call is encoded. */
	struct deliver_buf recbuf[DELIVER_READ_BATCH];
	char order[DELIVER_ORDER_KEYS][PH_KEY_MAX]; /* an intake's or a claim's */
};

static volatile sig_atomic_t deliver_stop;

/* Note a termination signal. */
static void
deliver_signal(int sig)
{
	(void)sig;
	deliver_stop = 1;
}

/* Log a Redis failure once per outage. */
static void
deliver_redis_failed(struct deliverer *d, const char *what)
{
	int k;

	/* A read whose reply was lost left entries pending for us: read them again. */
	for (k = 0; k < d->neps; k++)
		d->eps[k].own_done = 0;
	if (!d->redis_down)
		log_warn("redis_down", "during=%s error=\"%s\"", what, ph_redis_err(d->redis));
	d->redis_down = 1;
}

/* Log that Redis answers again. */
static void
deliver_redis_ok(struct deliverer *d)
{
	if (d->redis_down)
		log_info("redis_up", "worker=%s", d->id);
	d->redis_down = 0;
}

/* The next reply of a pipeline and how it went (UNKNOWN: the rest are lost too). */
static redisReply *
deliver_reply(struct ph_pipe *p, enum ph_reply *kind)
{
	*kind = p->next < p->n ? p->res[p->next].kind : PH_REPLY_UNKNOWN;
	return ph_pipe_reply(p);
}

/* Send a pipeline; -1 when Redis could not be reached (logged). */
static int
deliver_send(struct deliverer *d, struct ph_pipe *p, const char *what)
{
	if (p->n == 0)
		return 0;
	if (ph_redis_pipe(d->redis, p) == 0) {
		deliver_redis_failed(d, what);
		return -1;
	}
	deliver_redis_ok(d);
	return 0;
}

/* Free what a slot holds and make it free; its curl handle is kept for its next POST. */
static void
slot_clear(struct slot *s)
{
	if (s->in_multi) {
		curl_multi_remove_handle(s->d->multi, s->easy);
		s->in_multi = 0;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	free(s->keep);
	s->keep = NULL;
	if (s->state != SLOT_FREE) {
		s->d->busy--;
		s->ep = NULL;
	}
	s->state = SLOT_FREE;
}

/* Read (and drop) a response body, at most DELIVER_RESPONSE_MAX of it counted. */
static size_t
slot_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct slot *s = arg;
	size_t n = size * nmemb;

	(void)data;
	/* Never kept, never logged: a merchant's page may hold anything. */
	s->got = s->got + n > DELIVER_RESPONSE_MAX ? DELIVER_RESPONSE_MAX : s->got + n;
	return n;
}

/* Add a header line to the slot's list; -1 when out of memory. */
static int
slot_header(struct slot *s, const char *line)
{
	struct curl_slist *l = curl_slist_append(s->headers, line);

	if (l == NULL)
		return -1;
	s->headers = l;
	return 0;
}

/* Start the POST of a claimed delivery: 0, or -1 (it stays claimed; its lease brings it back). */
static int
slot_start(struct slot *s)
{
	struct deliverer *d = s->d;
	char line[64 + PH_WHSIG_HEADER_MAX], sig[PH_WHSIG_HEADER_MAX], wid[80], err[128];
	int64_t ts = (int64_t)(ph_now_ms() / 1000);

	if (deliver_body(&s->rec, &s->body) != 0)
		return -1;
	snprintf(wid, sizeof wid, "evt_%s", s->rec.id);
	if (whsig_sign(s->ep->sig, wid, ts, s->body.p, s->body.len, sig, sizeof sig, err,
	        sizeof err) < 0) {
		log_error("sign_failed", "endpoint=%s id=%s error=\"%s\"", s->ep->cfg->name, wid,
		    err);
		return -1;
	}
	snprintf(line, sizeof line, "webhook-id: %s", wid);
	if (slot_header(s, "Content-Type: application/json") != 0 || slot_header(s, line) != 0)
		return -1;
	snprintf(line, sizeof line, "webhook-timestamp: %" PRId64, ts);
	if (slot_header(s, line) != 0)
		return -1;
	snprintf(line, sizeof line, "webhook-signature: %s", sig);
	explicit_bzero(sig, sizeof sig);
	/* No "Expect: 100-continue": one round trip, the body goes at once. */
	if (slot_header(s, line) != 0 || slot_header(s, "Expect:") != 0)
		return -1;

	if (s->easy != NULL)
		curl_easy_reset(s->easy);
	else
		s->easy = curl_easy_init();
	if (s->easy == NULL)
		return -1;
	s->curl_err[0] = '\0';
	s->got = 0;
	curl_easy_setopt(s->easy, CURLOPT_URL, s->ep->cfg->url);
	curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.p);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "payhook/" PACKAGE_VERSION);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, s->ep->cfg->timeout_ms);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, slot_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(s->easy, CURLOPT_SHARE, d->share);
	curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, (long)DELIVER_RESPONSE_MAX);
	/* The merchant answers where it is asked: a 3xx is a failure, never followed. */
	curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (curl_multi_add_handle(d->multi, s->easy) != CURLM_OK)
		return -1;
	s->in_multi = 1;
	s->state = SLOT_POST;
	log_debug("deliver_start", "endpoint=%s id=%s provider=%s type=%s entity=%s attempt=%ld",
	    s->ep->cfg->name, wid, s->rec.provider, s->rec.entity_type, s->rec.entity_id,
	    s->rec.attempt + 1);
	return 0;
}

/* Turn a finished POST into the slot's outcome. */
static void
slot_done(struct slot *s, CURLcode cc)
{
	struct deliverer *d = s->d;
	const struct ph_endpoint_cfg *e = s->ep->cfg;
	enum deliver_result r;
	const char *transport = NULL;
	curl_off_t ra = 0, us = 0;
	uint64_t rnd, now = ph_now_ms();
	long status = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	s->elapsed_ms = -1;
	if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK && us >= 0)
		s->elapsed_ms = (long)(us / 1000);
#if LIBCURL_VERSION_NUM >= 0x074200
	/* Seconds, from either form of Retry-After (RFC 9110 10.2.3: seconds or an HTTP date). */
	curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &ra);
#endif
	curl_multi_remove_handle(d->multi, s->easy);
	s->in_multi = 0;
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	if (cc != CURLE_OK) {
		status = 0;
		s->elapsed_ms = -1;
		transport = cc == CURLE_OPERATION_TIMEDOUT ? "timeout"
		    : cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
		        cc == CURLE_COULDNT_RESOLVE_PROXY
		    ? "connect"
		    : cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION
		    ? "tls"
		    : "transport";
	}
	s->status = status;
	if (ph_random_bytes(&rnd, sizeof rnd) != 0)
		rnd = ph_mono_ms();
	r = deliver_classify(e, status, transport,
	    ra > 0 ? (long)(ra > 86400 * 7 ? 86400 * 7 : ra) : 0, s->rec.attempt, rnd, &s->delay_ms,
	    s->reason, sizeof s->reason);
	switch (r) {
	case DELIVER_OK:
		s->outcome = PH_DELIVER_DELIVERED;
		s->out.len = 0;
		log_info("delivered",
		    "endpoint=%s id=evt_%s provider=%s type=%s entity=%s attempt=%ld status=%ld "
		    "ms=%ld",
		    e->name, s->rec.id, s->rec.provider, s->rec.entity_type, s->rec.entity_id,
		    s->rec.attempt + 1, status, s->elapsed_ms);
		break;
	case DELIVER_DISABLE:
		s->outcome = PH_DELIVER_DISABLED;
		s->out.len = 0;
		log_warn("endpoint_disabled", "endpoint=%s id=evt_%s status=410 reason=gone",
		    e->name, s->rec.id);
		break;
	case DELIVER_RETRY:
		s->outcome = PH_DELIVER_RETRY;
		s->rec.attempt++;
		if (deliver_record_json(&s->rec, NULL, 0, &s->out) != 0)
			fatalx("out of memory");
		log_info("delivery_retry",
		    "endpoint=%s id=evt_%s provider=%s type=%s entity=%s attempt=%ld reason=%s "
		    "retry_in_ms=%" PRIu64,
		    e->name, s->rec.id, s->rec.provider, s->rec.entity_type, s->rec.entity_id,
		    s->rec.attempt, s->reason, s->delay_ms);
		break;
	case DELIVER_DEAD:
		s->outcome = PH_DELIVER_DEAD;
		s->rec.attempt++;
		if (deliver_record_json(&s->rec, s->reason, now, &s->out) != 0)
			fatalx("out of memory");
		log_warn("delivery_dead",
		    "endpoint=%s id=evt_%s provider=%s type=%s entity=%s attempts=%ld reason=%s",
		    e->name, s->rec.id, s->rec.provider, s->rec.entity_type, s->rec.entity_id,
		    s->rec.attempt, s->reason);
		break;
	}
	s->state = SLOT_DONE;
}

/* Drive the POSTs and collect the finished ones; wait at most wait_ms for activity. */
static void
deliver_transfers(struct deliverer *d, int wait_ms)
{
	CURLMsg *m;
	struct slot *s;
	int running, left;

	curl_multi_perform(d->multi, &running);
	if (wait_ms > 0)
		curl_multi_poll(d->multi, NULL, 0, wait_ms, NULL);
	curl_multi_perform(d->multi, &running);
	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		s = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		if (s != NULL && s->state == SLOT_POST)
			slot_done(s, m->data.result);
	}
}

/* Append the done script of a slot with an outcome. */
static int
slot_done_send(struct slot *s)
{
	struct endpoint *ep = s->ep;
	struct ph_deliver_done a = {
		.due_key = ep->due_key,
		.held_key = ep->held_key,
		.order_key = s->order_key,
		.dead_key = ep->dead_key,
		.stats_key = s->d->stats_key,
		.endpoint_key = ep->key,
		.id = s->rec.id,
		.until = s->until,
		.outcome = s->outcome,
		.delay_ms = s->delay_ms,
		.record = s->out.p,
		.record_len = s->out.len,
		.outcome_field = s->outcome == PH_DELIVER_DELIVERED ? ep->f_delivered
		    : s->outcome == PH_DELIVER_RETRY                ? ep->f_retried
		    : s->outcome == PH_DELIVER_DEAD                 ? ep->f_dead
		                                                    : ep->f_disabled,
		.superseded_field = ep->f_superseded,
		.latency_field = "",
		.latency_sum_field = ep->f_sum,
		.latency_count_field = ep->f_count,
		.latency_ms = s->elapsed_ms > 0 ? s->elapsed_ms : 0,
		.disabled_reason = "410",
	};
	int i;

	if (s->elapsed_ms >= 0) {
		const char *le = deliver_bucket(s->elapsed_ms);

		for (i = 0; i < PH_DELIVER_BUCKETS; i++) {
			if (strcmp(le, ph_deliver_buckets[i]) == 0)
				a.latency_field = ep->f_bucket[i];
		}
	}
	ph_call_deliver_done(&s->d->call, &a);
	return ph_pipe_call(&s->d->pa, &s->d->call);
}

/* Read the reply of a slot's done script: the slot is free unless it must be sent again. */
static void
slot_done_reply(struct slot *s, enum ph_reply kind, redisReply *rep)
{
	if (kind == PH_REPLY_UNKNOWN || kind == PH_REPLY_REFUSED)
		return; /* sent again next turn */
	if (kind == PH_REPLY_FAILED) {
		/* The delivery stays in due: its lease brings it back. */
		log_error("redis_error", "during=deliver_done endpoint=%s error=\"%s\"",
		    s->ep->cfg->name, rep != NULL && rep->str != NULL ? rep->str : "");
	} else if (rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0) {
		log_info("delivery_lost_lease", "endpoint=%s id=evt_%s", s->ep->cfg->name,
		    s->rec.id);
	} else if (rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 2) {
		log_info("delivery_superseded",
		    "endpoint=%s id=evt_%s provider=%s type=%s entity=%s", s->ep->cfg->name,
		    s->rec.id, s->rec.provider, s->rec.entity_type, s->rec.entity_id);
	}
	if (s->outcome == PH_DELIVER_DISABLED && kind == PH_REPLY_RAN)
		s->ep->disabled = 1;
	if (s->outcome == PH_DELIVER_RETRY && kind == PH_REPLY_RAN) {
		/* Claim it when its retry is due, not when the claim's reply said (its lease). */
		uint64_t at = ph_mono_ms() + s->delay_ms;

		if (s->ep->due_at > at)
			s->ep->due_at = at;
	}
	slot_clear(s);
}

/* How many slots are free (or will be once their done script ran). */
static long
deliver_free(const struct deliverer *d)
{
	long i, n = 0;

	for (i = 0; i < d->concurrency; i++) {
		if (d->slots[i].state != SLOT_POST)
			n++;
	}
	return n;
}

/* Append the commands of (A) for one endpoint: create, state, read, autoclaim, heads. */
static void
deliver_a_endpoint(struct deliverer *d, struct endpoint *ep, uint64_t now, int state, long *room)
{
	ep->asked_heads = ep->asked_create = ep->asked_state = ep->asked_read = ep->asked_ac = 0;
	if (!ep->group_ok)
		ep->asked_create = ph_pipe_fmt(&d->pa, "XGROUP CREATE %s %s $ MKSTREAM",
		                       d->events_key, ep->group) == 0;
	if (state)
		ep->asked_state = ph_pipe_fmt(&d->pa, "HGET %s disabled_at", ep->key) == 0;
	if (d->stopping || ep->disabled || !ep->group_ok)
		return;
	ep->asked_read =
	    ph_pipe_fmt(&d->pa, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", ep->group, d->id,
	        DELIVER_READ_BATCH, d->events_key, ep->own_done ? ">" : "0") == 0;
	if (now >= ep->next_autoclaim)
		ep->asked_ac = ph_pipe_fmt(&d->pa, "XAUTOCLAIM %s %s %s %d %s COUNT %d",
		                   d->events_key, ep->group, d->id, DELIVER_AUTOCLAIM_IDLE_MS,
		                   ep->autoclaim, DELIVER_READ_BATCH) == 0;
	if (*room > 0 && now >= ep->due_at && now >= ep->rate_until) {
		long k = *room < DELIVER_CLAIM_BATCH ? *room : DELIVER_CLAIM_BATCH;

		ep->asked_heads = ph_pipe_fmt(&d->pa, "ZRANGE %s 0 %ld", ep->due_key, k - 1) == 0;
		*room -= k;
	}
}

/* Add the entries of a read (XREADGROUP's or XAUTOCLAIM's list) to the intake call. */
static void
deliver_intake_add(struct deliverer *d, struct endpoint *ep, const redisReply *list, int *n)
{
	size_t i, j;

	if (list == NULL || list->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < list->elements && *n < DELIVER_READ_BATCH; i++) {
		const redisReply *ent = list->element[i], *fv;
		const char *names[32], *values[32];
		size_t nl[32], vl[32], nf = 0;
		struct deliver_record r;
		const char *order = NULL;

		if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
		    ent->element[0]->type != REDIS_REPLY_STRING)
			continue;
		fv = ent->element[1];
		for (j = 0; fv->type == REDIS_REPLY_ARRAY && j + 1 < fv->elements && nf < 32;
		     j += 2) {
			if (fv->element[j]->type != REDIS_REPLY_STRING ||
			    fv->element[j + 1]->type != REDIS_REPLY_STRING)
				continue;
			names[nf] = fv->element[j]->str;
			nl[nf] = fv->element[j]->len;
			values[nf] = fv->element[j + 1]->str;
			vl[nf] = fv->element[j + 1]->len;
			nf++;
		}
		d->recbuf[*n].len = 0;
		/* An entry trimmed away, or one that is no event: only acknowledged (filtered). */
		if (deliver_record_from_fields(ent->element[0]->str, names, nl, values, vl, nf,
		        &r) != 0) {
			if (nf > 0)
				log_warn("bad_event", "endpoint=%s stream_id=%s", ep->cfg->name,
				    ent->element[0]->str);
		} else if (deliver_wants(ep->cfg, r.provider, r.entity_type)) {
			if (deliver_record_json(&r, NULL, 0, &d->recbuf[*n]) != 0)
				fatalx("out of memory");
			if (ph_key_endpoint_entity(d->order[*n], PH_KEY_MAX, d->cfg->redis.prefix,
			        ep->cfg->name, r.provider, r.entity_type, r.entity_id) > 0)
				order = d->order[*n];
		}
		if (ph_call_deliver_intake_add(&d->call, order, ent->element[0]->str,
		        order != NULL ? d->recbuf[*n].p : NULL,
		        order != NULL ? d->recbuf[*n].len : 0) != 0)
			break;
		(*n)++;
	}
}

/* Read the replies of (A) for one endpoint and append its (B) commands. */
static void
deliver_a_reply(struct deliverer *d, struct endpoint *ep, uint64_t now)
{
	struct ph_deliver_intake in = {
		.events_key = d->events_key,
		.due_key = ep->due_key,
		.held_key = ep->held_key,
		.stats_key = d->stats_key,
		.group = ep->group,
		.superseded_field = ep->f_superseded,
		.filtered_field = ep->f_filtered,
	};
	redisReply *rep, *read = NULL, *ac = NULL;
	enum ph_reply kind;
	int n = 0, was_disabled = ep->disabled;
	size_t i;

	ep->asked_held = ep->asked_rate = ep->claimed = 0;
	ep->heads = NULL;
	if (ep->asked_create) {
		rep = deliver_reply(&d->pa, &kind);
		if (kind == PH_REPLY_RAN ||
		    (kind == PH_REPLY_FAILED && rep != NULL && rep->str != NULL &&
		        strncmp(rep->str, "BUSYGROUP", 9) == 0)) {
			ep->group_ok = 1;
			log_info("endpoint_group", "endpoint=%s group=%s created=%d", ep->cfg->name,
			    ep->group, kind == PH_REPLY_RAN);
		} else if (kind == PH_REPLY_FAILED) {
			log_error("redis_error", "during=xgroup_create endpoint=%s error=\"%s\"",
			    ep->cfg->name, rep != NULL && rep->str != NULL ? rep->str : "");
		}
		if (rep != NULL)
			freeReplyObject(rep);
	}
	if (ep->asked_state) {
		rep = deliver_reply(&d->pa, &kind);
		if (kind == PH_REPLY_RAN) {
			ep->disabled = rep->type == REDIS_REPLY_STRING;
			if (ep->disabled && !was_disabled)
				log_warn("endpoint_disabled", "endpoint=%s disabled_at=%s",
				    ep->cfg->name, rep->str);
			else if (!ep->disabled && was_disabled)
				log_info("endpoint_enabled", "endpoint=%s", ep->cfg->name);
		}
		if (rep != NULL)
			freeReplyObject(rep);
	}
	if (!ep->asked_read)
		return;
	read = deliver_reply(&d->pa, &kind);
	if (ep->asked_ac) {
		ac = deliver_reply(&d->pa, &kind);
		if (kind == PH_REPLY_RAN && ac->type == REDIS_REPLY_ARRAY && ac->elements >= 2 &&
		    ac->element[0]->type == REDIS_REPLY_STRING &&
		    ac->element[0]->len < sizeof ep->autoclaim) {
			memcpy(ep->autoclaim, ac->element[0]->str, ac->element[0]->len + 1);
			/* A full pass: rest until the next look; else go on from the cursor. */
			ep->next_autoclaim = strcmp(ep->autoclaim, "0-0") == 0
			    ? now + DELIVER_AUTOCLAIM_EVERY_MS
			    : now;
		}
	}
	if (ep->asked_heads) {
		ep->heads = deliver_reply(&d->pa, &kind);
		if (kind != PH_REPLY_RAN || ep->heads->type != REDIS_REPLY_ARRAY) {
			if (ep->heads != NULL)
				freeReplyObject(ep->heads);
			ep->heads = NULL;
		}
	}

	ph_call_deliver_intake(&d->call, &in);
	ep->more = 0;
	if (read != NULL && read->type == REDIS_REPLY_ARRAY && read->elements == 1 &&
	    read->element[0]->type == REDIS_REPLY_ARRAY && read->element[0]->elements == 2) {
		const redisReply *list = read->element[0]->element[1];

		deliver_intake_add(d, ep, list, &n);
		if (!ep->own_done && list->type == REDIS_REPLY_ARRAY && list->elements == 0)
			ep->own_done = 1;
		ep->more = list->type == REDIS_REPLY_ARRAY && list->elements == DELIVER_READ_BATCH;
	} else if (read != NULL && read->type == REDIS_REPLY_NIL) {
		ep->own_done = 1;
	} else if (read != NULL && read->type == REDIS_REPLY_ERROR && read->str != NULL &&
	    strncmp(read->str, "NOGROUP", 7) == 0) {
		/* The group was deleted (by hand): made again from now on. */
		ep->group_ok = 0;
	}
	if (ac != NULL && ac->type == REDIS_REPLY_ARRAY && ac->elements >= 2) {
		if (ac->element[1]->elements > 0)
			log_info("deliver_autoclaim", "endpoint=%s entries=%zu", ep->cfg->name,
			    ac->element[1]->elements);
		deliver_intake_add(d, ep, ac->element[1], &n);
	}
	if (n > 0 && ph_pipe_call(&d->pb, &d->call) != 0)
		n = 0; /* cannot happen (pb has room for it): read again, still pending */
	if (n > 0) {
		ep->due_at = 0;
		d->worked = 1;
	}
	if (read != NULL)
		freeReplyObject(read);
	if (ac != NULL)
		freeReplyObject(ac);
	ep->asked_held = n > 0 ? 1 : 0; /* the intake's reply comes first in (B) */
	if (ep->heads != NULL && ep->heads->elements > 0) {
		/* The records of the heads, to name their entities' order hashes. */
		const char *argv[2 + DELIVER_CLAIM_BATCH];
		size_t lens[2 + DELIVER_CLAIM_BATCH];
		struct ph_cmd *c = &d->pb.cmd[d->pb.n];
		int argc = 0;

		argv[argc] = "HMGET";
		lens[argc++] = 5;
		argv[argc] = ep->held_key;
		lens[argc++] = strlen(ep->held_key);
		for (i = 0; i < ep->heads->elements && argc < 2 + DELIVER_CLAIM_BATCH; i++) {
			argv[argc] = ep->heads->element[i]->str;
			lens[argc++] = ep->heads->element[i]->len;
		}
		if (d->pb.n < d->pb.cap && ph_cmd_argv(c, argc, argv, lens) == 0) {
			d->pb.n++;
			ep->asked_held |= 2;
			if (ep->cfg->max_rps > 0) {
				long max_rps = ep->cfg->max_rps;
				long burst = max_rps / 10 > 1 ? max_rps / 10 : 1;
				double t = 1000.0 / (double)max_rps;
				const struct ph_rate ra = {
					.rate_key = ep->rate_key,
					.stats_key = d->stats_key,
					.provider = ep->cfg->name,
					.interval_ms = t,
					.tolerance_ms = t * (double)(burst - 1),
					.wanted = (long)ep->heads->elements,
					.newly_held =
					    0, /* the rate:{provider} stats are the fetchers' */
				};

				ph_call_rate(&d->call, &ra);
				if (ph_pipe_call(&d->pb, &d->call) == 0)
					ep->asked_rate = 1;
			}
		}
	}
}

/* Read the replies of (B) for one endpoint and append its claim. */
static void
deliver_b_reply(struct deliverer *d, struct endpoint *ep, uint64_t now)
{
	redisReply *rep, *held = NULL;
	enum ph_reply kind;
	long granted;
	size_t i;
	int added = 0;

	if (ep->asked_held & 1) {
		rep = deliver_reply(&d->pb, &kind);
		if (kind == PH_REPLY_FAILED)
			log_error("redis_error", "during=deliver_intake endpoint=%s error=\"%s\"",
			    ep->cfg->name, rep != NULL && rep->str != NULL ? rep->str : "");
		if (rep != NULL)
			freeReplyObject(rep);
	}
	if (!(ep->asked_held & 2))
		goto out;
	held = deliver_reply(&d->pb, &kind);
	granted = (long)ep->heads->elements;
	if (ep->asked_rate) {
		rep = deliver_reply(&d->pb, &kind);
		if (kind == PH_REPLY_RAN && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[0]->type == REDIS_REPLY_INTEGER &&
		    rep->element[1]->type == REDIS_REPLY_INTEGER) {
			granted = (long)rep->element[0]->integer;
			if (granted < (long)ep->heads->elements)
				ep->rate_until = now + (uint64_t)rep->element[1]->integer;
		} else {
			granted = 0;
		}
		if (rep != NULL)
			freeReplyObject(rep);
	}
	if (held == NULL || held->type != REDIS_REPLY_ARRAY ||
	    held->elements != ep->heads->elements || granted <= 0)
		goto out;
	ph_call_deliver_claim(&d->call, ep->due_key, ep->held_key, d->stats_key, ep->key,
	    ep->f_superseded, ep->cfg->timeout_ms + DELIVER_LEASE_EXTRA_MS);
	for (i = 0; i < held->elements && (long)added < granted && added < DELIVER_ORDER_KEYS;
	     i++) {
		struct deliver_record r;
		char *keep = NULL;

		if (held->element[i]->type != REDIS_REPLY_STRING)
			continue; /* gone: delivered meanwhile */
		if (deliver_record_parse(held->element[i]->str, held->element[i]->len, &r, &keep) !=
		        0 ||
		    ph_key_endpoint_entity(d->order[added], PH_KEY_MAX, d->cfg->redis.prefix,
		        ep->cfg->name, r.provider, r.entity_type, r.entity_id) < 0) {
			free(keep);
			log_error("bad_record", "endpoint=%s id=%s", ep->cfg->name,
			    ep->heads->element[i]->str);
			continue;
		}
		free(keep);
		if (ph_call_deliver_claim_add(&d->call, d->order[added],
		        ep->heads->element[i]->str) != 0)
			break;
		added++;
	}
	if (added > 0) {
		ph_pipe_call(&d->pa, &d->call);
		ep->claimed = 1; /* a claim follows in (C) */
	}
out:
	if (held != NULL)
		freeReplyObject(held);
	if (ep->heads != NULL) {
		/*
		 * Nothing claimed: look again in a second when due was empty, soon
		 * when not (a rate, records gone); at once when this turn moved
		 * entries in (they were not in the heads read before).
		 */
		if (ep->claimed || (ep->asked_held & 1))
			;
		else if (ep->heads->elements == 0)
			ep->due_at = now + 1000;
		else
			ep->due_at = now + DELIVER_POLL_MS;
		freeReplyObject(ep->heads);
		ep->heads = NULL;
	}
}

/* The first free slot, or NULL. */
static struct slot *
deliver_free_slot(struct deliverer *d)
{
	long i;

	for (i = 0; i < d->concurrency; i++) {
		if (d->slots[i].state == SLOT_FREE)
			return &d->slots[i];
	}
	return NULL;
}

/* Read a claim's reply: start a POST for each delivery it leased. */
static void
deliver_c_reply(struct deliverer *d, struct endpoint *ep, uint64_t now)
{
	redisReply *rep;
	enum ph_reply kind;
	size_t i;

	rep = deliver_reply(&d->pa, &kind);
	if (kind != PH_REPLY_RAN || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		if (kind == PH_REPLY_FAILED)
			log_error("redis_error", "during=deliver_claim endpoint=%s error=\"%s\"",
			    ep->cfg->name, rep != NULL && rep->str != NULL ? rep->str : "");
		ep->due_at = now + DELIVER_POLL_MS;
		goto out;
	}
	if (rep->element[0]->integer == -2) {
		/* Disabled by a 410 another deliverer got: the state read says so next. */
		if (!ep->disabled)
			log_warn("endpoint_disabled", "endpoint=%s seen_by=claim", ep->cfg->name);
		ep->disabled = 1;
		ep->due_at = now + DELIVER_STATE_EVERY_MS;
		goto out;
	}
	/*
	 * Look again when the next member is due, and at least every second:
	 * a member in flight is due at its lease's end, and another process
	 * (a replay, another deliverer's retry) may add one due sooner.
	 */
	ep->due_at = rep->element[0]->integer < 0 || rep->element[0]->integer > 1000
	    ? now + 1000
	    : now + (uint64_t)rep->element[0]->integer;
	for (i = 1; i + 3 <= rep->elements; i += 3) {
		const redisReply *id = rep->element[i], *rec = rep->element[i + 1],
		                 *until = rep->element[i + 2];
		struct slot *s = deliver_free_slot(d);

		if (s == NULL)
			break; /* cannot happen: claims never exceed the free slots */
		if (id->type != REDIS_REPLY_STRING || rec->type != REDIS_REPLY_STRING ||
		    until->type != REDIS_REPLY_STRING || until->len >= sizeof s->until)
			continue;
		if (deliver_record_parse(rec->str, rec->len, &s->rec, &s->keep) != 0 ||
		    strcmp(s->rec.id, id->str) != 0 ||
		    ph_key_endpoint_entity(s->order_key, PH_KEY_MAX, d->cfg->redis.prefix,
		        ep->cfg->name, s->rec.provider, s->rec.entity_type, s->rec.entity_id) < 0) {
			free(s->keep);
			s->keep = NULL;
			log_error("bad_record", "endpoint=%s id=%s", ep->cfg->name, id->str);
			continue;
		}
		memcpy(s->until, until->str, until->len + 1);
		s->ep = ep;
		s->state = SLOT_POST;
		d->busy++;
		d->worked = 1;
		if (slot_start(s) != 0) {
			/* Left claimed: due again when its lease ends. */
			log_error("deliver_start_failed", "endpoint=%s id=evt_%s", ep->cfg->name,
			    s->rec.id);
			slot_clear(s);
		}
	}
out:
	if (rep != NULL)
		freeReplyObject(rep);
}

/* One turn: (A) outcomes, state, reads, heads; (B) moves, records, rates; (C) claims. */
static int
deliver_turn(struct deliverer *d)
{
	uint64_t now = ph_mono_ms();
	struct slot *done[DELIVER_CLAIM_BATCH];
	int order[PH_MAX_ENDPOINTS];
	int state = now >= d->next_state, ndone = 0, k;
	long room, i;

	d->worked = 0;
	for (k = 0; k < d->neps; k++)
		order[k] = (d->rr + k) % d->neps;
	d->rr = d->neps > 0 ? (d->rr + 1) % d->neps : 0;

	/* (A) */
	ph_pipe_reset(&d->pa);
	for (i = 0; i < d->concurrency && ndone < DELIVER_CLAIM_BATCH; i++) {
		struct slot *s = &d->slots[i];

		if (s->state == SLOT_DONE && slot_done_send(s) == 0)
			done[ndone++] = s;
	}
	room = d->stopping ? 0 : deliver_free(d);
	for (k = 0; k < d->neps; k++)
		deliver_a_endpoint(d, &d->eps[order[k]], now, state, &room);
	if (deliver_send(d, &d->pa, "turn") != 0)
		return -1;
	if (state)
		d->next_state = now + DELIVER_STATE_EVERY_MS;
	for (k = 0; k < ndone; k++) {
		enum ph_reply kind;
		redisReply *rep = deliver_reply(&d->pa, &kind);

		slot_done_reply(done[k], kind, rep);
		if (rep != NULL)
			freeReplyObject(rep);
		d->worked = 1;
	}

	/* (B) */
	ph_pipe_reset(&d->pb);
	for (k = 0; k < d->neps; k++)
		deliver_a_reply(d, &d->eps[order[k]], now);
	if (deliver_send(d, &d->pb, "turn") != 0) {
		for (k = 0; k < d->neps; k++) {
			if (d->eps[k].heads != NULL)
				freeReplyObject(d->eps[k].heads);
			d->eps[k].heads = NULL;
		}
		return -1;
	}

	/* (C) */
	ph_pipe_reset(&d->pa);
	for (k = 0; k < d->neps; k++)
		deliver_b_reply(d, &d->eps[order[k]], now);
	if (deliver_send(d, &d->pa, "turn") != 0)
		return -1;
	for (k = 0; k < d->neps; k++) {
		if (d->eps[order[k]].claimed)
			deliver_c_reply(d, &d->eps[order[k]], now);
	}
	for (k = 0; k < d->neps; k++) {
		if (d->eps[k].more)
			d->worked = 1;
	}
	return 0;
}

/* Whether an endpoint waits for its group, or its own pending entries, to be read. */
static int
deliver_settling(const struct deliverer *d)
{
	int k;

	for (k = 0; k < d->neps; k++) {
		if (!d->eps[k].group_ok || (!d->eps[k].disabled && !d->eps[k].own_done))
			return 1;
	}
	return 0;
}

/* How long to wait for the POSTs: until the next claim, at most DELIVER_POLL_MS. */
static int
deliver_wait_ms(const struct deliverer *d, int redis_ok)
{
	uint64_t now = ph_mono_ms(), next = now + DELIVER_POLL_MS;
	int k;

	if (!redis_ok)
		return 100;
	if (d->worked)
		return 0;
	for (k = 0; k < d->neps; k++) {
		if (!d->eps[k].disabled && d->eps[k].due_at < next)
			next = d->eps[k].due_at > now ? d->eps[k].due_at : now;
	}
	return (int)(next - now);
}

/* The loop: turns and transfers until stopped (or, with --once, until nothing is due). */
static void
deliver_run(struct deliverer *d)
{
	uint64_t now, stop_deadline = 0;
	long longest = 0;
	int k, redis_ok, quiet = 0;

	for (k = 0; k < d->neps; k++) {
		if (d->eps[k].cfg->timeout_ms > longest)
			longest = d->eps[k].cfg->timeout_ms;
	}
	for (;;) {
		now = ph_mono_ms();
		if (deliver_stop && !d->stopping) {
			d->stopping = 1;
			log_info("stopping", "worker=%s in_flight=%d", d->id, d->busy);
			stop_deadline = now + (uint64_t)longest + DELIVER_STOP_GRACE_MS;
		}
		redis_ok = deliver_turn(d) == 0;
		if (d->stopping) {
			int pending = 0;
			long i;

			for (i = 0; i < d->concurrency; i++)
				pending += d->slots[i].state != SLOT_FREE;
			if (pending == 0 || now >= stop_deadline)
				break;
		}
		if (d->once && redis_ok) {
			/* Twice in a row nothing to do, nothing in flight: what is due now is done. */
			quiet = d->busy == 0 && !d->worked && !deliver_settling(d) ? quiet + 1 : 0;
			if (quiet >= 2) {
				for (k = 0; k < d->neps; k++) {
					if (!d->eps[k].disabled && d->eps[k].due_at <= ph_mono_ms())
						quiet = 0;
				}
				if (quiet >= 2)
					break;
			}
		}
		deliver_transfers(d, deliver_wait_ms(d, redis_ok));
	}
	if (d->busy > 0)
		log_warn("stopped_with_work", "worker=%s in_flight=%d", d->id, d->busy);
}

/* Make the default consumer name: host-pid-random, in the id alphabet. */
static void
deliver_default_id(char *buf, size_t len)
{
	char host[64];
	unsigned char rnd[3] = { 0, 0, 0 };
	size_t i;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "deliver");
	host[sizeof host - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		if (!ph_id_valid(host + i, 1))
			host[i] = '-';
	}
	ph_random_bytes(rnd, sizeof rnd);
	snprintf(buf, len, "%.40s-%ld-%02x%02x%02x", host, (long)getpid(), rnd[0], rnd[1], rnd[2]);
}

/* Set up an endpoint: signer, group, keys and stats fields. -1 when a name does not fit. */
static int
deliver_endpoint(struct deliverer *d, struct endpoint *ep, const struct ph_endpoint_cfg *cfg)
{
	const char *p = d->cfg->redis.prefix, *n = cfg->name;
	char err[256];
	int i;

	ep->cfg = cfg;
	ep->sig = whsig_new(cfg->secret, err, sizeof err);
	if (ep->sig == NULL)
		fatalx("config: [endpoint %s] secret: %s", n, err);
	deliver_group(ep->group, sizeof ep->group, n);
	snprintf(ep->autoclaim, sizeof ep->autoclaim, "0-0");
	if (ph_key_of(ep->key, PH_KEY_MAX, p, PH_KEY_ENDPOINT, n, NULL, NULL) < 0 ||
	    ph_key_of(ep->due_key, PH_KEY_MAX, p, PH_KEY_ENDPOINT_DUE, n, NULL, NULL) < 0 ||
	    ph_key_of(ep->held_key, PH_KEY_MAX, p, PH_KEY_ENDPOINT_HELD, n, NULL, NULL) < 0 ||
	    ph_key_of(ep->dead_key, PH_KEY_MAX, p, PH_KEY_ENDPOINT_DEAD, n, NULL, NULL) < 0 ||
	    ph_key_of(ep->rate_key, PH_KEY_MAX, p, PH_KEY_ENDPOINT_RATE, n, NULL, NULL) < 0 ||
	    ph_stat_field(ep->f_delivered, sizeof ep->f_delivered, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_DELIVERED]) < 0 ||
	    ph_stat_field(ep->f_retried, sizeof ep->f_retried, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_RETRIED]) < 0 ||
	    ph_stat_field(ep->f_dead, sizeof ep->f_dead, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_DEAD]) < 0 ||
	    ph_stat_field(ep->f_superseded, sizeof ep->f_superseded, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_SUPERSEDED]) < 0 ||
	    ph_stat_field(ep->f_disabled, sizeof ep->f_disabled, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_DISABLED]) < 0 ||
	    ph_stat_field(ep->f_filtered, sizeof ep->f_filtered, PH_STAT_DELIVERIES, n,
	        ph_deliver_counts[DELIVER_COUNT_FILTERED]) < 0 ||
	    ph_stat_field(ep->f_sum, sizeof ep->f_sum, PH_STAT_DELIVERY_SECONDS, n, "sum") < 0 ||
	    ph_stat_field(ep->f_count, sizeof ep->f_count, PH_STAT_DELIVERY_SECONDS, n, "count") <
	        0)
		return -1;
	for (i = 0; i < PH_DELIVER_BUCKETS; i++) {
		if (ph_stat_field(ep->f_bucket[i], sizeof ep->f_bucket[i], PH_STAT_DELIVERY_SECONDS,
		        n, ph_deliver_buckets[i]) < 0)
			return -1;
	}
	return 0;
}

/* Print usage. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: payhook-deliver [-c FILE] [--concurrency N] [--id NAME] [--once]\n"
	    "                       [--check-config] [--version] [--help]\n"
	    "\n"
	    "POST every event of payhook's events stream to each [endpoint NAME] of the\n"
	    "config, signed per Standard Webhooks, with retries, in per-entity order.\n"
	    "\n"
	    "  -c, --config FILE    config file (default %s)\n"
	    "      --concurrency N  POSTs in flight for all endpoints (1..4096; default 64)\n"
	    "      --id NAME        consumer name, unique among running deliverers\n"
	    "                       ([A-Za-z0-9_-]; default host-pid-random)\n"
	    "      --once           deliver what is due now, then exit\n"
	    "      --check-config   load and validate the config, print it, exit\n"
	    "      --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n",
	    PH_DEFAULT_CONFIG);
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
	struct deliverer d;
	struct sigaction sa;
	char *end, id[128], err[256], where[300];
	int ch, check = 0, k;
	long i;

	log_open("payhook-deliver");
	memset(&d, 0, sizeof d);
	d.concurrency = 64;
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
			d.once = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("payhook-deliver %s\n", PACKAGE_VERSION);
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
		fprintf(stderr, "payhook-deliver: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (id_arg != NULL && !ph_id_valid(id_arg, strlen(id_arg)))
		fatalx("--id %s: use 1 to 128 of [A-Za-z0-9_-]", id_arg);
	if (conc_arg != NULL) {
		errno = 0;
		d.concurrency = strtol(conc_arg, &end, 10);
		if (*conc_arg == '\0' || *end != '\0' || errno != 0 || d.concurrency < 1 ||
		    d.concurrency > 4096)
			fatalx("--concurrency %s: must be a whole number from 1 to 4096", conc_arg);
	}

	conf_start(&cfg, config_path);
	if (check) {
		conf_check(&cfg);
		return 0;
	}
	if (cfg.nendpoints == 0)
		fatalx("config: no [endpoint NAME] section: nothing to deliver to");
	if (id_arg != NULL)
		snprintf(id, sizeof id, "%s", id_arg);
	else
		deliver_default_id(id, sizeof id);
	d.id = id;
	d.cfg = &cfg;
	if (ph_key_of(d.events_key, PH_KEY_MAX, cfg.redis.prefix, PH_KEY_EVENTS, NULL, NULL, NULL) <
	        0 ||
	    ph_key_of(d.stats_key, PH_KEY_MAX, cfg.redis.prefix, PH_KEY_STATS, NULL, NULL, NULL) <
	        0)
		fatalx("config: [redis] prefix: too long");
	d.neps = cfg.nendpoints;
	d.eps = calloc((size_t)d.neps, sizeof *d.eps);
	if (d.eps == NULL)
		fatalx("out of memory");
	for (k = 0; k < d.neps; k++) {
		if (deliver_endpoint(&d, &d.eps[k], &cfg.endpoints[k]) != 0)
			fatalx("config: [redis] prefix: too long for [endpoint %s]",
			    cfg.endpoints[k].name);
	}
	d.redis = ph_redis_new(&cfg, err, sizeof err);
	if (d.redis == NULL)
		fatalx("config: [redis] url: %s", err);
	/* (A): a done per slot, and per endpoint create, state, read, autoclaim, heads. */
	if (ph_pipe_init(&d.pa, (int)d.concurrency + 5 * d.neps + DELIVER_CLAIM_BATCH) != 0 ||
	    ph_pipe_init(&d.pb, 3 * d.neps) != 0)
		fatalx("out of memory");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = deliver_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	d.multi = curl_multi_init();
	d.share = curl_share_init();
	if (d.multi == NULL || d.share == NULL)
		fatalx("out of memory");
	curl_share_setopt(d.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(d.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(d.multi, CURLMOPT_MAXCONNECTS, d.concurrency);
	d.slots = calloc((size_t)d.concurrency, sizeof *d.slots);
	if (d.slots == NULL)
		fatalx("out of memory");
	for (i = 0; i < d.concurrency; i++)
		d.slots[i].d = &d;

	log_info("started", "version=%s worker=%s concurrency=%ld once=%d endpoints=%d redis=%s",
	    PACKAGE_VERSION, d.id, d.concurrency, d.once, d.neps,
	    ph_redis_where(d.redis, where, sizeof where));
	deliver_run(&d);

	for (i = 0; i < d.concurrency; i++) {
		slot_clear(&d.slots[i]);
		deliver_buf_free(&d.slots[i].body);
		deliver_buf_free(&d.slots[i].out);
		if (d.slots[i].easy != NULL)
			curl_easy_cleanup(d.slots[i].easy);
	}
	for (k = 0; k < DELIVER_READ_BATCH; k++)
		deliver_buf_free(&d.recbuf[k]);
	for (k = 0; k < d.neps; k++)
		whsig_free(d.eps[k].sig);
	free(d.eps);
	free(d.slots);
	curl_multi_cleanup(d.multi);
	curl_share_cleanup(d.share);
	curl_global_cleanup();
	ph_pipe_free(&d.pa);
	ph_pipe_free(&d.pb);
	ph_redis_free(d.redis);
	log_info("stopped", "worker=%s", d.id);
	conf_free(&cfg);
	return 0;
}
