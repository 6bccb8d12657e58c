/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Group commit of accept script calls. Each handler thread formats its own
 * EVALSHA into its own buffer (ph_resp_script) and hands it to the group;
 * calls that arrive on different threads while a batch is with Redis go
 * together in the next batch: one pipelined write, one read of the replies.
 * A thread that finds no batch running leads one at once, so a lone
 * notification waits for no other. Each call gets its own verdict: a script
 * error or a lost connection fails only the calls it touched.
 */
#ifndef PH_COMMIT_H
#define PH_COMMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "accept.h"
#include "redis.h"

/* The most calls in one batch; more wait for the next. */
#define PH_COMMIT_BATCH 64

/* One thread's call, owned by that thread and reused for each notification. */
struct ph_commit_call {
	struct ph_commit_call *next; /* in the group's queue */
	atomic_int state;            /* queued, done, or asked to lead the next batch */
	char *cmd;                   /* the formatted EVALSHA (ph_resp_script) */
	size_t len;
	size_t cap;
	enum ph_accept verdict; /* with queued and err, set when done */
	int queued;
	char err[256];
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
	struct ph_redis redis;                 /* the batches' connection: the leader's only */
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
 * Format EVALSHA <sha of script> nkeys argv... as RESP into buf (cap bytes).
 * Its length, or 0 when it does not fit.
 */
size_t ph_resp_script(char *buf, size_t cap, const char *sha, int nkeys, int argc,
    const char *const *argv, const size_t *lens);

/*
 * Run an accept call, prepared with accept_prepare, in the next batch and wait
 * for its verdict (c->verdict, c->queued; the reason in c->err when
 * PH_ACCEPT_UNAVAILABLE).
 */
enum ph_accept ph_commit_accept(struct ph_commit *g, struct ph_commit_call *c,
    const struct ph_accept_call *call);

#endif
