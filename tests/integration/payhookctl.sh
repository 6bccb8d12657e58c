#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhookctl against a real Redis holding the keys payhook-fcgi and
# payhook-fetcher write (DESIGN.md: Redis keys), written here with redis-cli:
# every verb, its --help, its errors and exit codes.
. "$(dirname "$0")/lib.sh"
CTL_BIN=$PH_BUILD/tools/payhookctl
REDIS_PORT=$(ph_free_port)
CONF=$T/payhook.conf
printf '[redis]\nurl = redis://127.0.0.1:%s/0\n[handler]\npending_ttl = 900\n' "$REDIS_PORT" >"$CONF"
ph_start_redis "$T/redis" "$REDIS_PORT" || exit 1

# ctl ARGS...: run payhookctl; stdout in $OUT, stderr in $ERR, status in $RC.
ctl() {
	"$CTL_BIN" -c "$CONF" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
# json EXPR: evaluate a Python expression on the JSON in $OUT (as j).
json() {
	python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$OUT"
}
NOW=$(date +%s%3N)
# job PROVIDER TYPE ID RECEIVED_AT [ATTEMPT]: a job line as payhook writes it.
job() {
	printf '{"v":1,"provider":"%s","entity_type":"%s","entity_id":"%s","notification_id":"n-%s","event":"1","received_at":%s,"attempt":%s}' \
		"$1" "$2" "$3" "$3" "$4" "${5:-0}"
}
# dead PROVIDER TYPE ID ERROR: a dead-letter entry as the fetcher writes it.
dead() {
	local j
	j=$(job "$1" "$2" "$3" $((NOW - 60000)) 12)
	printf '%s,"error":"%s","attempts":12,"failed_at":%s}' "${j%\}}" "$4" "$((NOW - 1000))"
}
SALE=7d1ea2b4-52a3-4f59-9b4e-0f6c2d0c9a11
REC=c3a9d3f2-1b7e-4c55-8a0d-5e2f7b6a4d22

# Help and usage.
ctl --help
is "$RC" 0 "--help exits 0"
like "$OUT" 'stats.*dead list.*dead replay.*dead purge.*entity.*events tail.*refetch' "--help names every verb"
for v in stats dead entity events refetch; do
	"$CTL_BIN" -c /nonexistent.conf "$v" --help >"$T/out" 2>&1
	RC=$?
	is "$RC" 0 "$v --help exits 0, with no config or Redis needed"
	like "$(cat "$T/out")" "^usage: payhookctl $v" "$v --help prints its usage"
done
ctl
is "$RC" 2 "no verb: exit 2"
ctl frobnicate
is "$RC" 2 "unknown verb: exit 2"
like "$ERR" 'unknown verb: frobnicate' "the message names the verb"
ctl --bogus stats
is "$RC" 2 "unknown option: exit 2"
like "$("$CTL_BIN" --version)" '^payhookctl [0-9]' "--version"

# Configuration and Redis errors.
printf '[redis]\nurl = redis://127.0.0.1:%s/0\n' "$(ph_free_port)" >"$T/down.conf"
"$CTL_BIN" -c "$T/down.conf" stats >/dev/null 2>"$T/err"
is "$?" 1 "Redis unreachable: exit 1"
like "$(cat "$T/err")" 'cannot reach Redis' "and says so"
printf '[handler]\nthreads = lots\n' >"$T/bad.conf"
"$CTL_BIN" -c "$T/bad.conf" stats >/dev/null 2>"$T/err"
is "$?" 1 "bad config: exit 1"
like "$(cat "$T/err")" 'threads' "the message names the key"
"$CTL_BIN" -c "$T/missing.conf" stats >/dev/null 2>&1
is "$?" 1 "a config named with -c must exist"

# stats on an empty Redis.
ctl stats
is "$RC" 0 "stats on an empty Redis"
like "$OUT" $'queue +0\n' "empty queue"

# What the handler and fetchers leave: 2 queued, 1 retry, 2 fetchers (1 live)
# with 1 job in hand, 4 dead, 3 events, 2 notifications, counters.
rcli LPUSH payhook:queue "$(job oneinfinite payment_order po-old $((NOW - 7000)))" >/dev/null
rcli LPUSH payhook:queue "$(job cielo sale "$SALE" $((NOW - 1000)))" >/dev/null
rcli ZADD payhook:retry $((NOW + 60000)) "$(job cielo sale retry-1 "$NOW" 3)" >/dev/null
rcli ZADD payhook:workers "$NOW" web1-1 $((NOW - 600000)) web2-1 >/dev/null
rcli LPUSH payhook:processing:web1-1 "$(job oneinfinite payment_order po-held "$NOW")" >/dev/null
rcli LPUSH payhook:dead "$(dead cielo sale "$SALE" http_503)" >/dev/null
rcli LPUSH payhook:dead "$(dead oneinfinite payment_order po-401 unauthorized)" >/dev/null
rcli LPUSH payhook:dead "$(dead oneinfinite mystery_type my-1 no_route)" >/dev/null
rcli LPUSH payhook:dead "$(dead cielo recurrent_payment "$REC" http_404)" >/dev/null
for i in 1 2 3; do
	rcli XADD payhook:events '*' provider oneinfinite entity_type payment_order entity_id "po-$i" \
		fetched_at $((NOW + i)) body "{\"id\":\"po-$i\",\"status\":\"S$i\"}" >/dev/null
done
rcli XADD payhook:notifications '*' provider cielo id '' body '{}' >/dev/null
rcli XADD payhook:notifications '*' provider cielo id '' body '{}' >/dev/null
rcli HSET payhook:stats notifications:cielo:accepted 7 fetch:cielo:changed 5 >/dev/null

ctl stats
is "$RC" 0 "stats"
like "$OUT" $'queue +2\nretry +1\nprocessing +1\ndead +4\nfetchers +2 \\(1 live\\)\n' \
	"stats: queue, retry, processing, dead, fetchers"
like "$OUT" $'oldest queued +([7-9]|[1-9][0-9])\\.[0-9]s\n' "stats: age of the oldest queued job (7 s and however long the test took since)"
like "$OUT" $'events +3\nnotifications +2' "stats: stream lengths"
like "$OUT" 'notifications:cielo:accepted +7' "stats: counters"
ctl --json stats
is "$RC" 0 "stats --json"
is "$(json 'j["queue"], j["retry"], j["processing"], j["dead"], j["workers"], j["workers_live"], j["events"], j["notifications"], j["counters"]["fetch:cielo:changed"]')" \
	"2 1 1 4 2 1 3 2 5" "stats --json: every figure"
is "$(json '7000 <= j["oldest_queued_ms"] < 60000')" True "stats --json: oldest_queued_ms"
ctl stats --json
is "$(json 'j["queue"]')" 2 "--json also after the verb"

# dead list.
ctl dead list
is "$RC" 0 "dead list"
is "$(echo "$OUT" | sed -n 2p | awk '{print $1, $3, $4, $5, $6, $7}')" "0 cielo recurrent_payment $REC 12 http_404" \
	"dead list: newest first, with entity, attempts and error"
like "$OUT" $'\n3 +[0-9T:.-]+Z +cielo +sale +'"$SALE"$' +12 +http_503\n\\(4 of 4\\)$' "dead list: oldest last, then the count"
ctl dead list --limit 2
is "$(echo "$OUT" | tail -n 1)" "(2 of 4)" "dead list --limit 2"
is "$(echo "$OUT" | wc -l)" 4 "dead list --limit 2: header, 2 rows, count"
ctl dead list --json
is "$(json '[e["error"] for e in j]')" "['http_404', 'no_route', 'unauthorized', 'http_503']" "dead list --json"
ctl dead list --limit 0
is "$RC" 2 "dead list --limit 0: exit 2"
ctl dead list --limit x
is "$RC" 2 "dead list --limit x: exit 2"
like "$ERR" 'limit' "the message names --limit"
ctl dead frob
is "$RC" 2 "dead frob: exit 2"

# dead replay N: entry 2 is unauthorized po-401.
ctl dead replay 2
is "$RC" 0 "dead replay 2"
like "$OUT" 'replayed 1 \(oneinfinite payment_order po-401\)' "dead replay names what it replayed"
is "$(rcli LLEN payhook:dead)" 3 "the entry left the dead list"
is "$(rcli LLEN payhook:queue)" 3 "a job joined the queue"
newest=$(rcli LINDEX payhook:queue 0)
like "$newest" '"entity_id":"po-401".*"attempt":0\}$' "the replayed job is fresh (attempt 0)"
[[ $newest != *error* ]]
tap_ok $? "the replayed job carries no error"
ttl=$(rcli TTL payhook:pending:oneinfinite:payment_order:po-401)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 900 ]
tap_ok $? "its pending marker is set with pending_ttl ($ttl)"
ctl dead replay 99
is "$RC" 3 "dead replay of a missing entry: exit 3"
ctl dead replay
is "$RC" 2 "dead replay with nothing to replay: exit 2"
ctl dead replay all 1
is "$RC" 2 "dead replay all and N: exit 2"
ctl dead replay --provider nosuch
is "$RC" 2 "dead replay --provider of an unknown provider: exit 2"
# The providers of the table in lib/provider.c, in its order, by their .name.
providers=$(sed -n 's/^[[:space:]]*&provider_\([a-z0-9_]*\),$/\1/p' "$PH_TOP/lib/provider.c" |
	while read -r v; do sed -n 's/^[[:space:]]*\.name = "\(.*\)",$/\1/p' "$PH_TOP/lib/provider-$v.c"; done |
	paste -sd, - | sed 's/,/, /g')
