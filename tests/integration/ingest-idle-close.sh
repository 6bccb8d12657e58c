#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# A kept FastCGI connection that payhook-fcgi closes at idle_timeout_ms can
# meet a request the web server already sent on it. The provider must not see
# that: nginx (fastcgi_next_upstream error non_idempotent) and Apache
# (mod_proxy_fcgi's pool) try the POST again on a new connection, and every
# notification is answered 200 and queued once. Requests are paced around the
# idle timeout (10 ms) so that many of them race the close; without the retry
# nginx answered about 1 in 100 with 503. Pacing is load, not synchronization.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/scripts/lib-apache.sh"
SEED=${PH_SEED:-$RANDOM}
N=${PH_IDLE_N:-200}
echo "# seed $SEED, $N requests a server"

# paced BASE PREFIX: N POSTs, each on a new client connection, 8..14 ms apart;
# prints the count of each status.
paced() {
	python3 - "$1" "$2" "$SEED" "$N" <<'PY'
import sys, time, random, http.client, urllib.parse
base, prefix, seed, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlparse(base)
random.seed(seed)
codes = {}
deadline = time.monotonic() + 60
for i in range(n):
    if time.monotonic() > deadline:
        break
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=8)
    body = '{"id":"%s%d","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"po_%s%d"}' % (prefix, i, prefix, i)
    try:
        c.request("POST", "/webhooks/oneinfinite", body, {"content-type": "application/json"})
        r = c.getresponse()
        r.read()
        codes[r.status] = codes.get(r.status, 0) + 1
    except OSError as e:
        codes["error"] = codes.get("error", 0) + 1
    c.close()
    time.sleep(random.uniform(0.008, 0.014))
print(" ".join("%s=%d" % (k, codes[k]) for k in sorted(codes, key=str)))
PY
}

cat >"$T/extra.conf" <<'CONF'
[handler]
threads = 2
idle_timeout_ms = 10
CONF
PH_CONF_EXTRA=$T/extra.conf ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
is "$(paced "$BASE" n)" "200=$N" "nginx: $N POSTs racing the idle close are all answered 200"
is "$(rcli llen payhook:queue)" "$N" "nginx: each is queued once"

# The same through Apache (mod_proxy_fcgi) to the same payhook-fcgi.
if command -v apache2 >/dev/null; then
	AHTTP=$(ph_free_port)
	chmod 0711 "$T" # Apache's user reaches the handler's socket in $T
	if ph_start_apache "$T" "$AHTTP" proxy; then
		is "$(paced "http://127.0.0.1:$AHTTP" a)" "200=$N" "Apache: $N POSTs racing the idle close are all answered 200"
		is "$(rcli llen payhook:queue)" "$((2 * N))" "Apache: each is queued once"
	else
		tap_ok 1 "Apache up"
	fi
else
	tap_ok 1 "apache2 is installed (scripts/deps installs it)"
fi
tap_done
