#!/usr/bin/env python3
"""auto_LiRPA side of the bound-propagation benchmark (benchmarks/crown_bench.cpp is the nncert
side; benchmarks/bounds_compare.sh runs both).

    PYTHONPATH=/tmp/alirpa /usr/bin/python3 benchmarks/alirpa_bench.py \
        --fixture tests/data/fixtures/mlp_relu --boxes build/bench/boxes_mlp_relu.json \
        [--threads 1] [--repeats 11] [--warmup 1] [--min-repeats 3] [--max-time 20] [--methods ...] \
        [--batches 1,32] [--dump BOUNDS.json]

The torch model is rebuilt from the ONNX initializers (nn.Sequential; the fixture architectures
of /work/shared/fixtures/README.md) in float64, as the fixture generator did. Bounds are computed
the way auto_LiRPA's users run it: one BoundedModule per configuration built once (construction not
timed), then compute_bounds per measurement on a BoundedTensor holding the batch (batch 32 = one
batched BoundedTensor). Methods:

  ibp          compute_bounds(method='IBP')
  crown        compute_bounds(method='CROWN')       (default bound_opts: sparse intermediate bounds)
  crown_dense  the same with bound_opts sparse_intermediate_bounds=False
  alpha_crown  compute_bounds(method='alpha-CROWN') with optimize_bound_args iteration=20,
               lr_alpha=0.1, early_stop_patience=21 (exactly 20 Adam steps; lower and upper bound
               optimised in two runs, as in the fixtures)

Before timing, the batch-1 bounds (box 0 = case 0 of cases.json) are compared with the fixture's
references (ibp, crown, crown_dense_interm, alpha_crown); the difference is in "ref_max_abs_diff".
Every measurement is one JSON line on stdout starting with {"tool": "auto_LiRPA"; the time is the
median wall time (and median process CPU time) of `repeats` runs after `warmup` (at least one)
untimed runs.
"""
import argparse
import json
import os
import statistics
import sys
import time


def fail(msg):
    print(json.dumps({"tool": "auto_LiRPA", "kind": "error", "reason": msg}))
    sys.exit(3)


try:
    import torch
    import torch.nn as nn
except ImportError as e:  # Debian: python3-torch
    fail("cannot import torch (%s); install the Debian package python3-torch" % e)
try:
    import onnx
    from onnx import numpy_helper
except ImportError as e:
    fail("cannot import onnx (%s); install the Debian package python3-onnx" % e)
try:
    from auto_LiRPA import BoundedModule, BoundedTensor
    from auto_LiRPA.perturbations import PerturbationLpNorm
except ImportError as e:
    fail("cannot import auto_LiRPA (%s); point ALIRPA_DIR / PYTHONPATH at a checkout" % e)


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def build_model(name):
    if name == "mlp_relu":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "cnn_small":
        return nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, 16, 4, 2, 1),
                             nn.ReLU(), nn.Flatten(), nn.Linear(784, 64), nn.ReLU(),
                             nn.Linear(64, 10))
    fail("no torch architecture for fixture %s (known: mlp_relu, cnn_small)" % name)


def load_model(fixture_dir, name):
    model = build_model(name)
    onnx_model = onnx.load(os.path.join(fixture_dir, "model.onnx"))
    state = {i.name: torch.tensor(numpy_helper.to_array(i).astype("float64"))
             for i in onnx_model.graph.initializer}
    model.load_state_dict(state, strict=True)
    return model.double().eval()


