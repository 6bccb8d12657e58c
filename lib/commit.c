/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Group commit of accept script calls (commit.h). */
#include "config.h"

#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commit.h"
#include "payhook.h"

/* A call's state: its thread sleeps (futex) while it is queued. */
enum { COMMIT_QUEUED, COMMIT_DONE, COMMIT_LEAD };

/* Where the SHA1 goes in a formatted call: the leader writes its connection's in. */
#define COMMIT_NO_SHA "0000000000000000000000000000000000000000"

/* Set up a group. */
int
ph_commit_init(struct ph_commit *g, const struct ph_config *cfg, char *err, size_t errlen)
{
	memset(g, 0, sizeof *g);
	return ph_redis_init(&g->redis, cfg, err, errlen);
}

/* Set up a thread's call. */
int
ph_commit_call_init(struct ph_commit_call *c, size_t cap)
{
	memset(c, 0, sizeof *c);
	c->cmd = malloc(cap);
	c->cap = cap;
	return c->cmd != NULL ? 0 : -1;
}

/* The buffer an accept call of a body of max_body bytes needs. */
size_t
ph_commit_call_cap(long max_body)
{
	const struct ph_accept_call *call = NULL;
	size_t args = sizeof call->argv / sizeof call->argv[0] + 3;

	/* Each argument: "$" len "\r\n" bytes "\r\n"; none but the body is over a job's size. */
	return 32 + (size_t)max_body + args * (PH_JOB_MAX + PH_KEY_MAX + 32);
}

