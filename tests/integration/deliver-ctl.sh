#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhookctl endpoints and the delivery lines of /metrics, against a real
# Redis holding payhook-deliver's keys (DESIGN.md: Delivery), written here
# with redis-cli: an endpoint that is up with deliveries due, held and dead,
# one disabled by a 410, the stats counters; then the list, enable, dead
# list, replay (due again or superseded by a newer event) and purge, with
# their outputs and exit codes, and /metrics through nginx and payhook-fcgi.
. "$(dirname "$0")/lib.sh"
CTL_BIN=$PH_BUILD/tools/payhookctl
P=payhook:

# Two endpoints: shop (its url carries a user and password, never shown) and crm.
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
cat >"$T/endpoints.conf" <<CONF
[endpoint shop]
url = https://ops:hunter2@shop.example.com:8443/hooks/payhook?k=v
secret = $SECRET
[endpoint crm]
url = https://crm.example.com/in
secret = $SECRET
CONF
PH_CONF_EXTRA=$T/endpoints.conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

# ctl ARGS...: run payhookctl; stdout in $OUT, stderr in $ERR, status in $RC.
ctl() {
	"$CTL_BIN" -c "$CONF" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
# rec ID PROVIDER TYPE ENTITY_ID FETCHED_AT: a delivery record as held.
rec() {
	printf '{"id":"%s","provider":"%s","entity_type":"%s","entity_id":"%s","fetched_at":%s,"status":"PAID","body":"{\\"id\\":\\"%s\\"}","attempt":0}' \
		"$1" "$2" "$3" "$4" "$5" "$4"
}
# dead ID PROVIDER TYPE ENTITY_ID FETCHED_AT REASON: a dead delivery, as the record plus why.
dead() {
	local r
	r=$(rec "$@")
	r=${r%',"attempt":0}'}
	printf '%s,"attempt":6,"reason":"%s","attempts":7,"dead_at":%s}' "$r" "$6" "$(($5 + 90000000))"
}
T0=1764960000000

# resp ARG...: one command in RESP, for redis-cli --pipe (ASCII arguments).
resp() {
	local a
	printf '*%d\r\n' $#
	for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
}
A=$(dead "$T0-10" oneinfinite payment_order poA "$T0" http_500)
B=$(dead "$T0-11" cielo sale 7d1ea2b4-52a3-4f59-9b4e-0f6c2d0c9a11 "$T0" timeout)
C=$(dead "$T0-12" oneinfinite payment_order poC "$T0" connect)
D=$(dead "$T0-13" oneinfinite recurrent_payment rpD "$T0" http_404)
{
	# The events stream: 3 entries shop's group has not read (Redis 7 tells the lag).
	for i in 1 2 3; do resp XADD ${P}events "$((T0 + i))-0" provider oneinfinite; done
	resp XGROUP CREATE ${P}events payhook-deliver:shop 0
	# shop: two deliveries due (one retrying), held.
	resp ZADD ${P}endpoint:shop:due "$T0" "$T0-5" "$((T0 + 60000))" "$T0-6"
	resp HSET ${P}endpoint:shop:held "$T0-5" "$(rec "$T0-5" oneinfinite payment_order po5 "$T0")" \
		"$T0-6" "$(rec "$T0-6" oneinfinite payment_order po6 "$T0")"
	# shop's dead list, oldest first (LPUSH): A has a newer event in its order
	# hash, B none but a snapshot fetched later, C nothing newer, D is its
	# entity's newest, and one entry is no delivery record.
	resp LPUSH ${P}endpoint:shop:dead "$A" "$B" "$C" "$D" 'not a record'
	resp HSET ${P}endpoint:shop:entity:oneinfinite:payment_order:poA newest "$T0-20"
	resp HSET ${P}entity:cielo:sale:7d1ea2b4-52a3-4f59-9b4e-0f6c2d0c9a11 fetched_at "$((T0 + 1))"
	resp HSET ${P}endpoint:shop:entity:oneinfinite:recurrent_payment:rpD newest "$T0-13"
	# crm: disabled by a 410.
	resp HSET ${P}endpoint:crm disabled_at "$T0" disabled_reason 410
	# The counters payhook-deliver keeps (latency buckets not cumulative, sum
	# in ms), and one of an endpoint no longer in the config.
	resp HSET ${P}stats deliveries:shop:delivered 5 deliveries:shop:dead 4 deliveries:crm:disabled 1 \
		delivery_seconds:shop:0.05 2 delivery_seconds:shop:0.5 3 delivery_seconds:shop:+Inf 1 \
		delivery_seconds:shop:sum 4200 delivery_seconds:shop:count 6 deliveries:gone:delivered 9
} | rcli --pipe >"$T/pipe.out" 2>&1
like "$(cat "$T/pipe.out")" 'errors: 0, replies: 12' "the keys of the contract written"

# Help and usage.
"$CTL_BIN" -c /nonexistent.conf endpoints --help >"$T/out" 2>&1
is "$?" 0 "endpoints --help exits 0, with no config or Redis needed"
like "$(cat "$T/out")" '^usage: payhookctl endpoints.*enable NAME.*dead NAME list.*replay.*purge' "endpoints --help prints its usage"
like "$("$CTL_BIN" --help)" 'endpoints dead NAME list\|replay\|purge' "payhookctl --help names the endpoints verbs"
ctl endpoints frob
is "$RC" 2 "endpoints frob: exit 2"
like "$ERR" 'endpoints frob: unknown' "the message names the word"
ctl endpoints enable
is "$RC" 2 "endpoints enable without NAME: exit 2"
ctl endpoints dead shop
is "$RC" 2 "endpoints dead NAME without list, replay or purge: exit 2"
ctl endpoints dead shop list --limit 0
is "$RC" 2 "dead list --limit 0: exit 2"
like "$ERR" '--limit 0: must be a whole number from 1 to 10000' "the message names the bound"
ctl endpoints dead shop replay 1 2
is "$RC" 2 "dead replay with two indexes: exit 2"
ctl endpoints dead nope list
is "$RC" 3 "an endpoint not in the config: exit 3"
like "$ERR" 'endpoint nope: no \[endpoint nope\] in the config \(there is: shop, crm\)' "the message names the configured endpoints"
ctl endpoints enable 'x y'
is "$RC" 3 "enable of an endpoint not in the config: exit 3"

# The list.
ctl endpoints
is "$RC" 0 "endpoints: exit 0"
like "$OUT" $'^endpoint +host +state +lag +due +dead +disabled\nshop +shop\\.example\\.com:8443 +up +5 +2 +5 +-\ncrm +crm\\.example\\.com +disabled +0 +0 +0 +2025-12-05T18:40:00\\.000Z \\(410\\)$' \
	"a row per endpoint: host, state, lag (3 unread + 2 due), due, dead, disabled since"
[[ $OUT != *hunter2* && $OUT != *ops:* && $OUT != *hooks* ]]
tap_ok $? "the url's user, password and path are not shown"
ctl --json endpoints
is "$RC" 0 "--json endpoints: exit 0"
cp "$T/out" "$T/list.json"

# /metrics through nginx and payhook-fcgi.
curl -s -o "$T/metrics" "$BASE/metrics"
val() { grep -v '^#' "$T/metrics" | grep -F "$1" | awk '{print $NF}'; }
is "$(val 'payhook_endpoint_up{endpoint="shop"}')" 1 "/metrics: shop up"
is "$(val 'payhook_endpoint_up{endpoint="crm"}')" 0 "/metrics: crm down (disabled)"
is "$(val 'payhook_endpoint_lag_events{endpoint="shop"}')" 5 "/metrics: shop's lag: 3 unread + 2 due"
is "$(val 'payhook_endpoint_lag_events{endpoint="crm"}')" 0 "/metrics: crm's lag: no group, nothing due"
is "$(val 'payhook_deliveries_total{endpoint="shop",outcome="delivered"}')" 5 "/metrics: shop delivered 5"
is "$(val 'payhook_deliveries_total{endpoint="shop",outcome="dead"}')" 4 "/metrics: shop dead 4"
is "$(val 'payhook_deliveries_total{endpoint="shop",outcome="superseded"}')" 0 "/metrics: an outcome not counted yet is 0"
is "$(val 'payhook_deliveries_total{endpoint="crm",outcome="disabled"}')" 1 "/metrics: crm disabled 1"
is "$(grep -c '^payhook_deliveries_total{' "$T/metrics")" 12 "/metrics: 6 outcomes for each of the 2 endpoints"
is "$(grep -c 'endpoint="gone"' "$T/metrics")" 0 "/metrics: an endpoint not in the config is not shown"
is "$(grep '^payhook_delivery_seconds_bucket{endpoint="shop"' "$T/metrics" | awk '{print $NF}' | tr '\n' ' ')" \
	"2 2 2 5 5 5 5 5 6 " "/metrics: shop's buckets, cumulative (0.05 .. 10, +Inf)"
like "$(grep '^payhook_delivery_seconds_bucket{endpoint="shop"' "$T/metrics" | tail -1)" 'le="\+Inf"} 6$' "the last bucket is +Inf"
is "$(val 'payhook_delivery_seconds_count{endpoint="shop"}')" 6 "/metrics: _count is the +Inf bucket"
is "$(val 'payhook_delivery_seconds_sum{endpoint="shop"}')" 4.200 "/metrics: _sum in seconds"
for f in payhook_deliveries_total:counter payhook_delivery_seconds:histogram payhook_endpoint_lag_events:gauge payhook_endpoint_up:gauge; do
	grep -q "^# HELP ${f%%:*} " "$T/metrics" && grep -q "^# TYPE ${f%%:*} ${f#*:}$" "$T/metrics"
	tap_ok $? "/metrics: HELP and TYPE ${f#*:} of ${f%%:*}"
done
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <"$T/metrics" 2>&1)
	is "$out" "" "promtool check metrics: no error and no lint warning"
