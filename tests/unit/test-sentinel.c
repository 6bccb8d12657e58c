/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sentinel discovery without servers: the list's parsing, the order the
 * sentinels are asked in, the reconnect back-off's bounds, which replies make
 * a connection stale, and what ph_redis_init keeps from the config.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "redis.h"
#include "sentinel.h"
#include "tap.h"

/* The list as text, for comparisons. */
static const char *
list(const struct ph_sentinels *s)
{
	static char buf[512];

	ph_sentinel_list(s, buf, sizeof buf);
	return buf;
}

static void
test_parse(void)
{
	struct ph_sentinels s;
	char err[256];
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "empty list" },
		{ "localhost", "must be host:port" },
		{ "host:", "port must be a number" },
		{ "host:0", "port must be a number" },
		{ "host:65536", "port must be a number" },
		{ "host:12a", "port must be a number" },
		{ "host:123456", "port must be a number" },
		{ ":26379", "missing or too long host" },
		{ "a:1,,b:2", "empty entry" },
		{ "a:1,", "empty entry" },
		{ "::1:26379", "[addr]:port" },
		{ "[::1]", "must be followed by :port" },
		{ "[::1]26379", "must be followed by :port" },
		{ "a b:1", "bad character" },
		{ "user@h:1", "bad character" },
	};
	size_t i;

	memset(&s, 0, sizeof s);
	is_int(ph_sentinel_parse("127.0.0.1:26379", &s, err, sizeof err), 0, "one sentinel");
	is_int(s.n, 1, "n = 1");
	is_str(s.addr[0].host, "127.0.0.1", "host");
	is_int(s.addr[0].port, 26379, "port");
	is_int(ph_sentinel_parse(" s1.example:26379 , s2:1,[::1]:65535 ", &s, err, sizeof err), 0,
	    "three, with spaces and an IPv6 address");
	is_int(s.n, 3, "n = 3");
	is_str(list(&s), "s1.example:26379,s2:1,[::1]:65535", "the list written back");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ok(ph_sentinel_parse(bad[i].in, &s, err, sizeof err) == -1 &&
		        strstr(err, bad[i].why) != NULL,
		    "\"%s\" refused: %s", bad[i].in, err);
	}
	{
		char many[1024] = "";
		for (i = 0; i <= PH_SENTINELS_MAX; i++)
			snprintf(many + strlen(many), sizeof many - strlen(many), "%sh%zu:1",
			    i > 0 ? "," : "", i);
		ok(ph_sentinel_parse(many, &s, err, sizeof err) == -1 &&
		        strstr(err, "at most") != NULL,
		    "more than %d sentinels refused", PH_SENTINELS_MAX);
	}
}

static void
test_rotation(void)
{
	struct ph_sentinels s;
	char err[256];

	memset(&s, 0, sizeof s);
	ph_sentinel_parse("a:1,b:2,c:3,d:4", &s, err, sizeof err);
	ph_sentinel_promote(&s, 0);
	is_str(list(&s), "a:1,b:2,c:3,d:4", "the first answering: order kept");
	ph_sentinel_promote(&s, 2);
	is_str(list(&s), "c:3,a:1,b:2,d:4",
	    "the third answering moves first, the others keep their order");
	ph_sentinel_promote(&s, 3);
	is_str(list(&s), "d:4,c:3,a:1,b:2", "the last answering moves first");
	ph_sentinel_promote(&s, 4);
	ph_sentinel_promote(&s, -1);
	is_str(list(&s), "d:4,c:3,a:1,b:2", "an index out of range changes nothing");
}

static void
test_resolve_down(void)
{
	struct ph_sentinels s;
	char err[512], host[256];
	int port = 0;

	/* Port 1 on loopback: nothing listens there, the connect is refused at once. */
	memset(&s, 0, sizeof s);
	ph_sentinel_parse("127.0.0.1:1,[::1]:1", &s, err, sizeof err);
	snprintf(s.master_name, sizeof s.master_name, "m");
	s.timeout_ms = 100;
	is_int(ph_sentinel_resolve(&s, host, sizeof host, &port, err, sizeof err), PH_SENTINEL_DOWN,
	    "no sentinel answers: down");
	ok(strncmp(err, "127.0.0.1:1: ", 13) == 0 && strstr(err, "; ::1:1: ") != NULL,
	    "the reason names each sentinel in the order asked: %s", err);
	is_str(list(&s), "127.0.0.1:1,[::1]:1", "none answered: order kept");
}

static void
test_backoff(void)
{
	long b = 0, seq[8];
	int i, in_bounds = 1;
	uint32_t r;

	for (i = 0; i < 8; i++)
		seq[i] = b = ph_backoff_next(b, 50, 1000);
	is_int(seq[0], 50, "first failure: the minimum");
	is_int(seq[1], 100, "then doubling");
	is_int(seq[4], 800, "800");
	is_int(seq[5], 1000, "capped at the maximum");
	is_int(seq[7], 1000, "and stays there");
	is_int(ph_backoff_next(LONG_MAX, 50, 1000), 1000, "no overflow past the cap");
	is_int(ph_backoff_jitter(1000, 0), 500, "jitter: at least half");
	is_int(ph_backoff_jitter(1000, 500), 1000, "jitter: at most the back-off");
	for (r = 0; r < 100000; r += 7) {
		long j = ph_backoff_jitter(300, r * 2654435761u);
		if (j < 150 || j > 300)
			in_bounds = 0;
	}
	ok(in_bounds, "jitter of 300 always in [150, 300]");
	is_int(ph_backoff_jitter(1, 12345), 1, "jitter of 1 ms: 1");
	is_int(ph_backoff_jitter(0, 12345), 0, "jitter of 0: 0");
}

