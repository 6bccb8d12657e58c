/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Configuration: defaults, file, environment overrides, *_file secrets, errors naming the key. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "redis.h"
#include "tap.h"

static char dir[] = "/tmp/payhook-conf.XXXXXX";

/* Write text to dir/name and return the path (static buffer). */
static const char *
file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a config file; returns conf_load's result, cause in *cause. */
static int
load(struct ph_config *c, const char *text, char **cause)
{
	conf_free(c);
	free(*cause);
	*cause = NULL;
	return conf_load(c, file("payhook.conf", text), 1, cause);
}

static void
test_defaults(void)
{
	struct ph_config c;
	char *cause = NULL;

	ok(conf_load(&c, "/nonexistent/payhook.conf", 0, &cause) == 0,
	    "defaults: an absent default file is fine");
	is_str(c.redis.url, "redis://127.0.0.1:6379/0", "defaults: redis url");
	is_str(c.redis.prefix, "payhook:", "defaults: prefix");
	is_int(c.handler.max_body, 16384, "defaults: max_body");
	is_int(c.handler.dedup_ttl, 604800, "defaults: dedup_ttl");
	is_int(c.handler.pending_ttl, 3600, "defaults: pending_ttl");
	is_int(c.handler.threads, 64, "defaults: threads");
	is_int(c.handler.notifications_maxlen, 1000000, "defaults: notifications_maxlen");
	is_int(c.fetcher.concurrency, 32, "defaults: concurrency");
	is_int(c.fetcher.timeout_ms, 10000, "defaults: timeout_ms");
	is_int(c.fetcher.max_attempts, 12, "defaults: max_attempts");
	is_int(c.fetcher.backoff_base_ms, 1000, "defaults: backoff_base_ms");
	is_int(c.fetcher.backoff_cap_ms, 600000, "defaults: backoff_cap_ms");
	is_int(c.fetcher.worker_timeout, 30, "defaults: worker_timeout");
	is_int(c.fetcher.lock_ttl, 30000, "defaults: lock_ttl");
	is_int(c.fetcher.events_hard_maxlen, 10000000,
	    "defaults: events_hard_maxlen 10 x events_maxlen");
	is_int(c.fetcher.events_maxlen, 1000000, "defaults: events_maxlen");
	is_str(c.providers[0].base, "https://api.one.lat", "defaults: oneinfinite api_base");
	is_str(c.providers[1].base, "https://apiquery.cieloecommerce.cielo.com.br",
	    "defaults: cielo query_base");
	ok(c.providers[0].token == NULL && c.providers[0].header_value == NULL,
	    "defaults: no token, no required header");
	conf_free(&c);
	ok(conf_load(&c, "/nonexistent/payhook.conf", 1, &cause) != 0 && cause != NULL &&
	        strstr(cause, "/nonexistent/payhook.conf") != NULL,
	    "an absent file given with -c is an error naming it");
	conf_free(&c);
	free(cause);
}

