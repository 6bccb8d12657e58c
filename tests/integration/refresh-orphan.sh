# A refresh member whose entity hash is gone (deleted by hand, or lost) is
# removed by the refresh mover and counted expired, with no job (issue 17,
# item 7): before, first_stored_at was nil, the script took "now" for it, and
# the lease never expired: a refresh job every lease, forever. A member whose
# hash is there is still moved as before.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 600" "refresh_max_age = 3600"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order
untracked() { [ -z "$(rcli zscore payhook:refresh "$1")" ]; }

# A stored entity, then its hash deleted; a second one kept, both made due.
si_post set "{\"path\":\"$PO/orph1\",\"body\":{\"id\":\"orph1\",\"status\":\"OPENED\"}}"
si_post set "{\"path\":\"$PO/kept1\",\"body\":{\"id\":\"kept1\",\"status\":\"OPENED\"}}"
oi_notify o1 payment_order orph1 >/dev/null
oi_notify o2 payment_order kept1 >/dev/null
fetch_once
is "$(si_count "$PO/orph1") $(si_count "$PO/kept1")" "1 1" "both fetched once"
rcli del "payhook:entity:$M:orph1" >/dev/null
past=$(($(date +%s%3N) - 1000))
rcli zadd payhook:refresh "$past" "$M:orph1" "$past" "$M:kept1" >/dev/null

fetcher_start f1
ph_wait_for untracked "$M:orph1"
tap_ok $? "the member whose hash is gone is removed"
is "$(ph_stat refresh:expired)" 1 "counted as expired"
PH_WAIT=10 ph_wait_for rcli_is 1 hget payhook:stats fetch:oneinfinite:unchanged
tap_ok $? "the kept one is refetched"
fetcher_stop f1
is "$(si_count "$PO/orph1")" 1 "no GET for the gone one"
is "$(rcli exists "payhook:entity:$M:orph1")" 0 "and no snapshot made again"
like "$(rcli zscore payhook:refresh "$M:kept1")" '^[0-9]+' "the kept one is scheduled again"
is "$(rcli llen payhook:queue) $(rcli llen payhook:dead)" "0 0" "nothing queued or dead"
tap_done
