#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""POST notifications concurrently, for the fault tests.

usage: post-many.py BASE [-c CONCURRENCY] [--interval S] [--timeout S] [--deadline S]
                    [--pause REDIS_PORT:MS] [--first-alone PROXY_CONTROL_PORT] < lines > answers

Each input line is "PROVIDER KEY BODY" (BODY is the rest of the line); it is
POSTed to BASE/webhooks/PROVIDER by one of CONCURRENCY client threads (0,
the default: one thread per line, all at once), each waiting --interval
seconds before each post. Each output line, in input
order, is "KEY STATUS SPOOLED BODY": STATUS 0 when no answer came (refused,
timed out) or when --deadline seconds passed before it was sent; SPOOLED 1
when the answer had X-Payhook-Spooled: 1.

--pause: send CLIENT PAUSE MS WRITE to the Redis on that port first (here, so
that the time python takes to start does not count).
--first-alone: the first line is posted alone, and the others only once the
RESP proxy (tests/standin/resp-proxy.py) on that control port has seen one
more EVALSHA than before it (the first call is with Redis: held there by
CLIENT PAUSE, the others pile up behind it into one group-commit batch).
"""
import argparse
import queue
import socket
import sys
import threading
import time
import urllib.error
import urllib.request


def proxy_sent(port, cmd="EVALSHA"):
    """How many CMD the proxy has seen."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"stats\n")
    for w in s.makefile().readline().split():
        if w.startswith("sent.%s=" % cmd):
            return int(w.split("=")[1])
    return 0


def pause_redis(spec):
    """CLIENT PAUSE MS WRITE to the Redis on 127.0.0.1:PORT (spec "PORT:MS")."""
    port, ms = spec.split(":")
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.sendall(b"CLIENT PAUSE %d WRITE\r\n" % int(ms))
    ans = s.makefile("rb").readline()
    if not ans.startswith(b"+OK"):
        sys.exit("post-many.py: CLIENT PAUSE: %r" % ans)
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("-c", "--concurrency", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--deadline", type=float, default=60)
    ap.add_argument("--first-alone", type=int, metavar="PROXY_CONTROL_PORT")
    ap.add_argument("--pause", metavar="REDIS_PORT:MS")
    ap.add_argument("--interval", type=float, default=0, help="seconds each client waits between posts")
    a = ap.parse_args()
    lines = [l.rstrip("\n").split(" ", 2) for l in sys.stdin if l.strip()]
    out = ["%s 0 0 -" % (l[1] if len(l) > 1 else "?") for l in lines]
    end = time.monotonic() + a.deadline
    todo = queue.Queue()
    for i in range(len(lines)):
        todo.put(i)

    def worker():
        while time.monotonic() < end:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            prov, key, body = lines[i]
            if a.interval > 0:
                time.sleep(a.interval)  # pacing a load, not waiting for a condition
            req = urllib.request.Request(a.base + "/webhooks/" + prov, data=body.encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=a.timeout) as r:
                    spooled = r.headers.get("X-Payhook-Spooled") == "1"
                    out[i] = "%s %d %d %s" % (key, r.status, spooled, r.read().decode().strip())
            except urllib.error.HTTPError as e:
                out[i] = "%s %d 0 %s" % (key, e.code, e.read().decode().strip())
            except OSError as e:
                out[i] = "%s 0 0 %s" % (key, str(e).replace("\n", " "))

    n = a.concurrency if a.concurrency > 0 else len(lines)
    ts = []
    if a.pause:
        pause_redis(a.pause)
    if a.first_alone:
        before = proxy_sent(a.first_alone)
        ts.append(threading.Thread(target=worker))
        ts[0].start()
        while proxy_sent(a.first_alone) <= before and time.monotonic() < end:
            time.sleep(0.01)
        n -= 1
    ts += [threading.Thread(target=worker) for _ in range(max(n, 1))]
    for t in ts:
        if t.ident is None:  # the first one may run already
            t.start()
    for t in ts:
        t.join()
    print("\n".join(out))


if __name__ == "__main__":
    main()
