#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Load and checks of tests/integration/chaos.sh.

usage: chaos.py post BASE N SECS SEED CLIENTS OUT STOP
       chaos.py check REDIS_PORT ANSWERS OUTDIR

post: N notifications, drawn from SEED, through nginx at BASE by CLIENTS
threads (each with one kept HTTP/1.1 connection), paced over SECS seconds,
until the file STOP exists or SECS * 3 + 30 seconds pass. Of every 100, about:
82 OneInfinite with a new id ch-N and its own entity po_ch-N; 9 with a new id
and an entity of a pool of 40 (po_sh-K: the second of them is covered by the
first one's job); 6 exact repeats of an earlier OneInfinite notification; 3
Cielo ChangeType 1 for one of 16 PaymentIds. A 503 or a failed connection is
sent again, as a provider would: at most 3 tries, 0.2-0.5 s apart. One line
per try to OUT: "index try provider id entity_type entity_id status spooled
verdict" (id "-" for Cielo; status 0 for a failed connection; verdict the
body's status or error, "-" when none).

check: reads ANSWERS and Redis (payhook:queue, seen, pending and dead keys)
and writes one file per check to OUTDIR, its first line a count, its second
the first 30 offenders (and "+N more"): lost_seen, lost_job, no_pending,
dup_id, dup_entity, dead, bad_status; and "summary", one line of counts.
"""
import http.client
import json
import os
import random
import socket
import sys
import threading
import time

PREFIX = "payhook:"
SEEN = PREFIX + "seen:oneinfinite:"
ETYPE = "payment_order"


def guid(k):
    return "0c7a9e00-5b1d-4f2a-9c3e-%012d" % k


def notifications(n, seed):
    """The notifications of a run: (provider, id, entity type, entity id, body)."""
    rng = random.Random(seed)
    out, oi = [], []
    for i in range(n):
        r = rng.random()
        if r < 0.03:
            g = guid(rng.randrange(16))
            out.append(("cielo", "-", "sale", g, '{"PaymentId":"%s","ChangeType":1}' % g))
            continue
        if r < 0.09 and oi:
            out.append(oi[rng.randrange(max(0, len(oi) - 300), len(oi))])
            continue
        nid = "ch-%d" % i
        ent = "po_sh-%d" % rng.randrange(40) if r < 0.18 else "po_" + nid
        body = '{"id":"%s","event_type":"PAYMENT_ORDER.OPENED","entity_id":"%s"}' % (nid, ent)
        out.append(("oneinfinite", nid, ETYPE, ent, body))
        oi.append(out[-1])
    return out


def post(base, n, secs, seed, clients, outpath, stop):
    host, port = base.split("//", 1)[1].split(":")
    notes = notifications(n, seed)
    lock = threading.Lock()
    state = {"next": 0}
    start = time.time()
    hard = start + secs * 3 + 30
    lines = []

    def one(conn, prov, body):
        """One try: (conn, status, spooled, verdict)."""
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, int(port), timeout=15)
            conn.request("POST", "/webhooks/" + prov, body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            spooled = 1 if r.getheader("X-Payhook-Spooled") == "1" else 0
            try:
                j = json.loads(data)
                verdict = j.get("status") or j.get("error") or "-"
            except ValueError:
                verdict = "-"
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
            return conn, r.status, spooled, verdict
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            return None, 0, 0, "-"

    def worker():
        conn = None
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= n or time.time() > hard or os.path.exists(stop):
                break
            due = start + i * secs / n
            if due > time.time():
                time.sleep(due - time.time())
            prov, nid, et, eid, body = notes[i]
            for t in range(1, 4):
                conn, status, spooled, verdict = one(conn, prov, body)
                with lock:
                    lines.append("%d %d %s %s %s %s %d %d %s\n" %
                                 (i, t, prov, nid, et, eid, status, spooled, verdict))
                if status not in (0, 503) or time.time() > hard:
                    break
                time.sleep(0.2 + random.random() * 0.3)
        if conn is not None:
            conn.close()

    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(outpath, "w") as f:
        f.writelines(lines)


class Redis:
    """Just enough RESP for the checks: pipelined commands, replies in order."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def pipeline(self, cmds):
        out = []
        for k in range(0, len(cmds), 1000):
            chunk = cmds[k:k + 1000]
            buf = []
            for c in chunk:
                buf.append(b"*%d\r\n" % len(c))
                for a in c:
                    a = str(a).encode()
                    buf.append(b"$%d\r\n%s\r\n" % (len(a), a))
            self.s.sendall(b"".join(buf))
            out.extend(self.reply() for _ in chunk)
        return out

    def reply(self):
        line = self.f.readline()
        if not line:
            raise OSError("Redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise OSError("unexpected reply %r" % line)


def listing(items):
    items = sorted(items)
    s = " ".join(items[:30])
    if len(items) > 30:
        s += " +%d more" % (len(items) - 30)
    return s


def check(port, answers, outdir):
    tries = [l.split() for l in open(answers)]
    final = {}  # index -> the notification and whether any try got a 200
    status = {}
    spooled = 0
    for t in tries:
        i, _, prov, nid, et, eid, st, sp, verdict = t
        st = int(st)
        status[st] = status.get(st, 0) + 1
        spooled += int(sp) if st == 200 else 0
        ok = final.get(i, (None, False))[1] or st == 200
        final[i] = ((prov, nid, et, eid, verdict if st == 200 else None), ok)
    acked = [v for v, ok in final.values() if ok]
    ids = sorted({v[1] for v in acked if v[0] == "oneinfinite"})
    ents = sorted({(v[0], v[2], v[3]) for v in acked})

    r = Redis(port)
    seen = r.pipeline([["EXISTS", SEEN + i] for i in ids])
    pend = r.pipeline([["EXISTS", "%spending:%s:%s:%s" % (PREFIX, p, et, e)] for p, et, e in ents])
    queue = r.pipeline([["LRANGE", PREFIX + "queue", 0, -1]])[0]
    dead = r.pipeline([["LRANGE", PREFIX + "dead", 0, -1]])[0]

    by_id, by_ent = {}, {}
    for job in queue:
        j = json.loads(job)
        e = (j["provider"], j["entity_type"], j["entity_id"])
        by_ent[e] = by_ent.get(e, 0) + 1
        if j["provider"] == "oneinfinite":
            by_id[j["notification_id"]] = by_id.get(j["notification_id"], 0) + 1
    # Which acknowledged ids the dead list names, to tell lost from dead-lettered.
    dead_ids = set()
    for d in dead:
        try:
            j = json.loads(d)
        except ValueError:
            continue
        nid = j.get("notification_id")
        if nid is None and "body" in j:
            try:
                nid = json.loads(j["body"]).get("id")
            except (ValueError, AttributeError):
                nid = None
        if nid:
            dead_ids.add(nid)

    lost_seen = [i for i, x in zip(ids, seen) if x != 1]
    res = {
        "lost_seen": [i + ("(dead)" if i in dead_ids else "") for i in lost_seen],
        "lost_job": ["%s:%s" % (p, e) for p, et, e in ents if (p, et, e) not in by_ent],
        "no_pending": ["%s:%s" % (p, e) for (p, et, e), x in zip(ents, pend)
                       if x != 1 and (p, et, e) in by_ent],
        "dup_id": ["%s(x%d)" % (i, c) for i, c in by_id.items() if c > 1],
        "dup_entity": ["%s:%s(x%d)" % (e[0], e[2], c) for e, c in by_ent.items() if c > 1],
        "dead": ["%s" % (d[:120].replace(" ", "_")) for d in dead],
        "bad_status": ["%s:%s:%s" % (t[0], t[1], t[6]) for t in tries
                       if int(t[6]) not in (0, 200, 503)],
    }
    for name, items in res.items():
        with open(os.path.join(outdir, name), "w") as f:
            f.write("%d\n%s\n" % (len(items), listing(items)))
    verdicts = {}
    for v, ok in final.values():
        if ok:
            verdicts[v[4]] = verdicts.get(v[4], 0) + 1
    with open(os.path.join(outdir, "summary"), "w") as f:
        f.write("notifications %d, tries %d; answered 200: %d (accepted %d, duplicate %d, "
                "%d tries spooled); tries answered 503: %d, failed connections: %d, other: %d; "
                "OneInfinite ids answered 200: %d, entities: %d; jobs queued: %d, dead: %d\n" % (
                    len(final), len(tries), len(acked), verdicts.get("accepted", 0),
                    verdicts.get("duplicate", 0), spooled, status.get(503, 0),
                    status.get(0, 0),
                    sum(c for s, c in status.items() if s not in (0, 200, 503)),
                    len(ids), len(ents), len(queue), len(dead)))


def main():
    a = sys.argv[1:]
    if a and a[0] == "post" and len(a) == 8:
        post(a[1], int(a[2]), float(a[3]), int(a[4]), int(a[5]), a[6], a[7])
    elif a and a[0] == "check" and len(a) == 4:
        check(int(a[1]), a[2], a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
