# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Chaos (issue 17): a few thousand notifications through nginx while Redis
# and payhook-fcgi meet random faults, one at a time, drawn from a seed;
# afterwards every notification answered 200 is in Redis exactly once.
#
# The stack: Redis with appendfsync always (what it acknowledged survives a
# SIGKILL), payhook connecting as the ACL user "payhook", command_timeout_ms
# 500 (a DEBUG SLEEP makes calls time out), a spool. The load
# (tests/integration/chaos.py post): PH_CHAOS_RATE (150) notifications a
# second for PH_CHAOS_SECS (20) seconds from 16 clients, OneInfinite with
# unique ids, some sharing an entity, some exact repeats, a few Cielo; a 503
# or a failed connection is tried again, at most 3 tries. The faults, each
# for a random span, with a random pause (mostly none) between two:
#   client_kill    CLIENT KILL TYPE normal SKIPME yes, 3-10 times, 100-300 ms apart
#   acl_deny       the ACL denies payhook the seen keys of the ids ending in
#                  1 or 2 random digits, then allows every key again
#   maxmemory      CONFIG SET maxmemory 1 (noeviction: every write -OOM), then 0
#   script_flush   SCRIPT FLUSH, 1-3 times
#   debug_sleep    DEBUG SLEEP 0.2-1 s
#   redis_kill     SIGKILL, down 0.3-2 s, started again on its AOF
#   fcgi_kill      payhook-fcgi SIGKILL, down 0.2-1 s, started again (same
#                  config, same spool directory)
# Afterwards, with everything mended and no fetcher (jobs stay queued): the
# spool drains within 30 s, nothing is dead-lettered, every OneInfinite id
# answered 200 has its seen key, every entity of a notification answered 200
# has a job in payhook:queue (its own or the one that covered it) and its
# pending marker, no OneInfinite id and no entity is queued twice. 503s and
# failed connections are allowed (the provider tries again).
#   PH_SEED=N        the seed (printed first): the same faults and notifications
#   PH_CHAOS_SECS=N  seconds of faults and load (bench/chaos runs it longer)
#   PH_CHAOS_FAULTS=acl_deny,maxmemory   only these kinds of fault
. "$(dirname "$0")/lib.sh"

SECS=${PH_CHAOS_SECS:-20}
RATE=${PH_CHAOS_RATE:-150}
SEED=${PH_SEED:-$(($(date +%s%N) / 1000 % 1000000))}
for v in "$SECS" "$RATE" "$SEED"; do
	case $v in '' | *[!0-9]*) echo "chaos: PH_CHAOS_SECS, PH_CHAOS_RATE and PH_SEED are whole numbers" >&2; exit 2 ;; esac
done
echo "# seed $SEED (PH_SEED=$SEED PH_CHAOS_SECS=$SECS reproduces the faults and the notifications)"
RANDOM=$SEED
N=$((SECS * RATE))
CLIENTS=16
PY=$PH_TOP/tests/integration/chaos.py
SEEN=payhook:seen:oneinfinite:
SPOOL=$T/spool
PASS=chaos-$SEED
REDIS_CONF=("appendfsync always" "enable-debug-command yes" "maxmemory-policy noeviction"
	"user payhook on >$PASS ~* &* +@all")
now_ms() { date +%s%3N; }
# sleep_ms MS
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
# drop_pid PID: a process killed and reaped here leaves PH_PIDS, so the trap
# never signals a pid the system may have given to another process since.
drop_pid() {
	local q keep=()
	for q in "${PH_PIDS[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done
	PH_PIDS=("${keep[@]}")
}

