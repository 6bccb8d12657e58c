# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# The consumer examples of contrib/consumers/ (Python with python3-redis, PHP
# with phpredis) against a real stack: a notification, a fetch by
# payhook-fetcher --once, then each example, in its own consumer group,
# receives the entity's event, reads the snapshot it names and acknowledges
# it; a second run receives nothing, a third only the next event. A 'dead'
# consumer's unacknowledged entry (read with redis-cli) is left alone under
# the default min-idle time and claimed (XAUTOCLAIM) and acknowledged with a
# small one; an entry this consumer read before a crash is handled first.
# Running without --once, each handles an event as it comes and exits 0 on
# SIGTERM (Python) or SIGINT (PHP).
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

# Debian's interpreter: python3-redis is installed for it, not for another
# python3 earlier on PATH.
PY=(/usr/bin/python3 "$PH_TOP/contrib/consumers/python/payhook_consumer.py")
PHP=(php "$PH_TOP/contrib/consumers/php/payhook_consumer.php")
"${PY[0]}" -c 'import redis' 2>/dev/null
tap_ok $? "python3-redis installed (scripts/deps)"
php -r 'exit(class_exists("Redis") && function_exists("pcntl_signal") ? 0 : 1);' 2>/dev/null
tap_ok $? "php-cli with phpredis and pcntl installed (scripts/deps)"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
URL=redis://127.0.0.1:$REDIS_PORT/0
EV=payhook:events

# consume LANG ARGS...: run the LANG example with --once against the test
# Redis; stdout in $T/LANG.out, stderr in $T/LANG.err, status in RC.
consume() {
	local lang=$1 cmd
	shift
	if [ "$lang" = python ]; then cmd=("${PY[@]}"); else cmd=("${PHP[@]}"); fi
	timeout 20 "${cmd[@]}" --url "$URL" --prefix payhook: --once --idle-ms 300 "$@" \
		>"$T/$lang.out" 2>"$T/$lang.err"
	RC=$?
	cat "$T/$lang.err" >>"$T/consumer-$lang.log"
}
# pending GROUP: how many entries the group has delivered and not had acknowledged.
pending() {
	rcli xpending $EV "$1" | head -n 1
}
nothing_pending() { [ "$(pending "$1")" = 0 ]; }
# idle_pending GROUP MS: some pending entry of GROUP has been idle MS or more.
idle_pending() {
	[ -n "$(rcli xpending $EV "$1" IDLE "$2" - + 10)" ]
}
# demo ID STATUS NOTIFICATION: set the entity's state in the stand-in,
# notify it, fetch it with payhook-fetcher --once.
demo() {
	si_post set "{\"path\":\"/v1/payment_orders/$1\",\"body\":{\"id\":\"$1\",\"status\":\"$2\"}}" &&
		[ "$(oi_notify "$3" payment_order "$1")" = '200 {"status":"accepted"}' ] && fetch_once
}

demo po-c1 CLOSED n-c1
tap_ok $? "demo: po-c1 notified and fetched"
is "$(rcli xlen $EV)" 1 "one event in $EV"
SHA=$(ehget oneinfinite payment_order po-c1 sha256)
like "$SHA" '^[0-9a-f]{64}$' "the snapshot has its sha256"
SNAP=payhook:entity:oneinfinite:payment_order:po-c1
LINE="^event id=[0-9]+-[0-9]+ provider=oneinfinite entity_type=payment_order entity_id=po-c1"

# --- First run: the group is created, the event received, its snapshot read, acknowledged.
for lang in python php; do
	if [ $lang = python ]; then
		consume $lang --group g-$lang --consumer c1
	else
		# The PHP run takes its settings from the environment instead.
		PAYHOOK_REDIS_URL=$URL PAYHOOK_REDIS_PREFIX=payhook: PAYHOOK_CONSUMER_GROUP=g-$lang \
			PAYHOOK_CONSUMER_NAME=c1 timeout 20 "${PHP[@]}" --once --idle-ms 300 \
			>"$T/$lang.out" 2>"$T/$lang.err"
		RC=$?
	fi
	out=$(cat "$T/$lang.out")
	is "$RC" 0 "$lang: --once exits 0 once idle"
	is "$(grep -c . "$T/$lang.out")" 1 "$lang: one event received"
	like "$out" "$LINE fetched_at=[0-9]+ claimed=no " "$lang: prints provider, entity type and id"
	like "$out" " snapshot=$SNAP status=CLOSED sha256=$SHA snapshot_fetched_at=[0-9]+ newer=no body_bytes=[1-9]" \
		"$lang: read the stored snapshot the event names"
	like "$(cat "$T/$lang.err")" "event=group_created group=g-$lang stream=$EV" "$lang: created its group"
	is "$(pending g-$lang)" 0 "$lang: acknowledged (XPENDING empty)"
	is "$(rcli xinfo consumers $EV g-$lang | sed -n 2p)" c1 "$lang: read as consumer c1"
done

# --- Second run: the group exists (BUSYGROUP ignored), nothing new.
for lang in python php; do
	consume $lang --group g-$lang --consumer c1
	is "$RC" 0 "$lang: second run exits 0 (group already there)"
	is "$(grep -c . "$T/$lang.out")" 0 "$lang: second run receives nothing new"
