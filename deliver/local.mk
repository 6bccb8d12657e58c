# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-deliver (issue 19): POST the events to the merchant's endpoints, signed.
bin_PROGRAMS += deliver/payhook-deliver
deliver_payhook_deliver_SOURCES = deliver/payhook-deliver.c
deliver_payhook_deliver_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(HIREDIS_CFLAGS)
deliver_payhook_deliver_LDADD = $(LIBPAYHOOK) $(CURL_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-deliver
tests_unit_test_deliver_SOURCES = tests/unit/test-deliver.c tests/unit/tap.h
tests_unit_test_deliver_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_deliver_LDADD = $(LIBPAYHOOK)
