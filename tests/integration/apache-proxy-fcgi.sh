#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook through a real Apache 2.4 running apache/payhook-proxy-fcgi.conf
# (mod_proxy_fcgi to payhook-fcgi's unix socket), or, with
# PH_APACHE_MODE=fcgid (apache-fcgid.sh), apache/payhook-fcgid.conf (mod_fcgid
# spawns payhook-fcgi on fd 0). The seeds' samples, a duplicate, bad bodies,
# path token and required header, a Redis outage and its end.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/scripts/lib-apache.sh"
MODE=${PH_APACHE_MODE:-proxy}

if ! command -v apache2 >/dev/null; then
	echo "not ok 1 - apache2 is not installed (scripts/deps installs it)"
	exit 1
fi

REDIS_PORT=$(ph_free_port)
HTTP_PORT=$(ph_free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
CONF="$T/payhook.conf"
TOKEN=t0k3n-Apache_1
cat >"$CONF" <<CONF
[redis]
url = redis://127.0.0.1:$REDIS_PORT/0
[handler]
socket_mode = 0666
spool_dir =
[oneinfinite]
token = $TOKEN
[cielo]
required_header = X-Payhook-Auth: s3cret-value
[mercadopago]
signing_secret = mp-apache
[stripe]
signing_secret = whsec_apache
CONF
ph_start_redis "$T/redis" "$REDIS_PORT" || exit 1
if [ "$MODE" = proxy ]; then
	ph_start_handler "$T" "$CONF" || exit 1
	ph_start_apache "$T" "$HTTP_PORT" proxy || exit 1
else
	ph_start_apache "$T" "$HTTP_PORT" fcgid "$CONF" || exit 1
fi
ONE="$BASE/webhooks/oneinfinite/$TOKEN"
CIELO="$BASE/webhooks/cielo"
AUTH=(-H 'X-Payhook-Auth: s3cret-value')

# The OneInfinite seed's sample, as the provider sends it.
SEED='{
  "id": "uCEarm1kXJsroMQ6dt",
  "event_type": "PAYMENT_ORDER.CLOSED",
  "entity_type": "PAYMENT_ORDER",
  "entity_id": "rcAaNfKdKJRmrnj4l5"
}'
# header NAME: the value of a response header of the last post (with -D).
header() {
	sed -n "s/^$1: *//Ip" "$T/resp.headers" | tr -d '\r' | head -n 1
}

is "$(post "$ONE" "$SEED" -D "$T/resp.headers")" '200 {"status":"accepted"}' \
	"$MODE: OneInfinite seed sample accepted"
is "$(header Content-Type)" application/json "$MODE: answer is labelled JSON"
is "$(rcli LLEN payhook:queue)" 1 "$MODE: one job queued"
like "$(rcli LINDEX payhook:queue 0)" '"provider":"oneinfinite".*"entity_id":"rcAaNfKdKJRmrnj4l5"' \
	"$MODE: the job names the payment order"
is "$(rcli EXISTS payhook:seen:oneinfinite:uCEarm1kXJsroMQ6dt)" 1 "$MODE: notification id remembered"
is "$(post "$ONE" "$SEED")" '200 {"status":"duplicate"}' "$MODE: same notification again is a duplicate"
is "$(rcli LLEN payhook:queue)" 1 "$MODE: a duplicate queues nothing"
is "$(post "$BASE/webhooks/oneinfinite" "$SEED" | cut -c1-3)" 404 "$MODE: path token missing: 404"
is "$(post "$BASE/webhooks/oneinfinite/wrong" "$SEED")" '404 {"error":"not_found"}' \
	"$MODE: wrong path token: 404"

# Cielo: the seed's sample with real GUIDs; ChangeType 2 fetches sale and recurrence.
PAY=7d1ea2b4-52a3-4f59-9b4e-0f6c2d0c9a11
REC=c3a9d3f2-1b7e-4c55-8a0d-5e2f7b6a4d22
CBODY="{\"RecurrentPaymentId\":\"$REC\",\"PaymentId\":\"$PAY\",\"ChangeType\":\"2\"}"
is "$(post "$CIELO" "$CBODY")" '401 {"error":"unauthorized"}' "$MODE: Cielo without the required header: 401"
is "$(post "$CIELO" "$CBODY" -H 'X-Payhook-Auth: wrong')" '401 {"error":"unauthorized"}' \
	"$MODE: Cielo with a wrong header value: 401"
