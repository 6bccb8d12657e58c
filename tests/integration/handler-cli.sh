# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-fcgi as a command: flags, config errors that name the key, a clean
# exit on SIGTERM that finishes and removes its socket, fd-0 mode refused when
# fd 0 is no socket.
. "$(dirname "$0")/lib.sh"
BIN="$PH_BUILD/handler/payhook-fcgi"

like "$("$BIN" --version)" '^payhook-fcgi [0-9]+\.[0-9]+\.[0-9]+$' "--version"
out=$("$BIN" --help); rc=$?
tap_ok $rc "--help exits 0"
like "$out" '--check-config' "--help lists the flags"
"$BIN" --bogus >/dev/null 2>&1
is $? 2 "unknown flag: exit 2"

printf '[handler]\nmax_body = 2048\n[oneinfinite]\napi_secret = hunter2\n' >"$T/ok.conf"
out=$("$BIN" -c "$T/ok.conf" --check-config); rc=$?
tap_ok $rc "--check-config on a good file exits 0"
like "$out" 'max_body = 2048' "--check-config prints the values"
ok=0; [[ $out == *hunter2* ]] && ok=1
tap_ok $ok "--check-config never prints a secret"

printf '[handler]\nmax_body = -5\n' >"$T/bad.conf"
err=$("$BIN" -c "$T/bad.conf" --check-config 2>&1); rc=$?
is $rc 1 "bad value: exit 1"
like "$err" 'bad.conf:2: \[handler\] max_body: must be a whole number' "the message names file, line and key"
err=$(PAYHOOK_REDIS_URL=http://x "$BIN" -c "$T/ok.conf" --check-config 2>&1); rc=$?
like "$rc $err" '^1 .*\[redis\] url' "bad PAYHOOK_REDIS_URL: exit 1 naming the key"
err=$("$BIN" -c "$T/missing.conf" --check-config 2>&1); rc=$?
like "$rc $err" '^1 .*missing.conf: No such file' "missing -c file: exit 1 naming it"
err=$("$BIN" -c "$T/ok.conf" -t 0 --check-config 2>&1); rc=$?
like "$rc $err" '^1 .*-t 0' "-t 0 refused"
err=$("$BIN" -c "$T/ok.conf" -l nowhere </dev/null 2>&1); rc=$?
like "$rc $err" '^1 .*-l nowhere' "-l without unix: or host:port refused"
err=$("$BIN" -c "$T/ok.conf" </dev/null 2>&1); rc=$?
like "$rc $err" '^1 .*fd 0 is not a socket' "no -l and fd 0 not a socket: a clear error"

# SIGTERM: exits 0 and removes its socket.
REDIS_PORT=$(ph_free_port)
ph_start_redis "$T/redis" "$REDIS_PORT"
printf '[redis]\nurl = redis://127.0.0.1:%s/0\n[handler]\nspool_dir =\n' "$REDIS_PORT" >"$T/run.conf"
"$BIN" -c "$T/run.conf" -l "unix:$T/h.sock" -t 2 2>"$T/h.log" &
pid=$!
ph_wait_for test -S "$T/h.sock"
tap_ok $? "listening on its unix socket"
is "$(stat -c %a "$T/h.sock")" 660 "socket mode is [handler] socket_mode (0660)"
kill -TERM $pid
wait $pid
is $? 0 "SIGTERM: exit 0"
ok=0; [ -e "$T/h.sock" ] && ok=1
tap_ok $ok "socket removed on exit"
like "$(cat "$T/h.log")" 'event=stopped' "logs that it stopped"

# TCP listening works too.
port=$(ph_free_port)
"$BIN" -c "$T/run.conf" -l "127.0.0.1:$port" -t 1 2>>"$T/h.log" &
pid=$!
PH_PIDS+=($pid)
ph_wait_for bash -c "echo > /dev/tcp/127.0.0.1/$port"
tap_ok $? "listening on host:port"

# fd-0 mode: spawn-fcgi opens the socket and hands it over as fd 0; nginx in front.
HTTP_PORT=$(ph_free_port)
spawn-fcgi -n -s "$T/fcgi.sock" -M 0666 -- "$BIN" -c "$T/run.conf" -t 2 2>>"$T/h.log" &
PH_PIDS+=($!)
ph_wait_for test -S "$T/fcgi.sock"
ph_start_nginx "$T" "$HTTP_PORT"
is "$(post "http://127.0.0.1:$HTTP_PORT/webhooks/oneinfinite" '{"id":"fd0","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"po1"}')" '200 {"status":"accepted"}' "served on fd 0 under spawn-fcgi: 200"
is "$(redis-cli -p "$REDIS_PORT" exists payhook:seen:oneinfinite:fd0)" 1 "and recorded"
tap_done
