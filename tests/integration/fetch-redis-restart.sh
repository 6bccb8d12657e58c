# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis restarted while fetchers run with GETs in flight: they notice, keep
# their jobs, reconnect with back-off when Redis is back, and finish. No job
# is lost: every notified entity ends with a snapshot, none in dead.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
# worker_timeout long enough that no fetcher re-queues the other's jobs
# because of the outage: each must keep and finish its own.
fetch_conf "worker_timeout = 30"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

N=30 M=10
si_post latency '{"min_ms":300,"max_ms":700}'
fetcher_start a --concurrency 4
fetcher_start b --concurrency 4
for i in $(seq 1 $N); do oi_notify "nr$i" payment_order "r$i" >/dev/null; done
some_stored() {
	[ "$(rcli --scan --pattern 'payhook:entity:*' | grep -c .)" -ge 1 ]
}
ph_wait_for some_stored
tap_ok $? "fetching has started"
ph_wait_for si_inflight_ge 2
tap_ok $? "GETs in flight when Redis goes away"

# A job in a's processing list that a does not know of, as a BLMOVE whose
# reply was lost in the outage leaves: a must find it once Redis is back.
rcli lpush payhook:processing:a '{"v":1,"provider":"oneinfinite","entity_type":"payment_order","entity_id":"orphan1","notification_id":"no1","event":"","received_at":1,"attempt":0}' >/dev/null
ph_stop_redis "$T/redis"
ph_wait_for grep -q 'event=redis_down' "$T/fetcher-a.log"
tap_ok $? "fetcher a notices Redis is down"
ph_wait_for grep -q 'event=redis_down' "$T/fetcher-b.log"
tap_ok $? "fetcher b notices Redis is down"
ph_wait_for si_inflight_is 0
tap_ok $? "the GETs in flight finish while Redis is down"
kill -0 "$(cat "$T/fetcher-a.pid")" && kill -0 "$(cat "$T/fetcher-b.pid")"
tap_ok $? "both fetchers keep running"

ph_start_redis "$T/redis" "$REDIS_PORT"
tap_ok $? "Redis restarted on the same port and data"
ph_wait_for grep -q 'event=redis_up' "$T/fetcher-a.log"
tap_ok $? "fetcher a reconnects"
ph_wait_for grep -q 'event=redis_up' "$T/fetcher-b.log"
tap_ok $? "fetcher b reconnects"
# The handler may answer 503 once while its own connection recovers: a
# provider retries then, and so does this test.
notify_ok() {
	[ "$(oi_notify "$1" payment_order "$2" | cut -c1-3)" = 200 ]
}
bad=0
for i in $(seq 1 $M); do ph_wait_for notify_ok "ns$i" "s$i" || bad=$((bad + 1)); done
is "$bad" 0 "$M notifications accepted after the restart"

all_stored() {
	local i
	for i in $(seq 1 $N); do stored oneinfinite payment_order "r$i" || return 1; done
	for i in $(seq 1 $M); do stored oneinfinite payment_order "s$i" || return 1; done
}
PH_WAIT=40 ph_wait_for all_stored
tap_ok $? "every entity notified before and after the restart is stored"
ph_wait_for stored oneinfinite payment_order orphan1
tap_ok $? "the job a held without knowing it is adopted and stored"
like "$(cat "$T/fetcher-a.log")" 'event=adopted worker=a' "a logged the adoption"
PH_WAIT=20 ph_wait_for fetch_drained
tap_ok $? "queue, retries and processing lists drained"
is "$(rcli llen payhook:dead)" 0 "nothing in dead"
is "$(rcli --scan --pattern 'payhook:entity:*' | grep -c .)" $((N + M + 1)) "$((N + M + 1)) snapshots"
for w in a b; do
	fetcher_stop $w
	is "$STOP_RC" 0 "fetcher $w: SIGTERM, exit 0"
done
tap_done