like "$providers" '^oneinfinite, cielo' "the provider table read from lib/provider.c ($providers)"
like "$ERR" "nosuch: unknown provider \\($providers\\)\$" "the message lists the providers of the table"
ctl --help
like "$OUT" "PROVIDER is one of: $providers" "--help lists the providers of the table"

# dead replay --provider cielo: the two cielo entries; the sale is covered by
# a job waiting in the retry zset (a lock wait), which its marker names.
wjob="{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"$SALE\",\"notification_id\":\"w1\",\"event\":\"1\",\"received_at\":1,\"attempt\":0}"
rcli ZADD payhook:retry 99999999999999 "$wjob" >/dev/null
rcli SET "payhook:pending:cielo:sale:$SALE" "$wjob" EX 900 >/dev/null
ctl dead replay --provider cielo
is "$RC" 0 "dead replay --provider cielo"
is "$OUT" "replayed 2 (1 covered by a job already waiting), 1 kept" "replay counts"
is "$ERR" "" "no progress on stderr when it is not a terminal"
is "$(rcli LLEN payhook:queue)" 4 "one new job: the covered entity got none"
like "$(rcli LINDEX payhook:queue 0)" "\"entity_type\":\"recurrent_payment\",\"entity_id\":\"$REC\"" \
	"the recurrence is queued"
