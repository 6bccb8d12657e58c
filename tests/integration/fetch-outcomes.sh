# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-fetcher against the provider API stand-in, behind a real nginx +
# payhook-fcgi + Redis: each outcome of a GET (stored, unchanged, retried then
# stored, 404 then dead, 401 dead, max_attempts dead, body too large, bad job),
# checked in Redis and in the stand-in's request log.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

PO=/v1/payment_orders

# --- 2xx: stored, with an event only when the body changed.
si_post set "{\"path\":\"$PO/po1\",\"body\":{\"id\":\"po1\",\"status\":\"CLOSED\",\"v\":1}}"
is "$(oi_notify n1 payment_order po1)" '200 {"status":"accepted"}' "notification accepted"
fetch_once; is $? 0 "--once drains and exits 0"
body='{"id":"po1","status":"CLOSED","v":1}'
is "$(ehget oneinfinite payment_order po1 body)" "$body" "snapshot body is the API's answer"
is "$(ehget oneinfinite payment_order po1 http_status)" 200 "snapshot http_status"
is "$(ehget oneinfinite payment_order po1 sha256)" "$(printf %s "$body" | sha256sum | cut -d' ' -f1)" "snapshot sha256 of the body"
is "$(ehget oneinfinite payment_order po1 notification_id)" n1 "snapshot notification_id"
like "$(ehget oneinfinite payment_order po1 fetched_at)" '^[0-9]{13}$' "snapshot fetched_at in ms"
is "$(rcli xlen payhook:events)" 1 "one event"
like "$(rcli xrange payhook:events - + | tr '\n' ' ')" "provider oneinfinite entity_type payment_order entity_id po1 fetched_at [0-9]{13} status [A-Za-z_]* body \{\"id\":\"po1\"" "event fields"
is "$(rcli exists payhook:pending:oneinfinite:payment_order:po1 payhook:lock:oneinfinite:payment_order:po1)" 0 "pending marker and lock gone"
is "$(rcli llen payhook:queue) $(rcli llen payhook:processing:once) $(rcli zcard payhook:retry) $(rcli llen payhook:dead)" "0 0 0 0" "queue, processing, retry, dead empty"
is "$(rcli zscore payhook:workers once)" "" "a fetcher that exits leaves the workers zset"
req=$(si_log | grep "\"path\": \"$PO/po1\"")
is "$(echo "$req" | grep -c .)" 1 "exactly one GET of the entity"
like "$req" '"x-api-key": "oi-key"' "x-api-key sent"
like "$req" '"x-api-secret": "oi-secret"' "x-api-secret sent"
like "$req" '"method": "GET"' "it is a GET"

oi_notify n2 payment_order po1 >/dev/null
fetch_once
is "$(si_count "$PO/po1")" 2 "a new notification refetches"
is "$(rcli xlen payhook:events)" 1 "same body: no new event"
is "$(ehget oneinfinite payment_order po1 notification_id)" n2 "snapshot names the latest notification"
si_post set "{\"path\":\"$PO/po1\",\"body\":{\"id\":\"po1\",\"status\":\"REFUNDED\",\"v\":2}}"
oi_notify n3 payment_order po1 >/dev/null
fetch_once
is "$(rcli xlen payhook:events)" 2 "changed body: a new event"
is "$(ehget oneinfinite payment_order po1 body)" '{"id":"po1","status":"REFUNDED","v":2}' "snapshot updated"
is "$(rcli hget payhook:stats fetch:oneinfinite:stored) $(rcli hget payhook:stats fetch:oneinfinite:unchanged)" "2 1" "stats count changed (stored) and unchanged stores"

