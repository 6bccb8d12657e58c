# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Issue 17, item 9: payhook says when what Redis acknowledges is not
# durable (no AOF, appendfsync no, or everysec with min_replicas = 0): a
# redis_durable warning at start and payhook_redis_durable 0 in /metrics; 1
# with appendfsync always. A replayed spool segment is deleted only once its
# writes are durable: with everysec and min_replicas = 0 it is kept a while
# after Redis took its records.
. "$(dirname "$0")/lib.sh"

REDIS_PORT=$(ph_free_port)
HTTP_PORT=$(ph_free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
SPOOL=$T/spool
mkdir -p "$SPOOL"
cat >"$T/payhook.conf" <<CONF
[redis]
url = redis://127.0.0.1:$REDIS_PORT/0
[handler]
socket_mode = 0666
spool_dir = $SPOOL
CONF

# gauge: payhook_redis_durable as /metrics says it.
gauge() { curl -s "$BASE/metrics" | awk '$1 == "payhook_redis_durable" { print $2 }'; }
# handler_restart: stop payhook-fcgi and start it again (a new start-up check).
handler_restart() {
	kill "$(cat "$T/handler.pid")" 2>/dev/null
	ph_wait_for sh -c "! kill -0 $(cat "$T/handler.pid") 2>/dev/null"
	ph_start_handler "$T" "$T/payhook.conf"
}
post_one() {
	curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "{\"id\":\"$1\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_$1\"}" \
		"$BASE/webhooks/oneinfinite"
}

# 1. Debian's default: no AOF.
ph_start_redis "$T/redis" "$REDIS_PORT" "appendonly no" || { tap_ok 1 "redis up"; tap_done; exit 1; }
ph_start_handler "$T" "$T/payhook.conf" && ph_start_nginx "$T" "$HTTP_PORT" ||
	{ tap_ok 1 "stack up"; tap_done; exit 1; }
warned() { grep -q 'event=redis_durable.*durable=0.*appendonly is no' "$T/handler.log"; }
ph_wait_for warned
tap_ok $? "no AOF: a redis_durable warning at start names appendonly"
g0() { [ "$(gauge)" = 0 ]; }
ph_wait_for g0
tap_ok $? "no AOF: payhook_redis_durable 0"

# 2. AOF with appendfsync no.
redis-cli -p "$REDIS_PORT" config set appendonly yes >/dev/null
redis-cli -p "$REDIS_PORT" config set appendfsync no >/dev/null
handler_restart
fsync_no() { grep -q 'event=redis_durable.*durable=0.*appendfsync no' "$T/handler.log"; }
ph_wait_for fsync_no
tap_ok $? "appendfsync no: warned"

# 3. everysec with min_replicas = 0 (the tests' usual Redis).
redis-cli -p "$REDIS_PORT" config set appendfsync everysec >/dev/null
handler_restart
everysec() { grep -q 'event=redis_durable.*durable=0.*everysec with \[redis\] min_replicas = 0' "$T/handler.log"; }
ph_wait_for everysec
tap_ok $? "everysec, min_replicas 0: warned"
ph_wait_for g0
tap_ok $? "everysec, min_replicas 0: payhook_redis_durable 0"

# Its replayed segments are kept until everysec has surely flushed them.
ph_stop_redis "$T/redis"
for i in 1 2 3; do
	[ "$(post_one "dur-$i")" = 200 ] || echo "# post dur-$i failed"
done
is "$(ph_segments "$SPOOL")" 1 "Redis down: three notifications spooled in one segment"
ph_start_redis "$T/redis" "$REDIS_PORT" || { tap_ok 1 "redis up again"; tap_done; exit 1; }
in_redis() { [ "$(redis-cli -p "$REDIS_PORT" exists payhook:seen:oneinfinite:dur-3)" = 1 ]; }
ph_wait_for in_redis
tap_ok $? "replayed into Redis"
is "$(ph_segments "$SPOOL")" 1 "the replayed segment is still there right after (not yet durable)"
gone() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
ph_wait_for gone
tap_ok $? "and deleted a little later"

# 4. appendfsync always: durable; a replayed segment goes at once.
redis-cli -p "$REDIS_PORT" config set appendfsync always >/dev/null
handler_restart
durable() { grep -q 'event=redis_durable.*durable=1' "$T/handler.log"; }
ph_wait_for durable
tap_ok $? "appendfsync always: logged durable"
g1() { [ "$(gauge)" = 1 ]; }
ph_wait_for g1
tap_ok $? "appendfsync always: payhook_redis_durable 1"
tap_done
