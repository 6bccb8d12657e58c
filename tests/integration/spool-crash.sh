# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# The spool across a crash and across processes: payhook-fcgi SIGKILLed
# during an outage after answering 200 from the spool, started again on the
# same spool_dir; a second payhook-fcgi on the same spool_dir; Redis back:
# every notification answered 200 is in Redis exactly once. A live
# process's open segment (it holds its flock) is never replayed by another.
. "$(dirname "$0")/lib.sh"

SPOOL=$T/spool
ph_spool_extra "$SPOOL"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
OPENED='"event_type":"PAYMENT_ORDER.OPENED"'
guid() { printf '7e57c0de-0000-4000-8000-%012d' "$1"; }

# send BASE PROVIDER KEY: post a OneInfinite notification with id KEY (entity
# po_KEY) or a Cielo one for PaymentId KEY; record "provider key status
# spooled" in $T/answers.
send() {
	local body h st sp=0
	if [ "$2" = oneinfinite ]; then
		body="{\"id\":\"$3\",$OPENED,\"entity_id\":\"po_$3\"}"
	else
		body="{\"PaymentId\":\"$3\",\"ChangeType\":1}"
	fi
	h=$(curl -s -i -m 10 -X POST --data-binary "$body" "$1/webhooks/$2" | tr -d '\r')
	st=$(head -n 1 <<<"$h" | cut -d' ' -f2)
	[[ $h == *$'\nX-Payhook-Spooled: 1\n'* ]] && sp=1
	echo "$2 $3 ${st:-none} $sp" >>"$T/answers"
}
# answered WHAT: a count from $T/answers.
answered() {
	case $1 in
	all) wc -l <"$T/answers" ;;
	ok) grep -c ' 200 [01]$' "$T/answers" ;;
	spooled) grep -c ' 200 1$' "$T/answers" ;;
	oi) grep -c '^oneinfinite .* 200 [01]$' "$T/answers" ;;
	oi-distinct) awk '$1 == "oneinfinite" && $3 == 200 { print $2 }' "$T/answers" | sort -u | wc -l ;;
	cielo) grep -c '^cielo .* 200 [01]$' "$T/answers" ;;
	cielo-distinct) awk '$1 == "cielo" && $3 == 200 { print $2 }' "$T/answers" | sort -u | wc -l ;;
	esac
}
# segment_of PID: the name of PID's segment in the spool, if any.
segment_of() {
	find "$SPOOL" -maxdepth 1 -name "*-$1-*.seg" -printf '%f\n'
}
: >"$T/answers"

# Before the outage, straight into Redis.
send "$BASE" oneinfinite pre-1
send "$BASE" cielo "$(guid 1)"
is "$(answered spooled)/$(answered ok)" 0/2 "Redis up: 2 notifications accepted, none spooled"

ph_stop_redis "$T/redis"
A=$(cat "$T/handler.pid")
for i in 1 2 3 4 5 6 7 8; do send "$BASE" oneinfinite "c1-$i"; done
send "$BASE" oneinfinite c1-1  # a repeat, spooled again
send "$BASE" oneinfinite pre-1 # seen before the outage
send "$BASE" cielo "$(guid 1)" # its job still waits
send "$BASE" cielo "$(guid 2)"
send "$BASE" cielo "$(guid 2)"
is "$(answered spooled)" 13 "Redis down: 13 notifications spooled, answered 200"
like "$(segment_of "$A")" '^[0-9]{13}-[0-9]+-1\.seg$' "payhook-fcgi (pid $A) writes its own segment"

{
	kill -KILL "$A"
	wait "$A"
} 2>/dev/null
is $? 137 "payhook-fcgi SIGKILLed"
rm -f "$T/fcgi.sock"
ph_start_handler "$T" "$CONF" || tap_ok 1 "payhook-fcgi restarted"
A2=$(cat "$T/handler.pid")
trap 'kill -CONT "$A2" 2>/dev/null; ph_test_cleanup' EXIT
like "$(grep 'event=spool spool_dir=' "$T/handler.log" | tail -n 1)" "event=spool spool_dir=$SPOOL segments=1" "restarted on the same spool_dir: it sees the dead process's segment"
for i in 1 2 3 4 5; do send "$BASE" oneinfinite "c2-$i"; done
send "$BASE" oneinfinite c1-2
send "$BASE" cielo "$(guid 3)"
send "$BASE" cielo "$(guid 2)"
is "$(answered spooled)" 21 "8 more spooled by the new process"
is "$(ph_segments "$SPOOL")" 2 "two segments: the dead process's and the new one's"

