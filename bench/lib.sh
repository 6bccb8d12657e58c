# shellcheck shell=bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Helpers shared by bench/deliver, bench/fetch, bench/ingest, bench/memory and
# bench/spool.
# Source it after scripts/lib.sh (it uses PH_PIDS, PH_TOP, PH_BUILD and
# ph_wait_for).

# bench_build_ingest: what bench/ingest and bench/spool run: scripts/deps, payhook
# built with -O2 -g into PH_BUILD, and PH_BUILD/bench/fcgi-trivial compiled
# from bench/fcgi-trivial.c the same way.
bench_build_ingest() {
	"$PH_TOP/scripts/deps" || return 1
	CFLAGS="-O2 -g" "$PH_TOP/scripts/build" "$PH_BUILD" || return 1
	mkdir -p "$PH_BUILD/bench"
	# shellcheck disable=SC2046
	cc -O2 -g -Wall -Wextra -Werror -o "$PH_BUILD/bench/fcgi-trivial" "$PH_TOP/bench/fcgi-trivial.c" \
		$(pkg-config --cflags --libs fcgi 2>/dev/null || echo -lfcgi) -pthread
}

# bench_trivial_up DIR THREADS IDLE_MS: bench/fcgi-trivial on DIR/trivial.sock
# with payhook-fcgi's threads and idle bound (log DIR/trivial.log). Sets
# TRIVIAL_PID.
bench_trivial_up() {
	"$PH_BUILD/bench/fcgi-trivial" -l "unix:$1/trivial.sock" -t "$2" -i "$3" 2>>"$1/trivial.log" &
	TRIVIAL_PID=$!
	PH_PIDS+=("$TRIVIAL_PID")
	ph_wait_for test -S "$1/trivial.sock" || { cat "$1/trivial.log" >&2; return 1; }
}

# bench_nginx_legs DIR PORT_C PORT_B [PORT_A]: DIR/nginx/nginx.conf for one
# nginx serving the legs of bench/ingest: C, nginx/payhook.conf as
# ph_nginx_conf writes it, on PORT_C in front of DIR/fcgi.sock; B, a copy on
# PORT_B in front of DIR/trivial.sock; A (when PORT_A is given), a copy with
# `return 200` in /webhooks/. Each copy has its own upstream name.
# PH_BENCH_KEEPALIVE, when set, is the upstream keepalive of B and C.
bench_nginx_legs() {
	local dir=$1 pc=$2 pb=$3 pa=${4:-} n=$1/nginx inc
	ph_nginx_conf "$dir" "$pc" || return 1
	[ -n "${PH_BENCH_KEEPALIVE:-}" ] &&
		sed -i "s#^\( *keepalive \)[0-9]*;#\1$PH_BENCH_KEEPALIVE;#" "$n/payhook.conf"
	sed -e "s#127.0.0.1:$pc#127.0.0.1:$pb#" -e "s#unix:$dir/fcgi.sock#unix:$dir/trivial.sock#" \
		-e 's#payhook_fcgi\b#payhook_fcgi_b#g' "$n/payhook.conf" >"$n/payhook-b.conf"
	inc="include $n/payhook-b.conf;"
	if [ -n "$pa" ]; then
		sed -e "s#127.0.0.1:$pc#127.0.0.1:$pa#" -e 's#payhook_fcgi\b#payhook_fcgi_a#g' \
			-e "\\#location /webhooks/#,/}/ s#fastcgi_pass payhook_fcgi_a;#return 200 '{\"status\":\"accepted\"}\\\\n';#" \
			"$n/payhook.conf" >"$n/payhook-a.conf"
		grep -q "return 200" "$n/payhook-a.conf" || { echo "bench: could not make leg A's config" >&2; return 1; }
		inc="include $n/payhook-a.conf; $inc"
	fi
	sed -i "s#include $n/payhook.conf;#& $inc#" "$n/nginx.conf"
}

