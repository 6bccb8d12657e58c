/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Redis connection: URL parsing, connect with timeouts, AUTH and SELECT, a
 * back-off between failed connects, Lua scripts run by EVALSHA, and the one
 * batch primitive every caller sends its commands through. A context that
 * failed is never reused: it is freed and the next call connects again
 * (hiredis: a context with err set is dead). struct ph_redis is opaque and no
 * other file touches the hiredis context.
 */
#ifndef PH_REDIS_H
#define PH_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "scripts.h"
#include "sentinel.h"

struct ph_config;
struct ph_call;

struct ph_redis_addr {
	char host[256]; /* "" for a unix socket */
	int port;
	char path[256]; /* unix socket path, or "" */
	int db;
	char user[128];
	char password[256];
};

/* A connection to Redis; opaque: only lib/redis.c touches the hiredis context. */
struct ph_redis;

/* Parse redis://[[user]:pass@]host[:port][/db] or unix:///path[?db=N]. */
int ph_redis_parse_url(const char *url, struct ph_redis_addr *a, char *err, size_t errlen);

/* Set up a connection (none is made yet); NULL with err if the URL is bad. Free with ph_redis_free. */
struct ph_redis *ph_redis_new(const struct ph_config *cfg, char *err, size_t errlen);

/* Close the connection, wipe the credentials kept for reconnects and free r. */
void ph_redis_free(struct ph_redis *r);

/* Why the last call failed ("" when it did not). */
const char *ph_redis_err(const struct ph_redis *r);

