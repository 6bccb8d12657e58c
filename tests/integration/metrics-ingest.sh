# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# /metrics after a known sequence of notifications, sent through two nginx +
# payhook-fcgi pairs sharing one Redis: the counters are the sums over both
# processes, rejected requests are counted by reason, and the gauges match
# the keys.
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
# A second payhook-fcgi behind a second nginx, same Redis.
mkdir -p "$T/b"
ph_start_handler "$T/b" "$CONF" || tap_ok 1 "second handler"
PORT_B=$(ph_free_port)
ph_start_nginx "$T/b" "$PORT_B" || tap_ok 1 "second nginx"
A=$BASE B="http://127.0.0.1:$PORT_B"

oi() { echo "{\"id\":\"$1\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"$2\"}"; }
for i in 1 2 3; do post "$A/webhooks/oneinfinite" "$(oi a$i po$i)" >/dev/null; done
for i in 4 5; do post "$B/webhooks/oneinfinite" "$(oi b$i po$i)" >/dev/null; done
post "$B/webhooks/oneinfinite" "$(oi a1 po1)" >/dev/null                      # duplicate
post "$A/webhooks/cielo" '{"PaymentId":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","ChangeType":2,"RecurrentPaymentId":"4c5a7a2e-1d3b-4f6e-9a8b-0c1d2e3f4a5b"}' >/dev/null
post "$A/webhooks/oneinfinite" 'nope' >/dev/null                               # 400
post "$B/webhooks/oneinfinite" '{"id":"x"}' >/dev/null                         # 400
post "$B/webhooks/cielo" '[]' >/dev/null                                       # 400
post "$A/webhooks/paypal" '{}' >/dev/null                                      # 404 unknown
curl -s -o /dev/null "$B/webhooks/cielo"                                        # 405

# The handlers add their counts of rejected requests to Redis once a second.
flushed() { [ "$(rcli hget payhook:stats notifications:unknown:rejected:not_found)" = 1 ] &&
	[ "$(rcli hget payhook:stats notifications:cielo:rejected:method_not_allowed)" = 1 ] &&
	[ "$(rcli hget payhook:stats notifications:oneinfinite:rejected:invalid_notification)" = 2 ]; }
ph_wait_for flushed
tap_ok $? "rejected requests counted in Redis within the flush interval"

m=$(curl -s "$A/metrics")
mb=$(curl -s "$B/metrics")
# The totals are Redis'; each process adds its own group-commit counters.
shared() { echo "$1" | grep -v 'oldest_age\|^payhook_accept_\(batches\|calls\)_total '; }
ok=0; [ -n "$m" ] && [ "$(shared "$m")" = "$(shared "$mb")" ] || ok=1
tap_ok $ok "both processes show the same totals"
like "$m" $'\npayhook_accept_calls_total 4(\n|$)' "A's own: 4 accept calls, 3 OneInfinite and 1 Cielo (payhook_accept_calls_total)"
like "$mb" $'\npayhook_accept_calls_total 3(\n|$)' "B's own: 3 accept calls"
val() { echo "$m" | grep -v '^#' | grep -F "$1" | awk '{print $NF}'; }
is "$(val 'payhook_notifications_total{provider="oneinfinite",outcome="accepted"}')" 5 "accepted oneinfinite: 3 via A + 2 via B"
is "$(val 'payhook_notifications_total{provider="oneinfinite",outcome="duplicate"}')" 1 "duplicate"
is "$(val 'payhook_notifications_total{provider="cielo",outcome="accepted"}')" 1 "accepted cielo"
is "$(val 'payhook_notifications_total{provider="oneinfinite",outcome="rejected",reason="invalid_notification"}')" 2 "rejected oneinfinite by reason"
is "$(val 'payhook_notifications_total{provider="cielo",outcome="rejected",reason="invalid_notification"}')" 1 "rejected cielo by reason"
is "$(val 'payhook_notifications_total{provider="unknown",outcome="rejected",reason="not_found"}')" 1 "unknown provider"
is "$(val 'payhook_notifications_total{provider="cielo",outcome="rejected",reason="method_not_allowed"}')" 1 "405"
is "$(val 'payhook_queue_jobs ')" 7 "queue gauge: 5 + 2 jobs"
is "$(val 'payhook_notifications_length ')" 6 "notifications stream gauge: 5 + 1 accepted"
is "$(val 'payhook_dead_jobs ')" 0 "dead gauge"
is "$(val 'payhook_fetchers_live ')" 0 "no fetcher running"
age=$(val 'payhook_queue_oldest_age_seconds ')
ok=1; awk -v a="$age" 'BEGIN{exit !(a > 0 && a < 120)}' && ok=0
tap_ok $ok "oldest queued job age is a plausible number of seconds ($age)"
like "$(echo "$m" | grep -c '^# TYPE ')" '^[0-9]+$' "exposition has TYPE lines"
hdr=$(curl -s -o /dev/null -w '%{content_type}' "$A/metrics")
like "$hdr" '^text/plain; version=0.0.4' "Prometheus content type"

# Redis down: the counts of 503s wait in the process, and reach Redis when it is back.
ph_stop_redis "$T/redis"
post "$A/webhooks/oneinfinite" "$(oi c1 po9)" >/dev/null
post "$A/webhooks/oneinfinite" "$(oi c2 po9)" >/dev/null
is "$(curl -s -o /dev/null -w '%{http_code}' "$A/metrics")" 503 "/metrics answers 503 while Redis is down"
ph_start_redis "$T/redis" "$REDIS_PORT"
back() { [ "$(rcli hget payhook:stats notifications:oneinfinite:unavailable)" = 2 ]; }
ph_wait_for back
tap_ok $? "the two 503s are counted once Redis is back"
tap_done
