#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Print bench/fetch's results tables (markdown) from its TSV: per
concurrency and build (after, and before when PH_BENCH_BEFORE was given),
jobs/s, peak RSS, Redis round trips and requests and CPU per job as median
(min-max) over the rounds; at an API delay, jobs/s against Little's law
(concurrency / delay); then the ingest leg and the drain/accept ratio; then
the rate leg: the most GETs in any one second, per provider and for both."""
import csv
import statistics
import sys


def fmt(vals, digits=0):
    """median (min-max) of vals."""
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (statistics.median(vals), min(vals), max(vals))


def order(spec):
    """1 16 64 256, then the PxC legs (P fetchers at concurrency C)."""
    p, _, c = spec.rpartition("x")
    return (int(p or 1), int(c))


def border(b):
    """after before."""
    return 0 if b == "after" else 1


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    for r in rows:
        r.setdefault("build", "after")
        r["build"] = r.get("build") or "after"
    fetch = [r for r in rows if r["kind"] == "fetch"]
    rate = [r for r in rows if r["kind"] == "rate"]
    ingest = [float(r["jobs"]) for r in rows if r["kind"] == "ingest"]
    delay = int(fetch[0]["delay_ms"]) if fetch and fetch[0].get("delay_ms") else 0
    by = {}
    for r in fetch:
        by.setdefault((r["conc"], r["build"]), []).append(r)
    builds = sorted({b for _, b in by}, key=border)

    little = " | x Little (conc / %d ms)" % delay if delay > 0 else ""
    print("| concurrency (per fetcher) | build | jobs | jobs/s median (min-max)%s | peak RSS MB "
          "| Redis round trips/job | Redis requests/job "
          "| CPU us/job: all = fetcher + Redis + API |" % little)
    print("|---|---|---|---|---|---|---|---|" + ("---|" if delay > 0 else ""))
    med = {}
    for key in sorted(by, key=lambda k: (order(k[0]), border(k[1]))):
        c, b = key
        rs = by[key]
        # Jobs stored over the leg's time: a leg killed at PH_BENCH_LEG_SECS
        # counts what it stored by then (and is marked).
        jps = [int(r["stored"]) * 1e9 / int(r["ns"]) for r in rs]
        short = [r for r in rs if int(r["stored"]) != int(r["jobs"])]
        rss = [int(r["rss_kb"]) / 1024 for r in rs]
        # Per job stored (a killed leg's fetcher CPU and RSS are lost: GNU
        # time reports its timeout's).
        rd = [int(r["reads"]) / max(int(r["stored"]), 1) for r in rs]
        rq = [int(r["roundtrips"]) / max(int(r["stored"]), 1) for r in rs]
        parts = [[int(r[k]) / max(int(r["stored"]), 1) for r in rs]
                 for k in ("cpu_fetcher_us", "cpu_redis_us", "cpu_api_us")]
        cpu = [a + b_ + c_ for a, b_, c_ in zip(*parts)]
        med[key] = statistics.median(jps)
        name = c if "x" not in c else "%s fetchers x %s" % tuple(c.split("x"))
        if short:
            name += " (%d of %d legs did not store every job: %s)" % (
                len(short), len(rs), ", ".join("%s of %s stored in %.0f s" % (
                    r["stored"], r["jobs"], int(r["ns"]) / 1e9) for r in short))
        lit = ""
        if delay > 0:
            p, cc = order(c)
            lit = " | %s" % fmt([j / (p * cc * 1000.0 / delay) for j in jps], 2)
        print("| %s | %s | %s | %s%s | %s | %s | %s | %s = %d + %d + %d |" % (
            name, b, rs[0]["jobs"], fmt(jps), lit, fmt(rss, 1), fmt(rd, 2), fmt(rq, 2), fmt(cpu),
            statistics.median(parts[0]), statistics.median(parts[1]),
            statistics.median(parts[2])))
    if ingest:
        print("| ingest | payhook-fcgi (after), bench/ingest leg C, 64 connections: "
              "%s notifications/s |%s" % (fmt(ingest), " |" * (6 if delay > 0 else 5)))
    print()
    if ingest:
        ing = statistics.median(ingest)
        for b in builds:
            print("- drain / accept (medians), %s: " % b + ", ".join(
                ("%s in flight %.2f" if "x" not in c else "%s fetchers x %s in flight %.2f")
                % (tuple(c.split("x")) + (med[(c, b_)] / ing,))
                for c, b_ in sorted(med, key=lambda k: order(k[0])) if b_ == b))
    for c in ("256", "1024", "4096"):
        for b in builds:
            if (c, b) in by:
                print("- peak RSS at %s in flight, %s: %.1f MB (max of %d legs)"
                      % (c, b, max(int(r["rss_kb"]) for r in by[(c, b)]) / 1024, len(by[(c, b)])))
    bad = [r for r in fetch + rate
           if int(r["stored"]) != int(r["jobs"]) or int(r["dead"]) != 0]
    print("- legs with every job stored and none dead: %d of %d"
          % (len(fetch) + len(rate) - len(bad), len(fetch) + len(rate)))

    if rate:
        print()
        print("| rate leg | build | max_rps | jobs | total s | GETs | most GETs in one second, "
              "sliding: oneinfinite / cielo / both | fixed: oneinfinite / cielo / both "
              "| peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in sorted(rate, key=lambda r: (int(r["round"]), border(r["build"]))):
            g = [int(x) for x in r["gets"].split(",")]
            lim, oi, ci, both = g[0], g[1:4], g[4:7], g[7:10]
            print("| round %s, %s fetchers x %s | %s | %s | %s | %.2f | %d | %d / %d / %d "
                  "| %d / %d / %d | %.1f |" % (
                      r["round"], *r["conc"].split("x"), r["build"], lim or "none", r["jobs"],
                      int(r["ns"]) / 1e9, both[0], oi[1], ci[1], both[1], oi[2], ci[2], both[2],
                      int(r["rss_kb"]) / 1024))


if __name__ == "__main__":
    main(sys.argv[1])
