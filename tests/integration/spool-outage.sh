# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis stopped for a minute under a steady load, with a spool: every
# notification is answered 200 (those Redis could not take from the spool,
# with X-Payhook-Spooled: 1), /healthz and /metrics answer 200 and say Redis
# is down; Redis started again: within 10 s the spool is replayed into Redis,
# every notification exactly once, and the spool directory is empty.
# shellcheck disable=SC2016 # awk conditions in single quotes
. "$(dirname "$0")/lib.sh"

OUTAGE=${PH_OUTAGE:-60} # seconds Redis is down
AFTER=2                 # seconds the load goes on after Redis is back
SPOOL=$T/spool
ph_spool_extra "$SPOOL"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
now_ms() { date +%s%3N; }

# The load: about 10 notifications a second, one at a time, until $T/stop
# exists or MAX seconds pass (at most 20 a second in any case). Of every 10: 6 OneInfinite with a new id (entity
# po_ID), 1 repeating an earlier id, 1 more new id, 2 Cielo from a pool of 8
# PaymentIds. One line per answer: sent_ms answered_ms provider key status spooled.
load() {
	python3 - "$BASE" "$1" "$T/answers" "$T/stop" <<'PY'
import os, sys, time, urllib.request, urllib.error

base, duration, out, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
guid = lambda n: "0c7a9e00-5b1d-4f2a-9c3e-%012d" % n
start = time.time()
with open(out, "w") as f:
    for i in range(int(duration * 20)):
        due = start + i * 0.1
        if due - start >= duration or os.path.exists(stop):
            break
        if due > time.time():
            time.sleep(due - time.time())
        k = i % 10
        if k == 6:
            prov, key = "oneinfinite", "out-%d" % (i - 6)
        elif k in (7, 8):
            prov, key = "cielo", guid((i // 10 + (3 if k == 8 else 0)) % 8)
        else:
            prov, key = "oneinfinite", "out-%d" % i
        if prov == "oneinfinite":
            body = '{"id":"%s","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_%s"}' % (key, key)
        else:
            body = '{"PaymentId":"%s","ChangeType":1}' % key
        req = urllib.request.Request(base + "/webhooks/" + prov, data=body.encode(),
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
        f.write("%d %d %s %s %d %d\n" % (sent, int(time.time() * 1000), prov, key, status, spooled))
        f.flush()
PY
}
# answers AWK-CONDITION: how many answer lines match ($1 sent, $2 answered,
# $3 provider, $4 key, $5 status, $6 spooled).
answers() { awk "$1 { n++ } END { print n + 0 }" "$T/answers"; }

: >"$T/answers"
load $((OUTAGE + 30)) &
LOAD=$!
warm() { [ "$(answers '$5 == 200')" -ge 5 ]; }
ph_wait_for warm
tap_ok $? "load running, answered 200 with Redis up"
# Redis goes down during ph_stop_redis: an answer in that time may or may not
# be spooled. Before t_stop none may be; from t_down on all must be.
t_stop=$(now_ms)
ph_stop_redis "$T/redis"
t_down=$(now_ms)
end=$((t_down + OUTAGE * 1000))

spooled_once() { [ "$(answers '$6 == 1')" -ge 1 ]; }
ph_wait_for spooled_once
tap_ok $? "Redis down: notifications answered from the spool"
m=$(curl -s -w '\n%{http_code}' "$BASE/metrics")
is "${m##*$'\n'}" 200 "metrics during the outage: 200"
like "$m" $'\npayhook_redis_up 0\n' "metrics: payhook_redis_up 0"
like "$m" $'\npayhook_spool_bytes [1-9][0-9]*\n' "metrics: payhook_spool_bytes > 0"
like "$m" $'\npayhook_spool_segments 1\n' "metrics: payhook_spool_segments 1"
# Through the outage, /healthz twice a second: 200, Redis down, spool ok.
checks=0 bad=""
while [ "$(now_ms)" -lt "$end" ]; do
	h=$(curl -s -m 5 -w ' %{http_code}' "$BASE/healthz")
	checks=$((checks + 1))
	[ "$h" = '{"status":"ok","redis":"down","spool":"ok"} 200' ] || bad+="$h; "
	sleep 0.5
done
is "$bad" "" "healthz through the outage ($checks checks): 200 {\"status\":\"ok\",\"redis\":\"down\",\"spool\":\"ok\"}"
is "$(ph_segments "$SPOOL")" 1 "one segment, held open by payhook-fcgi, while Redis is down"
t_up=$(now_ms)
ph_start_redis "$T/redis" "$REDIS_PORT" || tap_ok 1 "redis restarted"
t_started=$(now_ms)
sleep "$AFTER"
touch "$T/stop"
wait "$LOAD"
tap_ok $? "the load ended: $(answers 1) notifications, $AFTER s of them after Redis' start"
t_load_end=$(now_ms)

# Within 10 s of Redis' start, everything answered 200 is in Redis.
replayed() {
	[ "$(ph_segments "$SPOOL")" = 0 ] || return 1
	present=$(awk '$3 == "oneinfinite" && $5 == 200 { print "EXISTS payhook:seen:oneinfinite:" $4 }' "$T/answers" |
		sort -u | rcli | grep -c '^1$')
	[ "$present" = "$(awk '$3 == "oneinfinite" && $5 == 200 { print $4 }' "$T/answers" | sort -u | wc -l)" ]
}
PH_WAIT=$(((10000 - (t_load_end - t_started)) / 1000)) ph_wait_for replayed
tap_ok $? "within 10 s of Redis' start: spool empty, every OneInfinite id answered 200 has its seen key"
echo "# Redis down $((t_started - t_down)) ms; load ended $((t_load_end - t_started)) ms, all replayed $(($(now_ms) - t_started)) ms after Redis' start"

is "$(answers '$5 != 200')" 0 "every notification answered 200 ($(answers 1) sent)"
window=$(answers "\$1 >= $t_down && \$2 <= $t_up")
spooled=$(answers '$6 == 1')
is "$(answers "\$1 >= $t_down && \$2 <= $t_up && \$6 == 1")" "$window" "all $window sent and answered while Redis was down carry X-Payhook-Spooled: 1"
[ "$window" -ge $((OUTAGE * 5)) ] && [ "$spooled" -ge "$window" ]
tap_ok $? "a steady load: $window in the outage, $spooled spooled in all"
is "$(answers "\$2 < $t_stop && \$6 == 1")" 0 "none spooled before Redis was stopped"

oi_distinct=$(awk '$3 == "oneinfinite" && $5 == 200 { print $4 }' "$T/answers" | sort -u | wc -l)
oi_all=$(answers '$3 == "oneinfinite" && $5 == 200')
cielo_all=$(answers '$3 == "cielo" && $5 == 200')
cielo_distinct=$(awk '$3 == "cielo" && $5 == 200 { print $4 }' "$T/answers" | sort -u | wc -l)
want=$(awk '$5 == 200 { print "\"entity_id\":\"" ($3 == "oneinfinite" ? "po_" : "") $4 "\"" }' "$T/answers" | sort -u | sed 's/^/1 /')
got=$(rcli lrange payhook:queue 0 -1 | grep -o '"entity_id":"[^"]*"' | sort | uniq -c | sed 's/^ *//')
is "$got" "$want" "exactly one job per entity ($oi_distinct OneInfinite, $cielo_distinct Cielo), no other"
is "$(rcli llen payhook:queue)" $((oi_distinct + cielo_distinct)) "queue length $((oi_distinct + cielo_distinct))"
is "$(rcli xlen payhook:notifications)" $((oi_distinct + cielo_all)) "notifications stream: each OneInfinite id once, every Cielo notification: none replayed twice"

counted() {
	[ "$(($(ph_stat notifications:oneinfinite:spooled) + $(ph_stat notifications:cielo:spooled)))" = "$spooled" ] &&
		[ "$(($(ph_stat spool:replayed) + $(ph_stat spool:duplicate)))" = "$spooled" ]
}
ph_wait_for counted
tap_ok $? "counters: notifications:*:spooled = spool:replayed + spool:duplicate = $spooled"
# The accept script counts accepted and duplicate ones, replayed or not.
is "$(ph_stat notifications:oneinfinite:duplicate)" $((oi_all - oi_distinct)) \
	"notifications:oneinfinite:duplicate: the $((oi_all - oi_distinct)) repeated OneInfinite ids"
is "$(($(ph_stat notifications:oneinfinite:accepted) + $(ph_stat notifications:cielo:accepted)))" $((oi_distinct + cielo_all)) \
	"accepted counters match the stream"
is "$(ph_stat spool:dead)/$(ph_stat spool:dropped_torn)/$(ph_stat spool:dropped_corrupt)/$(rcli llen payhook:dead)" 0/0/0/0 \
	"nothing dead, torn or corrupt"
is "$(curl -s -w ' %{http_code}' "$BASE/healthz")" '{"status":"ok","redis":"up","spool":"ok"} 200' "healthz: Redis up again"
tap_done
