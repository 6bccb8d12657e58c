# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# contrib/prometheus/payhook-rules.yml: promtool (Debian's prometheus package,
# from scripts/deps) finds the rules valid, and their unit tests
# (payhook-rules.test.yml) pass; a rule with a changed threshold fails them.
. "$(dirname "$0")/lib.sh"

R=$PH_TOP/contrib/prometheus
command -v promtool >/dev/null ||
	{ echo "# promtool missing: install Debian's prometheus package (scripts/deps)"; tap_ok 1 "promtool installed"; tap_done; exit 1; }
out=$(promtool check rules "$R/payhook-rules.yml" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
tap_ok $rc "promtool check rules"
like "$out" 'SUCCESS: 17 rules found' "all 17 rules read"
out=$(promtool test rules "$R/payhook-rules.test.yml" 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
tap_ok $rc "promtool test rules: every alert firing and not firing as expected"
# Each alert of the rules has a test.
missing=
for a in $(sed -n 's/^ *- alert: //p' "$R/payhook-rules.yml"); do
	grep -q "alertname: $a\$" "$R/payhook-rules.test.yml" || missing="$missing $a"
done
is "$missing" "" "every alert is tested"
# The tests can fail: a rule with another threshold does not pass them.
cp "$R/payhook-rules.test.yml" "$T/"
sed 's/payhook_queue_oldest_age_seconds) > 600/payhook_queue_oldest_age_seconds) > 6000/' \
	"$R/payhook-rules.yml" >"$T/payhook-rules.yml"
cmp -s "$R/payhook-rules.yml" "$T/payhook-rules.yml"
tap_ok $((!$?)) "the threshold was changed in the copy"
promtool test rules "$T/payhook-rules.test.yml" >/dev/null 2>&1
tap_ok $((!$?)) "the unit tests fail on the changed rules"
tap_done
