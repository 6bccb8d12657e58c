/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Signatures for tests/integration/whsig-verify.sh to check with the official
 * standardwebhooks package (not a unit test: tests/run runs only test-*).
 *   whsig-sign SEED COUNT   COUNT lines of random secrets, id, timestamp
 *                           (now, give or take 250 s), body; signed by lib/whsig.c
 *   whsig-sign --verify     verify such lines from stdin with lib/whsig.c
 * A line: secrets (one or two, space-separated) TAB id TAB timestamp TAB
 * webhook-signature TAB body in hex.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "whsig.h"

#define BODY_MAX 8192

static uint64_t rng;

/* splitmix64: the same sequence for a seed on every machine. */
static uint64_t
next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* "whsec_" + base64 of a random 24..64 byte key, sometimes without its padding. */
static void
random_secret(char *out)
{
	unsigned char key[PH_WHSIG_KEY_MAX];
	size_t n = PH_WHSIG_KEY_MIN + next() % (PH_WHSIG_KEY_MAX - PH_WHSIG_KEY_MIN + 1), i;

	for (i = 0; i < n; i++)
		key[i] = (unsigned char)next();
	memcpy(out, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, key, (int)n);
	if (next() % 3 == 0)
		out[strcspn(out, "=")] = '\0';
}

/* A JSON body like a delivery's, with escapes and multi-byte UTF-8 in a string. */
static size_t
random_body(char *out)
{
	static const char *pieces[] = { "a", "Z", "0", " ", "\\\"", "\\\\", "\\n", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", ".", "{", "}" };
	size_t o, n = next() % 1500, i;

	o = (size_t)sprintf(out,
	    "{\"type\":\"cielo.payment.updated\",\"data\":{\"n\":%" PRIu64 ",\"s\":\"",
	    next() % UINT64_C(10000000000));
	for (i = 0; i < n; i++) {
		const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];

		memcpy(out + o, p, strlen(p));
		o += strlen(p);
	}
	memcpy(out + o, "\"}}", 3);
	return o + 3;
}

/* Print COUNT signed lines. */
static int
sign(uint64_t seed, long count)
{
	static const char idchars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	char secrets[2 * 100], id[64], sig[PH_WHSIG_HEADER_MAX], err[256];
	char *body = malloc(BODY_MAX);
	struct ph_whsig *w;
	int64_t now = (int64_t)time(NULL), ts;
	size_t len, i, n;
	long k;

	if (body == NULL)
		return 1;
	rng = seed;
	for (k = 0; k < count; k++) {
		random_secret(secrets);
		if (next() % 2) {
			strcat(secrets, " ");
			random_secret(secrets + strlen(secrets));
		}
		if (next() % 2) {
			/* payhook-deliver's form: evt_ + a stream entry id. */
			snprintf(id, sizeof id, "evt_%" PRIu64 "-%" PRIu64,
			    now * 1000 + next() % 100000, next() % 4);
		} else {
			n = 1 + next() % 40;
			for (i = 0; i < n; i++)
				id[i] = idchars[next() % (sizeof idchars - 1)];
			id[n] = '\0';
		}
		ts = now - 250 + (int64_t)(next() % 501);
		len = random_body(body);
		if ((w = whsig_new(secrets, err, sizeof err)) == NULL ||
		    whsig_sign(w, id, ts, body, len, sig, sizeof sig, err, sizeof err) == -1) {
			fprintf(stderr, "whsig-sign: line %ld: %s\n", k + 1, err);
			whsig_free(w);
			free(body);
			return 1;
		}
		whsig_free(w);
		printf("%s\t%s\t%" PRId64 "\t%s\t", secrets, id, ts, sig);
		for (i = 0; i < len; i++)
			printf("%02x", (unsigned char)body[i]);
		printf("\n");
	}
	free(body);
	return 0;
}

/* Verify lines from stdin; print "verified N" or "refused N: reason" for each. */
static int
verify(void)
{
	static char line[4 * BODY_MAX], body[2 * BODY_MAX];
	char *f[5], *p, err[256];
	struct ph_whsig *w;
	long no = 0, bad = 0;
	size_t len, i;
	int n;

	while (fgets(line, sizeof line, stdin) != NULL) {
		no++;
		line[strcspn(line, "\n")] = '\0';
		for (n = 0, p = line; n < 5 && p != NULL; n++) {
			f[n] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		if (n != 5 || strlen(f[4]) / 2 > sizeof body) {
			printf("refused %ld: not a line of 5 fields\n", no);
			bad++;
			continue;
		}
		for (len = 0, i = 0; f[4][i] != '\0' && f[4][i + 1] != '\0'; i += 2, len++) {
			unsigned int b;

			sscanf(f[4] + i, "%2x", &b);
			body[len] = (char)b;
		}
		if ((w = whsig_new(f[0], err, sizeof err)) == NULL ||
		    whsig_verify(w, f[1], f[2], f[3], body, len, (int64_t)time(NULL), 300, err,
		        sizeof err) == -1) {
			printf("refused %ld: %s\n", no, err);
			bad++;
		} else {
			printf("verified %ld\n", no);
		}
		whsig_free(w);
	}
	return bad == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--verify") == 0)
		return verify();
	if (argc != 3) {
		fprintf(stderr, "usage: whsig-sign SEED COUNT | whsig-sign --verify\n");
		return 2;
	}
	return sign(strtoull(argv[1], NULL, 10), strtol(argv[2], NULL, 10));
}
