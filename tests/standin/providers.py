#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Stand-in for the providers' APIs, for tests and `scripts/run --demo`.

Serves, on 127.0.0.1 only, the GET routes payhook-fetcher calls:
  OneInfinite  /v1/payment_orders/{id}, /v1/recurrent_payments/{id}
               (x-api-key, x-api-secret)
  Cielo        /1/sales/{id}, /1/RecurrentPayment/{id}
               (MerchantId, MerchantKey, RequestId as a GUID)
  Mercado Pago /v1/payments/{id}, /merchant_orders/{id}, /preapproval/{id},
               /authorized_payments/{id}, /v1/chargebacks/{id}
               (Authorization: Bearer --mp-token)
  Stripe       /v1/payment_intents/{id}, /v1/charges/{id}, /v1/refunds/{id},
               /v1/invoices/{id}, /v1/subscriptions/{id}, /v1/disputes/{id},
               /v1/checkout/sessions/{id} (Authorization: Bearer --stripe-key)
Wrong or missing credentials: 401. Each entity has a state (its JSON body);
an entity never set answers a default body, or 404 with --strict.

Tests drive it over its own routes (JSON in, JSON out):
  POST /_control/set      {"path": "/v1/payment_orders/po1", "body": {...} or "raw"}
                          {"path": ..., "delete": true} forgets it (then 404 / default)
  POST /_control/script   {"path": ..., "responses": [{"status": 503,
                          "retry_after": 1, "delay_ms": 200, "drop": false,
                          "times": 1, "body": "..."}]}: the next GETs of that
                          path answer these in turn ("times": -1 forever), then normal
  POST /_control/latency  {"min_ms": 0, "max_ms": 50}: random delay of every GET
  POST /_control/reset    forget states, scripts, latency and the log
  GET  /_control/state    {"path": body, ...}
  GET  /_control/log      [{"method","path","headers","status","client","start","t"}, ...]
                          (start: request read; t: answer sent)
  GET  /_control/log.jsonl the same, one JSON object a line
  GET  /_control/inflight entity GETs being answered right now
  GET  /_control/health   "ok"
The port is chosen by the kernel and written to --port-file when --port is 0.
"""

import argparse
import json
import os
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = [
    (re.compile(r"^/v1/payment_orders/([^/?]+)$"), "oneinfinite", "payment_order"),
    (re.compile(r"^/v1/recurrent_payments/([^/?]+)$"), "oneinfinite", "recurrent_payment"),
    (re.compile(r"^/1/sales/([^/?]+)$"), "cielo", "sale"),
    (re.compile(r"^/1/RecurrentPayment/([^/?]+)$"), "cielo", "recurrent_payment"),
    (re.compile(r"^/v1/payments/([^/?]+)$"), "mercadopago", "payment"),
    (re.compile(r"^/merchant_orders/([^/?]+)$"), "mercadopago", "merchant_order"),
    (re.compile(r"^/preapproval/([^/?]+)$"), "mercadopago", "subscription_preapproval"),
    (re.compile(r"^/authorized_payments/([^/?]+)$"), "mercadopago",
     "subscription_authorized_payment"),
    (re.compile(r"^/v1/chargebacks/([^/?]+)$"), "mercadopago", "chargebacks"),
    (re.compile(r"^/v1/payment_intents/([^/?]+)$"), "stripe", "payment_intent"),
    (re.compile(r"^/v1/charges/([^/?]+)$"), "stripe", "charge"),
    (re.compile(r"^/v1/refunds/([^/?]+)$"), "stripe", "refund"),
    (re.compile(r"^/v1/invoices/([^/?]+)$"), "stripe", "invoice"),
    (re.compile(r"^/v1/subscriptions/([^/?]+)$"), "stripe", "subscription"),
    (re.compile(r"^/v1/disputes/([^/?]+)$"), "stripe", "dispute"),
    (re.compile(r"^/v1/checkout/sessions/([^/?]+)$"), "stripe", "checkout_session"),
]
# The status a Mercado Pago or Stripe entity no test has set answers with.
DEFAULT_STATUS = {
    "payment": "pending", "merchant_order": "opened", "subscription_preapproval": "authorized",
    "subscription_authorized_payment": "scheduled", "chargebacks": None,
    "payment_intent": "processing", "charge": "pending", "refund": "pending", "invoice": "open",
    "subscription": "active", "dispute": "needs_response", "checkout_session": "open",
}
# Stripe's object names ("checkout.session"), by payhook's type.
STRIPE_OBJECT = {"checkout_session": "checkout.session"}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_LOG = 100000
MAX_CONTROL_BODY = 8 << 20


class State:
    """Everything tests can see or change, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.bodies = {}
        self.scripts = {}
        self.latency = (0, 0)
        self.log = []
        self.inflight = 0


STATE = State()
ARGS = None


