# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Scripts take the time from Redis (TIME), not from the caller's clock (issue
# 17, item 6): a fetcher whose host clock runs 2 h ahead (libfaketime), next
# to a normal one, neither expires a refresh member early (refresh_max_age is
# 1 h) nor moves it before it is due, nor takes the live worker's processing
# list for a dead one's. Its heartbeats are in Redis time too.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

command -v faketime >/dev/null || { tap_ok 1 "faketime installed (scripts/deps)"; tap_done; exit 1; }
standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 600" "refresh_max_age = 3600"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order
beat() { rcli zscore payhook:workers "$1"; }
has_beat() { [ -n "$(beat "$1")" ]; }
# beat_moved WORKER FROM: WORKER beat again since its heartbeat was FROM.
beat_moved() { local b; b=$(beat "$1"); [ -n "$b" ] && [ "$b" != "$2" ]; }

si_post set "{\"path\":\"$PO/c1\",\"body\":{\"id\":\"c1\",\"status\":\"OPENED\"}}"
fetcher_start n1
oi_notify k1 payment_order c1 >/dev/null
ph_wait_for stored oneinfinite payment_order c1
tap_ok $? "the normal fetcher stores c1"
due=$(rcli zscore payhook:refresh "$M:c1")
first=$(rcli hget "payhook:entity:$M:c1" first_stored_at)
like "$due" '^[0-9]+$' "c1 is due for a refresh in 600 s ($due)"
# A job n1 holds (as if its GET were in flight) while n1 beats.
held='{"v":1,"provider":"oneinfinite","entity_type":"payment_order","entity_id":"held1","notification_id":"h1","event":"E.X","received_at":1,"attempt":0}'
rcli lpush payhook:processing:n1 "$held" >/dev/null

# libfaketime is preloaded: an ASan build must be told it need not come first.
# Preloaded here rather than through faketime(1), which forks the program and
# does not pass SIGTERM on: the fetcher outlived the test and, reconnecting to
# its port, emptied the queue of a later test's Redis that got the same port.
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n 1)
[ -n "$FAKETIME_LIB" ] || { tap_ok 1 "libfaketime installed (scripts/deps)"; tap_done; exit 1; }
PH_WRAP_FETCHER="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 LD_PRELOAD=$FAKETIME_LIB FAKETIME=+2h" \
	fetcher_start a1
ph_wait_for has_beat a1
tap_ok $? "the fetcher 2 h ahead runs and beats"
# Its own clock is ahead (its log's time), or this test would prove nothing.
a1_ts=$(sed -n 's/^ts=\([0-9T:.-]*\)Z .*/\1/p' "$T/fetcher-a1.log" | head -n 1)
ahead=$(($(date -u -d "$a1_ts" +%s) - $(date -u +%s)))
[ "$ahead" -ge 3600 ] && [ "$ahead" -le 10800 ]
tap_ok $? "the fetcher's clock is 2 h ahead of this host's (its log: ${ahead} s)"
redis_ms=$(rcli eval "local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000)" 0)
b=$(beat a1)
ok=1; [ "${b%.*}" -le $((redis_ms + 60000)) ] && ok=0
tap_ok $ok "its heartbeat is in Redis time ($b, Redis $redis_ms)"
# Three beats of a1: each beat ends its reaping; a refresh pass runs between two.
for i in 1 2 3; do
	b=$(beat a1)
	PH_WAIT=10 ph_wait_for beat_moved a1 "$b" || break
done
tap_ok $? "a1 beat three more times"
is "$(rcli lrange payhook:processing:n1 0 -1)" "$held" "the live worker's processing list is left alone"
is "$(ph_stat refresh:expired) $(ph_stat refresh:queued)" "0 0" "no refresh member expired or moved early"
is "$(rcli zscore payhook:refresh "$M:c1")" "$due" "c1 still due when it was"
is "$(rcli hget "payhook:entity:$M:c1" first_stored_at)" "$first" "its first store unchanged"
is "$(si_count "$PO/c1")" 1 "c1 fetched once"
fetcher_stop a1
rcli del payhook:processing:n1 >/dev/null
fetcher_stop n1
tap_done