static void
test_file(void)
{
	struct ph_config c;
	char *cause = NULL;

	memset(&c, 0, sizeof c);
	ok(load(&c,
	       "; comment\n[redis]\nurl = unix:///run/redis.sock?db=2\nprefix = {ph}:\n"
	       "[handler]\nmax_body = 1024\nthreads = 8\n"
	       "[oneinfinite]\napi_base = http://127.0.0.1:1/\napi_key = k1\napi_secret = s1\n"
	       "token = tok_1\n[cielo]\nrequired_header = X-Cielo-Token: abc def\n"
	       "merchant_id = m\nmerchant_key = mk\n",
	       &cause) == 0,
	    "file: loads (%s)", cause ? cause : "");
	is_str(c.redis.url, "unix:///run/redis.sock?db=2", "file: redis url");
	is_str(c.redis.prefix, "{ph}:", "file: prefix with a hash tag");
	is_int(c.handler.max_body, 1024, "file: max_body");
	is_int(c.handler.threads, 8, "file: threads");
	is_str(c.providers[0].base, "http://127.0.0.1:1", "file: trailing slash of a base removed");
	is_str(c.providers[0].key_id, "k1", "file: api_key");
	is_str(c.providers[0].secret, "s1", "file: api_secret");
	is_str(c.providers[0].token, "tok_1", "file: token");
	is_str(c.providers[1].header_name, "X-Cielo-Token", "file: required header name");
	is_str(c.providers[1].header_value, "abc def", "file: required header value");
	is_str(c.providers[1].header_param, "HTTP_X_CIELO_TOKEN", "file: header as CGI param");

	ok(load(&c, "[handler]\nmax_body = lots\n", &cause) != 0 &&
	        strstr(cause, "max_body") != NULL && strstr(cause, "lots") != NULL,
	    "file: bad number names the key and value (%s)", cause);
	ok(load(&c, "[handler]\nmax_body = 0\n", &cause) != 0 && strstr(cause, "max_body") != NULL,
	    "file: number out of range names the key");
	ok(load(&c, "[handler]\nthreads = 4x\n", &cause) != 0 && strstr(cause, "threads") != NULL,
	    "file: trailing junk in a number rejected");
	ok(load(&c, "[handler]\nmax_bdy = 10\n", &cause) != 0 && strstr(cause, "max_bdy") != NULL &&
	        strstr(cause, "unknown") != NULL,
	    "file: unknown key named");
	ok(load(&c, "[hanlder]\nmax_body = 10\n", &cause) != 0 && strstr(cause, "hanlder") != NULL,
	    "file: unknown section named");
	ok(load(&c, "[redis]\nurl = http://x\n", &cause) != 0 && strstr(cause, "url") != NULL,
	    "file: bad redis url named");
	ok(load(&c, "[cielo]\nquery_base = ftp://x\n", &cause) != 0 &&
	        strstr(cause, "query_base") != NULL,
	    "file: bad base URL named");
	ok(load(&c, "[cielo]\nrequired_header = novalue\n", &cause) != 0 &&
	        strstr(cause, "required_header") != NULL,
	    "file: header without colon rejected");
	ok(load(&c, "[oneinfinite]\ntoken = a/b\n", &cause) != 0 && strstr(cause, "token") != NULL,
	    "file: token outside [A-Za-z0-9_-] rejected");
	ok(load(&c, "[fetcher]\nlock_ttl = 5000\ntimeout_ms = 5000\n", &cause) != 0 &&
	        strstr(cause, "lock_ttl") != NULL,
	    "file: lock_ttl must exceed timeout_ms");
	ok(load(&c, "[fetcher]\nevents_maxlen = 20\n", &cause) == 0 &&
	        c.fetcher.events_hard_maxlen == 200,
	    "file: events_hard_maxlen follows events_maxlen (%s)", cause ? cause : "");
	ok(load(&c, "[fetcher]\nevents_maxlen = 20\nevents_hard_maxlen = 60\n", &cause) == 0 &&
	        c.fetcher.events_hard_maxlen == 60,
	    "file: events_hard_maxlen set");
	ok(load(&c, "[fetcher]\nevents_maxlen = 20\nevents_hard_maxlen = 19\n", &cause) != 0 &&
	        strstr(cause, "events_hard_maxlen") != NULL,
	    "file: events_hard_maxlen below events_maxlen names the key (%s)", cause);
	ok(load(&c, "[fetcher]\nbackoff_base_ms = 10\nbackoff_cap_ms = 5\n", &cause) != 0 &&
	        strstr(cause, "backoff") != NULL,
	    "file: backoff base above cap rejected");
	ok(load(&c, "[log]\nlevel = loud\n", &cause) != 0 && strstr(cause, "level") != NULL,
	    "file: bad log level named");
	ok(load(&c, "[redis\nurl = x\n", &cause) != 0 && strstr(cause, ":1") != NULL,
	    "file: a broken line is reported with its number (%s)", cause);
	conf_free(&c);
	free(cause);
}

