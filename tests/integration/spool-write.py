#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Write a payhook spool segment by hand, for the spool-* integration tests.

usage: spool-write.py OUT.seg < records.tsv
       spool-write.py --crc TEXT          (print the CRC-32C of TEXT, hex)

Each input line is tab-separated, its first field the kind:
  ok       RECEIVED_AT_MS  PROVIDER  BODY   a valid record
  corrupt  RECEIVED_AT_MS  PROVIDER  BODY   a record whose checksum does not match
                                            (one payload byte flipped after the CRC)
  garbage  TEXT                             TEXT's bytes as they are (no record)
  torn     LENGTH  PRESENT                  a header announcing LENGTH payload bytes,
                                            then only PRESENT bytes of them
BODY is the rest of the line (it may hold tabs). The segment is written to
OUT.seg.part and renamed to OUT.seg at the end, so a replayer watching the
directory never sees it half-written.

Record:  "PHS1" | payload length u32 LE | CRC-32C(length bytes + payload) u32 LE | payload
Payload: received_at ms u64 LE | provider name length u8 | name | raw body
"""
import os
import struct
import sys

CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    CRC_TABLE.append(_c)


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli, reflected 0x82F63B78), continuing from crc."""
    crc ^= 0xFFFFFFFF
    table = CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def record(received_at, provider, body, corrupt=False):
    name = provider.encode()
    payload = struct.pack("<QB", received_at, len(name)) + name + body
    length = struct.pack("<I", len(payload))
    crc = crc32c(payload, crc32c(length))
    if corrupt:
        payload = payload[:-1] + bytes([payload[-1] ^ 0x01])
    return b"PHS1" + length + struct.pack("<I", crc) + payload


def main(argv):
    if len(argv) == 3 and argv[1] == "--crc":
        print("%08x" % crc32c(argv[2].encode()))
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write(__doc__)
        return 2
    assert crc32c(b"123456789") == 0xE3069283
    out = argv[1]
    chunks = []
    for n, line in enumerate(sys.stdin.buffer, 1):
        line = line.rstrip(b"\n")
        if not line:
            continue
        kind, _, rest = line.partition(b"\t")
        if kind in (b"ok", b"corrupt"):
            ms, provider, body = rest.split(b"\t", 2)
            chunks.append(record(int(ms), provider.decode(), body, kind == b"corrupt"))
        elif kind == b"garbage":
            chunks.append(rest)
        elif kind == b"torn":
            length, present = (int(x) for x in rest.split(b"\t"))
            chunks.append(b"PHS1" + struct.pack("<II", length, 0) + b"t" * present)
        else:
            sys.stderr.write("spool-write.py: line %d: unknown kind %r\n" % (n, kind))
            return 2
    tmp = out + ".part"
    with open(tmp, "wb") as f:
        f.write(b"".join(chunks))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
