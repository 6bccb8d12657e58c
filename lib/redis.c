/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Redis connection with reconnect, scripts and the batch primitive (redis.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/sha.h>

#include "call.h"
#include "conf.h"
#include "log.h"
#include "payhook.h"
#include "redis.h"

struct ph_redis {
	redisContext *c;
	uint64_t epoch; /* of the connection in c; a new one for every connect */
	struct ph_redis_addr addr;
	long connect_timeout_ms;
	long command_timeout_ms;
	uint64_t next_connect_ms; /* monotonic; no connect attempt before this */
	long backoff_ms;
	int loaded; /* scripts loaded on this connection */
	int stale; /* a -READONLY or -MASTERDOWN reply: reconnect (and resolve) before the next call */
	struct ph_sentinels sentinels; /* n = 0: connect to addr as configured */
	long min_replicas;             /* [redis] min_replicas, for ph_redis_wait */
	long replica_timeout_ms;
	char err[256]; /* why the last call failed */
};

/* Every connection of the process gets its own epoch. */
static _Atomic uint64_t redis_epochs;

/* The SHA1 of each script, as EVALSHA names it: computed once from its text. */
static char redis_sha[PH_NSCRIPTS][41];
static pthread_once_t redis_sha_once = PTHREAD_ONCE_INIT;

static void
redis_sha_init(void)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA_DIGEST_LENGTH];
	int i, k;

	for (i = 0; i < PH_NSCRIPTS; i++) {
		SHA1((const unsigned char *)ph_script_text[i], strlen(ph_script_text[i]), md);
		for (k = 0; k < SHA_DIGEST_LENGTH; k++) {
			redis_sha[i][2 * k] = hex[md[k] >> 4];
			redis_sha[i][2 * k + 1] = hex[md[k] & 15];
		}
		redis_sha[i][40] = '\0';
	}
}

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

/* Set up a connection from the configuration. */
struct ph_redis *
ph_redis_new(const struct ph_config *cfg, char *err, size_t errlen)
{
	struct ph_redis *r;

	pthread_once(&redis_sha_once, redis_sha_init);
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ph_redis_parse_url(cfg->redis.url, &r->addr, err, errlen) != 0)
		goto fail;
	if (cfg->redis.password != NULL &&
	    ph_strlcpy(r->addr.password, cfg->redis.password, sizeof r->addr.password) != 0) {
		snprintf(err, errlen, "password too long");
		goto fail;
	}
	r->connect_timeout_ms = cfg->redis.connect_timeout_ms;
	r->command_timeout_ms = cfg->redis.command_timeout_ms;
	r->min_replicas = cfg->redis.min_replicas;
	r->replica_timeout_ms = cfg->redis.replica_timeout_ms;
	if (cfg->redis.sentinels == NULL)
		return r;
	if (ph_sentinel_parse(cfg->redis.sentinels, &r->sentinels, err, errlen) != 0)
		goto fail;
	if (cfg->redis.master_name == NULL ||
	    ph_strlcpy(r->sentinels.master_name, cfg->redis.master_name,
	        sizeof r->sentinels.master_name) != 0) {
		snprintf(err, errlen, "[redis] master_name: needed with [redis] sentinels");
		goto fail;
	}
	if (cfg->redis.sentinel_password != NULL &&
	    ph_strlcpy(r->sentinels.password, cfg->redis.sentinel_password,
	        sizeof r->sentinels.password) != 0) {
		snprintf(err, errlen, "[redis] sentinel_password: too long");
		goto fail;
	}
	r->sentinels.timeout_ms = r->connect_timeout_ms < PH_SENTINEL_TIMEOUT_MS
	    ? r->connect_timeout_ms
	    : PH_SENTINEL_TIMEOUT_MS;
	/* The URL's host is replaced by what the sentinels say. */
	r->addr.host[0] = '\0';
	r->addr.port = 0;
	return r;
fail:
	ph_redis_free(r);
	return NULL;
}

/* Why the last call failed. */
const char *
ph_redis_err(const struct ph_redis *r)
{
	return r->err;
}

