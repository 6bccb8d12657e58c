/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The signature layer (lib/sig.c): HMAC-SHA256, rotation, tolerance, header and query parsing. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "sig.h"
#include "tap.h"

/* RFC 4231 test case 2, and the secret rotation. */
static void
test_hmac(void)
{
	static const char data[] = "what do ya want for nothing?";
	static const char want[] =
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	struct ph_sig_part parts[2] = { { data, 10 }, { data + 10, sizeof data - 11 } };
	struct ph_sig_keys *k, *k2;
	char hex[PH_SIG_HEX_LEN + 1], upper[PH_SIG_HEX_LEN + 1], err[160];
	size_t i;

	k = sig_keys_new("Jefe", err, sizeof err);
	ok(k != NULL && sig_keys_count(k) == 1, "one secret keyed");
	ok(sig_hex(k, 0, parts, 2, hex) == 0, "HMAC made from two parts");
	is_str(hex, want, "RFC 4231 test case 2");
	ok(sig_match_hex(k, parts, 2, want, PH_SIG_HEX_LEN) == 1, "its hex matches");
	for (i = 0; i < PH_SIG_HEX_LEN; i++)
		upper[i] = want[i] >= 'a' && want[i] <= 'f' ? (char)(want[i] - 32) : want[i];
	ok(sig_match_hex(k, parts, 2, upper, PH_SIG_HEX_LEN) == 1, "in upper case too");
	ok(sig_match_hex(k, parts, 2, want, PH_SIG_HEX_LEN - 1) == 0, "a shorter one does not");
	upper[5] ^= 1;
	ok(sig_match_hex(k, parts, 2, upper, PH_SIG_HEX_LEN) == 0, "one bit off does not");
	ok(sig_match_hex(k, parts, 1, want, PH_SIG_HEX_LEN) == 0, "another message does not");

	k2 = sig_keys_new("  new-secret   Jefe ", err, sizeof err);
	ok(k2 != NULL && sig_keys_count(k2) == 2, "two secrets while rotating");
	ok(sig_match_hex(k2, parts, 2, want, PH_SIG_HEX_LEN) == 1, "the old one still matches");
	ok(sig_hex(k2, 0, parts, 2, hex) == 0 && strcmp(hex, want) != 0 &&
	        sig_match_hex(k2, parts, 2, hex, PH_SIG_HEX_LEN) == 1,
	    "the new one matches its own");
	sig_keys_free(k);
	sig_keys_free(k2);

	ok(sig_keys_new("a b c", err, sizeof err) == NULL && strstr(err, "at most 2") != NULL,
	    "three secrets refused: %s", err);
	ok(sig_keys_new("   ", err, sizeof err) == NULL, "no secret refused: %s", err);
	ok(strstr(err, "Jefe") == NULL, "no reason quotes a secret");
	sig_keys_free(NULL);
}

static void
test_timestamp(void)
{
	ok(sig_timestamp("1000", 4, 1000, 300, 0) == PH_SIG_OK, "now");
	ok(sig_timestamp("700", 3, 1000, 300, 0) == PH_SIG_OK, "300 s old");
	ok(sig_timestamp("699", 3, 1000, 300, 0) == PH_SIG_TIMESTAMP, "301 s old");
	ok(sig_timestamp("1301", 4, 1000, 300, 0) == PH_SIG_TIMESTAMP, "301 s ahead");
	ok(sig_timestamp("", 0, 1000, 300, 0) == PH_SIG_HEADER, "empty");
	ok(sig_timestamp("12a", 3, 1000, 300, 0) == PH_SIG_HEADER, "not digits");
	ok(sig_timestamp("-5", 2, 1000, 300, 0) == PH_SIG_HEADER, "negative");
	ok(sig_timestamp("9999999999999999", 16, 1000, 300, 0) == PH_SIG_HEADER, "too long");
	ok(sig_timestamp("1704908010000", 13, 1704908010, 300, 1) == PH_SIG_OK,
	    "milliseconds where allowed");
	ok(sig_timestamp("1704908010000", 13, 1704908010, 300, 0) == PH_SIG_TIMESTAMP,
	    "not elsewhere");
}

