/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Redis contract's builders: every key builder, and every script's
 * KEYS/ARGV encoder against the order its script in lib/scripts.c reads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "call.h"
#include "conf.h"
#include "provider.h"
#include "redis.h"
#include "tap.h"

/* KEYS[i] / ARGV[i] of a call, 1-based as in Lua, "" past the end. */
static const char *
key(const struct ph_call *c, int i)
{
	return i >= 1 && i <= c->nkeys ? c->argv[i - 1] : "";
}

static const char *
arg(const struct ph_call *c, int i)
{
	return i >= 1 && c->nkeys + i <= c->argc ? c->argv[c->nkeys + i - 1] : "";
}

static void
test_keys(void)
{
	char buf[PH_KEY_MAX], small[16];

	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_QUEUE, NULL, NULL, NULL) == 13 &&
	        strcmp(buf, "payhook:queue") == 0,
	    "ph_key_of: prefix + name");
	ok(ph_key_of(buf, sizeof buf, "{ph}:", PH_KEY_PROCESSING, "w1", NULL, NULL) > 0 &&
	        strcmp(buf, "{ph}:processing:w1") == 0,
	    "ph_key_of: a hash-tag prefix and a part");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_SEEN, "oneinfinite", "n-1", NULL) > 0 &&
	        strcmp(buf, "payhook:seen:oneinfinite:n-1") == 0,
	    "ph_key_of: the seen key");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_QUEUE, "x", NULL, NULL) < 0,
	    "ph_key_of: -1 for a part the kind does not take");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_RATE, NULL, NULL, NULL) < 0,
	    "ph_key_of: -1 for a part the kind needs");
	ok(ph_key_of(small, sizeof small, "payhook:", PH_KEY_NOTIFICATIONS, NULL, NULL, NULL) < 0,
	    "ph_key_of: -1 when it does not fit");
	ok(ph_key_of(small, sizeof small, "a-prefix-too-long:", PH_KEY_DEAD, NULL, NULL, NULL) < 0,
	    "ph_key_of: -1 when the prefix alone does not fit");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_ENDPOINT_DUE, "shop", NULL, NULL) > 0 &&
	        strcmp(buf, "payhook:endpoint:shop:due") == 0,
	    "ph_key_of: an endpoint's due zset");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_ENDPOINT, "shop", NULL, NULL) > 0 &&
	        strcmp(buf, "payhook:endpoint:shop") == 0,
	    "ph_key_of: an endpoint's hash");
	ok(ph_key_endpoint_entity(buf, sizeof buf, "payhook:", "shop", "cielo", "sale", "ab") > 0 &&
	        strcmp(buf, "payhook:endpoint:shop:entity:cielo:sale:ab") == 0,
	    "ph_key_endpoint_entity: the order hash");
	ok(ph_key_of(buf, sizeof buf, "payhook:", PH_KEY_ENDPOINT_ENTITY, "shop", "cielo", "sale") <
	        0,
	    "ph_key_of: -1 for the order hash (four parts)");
	ok(ph_stat_field(buf, sizeof buf, PH_STAT_DELIVERIES, "shop", "delivered") > 0 &&
	        strcmp(buf, "deliveries:shop:delivered") == 0,
	    "ph_stat_field: deliveries");
	ok(ph_stat_field(buf, sizeof buf, PH_STAT_NOTIFICATIONS, "cielo", "spooled") > 0 &&
	        strcmp(buf, "notifications:cielo:spooled") == 0,
	    "ph_stat_field: family, then two parts");
	ok(ph_stat_field(buf, sizeof buf, PH_STAT_SPOOL, "refused", NULL) > 0 &&
	        strcmp(buf, "spool:refused") == 0,
	    "ph_stat_field: one part");
	ok(ph_key_entity(buf, sizeof buf, "payhook:", PH_KEY_PENDING, "cielo", "sale", "ab") > 0 &&
	        strcmp(buf, "payhook:pending:cielo:sale:ab") == 0,
	    "pending key");
	ok(ph_key_entity(buf, sizeof buf, "payhook:", PH_KEY_LOCK, "cielo", "sale", "ab") > 0 &&
	        strcmp(buf, "payhook:lock:cielo:sale:ab") == 0,
	    "lock key");
	ok(ph_key_entity(buf, sizeof buf, "p:", PH_KEY_ENTITY, "oneinfinite", "payment_order",
	       "po1") > 0 &&
	        strcmp(buf, "p:entity:oneinfinite:payment_order:po1") == 0,
	    "entity key");
	ok(ph_key_entity(small, sizeof small, "payhook:", PH_KEY_ENTITY, "cielo", "sale", "x") < 0,
	    "entity key: -1 when it does not fit");
}