REDIS_PORT=$(ph_free_port)
HTTP_PORT=$(ph_free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
CONF=$T/payhook.conf
mkdir -p "$SPOOL"
cat >"$CONF" <<CONF
[redis]
url = redis://payhook:$PASS@127.0.0.1:$REDIS_PORT/0
command_timeout_ms = 500
[handler]
socket_mode = 0666
spool_dir = $SPOOL
CONF
up() {
	ph_start_redis "$T/redis" "$REDIS_PORT" "${REDIS_CONF[@]}" &&
		ph_start_handler "$T" "$CONF" && ph_start_nginx "$T" "$HTTP_PORT"
}
up || { tap_ok 1 "stack up"; tap_done; exit 1; }
is "$(curl -s -m 5 -w ' %{http_code}' "$BASE/healthz")" '{"status":"ok","redis":"up","spool":"ok"} 200' \
	"stack up: healthz 200"
like "$(rcli client list)" 'user=payhook' "payhook-fcgi connects to Redis as the ACL user payhook"

redis_up() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
start_redis() { ph_start_redis "$T/redis" "$REDIS_PORT" "${REDIS_CONF[@]}" >/dev/null 2>&1; }
restarts_failed=0

# Each fault_KIND draws its own parameters from RANDOM, applies the fault,
# holds it, mends it, and sets WHAT (what it did, for the log).
# (A fault draws the same count of RANDOM numbers however long its steps
# take, so that a seed gives the same faults on a slower machine.)
fault_client_kill() {
	local n=$((3 + RANDOM % 8)) every=$((100 + RANDOM % 200)) i killed=0 k
	for ((i = 0; i < n; i++)); do
		k=$(rcli client kill type normal skipme yes 2>/dev/null)
		k=${k//[!0-9]/}
		killed=$((killed + ${k:-0}))
		sleep_ms "$every"
	done
	WHAT="$n kills $every ms apart, $killed connections"
}
fault_acl_deny() {
	# One digit (a tenth of the ids) two times in three, else two: a replay
	# whose refused records are not next to each other runs to its end.
	local span=$((800 + RANDOM % 2200)) n=$((1 + (RANDOM % 3 == 0))) digits="" d i pats
	# Not in a $(...): a subshell draws from a RANDOM seeded anew.
	for ((i = 0; i < n; i++)); do
		d=$((RANDOM % 10))
		[[ $digits == *$d* ]] || digits+=$d
	done
	# ACL key patterns only allow: "every key but SEEN*[digits]" is "differs
	# from SEEN at character k", for every k, plus "SEEN*[^digits]".
	pats=()
	for ((i = 0; i < ${#SEEN}; i++)); do pats+=("~${SEEN:0:i}[^${SEEN:i:1}]*"); done
	pats+=("~$SEEN*[^$digits]")
	rcli acl setuser payhook resetkeys "${pats[@]}" >/dev/null
	sleep_ms "$span"
	rcli acl setuser payhook resetkeys '~*' >/dev/null
	WHAT="seen keys of ids *[$digits] denied for $span ms"
}
fault_maxmemory() {
	local span=$((300 + RANDOM % 2200))
	rcli config set maxmemory 1 >/dev/null
	sleep_ms "$span"
	rcli config set maxmemory 0 >/dev/null
	WHAT="maxmemory 1 for $span ms"
}
fault_script_flush() {
	local n=$((1 + RANDOM % 3)) i
	for ((i = 0; i < n; i++)); do
		rcli script flush >/dev/null
		sleep_ms $((100 + RANDOM % 400))
	done
	WHAT="$n flushes"
}
fault_debug_sleep() {
	local ms=$((200 + RANDOM % 801))
	rcli debug sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" >/dev/null
	WHAT="Redis asleep $ms ms"
}
fault_redis_kill() {
	local down=$((300 + RANDOM % 1700)) pid
	pid=$(cat "$T/redis/redis.pid.shell")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	drop_pid "$pid"
	sleep_ms "$down"
	start_redis || restarts_failed=$((restarts_failed + 1))
	WHAT="Redis down $down ms"
}
fault_fcgi_kill() {
	local down=$((200 + RANDOM % 800)) pid
	pid=$(cat "$T/handler.pid")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	drop_pid "$pid"
	rm -f "$T/fcgi.sock"
	sleep_ms "$down"
	ph_start_handler "$T" "$CONF" >/dev/null 2>&1 || restarts_failed=$((restarts_failed + 1))
	WHAT="payhook-fcgi down $down ms"
}

KINDS=(client_kill acl_deny maxmemory script_flush debug_sleep redis_kill fcgi_kill)
# Drawn from: acl_deny twice as often as the others, as its refusals meet a
# spool being replayed only when they begin right after a fault that spooled.
# PH_CHAOS_FAULTS=kind,kind,... draws from those kinds only.
DRAW=("${KINDS[@]}" acl_deny)
if [ -n "${PH_CHAOS_FAULTS:-}" ]; then
	IFS=, read -r -a DRAW <<<"$PH_CHAOS_FAULTS"
	for k in "${DRAW[@]}"; do
		[[ " ${KINDS[*]} " == *" $k "* ]] || { echo "chaos: PH_CHAOS_FAULTS: unknown kind $k (${KINDS[*]})" >&2; exit 2; }
	done
fi
declare -A applied
for k in "${KINDS[@]}"; do applied[$k]=0; done

python3 "$PY" post "$BASE" "$N" "$SECS" "$SEED" "$CLIENTS" "$T/answers" "$T/stop" &
LOAD=$!
PH_PIDS+=("$LOAD")
t_start=$(now_ms)
t_end=$((t_start + SECS * 1000))
nf=0
# A fault takes at most a few seconds (a restart waits up to 10 s): bounded
# by time, and by count in case the clock misbehaves.
while [ "$(now_ms)" -lt "$t_end" ] && [ $nf -lt $((SECS * 10)) ]; do
	k=${DRAW[RANDOM % ${#DRAW[@]}]}
	nf=$((nf + 1))
	at=$(($(now_ms) - t_start))
	"fault_$k"
	applied[$k]=$((applied[$k] + 1))
	# Two times in three no pause: the next fault then meets what the last
	# one left (a spool being replayed, connections being made again).
	if [ $((RANDOM % 3)) -ne 0 ]; then gap=0; else gap=$((RANDOM % 800)); fi
	took=$(($(now_ms) - t_start - at))
	echo "# fault $nf at $((at / 1000)).$((at % 1000 / 100)) s: $k: $WHAT; took $took ms, pause $gap ms"
	sleep_ms "$gap"
done
t_faults=$(($(now_ms) - t_start))

# Mend whatever a failed step may have left.
redis_up || start_redis || restarts_failed=$((restarts_failed + 1))
rcli acl setuser payhook resetkeys '~*' >/dev/null
rcli config set maxmemory 0 >/dev/null
if ! kill -0 "$(cat "$T/handler.pid")" 2>/dev/null; then
	rm -f "$T/fcgi.sock"
	ph_start_handler "$T" "$CONF" >/dev/null 2>&1 || restarts_failed=$((restarts_failed + 1))
fi
kinds=""
for k in "${KINDS[@]}"; do kinds+=" $k=${applied[$k]}"; done
[ "$nf" -ge 1 ] && [ "$restarts_failed" -eq 0 ]
tap_ok $? "$nf faults in $((t_faults / 1000)) s:$kinds; every restart came up"

# The load is paced over SECS seconds; give it 20 s more, then stop it.
load_done() { ! kill -0 "$LOAD" 2>/dev/null; }
PH_WAIT=20 ph_wait_for load_done
touch "$T/stop"
wait "$LOAD"
rc=$?
drop_pid "$LOAD"
tap_ok $rc "the load ended $(($(now_ms) - t_start - t_faults)) ms after the faults"

spool_empty() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
t0=$(now_ms)
PH_WAIT=30 ph_wait_for spool_empty
tap_ok $? "the spool drained within 30 s ($(ph_segments "$SPOOL") segments left, $(($(now_ms) - t0)) ms)"
left=$(find "$SPOOL" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)
[ -n "$left" ] && echo "# left in the spool directory: $left"

python3 "$PY" check "$REDIS_PORT" "$T/answers" "$T"
tap_ok $? "checks ran"
echo "# $(cat "$T/summary")"
echo "# spool counters: replayed $(ph_stat spool:replayed), duplicate $(ph_stat spool:duplicate), dead $(ph_stat spool:dead), torn $(ph_stat spool:dropped_torn), corrupt $(ph_stat spool:dropped_corrupt)"
# verdict NAME DESCRIPTION: pass when the check NAME found nothing, else
# fail with the count and the offenders in the line.
verdict() {
	local n list
	n=$(sed -n 1p "$T/$1")
	list=$(sed -n 2p "$T/$1")
	if [ "$n" = 0 ]; then
		tap_ok 0 "$2"
	else
		tap_ok 1 "$2: $n ${3:-found}: $list"
	fi
}
verdict bad_status "every answer 200, 503 or a failed connection" "other answers"
verdict lost_seen "every OneInfinite id answered 200 has its seen key" "LOST (no seen key)"
verdict lost_job "every entity of a notification answered 200 has a job in payhook:queue" "LOST (no job)"
verdict no_pending "every entity with a waiting job has its pending marker" "without a marker"
verdict dup_id "no OneInfinite id queued twice" "queued more than once"
verdict dup_entity "at most one waiting job per entity" "queued more than once"
verdict dead "nothing dead-lettered" "dead-lettered"
is "$(curl -s -m 5 -w ' %{http_code}' "$BASE/healthz")" '{"status":"ok","redis":"up","spool":"ok"} 200' \
	"healthz after the faults: 200, Redis up, spool ok"
tap_done
