#!/usr/bin/env python3
"""auto_LiRPA side of the training-throughput benchmark (benchmarks/train_throughput.sh runs both).

    PYTHONPATH=/path/to/auto_LiRPA /usr/bin/python3 benchmarks/alirpa_train_bench.py \
        --bound ibp|crown-ibp [--loss-fusion] [--threads 1] [--batch 64] [--eps 0.1] \
        [--steps 60] [--warmup-steps 5] [--kappa 0.5] [--data IDX.gz --labels IDX.gz]

One training step is what auto_LiRPA's examples/vision/simple_training.py does per batch:
the natural forward pass, the certified bounds of the margins (IBP: compute_bounds(IBP=True,
method=None) with the spec matrix C; CROWN-IBP: IBP intermediate bounds, then
compute_bounds(IBP=False, method='backward'), mixed beta * CROWN-IBP + (1 - beta) * IBP with
beta = 1 so that both are computed), loss = kappa * CE(natural) + (1 - kappa) * CE(robust),
backward and an Adam step. With --loss-fusion the model is wrapped as in simple_training.py
(CrossEntropyWrapper: the upper bound of sum_j exp(y_j - y_label) is bounded directly, one spec
row). The architecture is nncert's conv16-conv32-fc100-fc10 (4x4 kernels, stride 2, pad 1) on
28x28 inputs in [0, 1], float32. Prints one JSON line: {"tool": "auto_LiRPA", "bound": ...,
"examples_per_s": median over the timed steps, ...}.
"""
import argparse
import gzip
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def model_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, 10))


class CrossEntropyWrapper(nn.Module):  # as auto_LiRPA's examples (loss fusion)
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, labels):
        y = self.model(x)
        logits = y - torch.gather(y, dim=-1, index=labels.unsqueeze(-1))
        return torch.exp(logits).sum(dim=-1, keepdim=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bound", choices=["ibp", "crown-ibp"], required=True)
    ap.add_argument("--loss-fusion", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup-steps", type=int, default=5)
    ap.add_argument("--kappa", type=float, default=0.5)
    ap.add_argument("--data")
    ap.add_argument("--labels")
    a = ap.parse_args()
    from auto_LiRPA import BoundedModule, BoundedTensor
    from auto_LiRPA.perturbations import PerturbationLpNorm
    from auto_LiRPA.bound_ops import BoundExp

    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    n = (a.steps + a.warmup_steps) * a.batch
    if a.data:
        xs = torch.tensor(read_idx(a.data)[:n].astype(np.float32) / 255.0).unsqueeze(1)
        ys = torch.tensor(read_idx(a.labels)[:n].astype(np.int64))
    else:
        xs = torch.rand(n, 1, 28, 28)
        ys = torch.randint(0, 10, (n,))
    while xs.shape[0] < n:  # a small data set is reused
        xs, ys = torch.cat([xs, xs]), torch.cat([ys, ys])
    net = model_cnn()
    dummy = torch.empty(a.batch, 1, 28, 28)
    if a.loss_fusion:
        bm = BoundedModule(CrossEntropyWrapper(net), (dummy, torch.zeros(a.batch, dtype=torch.long)),
                           bound_opts={"relu": "adaptive", "loss_fusion": True})
    else:
        bm = BoundedModule(net, dummy, bound_opts={"relu": "adaptive"})
    opt = torch.optim.Adam(bm.parameters(), lr=1e-3)
    ce = nn.CrossEntropyLoss()
    times = []
    for s in range(a.steps + a.warmup_steps):
        x = xs[s * a.batch:(s + 1) * a.batch]
        y = ys[s * a.batch:(s + 1) * a.batch]
        t0 = time.perf_counter()
        opt.zero_grad()
        ptb = PerturbationLpNorm(norm=np.inf, eps=a.eps, x_L=(x - a.eps).clamp(0, 1),
                                 x_U=(x + a.eps).clamp(0, 1))
        xb = BoundedTensor(x, ptb)
        if a.loss_fusion:
            # auto_LiRPA's simple_training.py: natural loss from the wrapped model's output.
            out = bm(xb, y)
            natural = torch.mean(torch.log(out))
            if a.bound == "ibp":
                _, ub = bm.compute_bounds(IBP=True, C=None, method=None, bound_lower=False)
            else:
                _, iub = bm.compute_bounds(IBP=True, C=None, method=None, bound_lower=False)
                _, cub = bm.compute_bounds(IBP=False, C=None, method="backward", bound_lower=False)
                ub = cub * 1.0 + iub * 0.0
            exp_node = [m for m in bm.modules() if isinstance(m, BoundExp)][0]
            robust = torch.mean(torch.log(ub) + exp_node.max_input)
        else:
            out = bm(xb)
            natural = ce(out, y)
            c = torch.eye(10).unsqueeze(0) - torch.eye(10)[y].unsqueeze(1)
            keep = ~(y.unsqueeze(1) == torch.arange(10).unsqueeze(0))
            c = c[keep].view(x.shape[0], 9, 10)
            lb, _ = bm.compute_bounds(IBP=True, C=c, method=None, bound_upper=False)
            if a.bound == "crown-ibp":
                clb, _ = bm.compute_bounds(IBP=False, C=c, method="backward", bound_upper=False)
                lb = clb * 1.0 + lb * 0.0
            z = torch.cat([torch.zeros(x.shape[0], 1), -lb], 1)
            robust = ce(z, torch.zeros(x.shape[0], dtype=torch.long))
        loss = a.kappa * natural + (1 - a.kappa) * robust
        loss.backward()
        opt.step()
        if s >= a.warmup_steps:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"tool": "auto_LiRPA", "bound": a.bound, "loss_fusion": a.loss_fusion,
                      "threads": a.threads, "batch": a.batch, "eps": a.eps, "steps": len(times),
                      "ms_per_step": med * 1e3, "examples_per_s": a.batch / med}))


if __name__ == "__main__":
    sys.exit(main())
