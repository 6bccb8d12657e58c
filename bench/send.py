#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""POST notifications to payhook (through nginx) over keep-alive connections,
bounded in count and time, and log every answer. Standard library only.

  send.py --base URL --count N [--secs S] [--threads K] [--rate R] [--tag T]
          [--mix plain|soak] [--log FILE] [--standin URL] [--doomed FILE]
          [--started FILE] [--seed S]

--mix plain: N OneInfinite notifications in the seed form (about 125 bytes,
  as bench/ingest sends), each with its own notification id and entity id.
--mix soak: valid notifications of every accepted shape (OneInfinite seed,
  payment_order_id and recurrent_payment_id forms; Cielo ChangeType 1 and 4,
  the latter naming two entities) over a pool of entities (so entities are
  announced more than once), exact resends of earlier ones (OneInfinite:
  duplicate; Cielo: accepted again, covered by the waiting job) and invalid
  ones (not JSON, missing field, bad id, the seed's placeholder GUIDs). With
  --standin, some entities are scripted on the API stand-in first: 401 for
  ever (they must end dead, "unauthorized") or 503 twice (retried, stored).

A 503 (Redis restarting) or a dropped connection is sent again, as a
provider would, up to 100 times 0.1 s apart; the last answer is logged.
--log gets one line per notification, tab-separated:
  kind status answer provider entities(type:id,...) notification_id
Prints a summary line: sent=N status_200=N status_400=N ... retried=N.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.request
import zlib

ATTEMPTS = 100


def guid(tag, n):
    """A GUID unique per tag and n."""
    h = zlib.crc32(tag.encode())
    return "%08x-%04x-4%03x-8%03x-%012x" % (h, (n >> 24) & 0xFFFF, (n >> 12) & 0xFFF, n & 0xFFF, n)


class Sender:
    """Shared state of the sending threads."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.next = 0
        self.counts = {}
        self.retried = 0
        self.log = open(args.log, "w") if args.log else None
        self.deadline = time.monotonic() + args.secs
        self.start = time.monotonic()
        self.pool = max(16, args.count // 4)
        self.sent_oi = []     # earlier valid OneInfinite bodies, for duplicates
        self.sent_cielo = []  # earlier valid Cielo bodies, for resends

    def take(self):
        """The index of the next notification, or None when done."""
        with self.lock:
            if self.next >= self.args.count or time.monotonic() >= self.deadline:
                return None
            i = self.next
            self.next += 1
        if self.args.rate > 0:
            due = self.start + i / self.args.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        return i

    def record(self, kind, status, answer, provider, ents, nid):
        with self.lock:
            self.counts[status] = self.counts.get(status, 0) + 1
            if self.log:
                self.log.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (
                    kind, status, answer, provider,
                    ",".join("%s:%s" % e for e in ents), nid))


def oi_body(nid, form, kind, eid):
    """A OneInfinite notification in one of its three forms."""
    if form == 0:
        return {"id": nid, "event_type": kind.upper() + ".CLOSED",
                "entity_type": kind.upper(), "entity_id": eid}
    if kind == "payment_order":
        return {"id": nid, "event_type": "PAYMENT_ORDER.CLOSED", "payment_order_id": eid}
    return {"id": nid, "event_type": "RECURRENT_PAYMENT.ACTIVE", "recurrent_payment_id": eid}


def make(s, i, rng):
    """The i-th notification: (kind, provider, body bytes, entities, notification id)."""
    a = s.args
    if a.mix == "plain":
        nid = "n%s-%08d" % (a.tag, i)
        body = ('{"id":"%s","event_type":"PAYMENT_ORDER.CLOSED",'
                '"entity_type":"PAYMENT_ORDER","entity_id":"po%s-%08d"}' % (nid, a.tag, i))
        return "valid", "oneinfinite", body.encode(), [("payment_order", "po%s-%08d" % (a.tag, i))], nid
    r = rng.random()
    if r < 0.15:
        with s.lock:
            pick = None
            if s.sent_oi and (not s.sent_cielo or rng.random() < 0.6):
                pick = ("oneinfinite", rng.choice(s.sent_oi))
            elif s.sent_cielo:
                pick = ("cielo", rng.choice(s.sent_cielo))
        if pick is not None:
            prov, (body, ents, nid) = pick
            return "resend", prov, body, ents, nid
    if r < 0.30:
        bad = rng.randrange(5)
        if bad == 0:
            return "invalid", "oneinfinite", b'{"id": "x", not json', [], "-"
        if bad == 1:
            return "invalid", "oneinfinite", json.dumps(
                {"id": "n%s-bad-%d" % (a.tag, i), "event_type": "PAYMENT_ORDER.CLOSED"}).encode(), [], "-"
        if bad == 2:
            return "invalid", "oneinfinite", json.dumps(
                {"id": "has space %d" % i, "event_type": "PAYMENT_ORDER.CLOSED",
                 "entity_type": "PAYMENT_ORDER", "entity_id": "po1"}).encode(), [], "-"
        if bad == 3:
            return "invalid", "cielo", json.dumps(
                {"PaymentId": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "ChangeType": 1}).encode(), [], "-"
        return "invalid", "cielo", json.dumps(
            {"PaymentId": guid(a.tag, i), "ChangeType": "one"}).encode(), [], "-"
    e = rng.randrange(s.pool)
    shape = rng.randrange(5)
    if shape < 3:
        # 0: seed form, either type; 1: payment_order_id form; 2: recurrent_payment_id form.
        if shape == 0:
            kind = "payment_order" if e % 2 == 0 else "recurrent_payment"
        else:
            kind = "payment_order" if shape == 1 else "recurrent_payment"
        eid = "%s-%s-%d" % (kind[:2], a.tag, e)
        nid = "n%s-%d" % (a.tag, i)
        body = json.dumps(oi_body(nid, shape, kind, eid), separators=(",", ":")).encode()
        ents = [(kind, eid)]
        with s.lock:
            if len(s.sent_oi) < 5000:
                s.sent_oi.append((body, ents, nid))
        return "valid", "oneinfinite", body, ents, nid
    sale = guid(a.tag + "s", e)
    if shape == 3:
        body = json.dumps({"PaymentId": sale, "ChangeType": 1}).encode()
        ents = [("sale", sale)]
    else:
        rec = guid(a.tag + "r", e)
        body = json.dumps({"RecurrentPaymentId": rec, "PaymentId": sale, "ChangeType": "4"}).encode()
        ents = [("sale", sale), ("recurrent_payment", rec)]
    with s.lock:
        if len(s.sent_cielo) < 5000:
            s.sent_cielo.append((body, ents, "-"))
    return "valid", "cielo", body, ents, "-"


def route(provider, kind, eid):
    """The API path of an entity."""
    if provider == "oneinfinite":
        return ("/v1/payment_orders/" if kind == "payment_order" else "/v1/recurrent_payments/") + eid
    return ("/1/sales/" if kind == "sale" else "/1/RecurrentPayment/") + eid


def script_standin(s):
    """Script some entities of the pool on the stand-in: 401 for ever, or 503 twice."""
    a = s.args
    doomed = []
    for e in range(s.pool):
        if e % 37 == 5:
            steps = [{"status": 401, "times": -1}]
        elif e % 41 == 7:
            steps = [{"status": 503, "times": 2}]
        else:
            continue
        paths = [route("oneinfinite", "payment_order", "pa-%s-%d" % (a.tag, e)),
                 route("oneinfinite", "recurrent_payment", "re-%s-%d" % (a.tag, e)),
                 route("cielo", "sale", guid(a.tag + "s", e)),
                 route("cielo", "recurrent_payment", guid(a.tag + "r", e))]
        for p in sorted(set(paths)):
            req = urllib.request.Request(a.standin + "/_control/script", method="POST",
                                         data=json.dumps({"path": p, "responses": steps}).encode())
            urllib.request.urlopen(req, timeout=5).read()
            if steps[0]["status"] == 401:
                doomed.append(p)
    return doomed


def post(conn_box, base_host, base_port, path, body):
    """POST once: (status, answer text), or (0, error) when the connection failed."""
    try:
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(base_host, base_port, timeout=10)
        c = conn_box[0]
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            conn_box[0] = None
        return r.status, data.decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        if conn_box[0] is not None:
            conn_box[0].close()
        conn_box[0] = None
        return 0, str(e)


def worker(s, tid, host, port):
    rng = random.Random(s.args.seed * 1000 + tid)
    box = [None]
    while True:
        i = s.take()
        if i is None:
            break
        kind, prov, body, ents, nid = make(s, i, rng)
        for attempt in range(ATTEMPTS):
            status, text = post(box, host, port, "/webhooks/" + prov, body)
            if status not in (0, 503):
                break
            with s.lock:
                s.retried += 1
            time.sleep(0.1)
        try:
            answer = json.loads(text).get("status") or json.loads(text).get("error") or "-"
        except ValueError:
            answer = "-"
        s.record(kind, status, answer, prov, ents, nid)
    if box[0] is not None:
        box[0].close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--secs", type=float, default=600)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0, help="notifications/s in all (0: as fast as it goes)")
    ap.add_argument("--tag", default="s")
    ap.add_argument("--mix", choices=("plain", "soak"), default="plain")
    ap.add_argument("--log")
    ap.add_argument("--standin")
    ap.add_argument("--doomed", help="file to write the paths scripted 401 for ever")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--started", help="file to write the epoch second the sending starts")
    a = ap.parse_args()
    if not (0 < a.count <= 10000000 and 0 < a.threads <= 64 and 0 < a.secs <= 86400):
        sys.exit("send.py: --count 1..10000000, --threads 1..64, --secs up to 86400")
    u = urllib.request.urlparse(a.base)
    if u.hostname != "127.0.0.1":
        sys.exit("send.py: loopback only (--base http://127.0.0.1:PORT)")
    s = Sender(a)
    if a.standin:
        doomed = script_standin(s)
        if a.doomed:
            with open(a.doomed, "w") as f:
                f.write("".join(p + "\n" for p in doomed))
        # The bounds count from the first notification, not from the scripting.
        s.start = time.monotonic()
        s.deadline = s.start + a.secs
    if a.started:
        with open(a.started + ".tmp", "w") as f:
            f.write("%d\n" % int(time.time()))
        os.rename(a.started + ".tmp", a.started)
    ts = [threading.Thread(target=worker, args=(s, t, u.hostname, u.port)) for t in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if s.log:
        s.log.close()
    took = time.monotonic() - s.start
    print("sent=%d secs=%.1f %s retried=%d" % (
        sum(s.counts.values()), took,
        " ".join("status_%s=%d" % (k, v) for k, v in sorted(s.counts.items())), s.retried))


if __name__ == "__main__":
    main()
