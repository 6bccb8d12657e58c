/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Provider signatures (sig.h). HMAC-SHA256 is OpenSSL's EVP_MAC: one context
 * is keyed per secret, once, and each check works on a copy of it, so the
 * raw key is not needed again and a const struct ph_sig_keys can be shared
 * by threads.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sig.h"

struct ph_sig_keys {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed[PH_SIG_SECRETS_MAX]; /* keyed, never updated: copied per check */
	int n;
};

/* Key the secrets. */
struct ph_sig_keys *
sig_keys_new(const char *secrets, char *err, size_t errlen)
{
	struct ph_sig_keys *k;
	OSSL_PARAM params[2];
	const char *p = secrets, *e;
	char digest[] = "SHA256";

	k = calloc(1, sizeof *k);
	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (k->mac == NULL) {
		snprintf(err, errlen, "OpenSSL has no HMAC");
		goto err;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (k->n == PH_SIG_SECRETS_MAX) {
			snprintf(err, errlen,
			    "at most %d secrets (the current one and the old one)",
			    PH_SIG_SECRETS_MAX);
			goto err;
		}
		if ((size_t)(e - p) > PH_SIG_SECRET_MAX) {
			snprintf(err, errlen, "secret %d is longer than %d bytes", k->n + 1,
			    PH_SIG_SECRET_MAX);
			goto err;
		}
		k->keyed[k->n] = EVP_MAC_CTX_new(k->mac);
		if (k->keyed[k->n] == NULL ||
		    EVP_MAC_init(k->keyed[k->n], (const unsigned char *)p, (size_t)(e - p),
		        params) != 1) {
			snprintf(err, errlen, "OpenSSL: cannot key HMAC-SHA256");
			goto err;
		}
		k->n++;
		p = e;
	}
	if (k->n == 0) {
		snprintf(err, errlen, "no secret");
		goto err;
	}
	return k;
err:
	sig_keys_free(k);
	return NULL;
}

/* Free the keyed contexts (OpenSSL wipes their keys). */
void
sig_keys_free(struct ph_sig_keys *k)
{
	int i;

	if (k == NULL)
		return;
	for (i = 0; i < PH_SIG_SECRETS_MAX; i++)
		EVP_MAC_CTX_free(k->keyed[i]);
	EVP_MAC_free(k->mac);
	free(k);
}

/* Count the secrets. */
int
sig_keys_count(const struct ph_sig_keys *k)
{
	return k != NULL ? k->n : 0;
}

/* HMAC-SHA256 of the parts under secret i, in hex. */
int
sig_hex(const struct ph_sig_keys *k, int i, const struct ph_sig_part *parts, int nparts,
    char out[PH_SIG_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MAC_CTX *c;
	unsigned char md[32];
	size_t mdlen = 0, j;
	int rc = -1, ok = 1;

	out[0] = '\0';
	if (k == NULL || i < 0 || i >= k->n || (c = EVP_MAC_CTX_dup(k->keyed[i])) == NULL)
		return -1;
	for (j = 0; ok && j < (size_t)nparts; j++)
		ok = parts[j].len == 0 || EVP_MAC_update(c, parts[j].p, parts[j].len) == 1;
	if (ok && EVP_MAC_final(c, md, &mdlen, sizeof md) == 1 && mdlen == sizeof md) {
		for (j = 0; j < sizeof md; j++) {
			out[2 * j] = hex[md[j] >> 4];
			out[2 * j + 1] = hex[md[j] & 15];
		}
		out[PH_SIG_HEX_LEN] = '\0';
		rc = 0;
	}
	OPENSSL_cleanse(md, sizeof md);
	EVP_MAC_CTX_free(c);
	return rc;
}

/* Compare a given hex signature with every secret's, in constant time. */
int
sig_match_hex(const struct ph_sig_keys *k, const struct ph_sig_part *parts, int nparts,
    const char *hex, size_t hexlen)
{
	char want[PH_SIG_HEX_LEN + 1], given[PH_SIG_HEX_LEN];
	size_t j;
	int i, match = 0;

	if (k == NULL || hexlen != PH_SIG_HEX_LEN)
		return 0;
	for (j = 0; j < PH_SIG_HEX_LEN; j++)
		given[j] = hex[j] >= 'A' && hex[j] <= 'F' ? (char)(hex[j] - 'A' + 'a') : hex[j];
	for (i = 0; i < k->n; i++) {
		if (sig_hex(k, i, parts, nparts, want) != 0) {
			OPENSSL_cleanse(want, sizeof want);
			return -1;
		}
		match |= CRYPTO_memcmp(given, want, PH_SIG_HEX_LEN) == 0;
	}
	OPENSSL_cleanse(want, sizeof want);
	return match;
}

/* Check a timestamp against the tolerance. */
enum ph_sig
sig_timestamp(const char *s, size_t len, int64_t now, long tolerance_s, int ms_too)
{
	int64_t ts = 0, skew;
	size_t i;

	/* Digits only, and few enough that nothing below overflows. */
	if (s == NULL || len == 0 || len > 15)
		return PH_SIG_HEADER;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PH_SIG_HEADER;
		ts = ts * 10 + (s[i] - '0');
	}
	if (ms_too && ts > 100000000000LL)
		ts /= 1000;
	skew = ts > now ? ts - now : now - ts;
	return skew > tolerance_s ? PH_SIG_TIMESTAMP : PH_SIG_OK;
}

/* Next item of a "k=v,k=v" list. */
int
sig_item(const char **p, const char **k, size_t *klen, const char **v, size_t *vlen)
{
	const char *s = *p, *e, *eq;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	e = strchr(s, ',');
	if (e == NULL)
		e = s + strlen(s);
	*p = e;
	eq = memchr(s, '=', (size_t)(e - s));
	if (eq == NULL)
		return -1;
	*k = s;
	*klen = (size_t)(eq - s);
	while (*klen > 0 && (s[*klen - 1] == ' ' || s[*klen - 1] == '\t'))
		(*klen)--;
	for (eq++; eq < e && (*eq == ' ' || *eq == '\t'); eq++)
		;
	*v = eq;
	*vlen = (size_t)(e - eq);
	while (*vlen > 0 && (eq[*vlen - 1] == ' ' || eq[*vlen - 1] == '\t'))
		(*vlen)--;
	return 1;
}

/* Find a query string parameter. */
int
sig_query_param(const char *query, const char *name, const char **v, size_t *vlen)
{
	size_t nlen = strlen(name), n;
	const char *p = query, *e, *eq;

	while (p != NULL && *p != '\0') {
		e = strchr(p, '&');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		eq = memchr(p, '=', n);
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			*v = eq + 1;
			*vlen = n - nlen - 1;
			return 1;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

/* Name a reason. */
const char *
sig_reason(enum ph_sig r)
{
	switch (r) {
	case PH_SIG_OK:
		return "ok";
	case PH_SIG_HEADER:
		return "header";
	case PH_SIG_TIMESTAMP:
		return "timestamp";
	case PH_SIG_SIGNATURE:
		return "signature";
	}
	return "signature";
}
