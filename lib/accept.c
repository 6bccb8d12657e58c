/* Accept a notification with PH_SCRIPT_ACCEPT. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accept.h"
#include "job.h"

#define ACCEPT_KEY_MAX 256
#define ACCEPT_FIXED_KEYS 5
#define ACCEPT_FIXED_ARGS 10

/* Run the accept script for one notification. */
enum ph_accept
accept_notification(struct ph_redis *r, const struct ph_config *cfg,
    const struct ph_provider *p, const struct ph_notification *n,
    const char *body, size_t len, uint64_t now_ms, int *queued)
{
	char keys[ACCEPT_FIXED_KEYS + PH_MAX_ENTITIES][ACCEPT_KEY_MAX];
	char jobs[PH_MAX_ENTITIES][PH_JOB_MAX];
	char dead[PH_MAX_ENTITIES][PH_JOB_MAX];
	char now[24], dedup[24], pending[24], maxlen[24], count[8];
	const char *argv[ACCEPT_FIXED_KEYS + PH_MAX_ENTITIES + ACCEPT_FIXED_ARGS + 3 * PH_MAX_ENTITIES];
	size_t lens[sizeof argv / sizeof argv[0]];
	const char *prefix = cfg->redis.prefix;
	struct ph_job job;
	redisReply *rep;
	int i, nk, na, jl, dl, was_up;
	enum ph_accept rc = PH_ACCEPT_UNAVAILABLE;

	*queued = 0;
	if (ph_key(keys[0], ACCEPT_KEY_MAX, prefix, "seen:%s:%s", p->name,
	    n->id[0] != '\0' ? n->id : "-") < 0 ||
	    ph_key(keys[1], ACCEPT_KEY_MAX, prefix, "queue") < 0 ||
	    ph_key(keys[2], ACCEPT_KEY_MAX, prefix, "dead") < 0 ||
	    ph_key(keys[3], ACCEPT_KEY_MAX, prefix, "notifications") < 0 ||
	    ph_key(keys[4], ACCEPT_KEY_MAX, prefix, "stats") < 0)
		goto toolong;

	memset(&job, 0, sizeof job);
	snprintf(job.provider, sizeof job.provider, "%s", p->name);
	snprintf(job.notification_id, sizeof job.notification_id, "%s", n->id);
	snprintf(job.event, sizeof job.event, "%s", n->event);
	job.received_at = now_ms;
	if (n->id[0] == '\0')
		ph_guid_new(job.notification_id); /* Cielo: no id of its own */
	for (i = 0; i < n->nentities; i++) {
		const struct ph_entity *e = &n->entities[i];

		snprintf(job.entity_type, sizeof job.entity_type, "%s", e->type);
		snprintf(job.entity_id, sizeof job.entity_id, "%s", e->id);
		if (ph_key(keys[ACCEPT_FIXED_KEYS + i], ACCEPT_KEY_MAX, prefix,
		    "pending:%s:%s:%s", p->name, e->type, e->id) < 0)
			goto toolong;
		jl = job_encode(&job, jobs[i], sizeof jobs[i]);
		dl = job_encode_dead(&job, "no_route", 0, now_ms, dead[i], sizeof dead[i]);
		if (jl < 0 || dl < 0)
			goto toolong;
	}

	nk = 0;
	for (i = 0; i < ACCEPT_FIXED_KEYS + n->nentities; i++) {
		argv[nk] = keys[i];
		lens[nk++] = strlen(keys[i]);
	}
	snprintf(now, sizeof now, "%" PRIu64, now_ms);
	snprintf(dedup, sizeof dedup, "%ld", cfg->handler.dedup_ttl);
	snprintf(pending, sizeof pending, "%ld", cfg->handler.pending_ttl);
	snprintf(maxlen, sizeof maxlen, "%ld", cfg->handler.notifications_maxlen);
	snprintf(count, sizeof count, "%d", n->nentities);
	na = nk;
	argv[na++] = now;
	argv[na++] = dedup;
	argv[na++] = pending;
	argv[na++] = maxlen;
	argv[na++] = p->has_notification_id ? "1" : "0";
	argv[na++] = p->name;
	argv[na++] = job.notification_id;
	argv[na++] = n->event;
	argv[na++] = body;
	argv[na++] = count;
	for (i = 0; i < n->nentities; i++) {
		argv[na++] = jobs[i];
		argv[na++] = provider_route(p, n->entities[i].type) != NULL ? "1" : "0";
		argv[na++] = dead[i];
	}
	for (i = nk; i < na; i++)
		lens[i] = i == nk + 8 ? len : strlen(argv[i]); /* the body has no NUL */

	/*
	 * A connection that served earlier requests may have died since (Redis
	 * restarted): try once more on a new one. Safe: if the first try ran,
	 * the second answers duplicate (seen) or finds the pending markers set.
	 */
	was_up = r->c != NULL;
	rep = ph_redis_script(r, PH_SCRIPT_ACCEPT, nk, na, argv, lens);
	if (rep == NULL && was_up && r->c == NULL)
		rep = ph_redis_script(r, PH_SCRIPT_ACCEPT, nk, na, argv, lens);
	if (rep == NULL)
		return PH_ACCEPT_UNAVAILABLE;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER) {
		rc = rep->element[0]->integer == 1 ? PH_ACCEPT_NEW : PH_ACCEPT_DUPLICATE;
		*queued = (int)rep->element[1]->integer;
	} else {
		snprintf(r->err, sizeof r->err, "accept script: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	}
	freeReplyObject(rep);
	return rc;
toolong:
	snprintf(r->err, sizeof r->err, "key or job too long (prefix?)");
	return PH_ACCEPT_UNAVAILABLE;
}