# --- Cielo: ChangeType 2 fetches the sale and the recurrence, with its headers.
SALE=9f8e7d6c-5b4a-4321-8765-0fedcba98765
REC=4c5a7a2e-1d3b-4f6e-9a8b-0c1d2e3f4a5b
is "$(post "$BASE/webhooks/cielo" "{\"RecurrentPaymentId\":\"$REC\",\"PaymentId\":\"$SALE\",\"ChangeType\":\"2\"}")" '200 {"status":"accepted"}' "cielo notification accepted"
fetch_once
like "$(ehget cielo sale $SALE body)" "\"PaymentId\":\"$SALE\"" "cielo sale stored"
like "$(ehget cielo recurrent_payment $REC body)" "\"RecurrentPaymentId\":\"$REC\"" "cielo recurrence stored"
sreq=$(si_log | grep "\"path\": \"/1/sales/$SALE\"")
rreq=$(si_log | grep "\"path\": \"/1/RecurrentPayment/$REC\"")
is "$(echo "$sreq" | grep -c .) $(echo "$rreq" | grep -c .)" "1 1" "one GET each, on the exact paths"
like "$sreq" '"MerchantId": "cielo-merchant"' "MerchantId sent"
like "$sreq" '"MerchantKey": "cielo-key"' "MerchantKey sent"
rid1=$(echo "$sreq" | grep -o '"RequestId": "[^"]*"')
rid2=$(echo "$rreq" | grep -o '"RequestId": "[^"]*"')
like "$rid1" '"RequestId": "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"' "RequestId is a fresh v4 GUID"
tap_ok "$([ "$rid1" != "$rid2" ]; echo $?)" "each request has its own RequestId"

