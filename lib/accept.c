/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Accept a notification with PH_SCRIPT_ACCEPT. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accept.h"
#include "call.h"
#include "job.h"
#include "log.h"
#include "payhook.h"

_Static_assert(PH_MAX_ENTITIES < 10, "accept_prepare writes the entity count as one digit");

/* Build the keys and arguments every call shares. */
int
accept_init(struct ph_accept_ctx *ctx, const struct ph_config *cfg)
{
	const char *prefix = cfg->redis.prefix;

	memset(ctx, 0, sizeof *ctx);
	ctx->cfg = cfg;
	snprintf(ctx->dedup_ttl, sizeof ctx->dedup_ttl, "%ld", cfg->handler.dedup_ttl);
	snprintf(ctx->pending_ttl, sizeof ctx->pending_ttl, "%ld", cfg->handler.pending_ttl);
	snprintf(ctx->maxlen, sizeof ctx->maxlen, "%ld", cfg->handler.notifications_maxlen);
	return ph_key_of(ctx->queue, sizeof ctx->queue, prefix, PH_KEY_QUEUE, NULL, NULL, NULL) <
	            0 ||
	        ph_key_of(ctx->dead, sizeof ctx->dead, prefix, PH_KEY_DEAD, NULL, NULL, NULL) < 0 ||
	        ph_key_of(ctx->retry, sizeof ctx->retry, prefix, PH_KEY_RETRY, NULL, NULL, NULL) <
	            0 ||
	        ph_key_of(ctx->notifications, sizeof ctx->notifications, prefix,
	            PH_KEY_NOTIFICATIONS, NULL, NULL, NULL) < 0 ||
	        ph_key_of(ctx->stats, sizeof ctx->stats, prefix, PH_KEY_STATS, NULL, NULL, NULL) < 0
	    ? -1
	    : 0;
}

/* Build the script call of one notification. */
int
accept_prepare(const struct ph_accept_ctx *ctx, const struct ph_provider *p,
    const struct ph_notification *n, const char *body, size_t len, uint64_t now_ms,
    struct ph_accept_call *call)
{
	const char *prefix = ctx->cfg->redis.prefix;
	struct ph_job job;
	int i, nk, na, body_at;

	if (ph_key_of(call->seen, sizeof call->seen, prefix, PH_KEY_SEEN, p->name,
	        n->id[0] != '\0' ? n->id : "-", NULL) < 0)
		return -1;

	memset(&job, 0, sizeof job);
	memcpy(job.provider, p->name, strlen(p->name) + 1);
	memcpy(job.notification_id, n->id, sizeof n->id);
	memcpy(job.event, n->event, sizeof n->event);
	job.received_at = now_ms;
	if (n->id[0] == '\0')
		ph_guid_new(job.notification_id); /* Cielo: no id of its own */
	memcpy(call->notification_id, job.notification_id, sizeof call->notification_id);

	nk = 0;
	call->argv[nk++] = call->seen;
	call->argv[nk++] = ctx->queue;
	call->argv[nk++] = ctx->dead;
	call->argv[nk++] = ctx->notifications;
	call->argv[nk++] = ctx->stats;
	for (i = 0; i < n->nentities; i++) {
		if (ph_key_entity(call->pending[i], sizeof call->pending[i], prefix, PH_KEY_PENDING,
		        p->name, n->entities[i].type, n->entities[i].id) < 0)
			return -1;
		call->argv[nk++] = call->pending[i];
	}
	*ph_put_u64(call->now, call->now + sizeof call->now - 1, now_ms) = '\0'; /* 20 digits fit */
	call->count[0] = (char)('0' + n->nentities); /* 0..PH_MAX_ENTITIES */
	call->count[1] = '\0';
	na = nk;
	call->argv[na++] = call->now;
	call->argv[na++] = ctx->dedup_ttl;
	call->argv[na++] = ctx->pending_ttl;
	call->argv[na++] = ctx->maxlen;
	call->argv[na++] = p->has_notification_id ? "1" : "0";
	call->argv[na++] = p->name;
	call->argv[na++] = call->notification_id;
	call->argv[na++] = n->event;
	body_at = na;
	call->argv[na++] = body;
	call->argv[na++] = call->count;
	for (i = 0; i < n->nentities; i++) {
		const struct ph_entity *e = &n->entities[i];
		int routed = provider_route(p, e->type) != NULL;

		memcpy(job.entity_type, e->type, sizeof e->type);
		memcpy(job.entity_id, e->id, sizeof e->id);
		if (job_encode(&job, call->jobs[i], sizeof call->jobs[i]) < 0)
			return -1;
		/* Only an entity with no route needs its dead-letter entry. */
		call->dead[i][0] = '\0';
		if (!routed &&
		    job_encode_dead(&job, "no_route", 0, now_ms, call->dead[i],
		        sizeof call->dead[i]) < 0)
			return -1;
		call->argv[na++] = call->jobs[i];
		call->argv[na++] = routed ? "1" : "0";
		call->argv[na++] = call->dead[i];
	}
	for (i = 0; i < na; i++)
		call->lens[i] = i == body_at ? len : strlen(call->argv[i]); /* the body: bytes */
	call->nkeys = nk;
	call->argc = na;
	return 0;
}

