/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a config file through conf_load (written to a temp file,
 * as the daemons read it; the environment is read too, as in production). A
 * file that loads must give settings inside their bounds and a Redis URL that
 * parses; one that does not must say why. conf_free runs either way, so
 * LeakSanitizer sees every string of both paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/payhook-fuzz-conf.XXXXXX";
static int fuzz_fd = -1;

/* Remove the temp file at exit. */
static void
fuzz_cleanup(void)
{
	if (fuzz_fd != -1)
		unlink(fuzz_path);
}

/* Write data to the temp file, replacing what was there. */
static int
fuzz_write(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	if (fuzz_fd == -1) {
		fuzz_fd = mkstemp(fuzz_path);
		if (fuzz_fd == -1)
			abort();
		atexit(fuzz_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) != 0 || lseek(fuzz_fd, 0, SEEK_SET) != 0)
		abort();
	while (off < size) {
		n = write(fuzz_fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	return 0;
}

/* Load one config file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_config cfg;
	struct ph_redis_addr a;
	char *cause = NULL, err[256];

	if (size > 64 * 1024)
		return 0;
	fuzz_write(data, size);
	if (conf_load(&cfg, fuzz_path, 1, &cause) == 0) {
		if (cause != NULL)
			abort();
		if (cfg.handler.max_body < 1 || cfg.handler.threads < 1 ||
		    cfg.fetcher.concurrency < 1)
			abort();
		if (cfg.redis.url == NULL ||
		    ph_redis_parse_url(cfg.redis.url, &a, err, sizeof err) != 0)
			abort();
	} else if (cause == NULL || cause[0] == '\0')
		abort();
	free(cause);
	conf_free(&cfg);
	return 0;
}
