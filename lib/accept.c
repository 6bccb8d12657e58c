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
	return ph_key(ctx->queue, sizeof ctx->queue, prefix, "queue") < 0 ||
	        ph_key(ctx->dead, sizeof ctx->dead, prefix, "dead") < 0 ||
	        ph_key(ctx->notifications, sizeof ctx->notifications, prefix, "notifications") <
	            0 ||
	        ph_key(ctx->stats, sizeof ctx->stats, prefix, "stats") < 0
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
	const char *end;
	char *k;
	int i, nk, na, body_at;

	end = call->seen + sizeof call->seen - 1;
	k = ph_puts(call->seen, end, prefix);
	k = ph_puts(k, end, "seen:");
	k = ph_puts(k, end, p->name);
	k = ph_put(k, end, ":", 1);
	k = ph_puts(k, end, n->id[0] != '\0' ? n->id : "-");
	if (k == NULL)
		return -1;
	*k = '\0';

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

/* Read the verdict. */
enum ph_accept
accept_verdict(const redisReply *rep, int *queued, char *err, size_t errlen)
{
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER) {
		*queued = (int)rep->element[1]->integer;
		return rep->element[0]->integer == 1 ? PH_ACCEPT_NEW : PH_ACCEPT_DUPLICATE;
	}
	snprintf(err, errlen, "accept script: %s",
	    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	return PH_ACCEPT_UNAVAILABLE;
}

/* Run the accept script for one notification. */
enum ph_accept
accept_notification(const struct ph_accept_ctx *ctx, struct ph_redis *r,
    const struct ph_provider *p, const struct ph_notification *n, const char *body, size_t len,
    uint64_t now_ms, int *queued)
{
	struct ph_accept_call call;
	redisReply *rep;
	enum ph_accept rc;
	int was_up;

	*queued = 0;
	if (accept_prepare(ctx, p, n, body, len, now_ms, &call) != 0) {
		snprintf(r->err, sizeof r->err, "key or job too long (prefix?)");
		return PH_ACCEPT_UNAVAILABLE;
	}
	/*
	 * A connection that served earlier requests may have died since (Redis
	 * restarted): try once more on a new one. Safe: if the first try ran,
	 * the second answers duplicate (seen) or finds the pending markers set.
	 */
	was_up = r->c != NULL;
	rep = ph_redis_script(r, PH_SCRIPT_ACCEPT, call.nkeys, call.argc, call.argv, call.lens);
	if (rep == NULL && was_up && r->c == NULL)
		rep = ph_redis_script(r, PH_SCRIPT_ACCEPT, call.nkeys, call.argc, call.argv,
		    call.lens);
	if (rep == NULL)
		return PH_ACCEPT_UNAVAILABLE;
	rc = accept_verdict(rep, queued, r->err, sizeof r->err);
	freeReplyObject(rep);
	return rc;
}

/* Queue a fetch by hand. */
enum ph_refetch
accept_refetch(const struct ph_accept_ctx *ctx, struct ph_redis *r, const struct ph_job *job)
{
	char pending[PH_KEY_MAX], jobbuf[PH_JOB_MAX];
	struct ph_call call;
	redisReply *rep;
	enum ph_refetch rc = PH_REFETCH_UNAVAILABLE;
	int was_up;

	if (ph_key_entity(pending, sizeof pending, ctx->cfg->redis.prefix, PH_KEY_PENDING,
	        job->provider, job->entity_type, job->entity_id) < 0 ||
	    job_encode(job, jobbuf, sizeof jobbuf) < 0) {
		snprintf(r->err, sizeof r->err, "key or job too long (prefix?)");
		return PH_REFETCH_UNAVAILABLE;
	}
	ph_call_refetch(&call, ctx->queue, pending, jobbuf, ctx->cfg->handler.pending_ttl,
	    job->received_at);
	was_up = r->c != NULL;
	rep = ph_redis_call(r, &call);
	if (rep == NULL && was_up && r->c == NULL)
		rep = ph_redis_call(r, &call);
	if (rep == NULL)
		return PH_REFETCH_UNAVAILABLE;
	if (rep->type == REDIS_REPLY_INTEGER && (rep->integer == 1 || rep->integer == 2))
		rc = rep->integer == 1 ? PH_REFETCH_QUEUED : PH_REFETCH_PENDING;
	else
		snprintf(r->err, sizeof r->err, "refetch script: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	freeReplyObject(rep);
	return rc;
}
