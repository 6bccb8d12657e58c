#!/usr/bin/python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Read payhook's events stream as one consumer of a consumer group.

payhook-fetcher appends an entry to the stream {prefix}events (default
payhook:events) each time an entity's snapshot changes, with the fields
provider, entity_type, entity_id, fetched_at and body. The latest snapshot
itself is the hash {prefix}entity:{provider}:{entity_type}:{entity_id}
(fields body, fetched_at, http_status, sha256, status, ...).

This example, for Debian's python3-redis:
  1. creates the group if absent (XGROUP CREATE ... MKSTREAM; BUSYGROUP is
     fine: another consumer made it first);
  2. handles again what this consumer read and did not acknowledge before
     it stopped (XREADGROUP ... 0);
  3. then, in a loop: claims the entries another consumer read and left
     unacknowledged for --min-idle-ms (XAUTOCLAIM: that consumer died), and
     reads new entries (XREADGROUP ... BLOCK ... COUNT ... >);
  4. handles each entry (prints it and reads the snapshot it names), then
     acknowledges it (XACK). An entry is delivered at least once: a crash
     between handling and XACK delivers it again, so the handler must be
     idempotent (see ../README.md).

Options come from flags, else from the environment, else the defaults:
  --url        PAYHOOK_REDIS_URL       redis://127.0.0.1:6379/0
  --prefix     PAYHOOK_REDIS_PREFIX    payhook:
  --group      PAYHOOK_CONSUMER_GROUP  merchant
  --consumer   PAYHOOK_CONSUMER_NAME   the host name
--once reads until no new entry came for --idle-ms, then exits 0 (tests,
batch jobs). SIGINT or SIGTERM: stop after the entry in hand, exit 0.
"""

import argparse
import os
import signal
import socket
import sys
import time

import redis


class Stop(Exception):
    """Raised by the signal handler to leave a blocking read at once."""


class Consumer:
    """One consumer of the group; counts what it handled."""

    def __init__(self, args):
        self.args = args
        self.r = redis.Redis.from_url(args.url, decode_responses=True,
                                      socket_connect_timeout=5)
        self.stream = args.prefix + "events"
        self.stopping = False
        self.blocking = False
        self.handled = 0
        self.claimed = 0

    def log(self, msg):
        """One key=value line on stderr."""
        print("consumer=%s %s" % (self.args.consumer, msg), file=sys.stderr, flush=True)

    def on_signal(self, signum, frame):
        """Stop after the entry in hand; a blocking read is abandoned at once."""
        self.stopping = True
        if self.blocking:
            # Nothing is in hand while blocked. Entries the server may have
            # delivered meanwhile stay pending under this consumer's name:
            # step 2 of the next start (or another consumer's XAUTOCLAIM)
            # handles them.
            raise Stop()

    def ensure_group(self):
        """Create the group (and the stream) unless it exists."""
        try:
            self.r.xgroup_create(self.stream, self.args.group, id=self.args.start_id,
                                 mkstream=True)
            self.log("event=group_created group=%s stream=%s start=%s"
                     % (self.args.group, self.stream, self.args.start_id))
        except redis.ResponseError as e:
            if not str(e).startswith("BUSYGROUP"):
                raise

    def snapshot_key(self, fields):
        """The key of the entity's latest snapshot, named by the event."""
        return "%sentity:%s:%s:%s" % (self.args.prefix, fields["provider"],
                                      fields["entity_type"], fields["entity_id"])

    def handle(self, entry_id, fields, claimed):
        """Handle one event: here, print it and the snapshot it points to.

        The event's body is the entity as fetched at fetched_at; the
        snapshot is the latest one, maybe newer (a later fetch). A real
        handler applies either idempotently, keyed by entity and sha256.
        """
        key = self.snapshot_key(fields)
        snap = self.r.hgetall(key)
        line = ("event id=%s provider=%s entity_type=%s entity_id=%s fetched_at=%s claimed=%s"
                % (entry_id, fields["provider"], fields["entity_type"], fields["entity_id"],
                   fields.get("fetched_at", ""), "yes" if claimed else "no"))
        if snap:
            newer = int(snap.get("fetched_at", "0")) > int(fields.get("fetched_at", "0"))
            line += (" snapshot=%s status=%s sha256=%s snapshot_fetched_at=%s newer=%s"
                     " body_bytes=%d"
                     % (key, snap.get("status", ""), snap.get("sha256", ""),
                        snap.get("fetched_at", ""), "yes" if newer else "no",
                        len(snap.get("body", "").encode())))
        else:
            line += " snapshot=%s missing=yes" % key
        print(line, flush=True)

    def process(self, entries, claimed=False):
        """Handle and acknowledge each entry, in order, unless stopping."""
        for entry_id, fields in entries:
            if self.stopping:
                return
            if not fields or "provider" not in fields:
                # Trimmed from the stream (MAXLEN) while pending, or not an
                # event: nothing to handle, but it must leave the pending list.
                self.log("event=skipped id=%s" % entry_id)
            else:
                try:
                    self.handle(entry_id, fields, claimed)
                except (redis.ConnectionError, redis.TimeoutError, Stop):
                    raise
                except Exception as e:
                    # Left unacknowledged: claimed again (by this consumer
                    # or another) once idle for min-idle-ms.
                    self.log("event=handler_error id=%s error=%r" % (entry_id, str(e)))
                    continue
                self.handled += 1
                self.claimed += 1 if claimed else 0
            self.r.xack(self.stream, self.args.group, entry_id)

    def own_pending(self):
        """Handle what this consumer read before and never acknowledged."""
        last = "0"
        while not self.stopping:
            rep = self.r.xreadgroup(self.args.group, self.args.consumer, {self.stream: last},
                                    count=self.args.count)
            entries = rep[0][1] if rep else []
            if not entries:
                return
            self.process(entries)
            last = entries[-1][0]

    def claim_dead(self):
        """Claim and handle entries left pending by a consumer idle for min-idle-ms."""
        cursor = "0-0"
        while not self.stopping:
            rep = self.r.xautoclaim(self.stream, self.args.group, self.args.consumer,
                                    self.args.min_idle_ms, start_id=cursor,
                                    count=self.args.count)
            cursor, entries = rep[0], rep[1]
            if entries:
                self.log("event=claimed count=%d" % len(entries))
                self.process(entries, claimed=True)
            if cursor == "0-0":
                return

    def read_new(self):
        """Wait up to the block time for new entries; [] when none came."""
        block = self.args.idle_ms if self.args.once else self.args.block_ms
        self.blocking = True
        try:
            if self.stopping:
                return []
            rep = self.r.xreadgroup(self.args.group, self.args.consumer, {self.stream: ">"},
                                    count=self.args.count, block=block)
        finally:
            self.blocking = False
        return rep[0][1] if rep else []

    def run(self):
        """Until stopped (or, with --once, until idle): claim, read, handle, ack."""
        self.ensure_group()
        self.own_pending()
        while not self.stopping:
            self.claim_dead()
            entries = self.read_new()
            if not entries:
                if self.args.once:
                    return
                continue
            self.process(entries)


