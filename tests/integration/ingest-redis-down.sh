# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis down: payhook-fcgi answers 503 with Retry-After (the provider retries),
# /healthz says 503; Redis back: 200 again with nothing restarted, and what was
# accepted before the outage is still there (AOF).
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
OI='{"id":"before1","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"po1"}'
is "$(post "$BASE/webhooks/oneinfinite" "$OI")" '200 {"status":"accepted"}' "accepted while Redis is up"
handler_pid=$(cat "$T/handler.pid")

ph_stop_redis "$T/redis"
hdrs=$(curl -s -i -X POST --data-binary '{"id":"during1","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"po2"}' "$BASE/webhooks/oneinfinite" | tr -d '\r')
like "$hdrs" '^HTTP/1.1 503' "Redis stopped: 503"
like "$hdrs" $'\nRetry-After: [0-9]+\n' "503 carries Retry-After"
like "$hdrs" '\{"error":"unavailable"\}$' "503 body"
is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" 503 "healthz: 503 while Redis is down"
# Several requests in a row: each answered quickly (no hang), still 503.
codes=$(for i in 1 2 3 4 5 6; do curl -s -m 5 -o /dev/null -w '%{http_code} ' -X POST --data-binary "{\"id\":\"d$i\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"po$i\"}" "$BASE/webhooks/oneinfinite"; done)
is "$codes" "503 503 503 503 503 503 " "every request during the outage: 503, none hangs"

ph_start_redis "$T/redis" "$REDIS_PORT" || tap_ok 1 "redis restarted"
# The handler reconnects on its own (with a short back-off): poll, bounded.
back() { [ "$(post "$BASE/webhooks/oneinfinite" '{"id":"after1","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"po9"}' | cut -c1-3)" = 200 ]; }
ph_wait_for back
tap_ok $? "Redis back: 200 again without restarting anything"
is "$(cat "$T/handler.pid")" "$handler_pid" "same payhook-fcgi process"
kill -0 "$handler_pid"
tap_ok $? "payhook-fcgi still running"
is "$(rcli exists payhook:seen:oneinfinite:before1)" 1 "the notification accepted before the outage survived (AOF)"
is "$(rcli llen payhook:queue)" 2 "queue: the job from before and the one after"
is "$(rcli exists payhook:seen:oneinfinite:d1)" 0 "nothing half-written from the outage"
is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" 200 "healthz: 200 again"

# Redis restarted while no request comes: every thread's connection is stale,
# yet not one provider sees a 503 (the first command on a dead connection is
# tried once more on a new one).
for i in $(seq 1 8); do post "$BASE/webhooks/oneinfinite" "{\"id\":\"warm$i\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"w$i\"}" >/dev/null; done
ph_stop_redis "$T/redis"
ph_start_redis "$T/redis" "$REDIS_PORT"
codes=$(for i in $(seq 1 8); do post "$BASE/webhooks/oneinfinite" "{\"id\":\"re$i\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"r$i\"}" | cut -c1-3; done | tr '\n' ' ')
is "$codes" "200 200 200 200 200 200 200 200 " "after a quiet Redis restart: the very first requests are 200"
is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" 200 "and healthz 200"
tap_done
