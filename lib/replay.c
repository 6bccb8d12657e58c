/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Replaying the spool through the accept path (replay.h). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "flusher.h"
#include "log.h"
#include "payhook.h"
#include "provider.h"
#include "replay.h"

/* Corrupt spans of one segment logged one by one; more are counted. */
#define REPLAY_BAD_LOGGED 16

/* What one record of a batch is waiting for. */
struct replay_slot {
	size_t off;
	int dead; /* its item is a dead letter (it did not decode) */
	char provider[256];
	char reason[160];
};

/* The replay of one directory: its batch and what it found. */
struct replay {
	const struct ph_accept_ctx *ctx;
	struct ph_redis *r;
	struct ph_spool_counts *counts;
	long settle_ms;
	int n;
	struct ph_accept_item item[PH_ACCEPT_BATCH];
	struct replay_slot slot[PH_ACCEPT_BATCH];
	struct ph_notification note;
	struct ph_accept_call call;
	/* Of the segment being replayed: its bad bytes are logged and counted once, when it goes. */
	long records, left, torn, corrupt;
	size_t torn_at, torn_len;
	size_t bad_at[REPLAY_BAD_LOGGED], bad_len[REPLAY_BAD_LOGGED];
	int stopped;
	int skip;        /* a whole batch refused: the rest of the segment waits for a later turn */
	int any_refused; /* in this replay_dir */
	char refused[256]; /* the first refusal's reason, logged once per segment */
};

/* The last refusal logged by this thread's replays. */
static _Thread_local char replay_last_refused[256];

/* Whether two reasons are of one kind: "refused: OOM ...", "failed: ERR ...", up to the code. */
static int
replay_same_kind(const char *a, const char *b)
{
	size_t n = strcspn(a, " ");

	n += a[n] == ' ' ? 1 + strcspn(a + n + 1, " ") : 0;
	return strncmp(a, b, n) == 0 && (b[n] == ' ' || b[n] == '\0');
}

/* The settle time for a durability state. */
long
replay_settle_ms(int durable)
{
	return durable == 1 ? 0 : PH_REPLAY_SETTLE_MS;
}

/* Build the dead-letter entry of a record that does not decode (caller frees). */
static char *
replay_dead_entry(const struct ph_spool_rec *rec, const char *reason)
{
	struct json_object *o = json_object_new_object();
	char error[320], *out;

	if (o == NULL)
		return NULL;
	snprintf(error, sizeof error, "spool: %s", reason);
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "provider", json_object_new_string(rec->provider));
	json_object_object_add(o, "received_at", json_object_new_int64((int64_t)rec->received_at));
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "failed_at", json_object_new_int64((int64_t)ph_now_ms()));
	json_object_object_add(o, "body", json_object_new_string_len(rec->body, (int)rec->len));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Send the batch; mark what Redis holds, keep what it refused. */
static void
replay_flush(struct replay *rp, struct ph_segment *g)
{
	struct ph_accept_item *items[PH_ACCEPT_BATCH];
	int i, held = 0;

	if (rp->n == 0)
		return;
	for (i = 0; i < rp->n; i++)
		items[i] = &rp->item[i];
	accept_run(rp->r, items, rp->n);
	for (i = 0; i < rp->n; i++) {
		struct ph_accept_item *it = &rp->item[i];
		struct replay_slot *sl = &rp->slot[i];

		if (it->verdict != PH_ACCEPT_NEW && it->verdict != PH_ACCEPT_DUPLICATE) {
			/* Kept in the segment for a later turn: never lost, never dead. */
			rp->left++;
			atomic_fetch_add(&rp->counts->refused, 1);
			if (rp->refused[0] == '\0')
				snprintf(rp->refused, sizeof rp->refused, "%s", it->err);
			continue;
		}
		held++;
		if (spool_segment_mark(g, sl->off) != 0) {
			/* Replayed again later: duplicate, or covered by its job. */
			log_warn("spool_mark", "segment=%s offset=%zu reason=\"cannot write\"",
			    spool_segment_path(g), sl->off);
			rp->left++;
			continue;
		}
		if (sl->dead) {
			log_warn("spool_dead", "segment=%s provider=%s reason=\"%s\"",
			    spool_segment_path(g), sl->provider, sl->reason);
			atomic_fetch_add(&rp->counts->dead, 1);
		} else {
			atomic_fetch_add(it->verdict == PH_ACCEPT_NEW ? &rp->counts->replayed
			                                              : &rp->counts->duplicate,
			    1);
		}
	}
	/* A lost connection that could not be made again: stop until the next turn. */
	if (!ph_redis_connected(rp->r))
		rp->stopped = 1;
	/* Nothing of a batch taken: Redis refuses all for now (OOM, an ACL); not the rest too. */
	if (held == 0)
		rp->skip = 1;
	rp->n = 0;
}

