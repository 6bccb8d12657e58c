/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Redis Sentinel discovery (hiredis has none): the client side of
 * https://redis.io/docs/reference/sentinel-clients/. Ask the sentinels in
 * turn for the master's address (SENTINEL get-master-addr-by-name), move the
 * one that answered to the front, and let lib/redis.c connect, check ROLE
 * and resolve again on a connection error, -READONLY or -MASTERDOWN.
 */
#ifndef PH_SENTINEL_H
#define PH_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

/* Sentinels in [redis] sentinels, at most. */
#define PH_SENTINELS_MAX 16
/* The longest wait for one sentinel (connect and answer): a dead one must not hold a request. */
#define PH_SENTINEL_TIMEOUT_MS 300

struct ph_sentinel_addr {
	char host[256];
	int port;
};

struct ph_sentinels {
	struct ph_sentinel_addr addr[PH_SENTINELS_MAX];
	int n; /* 0: no sentinels, the URL names the server */
	char master_name[128];
	char password[256]; /* AUTH to the sentinels, or "" */
	long timeout_ms;
};

/* Parse "host:port[,host:port...]" ([v6]:port too); 0, or -1 with err. */
int ph_sentinel_parse(const char *list, struct ph_sentinels *s, char *err, size_t errlen);

/* Write the list as "host:port,..." into buf, for messages (truncated to fit). */
void ph_sentinel_list(const struct ph_sentinels *s, char *buf, size_t len);

/* Move sentinel i to the front, keeping the order of the others (the client guide). */
void ph_sentinel_promote(struct ph_sentinels *s, int i);

enum ph_sentinel_resolve {
	PH_SENTINEL_OK,      /* host and port of the master */
	PH_SENTINEL_UNKNOWN, /* sentinels answered but none knows master_name */
	PH_SENTINEL_DOWN,    /* no sentinel answered */
};

/*
 * Ask the sentinels in turn for the master's address; the first that gives
 * one is moved to the front. On failure err says what each sentinel did.
 */
enum ph_sentinel_resolve ph_sentinel_resolve(struct ph_sentinels *s, char *host, size_t hostlen,
    int *port, char *err, size_t errlen);

/* The back-off after one more failed connect: from min, doubling, capped at max. */
long ph_backoff_next(long prev_ms, long min_ms, long max_ms);

/*
 * The wait for a back-off with jitter, in [backoff / 2, backoff] ("equal
 * jitter"): processes that lost Redis together do not reconnect together.
 */
long ph_backoff_jitter(long backoff_ms, uint32_t rnd);

/* Wipe the sentinel password. */
void ph_sentinel_wipe(struct ph_sentinels *s);

#endif
