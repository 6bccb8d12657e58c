# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# /metrics after a known sequence of notifications and fetches, with two
# nginx + payhook-fcgi pairs and two fetchers on one Redis: fetch outcomes,
# the latency histogram and the gauges are the sums over every process.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
mkdir -p "$T/b"
ph_start_handler "$T/b" "$CONF" || tap_ok 1 "second handler"
PORT_B=$(ph_free_port)
ph_start_nginx "$T/b" "$PORT_B" || tap_ok 1 "second nginx"
A=$BASE B="http://127.0.0.1:$PORT_B"

si_post script '{"path":"/v1/payment_orders/gone","responses":[{"status":404,"times":-1}]}'
si_post script '{"path":"/v1/payment_orders/flaky","responses":[{"status":503,"times":1}]}'
oi() { post "$1/webhooks/oneinfinite" "{\"id\":\"$2\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"$3\"}" >/dev/null; }
oi "$A" n1 po1
oi "$A" n2 po2
oi "$B" n3 po3
oi "$B" n4 po4
oi "$A" n5 gone
oi "$B" n6 flaky
post "$A/webhooks/cielo" '{"PaymentId":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","ChangeType":1}' >/dev/null

fetcher_start f1
fetcher_start f2
done1() { fetch_drained && [ "$(rcli llen payhook:dead)" = 1 ]; }
PH_WAIT=30 ph_wait_for done1
tap_ok $? "two fetchers drained the queue; one job dead"
# The same entity again, unchanged at the provider: stored as unchanged, no event.
oi "$B" n7 po1
po1_again() { [ "$(rcli hget payhook:stats fetch:oneinfinite:unchanged)" = 1 ] && fetch_drained; }
PH_WAIT=30 ph_wait_for po1_again
tap_ok $? "the refetch of an unchanged entity is counted"

# Handlers flush the counts of rejected requests once a second; nothing is rejected here.
m=$(curl -s "$A/metrics")
val() { echo "$m" | grep -v '^#' | grep -F "$1" | awk '{print $NF}'; }
is "$(val 'payhook_notifications_total{provider="oneinfinite",outcome="accepted"}')" 7 "notifications accepted over both handlers"
is "$(val 'payhook_fetches_total{provider="oneinfinite",outcome="stored"}')" 5 "stored: po1-po4 and flaky"
is "$(val 'payhook_fetches_total{provider="oneinfinite",outcome="unchanged"}')" 1 "unchanged: po1 again"
is "$(val 'payhook_fetches_total{provider="oneinfinite",outcome="retried"}')" 2 "retried: gone once (404), flaky once (503)"
is "$(val 'payhook_fetches_total{provider="oneinfinite",outcome="dead"}')" 1 "dead: gone after not_found_attempts"
is "$(val 'payhook_fetches_total{provider="cielo",outcome="stored"}')" 1 "cielo sale stored"
is "$(val 'payhook_fetch_duration_seconds_count{provider="oneinfinite"}')" 9 "one latency observation per OneInfinite GET (9)"
is "$(val 'payhook_fetch_duration_seconds_bucket{provider="oneinfinite",le="+Inf"}')" 9 "+Inf bucket equals the count"
is "$(val 'payhook_fetch_duration_seconds_count{provider="cielo"}')" 1 "one Cielo GET"
buckets=$(echo "$m" | grep '^payhook_fetch_duration_seconds_bucket{provider="oneinfinite"' | awk '{print $NF}' | tr '\n' ' ')
ok=0; prev=0; for v in $buckets; do [ "$v" -ge "$prev" ] || ok=1; prev=$v; done
tap_ok $ok "histogram buckets are cumulative ($buckets)"
is "$(val 'payhook_queue_jobs ')" 0 "queue gauge 0"
is "$(val 'payhook_retry_jobs ')" 0 "retry gauge 0"
is "$(val 'payhook_processing_jobs ')" 0 "processing gauge 0"
is "$(val 'payhook_dead_jobs ')" 1 "dead gauge 1"
is "$(val 'payhook_fetchers_live ')" 2 "two live fetchers"
is "$(val 'payhook_events_length ')" 6 "events: one per changed snapshot (5 + 1)"
mb=$(curl -s "$B/metrics")
is "$(echo "$mb" | grep -v '^#' | grep -v oldest_age | md5sum)" "$(echo "$m" | grep -v '^#' | grep -v oldest_age | md5sum)" "the other handler shows the same"
fetcher_stop f1
fetcher_stop f2
live0() { [ "$(curl -s "$A/metrics" | grep '^payhook_fetchers_live ' | awk '{print $2}')" = 0 ]; }
PH_WAIT=15 ph_wait_for live0
tap_ok $? "stopped fetchers leave the live count"
tap_done
