"""``nabla.random``: the default generator's seed and state, as ``torch.random``.

nabla has one default stream (``nabla.backend.default_generator``) for every device: on
CUDA the numbers are drawn on the host and moved, so there is no per-GPU state to save,
and ``fork_rng`` saves and restores that one stream whatever ``devices`` it is given.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from .backend import (default_generator, get_rng_state, initial_seed,
                      manual_seed, set_rng_state)

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "fork_rng", "default_generator"]


def seed() -> int:
    """Seed the default generator from the operating system's entropy; return that seed."""
    return default_generator.seed()


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:
    """Run the block with its own random stream: on exit, the default generator's state
    (and seed) is what it was on entry, so draws inside do not change what comes after.

    ``enabled=False`` makes it do nothing. ``devices`` and ``device_type`` are accepted
    for PyTorch's signature: nabla's one stream serves every device.
    """
    if not enabled:
        yield
        return
    state, initial = get_rng_state(), default_generator._seed
    try:
        yield
    finally:
        set_rng_state(state)
        default_generator._seed = initial

