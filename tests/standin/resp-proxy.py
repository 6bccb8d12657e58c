#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""A RESP proxy that cuts connections after a given reply, for the fault tests.

usage: resp-proxy.py --upstream HOST:PORT [--upstream HOST:PORT ...]
                     [--port N] [--control-port N] [--port-file FILE] [--log FILE]
                     [--cut CMD:K[:N]] [--failover] [--switch-after N] [--verbose]

It listens on 127.0.0.1:--port (0: any; both ports are written to
--port-file as "PORT CONTROL_PORT"), and forwards each client connection to
an upstream Redis: to the current upstream (the first one at start). It
parses the commands the client sends (multibulk or inline; hiredis pipelines,
so many come in one write) and the replies Redis sends, pairs them in order,
and forwards each reply whole.

The cut: armed with "CMD K N" (or --cut CMD:K:N), the first N connections
that forward the K-th reply to CMD, counting only commands received after
arming, are closed on both sides right after that reply is forwarded; nothing
after it reaches the client. Later connections pass through.
--switch-after N: the first N connections go to the first upstream, later
ones to the second (a failover between two connections). With
--failover (or "failover" on the control line), a cut also makes the next
upstream current and closes every other connection to the old one: a primary
lost and replaced by another.

Control: one line per TCP connection to the control port, answered with one
line:
  cut CMD K [N] [failover]   arm a cut (replaces one that is armed)   -> ok
  disarm                     -> ok
  route I                    new connections go to upstream I (0-based) -> ok
  switch-after N             connections after the next N go to the
                             next upstream                    -> ok
  stats                      -> conns=N open=N cuts=N armed=0|1 upstream=I
                                sent.CMD=N replies.CMD=N ... (commands seen)
  close-all                  close every open connection      -> ok closed=N
