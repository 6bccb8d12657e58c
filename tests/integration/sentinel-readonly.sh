# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# -READONLY makes every program resolve the master again: a primary, a
# replica, three sentinels; payhook-fcgi (spool on) and a fetcher connected
# through the sentinels. A switch-over by hand: the replica becomes the
# master, the sentinels are told, the old primary becomes its replica. The
# old primary keeps its clients' connections and answers their writes with
# -READONLY; the handler and the fetcher resolve again, find the new master
# (ROLE checked) and send the refused command there once more.
# payhookctl, started afresh, asks the sentinels too.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

SPOOL=$T/spool
mkdir -p "$SPOOL"
standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
ph_pick_sentinels 3
fetch_conf
cat >>"$PH_CONF_EXTRA" <<CONF
[handler]
spool_dir = $SPOOL
threads = 1
[redis]
url = redis://127.0.0.1:1/0
sentinels = $SENTINELS
master_name = payhook
[log]
level = debug
CONF
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
OLD=$REDIS_PORT
NEW=$(ph_free_port)
ph_start_redis "$T/replica" "$NEW" "replicaof 127.0.0.1 $OLD" "repl-diskless-sync-delay 0" ||
	tap_ok 1 "replica up"
link_up() { redis-cli -p "$1" info replication | grep -q 'master_link_status:up'; }
ph_wait_for link_up "$NEW"
ph_start_sentinels payhook "$OLD" || tap_ok 1 "sentinels up"
PH_WAIT=15 ph_wait_for ph_sentinels_ready payhook 1
tap_ok $? "primary, replica and three sentinels up"
# One slot: while its GET is in flight the fetcher is not blocked in BLMOVE
# (which a demoted primary answers -UNBLOCKED and closes), so its next
# script meets -READONLY.
fetcher_start a --concurrency 1

spooled_headers() { curl -s -D - -o /dev/null -X POST --data-binary "$2" "$BASE/webhooks/oneinfinite" | tr -d '\r'; }
# notify: post notification ro$n (n counts them), its answer's headers in $T/h.$n.
n=0
notify() {
	n=$((n + 1))
	spooled_headers x "{\"id\":\"ro$n\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_type\":\"PAYMENT_ORDER\",\"entity_id\":\"ero$n\"}" >"$T/h.$n"
}
# One handler thread (so its connection is the one on the old primary) serves these first.
for i in 1 2 3 4; do notify; done
is "$(grep -l '^HTTP/1.1 200' "$T"/h.* | wc -l)/$(grep -l '^X-Payhook-Spooled' "$T"/h.* | wc -l)" "4/0" "before: 4 answered 200, none spooled"
PH_WAIT=15 ph_wait_for stored oneinfinite payment_order ero4
tap_ok $? "before: fetched"

# A GET that takes 1.5 s (timeout_ms is 2 s) is in flight during the switch.
si_post script '{"path": "/v1/payment_orders/eslow", "responses": [{"status": 200, "delay_ms": 1500, "times": 1}]}'
oi_notify slow payment_order eslow >/dev/null
ph_wait_for si_inflight_ge 1
tap_ok $? "the fetcher's GET of eslow is in flight"

# The switch-over.
redis-cli -p "$NEW" replicaof no one >/dev/null
for p in "${SENTINEL_PORTS[@]}"; do
	redis-cli -p "$p" sentinel remove payhook >/dev/null
	redis-cli -p "$p" sentinel monitor payhook 127.0.0.1 "$NEW" 2 >/dev/null
done
redis-cli -p "$OLD" replicaof 127.0.0.1 "$NEW" >/dev/null
ph_wait_for link_up "$OLD"
tap_ok $? "the old primary is the new one's replica, the sentinels name the new one"
is "$(redis-cli -p "$OLD" set x 1)" "READONLY You can't write against a read only replica." "the old primary answers writes with -READONLY"

# The handler: the request on its connection to the old primary meets
# -READONLY (the script did not run); it finds the master again and sends
# the script there once more.
REDIS_PORT=$NEW
notify
last=$n
grep -q 'event=redis_stale error="READONLY.*action=reconnect sentinels=ask' "$T/handler.log"
tap_ok $? "the handler met -READONLY on the old primary and asked the sentinels again"
grep -q '^HTTP/1.1 200' "$T/h.$last" && ! grep -q '^X-Payhook-Spooled' "$T/h.$last" &&
	[ "$(rcli exists "payhook:seen:oneinfinite:ro$last")" = 1 ]
tap_ok $? "the first notification after the switch is accepted by the new master, not spooled"
is "$(grep -L '^HTTP/1.1 200' "$T"/h.* | wc -l)" 0 "every answer 200"

# The fetcher: its connection to the old primary met -READONLY; it resolves again.
PH_WAIT=15 ph_wait_for stored oneinfinite payment_order "ero$last"
tap_ok $? "the fetcher fetches from the new master"
grep -Eq 'event=(redis_stale|redis_error).*READONLY' "$T/fetcher-a.log"
tap_ok $? "the fetcher met -READONLY on the old primary"
PH_WAIT=15 ph_wait_for stored oneinfinite payment_order eslow
tap_ok $? "the GET in flight during the switch is stored in the new master"
! grep -q 'event=fetch_retry.*id=eslow' "$T/fetcher-a.log"
tap_ok $? "at the first attempt"
replayed() {
	local i
	[ "$(ph_segments "$SPOOL")" = 0 ] || return 1
	for i in $(seq 1 "$last"); do [ "$(rcli exists "payhook:seen:oneinfinite:ro$i")" = 1 ] || return 1; done
}
PH_WAIT=15 ph_wait_for replayed
tap_ok $? "nothing left in the spool, all $last notifications in the new master"
out=$("$PH_BUILD/tools/payhookctl" -c "$CONF" stats 2>&1)
tap_ok $? "payhookctl stats through the sentinels"
like "$out" 'oneinfinite' "payhookctl reads the new master's counters"
kill -0 "$(cat "$T/fetcher-a.pid")"
tap_ok $? "the fetcher runs on"
tap_done
