/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a queue entry through job_decode. A job that decodes must
 * encode again (it is what the fetcher re-queues on a retry) and decode back
 * to the same job. One that does not is what the fetcher dead-letters with
 * fetch_encode_invalid: that entry must be one JSON object whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fetch.h"
#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless two jobs are the same. */
static void
fuzz_same(const struct ph_job *a, const struct ph_job *b)
{
	if (strcmp(a->provider, b->provider) != 0 || strcmp(a->entity_type, b->entity_type) != 0 ||
	    strcmp(a->entity_id, b->entity_id) != 0 ||
	    strcmp(a->notification_id, b->notification_id) != 0 ||
	    strcmp(a->event, b->event) != 0 || a->received_at != b->received_at ||
	    a->attempt != b->attempt)
		abort();
}

/* Abort unless the dead-letter entry of an unreadable job is a JSON object. */
static void
fuzz_invalid(const uint8_t *data, size_t size, const char *reason)
{
	char buf[(PH_FETCH_RAW_MAX + 256) * 6 + 128];
	struct json_tokener *tok;
	struct json_object *o;
	int len;

	len = fetch_encode_invalid((const char *)data, size, reason, 1763900000123ULL, buf,
	    sizeof buf);
	if (len < 0 || (size_t)len >= sizeof buf)
		abort(); /* sized for the worst case: every byte as \u00XX */
	tok = json_tokener_new();
	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, buf, len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != (size_t)len ||
	    !json_object_is_type(o, json_type_object))
		abort();
	json_object_put(o);
	json_tokener_free(tok);
}

/* Decode one job, then round-trip it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_job j, back;
	char buf[PH_JOB_MAX + 1], dead[PH_JOB_MAX + 256], err[256];
	int len;

	err[0] = '\0';
	if (job_decode((const char *)data, size, &j, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort();
		fuzz_invalid(data, size, err);
		return 0;
	}
	len = job_encode(&j, buf, sizeof buf);
	if (len < 0 || (size_t)len >= sizeof buf)
		abort();
	if (job_decode(buf, (size_t)len, &back, err, sizeof err) != 0)
		abort();
	fuzz_same(&j, &back);
	/* A dead-letter entry of it decodes as the same job (extra members ignored). */
	len = job_encode_dead(&j, "no_route", j.attempt, 1763900000123ULL, dead, sizeof dead);
	if (len > 0 && (size_t)len <= PH_JOB_MAX) {
		if (job_decode(dead, (size_t)len, &back, err, sizeof err) != 0)
			abort();
		fuzz_same(&j, &back);
	}
	return 0;
}