static void
test_fetcher_calls(void)
{
	struct ph_call c;
	const char body[] = "{\"a\":\0\"b\"}"; /* bytes, with a NUL */

	ph_call_claim(&c,
	    &(struct ph_claim){ .lock_key = "L",
	        .pending_key = "P",
	        .token = "T",
	        .lock_ttl_ms = 30000 });
	ok(c.script == PH_SCRIPT_CLAIM && c.nkeys == 2 && c.argc == 4, "claim: 2 keys, 2 args");
	ok(!strcmp(key(&c, 1), "L") && !strcmp(key(&c, 2), "P") && !strcmp(arg(&c, 1), "T") &&
	        !strcmp(arg(&c, 2), "30000"),
	    "claim: KEYS lock, pending; ARGV token, lock_ttl");

	ph_call_store(&c,
	    &(struct ph_store){ .lock_key = "L",
	        .entity_key = "E",
	        .events_key = "V",
	        .processing_key = "PR",
	        .stats_key = "S",
	        .refresh_key = "R",
	        .events_trim_key = "VT",
	        .token = "T",
	        .job = "J",
	        .job_len = 1,
	        .body = body,
	        .body_len = sizeof body - 1,
	        .fetched_at = 1700000000123ull,
	        .http_status = 200,
	        .sha256 = "SHA",
	        .notification_id = "N",
	        .provider = "cielo",
	        .entity_type = "sale",
	        .entity_id = "ID",
	        .events_maxlen = 1000,
	        .events_hard_maxlen = 10000,
	        .trimmed_field = "TU",
	        .latency_field = "LF",
	        .latency_ms = 42,
	        .refresh_member = "M",
	        .refresh_class = "settled",
	        .refresh_schedule_ms = "1000",
	        .refresh_settled_ms = "2000",
	        .refresh_max_age_ms = 9000,
	        .jitter = 7,
	        .status = "2" });
	ok(c.script == PH_SCRIPT_STORE && c.nkeys == 7 && c.argc == 30, "store: 7 keys, 23 args");
	ok(!strcmp(key(&c, 1), "L") && !strcmp(key(&c, 2), "E") && !strcmp(key(&c, 3), "V") &&
	        !strcmp(key(&c, 4), "PR") && !strcmp(key(&c, 5), "S") && !strcmp(key(&c, 6), "R") &&
	        !strcmp(key(&c, 7), "VT"),
	    "store: KEYS lock, entity, events, processing, stats, refresh, events_trim");
	ok(!strcmp(arg(&c, 1), "T") && !strcmp(arg(&c, 2), "J") &&
	        c.lens[c.nkeys + 2] == sizeof body - 1 &&
	        memcmp(arg(&c, 3), body, sizeof body - 1) == 0,
	    "store: ARGV token, job, body (its length, NUL and all)");
	ok(!strcmp(arg(&c, 4), "1700000000123") && !strcmp(arg(&c, 5), "200") &&
	        !strcmp(arg(&c, 6), "SHA") && !strcmp(arg(&c, 7), "N") &&
	        !strcmp(arg(&c, 8), "cielo") && !strcmp(arg(&c, 9), "sale") &&
	        !strcmp(arg(&c, 10), "ID") && !strcmp(arg(&c, 11), "1000") &&
	        !strcmp(arg(&c, 12), "LF") && !strcmp(arg(&c, 13), "42"),
	    "store: ARGV fetched_at .. latency ms in order");
	ok(!strcmp(arg(&c, 14), "M") && !strcmp(arg(&c, 15), "settled") &&
	        !strcmp(arg(&c, 16), "1000") && !strcmp(arg(&c, 17), "2000") &&
	        !strcmp(arg(&c, 18), "9000") && !strcmp(arg(&c, 19), "7") &&
	        !strcmp(arg(&c, 20), "2"),
	    "store: ARGV refresh member .. status in order");
	ok(!strcmp(arg(&c, 21), "10000") && !strcmp(arg(&c, 22), "TU") &&
	        atol(arg(&c, 23)) == PH_EVENTS_TRIM_MS,
	    "store: ARGV hard maxlen, trimmed field, trim bound lifetime");

	ph_call_reschedule(&c,
	    &(struct ph_reschedule){ .processing_key = "PR",
	        .retry_key = "RT",
	        .dead_key = "D",
	        .lock_key = "L",
	        .stats_key = "S",
	        .pending_key = "P",
	        .job = "J",
	        .job_len = 1,
	        .dead = 1,
	        .entry = "EN",
	        .delay_ms = 5,
	        .token = "",
	        .stats_field = "F",
	        .latency_field = "",
	        .latency_sum_field = "LS",
	        .latency_ms = 0 });
	ok(c.script == PH_SCRIPT_RESCHEDULE && c.nkeys == 6 && c.argc == 16,
	    "reschedule: 6 keys, 10 args");
	ok(!strcmp(key(&c, 1), "PR") && !strcmp(key(&c, 2), "RT") && !strcmp(key(&c, 3), "D") &&
	        !strcmp(key(&c, 4), "L") && !strcmp(key(&c, 5), "S") && !strcmp(key(&c, 6), "P"),
	    "reschedule: KEYS processing, retry, dead, lock, stats, pending");
	ok(!strcmp(arg(&c, 10), "1"), "reschedule: ARGV 10, the marker is the job's");
	ok(!strcmp(arg(&c, 1), "J") && !strcmp(arg(&c, 2), "dead") && !strcmp(arg(&c, 3), "EN") &&
	        !strcmp(arg(&c, 4), "5") && !strcmp(arg(&c, 5), "") && !strcmp(arg(&c, 6), "F") &&
	        !strcmp(arg(&c, 7), "") && !strcmp(arg(&c, 8), "LS") && !strcmp(arg(&c, 9), "0"),
	    "reschedule: ARGV job, dead, entry, delay, token, fields, ms");

	ph_call_due(&c, "RT", "Q", 100);
	ok(c.script == PH_SCRIPT_DUE && c.nkeys == 2 && c.argc == 3 && !strcmp(key(&c, 1), "RT") &&
	        !strcmp(key(&c, 2), "Q") && !strcmp(arg(&c, 1), "100"),
	    "due: KEYS retry, queue; ARGV limit (the time is Redis')");

	ph_call_heartbeat(&c, "W", "w1", 30000, 50);
	ok(c.script == PH_SCRIPT_HEARTBEAT && c.nkeys == 1 && c.argc == 4 &&
	        !strcmp(key(&c, 1), "W") && !strcmp(arg(&c, 1), "w1") &&
	        !strcmp(arg(&c, 2), "30000") && !strcmp(arg(&c, 3), "50"),
	    "heartbeat: KEYS workers; ARGV worker, timeout, limit");

	ph_call_requeue(&c, "PR", "Q", "W", "w1", 99, 1);
	ok(c.script == PH_SCRIPT_REQUEUE && c.nkeys == 3 && c.argc == 6 &&
	        !strcmp(key(&c, 3), "W") && !strcmp(arg(&c, 1), "w1") &&
	        !strcmp(arg(&c, 2), "99") && !strcmp(arg(&c, 3), "1"),
	    "requeue: KEYS processing, queue, workers; ARGV worker, timeout, force");

	ph_call_rate(&c,
	    &(struct ph_rate){ .rate_key = "RK",
	        .stats_key = "S",
	        .provider = "cielo",
	        .interval_ms = 5,
	        .tolerance_ms = 20,
	        .wanted = 3,
	        .newly_held = 2 });
	ok(c.script == PH_SCRIPT_RATE && c.nkeys == 2 && c.argc == 7 &&
	        !strcmp(arg(&c, 1), "5.000") && !strcmp(arg(&c, 2), "20.000") &&
	        !strcmp(arg(&c, 3), "3") && !strcmp(arg(&c, 4), "cielo") &&
	        !strcmp(arg(&c, 5), "2"),
	    "rate: KEYS rate, stats; ARGV interval, tolerance, n, provider, held");

	ph_call_rate_penalty(&c, "RK", "S", "cielo", 2000);
	ok(c.script == PH_SCRIPT_RATE_PENALTY && c.nkeys == 2 && c.argc == 4 &&
	        !strcmp(arg(&c, 1), "2000") && !strcmp(arg(&c, 2), "cielo"),
	    "rate penalty: ARGV hold, provider");
}

