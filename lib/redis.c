/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Redis connection with reconnect and scripts. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "conf.h"
#include "log.h"
#include "payhook.h"
#include "redis.h"

/* Back-off between failed connects: from this, doubling, to the cap. */
#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 1000

/* Parse a whole decimal number in [min, max]; -1 if not. */
static int
redis_number(const char *s, size_t len, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parse a Redis URL. */
int
ph_redis_parse_url(const char *url, struct ph_redis_addr *a, char *err, size_t errlen)
{
	const char *p, *at, *hostend, *slash, *q;
	long v;

	memset(a, 0, sizeof *a);
	if (url == NULL) {
		snprintf(err, errlen, "empty URL");
		return -1;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		q = strchr(p, '?');
		if (*p != '/' || (q != NULL && (size_t)(q - p) >= sizeof a->path) ||
		    (q == NULL && strlen(p) >= sizeof a->path)) {
			snprintf(err, errlen,
			    "unix:// needs an absolute socket path "
			    "(unix:///path/to/redis.sock)");
			return -1;
		}
		memcpy(a->path, p, q != NULL ? (size_t)(q - p) : strlen(p));
		if (q != NULL) {
			if (strncmp(q, "?db=", 4) != 0 ||
			    redis_number(q + 4, strlen(q + 4), 0, 100000, &v) != 0) {
				snprintf(err, errlen, "unix:// takes only ?db=N");
				return -1;
			}
			a->db = (int)v;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "must start with redis:// or unix://");
		return -1;
	}
	p = url + 8;
	at = strrchr(p, '@');
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon != NULL ? (size_t)(colon - p) : (size_t)(at - p);

		if (ulen >= sizeof a->user) {
			snprintf(err, errlen, "user name too long");
			return -1;
		}
		memcpy(a->user, p, ulen);
		if (colon == NULL) {
			/* redis://secret@host: a lone userinfo is the password. */
			memcpy(a->password, a->user, ulen + 1);
			a->user[0] = '\0';
		} else {
			if ((size_t)(at - colon - 1) >= sizeof a->password) {
				snprintf(err, errlen, "password too long");
				return -1;
			}
			memcpy(a->password, colon + 1, (size_t)(at - colon - 1));
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	hostend = slash != NULL ? slash : p + strlen(p);
	if (*p == '[') {
		q = memchr(p, ']', (size_t)(hostend - p));
		if (q == NULL) {
			snprintf(err, errlen, "unclosed [ in host");
			return -1;
		}
		if ((size_t)(q - p - 1) >= sizeof a->host || q == p + 1) {
			snprintf(err, errlen, "bad host");
			return -1;
		}
		memcpy(a->host, p + 1, (size_t)(q - p - 1));
		q++;
	} else {
		q = memchr(p, ':', (size_t)(hostend - p));
		if (q == NULL)
			q = hostend;
		if (q == p || (size_t)(q - p) >= sizeof a->host) {
			snprintf(err, errlen, "missing host");
			return -1;
		}
		memcpy(a->host, p, (size_t)(q - p));
	}
	a->port = 6379;
	if (q < hostend) {
		if (*q != ':' ||
		    redis_number(q + 1, (size_t)(hostend - q - 1), 1, 65535, &v) != 0) {
			snprintf(err, errlen, "port must be a number from 1 to 65535");
			return -1;
		}
		a->port = (int)v;
	}
	if (slash != NULL && slash[1] != '\0') {
		if (redis_number(slash + 1, strlen(slash + 1), 0, 100000, &v) != 0) {
			snprintf(err, errlen, "database must be a number (redis://host:port/N)");
			return -1;
		}
		a->db = (int)v;
	}
	return 0;
}

/* Prepare a connection from the configuration. */
int
ph_redis_init(struct ph_redis *r, const struct ph_config *cfg, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (ph_redis_parse_url(cfg->redis.url, &r->addr, err, errlen) != 0)
		return -1;
	if (cfg->redis.password != NULL &&
	    ph_strlcpy(r->addr.password, cfg->redis.password, sizeof r->addr.password) != 0) {
		snprintf(err, errlen, "password too long");
		return -1;
	}
	r->connect_timeout_ms = cfg->redis.connect_timeout_ms;
	r->command_timeout_ms = cfg->redis.command_timeout_ms;
	r->min_replicas = cfg->redis.min_replicas;
	r->replica_timeout_ms = cfg->redis.replica_timeout_ms;
	if (cfg->redis.sentinels == NULL)
		return 0;
	if (ph_sentinel_parse(cfg->redis.sentinels, &r->sentinels, err, errlen) != 0)
		return -1;
	if (cfg->redis.master_name == NULL ||
	    ph_strlcpy(r->sentinels.master_name, cfg->redis.master_name,
	        sizeof r->sentinels.master_name) != 0) {
		snprintf(err, errlen, "[redis] master_name: needed with [redis] sentinels");
		return -1;
	}
	if (cfg->redis.sentinel_password != NULL &&
	    ph_strlcpy(r->sentinels.password, cfg->redis.sentinel_password,
	        sizeof r->sentinels.password) != 0) {
		snprintf(err, errlen, "[redis] sentinel_password: too long");
		return -1;
	}
	r->sentinels.timeout_ms = r->connect_timeout_ms < PH_SENTINEL_TIMEOUT_MS
	    ? r->connect_timeout_ms
	    : PH_SENTINEL_TIMEOUT_MS;
	/* The URL's host is replaced by what the sentinels say. */
	r->addr.host[0] = '\0';
	r->addr.port = 0;
	return 0;
}

/* Drop a failed connection and start the back-off clock. */
void
ph_redis_drop(struct ph_redis *r)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
	r->loaded = 0;
	r->stale = 0;
}

/* Note why the connection failed and drop it. */
void
ph_redis_fail(struct ph_redis *r, const char *what)
{
	if (r->c != NULL && r->c->err != 0)
		snprintf(r->err, sizeof r->err, "%s: %s", what, r->c->errstr);
	else
		snprintf(r->err, sizeof r->err, "%s", what);
	ph_redis_drop(r);
}

/* Set a timeout on the connection's socket. */
int
ph_redis_set_timeout(struct ph_redis *r, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (r->c == NULL)
		return -1;
	return redisSetTimeout(r->c, tv) == REDIS_OK ? 0 : -1;
}

/* Run one set-up command; -1 unless it answered a status or a string. */
static int
redis_setup(struct ph_redis *r, const char *what, int argc, const char **argv)
{
	redisReply *rep;
	int ok;

	rep = redisCommandArgv(r->c, argc, argv, NULL);
	if (rep == NULL) {
		ph_redis_fail(r, what);
		return -1;
	}
	ok = rep->type != REDIS_REPLY_ERROR;
	if (!ok)
		snprintf(r->err, sizeof r->err, "%s: %s", what, rep->str);
	freeReplyObject(rep);
	if (!ok)
		ph_redis_drop(r);
	return ok ? 0 : -1;
}

/* Load the scripts and keep their SHA1s for EVALSHA. */
static int
redis_load_scripts(struct ph_redis *r)
{
	redisReply *rep;
	int i;

	for (i = 0; i < PH_NSCRIPTS; i++) {
		rep = redisCommand(r->c, "SCRIPT LOAD %s", ph_script_text[i]);
		if (rep == NULL) {
			ph_redis_fail(r, "SCRIPT LOAD");
			return -1;
		}
		if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
			snprintf(r->err, sizeof r->err, "SCRIPT LOAD: %s",
			    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
			freeReplyObject(rep);
			ph_redis_drop(r);
			return -1;
		}
		memcpy(r->sha[i], rep->str, 40);
		r->sha[i][40] = '\0';
		freeReplyObject(rep);
	}
	r->loaded = 1;
	return 0;
}

/* Ask the sentinels where the master is and aim the next connect there. */
static int
redis_resolve(struct ph_redis *r)
{
	char list[512], why[sizeof r->err];
	int port;

	switch (ph_sentinel_resolve(&r->sentinels, r->addr.host, sizeof r->addr.host, &port, why,
	    sizeof why)) {
	case PH_SENTINEL_OK:
		r->addr.port = port;
		return 0;
	case PH_SENTINEL_UNKNOWN:
		snprintf(r->err, sizeof r->err, "sentinels know no master \"%.100s\": %.120s",
		    r->sentinels.master_name, why);
		return -1;
	case PH_SENTINEL_DOWN:
		break;
	}
	ph_sentinel_list(&r->sentinels, list, sizeof list);
	snprintf(r->err, sizeof r->err, "no sentinel answered ([redis] sentinels = %.90s): %.115s",
	    list, why);
	return -1;
}

/* Check that the server is the master (a failover may have demoted it since the sentinel spoke). */
static int
redis_check_role(struct ph_redis *r)
{
	redisReply *rep;
	int ok;

	rep = redisCommand(r->c, "ROLE");
	if (rep == NULL) {
		ph_redis_fail(r, "ROLE");
		return -1;
	}
	ok = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rep->element[0]->str, "master") == 0;
	if (!ok)
		snprintf(r->err, sizeof r->err, "ROLE: %.100s:%d is %.20s, not the master",
		    r->addr.host, r->addr.port,
		    rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		            rep->element[0]->type == REDIS_REPLY_STRING
		        ? rep->element[0]->str
		        : "unknown");
	freeReplyObject(rep);
	if (!ok)
		ph_redis_drop(r);
	return ok ? 0 : -1;
}

