# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Sentinel configuration and start-up: --check-config names the bad key
# ([redis] sentinels, master_name, url), the environment sets them
# (PAYHOOK_REDIS_SENTINELS, PAYHOOK_REDIS_MASTER_NAME), and with no sentinel
# answering, payhookctl and payhook-fetcher say so naming every sentinel.
. "$(dirname "$0")/lib.sh"
FCGI="$PH_BUILD/handler/payhook-fcgi"
CTL="$PH_BUILD/tools/payhookctl"

: >"$T/empty.conf"
check() { "$FCGI" -c "$T/empty.conf" --check-config 2>&1; }
err=$(PAYHOOK_REDIS_SENTINELS=localhost PAYHOOK_REDIS_MASTER_NAME=m check); rc=$?
like "$rc $err" '^1 .*\[redis\] sentinels: "localhost": must be host:port' "a sentinel without a port: exit 1 naming the key"
err=$(PAYHOOK_REDIS_SENTINELS='127.0.0.1:26379,,127.0.0.1:26380' PAYHOOK_REDIS_MASTER_NAME=m check); rc=$?
like "$rc $err" '^1 .*\[redis\] sentinels: empty entry' "an empty entry: exit 1 naming the key"
err=$(PAYHOOK_REDIS_SENTINELS=127.0.0.1:70000 PAYHOOK_REDIS_MASTER_NAME=m check); rc=$?
like "$rc $err" '^1 .*\[redis\] sentinels: .*port must be a number' "a bad port: exit 1 naming the key"
err=$(PAYHOOK_REDIS_SENTINELS=127.0.0.1:26379 check); rc=$?
like "$rc $err" '^1 .*\[redis\] master_name: .*needed with \[redis\] sentinels' "sentinels without master_name: exit 1 naming master_name"
err=$(PAYHOOK_REDIS_MASTER_NAME=m check); rc=$?
like "$rc $err" '^1 .*\[redis\] master_name: set, but \[redis\] sentinels is not' "master_name without sentinels: exit 1"
err=$(PAYHOOK_REDIS_SENTINELS=127.0.0.1:26379 PAYHOOK_REDIS_MASTER_NAME=m PAYHOOK_REDIS_URL='unix:///run/r.sock' check); rc=$?
like "$rc $err" '^1 .*\[redis\] url: with \[redis\] sentinels' "a unix socket URL with sentinels: exit 1 naming url"
err=$(PAYHOOK_REDIS_MIN_REPLICAS=-1 check); rc=$?
like "$rc $err" '^1 .*PAYHOOK_REDIS_MIN_REPLICAS: must be a whole number' "min_replicas -1: exit 1 naming the key"
printf 'secret-s\n' >"$T/spw"
chmod 600 "$T/spw"
out=$(PAYHOOK_REDIS_SENTINELS='127.0.0.1:26379, [::1]:26380' PAYHOOK_REDIS_MASTER_NAME=mymaster \
	PAYHOOK_REDIS_SENTINEL_PASSWORD_FILE="$T/spw" check); rc=$?
tap_ok $rc "sentinels, master_name and sentinel_password_file from the environment: config ok"
like "$out" $'\nsentinels = 127.0.0.1:26379, \\[::1\\]:26380\n' "--check-config prints the sentinels"
like "$out" $'\nmaster_name = mymaster\n.*sentinel_password = \\(set\\)\n.*min_replicas = 0\nreplica_timeout_ms = 100\n' \
	"--check-config: master_name, the password as (set), min_replicas 0, replica_timeout_ms 100"
ok=0; [[ $out == *secret-s* ]] && ok=1
tap_ok $ok "the sentinel password is never printed"

# No sentinel answers: two free ports nobody listens on.
P1=$(ph_free_port) P2=$(ph_free_port)
export PAYHOOK_REDIS_SENTINELS="127.0.0.1:$P1,127.0.0.1:$P2" PAYHOOK_REDIS_MASTER_NAME=payhook
err=$(timeout 20 "$CTL" -c "$T/empty.conf" stats 2>&1); rc=$?
tap_ok $((rc == 0)) "payhookctl stats fails when no sentinel answers (exit $rc)"
like "$err" "no sentinel answered \\(\\[redis\\] sentinels = 127.0.0.1:$P1,127.0.0.1:$P2\\): 127.0.0.1:$P1: .*refused" \
	"payhookctl names every sentinel and why"
"$PH_BUILD/fetcher/payhook-fetcher" -c "$T/empty.conf" --id s 2>"$T/fetcher.log" &
FPID=$!
PH_PIDS+=($FPID)
ph_wait_for grep -q "event=redis_down.*no sentinel answered (\\[redis\\] sentinels = 127.0.0.1:$P1,127.0.0.1:$P2)" "$T/fetcher.log" &&
	grep -q "event=started.*redis=sentinel:payhook" "$T/fetcher.log"
tap_ok $? "payhook-fetcher starts asking for master payhook, and logs the sentinels it could not reach"
kill -0 "$FPID"
tap_ok $? "and keeps trying (a sentinel may come up)"
kill -TERM "$FPID"
wait "$FPID"
is $? 0 "SIGTERM: exit 0"
tap_done
