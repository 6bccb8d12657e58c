# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A due refresh member whose entity hash is gone (deleted by hand, or lost)
# is moved one last time without a lease (issue 17, item 7): before, its
# first_stored_at was nil, the script took "now" for it, and the lease never
# passed refresh_max_age: a refresh job every lease, forever, for an entity
# the provider no longer has. Now its fetch decides: stored, it is scheduled
# again by the store; gone at the provider (404 for good), it ends dead and
# untracked. A member whose hash is there is leased as before.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 600" "refresh_max_age = 3600"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order
tracked() { [ -n "$(rcli zscore payhook:refresh "$1")" ]; }
untracked() { ! tracked "$1"; }

# Stored, then its hash deleted and the provider answers 404 for good; a
# second one stored and kept; a third with its hash deleted that the provider
# still has. All three made due.
for e in orph1 kept1 back1; do
	si_post set "{\"path\":\"$PO/$e\",\"body\":{\"id\":\"$e\",\"status\":\"OPENED\"}}"
	oi_notify "o-$e" payment_order $e >/dev/null
done
fetch_once
is "$(si_count "$PO/orph1") $(si_count "$PO/kept1") $(si_count "$PO/back1")" "1 1 1" "all three fetched once"
rcli del "payhook:entity:$M:orph1" "payhook:entity:$M:back1" >/dev/null
si_post script "{\"path\":\"$PO/orph1\",\"responses\":[{\"status\":404,\"times\":-1}]}"
past=$(($(date +%s%3N) - 1000))
rcli zadd payhook:refresh "$past" "$M:orph1" "$past" "$M:kept1" "$past" "$M:back1" >/dev/null

fetcher_start f1
PH_WAIT=20 ph_wait_for dead_has orph1
tap_ok $? "the gone entity's last refresh job ends dead (404)"
is "$(dead_field 0 error)" not_found "with not_found"
ph_wait_for stored oneinfinite payment_order back1
tap_ok $? "the one the provider still has is stored again"
ph_wait_for fetch_drained
fetcher_stop f1
untracked "$M:orph1"
tap_ok $? "the gone one is no longer tracked"
tracked "$M:back1"
tap_ok $? "the stored-again one is tracked again, by its store"
ok=1; s=$(rcli zscore payhook:refresh "$M:kept1"); [ -n "$s" ] && [ "${s%.*}" -gt "$past" ] && ok=0
tap_ok $ok "the kept one is leased or scheduled again"
is "$(ph_stat refresh:queued) $(ph_stat refresh:expired)" "3 0" "three refreshes queued, none expired"
is "$(si_count "$PO/orph1")" 3 "the gone one: its last job's GETs only (not_found_attempts 2)"
tap_done
