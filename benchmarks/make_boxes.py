#!/usr/bin/env python3
"""Writes the input boxes both bound benchmarks read (standard library only, deterministic).

    make_boxes.py FIXTURE_DIR OUT.json [--n 32] [--seed 0] [--shift 0.1]

Box 0 is case 0 of FIXTURE_DIR/cases.json verbatim (so batch-1 bounds can be checked against the
fixture's auto_LiRPA references). Box k >= 1 has the centre x0_k = clip(x0 + U(-shift, shift), clip)
with x0 and clip from case 0 (clip [-inf, inf] when case 0 has none), and the box
[max(x0_k - eps, clip_lo), min(x0_k + eps, clip_hi)] with case 0's eps. Python's Mersenne Twister
(random.Random(seed)) makes the file the same on every machine.
"""
import argparse
import json
import math
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture_dir")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shift", type=float, default=0.1)
    a = ap.parse_args()
    with open(os.path.join(a.fixture_dir, "cases.json")) as f:
        cases = json.load(f)
    c0 = cases["cases"][0]
    if c0["eps"] is None:
        raise SystemExit("case 0 of %s has no eps" % a.fixture_dir)
    eps = float(c0["eps"])
    lo_clip, hi_clip = c0["clip"] if c0["clip"] else (-math.inf, math.inf)
    rng = random.Random(a.seed)
    x_lower, x_upper = [list(c0["x_lower"])], [list(c0["x_upper"])]
    for _ in range(1, a.n):
        x0 = [min(max(v + rng.uniform(-a.shift, a.shift), lo_clip), hi_clip) for v in c0["x0"]]
        x_lower.append([max(v - eps, lo_clip) for v in x0])
        x_upper.append([min(v + eps, hi_clip) for v in x0])
    out = {
        "model": cases["model"],
        "input_shape": cases["input_shape"],
        "eps": eps,
        "clip": c0["clip"],
        "seed": a.seed,
        "shift": a.shift,
        "note": "box 0 = case 0 of cases.json; boxes 1.. = case 0's x0 shifted by U(-shift, shift)",
        "x_lower": x_lower,
        "x_upper": x_upper,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
