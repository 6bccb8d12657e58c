/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, spec
 * 1.0.0, "Signature scheme"): a secret is "whsec_" + base64 of a random key,
 * a signature is "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)),
 * and the webhook-signature header carries one per secret, space-separated,
 * so that a secret can be rotated without a gap. payhook-deliver signs with
 * it; tests (and a future receiver) verify with it.
 *
 * The keys live only in a struct ph_whsig: never copied out, wiped when it is
 * freed, and no error message carries any part of a secret.
 */
#ifndef PH_WHSIG_H
#define PH_WHSIG_H

#include <stddef.h>
#include <stdint.h>

/* Secrets at a time: the current one and the one being rotated out. */
#define PH_WHSIG_SECRETS_MAX 2
/* Decoded key length, in bytes: the spec's "at least 24 bytes (192 bits, 512 maximum)". */
#define PH_WHSIG_KEY_MIN 24
#define PH_WHSIG_KEY_MAX 64
/* One signature: "v1," and the base64 of 32 bytes. */
#define PH_WHSIG_SIG_LEN (3 + 44)
/* A whole webhook-signature value with its NUL: signatures, the spaces between them. */
#define PH_WHSIG_HEADER_MAX (PH_WHSIG_SECRETS_MAX * (PH_WHSIG_SIG_LEN + 1))
/* Longest webhook-id accepted (payhook's are "evt_" + a stream entry id). */
#define PH_WHSIG_ID_MAX 256

struct ph_whsig;

/*
 * Parse one or two space-separated secrets, each "whsec_" + standard base64
 * (padded, or unpadded) of a 24 to 64 byte key. NULL with a reason in err
 * that names what is wrong (never the secret); caller frees with whsig_free.
 */
struct ph_whsig *whsig_new(const char *secrets, char *err, size_t errlen);

/* Wipe the keys and free; NULL is fine. */
void whsig_free(struct ph_whsig *w);

/* How many secrets w holds (1 or 2), so how many signatures a header has. */
int whsig_count(const struct ph_whsig *w);

/*
 * Write the webhook-signature value for (id, timestamp, body) into out
 * (outlen bytes, PH_WHSIG_HEADER_MAX is always enough): one "v1,..." per
 * secret, in the order given to whsig_new, space-separated, NUL-terminated.
 * The id must be 1..PH_WHSIG_ID_MAX printable ASCII characters without a
 * space or a "." (the spec: a "." would let one signed content pass for
 * another). Returns the length written, or -1 with a reason in err (out is
 * then "").
 */
int whsig_sign(const struct ph_whsig *w, const char *id, int64_t timestamp, const void *body,
    size_t len, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Check a request's webhook-id, webhook-timestamp and webhook-signature
 * values against body: the timestamp must be a decimal number of seconds
 * within tolerance_s of now, and some "v1," signature of the header must
 * match some secret of w (compared in constant time; other versions are
 * skipped). 0, or -1 with a reason in err.
 */
int whsig_verify(const struct ph_whsig *w, const char *id, const char *timestamp,
    const char *signature, const void *body, size_t len, int64_t now, int64_t tolerance_s,
    char *err, size_t errlen);

#endif
