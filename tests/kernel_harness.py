"""What the kernel tests share (``tests/test_kernels*.py``).

- ``emulated`` (a fixture, registered in conftest.py): the kernels' Python side runs on
  NumPy arrays; ``usable`` says yes to them, and each launch is checked against the
  kernel's parameter list and runs the kernel's CUDA source on the host under the
  emulator of ``cuda_emu.h``. Each kernel family is built on its own (the shared header
  plus the family's fragment), so a family under construction cannot break the others.
- ``record_launches``: the names of the kernels launched from then on.
- ``values_and_grads`` / ``both``: an op's value and input gradients, and on a GPU the
  same with the kernels on and off (``nabla.backends.cuda.fused_kernels``).
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import nabla as nb
from nabla.backends import cuda as cuda_switches
from nabla.kernels import _build
from tests import cuda_emu

CUDA = nb.backend.cuda_is_available()
gpu = pytest.mark.skipif(not CUDA, reason="no CUDA GPU")

_emulators: dict = {}  # (fragment, half) -> cuda_emu.Emulator


def emulator(name: str, dtype) -> cuda_emu.Emulator:
    """The host build of the family that defines kernel ``name``, for ``dtype``."""
    fragment = _build.FAMILY[name]
    half = np.dtype(dtype) == np.float16
    key = (fragment, half)
    if key not in _emulators:
        names = [k for k, f in _build.FAMILY.items() if f is fragment]
        if half:
            wanted = {k: ["__half"] for k in names if k in _build.HALF_KERNELS}
        else:
            wanted = {k: ["float", "double"] for k in names if k in _build.KERNELS}
        _emulators[key] = cuda_emu.build(_build.HEADER + fragment, wanted,
                                         prefix="#define NB_HALF 1\n" if half else "")
    return _emulators[key]


@pytest.fixture
def emulated(monkeypatch):
    monkeypatch.setattr(_build, "backend", types.SimpleNamespace(_cupy=np))
    monkeypatch.setattr(_build, "_module", lambda half: object())
    monkeypatch.setattr(_build, "function", lambda name, dtype: lambda grid, block, args:
                        emulator(name, dtype).launch(name, dtype, grid, block, args))


def record_launches(monkeypatch) -> list:
    """The names of the kernels launched from now on (through the patched ``function``)."""
    calls, launch = [], _build.function
    monkeypatch.setattr(_build, "function",
                        lambda name, dtype: calls.append(name) or launch(name, dtype))
    return calls


def values_and_grads(fn, arrays, device="cpu"):
    """[fn's value, its gradient with respect to each input] as NumPy arrays, for a fixed
    random output cotangent."""
    x = [nb.tensor(a, device=device, requires_grad=True) for a in arrays]
    y = fn(*x)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype)
    grads = nb.autograd.grad([y], x, grad_outputs=[nb.tensor(g, device=device)])
    return [y.detach().numpy()] + [d.numpy() for d in grads]


def both(fn, arrays):
    """(values, grads) of fn on cuda with the kernels on, and with them off."""
    runs = []
    for fused in (True, False):
        cuda_switches.fused_kernels = fused
        try:
            value, *grads = values_and_grads(fn, arrays, "cuda")
            runs.append((value, grads))
        finally:
            cuda_switches.fused_kernels = True
    return runs