static void
test_refresh_due(void)
{
	static struct ph_call c;
	int i, full = 0;

	ph_call_refresh_due(&c,
	    &(struct ph_refresh_due){ .refresh_key = "RF",
	        .queue_key = "Q",
	        .stats_key = "S",
	        .lease_ms = 86400000,
	        .pending_ttl = 3600,
	        .max_age_ms = 7776000000LL });
	ok(ph_call_refresh_due_add(&c, "P1", "E1", "m1", "j1") == 0 &&
	        ph_call_refresh_due_add(&c, "P2", "E2", "m2", "j2") == 0,
	    "refresh due: two members added");
	ok(c.script == PH_SCRIPT_REFRESH_DUE && c.nkeys == 7 && c.argc == 14,
	    "refresh due: 3 + 2x2 keys, 3 + 2x2 args");
	ok(!strcmp(key(&c, 1), "RF") && !strcmp(key(&c, 2), "Q") && !strcmp(key(&c, 3), "S") &&
	        !strcmp(key(&c, 4), "P1") && !strcmp(key(&c, 5), "E1") &&
	        !strcmp(key(&c, 6), "P2") && !strcmp(key(&c, 7), "E2"),
	    "refresh due: KEYS refresh, queue, stats, then pending and entity per member");
	ok(!strcmp(arg(&c, 1), "86400000") && !strcmp(arg(&c, 2), "3600") &&
	        !strcmp(arg(&c, 3), "7776000000") && !strcmp(arg(&c, 4), "m1") &&
	        !strcmp(arg(&c, 5), "j1") && !strcmp(arg(&c, 6), "m2") && !strcmp(arg(&c, 7), "j2"),
	    "refresh due: ARGV lease, ttl, max age, then member and job per member");
	for (i = 0; i < 200 && !full; i++)
		full = ph_call_refresh_due_add(&c, "P", "E", "m", "j") != 0;
	ok(full && c.argc <= PH_CALL_ARGS, "refresh due: a full call refuses more (%d args)",
	    c.argc);
}

