/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Standard Webhooks signatures (whsig.h). HMAC-SHA256 is OpenSSL's EVP_MAC:
 * whsig_new keys one context per secret, once, and each signature is made on
 * a copy of it, so signing never sees the raw key again and a const
 * struct ph_whsig can be shared by threads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "whsig.h"

#define WHSIG_PREFIX "whsec_"
#define WHSIG_PREFIX_LEN 6
/* The base64 of an HMAC-SHA256 (32 bytes), without its NUL. */
#define WHSIG_B64_LEN 44

struct ph_whsig {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed[PH_WHSIG_SECRETS_MAX]; /* keyed, never updated: copied per signature */
	int n;
};

/* Value of a character of the standard base64 alphabet (RFC 4648, 4), or -1. */
static int
whsig_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode n characters of standard base64, padded or unpadded, into out
 * (outlen bytes). The length, or -1 with *why set. The reasons never quote
 * the text: it is a secret.
 */
static int
whsig_b64_decode(const char *s, size_t n, unsigned char *out, size_t outlen, const char **why)
{
	size_t i, pad = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	while (pad < 2 && n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n == 0) {
		*why = "nothing after whsec_";
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = whsig_b64_value((unsigned char)s[i]);
		if (v < 0) {
			if (s[i] == '-' || s[i] == '_')
				*why =
				    "URL-safe base64 ('-' or '_'): Standard Webhooks uses the "
				    "standard alphabet ('+' and '/')";
			else if (s[i] == '=')
				*why = "base64 with '=' before its end";
			else
				*why = "not base64 (a character outside A-Z a-z 0-9 + / =)";
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen) {
				*why = "base64 longer than the longest key";
				return -1;
			}
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* 4 characters make 3 bytes: 1 left over is not base64, 2 need "==", 3 need "=". */
	if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0)) {
		*why = "base64 of an impossible length or with wrong padding (truncated?)";
		return -1;
	}
	if ((acc & ((1u << bits) - 1)) != 0) {
		*why = "base64 whose last character has stray bits (mistyped or truncated?)";
		return -1;
	}
	return (int)o;
}

/* Why id cannot be a webhook-id, or NULL when it can. */
static const char *
whsig_id_problem(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0')
		return "is empty";
	for (i = 0; id[i] != '\0'; i++) {
		if (i == PH_WHSIG_ID_MAX)
			return "is too long";
		/* The spec: the signed content is id "." timestamp "." body. */
		if (id[i] == '.')
			return "has a '.'";
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] > '~')
			return "has a byte that is not printable ASCII";
	}
	return NULL;
}

/* Parse and key the secrets. */
struct ph_whsig *
whsig_new(const char *secrets, char *err, size_t errlen)
{
	struct ph_whsig *w;
	unsigned char key[PH_WHSIG_KEY_MAX];
	OSSL_PARAM params[2];
	const char *p = secrets, *e, *why = "not base64";
	size_t n, bytes;
	int len;

	if ((w = calloc(1, sizeof *w)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((w->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL)) == NULL) {
		snprintf(err, errlen, "OpenSSL has no HMAC");
		goto err;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n'; e++)
			;
		if (w->n == PH_WHSIG_SECRETS_MAX) {
			snprintf(err, errlen,
			    "more than %d secrets (two, space-separated, only while rotating)",
			    PH_WHSIG_SECRETS_MAX);
			goto err;
		}
		n = (size_t)(e - p);
		if (n < WHSIG_PREFIX_LEN || memcmp(p, WHSIG_PREFIX, WHSIG_PREFIX_LEN) != 0) {
			snprintf(err, errlen, "secret %d does not start with " WHSIG_PREFIX,
			    w->n + 1);
			goto err;
		}
		p += WHSIG_PREFIX_LEN;
		n -= WHSIG_PREFIX_LEN;
		/* The key's length from the text's, to name it before decoding. */
		while (n > 0 && p[n - 1] == '=')
			n--;
		bytes = n * 3 / 4;
		if (bytes < PH_WHSIG_KEY_MIN || bytes > PH_WHSIG_KEY_MAX) {
			snprintf(err, errlen,
			    "secret %d: a key of %zu bytes; Standard Webhooks wants %d to %d "
			    "(" WHSIG_PREFIX " + base64 of random bytes)",
			    w->n + 1, bytes, PH_WHSIG_KEY_MIN, PH_WHSIG_KEY_MAX);
			goto err;
		}
		if ((len = whsig_b64_decode(p, (size_t)(e - p), key, sizeof key, &why)) < 0) {
			snprintf(err, errlen, "secret %d: %s", w->n + 1, why);
			goto err;
		}
		if ((w->keyed[w->n] = EVP_MAC_CTX_new(w->mac)) == NULL ||
		    EVP_MAC_init(w->keyed[w->n], key, (size_t)len, params) != 1) {
			snprintf(err, errlen, "OpenSSL: cannot key HMAC-SHA256");
			w->n++; /* freed below */
			goto err;
		}
		w->n++;
		p = e;
	}
	if (w->n == 0) {
		snprintf(err, errlen, "no secret (" WHSIG_PREFIX " + base64)");
		goto err;
	}
	OPENSSL_cleanse(key, sizeof key);
	return w;
err:
	OPENSSL_cleanse(key, sizeof key);
	whsig_free(w);
	return NULL;
}

/* Free the keyed contexts (OpenSSL wipes them) and the struct. */
void
whsig_free(struct ph_whsig *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		EVP_MAC_CTX_free(w->keyed[i]);
	EVP_MAC_free(w->mac);
	OPENSSL_cleanse(w, sizeof *w);
	free(w);
}

/* Count the secrets. */
int
whsig_count(const struct ph_whsig *w)
{
	return w->n;
}

/* Base64 of HMAC-SHA256(key i, id "." ts "." body) into b64 (45 bytes); 0 or -1. */
static int
whsig_mac(const struct ph_whsig *w, int i, const char *id, const char *ts, const void *body,
    size_t len, char b64[WHSIG_B64_LEN + 1])
{
	EVP_MAC_CTX *c;
	unsigned char md[32];
	size_t mdlen = 0;
	int rc = -1;

	if ((c = EVP_MAC_CTX_dup(w->keyed[i])) == NULL)
		return -1;
	if (EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts)) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	    (len == 0 || EVP_MAC_update(c, body, len) == 1) &&
	    EVP_MAC_final(c, md, &mdlen, sizeof md) == 1 && mdlen == sizeof md) {
		EVP_EncodeBlock((unsigned char *)b64, md, (int)sizeof md);
		rc = 0;
	}
	EVP_MAC_CTX_free(c);
	return rc;
}

