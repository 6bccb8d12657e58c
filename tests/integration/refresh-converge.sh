# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Refreshes without notifications (docs/REFRESH.md), one fetcher running
# against the provider API stand-in, steps of about a second:
#   in progress: refreshed step by step (unchanged: next step; changed:
#     first step again), a change made at the API alone reaches Redis within
#     the schedule; an unknown status counts as in progress, logged once;
#   final (REFUNDED, Cielo Payment.Status 3 and 10): fetched once more, then
#     never again; settled (CLOSED): refresh_settled steps, then never again;
#   ongoing (ACTIVE, Cielo RecurrentPayment.Status 1): the last step, repeating;
#   refresh_max_age: nothing is refreshed past it, whatever the class;
#   [cielo] refresh = off: a Cielo sale stays out of payhook:refresh, a member
#     already there is dropped unfetched.
# "Never again" is watched for at least three steps, timed by an entity that
# is still being refreshed (or by one that must stop in the meantime).
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
# Steps 1 s, 1 s, 2 s (the last one repeats; ongoing entities wait 2 s).
fetch_conf "refresh_schedule = 1,1,2" "refresh_settled = 1,1" "refresh_max_age = 300"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

PO=/v1/payment_orders RP=/v1/recurrent_payments
S1=0a1b2c3d-0000-4000-8000-000000000001 # Cielo sale: Authorized (1), then Voided (10)
S2=0a1b2c3d-0000-4000-8000-000000000002 # Cielo sale: Denied (3) from the start
S3=0a1b2c3d-0000-4000-8000-000000000003 # Cielo sale: Authorized, then refresh = off
S4=0a1b2c3d-0000-4000-8000-000000000004 # Cielo sale notified while refresh = off
CR=0a1b2c3d-0000-4000-8000-0000000000c1 # Cielo recurrence: Active (1)

# member P T ID / zs P T ID: the refresh member of an entity, and its score.
member() { echo "$1:$2:$3"; }
zs() { rcli zscore payhook:refresh "$(member "$@")"; }
not_tracked() { [ -z "$(zs "$@")" ]; }
tracked() { [ -n "$(zs "$@")" ]; }
# due_delta P T ID: "refresh_due - fetched_at (ms) refresh_step" of the entity, read at once.
# The due time is Redis' clock at the store (its script reads TIME), a few ms
# after fetched_at (the fetcher's clock, same host): STORE_MS allows for it.
STORE_MS=100
due_delta() {
	rcli hmget "payhook:entity:$1:$2:$3" refresh_due fetched_at refresh_step |
		{ read -r due; read -r at; read -r step; echo "$((due - at)) $step"; }
}
# between V LO HI: LO <= V <= HI.
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
# body_has P T ID TEXT: the stored body contains TEXT.
body_has() { ehget "$1" "$2" "$3" body | grep -qF "$4"; }
# count_ge PATH N: the stand-in answered at least N GETs of PATH.
count_ge() { [ "$(si_count "$1")" -ge "$2" ]; }
sale() { echo "{\"path\":\"/1/sales/$1\",\"body\":{\"MerchantOrderId\":\"o\",\"Payment\":{\"PaymentId\":\"$1\",\"Status\":$2}}}"; }
cielo_notify() {
	post "$BASE/webhooks/cielo" "{\"PaymentId\":\"$1\",\"ChangeType\":1}"
}

si_post set "{\"path\":\"$PO/po1\",\"body\":{\"id\":\"po1\",\"status\":\"OPENED\",\"v\":1}}"
si_post set "{\"path\":\"$PO/po2\",\"body\":{\"id\":\"po2\",\"status\":\"CLOSED\"}}"
si_post set "{\"path\":\"$PO/pou\",\"body\":{\"id\":\"pou\",\"status\":\"WEIRD\"}}"
si_post set "{\"path\":\"$RP/rp1\",\"body\":{\"id\":\"rp1\",\"status\":\"ACTIVE\"}}"
si_post set "$(sale $S1 1)"
si_post set "$(sale $S2 3)"
si_post set "$(sale $S3 1)"
si_post set "{\"path\":\"/1/RecurrentPayment/$CR\",\"body\":{\"RecurrentPayment\":{\"RecurrentPaymentId\":\"$CR\",\"Status\":1}}}"

fetcher_start f1
t_post=$(date +%s%3N)
for e in "n1 payment_order po1" "n2 payment_order po2" "n3 payment_order pou" "n4 recurrent_payment rp1"; do
	# shellcheck disable=SC2086
	oi_notify $e >/dev/null
