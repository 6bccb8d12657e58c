/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a raw notification body through provider_decode for the
 * provider named by FUZZ_PROVIDER. Beyond "no crash", a body that decodes
 * must yield what the handler relies on before it builds a Redis key: valid
 * ids, types and events, and 1..PH_MAX_ENTITIES entities (0 for an event
 * about no entity, of a provider with notification ids).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

#ifndef FUZZ_PROVIDER
#error FUZZ_PROVIDER must name a provider
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless a decoded notification holds only what may reach a key. */
static void
fuzz_check(const struct ph_provider *p, const struct ph_notification *n)
{
	int i;

	/* 0 only for an event about no entity, recorded under its notification id. */
	if (n->nentities < 0 || n->nentities > PH_MAX_ENTITIES ||
	    (n->nentities == 0 && !p->has_notification_id))
		abort();
	if (p->has_notification_id && !ph_id_valid(n->id, strlen(n->id)))
		abort();
	if (n->event[0] != '\0' && !ph_event_valid(n->event, strlen(n->event)))
		abort();
	for (i = 0; i < n->nentities; i++) {
		if (!ph_type_valid(n->entities[i].type, strlen(n->entities[i].type)))
			abort();
		if (!ph_id_valid(n->entities[i].id, strlen(n->entities[i].id)))
			abort();
	}
}

/* Decode one body. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ph_provider *p;
	struct ph_notification n;
	char err[256];
	size_t idx;

	if (p == NULL) {
		p = provider_find(FUZZ_PROVIDER, strlen(FUZZ_PROVIDER), &idx);
		if (p == NULL)
			abort();
	}
	/* The handler never passes more than max_body (at most 1 MiB). */
	if (size > 1024 * 1024)
		return 0;
	err[0] = '\0';
	if (provider_decode(p, (const char *)data, size, &n, err, sizeof err) == 0)
		fuzz_check(p, &n);
	else if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
		abort(); /* a rejection always says why (the 400's message) */
	return 0;
}
