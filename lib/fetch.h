/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fetcher's decisions, kept pure so they can be tested without a
 * network: what a finished GET leads to, how long a retry waits, the
 * snapshot's SHA-256, and the dead-letter entry of a job that cannot be read.
 */
#ifndef PH_FETCH_H
#define PH_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* What becomes of a job after its GET. */
enum fetch_outcome {
	FETCH_STORE, /* 2xx: store the snapshot */
	FETCH_RETRY, /* transient failure: into the retry zset */
	FETCH_DEAD,  /* permanent failure or out of attempts: into the dead list */
};

/* The [fetcher] settings the decisions depend on. */
struct fetch_policy {
	long max_attempts;
	long not_found_attempts;
	long backoff_base_ms;
	long backoff_cap_ms;
};

/*
 * Decide the outcome of attempt number attempt + 1 (attempt failures before
 * it). http_status is 0 when the transfer failed, with transport naming why
 * ("timeout", "connect: ..."). The error to record goes into error.
 */
enum fetch_outcome fetch_classify(const struct fetch_policy *p, long http_status,
    const char *transport, long attempt, char *error, size_t errlen);

/*
 * Delay before retry number attempt + 1: full jitter, a uniform pick in
 * [0, min(cap, base * 2^attempt)] from rnd; at least Retry-After (seconds,
 * 0 when absent), even above the cap, up to PH_FETCH_RETRY_AFTER_MAX.
 */
#define PH_FETCH_RETRY_AFTER_MAX 3600
uint64_t fetch_backoff_ms(const struct fetch_policy *p, long attempt, uint64_t rnd,
    long retry_after_s);

/* Write the SHA-256 of buf as 64 lower-case hex digits; -1 on failure. */
int fetch_sha256_hex(const void *buf, size_t len, char out[65]);

/*
 * Encode the dead-letter entry of a job that did not decode: the reason and
 * at most PH_FETCH_RAW_MAX bytes of the raw job, JSON-escaped. Its length,
 * or -1 if it does not fit.
 */
#define PH_FETCH_RAW_MAX 512
int fetch_encode_invalid(const char *raw, size_t rawlen, const char *reason, uint64_t failed_at,
    char *buf, size_t len);

#endif
