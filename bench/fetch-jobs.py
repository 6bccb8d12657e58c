#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Write Redis protocol (for `redis-cli --pipe`) that queues N fetch jobs as
payhook-fcgi's accept script leaves them: per job, the entity's pending
marker (SET {p}pending:{provider}:{type}:{id} {now} NX EX {pending_ttl}) and
the job (LPUSH {p}queue {job}), in lib/job.h's exact encoding. The jobs cycle
over the four routes: OneInfinite payment_order and recurrent_payment, Cielo
sale and recurrent_payment; every job names an entity of its own.

usage: fetch-jobs.py N TAG [PREFIX] [PENDING_TTL]
"""
import sys
import time
import zlib

ROUTES = (
    ("oneinfinite", "payment_order", "PAYMENT_ORDER.CLOSED"),
    ("oneinfinite", "recurrent_payment", "RECURRENT_PAYMENT.ACTIVE"),
    ("cielo", "sale", "1"),
    ("cielo", "recurrent_payment", "4"),
)


def resp(*args):
    """One command in the Redis protocol."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def guid(tag, kind, i):
    """A GUID (Cielo ids are GUIDs) unique per tag, kind and i."""
    h = zlib.crc32(tag.encode())
    return "%08x-%04x-4%03x-8%03x-%012x" % (h, kind, (i >> 12) & 0xFFF, i & 0xFFF, i)


def main():
    n = int(sys.argv[1])
    tag = sys.argv[2]
    prefix = sys.argv[3] if len(sys.argv) > 3 else "payhook:"
    ttl = sys.argv[4] if len(sys.argv) > 4 else "3600"
    if n < 0 or n > 10000000 or not tag.replace("-", "").isalnum():
        sys.exit("fetch-jobs.py: N in 0..10000000, TAG of [A-Za-z0-9-]")
    now = int(time.time() * 1000)
    w = sys.stdout.buffer
    for i in range(n):
        provider, kind, event = ROUTES[i % 4]
        if provider == "oneinfinite":
            eid = "%s-%s-%08d" % (kind[:2], tag, i)
            nid = "n-%s-%08d" % (tag, i)
        else:
            eid = guid(tag, i % 4, i)
            nid = guid(tag, 9, i)
        job = ('{"v":1,"provider":"%s","entity_type":"%s","entity_id":"%s",'
               '"notification_id":"%s","event":"%s","received_at":%d,"attempt":0}'
               % (provider, kind, eid, nid, event, now))
        w.write(resp("SET", "%spending:%s:%s:%s" % (prefix, provider, kind, eid), str(now),
                     "NX", "EX", ttl))
        w.write(resp("LPUSH", prefix + "queue", job))


if __name__ == "__main__":
    main()
