#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A provider's rate limit, shared by every fetcher: three fetchers with
# [oneinfinite] max_rps = 25 keep the stand-in's GETs within the cap in every
# one-second window, and store every job in the end; jobs held back are not
# attempts. A 429 with Retry-After holds every fetcher back, not only the one
# that got it; the held and throttled GETs are counted in /metrics.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "concurrency = 16"
printf '[oneinfinite]\nmax_rps = 25\n' >>"$PH_CONF_EXTRA"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

N=150
push_jobs rl "$N"
is "$(rcli llen payhook:queue)" "$N" "$N jobs queued"
fetcher_start f1
fetcher_start f2
fetcher_start f3
count_stored() { [ "$(rcli --scan --pattern 'payhook:entity:oneinfinite:payment_order:rl*' | wc -l)" = "$N" ]; }
PH_WAIT=40 ph_wait_for count_stored
tap_ok $? "every job is stored in the end"

# The request log: the start of every GET of these entities, in seconds.
si_log | python3 -c '
import json, sys
ts = sorted(json.loads(l)["start"] for l in sys.stdin if "/v1/payment_orders/rl" in json.loads(l)["path"])
print(len(ts))
# The most GETs that started within any one second.
j = m = 0
for i in range(len(ts)):
    while ts[i] - ts[j] >= 1.0:
        j += 1
    m = max(m, i - j + 1)
print(m)
print("%.1f" % (ts[-1] - ts[0]))
' >"$T/rate.txt"
gets=$(sed -n 1p "$T/rate.txt") peak=$(sed -n 2p "$T/rate.txt") span=$(sed -n 3p "$T/rate.txt")
echo "# $gets GETs over ${span}s, at most $peak in any one second"
is "$gets" "$N" "one GET per job"
# 25 a second, a burst of 2, and the jitter of three fetchers' loops.
tap_ok "$([ "$peak" -le 29 ]; echo $?)" "at most about max_rps (25) GETs in any one second: $peak"
tap_ok "$(python3 -c "import sys; sys.exit(0 if $span >= ($N - 30) / 25.0 else 1)"; echo $?)" \
	"the $N GETs are spread over at least $(((N - 30) / 25)) s ($span s)"
is "$(rcli hget payhook:stats fetch:oneinfinite:retried)" "" "held back jobs are not retries"
held=$(rcli hget payhook:stats rate:oneinfinite:held)
tap_ok "$([ "${held:-0}" -ge 50 ]; echo $?)" "GETs held back by the limit are counted (rate:oneinfinite:held = ${held:-0})"
like "$(curl -s "$BASE/metrics")" $'\npayhook_rate_held_total\\{provider="oneinfinite"\\} [0-9]+\n' "/metrics: payhook_rate_held_total"
for f in f1 f2 f3; do
	fetcher_stop "$f"
done

# A 429 with Retry-After: 2 on one entity holds every fetcher back for 2 s.
si_post script '{"path":"/v1/payment_orders/slow1","responses":[{"status":429,"retry_after":2,"times":1}]}'
printf '[oneinfinite]\nmax_rps = 0\n' >>"$CONF"
fetcher_start g1
fetcher_start g2
fetcher_start g3
push_jobs slow 1
got429() { si_log | grep '"path": "/v1/payment_orders/slow1"' | grep -q '"status": 429'; }
ph_wait_for got429
tap_ok $? "the stand-in answered 429"
push_jobs after 30
count_after() { [ "$(rcli --scan --pattern 'payhook:entity:oneinfinite:payment_order:after*' | wc -l)" = 30 ]; }
PH_WAIT=20 ph_wait_for count_after
tap_ok $? "the jobs queued after the 429 are stored in the end"
si_log | python3 -c '
import json, sys
log = [json.loads(l) for l in sys.stdin]
t429 = min(l["t"] for l in log if l["path"] == "/v1/payment_orders/slow1" and l["status"] == 429)
after = sorted(l["start"] - t429 for l in log if l["path"].startswith("/v1/payment_orders/after"))
print("%.2f %d" % (after[0], len(after)))
' >"$T/429.txt"
read -r first n_after <"$T/429.txt"
fetchers=0
for f in g1 g2 g3; do
	grep -q 'event=fetch_stored provider=oneinfinite type=payment_order id=after' "$T/fetcher-$f.log" &&
		fetchers=$((fetchers + 1))
done
echo "# first GET after the 429: ${first}s later; $n_after GETs, stored by $fetchers fetchers"
tap_ok "$(python3 -c "import sys; sys.exit(0 if $first >= 1.8 else 1)"; echo $?)" \
	"no fetcher sent a GET to the provider within its Retry-After (first after ${first}s)"
tap_ok "$([ "$fetchers" -ge 2 ]; echo $?)" "those jobs were spread over $fetchers fetchers: every fetcher waited"
is "$(rcli hget payhook:stats rate:oneinfinite:throttled)" 1 "the 429 is counted (rate:oneinfinite:throttled)"
like "$(curl -s "$BASE/metrics")" $'\npayhook_rate_throttled_total\\{provider="oneinfinite"\\} 1\n' "/metrics: payhook_rate_throttled_total"
for f in g1 g2 g3; do
	fetcher_stop "$f"
done
tap_done