fi

# Enable.
ctl endpoints enable crm
is "$RC" 0 "enable crm: exit 0"
like "$OUT" 'endpoint crm enabled' "enable says so"
is "$(rcli exists ${P}endpoint:crm)" 0 "disabled_at and disabled_reason are gone"
ctl endpoints enable crm
is "$RC" 0 "enable of an endpoint that is up: exit 0"
like "$OUT" 'endpoint crm was not disabled' "and says it was not disabled"
is "$(curl -s "$BASE/metrics" | grep '^payhook_endpoint_up{endpoint="crm"}' | awk '{print $NF}')" 1 "/metrics: crm up again"

# Dead list.
ctl endpoints dead shop list
is "$RC" 0 "dead list: exit 0"
like "$OUT" $'^# +dead_at +provider +entity_type +entity_id +attempts +reason +webhook-id\n0 .*\\? .*\n1 +2025-12-06T19:40:00\\.000Z +oneinfinite +recurrent_payment +rpD +7 +http_404 +evt_1764960000000-13\n' \
	"newest first; the entry that is no record shows ?; dead_at, attempts, reason and the webhook-id"
like "$OUT" $'\n\\(5 of 5\\)$' "(5 of 5)"
ctl endpoints dead shop list --limit 2
like "$OUT" $'\n\\(2 of 5\\)$' "--limit 2: (2 of 5)"
ctl endpoints dead shop list --json
# Both JSON answers read by one python3 (slow to start on a loaded machine).
python3 - "$T/list.json" "$T/out" >"$T/json.out" <<'PY'
import json, sys
print([(e["name"], e["url_host"], e["state"], e["lag"], e["due"], e["dead"], e["disabled_at"],
        e["disabled_reason"]) for e in json.load(open(sys.argv[1]))])