/* Set the reason of a failure. */
void
ph_redis_set_err(struct ph_redis *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
}

/* Whether a connection is up. */
int
ph_redis_connected(const struct ph_redis *r)
{
	return r->c != NULL;
}

const struct ph_redis_addr *
ph_redis_addr(const struct ph_redis *r)
{
	return &r->addr;
}

const struct ph_sentinels *
ph_redis_sentinels(const struct ph_redis *r)
{
	return &r->sentinels;
}

long
ph_redis_min_replicas(const struct ph_redis *r)
{
	return r->min_replicas;
}

/* Drop the connection; the next call connects again. */
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

/* Note why the connection failed (what, and hiredis' reason) and drop it. */
static void
redis_fail(struct ph_redis *r, const char *what)
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
		redis_fail(r, what);
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

/* Load the scripts on this connection (their SHA1s are ours already). */
static int
redis_load_scripts(struct ph_redis *r)
{
	redisReply *rep;
	int i, ok;

	for (i = 0; i < PH_NSCRIPTS; i++)
		redisAppendCommand(r->c, "SCRIPT LOAD %s", ph_script_text[i]);
	for (i = 0; i < PH_NSCRIPTS; i++) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || rep == NULL) {
			redis_fail(r, "SCRIPT LOAD");
			return -1;
		}
		ok = rep->type == REDIS_REPLY_STRING && rep->len == 40 &&
		    memcmp(rep->str, redis_sha[i], 40) == 0;
		if (!ok)
			snprintf(r->err, sizeof r->err, "SCRIPT LOAD: %s",
			    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		freeReplyObject(rep);
		if (!ok) {
			/* The rest of the replies are still read, then the connection is dropped. */
			while (++i < PH_NSCRIPTS &&
			    redisGetReply(r->c, (void **)&rep) == REDIS_OK && rep != NULL)
				freeReplyObject(rep);
			ph_redis_drop(r);
			return -1;
		}
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
		redis_fail(r, "ROLE");
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
		return r->loaded || redis_load_scripts(r) == 0 ? 0 : -1;
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
		redis_fail(r, "connect");
		goto fail;
	}
	r->epoch = atomic_fetch_add(&redis_epochs, 1) + 1;
	if (ph_redis_set_timeout(r, r->command_timeout_ms) != 0) {
		redis_fail(r, "set timeout");
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

/* Close, wipe the credentials and free. */
void
ph_redis_free(struct ph_redis *r)
{
	if (r == NULL)
		return;
	ph_redis_drop(r);
	explicit_bzero(r->addr.password, sizeof r->addr.password);
	ph_sentinel_wipe(&r->sentinels);
	free(r);
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

/*
 * The error codes (the first word of an error reply) with which Redis
 * refuses a command before running it. A script refused at its first write
 * (a legacy script under OOM) or by an ACL wrote nothing either.
 */
static const struct {
	const char *code;
	enum ph_refusal refusal;
} redis_refusals[] = {
	{ "NOSCRIPT", PH_REFUSAL_NOSCRIPT },
	{ "READONLY", PH_REFUSAL_STALE },
	{ "MASTERDOWN", PH_REFUSAL_STALE },
	{ "OOM", PH_REFUSAL_PASSING },
	{ "BUSY", PH_REFUSAL_PASSING },
	{ "NOPERM", PH_REFUSAL_PASSING },
	{ "LOADING", PH_REFUSAL_PASSING },
	{ "MISCONF", PH_REFUSAL_PASSING },
	{ "NOREPLICAS", PH_REFUSAL_PASSING },
	{ "TRYAGAIN", PH_REFUSAL_PASSING },
	{ "CLUSTERDOWN", PH_REFUSAL_PASSING },
	{ "NOAUTH", PH_REFUSAL_PASSING },
	{ "WRONGPASS", PH_REFUSAL_PASSING },
	{ "UNBLOCKED", PH_REFUSAL_PASSING },
	{ "EXECABORT", PH_REFUSAL_PASSING },
};

/*
 * The error code of an error reply: its first word. Redis 6 wraps the error
 * of a command inside a script as "ERR Error running script (...):
 * @user_script:N: @user_script: N: -CODE ..."; Redis 7 passes "-CODE ...
 * script: ..." on as it is. The code of the wrapped error is the code then.
 */
static const char *
redis_error_code(const char *s, size_t *len)
{
	const char *w;

	*len = strcspn(s, " \r\n");
	if (*len == 3 && memcmp(s, "ERR", 3) == 0 && (w = strstr(s, ": -")) != NULL &&
	    w[3] >= 'A' && w[3] <= 'Z') {
		*len = strcspn(w + 3, " \r\n");
		return w + 3;
	}
	return s;
}

/* Label a reply from its type and error code. */
enum ph_reply
ph_reply_kind(const redisReply *rep, enum ph_refusal *refusal)
{
	const char *code;
	size_t i, n;

	*refusal = PH_REFUSAL_NONE;
	if (rep == NULL)
		return PH_REPLY_UNKNOWN;
	if (rep->type != REDIS_REPLY_ERROR)
		return PH_REPLY_RAN;
	code = redis_error_code(rep->str, &n);
	for (i = 0; i < sizeof redis_refusals / sizeof redis_refusals[0]; i++) {
		if (strlen(redis_refusals[i].code) == n &&
		    memcmp(code, redis_refusals[i].code, n) == 0) {
			*refusal = redis_refusals[i].refusal;
			return PH_REPLY_REFUSED;
		}
	}
	return PH_REPLY_FAILED;
}

/* Free the replies of n results. */
void
ph_results_free(struct ph_result *res, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (res[i].rep != NULL)
			freeReplyObject(res[i].rep);
		res[i].rep = NULL;
	}
}

/* Write n commands in one write, read exactly n replies. */
uint64_t
ph_redis_batch(struct ph_redis *r, struct ph_cmd *const *cmds, int n, struct ph_result *res)
{
	redisReply *rep;
	uint64_t epoch;
	int i;

	for (i = 0; i < n; i++) {
		res[i].kind = PH_REPLY_UNKNOWN;
		res[i].refusal = PH_REFUSAL_NONE;
		res[i].rep = NULL;
	}
	if (n == 0 || ph_redis_connect(r) != 0)
		return n == 0 && r->c != NULL ? r->epoch : 0;
	epoch = r->epoch;
	for (i = 0; i < n; i++) {
		if (redisAppendFormattedCommand(r->c, cmds[i]->buf, cmds[i]->len) != REDIS_OK) {
			/* Nothing was written yet: hiredis writes at the first read. */
			redis_fail(r, "append");
			return epoch;
		}
	}
	for (i = 0; i < n; i++) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || rep == NULL) {
			redis_fail(r, "reply");
			break; /* the rest stay UNKNOWN */
		}
		res[i].rep = rep;
		res[i].kind = ph_reply_kind(rep, &res[i].refusal);
		if (res[i].refusal == PH_REFUSAL_STALE && !r->stale) {
			log_info("redis_stale", "error=\"%.80s\" action=reconnect%s", rep->str,
			    r->sentinels.n > 0 ? " sentinels=ask" : "");
			r->stale = 1;
		} else if (res[i].refusal == PH_REFUSAL_NOSCRIPT) {
			r->loaded = 0; /* SCRIPT FLUSH: load them before the next batch */
		}
	}
	return epoch;
}

