# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Group commit (lib/commit.h): notifications that arrive while a batch is
# with Redis go to Redis together, and each still gets its own verdict.
# Redis is held with CLIENT PAUSE WRITE so that concurrent notifications
# pile up behind the first batch:
# - mixed new ids, ids seen before and one id sent several times at once:
#   each distinct new id is accepted once, every other answer is duplicate;
# - a batch Redis refuses (-OOM): every member answered 503, none stored;
# - connections killed again and again under load (CLIENT KILL): every
#   answer is 200 or 503, and every 200 is in Redis.
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

# fire FILE: POST each line "provider body" of FILE at once (one client each);
# prints "status body" lines in the order of FILE.
fire() {
	python3 - "$BASE" "$1" <<'PY'
import sys, threading, urllib.request, urllib.error
base, lines = sys.argv[1], [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[2])]
out = [None] * len(lines)
def post(i, prov, body):
    req = urllib.request.Request(base + "/webhooks/" + prov, data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            out[i] = "%d %s" % (r.status, r.read().decode().strip())
    except urllib.error.HTTPError as e:
        out[i] = "%d %s" % (e.code, e.read().decode().strip())
    except OSError as e:
        out[i] = "0 %s" % e
ts = [threading.Thread(target=post, args=(i, p, b)) for i, (p, b) in enumerate(lines)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(out))
PY
}
oi() { echo "oneinfinite {\"id\":\"$1\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_$1\"}"; }
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

is "$(post "$BASE/webhooks/oneinfinite" '{"id":"old-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_old-1"}')" \
	'200 {"status":"accepted"}' "a first notification: accepted"
b0=$(metric payhook_accept_batches_total) c0=$(metric payhook_accept_calls_total)

# 1. Mixed duplicates in batches: 3 x old-1 (seen before), 4 x same-1 at
# once, new-1..new-20, 4 Cielo (no id of their own: each accepted).
{
	for i in 1 2 3; do oi old-1; done
	for i in 1 2 3 4; do oi same-1; done
	for i in $(seq 1 20); do oi "new-$i"; done
	for i in 1 2 3 4; do echo "cielo {\"PaymentId\":\"0c7a9e00-5b1d-4f2a-9c3e-00000000000$i\",\"ChangeType\":1}"; done
} >"$T/mixed"
rcli client pause 1500 write >/dev/null
fire "$T/mixed" >"$T/mixed.out"
paste -d' ' <(cut -d' ' -f2 "$T/mixed" | grep -o '"id":"[^"]*"\|"PaymentId":"[^"]*"') "$T/mixed.out" >"$T/mixed.res"
is "$(grep -c ' 200 {"status":"accepted"}$' "$T/mixed.res")" 25 "25 accepted: 20 new ids, same-1 once, 4 Cielo"
is "$(grep '"id":"old-1"' "$T/mixed.res" | sort -u)" '"id":"old-1" 200 {"status":"duplicate"}' "old-1, seen before: duplicate, 3 times"
is "$(grep '"id":"same-1"' "$T/mixed.res" | sort | uniq -c | awk '{ print $1, $3, $4 }' | tr '\n' ';')" \
	'1 200 {"status":"accepted"};3 200 {"status":"duplicate"};' "same-1 four times at once: one accepted, 3 duplicate"
is "$(grep '"id":"new-' "$T/mixed.res" | grep -vc ' 200 {"status":"accepted"}$')" 0 "every new id accepted"
is "$(rcli llen payhook:queue)" 26 "26 jobs: old-1, same-1, new-1..20, 4 Cielo payments"
is "$(rcli xlen payhook:notifications)" 26 "26 in the notifications stream"
b1=$(metric payhook_accept_batches_total) c1=$(metric payhook_accept_calls_total)
is "$((c1 - c0))" 31 "/metrics: 31 more accept calls"
[ $((b1 - b0)) -ge 1 ] && [ $((b1 - b0)) -le 16 ]
tap_ok $? "the 31 calls went in $((b1 - b0)) batches, not 31 (CLIENT PAUSE held the first)"

# 2. A batch Redis refuses: -OOM for every member, none stored, all 503.
rcli config set maxmemory 1 >/dev/null
: >"$T/oom"
for i in $(seq 1 12); do oi "oom-$i" >>"$T/oom"; done
rcli client pause 1000 write >/dev/null
fire "$T/oom" >"$T/oom.out"
rcli config set maxmemory 0 >/dev/null
is "$(sort -u "$T/oom.out" | cut -c1-3)" 503 "-OOM: all 12 answered 503"
is "$(for i in $(seq 1 12); do echo "EXISTS payhook:seen:oneinfinite:oom-$i"; done | rcli | grep -c '^1$')" 0 "none of them stored"

# 3. Connections killed under load: 300 notifications from 16 clients while
# every Redis client connection is killed every 20 ms.
(
	end=$(($(date +%s) + 20))
	while [ ! -e "$T/load.done" ] && [ "$(date +%s)" -lt "$end" ]; do
		rcli client kill type normal >/dev/null
		sleep 0.02
	done
) &
KILLER=$!
seq 1 300 | xargs -P 16 -I{} curl -s -m 10 -o /dev/null -w '{} %{http_code}\n' -X POST \
	--data-binary '{"id":"kill-{}","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_kill-{}"}' \
	"$BASE/webhooks/oneinfinite" >"$T/kill.out"
touch "$T/load.done"
wait "$KILLER"
is "$(awk '$2 != 200 && $2 != 503' "$T/kill.out" | wc -l)" 0 "connections killed under load: every answer 200 or 503"
ok200=$(awk '$2 == 200 { print $1 }' "$T/kill.out")
n200=$(echo "$ok200" | grep -c .)
stored=$(for i in $ok200; do echo "EXISTS payhook:seen:oneinfinite:kill-$i"; done | rcli | grep -c '^1$')
is "$stored" "$n200" "every one of the $n200 answered 200 is in Redis ($(grep -c ' 503$' "$T/kill.out") got 503)"
queued=$(rcli lrange payhook:queue 0 -1 | grep -o '"entity_id":"po_kill-[0-9]*"' | sort | uniq -d | wc -l)
is "$queued" 0 "no job queued twice"
tap_done
