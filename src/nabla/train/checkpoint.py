"""Checkpoints: everything a run needs to continue as if it had never stopped.

A checkpoint is one ``nabla.save`` file (safetensors payload + JSON structure,
never pickle) holding the model's state dict, the optimizer's and the
scheduler's, the epoch, the history, free-form ``meta`` (which model and
dataset, so ``nabla evaluate`` can rebuild it) and every random state the next
epoch will draw from: nabla's global generator (dropout masks, augmentation,
the default shuffling seed), the generator of each DataLoader and sampler, and
NumPy's and Python's global streams for user code that reaches for them.
Restoring all of them is what makes 2 + 2 epochs bit-identical to 4.

Writes are atomic (``nabla.save`` writes a temporary file next to the
destination, fsyncs it and moves it over with ``os.replace``), so a run killed
while saving leaves the previous checkpoint whole.

Beside ``run/last.safetensors`` goes a JSON sidecar ``run/last.json`` (written the same
atomic way, after the checkpoint): the epoch, history, meta, the optimizer's
hyperparameters and the scheduler's state, for people and tools that want to read a
run without loading it. Loading reads the safetensors file alone, whose header holds
the whole tree.
"""
from __future__ import annotations

import json
import os
import random

import numpy as np

from .. import backend

__all__ = ["save_checkpoint", "load_checkpoint", "get_rng_states", "set_rng_states",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "nabla-checkpoint-v1"


def _serialization():
    try:
        from .. import serialization
    except ImportError as err:  # pragma: no cover - only while nabla.save is missing
        raise RuntimeError("checkpoints need nabla.save / nabla.load "
                           "(nabla.serialization), which is not available") from err
    return serialization


# -- random states ------------------------------------------------------------------------
def _loader_generators(loaders) -> dict:
    """The distinct ``nabla.Generator`` objects a DataLoader shuffles with, by path."""
    found, seen = {}, set()
    for i, loader in enumerate(loaders):
        if loader is None:
            continue
        candidates = {"generator": getattr(loader, "generator", None)}
        sampler = getattr(loader, "sampler", None)
        batch_sampler = getattr(loader, "batch_sampler", None)
        candidates["sampler.generator"] = getattr(sampler, "generator", None)
        candidates["batch_sampler.sampler.generator"] = getattr(
            getattr(batch_sampler, "sampler", None), "generator", None)
        for where, gen in candidates.items():
            if gen is not None and hasattr(gen, "get_state") and id(gen) not in seen:
                seen.add(id(gen))
                found[f"loader{i}.{where}"] = gen
    return found


def get_rng_states(loaders=()) -> dict:
    """Every random stream's state as JSON text (PCG64 states are 128-bit integers,
    which not every JSON reader keeps exact, so each state is one string)."""
    np_state = np.random.get_state()
    states = {
        "nabla": json.dumps(backend.get_rng_state()),
        "numpy": json.dumps([np_state[0], np_state[1].tolist(), *np_state[2:]]),
        "python": json.dumps(random.getstate()),
    }
    for name, gen in _loader_generators(loaders).items():
        states[name] = json.dumps(gen.get_state())
    return states


def set_rng_states(states: dict, loaders=()) -> None:
    """Restore what ``get_rng_states`` recorded (loader streams matched by position)."""
    if "nabla" in states:
        backend.set_rng_state(json.loads(states["nabla"]))
    if "numpy" in states:
        name, keys, *rest = json.loads(states["numpy"])
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    if "python" in states:
        version, internal, gauss = json.loads(states["python"])
        random.setstate((version, tuple(internal), gauss))
    for name, gen in _loader_generators(loaders).items():
        if name in states:
            gen.set_state(json.loads(states[name]))


# -- save / load --------------------------------------------------------------------------
def save_checkpoint(path: str, model, optimizer=None, scheduler=None, epoch: int = 0,
                    history: dict | None = None, loaders=(), meta: dict | None = None,
                    scaler=None) -> str:
    """Write model + optimizer + scheduler + RNG states + epoch + history (and a
    mixed-precision ``GradScaler``'s state) to ``path`` atomically; returns ``path``."""
    obj = {
        "format": CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "model": dict(model.state_dict()),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": get_rng_states(loaders),
        "history": {k: list(v) for k, v in (history or {}).items()},
        "meta": dict(meta or {}),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    serialization = _serialization()
    serialization.save(obj, path)  # atomic: temp file, fsync, os.replace
    sidecar = {"format": CHECKPOINT_FORMAT, "checkpoint": os.path.basename(path),
               "epoch": obj["epoch"], "history": obj["history"], "meta": obj["meta"],
               "optimizer": None if optimizer is None else
               [{k: v for k, v in g.items() if k != "params"}
                for g in obj["optimizer"].get("param_groups", [])],
               "scheduler": obj["scheduler"]}
    serialization._atomic_write(sidecar_path(path),
                                json.dumps(sidecar, indent=1, default=_plain).encode())
    return path


def sidecar_path(path: str) -> str:
    """``run/last.json`` for ``run/last.safetensors``: the checkpoint's JSON sidecar."""
    stem, ext = os.path.splitext(path)
    return (stem if ext == ".safetensors" else path) + ".json"


def _plain(value):
    """JSON for what the sidecar meets beyond JSON's types: NumPy scalars as numbers,
    anything else (an array in a scheduler's state) as a short description."""
    if isinstance(value, np.generic):
        return value.item()
    shape = getattr(value, "shape", None)
    return f"<{type(value).__name__} of shape {tuple(shape)}>" if shape is not None \
        else repr(value)


def load_checkpoint(path: str, model=None, optimizer=None, scheduler=None, loaders=(),
                    restore_rng: bool = True, strict: bool = True, scaler=None) -> dict:
    """Read a checkpoint; load each state into the objects given and, with
    ``restore_rng``, every random stream. Returns the checkpoint as a dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = _serialization().load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a nabla training checkpoint (no "
                         f"'format': {CHECKPOINT_FORMAT!r} entry); a bare state dict loads "
                         f"with model.load_state_dict(nabla.load(path))")
    if model is not None:
        model.load_state_dict(ckpt["model"], strict=strict)
    if optimizer is not None and ckpt.get("optimizer") is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and ckpt.get("scheduler") is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None and scaler.is_enabled() and ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    if restore_rng:
        set_rng_states(ckpt.get("rng") or {}, loaders)
    return ckpt