done
cielo_notify $S1 >/dev/null
cielo_notify $S3 >/dev/null
post "$BASE/webhooks/cielo" "{\"PaymentId\":\"$S2\",\"ChangeType\":2,\"RecurrentPaymentId\":\"$CR\"}" >/dev/null

# --- In progress: stored with its first step, then one step further per unchanged GET.
ph_wait_for stored oneinfinite payment_order po1
is "$(ehget oneinfinite payment_order po1 status) $(ehget oneinfinite payment_order po1 refresh_class)" \
	"OPENED progress" "OPENED: status and class progress in the entity hash"
first=$(ehget oneinfinite payment_order po1 first_stored_at)
like "$first" '^[0-9]{13}$' "first_stored_at in ms"
# (A refresh may have stored it again since: fetched_at is the latest store's.)
at=$(ehget oneinfinite payment_order po1 fetched_at)
tap_ok "$(between "$first" "$t_post" $((at + STORE_MS)); echo $?)" \
	"first_stored_at is the first store's time, by Redis' clock (between the post and fetched_at)"
# The first refresh may already have run: read step, due and fetched_at together.
PH_WAIT=5 ph_wait_for tracked oneinfinite payment_order po1
tap_ok $? "po1 tracked in payhook:refresh"
read -r d st <<<"$(due_delta oneinfinite payment_order po1)"
if [ "$st" -lt 2 ]; then
	tap_ok "$(between "$d" 1000 $((1100 + STORE_MS)); echo $?)" "step $st: due 1 s (+ at most 10%) after the fetch ($d ms)"
else
	tap_ok "$(between "$d" 2000 $((2200 + STORE_MS)); echo $?)" "step $st: due 2 s (+ at most 10%) after the fetch ($d ms)"
fi
is "$(zs oneinfinite payment_order po1)" "$(ehget oneinfinite payment_order po1 refresh_due)" \
	"zset score = refresh_due"
PH_WAIT=8 ph_wait_for rcli_is 2 hget payhook:entity:oneinfinite:payment_order:po1 refresh_step
tap_ok $? "unchanged body refetched without a notification: step 0, 1, 2"
read -r d st <<<"$(due_delta oneinfinite payment_order po1)"
tap_ok "$(between "$d" 2000 $((2200 + STORE_MS)); echo $?)" "step 2 waits the 2 s step ($d ms)"
n=$(si_count "$PO/po1")
tap_ok "$([ "$n" -ge 3 ] && [ "$n" -le 4 ]; echo $?)" "one GET per step so far ($n)"
is "$(ehget oneinfinite payment_order po1 first_stored_at)" "$first" "first_stored_at kept by later stores"
like "$(ehget oneinfinite payment_order po1 notification_id)" '^refresh-[0-9]{13}$' "a refresh's store names its job (refresh-{ms})"
ev0=$(rcli xlen payhook:events)

# --- A change at the API alone reaches Redis within the schedule (2.2 s + a poll).
si_post set "{\"path\":\"$PO/po1\",\"body\":{\"id\":\"po1\",\"status\":\"OPENED\",\"v\":2}}"
t0=$(date +%s%N)
PH_WAIT=6 ph_wait_for body_has oneinfinite payment_order po1 '"v":2'
tap_ok $? "a change with no notification reaches Redis"
ms=$((($(date +%s%N) - t0) / 1000000))
tap_ok "$([ "$ms" -le 3500 ]; echo $?)" "within the schedule: ${ms} ms (last step 2.2 s at most)"
read -r d st <<<"$(due_delta oneinfinite payment_order po1)"
is "$st" 0 "a changed body starts again at the first step"
tap_ok "$(between "$d" 1000 $((1100 + STORE_MS)); echo $?)" "first step again: due 1 s after the fetch ($d ms)"
tap_ok "$([ "$(rcli xlen payhook:events)" -gt "$ev0" ]; echo $?)" "the refresh emitted an event for the change"

# --- Settled: refresh_settled (1 s, 1 s), then no more: 1 + 2 GETs.
PH_WAIT=8 ph_wait_for count_ge "$PO/po2" 3
PH_WAIT=3 ph_wait_for not_tracked oneinfinite payment_order po2
tap_ok $? "CLOSED: out of payhook:refresh after its settled steps"
is "$(si_count "$PO/po2")" 3 "CLOSED: the first GET and one per settled step"
is "$(ehget oneinfinite payment_order po2 refresh_class)/$(ehget oneinfinite payment_order po2 refresh_due)" \
	"settled/" "CLOSED: class settled, no refresh_due left"

