#!/usr/bin/python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Sign and post notifications as Mercado Pago and Stripe do, for tests.

Reads one request a line on stdin, a JSON object:
  {"name": "...", "provider": "mercadopago"|"stripe", "url": "http://.../webhooks/stripe",
   "secret": "...", "body": {...} or "raw text", "ts": unix seconds (default now),
   "ts_text": "..." (sent as is instead of ts), "query": "data.id=1&type=payment",
   "request_id": "...", "omit": ["x-signature"...], "extra_v1": true}
and prints one line a request: "name STATUS BODY".

Every Stripe-Signature made here is first checked with Stripe's own library
(Debian's python3-stripe: stripe.WebhookSignature.verify_header), so what
payhook is tested against is what Stripe sends, not only what we think it is.
Run by Debian's /usr/bin/python3, where python3-stripe is installed.
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

import stripe


def mp_headers(req, ts):
    """x-signature over the manifest id:{data.id};request-id:{x-request-id};ts:{ts};."""
    data_id = None
    for part in req.get("query", "").split("&"):
        if part.startswith("data.id="):
            data_id = part[len("data.id="):]
    manifest = ""
    if data_id:
        manifest += "id:%s;" % (data_id.lower() if data_id.isalnum() else data_id)
    rid = req.get("request_id")
    if "x-request-id" in req.get("omit", []):
        rid = None  # not sent, so not signed either
    if rid:
        manifest += "request-id:%s;" % rid
    manifest += "ts:%s;" % ts
    v1 = hmac.new(req["secret"].encode(), manifest.encode(), hashlib.sha256).hexdigest()
    h = {"x-signature": "ts=%s,v1=%s" % (ts, v1)}
    if rid:
        h["x-request-id"] = rid
    return h


def stripe_headers(req, ts, payload):
    """Stripe-Signature: t=...,v1=HMAC(secret text, "{t}.{body}")."""
    v1 = hmac.new(req["secret"].encode(), ("%s." % ts).encode() + payload,
                  hashlib.sha256).hexdigest()
    header = "t=%s,v1=%s" % (ts, v1)
    if req.get("extra_v1"):
        header = "t=%s,v1=%s,v1=%s" % (ts, "0" * 64, v1)
    # Stripe's library must accept it (no tolerance here: stale ones are made on purpose).
    stripe.WebhookSignature.verify_header(payload.decode(), header, req["secret"], None)
    return {"Stripe-Signature": header}


def send(req):
    body = req["body"]
    payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    ts = req.get("ts_text") or str(int(req.get("ts", time.time())))
    if req["provider"] == "mercadopago":
        headers = mp_headers(req, ts)
    else:
        headers = stripe_headers(req, ts, payload)
    for h in req.get("omit", []):
        headers.pop(h, None)
    headers["Content-Type"] = "application/json"
    url = req["url"] + ("?" + req["query"] if req.get("query") else "")
    r = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        status, body = send(req)
        print("%s %d %s" % (req["name"], status, body.strip()), flush=True)


if __name__ == "__main__":
    main()
