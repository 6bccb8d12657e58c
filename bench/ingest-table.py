#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Print bench/ingest's results table (markdown) from its TSV: per connection
count and leg, req/s, p50 and p99 as median (min-max) over the rounds, CPU per
request, and the C/B ratios."""
import csv
import statistics
import sys


def fmt(vals, scale=1.0, digits=0):
    """median (min-max) of vals / scale."""
    v = [x / scale for x in vals]
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (statistics.median(v), min(v), max(v))


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    by = {}
    for r in rows:
        by.setdefault((int(r["conns"]), r["leg"]), []).append(r)
    conns = sorted({k[0] for k in by})
    names = {"A": "A nginx return 200", "B": "B nginx -> trivial libfcgi",
             "C": "C nginx -> payhook-fcgi -> Redis",
             "P": "P nginx -> Node (fastify+ioredis) -> Redis"}
    print("| conns | leg | req/s median (min-max) | p50 ms | p99 ms "
          "| CPU us/req: all = nginx + responder + Redis |")
    print("|---|---|---|---|---|---|")
    med = {}
    for c in conns:
        for leg in "ABCP":
            rs = by.get((c, leg))
            if not rs:
                continue
            rps = [int(r["reqs"]) * 1e6 / int(r["secs"]) for r in rs]
            p50 = [int(r["p50_us"]) for r in rs]
            p99 = [int(r["p99_us"]) for r in rs]
            cpu = [int(r["cpu_us_per_req"]) for r in rs]
            split = " = %d + %d + %d" % tuple(statistics.median(int(r[k]) for r in rs)
                                           for k in ("cpu_nginx", "cpu_app", "cpu_redis"))
            med[(c, leg)] = (statistics.median(rps), statistics.median(p99))
            print("| %d | %s | %s | %s | %s | %s |" % (c, names[leg], fmt(rps),
                  fmt(p50, 1000, 2), fmt(p99, 1000, 2), fmt(cpu) + split))
    print()
    for c in conns:
        out = []
        for other in "BAP":
            if (c, "C") in med and (c, other) in med:
                out.append("C/%s req/s = %.2f" % (other, med[(c, "C")][0] / med[(c, other)][0]))
        for other in "BP":
            if (c, "C") in med and (c, other) in med:
                out.append("p99 C/%s = %.2f" % (other, med[(c, "C")][1] / med[(c, other)][1]))
        if out:
            print("- %d connections (medians): %s" % (c, ", ".join(out)))
    rss = [int(r["rss_kb"]) for r in rows if r["leg"] == "C" and r["rss_kb"] != "-"]
    if rss:
        print("- payhook-fcgi RSS after each C leg: %d-%d kB" % (min(rss), max(rss)))
    rss = [int(r["rss_kb"]) for r in rows if r["leg"] == "P" and r["rss_kb"] != "-"]
    if rss:
        print("- Node peer RSS after each P leg: %d-%d kB" % (min(rss), max(rss)))
    q = [(int(r["queued"]), int(r["accepted"]), int(r["reqs"]) - int(r["non2xx"]))
         for r in rows if r["leg"] == "C"]
    if q:
        print("- C legs: jobs queued == payhook's accepted counter in %d of %d legs; "
              "%d requests answered 200 in all, %d jobs queued"
              % (sum(1 for a, b, _ in q if a == b), len(q), sum(x[2] for x in q),
                 sum(x[0] for x in q)))


if __name__ == "__main__":
    main(sys.argv[1])
