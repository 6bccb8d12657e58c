#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-deliver against the merchant's endpoint stand-in (receiver.js,
# which verifies every request with the official standardwebhooks package):
# one Redis, one receiver, one endpoint per scenario, all at once.
#   hang     a deliverer SIGKILLed mid-POST loses nothing: redelivered, same webhook-id
#   retry    500, 500, then 200: retried on the schedule (1,1,2), same webhook-id
#   ra       429 and 503 with Retry-After honoured, not the schedule's 30 s
#   gone     410 disables the endpoint; its events wait; enable (HDEL) resumes
#   dead     500 for ever: dead after the schedule (1,1), with reason and attempts
#   f        filters by provider and entity type
#   shared   3 deliverers share an endpoint: each event once
#   order    per-entity order under retries (seeded failures) and 3 deliverers
#   drain    SIGTERM finishes the POST in flight, records it, exits 0
#   rps      max_rps = 5 holds the three deliverers together to 5 POSTs a second
#   own      entries a deliverer read but never moved (it died) are delivered by its restart
# Then bad configurations, named by their key.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/deliver.sh"
seed=${PH_SEED:-$(((RANDOM << 15) | RANDOM))}
echo "# seed $seed (PH_SEED=$seed repeats the order scenario's failures and events)"
BIN=$PH_BUILD/deliver/payhook-deliver

ph_whsig_npm
tap_ok $? "standardwebhooks installed (npm ci, the registry must be reachable the first time)"
REDIS_PORT=$(ph_free_port)
ph_start_redis "$T/redis" "$REDIS_PORT" || { tap_ok 1 "redis up"; tap_done; exit 1; }
receiver_up || { tap_ok 1 "receiver up"; tap_done; exit 1; }

CONF=$T/payhook.conf
printf '[redis]\nurl = redis://127.0.0.1:%s/0\n[log]\nlevel = info\n' "$REDIS_PORT" >"$CONF"
# Every endpoint reads every event: each scenario's events have an entity type of their own.
deliver_conf hang /hang "timeout_ms = 1000" "entity_types = hang"
deliver_conf retry /retry "retry_schedule = 1,1,2" "entity_types = retry"
deliver_conf ra /ra "retry_schedule = 30,30,30" "entity_types = ra"
deliver_conf gone /gone "retry_schedule = 1" "entity_types = gone"
deliver_conf dead /dead "retry_schedule = 1,1" "entity_types = dead"
deliver_conf f /f "providers = cielo" "entity_types = fsale, frefund"
deliver_conf shared /shared "entity_types = shared"
deliver_conf order /order "retry_schedule = 1,1,1,1,1,1,1,1,1,1" "entity_types = order"
deliver_conf drain /drain "timeout_ms = 10000" "entity_types = drain"
deliver_conf rps /rps "max_rps = 5" "entity_types = rps"
deliver_conf own /own "entity_types = own"
NEPS=11

"$BIN" -c "$CONF" --check-config >"$T/check.out" 2>&1
tap_ok $? "--check-config loads eleven endpoints"
like "$(grep -c '^\[endpoint ' "$T/check.out") $(grep -c 'secret = (set)' "$T/check.out")" \
	"^11 11$" "--check-config prints each endpoint, the secret as (set)"
! grep -q MfKQ9r8 "$T/check.out"
tap_ok $? "--check-config never prints a secret"

rcv_plan /hang '[{"hang":true}]'
rcv_plan /retry '[{"status":500},{"status":500}]'
ra_date=$(date -u -d '+8 sec' '+%a, %d %b %Y %H:%M:%S GMT')
rcv_plan /ra "[{\"status\":429,\"retry_after\":\"1\"},{\"status\":503,\"retry_after\":\"$ra_date\"}]"
rcv_plan /gone '[{"status":410}]'
rcv_plan /dead '[]' '{"status":500}'
rcv_plan /shared '[]' '{"status":200,"delay_ms":100}'
rcv_plan /order '[]' "{\"fail_ratio\":0.3,\"seed\":$seed}"
rcv_plan /drain '[{"status":200,"delay_ms":1500}]'

groups() {
	[ "$(rcli xinfo groups payhook:events 2>/dev/null | grep -c '^payhook-deliver:')" = "$NEPS" ]
}