static void
test_redis(void)
{
	struct ph_config cfg;
	struct ph_redis *r;
	redisReply rep;
	enum ph_refusal why;
	char err[256], *cause = NULL;

	setenv("PAYHOOK_REDIS_SENTINELS", "127.0.0.1:26379,127.0.0.1:26380", 1);
	setenv("PAYHOOK_REDIS_MASTER_NAME", "mymaster", 1);
	setenv("PAYHOOK_REDIS_URL", "redis://:pw@ignored:6390/3", 1);
	setenv("PAYHOOK_REDIS_MIN_REPLICAS", "1", 1);
	memset(&cfg, 0, sizeof cfg);
	ok(conf_load(&cfg, "/nonexistent/payhook.conf", 0, &cause) == 0,
	    "config with sentinels loads");
	free(cause);
	r = ph_redis_new(&cfg, err, sizeof err);
	ok(r != NULL, "ph_redis_new");
	is_int(ph_redis_sentinels(r)->n, 2, "two sentinels");
	is_str(ph_redis_sentinels(r)->master_name, "mymaster", "master_name");
	is_str(ph_redis_addr(r)->host, "", "the URL's host is not used");
	is_int(ph_redis_addr(r)->db, 3, "the URL's database is");
	is_str(ph_redis_addr(r)->password, "pw", "and its password");
	ok(ph_redis_sentinels(r)->timeout_ms > 0 &&
	        ph_redis_sentinels(r)->timeout_ms <= PH_SENTINEL_TIMEOUT_MS,
	    "a short timeout per sentinel (%ld ms)", ph_redis_sentinels(r)->timeout_ms);

	/* Replies are labelled by type and error code, never by the text after it. */
	memset(&rep, 0, sizeof rep);
	rep.type = REDIS_REPLY_ERROR;
	rep.str = "ERR wrong number of arguments";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_FAILED, "-ERR: failed");
	rep.str = "READONLY You can't write against a read only replica.";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_REFUSED, "-READONLY: refused");
	is_int(why, PH_REFUSAL_STALE, "-READONLY: a stale master");
	rep.str =
	    "ERR Error running script (call to f_x): @user_script:3: "
	    "@user_script: 3: -READONLY You can't write against a read only replica.";
	ph_reply_kind(&rep, &why);
	is_int(why, PH_REFUSAL_STALE, "Redis 6: -READONLY wrapped in a script's -ERR: stale");
	rep.str = "ERR user_script:1: Script attempted to access a non local key";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_FAILED, "a script's own -ERR: failed");
	rep.str =
	    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
	ph_reply_kind(&rep, &why);
	is_int(why, PH_REFUSAL_STALE, "-MASTERDOWN: a stale master");
	rep.str = "NOSCRIPT No matching script. Please use EVAL.";
	ph_reply_kind(&rep, &why);
	is_int(why, PH_REFUSAL_NOSCRIPT, "-NOSCRIPT: load and send again");
	rep.str = "OOM command not allowed when used memory > 'maxmemory'.";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_REFUSED, "-OOM: refused");
	is_int(why, PH_REFUSAL_PASSING, "-OOM: passing");
	rep.str = "NOPERM this user has no permissions to access one of the keys";
	ph_reply_kind(&rep, &why);
	is_int(why, PH_REFUSAL_PASSING, "-NOPERM: passing");
	rep.str = "WRONGTYPE Operation against a key holding the wrong kind of value";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_FAILED, "-WRONGTYPE: failed");
	rep.str = "OOMPH not a code we know";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_FAILED, "a code that only starts like OOM");
	rep.type = REDIS_REPLY_STRING;
	rep.str = "READONLY";
	is_int(ph_reply_kind(&rep, &why), PH_REPLY_RAN, "a string reply saying READONLY: ran");
	is_int(ph_reply_kind(NULL, &why), PH_REPLY_UNKNOWN, "no reply: unknown");

	is_int(ph_redis_wait(r, 0), -1, "min_replicas 1, not connected: WAIT fails");
	ok(strstr(ph_redis_err(r), "WAIT") != NULL, "the reason says WAIT: %s", ph_redis_err(r));
	ph_redis_free(r);
	conf_free(&cfg);

	setenv("PAYHOOK_REDIS_MIN_REPLICAS", "0", 1);
	memset(&cfg, 0, sizeof cfg);
	ok(conf_load(&cfg, "/nonexistent/payhook.conf", 0, &cause) == 0, "config loads");
	free(cause);
	r = ph_redis_new(&cfg, err, sizeof err);
	is_int(ph_redis_wait(r, 0), 0, "min_replicas 0: no WAIT");
	ph_redis_free(r);
	conf_free(&cfg);
}

int
main(void)
{
	test_parse();
	test_rotation();
	test_resolve_down();
	test_backoff();
	test_redis();
	return tap_done();
}