static void
test_parsers(void)
{
	const char *p = " t=12, v1=ab ,v1=cd,bad", *k, *v;
	size_t kl, vl;

	ok(sig_item(&p, &k, &kl, &v, &vl) == 1 && kl == 1 && *k == 't' && vl == 2 &&
	        memcmp(v, "12", 2) == 0,
	    "first item");
	ok(sig_item(&p, &k, &kl, &v, &vl) == 1 && kl == 2 && vl == 2 && memcmp(v, "ab", 2) == 0,
	    "spaces around an item skipped");
	ok(sig_item(&p, &k, &kl, &v, &vl) == 1 && memcmp(v, "cd", 2) == 0, "third item");
	ok(sig_item(&p, &k, &kl, &v, &vl) == -1, "an item without =");
	ok(sig_item(&p, &k, &kl, &v, &vl) == 0, "the end");

	ok(sig_query_param("data.id=123&type=payment", "data.id", &v, &vl) == 1 && vl == 3 &&
	        memcmp(v, "123", 3) == 0,
	    "first parameter");
	ok(sig_query_param("type=payment&data.id=AB", "data.id", &v, &vl) == 1 && vl == 2,
	    "last parameter");
	ok(sig_query_param("xdata.id=1&data.idx=2", "data.id", &v, &vl) == 0,
	    "no partial name match");
	ok(sig_query_param("data.id=&a", "data.id", &v, &vl) == 1 && vl == 0, "empty value");
	ok(sig_query_param("", "data.id", &v, &vl) == 0, "empty query");
	is_str(sig_reason(PH_SIG_HEADER), "header", "reason header");
	is_str(sig_reason(PH_SIG_TIMESTAMP), "timestamp", "reason timestamp");
	is_str(sig_reason(PH_SIG_SIGNATURE), "signature", "reason signature");
}

/* Check a request with a provider's verify hook. */
static enum ph_sig
verify(const char *name, const char *secrets, const char *body, const char *query, const char *h0,
    const char *h1, int64_t now)
{
	const struct ph_provider *p = provider_find(name, strlen(name), NULL);
	struct ph_sig_request r;
	char err[160], why[160];
	enum ph_sig rc;

	memset(&r, 0, sizeof r);
	r.keys = sig_keys_new(secrets, err, sizeof err);
	r.body = body;
	r.len = strlen(body);
	r.query = query;
	r.header[0] = h0;
	r.header[1] = h1;
	r.now = now;
	r.tolerance_s = 300;
	rc = p->verify(&r, why, sizeof why);
	sig_keys_free((struct ph_sig_keys *)r.keys);
	return rc;
}

/*
 * Mercado Pago: the docs show the header of a notification (ts=1704908010,
 * x-request-id bb56a2f1-...) but not its secret, so the vectors here are
 * computed apart, with Python's hmac, from the documented manifest.
 */