# bench_nginx_up DIR PORT...: start the nginx of DIR/nginx (bench_nginx_legs)
# and wait until each port answers /healthz. Sets NGINX_PID.
bench_nginx_up() {
	local n=$1/nginx p
	shift
	nginx -p "$n" -c "$n/nginx.conf" 2>>"$n/stderr.log" &
	NGINX_PID=$!
	PH_PIDS+=("$NGINX_PID")
	for p in "$@"; do
		ph_wait_for curl -s -o /dev/null "http://127.0.0.1:$p/healthz" ||
			{ cat "$n/error.log" "$n/stderr.log" >&2; return 1; }
	done
}

# bench_wrk TAG CONNS SECS URL: wrk -t2 with bench/ingest.lua (ids unique per
# TAG); sets requests, duration_us, non2xx, sockerr, p50_us, p99_us from its
# BENCH line (wrk's whole output on stderr when there is none).
bench_wrk() {
	local out line
	out=$(PH_BENCH_TAG="$1" wrk -t2 -c"$2" -d"$3s" --timeout 5s -s "$PH_TOP/bench/ingest.lua" "$4") ||
		{ echo "$out" >&2; return 1; }
	line=$(grep '^BENCH ' <<<"$out") || { echo "$out" >&2; return 1; }
	eval "${line#BENCH }"
}

# bench_settle KEY: wait (bounded, 5 s) until the length of list KEY of the
# Redis on $REDIS_PORT stops changing (wrk stops with requests in flight,
# which still land); print the length.
bench_settle() {
	local prev=-1 len _
	for _ in $(seq 1 50); do
		len=$(redis-cli -p "$REDIS_PORT" llen "$1")
		[ "$len" = "$prev" ] && break
		prev=$len
		sleep 0.1
	done
	echo "$len"
}

