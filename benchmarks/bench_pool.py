"""Pooling and upsampling speed against PyTorch 2.13 CPU (see common.py for the method).

    python benchmarks/bench_pool.py              # every case
    python benchmarks/bench_pool.py grid_sample  # the cases whose name contains a word

Prints a markdown table of median times and nabla/PyTorch ratios (below 1 means
nabla is faster), forward alone and forward + backward, float32.
"""
from __future__ import annotations

import sys

import numpy as np

from common import compare, table, torch

import nabla as nb
import nabla.nn.functional as F

TF = torch.nn.functional
# a fixed sampling grid in [-1.1, 1.1]^2 for grid_sample, (8, 32, 32, 2)
GRID = np.random.default_rng(1).uniform(-1.1, 1.1, (8, 32, 32, 2)).astype(np.float32)
GRID_N, GRID_T = nb.tensor(GRID), torch.tensor(GRID)


def _grid_case(mode: str, padding: str):
    return (f"grid_sample {mode} {padding}, 8x16x32x32 at 32x32 points", (8, 16, 32, 32),
            lambda x: F.grid_sample(x, GRID_N, mode=mode, padding_mode=padding,
                                    align_corners=False),
            lambda x: TF.grid_sample(x, GRID_T, mode=mode, padding_mode=padding,
                                     align_corners=False))


CASES = [  # (name, input shape, nabla op, torch op)
    ("max_pool2d 2x2, LeNet 64x6x28x28", (64, 6, 28, 28),
     lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    ("max_pool2d 2x2, CIFAR 64x16x10x10", (64, 16, 10, 10),
     lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    ("max_pool2d 3x3/2 pad 1, ResNet stem 32x64x56x56", (32, 64, 56, 56),
     lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 2x2, 64x6x28x28", (64, 6, 28, 28),
     lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2)),
    ("avg_pool2d 3x3/1 pad 1, 32x32x32x32", (32, 32, 32, 32),
     lambda x: F.avg_pool2d(x, 3, 1, 1), lambda x: TF.avg_pool2d(x, 3, 1, 1)),
    ("adaptive_avg_pool2d 7x7 -> 1, 64x512x7x7", (64, 512, 7, 7),
     lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: TF.adaptive_avg_pool2d(x, 1)),
    ("interpolate bilinear x2, 16x32x32x32", (16, 32, 32, 32),
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
     lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
    ("interpolate nearest x2, 16x32x32x32", (16, 32, 32, 32),
     lambda x: F.interpolate(x, scale_factor=2), lambda x: TF.interpolate(x, scale_factor=2)),
    _grid_case("bilinear", "zeros"), _grid_case("bilinear", "reflection"),
    _grid_case("nearest", "border"), _grid_case("bicubic", "zeros"),
]


def main() -> None:
    rows = []
    rng = np.random.default_rng(0)
    words = sys.argv[1:]
    for name, shape, fn_n, fn_t in CASES:
        if words and not any(w in name for w in words):
            continue
        x = rng.standard_normal(shape).astype(np.float32)
        xn, xt = nb.tensor(x), torch.tensor(x)
        with nb.no_grad(), torch.no_grad():
            rows.append((f"{name}, forward", compare(lambda: fn_n(xn), lambda: fn_t(xt))))
        gn, gt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

        def step_n():
            fn_n(gn).sum().backward()
            gn.grad = None

        def step_t():
            fn_t(gt).sum().backward()
            gt.grad = None
        rows.append((f"{name}, forward+backward", compare(step_n, step_t)))
    print(table(rows))


if __name__ == "__main__":
    main()