static void
test_env(void)
{
	struct ph_config c;
	char *cause = NULL;
	const char *secret;

	memset(&c, 0, sizeof c);
	secret = file("secret", "s3cr3t\n");
	setenv("PAYHOOK_REDIS_URL", "redis://127.0.0.1:6390/3", 1);
	setenv("PAYHOOK_HANDLER_MAX_BODY", "2048", 1);
	setenv("PAYHOOK_CIELO_QUERY_BASE", "http://127.0.0.1:7/", 1);
	setenv("PAYHOOK_ONEINFINITE_API_SECRET_FILE", secret, 1);
	ok(load(&c, "[handler]\nmax_body = 1024\n", &cause) == 0, "env: loads");
	is_str(c.redis.url, "redis://127.0.0.1:6390/3", "env: PAYHOOK_REDIS_URL");
	is_int(c.handler.max_body, 2048, "env: overrides the file");
	is_str(c.providers[1].base, "http://127.0.0.1:7", "env: PAYHOOK_CIELO_QUERY_BASE");
	is_str(c.providers[0].secret, "s3cr3t", "env: secret from a file, newline removed");

	setenv("PAYHOOK_HANDLER_MAX_BODY", "big", 1);
	ok(load(&c, "", &cause) != 0 && strstr(cause, "PAYHOOK_HANDLER_MAX_BODY") != NULL,
	    "env: a bad value names the variable (%s)", cause);
	unsetenv("PAYHOOK_HANDLER_MAX_BODY");
	setenv("PAYHOOK_ONEINFINITE_API_SECRET_FILE", "/nonexistent/secret", 1);
	ok(load(&c, "", &cause) != 0 && strstr(cause, "API_SECRET_FILE") != NULL,
	    "env: an unreadable secret file is named (%s)", cause);
	unsetenv("PAYHOOK_ONEINFINITE_API_SECRET_FILE");
	unsetenv("PAYHOOK_REDIS_URL");
	unsetenv("PAYHOOK_CIELO_QUERY_BASE");

	ok(load(&c, "[cielo]\nmerchant_key_file = /nonexistent/k\n", &cause) != 0 &&
	        strstr(cause, "merchant_key_file") != NULL,
	    "file: *_file secret unreadable named");
	ok(load(&c, "[handler]\nmax_body_file = /etc/passwd\n", &cause) != 0,
	    "file: *_file only for secrets");
	conf_free(&c);
	free(cause);
}

static void
test_dump(void)
{
	struct ph_config c;
	char *cause = NULL, buf[8192];
	FILE *f;
	size_t n;

	memset(&c, 0, sizeof c);
	load(&c,
	    "[redis]\nurl = redis://:hunter2@127.0.0.1:6379/0\n[oneinfinite]\napi_key = k\n"
	    "api_secret = topsecret\n",
	    &cause);
	f = fmemopen(buf, sizeof buf - 1, "w");
	conf_dump(&c, f);
	n = (size_t)ftell(f);
	fclose(f);
	buf[n] = '\0';
	ok(strstr(buf, "topsecret") == NULL && strstr(buf, "hunter2") == NULL,
	    "dump: no secret printed");
	ok(strstr(buf, "api_secret = (set)") != NULL, "dump: secrets shown as set");
	ok(strstr(buf, "max_body = 16384") != NULL, "dump: numbers printed");
	conf_free(&c);
	free(cause);
}

