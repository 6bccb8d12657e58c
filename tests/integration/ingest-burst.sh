# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A bounded burst of concurrent unique-id POSTs through nginx: every
# notification answered 200 is in the queue (count equal), and no other.
. "$(dirname "$0")/lib.sh"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
N=${PH_BURST:-600}
P=64
seq 1 "$N" | xargs -P "$P" -I{} curl -s -m 30 -o /dev/null -w '%{http_code}\n' -X POST \
	--data-binary '{"id":"burst{}","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"po{}"}' \
	"$BASE/webhooks/oneinfinite" >"$T/codes"
ok200=$(grep -c '^200$' "$T/codes")
is "$(wc -l <"$T/codes")" "$N" "$N requests sent by $P concurrent clients"
is "$ok200" "$N" "every one answered 200"
is "$(rcli llen payhook:queue)" "$ok200" "queue length equals the count answered 200"
is "$(rcli xlen payhook:notifications)" "$ok200" "notifications stream length equals it too"
dups=$(rcli lrange payhook:queue 0 -1 | sort | uniq -d | wc -l)
is "$dups" 0 "no job queued twice"
tap_done