/* Append "<c>len\r\n" to p; the new end. */
static char *
resp_len(char *p, char c, size_t n)
{
	char tmp[24];
	int i = 0;

	*p++ = c;
	do {
		tmp[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	while (i > 0)
		*p++ = tmp[--i];
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Append one bulk string. */
static char *
resp_bulk(char *p, const char *s, size_t n)
{
	p = resp_len(p, '$', n);
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Format EVALSHA as RESP. */
size_t
ph_resp_script(char *buf, size_t cap, const char *sha, int nkeys, int argc, const char *const *argv,
    const size_t *lens)
{
	char nk[24], *p = buf;
	size_t need = 64 + 40 + sizeof nk;
	int i;

	if (argc < 0 || nkeys < 0 || nkeys > argc)
		return 0;
	for (i = 0; i < argc; i++)
		need += lens[i] + 32;
	if (need > cap)
		return 0;
	p = resp_len(p, '*', (size_t)argc + 3);
	p = resp_bulk(p, "EVALSHA", 7);
	p = resp_bulk(p, sha, 40);
	*ph_put_u64(nk, nk + sizeof nk - 1, (uint64_t)nkeys) = '\0';
	p = resp_bulk(p, nk, strlen(nk));
	for (i = 0; i < argc; i++)
		p = resp_bulk(p, argv[i], lens[i]);
	return (size_t)(p - buf);
}

/* Where the SHA1 is in a call formatted by ph_resp_script. */
static size_t
commit_sha_at(const struct ph_commit_call *c)
{
	const char *p = memchr(c->cmd, '\n', c->len); /* after "*N\r\n" */

	return (size_t)(p - c->cmd) + 1 + sizeof "$7\r\nEVALSHA\r\n$40\r\n" - 1;
}

/*
 * Send a batch in one write (the calls' verdicts are set here; the caller
 * wakes their threads) and read each reply. A connection that served
 * earlier batches may have died since (Redis restarted), and a script
 * flushed from Redis answers NOSCRIPT: the calls without a verdict are sent
 * once more on a new connection, which loads the scripts. Safe: a call
 * that did run answers duplicate (seen) or finds its pending markers.
 */
static void
commit_batch(struct ph_commit *g, struct ph_commit_call **batch, int n)
{
	struct ph_redis *r = &g->redis;
	struct ph_commit_call *left[PH_COMMIT_BATCH];
	redisReply *rep;
	int nleft = 0, was_up = r->c != NULL, attempt, i, k, again;

	for (i = 0; i < n; i++)
		left[nleft++] = batch[i];
	for (attempt = 0; attempt < 2 && nleft > 0; attempt++) {
		if (attempt > 0 && !was_up)
			break;
		if (ph_redis_connect(r) != 0)
			break;
		for (i = 0; i < nleft; i++) {
			memcpy(left[i]->cmd + commit_sha_at(left[i]), r->sha[PH_SCRIPT_ACCEPT], 40);
			if (redisAppendFormattedCommand(r->c, left[i]->cmd, left[i]->len) !=
			    REDIS_OK) {
				ph_redis_fail(r, "append");
				break;
			}
		}
		if (r->c == NULL)
			continue;
		atomic_fetch_add(&g->batches, 1);
		atomic_fetch_add(&g->calls, nleft);
		again = 0;
		for (i = k = 0; i < nleft; i++) {
			if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || rep == NULL) {
				/* The rest: whether they ran is unknown. */
				ph_redis_fail(r, "EVALSHA");
				while (i < nleft)
					left[k++] = left[i++];
				break;
			}
			if (rep->type == REDIS_REPLY_ERROR &&
			    (strncmp(rep->str, "NOSCRIPT", 8) == 0 ||
			        ph_redis_check_reply(r, rep))) {
				/* Not run: no script, or a demoted master (-READONLY), whose
				 * new connection asks the sentinels again. */
				snprintf(r->err, sizeof r->err, "accept script: %s", rep->str);
				left[k++] = left[i];
				again = 1;
			} else {
				left[i]->verdict = accept_verdict(rep, &left[i]->queued,
				    left[i]->err, sizeof left[i]->err);
			}
			freeReplyObject(rep);
		}
		nleft = k;
		/* SCRIPT FLUSH or a failover: a new connection loads the scripts again. */
		if (again && r->c != NULL) {
			ph_redis_drop(r);
			was_up = 1;
		}
	}
	for (i = 0; i < nleft; i++) {
		left[i]->verdict = PH_ACCEPT_UNAVAILABLE;
		left[i]->queued = 0;
		snprintf(left[i]->err, sizeof left[i]->err, "%s", r->err);
	}
	/* [redis] min_replicas: one WAIT covers the batch; unacknowledged, none is answered 200. */
	if (nleft < n && ph_redis_wait_replicas(r) != 0) {
		for (i = 0; i < n; i++) {
			if (batch[i]->verdict == PH_ACCEPT_UNAVAILABLE)
				continue;
			batch[i]->verdict = PH_ACCEPT_UNAVAILABLE;
			batch[i]->queued = 0;
			snprintf(batch[i]->err, sizeof batch[i]->err, "%s", r->err);
		}
	}
}

/* Set a call's state and wake its thread. */
static void
commit_wake(struct ph_commit_call *c, int state)
{
	atomic_store(&c->state, state);
	syscall(SYS_futex, &c->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Move what waits to the end of g->rest, oldest first (the leader only). */
static void
commit_take(struct ph_commit *g)
{
	struct ph_commit_call *l = atomic_exchange(&g->head, NULL), *rev = NULL, *next, **tail;

	while (l != NULL) {
		next = l->next;
		l->next = rev;
		rev = l;
		l = next;
	}
	for (tail = &g->rest; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = rev;
}

/*
 * The leader's batch is done: the oldest waiting call's thread leads the
 * next, or, when none waits, no one leads. A call queued just as the
 * leading flag drops is seen here, or its thread sees the flag down and
 * leads (both sides store, then load, sequentially consistent).
 */
static void
commit_pass(struct ph_commit *g)
{
	int expected;

	for (;;) {
		commit_take(g);
		if (g->rest != NULL) {
			commit_wake(g->rest, COMMIT_LEAD);
			return;
		}
		atomic_store(&g->leading, 0);
		if (atomic_load(&g->head) == NULL)
			return;
		expected = 0;
		if (!atomic_compare_exchange_strong(&g->leading, &expected, 1))
			return; /* another thread leads */
	}
}

/* Lead: send the oldest waiting calls (up to a batch), answer them, pass on. */
static void
commit_lead(struct ph_commit *g)
{
	struct ph_commit_call *batch[PH_COMMIT_BATCH];
	int n = 0, i;

	commit_take(g);
	while (n < PH_COMMIT_BATCH && g->rest != NULL) {
		batch[n++] = g->rest;
		g->rest = g->rest->next;
	}
	commit_batch(g, batch, n);
	for (i = 0; i < n; i++)
		commit_wake(batch[i], COMMIT_DONE);
	commit_pass(g);
}

/* Run an accept call in the next batch. */
enum ph_accept
ph_commit_accept(struct ph_commit *g, struct ph_commit_call *c, const struct ph_accept_call *call)
{
	struct ph_commit_call *head;
	int expected = 0, state;

	c->len = ph_resp_script(c->cmd, c->cap, COMMIT_NO_SHA, call->nkeys, call->argc, call->argv,
	    call->lens);
	c->queued = 0;
	if (c->len == 0) {
		snprintf(c->err, sizeof c->err, "accept call too long");
		c->verdict = PH_ACCEPT_UNAVAILABLE;
		return c->verdict;
	}
	atomic_store(&c->state, COMMIT_QUEUED);
	head = atomic_load(&g->head);
	do
		c->next = head;
	while (!atomic_compare_exchange_weak(&g->head, &head, c));
	/* No batch with Redis: lead one at once. */
	if (atomic_compare_exchange_strong(&g->leading, &expected, 1))
		commit_lead(g);
	for (;;) {
		state = atomic_load(&c->state);
		if (state == COMMIT_DONE)
			break;
		if (state == COMMIT_LEAD) {
			atomic_store(&c->state, COMMIT_QUEUED);
			commit_lead(g);
			continue;
		}
		syscall(SYS_futex, &c->state, FUTEX_WAIT_PRIVATE, COMMIT_QUEUED, NULL, NULL, 0);
	}
	return c->verdict;
}
