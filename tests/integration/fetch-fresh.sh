# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Freshness under concurrency: 3 fetchers, many entities whose state the
# stand-in changes between notifications, random API latency. Once the queue
# is drained, every snapshot equals the API's current state: the fetch that
# starts last is stored last, whatever the interleaving.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

E=40 R=5
si_post latency '{"min_ms":0,"max_ms":60}'
for w in f1 f2 f3; do fetcher_start $w --concurrency 6; done

# Each round: per entity, in random order, change its state, then notify.
python3 - "$SI" "$BASE" $E $R <<'PY' >"$T/driver.out" 2>&1
import json, random, sys, urllib.request
si, base, E, R = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status
kinds = [("payment_order", "/v1/payment_orders/"), ("recurrent_payment", "/v1/recurrent_payments/")]
bad = 0
for r in range(1, R + 1):
    order = list(range(E))
    random.shuffle(order)
    for e in order:
        kind, path = kinds[e % 2]
        ident = "f%d" % e
        post(si + "/_control/set", {"path": path + ident,
             "body": {"id": ident, "round": r, "status": random.choice(["OPENED", "CLOSED"])}})
        if post(base + "/webhooks/oneinfinite", {"id": "n%d_%d" % (r, e),
                "event_type": kind.upper() + ".UPDATED", "entity_type": kind.upper(),
                "entity_id": ident}) != 200:
            bad += 1
print("not accepted:", bad)
PY
is "$(cat "$T/driver.out")" "not accepted: 0" "$((E * R)) notifications accepted while the fetchers run"

PH_WAIT=40 ph_wait_for fetch_drained
tap_ok $? "queue, retries and processing lists drained"

curl -sf "$SI/_control/state" >"$T/state.json"
for e in $(seq 0 $((E - 1))); do
	if [ $((e % 2)) = 0 ]; then t=payment_order; else t=recurrent_payment; fi
	printf '%s %s\n' "$t" "$(rcli hget "payhook:entity:oneinfinite:$t:f$e" body)"
done >"$T/stored.txt"
stale=$(python3 - "$T/state.json" "$T/stored.txt" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
stale = 0
for line in open(sys.argv[2]):
    kind, _, body = line.rstrip("\n").partition(" ")
    try:
        ident = json.loads(body)["id"]
    except ValueError:
        stale += 1
        continue
    path = ("/v1/payment_orders/" if kind == "payment_order" else "/v1/recurrent_payments/") + ident
    if state.get(path) != body:
        stale += 1
print(stale)
PY
)
is "$stale" 0 "stale snapshots after drain"
is "$(grep -c . "$T/stored.txt")" $E "every entity has a snapshot"
is "$(rcli llen payhook:dead)" 0 "nothing dead"
is "$(rcli --scan --pattern 'payhook:lock:*' | grep -c .)" 0 "no lock left"
n=$(si_log | grep -c .)
ok=1; [ "$n" -ge $E ] && [ "$n" -le $((E * R)) ] && ok=0
tap_ok $ok "between one GET per entity and one per notification ($n GETs for $((E * R)) notifications)"
for w in f1 f2 f3; do
	c=$(grep -c 'event=fetch_stored' "$T/fetcher-$w.log")
	ok=1; [ "$c" -gt 0 ] && ok=0
	tap_ok $ok "fetcher $w did part of the work ($c stores)"
done
is "$(cat "$T"/fetcher-f?.log | grep -c 'event=requeued worker=f')" 0 "no live fetcher's jobs were re-queued by another"
ev=$(rcli xlen payhook:events)
ok=1; [ "$ev" -ge $E ] && [ "$ev" -le "$n" ] && ok=0
tap_ok $ok "events: at least one per entity, at most one per GET ($ev)"
for w in f1 f2 f3; do
	fetcher_stop $w
	is "$STOP_RC" 0 "fetcher $w: SIGTERM, exit 0"
done
tap_done
