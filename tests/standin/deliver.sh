# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for payhook-deliver's integration tests (tests/integration/deliver-*.sh):
# the merchant's endpoint stand-in (tests/standin/receiver.js, which verifies
# with the official standardwebhooks package), deliverers started and killed
# by the test, events added straight to the stream, and the receiver's log.
# Source it after tests/integration/lib.sh.

# The secret every test endpoint signs with (the spec's example key).
DELIVER_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# ph_whsig_npm: standardwebhooks at the locked version (tests/standin/whsig),
# installed once per build directory by npm ci; sets WHSIG_MODULES.
ph_whsig_npm() {
	local dir=$PH_BUILD/tests/standin/whsig
	WHSIG_MODULES=$dir/node_modules
	mkdir -p "$dir"
	if [ -f "$WHSIG_MODULES/standardwebhooks/package.json" ] &&
		cmp -s "$PH_TOP/tests/standin/whsig/package-lock.json" "$dir/package-lock.json"; then
		return 0
	fi
	cp "$PH_TOP/tests/standin/whsig/package.json" "$PH_TOP/tests/standin/whsig/package-lock.json" "$dir/"
	(cd "$dir" && npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1
}

# receiver_up: start the receiver on a free port; sets RCV (its base URL).
receiver_up() {
	local port
	port=$(ph_free_port)
	node "$PH_TOP/tests/standin/receiver.js" "$port" "$DELIVER_SECRET" "$WHSIG_MODULES" \
		2>>"$T/receiver.log" &
	PH_PIDS+=($!)
	RCV=http://127.0.0.1:$port
	ph_wait_for curl -sf "$RCV/_log"
}

# rcv_plan PATH STEPS [DEFAULT]: the receiver's next answers on PATH (JSON lists).
rcv_plan() {
	curl -sf -X POST --data-binary "{\"path\":\"$1\",\"steps\":$2,\"default\":${3:-{\"status\":200\}}}" \
		"$RCV/_plan" >/dev/null
}

# rcv_log: the receiver's log (JSON).
rcv_log() {
	curl -sf "$RCV/_log"
}

# rcv_q JQ: a jq query on the receiver's log.
rcv_q() {
	rcv_log | jq -r "$1"
}

# rcv_count PATH [STATUS]: requests to PATH (answered STATUS).
rcv_count() {
	if [ $# -gt 1 ]; then
		rcv_q "[.deliveries[] | select(.path == \"$1\" and (.status|tostring) == \"$2\")] | length"
	else
		rcv_q "[.deliveries[] | select(.path == \"$1\")] | length"
	fi
}

# rcv_count_ge PATH N [STATUS]: at least N requests (for ph_wait_for).
rcv_count_ge() {
	[ "$(rcv_count "$1" ${3:+"$3"})" -ge "$2" ]
}

# deliver_start NAME [args]: a deliverer in the background, log in $T/deliver-NAME.log.
# PH_WRAP_DELIVER, when set, is prepended to the command (scripts/valgrind).
deliver_start() {
	local name=$1
	shift
	# shellcheck disable=SC2086
	${PH_WRAP_DELIVER:-} "$PH_BUILD/deliver/payhook-deliver" -c "$CONF" --id "$name" "$@" \
		2>>"$T/deliver-$name.log" &
	echo $! >"$T/deliver-$name.pid"
	PH_PIDS+=($!)
}

# deliver_stop NAME [SIGNAL]: signal (TERM) and wait; its exit status in STOP_RC.
deliver_stop() {
	local pid
	pid=$(cat "$T/deliver-$1.pid")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STOP_RC=$?
}

# ev_add PROVIDER TYPE ID [STATUS [BODY]]: an events entry, as the fetcher's
# store writes it (fetched_at: now in ms); prints its stream id.
ev_add() {
	local now
	now=$(date +%s%3N)
	rcli xadd payhook:events '*' provider "$1" entity_type "$2" entity_id "$3" \
		fetched_at "$now" status "${4:-PAID}" body "${5:-{\"id\":\"$3\",\"status\":\"${4:-PAID}\"\}}"
}

# deliver_conf NAME PATH [LINE...]: an [endpoint NAME] section on the receiver's PATH.
deliver_conf() {
	local name=$1 path=$2
	shift 2
	{
		echo "[endpoint $name]"
		echo "url = $RCV$path"
		echo "allow_http = on"
		echo "secret = $DELIVER_SECRET"
		printf '%s\n' "$@"
	} >>"$CONF"
}

# dstat NAME OUTCOME: a deliveries:{NAME}:{OUTCOME} counter, 0 when absent.
dstat() {
	ph_stat "deliveries:$1:$2"
}

# out_is WANT CMD...: CMD prints WANT (for ph_wait_for, which runs its command each time).
out_is() {
	[ "$("${@:2}")" = "$1" ]
}

# out_set CMD...: CMD prints something.
out_set() {
	[ -n "$("$@")" ]
}
