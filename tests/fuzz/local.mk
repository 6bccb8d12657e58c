# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Fuzz targets (libFuzzer): built by configure --enable-fuzzing (CC=clang),
# run by scripts/fuzz. `make fuzz` builds them; without the switch it says how.
FUZZ_TARGETS = tests/fuzz/fuzz-oneinfinite tests/fuzz/fuzz-cielo \
	tests/fuzz/fuzz-mercadopago tests/fuzz/fuzz-stripe \
	tests/fuzz/fuzz-job tests/fuzz/fuzz-conf tests/fuzz/fuzz-redis-url tests/fuzz/fuzz-route
FUZZ_CFLAGS_ALL = $(AM_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS)
FUZZ_LDFLAGS_ALL = $(AM_LDFLAGS) -fsanitize=fuzzer
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/oneinfinite.dict tests/fuzz/cielo.dict \
	tests/fuzz/mercadopago.dict tests/fuzz/stripe.dict \
	tests/fuzz/job.dict tests/fuzz/conf.dict tests/fuzz/redis-url.dict tests/fuzz/route.dict

# The same targets without libFuzzer, as unit tests (tests/run runs every
# tests/unit/test-*): each replays its corpus, so a crash saved there stays a
# regression test of every build.
check_PROGRAMS += tests/unit/test-fuzz-oneinfinite tests/unit/test-fuzz-cielo \
	tests/unit/test-fuzz-mercadopago tests/unit/test-fuzz-stripe \
	tests/unit/test-fuzz-job tests/unit/test-fuzz-conf tests/unit/test-fuzz-redis-url \
	tests/unit/test-fuzz-route
REPLAY_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS) -DFUZZ_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_fuzz_oneinfinite_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-provider.c
tests_unit_test_fuzz_oneinfinite_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"oneinfinite"' -DFUZZ_PROVIDER='"oneinfinite"'
tests_unit_test_fuzz_oneinfinite_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_cielo_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-provider.c
tests_unit_test_fuzz_cielo_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"cielo"' -DFUZZ_PROVIDER='"cielo"'
tests_unit_test_fuzz_cielo_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_mercadopago_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-provider.c
tests_unit_test_fuzz_mercadopago_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"mercadopago"' -DFUZZ_PROVIDER='"mercadopago"'
tests_unit_test_fuzz_mercadopago_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_stripe_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-provider.c
tests_unit_test_fuzz_stripe_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"stripe"' -DFUZZ_PROVIDER='"stripe"'
tests_unit_test_fuzz_stripe_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_job_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-job.c
tests_unit_test_fuzz_job_CFLAGS = $(REPLAY_CFLAGS) $(CRYPTO_CFLAGS) -DFUZZ_TARGET='"job"'
tests_unit_test_fuzz_job_LDADD = $(LIBPAYHOOK) $(CRYPTO_LIBS)
tests_unit_test_fuzz_conf_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-conf.c
tests_unit_test_fuzz_conf_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"conf"'
tests_unit_test_fuzz_conf_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_redis_url_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-redis-url.c
tests_unit_test_fuzz_redis_url_CFLAGS = $(REPLAY_CFLAGS) -DFUZZ_TARGET='"redis-url"'
tests_unit_test_fuzz_redis_url_LDADD = $(LIBPAYHOOK)
tests_unit_test_fuzz_route_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-route.c handler/route.h handler/route.c
tests_unit_test_fuzz_route_CFLAGS = $(REPLAY_CFLAGS) -I$(top_srcdir)/handler -DFUZZ_TARGET='"route"'
tests_unit_test_fuzz_route_LDADD = $(LIBPAYHOOK)

if FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
tests_fuzz_fuzz_oneinfinite_SOURCES = tests/fuzz/fuzz-provider.c
tests_fuzz_fuzz_oneinfinite_CFLAGS = $(FUZZ_CFLAGS_ALL) -DFUZZ_PROVIDER='"oneinfinite"'
tests_fuzz_fuzz_oneinfinite_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_oneinfinite_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_cielo_SOURCES = tests/fuzz/fuzz-provider.c
tests_fuzz_fuzz_cielo_CFLAGS = $(FUZZ_CFLAGS_ALL) -DFUZZ_PROVIDER='"cielo"'
tests_fuzz_fuzz_cielo_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_cielo_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_mercadopago_SOURCES = tests/fuzz/fuzz-provider.c
tests_fuzz_fuzz_mercadopago_CFLAGS = $(FUZZ_CFLAGS_ALL) -DFUZZ_PROVIDER='"mercadopago"'
tests_fuzz_fuzz_mercadopago_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_mercadopago_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_stripe_SOURCES = tests/fuzz/fuzz-provider.c
tests_fuzz_fuzz_stripe_CFLAGS = $(FUZZ_CFLAGS_ALL) -DFUZZ_PROVIDER='"stripe"'
tests_fuzz_fuzz_stripe_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_stripe_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_job_SOURCES = tests/fuzz/fuzz-job.c
tests_fuzz_fuzz_job_CFLAGS = $(FUZZ_CFLAGS_ALL) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_job_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_job_LDADD = $(LIBPAYHOOK) $(CRYPTO_LIBS)
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz-conf.c
tests_fuzz_fuzz_conf_CFLAGS = $(FUZZ_CFLAGS_ALL)
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_conf_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_redis_url_SOURCES = tests/fuzz/fuzz-redis-url.c
tests_fuzz_fuzz_redis_url_CFLAGS = $(FUZZ_CFLAGS_ALL)
tests_fuzz_fuzz_redis_url_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_redis_url_LDADD = $(LIBPAYHOOK)
tests_fuzz_fuzz_route_SOURCES = tests/fuzz/fuzz-route.c handler/route.h handler/route.c
tests_fuzz_fuzz_route_CFLAGS = $(FUZZ_CFLAGS_ALL) -I$(top_srcdir)/handler
tests_fuzz_fuzz_route_LDFLAGS = $(FUZZ_LDFLAGS_ALL)
tests_fuzz_fuzz_route_LDADD = $(LIBPAYHOOK)

# Build the fuzz targets.
fuzz: $(FUZZ_TARGETS)
else
# Say how to get fuzz targets.
fuzz:
	@echo "payhook: fuzz targets need: CC=clang ../configure --enable-fuzzing (or scripts/fuzz)"; exit 1
endif
.PHONY: fuzz
