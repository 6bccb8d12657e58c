# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Kept FastCGI connections never starve payhook-fcgi: with ONE thread and two
# nginx workers that each keep a connection (more kept connections than
# threads), every request is still answered, because a thread gives up an
# idle kept connection after idle_timeout_ms. Without that bound, a request
# on the second worker waits for a thread that never frees (nginx times out).
. "$(dirname "$0")/lib.sh"

cat >"$T/extra.conf" <<'CONF'
[handler]
threads = 1
idle_timeout_ms = 200
CONF
PH_CONF_EXTRA=$T/extra.conf ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }

# Fresh client connections, so the kernel spreads them over both nginx workers.
codes=""
for i in $(seq 1 24); do
	codes+=$(curl -s -m 8 -o /dev/null -w '%{http_code}' -X POST \
		--data-binary "{\"id\":\"k$i\",\"event_type\":\"PAYMENT_ORDER.CLOSED\",\"entity_id\":\"po$i\"}" \
		"$BASE/webhooks/oneinfinite")" "
done
is "$codes" "$(printf '200 %.0s' $(seq 1 24))" "24 requests over 2 nginx workers, 1 handler thread: all 200"
is "$(rcli llen payhook:queue)" 24 "all 24 queued"
# And one more after the burst.
is "$(post "$BASE/webhooks/oneinfinite" '{"id":"after","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"poz"}' -m 8)" '200 {"status":"accepted"}' "a request after the kept connection was closed: 200"
tap_done
