# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Ingest through nginx: the seeds' samples are accepted once, queued exactly
# as expected, answered duplicate (OneInfinite) or covered by the waiting job
# (Cielo); an entity type with no route is accepted and dead-lettered.
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

OI='{
  "id": "uCEarm1kXJsroMQ6dt",
  "event_type": "PAYMENT_ORDER.CLOSED",
  "entity_type": "PAYMENT_ORDER",
  "entity_id": "rcAaNfKdKJRmrnj4l5"
}'
is "$(post "$BASE/webhooks/oneinfinite" "$OI")" '200 {"status":"accepted"}' "oneinfinite seed sample: accepted"
is "$(post "$BASE/webhooks/oneinfinite" "$OI")" '200 {"status":"duplicate"}' "oneinfinite seed sample again: duplicate"
is "$(rcli llen payhook:queue)" 1 "one job queued for it"
job=$(rcli lindex payhook:queue 0)
like "$job" '^\{"v":1,"provider":"oneinfinite","entity_type":"payment_order","entity_id":"rcAaNfKdKJRmrnj4l5","notification_id":"uCEarm1kXJsroMQ6dt","event":"PAYMENT_ORDER.CLOSED","received_at":[0-9]{13},"attempt":0\}$' "the job is the DESIGN.md format"
ttl=$(rcli ttl payhook:seen:oneinfinite:uCEarm1kXJsroMQ6dt)
ok=1; [ "$ttl" -gt 604000 ] && [ "$ttl" -le 604800 ] && ok=0
tap_ok $ok "seen key kept for dedup_ttl (ttl $ttl)"
is "$(rcli exists payhook:pending:oneinfinite:payment_order:rcAaNfKdKJRmrnj4l5)" 1 "pending marker set"
is "$(rcli xlen payhook:notifications)" 1 "the notification recorded once in the stream"
like "$(rcli xrange payhook:notifications - + | tr '\n' ' ')" 'provider oneinfinite id uCEarm1kXJsroMQ6dt event PAYMENT_ORDER.CLOSED received_at [0-9]+ body \{' "stream entry carries provider, id, event and the raw body"

# A second notification for the same entity while its job waits: accepted, no new job.
OI2='{"id":"second1","event_type":"PAYMENT_ORDER.REFUNDED","payment_order_id":"rcAaNfKdKJRmrnj4l5"}'
is "$(post "$BASE/webhooks/oneinfinite" "$OI2")" '200 {"status":"accepted"}' "another id, same entity: accepted"
is "$(rcli llen payhook:queue)" 1 "covered by the waiting job: still one job"
OI3='{"id":"third1","event_type":"RECURRENT_PAYMENT.ACTIVE","recurrent_payment_id":"rp_77"}'
is "$(post "$BASE/webhooks/oneinfinite" "$OI3")" '200 {"status":"accepted"}' "recurrent_payment_id shape: accepted"
like "$(rcli lindex payhook:queue 0)" '"entity_type":"recurrent_payment","entity_id":"rp_77"' "recurrent payment job queued"

CIELO='{
   "RecurrentPaymentId": "4c5a7a2e-1d3b-4f6e-9a8b-0c1d2e3f4a5b",
   "PaymentId": "9f8e7d6c-5b4a-4321-8765-0fedcba98765",
   "ChangeType": "2"
}'
is "$(post "$BASE/webhooks/cielo" "$CIELO")" '200 {"status":"accepted"}' "cielo sample with real GUIDs: accepted"
is "$(rcli llen payhook:queue)" 4 "ChangeType 2 queued two jobs"
jobs=$(rcli lrange payhook:queue 0 1 | sort | tr '\n' ' ')
like "$jobs" '"provider":"cielo","entity_type":"recurrent_payment","entity_id":"4c5a7a2e-1d3b-4f6e-9a8b-0c1d2e3f4a5b"' "recurrence job"
like "$jobs" '"provider":"cielo","entity_type":"sale","entity_id":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","notification_id":"[0-9a-f-]{36}","event":"2"' "sale job with a generated notification id"
is "$(post "$BASE/webhooks/cielo" "$CIELO")" '200 {"status":"accepted"}' "cielo again while its jobs wait: accepted"
is "$(rcli llen payhook:queue)" 4 "no new job: the pending markers cover it"
is "$(rcli xlen payhook:notifications)" 5 "every accepted notification is in the stream"
is "$(rcli keys 'payhook:seen:cielo*' | grep -c .)" 0 "no seen key for cielo (it has no notification id)"

# ChangeType as a number.
is "$(post "$BASE/webhooks/cielo" '{"PaymentId":"11111111-2222-4333-8444-555555555555","ChangeType":1}')" '200 {"status":"accepted"}' "cielo ChangeType as a number: accepted"
is "$(rcli llen payhook:queue)" 5 "one job for ChangeType 1"

# An entity type with no route: accepted, dead-lettered as no_route, not queued.
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"r1","event_type":"REFUND.CREATED","entity_type":"REFUND","entity_id":"ref1"}')" '200 {"status":"accepted"}' "unknown entity type: accepted"
is "$(rcli llen payhook:queue)" 5 "not queued"
like "$(rcli lindex payhook:dead 0)" '"entity_type":"refund","entity_id":"ref1".*"error":"no_route"' "dead-lettered with error no_route"

is "$(rcli hget payhook:stats notifications:oneinfinite:accepted)" 4 "stats: oneinfinite accepted counted"
is "$(rcli hget payhook:stats notifications:oneinfinite:duplicate)" 1 "stats: oneinfinite duplicate counted"

# A body that starts with a UTF-8 byte order mark (.NET senders): accepted,
# and the stream keeps the body without it.
bom=$(printf '\xef\xbb\xbf')
is "$(post "$BASE/webhooks/oneinfinite" "${bom}{\"id\":\"bom1\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_bom\"}")" '200 {"status":"accepted"}' "oneinfinite body with a UTF-8 BOM: accepted"
like "$(rcli lindex payhook:queue 0)" '"entity_id":"po_bom","notification_id":"bom1"' "its job queued"
is "$(rcli xrevrange payhook:notifications + - count 1 | sed -n '/^body$/{n;p}' | head -c 7)" '{"id":"' "the stream's body starts at the JSON, not the BOM"
is "$(post "$BASE/webhooks/cielo" "${bom}{\"PaymentId\":\"21111111-2222-4333-8444-555555555555\",\"ChangeType\":1}")" '200 {"status":"accepted"}' "cielo body with a UTF-8 BOM: accepted"
is "$(post "$BASE/webhooks/oneinfinite" "${bom}${bom}{\"id\":\"bom2\",\"event_type\":\"X.Y\",\"entity_id\":\"x\"}")" '400 {"error":"invalid_notification","message":"body is not JSON"}' "two BOMs: 400"

is "$(curl -s -w ' %{http_code}' "$BASE/healthz")" '{"status":"ok","redis":"up","spool":"disabled"} 200' "healthz: 200, Redis up, no spool"
tap_done
