/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Group commit of accept script calls. Each handler thread formats its own
 * EVALSHA into its own buffer (ph_cmd_script) and hands it to the group;
 * calls that arrive on different threads while a batch is with Redis go
 * together in the next batch: one pipelined write, one read of the replies.
 * A thread that finds no batch running leads one at once, so a lone
 * notification waits for no other. A batch is sent by accept_run, the one
 * accept path: each call gets its own verdict.
 */
#ifndef PH_COMMIT_H
#define PH_COMMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "accept.h"
#include "redis.h"

/* The most calls in one batch; more wait for the next. */
#define PH_COMMIT_BATCH PH_ACCEPT_BATCH

/* One thread's call, owned by that thread and reused for each notification. */
struct ph_commit_call {
	struct ph_commit_call *next; /* in the group's queue */
	atomic_int state;            /* queued, done, or asked to lead the next batch */
	struct ph_accept_item item;  /* the prepared call; its verdict when done */
};

/*
 * The queue is a list calls are pushed on without a lock; the thread that
 * raises the leading flag takes it whole. No mutex: 64 threads contending
 * for one cost more futex calls than the batches saved.
 */
struct ph_commit {
	_Atomic(struct ph_commit_call *) head; /* pushed, newest first */
	atomic_int leading;                    /* a thread is running a batch */
	struct ph_commit_call *rest;           /* taken, oldest first: the leader's only */
	struct ph_redis *redis;                /* the batches' connection: the leader's only */
	atomic_long batches;                   /* batches sent, and calls in them */
	atomic_long calls;
};

/* Set up a group (no connection yet); -1 with err if the Redis URL is bad. */
int ph_commit_init(struct ph_commit *g, const struct ph_config *cfg, char *err, size_t errlen);

/* Set up a thread's call with a buffer of cap bytes; -1 when out of memory. */
int ph_commit_call_init(struct ph_commit_call *c, size_t cap);

/*
 * The buffer a formatted accept call of a body of max_body bytes needs: the
 * body, the keys, jobs and dead letters, and the RESP framing of each.
 */
size_t ph_commit_call_cap(long max_body);

/*
 * Run an accept call, prepared with accept_prepare, in the next batch
 * (accept_run) and wait for its verdict (c->item: verdict, queued, and the
 * reason in err unless NEW or DUPLICATE).
 */
enum ph_accept ph_commit_accept(struct ph_commit *g, struct ph_commit_call *c,
    const struct ph_accept_call *call);

#endif