/* Add one record to the batch: its accept call, or its dead letter. */
static int
replay_add(struct replay *rp, const struct ph_spool_rec *rec)
{
	struct ph_accept_item *it = &rp->item[rp->n];
	struct replay_slot *sl = &rp->slot[rp->n];
	const struct ph_provider *p;
	char *entry;
	size_t bom;
	int rc;

	sl->off = rec->off;
	sl->dead = 0;
	snprintf(sl->provider, sizeof sl->provider, "%s", rec->provider);
	p = provider_find(rec->provider, strlen(rec->provider), NULL);
	if (p == NULL) {
		snprintf(sl->provider, sizeof sl->provider, "unknown");
		snprintf(sl->reason, sizeof sl->reason, "unknown provider");
	} else if (provider_decode(p, rec->body, rec->len, &rp->note, sl->reason,
	               sizeof sl->reason) == 0) {
		bom = provider_bom_len(rec->body, rec->len);
		if (accept_prepare(rp->ctx, p, &rp->note, rec->body + bom, rec->len - bom,
		        rec->received_at, &rp->call) == 0) {
			if (accept_item_notification(it, &rp->call) != 0)
				return -1;
			rp->n++;
			return 0;
		}
		snprintf(sl->reason, sizeof sl->reason, "key or job too long (prefix?)");
	}
	/* It will never decode: to the dead list, through the same batch. */
	entry = replay_dead_entry(rec, sl->reason);
	if (entry == NULL)
		return -1;
	rc = accept_item_dead(it, rp->ctx, entry, strlen(entry));
	free(entry);
	if (rc != 0)
		return -1;
	sl->dead = 1;
	rp->n++;
	return 0;
}

/* Replay one locked segment: what becomes of it. */
static enum ph_segment_verdict
replay_segment(struct ph_segment *g, void *arg)
{
	struct replay *rp = arg;
	struct ph_spool_rec rec;
	enum ph_spool_next k;
	const char *seg = spool_segment_path(g);
	long i;

	rp->records = rp->left = rp->torn = rp->corrupt = 0;
	rp->refused[0] = '\0';
	rp->n = 0;
	rp->skip = 0;
	while (!rp->stopped && !rp->skip && (k = spool_segment_next(g, &rec)) != PH_SPOOL_END) {
		switch (k) {
		case PH_SPOOL_TORN:
			rp->torn++;
			rp->torn_at = rec.off;
			rp->torn_len = rec.len;
			break;
		case PH_SPOOL_CORRUPT:
			if (rp->corrupt < REPLAY_BAD_LOGGED) {
				rp->bad_at[rp->corrupt] = rec.off;
				rp->bad_len[rp->corrupt] = rec.len;
			}
			rp->corrupt++;
			break;
		case PH_SPOOL_RECORD:
			rp->records++;
			if (rec.done)
				break;
			if (replay_add(rp, &rec) != 0) {
				log_warn("spool_replay", "segment=%s reason=\"out of memory\"",
				    seg);
				rp->stopped = 1;
				break;
			}
			if (rp->n == PH_ACCEPT_BATCH)
				replay_flush(rp, g);
			break;
		case PH_SPOOL_END:
			break;
		}
	}
	if (!rp->stopped && !rp->skip)
		replay_flush(rp, g);
	if (rp->stopped)
		return PH_SEGMENT_STOP;
	if (rp->left > 0 || rp->skip) {
		/* Said when the kind of refusal changes, not at every turn nor per segment. */
		rp->any_refused = 1;
		if (!replay_same_kind(rp->refused, replay_last_refused))
			log_warn("spool_refused", "segment=%s left=%ld reason=\"%s\"", seg,
			    rp->left, rp->refused);
		snprintf(replay_last_refused, sizeof replay_last_refused, "%s", rp->refused);
		return PH_SEGMENT_KEEP;
	}
	/*
	 * Every record is done. With min_replicas each was acknowledged by WAIT;
	 * without, Redis' own fsync must have run: kept settle_ms after the last mark.
	 */
	if (ph_redis_min_replicas(rp->r) <= 0 && spool_segment_idle_ms(g) < rp->settle_ms)
		return PH_SEGMENT_KEEP;
	/* Counted once, when the segment goes: a kept one is read again. */
	for (i = 0; i < rp->corrupt && i < REPLAY_BAD_LOGGED; i++)
		log_warn("spool_corrupt", "segment=%s offset=%zu skipped=%zu", seg, rp->bad_at[i],
		    rp->bad_len[i]);
	/* Nothing valid after it: a write the crash cut short, never answered 200. */
	if (rp->torn > 0)
		log_warn("spool_torn", "segment=%s offset=%zu bytes=%zu", seg, rp->torn_at,
		    rp->torn_len);
	atomic_fetch_add(&rp->counts->torn, rp->torn);
	atomic_fetch_add(&rp->counts->corrupt, rp->corrupt);
	log_info("spool_replayed", "segment=%s records=%ld", seg, rp->records);
	return PH_SEGMENT_REMOVE;
}

