/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* payhook-fcgi's counters and the durability check (flusher.h). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "flusher.h"
#include "log.h"
#include "payhook.h"
#include "provider.h"
#include "redis.h"

#define FLUSHER_MS 1000
/* Redis' persistence settings are read again this often. */
#define FLUSHER_DURABLE_MS 30000

static const struct {
	enum ph_stat_family family;
	const char *field;
} flusher_fields[PH_COUNT_MAX] = {
	{ PH_STAT_NOTIFICATIONS, "rejected:invalid_notification" },
	{ PH_STAT_NOTIFICATIONS, "rejected:unauthorized" },
	{ PH_STAT_NOTIFICATIONS, "rejected:not_found" },
	{ PH_STAT_NOTIFICATIONS, "rejected:method_not_allowed" },
	{ PH_STAT_NOTIFICATIONS, "rejected:body_too_large" },
	{ PH_STAT_NOTIFICATIONS, "unavailable" },
	{ PH_STAT_NOTIFICATIONS, "spooled" },
	{ PH_STAT_SIG_REJECTED, "signature" },
	{ PH_STAT_SIG_REJECTED, "timestamp" },
	{ PH_STAT_SIG_REJECTED, "header" },
};

/* The counters of each provider; the last row: no known provider. */
static atomic_long flusher_counts[PH_MAX_PROVIDERS + 1][PH_COUNT_MAX];

#define FLUSHER_NCOUNTERS ((PH_MAX_PROVIDERS + 1) * PH_COUNT_MAX + PH_SPOOL_NSTATS)

static struct {
	pthread_t thread;
	int started;
	atomic_int stopping;
	atomic_int durable;
	const struct ph_config *cfg;
	struct ph_spool *spool;
	struct ph_redis *r;
	struct ph_pipe pipe;
} flusher = { .durable = -1 };

/* Count an answer. */
void
flusher_count(size_t pidx, enum ph_count c)
{
	if (pidx >= provider_count())
		pidx = PH_MAX_PROVIDERS;
	atomic_fetch_add(&flusher_counts[pidx][c], 1);
}

/* Count an answer by its status. */
void
flusher_count_status(size_t pidx, int status)
{
	switch (status) {
	case 400:
		flusher_count(pidx, PH_COUNT_INVALID);
		break;
	case 401:
		flusher_count(pidx, PH_COUNT_UNAUTHORIZED);
		break;
	case 404:
		flusher_count(pidx, PH_COUNT_NOT_FOUND);
		break;
	case 405:
		flusher_count(pidx, PH_COUNT_METHOD);
		break;
	case 413:
		flusher_count(pidx, PH_COUNT_TOO_LARGE);
		break;
	case 503:
		flusher_count(pidx, PH_COUNT_UNAVAILABLE);
		break;
	default:
		break;
	}
}

/*
 * Add the counts kept here to {p}stats in one batch. A count Redis refused
 * (an error reply, as under -OOM) is put back; one whose reply was lost with
 * the connection too (it may have landed: counted again).
 */