/* Connect, authenticate, select the database and load scripts. */
int
ph_redis_connect(struct ph_redis *r)
{
	struct timeval tv;
	const char *argv[3];
	char db[16];
	uint64_t now;
	uint32_t rnd;

	if (r->c != NULL && !r->stale)
		return 0;
	if (r->c != NULL)
		ph_redis_drop(r); /* a demoted master: find the new one */
	now = ph_mono_ms();
	if (now < r->next_connect_ms) {
		if (r->err[0] == '\0')
			snprintf(r->err, sizeof r->err, "backing off after a failed connect");
		return -1;
	}
	if (r->sentinels.n > 0 && redis_resolve(r) != 0)
		goto fail;
	tv.tv_sec = r->connect_timeout_ms / 1000;
	tv.tv_usec = (r->connect_timeout_ms % 1000) * 1000;
	if (r->addr.path[0] != '\0')
		r->c = redisConnectUnixWithTimeout(r->addr.path, tv);
	else
		r->c = redisConnectWithTimeout(r->addr.host, r->addr.port, tv);
	if (r->c == NULL) {
		snprintf(r->err, sizeof r->err, "connect: out of memory");
		goto fail;
	}
	if (r->c->err != 0) {
		ph_redis_fail(r, "connect");
		goto fail;
	}
	if (ph_redis_set_timeout(r, r->command_timeout_ms) != 0) {
		ph_redis_fail(r, "set timeout");
		goto fail;
	}
	if (r->addr.password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = r->addr.user[0] != '\0' ? r->addr.user : r->addr.password;
		argv[2] = r->addr.password;
		if (redis_setup(r, "AUTH", r->addr.user[0] != '\0' ? 3 : 2, argv) != 0)
			goto fail;
	}
	if (r->addr.db != 0) {
		snprintf(db, sizeof db, "%d", r->addr.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (redis_setup(r, "SELECT", 2, argv) != 0)
			goto fail;
	}
	if (r->sentinels.n > 0 && redis_check_role(r) != 0)
		goto fail;
	if (redis_load_scripts(r) != 0)
		goto fail;
	r->backoff_ms = 0;
	r->next_connect_ms = 0;
	r->err[0] = '\0';
	return 0;
fail:
	/* Every process lost Redis at once in a failover: spread their retries. */
	r->backoff_ms = ph_backoff_next(r->backoff_ms, REDIS_BACKOFF_MIN_MS, REDIS_BACKOFF_MAX_MS);
	if (ph_random_bytes(&rnd, sizeof rnd) != 0)
		rnd = (uint32_t)now;
	r->next_connect_ms = now + (uint64_t)ph_backoff_jitter(r->backoff_ms, rnd);
	return -1;
}

/* Close the connection and wipe the credentials kept for reconnects. */
void
ph_redis_close(struct ph_redis *r)
{
	ph_redis_drop(r);
	explicit_bzero(r->addr.password, sizeof r->addr.password);
	ph_sentinel_wipe(&r->sentinels);
}

/* Say where this connects. */
const char *
ph_redis_where(const struct ph_redis *r, char *out, size_t len)
{
	if (r->sentinels.n > 0)
		snprintf(out, len, "sentinel:%s", r->sentinels.master_name);
	else if (r->addr.path[0] != '\0')
		snprintf(out, len, "unix:%s", r->addr.path);
	else
		snprintf(out, len, "%s", r->addr.host);
	return out;
}

/* Mark the connection stale on a reply that says this is no longer the master. */
int
ph_redis_check_reply(struct ph_redis *r, const redisReply *rep)
{
	if (rep == NULL || rep->type != REDIS_REPLY_ERROR || rep->str == NULL)
		return 0;
	/* A script's error carries the command's ("... READONLY You can't write ..."). */
	if (strncmp(rep->str, "MASTERDOWN", 10) != 0 && strstr(rep->str, "READONLY") == NULL)
		return 0;
	if (!r->stale)
		log_info("redis_stale", "error=\"%.80s\" action=reconnect%s", rep->str,
		    r->sentinels.n > 0 ? " sentinels=ask" : "");
	r->stale = 1;
	return 1;
}

/* WAIT for the replicas after a write. */
int
ph_redis_wait_replicas(struct ph_redis *r)
{
	redisReply *rep;
	char n[24], ms[24];
	const char *argv[3] = { "WAIT", n, ms };
	long long got;

	if (r->min_replicas <= 0)
		return 0;
	if (r->c == NULL) {
		snprintf(r->err, sizeof r->err, "WAIT: not connected");
		return -1;
	}
	snprintf(n, sizeof n, "%ld", r->min_replicas);
	snprintf(ms, sizeof ms, "%ld", r->replica_timeout_ms);
	rep = redisCommandArgv(r->c, 3, argv, NULL);
	if (rep == NULL) {
		ph_redis_fail(r, "WAIT");
		return -1;
	}
	got = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		ph_redis_check_reply(r, rep);
		snprintf(r->err, sizeof r->err, "WAIT: %s", rep->str);
	} else if (got < r->min_replicas)
		snprintf(r->err, sizeof r->err,
		    "WAIT: %lld of [redis] min_replicas = %ld replicas acknowledged within %ld ms",
		    got < 0 ? 0 : got, r->min_replicas, r->replica_timeout_ms);
	freeReplyObject(rep);
	return got >= r->min_replicas ? 0 : -1;
}