/* Prepare a notification's call. */
int
accept_item_notification(struct ph_accept_item *it, const struct ph_accept_call *call)
{
	it->kind = PH_ACCEPT_NOTIFICATION;
	return ph_cmd_script(&it->cmd, PH_SCRIPT_ACCEPT, call->nkeys, call->argc, call->argv,
	    call->lens);
}

/* Prepare a refetch. */
int
accept_item_refetch(struct ph_accept_item *it, const struct ph_accept_ctx *ctx,
    const struct ph_job *job)
{
	char pending[PH_KEY_MAX], jobbuf[PH_JOB_MAX];
	struct ph_call call;

	it->kind = PH_ACCEPT_REFETCH;
	if (ph_key_entity(pending, sizeof pending, ctx->cfg->redis.prefix, PH_KEY_PENDING,
	        job->provider, job->entity_type, job->entity_id) < 0 ||
	    job_encode(job, jobbuf, sizeof jobbuf) < 0)
		return -1;
	ph_call_refetch(&call, ctx->queue, ctx->retry, pending, jobbuf,
	    ctx->cfg->handler.pending_ttl);
	return ph_cmd_call(&it->cmd, &call);
}

/* Prepare a dead letter. */
int
accept_item_dead(struct ph_accept_item *it, const struct ph_accept_ctx *ctx, const char *entry,
    size_t len)
{
	const char *argv[3] = { "LPUSH", ctx->dead, entry };
	size_t lens[3] = { 5, strlen(ctx->dead), len };

	it->kind = PH_ACCEPT_DEAD;
	return ph_cmd_argv(&it->cmd, 3, argv, lens);
}

void
accept_item_free(struct ph_accept_item *it)
{
	ph_cmd_free(&it->cmd);
}

/* The verdict of a reply of a call that ran; REJECTED when it is not one. */
static enum ph_accept
accept_read(struct ph_accept_item *it, const redisReply *rep)
{
	switch (it->kind) {
	case PH_ACCEPT_NOTIFICATION:
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[0]->type == REDIS_REPLY_INTEGER &&
		    rep->element[1]->type == REDIS_REPLY_INTEGER) {
			it->queued = (int)rep->element[1]->integer;
			return rep->element[0]->integer == 1 ? PH_ACCEPT_NEW : PH_ACCEPT_DUPLICATE;
		}
		break;
	case PH_ACCEPT_REFETCH:
		if (rep->type == REDIS_REPLY_INTEGER && (rep->integer == 1 || rep->integer == 2)) {
			it->queued = rep->integer == 1;
			return rep->integer == 1 ? PH_ACCEPT_NEW : PH_ACCEPT_DUPLICATE;
		}
		break;
	case PH_ACCEPT_DEAD:
		if (rep->type == REDIS_REPLY_INTEGER)
			return PH_ACCEPT_NEW;
		break;
	}
	snprintf(it->err, sizeof it->err, "unexpected reply (type %d)", rep->type);
	return PH_ACCEPT_REJECTED;
}