/* Sign with every secret. */
int
whsig_sign(const struct ph_whsig *w, const char *id, int64_t timestamp, const void *body,
    size_t len, char *out, size_t outlen, char *err, size_t errlen)
{
	char ts[24], b64[WHSIG_B64_LEN + 1];
	const char *why;
	size_t need, o = 0;
	int i;

	if (outlen > 0)
		out[0] = '\0';
	if ((why = whsig_id_problem(id)) != NULL) {
		snprintf(err, errlen, "webhook-id %s", why);
		return -1;
	}
	if (timestamp < 0) {
		snprintf(err, errlen, "negative webhook-timestamp");
		return -1;
	}
	/* Every signature, a space between two, and the NUL. */
	need = (size_t)w->n * (PH_WHSIG_SIG_LEN + 1);
	if (outlen < need) {
		snprintf(err, errlen, "signature buffer of %zu bytes, %zu needed", outlen, need);
		return -1;
	}
	snprintf(ts, sizeof ts, "%" PRId64, timestamp);
	for (i = 0; i < w->n; i++) {
		if (whsig_mac(w, i, id, ts, body, len, b64) == -1) {
			snprintf(err, errlen, "OpenSSL: HMAC-SHA256 failed");
			out[0] = '\0';
			return -1;
		}
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, "v1,", 3);
		memcpy(out + o + 3, b64, WHSIG_B64_LEN);
		o += PH_WHSIG_SIG_LEN;
	}
	out[o] = '\0';
	return (int)o;
}

/* Check the timestamp, then every v1 signature against every secret. */
int
whsig_verify(const struct ph_whsig *w, const char *id, const char *timestamp, const char *signature,
    const void *body, size_t len, int64_t now, int64_t tolerance_s, char *err, size_t errlen)
{
	char want[PH_WHSIG_SECRETS_MAX][WHSIG_B64_LEN + 1], ts_text[24];
	const char *why, *p, *e;
	int64_t ts = 0, skew;
	int i, digits = 0, seen = 0, match = 0;

	if ((why = whsig_id_problem(id)) != NULL) {
		snprintf(err, errlen, "webhook-id %s", why);
		return -1;
	}
	/* Digits only, and few enough that nothing below overflows. */
	for (p = timestamp; p != NULL && *p >= '0' && *p <= '9' && digits <= 15; p++, digits++)
		ts = ts * 10 + (*p - '0');
	if (timestamp == NULL || digits == 0 || digits > 15 || *p != '\0') {
		snprintf(err, errlen, "webhook-timestamp is not a number of seconds");
		return -1;
	}
	skew = ts > now ? ts - now : now - ts;
	if (skew > tolerance_s) {
		snprintf(err, errlen,
		    "webhook-timestamp is %" PRId64 " s %s, more than the tolerance of %" PRId64
		    " s",
		    skew, ts > now ? "ahead" : "old", tolerance_s);
		return -1;
	}
	/* Signed as the number it reads as, as the official libraries do (leading zeros dropped). */
	snprintf(ts_text, sizeof ts_text, "%" PRId64, ts);
	for (i = 0; i < w->n; i++) {
		if (whsig_mac(w, i, id, ts_text, body, len, want[i]) == -1) {
			snprintf(err, errlen, "OpenSSL: HMAC-SHA256 failed");
			return -1;
		}
	}
	/* Space-separated "version,signature" pairs; only v1 is ours to check. */
	for (p = signature; p != NULL && *p != '\0'; p = *e == ' ' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if (e - p != PH_WHSIG_SIG_LEN || memcmp(p, "v1,", 3) != 0)
			continue;
		seen = 1;
		for (i = 0; i < w->n; i++)
			match |= CRYPTO_memcmp(p + 3, want[i], WHSIG_B64_LEN) == 0;
	}
	if (!match) {
		snprintf(err, errlen,
		    seen ? "no v1 signature matches a secret"
		         : "no v1 signature in webhook-signature");
		return -1;
	}
	return 0;
}
