/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The signature layer (lib/sig.c): HMAC-SHA256, rotation, tolerance, header and query parsing. */
#include "config.h"

#include <stdio.h>
#include <string.h>

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

int
main(void)
{
	test_hmac();
	test_timestamp();
	test_parsers();
	return tap_done();
}
