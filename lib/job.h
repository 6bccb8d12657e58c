/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Jobs: one line of JSON per entity to refetch (DESIGN.md: Job).
 * {"v":1,"provider":"cielo","entity_type":"sale","entity_id":"...",
 *  "notification_id":"...","event":"1","received_at":1763900000123,"attempt":0}
 */
#ifndef PH_JOB_H
#define PH_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "payhook.h"

struct ph_job {
	char provider[PH_PROVIDER_MAX + 1];
	char entity_type[PH_TYPE_MAX + 1];
	char entity_id[PH_ID_MAX + 1];
	char notification_id[PH_ID_MAX + 1];
	char event[PH_EVENT_MAX + 1];
	uint64_t received_at;
	long attempt;
};

#define PH_JOB_ATTEMPT_MAX 1000000

/* Encode a job into buf; its length, or -1 if a field is invalid or it does not fit. */
int job_encode(const struct ph_job *j, char *buf, size_t len);

/* Encode a dead-letter entry: the job plus error, attempts, failed_at. */
int job_encode_dead(const struct ph_job *j, const char *error, long attempts, uint64_t failed_at,
    char *buf, size_t len);

/* Decode and validate a job (extra members, as in dead entries, are ignored). */
int job_decode(const char *s, size_t len, struct ph_job *j, char *err, size_t errlen);

#endif
