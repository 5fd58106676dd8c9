"""Engine speed against PyTorch 2.13 CPU, in one run (see common.py for the method).

    python benchmarks/bench_engine.py            # all sections
    python benchmarks/bench_engine.py overhead   # one section: overhead | mlp | throughput
    python benchmarks/bench_engine.py overhead --turn 3   # 3-s turns instead of short blocks

Prints markdown tables of median times and nabla/PyTorch ratios (below 1 means
nabla is faster).
"""
from __future__ import annotations

import sys

import numpy as np

from common import compare as _compare, table, torch, turn_seconds

import nabla as nb
import nabla.nn.functional as F

TURN = turn_seconds(0.0)  # 0: each row's own short blocks


def compare(nabla_fn, torch_fn, blocks: int = 7, block_s: float = 0.15) -> dict:
    """common.compare, in turns of ``--turn`` seconds when one was given."""
    return _compare(nabla_fn, torch_fn, blocks, TURN or block_s)


def overhead() -> list:
    """Per-op cost on tiny tensors (16 elements), where only the Python layer counts."""
    rows = []
    a_np = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    b_np = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    na, nbb = nb.tensor(a_np), nb.tensor(b_np)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    ops = {
        "add": (lambda x, y: x + y, lambda x, y: x + y),
        "mul": (lambda x, y: x * y, lambda x, y: x * y),
        "matmul": (lambda x, y: x @ y, lambda x, y: x @ y),
        "sum": (lambda x, y: x.sum(), lambda x, y: x.sum()),
        "relu": (lambda x, y: F.relu(x), lambda x, y: torch.relu(x)),
    }
    for name, (fn_n, fn_t) in ops.items():
        with nb.no_grad(), torch.no_grad():
            rows.append((f"{name} forward, 4×4", compare(lambda: fn_n(na, nbb),
                                                         lambda: fn_t(ta, tb))))
    ga, gb = nb.tensor(a_np, requires_grad=True), nb.tensor(b_np, requires_grad=True)
    tga, tgb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    for name, (fn_n, fn_t) in ops.items():
        def step_n(fn=fn_n):
            fn(ga, gb).sum().backward()
            ga.grad = gb.grad = None

        def step_t(fn=fn_t):
            fn(tga, tgb).sum().backward()
            tga.grad = tgb.grad = None
        rows.append((f"{name} + sum, forward+backward, 4×4", compare(step_n, step_t)))
    return rows


def mlp() -> list:
    """One SGD-momentum-free training step of an MLP 784-512-256-10 at batch 128."""
    rng = np.random.default_rng(0)
    sizes = [784, 512, 256, 10]
    ws = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
          for m, n in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(n, np.float32) for n in sizes[1:]]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    lr = 0.01

    n_params = [nb.tensor(p, requires_grad=True) for pair in zip(ws, bs) for p in pair]
    nx, ny = nb.tensor(x), nb.tensor(y)

    def step_n():
        h = nx
        for i in range(0, len(n_params), 2):
            h = h @ n_params[i] + n_params[i + 1]
            if i < len(n_params) - 2:
                h = F.relu(h)
        loss = F.cross_entropy(h, ny)
        loss.backward()
        with nb.no_grad():
            for p in n_params:
                p -= lr * p.grad
                p.grad = None

    t_params = [torch.tensor(p, requires_grad=True) for pair in zip(ws, bs) for p in pair]
    tx, ty = torch.tensor(x), torch.tensor(y)

    def step_t():
        h = tx
        for i in range(0, len(t_params), 2):
            h = h @ t_params[i] + t_params[i + 1]
            if i < len(t_params) - 2:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, ty)
        loss.backward()
        with torch.no_grad():
            for p in t_params:
                p -= lr * p.grad
                p.grad = None

    return [("MLP 784-512-256-10 training step, batch 128",
             compare(step_n, step_t, blocks=9, block_s=0.3))]


def throughput() -> list:
    """Large tensors: both frameworks end in the same memory bandwidth / BLAS."""
    rows = []
    rng = np.random.default_rng(0)
    a = rng.standard_normal(4_000_000).astype(np.float32)
    b = rng.standard_normal(4_000_000).astype(np.float32)
    na, nbb, ta, tb = nb.tensor(a), nb.tensor(b), torch.tensor(a), torch.tensor(b)
    with nb.no_grad(), torch.no_grad():
        rows.append(("add, 4M float32", compare(lambda: na + nbb, lambda: ta + tb)))
        rows.append(("mul, 4M float32", compare(lambda: na * nbb, lambda: ta * tb)))
        rows.append(("exp, 4M float32", compare(lambda: na.exp(), lambda: ta.exp())))
        for n in (512, 1024, 2048):
            m1 = rng.standard_normal((n, n)).astype(np.float32)
            m2 = rng.standard_normal((n, n)).astype(np.float32)
            n1, n2, t1, t2 = nb.tensor(m1), nb.tensor(m2), torch.tensor(m1), torch.tensor(m2)
            rows.append((f"matmul {n}×{n} float32",
                         compare(lambda: n1 @ n2, lambda: t1 @ t2, blocks=5, block_s=0.3)))
    return rows


def slices() -> list:
    """The backward of a tensor used in several slices (q, k, v out of one projection):
    the engine adds each slice's cotangent in place into one buffer."""
    from nabla.ops.index import BasicIndex

    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((16, 128, 768)).astype(np.float32)
    g0 = rng.standard_normal((16, 128, 256)).astype(np.float32)
    x, g = nb.tensor(x0, requires_grad=True), nb.tensor(g0)
    tx, tg = torch.tensor(x0, requires_grad=True), torch.tensor(g0)

    def step_n():
        q, k, v = x.chunk(3, -1)
        (q * g + k * g + v * g).sum().backward()
        x.grad = None

    def step_t():
        q, k, v = tx.chunk(3, -1)
        (q * tg + k * tg + v * tg).sum().backward()
        tx.grad = None

    def in_place():
        BasicIndex.vjp_scatters = True
        step_n()

    def full_size():  # each slice's vjp builds a zero-filled full-size cotangent
        BasicIndex.vjp_scatters = False
        step_n()

    rows = [("chunk(3) of (16, 128, 768), forward+backward",
             compare(in_place, step_t, blocks=7, block_s=0.3)),
            ("the same, nabla: in-place slice cotangents against full-size ones",
             compare(in_place, full_size, blocks=7, block_s=0.3))]
    BasicIndex.vjp_scatters = True
    return rows


SECTIONS = {"overhead": overhead, "mlp": mlp, "throughput": throughput, "slices": slices}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SECTIONS)
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}")
    for name in chosen:
        print(f"\n## {name}\n")
        print(table(SECTIONS[name]()), flush=True)
