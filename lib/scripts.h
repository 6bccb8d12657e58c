/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Lua scripts payhook runs in Redis. Every key a script touches comes in
 * KEYS, none is built inside, so a prefix with a hash tag keeps the whole
 * keyspace in one cluster slot (DESIGN.md: Redis keys).
 */
#ifndef PH_SCRIPTS_H
#define PH_SCRIPTS_H

enum ph_script {
	PH_SCRIPT_ACCEPT, /* handler: seen + pending + LPUSH + XADD */
	PH_SCRIPT_FIRST_FETCHER,
	PH_SCRIPT_CLAIM = PH_SCRIPT_FIRST_FETCHER, /* fetcher: lock + DEL pending */
	PH_SCRIPT_STORE,          /* fetcher: check lock, store, event, LREM, unlock */
	PH_SCRIPT_RESCHEDULE,     /* fetcher: ZADD retry or LPUSH dead, LREM, unlock */
	PH_SCRIPT_DUE,            /* fetcher: move due retries to the queue */
	PH_SCRIPT_REQUEUE,        /* fetcher: re-queue a dead worker's processing list */
	PH_SCRIPT_REFRESH_DUE,    /* fetcher: move due refreshes to the queue */
	PH_SCRIPT_REFETCH,        /* handler, payhookctl: queue a fetch unless one waits */
	PH_SCRIPT_RATE,           /* fetcher: GETs a provider's rate limit grants now */
	PH_SCRIPT_RATE_PENALTY,   /* fetcher: a 429 holds every fetcher back */
	PH_SCRIPT_DEAD_REPLAY,    /* payhookctl: a dead entry back to the queue */
	PH_SCRIPT_DEAD_PURGE,     /* payhookctl: empty the dead list */
	PH_SCRIPT_HEARTBEAT,      /* fetcher: heartbeat in Redis time, name stale workers */
	PH_SCRIPT_DELIVER_INTAKE, /* deliver: entries read from events to an endpoint's keys, XACK */
	PH_SCRIPT_DELIVER_CLAIM,  /* deliver: lease due deliveries, in per-entity order */
	PH_SCRIPT_DELIVER_DONE,   /* deliver: delivered, retry, dead or disabled */
	PH_SCRIPT_DELIVER_REPLAY, /* payhookctl: a dead delivery back to due */
	PH_NSCRIPTS,
};

extern const char *const ph_script_text[PH_NSCRIPTS];

#endif
