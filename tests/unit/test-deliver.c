/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* payhook-deliver's formats and decisions: record, body, outcome, schedule, buckets. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "deliver.h"
#include "tap.h"

/* An endpoint with a schedule of 1,1,2 seconds. */
static void
endpoint(struct ph_endpoint_cfg *e)
{
	memset(e, 0, sizeof *e);
	snprintf(e->name, sizeof e->name, "shop");
	e->retry_s[0] = 1;
	e->retry_s[1] = 1;
	e->retry_s[2] = 2;
	e->nretry = 3;
	e->provider_mask = ~0u;
}

static void
test_record(void)
{
	struct deliver_record r, back;
	struct deliver_buf b = { 0 };
	char *keep = NULL;
	const char *names[] = { "provider", "entity_type", "entity_id", "fetched_at", "status",
		"body" };
	const char *values[] = { "cielo", "sale", "s-1", "1764964800123", "PAID",
		"{\"a\":\"x\\\"y\",\"n\":1}" };
	size_t nl[6], vl[6];
	int i;

	for (i = 0; i < 6; i++) {
		nl[i] = strlen(names[i]);
		vl[i] = strlen(values[i]);
	}
	ok(deliver_record_from_fields("1764964800123-7", names, nl, values, vl, 6, &r) == 0,
	    "record: from an events entry");
	ok(deliver_record_json(&r, NULL, 0, &b) == 0 &&
	        strcmp(b.p,
	            "{\"id\":\"1764964800123-7\",\"provider\":\"cielo\",\"entity_type\":\"sale\","
	            "\"entity_id\":\"s-1\",\"fetched_at\":1764964800123,\"status\":\"PAID\","
	            "\"body\":\"{\\\"a\\\":\\\"x\\\\\\\"y\\\",\\\"n\\\":1}\",\"attempt\":0}") == 0,
	    "record: as JSON (%s)", b.p);
	ok(deliver_record_parse(b.p, b.len, &back, &keep) == 0 &&
	        strcmp(back.entity_id, "s-1") == 0 && back.fetched_at == 1764964800123ULL &&
	        back.body_len == strlen(values[5]) &&
	        memcmp(back.body, values[5], back.body_len) == 0,
	    "record: read back");
	free(keep);
	ok(deliver_body(&r, &b) == 0 &&
	        strcmp(b.p,
	            "{\"type\":\"cielo.sale.updated\",\"timestamp\":\"2025-12-05T20:00:00.123Z\","
	            "\"data\":{\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"s-"
	            "1\","
	            "\"fetched_at\":1764964800123,\"status\":\"PAID\",\"entity\":{\"a\":\"x\\\"y\","
	            "\"n\":1}}}") == 0,
	    "body: Standard Webhooks payload with the entity raw (%s)", b.p);
	r.body = "not json";
	r.body_len = 8;
	ok(deliver_body(&r, &b) == 0 && strstr(b.p, "\"entity\":\"not json\"") != NULL,
	    "body: a stored body that is not JSON goes as a string");
	r.attempt = 3;
	ok(deliver_record_json(&r, "http_500", 42, &b) == 0 &&
	        strstr(b.p,
	            ",\"attempt\":3,\"reason\":\"http_500\",\"attempts\":3,\"dead_at\":42}") !=
	            NULL,
	    "record: a dead entry");
	values[2] = "a:b";
	vl[2] = 3;
	ok(deliver_record_from_fields("1-1", names, nl, values, vl, 6, &r) != 0,
	    "record: an entity id outside [A-Za-z0-9_-] is refused (it names a key)");
	ok(deliver_record_from_fields("1-1", names, nl, values, vl, 3, &r) != 0,
	    "record: fields missing");
	ok(deliver_record_parse("{\"id\":1}", 8, &back, &keep) != 0 && keep == NULL,
	    "record: not a record");
	deliver_buf_free(&b);
}

static void
test_classify(void)
{
	struct ph_endpoint_cfg e;
	char reason[64];
	uint64_t delay;
	int i, in = 1;

	endpoint(&e);
	ok(deliver_classify(&e, 204, NULL, 0, 0, 0, &delay, reason, sizeof reason) == DELIVER_OK,
	    "classify: 2xx delivered");
	ok(deliver_classify(&e, 410, NULL, 0, 0, 0, &delay, reason, sizeof reason) ==
	        DELIVER_DISABLE,
	    "classify: 410 disables");
	ok(deliver_classify(&e, 500, NULL, 0, 0, 0, &delay, reason, sizeof reason) ==
	            DELIVER_RETRY &&
	        strcmp(reason, "http_500") == 0 && delay >= 900 && delay <= 1100,
	    "classify: 500 retries after the first step +-10%% (%llu)", (unsigned long long)delay);
	for (i = 0; i < 1000; i++) {
		deliver_classify(&e, 500, NULL, 0, 2, (uint64_t)i * 7919, &delay, reason,
		    sizeof reason);
		in = in && delay >= 1800 && delay <= 2200;
	}
	ok(in, "classify: the jitter stays within 10%% of the step");
	ok(deliver_classify(&e, 302, NULL, 0, 0, 0, &delay, reason, sizeof reason) ==
	            DELIVER_RETRY &&
	        strcmp(reason, "http_302") == 0,
	    "classify: a redirect is a failure");
	ok(deliver_classify(&e, 0, "timeout", 0, 1, 0, &delay, reason, sizeof reason) ==
	            DELIVER_RETRY &&
	        strcmp(reason, "timeout") == 0,
	    "classify: a timeout retries");
	ok(deliver_classify(&e, 500, NULL, 0, 3, 0, &delay, reason, sizeof reason) == DELIVER_DEAD,
	    "classify: dead after the last step");
	ok(deliver_classify(&e, 429, NULL, 1, 0, 0, &delay, reason, sizeof reason) ==
	            DELIVER_RETRY &&
	        delay == 1000,
	    "classify: 429 Retry-After honoured");
	ok(deliver_classify(&e, 503, NULL, 3600, 0, 0, &delay, reason, sizeof reason) ==
	            DELIVER_RETRY &&
	        delay == 2000,
	    "classify: Retry-After capped at the longest step");
	ok(deliver_classify(&e, 429, NULL, 1, 3, 0, &delay, reason, sizeof reason) == DELIVER_DEAD,
	    "classify: Retry-After counts as an attempt");
	is_str(deliver_bucket(0), "0.05", "bucket: 0 ms");
	is_str(deliver_bucket(100), "0.1", "bucket: 100 ms");
	is_str(deliver_bucket(10001), "+Inf", "bucket: past 10 s");
}

int
main(void)
{
	test_record();
	test_classify();
	return tap_done();
}