static void
test_deliver_calls(void)
{
	static struct ph_call c;
	int i, full = 0;

	ph_call_deliver_intake(&c,
	    &(struct ph_deliver_intake){ .events_key = "EV",
	        .due_key = "DUE",
	        .held_key = "HELD",
	        .stats_key = "S",
	        .group = "G",
	        .superseded_field = "FS",
	        .filtered_field = "FF" });
	ok(ph_call_deliver_intake_add(&c, "O1", "1-1", "{}", 2) == 0 &&
	        ph_call_deliver_intake_add(&c, NULL, "1-2", NULL, 0) == 0,
	    "deliver intake: an entry and a filtered one added");
	ok(c.script == PH_SCRIPT_DELIVER_INTAKE && c.nkeys == 6 && c.argc == 14,
	    "deliver intake: 4 + 2 keys, 4 + 2x2 args");
	ok(!strcmp(key(&c, 1), "EV") && !strcmp(key(&c, 2), "DUE") && !strcmp(key(&c, 4), "S") &&
	        !strcmp(key(&c, 5), "O1") && !strcmp(key(&c, 6), "DUE"),
	    "deliver intake: KEYS events, due, held, stats, then the order hash (due for a "
	    "filtered one)");
	ok(!strcmp(arg(&c, 1), "G") && !strcmp(arg(&c, 4), "604800000") &&
	        !strcmp(arg(&c, 5), "1-1") && !strcmp(arg(&c, 6), "{}") &&
	        !strcmp(arg(&c, 7), "1-2") && !strcmp(arg(&c, 8), ""),
	    "deliver intake: ARGV group, fields, TTL, then id and record (\"\": filtered)");
	for (i = 0; i < 200 && !full; i++)
		full = ph_call_deliver_intake_add(&c, "O", "1-3", "{}", 2) != 0;
	ok(full && c.argc <= PH_CALL_ARGS && i > 100,
	    "deliver intake: room for 100 entries, then full");

	ph_call_deliver_claim(&c, "DUE", "HELD", "S", "EP", "FS", 20000);
	ok(ph_call_deliver_claim_add(&c, "O1", "1-1") == 0, "deliver claim: a member added");
	ok(c.script == PH_SCRIPT_DELIVER_CLAIM && c.nkeys == 5 && !strcmp(key(&c, 4), "EP") &&
	        !strcmp(key(&c, 5), "O1") && !strcmp(arg(&c, 1), "20000") &&
	        !strcmp(arg(&c, 4), "1-1"),
	    "deliver claim: KEYS due, held, stats, endpoint, order hashes; ARGV lease, field, TTL, "
	    "ids");

	ph_call_deliver_done(&c,
	    &(struct ph_deliver_done){ .due_key = "DUE",
	        .held_key = "HELD",
	        .order_key = "O",
	        .dead_key = "DEAD",
	        .stats_key = "S",
	        .endpoint_key = "EP",
	        .id = "1-1",
	        .until = "99",
	        .outcome = PH_DELIVER_RETRY,
	        .delay_ms = 1000,
	        .record = "{\"attempt\":1}",
	        .record_len = 13,
	        .outcome_field = "FR",
	        .superseded_field = "FS",
	        .latency_field = "",
	        .latency_sum_field = "LS",
	        .latency_count_field = "LC",
	        .latency_ms = 12 });
	ok(c.script == PH_SCRIPT_DELIVER_DONE && c.nkeys == 6 && c.argc == 19 &&
	        !strcmp(arg(&c, 3), "retry") && !strcmp(arg(&c, 4), "1000") &&
	        !strcmp(arg(&c, 13), "410"),
	    "deliver done: 6 keys, 13 args, the outcome by name");
}

