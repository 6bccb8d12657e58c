#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Mercado Pago and Stripe through nginx, payhook-fcgi, a fetcher and the
# provider API stand-in, on one stack (DESIGN.md: Signing providers):
#   signatures valid, wrong, stale, replayed, with a header missing, and made
#     with the old secret while rotating (both providers); the headers and the
#     query string they cover reach payhook-fcgi through nginx;
#   each entity type fetched from its route and stored; Stripe's snapshot and
#     thin events; duplicates; bad bodies 400; a status moving to final stops
#     the refresh; 401s counted in payhook_notifications_rejected_total.
# The Stripe signatures are checked by Stripe's own library before they are
# sent (signed-post.py).
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

/usr/bin/python3 -c 'import stripe' 2>/dev/null ||
	{ tap_ok 1 "python3-stripe installed (scripts/deps)"; tap_done; exit 1; }
standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "refresh_schedule = 1,1,2" "refresh_settled = 1,1" "refresh_max_age = 300"
printf '%s\n' "whsec_new_one whsec_old_one" >"$T/stripe.secret"
cat >>"$PH_CONF_EXTRA" <<CONF
[mercadopago]
api_base = $SI
access_token = mp-token
signing_secret = mp-new mp-old
[stripe]
api_base = $SI
secret_key = sk_test_standin
signing_secret_file = $T/stripe.secret
CONF
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
fetcher_start f1

# tracked P T ID: the entity is in payhook:refresh.
tracked() { [ -n "$(rcli zscore payhook:refresh "$1:$2:$3")" ]; }
not_tracked() { ! tracked "$@"; }

MP="$BASE/webhooks/mercadopago" ST="$BASE/webhooks/stripe"
NOW=$(date +%s)
OLD=$((NOW - 1000))

# mp NAME ID TYPE DATA_ID [extra JSON members]: a signed Mercado Pago request line.
mp() {
	echo "{\"name\":\"$1\",\"provider\":\"mercadopago\",\"url\":\"$MP\",\"secret\":\"mp-new\"," \
		"\"query\":\"data.id=$4&type=$3\",\"request_id\":\"req-$1\"," \
		"\"body\":{\"id\":$2,\"type\":\"$3\",\"action\":\"$3.updated\",\"live_mode\":false," \
		"\"date_created\":\"2026-01-01T00:00:00Z\",\"user_id\":1,\"api_version\":\"v1\"," \
		"\"data\":{\"id\":\"$4\"}}${5:+,$5}}"
}
# snap NAME EVT OBJECT ID [extra]: a signed Stripe snapshot event line.
snap() {
	echo "{\"name\":\"$1\",\"provider\":\"stripe\",\"url\":\"$ST\",\"secret\":\"whsec_new_one\"," \
		"\"body\":{\"id\":\"$2\",\"object\":\"event\",\"type\":\"$3.updated\",\"api_version\":" \
		"\"2024-06-20\",\"data\":{\"object\":{\"id\":\"$4\",\"object\":\"$3\"}}}${5:+,$5}}"
}