is "$(rcli LRANGE payhook:dead 0 -1 | grep -c no_route)" 1 "only the oneinfinite entry is left"

# dead replay all: the no_route entry goes back without a pending marker (the
# fetcher never clears one for a type with no route); garbage is kept.
rcli LPUSH payhook:dead 'not a job' >/dev/null
ctl dead replay all
is "$RC" 0 "dead replay all"
is "$OUT" "replayed 1 (0 covered by a job already waiting), 1 kept" "replay all counts"
is "$(rcli EXISTS payhook:pending:oneinfinite:mystery_type:my-1)" 0 "no pending marker for a type with no route"
like "$(rcli LINDEX payhook:queue 0)" '"entity_type":"mystery_type"' "the no_route job is queued"
like "$ERR" 'kept an entry that is not a job' "the garbage entry is reported"

# dead purge.
ctl dead purge
is "$RC" 0 "dead purge"
is "$OUT" "purged 1" "dead purge says how many"
is "$(rcli EXISTS payhook:dead)" 0 "the dead list is gone"
ctl dead purge now
is "$RC" 2 "dead purge with an argument: exit 2"

# On a terminal (script(1) gives it one), dead replay shows a count and a
# rate on stderr, rewritten with \r, and ends the line.
entries=()
for i in $(seq 1 200); do entries+=("$(dead oneinfinite payment_order "tty-$i" http_503)"); done
rcli LPUSH payhook:dead "${entries[@]}" >/dev/null
script -qec "$CTL_BIN -c $CONF dead replay all" /dev/null >"$T/tty" </dev/null
is "$?" 0 "dead replay all on a terminal"
like "$(tr '\r' '\n' <"$T/tty")" $'\ndead replay: 200 of 200 \\([0-9]+/s\\)\n' \
	"on a terminal: the count of the total and a rate"
