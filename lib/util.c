/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers with no better home: clocks, secret comparison, string copy. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "payhook.h"

/* Return wall-clock milliseconds since the epoch. */
uint64_t
ph_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Return monotonic milliseconds. */
uint64_t
ph_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Compare secrets without an early exit: every byte of the expected value
 * is visited whatever the input, so timing tells nothing but the length.
 */
int
ph_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = (unsigned char)(alen != blen);
	size_t i;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)b[i] ^ (unsigned char)(i < alen ? a[i] : 0);
	return diff == 0;
}

/* Copy src into dst of size bytes; -1 when it was truncated. */
int
ph_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size == 0)
		return -1;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

/* Append n bytes. */
char *
ph_put(char *p, const char *end, const char *s, size_t n)
{
	if (p == NULL || (size_t)(end - p) < n)
		return NULL;
	memcpy(p, s, n);
	return p + n;
}

/* Append a string. */
char *
ph_puts(char *p, const char *end, const char *s)
{
	return ph_put(p, end, s, strlen(s));
}

/* Append a number in decimal. */
char *
ph_put_u64(char *p, const char *end, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return ph_put(p, end, tmp + i, sizeof tmp - i);
}

/* Read len random bytes from getrandom(2). */
int
ph_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make a random GUID (RFC 4122 version 4) for request ids. */
void
ph_guid_new(char out[37])
{
	unsigned char b[16];

	if (ph_random_bytes(b, sizeof b) != 0)
		memset(b, 0, sizeof b); /* only ever a request id, never a secret */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
}