{
	mp mp_payment 1001 payment 5001
	mp mp_order 1002 merchant_order 5002
	mp mp_preapproval 1003 subscription_preapproval 2c93808472
	mp mp_authorized 1004 subscription_authorized_payment 6004
	mp mp_chargeback 1005 chargebacks 7005
	mp mp_final 1006 payment 5006
	mp mp_replay 1001 payment 5001
	mp mp_rotated 1007 payment 5007 '"secret":"mp-old"'
	mp mp_wrong 1008 payment 5008 '"secret":"mp-other"'
	mp mp_stale 1009 payment 5009 "\"ts\":$OLD"
	mp mp_nosig 1010 payment 5010 '"omit":["x-signature"]'
	mp mp_norid 1011 payment 5011 '"omit":["x-request-id"]'
	echo "{\"name\":\"mp_bad\",\"provider\":\"mercadopago\",\"url\":\"$MP\",\"secret\":\"mp-new\",\"query\":\"data.id=1&type=payment\",\"request_id\":\"r\",\"body\":\"{\\\"id\\\":1,\\\"type\\\":\\\"payment\\\"}\"}"
	snap st_pi evt_pi payment_intent pi_1
	snap st_ch evt_ch charge ch_1
	snap st_re evt_re refund re_1
	snap st_in evt_in invoice in_1
	snap st_sub evt_sub subscription sub_1
	snap st_dp evt_dp dispute dp_1
	snap st_cs evt_cs checkout.session cs_test_1
	snap st_final evt_final payment_intent pi_final
	snap st_replay evt_pi payment_intent pi_1
	snap st_rotated evt_rot charge ch_rot '"secret":"whsec_old_one","extra_v1":true'
	snap st_wrong evt_wrong charge ch_w '"secret":"whsec_other"'
	snap st_stale evt_stale charge ch_s "\"ts\":$OLD"
	snap st_nosig evt_nosig charge ch_n '"omit":["Stripe-Signature"]'
	echo "{\"name\":\"st_thin\",\"provider\":\"stripe\",\"url\":\"$ST\",\"secret\":\"whsec_new_one\",\"body\":{\"id\":\"evt_thin\",\"object\":\"v2.core.event\",\"type\":\"v1.payment_intent.succeeded\",\"created\":\"2026-01-01T00:00:00Z\",\"related_object\":{\"id\":\"pi_thin\",\"type\":\"payment_intent\",\"url\":\"/v1/payment_intents/pi_thin\"}}}"
	echo "{\"name\":\"st_badthin\",\"provider\":\"stripe\",\"url\":\"$ST\",\"secret\":\"whsec_new_one\",\"body\":{\"id\":\"evt_bt\",\"object\":\"v2.core.event\",\"type\":\"x\",\"related_object\":{\"id\":\"pi_x\",\"type\":\"payment_intent\",\"url\":\"https://evil.example/pi_x\"}}}"
	echo "{\"name\":\"st_noobj\",\"provider\":\"stripe\",\"url\":\"$ST\",\"secret\":\"whsec_new_one\",\"body\":{\"id\":\"evt_noobj\",\"object\":\"v2.core.event\",\"type\":\"v1.billing.meter.no_meter_found\",\"related_object\":null}}"
	echo "{\"name\":\"st_bad\",\"provider\":\"stripe\",\"url\":\"$ST\",\"secret\":\"whsec_new_one\",\"body\":\"{not json\"}"
} >"$T/requests.jsonl"

si_post set '{"path":"/v1/payments/5006","body":{"id":5006,"status":"pending"}}'
si_post set '{"path":"/v1/payment_intents/pi_final","body":{"id":"pi_final","object":"payment_intent","status":"processing"}}'

/usr/bin/python3 "$PH_TOP/tests/integration/signed-post.py" <"$T/requests.jsonl" >"$T/answers" 2>"$T/signed-post.log"
tap_ok $? "every request signed (Stripe's library agreed) and answered"
ans() { sed -n "s/^$1 //p" "$T/answers"; }
ACC='200 {"status":"accepted"}' DUP='200 {"status":"duplicate"}' UNAUTH='401 {"error":"unauthorized"}'

for n in mp_payment mp_order mp_preapproval mp_authorized mp_chargeback mp_final mp_rotated mp_norid; do
	is "$(ans $n)" "$ACC" "mercadopago $n: 200"
done
is "$(ans mp_replay)" "$DUP" "mercadopago: the same notification again: duplicate"
is "$(ans mp_wrong)" "$UNAUTH" "mercadopago: wrong secret: 401"
is "$(ans mp_stale)" "$UNAUTH" "mercadopago: stale ts: 401"
is "$(ans mp_nosig)" "$UNAUTH" "mercadopago: no x-signature: 401"
like "$(ans mp_bad)" '^400 .*missing field: data' "mercadopago: a bad body, signed: 400"
for n in st_pi st_ch st_re st_in st_sub st_dp st_cs st_final st_rotated st_thin st_noobj; do
	is "$(ans $n)" "$ACC" "stripe $n: 200"