static void
test_redis_url(void)
{
	struct ph_redis_addr a;
	char err[256];

	ok(ph_redis_parse_url("redis://127.0.0.1:6380/2", &a, err, sizeof err) == 0 &&
	        strcmp(a.host, "127.0.0.1") == 0 && a.port == 6380 && a.db == 2,
	    "redis url: host, port, db");
	ok(ph_redis_parse_url("redis://localhost", &a, err, sizeof err) == 0 && a.port == 6379 &&
	        a.db == 0,
	    "redis url: default port and db");
	ok(ph_redis_parse_url("redis://:pw@h:1/0", &a, err, sizeof err) == 0 &&
	        strcmp(a.password, "pw") == 0 && a.user[0] == '\0',
	    "redis url: password");
	ok(ph_redis_parse_url("redis://u:pw@h:1/0", &a, err, sizeof err) == 0 &&
	        strcmp(a.user, "u") == 0 && strcmp(a.password, "pw") == 0,
	    "redis url: ACL user");
	ok(ph_redis_parse_url("redis://[::1]:7000/1", &a, err, sizeof err) == 0 &&
	        strcmp(a.host, "::1") == 0 && a.port == 7000,
	    "redis url: IPv6 host");
	ok(ph_redis_parse_url("unix:///run/redis/redis.sock?db=4", &a, err, sizeof err) == 0 &&
	        strcmp(a.path, "/run/redis/redis.sock") == 0 && a.db == 4,
	    "redis url: unix socket");
	ok(ph_redis_parse_url("redis://h:0/0", &a, err, sizeof err) != 0, "redis url: port 0 bad");
	ok(ph_redis_parse_url("redis://h:99999", &a, err, sizeof err) != 0,
	    "redis url: port too big");
	ok(ph_redis_parse_url("redis://h:1/x", &a, err, sizeof err) != 0,
	    "redis url: db not a number");
	ok(ph_redis_parse_url("redis://", &a, err, sizeof err) != 0, "redis url: no host");
	ok(ph_redis_parse_url("unix://relative", &a, err, sizeof err) != 0,
	    "redis url: relative path");
	ok(ph_redis_parse_url("unix:///s?x=1", &a, err, sizeof err) != 0,
	    "redis url: unknown query");
	ok(ph_redis_parse_url("tcp://h", &a, err, sizeof err) != 0, "redis url: unknown scheme");
}