/* WAIT for the replicas on the connection of epoch. */
int
ph_redis_wait(struct ph_redis *r, uint64_t epoch)
{
	redisReply *rep;
	char n[24], ms[24];
	const char *argv[3] = { "WAIT", n, ms };
	long long got;

	if (r->min_replicas <= 0)
		return 0;
	if (r->c == NULL || r->epoch != epoch || epoch == 0) {
		snprintf(r->err, sizeof r->err,
		    "WAIT: the connection that wrote was lost before its replicas acknowledged");
		return -1;
	}
	snprintf(n, sizeof n, "%ld", r->min_replicas);
	snprintf(ms, sizeof ms, "%ld", r->replica_timeout_ms);
	rep = redisCommandArgv(r->c, 3, argv, NULL);
	if (rep == NULL) {
		redis_fail(r, "WAIT");
		return -1;
	}
	got = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	if (rep->type == REDIS_REPLY_ERROR)
		snprintf(r->err, sizeof r->err, "WAIT: %s", rep->str);
	else if (got < r->min_replicas)
		snprintf(r->err, sizeof r->err,
		    "WAIT: %lld of [redis] min_replicas = %ld replicas acknowledged within %ld ms",
		    got < 0 ? 0 : got, r->min_replicas, r->replica_timeout_ms);
	freeReplyObject(rep);
	return got >= r->min_replicas ? 0 : -1;
}

