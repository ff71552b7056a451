"""Exports small PyTorch models to ONNX with reference outputs, for tests/unit/test_torch_exports.

Run once with Debian's python3-torch and python3-onnx (`/usr/bin/python3 make_torch_models.py`);
the outputs are committed, so building and testing nncert never needs Python. Each model is
exported with a dynamic batch axis at several opsets, which exercises PyTorch's
Shape->Gather->Unsqueeze->Concat->Reshape chains, GELU as Erf, LayerNormalization (native at
opset 17, decomposed before), Softmax, residual adds, concat, pooling and ConvTranspose.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)


class Block(nn.Module):
    """A tiny transformer-style block: LayerNorm, attention-like softmax mixing, GELU MLP."""

    def __init__(self, d=8, t=4):
        super().__init__()
        self.t, self.d = t, d
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 16)
        self.fc2 = nn.Linear(16, d)
        self.head = nn.Linear(t * d, 3)

    def forward(self, x):
        b = x.shape[0]
        h = x.reshape(b, self.t, self.d)
        a = self.ln1(h)
        att = torch.softmax(self.q(a) @ self.k(a).transpose(1, 2) / self.d ** 0.5, dim=-1)
        h = h + att @ self.v(a)
        h = h + self.fc2(nn.functional.gelu(self.fc1(self.ln2(h))))
        return self.head(h.reshape(b, -1))


class ConvNet(nn.Module):
    """Conv/BN/pool/upsample (ConvTranspose) with a residual concat and a flatten by view."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.c2 = nn.Conv2d(6, 3, (3, 1), stride=(2, 1), padding=(1, 0), dilation=1)
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3 * 4 * 8, 5)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))
        h = self.up(self.pool(h))
        h = torch.cat([h, x], dim=1)
        h = torch.tanh(self.c2(h))
        g = self.avg(h)
        h = h * torch.sigmoid(g)
        return self.fc(h.view(h.size(0), -1))


def export(model, shape, name, opset):
    model.eval()
    x = torch.randn(*shape)
    path = f"{name}_opset{opset}.onnx"
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"},
                                                             "output": {0: "batch"}})
    xb = torch.randn(3, *shape[1:])
    with torch.no_grad():
        y = model.double()(xb.double()).numpy()
    model.float()
    return path, {"input": xb.double().numpy().ravel().tolist(),
                  "input_shape": list(xb.shape), "output": y.ravel().tolist(),
                  "output_shape": list(y.shape)}


refs = {}
block, conv = Block(), ConvNet()
with torch.no_grad():  # non-trivial BatchNorm statistics
    conv.bn.running_mean.uniform_(-0.5, 0.5)
    conv.bn.running_var.uniform_(0.5, 2.0)
for opset in (11, 13, 17):
    p, r = export(block, (1, 32), "torch_block", opset)
    refs[p] = r
for opset in (9, 13):
    p, r = export(conv, (1, 2, 8, 8), "torch_convnet", opset)
    refs[p] = r
with open("torch_models_reference.json", "w") as f:
    json.dump(refs, f)
print(sorted(refs))