print([e.get("id") if isinstance(e, dict) else e for e in json.load(open(sys.argv[2]))])
PY
is "$(sed -n 1p "$T/json.out")" \
	"[('shop', 'shop.example.com:8443', 'up', 5, 2, 5, None, None), ('crm', 'crm.example.com', 'disabled', 0, 0, 0, $T0, '410')]" \
	"endpoints --json: the same as the list, disabled_at in ms"
is "$(sed -n 2p "$T/json.out")" "['not a record', '$T0-13', '$T0-12', '$T0-11', '$T0-10']" \
	"dead list --json: every entry, the records parsed"
ctl endpoints dead crm list
is "$RC$OUT" $'0#     dead_at                  provider     entity_type        entity_id                            attempts  reason       webhook-id\n(0 of 0)' "an empty dead list: exit 0"

# Replay.
ctl endpoints dead shop replay 9
is "$RC" 3 "replay of an entry that is not there: exit 3"
like "$ERR" 'shop has no dead entry 9' "the message names the entry"
ctl endpoints dead shop replay 0
is "$RC" 1 "replay of an entry that is no delivery record: exit 1"
like "$ERR" 'dead entry 0 of shop is not a delivery record' "the message says so"
ctl endpoints dead shop replay
is "$RC" 0 "replay (all): exit 0"
is "$OUT" "replayed 4: 2 due now, 2 superseded (a newer event of the entity); 1 kept" \
	"C and D due again; A (newer in its order hash) and B (a snapshot fetched later) superseded; the bad entry kept"
