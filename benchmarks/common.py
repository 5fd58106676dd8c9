"""Timing side by side with PyTorch, honestly on a noisy machine.

The machines switch between fast and slow states for minutes at a time, so
the two frameworks are never timed in separate runs: ``compare`` interleaves
short blocks (nabla, torch, nabla, torch, ...) in one process and reports the
median of the per-block ratios, next to each side's median time.
"""
from __future__ import annotations

import os
import statistics
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
