# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Calls Redis refuses for a passing reason, at replay and inside group-commit
# batches (issue 17, item 1). payhook connects as the ACL user "payhook";
# denying it the seen keys of chosen ids makes their accept script get
# -NOPERM, and CONFIG SET maxmemory 1 (noeviction) makes every write -OOM.
# 1. The reproduction: 30 notifications spooled while Redis is down; at
#    replay the ACL refuses the seen keys of 10 of them. Those 10 stay in the
#    spool (the segment is kept, turn after turn) and reach Redis once the
#    ACL is mended; the other 20 are replayed once, never again.
# 2. Refusals that come and go at random (ACL denials of the ids ending in a
#    random digit, maxmemory squeezes), seeded (PH_SEED; the seed is
#    printed), while 8 clients post 300 notifications; then everything is
#    mended. Every notification answered 200 is in Redis exactly once, no id
#    is queued twice, none is in the notifications stream twice, and the
#    spool is empty.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/faults.sh"

SEED=${PH_SEED:-$RANDOM}
echo "# seed $SEED"
RANDOM=$SEED
SPOOL=$T/spool
mkdir -p "$SPOOL"
REDIS_PORT=$(ph_free_port)
HTTP_PORT=$(ph_free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
ALL='user payhook on >s3cret ~* &* +@all'
# Every key but the seen keys, then the seen keys of the patterns given.
keys_but_seen=('~payhook:[^s]*' '~payhook:s[^e]*' '~payhook:seen:[^o]*')
ph_start_redis "$T/redis" "$REDIS_PORT" "$ALL" "maxmemory-policy noeviction" ||
	{ tap_ok 1 "redis up"; tap_done; exit 1; }
CONF=$T/payhook.conf
cat >"$CONF" <<CONF
[redis]
url = redis://payhook:s3cret@127.0.0.1:$REDIS_PORT/0
[handler]
socket_mode = 0666
spool_dir = $SPOOL
CONF
ph_start_handler "$T" "$CONF" && ph_start_nginx "$T" "$HTTP_PORT" ||
	{ tap_ok 1 "stack up"; tap_done; exit 1; }
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"w-1","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_w-1"}')" \
	'200 {"status":"accepted"}' "as the ACL user payhook: accepted"
# refused: EVALSHA calls Redis refused or failed (NOPERM, OOM), in all.
refused() { echo $(($(cmdstat "$REDIS_PORT" evalsha rejected_calls) + $(cmdstat "$REDIS_PORT" evalsha failed_calls))); }

# 1. 30 spooled, 10 of them (no-1..no-10, every third) refused at replay.
ph_stop_redis "$T/redis"
for i in $(seq 1 10); do
	oi_lines ok $((2 * i - 1)) $((2 * i))
	oi_lines no "$i" "$i"
done | post_many -c 3 >"$T/one.out"
is "$(cut -d' ' -f2,3 "$T/one.out" | sort | uniq -c | tr -s ' ')" " 30 200 1" "Redis down: 30 answered 200, spooled"
ph_start_redis "$T/redis" "$REDIS_PORT" "user payhook on >s3cret resetkeys ${keys_but_seen[*]} ~payhook:seen:oneinfinite:ok-* &* +@all" ||
	tap_ok 1 "redis up again"
like "$(rcli acl dryrun payhook set payhook:seen:oneinfinite:no-1 x)" 'permission' "the ACL denies the seen key of no-1"
base=$(refused)
oks() { for i in $(seq 1 20); do echo "EXISTS payhook:seen:oneinfinite:ok-$i"; done | rcli | grep -c '^1$'; }
twenty() { [ "$(oks)" = 20 ]; }
PH_WAIT=15 ph_wait_for twenty
tap_ok $? "Redis up: the 20 the ACL allows are replayed"
# Three more turns refused (or the segment gone).
turns() { [ "$(refused)" -ge $((base + 30)) ] || [ "$(ph_segments "$SPOOL")" = 0 ]; }
ph_wait_for turns
echo "# EVALSHA calls refused since Redis' start: $(($(refused) - base))"
nos=$(for i in $(seq 1 10); do echo "EXISTS payhook:seen:oneinfinite:no-$i"; done | rcli | grep -c '^1$')
is "$nos" 0 "the 10 refused are not in Redis"
[ "$(ph_segments "$SPOOL")" -ge 1 ]
tap_ok $? "the segment holding the 10 refused is kept, turn after turn"
is "$(ph_stat notifications:oneinfinite:duplicate)" 0 "the 20 replayed are not replayed again (no duplicate verdict)"
is "$(rcli xlen payhook:notifications)" 21 "notifications stream: w-1 and the 20"

rcli acl setuser payhook '~payhook:*' >/dev/null
all30() { [ "$(ph_segments "$SPOOL")" = 0 ] && [ "$(oks)" = 20 ] &&
	[ "$(for i in $(seq 1 10); do echo "EXISTS payhook:seen:oneinfinite:no-$i"; done | rcli | grep -c '^1$')" = 10 ]; }
PH_WAIT=15 ph_wait_for all30
tap_ok $? "ACL mended: the 10 reach Redis and the spool is empty"
faults_check "$T/one.out" "the 30 spooled"
is "$(rcli xlen payhook:notifications)" 31 "notifications stream: 31"
is "$(ph_stat notifications:oneinfinite:duplicate)" 0 "none replayed twice (no duplicate verdict)"
counted() { [ "$(ph_stat spool:replayed)" = 30 ]; }
ph_wait_for counted
tap_ok $? "spool:replayed 30 (got $(ph_stat spool:replayed), spool:duplicate $(ph_stat spool:duplicate))"

# 2. Refusals at random under load.
# About 10 s of load: 8 clients, each posting every 0.25 s.
oi_lines rnd 1 300 | post_many -c 8 --interval 0.25 --deadline 30 >"$T/two.out" &
LOAD=$!
(
	end=$((SECONDS + 30))
	for _ in $(seq 1 400); do
		kill -0 "$LOAD" 2>/dev/null && [ $SECONDS -lt $end ] || break
		case $((RANDOM % 5)) in
		0 | 1)
			d=$((RANDOM % 10))
			echo "deny *$d"
			rcli acl setuser payhook resetkeys "${keys_but_seen[@]}" "~payhook:seen:oneinfinite:*[^$d]" >/dev/null
			;;
		2) echo "allow"; rcli acl setuser payhook '~*' >/dev/null ;;
		3) echo "oom"; rcli config set maxmemory 1 >/dev/null ;;
		4) echo "no oom"; rcli config set maxmemory 0 >/dev/null ;;
		esac
		# Pacing of the faults, not a wait for a condition.
		sleep "$(printf '0.%02d' $((RANDOM % 15 + 2)))"
	done
) >"$T/faults.log" 2>&1 &
FAULTS=$!
wait "$LOAD"
wait "$FAULTS"
echo "# faults: $(sort "$T/faults.log" | uniq -c | tr -s ' \n' ' ')"
rcli config set maxmemory 0 >/dev/null
rcli acl setuser payhook '~*' >/dev/null
echo "# answers (status spooled): $(cut -d' ' -f2,3 "$T/two.out" | sort | uniq -c | tr -s ' \n' ' ')"
is "$(awk '$2 == 200' "$T/two.out" | wc -l)" 300 "all 300 answered 200 (Redis or the spool)"
drained() { [ "$(ph_segments "$SPOOL")" = 0 ]; }
PH_WAIT=20 ph_wait_for drained
tap_ok $? "mended: the spool drains"
faults_check "$T/two.out" "refusals at random"
tap_done