def default_body(provider, kind, ident):
    """The body of an entity no test has set."""
    if provider in ("mercadopago", "stripe"):
        body = {"id": int(ident) if ident.isdigit() and provider == "mercadopago" else ident}
        if provider == "stripe":
            body["object"] = STRIPE_OBJECT.get(kind, kind)
        if DEFAULT_STATUS.get(kind):
            body["status"] = DEFAULT_STATUS[kind]
        return json.dumps(body, separators=(",", ":"))
    if provider == "oneinfinite":
        status = "OPENED" if kind == "payment_order" else "ACTIVE"
        return json.dumps({"id": ident, "status": status, "version": 0}, separators=(",", ":"))
    if kind == "sale":
        return json.dumps({"MerchantOrderId": "demo", "Payment": {"PaymentId": ident, "Status": 2}},
                          separators=(",", ":"))
    return json.dumps({"RecurrentPayment": {"RecurrentPaymentId": ident, "Status": 1}},
                      separators=(",", ":"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the fetcher reuses connections
    server_version = "payhook-standin/1"

    def log_message(self, fmt, *args):  # quiet; the request log is the record
        pass

    def reply(self, status, body, extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def record(self, status):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "status": status,
            "client": self.client_address[1],
            "start": getattr(self, "t_start", time.time()),
            "t": time.time(),
        }
        with STATE.lock:
            if len(STATE.log) < MAX_LOG:
                STATE.log.append(entry)

    def authorized(self, provider):
        h = self.headers
        if provider == "oneinfinite":
            return h.get("x-api-key") == ARGS.oi_key and h.get("x-api-secret") == ARGS.oi_secret
        if provider == "mercadopago":
            return h.get("Authorization") == "Bearer " + ARGS.mp_token
        if provider == "stripe":
            return h.get("Authorization") == "Bearer " + ARGS.stripe_key
        return (h.get("MerchantId") == ARGS.cielo_id and h.get("MerchantKey") == ARGS.cielo_key
                and GUID.match(h.get("RequestId") or "") is not None)

    def do_GET(self):
        self.t_start = time.time()
        if self.path.startswith("/_control/"):
            return self.control_get()
        for rx, provider, kind in ROUTES:
            m = rx.match(self.path)
            if m:
                return self.entity(provider, kind, m.group(1))
        self.record(404)
        self.reply(404, '{"error":"no such route"}')

    def entity(self, provider, kind, ident):
        with STATE.lock:
            STATE.inflight += 1
        try:
            self.entity_answer(provider, kind, ident)
        finally:
            with STATE.lock:
                STATE.inflight -= 1

    def entity_answer(self, provider, kind, ident):
        with STATE.lock:
            lo, hi = STATE.latency
            step = None
            queue = STATE.scripts.get(self.path)
            if queue:
                step = queue[0]
                times = step.get("times", 1)
                if times > 0:
                    step["times"] = times - 1
                    if times == 1:
                        queue.pop(0)
        delay = random.uniform(lo, hi) / 1000.0 if hi > 0 else 0
        if step is not None and step.get("delay_ms"):
            delay += step["delay_ms"] / 1000.0
        if delay > 0:
            time.sleep(delay)
        if step is not None and step.get("drop"):
            self.record(0)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if not self.authorized(provider):
            self.record(401)
            return self.reply(401, '{"error":"unauthorized"}')
        if step is not None and step.get("status"):
            extra = {}
            if "retry_after" in step:
                extra["Retry-After"] = str(step["retry_after"])
            status = int(step["status"])
            if 200 <= status < 300:
                # A scripted success still answers the entity's state.
                step = None
            else:
                self.record(status)
                return self.reply(status, step.get("body", '{"error":"scripted"}'), extra)
        # The state is read after the delay: what a slow API would answer.
        with STATE.lock:
            body = STATE.bodies.get(self.path)
        if body is None:
            if ARGS.strict:
                self.record(404)
                return self.reply(404, '{"error":"not found"}')
            body = default_body(provider, kind, ident)
        self.record(200)
        self.reply(200, body)

    def control_get(self):
        if self.path == "/_control/health":
            return self.reply(200, "ok")
        with STATE.lock:
            if self.path == "/_control/state":
                data = json.dumps(STATE.bodies)
            elif self.path == "/_control/log":
                data = json.dumps(STATE.log)
            elif self.path == "/_control/log.jsonl":
                data = "".join(json.dumps(e, sort_keys=True) + "\n" for e in STATE.log)
            elif self.path == "/_control/inflight":
                data = str(STATE.inflight)
            else:
                data = None
        if data is None:
            return self.reply(404, '{"error":"no such control"}')
        self.reply(200, data)

    def do_POST(self):
        if not self.path.startswith("/_control/"):
            self.record(405)
            return self.reply(405, '{"error":"method not allowed"}', {"Allow": "GET"})
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_CONTROL_BODY:
            return self.reply(413, '{"error":"too large"}')
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.reply(400, '{"error":"not json"}')
        with STATE.lock:
            if self.path == "/_control/set":
                items = req if isinstance(req, list) else [req]
                for it in items:
                    if it.get("delete"):
                        STATE.bodies.pop(it["path"], None)
                    else:
                        b = it["body"]
                        STATE.bodies[it["path"]] = b if isinstance(b, str) else json.dumps(
                            b, separators=(",", ":"))
            elif self.path == "/_control/script":
                STATE.scripts[req["path"]] = [dict(r) for r in req.get("responses", [])]
            elif self.path == "/_control/latency":
                STATE.latency = (float(req.get("min_ms", 0)), float(req.get("max_ms", 0)))
            elif self.path == "/_control/reset":
                STATE.reset()
            else:
                return self.reply(404, '{"error":"no such control"}')
        self.reply(200, '{"ok":true}')


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--oi-key", default="oi-key")
    ap.add_argument("--oi-secret", default="oi-secret")
    ap.add_argument("--cielo-id", default="cielo-merchant")
    ap.add_argument("--cielo-key", default="cielo-key")
    ap.add_argument("--mp-token", default="mp-token")
    ap.add_argument("--stripe-key", default="sk_test_standin")
    ap.add_argument("--strict", action="store_true", help="404 for entities never set")
    ARGS = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, ARGS.port_file)
    print("standin listening on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
