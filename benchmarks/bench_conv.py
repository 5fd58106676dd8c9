"""Convolution speed against PyTorch 2.13 CPU, in one run (see common.py for the method).

    python benchmarks/bench_conv.py           # every layer
    python benchmarks/bench_conv.py lenet     # only layers whose name contains "lenet"

The layers of LeNet-5, of the tutorial CIFAR net and of a ResNet-20 stage, in
float32 at batch 64: forward alone (no_grad) and forward+backward (gradients of
input, weight and bias; the first layer of a network needs no input gradient,
so there the input does not require grad, as in a training step). Prints a
markdown table of median times and nabla/PyTorch ratios (below 1: nabla faster).
"""
from __future__ import annotations

import sys

import numpy as np

from common import compare, table, torch

import nabla as nb
import nabla.nn.functional as F

# name, (batch, in channels, size), (out channels, kernel), padding, first layer?
LAYERS = [
    ("LeNet-5 conv1 1->6 5x5, 28x28", (64, 1, 28), (6, 5), 0, True),
    ("LeNet-5 conv2 6->16 5x5, 12x12", (64, 6, 12), (16, 5), 0, False),
    ("CIFAR net conv1 3->6 5x5, 32x32", (64, 3, 32), (6, 5), 0, True),
    ("CIFAR net conv2 6->16 5x5, 14x14", (64, 6, 14), (16, 5), 0, False),
    ("ResNet-20 conv 16->16 3x3 pad 1, 32x32", (64, 16, 32), (16, 3), 1, False),
]


def layer(name: str, x_shape: tuple, w_shape: tuple, padding: int, first: bool) -> list:
    rng = np.random.default_rng(0)
    n, c, size = x_shape
    o, k = w_shape
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    b = np.zeros(o, np.float32)
    ho = size + 2 * padding - k + 1
    dy = rng.standard_normal((n, o, ho, ho)).astype(np.float32)

    nx = nb.tensor(x, requires_grad=not first)
    nw, nbias = nb.tensor(w, requires_grad=True), nb.tensor(b, requires_grad=True)
    ndy = nb.tensor(dy)
    tx = torch.tensor(x, requires_grad=not first)
    tw, tbias = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    tdy = torch.tensor(dy)

    def fwd_n():
        with nb.no_grad():
            F.conv2d(nx, nw, nbias, padding=padding)

    def fwd_t():
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tw, tbias, padding=padding)

    def step_n():
        F.conv2d(nx, nw, nbias, padding=padding).backward(ndy)
        nx.grad = nw.grad = nbias.grad = None

    def step_t():
        torch.nn.functional.conv2d(tx, tw, tbias, padding=padding).backward(tdy)
        tx.grad = tw.grad = tbias.grad = None

    return [(f"{name}, forward", compare(fwd_n, fwd_t)),
            (f"{name}, forward+backward", compare(step_n, step_t))]


def main(pattern: str = "") -> None:
    rows = []
    for spec in LAYERS:
        if pattern.lower() in spec[0].lower():
            rows += layer(*spec)
    print(table(rows))


if __name__ == "__main__":
    main(*sys.argv[1:2])
