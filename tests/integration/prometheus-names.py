#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""The metric names that PromQL expressions use, checked against /metrics.

prometheus-names.py METRICS [FILE...]: METRICS is a /metrics answer; each FILE
is a Prometheus rules file (.yml: its expr: values, one line or a | block) or
a Grafana dashboard (.json: every "expr" and every variable's label_values()).
Prints one line per problem (a name /metrics does not serve, an expression in
which no metric name was found) and exits 1 if there is any; with -v it also
lists each file's names. The names served are the families of the # TYPE
lines (with _bucket, _sum and _count for histograms and summaries) and the
names of the samples.
"""
import json
import re
import sys

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}


def served(text):
    names = set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names.add(m.group(1))
            if m.group(2) in ("histogram", "summary"):
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
        elif line and not line.startswith("#"):
            names.add(re.match(r"[^{ ]+", line).group(0))
    return names


def expr_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # strings (label values)
    e = re.sub(r"\$\{\w+(?::\w+)?\}|\$\w+", "", e)     # Grafana variables
    e = re.sub(r"\[[^\]]*\]", "", e)                   # ranges and subqueries
    e = re.sub(r"\{[^}]*\}", "", e)                    # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", e):
        if m.group(2) or m.group(1) in KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def rules_exprs(path):
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        if m.group(2) not in ("|", ">", "|-", ">-"):
            yield m.group(2).strip("'\"")
            continue
        block = []
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > len(m.group(1))):
            block.append(lines[i])
            i += 1
        yield " ".join(l.strip() for l in block)


def dashboard_exprs(path):
    d = json.load(open(path))

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr" and isinstance(v, str):
                    yield v
                else:
                    yield from walk(v)
        elif isinstance(o, list):
            for v in o:
                yield from walk(v)
    yield from walk(d.get("panels", []))
    for var in d.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.match(r"\s*label_values\(\s*(.*),\s*\w+\s*\)\s*$", q)
        if m:
            yield m.group(1)
        elif q:
            yield q


def main():
    args = sys.argv[1:]
    verbose = args[:1] == ["-v"]
    if verbose:
        args = args[1:]
    have = served(open(args[0]).read())
    bad = 0
    for path in args[1:]:
        exprs = list(dashboard_exprs(path) if path.endswith(".json") else rules_exprs(path))
        if not exprs:
            print(f"{path}: no expressions found")
            bad += 1
        used = set()
        for e in exprs:
            n = expr_names(e)
            if not n:
                print(f"{path}: no metric name in: {e}")
                bad += 1
            for name in sorted(n - have):
                print(f"{path}: {name} is not served by /metrics: {e}")
                bad += 1
            used |= n
        if verbose:
            print(f"{path}: {len(exprs)} expressions, names: {' '.join(sorted(used))}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
