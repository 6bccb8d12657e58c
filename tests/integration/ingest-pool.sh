# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A kept FastCGI pool without starvation: nginx as shipped (upstream
# keepalive 16 per worker, 2 workers: up to 32 kept connections) in front of
# payhook-fcgi with its default threads. Bursts of 48 fresh clients at once,
# again and again: every request is answered 200 at once, though each kept
# connection holds a thread and idle_timeout_ms is 10 s (a request that had
# to wait for a thread would take that long). The control: with fewer
# threads than the pool, the same burst does wait for idle kept connections
# to time out, so this test sees starvation when there is some.
. "$(dirname "$0")/lib.sh"

# burst N TAG: N clients at once, each on its own connection; prints
# "status seconds" per request.
burst() {
	python3 - "$BASE" "$1" "$2" <<'PY'
import sys, threading, time, urllib.request, urllib.error
base, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = [None] * n
def post(i):
    body = '{"id":"%s-%d","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_%s-%d"}' % (tag, i, tag, i)
    req = urllib.request.Request(base + "/webhooks/oneinfinite", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError:
        code = 0
    out[i] = "%d %.3f" % (code, time.monotonic() - t)
ts = [threading.Thread(target=post, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(out))
PY
}
slowest() { sort -k2 -n "$1" | tail -n 1 | cut -d' ' -f2; }

grep -q '^    keepalive 16;$' "$PH_TOP/nginx/payhook.conf"
tap_ok $? "nginx/payhook.conf keeps a pool of 16 FastCGI connections per worker"

printf '[handler]\nidle_timeout_ms = 10000\n' >"$T/extra.conf"
PH_CONF_EXTRA=$T/extra.conf ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
for round in 1 2 3; do
	burst 48 "r$round" >"$T/burst$round"
	is "$(cut -d' ' -f1 "$T/burst$round" | sort | uniq -c | sed 's/^ *//')" "48 200" \
		"burst $round: 48 fresh clients at once, all 200"
	awk '$2 >= 3 { exit 1 }' "$T/burst$round"
	tap_ok $? "burst $round: none waited for a thread (slowest $(slowest "$T/burst$round") s; an idle kept connection lets its thread go after 10 s)"
done
is "$(rcli llen payhook:queue)" 144 "144 notifications, 144 jobs"
ph_stop_all

# The control: 2 threads under the same pool; idle kept connections hold
# them for idle_timeout_ms (1 s) each, and the burst waits for that.
printf '[handler]\nthreads = 2\nidle_timeout_ms = 1000\n' >"$T/extra.conf"
PH_CONF_EXTRA=$T/extra.conf ph_stack_up || { tap_ok 1 "stack up (control)"; tap_done; exit 1; }
burst 8 c1 >"$T/control"
is "$(cut -d' ' -f1 "$T/control" | sort -u)" 200 "control, 2 threads: 8 at once, all 200 in the end"
awk '$2 >= 0.9 { found = 1 } END { exit !found }' "$T/control"
tap_ok $? "control: a request waited for an idle kept connection to time out (slowest $(slowest "$T/control") s)"
tap_done