# --- Final from the first store: one GET, never tracked.
ph_wait_for stored cielo sale $S2
is "$(ehget cielo sale $S2 refresh_class)" final "Payment.Status 3: class final"
tap_ok "$(not_tracked cielo sale $S2; echo $?)" "Payment.Status 3: not in payhook:refresh"

# --- Unknown status: in progress, logged once.
ph_wait_for count_ge "$PO/pou" 3
is "$(ehget oneinfinite payment_order pou refresh_class)" progress "unknown status WEIRD counts as in progress"
tap_ok "$(tracked oneinfinite payment_order pou; echo $?)" "unknown status: tracked"

# --- Ongoing: the last step (2 s), repeating.
is "$(ehget oneinfinite recurrent_payment rp1 refresh_class)" ongoing "ACTIVE: class ongoing"
read -r d st <<<"$(due_delta oneinfinite recurrent_payment rp1)"
tap_ok "$(between "$d" 2000 $((2200 + STORE_MS)); echo $?)" "ACTIVE: due after the last step, 2 s ($d ms)"
is "$(ehget cielo recurrent_payment $CR refresh_class)" ongoing "RecurrentPayment.Status 1: class ongoing"
tap_ok "$(tracked cielo recurrent_payment $CR; echo $?)" "RecurrentPayment.Status 1: tracked"
is "$(ehget cielo sale $S1 refresh_class)" progress "Payment.Status 1: class progress"

# --- Moved to final while no fetcher runs: exactly one more GET, then none.
fetcher_stop f1
is "$STOP_RC" 0 "fetcher stopped (SIGTERM, exit 0)"
n_po1=$(si_count "$PO/po1") n_s1=$(si_count "/1/sales/$S1")
si_post set "{\"path\":\"$PO/po1\",\"body\":{\"id\":\"po1\",\"status\":\"REFUNDED\",\"v\":3}}"
si_post set "$(sale $S1 10)"
fetcher_start f1
PH_WAIT=6 ph_wait_for body_has oneinfinite payment_order po1 REFUNDED
tap_ok $? "REFUNDED reaches Redis by a refresh"
PH_WAIT=6 ph_wait_for body_has cielo sale $S1 '"Status":10'
tap_ok $? "Payment.Status 10 reaches Redis by a refresh"
is "$(ehget oneinfinite payment_order po1 refresh_class)/$(ehget oneinfinite payment_order po1 refresh_due)" \
	"final/" "REFUNDED: class final, no refresh_due"
tap_ok "$(not_tracked oneinfinite payment_order po1 && not_tracked cielo sale $S1; echo $?)" \
	"REFUNDED, Payment.Status 10: out of payhook:refresh"

# Three more refreshes of the ongoing one (6 s, more than 3 steps) with nothing for the final ones.
c=$(si_count "$RP/rp1")
PH_WAIT=12 ph_wait_for count_ge "$RP/rp1" $((c + 3))
tap_ok $? "ACTIVE keeps being refreshed (3 more GETs after $c)"
is "$(si_count "$PO/po1") $(si_count "/1/sales/$S1")" "$((n_po1 + 1)) $((n_s1 + 1))" \
	"REFUNDED, Payment.Status 10: fetched once more, then never again"
is "$(si_count "$PO/po2")" 3 "CLOSED: no GET after its settled steps"
is "$(si_count "/1/sales/$S2")" 1 "Payment.Status 3: never refetched"
tap_ok "$([ "$(si_count "$PO/pou")" -ge 5 ]; echo $?)" "unknown status keeps being refreshed ($(si_count "$PO/pou") GETs)"
is "$(grep -c 'event=status_unknown.*id=pou ' "$T/fetcher-f1.log")" 1 "unknown status logged once for the entity"
like "$(grep 'event=status_unknown.*id=pou ' "$T/fetcher-f1.log")" 'status="WEIRD" counted_as=progress' "status_unknown names the status"
is "$(rcli llen payhook:dead) $(rcli hget payhook:stats refresh:covered)" "0 " "nothing dead, no refresh covered by a waiting job"
fetcher_stop f1
# A refresh job moved just before SIGTERM may wait in the queue: fetched now, not by f2.
fetch_drained || fetch_once