#define SEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* [endpoint NAME] sections: keys, defaults, bounds, environment, errors naming the key. */
static void
test_endpoints(void)
{
	struct ph_config c;
	char *cause = NULL, buf[16384], big[8192];
	const char *secret;
	FILE *f;
	size_t n;
	int i;

	memset(&c, 0, sizeof c);
	ok(load(&c,
	       "[endpoint shop]\nurl = https://shop.example/hooks\nsecret = " SEC "\n"
	       "[endpoint erp-2]\nurl = http://127.0.0.1:9/x\nallow_http = on\n"
	       "secret = " SEC " " SEC "\nproviders = cielo\nentity_types = payment, refund\n"
	       "timeout_ms = 2000\nmax_rps = 50\nretry_schedule = 1, 1,2\n",
	       &cause) == 0,
	    "endpoint: loads (%s)", cause ? cause : "");
	is_int(c.nendpoints, 2, "endpoint: two sections");
	is_str(c.endpoints[0].name, "shop", "endpoint: name");
	is_str(c.endpoints[0].url, "https://shop.example/hooks", "endpoint: url");
	is_int(c.endpoints[0].timeout_ms, 15000, "endpoint: timeout_ms default");
	is_int(c.endpoints[0].max_rps, 0, "endpoint: max_rps default");
	is_int(c.endpoints[0].nretry, 7, "endpoint: the default schedule has 7 steps");
	ok(c.endpoints[0].retry_s[0] == 5 && c.endpoints[0].retry_s[6] == 36000,
	    "endpoint: the default schedule 5..36000");
	is_int(c.endpoints[0].http_ok, 0, "endpoint: allow_http off by default");
	ok(c.endpoints[0].provider_mask == ~0u, "endpoint: no providers: all");
	is_str(c.endpoints[1].name, "erp-2", "endpoint: name with - and a digit");
	is_int(c.endpoints[1].timeout_ms, 2000, "endpoint: timeout_ms");
	is_int(c.endpoints[1].max_rps, 50, "endpoint: max_rps");
	ok(c.endpoints[1].nretry == 3 && c.endpoints[1].retry_s[2] == 2,
	    "endpoint: schedule 1,1,2 with spaces");
	ok(c.endpoints[1].provider_mask == 2u, "endpoint: providers cielo: one bit (%x)",
	    c.endpoints[1].provider_mask);
	ok(conf_list_has(c.endpoints[1].entity_types, "refund", 6) &&
	        conf_list_has(c.endpoints[1].entity_types, "payment", 7) &&
	        !conf_list_has(c.endpoints[1].entity_types, "pay", 3),
	    "endpoint: entity_types list");
	ok(conf_list_has(NULL, "x", 1) && conf_list_has("", "x", 1), "endpoint: empty list: all");

	f = fmemopen(buf, sizeof buf - 1, "w");
	conf_dump(&c, f);
	n = (size_t)ftell(f);
	fclose(f);
	buf[n] = '\0';
	ok(strstr(buf, "[endpoint erp-2]") != NULL && strstr(buf, "MfKQ9r8") == NULL &&
	        strstr(buf, "retry_schedule = 1, 1,2") != NULL,
	    "endpoint: dumped, secret not printed");

	setenv("PAYHOOK_ENDPOINT_ERP_2_TIMEOUT_MS", "3000", 1);
	setenv("PAYHOOK_ENDPOINT_ERP_2_URL", "http://127.0.0.1:10/y", 1);
	ok(load(&c,
	       "[endpoint erp-2]\nurl = http://127.0.0.1:9/x\nallow_http = on\nsecret = " SEC "\n",
	       &cause) == 0 &&
	        c.endpoints[0].timeout_ms == 3000 &&
	        strcmp(c.endpoints[0].url, "http://127.0.0.1:10/y") == 0,
	    "endpoint: PAYHOOK_ENDPOINT_ERP_2_* override (%s)", cause ? cause : "");
	setenv("PAYHOOK_ENDPOINT_ERP_2_TIMEOUT_MS", "99", 1);
	ok(load(&c,
	       "[endpoint erp-2]\nurl = http://127.0.0.1:9/x\nallow_http = on\nsecret = " SEC "\n",
	       &cause) != 0 &&
	        strstr(cause, "PAYHOOK_ENDPOINT_ERP_2_TIMEOUT_MS") != NULL,
	    "endpoint: a bad variable is named (%s)", cause);
	unsetenv("PAYHOOK_ENDPOINT_ERP_2_TIMEOUT_MS");
	setenv("PAYHOOK_ENDPOINT_ERP_2_URL", "http://127.0.0.1:10/y", 1);
	ok(load(&c, "[endpoint erp-2]\nurl = https://a.example/\nsecret = " SEC "\n", &cause) !=
	            0 &&
	        strstr(cause, "PAYHOOK_ENDPOINT_ERP_2_URL") != NULL,
	    "endpoint: an http url from the environment is named (%s)", cause);
	unsetenv("PAYHOOK_ENDPOINT_ERP_2_URL");

	secret = file("whsec", SEC "\n");
	snprintf(big, sizeof big, "[endpoint a]\nurl = https://a.example/\nsecret_file = %s\n",
	    secret);
	ok(load(&c, big, &cause) == 0 && strcmp(c.endpoints[0].secret, SEC) == 0,
	    "endpoint: secret_file (%s)", cause ? cause : "");

	ok(load(&c, "[endpoint a]\nsecret = " SEC "\nurl = http://a.example/\n", &cause) != 0 &&
	        strstr(cause, ":3: [endpoint a] url: ") != NULL && strstr(cause, "https") != NULL,
	    "endpoint: http without allow_http: FILE:LINE: [endpoint a] url (%s)", cause);
	ok(load(&c, "[endpoint a]\nsecret = " SEC "\n", &cause) != 0 &&
	        strstr(cause, "[endpoint a] url: required") != NULL,
	    "endpoint: url required (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = hunter2hunter2\n", &cause) !=
	            0 &&
	        strstr(cause, ":3: [endpoint a] secret: ") != NULL &&
	        strstr(cause, "hunter2") == NULL,
	    "endpoint: a secret not whsec_ is named, never printed (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = whsec_!!!!\n", &cause) != 0 &&
	        strstr(cause, "[endpoint a] secret: ") != NULL,
	    "endpoint: bad base64 named (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\n", &cause) != 0 &&
	        strstr(cause, "[endpoint a] secret: required") != NULL,
	    "endpoint: secret required (%s)", cause);
	ok(load(&c,
	       "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nretry_schedule = 1,x\n",
	       &cause) != 0 &&
	        strstr(cause, ":4: [endpoint a] retry_schedule: ") != NULL,
	    "endpoint: bad schedule named (%s)", cause);
	ok(load(&c,
	       "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nretry_schedule = 0\n",
	       &cause) != 0 &&
	        strstr(cause, "retry_schedule") != NULL,
	    "endpoint: a step of 0 rejected");
	ok(load(&c,
	       "[endpoint a]\nurl = https://a.example/\nsecret = " SEC
	       "\nretry_schedule = 604801\n",
	       &cause) != 0 &&
	        strstr(cause, "retry_schedule") != NULL,
	    "endpoint: a step over a week rejected");
	snprintf(big, sizeof big,
	    "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nretry_schedule = 1");
	for (i = 0; i < 32; i++)
		strcat(big, ",1");
	strcat(big, "\n");
	ok(load(&c, big, &cause) != 0 && strstr(cause, "at most 32") != NULL,
	    "endpoint: 33 steps rejected (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nretry_schedule = \n",
	       &cause) != 0 &&
	        strstr(cause, "retry_schedule") != NULL,
	    "endpoint: an empty schedule rejected");
	ok(load(&c,
	       "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nproviders = paypal\n",
	       &cause) != 0 &&
	        strstr(cause, "[endpoint a] providers: \"paypal\"") != NULL,
	    "endpoint: unknown provider named (%s)", cause);
	ok(load(&c,
	       "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nentity_types = a b\n",
	       &cause) != 0 &&
	        strstr(cause, "entity_types") != NULL,
	    "endpoint: bad entity type named (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\ntimeout_ms = 50\n",
	       &cause) != 0 &&
	        strstr(cause, "[endpoint a] timeout_ms: must be") != NULL,
	    "endpoint: timeout_ms bounds (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\nallow_http = yes\n",
	       &cause) != 0 &&
	        strstr(cause, "allow_http") != NULL,
	    "endpoint: allow_http on or off (%s)", cause);
	ok(load(&c, "[endpoint a]\nurl = https://a.example/\nsecret = " SEC "\ncolour = red\n",
	       &cause) != 0 &&
	        strstr(cause, "[endpoint a] colour: unknown key") != NULL,
	    "endpoint: unknown key named (%s)", cause);
	ok(load(&c, "[endpoint Shop]\nurl = https://a.example/\n", &cause) != 0 &&
	        strstr(cause, "[endpoint Shop]") != NULL && strstr(cause, "a-z0-9") != NULL,
	    "endpoint: bad name named (%s)", cause);
	big[0] = '\0';
	for (i = 0; i < 65; i++) {
		char one[128];

		snprintf(one, sizeof one,
		    "[endpoint e%d]\nurl = https://a.example/\nsecret = " SEC "\n", i);
		strncat(big, one, sizeof big - strlen(big) - 1);
	}
	ok(load(&c, big, &cause) != 0 && strstr(cause, "more than 64") != NULL,
	    "endpoint: at most 64 (%s)", cause);
	conf_free(&c);
	free(cause);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_defaults();
	test_file();
	test_env();
	test_dump();
	test_redis_url();
	test_endpoints();
	unlink(file("whsec", ""));
	unlink(file("payhook.conf", ""));
	unlink(file("secret", ""));
	rmdir(dir);
	return tap_done();
}