like "$(cat "$T/tty")" 'replayed 200 \(0 covered' "and the result as without a terminal"
is "$(rcli LLEN payhook:dead)" 0 "all 200 replayed"

# entity.
rcli HSET payhook:entity:oneinfinite:payment_order:rcAaNfKdKJRmrnj4l5 \
	body '{"id":"rcAaNfKdKJRmrnj4l5","status":"CLOSED","amount":{"value":100}}' \
	fetched_at "$NOW" http_status 200 sha256 deadbeef notification_id uCEarm1kXJsroMQ6dt >/dev/null
ctl entity oneinfinite payment_order rcAaNfKdKJRmrnj4l5
is "$RC" 0 "entity"
like "$OUT" $'http_status +200\nsha256 +deadbeef\nnotification_id +uCEarm1kXJsroMQ6dt\nbody:\n\\{' "entity: fields, then the body"
like "$OUT" $'\n  "status": "CLOSED",\n' "entity: the body pretty-printed"
like "$OUT" 'fetched_at +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \('"$NOW"'\)' "entity: fetched_at as a time"
ctl --json entity oneinfinite payment_order rcAaNfKdKJRmrnj4l5
is "$(json 'j["body"]["amount"]["value"], j["http_status"], j["fetched_at"]')" "100 200 $NOW" "entity --json"
rcli HSET payhook:entity:cielo:sale:"$SALE" body 'not json <xml/>' fetched_at "$NOW" http_status 200 >/dev/null
ctl entity cielo sale "$SALE"
like "$OUT" $'body:\nnot json <xml/>$' "entity: a body that is not JSON is printed as is"
ctl entity cielo sale 00000000-0000-0000-0000-000000000000
is "$RC" 3 "entity with no snapshot: exit 3"
like "$ERR" 'no snapshot' "and says so"
ctl entity cielo sale 'bad id!'
is "$RC" 2 "entity with a bad id: exit 2"
ctl entity nosuch sale x
is "$RC" 2 "entity of an unknown provider: exit 2"
ctl entity cielo sale
is "$RC" 2 "entity with two arguments: exit 2"

# events tail.
ctl events tail
is "$RC" 0 "events tail"
is "$(echo "$OUT" | awk '{print $4}' | tr '\n' ' ')" "po-1 po-2 po-3 " "events tail: oldest first"
ctl events tail -n 2
is "$(echo "$OUT" | awk '{print $4}' | tr '\n' ' ')" "po-2 po-3 " "events tail -n 2: the last two"
ctl events tail --json -n 1
is "$(json 'j["entity_id"], j["body"]["status"], j["fetched_at"]')" "po-3 S3 $((NOW + 3))" "events tail --json"
ctl events
is "$RC" 2 "events without tail: exit 2"
ctl events tail -n 0
is "$RC" 2 "events tail -n 0: exit 2"

