/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Standard Webhooks signatures: the spec's vector, secrets, rotation, verify, bounds. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "whsig.h"

/* The example of the Standard Webhooks libraries' tests and of issue 19. */
#define V_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define V_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define V_TS 1614265330
#define V_BODY "{\"test\": 2432232314}"
#define V_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* "whsec_" + base64 of n bytes 0, 1, 2...; unpadded if nopad. */
static void
secret_of(size_t n, int nopad, char *out)
{
	unsigned char key[128];
	size_t i;

	for (i = 0; i < n; i++)
		key[i] = (unsigned char)i;
	memcpy(out, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, key, (int)n);
	if (nopad)
		out[strcspn(out, "=")] = '\0';
}

/* "v1," + base64 HMAC-SHA256 by OpenSSL's one-shot HMAC() over the joined content. */
static void
reference_sig(size_t keylen, const char *id, const char *ts, const char *body, char *out)
{
	unsigned char key[128], md[32];
	char content[512];
	unsigned int mdlen = 0;
	size_t i;

	for (i = 0; i < keylen; i++)
		key[i] = (unsigned char)i;
	snprintf(content, sizeof content, "%s.%s.%s", id, ts, body);
	HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)content, strlen(content), md, &mdlen);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, md, (int)mdlen);
}

/* whsig_new refuses secrets with a reason containing want and not the secret's text. */
static void
refused(const char *secrets, const char *want, const char *what)
{
	char err[256] = "";
	struct ph_whsig *w = whsig_new(secrets, err, sizeof err);
	const char *b64 = strstr(secrets, "whsec_");

	ok(w == NULL && strstr(err, want) != NULL, "refused: %s (%s)", what, err);
	ok(b64 == NULL || strlen(b64) < 12 || strstr(err, b64 + 6) == NULL,
	    "the reason does not quote the secret (%s)", what);
	whsig_free(w);
}

