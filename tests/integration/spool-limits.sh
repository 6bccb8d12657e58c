# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# The spool's limits: spool_max_bytes reached (503 with Retry-After, /healthz
# "spool":"full", replayed once Redis is back; /healthz "full" too once not
# even the smallest notification fits); a spool_dir that does not exist or
# cannot be written (503, the log names the directory and the cause); no
# spool configured (503, as without the feature).
. "$(dirname "$0")/lib.sh"

SPOOL=$T/spool
ph_spool_extra "$SPOOL" "spool_max_bytes = 65536"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

# oi_big ID: a OneInfinite body of 2016 bytes (ID of 6 characters), padded
# with an unknown field; its record is 12 + 8 + 1 + 11 + 2016 = 2048 bytes,
# so 32 of them fill 65536 bytes exactly.
pad=$(printf '%*s' 1934 '' | tr ' ' a)
oi_big() { printf '{"id":"%s","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_%s","x":"%s"}' "$1" "$1" "$pad"; }
is "$(oi_big lim-01 | wc -c)" 2016 "a padded body is 2016 bytes"

# post_hdrs URL BODY: the answer's status line, headers and body, no CRs.
post_hdrs() {
	curl -s -i -m 10 -X POST --data-binary "$2" "$1" | tr -d '\r'
}

ph_stop_redis "$T/redis"
codes=""
for i in $(seq -w 1 99); do
	h=$(post_hdrs "$BASE/webhooks/oneinfinite" "$(oi_big "lim-$i")")
	case $h in
	'HTTP/1.1 200'*) [[ $h == *$'\nX-Payhook-Spooled: 1\n'* ]] && codes+=S || codes+=200 ;;
	'HTTP/1.1 503'*) codes+=5; break ;;
	*) codes+='?'; break ;;
	esac
done
is "$codes" "$(printf 'S%.0s' $(seq 1 32))5" "Redis down: 32 records of 2048 bytes spooled (200, X-Payhook-Spooled), the 33rd gets 503"
is "$(ph_segments "$SPOOL")/$(find "$SPOOL" -name '*.seg' -exec stat -c %s {} +)" 1/65536 "one segment of exactly spool_max_bytes"
like "$(grep 'status=503' "$T/handler.log" | tail -n 1)" 'spool="spool full: 65536 of spool_max_bytes 65536 used"' "log: spool full"
bad=0
for i in 1 2 3 4 5; do
	h=$(post_hdrs "$BASE/webhooks/oneinfinite" "$(oi_big "more-$i")")
	[[ $h == 'HTTP/1.1 503'* && $h == *$'\nRetry-After: '[0-9]* && $h == *'{"error":"unavailable"}' ]] || bad=$((bad + 1))
done
is "$bad" 0 "every further notification: 503 with Retry-After"
small=$(post "$BASE/webhooks/oneinfinite" '{"id":"tiny","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_t"}')
is "$small" '503 {"error":"unavailable"}' "a small one too"
h=$(curl -s -i "$BASE/healthz" | tr -d '\r')
like "$h" '^HTTP/1.1 503' "healthz: 503 (Redis down, spool full)"
like "$h" '\{"status":"unavailable","redis":"down","spool":"full"\}$' "healthz body: spool full"
like "$(curl -s "$BASE/metrics")" $'\npayhook_spool_bytes 65536\n' "metrics: payhook_spool_bytes 65536"

ph_start_redis "$T/redis" "$REDIS_PORT" || tap_ok 1 "redis restarted"
drained() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
ph_wait_for drained
tap_ok $? "Redis back: the spool is replayed and emptied"
is "$(rcli llen payhook:queue)" 32 "the 32 spooled notifications queued"
# Each thread reconnects after its back-off (up to 1 s), so a notification
# may still be spooled for a moment: post (bounded by ph_wait_for's deadline)
# until one goes to Redis, counting the answers.
aft=0 aft_spooled=0 aft_503=0
to_redis() {
	aft=$((aft + 1))
	h=$(post_hdrs "$BASE/webhooks/oneinfinite" "{\"id\":\"aft-$aft\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_aft$aft\"}")
	case $h in
	*X-Payhook-Spooled*) aft_spooled=$((aft_spooled + 1)); return 1 ;;
	'HTTP/1.1 200'*) return 0 ;;
	'HTTP/1.1 503'*) aft_503=$((aft_503 + 1)); return 1 ;;
	*) return 1 ;;
	esac
}
ph_wait_for to_redis
tap_ok $? "Redis back: a new notification goes to Redis (200 without X-Payhook-Spooled)"
echo "# posts until then: $aft ($aft_spooled spooled, $aft_503 refused)"
is "$(rcli exists "payhook:seen:oneinfinite:aft-$aft")" 1 "it is in Redis"
ph_wait_for drained
tap_ok $? "anything spooled meanwhile is replayed too"
healthy() { [[ $(curl -s "$BASE/healthz") == *'"redis":"up","spool":"ok"'* ]]; }
ph_wait_for healthy
tap_ok $? "healthz: redis up, spool ok"
flushed() { [ "$(ph_stat spool:replayed)" = $((32 + aft_spooled)) ] &&
	[ "$(ph_stat notifications:oneinfinite:spooled)" = $((32 + aft_spooled)) ] &&
	[ "$(ph_stat notifications:oneinfinite:unavailable)" = $((7 + aft_503)) ]; }
ph_wait_for flushed
tap_ok $? "counters: spooled and spool:replayed $((32 + aft_spooled)), unavailable $((7 + aft_503)) (the 503s)"
is "$(rcli llen payhook:queue)" $((32 + aft - aft_503)) "one job per notification answered 200"

