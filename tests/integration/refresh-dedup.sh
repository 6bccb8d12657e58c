# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Refreshes and jobs already waiting, at scale (docs/REFRESH.md):
#   a refresh that comes due while a notification's job for the same entity
#   waits is covered by it (one GET, not two), and a notification that comes
#   while a refresh job waits is covered the same way;
#   10,000 entities due together are moved in batches of at most 100, queued
#   once each and fetched exactly once by two fetchers;
#   a fetcher SIGKILLed while it moves another 5,000 loses none: every one is
#   fetched and stored, nothing is left due, only jobs it held are fetched twice.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 1"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order

# due MEMBER: its refresh is due by Redis's clock.
due() {
	local s now
	s=$(rcli zscore payhook:refresh "$1")
	now=$(rcli time | { read -r sec; read -r us; echo $((sec * 1000 + us / 1000)); })
	[ -n "$s" ] && [ "${s%.*}" -le "$now" ]
}
# stat_is FIELD N: a payhook:stats counter equals N (absent is 0).
stat_is() { [ "$(ph_stat "$1")" = "$2" ]; }
queue_has_refresh_of() { rcli lrange payhook:queue 0 -1 | grep -q "\"entity_id\":\"$1\",\"notification_id\":\"refresh-"; }

# --- A notification's job waits; the refresh comes due meanwhile: covered, one GET.
oi_notify n1 payment_order pd1 >/dev/null
fetch_once
is "$(si_count $PO/pd1)" 1 "pd1 stored by its notification: 1 GET"
is "$(oi_notify n2 payment_order pd1)" '200 {"status":"accepted"}' "a second notification while no fetcher runs"
is "$(rcli llen payhook:queue) $(rcli exists payhook:pending:$M:pd1)" "1 1" "its job waits, with the pending marker"
PH_WAIT=5 ph_wait_for due "$M:pd1"
tap_ok $? "pd1's refresh has come due while the job waits"
fetcher_start f1
ph_wait_for rcli_is n2 hget payhook:entity:$M:pd1 notification_id
ph_wait_for fetch_drained
fetcher_stop f1
is "$(si_count $PO/pd1)" 2 "one GET for the notification and the due refresh together"
is "$(ph_stat refresh:covered) $(ph_stat refresh:queued)" "1 0" "stats: refresh:covered 1, refresh:queued 0"
tap_ok "$(rcli zscore payhook:refresh $M:pd1 | grep -q .; echo $?)" "pd1 still tracked, its next refresh set by the store"

# --- A refresh job waits (the only slot busy with a slow GET); a notification comes: covered.
# The GET takes 1.9 s (timeout_ms is 2000): pd1's refresh is due before the fetcher starts.
si_post script "{\"path\":\"$PO/slow\",\"responses\":[{\"delay_ms\":1900}]}"
oi_notify n3 payment_order slow >/dev/null
PH_WAIT=5 ph_wait_for due "$M:pd1"
fetcher_start f2 --concurrency 1
ph_wait_for si_inflight_is 1
c0=$(si_count $PO/pd1)
PH_WAIT=5 ph_wait_for queue_has_refresh_of pd1
tap_ok $? "pd1's refresh job waits in the queue behind the slow GET"
is "$(oi_notify n4 payment_order pd1)" '200 {"status":"accepted"}' "a notification while the refresh job waits: accepted"
is "$(rcli llen payhook:queue)" 1 "no second job queued: the refresh job covers it"
ph_wait_for stored oneinfinite payment_order slow
ph_wait_for fetch_drained
fetcher_stop f2
is "$(si_count $PO/pd1)" $((c0 + 1)) "one GET for the waiting refresh and the notification"
like "$(rcli hget payhook:entity:$M:pd1 notification_id)" '^refresh-' "the refresh job did the fetch"

# --- 10,000 entities due at once, two fetchers: each moved once, fetched once.
rcli del payhook:refresh >/dev/null # pd1 and slow: not part of the counts below
cp "$CONF" "$T/long.conf"
sed -i 's/^refresh_schedule = 1$/refresh_schedule = 3600/' "$T/long.conf"
printf '[log]\nlevel = debug\n' >>"$T/long.conf"
CONF=$T/long.conf
rcli hdel payhook:stats refresh:queued refresh:covered >/dev/null
si_post reset '{}'
N=10000
# Member lines "member path", a quarter of each kind the stand-in answers by default:
# OPENED (in progress), ACTIVE (ongoing), Cielo Status 2 (settled), Cielo Status 1 (ongoing).
gen() {
	python3 - "$1" "$2" <<'PY'
import sys, uuid
tag, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    k = i % 4
    if k == 0:
        print("oneinfinite:payment_order:%s%d /v1/payment_orders/%s%d" % (tag, i, tag, i))
    elif k == 1:
        print("oneinfinite:recurrent_payment:%s%d /v1/recurrent_payments/%s%d" % (tag, i, tag, i))
    else:
        g = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s%d" % (tag, i)))
        if k == 2:
            print("cielo:sale:%s /1/sales/%s" % (g, g))
        else:
            print("cielo:recurrent_payment:%s /1/RecurrentPayment/%s" % (g, g))
PY
}
# zadd_past FILE: ZADD every member of FILE with a score in the past, 500 a command.
zadd_past() {
	awk '{ printf "%s 1000 %s", (NR % 500 == 1 ? "ZADD payhook:refresh" : ""), $1;
	       printf (NR % 500 == 0 ? "\n" : " ") } END { print "" }' "$1" | rcli >/dev/null
}
# gets FILE: from the stand-in's log, "paths of FILE never GET, paths GET more than once, max GETs".
gets() {
	si_log | python3 -c '
import collections, json, sys
want = [l.split()[1] for l in open(sys.argv[1])]
c = collections.Counter(json.loads(l)["path"] for l in sys.stdin)
print(sum(1 for p in want if c[p] == 0), sum(1 for p in want if c[p] > 1),
      max(c[p] for p in want))' "$1"
}
stored_total() { echo $(($(ph_stat fetch:oneinfinite:stored) + $(ph_stat fetch:cielo:stored))); }
stored_ge() { [ "$(stored_total)" -ge "$1" ]; }
# refreshed_after FILE MS: how many of FILE's entities a refresh job stored at MS or later.
refreshed_after() {
	awk '{ print "HMGET payhook:entity:" $1 " fetched_at notification_id" }' "$1" | rcli |
		paste - - | awk -v t="$2" '$1 >= t && $2 ~ /^refresh-/' | wc -l
}

