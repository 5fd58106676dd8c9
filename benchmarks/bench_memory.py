"""Peak memory of one forward+backward, nabla against PyTorch: a large MLP, and a deep
narrow stack with and without activation checkpointing (``utils.checkpoint``).

Each framework runs in a fresh child process; the figure is the growth of the
peak resident set size (``ru_maxrss``) over the process's size just before the
step (after imports and data creation), so library code is not counted.

    python benchmarks/bench_memory.py
"""
from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import resource, sys
import numpy as np
fw, workload = sys.argv[1], sys.argv[2]
sizes = [4096, 4096, 4096, 4096, 10]
batch = 512
rng = np.random.default_rng(0)
ws = [rng.standard_normal((m, n), dtype=np.float32) / np.float32(np.sqrt(m)) for m, n in zip(sizes[:-1], sizes[1:])]
x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
y = rng.integers(0, 10, batch)
if fw == "nabla":
    import nabla as lib
    import nabla.nn.functional as F
    relu, ce = F.relu, F.cross_entropy
else:
    import torch as lib
    lib.set_num_threads(2)
    relu, ce = lib.relu, lib.nn.functional.cross_entropy
params = [lib.tensor(w, requires_grad=True) for w in ws]
tx, ty = lib.tensor(x), lib.tensor(y)
# warm up allocators and lazy imports on a tiny problem
(lib.tensor(x[:2]) @ params[0]).sum().backward(); params[0].grad = None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import gc; gc.collect()
cur = int(open("/proc/self/statm").read().split()[1]) * 4096 // 1024
if workload == "mlp":
    h = tx
    for i, w in enumerate(params):
        h = h @ w
        if i < len(params) - 1:
            h = relu(h)
    loss = ce(h, ty)
    loss.backward()
else:  # 48 blocks Linear(512)-GELU-LayerNorm, batch 2048; "ckpt": 4 checkpointed segments
    nn = lib.nn
    lib.manual_seed(0)
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(512, 512), nn.GELU(), nn.LayerNorm(512))
                             for _ in range(48)])
    xb = lib.tensor(rng.standard_normal((2048, 512), dtype=np.float32), requires_grad=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    cur = int(open("/proc/self/statm").read().split()[1]) * 4096 // 1024
    if workload == "deep-ckpt":
        if fw == "nabla":
            from nabla.utils.checkpoint import checkpoint_sequential
        else:
            from torch.utils.checkpoint import checkpoint_sequential
        out = checkpoint_sequential(blocks, 4, xb, use_reentrant=False)
    else:
        out = blocks(xb)
    out.square().mean().backward()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(max(peak, before) - cur)
"""


WORKLOADS = {
    "mlp": "MLP 4096×4 layers, batch 512, forward+backward",
    "deep": "48 × (Linear 512, GELU, LayerNorm), batch 2048, forward+backward",
    "deep-ckpt": "the same, checkpoint_sequential in 4 segments",
}


def measure(fw: str, workload: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, fw, workload], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # MiB


if __name__ == "__main__":
    print("| workload | nabla | PyTorch | nabla / PyTorch |")
    print("| --- | --- | --- | --- |")
    for workload in sys.argv[1:] or WORKLOADS:
        runs = {fw: [measure(fw, workload) for _ in range(3)] for fw in ("nabla", "torch")}
        n, t = min(runs["nabla"]), min(runs["torch"])
        print(f"| peak RSS growth, {WORKLOADS[workload]} | {n:.0f} MiB | {t:.0f} MiB | "
              f"{n / t:.2f} |")
