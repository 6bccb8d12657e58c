/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* payhook: definitions shared by every program. */
#ifndef PAYHOOK_H
#define PAYHOOK_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on what a notification or a job may carry (DESIGN.md: ids 1..128 chars). */
#define PH_ID_MAX 128
#define PH_TYPE_MAX 32
#define PH_EVENT_MAX 64
#define PH_PROVIDER_MAX 32
#define PH_MAX_ENTITIES 2
#define PH_JOB_MAX 1024

/* Milliseconds since the epoch, wall clock. */
uint64_t ph_now_ms(void);
/* Milliseconds from an arbitrary start, monotonic. */
uint64_t ph_mono_ms(void);

/* Compare two byte strings in time that depends only on their lengths. */
int ph_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Copy a string into a fixed buffer, always terminated; returns -1 if it did not fit. */
int ph_strlcpy(char *dst, const char *src, size_t size);

/*
 * Append to a bounded buffer without printf, on the request path: each
 * returns the new end, or NULL when it would pass end (and passes a NULL
 * on, so a chain of them is checked once, at its end).
 */
char *ph_put(char *p, const char *end, const char *s, size_t n);
char *ph_puts(char *p, const char *end, const char *s);
char *ph_put_u64(char *p, const char *end, uint64_t v);

/* Fill buf with len random bytes from the kernel; -1 on failure. */
int ph_random_bytes(void *buf, size_t len);

/* Write a random version-4 GUID (36 chars and NUL) into out. */
void ph_guid_new(char out[37]);

#endif
