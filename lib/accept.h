/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The accept path: every write payhook answers for (a notification from a
 * request or from the spool, a refetch by hand, a spooled record's dead
 * letter) goes through accept_run, which sends a batch of them with
 * ph_redis_batch and gives each a verdict. The WAIT of [redis] min_replicas
 * runs on the connection that carried the writes; a connection lost or
 * replaced before its WAIT makes the verdicts it carried unavailable.
 */
#ifndef PH_ACCEPT_H
#define PH_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "job.h"
#include "provider.h"
#include "redis.h"

enum ph_accept {
	PH_ACCEPT_NEW,         /* recorded; jobs queued or covered (refetch: queued) */
	PH_ACCEPT_DUPLICATE,   /* seen before: nothing written (refetch: a job waits already) */
	PH_ACCEPT_REJECTED,    /* Redis ran it and it failed (a script's error): nothing written */
	PH_ACCEPT_UNAVAILABLE, /* not recorded: Redis unreachable or refusing, or not acknowledged */
};

/* What every notification's script call shares: built once, at start-up. */
struct ph_accept_ctx {
	const struct ph_config *cfg;
	char queue[PH_KEY_MAX];
	char dead[PH_KEY_MAX];
	char retry[PH_KEY_MAX]; /* a refetch looks there for a job its marker covers */
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

/* What an accept item runs; its verdict is read from the reply accordingly. */
enum ph_accept_kind {
	PH_ACCEPT_NOTIFICATION, /* the accept script: {1 new | 0 duplicate, queued} */
	PH_ACCEPT_REFETCH,      /* the refetch script: 1 queued, 2 pending */
	PH_ACCEPT_DEAD,         /* LPUSH of a dead-letter entry: its length */
};

/* One call of the accept path, owned by its caller and reused. */
struct ph_accept_item {
	struct ph_cmd cmd; /* prepared by accept_item_* */
	enum ph_accept_kind kind;
	enum ph_accept verdict; /* set by accept_run, with queued and err */
	int queued;
	char err[256];
};

/* Prepare a notification's call, built by accept_prepare. 0, or -1 (out of memory). */
int accept_item_notification(struct ph_accept_item *it, const struct ph_accept_call *call);

/* Prepare a refetch by hand of the job's entity. 0, or -1 (a key or job too long). */
int accept_item_refetch(struct ph_accept_item *it, const struct ph_accept_ctx *ctx,
    const struct ph_job *job);

/* Prepare the LPUSH of a dead-letter entry of len bytes. 0 or -1. */
int accept_item_dead(struct ph_accept_item *it, const struct ph_accept_ctx *ctx, const char *entry,
    size_t len);

/* Free an item's buffer. */
void accept_item_free(struct ph_accept_item *it);

/* The most items in one accept_run. */
#define PH_ACCEPT_BATCH 64

/*
 * Send up to PH_ACCEPT_BATCH items in one batch and give each its verdict.
 * Items refused as NOSCRIPT or by a demoted master, and items whose replies
 * were lost with the connection, are sent once more after the whole batch
 * was read; items refused for a passing reason (OOM, BUSY, NOPERM,
 * LOADING...) are unavailable. With [redis] min_replicas, every verdict of a
 * connection is NEW or DUPLICATE only after a WAIT on that same connection
 * acknowledged it. Safe to send again: a call that ran answers duplicate
 * (seen) or finds its pending markers.
 */
void accept_run(struct ph_redis *r, struct ph_accept_item *const *items, int n);

/* accept_run of one refetch (POST /entities/.../refetch, payhookctl refetch); reason in err. */
enum ph_accept accept_refetch(const struct ph_accept_ctx *ctx, struct ph_redis *r,
    const struct ph_job *job, char *err, size_t errlen);

#endif