like "$ERR" 'kept an entry that is not a delivery record' "the kept entry is reported"
is "$(rcli lrange ${P}endpoint:shop:dead 0 -1)" "not a record" "only the bad entry is left in the dead list"
is "$(rcli zscore ${P}endpoint:shop:due "$T0-10")$(rcli zscore ${P}endpoint:shop:due "$T0-11")" "" "A and B are not due"
[ -n "$(rcli zscore ${P}endpoint:shop:due "$T0-12")" ] && [ -n "$(rcli zscore ${P}endpoint:shop:due "$T0-13")" ]
tap_ok $? "C and D are due"
is "$(rcli hget ${P}endpoint:shop:held "$T0-12")" "$(rec "$T0-12" oneinfinite payment_order poC "$T0")" \
	"C is held as its record, attempt 0, without reason, attempts and dead_at"
is "$(rcli hmget ${P}endpoint:shop:entity:oneinfinite:payment_order:poC newest waiting | tr '\n' ' ')" \
	"$T0-12 $T0-12 " "C's order hash: newest and waiting"
ttl=$(rcli pttl ${P}endpoint:shop:entity:oneinfinite:payment_order:poC)
[ "$ttl" -gt 600000000 ] && [ "$ttl" -le 604800000 ]
tap_ok $? "C's order hash lives 7 days ($ttl ms)"
is "$(rcli hget ${P}stats deliveries:shop:superseded)" 2 "the superseded ones are counted"
is "$(curl -s "$BASE/metrics" | grep -F 'payhook_deliveries_total{endpoint="shop",outcome="superseded"}' | awk '{print $NF}')" 2 \
	"/metrics: superseded 2"
ctl endpoints
like "$OUT" $'\nshop +shop\\.example\\.com:8443 +up +7 +4 +1 +-\n' "the list: 4 due, lag 7, 1 dead"

# Purge.
ctl endpoints dead shop purge
is "$RC$OUT" "0purged 1" "purge: exit 0, the count"
is "$(rcli exists ${P}endpoint:shop:dead)" 0 "the dead list is gone"
ctl endpoints dead shop purge extra
is "$RC" 2 "purge with an argument: exit 2"

# An entry deleted from the stream past the group's last read: Redis cannot
# tell the group's lag any more, and neither does the lag.
rcli xdel ${P}events "$((T0 + 2))-0" >/dev/null
ctl endpoints
like "$OUT" $'\nshop +shop\\.example\\.com:8443 +up +- +4 +0 +-\n' "lag unknown: - in the list"
is "$(curl -s "$BASE/metrics" | grep -c '^payhook_endpoint_lag_events{endpoint="shop"}')" 0 \
	"/metrics: no lag sample when Redis cannot tell"

# No endpoint in the config; Redis down.
printf '[redis]\nurl = redis://127.0.0.1:%s/0\n' "$REDIS_PORT" >"$T/none.conf"
"$CTL_BIN" -c "$T/none.conf" endpoints >"$T/out" 2>"$T/err"
is "$?" 3 "no [endpoint NAME] in the config: exit 3"
like "$(cat "$T/err")" 'the config has no \[endpoint NAME\] section' "the message says so"
# Port 1: nothing listens there, a connect is refused at once.
sed "s/127.0.0.1:$REDIS_PORT/127.0.0.1:1/" "$CONF" >"$T/down.conf"
"$CTL_BIN" -c "$T/down.conf" endpoints >"$T/out" 2>"$T/err"
is "$?" 1 "Redis down: exit 1"
like "$(cat "$T/err")" 'cannot reach Redis' "the message says Redis cannot be reached"
tap_done
