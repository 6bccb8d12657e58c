#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Print bench/deliver's table (Markdown) from its TSV: per leg the median
and min-max over the rounds, then the targets of issue 19.

usage: deliver-table.py RESULTS.tsv FETCH_CONCURRENCY
"""
import csv
import statistics
import sys


def rate(row):
    e = float(row["elapsed_s"])
    return int(row["done"]) / e if e > 0 else 0.0


def med_range(values, fmt):
    if not values:
        return "-"
    m = statistics.median(values)
    if len(values) == 1:
        return fmt % m
    return (fmt + " (" + fmt + "-" + fmt + ")") % (m, min(values), max(values))


def main():
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    fetch_conc = sys.argv[2]
    legs = []
    for r in rows:
        key = (r["kind"], int(r["delay_ms"]), int(r["conc"]))
        if key not in legs:
            legs.append(key)
    print()
    print("| leg | receiver | concurrency | per leg | per second, median (min-max) "
          "| steady, 10-90 % | VmHWM MB | CPU us per event: program / Redis / receiver (API) "
          "| Redis round trips / requests per event | checks |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, delay, conc in legs:
        rs = [r for r in rows if (r["kind"], int(r["delay_ms"]), int(r["conc"])) == (kind, delay, conc)]
        n = int(rs[0]["n"])
        prog = [(float(r["user_s"]) + float(r["sys_s"])) * 1e6 / int(r["n"]) for r in rs]
        red = [int(r["cpu_redis_us"]) / int(r["n"]) for r in rs]
        peer = [int(r["cpu_peer_us"]) / int(r["n"]) for r in rs]
        hwm = [int(r["vmhwm_kb"]) / 1024 for r in rs]
        ok = sum(1 for r in rs if r["ok"] == "1")
        what = "fetch (one payhook-fetcher)" if kind == "fetch" else "deliver (one payhook-deliver)"
        recv = "providers' stand-in, at once" if kind == "fetch" else (
            "at once (204)" if delay == 0 else "after %d ms" % delay)
        steady = [int(r["steady_per_s"]) for r in rs if int(r["steady_per_s"]) > 0]
        rt = [int(r["roundtrips"]) / int(r["n"]) for r in rs]
        rq = [int(r["requests"]) / int(r["n"]) for r in rs]
        print("| %s | %s | %d | %d %s | %s | %s | %s | %.0f / %.0f / %.0f | %s | %d of %d ok |" % (
            what, recv, conc, n, "jobs" if kind == "fetch" else "events",
            med_range([rate(r) for r in rs], "%.0f"), med_range(steady, "%.0f"),
            med_range(hwm, "%.1f"), statistics.median(prog), statistics.median(red),
            statistics.median(peer),
            "-" if kind == "fetch" else "%.2f / %.2f" % (statistics.median(rt), statistics.median(rq)),
            ok, len(rs)))
    print()
    # deliver/fetch at once, per round, the deliverer at the fetcher's concurrency.
    fetch = {r["round"]: rate(r) for r in rows if r["kind"] == "fetch"}
    fast = [r for r in rows if r["kind"] == "deliver" and r["delay_ms"] == "0"]
    same = [r for r in fast if r["conc"] == fetch_conc] or fast
    if fetch and same:
        c = same[0]["conc"]
        ratios = [rate(r) / fetch[r["round"]] for r in same if r["conc"] == c and r["round"] in fetch
                  and fetch[r["round"]] > 0]
        if ratios:
            print("- deliver/fetch at once, both at concurrency %s, per round: %s; median %.2f "
                  "(target >= 1.0: %s)" % (
                      c, ", ".join("%.2f" % x for x in ratios), statistics.median(ratios),
                      "met" if statistics.median(ratios) >= 1.0 else "NOT met"))

            # The same from CPU per event (the program's and Redis's), less exposed to
            # what else the machine runs: the loop alternates between the two.
            def cost(r):
                return ((float(r["user_s"]) + float(r["sys_s"])) * 1e6 + int(r["cpu_redis_us"])) / int(r["n"])
            fc = statistics.median([cost(r) for r in rows if r["kind"] == "fetch"])
            dc = statistics.median([cost(r) for r in same if r["conc"] == c])
            print("- CPU per event, program + Redis (median): fetch %.0f us, deliver %.0f us: "
                  "deliver/fetch by cost %.2f" % (fc, dc, fc / dc))
    slow = [r for r in rows if r["kind"] == "deliver" and r["delay_ms"] != "0"]
    for r256 in [[r for r in slow if r["conc"] == "256"]]:
        if r256:
            d = int(r256[0]["delay_ms"]) / 1000.0
            little = 256 / d
            fr = [rate(r) / little for r in r256]
            fs = [int(r["steady_per_s"]) / little for r in r256]
            print("- %d ms late, 256 in flight, of Little's law (%.0f/s): start to exit %s, median "
                  "%.2f; steady (10-90 %% of the POSTs) %s, median %.2f (target >= 0.9: %s)" % (
                      int(r256[0]["delay_ms"]), little, ", ".join("%.2f" % x for x in fr),
                      statistics.median(fr), ", ".join("%.2f" % x for x in fs),
                      statistics.median(fs),
                      "met" if statistics.median(fr) >= 0.9 else
                      "met when steady, not start to exit" if statistics.median(fs) >= 0.9 else
                      "NOT met"))
    r1024 = [r for r in slow if r["conc"] == "1024"]
    if r1024:
        h = [int(r["vmhwm_kb"]) / 1024 for r in r1024]
        print("- VmHWM at 1024 in flight: %s MB; largest %.1f MB (target <= 32 MB: %s)" % (
            ", ".join("%.1f" % x for x in h), max(h), "met" if max(h) <= 32 else "NOT met"))


if __name__ == "__main__":
    main()
