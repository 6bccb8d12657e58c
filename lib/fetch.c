/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The fetcher's pure decisions: outcome, backoff, digest, invalid jobs. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "fetch.h"

/* Classify a finished GET. */
enum fetch_outcome
fetch_classify(const struct fetch_policy *p, long http_status, const char *transport, long attempt,
    char *error, size_t errlen)
{
	long attempts = attempt + 1;

	if (http_status >= 200 && http_status <= 299 && transport == NULL) {
		snprintf(error, errlen, "%s", "");
		return FETCH_STORE;
	}
	if (transport != NULL)
		snprintf(error, errlen, "%s", transport);
	else
		snprintf(error, errlen, "http_%ld", http_status);

	/* Credentials refused: retrying cannot help until the config changes. */
	if (http_status == 401 || http_status == 403) {
		snprintf(error, errlen, "unauthorized");
		return FETCH_DEAD;
	}
	/* Not found: the entity may not be readable yet right after the webhook. */
	if (http_status == 404) {
		snprintf(error, errlen, "not_found");
		if (attempts >= p->not_found_attempts || attempts >= p->max_attempts)
			return FETCH_DEAD;
		return FETCH_RETRY;
	}
	/* Any other 4xx but 408, 425, 429 says the request itself is wrong. */
	if (transport == NULL && http_status >= 400 && http_status <= 499 && http_status != 408 &&
	    http_status != 425 && http_status != 429)
		return FETCH_DEAD;
	/* Transport errors, 408, 425, 429, 5xx and anything unexpected (1xx, 3xx). */
	if (attempts >= p->max_attempts)
		return FETCH_DEAD;
	return FETCH_RETRY;
}

/* Compute a retry delay. */
uint64_t
fetch_backoff_ms(const struct fetch_policy *p, long attempt, uint64_t rnd, long retry_after_s)
{
	uint64_t cap = p->backoff_cap_ms > 0 ? (uint64_t)p->backoff_cap_ms : 0;
	uint64_t ceiling = p->backoff_base_ms > 0 ? (uint64_t)p->backoff_base_ms : 0;
	uint64_t delay, after;
	long i;

	/* base * 2^attempt, doubling until the cap so it never overflows. */
	for (i = 0; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	delay = rnd % (ceiling + 1);
	/* The provider knows best when to come back: Retry-After may exceed the cap. */
	if (retry_after_s > 0) {
		after = retry_after_s > PH_FETCH_RETRY_AFTER_MAX ? PH_FETCH_RETRY_AFTER_MAX
		                                                 : (uint64_t)retry_after_s;
		after *= 1000;
		if (delay < after)
			delay = after;
	}
	return delay;
}

/* Hash a body with SHA-256 through EVP. */
int
fetch_sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/* Append s (n bytes) to buf as the inside of a JSON string; -1 if it does not fit. */
static int
fetch_escape(const char *s, size_t n, char *buf, size_t len, size_t *o)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (*o + 7 >= len)
			return -1;
		if (c == '"' || c == '\\') {
			buf[(*o)++] = '\\';
			buf[(*o)++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Bytes, not characters: anything outside printable ASCII as \u00XX. */
			*o += (size_t)snprintf(buf + *o, len - *o, "\\u%04x", c);
		} else {
			buf[(*o)++] = (char)c;
		}
	}
	return 0;
}

/* Encode the dead-letter entry of an unreadable job. */
int
fetch_encode_invalid(const char *raw, size_t rawlen, const char *reason, uint64_t failed_at,
    char *buf, size_t len)
{
	size_t o = 0;
	int m;

	m = snprintf(buf, len, "{\"v\":1,\"error\":\"invalid_job: ");
	if (m < 0 || (size_t)m >= len)
		return -1;
	o = (size_t)m;
	if (fetch_escape(reason, strlen(reason), buf, len, &o) != 0)
		return -1;
	if (o + 10 >= len)
		return -1;
	memcpy(buf + o, "\",\"raw\":\"", 9);
	o += 9;
	if (fetch_escape(raw, rawlen > PH_FETCH_RAW_MAX ? PH_FETCH_RAW_MAX : rawlen, buf, len,
	        &o) != 0)
		return -1;
	m = snprintf(buf + o, len - o, "\",\"attempts\":0,\"failed_at\":%" PRIu64 "}", failed_at);
	if (m < 0 || (size_t)m >= len - o)
		return -1;
	return (int)(o + (size_t)m);
}
