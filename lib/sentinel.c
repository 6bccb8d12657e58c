/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Redis Sentinel discovery: ask the sentinels for the master's address. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "payhook.h"
#include "sentinel.h"

/* Parse one "host:port" of len bytes into a. */
static int
sentinel_parse_one(const char *p, size_t len, struct ph_sentinel_addr *a, char *err, size_t errlen)
{
	const char *colon, *hend, *stop = p + len, *whole = p;
	size_t hlen, i;
	long port = 0;

	if (len > 0 && p[0] == '[') {
		hend = memchr(p, ']', len);
		if (hend == NULL || hend + 1 >= p + len || hend[1] != ':') {
			snprintf(err, errlen, "\"%.*s\": [v6 address] must be followed by :port",
			    (int)len, whole);
			return -1;
		}
		colon = hend + 1;
		p++;
		hlen = (size_t)(hend - p);
	} else {
		colon = NULL;
		for (i = len; i > 0; i--) {
			if (p[i - 1] == ':') {
				colon = p + i - 1;
				break;
			}
		}
		if (colon == NULL) {
			snprintf(err, errlen, "\"%.*s\": must be host:port", (int)len, whole);
			return -1;
		}
		hlen = (size_t)(colon - p);
		if (memchr(p, ':', hlen) != NULL) {
			snprintf(err, errlen, "\"%.*s\": write an IPv6 address as [addr]:port",
			    (int)len, whole);
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof a->host) {
		snprintf(err, errlen, "\"%.*s\": missing or too long host", (int)len, whole);
		return -1;
	}
	for (i = 0; i < hlen; i++) {
		if (p[i] <= ' ' || p[i] == ',' || p[i] == '/' || p[i] == '@') {
			snprintf(err, errlen, "\"%.*s\": bad character in host", (int)len, whole);
			return -1;
		}
	}
	for (i = 0; colon + 1 + i < stop; i++) {
		if (i == 5 || colon[1 + i] < '0' || colon[1 + i] > '9')
			goto badport;
		port = port * 10 + (colon[1 + i] - '0');
	}
	if (port < 1 || port > 65535)
		goto badport;
	memcpy(a->host, p, hlen);
	a->host[hlen] = '\0';
	a->port = (int)port;
	return 0;
badport:
	snprintf(err, errlen, "\"%.*s\": port must be a number from 1 to 65535", (int)len, whole);
	return -1;
}

/* Parse the sentinel list. */
int
ph_sentinel_parse(const char *list, struct ph_sentinels *s, char *err, size_t errlen)
{
	const char *p = list, *end, *q;

	s->n = 0;
	if (list == NULL || *list == '\0') {
		snprintf(err, errlen, "empty list (host:port[,host:port...])");
		return -1;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		q = end;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (q == p) {
			snprintf(err, errlen, "empty entry in the list");
			return -1;
		}
		if (s->n == PH_SENTINELS_MAX) {
			snprintf(err, errlen, "at most %d sentinels", PH_SENTINELS_MAX);
			return -1;
		}
		if (sentinel_parse_one(p, (size_t)(q - p), &s->addr[s->n], err, errlen) != 0)
			return -1;
		s->n++;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0') {
			snprintf(err, errlen, "empty entry in the list");
			return -1;
		}
	}
	return 0;
}