The log (--log, else stderr) has one line per connection, cut and failover
(--verbose: also the commands of every read from a client).
It runs until killed (SIGTERM, SIGINT). Python 3, stdlib only.
"""
import argparse
import collections
import os
import signal
import socket
import sys
import threading
import time

MAX_PENDING = 64 * 1024 * 1024  # bytes of one unfinished command or reply held
CHUNK = 65536


class Incomplete(Exception):
    pass


def resp_end(buf, pos):
    """The offset just after the RESP value at buf[pos:], or raise Incomplete."""
    if pos >= len(buf):
        raise Incomplete
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        raise Incomplete
    t = buf[pos:pos + 1]
    head = buf[pos + 1:nl]
    after = nl + 2
    if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return after
    if t in (b"$", b"=", b"!"):
        n = int(head)
        if n < 0:
            return after
        if len(buf) < after + n + 2:
            raise Incomplete
        return after + n + 2
    if t in (b"*", b"~", b">", b"%", b"|"):
        n = int(head)
        if n < 0:
            return after
        if t in (b"%", b"|"):
            n *= 2
        for _ in range(n):
            after = resp_end(buf, after)
        return after
    raise ValueError("not RESP: %r" % buf[pos:pos + 16])


def command_name(buf, pos):
    """(name, end) of the client command at buf[pos:]; raise Incomplete."""
    if buf[pos:pos + 1] != b"*":
        nl = buf.find(b"\n", pos)  # an inline command
        if nl < 0:
            raise Incomplete
        words = buf[pos:nl].split()
        return (words[0].upper().decode("latin-1") if words else ""), nl + 1
    end = resp_end(buf, pos)
    nl = buf.find(b"\r\n", pos)
    name = ""
    if int(buf[pos + 1:nl]) > 0 and buf[nl + 2:nl + 3] == b"$":
        nl2 = buf.find(b"\r\n", nl + 2)
        n = int(buf[nl + 3:nl2])
        name = buf[nl2 + 2:nl2 + 2 + n].upper().decode("latin-1")
    return name, end


class Proxy:
    def __init__(self, upstreams, log, verbose=False):
        self.verbose = verbose
        self.upstreams = upstreams
        self.current = 0
        self.log_file = log
        self.lock = threading.Lock()
        self.conns = {}  # id -> Conn
        self.nconns = 0
        self.cuts = 0
        self.arm = None  # (cmd, k, n, failover, generation)
        self.switch_at = 0  # connections after this one go to the next upstream (0: never)
        self.generation = 0
        self.sent = collections.Counter()
        self.replies = collections.Counter()

    def log(self, msg):
        line = "%.3f %s\n" % (time.time(), msg)
        with self.lock:
            self.log_file.write(line)
            self.log_file.flush()

    def set_cut(self, cmd, k, n, failover):
        with self.lock:
            self.generation += 1
            self.arm = (cmd.upper(), k, n, failover, self.generation) if n > 0 else None
        self.log("armed cut=%s k=%d n=%d failover=%d" % (cmd.upper(), k, n, failover))

    def route(self, i):
        with self.lock:
            self.current = i
        self.log("route upstream=%d %s:%d" % ((i,) + self.upstreams[i]))

    def close_all(self, upstream=None, but=None):
        with self.lock:
            victims = [c for c in self.conns.values()
                       if c is not but and (upstream is None or c.upstream == upstream)]
        for c in victims:
            c.close("closed by the proxy")
        return len(victims)

    def stats(self):
        with self.lock:
            words = ["conns=%d" % self.nconns, "open=%d" % len(self.conns),
                     "cuts=%d" % self.cuts, "armed=%d" % (self.arm is not None),
                     "upstream=%d" % self.current]
            words += ["sent.%s=%d" % kv for kv in sorted(self.sent.items())]
            words += ["replies.%s=%d" % kv for kv in sorted(self.replies.items())]
        return " ".join(words)

    def accept(self, client, addr):
        with self.lock:
            self.nconns += 1
            cid = self.nconns
            if self.switch_at and cid > self.switch_at:
                self.switch_at = 0
                self.current = min(self.current + 1, len(self.upstreams) - 1)
            up = self.current
        host, port = self.upstreams[up]
        try:
            server = socket.create_connection((host, port), timeout=5)
            server.settimeout(None)
            server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            self.log("conn=%d from=%s:%d upstream=%d connect failed: %s" % (cid, addr[0], addr[1], up, e))
            client.close()
            return
        c = Conn(self, cid, client, server, up)
        with self.lock:
            self.conns[cid] = c
        self.log("conn=%d from=%s:%d upstream=%d %s:%d" % (cid, addr[0], addr[1], up, host, port))
        threading.Thread(target=c.client_to_server, daemon=True).start()
        threading.Thread(target=c.server_to_client, daemon=True).start()


class Conn:
    def __init__(self, proxy, cid, client, server, upstream):
        self.p = proxy
        self.id = cid
        self.client = client
        self.server = server
        self.upstream = upstream
        self.lock = threading.Lock()
        self.pending = collections.deque()  # (name, generation) of commands without a reply yet
        self.count = 0  # replies to the armed command, of commands sent since arming
        self.replied = 0
        self.closed = False

    def close(self, why):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.p.lock:
            self.p.conns.pop(self.id, None)
        self.p.log("conn=%d closed replies=%d unanswered=%d: %s" % (self.id, self.replied, len(self.pending), why))

    def client_to_server(self):
        buf = b""
        try:
            while True:
                data = self.client.recv(CHUNK)
                if not data:
                    break
                buf += data
                pos = 0
                names = collections.Counter()
                with self.p.lock:
                    gen = self.p.generation if self.p.arm is not None else 0
                while True:
                    try:
                        name, end = command_name(buf, pos)
                    except Incomplete:
                        break
                    with self.lock:
                        self.pending.append((name, gen))
                    names[name] += 1
                    with self.p.lock:
                        self.p.sent[name] += 1
                    pos = end
                if self.p.verbose and names:
                    self.p.log("conn=%d sent %s" % (self.id, " ".join("%s=%d" % kv for kv in sorted(names.items()))))
                buf = buf[pos:]
                if len(buf) > MAX_PENDING:
                    raise ValueError("a command of more than %d bytes" % MAX_PENDING)
                # Recorded before forwarded: the reply cannot come first.
                self.server.sendall(data)
        except (OSError, ValueError) as e:
            self.close("client side: %s" % e)
            return
        self.close("client closed")

    def server_to_client(self):
        buf = b""
        try:
            while True:
                data = self.server.recv(CHUNK)
                if not data:
                    break
                buf += data
                pos = 0
                while True:
                    try:
                        end = resp_end(buf, pos)
                    except Incomplete:
                        break
                    cut = self.reply(buf[pos:end])
                    pos = end
                    if cut is not None:
                        self.do_cut(*cut)
                        return
                buf = buf[pos:]
                if len(buf) > MAX_PENDING:
                    raise ValueError("a reply of more than %d bytes" % MAX_PENDING)
        except (OSError, ValueError) as e:
            self.close("server side: %s" % e)
            return
        self.close("server closed")

    def reply(self, data):
        """Forward one reply; return (name, k, failover) when the connection is to be cut."""
        with self.lock:
            name, gen = self.pending.popleft() if self.pending else ("?", 0)
            self.replied += 1
        self.client.sendall(data)
        with self.p.lock:
            self.p.replies[name] += 1
            arm = self.p.arm
            if arm is None or name != arm[0] or gen != arm[4]:
                return None
            self.count += 1
            if self.count != arm[1]:
                return None
            cmd, k, n, failover, g = arm
            self.p.arm = (cmd, k, n - 1, failover, g) if n > 1 else None
            self.p.cuts += 1
            return name, k, failover

    def do_cut(self, name, k, failover):
        with self.lock:
            left = collections.Counter(n for n, _ in self.pending)
        self.p.log("cut conn=%d upstream=%d after reply %d to %s; unanswered %s" % (
            self.id, self.upstream, k, name,
            " ".join("%s=%d" % kv for kv in sorted(left.items())) or "none"))
        if failover:
            nxt = min(self.upstream + 1, len(self.p.upstreams) - 1)
            with self.p.lock:
                self.p.current = nxt
            self.p.log("failover upstream=%d -> %d" % (self.upstream, nxt))
            self.close("cut")
            n = self.p.close_all(upstream=self.upstream)
            self.p.log("failover closed %d more connections to upstream %d" % (n, self.upstream))
        else:
            self.close("cut")


def control(proxy, sock):
    while True:
        c, _ = sock.accept()
        try:
            c.settimeout(5)
            f = c.makefile("rwb")
            words = f.readline().decode().split()
            if words[:1] == ["cut"] and len(words) >= 3:
                n = int(words[3]) if len(words) > 3 else 1
                proxy.set_cut(words[1], int(words[2]), n, "failover" in words[4:])
                ans = "ok"
            elif words == ["disarm"]:
                proxy.set_cut("", 0, 0, False)
                ans = "ok"
            elif words[:1] == ["route"] and len(words) == 2 and 0 <= int(words[1]) < len(proxy.upstreams):
                proxy.route(int(words[1]))
                ans = "ok"
            elif words[:1] == ["switch-after"] and len(words) == 2:
                with proxy.lock:
                    proxy.switch_at = proxy.nconns + int(words[1])
                proxy.log("switch after connection %d" % proxy.switch_at)
                ans = "ok"
            elif words == ["stats"]:
                ans = proxy.stats()
            elif words == ["close-all"]:
                ans = "ok closed=%d" % proxy.close_all()
            else:
                ans = "error: unknown control line %r" % " ".join(words)
            f.write((ans + "\n").encode())
            f.flush()
        except (OSError, ValueError, IndexError) as e:
            proxy.log("control: %s" % e)
        finally:
            c.close()


def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", action="append", type=hostport, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--cut", help="CMD:K[:N]")
    ap.add_argument("--failover", action="store_true")
    ap.add_argument("--switch-after", type=int, default=0, metavar="N")
    ap.add_argument("--verbose", action="store_true", help="log the commands of every read")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    proxy = Proxy(a.upstream, open(a.log, "a") if a.log else sys.stderr, a.verbose)
    proxy.switch_at = a.switch_after
    if a.cut:
        parts = a.cut.split(":")
        proxy.set_cut(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 1, a.failover)
    listen = socket.create_server(("127.0.0.1", a.port), backlog=128)
    ctl = socket.create_server(("127.0.0.1", a.control_port))
    threading.Thread(target=control, args=(proxy, ctl), daemon=True).start()
    if a.port_file:
        with open(a.port_file + ".part", "w") as f:
            f.write("%d %d\n" % (listen.getsockname()[1], ctl.getsockname()[1]))
        os.rename(a.port_file + ".part", a.port_file)
    proxy.log("listening port=%d control=%d upstreams=%s" % (
        listen.getsockname()[1], ctl.getsockname()[1],
        ",".join("%s:%d" % u for u in a.upstream)))
    while True:
        client, addr = listen.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        proxy.accept(client, addr)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
