# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A fetcher holding slow GETs is killed with SIGKILL: another fetcher sees its
# heartbeat go stale (worker_timeout), re-queues its processing list and
# finishes every job; nothing ends in dead.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

N=10
for i in $(seq 1 $N); do
	si_post script "{\"path\":\"/v1/payment_orders/k$i\",\"responses\":[{\"delay_ms\":1800}]}"
done
# Queue everything first, so the victim takes all of it at once.
for i in $(seq 1 $N); do oi_notify "nk$i" payment_order "k$i" >/dev/null; done
fetcher_start victim --concurrency $N
ph_wait_for si_inflight_is $N
tap_ok $? "the victim holds $N slow GETs"
is "$(rcli llen payhook:processing:victim)" $N "its processing list holds the $N jobs"
kill -KILL "$(cat "$T/fetcher-victim.pid")"
wait "$(cat "$T/fetcher-victim.pid")" 2>/dev/null
is "$(rcli llen payhook:processing:victim)" $N "killed: the jobs stay in its processing list"
like "$(rcli zscore payhook:workers victim)" '^[0-9]{13}$' "its last heartbeat stays in the workers zset"

fetcher_start rescuer
all_stored() {
	local i
	for i in $(seq 1 $N); do stored oneinfinite payment_order "k$i" || return 1; done
}
PH_WAIT=30 ph_wait_for all_stored
tap_ok $? "the rescuer stored every entity"
ph_wait_for fetch_drained
tap_ok $? "queue, retry and processing lists drained"
like "$(cat "$T/fetcher-rescuer.log")" "event=requeued worker=victim jobs=$N by=rescuer" "the rescuer re-queued the victim's $N jobs"
is "$(rcli exists payhook:processing:victim)" 0 "the victim's processing list is gone"
is "$(rcli zscore payhook:workers victim)" "" "the victim left the workers zset"
like "$(rcli zscore payhook:workers rescuer)" '^[0-9]{13}$' "the rescuer heartbeats"
is "$(rcli llen payhook:dead)" 0 "nothing in dead"
is "$(rcli --scan --pattern 'payhook:lock:*' | grep -c .)" 0 "no lock left behind"
is "$(rcli xlen payhook:events)" $N "one event per entity"
fetcher_stop rescuer
is "$STOP_RC" 0 "the rescuer stops with SIGTERM, exit 0"
tap_done
