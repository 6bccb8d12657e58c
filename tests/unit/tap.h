/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny TAP producer: ok/not ok lines and a plan; tests/run counts them. */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                   \
	do {                                                                            \
		int ok_ = (cond) ? 1 : 0;                                               \
		tap_n++;                                                                \
		if (!ok_)                                                               \
			tap_failed++;                                                   \
		printf("%sok %d - ", ok_ ? "" : "not ", tap_n);                         \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
		if (!ok_)                                                               \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define is_int(got, want, ...)                                     \
	do {                                                       \
		long g_ = (long)(got), w_ = (long)(want);          \
		ok(g_ == w_, __VA_ARGS__);                         \
		if (g_ != w_)                                      \
			printf("#   got %ld, want %ld\n", g_, w_); \
	} while (0)

#define is_str(got, want, ...)                                                      \
	do {                                                                        \
		const char *g_ = (got), *w_ = (want);                               \
		int e_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;           \
		ok(e_, __VA_ARGS__);                                                \
		if (!e_)                                                            \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", \
			    w_ ? w_ : "(null)");                                    \
	} while (0)

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 ? 0 : 1;
}

#endif