static void
test_mercadopago(void)
{
	static const char rid[] = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
	static const char body[] = "{\"id\":1,\"type\":\"payment\",\"data\":{\"id\":\"123456\"}}";
	static const char sig[] =
	    "ts=1704908010,v1=047f2ff216ba033e27f50efeae31bc329a77e34b6d3fa34132a76c20eda49244";
	int64_t now = 1704908010;

	ok(verify("mercadopago", "mp-secret", body, "data.id=123456&type=payment", sig, rid, now) ==
	        PH_SIG_OK,
	    "mercadopago: the documented manifest");
	ok(verify("mercadopago", "old mp-secret", body, "type=payment&data.id=123456", sig, rid,
	       now) == PH_SIG_OK,
	    "mercadopago: the second secret while rotating");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456", sig, rid, now + 301) ==
	        PH_SIG_TIMESTAMP,
	    "mercadopago: stale");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456", sig, rid, now + 290) ==
	        PH_SIG_OK,
	    "mercadopago: within the tolerance");
	ok(verify("mercadopago", "other", body, "data.id=123456", sig, rid, now) ==
	        PH_SIG_SIGNATURE,
	    "mercadopago: wrong secret");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123457", sig, rid, now) ==
	        PH_SIG_SIGNATURE,
	    "mercadopago: another data.id");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456", sig, "x", now) ==
	        PH_SIG_SIGNATURE,
	    "mercadopago: another request id");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456", NULL, rid, now) ==
	        PH_SIG_HEADER,
	    "mercadopago: no x-signature");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456", "ts=1704908010", rid, now) ==
	        PH_SIG_HEADER,
	    "mercadopago: no v1");
	ok(verify("mercadopago", "mp-secret", body, "data.id=123456",
	       "ts=1704908010000,v1="
	       "047f2ff216ba033e27f50efeae31bc329a77e34b6d3fa34132a76c20eda49244",
	       rid, now) == PH_SIG_SIGNATURE,
	    "mercadopago: ts in ms is within the tolerance, but signed as sent");
	ok(verify("mercadopago", "mp-secret",
	       "{\"id\":1,\"type\":\"payment\",\"data\":{\"id\":\"999\"}}", "data.id=123456", sig,
	       rid, now) == PH_SIG_SIGNATURE,
	    "mercadopago: a body naming another entity than the signed data.id");
	ok(verify("mercadopago", "mp-secret",
	       "{\"type\":\"payment\",\"data\":{\"id\":\"abc123def\"}}", "data.id=ABC123DEF",
	       "ts=1704908010,v1=a94005b845bec79b5fc23e9e1dfa0d52da50400b66fda60f554865c6af9b7c00",
	       rid, now) == PH_SIG_OK,
	    "mercadopago: an alphanumeric data.id signed in lower case");
	ok(verify("mercadopago", "mp-secret", body, "",
	       "ts=1704908010,v1=6760cc2ace430464f10d2afd10f6acc6e76aa6c4a70d6b04afc2b3e1227d531e",
	       NULL, now) == PH_SIG_OK,
	    "mercadopago: absent parts left out of the manifest");
}

/* Stripe: "{t}.{body}" keyed with the whsec_ text (vector from Python's hmac). */
static void
test_stripe(void)
{
	static const char body[] =
	    "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\","
	    "\"data\":{\"object\":{\"id\":\"ch_1\",\"object\":\"charge\"}}}";
	static const char good[] =
	    "a0d67384dba357a28351eb2609db24d4d687d783e8878c3d1e77e4f29e913e3c";
	char h[256];
	int64_t now = 1704908010;

	snprintf(h, sizeof h, "t=1704908010,v1=%s", good);
	ok(verify("stripe", "whsec_test", body, "", h, NULL, now) == PH_SIG_OK, "stripe: signed");
	snprintf(h, sizeof h, "t=1704908010,v1=%064d,v1=%s,v0=00", 0, good);
	ok(verify("stripe", "whsec_test", body, "", h, NULL, now) == PH_SIG_OK,
	    "stripe: one of two v1 matches, v0 ignored");
	ok(verify("stripe", "whsec_new whsec_test", body, "", h, NULL, now) == PH_SIG_OK,
	    "stripe: the old secret while rotating");
	ok(verify("stripe", "whsec_other", body, "", h, NULL, now) == PH_SIG_SIGNATURE,
	    "stripe: wrong secret");
	ok(verify("stripe", "whsec_test", body, "", h, NULL, now - 301) == PH_SIG_TIMESTAMP,
	    "stripe: from the future");
	snprintf(h, sizeof h, "t=1704908011,v1=%s", good);
	ok(verify("stripe", "whsec_test", body, "", h, NULL, now) == PH_SIG_SIGNATURE,
	    "stripe: another t");
	ok(verify("stripe", "whsec_test", body, "", "v1=00", NULL, now) == PH_SIG_HEADER,
	    "stripe: no t");
	ok(verify("stripe", "whsec_test", body, "", "t=1704908010", NULL, now) == PH_SIG_HEADER,
	    "stripe: no v1");
	ok(verify("stripe", "whsec_test", body, "", NULL, NULL, now) == PH_SIG_HEADER,
	    "stripe: no header");
}

int
main(void)
{
	test_hmac();
	test_timestamp();
	test_parsers();
	test_mercadopago();
	test_stripe();
	return tap_done();
}
