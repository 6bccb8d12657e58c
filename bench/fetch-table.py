#!/usr/bin/env python3
"""Print bench/fetch's results table (markdown) from its TSV: per concurrency,
jobs/s, peak RSS, Redis round trips and CPU per job as median (min-max) over
the rounds; then the ingest leg and the drain/accept ratio."""
import csv
import statistics
import sys


def fmt(vals, digits=0):
    """median (min-max) of vals."""
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (statistics.median(vals), min(vals), max(vals))


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    fetch = [r for r in rows if r["kind"] == "fetch"]
    ingest = [float(r["jobs"]) for r in rows if r["kind"] == "ingest"]
    by = {}
    for r in fetch:
        by.setdefault(r["conc"], []).append(r)

    def order(spec):
        """1 16 64 256, then the PxC legs (P fetchers at concurrency C)."""
        p, _, c = spec.rpartition("x")
        return (int(p or 1), int(c))
    print("| concurrency (per fetcher) | jobs/s median (min-max) | peak RSS MB | Redis round trips/job "
          "| CPU us/job: all = fetcher + Redis + API |")
    print("|---|---|---|---|---|")
    med = {}
    for c in sorted(by, key=order):
        rs = by[c]
        jps = [int(r["jobs"]) * 1e9 / int(r["ns"]) for r in rs]
        rss = [int(r["rss_kb"]) / 1024 for r in rs]
        rt = [int(r["roundtrips"]) / int(r["jobs"]) for r in rs]
        parts = [[int(r[k]) / int(r["jobs"]) for r in rs]
                 for k in ("cpu_fetcher_us", "cpu_redis_us", "cpu_api_us")]
        cpu = [a + b + c_ for a, b, c_ in zip(*parts)]
        med[c] = statistics.median(jps)
        name = c if "x" not in c else "%s fetchers x %s" % tuple(c.split("x"))
        print("| %s | %s | %s | %s | %s = %d + %d + %d |" % (
            name, fmt(jps), fmt(rss, 1), fmt(rt, 2), fmt(cpu),
            statistics.median(parts[0]), statistics.median(parts[1]),
            statistics.median(parts[2])))
    if ingest:
        print("| ingest | payhook-fcgi, bench/ingest leg C, 64 connections: "
              "%s notifications/s | | | |" % fmt(ingest))
    print()
    if ingest:
        ing = statistics.median(ingest)
        print("- drain / accept (medians): " + ", ".join(
            ("%s in flight %.2f" if "x" not in c else "%s fetchers x %s in flight %.2f")
            % (tuple(c.split("x")) + (med[c] / ing,)) for c in sorted(med, key=order)))
    if "256" in by:
        print("- peak RSS at 256 in flight: %.1f MB (max of %d legs)"
              % (max(int(r["rss_kb"]) for r in by["256"]) / 1024, len(by["256"])))
    bad = [r for r in fetch if int(r["stored"]) != int(r["jobs"]) or int(r["dead"]) != 0]
    print("- legs with every job stored and none dead: %d of %d" % (len(fetch) - len(bad), len(fetch)))


if __name__ == "__main__":
    main(sys.argv[1])
