# shellcheck shell=bash
# Helpers shared by bench/fetch, bench/memory and bench/soak. Source it after
# scripts/lib.sh (it uses PH_PIDS and ph_wait_for).

# bench_api_up DIR PORT: a fast provider API stand-in, one nginx worker
# answering fixed JSON of about the providers' size (the entity id echoed in
# it) for the four routes: OneInfinite /v1/payment_orders/{id} and
# /v1/recurrent_payments/{id}, Cielo /1/sales/{id} and /1/RecurrentPayment/{id};
# anything else 404. Keep-alive without a request limit. Sets API (its base
# URL) and API_PID.
bench_api_up() {
	local dir=$1 port=$2 p got
	local oi_po oi_rp c_sale c_rp
	oi_po='{"id":"$1","status":"CLOSED","amount":{"value":"150.00","currency":"BRL"},"payer":{"name":"Maria Silva","email":"maria@example.com","document":"12345678909"},"description":"Order 4711","created_at":"2026-11-23T10:00:00Z","updated_at":"2026-11-23T10:05:00Z","expires_at":"2026-11-30T10:00:00Z","payment_method":"PIX","version":3}'
	oi_rp='{"id":"$1","status":"ACTIVE","amount":{"value":"49.90","currency":"BRL"},"frequency":"MONTHLY","payer":{"name":"Maria Silva","email":"maria@example.com"},"start_date":"2026-11-01","next_charge_date":"2026-12-01","charges":3,"created_at":"2026-11-01T09:00:00Z","updated_at":"2026-11-23T10:05:00Z"}'
	c_sale='{"MerchantOrderId":"2017051002","Customer":{"Name":"Comprador Teste"},"Payment":{"ServiceTaxAmount":0,"Installments":1,"Interest":"ByMerchant","Capture":true,"Authenticate":false,"CreditCard":{"CardNumber":"455187******0183","Holder":"Teste Holder","ExpirationDate":"12/2030","SaveCard":false,"Brand":"Visa"},"ProofOfSale":"674532","Tid":"0305020554239","AuthorizationCode":"123456","PaymentId":"$1","Type":"CreditCard","Amount":15700,"Currency":"BRL","Country":"BRA","Status":2,"ReturnCode":"6","ReturnMessage":"Operation Successful"}}'
	c_rp='{"Customer":{"Name":"Fulano da Silva"},"RecurrentPayment":{"RecurrentPaymentId":"$1","NextRecurrency":"2026-12-23","StartDate":"2026-11-23","EndDate":"2027-11-23","Interval":"Monthly","Amount":15000,"Country":"BRA","CreateDate":"2026-11-23T00:00:00","Currency":"BRL","CurrentRecurrencyTry":1,"OrderNumber":"2017051101","Status":1,"RecurrencyDay":23,"SuccessfulRecurrences":1}}'
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
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
        location ~ ^/v1/payment_orders/([A-Za-z0-9_-]+)\$ { return 200 '$oi_po'; }
        location ~ ^/v1/recurrent_payments/([A-Za-z0-9_-]+)\$ { return 200 '$oi_rp'; }
        location ~ ^/1/sales/([A-Za-z0-9-]+)\$ { return 200 '$c_sale'; }
        location ~ ^/1/RecurrentPayment/([A-Za-z0-9-]+)\$ { return 200 '$c_rp'; }
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
