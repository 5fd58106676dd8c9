"""Batch norm (training mode) and layer norm against PyTorch 2.13 CPU, in one run (see
common.py).

The inputs are what a convolution hands batch norm in a ResNet: nabla's convolutions
return channels-last arrays (NHWC memory seen as NCHW), and PyTorch's return NCHW
ones, so each framework gets its own layout; forward+backward, float32, batch 64.

Layer norm runs on a GPT block's activations (batch 16 x 128 tokens x 256), and so do
the block's other non-GEMM layers: the tanh GELU on its (16, 128, 1024) hidden layer and
the softmax of its causal attention scores (16, 4, 128, 128).

    python benchmarks/bench_norm.py            # all rows
    python benchmarks/bench_norm.py gpt        # only the GPT block's rows

    python benchmarks/bench_norm.py
"""
from __future__ import annotations

import sys

import numpy as np

from common import compare, table, torch

import nabla as nb

SHAPES = [(64, 16, 32, 32), (64, 32, 16, 16), (64, 64, 8, 8)]  # ResNet-20's three stages


def pair(shape):
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    channels_last = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # noqa: E731
    n_bn, t_bn = nb.nn.BatchNorm2d(shape[1]), torch.nn.BatchNorm2d(shape[1])
    nx, ng = nb.tensor(channels_last(x), requires_grad=True), nb.tensor(channels_last(g))
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step_n():
        n_bn(nx).backward(ng)
        nx.grad = None

    def step_t():
        t_bn(tx).backward(tg)
        tx.grad = None

    np.testing.assert_allclose(n_bn(nx).detach().numpy(), t_bn(tx).detach().numpy(), atol=1e-4)
    return step_n, step_t


def layer_norm_pair(shape=(16, 128, 256)):
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    n_ln, t_ln = nb.nn.LayerNorm(shape[-1]), torch.nn.LayerNorm(shape[-1])
    nx, ng = nb.tensor(x, requires_grad=True), nb.tensor(g)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step_n():
        n_ln(nx).backward(ng)
        nx.grad = None

    def step_t():
        t_ln(tx).backward(tg)
        tx.grad = None

    np.testing.assert_allclose(n_ln(nx).detach().numpy(), t_ln(tx).detach().numpy(), atol=1e-4)
    return step_n, step_t


def pointwise_pair(name: str):
    """forward+backward of the GPT block's GELU or attention softmax."""
    rng = np.random.default_rng(0)
    shape = (16, 128, 1024) if name == "gelu" else (16, 4, 128, 128)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    if name == "softmax":  # causal scores: -inf above the diagonal
        x[..., np.triu_indices(shape[-1], 1)[0], np.triu_indices(shape[-1], 1)[1]] = -np.inf
    fn = {"gelu": lambda lib, t: lib.nn.functional.gelu(t, approximate="tanh"),
          "softmax": lambda lib, t: lib.nn.functional.softmax(t, dim=-1)}[name]
    nx, ng = nb.tensor(x, requires_grad=True), nb.tensor(g)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step_n():
        fn(nb, nx).backward(ng)
        nx.grad = None

    def step_t():
        fn(torch, tx).backward(tg)
        tx.grad = None

    np.testing.assert_allclose(fn(nb, nx).detach().numpy(), fn(torch, tx).detach().numpy(),
                               atol=1e-5)
    return step_n, step_t


if __name__ == "__main__":
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    rows = []
    only_gpt = sys.argv[1:] == ["gpt"]
    for shape in ([] if only_gpt else SHAPES):
        rows.append((f"batch norm {shape}, forward+backward", compare(*pair(shape), blocks=7,
                                                                       block_s=0.3)))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    rows.append(("layer norm (16, 128, 256), forward+backward",
                 compare(*layer_norm_pair(), blocks=7, block_s=0.3)))
    rows.append(("tanh GELU (16, 128, 1024), forward+backward",
                 compare(*pointwise_pair("gelu"), blocks=7, block_s=0.3)))
    rows.append(("causal softmax (16, 4, 128, 128), forward+backward",
                 compare(*pointwise_pair("softmax"), blocks=7, block_s=0.3)))
    print()
    print(table(rows))