# events tail -f: prints what arrives, stops on SIGINT with 0.
"$CTL_BIN" -c "$CONF" events tail -f -n 1 >"$T/follow" 2>&1 &
fpid=$!
ph_wait_for grep -q po-3 "$T/follow"
tap_ok $? "events tail -f prints the last event first"
rcli XADD payhook:events '*' provider cielo entity_type sale entity_id "$SALE" fetched_at "$NOW" body '{}' >/dev/null
ph_wait_for grep -q "$SALE" "$T/follow"
tap_ok $? "events tail -f prints a new event"
kill -INT "$fpid"
ph_wait_for sh -c "! kill -0 $fpid"
tap_ok $? "events tail -f stops on SIGINT"
wait "$fpid"
is "$?" 0 "and exits 0"

# refetch.
before=$(rcli LLEN payhook:queue)
ctl refetch oneinfinite recurrent_payment rp-42
is "$RC" 0 "refetch"
is "$OUT" "queued oneinfinite recurrent_payment rp-42" "refetch says it queued"
is "$(rcli LLEN payhook:queue)" $((before + 1)) "one job queued"
like "$(rcli LINDEX payhook:queue 0)" '^\{"v":1,"provider":"oneinfinite","entity_type":"recurrent_payment","entity_id":"rp-42","notification_id":"payhookctl-[0-9a-f-]{36}","event":"refetch","received_at":[0-9]+,"attempt":0\}$' \
	"the job is a job as payhook-fcgi writes them"
ttl=$(rcli TTL payhook:pending:oneinfinite:recurrent_payment:rp-42)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 900 ]
tap_ok $? "refetch sets the pending marker ($ttl s)"
ctl refetch oneinfinite recurrent_payment rp-42
is "$RC" 0 "refetch of an entity already waiting: exit 0"
like "$OUT" 'already waiting' "and says so"
is "$(rcli LLEN payhook:queue)" $((before + 1)) "and queues nothing"
ctl refetch oneinfinite no_such_type rp-42
is "$RC" 2 "refetch of a type with no route: exit 2"
like "$ERR" 'no route' "and says so"
ctl refetch cielo sale '../../etc'
is "$RC" 2 "refetch with a bad id: exit 2"
is "$(rcli LLEN payhook:queue)" $((before + 1)) "bad refetches queue nothing"

# refresh rebuild: nothing extra on stderr without a terminal; on one, the
# entities seen and a rate.
ctl refresh rebuild
is "$RC" 0 "refresh rebuild"
is "$ERR" "" "refresh rebuild: no progress on stderr when it is not a terminal"
nent=$(rcli --scan --pattern 'payhook:entity:*' | wc -l)
script -qec "$CTL_BIN -c $CONF refresh rebuild" /dev/null >"$T/tty" </dev/null
is "$?" 0 "refresh rebuild on a terminal"
like "$(tr '\r' '\n' <"$T/tty")" $'\nrefresh rebuild, entities seen: '"$nent"$' \\([0-9]+/s\\)\n' \
	"on a terminal: the count ($nent) and a rate"

# Another prefix: payhookctl reads the keys the config names.
printf '[redis]\nurl = redis://127.0.0.1:%s/0\nprefix = {ph}:\n' "$REDIS_PORT" >"$T/prefix.conf"
rcli LPUSH '{ph}:queue' "$(job cielo sale "$SALE" "$NOW")" >/dev/null
"$CTL_BIN" -c "$T/prefix.conf" --json stats >"$T/out"
OUT=$(cat "$T/out")
is "$(json 'j["queue"], j["dead"]')" "1 0" "stats under prefix {ph}:"

tap_done