# A second payhook-fcgi on the same spool_dir, its own socket and nginx.
PORT_B=$(ph_free_port)
mkdir -p "$T/b"
ph_start_handler "$T/b" "$CONF" || tap_ok 1 "second payhook-fcgi started"
ph_start_nginx "$T/b" "$PORT_B" || tap_ok 1 "second nginx started"
B=$(cat "$T/b/handler.pid")
BASE_B=http://127.0.0.1:$PORT_B
for i in 1 2 3 4 5; do send "$BASE_B" oneinfinite "b-$i"; done
send "$BASE_B" oneinfinite c2-1
send "$BASE_B" cielo "$(guid 4)"
send "$BASE_B" cielo "$(guid 1)"
is "$(answered spooled)" 29 "8 spooled by the second process"
is "$(answered ok)/$(answered all)" 31/31 "every answer so far: 200"
SEG_A2=$(segment_of "$A2")
like "$SEG_A2" "^[0-9]{13}-$A2-1\\.seg\$" "the restarted process has its own segment"
like "$(segment_of "$B")" "^[0-9]{13}-$B-1\\.seg\$" "the second process has its own segment"
is "$(ph_segments "$SPOOL")" 3 "three segments in the spool"

# Freeze the restarted process: it keeps its segment open and locked. Redis
# back: the second process replays its own segment and the dead one's, and
# must pass over the frozen process's segment.
kill -STOP "$A2"
ph_start_redis "$T/redis" "$REDIS_PORT" || tap_ok 1 "redis restarted"
one_left() { [ "$(ph_segments "$SPOOL")" = 1 ] && [ -e "$SPOOL/$SEG_A2" ]; }
ph_wait_for one_left
tap_ok $? "Redis back: the second process replayed the dead process's segment and its own"
# Its counters arrive in the flush after the replay, a second or more of
# replay turns later: the locked segment was passed over all that time.
b_flushed() { [ "$(($(ph_stat spool:replayed) + $(ph_stat spool:duplicate)))" = 21 ]; }
ph_wait_for b_flushed
tap_ok $? "the second process counted 21 records replayed (13 + 8)"
is "$(ph_segments "$SPOOL")/$(ls "$SPOOL")" "1/$SEG_A2" "the frozen process's open segment is still there"
is "$(rcli exists payhook:seen:oneinfinite:c2-3)" 0 "none of its records was replayed (c2-3 not seen)"
is "$(rcli exists payhook:seen:oneinfinite:c1-8)$(rcli exists payhook:seen:oneinfinite:b-5)" 11 "the dead process's and the second's records are (c1-8, b-5)"

kill -CONT "$A2"
drained() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
ph_wait_for drained
tap_ok $? "thawed: its segment is sealed, replayed and deleted"

present=$(awk '$1 == "oneinfinite" && $3 == 200 { print "EXISTS payhook:seen:oneinfinite:" $2 }' "$T/answers" |
	sort -u | rcli | grep -c '^1$')
is "$present" "$(answered oi-distinct)" "every OneInfinite id answered 200 has its seen key ($(answered oi-distinct) ids)"
want=$( { awk '$1 == "oneinfinite" && $3 == 200 { print "\"entity_id\":\"po_" $2 "\"" }' "$T/answers"
	awk '$1 == "cielo" && $3 == 200 { print "\"entity_id\":\"" $2 "\"" }' "$T/answers"; } | sort -u | sed 's/^/1 /')
got=$(rcli lrange payhook:queue 0 -1 | grep -o '"entity_id":"[^"]*"' | sort | uniq -c | sed 's/^ *//')
is "$got" "$want" "exactly one job per entity answered 200, and no other"
is "$(rcli llen payhook:queue)" $(($(answered oi-distinct) + $(answered cielo-distinct))) "queue length: distinct OneInfinite ids + distinct Cielo payments"
# One XADD per notification accepted as new: every Cielo one, each OneInfinite
# id once. A record replayed twice would add an entry (or a duplicate).
is "$(rcli xlen payhook:notifications)" $(($(answered oi-distinct) + $(answered cielo))) "notifications stream: one entry per accepted notification, none twice"
counted() { [ "$(($(ph_stat spool:replayed) + $(ph_stat spool:duplicate)))" = "$(answered spooled)" ]; }
ph_wait_for counted
tap_ok $? "spool:replayed + spool:duplicate = $(answered spooled), the number spooled"
is "$(ph_stat spool:duplicate)" $(($(answered oi) - $(answered oi-distinct))) "spool:duplicate: the repeated OneInfinite ids"
is "$(ph_stat spool:dead)/$(ph_stat spool:dropped_torn)/$(ph_stat spool:dropped_corrupt)" 0/0/0 "nothing dead, torn or corrupt"
is "$(rcli llen payhook:dead)" 0 "payhook:dead is empty"
kill -0 "$A2" && kill -0 "$B"
tap_ok $? "both processes still running"
tap_done
