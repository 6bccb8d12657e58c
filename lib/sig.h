/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checking the signature a provider puts on its notifications (DESIGN.md:
 * Signing providers). Each signing provider builds its own signed string
 * from the raw body, some request headers and the query string; this layer
 * gives it HMAC-SHA256 keyed by one or two secrets (two while rotating),
 * a constant-time comparison, the timestamp tolerance and small parsers for
 * "k=v,k=v" headers and query strings.
 *
 * The keys live only in a struct ph_sig_keys, wiped when it is freed; no
 * reason written by this layer quotes a secret or an expected signature.
 */
#ifndef PH_SIG_H
#define PH_SIG_H

#include <stddef.h>
#include <stdint.h>

/* The outcome of a check; each failure is a reason label of /metrics. */
enum ph_sig {
	PH_SIG_OK,
	PH_SIG_HEADER,    /* a signature header missing or not in its format: "header" */
	PH_SIG_TIMESTAMP, /* the signed time is outside the tolerance: "timestamp" */
	PH_SIG_SIGNATURE, /* no signature matches a secret, or no secret is set: "signature" */
};
#define PH_SIG_NREASONS 3

/* Secrets at a time: the current one and the one being rotated out. */
#define PH_SIG_SECRETS_MAX 2
/* Longest secret, in bytes. */
#define PH_SIG_SECRET_MAX 256
/* Request headers a provider's check may read. */
#define PH_SIG_HEADERS_MAX 4
/* An HMAC-SHA256 in hex, without its NUL. */
#define PH_SIG_HEX_LEN 64

struct ph_sig_keys;

/* One piece of a signed string. */
struct ph_sig_part {
	const void *p;
	size_t len;
};

/* A request as a provider's verify hook sees it. */
struct ph_sig_request {
	const struct ph_sig_keys *keys;
	const char *body; /* raw, as received (byte order mark and all) */
	size_t len;
	const char *query;                      /* QUERY_STRING, "" when none */
	const char *header[PH_SIG_HEADERS_MAX]; /* the provider's sig_headers, NULL if absent */
	int64_t now;                            /* seconds since the epoch */
	long tolerance_s;
};

/*
 * Key one or two space-separated secrets (signing_secret), each used as the
 * bytes of its text. NULL with a reason in err that never quotes a secret;
 * caller frees with sig_keys_free.
 */
struct ph_sig_keys *sig_keys_new(const char *secrets, char *err, size_t errlen);

/* Wipe and free; NULL is fine. */
void sig_keys_free(struct ph_sig_keys *k);

/* How many secrets k holds. */
int sig_keys_count(const struct ph_sig_keys *k);

/* Write HMAC-SHA256(secret i, parts) in lower-case hex into out; 0, or -1. */
int sig_hex(const struct ph_sig_keys *k, int i, const struct ph_sig_part *parts, int nparts,
    char out[PH_SIG_HEX_LEN + 1]);

/*
 * Whether hex (hexlen characters, either case) is the HMAC-SHA256 of parts
 * under some secret of k: 1 yes, 0 no, -1 when OpenSSL failed. Every secret
 * is tried and compared with CRYPTO_memcmp, so the time taken tells nothing.
 */
int sig_match_hex(const struct ph_sig_keys *k, const struct ph_sig_part *parts, int nparts,
    const char *hex, size_t hexlen);

/*
 * Check a decimal timestamp (len characters) against now: PH_SIG_OK within
 * tolerance_s either way, PH_SIG_TIMESTAMP outside, PH_SIG_HEADER when it is
 * not a number. With ms_too, a value above 10^11 is read as milliseconds.
 */
enum ph_sig sig_timestamp(const char *s, size_t len, int64_t now, long tolerance_s, int ms_too);

/*
 * Walk a "k=v,k=v" header value: the next item's key and value (spaces
 * around them skipped), *p moved past it. 1 while there is one, 0 at the
 * end, -1 when an item has no "=".
 */
int sig_item(const char **p, const char **k, size_t *klen, const char **v, size_t *vlen);

/*
 * Find a parameter of a query string ("a=1&data.id=X"), as sent (not
 * percent-decoded). 1 found (*v, *vlen), 0 absent.
 */
int sig_query_param(const char *query, const char *name, const char **v, size_t *vlen);

/* "signature", "timestamp", "header" ("ok" for PH_SIG_OK). */
const char *sig_reason(enum ph_sig r);

#endif