/* Replay a directory. */
enum ph_spool_replay
replay_dir(const char *dir, const struct ph_accept_ctx *ctx, struct ph_redis *r,
    struct ph_spool_counts *c, long settle_ms, char *err, size_t errlen)
{
	struct replay *rp = calloc(1, sizeof *rp);
	enum ph_spool_replay rc;
	int i;

	if (rp == NULL) {
		snprintf(err, errlen, "spool: out of memory");
		return PH_REPLAY_FAILED;
	}
	rp->ctx = ctx;
	rp->r = r;
	rp->counts = c;
	rp->settle_ms = settle_ms;
	rc = spool_each_segment(dir, replay_segment, rp, err, errlen);
	/* A turn with nothing refused ends the refusal: the next one is said again. */
	if (rc == PH_REPLAY_DONE && !rp->any_refused)
		replay_last_refused[0] = '\0';
	if (rc == PH_REPLAY_REDIS_DOWN)
		snprintf(err, errlen, "%s", ph_redis_err(r));
	for (i = 0; i < PH_ACCEPT_BATCH; i++)
		accept_item_free(&rp->item[i]);
	free(rp);
	return rc;
}

/* The replayer thread's state. */
static struct {
	pthread_t thread;
	const struct ph_config *cfg;
	struct ph_spool *spool;
	const struct ph_accept_ctx *ctx;
	struct ph_redis *r;
} replayer;

#define REPLAY_TURN_MS 250

/*
 * While the spool holds segments and Redis answers, close this process's
 * segment and replay every segment no live process holds (its own, and those
 * of processes that died), oldest first.
 */
static void *
replay_thread(void *arg)
{
	struct timespec ts = { 0, REPLAY_TURN_MS * 1000 * 1000 };
	const char *dir = replayer.cfg->handler.spool_dir;
	struct ph_spool_status st;
	char err[256], last[256] = "";
	enum ph_spool_replay rc;
	redisReply *rep;
	int up;

	(void)arg;
	/* Until the process exits: payhook-fcgi _exit()s with it running. */
	for (;;) {
		nanosleep(&ts, NULL);
		if (spool_status(dir, &st) != 0)
			continue;
		spool_set_used(replayer.spool, st.bytes);
		if (st.segments == 0)
			continue;
		rep = ph_redis_cmd(replayer.r, "PING");
		up = rep != NULL && rep->type == REDIS_REPLY_STATUS;
		if (rep != NULL)
			freeReplyObject(rep);
		if (!up)
			continue;
		if (spool_has_open(replayer.spool))
			spool_seal(replayer.spool);
		rc = replay_dir(dir, replayer.ctx, replayer.r, spool_counts(replayer.spool),
		    replay_settle_ms(flusher_durable()), err, sizeof err);
		/* The room the replay freed counts at once, not at the next turn. */
		if (spool_status(dir, &st) == 0)
			spool_set_used(replayer.spool, st.bytes);
		switch (rc) {
		case PH_REPLAY_DONE:
			last[0] = '\0';
			break;
		case PH_REPLAY_REDIS_DOWN:
		case PH_REPLAY_FAILED:
			/* Said once per reason, not at every turn. */
			if (strcmp(err, last) != 0)
				log_warn("spool_replay", "stopped=1 reason=\"%s\"", err);
			snprintf(last, sizeof last, "%s", err);
			break;
		}
	}
	return NULL;
}

/* Start the replayer thread. */
int
replay_start(const struct ph_config *cfg, struct ph_spool *spool, const struct ph_accept_ctx *ctx,
    char *err, size_t errlen)
{
	replayer.cfg = cfg;
	replayer.spool = spool;
	replayer.ctx = ctx;
	replayer.r = ph_redis_new(cfg, err, errlen);
	if (replayer.r == NULL)
		return -1;
	if (pthread_create(&replayer.thread, NULL, replay_thread, NULL) != 0) {
		snprintf(err, errlen, "cannot start the spool replayer");
		return -1;
	}
	return 0;
}
