# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhookctl refresh rebuild after the refreshes of some entities ended
# (docs/REFRESH.md): it schedules what was stored before refresh existed,
# and must not bring back an entity whose refresh_settled steps are done
# ("then no more") nor one past refresh_max_age ("nothing is due later than
# refresh_max_age after the entity was first stored"). Steps of 1 s,
# refresh_settled 1 s, refresh_max_age 3 s.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 1" "refresh_settled = 1" "refresh_max_age = 3"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order

tracked() { [ -n "$(rcli zscore payhook:refresh "$M:$1")" ]; }
not_tracked() { ! tracked "$1"; }
count_ge() { [ "$(si_count "$PO/$1")" -ge "$2" ]; }

si_post set "{\"path\":\"$PO/set1\",\"body\":{\"id\":\"set1\",\"status\":\"CLOSED\"}}"
si_post set "{\"path\":\"$PO/age1\",\"body\":{\"id\":\"age1\",\"status\":\"OPENED\"}}"
fetcher_start f1
oi_notify n1 payment_order set1 >/dev/null
oi_notify n2 payment_order age1 >/dev/null
PH_WAIT=6 ph_wait_for count_ge set1 2 && PH_WAIT=3 ph_wait_for not_tracked set1
tap_ok $? "CLOSED: its one settled step done, out of payhook:refresh"
PH_WAIT=8 ph_wait_for count_ge age1 2 && PH_WAIT=8 ph_wait_for not_tracked age1
tap_ok $? "OPENED: refreshed, then out of payhook:refresh at refresh_max_age"
fetcher_stop f1
n_set1=$(si_count $PO/set1) n_age1=$(si_count $PO/age1)
is "$n_set1" 2 "CLOSED: 2 GETs (the first and one settled step)"

# An entity stored before refresh existed: no refresh fields, no member.
rcli hset payhook:entity:$M:old1 body '{"id":"old1","status":"OPENED"}' fetched_at 1700000000000 http_status 200 >/dev/null
si_post set "{\"path\":\"$PO/old1\",\"body\":{\"id\":\"old1\",\"status\":\"OPENED\"}}"
"$PH_BUILD/tools/payhookctl" -c "$CONF" refresh rebuild >"$T/rebuild.out" 2>&1
is "$?" 0 "refresh rebuild: exit 0"
echo "# $(cat "$T/rebuild.out")"
tap_ok "$(tracked old1; echo $?)" "rebuild schedules an entity stored before refresh existed"
tap_ok "$(not_tracked set1; echo $?)" "rebuild leaves out an entity whose settled steps are done"
tap_ok "$(not_tracked age1; echo $?)" "rebuild leaves out an entity past refresh_max_age"
like "$(cat "$T/rebuild.out")" '^3 entities: 1 scheduled, 0 final, 2 ' "rebuild counts 1 scheduled of 3"

# The fetcher refreshes old1 (the clock: 2 GETs, 1 s apart); set1 and age1 must get none.
fetcher_start f1
PH_WAIT=8 ph_wait_for count_ge old1 2
tap_ok $? "old1 refreshed after the rebuild"
is "$(si_count $PO/set1) $(si_count $PO/age1)" "$n_set1 $n_age1" "no GET of set1 or age1 after the rebuild"
fetcher_stop f1
tap_done
