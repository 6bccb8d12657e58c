/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the fetcher's pure decisions (lib/fetch.c). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fetch.h"
#include "tap.h"

static const struct fetch_policy pol = {
	.max_attempts = 5,
	.not_found_attempts = 3,
	.backoff_base_ms = 100,
	.backoff_cap_ms = 2000,
};

/* Check the outcome and recorded error of one case. */
static void
check(long status, const char *transport, long attempt, enum fetch_outcome want,
    const char *want_err, const char *what)
{
	char err[128];
	enum fetch_outcome got;

	got = fetch_classify(&pol, status, transport, attempt, err, sizeof err);
	is_int(got, want, "%s: outcome", what);
	is_str(err, want_err, "%s: error", what);
}

/* Test the classification of every kind of answer. */
static void
test_classify(void)
{
	check(200, NULL, 0, FETCH_STORE, "", "200 stores");
	check(204, NULL, 4, FETCH_STORE, "", "204 on the last attempt stores");
	check(503, NULL, 0, FETCH_RETRY, "http_503", "503 retries");
	check(500, NULL, 3, FETCH_RETRY, "http_500", "500 before max_attempts retries");
	check(500, NULL, 4, FETCH_DEAD, "http_500", "500 at max_attempts is dead with it");
	check(429, NULL, 0, FETCH_RETRY, "http_429", "429 retries");
	check(408, NULL, 0, FETCH_RETRY, "http_408", "408 retries");
	check(0, "timeout", 0, FETCH_RETRY, "timeout", "timeout retries");
	check(0, "timeout", 4, FETCH_DEAD, "timeout", "timeout at max_attempts is dead");
	check(200, "timeout", 0, FETCH_RETRY, "timeout", "a transport error beats a 200 status");
	check(401, NULL, 0, FETCH_DEAD, "unauthorized", "401 is dead at once");
	check(403, NULL, 0, FETCH_DEAD, "unauthorized", "403 is dead at once");
	check(404, NULL, 0, FETCH_RETRY, "not_found", "first 404 retries");
	check(404, NULL, 1, FETCH_RETRY, "not_found", "second 404 retries");
	check(404, NULL, 2, FETCH_DEAD, "not_found", "404 at not_found_attempts is dead");
	check(400, NULL, 0, FETCH_DEAD, "http_400", "400 is dead at once");
	check(410, NULL, 0, FETCH_DEAD, "http_410", "410 is dead at once");
	check(302, NULL, 0, FETCH_RETRY, "http_302", "a redirect is not followed, retried");
}

/* Test backoff bounds, growth, cap and Retry-After. */
static void
test_backoff(void)
{
	uint64_t d, maxseen = 0;
	long a;
	int i, bad = 0;

	is_int(fetch_backoff_ms(&pol, 0, 0, 0), 0, "rnd 0 gives 0 (full jitter)");
	is_int(fetch_backoff_ms(&pol, 0, 100, 0), 100, "attempt 0 is at most base");
	is_int(fetch_backoff_ms(&pol, 0, 101, 0), 0, "rnd wraps within [0, base]");
	is_int(fetch_backoff_ms(&pol, 3, 800, 0), 800, "attempt 3 reaches base*8");
	is_int(fetch_backoff_ms(&pol, 3, 801, 0), 0, "attempt 3 never exceeds base*8");
	is_int(fetch_backoff_ms(&pol, 10, 2000, 0), 2000, "the cap is reachable");
	for (a = 0; a < 200; a++) {
		for (i = 0; i < 50; i++) {
			d = fetch_backoff_ms(&pol, a,
			    (uint64_t)(a * 7919 + i * 104729) * 2654435761u, 0);
			if (d > 2000)
				bad++;
			if (d > maxseen)
				maxseen = d;
		}
	}
	is_int(bad, 0, "no delay above the cap over 10000 draws, even for huge attempts");
	ok(maxseen > 1000, "large attempts do spread up to the cap (max %llu)",
	    (unsigned long long)maxseen);
	is_int(fetch_backoff_ms(&pol, 0, 5, 1), 1000, "Retry-After 1 s is honoured");
	is_int(fetch_backoff_ms(&pol, 0, 5, 60), 60000,
	    "Retry-After is honoured above the backoff cap");
	is_int(fetch_backoff_ms(&pol, 0, 5, 86400), 3600000,
	    "Retry-After is bounded by PH_FETCH_RETRY_AFTER_MAX");
	is_int(fetch_backoff_ms(&pol, 4, 1500, 1), 1500, "a longer backoff beats Retry-After");
	d = fetch_backoff_ms(&pol, 0, 5, 9223372036854775L);
	is_int(d, 3600000, "a huge Retry-After does not overflow");
}

/* Test the SHA-256 against known digests. */
static void
test_sha256(void)
{
	char hex[65];

	ok(fetch_sha256_hex("", 0, hex) == 0, "sha256 of empty");
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256 of the empty string");
	fetch_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256 of abc");
	fetch_sha256_hex("a\0b", 3, hex);
	ok(strcmp(hex, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb") != 0,
	    "bytes after a NUL count");
}

/* Test the dead entry of an invalid job: valid JSON whatever the raw bytes. */
static void
test_invalid(void)
{
	char buf[2048], big[4000];
	struct json_object *o, *v;
	int n;

	n = fetch_encode_invalid("{\"a\":\"\\\x01\xff\"", 10, "job: not \"json\"", 42, buf,
	    sizeof buf);
	ok(n > 0, "invalid job entry encodes");
	o = json_tokener_parse(buf);
	ok(o != NULL, "the entry is JSON: %s", buf);
	ok(o != NULL && json_object_object_get_ex(o, "error", &v) &&
	        strcmp(json_object_get_string(v), "invalid_job: job: not \"json\"") == 0,
	    "error keeps the reason");
	ok(o != NULL && json_object_object_get_ex(o, "failed_at", &v) &&
	        json_object_get_int64(v) == 42,
	    "failed_at");
	json_object_put(o);
	memset(big, 'x', sizeof big);
	n = fetch_encode_invalid(big, sizeof big, "too long", 1, buf, sizeof buf);
	ok(n > 0 && n < 700, "a long raw job is cut to PH_FETCH_RAW_MAX (%d)", n);
	n = fetch_encode_invalid(big, sizeof big, "too long", 1, buf, 100);
	is_int(n, -1, "a buffer too small gives -1, not a truncated entry");
	memset(big, 0x01, sizeof big);
	n = fetch_encode_invalid(big, sizeof big, "ctl", 1, buf, sizeof buf);
	is_int(n, -1, "escaped control bytes that would not fit give -1");
}

int
main(void)
{
	test_classify();
	test_backoff();
	test_sha256();
	test_invalid();
	return tap_done();
}
