# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-fetcher (issue 3): the worker, and the unit test of its pure decisions.
bin_PROGRAMS += fetcher/payhook-fetcher
fetcher_payhook_fetcher_SOURCES = fetcher/payhook-fetcher.c
fetcher_payhook_fetcher_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(HIREDIS_CFLAGS)
fetcher_payhook_fetcher_LDADD = $(LIBPAYHOOK) $(CURL_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-fetch
tests_unit_test_fetch_SOURCES = tests/unit/test-fetch.c tests/unit/tap.h
tests_unit_test_fetch_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_fetch_LDADD = $(LIBPAYHOOK) $(CRYPTO_LIBS)

EXTRA_DIST += tests/standin docs/FETCHER.md docs/SPOOL.md docs/REFRESH.md
