# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Unit tests: each prints TAP lines; tests/run counts them.
check_PROGRAMS += tests/unit/test-provider tests/unit/test-conf tests/unit/test-job tests/unit/test-route \
	tests/unit/test-spool tests/unit/test-refresh tests/unit/test-call
UNIT_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS) -I$(top_srcdir)/handler -I$(top_srcdir)/tests/unit
tests_unit_test_provider_SOURCES = tests/unit/test-provider.c tests/unit/tap.h
tests_unit_test_provider_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_provider_LDADD = $(LIBPAYHOOK)
tests_unit_test_conf_SOURCES = tests/unit/test-conf.c tests/unit/tap.h
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_LDADD = $(LIBPAYHOOK)
tests_unit_test_job_SOURCES = tests/unit/test-job.c tests/unit/tap.h
tests_unit_test_job_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_job_LDADD = $(LIBPAYHOOK)
tests_unit_test_route_SOURCES = tests/unit/test-route.c tests/unit/tap.h handler/route.c
tests_unit_test_route_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_route_LDADD = $(LIBPAYHOOK)
tests_unit_test_spool_SOURCES = tests/unit/test-spool.c tests/unit/tap.h
tests_unit_test_spool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spool_LDADD = $(LIBPAYHOOK)
tests_unit_test_refresh_SOURCES = tests/unit/test-refresh.c tests/unit/tap.h
tests_unit_test_refresh_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_refresh_LDADD = $(LIBPAYHOOK)
tests_unit_test_call_SOURCES = tests/unit/test-call.c tests/unit/tap.h
tests_unit_test_call_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_call_LDADD = $(LIBPAYHOOK)
check_PROGRAMS += tests/unit/test-sentinel
tests_unit_test_sentinel_SOURCES = tests/unit/test-sentinel.c tests/unit/tap.h
tests_unit_test_sentinel_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sentinel_LDADD = $(LIBPAYHOOK)
check_PROGRAMS += tests/unit/test-whsig
tests_unit_test_whsig_SOURCES = tests/unit/test-whsig.c tests/unit/tap.h
tests_unit_test_whsig_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_whsig_LDADD = $(LIBPAYHOOK)
# Not a unit test (tests/run runs test-* only): signs for tests/integration/whsig-verify.sh.
check_PROGRAMS += tests/unit/whsig-sign
tests_unit_whsig_sign_SOURCES = tests/unit/whsig-sign.c
tests_unit_whsig_sign_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_whsig_sign_LDADD = $(LIBPAYHOOK)
check_PROGRAMS += tests/unit/test-sig
tests_unit_test_sig_SOURCES = tests/unit/test-sig.c tests/unit/tap.h
tests_unit_test_sig_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_sig_LDADD = $(LIBPAYHOOK)