is "$(post "$CIELO" "$CBODY" "${AUTH[@]}")" '200 {"status":"accepted"}' \
	"$MODE: Cielo ChangeType 2 with real GUIDs accepted"
is "$(rcli LLEN payhook:queue)" 3 "$MODE: ChangeType 2 queued two jobs"
jobs=$(rcli LRANGE payhook:queue 0 1)
like "$jobs" "\"entity_type\":\"sale\",\"entity_id\":\"$PAY\"" "$MODE: a job for the sale"
like "$jobs" "\"entity_type\":\"recurrent_payment\",\"entity_id\":\"$REC\"" "$MODE: a job for the recurrence"
PLACEHOLDER='{"RecurrentPaymentId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","PaymentId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","ChangeType":"2"}'
like "$(post "$CIELO" "$PLACEHOLDER" "${AUTH[@]}")" '^400 \{"error":"invalid_notification","message":".+"\}$' \
	"$MODE: the seed's placeholder ids are rejected"

# Bad input and other routes.
like "$(post "$ONE" 'not json' -D "$T/resp.headers")" '^400 \{"error":"invalid_notification","message":".+"\}$' \
	"$MODE: bad body: 400 JSON"
is "$(header Content-Type)" application/json "$MODE: the 400 is labelled JSON"
like "$(post "$ONE" '{"id":"a b","event_type":"PAYMENT_ORDER.CLOSED","entity_type":"PAYMENT_ORDER","entity_id":"x"}')" \
	'^400 ' "$MODE: bad id: 400"
is "$(rcli LLEN payhook:queue)" 3 "$MODE: rejected bodies queue nothing"
is "$(curl -s -o /dev/null -w '%{http_code} ' -D "$T/resp.headers" "$ONE")$(header Allow)" '405 POST' \
	"$MODE: GET on a webhook: 405 with Allow: POST"
is "$(post "$BASE/webhooks/nosuch" '{}')" '404 {"error":"not_found"}' "$MODE: unknown provider: 404"
is "$(curl -s -w ' %{http_code}' "$BASE/index.html")" '{"error":"not_found"} 404' \
	"$MODE: nothing served outside /webhooks/ and /healthz"
# /metrics goes to payhook-fcgi (it marks every answer no-store), from loopback.
metrics=$(curl -s -w '\n%{http_code}' -D "$T/resp.headers" "$BASE/metrics")
is "$(header Cache-Control)" no-store "$MODE: /metrics is passed to payhook-fcgi"
is "${metrics##*$'\n'}" 200 "$MODE: /metrics from loopback: 200"
like "$metrics" $'\npayhook_notifications_total\\{provider="oneinfinite",outcome="accepted"\\} 1\n' \
	"$MODE: /metrics counts the accepted seed sample"
like "$metrics" $'\npayhook_notifications_total\\{provider="oneinfinite",outcome="duplicate"\\} 1\n' \
	"$MODE: /metrics counts its duplicate"
curl -s -o /dev/null -D "$T/resp.headers" "$BASE/metricsx"
is "$(header Cache-Control)" "" "$MODE: /metricsx is not"
# POST /entities/.../refetch goes to payhook-fcgi, from loopback.
is "$(curl -s -w ' %{http_code}' -X POST "$BASE/entities/oneinfinite/payment_order/po_apache/refetch")" \
	'{"status":"queued"} 200' "$MODE: refetch from loopback: queued"
like "$(rcli LRANGE payhook:queue 0 0)" '"entity_id":"po_apache".*"event":"refetch"' "$MODE: its job is queued"
is "$(curl -s -w ' %{http_code}' -X POST "$BASE/entities/oneinfinite/payment_order/po_apache/refetch")" \
	'{"status":"pending"} 200' "$MODE: refetch again while it waits: pending"
rcli LPOP payhook:queue >/dev/null; rcli DEL payhook:pending:oneinfinite:payment_order:po_apache >/dev/null
head -c 20000 /dev/zero | tr '\0' 'a' >"$T/20k"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/70k"
is "$(curl -s -w ' %{http_code}' --data-binary @"$T/20k" "${AUTH[@]}" "$CIELO")" '{"error":"body_too_large"} 413' \
	"$MODE: body over max_body: 413"
is "$(curl -s -w ' %{http_code}' --data-binary @"$T/70k" "${AUTH[@]}" "$CIELO")" '{"error":"body_too_large"} 413' \
	"$MODE: body over Apache's limit: 413"