done
is "$(ans st_replay)" "$DUP" "stripe: the same event again: duplicate"
is "$(ans st_wrong)" "$UNAUTH" "stripe: wrong secret: 401"
is "$(ans st_stale)" "$UNAUTH" "stripe: stale t: 401"
is "$(ans st_nosig)" "$UNAUTH" "stripe: no Stripe-Signature: 401"
like "$(ans st_badthin)" '^400 .*related_object.url' "stripe: a thin event pointing elsewhere: 400"
like "$(ans st_bad)" '^400 .*not JSON' "stripe: a body that is not JSON, signed: 400"

# Each entity type fetched from its route with the provider's credentials, and stored.
all_stored() {
	local e
	for e in "$@"; do stored ${e//\// } || return 1; done
}
MP_E="mercadopago/payment/5001 mercadopago/merchant_order/5002 mercadopago/subscription_preapproval/2c93808472 mercadopago/subscription_authorized_payment/6004 mercadopago/chargebacks/7005 mercadopago/payment/5007 mercadopago/payment/5011"
ST_E="stripe/payment_intent/pi_1 stripe/charge/ch_1 stripe/refund/re_1 stripe/invoice/in_1 stripe/subscription/sub_1 stripe/dispute/dp_1 stripe/checkout_session/cs_test_1 stripe/charge/ch_rot stripe/payment_intent/pi_thin"
PH_WAIT=20 ph_wait_for all_stored $MP_E $ST_E
tap_ok $? "every entity type of both providers fetched and stored"
is "$(ehget stripe checkout_session cs_test_1 status)" open "checkout.session stored as checkout_session, status read"
is "$(ehget mercadopago payment 5001 status)" pending "a Mercado Pago payment's status read"
is "$(si_log | grep -c '"path": "/v1/payment_intents/pi_thin"' | awk '{print ($1 > 0)}')" 1 \
	"the thin event fetched its related_object.url"
is "$(si_log | grep '"path": "/v1/charges/ch_1"' | grep -c 'Bearer sk_test_standin' | awk '{print ($1 > 0)}')" 1 \
	"Stripe fetched with its secret key as Bearer"
for e in 5008 5009 5010; do stored mercadopago payment $e && echo "# refused $e was stored"; done
tap_ok "$(! stored stripe charge ch_w && ! stored stripe charge ch_s && ! stored mercadopago payment 5008; echo $?)" \
	"nothing refused was queued or stored"

# A status moving to final stops the refresh.
PH_WAIT=20 ph_wait_for tracked mercadopago payment 5006
tap_ok $? "a pending payment is refreshed"
PH_WAIT=20 ph_wait_for tracked stripe payment_intent pi_final
si_post set '{"path":"/v1/payments/5006","body":{"id":5006,"status":"rejected"}}'
si_post set '{"path":"/v1/payment_intents/pi_final","body":{"id":"pi_final","object":"payment_intent","status":"canceled"}}'
PH_WAIT=20 ph_wait_for not_tracked mercadopago payment 5006
tap_ok $? "mercadopago: rejected is final: no more refreshes"
is "$(ehget mercadopago payment 5006 refresh_class)" final "mercadopago: class final"
PH_WAIT=20 ph_wait_for not_tracked stripe payment_intent pi_final
tap_ok $? "stripe: canceled is final: no more refreshes"
is "$(ehget stripe payment_intent pi_final refresh_class)" final "stripe: class final"

# 401s by reason on /metrics (counted in payhook-fcgi, flushed each second).
metric() { curl -sf "$BASE/metrics" | grep -F "payhook_notifications_rejected_total{provider=\"$1\",reason=\"$2\"}" | awk '{print $2}'; }
counted() { [ "$(metric mercadopago signature)" = 1 ] && [ "$(metric stripe header)" = 1 ] &&
	[ "$(metric stripe timestamp)" = 1 ]; }
PH_WAIT=10 ph_wait_for counted
tap_ok $? "401s counted by provider and reason"
is "$(metric mercadopago timestamp) $(metric mercadopago header) $(metric stripe signature)" "1 1 1" \
	"each refused request counted once"
tap_ok "$(! grep -qE 'mp-new|mp-old|whsec_' "$T/handler.log"; echo $?)" "no secret in the log"
like "$(grep -c 'status=401 reason=' "$T/handler.log")" '^6$' "each 401 logged with its reason"
tap_done
