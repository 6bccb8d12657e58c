# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Ingest through nginx: every rejected request gets its status and JSON error
# from DESIGN.md, and not one Redis key is written for any of them (but the
# counters behind /metrics).
. "$(dirname "$0")/lib.sh"

cat >"$T/extra.conf" <<'CONF'
[handler]
max_body = 1024
[oneinfinite]
token = tok_123
[cielo]
required_header = X-Cielo-Token: abc123
CONF
PH_CONF_EXTRA=$T/extra.conf ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

OI='{"id":"uCEarm1kXJsroMQ6dt","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"rcAaNfKdKJRmrnj4l5"}'
U="$BASE/webhooks/oneinfinite/tok_123"
C=(-H 'X-Cielo-Token: abc123')

is "$(post "$U" 'not json')" '400 {"error":"invalid_notification","message":"body is not JSON"}' "not JSON: 400"
is "$(post "$U" '[1]')" '400 {"error":"invalid_notification","message":"body is not a JSON object"}' "not an object: 400"
is "$(post "$U" '')" '400 {"error":"invalid_notification","message":"empty body"}' "empty body: 400"
like "$(post "$U" '{"event_type":"PAYMENT_ORDER.CLOSED","entity_id":"x"}')" '^400 .*missing field: id' "missing id: 400"
like "$(post "$U" '{"id":["x"],"event_type":"PAYMENT_ORDER.CLOSED","entity_id":"x"}')" '^400 .*id is not a string' "ill-typed id: 400"
like "$(post "$U" '{"id":"a","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"../etc"}')" '^400 .*entity_id' "entity_id ../etc: 400"
like "$(post "$U" '{"id":"a%2Fb","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"x"}')" '^400 ' "id with %2F: 400"
long=$(printf 'a%.0s' $(seq 1 129))
like "$(post "$U" "{\"id\":\"$long\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"x\"}")" '^400 ' "id of 129 chars: 400"
like "$(post "$U" "$(printf '{"id":"caf\xc3\xa9","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"x"}')")" '^400 ' "non-ASCII id: 400"
like "$(post "$U" '{"id":"a\u0000b","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"x"}')" '^400 ' "id with an escaped NUL: 400"
like "$(post "$BASE/webhooks/cielo" '{"RecurrentPaymentId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","PaymentId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","ChangeType":"2"}' "${C[@]}")" '^400 .*PaymentId is not a GUID' "cielo seed placeholders: 400"
like "$(post "$BASE/webhooks/cielo" '{"PaymentId":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","ChangeType":"two"}' "${C[@]}")" '^400 .*ChangeType' "cielo bad ChangeType: 400"

is "$(post "$BASE/webhooks/oneinfinite" "$OI")" '404 {"error":"not_found"}' "token missing: 404"
is "$(post "$BASE/webhooks/oneinfinite/tok_12" "$OI")" '404 {"error":"not_found"}' "token wrong: 404"
is "$(post "$BASE/webhooks/paypal" "$OI")" '404 {"error":"not_found"}' "unknown provider: 404"
is "$(post "$BASE/elsewhere" "$OI")" '404 {"error":"not_found"}' "outside /webhooks/: 404"
is "$(post "$BASE/webhooks/cielo" '{}')" '401 {"error":"unauthorized"}' "required header missing: 401"
is "$(post "$BASE/webhooks/cielo" '{}' -H 'X-Cielo-Token: abc124')" '401 {"error":"unauthorized"}' "required header wrong: 401"

hdrs=$(curl -s -i "$U" | tr -d '\r')
like "$hdrs" '^HTTP/1.1 405' "GET a webhook: 405"
like "$hdrs" $'\nAllow: POST\n' "405 carries Allow: POST"
like "$hdrs" '\{"error":"method_not_allowed"\}$' "405 body"

big=$(head -c 2000 /dev/zero | tr '\0' 'x')
is "$(post "$U" "{\"id\":\"a\",\"pad\":\"$big\"}")" '413 {"error":"body_too_large"}' "over max_body (payhook-fcgi): 413"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' --data-binary "{\"pad\":\"$big\"}" "$U")" 413 "chunked body over max_body: 413"
huge=$(head -c 70000 /dev/zero | tr '\0' 'x')
like "$(curl -s -w ' %{http_code}' -X POST --data-binary "$huge" "$U")" 'body_too_large.* 413$' "over nginx's client_max_body_size: 413 JSON"

# Only the counters of rejected requests (the stats hash, added once a second) may appear.
is "$(rcli keys '*' | grep -v '^payhook:stats$' | grep -c .)" 0 "no key written for any rejected request"
is "$(rcli hexists payhook:stats notifications:oneinfinite:accepted)" 0 "nothing counted as accepted"

# The handler keeps serving after all that.
is "$(post "$U" "$OI")" '200 {"status":"accepted"}' "a valid notification after the rejects: 200"
is "$(post "$BASE/webhooks/cielo" '{"PaymentId":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","ChangeType":"1"}' "${C[@]}")" '200 {"status":"accepted"}' "cielo with the required header: 200"
is "$(rcli llen payhook:queue)" 2 "both queued"
tap_done