ALPHA_ARGS = {"iteration": 20, "lr_alpha": 0.1, "early_stop_patience": 21}
REF_KEY = {"ibp": "ibp", "crown": "crown", "crown_dense": "crown_dense_interm",
           "alpha_crown": "alpha_crown"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", required=True, help="fixture folder (model.onnx, cases.json)")
    ap.add_argument("--boxes", required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-repeats", type=int, default=3)
    ap.add_argument("--max-time", type=float, default=20.0)
    ap.add_argument("--methods", default="ibp,crown,crown_dense,alpha_crown")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--dump", default=None)
    a = ap.parse_args()
    name = a.name or os.path.basename(os.path.normpath(a.fixture))

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = load_model(a.fixture, name)
    with open(os.path.join(a.fixture, "cases.json")) as f:
        cases = json.load(f)
    case0 = cases["cases"][0]
    shape = list(cases["input_shape"])
    with open(a.boxes) as f:
        boxes = json.load(f)
    eps = float(boxes["eps"])
    x_lower_all = torch.tensor(boxes["x_lower"], dtype=torch.float64)
    x_upper_all = torch.tensor(boxes["x_upper"], dtype=torch.float64)

    dummy = torch.zeros(shape)
    modules = {
        "default": BoundedModule(model, dummy, bound_opts={"optimize_bound_args": ALPHA_ARGS},
                                 device="cpu"),
        "dense": BoundedModule(model, dummy, bound_opts={"optimize_bound_args": ALPHA_ARGS,
                                                         "sparse_intermediate_bounds": False},
                               device="cpu"),
    }
    method_of = {"ibp": ("default", "IBP"), "crown": ("default", "CROWN"),
                 "crown_dense": ("dense", "CROWN"), "alpha_crown": ("default", "alpha-CROWN")}

    base = {"tool": "auto_LiRPA", "model": name, "threads": a.threads,
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    dump = {"tool": "auto_LiRPA", "model": name, "results": {}}
    for batch in [int(b) for b in a.batches.split(",") if b]:
        if batch > x_lower_all.shape[0]:
            fail("batch %d: the boxes file has %d boxes" % (batch, x_lower_all.shape[0]))
        xl = x_lower_all[:batch].reshape([batch] + shape[1:])
        xu = x_upper_all[:batch].reshape([batch] + shape[1:])
        x0 = (xl + xu) / 2

        for method in [m for m in a.methods.split(",") if m]:
            if method not in method_of:
                fail("unknown method %s" % method)
            mod_key, alirpa_method = method_of[method]
            bm = modules[mod_key]

            def run():
                ptb = PerturbationLpNorm(norm=float("inf"), eps=eps, x_L=xl, x_U=xu)
                bt = BoundedTensor(x0, ptb)
                lb, ub = bm.compute_bounds(x=(bt,), method=alirpa_method)
                return lb.detach(), ub.detach()

            # Warm-up 1 (and the bounds that are checked and dumped). The first CROWN call at
            # batch 1 also gives the peak RSS of one call (VmHWM after resetting it).
            measure = batch == 1 and method in ("crown", "crown_dense")
            if measure:
                rss0 = status_kb("VmRSS")
                reset = reset_peak_rss()
            lb, ub = run()
            if measure:
                print(json.dumps(dict(base, kind="memory", method=method, batch=batch,
                                      rss_before_kb=rss0,
                                      rss_peak_kb=status_kb("VmHWM") if reset else -1)),
                      flush=True)
            for _ in range(1, a.warmup):
                run()
            times, cpu = [], []
            start = time.perf_counter()
            while len(times) < a.repeats:
                c0 = time.process_time()
                t0 = time.perf_counter()
                run()
                t1 = time.perf_counter()
                cpu.append((time.process_time() - c0) * 1e3)
                times.append((t1 - t0) * 1e3)
                if len(times) >= a.min_repeats and t1 - start > a.max_time:
                    break
            line = dict(base, kind="time", method=method, batch=batch, mode="batched",
                        status="ok", repeats=len(times), median_ms=statistics.median(times),
                        min_ms=min(times), max_ms=max(times),
                        median_cpu_ms=statistics.median(cpu))
            ref = case0[REF_KEY[method]]  # box 0 is case 0
            d = max(max(abs(p - q) for p, q in zip(lb[0].flatten().tolist(), ref["lower"])),
                    max(abs(p - q) for p, q in zip(ub[0].flatten().tolist(), ref["upper"])))
            line["ref_max_abs_diff"] = d
            line["ref_key"] = REF_KEY[method]
            print(json.dumps(line), flush=True)
            dump["results"]["b%d/%s" % (batch, method)] = {
                "lower": lb.reshape(batch, -1).tolist(), "upper": ub.reshape(batch, -1).tolist()}
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump(dump, f)


if __name__ == "__main__":
    main()
