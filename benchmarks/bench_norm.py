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


def _fwd_bwd_pair(n_fn, t_fn, x, g, n_x=None):
    """(nabla step, PyTorch step): forward+backward of ``n_fn`` / ``t_fn`` on x with
    cotangent g (``n_x``, ``g`` laid out as nabla's input, when that layout differs),
    checked to agree first."""
    nx = nb.tensor(x if n_x is None else n_x[0], requires_grad=True)
    ng = nb.tensor(g if n_x is None else n_x[1])
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step_n():
        n_fn(nx).backward(ng)
        nx.grad = None

    def step_t():
        t_fn(tx).backward(tg)
        tx.grad = None

    np.testing.assert_allclose(n_fn(nx).detach().numpy(), t_fn(tx).detach().numpy(),
                               atol=1e-4)
    return step_n, step_t


def _inputs(shape):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]


def pair(shape):
    x, g = _inputs(shape)
    channels_last = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # noqa: E731
    return _fwd_bwd_pair(nb.nn.BatchNorm2d(shape[1]), torch.nn.BatchNorm2d(shape[1]), x, g,
                         n_x=(channels_last(x), channels_last(g)))


def layer_norm_pair(shape=(16, 128, 256)):
    return _fwd_bwd_pair(nb.nn.LayerNorm(shape[-1]), torch.nn.LayerNorm(shape[-1]),
                         *_inputs(shape))


def pointwise_pair(name: str):
    """forward+backward of the GPT block's GELU or attention softmax."""
    shape = (16, 128, 1024) if name == "gelu" else (16, 4, 128, 128)
    x, g = _inputs(shape)
    if name == "softmax":  # causal scores: -inf above the diagonal
        rows, cols = np.triu_indices(shape[-1], 1)
        x[..., rows, cols] = -np.inf
    fn = {"gelu": lambda lib, t: lib.nn.functional.gelu(t, approximate="tanh"),
          "softmax": lambda lib, t: lib.nn.functional.softmax(t, dim=-1)}[name]
    return _fwd_bwd_pair(lambda t: fn(nb, t), lambda t: fn(torch, t), x, g)


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