/*
 * After a reply saying this server is no longer the master: reconnect (the
 * sentinels are asked again) so the caller can send the command once more.
 * Safe: a replica refuses a write before running it, and a script's first
 * write, so nothing of it was done. 1 to send again (rep freed), 0 to return
 * rep as it is; rep is then NULL if the reconnect failed (reason in r->err).
 */
static int
redis_again(struct ph_redis *r, redisReply **rep, int tries)
{
	if (tries > 0 || !ph_redis_check_reply(r, *rep))
		return 0;
	freeReplyObject(*rep);
	*rep = NULL;
	return ph_redis_connect(r) == 0;
}

/* Run a command given as argv. */
redisReply *
ph_redis_argv(struct ph_redis *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *rep;
	int tries = 0;

	do {
		if (ph_redis_connect(r) != 0)
			return NULL;
		rep = redisCommandArgv(r->c, argc, argv, lens);
		if (rep == NULL) {
			ph_redis_fail(r, argv[0]);
			return NULL;
		}
	} while (redis_again(r, &rep, tries++));
	return rep;
}

/* Run a command given as a hiredis format. */
redisReply *
ph_redis_cmd(struct ph_redis *r, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;
	int tries = 0;

	do {
		if (ph_redis_connect(r) != 0)
			return NULL;
		va_start(ap, fmt);
		rep = redisvCommand(r->c, fmt, ap);
		va_end(ap);
		if (rep == NULL) {
			ph_redis_fail(r, "command");
			return NULL;
		}
	} while (redis_again(r, &rep, tries++));
	return rep;
}