static void
test_other_calls(void)
{
	struct ph_call c;

	ph_call_refetch(&c, "pfx:queue", "pfx:retry", "P", "J", 3600);
	ok(c.script == PH_SCRIPT_REFETCH && c.nkeys == 3 && c.argc == 5 &&
	        !strcmp(key(&c, 1), "pfx:queue") && !strcmp(key(&c, 2), "P") &&
	        !strcmp(key(&c, 3), "pfx:retry") && !strcmp(arg(&c, 1), "J") &&
	        !strcmp(arg(&c, 2), "3600"),
	    "refetch: KEYS queue, pending, retry; ARGV job, ttl");
	ph_call_dead_replay(&c,
	    &(struct ph_dead_replay){ .dead_key = "D",
	        .queue_key = "Q",
	        .pending_key = "P",
	        .retry_key = "RT",
	        .entry = "EN",
	        .job = "J",
	        .pending_ttl = 60,
	        .use_marker = 0 });
	ok(c.script == PH_SCRIPT_DEAD_REPLAY && c.nkeys == 4 && c.argc == 8 &&
	        !strcmp(key(&c, 4), "RT") && !strcmp(arg(&c, 1), "EN") &&
	        !strcmp(arg(&c, 2), "J") && !strcmp(arg(&c, 3), "60") && !strcmp(arg(&c, 4), "0"),
	    "dead replay: KEYS dead, queue, pending, retry; ARGV entry, job, ttl, marker");
	ph_call_dead_purge(&c, "D");
	ok(c.script == PH_SCRIPT_DEAD_PURGE && c.nkeys == 1 && c.argc == 1 &&
	        !strcmp(key(&c, 1), "D"),
	    "dead purge: KEYS dead");
}