/* Write the list for messages. */
void
ph_sentinel_list(const struct ph_sentinels *s, char *buf, size_t len)
{
	size_t off = 0;
	int i, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < s->n && off < len; i++) {
		n = snprintf(buf + off, len - off,
		    strchr(s->addr[i].host, ':') ? "%s[%s]:%d" : "%s%s:%d", i > 0 ? "," : "",
		    s->addr[i].host, s->addr[i].port);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Move sentinel i to the front. */
void
ph_sentinel_promote(struct ph_sentinels *s, int i)
{
	struct ph_sentinel_addr a;

	if (i <= 0 || i >= s->n)
		return;
	a = s->addr[i];
	memmove(&s->addr[1], &s->addr[0], (size_t)i * sizeof s->addr[0]);
	s->addr[0] = a;
}

/* Append "host:port: what" to err. */
static void
sentinel_note(char *err, size_t errlen, const struct ph_sentinel_addr *a, const char *what)
{
	size_t off = strlen(err);

	if (off < errlen)
		snprintf(err + off, errlen - off, "%s%s:%d: %s", off > 0 ? "; " : "", a->host,
		    a->port, what);
}

/* Ask one sentinel; 0 with the address, 1 if it knows no such master, -1 if it failed. */
static int
sentinel_ask(const struct ph_sentinels *s, const struct ph_sentinel_addr *a, char *host,
    size_t hostlen, int *port, char *why, size_t whylen)
{
	struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };
	redisContext *c;
	redisReply *rep = NULL;
	const char *argv[3];
	int rc = -1;
	long p;
	char *end;

	c = redisConnectWithTimeout(a->host, a->port, tv);
	if (c == NULL || c->err != 0) {
		snprintf(why, whylen, "%s", c != NULL ? c->errstr : "out of memory");
		goto out;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(why, whylen, "set timeout: %s", c->errstr);
		goto out;
	}
	if (s->password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = s->password;
		rep = redisCommandArgv(c, 2, argv, NULL);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "AUTH: %s", rep != NULL ? rep->str : c->errstr);
			goto out;
		}
		freeReplyObject(rep);
	}
	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = s->master_name;
	rep = redisCommandArgv(c, 3, argv, NULL);
	if (rep == NULL) {
		snprintf(why, whylen, "%s", c->errstr);
		goto out;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		snprintf(why, whylen, "knows no master named \"%s\"", s->master_name);
		rc = 1;
		goto out;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "unexpected reply%s%s",
		    rep->type == REDIS_REPLY_ERROR ? ": " : "",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "");
		goto out;
	}
	p = strtol(rep->element[1]->str, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535 ||
	    ph_strlcpy(host, rep->element[0]->str, hostlen) != 0) {
		snprintf(why, whylen, "bad address in reply");
		goto out;
	}
	*port = (int)p;
	rc = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	return rc;
}

/* Ask the sentinels in turn. */
enum ph_sentinel_resolve
ph_sentinel_resolve(struct ph_sentinels *s, char *host, size_t hostlen, int *port, char *err,
    size_t errlen)
{
	char why[160];
	int i, rc, answered = 0;

	err[0] = '\0';
	for (i = 0; i < s->n; i++) {
		rc = sentinel_ask(s, &s->addr[i], host, hostlen, port, why, sizeof why);
		if (rc == 0) {
			ph_sentinel_promote(s, i);
			err[0] = '\0';
			return PH_SENTINEL_OK;
		}
		answered |= rc == 1;
		sentinel_note(err, errlen, &s->addr[i], why);
	}
	return answered ? PH_SENTINEL_UNKNOWN : PH_SENTINEL_DOWN;
}

/* Double the back-off within its bounds. */
long
ph_backoff_next(long prev_ms, long min_ms, long max_ms)
{
	long b = prev_ms < min_ms ? min_ms : prev_ms > max_ms / 2 ? max_ms : prev_ms * 2;

	return b > max_ms ? max_ms : b;
}

/* Pick the wait in [backoff / 2, backoff]. */
long
ph_backoff_jitter(long backoff_ms, uint32_t rnd)
{
	long half = backoff_ms / 2;

	if (backoff_ms <= 1)
		return backoff_ms < 0 ? 0 : backoff_ms;
	return half + (long)(rnd % (uint32_t)(backoff_ms - half + 1));
}

/* Wipe the password. */
void
ph_sentinel_wipe(struct ph_sentinels *s)
{
	explicit_bzero(s->password, sizeof s->password);
}
