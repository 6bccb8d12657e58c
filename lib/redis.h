/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Redis connection: URL parsing, connect with timeouts, AUTH and SELECT, a
 * back-off between failed connects, and Lua scripts run by EVALSHA with EVAL
 * on NOSCRIPT. A context that failed is never reused: it is freed and the
 * next call connects again (hiredis: a context with err set is dead).
 */
#ifndef PH_REDIS_H
#define PH_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "scripts.h"
#include "sentinel.h"

struct ph_config;

struct ph_redis_addr {
	char host[256]; /* "" for a unix socket */
	int port;
	char path[256]; /* unix socket path, or "" */
	int db;
	char user[128];
	char password[256];
};

struct ph_redis {
	redisContext *c;
	struct ph_redis_addr addr;
	long connect_timeout_ms;
	long command_timeout_ms;
	uint64_t next_connect_ms; /* monotonic; no connect attempt before this */
	long backoff_ms;
	int loaded; /* scripts loaded on this connection */
	int stale; /* a -READONLY or -MASTERDOWN reply: reconnect (and resolve) before the next call */
	struct ph_sentinels sentinels; /* n = 0: connect to addr as configured */
	long min_replicas;             /* [redis] min_replicas, for ph_redis_wait_replicas */
	long replica_timeout_ms;
	char sha[PH_NSCRIPTS][41];
	char err[256]; /* why the last call failed */
};

/* Parse redis://[[user]:pass@]host[:port][/db] or unix:///path[?db=N]. */
int ph_redis_parse_url(const char *url, struct ph_redis_addr *a, char *err, size_t errlen);

/* Set up (no connection yet); -1 with err if the URL is bad. */
int ph_redis_init(struct ph_redis *r, const struct ph_config *cfg, char *err, size_t errlen);

/* Note why the connection failed (what, and hiredis' reason) in r->err, and drop it. */
void ph_redis_fail(struct ph_redis *r, const char *what);

/* Connect if not connected; -1 with r->err (also while backing off). */
int ph_redis_connect(struct ph_redis *r);

/* Drop the connection after an error; the next call reconnects. */
void ph_redis_drop(struct ph_redis *r);

/* Close and wipe credentials. */
void ph_redis_close(struct ph_redis *r);

/*
 * Run a command. NULL when the connection failed (it is dropped, reason in
 * r->err); an error reply is returned as it is. Caller frees the reply.
 * A -READONLY or -MASTERDOWN reply (a demoted master: the command did not
 * run) is logged, the master found again, and the command sent once more.
 */
redisReply *ph_redis_argv(struct ph_redis *r, int argc, const char **argv, const size_t *lens);

/* The same with printf-style hiredis formatting. */
redisReply *ph_redis_cmd(struct ph_redis *r, const char *fmt, ...);

/*
 * Run a script: argv holds nkeys keys then the arguments (argc in all).
 * EVALSHA, then EVAL if Redis lost the script. Same return as ph_redis_argv.
 */
redisReply *ph_redis_script(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens);

/*
 * Send a script call without waiting for its reply (a pipeline): EVALSHA of
 * a script loaded on this connection, which must be up (ph_redis_connect).
 * Read the replies in order with redisGetReply; a NOSCRIPT one is the
 * caller's to run again with ph_redis_script. 0, or -1 with r->err.
 */
int ph_redis_script_append(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens);

/*
 * Look at a reply: an error saying this server is no longer the writable
 * master (-READONLY: a demoted primary; -MASTERDOWN) marks the connection
 * stale (logged once, event=redis_stale), and the next ph_redis_connect
 * drops it and resolves the master again. Safe in the middle of a pipeline:
 * nothing is dropped here. 1 when it was such a reply.
 */
int ph_redis_check_reply(struct ph_redis *r, const redisReply *rep);

/*
 * WAIT until [redis] min_replicas replicas acknowledged this connection's
 * writes, at most replica_timeout_ms. 0 at once when min_replicas is 0;
 * -1 with r->err when fewer acknowledged or the connection failed (then it
 * is dropped). Call it after the replies of the writes were read.
 */
int ph_redis_wait_replicas(struct ph_redis *r);

/* Where this connects, for a start-up log line: sentinel:NAME, unix:/path or host. */
const char *ph_redis_where(const struct ph_redis *r, char *out, size_t len);

/* Set the timeout of commands on the current connection (blocking reads). */
int ph_redis_set_timeout(struct ph_redis *r, long ms);

/* The longest key payhook builds (prefix included). */
#define PH_KEY_MAX 512

/* The keys of one entity (DESIGN.md: Redis keys). */
enum ph_entity_key {
	PH_KEY_PENDING, /* {p}pending:{provider}:{type}:{id}: a job for it waits */
	PH_KEY_LOCK,    /* {p}lock:{provider}:{type}:{id}: one fetch at a time */
	PH_KEY_ENTITY,  /* {p}entity:{provider}:{type}:{id}: the snapshot */
};

/* Write the key of an entity into buf; -1 if it does not fit. */
int ph_key_entity(char *buf, size_t len, const char *prefix, enum ph_entity_key kind,
    const char *provider, const char *type, const char *id);

/* Write prefix + formatted name into buf; -1 if it does not fit. */
int ph_key(char *buf, size_t len, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
