# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A connection to Redis cut right after the k-th reply of a batch, for
# several k (tests/standin/resp-proxy.py between payhook-fcgi and Redis):
# - group commit: Redis held with CLIENT PAUSE WRITE while one call waits in
#   it, so that N more notifications pile up into one batch; the proxy cuts
#   the connection after the k-th reply of that batch (k = 1, N/2, N-1);
# - spool replay: a segment of N records written by hand, replayed through
#   the proxy, which cuts the replayer's connection after its k-th reply.
# Afterwards, once the spool is empty: every notification answered 200 is in
# Redis exactly once (seen key, one job for its entity, one entry in the
# notifications stream), none queued twice; one answered 503 may be absent.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/faults.sh"

N=24 # notifications in the batch that is cut
# ms Redis holds the first call while the others pile up behind it
PAUSE=$([ -n "${PH_WRAP:-}" ] && echo 6000 || echo 2000)
SPOOL=$T/spool
mkdir -p "$SPOOL"
REDIS_PORT=$(ph_free_port)
ph_start_redis "$T/redis" "$REDIS_PORT" || { tap_ok 1 "redis up"; tap_done; exit 1; }
printf '[handler]\nspool_dir = %s\n' "$SPOOL" >"$T/extra.conf"
PH_CONF_EXTRA=$T/extra.conf
faults_stack "$REDIS_PORT" || { tap_ok 1 "stack up"; tap_done; exit 1; }
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"warm-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_warm-1"}')" \
	'200 {"status":"accepted"}' "through the proxy: accepted"

# cut_line N: the proxy's log line of its Nth cut.
cut_line() { grep ' cut conn=' "$T/proxy.log" | sed -n "${1}p"; }
drained() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
cuts=0

# 1. Group commit. gc_round K TAG: one call held in Redis, N more behind it,
# the cut after the K-th reply to the N.
gc_round() {
	local k=$1 tag=$2
	# The first call counts: the cut is after reply k + 1.
	proxy_ctl cut EVALSHA $((k + 1)) 1 >/dev/null
	oi_lines "$tag" 0 "$N" | post_many --pause "$REDIS_PORT:$PAUSE" --first-alone "$PROXY_CTL" >"$T/$tag.out"
	cuts=$((cuts + 1))
	# Inside a batch: replies left unanswered (N - k when all N piled up; a
	# slow build may let one call miss the batch, which changes nothing checked).
	like "$(cut_line $cuts)" "after reply $((k + 1)) to EVALSHA; unanswered EVALSHA=[1-9][0-9]*\$" \
		"$tag: the connection was cut after reply $k, inside a batch (of up to $N)"
	echo "# $tag: $(cut_line $cuts | sed 's/^[0-9.]* //')"
	echo "# $tag: answers $(cut -d' ' -f2,3 "$T/$tag.out" | sort | uniq -c | tr -s ' \n' ' ')"
	PH_WAIT=15 ph_wait_for drained
	tap_ok $? "$tag: the spool drained"
	faults_check "$T/$tag.out" "group commit, cut after reply $k of $N"
}
gc_round 1 gc1
gc_round $((N / 2)) gch
gc_round $((N - 1)) gcl

# 2. Spool replay. replay_round K TAG: a segment of N records put in the
# spool while the cut is armed.
replay_round() {
	local k=$1 tag=$2
	seg_lines "$tag" 1 "$N" 1700000000000 | python3 "$PH_TOP/tests/integration/spool-write.py" "$T/$tag.seg"
	for i in $(seq 1 "$N"); do echo "$tag-$i 200 1 -"; done >"$T/$tag.out"
	proxy_ctl cut EVALSHA "$k" 1 >/dev/null
	mv "$T/$tag.seg" "$SPOOL/$(printf %013d $((1000 + k)))-99999-1.seg"
	cuts=$((cuts + 1))
	cut_done() { [ "$(proxy_stat cuts)" -ge "$cuts" ]; }
	ph_wait_for cut_done
	tap_ok $? "$tag: the replayer's connection was cut after its reply $k"
	echo "# $tag: $(cut_line $cuts | sed 's/^[0-9.]* //')"
	PH_WAIT=15 ph_wait_for drained
	tap_ok $? "$tag: the segment was replayed and deleted"
	faults_check "$T/$tag.out" "replay, cut after reply $k of $N"
}
replay_round 1 rp1
replay_round $((N / 2)) rph
replay_round $((N - 1)) rpl
tap_done