int
main(void)
{
	char err[256], out[PH_WHSIG_HEADER_MAX], s1[200], s2[200], both[400], ref[64], small[200];
	struct ph_whsig *w, *w2, *wold, *wnew;
	const char *body = V_BODY;
	size_t blen = strlen(V_BODY);
	int n;

	/* The spec's own vector. */
	w = whsig_new(V_SECRET, err, sizeof err);
	ok(w != NULL, "the spec's secret is accepted (%s)", w ? "" : err);
	if (w == NULL)
		return tap_done();
	is_int(whsig_count(w), 1, "one secret");
	n = whsig_sign(w, V_ID, V_TS, body, blen, out, sizeof out, err, sizeof err);
	is_str(out, V_SIG, "the spec's vector signs as the spec says");
	is_int(n, strlen(V_SIG), "the length of the signature is returned");
	is_int(whsig_verify(w, V_ID, "1614265330", V_SIG, body, blen, V_TS, 300, err, sizeof err),
	    0, "the spec's signature verifies");

	/* Two secrets: one signature each, in order, space-separated. */
	secret_of(32, 0, s2);
	snprintf(both, sizeof both, "%s %s", V_SECRET, s2);
	w2 = whsig_new(both, err, sizeof err);
	ok(w2 != NULL, "two space-separated secrets are accepted (%s)", w2 ? "" : err);
	if (w2 == NULL)
		return tap_done();
	is_int(whsig_count(w2), 2, "two secrets");
	n = whsig_sign(w2, V_ID, V_TS, body, blen, out, sizeof out, err, sizeof err);
	reference_sig(32, V_ID, "1614265330", V_BODY, ref);
	snprintf(small, sizeof small, "%s %s", V_SIG, ref);
	is_str(out, small,
	    "two secrets give two signatures, the second as OpenSSL's HMAC() makes it");
	is_int(n, 2 * PH_WHSIG_SIG_LEN + 1, "both fit PH_WHSIG_HEADER_MAX");
	whsig_free(w2);
	w2 = whsig_new("  \t" V_SECRET "   \n", err, sizeof err);
	ok(w2 != NULL && whsig_count(w2) == 1, "spaces and a newline around a secret are ignored");
	whsig_free(w2);

	/* Padding: a padded and an unpadded secret are the same key. */
	secret_of(32, 1, s1);
	w2 = whsig_new(s1, err, sizeof err);
	ok(w2 != NULL, "an unpadded secret is accepted (%s)", w2 ? "" : err);
	n = w2 ? whsig_sign(w2, V_ID, V_TS, body, blen, out, sizeof out, err, sizeof err) : -1;
	is_str(out, ref, "it signs as the padded one");
	whsig_free(w2);
	secret_of(PH_WHSIG_KEY_MAX, 0, s1);
	w2 = whsig_new(s1, err, sizeof err);
	ok(w2 != NULL, "a 64-byte key is accepted (%s)", w2 ? "" : err);
	reference_sig(PH_WHSIG_KEY_MAX, V_ID, "1614265330", V_BODY, ref);
	n = w2 ? whsig_sign(w2, V_ID, V_TS, body, blen, out, sizeof out, err, sizeof err) : -1;
	is_str(out, ref, "and signs as HMAC() does");
	whsig_free(w2);

	/* Bad secrets are refused with a reason. */
	refused("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_", "no prefix");
	refused("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_",
	    "an upper-case prefix");
	refused("whsec_MfKQ9r8GKYqrTwjUPD8I!PZIo2LaLaSw", "not base64",
	    "a character outside base64");
	refused("whsec_MfKQ9r8GKYqrTwjUPD8I-PZIo2LaLaSw", "URL-safe", "URL-safe base64");
	refused("whsec_MfKQ9r8GKYqr=wjUPD8ILPZIo2LaLaSw", "'=' before its end", "'=' inside");
	refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA", "impossible length",
	    "one character too many");
	refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAB=", "wrong padding", "one '=' short");
	w2 = whsig_new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAA==", err, sizeof err);
	ok(w2 != NULL, "25 bytes, padded with '==', are accepted (%s)", w2 ? "" : err);
	whsig_free(w2);
	refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAB===", "'=' before its end", "three '='");
	refused("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAF", "stray bits",
	    "bits past the last byte");
	refused("whsec_", "a key of 0 bytes", "nothing after the prefix");
	secret_of(PH_WHSIG_KEY_MIN - 1, 0, s1);
	refused(s1, "a key of 23 bytes; Standard Webhooks wants 24 to 64", "too short (23 bytes)");
	secret_of(16, 0, s1);
	refused(s1, "a key of 16 bytes", "too short (16 bytes)");
	secret_of(PH_WHSIG_KEY_MAX + 1, 0, s1);
	refused(s1, "a key of 65 bytes", "too long (65 bytes)");
	refused("", "no secret", "empty");
	refused(" \n", "no secret", "only spaces");
	snprintf(small, sizeof small, "%s %s %s", V_SECRET, V_SECRET, V_SECRET);
	refused(small, "more than 2 secrets", "three secrets");
	snprintf(small, sizeof small, "%s whsec_MfKQ9r8GKYqrTwjUPD8I!PZIo2LaLaSw", V_SECRET);
	refused(small, "secret 2: not base64", "a bad second secret is named");

	/* Verify. */