def parse_args(argv):
    """Flags over environment over defaults."""
    env = os.environ.get

    def positive(s):
        v = int(s)
        if v < 1:
            raise argparse.ArgumentTypeError("must be 1 or more")
        return v

    def nonneg(s):
        v = int(s)
        if v < 0:
            raise argparse.ArgumentTypeError("must be 0 or more")
        return v

    p = argparse.ArgumentParser(description="Read payhook's events stream with a consumer group.")
    p.add_argument("--url", default=env("PAYHOOK_REDIS_URL", "redis://127.0.0.1:6379/0"),
                   help="Redis URL (env PAYHOOK_REDIS_URL)")
    p.add_argument("--prefix", default=env("PAYHOOK_REDIS_PREFIX", "payhook:"),
                   help="payhook's key prefix (env PAYHOOK_REDIS_PREFIX)")
    p.add_argument("--group", default=env("PAYHOOK_CONSUMER_GROUP", "merchant"),
                   help="consumer group (env PAYHOOK_CONSUMER_GROUP)")
    p.add_argument("--consumer", default=env("PAYHOOK_CONSUMER_NAME", socket.gethostname()),
                   help="this consumer's name, stable across restarts (env PAYHOOK_CONSUMER_NAME)")
    p.add_argument("--start-id", default="0",
                   help="where a new group starts: 0 (every event kept) or $ (new ones only)")
    p.add_argument("--count", type=positive, default=100, help="entries per read")
    p.add_argument("--block-ms", type=positive, default=5000, help="longest wait of one read")
    p.add_argument("--min-idle-ms", type=nonneg, default=60000,
                   help="claim another consumer's entry pending this long (XAUTOCLAIM)")
    p.add_argument("--once", action="store_true",
                   help="exit 0 once no new entry came for --idle-ms")
    p.add_argument("--idle-ms", type=positive, default=1000, help="with --once: how long is idle")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    c = Consumer(args)
    signal.signal(signal.SIGINT, c.on_signal)
    signal.signal(signal.SIGTERM, c.on_signal)
    rc = 0
    try:
        while True:
            try:
                c.run()
                break
            except (redis.ConnectionError, redis.TimeoutError) as e:
                # Redis restarting or failing over: try again, unless a test
                # or batch run (--once) wants to know.
                c.log("event=redis_error error=%r" % str(e))
                if args.once:
                    rc = 1
                    break
                c.blocking = True
                time.sleep(1)
                c.blocking = False
    except Stop:
        pass
    except redis.RedisError as e:
        c.log("event=error error=%r" % str(e))
        rc = 1
    finally:
        c.r.close()
    c.log("event=exit handled=%d claimed=%d signal=%s"
          % (c.handled, c.claimed, "yes" if c.stopping else "no"))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
