#!/usr/bin/env python3
"""Compares nncert reports of VNN-COMP benchmarks with the known answers.

usage: vnncomp_compare.py SHARED_VNNCOMP_DIR REPORT.json [REPORT.json ...]

Each report comes from `verify-model verify --instances BENCH/instances.csv`. An instance counts
as decided when nncert says verified (= unsat) or falsified (= sat) within the instance timeout.
A contradiction is an answer against ground_truth_resolved.csv: the worst bug; exit 1 if any.
The last column is the best count any competition tool reached on the whole benchmark
(tool_summary.csv: most instances solved, then fewest wrong), for comparison.
"""
import csv
import json
import os
import sys


def main():
    shared = sys.argv[1]
    truth = {}  # (abs onnx, abs vnnlib) -> (benchmark, answer)
    for bench in sorted(os.listdir(shared)):
        gt = os.path.join(shared, bench, "ground_truth_resolved.csv")
        if not os.path.isfile(gt):
            continue
        with open(gt) as f:
            for row in csv.DictReader(f):
                key = (os.path.realpath(os.path.join(shared, bench, row["onnx"])),
                       os.path.realpath(os.path.join(shared, bench, row["vnnlib"])))
                truth[key] = (bench, row["answer"])
    best = {}  # benchmark -> (solved, "tool year")
    for bench in sorted(os.listdir(shared)):
        ts = os.path.join(shared, bench, "tool_summary.csv")
        if not os.path.isfile(ts):
            continue
        with open(ts) as f:
            for row in csv.DictReader(f):
                solved = int(row["solved"]) - int(row["wrong"])
                if solved > best.get(bench, (-1, ""))[0]:
                    best[bench] = (solved, f"{row['tool']} {row['year']}")
    rows = []
    contradictions = []
    for path in sys.argv[2:]:
        with open(path) as f:
            r = json.load(f)
        for p in r["properties"]:
            src = p["source"]
            model = r["models"][p["model"]]["path"]
            key = (os.path.realpath(model), os.path.realpath(src.get("path", "")))
            parts = os.path.realpath(src.get("path", "")).split(os.sep)
            guess = parts[parts.index("vnncomp") + 1] if "vnncomp" in parts[:-1] else "(other)"
            bench, ans = truth.get(key, (guess, None))
            v = p["verdict"]
            ours = {"verified": "unsat", "falsified": "sat"}.get(v)
            decided = ours is not None and (p["timeout_s"] == 0 or p["time_s"] <= p["timeout_s"])
            wrong = ours is not None and ans in ("sat", "unsat") and ours != ans
            if wrong:
                contradictions.append((key, ours, ans, bench))
            rows.append((bench, v, decided, ans, p["time_s"], p.get("method")))
    benches = sorted({b for b, *_ in rows})
    print(f"{'benchmark':<26}{'inst':>6}{'known':>7}{'unsat':>7}{'sat':>6}{'decided':>9}"
          f"{'unknown':>9}{'timeout':>9}{'error':>7}{'wrong':>7}{'time s':>9}  best tool (all inst.)")
    tot = [0] * 9
    for b in benches:
        rs = [r for r in rows if r[0] == b]
        known = sum(r[3] in ("sat", "unsat") for r in rs)
        uns = sum(r[1] == "verified" and r[2] for r in rs)
        sat = sum(r[1] == "falsified" and r[2] for r in rs)
        unk = sum(r[1] in ("unknown", "not_run") for r in rs)
        to = sum(r[1] == "timeout" for r in rs)
        err = sum(r[1] == "error" for r in rs)
        wr = sum(1 for c in contradictions if c[3] == b)
        t = sum(r[4] for r in rs)
        vals = [len(rs), known, uns, sat, uns + sat, unk, to, err, wr]
        tot = [a + v for a, v in zip(tot, vals)]
        print(f"{b:<26}{len(rs):>6}{known:>7}{uns:>7}{sat:>6}{uns + sat:>9}{unk:>9}{to:>9}{err:>7}"
              f"{wr:>7}{t:>9.1f}  {best[b][0]} ({best[b][1]})" if b in best else
              f"{wr:>7}{t:>9.1f}")
    print(f"{'total':<26}" + "".join(f"{v:>{w}}" for v, w in zip(tot, [6, 7, 7, 6, 9, 9, 9, 7, 7])))
    for key, ours, ans, _ in contradictions:
        print(f"CONTRADICTION: {key}: nncert {ours}, known {ans}")
    sys.exit(1 if contradictions else 0)


if __name__ == "__main__":
    main()