/* Make room for need bytes in a command's buffer. */
static int
cmd_reserve(struct ph_cmd *c, size_t need)
{
	char *nb;
	size_t cap;

	if (need <= c->cap)
		return 0;
	cap = c->cap > 0 ? c->cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(c->buf, cap);
	if (nb == NULL)
		return -1;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/* Append "<t>len\r\n"; the new end. */
static char *
resp_len(char *p, char t, size_t n)
{
	char tmp[24];
	int i = 0;

	*p++ = t;
	do {
		tmp[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	while (i > 0)
		*p++ = tmp[--i];
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Append one bulk string. */
static char *
resp_bulk(char *p, const char *s, size_t n)
{
	p = resp_len(p, '$', n);
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Format argv (after a head of nhead strings) as RESP, without printf: it runs for every request. */
static int
cmd_format(struct ph_cmd *c, int nhead, const char *const *head, const size_t *hlens, int argc,
    const char *const *argv, const size_t *lens)
{
	size_t need = 32;
	char *p;
	int i;

	if (argc < 0 || nhead + argc > PH_CALL_ARGS + 3)
		return -1;
	for (i = 0; i < nhead; i++)
		need += hlens[i] + 32;
	for (i = 0; i < argc; i++)
		need += (lens != NULL ? lens[i] : strlen(argv[i])) + 32;
	if (cmd_reserve(c, need) != 0)
		return -1;
	p = resp_len(c->buf, '*', (size_t)(nhead + argc));
	for (i = 0; i < nhead; i++)
		p = resp_bulk(p, head[i], hlens[i]);
	for (i = 0; i < argc; i++)
		p = resp_bulk(p, argv[i], lens != NULL ? lens[i] : strlen(argv[i]));
	c->len = (size_t)(p - c->buf);
	return 0;
}

int
ph_cmd_argv(struct ph_cmd *c, int argc, const char *const *argv, const size_t *lens)
{
	c->script = -1;
	return cmd_format(c, 0, NULL, NULL, argc, argv, lens);
}

static int
cmd_vfmt(struct ph_cmd *c, const char *fmt, va_list ap)
{
	char *out = NULL;
	long long n;

	c->script = -1;
	n = redisvFormatCommand(&out, fmt, ap);
	if (n < 0 || cmd_reserve(c, (size_t)n) != 0) {
		redisFreeCommand(out);
		return -1;
	}
	memcpy(c->buf, out, (size_t)n);
	c->len = (size_t)n;
	redisFreeCommand(out);
	return 0;
}

int
ph_cmd_script(struct ph_cmd *c, enum ph_script script, int nkeys, int argc, const char *const *argv,
    const size_t *lens)
{
	char nk[24];
	const char *head[3] = { "EVALSHA", NULL, nk };
	size_t hl[3] = { 7, 40, 0 };

	pthread_once(&redis_sha_once, redis_sha_init);
	if (nkeys < 0 || nkeys > argc)
		return -1;
	*ph_put_u64(nk, nk + sizeof nk - 1, (uint64_t)nkeys) = '\0';
	hl[2] = strlen(nk);
	head[1] = redis_sha[script];
	c->script = (int)script;
	return cmd_format(c, 3, head, hl, argc, argv, lens);
}

int
ph_cmd_call(struct ph_cmd *c, const struct ph_call *call)
{
	return ph_cmd_script(c, call->script, call->nkeys, call->argc, call->argv, call->lens);
}

void
ph_cmd_free(struct ph_cmd *c)
{
	free(c->buf);
	c->buf = NULL;
	c->cap = c->len = 0;
}

/*
 * Run one command, once more after NOSCRIPT or a stale master (it did not
 * run). Not after a lost reply: it may have run, and only the caller knows
 * whether running it twice is harmless.
 */
redisReply *
ph_redis_run(struct ph_redis *r, struct ph_cmd *c)
{
	struct ph_cmd *one[1] = { c };
	struct ph_result res;
	int tries;

	for (tries = 0;; tries++) {
		if (ph_redis_batch(r, one, 1, &res) == 0)
			return NULL;
		if (tries == 0 && res.kind == PH_REPLY_REFUSED &&
		    (res.refusal == PH_REFUSAL_NOSCRIPT || res.refusal == PH_REFUSAL_STALE)) {
			ph_results_free(&res, 1);
			continue;
		}
		return res.rep; /* NULL when UNKNOWN */
	}
}

/* Run a command from argv. */
redisReply *
ph_redis_argv(struct ph_redis *r, int argc, const char **argv, const size_t *lens)
{
	struct ph_cmd c = { 0 };
	redisReply *rep = NULL;

	if (ph_cmd_argv(&c, argc, argv, lens) == 0)
		rep = ph_redis_run(r, &c);
	else
		snprintf(r->err, sizeof r->err, "%s: out of memory", argv[0]);
	ph_cmd_free(&c);
	return rep;
}

/* Run a command from a hiredis format. */
redisReply *
ph_redis_cmd(struct ph_redis *r, const char *fmt, ...)
{
	struct ph_cmd c = { 0 };
	redisReply *rep = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cmd_vfmt(&c, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rep = ph_redis_run(r, &c);
	else
		snprintf(r->err, sizeof r->err, "command: out of memory");
	ph_cmd_free(&c);
	return rep;
}

/* Run a script. */
redisReply *
ph_redis_script(struct ph_redis *r, enum ph_script script, int nkeys, int argc,
    const char *const *argv, const size_t *lens)
{
	struct ph_cmd c = { 0 };
	redisReply *rep = NULL;

	if (ph_cmd_script(&c, script, nkeys, argc, argv, lens) == 0)
		rep = ph_redis_run(r, &c);
	else
		snprintf(r->err, sizeof r->err, "script: out of memory");
	ph_cmd_free(&c);
	return rep;
}

/* Run an encoder's call. */
redisReply *
ph_redis_call(struct ph_redis *r, const struct ph_call *c)
{
	return ph_redis_script(r, c->script, c->nkeys, c->argc, c->argv, c->lens);
}

/* Set up a pipeline. */
int
ph_pipe_init(struct ph_pipe *p, int cap)
{
	int i;

	memset(p, 0, sizeof *p);
	p->cmd = calloc((size_t)cap, sizeof *p->cmd);
	p->ptr = calloc((size_t)cap, sizeof *p->ptr);
	p->res = calloc((size_t)cap, sizeof *p->res);
	if (p->cmd == NULL || p->ptr == NULL || p->res == NULL) {
		ph_pipe_free(p);
		return -1;
	}
	for (i = 0; i < cap; i++)
		p->ptr[i] = &p->cmd[i];
	p->cap = cap;
	return 0;
}

void
ph_pipe_free(struct ph_pipe *p)
{
	int i;

	if (p->res != NULL)
		ph_results_free(p->res, p->n);
	for (i = 0; p->cmd != NULL && i < p->cap; i++)
		ph_cmd_free(&p->cmd[i]);
	free(p->cmd);
	free(p->ptr);
	free(p->res);
	memset(p, 0, sizeof *p);
}

void
ph_pipe_reset(struct ph_pipe *p)
{
	ph_results_free(p->res, p->n);
	p->n = 0;
	p->next = 0;
	p->epoch = 0;
}

int
ph_pipe_call(struct ph_pipe *p, const struct ph_call *call)
{
	if (p->n == p->cap || ph_cmd_call(&p->cmd[p->n], call) != 0)
		return -1;
	p->n++;
	return 0;
}

int
ph_pipe_fmt(struct ph_pipe *p, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (p->n == p->cap)
		return -1;
	va_start(ap, fmt);
	rc = cmd_vfmt(&p->cmd[p->n], fmt, ap);
	va_end(ap);
	if (rc != 0)
		return -1;
	p->n++;
	return 0;
}

uint64_t
ph_redis_pipe(struct ph_redis *r, struct ph_pipe *p)
{
	p->next = 0;
	p->epoch = ph_redis_batch(r, p->ptr, p->n, p->res);
	return p->epoch;
}

redisReply *
ph_pipe_reply(struct ph_pipe *p)
{
	redisReply *rep;

	if (p->next >= p->n)
		return NULL;
	rep = p->res[p->next].rep;
	p->res[p->next].rep = NULL;
	p->next++;
	return rep;
}

/* Read the persistence settings: durable or not. */
int
ph_redis_durable(struct ph_redis *r, char *reason, size_t len)
{
	redisReply *rep = ph_redis_cmd(r, "CONFIG GET append*");
	const char *aof = NULL, *fsync = NULL;
	size_t i;
	int rc = -1;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		snprintf(reason, len, "cannot read Redis' persistence settings (CONFIG GET): %s",
		    rep == NULL                          ? r->err
		        : rep->type == REDIS_REPLY_ERROR ? rep->str
		                                         : "unexpected reply");
		goto out;
	}
	for (i = 0; i + 1 < rep->elements; i += 2) {
		if (rep->element[i]->type != REDIS_REPLY_STRING ||
		    rep->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(rep->element[i]->str, "appendonly") == 0)
			aof = rep->element[i + 1]->str;
		else if (strcmp(rep->element[i]->str, "appendfsync") == 0)
			fsync = rep->element[i + 1]->str;
	}
	if (aof == NULL || fsync == NULL) {
		snprintf(reason, len, "Redis did not say appendonly and appendfsync");
		goto out;
	}
	rc = 0;
	if (strcmp(aof, "yes") != 0)
		snprintf(reason, len, "appendonly is %s: Redis keeps no AOF", aof);
	else if (strcmp(fsync, "always") == 0)
		rc = 1;
	else if (strcmp(fsync, "everysec") == 0 && r->min_replicas >= 1)
		rc = 1;
	else if (strcmp(fsync, "everysec") == 0)
		snprintf(reason, len,
		    "appendfsync everysec with [redis] min_replicas = 0: a crash of Redis' host "
		    "loses up to a second of acknowledged writes");
	else
		snprintf(reason, len, "appendfsync %s: Redis leaves flushing to the kernel", fsync);
	if (rc == 1)
		snprintf(reason, len, "appendonly yes, appendfsync %s, min_replicas %ld", fsync,
		    r->min_replicas);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

/* The one place key names are spelled, with the parts each takes. */
static const struct {
	const char *name;
	int parts;
	const char *suffix; /* after the first part: endpoint:{name}:due */
} redis_keys[PH_NKEYS] = {
	[PH_KEY_PENDING] = { "pending", 3 },
	[PH_KEY_LOCK] = { "lock", 3 },
	[PH_KEY_ENTITY] = { "entity", 3 },
	[PH_KEY_SEEN] = { "seen", 2 },
	[PH_KEY_RATE] = { "rate", 1 },
	[PH_KEY_PROCESSING] = { "processing", 1 },
	[PH_KEY_QUEUE] = { "queue", 0 },
	[PH_KEY_RETRY] = { "retry", 0 },
	[PH_KEY_DEAD] = { "dead", 0 },
	[PH_KEY_WORKERS] = { "workers", 0 },
	[PH_KEY_EVENTS] = { "events", 0 },
	[PH_KEY_NOTIFICATIONS] = { "notifications", 0 },
	[PH_KEY_STATS] = { "stats", 0 },
	[PH_KEY_REFRESH] = { "refresh", 0 },
	[PH_KEY_EVENTS_TRIM] = { "events_trim", 0 },
	[PH_KEY_ENDPOINT] = { "endpoint", 1 },
	[PH_KEY_ENDPOINT_DUE] = { "endpoint", 1, "due" },
	[PH_KEY_ENDPOINT_HELD] = { "endpoint", 1, "held" },
	[PH_KEY_ENDPOINT_DEAD] = { "endpoint", 1, "dead" },
	[PH_KEY_ENDPOINT_RATE] = { "endpoint", 1, "rate" },
	[PH_KEY_ENDPOINT_ENTITY] = { "endpoint", 4, "entity" },
};

/* Build a key from n parts (without printf: the accept path builds several for every notification). */
static int
redis_key(char *buf, size_t len, const char *prefix, enum ph_key_kind kind, const char *const *part,
    int n)
{
	const char *end = buf + len - 1; /* room for the NUL */
	char *p;
	int i;

	if (len == 0 || (unsigned)kind >= PH_NKEYS)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i < redis_keys[kind].parts) != (part[i] != NULL))
			return -1;
	}
	if (redis_keys[kind].parts > n)
		return -1;
	p = ph_puts(buf, end, prefix);
	p = ph_puts(p, end, redis_keys[kind].name);
	for (i = 0; i < redis_keys[kind].parts; i++) {
		p = ph_put(p, end, ":", 1);
		p = ph_puts(p, end, part[i]);
		if (i == 0 && redis_keys[kind].suffix != NULL) {
			p = ph_put(p, end, ":", 1);
			p = ph_puts(p, end, redis_keys[kind].suffix);
		}
	}
	if (p == NULL)
		return -1;
	*p = '\0';
	return (int)(p - buf);
}

/* Build a key. */
int
ph_key_of(char *buf, size_t len, const char *prefix, enum ph_key_kind kind, const char *a,
    const char *b, const char *c)
{
	const char *part[3] = { a, b, c };

	return redis_key(buf, len, prefix, kind, part, 3);
}

/* Build the order hash key of an entity for an endpoint. */
int
ph_key_endpoint_entity(char *buf, size_t len, const char *prefix, const char *endpoint,
    const char *provider, const char *type, const char *id)
{
	const char *part[4] = { endpoint, provider, type, id };

	return redis_key(buf, len, prefix, PH_KEY_ENDPOINT_ENTITY, part, 4);
}

/* Build the key of an entity. */
int
ph_key_entity(char *buf, size_t len, const char *prefix, enum ph_key_kind kind,
    const char *provider, const char *type, const char *id)
{
	if (kind != PH_KEY_PENDING && kind != PH_KEY_LOCK && kind != PH_KEY_ENTITY)
		return -1;
	return ph_key_of(buf, len, prefix, kind, provider, type, id);
}

/* The one place stats field families are spelled (the scripts' aside). */
static const char *const redis_stats[PH_NSTATS] = {
	[PH_STAT_NOTIFICATIONS] = "notifications:",
	[PH_STAT_FETCH] = "fetch:",
	[PH_STAT_FETCH_MS] = "fetch_ms:",
	[PH_STAT_FETCH_MS_SUM] = "fetch_ms_sum:",
	[PH_STAT_SPOOL] = "spool:",
	[PH_STAT_REFRESH] = "refresh:",
	[PH_STAT_RATE] = "rate:",
	[PH_STAT_EVENTS] = "events:",
	[PH_STAT_DELIVERIES] = "deliveries:",
	[PH_STAT_DELIVERY_SECONDS] = "delivery_seconds:",
};

/* Build a stats field. */
int
ph_stat_field(char *buf, size_t len, enum ph_stat_family family, const char *a, const char *b)
{
	const char *end = buf + len - 1;
	char *p;

	if (len == 0 || (unsigned)family >= PH_NSTATS || a == NULL)
		return -1;
	p = ph_puts(buf, end, redis_stats[family]);
	p = ph_puts(p, end, a);
	if (b != NULL) {
		p = ph_put(p, end, ":", 1);
		p = ph_puts(p, end, b);
	}
	if (p == NULL)
		return -1;
	*p = '\0';
	return (int)(p - buf);
}

/* A family's name with its ':'. */
const char *
ph_stat_prefix(enum ph_stat_family family)
{
	return redis_stats[family];
}
