# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# An entity the API stops answering (404 for good, after it was stored in
# progress): its refresh jobs are dead-lettered, and refresh_max_age still
# bounds them (docs/REFRESH.md: nothing is due later than refresh_max_age
# after the first store). Steps of 1 s, refresh_max_age 4 s; the fetcher's
# heartbeat in payhook:workers is the clock: once it has beaten 4 s past the
# limit (4 more steps), the entity must have been left alone.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 1" "refresh_max_age = 4"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order:gone1

# beat_after MS: fetcher f1's last heartbeat is at MS or later.
beat_after() {
	local b
	b=$(rcli zscore payhook:workers f1)
	[ -n "$b" ] && [ "${b%.*}" -ge "$1" ]
}
dead_count() { rcli lrange payhook:dead 0 -1 | grep -c '"entity_id":"gone1"'; }
dead_ge() { [ "$(dead_count)" -ge "$1" ]; }

fetcher_start f1
oi_notify g1 payment_order gone1 >/dev/null
ph_wait_for stored oneinfinite payment_order gone1
first=$(rcli hget "payhook:entity:$M" first_stored_at)
is "$(rcli hget "payhook:entity:$M" refresh_class)" progress "stored OPENED: in progress"
si_post script "{\"path\":\"$PO/gone1\",\"responses\":[{\"status\":404,\"times\":-1}]}"
PH_WAIT=5 ph_wait_for dead_ge 1
tap_ok $? "its refresh answered 404: dead-lettered (not_found)"
like "$(rcli lrange payhook:dead 0 -1 | grep '"entity_id":"gone1"' | head -n 1)" '"event":"refresh".*"error":"not_found"' \
	"the dead entry is the refresh job's"

PH_WAIT=15 ph_wait_for beat_after $((first + 8000))
tap_ok $? "the fetcher ran until 8 s after the first store"
late=$(si_log | python3 -c '
import json, sys
limit = int(sys.argv[1]) / 1000.0 + 4.0 + 1.0
print(sum(1 for l in sys.stdin if json.loads(l)["path"] == sys.argv[2] and json.loads(l)["start"] > limit))' \
	"$first" "$PO/gone1")
is "$late" 0 "no GET more than refresh_max_age (+ 1 s) after the first store ($(si_count $PO/gone1) GETs in all)"
s=$(rcli zscore payhook:refresh "$M")
tap_ok "$([ -z "$s" ] || [ "${s%.*}" -le $((first + 4000)) ]; echo $?)" \
	"not due later than refresh_max_age after the first store (score ${s:-none}, limit $((first + 4000)))"
n=$(dead_count)
tap_ok "$([ "$n" -le 4 ]; echo $?)" "dead entries bounded by the refreshes before refresh_max_age ($n)"
fetcher_stop f1
tap_done
