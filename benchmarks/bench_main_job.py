"""Wall time of the main job, ``nabla train lenet``, against the same recipe in PyTorch.

The recipe (nabla's registered defaults for lenet): the bundled Digits
(1438 train / 359 test, standardised; every tenth training example held out for
validation, so 1295 / 143 / 359), 8x8 inputs upsampled to 32x32, LeNet-5 with
dropout 0.3, AdamW lr 2e-3, cosine annealing over 30 epochs, batch 32, label
smoothing 0.1, validation accuracy after every epoch, test accuracy at the end. Both run as fresh
processes, alternating, so import and start-up time count for both.

    python benchmarks/bench_main_job.py [repeats]
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

TORCH_JOB = r"""
import time, numpy as np, torch, torch.nn as nn
torch.set_num_threads(2)
torch.manual_seed(0)
from nabla.data.datasets import Digits
def arrays(train):
    ds = Digits(train=train)
    x = np.stack([np.asarray(ds[i][0].numpy()) for i in range(len(ds))])
    y = np.array([int(ds[i][1]) for i in range(len(ds))])
    return torch.tensor((x - 0.305) / 0.376, dtype=torch.float32), torch.tensor(y)
xall, yall = arrays(True)
held = np.arange(len(yall)) % 10 == 9          # nabla.train.tasks.holdout
xtr, ytr, xva, yva = xall[~held], yall[~held], xall[held], yall[held]
xte, yte = arrays(False)
model = nn.Sequential(
    nn.Upsample(size=(32, 32), mode="nearest"), nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3),
    nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.3), nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, 10))
opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=32,
                                     shuffle=True)
for epoch in range(30):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    sched.step()
    model.eval()
    with torch.no_grad():
        val = (model(xva).argmax(1) == yva).float().mean().item()
with torch.no_grad():
    acc = (model(xte).argmax(1) == yte).float().mean().item()
print(f"test accuracy {100 * acc:.2f}%")
"""


def run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=dict(os.environ, OMP_NUM_THREADS="2"))
    return time.perf_counter() - t0, out.stdout


def accuracy(stdout: str) -> str:
    for line in stdout.splitlines()[::-1]:
        if "accuracy" in line:
            return line.strip()
    return "?"


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tn, tt, ratios = [], [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeats):
            a, out_n = run([sys.executable, "-m", "nabla.cli", "train", "lenet", "--out", out,
                            "--no-progress"])
            b, out_t = run([sys.executable, "-c", TORCH_JOB])
            tn.append(a)
            tt.append(b)
            ratios.append(a / b)
    print(f"nabla: {accuracy(out_n)}; PyTorch: {accuracy(out_t)}")
    print("| workload | nabla | PyTorch | nabla / PyTorch |")
    print("| --- | --- | --- | --- |")
    print(f"| `nabla train lenet` (30 epochs on Digits), wall time | "
          f"{statistics.median(tn):.1f} s | {statistics.median(tt):.1f} s | "
          f"{statistics.median(ratios):.2f} |")
