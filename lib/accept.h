/* Accepting a notification: the one Redis round trip of DESIGN.md. */
#ifndef PH_ACCEPT_H
#define PH_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "provider.h"
#include "redis.h"

enum ph_accept {
	PH_ACCEPT_NEW,         /* recorded; jobs queued or covered by waiting ones */
	PH_ACCEPT_DUPLICATE,   /* its id was seen before: nothing written */
	PH_ACCEPT_UNAVAILABLE, /* Redis unreachable or erroring: answer 503 */
};

/*
 * Record a validated notification: seen (SET NX), pending markers and jobs,
 * dead letters for entity types with no route, the raw notification. *queued
 * gets the number of jobs pushed. On PH_ACCEPT_UNAVAILABLE the reason is in
 * r->err.
 */
enum ph_accept accept_notification(struct ph_redis *r, const struct ph_config *cfg,
    const struct ph_provider *p, const struct ph_notification *n,
    const char *body, size_t len, uint64_t now_ms, int *queued);

#endif
