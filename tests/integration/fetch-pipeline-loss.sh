#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis connections killed again and again while two fetchers drain 3000 jobs
# with pipelined turns (fetcher_pipeline: rate scripts, claims, stores and
# reschedules, and up to 64 LMOVE takes written at once, the replies read in
# order). A kill mid-turn loses the replies not read yet, while Redis may
# have run some of those steps: the fetcher sends every such step again next
# turn (the scripts check the lock token) and adopts the jobs an LMOVE moved
# into its processing list. In the end every job is stored exactly once:
# nothing lost, nothing stored a second time from a stale lock.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
# worker_timeout long enough that neither fetcher re-queues the other's jobs
# while its heartbeats fail under the kills: a re-queued job of a live worker
# is fetched and stored twice by design, which is not what this test is about.
# No refresh comes due during the test (its first step is an hour away), so
# every GET and store here comes from a queued job.
fetch_conf "worker_timeout = 30" "lock_ttl = 10000" "refresh_schedule = 3600"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

N=3000
push_jobs pl "$N"
is "$(rcli llen payhook:queue)" "$N" "$N jobs queued"

# Some latency: GETs overlap the pipelined turns, so turns carry claims,
# stores and takes together, and the drain lasts a few seconds of kills.
si_post latency '{"min_ms":30,"max_ms":120}'
fetcher_start a --concurrency 64
fetcher_start b --concurrency 64
ph_wait_for grep -q 'event=fetch_stored' "$T/fetcher-a.log" "$T/fetcher-b.log"
tap_ok $? "fetching has started"

# Kill every client connection but this redis-cli's every 20-50 ms until all
# N are stored; at most 1000 kills and 30 s. The pauses pace the kills, they
# synchronize nothing. One redis-cli kills and reads the stored count.
stored_count() { ph_stat fetch:oneinfinite:stored; }
kills=0 killed=0 t0=$SECONDS
deadline=$((SECONDS + 30))
while [ $kills -lt 1000 ] && [ $SECONDS -lt $deadline ]; do
	{ read -r n; read -r nstored; } < <(printf '%s\n' 'CLIENT KILL TYPE normal SKIPME yes' \
		'HGET payhook:stats fetch:oneinfinite:stored' | rcli)
	kills=$((kills + 1))
	[[ $n =~ ^[0-9]+$ ]] && killed=$((killed + n))
	[[ $nstored =~ ^[0-9]+$ ]] && [ "$nstored" -ge $N ] && break
	sleep "0.0$((RANDOM % 31 + 20))"
done
echo "# $kills CLIENT KILLs over $((SECONDS - t0)) s closed $killed connections"
tap_ok "$([ $killed -ge 10 ]; echo $?)" "connections were killed during the drain ($killed)"

all_stored() { [ "$(stored_count)" -ge $N ]; }
PH_WAIT=15 ph_wait_for all_stored
tap_ok $? "the fetchers stored $N snapshots"
PH_WAIT=10 ph_wait_for fetch_drained
tap_ok $? "queue, retries and every processing list drained"

# The kills hit pipelined turns: a fetcher logs redis_down during=pipeline
# when a reply of its turn did not come (once per outage: each one is a
# connection lost and found again). Some cut a turn after Redis had run part
# of it: an LMOVE whose reply was lost leaves a job the fetcher adopts from
# its processing list, and a store whose reply was lost is sent again, finds
# its lock released by itself (lock_lost, the only way to lose a lock here:
# lock_ttl is 10 s) and its reschedule finds the job gone (added nothing).
logs() { cat "$T/fetcher-a.log" "$T/fetcher-b.log"; }
down_a=$(grep -c 'event=redis_down during=pipeline' "$T/fetcher-a.log")
down_b=$(grep -c 'event=redis_down during=pipeline' "$T/fetcher-b.log")
up=$(logs | grep -c 'event=redis_up')
adopted=$(logs | grep -c 'event=adopted')
relost=$(logs | grep -c 'event=fetch_retry .*error="lock_lost"')
elsewhere=$(logs | grep -c 'event=fetch_requeued_elsewhere')
echo "# pipelined turns cut: a $down_a, b $down_b; reconnected $up times"
echo "# run before their reply was lost: $adopted LMOVEs (jobs adopted), $relost stores" \
	"(sent again: lock_lost; $elsewhere reschedules found the job gone)"
