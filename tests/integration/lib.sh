# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for integration tests: TAP output, a temp dir per test removed on
# exit, and the servers of scripts/lib.sh. Source it first in every test:
#   . "$(dirname "$0")/lib.sh"
set -u
PH_TOP=${PH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$PH_TOP/scripts/lib.sh"

T=$(mktemp -d "${PH_TEST_TMP:-/tmp}/payhook-test.XXXXXX")
TAP_N=0
TAP_FAILED=0

ph_test_cleanup() {
	ph_stop_all
	if [ "$TAP_FAILED" -ne 0 ] || [ -n "${PH_KEEP:-}" ]; then
		# Show the servers' logs of a failing test, then clean up.
		for f in "$T"/*.log "$T"/*/*.log; do
			[ -s "$f" ] && { echo "# --- ${f#"$T"/}"; tail -n 30 "$f" | sed 's/^/#   /'; }
		done
	fi
	rm -rf "$T"
}
trap ph_test_cleanup EXIT

# ok COND_EXIT_STATUS DESCRIPTION: pass when the status is 0.
tap_ok() {
	local rc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $*"
	fi
}

# is GOT WANT DESCRIPTION
is() {
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		tap_ok 0 "$*"
	else
		tap_ok 1 "$*"
		echo "#   got:  $got"
		echo "#   want: $want"
	fi
}

# like GOT REGEX DESCRIPTION
like() {
	local got=$1 re=$2
	shift 2
	if [[ $got =~ $re ]]; then
		tap_ok 0 "$*"
	else
		tap_ok 1 "$*"
		echo "#   got:  $got"
		echo "#   want match: $re"
	fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# post URL BODY [curl args...]: prints "STATUS BODY".
post() {
	local url=$1 body=$2
	shift 2
	curl -s -o "$T/resp.body" -w '%{http_code}' -X POST --data-binary "$body" \
		-H 'Content-Type: application/json' "$@" "$url" >"$T/resp.code"
	echo "$(cat "$T/resp.code") $(cat "$T/resp.body")"
}

# Start Redis, payhook-fcgi and nginx for this test. Sets REDIS_PORT, HTTP_PORT,
# BASE (http://127.0.0.1:port) and CONF; extra config lines come on stdin
# when PH_CONF_EXTRA is set to a file.
ph_stack_up() {
	REDIS_PORT=$(ph_free_port)
	HTTP_PORT=$(ph_free_port)
	BASE="http://127.0.0.1:$HTTP_PORT"
	CONF="$T/payhook.conf"
	cat >"$CONF" <<CONF
[redis]
url = redis://127.0.0.1:$REDIS_PORT/0
[handler]
socket_mode = 0666
# No spool unless a test asks for one (PH_CONF_EXTRA: spool_dir = \$T/spool).
spool_dir =
CONF
	[ -n "${PH_CONF_EXTRA:-}" ] && cat "$PH_CONF_EXTRA" >>"$CONF"
	ph_start_redis "$T/redis" "$REDIS_PORT" || return 1
	ph_start_handler "$T" "$CONF" || return 1
	ph_start_nginx "$T" "$HTTP_PORT" || return 1
}

rcli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

# Spool tests: ph_spool_extra DIR [LINE...] writes $T/spool.conf with
# "spool_dir = DIR" and the LINEs, and points PH_CONF_EXTRA at it.
ph_spool_extra() {
	local dir=$1
	shift
	mkdir -p "$dir"
	{ echo "[handler]"; echo "spool_dir = $dir"; printf '%s\n' "$@"; } >"$T/spool.conf"
	PH_CONF_EXTRA=$T/spool.conf
}

# ph_segments DIR: how many segment files (*.seg) DIR holds.
ph_segments() {
	find "$1" -maxdepth 1 -name '*.seg' 2>/dev/null | wc -l
}

# ph_stat FIELD: a payhook:stats counter, 0 when absent.
ph_stat() {
	local v
	v=$(rcli hget payhook:stats "$1")
	echo "${v:-0}"
}

# Sentinel tests: ph_pick_sentinels N picks N free ports and sets SENTINEL_PORTS
# and SENTINELS ("127.0.0.1:port,...", for [redis] sentinels), so the config
# can name them before they run.
ph_pick_sentinels() {
	local i port
	SENTINELS="" SENTINEL_PORTS=()
	for i in $(seq 1 "$1"); do
		port=$(ph_free_port)
		SENTINEL_PORTS+=("$port")
		SENTINELS+="${SENTINELS:+,}127.0.0.1:$port"
	done
}

# ph_start_sentinels MASTER_NAME MASTER_PORT: start redis-sentinel on each of
# SENTINEL_PORTS, in $T/sentinel-PORT, watching the master with short timeouts
# (down after 1 s: a failover takes a few seconds).
ph_start_sentinels() {
	local name=$1 mport=$2 port dir
	for port in "${SENTINEL_PORTS[@]}"; do
		dir=$T/sentinel-$port
		mkdir -p "$dir"
		cat >"$dir/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
daemonize no
logfile $dir/sentinel.log
sentinel monitor $name 127.0.0.1 $mport 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 4000
sentinel parallel-syncs $name 1
CONF
		redis-sentinel "$dir/sentinel.conf" &
		PH_PIDS+=($!)
	done
	for port in "${SENTINEL_PORTS[@]}"; do
		PH_WAIT=10 ph_wait_for redis-cli -p "$port" ping >/dev/null || return 1
	done
}

# ph_sentinels_ready NAME N_REPLICAS: every sentinel sees the master, its
# replicas and the other sentinels (for ph_wait_for before a failover).
ph_sentinels_ready() {
	local name=$1 nrep=$2 port others=$((${#SENTINEL_PORTS[@]} - 1))
	for port in "${SENTINEL_PORTS[@]}"; do
		redis-cli -p "$port" sentinel ckquorum "$name" 2>/dev/null | grep -q '^OK' || return 1
		[ "$(redis-cli -p "$port" sentinel replicas "$name" | grep -c '^name$')" -ge "$nrep" ] || return 1
		[ "$(redis-cli -p "$port" sentinel sentinels "$name" | grep -c '^name$')" -ge "$others" ] || return 1
	done
}

# ph_sentinel_master NAME: the master's port as the first sentinel sees it.
ph_sentinel_master() {
	redis-cli -p "${SENTINEL_PORTS[0]}" sentinel get-master-addr-by-name "$1" | sed -n 2p
}
