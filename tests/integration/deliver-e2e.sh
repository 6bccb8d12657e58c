#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# End to end: notifications through nginx + payhook-fcgi, a fetcher GETting
# the provider stand-in, then payhook-deliver POSTing each change to the
# merchant's endpoint stand-in, which verifies every request with the
# official standardwebhooks package. The receiver sees each change once, or
# again with the same webhook-id, in order per entity; an endpoint filtered
# to another provider gets none; --once delivers what is due and exits.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"
. "$PH_TOP/tests/standin/deliver.sh"
BIN=$PH_BUILD/deliver/payhook-deliver
PO=/v1/payment_orders
E=10

ph_whsig_npm
tap_ok $? "standardwebhooks installed"
standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
receiver_up || { tap_ok 1 "receiver up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
deliver_conf shop /shop "retry_schedule = 1,1,1"
deliver_conf cielo-only /cielo "providers = cielo"

deliver_start d1 --concurrency 8
groups() {
	[ "$(rcli xinfo groups payhook:events 2>/dev/null | grep -c '^payhook-deliver:')" = 2 ]
}
ph_wait_for groups
tap_ok $? "the deliverer made its groups"
fetcher_start f1
# Some answers fail: the deliveries that retry keep their webhook-id. (Entities with one
# change only: a newer change may supersede an older one that retries, never delivering it.)
rcv_plan /shop '[{"status":500,"match":"\"entity_id\":\"e1\""},{"status":503,"retry_after":"1","match":"\"entity_id\":\"e3\""}]'

set_notify() { # ENTITY VERSION NOTIFICATION
	si_post set "{\"path\":\"$PO/$1\",\"body\":{\"id\":\"$1\",\"status\":\"OPENED\",\"v\":$2}}"
	oi_notify "$3" payment_order "$1" >/dev/null
}
for e in $(seq 1 $E); do set_notify "e$e" 1 "n1-$e"; done
# Every first version stored before the second: a fetch still to come would
# take the newer body at once (the body is only a hint), one event fewer.
PH_WAIT=30 ph_wait_for out_is "$E" rcli xlen payhook:events
tap_ok $? "the first version of each entity stored ($E events)"
# Half change; every one is notified again (an unchanged body makes no event).
for e in $(seq 1 $E); do
	set_notify "e$e" $((e % 2 == 0 ? 2 : 1)) "n2-$e"
done
want=$((E + E / 2))

PH_WAIT=30 ph_wait_for fetch_drained
tap_ok $? "the fetcher drained the queue"
is "$(rcli xlen payhook:events)" "$want" "one event per change ($want)"
delivered() {
	[ "$(rcv_q '[.deliveries[] | select(.path == "/shop" and .status == 200) | .id] | unique | length')" = "$want" ]
}
PH_WAIT=30 ph_wait_for delivered
tap_ok $? "every change delivered to the endpoint"
is "$(rcv_q '.failures')" 0 "every request verified by standardwebhooks (Webhook.verify)"

rcv_log >"$T/log.json"
python3 - "$T/log.json" "$want" <<'PY' >"$T/check.out"
import json, re, sys, time
log = [d for d in json.load(open(sys.argv[1]))["deliveries"] if d["path"] == "/shop"]
want = int(sys.argv[2])
byid, seen, bad = {}, {}, []
for d in log:
    b = d["body"]
    data = b["data"]
    key = (data["entity_id"], data["entity"]["v"])
    # The same webhook-id always carries the same change.
    if byid.setdefault(d["id"], key) != key:
        bad.append("id %s carries two changes" % d["id"])
    if b["type"] != "oneinfinite.payment_order.updated":
        bad.append("type " + b["type"])
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(data["fetched_at"] // 1000))
    if b["timestamp"] != "%s.%03dZ" % (ts, data["fetched_at"] % 1000):
        bad.append("timestamp " + b["timestamp"])
    if not re.match(r"^evt_\d+-\d+$", d["id"]):
        bad.append("webhook-id " + d["id"])
    if abs(int(d["ts"]) - d["at"] / 1000) > 60:
        bad.append("webhook-timestamp " + d["ts"])
    if data["provider"] != "oneinfinite" or data["entity_type"] != "payment_order":
        bad.append("data " + json.dumps(data))
    # Never an older snapshot after a newer one.
    last = seen.get(data["entity_id"], 0)
    if data["fetched_at"] < last:
        bad.append("older after newer for " + data["entity_id"])
    seen[data["entity_id"]] = max(last, data["fetched_at"])
changes = set(byid.values())
print("changes", len(changes), "ids", len(byid), "requests", len(log))
print("bad", len(bad), "; ".join(bad[:5]))
PY
is "$(head -n 1 "$T/check.out" | cut -d' ' -f1-4)" "changes $want ids $want" \
	"each change seen under one webhook-id ($(head -n 1 "$T/check.out"))"
is "$(sed -n 2p "$T/check.out")" "bad 0 " \
	"each request: type, RFC 3339 timestamp of fetched_at, webhook-id, webhook-timestamp, order"
body=$(rcv_q '[.deliveries[] | select(.path == "/shop" and .body.data.entity_id == "e2")] | last | .body.data.entity | tojson')
is "$body" "$(ehget oneinfinite payment_order e2 body)" "data.entity is the stored snapshot, as stored"
is "$(rcv_q '[.deliveries[] | select(.path == "/shop" and .body.data.entity_id == "e2")] | last | .body.data.status')" \
	"$(ehget oneinfinite payment_order e2 status)" "data.status is the snapshot's status"
is "$(rcv_count /shop 500) $(rcv_count /shop 503)" "1 1" "the failed answers were retried"
is "$(rcv_count /cielo)" 0 "the endpoint for cielo only got nothing"
ph_wait_for out_is "$want" dstat cielo-only filtered
tap_ok $? "and counted the events as filtered ($(dstat cielo-only filtered))"
is "$(dstat shop delivered) $(dstat shop retried)" "$want 2" "deliveries:shop: delivered and retried counted"
like "$(ph_stat delivery_seconds:shop:count)" '^[0-9]+$' "delivery_seconds:shop:count kept"

# --once: a change while no deliverer runs is delivered, then it exits 0.
deliver_stop d1
is "$STOP_RC" 0 "SIGTERM: the deliverer exits 0"
set_notify e1 3 n3-1
PH_WAIT=20 ph_wait_for out_is $((want + 1)) rcli xlen payhook:events
tap_ok $? "a new change stored"
timeout 60 "$BIN" -c "$CONF" --id once --once 2>>"$T/deliver-once.log"
is $? 0 "--once exits 0"
is "$(rcv_q '[.deliveries[] | select(.path == "/shop" and .body.data.entity.v == 3)] | length')" 1 \
	"--once delivered the change due"
fetcher_stop f1
tap_done
