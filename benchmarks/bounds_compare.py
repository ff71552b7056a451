#!/usr/bin/env python3
"""Table of the bound-propagation benchmark (standard library only).

    bounds_compare.py OUTDIR [--markdown]

reads OUTDIR/nncert_<model>.jsonl / .bounds.json and OUTDIR/alirpa_<model>.jsonl / .bounds.json
(written by benchmarks/bounds_compare.sh) and prints, per model, batch and method: the median wall
time of both tools, the ratio auto_LiRPA / nncert (> 1: nncert is faster), the same ratio of the
median process CPU times, and the largest absolute difference between the two tools' bounds.
Then the memory lines of nncert.
"""
import glob
import json
import os
import sys

METHODS = ["ibp", "crown", "crown_dense", "alpha_crown"]


def read_lines(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue  # auto_LiRPA's own prints
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if "tool" in j:
                rows.append(j)
    return rows


def read_dump(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f).get("results", {})


def max_diff(a, b):
    if not a or not b:
        return None
    d = 0.0
    for side in ("lower", "upper"):
        for ra, rb in zip(a[side], b[side]):
            if len(ra) != len(rb):
                return None
            for x, y in zip(ra, rb):
                d = max(d, abs(x - y))
    return d


def fmt_ms(v):
    if v is None:
        return "n/a"
    return "%.3f" % v if v < 10 else "%.1f" % v


def main():
    outdir = sys.argv[1]
    md = "--markdown" in sys.argv
    models = sorted({os.path.basename(p)[len("nncert_"):-len(".jsonl")]
                     for p in glob.glob(os.path.join(outdir, "nncert_*.jsonl"))})
    header = ["model", "batch", "method", "nncert mode", "auto_LiRPA ms", "nncert ms",
              "ratio (wall)", "ratio (CPU)", "max |bound diff|", "auto_LiRPA vs fixture"]
    table, memory, al_memory, errors = [], [], [], []
    for model in models:
        nn_rows = read_lines(os.path.join(outdir, "nncert_%s.jsonl" % model))
        al_rows = read_lines(os.path.join(outdir, "alirpa_%s.jsonl" % model))
        nn_dump = read_dump(os.path.join(outdir, "nncert_%s.bounds.json" % model))
        al_dump = read_dump(os.path.join(outdir, "alirpa_%s.bounds.json" % model))
        errors += [r for r in al_rows if r.get("kind") == "error"]
        memory += [r for r in nn_rows if r.get("kind") == "memory"]
        al_memory += [r for r in al_rows if r.get("kind") == "memory"]
        times = [r for r in nn_rows if r.get("kind") == "time"]
        for batch in sorted({r["batch"] for r in times}):
            for method in METHODS:
                al = next((r for r in al_rows if r.get("kind") == "time" and
                           r["batch"] == batch and r["method"] == method), None)
                for nn in [r for r in times if r["batch"] == batch and r["method"] == method]:
                    ok_nn = nn["status"] == "ok"
                    nn_ms = nn.get("median_ms") if ok_nn else None
                    al_ms = al.get("median_ms") if al else None
                    ratio = "%.1fx" % (al_ms / nn_ms) if nn_ms and al_ms else "n/a"
                    ratio_cpu = "n/a"
                    if ok_nn and al and nn.get("median_cpu_ms") and al.get("median_cpu_ms"):
                        ratio_cpu = "%.1fx" % (al["median_cpu_ms"] / nn["median_cpu_ms"])
                    key = "b%d/%s" % (batch, method)
                    d = max_diff(nn_dump.get(key), al_dump.get(key)) if ok_nn else None
                    ref = al.get("ref_max_abs_diff") if al else None
                    table.append([model, str(batch), method, nn.get("mode", ""), fmt_ms(al_ms),
                                  fmt_ms(nn_ms), ratio, ratio_cpu,
                                  "n/a" if d is None else "%.1e" % d,
                                  "n/a" if ref is None else "%.1e" % ref])
    if md:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in table:
            print("| " + " | ".join(r) + " |")
    else:
        w = [max(len(h), *(len(r[i]) for r in table)) if table else len(h)
             for i, h in enumerate(header)]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(header)))
        for r in table:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
    for e in errors:
        print("auto_LiRPA side skipped: %s" % e.get("reason"))
    if memory:
        print()
        print("nncert memory of one CROWN call (batch 1, box 0):")
        for m in memory:
            print("  %-10s %-12s heap peak +%.2f MiB (operator new part %.3f MiB); "
                  "peak RSS %.1f MiB = %.1f MiB before the call + %.1f MiB"
                  % (m["model"], m["method"], m["heap_peak_bytes"] / 2**20,
                     m["operator_new_peak_bytes"] / 2**20, m["rss_peak_kb"] / 1024,
                     m["rss_before_kb"] / 1024, (m["rss_peak_kb"] - m["rss_before_kb"]) / 1024))
    if al_memory:
        print("auto_LiRPA (first CROWN call after building the BoundedModule, batch 1, box 0):")
        for m in al_memory:
            print("  %-10s %-12s peak RSS %.1f MiB = %.1f MiB before the call (python, torch, "
                  "the BoundedModules) + %.1f MiB"
                  % (m["model"], m["method"], m["rss_peak_kb"] / 1024, m["rss_before_kb"] / 1024,
                     (m["rss_peak_kb"] - m["rss_before_kb"]) / 1024))
    print()
    print("times: median wall ms over repeats (noisy when other processes share the cores; the "
          "CPU-time ratio is steadier); ratio = auto_LiRPA / nncert; bound diff over all boxes "
          "and outputs of the batch; 'auto_LiRPA vs fixture' = box 0 against cases.json")


if __name__ == "__main__":
    main()