# A deliverer d4 read an entry of "own" and died before moving it: it stays pending for d4.
rcli xgroup create payhook:events payhook-deliver:own '$' mkstream >/dev/null
own_id=evt_$(ev_add cielo own w1)
rcli xreadgroup group payhook-deliver:own d4 count 10 streams payhook:events '>' >/dev/null
is "$(rcli xpending payhook:events payhook-deliver:own | head -n 1)" 1 "own: one entry pending for d4"

# SIGKILL mid-flight: d1 alone holds the hanging POST, and dies.
deliver_start d1 --concurrency 4
ph_wait_for groups
tap_ok $? "a consumer group per endpoint (XGROUP CREATE ... MKSTREAM)"
before=$(rcli xlen payhook:events) # what the groups made by d1 never see
hang_id=evt_$(ev_add cielo hang h1)
ph_wait_for rcv_count_ge /hang 1
tap_ok $? "the hanging POST reached the receiver"
deliver_stop d1 KILL
is "$STOP_RC" 137 "d1 SIGKILLed while its POST hangs"

for w in d1 d2 d3; do deliver_start $w --concurrency 4; done
deliver_start d4 --concurrency 1

# Events for every scenario.
retry_id=evt_$(ev_add cielo retry r1)
ra_id=evt_$(ev_add cielo ra ra1)
gone1=evt_$(ev_add cielo gone g1)
dead_id=evt_$(ev_add oneinfinite dead x1 OPENED)
f_ok=evt_$(ev_add cielo fsale fs1)
f_ok2=evt_$(ev_add cielo frefund fr1)
ev_add cielo fother fx1 >/dev/null
ev_add oneinfinite fsale fx2 OPENED >/dev/null
for i in $(seq 1 30); do ev_add cielo shared "sh$i" >/dev/null; done
for i in $(seq 1 11); do ev_add cielo rps "rp$i" >/dev/null; done

# Order: entities x versions in a seeded random order, added while they retry.
python3 - "$seed" >"$T/order.cmds" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
seq = [e for e in range(8) for _ in range(6)]
r.shuffle(seq)
for e in seq:
    print("o%d" % e)
PY
n=0
while read -r e; do
	n=$((n + 1))
	ev_add cielo order "$e" "V$n" >/dev/null
done <"$T/order.cmds"

PH_WAIT=30 ph_wait_for rcv_count_ge /hang 2
tap_ok $? "the hanging delivery came again after its lease"
is "$(rcv_q '[.deliveries[] | select(.path == "/hang") | .id] | unique | join(" ")')" "$hang_id" \
	"its redelivery has the same webhook-id"
ph_wait_for out_is 1 dstat hang delivered
tap_ok $? "and was delivered (200) once"

PH_WAIT=20 ph_wait_for rcv_count_ge /retry 3
tap_ok $? "retry: three requests (500, 500, 200)"
is "$(rcv_q '[.deliveries[] | select(.path == "/retry") | .id] | unique | join(" ")')" "$retry_id" \
	"retry: the same webhook-id each time"
gaps=$(rcv_q '[.deliveries[] | select(.path == "/retry") | .at] | [.[1] - .[0], .[2] - .[1]] | map(tostring) | join(" ")')
read -r g1 g2 <<<"$gaps"
[ "$g1" -ge 850 ] && [ "$g2" -ge 850 ]
tap_ok $? "retry: at least the schedule's 1 s (-10 % jitter) between attempts ($gaps ms)"
ph_wait_for out_is 1 dstat retry delivered && ph_wait_for out_is 2 dstat retry retried
tap_ok $? "retry: counted 2 retried, 1 delivered ($(dstat retry retried) $(dstat retry delivered))"

PH_WAIT=20 ph_wait_for rcv_count_ge /ra 3
tap_ok $? "Retry-After: 429 then 503, then delivered, well before the schedule's 30 s"
gaps=$(rcv_q '[.deliveries[] | select(.path == "/ra") | .at] | [.[1] - .[0], .[2] - .[1]] | map(tostring) | join(" ")')
read -r g1 g2 <<<"$gaps"
[ "$g1" -ge 950 ]
tap_ok $? "Retry-After: 1 (seconds) waited at least 1 s ($g1 ms)"
[ "$g2" -ge 1 ] && [ "$g2" -lt 27000 ]
tap_ok $? "Retry-After as an HTTP date honoured ($g2 ms)"