gen b $N >"$T/big.txt"
is "$(sort -u "$T/big.txt" | wc -l)" $N "$N distinct members"
s0=$(stored_total)
t0=$(date +%s%3N)
zadd_past "$T/big.txt"
is "$(rcli zcount payhook:refresh -inf 1000)" $N "$N members due together in payhook:refresh"
start=$SECONDS
fetcher_start b1 --concurrency 32
fetcher_start b2 --concurrency 32
PH_WAIT=50 ph_wait_for stored_ge $((s0 + N))
tap_ok $? "$N refreshes stored ($((SECONDS - start)) s)"
ph_wait_for fetch_drained
is "$(ph_stat refresh:queued) $(ph_stat refresh:covered)" "$N 0" "stats: refresh:queued $N, covered 0"
is "$(gets "$T/big.txt")" "0 0 1" "every entity GET exactly once (never, twice, max)"
is "$(stored_total)" $((s0 + N)) "exactly $N stores"
is "$(refreshed_after "$T/big.txt" "$t0")" $N "every entity's snapshot stored by a refresh job"
is "$(rcli zcount payhook:refresh -inf "$(($(date +%s%3N) + 3000 * 1000))")" 0 \
	"none due again within the hour (refresh_schedule 3600)"
is "$(rcli zcard payhook:refresh)" $N "all $N still tracked"
cat "$T/fetcher-b1.log" "$T/fetcher-b2.log" | grep 'event=refresh_due ' >"$T/moves.txt"
read -r moved batches maxb <<<"$(sed -E 's/.*queued=([0-9]+) covered=([0-9]+).*/\1 \2/' "$T/moves.txt" |
	awk '{ q += $1; n++; if ($1 + $2 > m) m = $1 + $2 } END { print q + 0, n + 0, m + 0 }')"
is "$moved" $N "the fetchers' refresh_due lines add up to $N queued"
tap_ok "$([ "$maxb" -le 100 ] && [ "$batches" -ge $((N / 100)) ]; echo $?)" \
	"moved in batches of at most 100 ($batches batches, largest $maxb)"
tap_ok "$([ -s "$T/fetcher-b1.log" ] && grep -q 'event=refresh_due ' "$T/fetcher-b1.log" &&
	grep -q 'event=refresh_due ' "$T/fetcher-b2.log"; echo $?)" "both fetchers moved some"

# --- 5,000 more due at once; b1 SIGKILLed while it moves them: none lost.
K=5000
gen k $K >"$T/kill.txt"
si_post reset '{}'
q0=$(ph_stat refresh:queued) s0=$(stored_total)
t0=$(date +%s%3N)
queued_ge() { [ "$(ph_stat refresh:queued)" -ge "$1" ]; }
zadd_past "$T/kill.txt"
PH_WAIT=10 ph_wait_for queued_ge $((q0 + 500))
kill -9 "$(cat "$T/fetcher-b1.pid")"
wait "$(cat "$T/fetcher-b1.pid")" 2>/dev/null
at_kill=$(($(ph_stat refresh:queued) - q0))
echo "# b1 killed after $at_kill of $K were queued, $(($(stored_total) - s0)) stored"
tap_ok "$([ "$at_kill" -lt $K ]; echo $?)" "b1 SIGKILLed while due entries were still being moved ($at_kill of $K queued)"
held=$(rcli llen payhook:processing:b1)
refreshed_all() { [ "$(refreshed_after "$T/kill.txt" "$t0")" = $K ]; }
PH_WAIT=40 ph_wait_for refreshed_all
tap_ok $? "all $K stored by a refresh after the kill (b1 held $held jobs)"
ph_wait_for fetch_drained
tap_ok $? "queue, retries and processing lists drained (b1's re-queued by b2)"
read -r never twice max <<<"$(gets "$T/kill.txt")"
is "$never" 0 "every one of the $K GET at least once"
tap_ok "$([ "$twice" -le 32 ]; echo $?)" "at most b1's slots (32) fetched twice ($twice, at most $max GETs each)"
is "$(rcli zcount payhook:refresh -inf "$(($(date +%s%3N) + 3000 * 1000))")" 0 "nothing left due in payhook:refresh"
is "$(rcli zcard payhook:refresh)" $((N + K)) "all still tracked"
is "$(rcli llen payhook:dead)" 0 "nothing dead"
fetcher_stop b2
is "$STOP_RC" 0 "b2 stopped (SIGTERM, exit 0)"
tap_done
