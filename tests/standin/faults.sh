# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the fault tests (tests/integration/accept-*.sh, spool-refused.sh,
# spool-wait-empty.sh): the RESP proxy (tests/standin/resp-proxy.py) between
# payhook and Redis, a stack behind it, concurrent posts and the invariants
# checked after a fault. Source it after tests/integration/lib.sh.

# proxy_up UPSTREAM_PORT [UPSTREAM_PORT...] [-- proxy args]: start the proxy
# (log $T/proxy.log); sets PROXY_PORT and PROXY_CTL.
proxy_up() {
	local ups=() a
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		ups+=(--upstream "127.0.0.1:$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	rm -f "$T/proxy.ports"
	python3 "$PH_TOP/tests/standin/resp-proxy.py" "${ups[@]}" --port-file "$T/proxy.ports" \
		--log "$T/proxy.log" "$@" 2>>"$T/proxy.log" &
	PH_PIDS+=($!)
	ph_wait_for test -s "$T/proxy.ports" || return 1
	read -r PROXY_PORT PROXY_CTL <"$T/proxy.ports"
	for a in PROXY_PORT PROXY_CTL; do [ -n "${!a}" ] || return 1; done
}

# proxy_ctl LINE...: send one control line, print the answer.
proxy_ctl() {
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$PROXY_CTL" || return 1
	echo "$*" >&"$fd"
	read -r -t 10 line <&"$fd"
	exec {fd}>&-
	echo "$line"
}

# proxy_stat NAME: one field of "proxy_ctl stats" (sent.EVALSHA, cuts, ...), 0 when absent.
proxy_stat() {
	local v
	v=$(proxy_ctl stats | tr ' ' '\n' | sed -n "s/^$1=//p")
	echo "${v:-0}"
}

# faults_stack UPSTREAM_PORT [UPSTREAM_PORT...]: the proxy in front of the
# given Redis ports (already running), then payhook-fcgi (its URL the proxy,
# with PH_REDIS_USERINFO "user:pass@" when set) and nginx. Config lines from
# the file PH_CONF_EXTRA are appended. Sets HTTP_PORT, BASE, CONF, PROXY_*.
faults_stack() {
	proxy_up "$@" -- ${PH_PROXY_ARGS:-} || return 1
	HTTP_PORT=$(ph_free_port)
	BASE="http://127.0.0.1:$HTTP_PORT"
	CONF="$T/payhook.conf"
	cat >"$CONF" <<CONF
[redis]
url = redis://${PH_REDIS_USERINFO:-}127.0.0.1:$PROXY_PORT/0
[handler]
socket_mode = 0666
spool_dir =
CONF
	[ -n "${PH_CONF_EXTRA:-}" ] && cat "$PH_CONF_EXTRA" >>"$CONF"
	ph_start_handler "$T" "$CONF" || return 1
	ph_start_nginx "$T" "$HTTP_PORT" || return 1
}

# oi_lines PREFIX FROM TO: input lines for post-many.py, OneInfinite ids
# PREFIX-FROM..PREFIX-TO, each announcing its own entity po_ID.
oi_lines() {
	local i
	for i in $(seq "$2" "$3"); do
		echo "oneinfinite $1-$i {\"id\":\"$1-$i\",\"event_type\":\"PAYMENT_ORDER.OPENED\",\"entity_id\":\"po_$1-$i\"}"
	done
}

# post_many [post-many.py args]: post the lines on stdin; answers on stdout.
post_many() {
	python3 "$PH_TOP/tests/integration/post-many.py" "$BASE" "$@"
}

# seg_lines PREFIX FROM TO RECEIVED_AT: spool-write.py input, the same notifications.
seg_lines() {
	local i
	for i in $(seq "$2" "$3"); do
		printf 'ok\t%s\toneinfinite\t{"id":"%s","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_%s"}\n' \
			"$4" "$1-$i" "$1-$i"
	done
}

# stream_ids: the OneInfinite ids of the notifications stream, one a line.
stream_ids() {
	rcli --raw xrange payhook:notifications - + | awk 'prev == "id" { print } { prev = $0 }'
}

# faults_check ANSWERS WHAT: the invariants, once the spool is empty, for the
# answers "KEY STATUS SPOOLED BODY" of OneInfinite ids KEY (entity po_KEY) in
# the file ANSWERS: every answer 200 or 503; every 200 has its seen key and
# exactly one job in the queue; no entity queued twice and no id twice in
# the notifications stream (a 503 may be absent, or present once).
faults_check() {
	local f=$1 what=$2 ok200 n200 k bad
	is "$(awk '$2 != 200 && $2 != 503' "$f" | head -n 5)" "" "$what: every answer 200 or 503"
	ok200=$(awk '$2 == 200 { print $1 }' "$f")
	n200=$(grep -c . <<<"$ok200")
	bad=$(for k in $ok200; do echo "EXISTS payhook:seen:oneinfinite:$k"; done | rcli | paste -d' ' - <(echo "$ok200") |
		awk '$1 != 1 { print $2 }' | head -n 20 | tr '\n' ' ')
	is "$bad" "" "$what: every one of the $n200 answered 200 has its seen key ($(awk '$3 == 1' "$f" | wc -l) spooled, $(awk '$2 == 503' "$f" | wc -l) got 503)"
	rcli lrange payhook:queue 0 -1 | grep -o '"entity_id":"[^"]*"' | sed 's/"entity_id":"po_//; s/"$//' |
		sort | uniq -c | awk '{ print $2, $1 }' >"$T/queued"
	bad=$(for k in $ok200; do echo "$k"; done | sort | join -a 1 -e 0 -o 0,2.2 - "$T/queued" |
		awk '$2 != 1 { print $1 "x" $2 }' | head -n 20 | tr '\n' ' ')
	is "$bad" "" "$what: every one answered 200 has exactly one job in the queue"
	is "$(awk '$2 > 1 { print $1 "x" $2 }' "$T/queued" | head -n 20 | tr '\n' ' ')" "" "no entity queued twice"
	is "$(stream_ids | sort | uniq -d | head -n 20 | tr '\n' ' ')" "" "no id twice in the notifications stream"
}

# redis_pid DIR: the pid of the redis-server ph_start_redis started in DIR.
redis_pid() {
	cat "$1/redis.pid.shell"
}

# link_up PORT: the replica on PORT has its link to the master up.
link_up() {
	redis-cli -p "$1" info replication | grep -q 'master_link_status:up'
}

# cmdstat PORT CMD FIELD: a counter of INFO commandstats on PORT (0 when absent).
cmdstat() {
	local v
	v=$(redis-cli -p "$1" info commandstats | tr -d '\r' | sed -n "s/^cmdstat_$2:.*[:,]$3=\([0-9]*\).*/\1/p")
	echo "${v:-0}"
}