#define VERIFY(wh, id, ts, sig, b, now, tol) \
	whsig_verify(wh, id, ts, sig, b, strlen(b), now, tol, err, sizeof err)
	is_int(VERIFY(w, V_ID, "1614265330", V_SIG, "{\"test\": 2432232315}", V_TS, 300), -1,
	    "a changed body is refused");
	is_str(err, "no v1 signature matches a secret", "with the reason");
	is_int(VERIFY(w, "msg_p5jXN8AQM9LWM0D4loKWxJeK", "1614265330", V_SIG, body, V_TS, 300), -1,
	    "a changed id is refused");
	is_int(VERIFY(w, V_ID, "1614265331", V_SIG, body, V_TS, 300), -1,
	    "a changed timestamp is refused");
	is_int(VERIFY(w, V_ID, "01614265330", V_SIG, body, V_TS, 300), 0,
	    "a timestamp with a leading zero is the same number (as the official libraries read "
	    "it)");
	is_int(VERIFY(w, V_ID, "1614265330", V_SIG, body, V_TS + 300, 300), 0,
	    "300 s old with a tolerance of 300 s is accepted");
	is_int(VERIFY(w, V_ID, "1614265330", V_SIG, body, V_TS + 301, 300), -1,
	    "301 s old is refused");
	ok(strstr(err, "301 s old") != NULL, "with the reason (%s)", err);
	is_int(VERIFY(w, V_ID, "1614265330", V_SIG, body, V_TS - 301, 300), -1,
	    "301 s ahead is refused");
	ok(strstr(err, "301 s ahead") != NULL, "with the reason (%s)", err);
	is_int(VERIFY(w, V_ID, "16142653x0", V_SIG, body, V_TS, 300), -1,
	    "a timestamp not a number");
	is_int(VERIFY(w, V_ID, "", V_SIG, body, V_TS, 300), -1, "an empty timestamp");
	is_int(VERIFY(w, V_ID, "-1614265330", V_SIG, body, V_TS, 300), -1, "a signed timestamp");
	is_int(VERIFY(w, V_ID, "99999999999999999999", V_SIG, body, V_TS, 300), -1,
	    "a timestamp too long to be a time");
	secret_of(40, 0, s1);
	wold = whsig_new(s1, err, sizeof err);
	is_int(VERIFY(wold, V_ID, "1614265330", V_SIG, body, V_TS, 300), -1,
	    "a wrong secret is refused");
	is_int(VERIFY(w, V_ID, "1614265330",
	           "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body, V_TS, 300),
	    -1, "a v1a signature is not a v1 one");
	is_str(err, "no v1 signature in webhook-signature", "with the reason");
	is_int(VERIFY(w, V_ID, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", body,
	           V_TS, 300),
	    -1, "a signature one character short is refused");
	is_int(VERIFY(w, V_ID, "1614265330",
	           "v1a,xyz v2,abc v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= " V_SIG, body,
	           V_TS, 300),
	    0, "the matching v1 signature among others is found");
	is_int(VERIFY(w, "", "1614265330", V_SIG, body, V_TS, 300), -1, "an empty id is refused");

	/* Rotation: a header signed with the new and the old secret passes either receiver. */
	wnew = whsig_new(both, err, sizeof err);
	whsig_sign(wnew, V_ID, V_TS, body, blen, out, sizeof out, err, sizeof err);
	w2 = whsig_new(s2, err, sizeof err);
	is_int(VERIFY(w, V_ID, "1614265330", out, body, V_TS, 300), 0,
	    "while rotating, a receiver with the first secret accepts");
	is_int(VERIFY(w2, V_ID, "1614265330", out, body, V_TS, 300), 0,
	    "and one with the second secret too");
	is_int(VERIFY(wold, V_ID, "1614265330", out, body, V_TS, 300), -1,
	    "and one with neither is refused");
	whsig_free(w2);
	whsig_free(wold);

	/* The output bound. */
	memset(small, 'x', sizeof small);
	is_int(whsig_sign(w, V_ID, V_TS, body, blen, small, PH_WHSIG_SIG_LEN, err, sizeof err), -1,
	    "a buffer without room for the NUL is refused");
	ok(small[0] == '\0' && small[1] == 'x', "nothing but an empty string is written (%s)", err);
	is_int(whsig_sign(w, V_ID, V_TS, body, blen, small, PH_WHSIG_SIG_LEN + 1, err, sizeof err),
	    PH_WHSIG_SIG_LEN, "a buffer of exactly the signature and its NUL is enough");
	ok(small[PH_WHSIG_SIG_LEN + 1] == 'x', "and nothing is written past it");
	is_int(whsig_sign(wnew, V_ID, V_TS, body, blen, small, 2 * PH_WHSIG_SIG_LEN + 1, err,
	           sizeof err),
	    -1, "two secrets in a buffer one byte short are refused");
	is_str(err, "signature buffer of 95 bytes, 96 needed", "with the size needed");
	is_int(whsig_sign(w, V_ID, V_TS, body, blen, small, 0, err, sizeof err), -1,
	    "a buffer of 0 bytes is refused, untouched");
	whsig_free(wnew);

	/* Ids and timestamps the spec says must not be signed. */
	is_int(whsig_sign(w, "msg.1", V_TS, body, blen, out, sizeof out, err, sizeof err), -1,
	    "an id with a '.' is refused");
	is_str(err, "webhook-id has a '.'", "with the reason");
	is_int(whsig_sign(w, "msg 1", V_TS, body, blen, out, sizeof out, err, sizeof err), -1,
	    "an id with a space is refused");
	is_int(whsig_sign(w, "", V_TS, body, blen, out, sizeof out, err, sizeof err), -1,
	    "an empty id is refused");
	is_int(whsig_sign(w, V_ID, -1, body, blen, out, sizeof out, err, sizeof err), -1,
	    "a negative timestamp is refused");
	n = whsig_sign(w, V_ID, V_TS, NULL, 0, out, sizeof out, err, sizeof err);
	ok(n == PH_WHSIG_SIG_LEN && VERIFY(w, V_ID, "1614265330", out, "", V_TS, 300) == 0,
	    "an empty body signs and verifies");

	whsig_free(w);
	whsig_free(NULL);
	return tap_done();
}