# A spool nearly full, with less room left than the smallest notification
# needs: no notification can be spooled, so /healthz must not say "ok".
# 59 records of 1100 bytes (64900), then 77-byte ones (about the smallest
# valid notification) until one is refused: 20 bytes stay free.
ph_stop_redis "$T/redis"
pad1100=$(printf '%*s' 990 '' | tr ' ' b)
TINY='{"id":"a","event_type":"X.Y","entity_id":"b"}'
codes=""
for i in $(seq -w 1 59); do
	codes+=$(curl -s -o /dev/null -w '%{http_code} ' -X POST --data-binary \
		"{\"id\":\"gap-$i\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_$i\",\"x\":\"$pad1100\"}" \
		"$BASE/webhooks/oneinfinite")
done
for i in $(seq 1 20); do
	c=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$TINY" "$BASE/webhooks/oneinfinite")
	codes+="$c "
	[ "$c" = 503 ] && break
done
is "$codes" "$(printf '200 %.0s' $(seq 1 67))503 " "59 records of 1100 bytes and 8 of 77 spooled, the 9th small one refused"
is "$(find "$SPOOL" -name '*.seg' -exec stat -c %s {} + | awk '{ s += $1 } END { print s }')" 65516 "65516 bytes in the spool: 20 free"
is "$(post "$BASE/webhooks/oneinfinite" "$TINY")" '503 {"error":"unavailable"}' "the smallest notification is refused"
is "$(curl -s -w ' %{http_code}' "$BASE/healthz")" '{"status":"unavailable","redis":"down","spool":"full"} 503' \
	"healthz: 503, spool full, when not even the smallest notification fits (Redis down)"

# side NAME CONF [PH_WRAP]: payhook-fcgi in $T/NAME on CONF, nginx in front;
# sets SIDE (its base URL).
side() {
	local port
	port=$(ph_free_port)
	mkdir -p "$T/$1"
	PH_WRAP=${3:-} ph_start_handler "$T/$1" "$2" || return 1
	ph_start_nginx "$T/$1" "$port" || return 1
	SIDE="http://127.0.0.1:$port"
}
ONE='{"id":"side-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_s1"}'

# spool_dir that does not exist.
{ cat "$CONF"; printf '[handler]\nspool_dir = %s\n' "$T/nosuch"; } >"$T/missing.conf"
side missing "$T/missing.conf" || tap_ok 1 "handler with a missing spool_dir started"
like "$(head -n 3 "$T/missing/handler.log")" "event=spool spool_dir=$T/nosuch reason=\"missing\"" "start-up warns: spool_dir missing"
h=$(post_hdrs "$SIDE/webhooks/oneinfinite" "$ONE")
like "$h" $'^HTTP/1.1 503.*\nRetry-After: [0-9]+\n' "missing spool_dir, Redis down: 503 with Retry-After"
like "$(grep 'status=503' "$T/missing/handler.log")" "spool_dir $T/nosuch: [^\"]*No such file or directory" "log names the spool_dir and the cause"
like "$(curl -s -w ' %{http_code}' "$SIDE/healthz")" '"spool":"unwritable"\} 503$' "healthz: 503, spool unwritable"

# No spool (the default config): 503 as before the spool existed.
{ cat "$CONF"; printf '[handler]\nspool_dir =\n'; } >"$T/off.conf"
side off "$T/off.conf" || tap_ok 1 "handler without a spool started"
h=$(post_hdrs "$SIDE/webhooks/oneinfinite" "$ONE")
like "$h" $'^HTTP/1.1 503.*\nRetry-After: [0-9]+\n' "spool disabled, Redis down: 503 with Retry-After"
[[ $h != *X-Payhook-Spooled* ]]
tap_ok $? "not spooled"
like "$(curl -s -w ' %{http_code}' "$SIDE/healthz")" '"spool":"disabled"\} 503$' "healthz: 503, spool disabled"
like "$(curl -s -o /dev/null -w '%{http_code}' "$SIDE/metrics")" '^503$' "metrics: 503 without Redis and spool"

# A spool_dir the handler may not write: run it as nobody (root writes anywhere).
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! getent group nogroup >/dev/null; then
	echo "ok $((TAP_N + 1)) - # SKIP unwritable spool_dir: needs root, setpriv and group nogroup"
	TAP_N=$((TAP_N + 1))
else
	chmod 0711 "$T"
	mkdir -p "$T/ro-spool" "$T/ro"
	chmod 0555 "$T/ro-spool"
	chmod 0777 "$T/ro"
	{ cat "$CONF"; printf '[handler]\nspool_dir = %s\n' "$T/ro-spool"; } >"$T/ro.conf"
	chmod 0644 "$T/ro.conf"
	side ro "$T/ro.conf" "setpriv --reuid=nobody --regid=nogroup --clear-groups" ||
		tap_ok 1 "handler as nobody started"
	is "$(stat -c %U "/proc/$(cat "$T/ro/handler.pid")")" nobody "payhook-fcgi runs as nobody"
	like "$(head -n 3 "$T/ro/handler.log")" "event=spool spool_dir=$T/ro-spool reason=\"not writable\"" "start-up warns: spool_dir not writable"
	h=$(post_hdrs "$SIDE/webhooks/oneinfinite" "$ONE")
	like "$h" $'^HTTP/1.1 503.*\nRetry-After: [0-9]+\n' "unwritable spool_dir, Redis down: 503 with Retry-After"
	like "$(grep 'status=503' "$T/ro/handler.log")" "spool_dir $T/ro-spool: [^\"]*Permission denied" "log names the spool_dir and Permission denied"
	like "$(curl -s -w ' %{http_code}' "$SIDE/healthz")" '"spool":"unwritable"\} 503$' "healthz: 503, spool unwritable"
	is "$(ls -A "$T/ro-spool")" "" "nothing was written in it"
fi
tap_done
