"""Timing side by side with PyTorch, honestly on a noisy machine.

The machines switch between fast and slow states for minutes at a time, so
the two frameworks are never timed in separate runs: ``compare`` interleaves
short blocks (nabla, torch, nabla, torch, ...) in one process and reports the
median of the per-block ratios, next to each side's median time.

Short blocks are not neutral, though: the first steps after a switch of framework pay
for caches and thread pools the other one left cold, and measured on the GPT step that
cost falls more on PyTorch (the GPT step: 1.03x in 0.5-s blocks against 1.11x in 8-s
turns; the MLP: 0.77-0.93x against 1.11x in 3-s turns). The training-step scripts
therefore take turns of several seconds (bench_train 3 s, bench_rnn 4 s, bench_gpt 8 s:
the steady state a training run is in); ``--turn SECONDS`` on their command line sets
another length.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402

torch.set_num_threads(2)


def _block(fn, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def _calibrate(fn, target_s: float) -> int:
    fn()
    reps, elapsed = 1, 0.0
    while True:
        elapsed = _block(fn, reps) * reps
        if elapsed >= target_s / 4:
            break
        reps *= 4
    return max(1, int(reps * target_s / max(elapsed, 1e-9)))


def turn_seconds(default: float) -> float:
    """The block length: ``--turn SECONDS`` from the command line (removed from sys.argv),
    else ``default``."""
    if "--turn" not in sys.argv:
        return default
    i = sys.argv.index("--turn")
    try:
        value = float(sys.argv[i + 1])
    except (IndexError, ValueError):
        sys.exit("--turn expects a number of seconds")
    del sys.argv[i:i + 2]
    return value


def compare(nabla_fn, torch_fn, blocks: int = 7, block_s: float = 0.15) -> dict:
    """Median seconds per call of each, and the median of block ratios nabla/torch."""
    reps_n = _calibrate(nabla_fn, block_s)
    reps_t = _calibrate(torch_fn, block_s)
    tn, tt, ratios = [], [], []
    for _ in range(blocks):
        a = _block(nabla_fn, reps_n)
        b = _block(torch_fn, reps_t)
        tn.append(a)
        tt.append(b)
        ratios.append(a / b)
    return {"nabla": statistics.median(tn), "torch": statistics.median(tt),
            "ratio": statistics.median(ratios)}


def train_step_pair(label: str, build, x, y, optimizer: str, atol: float = 1e-4, **opt_kwargs):
    """(nabla step, PyTorch step) of one training step -- zero_grad, forward,
    cross-entropy, backward, optimizer step -- of the model ``build(nn)`` makes from
    ``torch.nn`` and from ``nabla.nn``, PyTorch's initial weights copied into nabla's.
    One step of each is run and compared first: timing means nothing unless they agree."""
    import numpy as np

    import nabla as nb
    torch.manual_seed(0)
    t_model, n_model = build(torch.nn), build(nb.nn)
    n_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    tx, ty, nx, ny = torch.tensor(x), torch.tensor(y), nb.tensor(x), nb.tensor(y)
    t_opt = getattr(torch.optim, optimizer)(t_model.parameters(), **opt_kwargs)
    n_opt = getattr(nb.optim, optimizer)(n_model.parameters(), **opt_kwargs)
    t_loss, n_loss = torch.nn.CrossEntropyLoss(), nb.nn.CrossEntropyLoss()

    def step_t():
        t_opt.zero_grad()
        t_loss(t_model(tx), ty).backward()
        t_opt.step()

    def step_n():
        n_opt.zero_grad()
        n_loss(n_model(nx), ny).backward()
        n_opt.step()

    step_t()
    step_n()
    for (k, tv), nv in zip(t_model.state_dict().items(), n_model.state_dict().values()):
        np.testing.assert_allclose(nv.numpy(), tv.numpy(), rtol=1e-3, atol=atol,
                                   err_msg=f"{label}: {k} differs after one step")
    return step_n, step_t


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.2f} ms"


def table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| workload | nabla | PyTorch | nabla / PyTorch |", "| --- | --- | --- | --- |"]
    for name, r in rows:
        lines.append(f"| {name} | {fmt_time(r['nabla'])} | {fmt_time(r['torch'])} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines)
