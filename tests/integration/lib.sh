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
