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

/* Set up a group. */
int
ph_commit_init(struct ph_commit *g, const struct ph_config *cfg, char *err, size_t errlen)
{
	memset(g, 0, sizeof *g);
	g->redis = ph_redis_new(cfg, err, errlen);
	return g->redis != NULL ? 0 : -1;
}

/* Set up a thread's call. */
int
ph_commit_call_init(struct ph_commit_call *c, size_t cap)
{
	memset(c, 0, sizeof *c);
	c->item.cmd.buf = malloc(cap);
	c->item.cmd.cap = cap;
	return c->item.cmd.buf != NULL ? 0 : -1;
}

/* The buffer an accept call of a body of max_body bytes needs. */
size_t
ph_commit_call_cap(long max_body)
{
	const struct ph_accept_call *call = NULL;
	size_t args = sizeof call->argv / sizeof call->argv[0] + 3;

	/* Each argument: "$" len "\r\n" bytes "\r\n"; none but the body is over a job's size. */
	return 64 + (size_t)max_body + args * (PH_JOB_MAX + PH_KEY_MAX + 32);
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

	struct ph_accept_item *items[PH_COMMIT_BATCH];

	commit_take(g);
	while (n < PH_COMMIT_BATCH && g->rest != NULL) {
		items[n] = &g->rest->item;
		batch[n++] = g->rest;
		g->rest = g->rest->next;
	}
	atomic_fetch_add(&g->batches, 1);
	atomic_fetch_add(&g->calls, n);
	accept_run(g->redis, items, n);
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

	if (accept_item_notification(&c->item, call) != 0) {
		c->item.verdict = PH_ACCEPT_UNAVAILABLE;
		c->item.queued = 0;
		snprintf(c->item.err, sizeof c->item.err, "accept call: out of memory");
		return c->item.verdict;
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
	return c->item.verdict;
}
