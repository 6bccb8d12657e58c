/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhook-fcgi's counters of answers that write nothing to Redis (4xx, 503,
 * spooled), kept per provider and added to {p}stats by the flusher thread
 * once a second (while Redis is down they wait here), and the durability of
 * what Redis acknowledges, read at start and every 30 s: a warning when it is
 * not durable, and the payhook_redis_durable gauge.
 */
#ifndef PH_FLUSHER_H
#define PH_FLUSHER_H

#include <stddef.h>

#include "conf.h"
#include "spool.h"

enum ph_count {
	PH_COUNT_INVALID, /* 400 */
	PH_COUNT_UNAUTHORIZED,
	PH_COUNT_NOT_FOUND,
	PH_COUNT_METHOD,
	PH_COUNT_TOO_LARGE,
	PH_COUNT_UNAVAILABLE, /* 503 */
	PH_COUNT_SPOOLED,     /* 200 from the spool: Redis could not take it */
	/* A 401 of a signing provider, by reason (also counted as UNAUTHORIZED). */
	PH_COUNT_SIG_SIGNATURE,
	PH_COUNT_SIG_TIMESTAMP,
	PH_COUNT_SIG_HEADER,
	PH_COUNT_MAX,
};

/* Count an answer of provider pidx (past the table: no known provider). */
void flusher_count(size_t pidx, enum ph_count c);

/* Count an answer by its HTTP status (those that wrote nothing to Redis). */
void flusher_count_status(size_t pidx, int status);

/*
 * Start the flusher thread; spool (NULL when off) adds its replay counters.
 * -1 with err when it cannot start.
 */
int flusher_start(const struct ph_config *cfg, struct ph_spool *spool, char *err, size_t errlen);

/* Stop the thread and add what is left (at exit). */
void flusher_stop(void);

/* Whether Redis' acknowledged writes are durable: 1, 0, or -1 not known yet. */
int flusher_durable(void);

#endif