done

# --- The entity changes: the third run receives that event only.
demo po-c1 REFUNDED n-c2
tap_ok $? "demo: po-c1 changed, notified, fetched"
is "$(rcli xlen $EV)" 2 "a second event"
for lang in python php; do
	consume $lang --group g-$lang --consumer c2
	is "$RC" 0 "$lang: third run exits 0"
	is "$(grep -c . "$T/$lang.out")" 1 "$lang: third run receives the one new event"
	like "$(cat "$T/$lang.out")" "$LINE .* status=REFUNDED " "$lang: with the new snapshot"
	is "$(pending g-$lang)" 0 "$lang: acknowledged"
done

# --- A dead consumer's entry: left alone while younger than min-idle, then claimed.
demo po-c2 OPENED n-c3
tap_ok $? "demo: po-c2 notified and fetched"
for lang in python php; do
	rcli xreadgroup group g-$lang dead count 10 streams $EV '>' >/dev/null
	is "$(pending g-$lang)" 1 "$lang: consumer 'dead' read po-c2's event and did not ack"
	consume $lang --group g-$lang --consumer c1
	is "$RC" 0 "$lang: run with the default min-idle (60 s) exits 0"
	is "$(grep -c . "$T/$lang.out")" 0 "$lang: ... and claims nothing younger"
	is "$(rcli xpending $EV g-$lang - + 10 dead | grep -c '^dead$')" 1 "$lang: ... 'dead' still holds it"
	PH_WAIT=5 ph_wait_for idle_pending g-$lang 200
	consume $lang --group g-$lang --consumer c1 --min-idle-ms 200
	is "$RC" 0 "$lang: run with --min-idle-ms 200 exits 0"
	like "$(cat "$T/$lang.out")" "^event id=[0-9-]+ provider=oneinfinite entity_type=payment_order entity_id=po-c2 fetched_at=[0-9]+ claimed=yes .* status=OPENED " \
		"$lang: claimed po-c2's event from 'dead' and handled it"
	is "$(grep -c . "$T/$lang.out")" 1 "$lang: handled once"
	like "$(cat "$T/$lang.err")" "event=claimed count=1" "$lang: says it claimed one"
	is "$(pending g-$lang)" 0 "$lang: acknowledged it (XPENDING empty)"
done

# --- A consumer that read an entry and stopped before XACK handles it first when it starts again.
demo po-c3 OPENED n-c4
tap_ok $? "demo: po-c3 notified and fetched"
for lang in python php; do
	rcli xreadgroup group g-$lang c3 count 10 streams $EV '>' >/dev/null
	consume $lang --group g-$lang --consumer c3
	is "$RC" 0 "$lang: restarted consumer c3 exits 0"
	like "$(cat "$T/$lang.out")" "entity_id=po-c3 .* claimed=no " "$lang: c3 handled its own pending entry"
	is "$(pending g-$lang)" 0 "$lang: and acknowledged it"
done

# --- Long-running: events handled as they come; a signal stops it with exit 0.
"${PY[@]}" --url "$URL" --group g-python --consumer live --block-ms 500 \
	>"$T/live-python.out" 2>>"$T/consumer-python.log" &
PYPID=$!
PH_PIDS+=($PYPID)
"${PHP[@]}" --url "$URL" --group g-php --consumer live --block-ms 500 \
	>"$T/live-php.out" 2>>"$T/consumer-php.log" &
PHPPID=$!
PH_PIDS+=($PHPPID)
reading() { rcli xinfo consumers $EV "$1" | grep -qx live; }
ph_wait_for reading g-python
tap_ok $? "python: live consumer reading"
ph_wait_for reading g-php
tap_ok $? "php: live consumer reading"
demo po-c4 OPENED n-c5
tap_ok $? "demo: po-c4 notified and fetched"
got() { grep -q "entity_id=po-c4 " "$1"; }
ph_wait_for got "$T/live-python.out"
tap_ok $? "python: live consumer handled po-c4's event"
ph_wait_for got "$T/live-php.out"
tap_ok $? "php: live consumer handled po-c4's event"
PH_WAIT=5 ph_wait_for nothing_pending g-python
tap_ok $? "python: acknowledged"
PH_WAIT=5 ph_wait_for nothing_pending g-php
tap_ok $? "php: acknowledged"
start=$SECONDS
kill -TERM $PYPID
wait $PYPID
is $? 0 "python: SIGTERM, exit 0"
kill -INT $PHPPID
wait $PHPPID
is $? 0 "php: SIGINT, exit 0"
ok=1; [ $((SECONDS - start)) -le 3 ] && ok=0
tap_ok $ok "both stopped within 3 s ($((SECONDS - start)) s)"
like "$(tail -n 1 "$T/consumer-python.log")" "consumer=live event=exit handled=1 claimed=0 signal=yes" "python: says why it stopped"
like "$(tail -n 1 "$T/consumer-php.log")" "consumer=live event=exit handled=1 claimed=0 signal=yes" "php: says why it stopped"
tap_done
