"""scaled_dot_product_attention against PyTorch 2.13 CPU, in one run (see common.py).

nabla's tiled (flash-style) path and its composed path (matmul, softmax, matmul: the
whole (L, S) score matrix) are each timed against PyTorch's SDPA, forward+backward,
float32; and the peak of NumPy memory each nabla path allocates (tracemalloc) is
printed beside the size of one (B*H, L, S) float32 score matrix.

    python benchmarks/bench_attention.py
"""
from __future__ import annotations

import tracemalloc

import numpy as np

from common import compare, table, torch

import nabla as nb
import nabla.nn.functional as F
from nabla.ops import attention

# (label, batch*heads as (B, H), length, head size, causal)
CASES = [
    ("GPT 4x256 layer: 16x4 heads, 128 positions, 64 features, causal", (16, 4), 128, 64, True),
    ("long context: 2x4 heads, 2048 positions, 64 features, causal", (2, 4), 2048, 64, True),
    ("long context: 2x4 heads, 2048 positions, 64 features, full", (2, 4), 2048, 64, False),
]


def case(shape, length, features, causal):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((*shape, length, features)).astype(np.float32)
              for _ in range(4)]
    nq, nk, nv = (nb.tensor(a, requires_grad=True) for a in arrays[:3])
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    ng, tg = nb.tensor(arrays[3]), torch.tensor(arrays[3])

    def step_n():
        F.scaled_dot_product_attention(nq, nk, nv, is_causal=causal).backward(ng)
        nq.grad = nk.grad = nv.grad = None

    def step_t():
        torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal) \
            .backward(tg)
        tq.grad = tk.grad = tv.grad = None

    return step_n, step_t


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


if __name__ == "__main__":
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    rows, memory = [], []
    for label, shape, length, features, causal in CASES:
        step_n, step_t = case(shape, length, features, causal)
        for path, on in (("tiled", True), ("composed", False)):
            attention.enable_flash_attention(on)
            rows.append((f"{label}, fwd+bwd, nabla {path}", compare(step_n, step_t, blocks=5,
                                                                  block_s=0.3)))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            memory.append((label, path, peak_bytes(step_n)))
        attention.enable_flash_attention(True)
    print()
    print(table(rows))
    print("\n| workload | nabla path | peak NumPy memory, forward+backward | one score matrix |")
    print("| --- | --- | --- | --- |")
    for (label, shape, length, features, causal), (_, path, peak) in zip(
            [c for c in CASES for _ in (0, 1)], memory):
        scores = int(np.prod(shape)) * length * length * 4
        print(f"| {label} | {path} | {peak / 2**20:.1f} MiB | {scores / 2**20:.1f} MiB |")
