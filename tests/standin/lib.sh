# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the fetcher's integration tests (tests/integration/fetch-*.sh):
# the provider API stand-in, a test config with small timeouts and backoffs,
# fetchers started and stopped by the test, and what to read in Redis.
# Source it after tests/integration/lib.sh.

# Start the stand-in; sets SI (its base URL). Extra args go to providers.py.
standin_up() {
	rm -f "$T/standin.port"
	python3 "$PH_TOP/tests/standin/providers.py" --port-file "$T/standin.port" "$@" \
		2>>"$T/standin.log" &
	echo $! >"$T/standin.pid"
	PH_PIDS+=($!)
	ph_wait_for test -s "$T/standin.port" || return 1
	SI="http://127.0.0.1:$(cat "$T/standin.port")"
	ph_wait_for curl -sf "$SI/_control/health"
}

# si_post ROUTE JSON: drive the stand-in (set, script, latency, reset).
si_post() {
	curl -sf -X POST --data-binary "$2" "$SI/_control/$1" >/dev/null
}

# si_log: the stand-in's request log, one JSON line per request.
si_log() {
	curl -sf "$SI/_control/log.jsonl"
}

# si_count PATH: how many requests reached PATH.
si_count() {
	si_log | grep -cF "\"path\": \"$1\""
}

# Write the config extra for ph_stack_up: the stand-in as both providers,
# fast retries. Lines given as arguments are appended to [fetcher].
fetch_conf() {
	PH_CONF_EXTRA="$T/conf.extra"
	{
		echo "[fetcher]"
		echo "concurrency = 8"
		echo "timeout_ms = 2000"
		echo "lock_ttl = 3000"
		echo "backoff_base_ms = 50"
		echo "backoff_cap_ms = 300"
		echo "lock_wait_ms = 50"
		echo "worker_timeout = 2"
		echo "max_attempts = 4"
		echo "not_found_attempts = 2"
		echo "max_body = 65536"
		for l in "$@"; do echo "$l"; done
		echo "[oneinfinite]"
		echo "api_base = $SI"
		echo "api_key = oi-key"
		echo "api_secret = oi-secret"
		echo "[cielo]"
		echo "query_base = $SI"
		echo "merchant_id = cielo-merchant"
		echo "merchant_key = cielo-key"
	} >"$PH_CONF_EXTRA"
}

# fetcher_start NAME [args]: a fetcher in the background, log in $T/fetcher-NAME.log.
# PH_WRAP_FETCHER, when set, is prepended to the command (scripts/valgrind).
fetcher_start() {
	local name=$1
	shift
	${PH_WRAP_FETCHER:-} "$PH_BUILD/fetcher/payhook-fetcher" -c "$CONF" --id "$name" "$@" \
		2>>"$T/fetcher-$name.log" &
	echo $! >"$T/fetcher-$name.pid"
	PH_PIDS+=($!)
}

# fetcher_stop NAME: SIGTERM and wait; its exit status in STOP_RC (not in
# $(...): only this shell can wait for its children).
fetcher_stop() {
	local pid
	pid=$(cat "$T/fetcher-$1.pid")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	STOP_RC=$?
}

# fetch_once [args]: run one fetcher with --once, bounded in time; its status.
fetch_once() {
	timeout 60 ${PH_WRAP_FETCHER:-} "$PH_BUILD/fetcher/payhook-fetcher" -c "$CONF" --id once --once "$@" \
		2>>"$T/fetcher-once.log"
}

# oi_notify ID TYPE ENTITY_ID: post a OneInfinite notification (seed form).
oi_notify() {
	local type_uc
	type_uc=$(echo "$2" | tr a-z A-Z)
	post "$BASE/webhooks/oneinfinite" \
		"{\"id\":\"$1\",\"event_type\":\"$type_uc.CLOSED\",\"entity_type\":\"$type_uc\",\"entity_id\":\"$3\"}"
}

# Nothing left to fetch: queue, retries and every processing list empty.
fetch_drained() {
	[ "$(rcli llen payhook:queue)" = 0 ] && [ "$(rcli zcard payhook:retry)" = 0 ] &&
		[ -z "$(rcli --scan --pattern 'payhook:processing:*' | while read -r k; do
			[ "$(rcli llen "$k")" = 0 ] || echo "$k"; done)" ]
}

# ehget PROVIDER TYPE ID FIELD: a field of a stored entity.
ehget() {
	rcli hget "payhook:entity:$1:$2:$3" "$4"
}

# dead_field N FIELD: a member of dead entry N (0 = newest).
dead_field() {
	rcli lindex payhook:dead "$1" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read() or "{}")
print(d.get(sys.argv[1], ""))' "$2"
}

# stored PROVIDER TYPE ID: the entity has a snapshot (for ph_wait_for).
stored() {
	[ -n "$(ehget "$1" "$2" "$3" body)" ]
}

# rcli_is WANT ARGS...: redis-cli ARGS prints WANT (for ph_wait_for).
rcli_is() {
	local want=$1
	shift
	[ "$(rcli "$@")" = "$want" ]
}

# dead_has ENTITY_ID: a dead entry names this entity.
dead_has() {
	rcli lrange payhook:dead 0 -1 | grep -q "\"entity_id\":\"$1\""
}

# once_until COND...: run fetch_once until COND holds, for PH_WAIT (20) seconds at most.
once_until() {
	local deadline=$((SECONDS + ${PH_WAIT:-20}))
	until "$@"; do
		[ $SECONDS -ge $deadline ] && { echo "# timed out: $*"; return 1; }
		fetch_once
		sleep 0.05
	done
}

# si_inflight_is N: the stand-in is answering exactly N GETs right now.
si_inflight_is() {
	[ "$(curl -sf "$SI/_control/inflight")" = "$1" ]
}

# si_inflight_ge N: the stand-in is answering at least N GETs right now.
si_inflight_ge() {
	[ "$(curl -sf "$SI/_control/inflight")" -ge "$1" ]
}

# push_jobs PREFIX COUNT: COUNT OneInfinite payment order jobs (ids PREFIX1..),
# queued straight into Redis as the accept script leaves them.
push_jobs() {
	local i now
	now=$(date +%s%3N)
	for i in $(seq 1 "$2"); do
		printf "LPUSH payhook:queue '{\"v\":1,\"provider\":\"oneinfinite\",\"entity_type\":\"payment_order\",\"entity_id\":\"%s%d\",\"notification_id\":\"n-%s%d\",\"event\":\"E.X\",\"received_at\":%s,\"attempt\":0}'\n" \
			"$1" "$i" "$1" "$i" "$now"
	done | rcli >/dev/null
}
