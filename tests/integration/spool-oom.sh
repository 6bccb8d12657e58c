# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis up but refusing writes (-OOM, maxmemory reached with noeviction): a
# notification is spooled and answered 200 with X-Payhook-Spooled: 1; the
# replayer keeps the segment while the OOM lasts (nothing dead-lettered,
# nothing half-written) and replays it once Redis takes writes again.
. "$(dirname "$0")/lib.sh"

SPOOL=$T/spool
# Debug: the per-notification "spooled" line is logged at that level.
ph_spool_extra "$SPOOL" "[log]" "level = debug"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
G=5a1d7c3e-0f2b-4e6a-8c9d-112233445566

# cmdstat CMD FIELD: a counter of INFO commandstats (0 when absent).
cmdstat() {
	local v
	v=$(rcli info commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:.*[:,]$2=\([0-9]*\).*/\1/p")
	echo "${v:-0}"
}

is "$(rcli config get maxmemory-policy | tail -n 1)" noeviction "Redis' maxmemory-policy is noeviction"
is "$(rcli config set maxmemory 1)" OK "maxmemory 1: every write is refused with -OOM"
like "$(rcli set payhook:probe 1)" '^OOM ' "a write gets -OOM"

hdrs=$(curl -s -i -X POST --data-binary '{"id":"oom-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_oom1"}' "$BASE/webhooks/oneinfinite" | tr -d '\r')
like "$hdrs" '^HTTP/1.1 200' "OneInfinite under OOM: 200"
like "$hdrs" $'\nX-Payhook-Spooled: 1\n' "with X-Payhook-Spooled: 1"
like "$hdrs" '\{"status":"accepted"\}$' "body accepted"
hdrs=$(curl -s -i -X POST --data-binary "{\"PaymentId\":\"$G\",\"ChangeType\":1}" "$BASE/webhooks/cielo" | tr -d '\r')
like "$hdrs" $'^HTTP/1.1 200.*\nX-Payhook-Spooled: 1\n' "Cielo under OOM: 200, spooled"
spooled=$(grep 'event=spooled provider=oneinfinite id=oom-1 ' "$T/handler.log")
like "$spooled" "redis=\"refused: OOM command not allowed" "log: spooled, with the accept script's OOM refusal"
echo "# the accept script's error under OOM: ${spooled##*redis=}"
# The replayer seals a segment at each turn while Redis answers PING, so
# the two may be in one segment or two: note names and sizes.
segs() { (cd "$SPOOL" && stat -c '%n %s' -- *.seg); }
held=$(segs)
like "$held" '^[0-9]{13}-[0-9]+-[0-9]+\.seg [0-9]+' "the spool holds them"

# The replayer sees PING answered, seals the segment, tries it: -OOM. Wait for
# four more tries (EVALSHA calls failing) and for a counter flush refused.
tries=$(cmdstat evalsha failed_calls)
more_tries() { [ "$(cmdstat evalsha failed_calls)" -ge $((tries + 4)) ]; }
ph_wait_for more_tries
tap_ok $? "the replayer tries again and again while the OOM lasts"
ph_wait_for grep -q 'event=spool_refused segment=[^ ]* left=[0-9]* reason="refused: OOM' "$T/handler.log"
tap_ok $? "log: event=spool_refused with the OOM reason (the records are kept)"
flush_refused() { [ "$(cmdstat hincrby rejected_calls)" -ge 1 ]; }
ph_wait_for flush_refused
tap_ok $? "a counter flush met the OOM too"
is "$(segs)" "$held" "the segments stay, unchanged, while the OOM lasts"
is "$(rcli llen payhook:dead)" 0 "nothing dead-lettered"
is "$(rcli exists payhook:seen:oneinfinite:oom-1)" 0 "nothing half-written (no seen key)"
is "$(rcli llen payhook:queue)" 0 "no job yet"
is "$(grep -c 'event=spool_refused ' "$T/handler.log")" 1 "the refusal is logged once, not at every try"

is "$(rcli config set maxmemory 0)" OK "maxmemory 0: writes taken again"
replayed() { [ "$(ph_segments "$SPOOL")" = 0 ] && [ "$(rcli exists payhook:seen:oneinfinite:oom-1)" = 1 ]; }
ph_wait_for replayed
tap_ok $? "replayed within 10 s: segments deleted, seen key set"
is "$(rcli llen payhook:queue)" 2 "two jobs: po_oom1 and the Cielo sale"
is "$(rcli lrange payhook:queue 0 -1 | grep -c "\"entity_id\":\"$G\"")" 1 "the Cielo sale's job"
is "$(rcli xlen payhook:notifications)" 2 "both in the notifications stream"
is "$(rcli llen payhook:dead)" 0 "still nothing dead-lettered"
flushed() { [ "$(ph_stat spool:replayed)" = 2 ]; }
ph_wait_for flushed
tap_ok $? "spool:replayed 2"
# The spooled counters were counted while Redis refused writes: a flush
# refused with -OOM must be kept and sent again, not dropped.
spooled_counted() { [ "$(ph_stat notifications:oneinfinite:spooled)" = 1 ] &&
	[ "$(ph_stat notifications:cielo:spooled)" = 1 ]; }
ph_wait_for spooled_counted
tap_ok $? "notifications:{oneinfinite,cielo}:spooled 1 each, though the flush first met -OOM"
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"oom-2","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_oom2"}')" \
	'200 {"status":"accepted"}' "a new notification goes to Redis again"
tap_done