/* Set the reason of a failure the caller found (printf-style). */
void ph_redis_set_err(struct ph_redis *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Connect if not connected; -1 with the reason (also while backing off). */
int ph_redis_connect(struct ph_redis *r);

/* Whether a connection is up now. */
int ph_redis_connected(const struct ph_redis *r);

/* Drop the connection; the next call connects again. */
void ph_redis_drop(struct ph_redis *r);

/* Set the timeout of commands on the current connection (blocking reads). */
int ph_redis_set_timeout(struct ph_redis *r, long ms);

/* Where this connects, for a start-up log line: sentinel:NAME, unix:/path or host. */
const char *ph_redis_where(const struct ph_redis *r, char *out, size_t len);

/* What ph_redis_new kept of the config (for tests). */
const struct ph_redis_addr *ph_redis_addr(const struct ph_redis *r);
const struct ph_sentinels *ph_redis_sentinels(const struct ph_redis *r);

/*
 * A prepared command: its RESP text in a buffer of its own, grown as needed
 * and kept for the next command built in it. A script call is EVALSHA of
 * the script's SHA1 (computed here from its text, the same on every server).
 */
struct ph_cmd {
	char *buf;
	size_t len;
	size_t cap;
	int script; /* the enum ph_script it runs, or -1 for a plain command */
};

/* Build a command from argv (lens NULL: strlen). 0, or -1 when out of memory. */
int ph_cmd_argv(struct ph_cmd *c, int argc, const char *const *argv, const size_t *lens);

/* Build EVALSHA of a script: argv holds nkeys keys then the arguments. 0 or -1. */
int ph_cmd_script(struct ph_cmd *c, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens);

/* Build the script call of an encoder (call.h). 0 or -1. */
int ph_cmd_call(struct ph_cmd *c, const struct ph_call *call);

/* Free a command's buffer. */
void ph_cmd_free(struct ph_cmd *c);

/*
 * What became of one command of a batch, told by the reply's type and, for
 * an error reply, by its error code (the first word, as RESP defines it):
 * never by reading the text after it.
 */
enum ph_reply {
	PH_REPLY_RAN,     /* it ran: rep is its reply (not an error) */
	PH_REPLY_REFUSED, /* Redis refused it before it ran (refusal says why): nothing written */
	PH_REPLY_FAILED, /* it ran and failed: a script's error, a command's own (ERR, WRONGTYPE) */
	PH_REPLY_UNKNOWN, /* no reply: the connection was lost or never made; it may have run */
};

enum ph_refusal {
	PH_REFUSAL_NONE,
	PH_REFUSAL_NOSCRIPT, /* the script is not loaded: load it and send again */
	PH_REFUSAL_STALE,    /* READONLY, MASTERDOWN: not the master; reconnect and send again */
	PH_REFUSAL_PASSING,  /* OOM, BUSY, NOPERM, LOADING, MISCONF, ...: a state that passes */
};

struct ph_result {
	enum ph_reply kind;
	enum ph_refusal refusal;
	redisReply *rep; /* RAN, REFUSED, FAILED: the reply (freed by ph_results_free) */
};

/* Label one reply (NULL: UNKNOWN). */
enum ph_reply ph_reply_kind(const redisReply *rep, enum ph_refusal *refusal);

/*
 * The batch primitive: connect if needed, write n commands in one write and
 * read exactly n replies before anything else is sent on the connection.
 * Every result is set. Returns the epoch of the connection that carried them
 * (a number no other connection of r has), or 0 when no connection could be
 * made (every result UNKNOWN, the reason in ph_redis_err). A lost connection
 * makes the rest UNKNOWN and is dropped; a STALE refusal makes the next
 * connect find the master again; a NOSCRIPT one loads the scripts again
 * before the next batch. Re-sending is the caller's, after the batch.
 */
uint64_t ph_redis_batch(struct ph_redis *r, struct ph_cmd *const *cmds, int n,
    struct ph_result *res);

/* Free the replies of n results. */
void ph_results_free(struct ph_result *res, int n);

/*
 * WAIT until [redis] min_replicas replicas acknowledged the writes of the
 * connection of epoch, at most replica_timeout_ms: 0 at once when
 * min_replicas is 0; -1 with the reason when that connection is gone or was
 * replaced (its writes can no longer be covered), or fewer acknowledged.
 */
int ph_redis_wait(struct ph_redis *r, uint64_t epoch);

/* [redis] min_replicas, as configured. */
long ph_redis_min_replicas(const struct ph_redis *r);

/*
 * A pipeline of commands for one batch, its results taken back in order
 * (the fetcher's steps, the metrics' reads, the counters' flush).
 */
struct ph_pipe {
	int n, cap, next;
	uint64_t epoch;
	struct ph_cmd *cmd;
	struct ph_cmd **ptr;
	struct ph_result *res;
};

/* Set up a pipeline of up to cap commands. 0, or -1 when out of memory. */
int ph_pipe_init(struct ph_pipe *p, int cap);
void ph_pipe_free(struct ph_pipe *p);
/* Forget the commands and results (buffers are kept). */
void ph_pipe_reset(struct ph_pipe *p);
/* Add a command. 0, or -1 when the pipeline is full or out of memory. */
int ph_pipe_call(struct ph_pipe *p, const struct ph_call *call);
int ph_pipe_fmt(struct ph_pipe *p, const char *fmt, ...);
/* Send what was added as one batch (ph_redis_batch); its epoch, 0 when not connected. */
uint64_t ph_redis_pipe(struct ph_redis *r, struct ph_pipe *p);
/*
 * The next reply, in the order added; the caller frees it. NULL when it was
 * UNKNOWN (lost with the connection): the rest are lost too.
 */
redisReply *ph_pipe_reply(struct ph_pipe *p);

/*
 * Run one command (a batch of one). NULL when the connection failed (it is
 * dropped, reason in ph_redis_err); an error reply is returned as it is.
 * Caller frees the reply. A command refused as NOSCRIPT or STALE (READONLY,
 * MASTERDOWN: a demoted master) is sent once more, after loading the
 * scripts or finding the master again; one whose reply was lost is not (it
 * may have run).
 */
redisReply *ph_redis_run(struct ph_redis *r, struct ph_cmd *c);

/* The same from argv, a format, a script or an encoder's call. */
redisReply *ph_redis_argv(struct ph_redis *r, int argc, const char **argv, const size_t *lens);
redisReply *ph_redis_cmd(struct ph_redis *r, const char *fmt, ...);
redisReply *ph_redis_script(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens);
redisReply *ph_redis_call(struct ph_redis *r, const struct ph_call *c);

/*
 * Whether what Redis acknowledged survives a crash of its host, from its
 * persistence settings (CONFIG GET appendonly appendfsync) and [redis]
 * min_replicas: durable when the AOF is on and fsynced always, or everysec
 * with min_replicas >= 1. 1 durable, 0 not (why in reason), -1 unknown (the
 * settings could not be read: reason).
 */
int ph_redis_durable(struct ph_redis *r, char *reason, size_t len);

/* The longest key payhook builds (prefix included). */
#define PH_KEY_MAX 512

/*
 * Every Redis key payhook uses (DESIGN.md: Redis keys), spelled in one table
 * (lib/redis.c): {p}name, then the parts the kind takes, ':'-separated.
 */
enum ph_key_kind {
	PH_KEY_PENDING,       /* pending:{provider}:{type}:{id}: a job for it waits */
	PH_KEY_LOCK,          /* lock:{provider}:{type}:{id}: one fetch at a time */
	PH_KEY_ENTITY,        /* entity:{provider}:{type}:{id}: the snapshot */
	PH_KEY_SEEN,          /* seen:{provider}:{id}: a notification id accepted */
	PH_KEY_RATE,          /* rate:{provider}: the providers' shared rate limit */
	PH_KEY_PROCESSING,    /* processing:{worker}: the jobs a fetcher holds */
	PH_KEY_QUEUE,         /* queue */
	PH_KEY_RETRY,         /* retry */
	PH_KEY_DEAD,          /* dead */
	PH_KEY_WORKERS,       /* workers */
	PH_KEY_EVENTS,        /* events */
	PH_KEY_NOTIFICATIONS, /* notifications */
	PH_KEY_STATS,         /* stats */
	PH_KEY_REFRESH,       /* refresh */
	PH_KEY_EVENTS_TRIM,   /* events_trim: how far events may be trimmed (script_store) */
	/* payhook-deliver (DESIGN.md: Delivery); {name} is an [endpoint NAME]. */
	PH_KEY_ENDPOINT,      /* endpoint:{name}: disabled_at, disabled_reason */
	PH_KEY_ENDPOINT_DUE,  /* endpoint:{name}:due: stream ids by when they may be tried */
	PH_KEY_ENDPOINT_HELD, /* endpoint:{name}:held: stream id -> delivery record */
	PH_KEY_ENDPOINT_DEAD, /* endpoint:{name}:dead: dead deliveries */
	PH_KEY_ENDPOINT_RATE, /* endpoint:{name}:rate: its shared max_rps */
	PH_KEY_ENDPOINT_ENTITY, /* endpoint:{name}:entity:{provider}:{type}:{id}: order (ph_key_endpoint_entity) */
	PH_NKEYS,
};

/*
 * Write a key into buf: the prefix, the kind's name, then a, b, c, as many as
 * the kind takes (the rest NULL); a part "*" makes a SCAN pattern. Its
 * length, or -1 if it does not fit or the parts do not match the kind.
 */
int ph_key_of(char *buf, size_t len, const char *prefix, enum ph_key_kind kind, const char *a,
    const char *b, const char *c);

/* The order hash of an entity for an endpoint (PH_KEY_ENDPOINT_ENTITY). Its length, or -1. */
int ph_key_endpoint_entity(char *buf, size_t len, const char *prefix, const char *endpoint,
    const char *provider, const char *type, const char *id);

/* The key of an entity (PH_KEY_PENDING, PH_KEY_LOCK, PH_KEY_ENTITY). */
int ph_key_entity(char *buf, size_t len, const char *prefix, enum ph_key_kind kind,
    const char *provider, const char *type, const char *id);

/*
 * Every {p}stats field family (DESIGN.md: the stats fields), spelled in one
 * table; the Lua scripts count into the same families (lib/scripts.c).
 */
enum ph_stat_family {
	PH_STAT_NOTIFICATIONS, /* notifications:{provider}:{outcome}[:{reason}] */
	PH_STAT_FETCH,         /* fetch:{provider}:{outcome} */
	PH_STAT_FETCH_MS,      /* fetch_ms:{provider}:{le} */
	PH_STAT_FETCH_MS_SUM,  /* fetch_ms_sum:{provider} */
	PH_STAT_SPOOL,         /* spool:{outcome} */
	PH_STAT_REFRESH,       /* refresh:{outcome} */
	PH_STAT_RATE,          /* rate:{provider}:{held|throttled} */
	PH_STAT_EVENTS,        /* events:trimmed_unread */
	PH_STAT_DELIVERIES,    /* deliveries:{endpoint}:{outcome} */
	PH_STAT_DELIVERY_SECONDS, /* delivery_seconds:{endpoint}:{le|sum|count}: not cumulative, sum in ms */
	PH_NSTATS,
};

/* Write a stats field: the family's name, then a and b when not NULL. Its length, or -1. */
int ph_stat_field(char *buf, size_t len, enum ph_stat_family family, const char *a, const char *b);

/* The family's name with its ':' ("spool:"), to find its fields in HGETALL {p}stats. */
const char *ph_stat_prefix(enum ph_stat_family family);

#endif
