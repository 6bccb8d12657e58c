# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# [redis] min_replicas = 1 and a spool segment holding only records that do
# not decode (issue 17, item 4): they are dead-lettered (LPUSH dead), and the
# segment is deleted only once a replica acknowledged those LPUSHes (WAIT).
# With the only replica stopped (SIGSTOP) the segment stays, through several
# replay turns; continued (SIGCONT), it is deleted and the dead entries are
# there.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/faults.sh"

SPOOL=$T/spool
ph_spool_extra "$SPOOL" "[redis]" "min_replicas = 1"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
RP=$(ph_free_port)
ph_start_redis "$T/replica" "$RP" "replicaof 127.0.0.1 $REDIS_PORT" "repl-diskless-sync-delay 0" ||
	tap_ok 1 "replica up"
R_PID=$(redis_pid "$T/replica")
# A replica left stopped would hang the cleanup's wait.
trap 'kill -CONT "$R_PID" 2>/dev/null; ph_test_cleanup' EXIT
ph_wait_for link_up "$RP"
tap_ok $? "a primary and its replica"
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"w-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_w-1"}')" \
	'200 {"status":"accepted"}' "with the replica up: accepted"

kill -STOP "$R_PID"
SEG=$SPOOL/0000000000001-99999-1.seg
printf '%s\n' \
	'ok	1700000000100	nosuch	{"id":"x1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_x1"}' \
	'ok	1700000000200	oneinfinite	this is not json' |
	python3 "$PH_TOP/tests/integration/spool-write.py" "$T/dead.seg"
waits=$(cmdstat "$REDIS_PORT" wait calls)
mv "$T/dead.seg" "$SEG"
# The replayer takes the segment every 250 ms while Redis answers: wait for
# its dead letters and three WAITs after them, or for the segment to go.
lpushed() { [ "$(rcli llen payhook:dead)" -ge 2 ] || [ ! -e "$SEG" ]; }
ph_wait_for lpushed
tap_ok $? "the two records are dead-lettered"
turns() { [ "$(cmdstat "$REDIS_PORT" wait calls)" -ge $((waits + 3)) ] || [ ! -e "$SEG" ]; }
ph_wait_for turns
echo "# WAIT calls since the segment came: $(($(cmdstat "$REDIS_PORT" wait calls) - waits))"
test -e "$SEG"
tap_ok $? "the replica stopped: the segment is not deleted before its dead letters are acknowledged"

kill -CONT "$R_PID"
PH_WAIT=15 ph_wait_for test ! -e "$SEG"
tap_ok $? "the replica continued: the segment is deleted"
dead=$(rcli lrange payhook:dead 0 -1)
like "$dead" '"provider":"nosuch"[^}]*"error":"spool: unknown provider"' "dead: the unknown provider"
like "$dead" '"error":"spool: body is not JSON"[^}]*"body":"this is not json"' "dead: the body that is not JSON"
echo "# dead entries: $(rcli llen payhook:dead) (one per record would be 2)"
replicated() { [ "$(redis-cli -p "$RP" llen payhook:dead)" = "$(rcli llen payhook:dead)" ]; }
ph_wait_for replicated
tap_ok $? "the replica holds them"
is "$(ph_segments "$SPOOL")" 0 "the spool is empty"
tap_done
