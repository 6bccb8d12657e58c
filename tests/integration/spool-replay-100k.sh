# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# One segment of 100,000 OneInfinite records (ids spool-0..spool-99999, each
# a distinct entity) put in the spool directory of a stack whose Redis is up:
# the replayer takes every record once, in the written order, and deletes the
# segment. The replay time is printed, not asserted.
. "$(dirname "$0")/lib.sh"

N=${PH_SPOOL_RECORDS:-100000}
SPOOL=$T/spool
ph_spool_extra "$SPOOL"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

# received_at 1700000000000 + i; the body names id spool-i and entity po_i.
seq 0 $((N - 1)) | awk '{ printf "ok\t1700000%06d\toneinfinite\t{\"id\":\"spool-%d\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_%d\"}\n", $1, $1, $1 }' |
	python3 "$PH_TOP/tests/integration/spool-write.py" "$T/big.seg"
tap_ok $? "a segment of $N records written ($(stat -c %s "$T/big.seg") bytes)"

SEG=$SPOOL/0000000000001-99999-1.seg
start=$(date +%s%N)
mv "$T/big.seg" "$SEG"
PH_WAIT=120 ph_wait_for test ! -e "$SEG"
tap_ok $? "the segment is replayed and deleted"
end=$(date +%s%N)
echo "# replay of $N records: $(((end - start) / 1000000)) ms"

is "$(rcli llen payhook:queue)" "$N" "payhook:queue: $N jobs"
is "$(rcli xlen payhook:notifications)" "$N" "payhook:notifications: $N entries"
rcli --raw xrange payhook:notifications - + | awk 'prev == "id" { print } { prev = $0 }' >"$T/got"
seq 0 $((N - 1)) | sed 's/^/spool-/' >"$T/want"
cmp -s "$T/got" "$T/want"
tap_ok $? "the stream's ids are spool-0..spool-$((N - 1)), in the written order"
is "$(rcli lrange payhook:queue 0 -1 | sort | uniq -d | wc -l)" 0 "no job queued twice"
nkeys() { rcli eval "return #redis.call('KEYS', ARGV[1])" 0 "$1"; }
is "$(nkeys 'payhook:seen:oneinfinite:spool-*')" "$N" "$N seen keys"
is "$(nkeys 'payhook:pending:oneinfinite:payment_order:po_*')" "$N" "$N pending markers, one per entity"
is "$(rcli get payhook:seen:oneinfinite:spool-$((N - 1)))" "1700000$(printf %06d $((N - 1)))" "the last record's received_at kept"
flushed() { [ "$(ph_stat spool:replayed)" = "$N" ]; }
ph_wait_for flushed
tap_ok $? "spool:replayed $N"
is "$(ph_stat spool:duplicate)/$(ph_stat spool:dead)/$(ph_stat spool:dropped_corrupt)/$(ph_stat spool:dropped_torn)" \
	0/0/0/0 "nothing duplicate, dead, corrupt or torn"
is "$(ph_segments "$SPOOL")" 0 "the spool directory holds no segment"
tap_done