#define REDIS_SCRIPT_MAX_ARGS 512

/* Fill av/al with EVALSHA sha nkeys argv... (nk holds nkeys as text, 16 bytes). */
static void
redis_evalsha_argv(const struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens, char *nk, const char **av, size_t *al)
{
	int i;

	/* Callers pass fixed, bounded argument counts: more is a bug, not a Redis failure. */
	if (argc > REDIS_SCRIPT_MAX_ARGS)
		fatalx("script %d: %d arguments, at most %d", (int)script, argc,
		    REDIS_SCRIPT_MAX_ARGS);
	snprintf(nk, 16, "%d", nkeys);
	av[0] = "EVALSHA";
	av[1] = r->sha[script];
	av[2] = nk;
	al[0] = 7;
	al[1] = 40;
	al[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		av[i + 3] = argv[i];
		al[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
	}
}

/* Run a script by SHA1 once, falling back to its text. */
static redisReply *
redis_script_once(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens)
{
	const char *av[REDIS_SCRIPT_MAX_ARGS + 3];
	size_t al[REDIS_SCRIPT_MAX_ARGS + 3];
	char nk[16];
	redisReply *rep;

	if (ph_redis_connect(r) != 0)
		return NULL;
	redis_evalsha_argv(r, script, nkeys, argc, argv, lens, nk, av, al);
	rep = redisCommandArgv(r->c, argc + 3, av, al);
	if (rep == NULL) {
		ph_redis_fail(r, "EVALSHA");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* SCRIPT FLUSH or a failover: send the text; Redis caches it again. */
		freeReplyObject(rep);
		av[0] = "EVAL";
		al[0] = 4;
		av[1] = ph_script_text[script];
		al[1] = strlen(ph_script_text[script]);
		rep = redisCommandArgv(r->c, argc + 3, av, al);
		if (rep == NULL)
			ph_redis_fail(r, "EVAL");
	}
	return rep;
}

/* Run a script, once more on the master found again after -READONLY. */
redisReply *
ph_redis_script(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens)
{
	redisReply *rep;
	int tries = 0;

	do {
		rep = redis_script_once(r, script, nkeys, argc, argv, lens);
		if (rep == NULL)
			return NULL;
	} while (redis_again(r, &rep, tries++));
	return rep;
}

/* Send a script call in a pipeline. */
int
ph_redis_script_append(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens)
{
	const char *av[REDIS_SCRIPT_MAX_ARGS + 3];
	size_t al[REDIS_SCRIPT_MAX_ARGS + 3];
	char nk[16];

	if (r->c == NULL || !r->loaded) {
		snprintf(r->err, sizeof r->err, "script append: not connected");
		return -1;
	}
	redis_evalsha_argv(r, script, nkeys, argc, argv, lens, nk, av, al);
	if (redisAppendCommandArgv(r->c, argc + 3, av, al) != REDIS_OK) {
		ph_redis_fail(r, "append");
		return -1;
	}
	return 0;
}

/* Build the key of an entity: the one place their names are spelled. */
int
ph_key_entity(char *buf, size_t len, const char *prefix, enum ph_entity_key kind,
    const char *provider, const char *type, const char *id)
{
	static const char *const names[] = {
		[PH_KEY_PENDING] = "pending",
		[PH_KEY_LOCK] = "lock",
		[PH_KEY_ENTITY] = "entity",
	};

	const char *end = buf + len - 1; /* room for the NUL */
	char *p;

	/* ph_key's "%s:%s:%s:%s" without printf: this runs for every notification. */
	if (len == 0)
		return -1;
	p = ph_puts(buf, end, prefix);
	p = ph_puts(p, end, names[kind]);
	p = ph_put(p, end, ":", 1);
	p = ph_puts(p, end, provider);
	p = ph_put(p, end, ":", 1);
	p = ph_puts(p, end, type);
	p = ph_put(p, end, ":", 1);
	p = ph_puts(p, end, id);
	if (p == NULL)
		return -1;
	*p = '\0';
	return (int)(p - buf);
}

/* Build a key from the prefix and a formatted name. */
int
ph_key(char *buf, size_t len, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s", prefix);
	if (n < 0 || (size_t)n >= len)
		return -1;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -1;
	return n + m;
}