PH_WAIT=20 ph_wait_for out_set rcli lindex payhook:endpoint:dead:dead 0
tap_ok $? "dead: the delivery reached the endpoint's dead list"
dead=$(rcli lindex payhook:endpoint:dead:dead 0)
is "$(jq -r '[.id, .reason, .attempts, .entity_id, (.dead_at > 0)] | map(tostring) | join(" ")' <<<"$dead")" \
	"${dead_id#evt_} http_500 3 x1 true" "dead: the entry names the reason and the attempts"
is "$(rcv_count /dead 500)" 3 "dead: three attempts (the first and the schedule's two steps)"
is "$(rcli zcard payhook:endpoint:dead:due) $(rcli hlen payhook:endpoint:dead:held) $(dstat dead dead)" \
	"0 0 1" "dead: gone from due and held, counted"

# 410: disabled, then more events wait unread until enabled.
ph_wait_for out_is 410 rcli hget payhook:endpoint:gone disabled_reason
tap_ok $? "410: the endpoint is disabled (disabled_at, disabled_reason 410)"
gone2=evt_$(ev_add cielo gone g2)
ph_wait_for out_is 1 dstat gone disabled
tap_ok $? "410: counted"

PH_WAIT=30 ph_wait_for rcv_count_ge /shared 30
tap_ok $? "shared: 30 events delivered"
is "$(rcv_q '[.deliveries[] | select(.path == "/shared") | .id] | unique | length')" 30 \
	"shared: each once"
by=$(for w in d1 d2 d3; do grep -c 'event=delivered endpoint=shared ' "$T/deliver-$w.log"; done | grep -vc '^0$')
[ "$by" -ge 2 ]
tap_ok $? "shared: $by of 3 deliverers delivered some"

ph_wait_for out_is 2 dstat f delivered
tap_ok $? "filters: cielo sale and refund delivered"
is "$(rcv_q '[.deliveries[] | select(.path == "/f") | .id] | sort | join(" ")')" \
	"$(printf '%s\n' "$f_ok" "$f_ok2" | sort | tr '\n' ' ' | sed 's/ $//')" "filters: only those"
f_filtered() {
	[ "$(dstat f filtered)" = $(($(rcli xlen payhook:events) - before - 2)) ]
}
ph_wait_for f_filtered
tap_ok $? "filters: every other event counted as filtered ($(dstat f filtered))"

PH_WAIT=30 ph_wait_for rcv_count_ge /rps 11
tap_ok $? "max_rps: 11 events delivered"
span=$(rcv_q '[.deliveries[] | select(.path == "/rps") | .at] | max - min')
[ "$span" -ge 1800 ]
tap_ok $? "max_rps = 5: 11 POSTs (a burst of 1) took at least 2 s less 10 %, across 3 deliverers ($span ms)"

ph_wait_for rcv_count_ge /own 1
tap_ok $? "own: d4, restarted, delivered the entry it had read"
is "$(rcv_q '[.deliveries[] | select(.path == "/own") | .id] | join(" ")')" "$own_id" "own: that entry, once"
is "$(rcli xpending payhook:events payhook-deliver:own | head -n 1)" 0 "own: nothing pending"

