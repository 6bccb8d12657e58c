# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# The accept script refuses before its first write (issue 17, item 8): with
# a key it writes holding the wrong type (here the queue is a string), a
# notification is answered 503 (no spool), 200 spooled with a spool, and
# leaves nothing behind: no seen key, no pending marker, no stream entry, no
# counter. Once the key is mended, the provider's retry is accepted as new
# and its job queued (it is no duplicate).
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

N1='{"id":"wt-1","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"wt-po1"}'
rcli set payhook:queue not-a-list >/dev/null
like "$(post "$BASE/webhooks/oneinfinite" "$N1")" '^503 \{"error":"unavailable"\}' "queue key a string: 503 (no spool)"
is "$(rcli exists payhook:seen:oneinfinite:wt-1)" 0 "the seen key is not set"
is "$(rcli exists payhook:pending:oneinfinite:payment_order:wt-po1)" 0 "no pending marker"
is "$(rcli exists payhook:notifications)" 0 "nothing in the notifications stream"
is "$(ph_stat notifications:oneinfinite:accepted)" 0 "not counted as accepted"
like "$(grep -h 'WRONGTYPE' "$T"/*.log 2>/dev/null | head -1)" "payhook:queue" "the error names the key"

rcli del payhook:queue >/dev/null
is "$(post "$BASE/webhooks/oneinfinite" "$N1")" '200 {"status":"accepted"}' "key mended, the retry: accepted (not a duplicate)"
is "$(rcli llen payhook:queue)" 1 "its job is queued"
like "$(rcli lindex payhook:queue 0)" '"entity_id":"wt-po1","notification_id":"wt-1"' "the job is the notification's"
is "$(rcli exists payhook:seen:oneinfinite:wt-1)" 1 "the seen key is set now"

# Every key the script writes is checked, not only the queue; a Cielo entity's
# marker too (no seen key for Cielo).
for k in payhook:dead payhook:notifications payhook:stats payhook:pending:oneinfinite:payment_order:wt-po2 payhook:seen:oneinfinite:wt-2; do
	rcli del "$k" >/dev/null
	rcli rpush "$k" x >/dev/null
	[ "$k" = payhook:dead ] && { rcli del "$k" >/dev/null; rcli set "$k" x >/dev/null; }
	before=$(rcli llen payhook:queue)
	code=$(post "$BASE/webhooks/oneinfinite" '{"id":"wt-2","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"wt-po2"}' | cut -d' ' -f1)
	is "$code $(rcli llen payhook:queue)" "503 $before" "$k of the wrong type: 503, nothing queued"
	rcli del "$k" >/dev/null
done
is "$(rcli exists payhook:seen:oneinfinite:wt-2)" 0 "no seen key left by any of them"
G=0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d
rcli rpush "payhook:pending:cielo:sale:$G" x >/dev/null
before=$(rcli xlen payhook:notifications)
is "$(post "$BASE/webhooks/cielo" "{\"PaymentId\":\"$G\",\"ChangeType\":1}" | cut -d' ' -f1)" 503 "Cielo: its marker of the wrong type: 503"
is "$(rcli xlen payhook:notifications)" "$before" "nothing added to the notifications stream"
rcli del "payhook:pending:cielo:sale:$G" >/dev/null
is "$(post "$BASE/webhooks/cielo" "{\"PaymentId\":\"$G\",\"ChangeType\":1}")" '200 {"status":"accepted"}' "mended: accepted"
tap_done
