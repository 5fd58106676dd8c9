"""Peak memory of one forward+backward of a large MLP, nabla against PyTorch.

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
fw = sys.argv[1]
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
h = tx
for i, w in enumerate(params):
    h = h @ w
    if i < len(params) - 1:
        h = relu(h)
loss = ce(h, ty)
loss.backward()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(max(peak, before) - cur)
"""


def measure(fw: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, fw], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # MiB


if __name__ == "__main__":
    runs = {fw: [measure(fw) for _ in range(3)] for fw in ("nabla", "torch")}
    n, t = min(runs["nabla"]), min(runs["torch"])
    print("| workload | nabla | PyTorch | nabla / PyTorch |")
    print("| --- | --- | --- | --- |")
    print(f"| peak RSS growth, MLP 4096×4 layers, batch 512, forward+backward | {n:.0f} MiB | "
          f"{t:.0f} MiB | {n / t:.2f} |")