/* Give an item a verdict with a reason. */
static void
accept_fail(struct ph_accept_item *it, enum ph_accept v, const char *what, const char *why)
{
	it->verdict = v;
	it->queued = 0;
	snprintf(it->err, sizeof it->err, "%s%s", what, why);
}

/* Send a batch, then what must go again; WAIT on each connection that wrote. */
void
accept_run(struct ph_redis *r, struct ph_accept_item *const *items, int n)
{
	struct ph_accept_item *left[PH_ACCEPT_BATCH], *wrote[PH_ACCEPT_BATCH];
	struct ph_cmd *cmds[PH_ACCEPT_BATCH];
	struct ph_result res[PH_ACCEPT_BATCH];
	uint64_t epoch;
	int nleft = 0, nwrote, attempt, i, k;

	if (n > PH_ACCEPT_BATCH)
		fatalx("accept_run: %d calls, at most %d", n, PH_ACCEPT_BATCH);
	for (i = 0; i < n; i++) {
		accept_fail(items[i], PH_ACCEPT_UNAVAILABLE, "", "not sent");
		left[nleft++] = items[i];
	}
	for (attempt = 0; attempt < 2 && nleft > 0; attempt++) {
		for (i = 0; i < nleft; i++)
			cmds[i] = &left[i]->cmd;
		epoch = ph_redis_batch(r, cmds, nleft, res);
		if (epoch == 0)
			break; /* no connection: the reason is in r */
		nwrote = 0;
		for (i = k = 0; i < nleft; i++) {
			struct ph_accept_item *it = left[i];

			switch (res[i].kind) {
			case PH_REPLY_RAN:
				it->verdict = accept_read(it, res[i].rep);
				if (it->verdict != PH_ACCEPT_REJECTED)
					wrote[nwrote++] = it;
				break;
			case PH_REPLY_REFUSED:
				if (res[i].refusal == PH_REFUSAL_NOSCRIPT ||
				    res[i].refusal == PH_REFUSAL_STALE) {
					/* Not run: loaded again or on the new master, once. */
					accept_fail(it, PH_ACCEPT_UNAVAILABLE,
					    "refused: ", res[i].rep->str);
					left[k++] = it;
				} else {
					accept_fail(it, PH_ACCEPT_UNAVAILABLE,
					    "refused: ", res[i].rep->str);
				}
				break;
			case PH_REPLY_FAILED:
				accept_fail(it, PH_ACCEPT_REJECTED, "failed: ", res[i].rep->str);
				break;
			case PH_REPLY_UNKNOWN:
				/* Lost with the connection: it may have run; sent once more. */
				accept_fail(it, PH_ACCEPT_UNAVAILABLE, "", ph_redis_err(r));
				left[k++] = it;
				break;
			}
		}
		ph_results_free(res, nleft);
		nleft = k;
		/* [redis] min_replicas: acknowledged on the connection that wrote, or none is. */
		if (nwrote > 0 && ph_redis_wait(r, epoch) != 0) {
			for (i = 0; i < nwrote; i++)
				accept_fail(wrote[i], PH_ACCEPT_UNAVAILABLE, "", ph_redis_err(r));
		}
	}
	for (i = 0; i < nleft; i++) {
		if (ph_redis_err(r)[0] != '\0' && strcmp(left[i]->err, "not sent") == 0)
			accept_fail(left[i], PH_ACCEPT_UNAVAILABLE, "", ph_redis_err(r));
	}
}

/* Queue a fetch by hand. */
enum ph_accept
accept_refetch(const struct ph_accept_ctx *ctx, struct ph_redis *r, const struct ph_job *job,
    char *err, size_t errlen)
{
	struct ph_accept_item it = { 0 }, *one[1] = { &it };

	if (accept_item_refetch(&it, ctx, job) != 0) {
		snprintf(err, errlen, "key or job too long (prefix?)");
		accept_item_free(&it);
		return PH_ACCEPT_REJECTED;
	}
	accept_run(r, one, 1);
	snprintf(err, errlen, "%s", it.err);
	accept_item_free(&it);
	return it.verdict;
}
