"""Training records on disk: a CSV log (one row per epoch) and a PNG of the curves.

Both are rewritten whole from the history at every call, so a resumed run
(whose history holds the earlier epochs) produces one complete file.
matplotlib is optional (the ``viz`` extra): without it the PNG is skipped with a
warning, never an error.
"""
from __future__ import annotations

import csv
import math
import os
import warnings

__all__ = ["write_csv", "plot_curves"]


def write_csv(history: dict, path: str) -> str:
    """Write ``history`` (metric name -> list, one entry per epoch) as CSV; returns path."""
    keys = list(history)
    rows = max((len(history[k]) for k in keys), default=0)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(keys)
        for i in range(rows):
            writer.writerow([_cell(history[k][i]) if i < len(history[k]) else "" for k in keys])
    os.replace(tmp, path)  # readers never see half a file
    return path


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _curve_groups(history: dict) -> list[str]:
    """Metric names with a curve to draw (``loss``, ``accuracy``, ...), train before val."""
    skip = {"epoch", "lr", "time"}
    names = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base not in skip and base not in names:
            names.append(base)
    return names


def plot_curves(history: dict, path: str, title: str | None = None) -> str | None:
    """Draw one panel per metric (train and validation curves) into a PNG at ``path``.

    Returns the path, or None (with a warning) when matplotlib is not installed.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: never open a window or need a display
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("plot_curves: matplotlib is not installed (pip install 'nabla[viz]'); "
                      f"skipping {path}", RuntimeWarning, stacklevel=2)
        return None
    names = _curve_groups(history)
    if not names:
        return None
    longest = max(len(v) for v in history.values())
    epochs = history.get("epoch") or list(range(1, longest + 1))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            values = history.get(key)
            if values and any(not math.isnan(v) for v in values):
                ax.plot(epochs[:len(values)], values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
