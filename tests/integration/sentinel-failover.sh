# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis Sentinel failover under load: a primary, one replica and three
# sentinels; payhook-fcgi (spool on, [redis] min_replicas = 1) and two
# fetchers that know only the sentinels (the URL's host is a dead port). A
# steady load of unique notifications; the primary is SIGKILLed. The
# sentinels promote the replica; the handler and the fetchers follow it
# without a restart. Every notification answered 200 without the spool was
# acknowledged by the replica and is in the new primary; no answer is
# other than 200 (the new primary has no replica: those are spooled until
# the old primary comes back as its replica, then replayed); every entity
# notified is fetched. Prints the spooled window and when fetching resumed.
# shellcheck disable=SC2016 # awk conditions in single quotes
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

now_ms() { date +%s%3N; }
SPOOL=$T/spool
mkdir -p "$SPOOL"
standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
ph_pick_sentinels 3
fetch_conf
cat >>"$PH_CONF_EXTRA" <<CONF
[handler]
spool_dir = $SPOOL
[redis]
# With sentinels the URL gives only the database: port 1 answers nothing.
url = redis://127.0.0.1:1/0
sentinels = $SENTINELS
master_name = payhook
min_replicas = 1
replica_timeout_ms = 200
CONF
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PRIMARY=$REDIS_PORT
REPLICA=$(ph_free_port)
# No delay before a full sync (5 s by default): the old primary rejoins at once.
ph_start_redis "$T/replica" "$REPLICA" "replicaof 127.0.0.1 $PRIMARY" "repl-diskless-sync-delay 0" ||
	tap_ok 1 "replica up"
link_up() { redis-cli -p "$REPLICA" info replication | grep -q 'master_link_status:up'; }
ph_wait_for link_up
tap_ok $? "replica in sync with the primary"
ph_start_sentinels payhook "$PRIMARY" || tap_ok 1 "sentinels up"
PH_WAIT=15 ph_wait_for ph_sentinels_ready payhook 1
tap_ok $? "three sentinels see the primary, the replica and each other"
fetcher_start a --concurrency 8
fetcher_start b --concurrency 8