# --- 5xx, 429 (Retry-After), timeout, dropped connection: retried, then stored.
si_post script "{\"path\":\"$PO/po5\",\"responses\":[{\"status\":503},{\"status\":429,\"retry_after\":1},{\"delay_ms\":2600},{\"drop\":true}]}"
si_post script "{\"path\":\"$PO/po6\",\"responses\":[{\"drop\":true},{\"status\":500}]}"
oi_notify n5 payment_order po5 >/dev/null
oi_notify n6 payment_order po6 >/dev/null
cp "$CONF" "$T/retry.conf"
sed -i 's/^max_attempts = 4$/max_attempts = 5/' "$T/retry.conf"
CONF_SAVED=$CONF CONF="$T/retry.conf"
fetcher_start r1
PH_WAIT=20 ph_wait_for stored oneinfinite payment_order po5
PH_WAIT=10 ph_wait_for stored oneinfinite payment_order po6
fetcher_stop r1
is "$STOP_RC" 0 "SIGTERM: the fetcher exits 0"
CONF=$CONF_SAVED
like "$(ehget oneinfinite payment_order po5 body)" '"id":"po5"' "503, 429, timeout, drop: then stored"
# The timed-out GET is logged when the stand-in answers it, late: wait for it.
ph_wait_for si_inflight_is 0
seq5=$(si_log | grep -F "\"path\": \"$PO/po5\"" | python3 -c '
import json, sys
print(" ".join(str(e["status"]) for e in sorted((json.loads(l) for l in sys.stdin), key=lambda e: e["start"])))')
is "$seq5" "503 429 200 0 200" "five GETs: 503, 429, timeout (answered late), drop, success"
is "$(si_count "$PO/po6")" 3 "drop, 500, then stored: three GETs"
gap=$(si_log | grep "\"path\": \"$PO/po5\"" | python3 -c '
import json, sys
e = sorted((json.loads(l) for l in sys.stdin), key=lambda x: x["start"])
i = [k for k, x in enumerate(e) if x["status"] == 429][0]
print("%.2f" % (e[i + 1]["start"] - e[i]["t"]))')
ok=1; python3 -c "import sys; sys.exit(0 if float('$gap') >= 0.95 else 1)" && ok=0
tap_ok $ok "Retry-After: 1 honoured over a 300 ms backoff cap (gap ${gap}s)"
is "$(rcli llen payhook:dead)" 0 "nothing dead"
like "$(rcli hget payhook:stats fetch:oneinfinite:retried)" '^[5-9]$' "retries counted"

# --- 404: a few retries (not_found_attempts = 2), then dead.
si_post script "{\"path\":\"$PO/po404\",\"responses\":[{\"status\":404,\"times\":-1}]}"
oi_notify n404 payment_order po404 >/dev/null
once_until dead_has po404
is "$(dead_field 0 error)" not_found "404: dead as not_found"
is "$(dead_field 0 attempts)" 2 "after not_found_attempts GETs"
is "$(dead_field 0 entity_id)" po404 "the dead entry is the job"
like "$(dead_field 0 failed_at)" '^[0-9]{13}$' "with failed_at"
is "$(si_count "$PO/po404")" 2 "two GETs"
is "$(rcli exists payhook:entity:oneinfinite:payment_order:po404)" 0 "nothing stored"

# --- 401 / 403: dead as unauthorized at once, with no retry.
si_post script "{\"path\":\"$PO/po401\",\"responses\":[{\"status\":403,\"times\":-1}]}"
oi_notify n401 payment_order po401 >/dev/null
fetch_once
is "$(dead_field 0 error) $(dead_field 0 attempts)" "unauthorized 1" "403: dead unauthorized after one GET"
is "$(si_count "$PO/po401")" 1 "one GET"
oi_notify nbad payment_order pobad >/dev/null
PAYHOOK_ONEINFINITE_API_SECRET=wrong fetch_once
is "$(dead_field 0 error) $(dead_field 0 entity_id)" "unauthorized pobad" "wrong secret: the API's 401 makes it dead unauthorized"
like "$(si_log | grep "$PO/pobad")" '"x-api-secret": "wrong".*"status": 401' "the stand-in saw the wrong secret and answered 401"
is "$(grep -c 'wrong' "$T/fetcher-once.log")" 0 "the secret is never logged"

# --- A provider without credentials in the config: dead, no request.
grep -v '^merchant_key' "$CONF" >"$T/nocreds.conf"
before=$(si_log | grep -c .)
post "$BASE/webhooks/cielo" '{"PaymentId":"11111111-2222-4333-8444-555555555555","ChangeType":1}' >/dev/null
CONF_SAVED=$CONF CONF="$T/nocreds.conf"
fetch_once
CONF=$CONF_SAVED
is "$(dead_field 0 error) $(dead_field 0 entity_id)" "no_credentials 11111111-2222-4333-8444-555555555555" "no merchant_key: dead no_credentials"
is "$(si_log | grep -c .)" "$before" "and no request sent"

# --- max_attempts: dead with the last error.
si_post script "{\"path\":\"$PO/po500\",\"responses\":[{\"status\":502,\"times\":2},{\"status\":500,\"times\":-1}]}"
oi_notify n500 payment_order po500 >/dev/null
once_until dead_has po500
is "$(dead_field 0 error) $(dead_field 0 attempts)" "http_500 4" "max_attempts (4): dead with the last error"
is "$(si_count "$PO/po500")" 4 "four GETs"

# --- A body over max_body: dead, nothing stored.
big=$(python3 -c 'print("{\"pad\":\"" + "x" * 70000 + "\"}")')
printf '{"path":"%s/pobig","body":"%s"}' "$PO" "$(echo "$big" | sed 's/"/\\"/g')" >"$T/big.json"
curl -sf -X POST --data-binary @"$T/big.json" "$SI/_control/set" >/dev/null
oi_notify nbig payment_order pobig >/dev/null
fetch_once
like "$(dead_field 0 error)" '^body_too_large' "body over max_body (64 KiB here): dead body_too_large"
is "$(rcli exists payhook:entity:oneinfinite:payment_order:pobig)" 0 "nothing stored"

# --- Invalid ids never reach the API.
before=$(si_log | grep -c .)
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"x1","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"../../v1/x"}' | cut -c1-3)" 400 "an invalid id is refused by the handler"
rcli lpush payhook:queue '{"v":1,"provider":"oneinfinite","entity_type":"payment_order","entity_id":"a/../b","notification_id":"f","event":"","received_at":1,"attempt":0}' >/dev/null
rcli lpush payhook:queue 'not a job' >/dev/null
fetch_once
is "$(si_log | grep -c .)" "$before" "no request for an invalid id or a broken job"
like "$(dead_field 1 error)" '^invalid_job: job: entity_id is not valid' "a forged job with a bad id: dead invalid_job"
like "$(rcli lindex payhook:dead 0)" '"error":"invalid_job: job: not a JSON object","raw":"not a job"' "a broken job: dead with its raw text"

# --- Connections reused, transfers bounded by --concurrency.
si_post reset '{}'
si_post latency '{"min_ms":5,"max_ms":30}'
for i in $(seq 1 24); do oi_notify "c$i" payment_order "pc$i" >/dev/null; done
fetch_once --concurrency 3
n=$(si_log | grep -c .)
ports=$(si_log | grep -o '"client": [0-9]*' | sort -u | grep -c .)
is "$n" 24 "24 entities: 24 GETs"
ok=1; [ "$ports" -ge 1 ] && [ "$ports" -le 3 ] && ok=0
tap_ok $ok "at most --concurrency 3 connections, reused ($ports for $n requests)"
is "$(rcli --scan --pattern 'payhook:entity:oneinfinite:payment_order:pc*' | grep -c .)" 24 "all stored"

# --- SIGTERM with a slow GET in flight: it finishes, then exit 0.
si_post script "{\"path\":\"$PO/poterm\",\"responses\":[{\"delay_ms\":1200}]}"
fetcher_start term
oi_notify nterm payment_order poterm >/dev/null
ph_wait_for rcli_is 1 llen payhook:processing:term
fetcher_stop term
is "$STOP_RC" 0 "SIGTERM while a GET is in flight: exit 0"
like "$(ehget oneinfinite payment_order poterm body)" '"id":"poterm"' "the in-flight GET was finished and stored"
is "$(rcli llen payhook:processing:term) $(rcli zscore payhook:workers term)" "0 " "nothing held, left the workers zset"

# --- A fetch whose lock was taken over during its GET stores nothing, and is retried.
si_post script "{\"path\":\"$PO/polost\",\"responses\":[{\"delay_ms\":1000}]}"
fetcher_start lost
oi_notify nlost payment_order polost >/dev/null
ph_wait_for rcli_is 1 exists payhook:lock:oneinfinite:payment_order:polost
rcli set payhook:lock:oneinfinite:payment_order:polost intruder px 60000 >/dev/null
ph_wait_for grep -q 'id=polost attempt=1 error="lock_lost"' "$T/fetcher-lost.log"
tap_ok $? "the GET ended with the lock no longer its own: lock_lost"
is "$(rcli exists payhook:entity:oneinfinite:payment_order:polost)" 0 "nothing stored by it"
is "$(rcli get payhook:lock:oneinfinite:payment_order:polost)" intruder "the other holder's lock is left alone"
rcli del payhook:lock:oneinfinite:payment_order:polost >/dev/null
ph_wait_for stored oneinfinite payment_order polost
tap_ok $? "once the lock is free, the retry stores it"
fetcher_stop lost

# --- Metrics: every GET's outcome and latency, summed in Redis for /metrics.
m=$(curl -s "$BASE/metrics")
sum=0
for o in stored unchanged retried dead; do
	sum=$((sum + $(rcli hget payhook:stats "fetch:oneinfinite:$o")))
done
like "$m" "payhook_fetches_total\{provider=\"oneinfinite\",outcome=\"stored\"\} [0-9]+" "/metrics has the fetch outcomes"
like "$m" "payhook_fetch_duration_seconds_count\{provider=\"oneinfinite\"\} $sum" "one latency observation per OneInfinite GET outcome ($sum)"
tap_done
