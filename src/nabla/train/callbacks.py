"""Callbacks: code the fit loop calls at fixed points of a run.

Each hook receives the ``TrainState`` (model, optimizer, scheduler, loaders,
``history``, ``epoch`` = epochs completed, ``stop_training``). Callbacks keep no
state that the history cannot rebuild: on ``on_fit_start`` they recompute their
best values from it, so a resumed run behaves like an uninterrupted one.
"""
from __future__ import annotations

import math
import os

from .checkpoint import save_checkpoint
from .logging import plot_curves, write_csv

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "CurvePlotter"]


class Callback:
    """Base class: override the hooks you need."""

    def on_fit_start(self, state) -> None:
        pass

    def on_epoch_start(self, state) -> None:
        pass

    def on_batch_end(self, state, batch: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, state, logs: dict) -> None:
        pass

    def on_fit_end(self, state) -> None:
        pass


def _resolve_mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "min" if "loss" in monitor else "max"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class _Monitor:
    """Tracks the best value of one history entry."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        self.monitor, self.mode = monitor, _resolve_mode(monitor, mode)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def value(self, logs: dict, owner: str):
        if self.monitor not in logs:
            raise KeyError(f"{owner}: monitored metric {self.monitor!r} is not logged; "
                           f"available: {', '.join(sorted(logs))} (val_* needs a val_loader)")
        return logs[self.monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto",
                 min_delta: float = 0.0):
        self._tracker = _Monitor(monitor, mode, min_delta)
        self.monitor, self.mode, self.patience = monitor, self._tracker.mode, patience
        self.wait = 0
        self.stopped_epoch = None

    def on_fit_start(self, state) -> None:
        # replay the history so a resumed run counts patience from where it was
        self._tracker.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        for value in state.history.get(self.monitor, []):
            self._step(value)

    def _step(self, value: float) -> None:
        if self._tracker.improved(value):
            self._tracker.best, self.wait = value, 0
        else:
            self.wait += 1

    def on_epoch_end(self, state, logs: dict) -> None:
        self._step(self._tracker.value(logs, "EarlyStopping"))
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch

    @property
    def best(self) -> float:
        return self._tracker.best


class ModelCheckpoint(Callback):
    """Save full training checkpoints into ``dirpath``.

    Always writes ``last.safetensors`` (what ``--resume`` reads); writes
    ``best.safetensors`` when ``monitor`` improves (if the metric is logged); and,
    unless ``save_best_only``, ``epoch_{N:03d}.safetensors`` every
    ``every_n_epochs`` epochs. ``meta`` is stored with every checkpoint.
    """

    def __init__(self, dirpath: str, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, every_n_epochs: int = 1,
                 meta: dict | None = None):
        if every_n_epochs < 1:
            raise ValueError(f"ModelCheckpoint: every_n_epochs must be >= 1, got "
                             f"{every_n_epochs}")
        self.dirpath = dirpath
        self._tracker = _Monitor(monitor, mode)
        self.monitor, self.save_best_only = monitor, save_best_only
        self.every_n_epochs, self.meta = every_n_epochs, dict(meta or {})
        self.last_path = os.path.join(dirpath, "last.safetensors")
        self.best_path = os.path.join(dirpath, "best.safetensors")
        self.saved: list[str] = []

    def on_fit_start(self, state) -> None:
        tracker = self._tracker
        tracker.best = math.inf if tracker.mode == "min" else -math.inf
        for value in state.history.get(self.monitor, []):
            if tracker.improved(value):
                tracker.best = value

    def _save(self, state, path: str) -> None:
        save_checkpoint(path, state.model, state.optimizer, state.scheduler, state.epoch,
                        state.history, loaders=(state.train_loader,),
                        meta={**self.meta, **state.meta}, scaler=state.scaler)
        self.saved.append(path)

    def on_epoch_end(self, state, logs: dict) -> None:
        value = logs.get(self.monitor)
        if value is not None and self._tracker.improved(value):
            self._tracker.best = value
            self._save(state, self.best_path)
        if not self.save_best_only and state.epoch % self.every_n_epochs == 0:
            self._save(state, os.path.join(self.dirpath, f"epoch_{state.epoch:03d}.safetensors"))
        self._save(state, self.last_path)

    @property
    def best(self) -> float:
        return self._tracker.best


class CSVLogger(Callback):
    """Rewrite ``path`` after every epoch: one row per epoch, one column per metric."""

    def __init__(self, path: str):
        self.path = path

    def on_epoch_end(self, state, logs: dict) -> None:
        write_csv(state.history, self.path)


class CurvePlotter(Callback):
    """Draw loss / accuracy curves (train and validation) into a PNG at ``path``:
    at the end of the run, and every ``every_n_epochs`` epochs if given."""

    def __init__(self, path: str, every_n_epochs: int | None = None, title: str | None = None):
        self.path, self.every_n_epochs, self.title = path, every_n_epochs, title
        self.written: str | None = None

    def on_epoch_end(self, state, logs: dict) -> None:
        if self.every_n_epochs and state.epoch % self.every_n_epochs == 0:
            self.written = plot_curves(state.history, self.path, self.title)

    def on_fit_end(self, state) -> None:
        if state.history.get("epoch"):
            self.written = plot_curves(state.history, self.path, self.title)
