# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Tracking entities no notification announces (docs/REFRESH.md), through the
# test nginx on loopback: POST /entities/{provider}/{type}/{id}/refetch
# queues a fetch (or answers pending while a job waits), after which the
# entity is refreshed like any other; bad ids, bodies, providers, types and
# methods are refused and queue nothing. payhookctl refetch, refresh list
# [--due] [--limit N] [--json] and refresh rebuild; the /metrics refresh
# gauges and counters. refresh_schedule is 600 s: nothing comes due by itself
# during the test, what is overdue is put there by hand.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 600,1200" "refresh_settled = 900"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order
GUID_UC=9F8E7D6C-5B4A-4321-8765-0FEDCBA98765
GUID=9f8e7d6c-5b4a-4321-8765-0fedcba98765

# refetch PATH [curl args]: "STATUS BODY" of a request to $BASE/entities/PATH (POST unless -X given).
refetch() {
	local path=$1
	shift
	curl -s -o "$T/rf.body" -w '%{http_code}' -X POST "$@" "$BASE/entities/$path" >"$T/rf.code"
	echo "$(cat "$T/rf.code") $(cat "$T/rf.body")"
}
# ctl ARGS...: payhookctl; stdout in $OUT, status in $RC.
ctl() {
	"$PH_BUILD/tools/payhookctl" -c "$CONF" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
	RC=$?
	OUT=$(cat "$T/ctl.out")
}
json() { python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$OUT"; }
metric() { curl -s "$BASE/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
now_ms() { date +%s%3N; }
tracked() { [ -n "$(rcli zscore payhook:refresh "$1")" ]; }

# --- The endpoint, no fetcher running: the job waits.
is "$(refetch oneinfinite/payment_order/r1/refetch)" '200 {"status":"queued"}' "POST (no body, no Content-Length): queued"
job=$(rcli lindex payhook:queue 0)
like "$job" '"provider":"oneinfinite","entity_type":"payment_order","entity_id":"r1","notification_id":"refetch-[0-9a-f-]{36}","event":"refetch"' \
	"the job: the entity, event refetch, notification id refetch-{GUID}"
is "$(rcli exists payhook:pending:$M:r1)" 1 "the pending marker is set"
is "$(refetch oneinfinite/payment_order/r1/refetch)" '200 {"status":"pending"}' "a second POST while the job waits: pending"
is "$(refetch oneinfinite/payment_order/r1/refetch -H 'Content-Type: application/json' -d '')" \
	'200 {"status":"pending"}' "an empty body with Content-Length: 0: pending too"
ctl refetch oneinfinite payment_order r1
is "$RC/$OUT" "0/a job for oneinfinite payment_order r1 is already waiting" "payhookctl refetch while the job waits: already waiting"
is "$(rcli llen payhook:queue)" 1 "one job for three requests"

is "$(refetch oneinfinite/payment_order/bad.id/refetch)" \
	'400 {"error":"invalid_request","message":"the id must be 1..128 of [A-Za-z0-9_-]"}' "bad id: 400 invalid_request"
long=$(printf 'a%.0s' $(seq 129))
like "$(refetch "oneinfinite/payment_order/$long/refetch")" '^400 \{"error":"invalid_request"' "129-character id: 400"
is "$(refetch cielo/sale/not-a-guid/refetch)" '400 {"error":"invalid_request","message":"the id must be a GUID"}' \
	"Cielo id not a GUID: 400"
is "$(refetch oneinfinite/payment_order/r9/refetch -d '{"x":1}')" \
	'400 {"error":"invalid_request","message":"the body must be empty"}' "a body: 400"
is "$(refetch paypal/payment_order/r9/refetch)" '404 {"error":"not_found"}' "unknown provider: 404"
is "$(refetch oneinfinite/invoice/r9/refetch)" '404 {"error":"not_found"}' "entity type with no route: 404"
is "$(refetch oneinfinite/payment_order/r9)" '404 {"error":"not_found"}' "no /refetch at the end: 404"
is "$(refetch oneinfinite/payment_order/r9/refetch -X GET)" '405 {"error":"method_not_allowed"}' "GET: 405"
like "$(curl -s -i "$BASE/entities/oneinfinite/payment_order/r9/refetch" | tr -d '\r')" $'\nAllow: POST\n' "405 with Allow: POST"
is "$(rcli llen payhook:queue) $(rcli keys 'payhook:pending:*' | grep -c .)" "1 1" "refused requests queued nothing"

is "$(refetch "cielo/sale/$GUID_UC/refetch")" '200 {"status":"queued"}' "Cielo GUID in upper case: queued"
like "$(rcli lindex payhook:queue 0)" "\"entity_id\":\"$GUID\"" "its job names the GUID in lower case"
ctl refetch oneinfinite recurrent_payment rp1
is "$RC/$OUT" "0/queued oneinfinite recurrent_payment rp1" "payhookctl refetch: queued"
is "$(rcli llen payhook:queue)" 3 "three jobs waiting"

# --- A fetcher: each fetched once, then tracked.
si_post set "{\"path\":\"$PO/r1\",\"body\":{\"id\":\"r1\",\"status\":\"OPENED\"}}"
fetcher_start f1
ph_wait_for stored oneinfinite payment_order r1 && ph_wait_for stored cielo sale $GUID &&
	ph_wait_for stored oneinfinite recurrent_payment rp1 && ph_wait_for fetch_drained
tap_ok $? "the three entities stored"
fetcher_stop f1
is "$(si_count $PO/r1)" 1 "r1: one GET for the POSTs that found its job waiting"
like "$(ehget oneinfinite payment_order r1 notification_id)" '^refetch-' "r1's snapshot names the refetch job"
tap_ok "$(tracked $M:r1 && tracked cielo:sale:$GUID && tracked oneinfinite:recurrent_payment:rp1; echo $?)" \
	"all three tracked in payhook:refresh once stored"
is "$(ehget oneinfinite payment_order r1 refresh_class) $(ehget cielo sale $GUID refresh_class) $(ehget oneinfinite recurrent_payment rp1 refresh_class)" \
	"progress settled ongoing" "classes: OPENED progress, Cielo Status 2 settled, ACTIVE ongoing"
d=$(($(rcli zscore payhook:refresh $M:r1) - $(ehget oneinfinite payment_order r1 fetched_at)))
tap_ok "$([ "$d" -ge 600000 ] && [ "$d" -le 660000 ]; echo $?)" "r1 due after the first step, 600 s (+ at most 10%): $d ms"
d=$(($(rcli zscore payhook:refresh cielo:sale:$GUID) - $(ehget cielo sale $GUID fetched_at)))
tap_ok "$([ "$d" -ge 900000 ] && [ "$d" -le 990000 ]; echo $?)" "the settled sale due after refresh_settled, 900 s: $d ms"
is "$(refetch oneinfinite/payment_order/r1/refetch)" '200 {"status":"queued"}' "a POST with no job waiting: queued again"

# --- payhookctl refresh list.
ctl refresh list
is "$RC" 0 "refresh list: exit 0"
like "$OUT" "[+][0-9.]+s  $M:r1" "refresh list shows r1 with its due time"
like "$OUT" "cielo:sale:$GUID" "and the Cielo sale"
ctl refresh list --json
is "$(json "[e['due_ms'] for e in j if e['entity'] == '$M:r1'][0]")" "$(rcli zscore payhook:refresh $M:r1)" \
	"refresh list --json: r1's due_ms is its score"
is "$(json "len(j)")" 3 "refresh list --json: the three tracked"
ctl refresh list --limit 1 --json
is "$(json "len(j)")" 1 "--limit 1: one"
ctl refresh list --limit 0
is "$RC" 2 "--limit 0: usage error"

# --- /metrics and list --due with refreshes overdue (no fetcher running).
now=$(now_ms)
rcli zadd payhook:refresh $((now - 5000)) $M:late1 >/dev/null
rcli zadd payhook:refresh $((now - 1000)) $M:late2 >/dev/null
ctl refresh list --due --json
is "$(json "[e['entity'] for e in j]")" "['$M:late1', '$M:late2']" "refresh list --due: the overdue only, most overdue first"
ctl refresh list --due
like "$OUT" "-[0-9.]+s  $M:late1" "refresh list --due (text): a negative due time"
is "$(metric payhook_refresh_tracked)" 5 "payhook_refresh_tracked counts every member"
lag=$(metric payhook_refresh_lag_seconds)
tap_ok "$(python3 -c "import sys; sys.exit(not 5.0 <= float('$lag') < 60)"; echo $?)" \
	"payhook_refresh_lag_seconds: the most overdue one, 5 s or more ($lag)"
# late2 has a job waiting (a refetch): covered when it comes due; late1 is queued.
refetch oneinfinite/payment_order/late2/refetch >/dev/null
q0=$(ph_stat refresh:queued) c0=$(ph_stat refresh:covered)
fetcher_start f1
ph_wait_for stored oneinfinite payment_order late1 && ph_wait_for stored oneinfinite payment_order late2 &&
	ph_wait_for fetch_drained
tap_ok $? "the overdue ones and the waiting job fetched"
is "$(($(ph_stat refresh:queued) - q0)) $(($(ph_stat refresh:covered) - c0))" "1 1" "one refresh queued, one covered"
m=$(curl -s "$BASE/metrics")
is "$(awk '$1 == "payhook_refreshes_total{outcome=\"queued\"}" { print $2 }' <<<"$m")" "$(ph_stat refresh:queued)" \
	"payhook_refreshes_total{outcome=\"queued\"} is the stats counter"
is "$(awk '$1 == "payhook_refreshes_total{outcome=\"covered\"}" { print $2 }' <<<"$m")" "$(ph_stat refresh:covered)" \
	"payhook_refreshes_total{outcome=\"covered\"} is the stats counter"
like "$m" '# TYPE payhook_refreshes_total counter' "payhook_refreshes_total is a counter"
is "$(awk '$1 == "payhook_refresh_lag_seconds" { print $2 }' <<<"$m")" 0 "payhook_refresh_lag_seconds 0 once nothing is overdue"
is "$(awk '$1 == "payhook_refresh_tracked" { print $2 }' <<<"$m")" "$(rcli zcard payhook:refresh)" "payhook_refresh_tracked = ZCARD"
is "$(si_count $PO/late2)" 1 "late2: one GET for its refetch and its due refresh"
fetcher_stop f1

# --- payhookctl refresh rebuild: entities stored before refresh existed.
rcli hset payhook:entity:$M:old1 body '{"id":"old1","status":"OPENED"}' fetched_at 1700000000000 http_status 200 >/dev/null
rcli hset payhook:entity:$M:old2 body '{"id":"old2","status":"REFUNDED"}' fetched_at 1700000000000 http_status 200 >/dev/null
rcli hset payhook:entity:cielo:sale:$GUID.x body '{}' >/dev/null # not an entity key: skipped
rcli hset "payhook:entity:cielo:sale:0a1b2c3d-0000-4000-8000-00000000000a" \
	body '{"Payment":{"PaymentId":"0a1b2c3d-0000-4000-8000-00000000000a","Status":2}}' >/dev/null
r1_score=$(rcli zscore payhook:refresh $M:r1)
n_before=$(rcli zcard payhook:refresh)
t0=$(now_ms)
ctl refresh rebuild
is "$RC" 0 "refresh rebuild: exit 0"
like "$OUT" '^[0-9]+ entities: 2 scheduled, 1 final, [0-9]+ already scheduled or not refreshed$' "rebuild: 2 scheduled, 1 final"
tap_ok "$(tracked $M:old1; echo $?)" "an OPENED entity stored before: scheduled"
tap_ok "$(! tracked $M:old2; echo $?)" "a REFUNDED one: not scheduled"
d=$(($(rcli zscore payhook:refresh $M:old1) - t0))
tap_ok "$([ "$d" -ge 600000 ] && [ "$d" -le 610000 ]; echo $?)" "old1 due after the first step of refresh_schedule ($d ms)"
d=$(($(rcli zscore payhook:refresh cielo:sale:0a1b2c3d-0000-4000-8000-00000000000a) - t0))
tap_ok "$([ "$d" -ge 900000 ] && [ "$d" -le 910000 ]; echo $?)" "a settled Cielo sale due after refresh_settled ($d ms)"
is "$(rcli hmget payhook:entity:$M:old1 status refresh_class refresh_step | tr '\n' ' ')" "OPENED progress 0 " \
	"old1's hash gets status, class and step"
like "$(ehget oneinfinite payment_order old1 first_stored_at)" '^[0-9]{13}$' "old1 gets a first_stored_at"
is "$(rcli zscore payhook:refresh $M:r1)" "$r1_score" "an entity already tracked keeps its due time"
is "$(rcli zcard payhook:refresh)" $((n_before + 2)) "nothing else added"
tap_done
