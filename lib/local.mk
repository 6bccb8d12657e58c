# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
noinst_LIBRARIES += lib/libpayhook.a
lib_libpayhook_a_SOURCES = \
	lib/payhook.h lib/util.c \
	lib/log.h lib/log.c \
	lib/conf.h lib/conf.c \
	lib/provider.h lib/provider.c lib/provider-oneinfinite.c lib/provider-cielo.c \
	lib/job.h lib/job.c \
	lib/scripts.h lib/scripts.c \
	lib/call.h lib/call.c \
	lib/redis.h lib/redis.c \
	lib/sentinel.h lib/sentinel.c \
	lib/accept.h lib/accept.c \
	lib/commit.h lib/commit.c \
	lib/spool.h lib/spool.c \
	lib/refresh.h lib/refresh.c \
	lib/fetch.h lib/fetch.c \
	lib/metrics.h lib/metrics.c \
	lib/replay.h lib/replay.c \
	lib/flusher.h lib/flusher.c \
	lib/whsig.h lib/whsig.c \
	lib/deliver.h lib/deliver.c
lib_libpayhook_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS) $(INIH_CFLAGS) $(CRYPTO_CFLAGS)

LIBPAYHOOK = lib/libpayhook.a $(JSONC_LIBS) $(HIREDIS_LIBS) $(INIH_LIBS) $(CRYPTO_LIBS)
# The Sentinel client (lib/sentinel.c) and the cluster design it leads to.
EXTRA_DIST += docs/SENTINEL.md docs/CLUSTER.md
