# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A real Prometheus (Debian's prometheus package) scrapes payhook-fcgi's
# /metrics through nginx every second: its query API returns payhook's series
# with the values this test caused, it loads contrib/prometheus's rules, and
# it evaluates every query of contrib/grafana's dashboard without an error.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null ||
	{ echo "# prometheus missing: install Debian's prometheus package (scripts/deps)"; tap_ok 1 "prometheus installed"; tap_done; exit 1; }
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

oi() { post "$BASE/webhooks/oneinfinite" "{\"id\":\"$1\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"$2\"}"; }
for i in 1 2 3; do oi "n$i" "po$i" >/dev/null; done
oi n1 po1 >/dev/null # duplicate

PROM_PORT=$(ph_free_port)
P=http://127.0.0.1:$PROM_PORT
mkdir -p "$T/prom"
cp "$PH_TOP/contrib/prometheus/payhook-rules.yml" "$T/prom/"
cat >"$T/prom/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - payhook-rules.yml
scrape_configs:
  - job_name: payhook
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$HTTP_PORT']
CONF
promtool check config "$T/prom/prometheus.yml" >/dev/null 2>&1
tap_ok $? "promtool check config: the generated config"
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" 2>>"$T/prometheus.log" &
PROM_PID=$!
PH_PIDS+=($PROM_PID)
PH_WAIT=15 ph_wait_for curl -sf "$P/-/ready"
tap_ok $? "prometheus ready on 127.0.0.1:$PROM_PORT"

# query EXPR: the value of the one series the instant query returns ("" if
# none or several, "error: ..." on an error).
query() {
	curl -sG --data-urlencode "query=$1" "$P/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    print("error:", d.get("error"))
elif len(d["data"]["result"]) == 1:
    print(d["data"]["result"][0]["value"][1])'
}
# query_is WANT EXPR (for ph_wait_for).
query_is() {
	[ "$(query "$2")" = "$1" ]
}
ACC='payhook_notifications_total{job="payhook",provider="oneinfinite",outcome="accepted"}'
PH_WAIT=20 ph_wait_for query_is 1 'up{job="payhook"}'
tap_ok $? "the payhook target is up"
PH_WAIT=15 ph_wait_for query_is 3 "$ACC"
tap_ok $? "accepted count scraped"
is "$(query "$ACC")" 3 "accepted: 3"
is "$(query 'payhook_notifications_total{provider="oneinfinite",outcome="duplicate"}')" 1 "duplicate: 1"
is "$(query 'payhook_queue_jobs')" 3 "queue length: 3"
is "$(query 'payhook_redis_up')" 1 "payhook_redis_up: 1"
is "$(query 'count(payhook_notifications_total{outcome="accepted"})')" 1 "no other accepted series"

# Two more: Prometheus follows.
oi n4 po4 >/dev/null
oi n5 po5 >/dev/null
both() { query_is 5 "$ACC" && query_is 5 payhook_queue_jobs; }
PH_WAIT=15 ph_wait_for both
tap_ok $? "after two more: accepted 5, queue length 5"

# The rules are loaded and evaluated on the scraped series: no fetcher runs,
# so PayhookNoLiveFetcher is pending (its for: is 5m), and no rule failed.
rules=$(curl -s "$P/api/v1/rules")
is "$(echo "$rules" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["groups"]
print(sum(len(g["rules"]) for g in d), sum(r.get("health") == "ok" for g in d for r in g["rules"]))')" "17 17" \
	"prometheus loaded the 17 rules, all healthy"
pending() { curl -s "$P/api/v1/alerts" | grep -q '"alertname":"PayhookNoLiveFetcher".*"state":"pending"'; }
PH_WAIT=10 ph_wait_for pending
tap_ok $? "PayhookNoLiveFetcher pending: no fetcher runs"

# Every query of the dashboard, with Grafana's variables filled in, runs
# (one python3 for all of them: 30 queries).
bad=$(python3 -c '
import json, sys, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from [v] if k == "expr" else walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
n = 0
for e in walk(d["panels"]):
    n += 1
    q = e.replace("$__rate_interval", "1m").replace("$provider", ".*").replace("$instance", ".*")
    url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        r = json.load(urllib.request.urlopen(url, timeout=5))
    except Exception as x:
        r = {"status": "error", "error": str(x)}
    if r.get("status") != "success":
        print(r.get("error"), "in:", e)
if n < 20:
    print("only", n, "queries found")' "$PH_TOP/contrib/grafana/payhook.json" "$P")
[ -n "$bad" ] && echo "$bad" | sed 's/^/#   /'
is "$bad" "" "prometheus evaluates every dashboard query"
is "$(query 'max without (instance) (payhook_queue_jobs)')" 5 "a dashboard-style query returns the value"

kill -TERM "$PROM_PID"
wait "$PROM_PID"
is $? 0 "prometheus stopped cleanly"
tap_done