tap_ok "$([ "$down_a" -ge 3 ]; echo $?)" "fetcher a lost the connection mid-pipeline several times ($down_a)"
tap_ok "$([ "$down_b" -ge 3 ]; echo $?)" "fetcher b lost the connection mid-pipeline several times ($down_b)"
tap_ok "$([ "$up" -ge $((down_a + down_b)) ]; echo $?)" "every outage ended in a reconnect ($up redis_up)"
tap_ok "$([ $((adopted + relost)) -ge 1 ]; echo $?)" \
	"some turns were cut after Redis ran some of their steps ($adopted adopted, $relost stores re-sent)"

# Nothing lost.
is "$(rcli --scan --pattern 'payhook:entity:oneinfinite:payment_order:pl*' | wc -l)" "$N" \
	"$N entity hashes"
is "$(rcli llen payhook:queue)" 0 "queue empty"
is "$(rcli zcard payhook:retry)" 0 "retry empty"
is "$(rcli --scan --pattern 'payhook:processing:*' | while read -r k; do rcli llen "$k"; done |
	awk '{s += $1} END {print s + 0}')" 0 "every processing list empty"
is "$(rcli llen payhook:dead)" 0 "nothing in dead"
is "$(rcli --scan --pattern 'payhook:lock:*' | wc -l)" 0 "no lock left behind"

# Nothing stored twice. The stand-in answers the same body for an entity
# every time, so a second store of an entity would not add an event but
# count fetch:oneinfinite:unchanged (and a store that wrote twice with
# differing bodies would add an event): exactly N events, N stored, none
# unchanged.
is "$(rcli xlen payhook:events)" "$N" "exactly one event per entity"
is "$(ph_stat fetch:oneinfinite:stored)" "$N" "fetch:oneinfinite:stored = $N"
is "$(ph_stat fetch:oneinfinite:unchanged)" 0 "no entity stored a second time (fetch:oneinfinite:unchanged = 0)"
is "$(rcli xrange payhook:events - + | grep -c '^pl[0-9]*$')" "$N" "the events name $N entities"
is "$(rcli xrange payhook:events - + | grep '^pl[0-9]*$' | sort -u | wc -l)" "$N" "no entity has two events"

# GETs per entity, from the stand-in's log. A GET may be repeated without a
# second store: a GET that failed (a transport error) is retried, and a job
# whose lock expired before its store is fetched again (lock_ttl is long here
# to make that rare). A claim whose reply was lost is sent again with the
# same token and answers 1 again, but it starts a GET only when none started
# yet: the first claim's reply never reached the fetcher, so no GET came of
# it. Only the stores are asserted to happen once; the repeats are reported.
si_log | python3 -c '
import collections, json, sys
n = collections.Counter()
for line in sys.stdin:
    p = json.loads(line)["path"]
    if p.startswith("/v1/payment_orders/pl"):
        n[p] += 1
print(sum(n.values()), len(n), sum(1 for v in n.values() if v > 1), max(n.values() or [0]))
' >"$T/gets.txt"
read -r gets fetched twice most <"$T/gets.txt"
echo "# $gets GETs of $fetched entities; $twice entities fetched more than once (at most $most times)"
is "$fetched" "$N" "every entity was fetched"

for w in a b; do
	fetcher_stop $w
	is "$STOP_RC" 0 "fetcher $w: SIGTERM, exit 0"
done
echo "# test took $SECONDS s"
tap_done
