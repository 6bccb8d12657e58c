# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Spool segments written by hand (tests/integration/spool-write.py): the
# replayer takes the valid records in file order with their own received_at,
# skips a corrupt record (a valid one follows it) and drops a torn tail, counts
# and logs both, dead-letters a record it cannot decode, and deletes each
# segment it has replayed.
. "$(dirname "$0")/lib.sh"

SPOOL=$T/spool
W="python3 $PH_TOP/tests/integration/spool-write.py"
OPENED='"event_type":"PAYMENT_ORDER.OPENED"'
G1=0b8f0a5e-3c41-4d7a-9a53-7f1b2c3d4e01
G2=0b8f0a5e-3c41-4d7a-9a53-7f1b2c3d4e02

is "$($W --crc 123456789)" e3069283 "the writer's CRC-32C: check value of \"123456789\""

# Segment A, in the directory before payhook-fcgi starts: 3 valid, a corrupt
# one (its checksum fails), 2 valid, a torn tail (a header announcing 100
# bytes, 10 present). received_at out of order, to see file order kept.
ph_spool_extra "$SPOOL"
SEG_A=$SPOOL/0000000000001-99999-1.seg
printf '%s\n' \
	"ok	1700000000500	oneinfinite	{\"id\":\"rec-1\",$OPENED,\"entity_id\":\"po_r1\"}" \
	"ok	1700000000300	cielo	{\"PaymentId\":\"$G1\",\"ChangeType\":1}" \
	"ok	1700000000900	oneinfinite	{\"id\":\"rec-3\",$OPENED,\"entity_id\":\"po_r3\"}" \
	"corrupt	1700000000100	oneinfinite	{\"id\":\"rec-bad\",$OPENED,\"entity_id\":\"po_bad\"}" \
	"ok	1700000000700	oneinfinite	{\"id\":\"rec-5\",$OPENED,\"entity_id\":\"po_r5\"}" \
	"ok	1700000000200	cielo	{\"PaymentId\":\"$G2\",\"ChangeType\":\"1\"}" \
	"torn	100	10" | $W "$SEG_A"
tap_ok $? "segment A written"

ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
ph_wait_for test ! -e "$SEG_A"
tap_ok $? "segment A replayed and deleted"
like "$(head -n 3 "$T/handler.log")" "event=spool spool_dir=$SPOOL segments=1" "start-up names the segment waiting"

for id in rec-1 rec-3 rec-5; do
	is "$(rcli exists "payhook:seen:oneinfinite:$id")" 1 "$id replayed: its seen key"
done
is "$(rcli get payhook:seen:oneinfinite:rec-3)" 1700000000900 "replayed with its own received_at"
is "$(rcli exists payhook:seen:oneinfinite:rec-bad)" 0 "the corrupt record was not replayed"
is "$(rcli llen payhook:queue)" 5 "5 jobs: one per valid record's entity"
jobs=$(rcli lrange payhook:queue 0 -1)
for e in '"entity_id":"po_r1"' '"entity_id":"po_r3"' '"entity_id":"po_r5"' "\"entity_id\":\"$G1\"" "\"entity_id\":\"$G2\""; do
	is "$(grep -cF "$e" <<<"$jobs")" 1 "one job for $e"
done
is "$(rcli exists "payhook:pending:cielo:sale:$G2")" 1 "the Cielo record left its pending marker"
is "$(rcli xlen payhook:notifications)" 5 "5 notifications in the stream"
order=$(rcli --raw xrange payhook:notifications - + | awk 'prev == "received_at" { printf "%s ", $0 } { prev = $0 }')
is "$order" "1700000000500 1700000000300 1700000000900 1700000000700 1700000000200 " \
	"replayed in file order (received_at of the stream entries)"

flushed_a() { [ "$(ph_stat spool:replayed)" = 5 ] && [ "$(ph_stat spool:dropped_corrupt)" = 1 ] &&
	[ "$(ph_stat spool:dropped_torn)" = 1 ]; }
ph_wait_for flushed_a
tap_ok $? "counters: spool:replayed 5, spool:dropped_corrupt 1, spool:dropped_torn 1"
is "$(ph_stat spool:duplicate)/$(ph_stat spool:dead)" 0/0 "no duplicate, none dead"
log=$(cat "$T/handler.log")
like "$log" "event=spool_corrupt segment=$SEG_A offset=[0-9]+ skipped=[0-9]+" "log: event=spool_corrupt names the segment"
like "$log" "event=spool_torn segment=$SEG_A offset=[0-9]+ bytes=22" "log: event=spool_torn, the 22 bytes of the torn tail"
like "$log" "event=spool_replayed segment=$SEG_A records=5" "log: event=spool_replayed records=5"

# Segment B, added while payhook-fcgi runs: an unknown provider, a body that
# is not JSON, garbage bytes, then a valid record.
SEG_B=$SPOOL/0000000000002-99999-1.seg
printf '%s\n' \
	"ok	1700000001000	nosuch	{\"id\":\"x1\",$OPENED,\"entity_id\":\"po_x1\"}" \
	"ok	1700000001100	oneinfinite	this is not json" \
	"garbage	PHS1-not-a-record-PHS1" \
	"ok	1700000001200	oneinfinite	{\"id\":\"rec-after\",$OPENED,\"entity_id\":\"po_after\"}" |
	$W "$T/b.seg" && mv "$T/b.seg" "$SEG_B"
ph_wait_for test ! -e "$SEG_B"
tap_ok $? "segment B replayed and deleted"
is "$(rcli exists payhook:seen:oneinfinite:rec-after)" 1 "the valid record after the dead ones and the garbage is replayed"
is "$(rcli llen payhook:dead)" 2 "two entries in payhook:dead"
dead=$(rcli lrange payhook:dead 0 -1)
like "$dead" '"provider":"nosuch"[^}]*"error":"spool: unknown provider"' "dead: the unknown provider, error \"spool: unknown provider\""
like "$dead" '"provider":"oneinfinite"[^}]*"error":"spool: body is not JSON"[^}]*"body":"this is not json"' \
	"dead: the undecodable body, error \"spool: body is not JSON\", its body kept"
like "$dead" '"received_at":1700000001100' "dead: the entry keeps its received_at"
flushed_b() { [ "$(ph_stat spool:dead)" = 2 ] && [ "$(ph_stat spool:replayed)" = 6 ] &&
	[ "$(ph_stat spool:dropped_corrupt)" = 2 ]; }
ph_wait_for flushed_b
tap_ok $? "counters: spool:dead 2, spool:replayed 6, spool:dropped_corrupt 2 (the garbage)"
is "$(ph_stat spool:dropped_torn)" 1 "no torn record in segment B"
like "$(cat "$T/handler.log")" 'event=spool_dead segment=[^ ]+ provider=unknown reason="unknown provider"' "log: event=spool_dead"
is "$(ph_segments "$SPOOL")" 0 "the spool directory holds no segment"
tap_done