# The load: 25 unique OneInfinite notifications a second, one at a time,
# until $T/stop exists. One line per answer: sent_ms answered_ms key status spooled.
load() {
	python3 - "$BASE" "$T/answers" "$T/stop" <<'PY'
import os, sys, time, urllib.request, urllib.error

base, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.time()
with open(out, "w") as f:
    for i in range(2000):
        due = start + i * 0.04
        if os.path.exists(stop):
            break
        if due > time.time():
            time.sleep(due - time.time())
        body = '{"id":"fo-%d","event_type":"PAYMENT_ORDER.OPENED","entity_id":"fo%d"}' % (i, i)
        req = urllib.request.Request(base + "/webhooks/oneinfinite", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        sent = int(time.time() * 1000)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, spooled = r.status, r.headers.get("X-Payhook-Spooled") == "1"
                r.read()
        except urllib.error.HTTPError as e:
            status, spooled = e.code, False
        except OSError:
            status, spooled = 0, False
        f.write("%d %d fo%d %d %d\n" % (sent, int(time.time() * 1000), i, status, spooled))
        f.flush()
PY
}
# answers AWK-CONDITION: how many answer lines match ($1 sent, $2 answered,
# $3 entity, $4 status, $5 spooled).
answers() { awk "$1 { n++ } END { print n + 0 }" "$T/answers"; }
# in_redis KIND AWK-CONDITION: how many of the matching answers' ids have a
# seen key (KIND seen) or a snapshot (KIND entity) in Redis at REDIS_PORT.
in_redis() {
	local kind=$1
	awk "$2"' { print $3 }' "$T/answers" | while read -r e; do
		if [ "$kind" = seen ]; then echo "EXISTS payhook:seen:oneinfinite:fo-${e#fo}"; else
			echo "HEXISTS payhook:entity:oneinfinite:payment_order:$e body"; fi
	done | rcli | grep -c '^1$'
}

: >"$T/answers"
load &
LOAD=$!
warm() { [ "$(answers '$4 == 200 && $5 == 0')" -ge 25 ] && [ "$(in_redis entity 1)" -ge 5 ]; }
PH_WAIT=15 ph_wait_for warm
tap_ok $? "under load: answered 200 with WAIT acknowledged, and fetched"
is "$(answers '$5 == 1')" 0 "nothing spooled while primary and replica are up"

t_kill=$(now_ms)
kill -KILL "$(cat "$T/redis/redis.pid.shell")"
wait "$(cat "$T/redis/redis.pid.shell")" 2>/dev/null
promoted() { [ "$(ph_sentinel_master payhook)" = "$REPLICA" ]; }
PH_WAIT=15 ph_wait_for promoted
tap_ok $? "the sentinels promote the replica"
t_promoted=$(now_ms)
REDIS_PORT=$REPLICA

# What was answered 200 without the spool was acknowledged by the replica.
acked=$(answers '$4 == 200 && $5 == 0')
is "$(in_redis seen '$4 == 200 && $5 == 0')" "$acked" "all $acked notifications answered 200 (not spooled) are in the new primary"

# Fetching resumes on the new primary: an entity notified after the kill is stored.
resumed() { [ "$(in_redis entity "\$1 > $t_kill && \$4 == 200")" -ge 1 ]; }
PH_WAIT=15 ph_wait_for resumed
tap_ok $? "the fetchers fetch from the new primary without a restart"
t_resumed=$(now_ms)
spooled_since() { [ "$(answers "\$1 > $t_promoted && \$5 == 1")" -ge 1 ]; }
ph_wait_for spooled_since
tap_ok $? "with no replica to acknowledge, the handler spools (WAIT unmet)"

# The old primary comes back as the new primary's replica: WAIT is met again.
t_rejoin=$(now_ms)
ph_start_redis "$T/redis" "$PRIMARY" "replicaof 127.0.0.1 $REPLICA" || tap_ok 1 "old primary back"
acked_again() { [ "$(answers "\$1 > $t_rejoin && \$4 == 200 && \$5 == 0")" -ge 10 ]; }
PH_WAIT=15 ph_wait_for acked_again
tap_ok $? "the old primary back as a replica: answers acknowledged without the spool again"
touch "$T/stop"
wait "$LOAD"
tap_ok $? "the load ended: $(answers 1) notifications"

is "$(answers '$4 != 200')" 0 "no answer other than 200"
replayed() { [ "$(ph_segments "$SPOOL")" = 0 ] && [ "$(in_redis seen '$4 == 200')" = "$(answers '$4 == 200')" ]; }
PH_WAIT=15 ph_wait_for replayed
tap_ok $? "spool replayed: every notification answered 200 has its seen key in the new primary"
all_fetched() { [ "$(in_redis entity '$4 == 200')" = "$(answers '$4 == 200')" ]; }
PH_WAIT=20 ph_wait_for all_fetched
tap_ok $? "every notified entity is fetched ($(in_redis entity '$4 == 200') of $(answers '$4 == 200'))"
for f in a b; do
	kill -0 "$(cat "$T/fetcher-$f.pid")" && grep -q 'event=redis_up' "$T/fetcher-$f.log"
	tap_ok $? "fetcher $f lost Redis, found the new primary and runs on"
done
is "$(rcli llen payhook:dead)" 0 "nothing dead"

first=$(awk '$5 == 1 || $4 != 200 { print $1; exit }' "$T/answers")
last=$(awk '$5 == 1 || $4 != 200 { t = $2 } END { printf "%.0f\n", t }' "$T/answers")
echo "# primary killed at 0 ms; promoted +$((t_promoted - t_kill)) ms; fetching resumed +$((t_resumed - t_kill)) ms;" \
	"old primary back as replica +$((t_rejoin - t_kill)) ms"
echo "# spooled answers from +$((first - t_kill)) to +$((last - t_kill)) ms ($(answers '$5 == 1') spooled, $(answers '$4 != 200') non-200, $(answers 1) sent)"
tap_done
