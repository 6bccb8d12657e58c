# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A job dead-lettered before its claim (here: no credentials for its
# provider) drops its entity's pending marker in the same script that writes
# its dead entry, so nothing is left "covered" by a job that will never run
# (issue 17, item 2). After the credentials are mended (the fetcher started
# again with them), each of the three ways gets its entity fetched within a
# deadline: a new notification, POST /entities/.../refetch, and payhookctl
# dead replay. The refetch and dead-replay scripts also look through a
# marker whose job is no longer waiting (one left by an older version, or set
# by hand) and queue.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
PO=/v1/payment_orders
M=oneinfinite:payment_order
# The same config without OneInfinite's credentials.
grep -v '^api_key\|^api_secret' "$CONF" >"$T/nocred.conf"
dead_index() { rcli lrange payhook:dead 0 -1 | grep -n "\"entity_id\":\"$1\"" | head -1 | cut -d: -f1; }

for e in d1 d2 d3 d4; do
	si_post set "{\"path\":\"$PO/$e\",\"body\":{\"id\":\"$e\",\"status\":\"CLOSED\"}}"
done
for e in d1 d2 d3; do
	is "$(oi_notify "n-$e" payment_order $e)" '200 {"status":"accepted"}' "notification for $e accepted"
done
CONF_OK=$CONF CONF=$T/nocred.conf
fetch_once
CONF=$CONF_OK
is "$(rcli llen payhook:dead)" 3 "no credentials: three jobs dead"
is "$(dead_field 0 error)" no_credentials "their error is no_credentials"
is "$(rcli exists payhook:pending:$M:d1 payhook:pending:$M:d2 payhook:pending:$M:d3)" 0 \
	"their pending markers are gone with them"

fetcher_start f1
# 1. The provider's next notification queues a job of its own.
is "$(oi_notify n-d1-2 payment_order d1)" '200 {"status":"accepted"}' "a new notification for d1: accepted"
PH_WAIT=20 ph_wait_for stored oneinfinite payment_order d1
tap_ok $? "d1 fetched after a new notification"
# 2. The refetch endpoint queues.
curl -s -X POST "$BASE/entities/oneinfinite/payment_order/d2/refetch" >"$T/rf.out"
is "$(cat "$T/rf.out")" '{"status":"queued"}' "refetch endpoint for d2: queued"
PH_WAIT=20 ph_wait_for stored oneinfinite payment_order d2
tap_ok $? "d2 fetched after the refetch endpoint"
# 3. payhookctl dead replay queues.
i=$(dead_index d3)
"$PH_BUILD/tools/payhookctl" -c "$CONF" dead replay "$((i - 1))" >"$T/replay.out" 2>&1
is "$(cat "$T/replay.out")" "replayed 1 (oneinfinite payment_order d3)" "dead replay of d3: queued, not covered"
PH_WAIT=20 ph_wait_for stored oneinfinite payment_order d3
tap_ok $? "d3 fetched after dead replay"

# A marker with no job behind it (an older version's, or set by hand): the
# refetch endpoint and dead replay look through it; a waiting job still covers.
fetcher_stop f1
rcli set payhook:pending:$M:d4 1763900000123 EX 3600 >/dev/null
is "$(curl -s -X POST "$BASE/entities/oneinfinite/payment_order/d4/refetch")" '{"status":"queued"}' \
	"a marker with no job waiting: refetch queues"
is "$(curl -s -X POST "$BASE/entities/oneinfinite/payment_order/d4/refetch")" '{"status":"pending"}' \
	"then its job waits: pending"
is "$(rcli llen payhook:queue)" 1 "one job"
i=$(dead_index d1)
"$PH_BUILD/tools/payhookctl" -c "$CONF" dead replay "$((i - 1))" >/dev/null 2>&1
rcli set payhook:pending:$M:d2 stale EX 3600 >/dev/null
i=$(dead_index d2)
"$PH_BUILD/tools/payhookctl" -c "$CONF" dead replay "$((i - 1))" >"$T/replay.out" 2>&1
is "$(cat "$T/replay.out")" "replayed 1 (oneinfinite payment_order d2)" "dead replay through a stale marker: queued"
rcli lpush payhook:dead '{"v":1,"provider":"oneinfinite","entity_type":"payment_order","entity_id":"d2","notification_id":"n-x","event":"PAYMENT_ORDER.CLOSED","received_at":1,"attempt":0,"error":"no_credentials","attempts":1,"failed_at":2}' >/dev/null
"$PH_BUILD/tools/payhookctl" -c "$CONF" dead replay 0 >"$T/replay.out" 2>&1
is "$(cat "$T/replay.out")" "replayed 1 (oneinfinite payment_order d2), a job was already waiting" \
	"a second entry for d2 while its job waits: covered"
is "$(rcli llen payhook:queue)" 3 "d4, d1, d2 wait: one job each"
tap_done
