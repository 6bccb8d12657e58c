/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a redis.url value through ph_redis_parse_url. A URL that
 * parses names exactly one of a host or a socket path, a port in 1..65535
 * and a database in 0..100000, every field NUL-terminated in its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse one URL. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_redis_addr a;
	char *url, err[256];

	/* A config value is one line of at most a few KiB. */
	if (size > 4096)
		return 0;
	url = malloc(size + 1);
	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	err[0] = '\0';
	if (ph_redis_parse_url(url, &a, err, sizeof err) == 0) {
		if (memchr(a.host, '\0', sizeof a.host) == NULL ||
		    memchr(a.path, '\0', sizeof a.path) == NULL ||
		    memchr(a.user, '\0', sizeof a.user) == NULL ||
		    memchr(a.password, '\0', sizeof a.password) == NULL)
			abort();
		if ((a.host[0] == '\0') == (a.path[0] == '\0'))
			abort();
		if (a.host[0] != '\0' && (a.port < 1 || a.port > 65535))
			abort();
		if (a.db < 0 || a.db > 100000)
			abort();
	} else if (err[0] == '\0')
		abort();
	free(url);
	return 0;
}