static void
flusher_flush(void)
{
	atomic_long *from[FLUSHER_NCOUNTERS];
	long taken[FLUSHER_NCOUNTERS];
	int sent[FLUSHER_NCOUNTERS];
	char key[PH_KEY_MAX], field[128];
	size_t p;
	int c, n = 0, i, k = 0, refused = 0;
	redisReply *rep;

	for (p = 0; p <= PH_MAX_PROVIDERS; p++) {
		for (c = 0; c < PH_COUNT_MAX; c++) {
			from[n] = &flusher_counts[p][c];
			taken[n] = atomic_exchange(from[n], 0);
			n++;
		}
	}
	if (flusher.spool != NULL) {
		for (c = 0; c < PH_SPOOL_NSTATS; c++) {
			from[n] = spool_stat(spool_counts(flusher.spool), (size_t)c);
			taken[n] = atomic_exchange(from[n], 0);
			n++;
		}
	}
	ph_pipe_reset(&flusher.pipe);
	if (ph_key_of(key, sizeof key, flusher.cfg->redis.prefix, PH_KEY_STATS, NULL, NULL, NULL) <
	    0)
		goto out;
	for (i = 0; i < n; i++) {
		if (taken[i] == 0)
			continue;
		if (i < (PH_MAX_PROVIDERS + 1) * PH_COUNT_MAX) {
			p = (size_t)i / PH_COUNT_MAX;
			ph_stat_field(field, sizeof field, flusher_fields[i % PH_COUNT_MAX].family,
			    p < PH_MAX_PROVIDERS ? provider_at(p)->name : "unknown",
			    flusher_fields[i % PH_COUNT_MAX].field);
		} else {
			ph_stat_field(field, sizeof field, PH_STAT_SPOOL,
			    ph_spool_stats[i - (PH_MAX_PROVIDERS + 1) * PH_COUNT_MAX].name, NULL);
		}
		if (ph_pipe_fmt(&flusher.pipe, "HINCRBY %s %s %ld", key, field, taken[i]) != 0)
			goto out;
		sent[k++] = i;
	}
	if (k == 0 || ph_redis_pipe(flusher.r, &flusher.pipe) == 0)
		goto out;
	for (i = 0; i < k; i++) {
		rep = ph_pipe_reply(&flusher.pipe);
		if (rep == NULL)
			break; /* whether the rest landed is unknown: count them again */
		if (rep->type == REDIS_REPLY_ERROR)
			refused++; /* not added: kept for the next flush */
		else
			taken[sent[i]] = 0;
		freeReplyObject(rep);
	}
	if (refused > 0)
		log_debug("stats_flush", "refused=%d", refused);
out:
	for (i = 0; i < n; i++) {
		if (taken[i] != 0)
			atomic_fetch_add(from[i], taken[i]);
	}
}

/*
 * Read Redis' persistence settings; warn when what it acknowledges is not
 * durable. 0, or -1 when Redis did not answer (ask again soon).
 */
static int
flusher_check_durable(void)
{
	char reason[256];
	int d = ph_redis_durable(flusher.r, reason, sizeof reason), was;

	if (d < 0 && !ph_redis_connected(flusher.r))
		return -1; /* Redis down: ask again when it answers */
	was = atomic_exchange(&flusher.durable, d);
	if (d == was)
		return 0;
	if (d == 1)
		log_info("redis_durable", "durable=1 reason=\"%s\"", reason);
	else
		log_warn("redis_durable",
		    "durable=%d reason=\"%s\" effect=\"a notification answered 200 may be lost "
		    "if Redis' host crashes; see docs/DESIGN.md, Durability\"",
		    d, reason);
	return 0;
}

/* The flusher thread: add the counts to Redis once a second. */
static void *
flusher_thread(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t next = ph_mono_ms() + FLUSHER_MS, durable_at = 0;

	(void)arg;
	while (!atomic_load(&flusher.stopping)) {
		if (ph_mono_ms() >= durable_at) {
			/* Redis down: ask again at the next flush. */
			durable_at = ph_mono_ms() +
			    (flusher_check_durable() != 0 ? FLUSHER_MS : FLUSHER_DURABLE_MS);
		}
		nanosleep(&ts, NULL);
		if (ph_mono_ms() < next)
			continue;
		flusher_flush();
		next = ph_mono_ms() + FLUSHER_MS;
	}
	return NULL;
}

/* Start the flusher thread. */
int
flusher_start(const struct ph_config *cfg, struct ph_spool *spool, char *err, size_t errlen)
{
	flusher.cfg = cfg;
	flusher.spool = spool;
	flusher.r = ph_redis_new(cfg, err, errlen);
	if (flusher.r == NULL)
		return -1;
	if (ph_pipe_init(&flusher.pipe, FLUSHER_NCOUNTERS) != 0 ||
	    pthread_create(&flusher.thread, NULL, flusher_thread, NULL) != 0) {
		snprintf(err, errlen, "cannot start the counter flusher");
		return -1;
	}
	flusher.started = 1;
	return 0;
}

/* Stop the thread and flush what is left. */
void
flusher_stop(void)
{
	if (!flusher.started)
		return;
	atomic_store(&flusher.stopping, 1);
	pthread_join(flusher.thread, NULL);
	flusher.started = 0;
	flusher_flush(); /* what the last requests counted */
}

/* Whether Redis' acknowledged writes are durable. */
int
flusher_durable(void)
{
	return atomic_load(&flusher.durable);
}