is "$(curl -s -w ' %{http_code}' "$BASE/healthz")" '{"status":"ok","redis":"up","spool":"disabled"} 200' "$MODE: /healthz: 200 ok"

# Signing providers: the headers their signatures cover (x-signature,
# x-request-id, Stripe-Signature) and the query string reach payhook-fcgi.
/usr/bin/python3 "$PH_TOP/tests/integration/signed-post.py" >"$T/signed" 2>"$T/signed.log" <<REQ
{"name":"mp","provider":"mercadopago","url":"$BASE/webhooks/mercadopago","secret":"mp-apache","query":"data.id=Ap1&type=payment","request_id":"rq-apache","body":{"id":"ap-1","type":"payment","data":{"id":"Ap1"}}}
{"name":"st","provider":"stripe","url":"$BASE/webhooks/stripe","secret":"whsec_apache","body":{"id":"evt_ap","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_ap","object":"charge"}}}}
{"name":"st_wrong","provider":"stripe","url":"$BASE/webhooks/stripe","secret":"whsec_other","body":{"id":"evt_ap2","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_ap2","object":"charge"}}}}
REQ
is "$(cat "$T/signed" | tr '\n' ' ')" 'mp 200 {"status":"accepted"} st 200 {"status":"accepted"} st_wrong 401 {"error":"unauthorized"} ' \
	"$MODE: Mercado Pago and Stripe signatures checked through Apache"
is "$(rcli LRANGE payhook:queue 0 1 | grep -oE '"entity_id":"[^"]*"' | tr '\n' ' ')" \
	'"entity_id":"ch_ap" "entity_id":"Ap1" ' "$MODE: their jobs queued"
rcli LPOP payhook:queue 2 >/dev/null
rcli DEL payhook:pending:mercadopago:payment:Ap1 payhook:pending:stripe:charge:ch_ap >/dev/null

# Redis down: 503 with Retry-After, nothing half-written; back: 200 again.
ph_stop_redis "$T/redis"
NEW='{"id":"afterOutage1","event_type":"PAYMENT_ORDER.OPENED","entity_type":"PAYMENT_ORDER","entity_id":"po-after-outage"}'
is "$(post "$ONE" "$NEW" -D "$T/resp.headers")" '503 {"error":"unavailable"}' "$MODE: Redis down: 503"
like "$(header Retry-After)" '^[0-9]+$' "$MODE: the 503 carries Retry-After"
is "$(grep -ci '^Retry-After:' "$T/resp.headers")" 1 "$MODE: exactly one Retry-After"
is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" 503 "$MODE: /healthz: 503 while Redis is down"
ph_start_redis "$T/redis" "$REDIS_PORT" || exit 1
# post_ok URL BODY: post until it is answered 200 (503s are what a provider retries).
post_ok() {
	[ "$(post "$@" | cut -c1-3)" = 200 ]
}
PH_WAIT=15 ph_wait_for post_ok "$ONE" "$NEW"
tap_ok $? "$MODE: Redis back: 200"
is "$(cat "$T/resp.body")" '{"status":"accepted"}' "$MODE: the retried notification is accepted, once"
is "$(rcli LLEN payhook:queue)" 4 "$MODE: queue kept across the restart, plus the new job"

if [ "$MODE" = proxy ]; then
	# payhook-fcgi down: Apache answers for it, in the same JSON.
	kill "$(cat "$T/handler.pid")"
	ph_wait_for sh -c "! kill -0 $(cat "$T/handler.pid")"
	is "$(post "$ONE" "$SEED" -D "$T/resp.headers")" '503 {"error":"unavailable"}' \
		"$MODE: payhook-fcgi down: 503 JSON"
	like "$(header Retry-After)" '^[0-9]+$' "$MODE: that 503 carries Retry-After"
	is "$(header Content-Type)" application/json "$MODE: that 503 is labelled JSON"
else
	like "$(cat "$T/apache/error.log")" 'event=started .*listen=fd0 threads=1' \
		"$MODE: mod_fcgid started payhook-fcgi on fd 0 with one thread"
	user=$(ph_apache_user)
	if [ -n "$user" ]; then
		pids=$(pgrep -f "^$T/apache/bin/payhook-fcgi -c $CONF" | head -n 1)
		is "$(ps -o user= -p "$pids" 2>/dev/null | tr -d ' ')" "$user" \
			"$MODE: payhook-fcgi runs as Apache's user"
	fi
fi

tap_done