static void
test_accept(void)
{
	struct ph_config cfg;
	struct ph_accept_ctx ctx;
	struct ph_accept_call call;
	struct ph_notification n;
	const struct ph_provider *cielo = provider_find("cielo", 5, NULL);
	const char body[] =
	    "{\"PaymentId\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\","
	    "\"ChangeType\":2,\"RecurrentPaymentId\":"
	    "\"11111111-2222-3333-4444-555555555555\"}";
	char err[160], *cause = NULL;

	unsetenv("PAYHOOK_REDIS_PREFIX"); /* the default prefix, whatever the environment */
	if (conf_load(&cfg, NULL, 0, &cause) != 0 || accept_init(&ctx, &cfg) != 0 ||
	    provider_decode(cielo, body, sizeof body - 1, &n, err, sizeof err) != 0) {
		ok(0, "accept: set up");
		return;
	}
	ok(accept_prepare(&ctx, cielo, &n, body, sizeof body - 1, 1234, &call) == 0,
	    "accept: prepared");
	ok(call.nkeys == 7 && call.argc == 7 + 10 + 6, "accept: 5 + 2 keys, 10 + 2x3 args");
	ok(!strcmp(call.argv[0], "payhook:seen:cielo:-") &&
	        !strcmp(call.argv[1], "payhook:queue") && !strcmp(call.argv[2], "payhook:dead") &&
	        !strcmp(call.argv[3], "payhook:notifications") &&
	        !strcmp(call.argv[4], "payhook:stats") &&
	        !strcmp(call.argv[5],
	            "payhook:pending:cielo:sale:"
	            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee") &&
	        !strncmp(call.argv[6], "payhook:pending:cielo:recurrent_payment:", 40),
	    "accept: KEYS seen, queue, dead, notifications, stats, pending per entity");
	ok(!strcmp(call.argv[7], "1234") && !strcmp(call.argv[11], "0") &&
	        !strcmp(call.argv[12], "cielo") && !strcmp(call.argv[14], "2") &&
	        call.argv[15] == body && call.lens[15] == sizeof body - 1 &&
	        !strcmp(call.argv[16], "2"),
	    "accept: ARGV now .. has_id, provider, event, body (its length), count");
	ok(!strncmp(call.argv[17], "{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\"",
	       45) &&
	        !strcmp(call.argv[18], "1") && !strcmp(call.argv[19], ""),
	    "accept: per entity the job, routed, no dead entry");
	conf_free(&cfg);
}

int
main(void)
{
	test_keys();
	test_fetcher_calls();
	test_deliver_calls();
	test_refresh_due();
	test_other_calls();
	test_accept();
	return tap_done();
}