# --- refresh_max_age = 4 and [cielo] refresh = off, from a new fetcher on the same Redis.
cp "$CONF" "$T/age.conf"
sed -i 's/^refresh_max_age = 300$/refresh_max_age = 4/' "$T/age.conf"
printf '[cielo]\nrefresh = off\n' >>"$T/age.conf"
CONF_SAVED=$CONF CONF=$T/age.conf
n_rp1=$(si_count "$RP/rp1") n_s3=$(si_count "/1/sales/$S3")
tap_ok "$(tracked oneinfinite recurrent_payment rp1 && tracked cielo sale $S3; echo $?)" \
	"ACTIVE and an Authorized Cielo sale still tracked when the new fetcher starts"
si_post set "{\"path\":\"$PO/pa1\",\"body\":{\"id\":\"pa1\",\"status\":\"OPENED\"}}"
si_post set "$(sale $S4 1)"
fetcher_start f2
oi_notify a1 payment_order pa1 >/dev/null
cielo_notify $S4 >/dev/null

# Older than refresh_max_age: dropped when it comes due, ongoing or not, with no GET.
PH_WAIT=6 ph_wait_for not_tracked oneinfinite recurrent_payment rp1
tap_ok $? "ACTIVE stored past refresh_max_age: out of payhook:refresh"
is "$(si_count "$RP/rp1")" "$n_rp1" "ACTIVE past refresh_max_age: dropped when due, no GET"
PH_WAIT=6 ph_wait_for not_tracked cielo sale $S3
tap_ok $? "refresh = off: a tracked Cielo sale is dropped when due"
is "$(si_count "/1/sales/$S3")" "$n_s3" "refresh = off: dropped without a GET"
like "$(grep 'event=refresh_dropped' "$T/fetcher-f2.log")" "member=\"cielo:sale:$S3\" reason=refresh_off" "refresh_dropped logged with reason refresh_off"
ph_wait_for stored cielo sale $S4
is "$(ehget cielo sale $S4 refresh_class)" off "refresh = off: a notified Cielo sale is stored with class off"
tap_ok "$(not_tracked cielo sale $S4; echo $?)" "refresh = off: a notified Cielo sale stays out of payhook:refresh"

# An entity in progress from its first store: refreshed until refresh_max_age, then not.
ph_wait_for stored oneinfinite payment_order pa1
PH_WAIT=10 ph_wait_for not_tracked oneinfinite payment_order pa1
tap_ok $? "OPENED: out of payhook:refresh once refresh_max_age is near"
first=$(ehget oneinfinite payment_order pa1 first_stored_at)
n_pa1=$(si_count "$PO/pa1")
tap_ok "$([ "$n_pa1" -ge 2 ]; echo $?)" "OPENED: refreshed before refresh_max_age ($n_pa1 GETs)"
is "$(ehget oneinfinite payment_order pa1 refresh_class)/$(ehget oneinfinite payment_order pa1 refresh_due)" \
	"progress/" "OPENED past refresh_max_age: still class progress, no refresh_due"
# Every GET started before first store + 4 s (+ the poll and the jitter of its step).
late=$(si_log | python3 -c '
import json, sys
first = int(sys.argv[1]) / 1000.0
print(sum(1 for l in sys.stdin if json.loads(l)["path"] == sys.argv[2]
          and json.loads(l)["start"] > first + 4.0 + 0.8))' "$first" "$PO/pa1")
is "$late" 0 "no GET later than refresh_max_age after the first store"

# A second one, notified now, is the clock: when it has stopped too (about 4 s,
# three steps or more), nothing has fetched the first one or rp1 again.
si_post set "{\"path\":\"$PO/pa2\",\"body\":{\"id\":\"pa2\",\"status\":\"OPENED\"}}"
oi_notify a2 payment_order pa2 >/dev/null
PH_WAIT=5 ph_wait_for count_ge "$PO/pa2" 3
PH_WAIT=8 ph_wait_for not_tracked oneinfinite payment_order pa2
tap_ok $? "a second OPENED entity: 3 GETs, then out of payhook:refresh"
is "$(si_count "$PO/pa1") $(si_count "$RP/rp1") $(si_count "/1/sales/$S3")" "$n_pa1 $n_rp1 $n_s3" \
	"no GET of an entity past refresh_max_age or of a dropped one since"
is "$(rcli zcount payhook:refresh -inf "$(($(date +%s%3N) - 1000))")" 0 "nothing left overdue in payhook:refresh"
fetcher_stop f2
is "$STOP_RC" 0 "fetcher stopped (SIGTERM, exit 0)"
CONF=$CONF_SAVED
tap_done