# Order: wait until every entity's newest version was answered 200.
order_done() {
	rcv_log | python3 -c '
import json, sys
log = json.load(sys.stdin)["deliveries"]
ok = {}
for d in log:
    if d["path"] == "/order" and d["status"] == 200:
        ok[d["body"]["data"]["entity_id"]] = d["body"]["data"]["status"]
last = {}
for n, e in enumerate(open(sys.argv[1]).read().split(), 1):
    last[e] = "V%d" % n
sys.exit(0 if all(ok.get(e) == v for e, v in last.items()) else 1)' "$T/order.cmds"
}
PH_WAIT=40 ph_wait_for order_done
tap_ok $? "order: every entity's newest version delivered"
older=$(rcv_log | python3 -c '
import json, sys
seen, bad = {}, 0
for d in json.load(sys.stdin)["deliveries"]:
    if d["path"] != "/order":
        continue
    e, at = d["body"]["data"]["entity_id"], d["body"]["data"]["fetched_at"]
    if e in seen and at < seen[e]:
        bad += 1
    seen[e] = max(at, seen.get(e, 0))
print(bad)')
is "$older" 0 "order: never an older snapshot after a newer one, under retries and 3 deliverers"
is "$(rcv_q '.failures')" 0 "every request verified with standardwebhooks (Webhook.verify)"
echo "# order: $(rcv_count /order) requests, $(rcv_count /order 500) answered 500, superseded $(dstat order superseded)"

# Enable the 410 endpoint: both events arrive, the first with its webhook-id again.
is "$(rcv_count /gone)" 1 "410: nothing more reached the disabled endpoint meanwhile"
rcli hdel payhook:endpoint:gone disabled_at disabled_reason >/dev/null
PH_WAIT=20 ph_wait_for rcv_count_ge /gone 3
tap_ok $? "enable: the waiting events are delivered"
is "$(rcv_q '[.deliveries[] | select(.path == "/gone") | .id] | sort | join(" ")')" \
	"$(printf '%s\n' "$gone1" "$gone1" "$gone2" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"enable: the 410'd delivery again (same webhook-id), and the one that waited"

# SIGTERM drains: the slow POST finishes and is recorded.
drain_id=evt_$(ev_add cielo drain dr1)
ph_wait_for rcv_count_ge /drain 1
for w in d1 d2 d3 d4; do deliver_stop $w; echo "$STOP_RC" >"$T/rc.$w"; done
is "$(cat "$T"/rc.d[1-4] | tr '\n' ' ')" "0 0 0 0 " "SIGTERM: every deliverer exits 0"
is "$(dstat drain delivered) $(rcli zcard payhook:endpoint:drain:due)" "1 0" \
	"SIGTERM: the POST in flight finished and was recorded"

# Logs: one line per outcome, never a secret or a response body.
! grep -qE 'MfKQ9r8|answer body' "$T"/deliver-*.log
tap_ok $? "no secret and no response body in the logs"
like "$(grep -h 'event=delivery_dead' "$T"/deliver-*.log)" "endpoint=dead id=$dead_id .*reason=http_500" \
	"a log line for the dead delivery"
like "$(grep -h 'event=endpoint_disabled' "$T"/deliver-*.log | head -n 1)" "endpoint=gone" \
	"a log line for the disabled endpoint"

# Bad configurations: the message names the key.
bad() {
	{ echo '[endpoint b]'; printf '%s\n' "$@"; } >"$T/bad.conf"
	"$BIN" -c "$T/bad.conf" --check-config 2>&1
}
out=$(bad "url = http://127.0.0.1:1/" "secret = $DELIVER_SECRET"); rc=$?
like "$rc $out" "^1 .*bad.conf:2: \[endpoint b\] url: must be an https:// URL" \
	"bad config: an http url without allow_http names the key"
out=$(bad "url = https://a.example/" "secret = shh-not-whsec"); rc=$?
like "$rc $out" "^1 .*bad.conf:3: \[endpoint b\] secret: " "bad config: a secret not whsec_ base64"
! grep -q shh-not-whsec <<<"$out"
tap_ok $? "bad config: the secret is not echoed"
out=$(bad "url = https://a.example/" "secret = $DELIVER_SECRET" "retry_schedule = 5,,300"); rc=$?
like "$rc $out" "^1 .*bad.conf:4: \[endpoint b\] retry_schedule: " "bad config: a bad schedule"
out=$(bad "url = https://a.example/" "secret = $DELIVER_SECRET" "providers = paypal"); rc=$?
like "$rc $out" "^1 .*\[endpoint b\] providers: \"paypal\"" "bad config: an unknown provider"
out=$(PAYHOOK_ENDPOINT_B_TIMEOUT_MS=1 bad "url = https://a.example/" "secret = $DELIVER_SECRET"); rc=$?
like "$rc $out" "^1 .*PAYHOOK_ENDPOINT_B_TIMEOUT_MS" "bad config: a bad environment override names its variable"
printf '[redis]\nurl = redis://127.0.0.1:1/0\n' >"$T/none.conf"
out=$("$BIN" -c "$T/none.conf" 2>&1); rc=$?
like "$rc $out" "^1 .*no \[endpoint NAME\]" "no endpoint: exit 1, saying so"
tap_done