# bench_api_up DIR PORT [DELAY_MS [CONNS [LOG]]]: a provider API stand-in,
# one nginx worker answering fixed JSON of about the providers' size (the
# entity id echoed in it) for the four routes: OneInfinite
# /v1/payment_orders/{id} and /v1/recurrent_payments/{id}, Cielo /1/sales/{id}
# and /1/RecurrentPayment/{id}; anything else 404. Keep-alive without a
# request limit. DELAY_MS (0): above 0, every route answers that many
# milliseconds late (echo_sleep of Debian's libnginx-mod-http-echo, the body
# by echo, chunked); 0 answers at once (`return 200`). CONNS (4096): the
# worker's connections (the caller raises ulimit -n to match). LOG (0): 1
# writes DIR/access.log, one line per request: "$msec $request_time $uri
# $status" (end of the request and its duration, in seconds). Sets API (its
# base URL) and API_PID.
bench_api_up() {
	local dir=$1 port=$2 delay=${3:-0} conns=${4:-4096} log=${5:-0} p got
	local oi_po oi_rp c_sale c_rp load="" access="access_log off;" ret="return 200" sleep=""
	local echo_so=/usr/lib/nginx/modules/ngx_http_echo_module.so
	oi_po='{"id":"$1","status":"CLOSED","amount":{"value":"150.00","currency":"BRL"},"payer":{"name":"Maria Silva","email":"maria@example.com","document":"12345678909"},"description":"Order 4711","created_at":"2026-11-23T10:00:00Z","updated_at":"2026-11-23T10:05:00Z","expires_at":"2026-11-30T10:00:00Z","payment_method":"PIX","version":3}'
	oi_rp='{"id":"$1","status":"ACTIVE","amount":{"value":"49.90","currency":"BRL"},"frequency":"MONTHLY","payer":{"name":"Maria Silva","email":"maria@example.com"},"start_date":"2026-11-01","next_charge_date":"2026-12-01","charges":3,"created_at":"2026-11-01T09:00:00Z","updated_at":"2026-11-23T10:05:00Z"}'
	c_sale='{"MerchantOrderId":"2017051002","Customer":{"Name":"Comprador Teste"},"Payment":{"ServiceTaxAmount":0,"Installments":1,"Interest":"ByMerchant","Capture":true,"Authenticate":false,"CreditCard":{"CardNumber":"455187******0183","Holder":"Teste Holder","ExpirationDate":"12/2030","SaveCard":false,"Brand":"Visa"},"ProofOfSale":"674532","Tid":"0305020554239","AuthorizationCode":"123456","PaymentId":"$1","Type":"CreditCard","Amount":15700,"Currency":"BRL","Country":"BRA","Status":2,"ReturnCode":"6","ReturnMessage":"Operation Successful"}}'
	c_rp='{"Customer":{"Name":"Fulano da Silva"},"RecurrentPayment":{"RecurrentPaymentId":"$1","NextRecurrency":"2026-12-23","StartDate":"2026-11-23","EndDate":"2027-11-23","Interval":"Monthly","Amount":15000,"Country":"BRA","CreateDate":"2026-11-23T00:00:00","Currency":"BRL","CurrentRecurrencyTry":1,"OrderNumber":"2017051101","Status":1,"RecurrencyDay":23,"SuccessfulRecurrences":1}}'
	if [ "$delay" -gt 0 ]; then
		[ -f "$echo_so" ] || { echo "bench: $echo_so missing (libnginx-mod-http-echo)" >&2; return 1; }
		load="load_module $echo_so;"
		sleep=$(printf 'echo_sleep %d.%03d; ' $((delay / 1000)) $((delay % 1000)))
		ret="echo -n"
	fi
	[ "$log" = 1 ] && access="log_format bench '\$msec \$request_time \$uri \$status'; access_log $dir/access.log bench;"
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<CONF
$load
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $conns; multi_accept on; }
http {
    $access
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location ~ ^/v1/payment_orders/([A-Za-z0-9_-]+)\$ { $sleep$ret '$oi_po'; }
        location ~ ^/v1/recurrent_payments/([A-Za-z0-9_-]+)\$ { $sleep$ret '$oi_rp'; }
        location ~ ^/1/sales/([A-Za-z0-9-]+)\$ { $sleep$ret '$c_sale'; }
        location ~ ^/1/RecurrentPayment/([A-Za-z0-9-]+)\$ { $sleep$ret '$c_rp'; }
        location / { return 404 '{"error":"not_found"}'; }
    }
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" 2>>"$dir/stderr.log" &
	API_PID=$!
	PH_PIDS+=("$API_PID")
	API="http://127.0.0.1:$port"
	ph_wait_for curl -s -o /dev/null "$API/" || { cat "$dir/error.log" "$dir/stderr.log" >&2; return 1; }
	for p in /v1/payment_orders/x1 /v1/recurrent_payments/x1 /1/sales/1-2 /1/RecurrentPayment/1-2; do
		got=$(curl -s -o /dev/null -w '%{http_code}' "$API$p")
		[ "$got" = 200 ] || { echo "bench: API stand-in answered $got for $p" >&2; return 1; }
	done
}

# bench_fetcher_conf FILE REDIS_URL API [LOG_LEVEL]: a config whose providers
# are the stand-in at API, with credentials the stand-in accepts.
bench_fetcher_conf() {
	cat >"$1" <<CONF
[redis]
url = $2
[log]
level = ${4:-info}
[oneinfinite]
api_base = $3
api_key = oi-key
api_secret = oi-secret
[cielo]
query_base = $3
merchant_id = cielo-merchant
merchant_key = cielo-key
CONF
}

# Sum of user+system clock ticks of the given pids and their threads.
cpu_ticks() {
	local pid sum=0 f
	for pid in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
		sum=$((sum + ${f% *} + ${f#* }))
	done
	echo "$sum"
}

# INFO memory field of the Redis on port $REDIS_PORT.
redis_mem() {
	redis-cli -p "$REDIS_PORT" info memory | sed -n "s/^$1:\\([0-9]*\\).*/\\1/p"
}

# Count the keys matching a pattern (SCAN: never KEYS on a big keyspace).
count_keys() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "$1" | wc -l
}
