# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# /metrics after a known sequence (notifications accepted, a duplicate,
# rejects, fetches through the provider API stand-in, a spool configured):
# `promtool check metrics` (Debian's prometheus package) reports nothing, not
# even a lint warning; and every metric name that contrib/prometheus's rules
# and contrib/grafana's dashboard query is one that /metrics serves.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

NAMES="python3 $PH_TOP/tests/integration/prometheus-names.py"
RULES=$PH_TOP/contrib/prometheus/payhook-rules.yml
DASH=$PH_TOP/contrib/grafana/payhook.json
command -v promtool >/dev/null ||
	{ echo "# promtool missing: install Debian's prometheus package (scripts/deps)"; tap_ok 1 "promtool installed"; tap_done; exit 1; }

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
# A spool, so that /metrics serves this host's spool gauges too.
printf '[handler]\nspool_dir = %s\n' "$T/spool" >>"$PH_CONF_EXTRA"
mkdir -p "$T/spool"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

oi() { post "$BASE/webhooks/oneinfinite" "{\"id\":\"$1\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"$2\"}"; }
like "$(oi n1 po1)" '^200 .*accepted' "accepted"
like "$(oi n2 po2)" '^200 .*accepted' "accepted"
like "$(oi n1 po1)" '^200 .*duplicate' "duplicate"
like "$(post "$BASE/webhooks/cielo" '{"PaymentId":"9f8e7d6c-5b4a-4321-8765-0fedcba98765","ChangeType":1}')" '^200 .*accepted' "cielo accepted"
like "$(post "$BASE/webhooks/oneinfinite" 'nope')" '^400 ' "rejected"
like "$(post "$BASE/webhooks/paypal" '{}')" '^404 ' "unknown provider"
PH_WAIT=30 once_until fetch_drained
tap_ok $? "fetched through the stand-in"
flushed() { [ "$(ph_stat notifications:unknown:rejected:not_found)" = 1 ] &&
	[ "$(ph_stat notifications:oneinfinite:rejected:invalid_notification)" = 1 ]; }
ph_wait_for flushed
tap_ok $? "rejected requests counted in Redis"

curl -s -o "$T/metrics" "$BASE/metrics"
val() { grep -v '^#' "$T/metrics" | grep -F "$1" | awk '{print $NF}'; }
is "$(val 'payhook_notifications_total{provider="oneinfinite",outcome="accepted"}')" 2 "/metrics: 2 accepted"
is "$(val 'payhook_fetches_total{provider="oneinfinite",outcome="stored"}')" 2 "/metrics: 2 stored"
is "$(val 'payhook_redis_up ')" 1 "/metrics: Redis up"
is "$(val 'payhook_spool_writable ')" 1 "/metrics: spool writable"

out=$(promtool check metrics <"$T/metrics" 2>&1)
rc=$?
[ -n "$out" ] && echo "$out" | sed "s/^/#   /"
tap_ok $rc "promtool check metrics exits 0"
is "$out" "" "promtool check metrics: no error and no lint warning"
# The check can fail: a counter without _total is a lint problem.
out=$({ cat "$T/metrics"; printf '# HELP payhook_bad x\n# TYPE payhook_bad counter\npayhook_bad 1\n'; } |
	promtool check metrics 2>&1)
like "$out" 'payhook_bad' "promtool check metrics reports a counter without _total"

# Every family /metrics serves has HELP and TYPE lines, and they are all
# there whatever was counted (the spool families with a spool configured).
fams=$(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$T/metrics" | sort)
is "$(echo "$fams" | wc -l)" 33 "33 metric families (25 from Redis, payhook_redis_up and _durable, 2 of group commit, 4 of the spool)"
is "$(sed -n 's/^# HELP \([^ ]*\) .*/\1/p' "$T/metrics" | sort)" "$fams" "each family has HELP"

python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$DASH"
tap_ok $? "the dashboard is valid JSON"
out=$($NAMES "$T/metrics" "$RULES" "$DASH" 2>&1)
rc=$?
[ -n "$out" ] && echo "$out" | sed "s/^/#   /"
tap_ok $rc "every metric name the rules and the dashboard query is served by /metrics"
# The name check can fail: a name /metrics does not serve is reported.
sed 's/payhook_queue_jobs)/payhook_queue_length)/' "$DASH" >"$T/bad.json"
like "$($NAMES "$T/metrics" "$T/bad.json")" 'payhook_queue_length is not served' "an unknown name is reported"
# The dashboard shows every family.
used=$($NAMES -v "$T/metrics" "$DASH" | sed -n 's/.*names: //p' | tr ' ' '\n' |
	sed 's/_bucket$\|_sum$\|_count$//' | sort -u)
is "$(comm -23 <(echo "$fams") <(echo "$used") | tr '\n' ' ')" "" "the dashboard queries every family /metrics serves"
tap_done
