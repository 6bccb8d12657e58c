# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# [redis] min_replicas = 1: a 200 without X-Payhook-Spooled means a WAIT on
# the connection that carried the write was acknowledged by a replica.
# Redis A has no replica (a WAIT there is never acknowledged); Redis B has
# one. payhook-fcgi reaches them through tests/standin/resp-proxy.py, which
# sends connections to A until it cuts one after the k-th reply of a batch,
# then closes every connection to A and sends new ones to B (a failover):
# - group commit: calls of the cut batch answered by A, then the rest sent
#   again on a new connection to B, whose WAIT succeeds: none of those A
#   answered may get a plain 200 (its seen key only on A); once the spool has
#   drained, every notification answered 200 is in B exactly once;
# - spool replay, the same failover in the middle of a replay batch;
# - POST /entities/.../refetch honours min_replicas: B's replica stopped
#   (SIGSTOP), it answers 503, not 200; continued, 200.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/faults.sh"

N=20 # notifications in the batch that is cut
K=8  # the cut: after this reply of the batch
PAUSE=$([ -n "${PH_WRAP:-}" ] && echo 6000 || echo 2000)
SPOOL=$T/spool
mkdir -p "$SPOOL"
A=$(ph_free_port) B=$(ph_free_port) BR=$(ph_free_port)
ph_start_redis "$T/redis-a" "$A" && ph_start_redis "$T/redis-b" "$B" &&
	ph_start_redis "$T/redis-br" "$BR" "replicaof 127.0.0.1 $B" "repl-diskless-sync-delay 0"
tap_ok $? "Redis A (no replica), Redis B and its replica up"
BR_PID=$(redis_pid "$T/redis-br")
# A replica left stopped would hang the cleanup's wait.
trap 'kill -CONT "$BR_PID" 2>/dev/null; ph_test_cleanup' EXIT
ph_wait_for link_up "$BR"
tap_ok $? "B's replica is linked"
printf '[handler]\nspool_dir = %s\n[redis]\nmin_replicas = 1\n' "$SPOOL" >"$T/extra.conf"
PH_CONF_EXTRA=$T/extra.conf
faults_stack "$A" "$B" || { tap_ok 1 "stack up"; tap_done; exit 1; }
drained() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
# on PORT ANSWERS: the keys of ANSWERS whose seen key PORT holds, one a line.
on() {
	awk '{ print "EXISTS payhook:seen:oneinfinite:" $1 }' "$2" | redis-cli -p "$1" |
		paste -d' ' - "$2" | awk '$1 == 1 { print $2 }'
}

# 1. Group commit: the first call held in A (CLIENT PAUSE), N behind it, the
# cut after reply K of the N, then B.
proxy_ctl cut EVALSHA $((K + 1)) 1 failover >/dev/null
oi_lines gc 0 "$N" | post_many --pause "$A:$PAUSE" --first-alone "$PROXY_CTL" >"$T/gc.out"
cut=$(grep ' cut conn=' "$T/proxy.log" | head -n 1)
like "$cut" "upstream=0 after reply $((K + 1)) to EVALSHA; unanswered EVALSHA=[1-9][0-9]*\$" \
	"the connection to A was cut after reply $K of a batch of $N"
echo "# $(sed 's/^[0-9.]* //' <<<"$cut")"
like "$(cat "$T/proxy.log")" 'failover upstream=0 -> 1' "then the proxy failed over to B"
echo "# answers (status spooled): $(cut -d' ' -f2,3 "$T/gc.out" | sort | uniq -c | tr -s ' \n' ' ')"
awk '$2 == 200 && $3 == 0' "$T/gc.out" >"$T/gc.plain"
on "$A" "$T/gc.out" | sort >"$T/gc.on-a"
on "$B" "$T/gc.out" | sort >"$T/gc.on-b"
bad=$(cut -d' ' -f1 "$T/gc.plain" | sort | comm -23 - "$T/gc.on-b" | tr '\n' ' ')
is "$bad" "" "no plain 200 whose write B did not take ($(wc -l <"$T/gc.plain") plain 200, $(wc -l <"$T/gc.on-a") written on A)"
bad=$(cut -d' ' -f1 "$T/gc.plain" | sort | comm -12 - "$T/gc.on-a" | comm -23 - "$T/gc.on-b" | tr '\n' ' ')
is "$bad" "" "in particular none written only on A, whose WAIT no replica acknowledged"
REDIS_PORT=$B
PH_WAIT=15 ph_wait_for drained
tap_ok $? "the spool drained (into B)"
faults_check "$T/gc.out" "group commit, failover after reply $K of $N"

# 2. Spool replay: connections go to A again; a segment of N records; the
# replayer's connection cut after its reply K, then B.
proxy_ctl route 0 >/dev/null
proxy_ctl close-all >/dev/null
seg_lines rp 1 "$N" 1700000000000 | python3 "$PH_TOP/tests/integration/spool-write.py" "$T/rp.seg"
for i in $(seq 1 "$N"); do echo "rp-$i 200 1 -"; done >"$T/rp.out"
proxy_ctl cut EVALSHA "$K" 1 failover >/dev/null
mv "$T/rp.seg" "$SPOOL/0000000001000-99999-1.seg"
cut_done() { [ "$(proxy_stat cuts)" -ge 2 ]; }
ph_wait_for cut_done
tap_ok $? "the replayer's connection to A was cut after its reply $K, then B"
echo "# $(grep ' cut conn=' "$T/proxy.log" | sed -n 2p | sed 's/^[0-9.]* //')"
PH_WAIT=15 ph_wait_for drained
tap_ok $? "the segment was replayed (into B) and deleted"
faults_check "$T/rp.out" "replay, failover after reply $K of $N"

# 3. The refetch endpoint: B's only replica stopped, then continued.
refetch() { curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "$BASE/entities/oneinfinite/payment_order/$1/refetch"; }
is "$(refetch rf-0)" 200 "refetch with B's replica up: 200"
kill -STOP "$BR_PID"
is "$(refetch rf-1)" 503 "refetch with B's only replica stopped: 503, not 200"
kill -CONT "$BR_PID"
ph_wait_for link_up "$BR"
is "$(refetch rf-2)" 200 "the replica continued: 200"
tap_done
