#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# scripts/run started twice on the same state directory with other ports:
# the ports given now win (the [redis] url line is rewritten, the user's own
# lines are kept), and a notification posted each time is queued. A url the
# user pointed elsewhere stops the start with a message naming the file.
# No deliverer runs until the config names an endpoint; with one, scripts/run
# starts one and an event reaches the endpoint.
. "$(dirname "$0")/lib.sh"

RUN=$T/run
mkdir -p "$RUN"

# start_run HTTP_PORT REDIS_PORT: scripts/run in the background, up when /healthz answers 200.
start_run() {
	PH_RUN_PREBUILT=1 PH_RUN_DIR=$RUN PH_HTTP_PORT=$1 PH_REDIS_PORT=$2 \
		bash "$PH_TOP/scripts/run" >"$T/run.out" 2>&1 &
	RUN_PID=$!
	PH_WAIT=20 ph_wait_for sh -c "curl -sf http://127.0.0.1:$1/healthz | grep -q ok"
}

stop_run() {
	kill -TERM "$RUN_PID" 2>/dev/null
	PH_WAIT=20 ph_wait_for sh -c "! kill -0 $RUN_PID"
	wait "$RUN_PID" 2>/dev/null
}

OI='{"id":"run-%s","event_type":"PAYMENT_ORDER.OPENED","entity_id":"po_run_%s"}'

h1=$(ph_free_port) r1=$(ph_free_port)
start_run "$h1" "$r1"
tap_ok $? "first start on ports $h1/$r1: healthz 200"
is "$(post "http://127.0.0.1:$h1/webhooks/oneinfinite" "$(printf "$OI" 1 1)")" '200 {"status":"accepted"}' "first start: notification accepted"
is "$(redis-cli -p "$r1" exists payhook:seen:oneinfinite:run-1)" 1 "first start: it is recorded in the Redis on $r1"
# pgrep by name among scripts/run's own children only.
pgrep -P "$RUN_PID" -x payhook-deliver >/dev/null
tap_ok $((!$?)) "first start: no deliverer (the config has no endpoint)"
like "$(cat "$T/run.out")" 'Deliveries +none: add an \[endpoint NAME\]' "scripts/run says how to get one"
stop_run
tap_ok $? "first start stopped by SIGTERM"
is "$(grep -c '^url = ' "$RUN/payhook.conf")" 1 "the config has one url line"

# The user edits the config between starts, adding an endpoint: a receiver
# on loopback that writes each request's path and webhook-id, and answers 204.
RECV_PORT=$(ph_free_port)
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(sys.argv[2], "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("webhook-id")))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$RECV_PORT" "$T/received" 2>"$T/receiver.log" &
PH_PIDS+=($!)
printf '[log]\nlevel = debug\n' >>"$RUN/payhook.conf"
printf '[endpoint local]\nurl = http://127.0.0.1:%s/hook\nallow_http = on\nsecret = %s\n' "$RECV_PORT" \
	whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw >>"$RUN/payhook.conf"

h2=$(ph_free_port) r2=$(ph_free_port)
start_run "$h2" "$r2"
tap_ok $? "second start on new ports $h2/$r2: healthz 200"
is "$(post "http://127.0.0.1:$h2/webhooks/oneinfinite" "$(printf "$OI" 2 2)")" '200 {"status":"accepted"}' "second start: notification accepted (not 503)"
is "$(redis-cli -p "$r2" exists payhook:seen:oneinfinite:run-2)" 1 "second start: it is recorded in the Redis on $r2"
is "$(grep '^url = redis' "$RUN/payhook.conf")" "url = redis://127.0.0.1:$r2/0" "the [redis] url line follows the new Redis port"
is "$(grep -c '^level = debug$' "$RUN/payhook.conf")" 1 "the user's own lines are kept"
is "$(grep '^spool_dir = ' "$RUN/payhook.conf")" "spool_dir = $RUN/spool" "the spool is run/spool"
[ -d "$RUN/spool" ]
tap_ok $? "run/spool exists"
PH_WAIT=20 ph_wait_for pgrep -P "$RUN_PID" -x payhook-deliver
tap_ok $? "second start: a deliverer runs (the config has [endpoint local])"
like "$(cat "$T/run.out")" 'Deliveries +to local' "scripts/run names the endpoint"
# The deliverer makes its group at start; an event stored after that is POSTed.
group_made() { redis-cli -p "$r2" xinfo groups payhook:events 2>/dev/null | grep -qx 'payhook-deliver:local'; }
PH_WAIT=20 ph_wait_for group_made
tap_ok $? "the deliverer made its consumer group payhook-deliver:local"
id=$(redis-cli -p "$r2" xadd payhook:events '*' provider oneinfinite entity_type payment_order \
	entity_id po_run_3 fetched_at "$(date +%s%3N)" body '{"id":"po_run_3","status":"OPENED"}' status OPENED)
PH_WAIT=30 ph_wait_for grep -qx "/hook evt_$id" "$T/received"
tap_ok $? "an event added to the stream ($id) reaches the endpoint as webhook-id evt_$id"
stop_run
tap_ok $? "second start stopped by SIGTERM"

# A url the user pointed at another Redis: scripts/run refuses, naming the file.
sed -i 's#^url = .*#url = unix:///run/redis/redis.sock?db=0#' "$RUN/payhook.conf"
h3=$(ph_free_port) r3=$(ph_free_port)
PH_RUN_PREBUILT=1 PH_RUN_DIR=$RUN PH_HTTP_PORT=$h3 PH_REDIS_PORT=$r3 \
	timeout 30 bash "$PH_TOP/scripts/run" >"$T/run3.out" 2>&1
rc=$?
is "$rc" 1 "a url that is not scripts/run's Redis: exit 1"
like "$(cat "$T/run3.out")" "$RUN/payhook.conf: its \\[redis\\] url is not redis://127.0.0.1:$r3/0" "the message names the file and the mismatch"
tap_done
