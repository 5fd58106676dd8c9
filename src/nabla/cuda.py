"""``nabla.cuda``: the CUDA devices and their memory, over CuPy (as ``torch.cuda``).

Memory figures are CuPy's default memory pool: ``memory_allocated`` is what live
arrays hold, ``memory_reserved`` what the pool keeps from the driver (held blocks
are reused, as PyTorch's caching allocator does), ``empty_cache`` hands the unused
blocks back. The peak (``max_memory_allocated``) is tracked by a CuPy memory hook
that is installed by the first call to ``max_memory_allocated`` or
``reset_peak_memory_stats``, so the peak counts from then on (a hook costs a Python
call per allocation, which nabla does not impose on programs that never ask).

On a machine without CuPy or without a GPU ``is_available()`` is False,
``device_count()`` is 0, and everything else raises a RuntimeError that says so.
"""
from __future__ import annotations

import sys as _sys

from . import backend


def is_available() -> bool:
    """Whether CuPy is installed and sees at least one CUDA GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    if not is_available():
        return 0
    return int(backend._cupy.cuda.runtime.getDeviceCount())


def _cupy(what: str):
    if not is_available():
        why = "CuPy is not installed" if backend._cupy is None else "no CUDA GPU was found"
        raise RuntimeError(f"nabla.cuda.{what}: CUDA is not available ({why}); install the "
                           f"'gpu' extra on a machine with an NVIDIA GPU")
    return backend._cupy


def _index(device, what: str) -> int:
    cp = _cupy(what)
    if device is None:
        return int(cp.cuda.Device().id)
    dev = backend.Device(device) if not isinstance(device, int) else backend.Device("cuda", device)
    if dev.type != "cuda":
        raise ValueError(f"nabla.cuda.{what}: expected a CUDA device, got {dev}")
    if not 0 <= dev.index < device_count():
        raise RuntimeError(f"nabla.cuda.{what}: {dev} does not exist ({device_count()} "
                           f"CUDA device(s) here)")
    return dev.index


def current_device() -> int:
    return _index(None, "current_device")


def set_device(device) -> None:
    """Make ``device`` (an index, "cuda:N" or a Device) the current CUDA device."""
    _cupy("set_device").cuda.Device(_index(device, "set_device")).use()


def get_device_name(device=None) -> str:
    cp = _cupy("get_device_name")
    name = cp.cuda.runtime.getDeviceProperties(_index(device, "get_device_name"))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait until every kernel queued on ``device`` (default: the current one) is done."""
    cp = _cupy("synchronize")
    with cp.cuda.Device(_index(device, "synchronize")):
        cp.cuda.Stream.null.synchronize()
        cp.cuda.get_current_stream().synchronize()


def _pool_bytes(device, what: str, reserved: bool) -> int:
    cp = _cupy(what)
    with cp.cuda.Device(_index(device, what)):
        pool = cp.get_default_memory_pool()
        return int(pool.total_bytes() if reserved else pool.used_bytes())


def memory_allocated(device=None) -> int:
    """Bytes held by live CuPy arrays on ``device``."""
    return _pool_bytes(device, "memory_allocated", reserved=False)


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds on ``device`` (live arrays plus cached blocks)."""
    return _pool_bytes(device, "memory_reserved", reserved=True)


def empty_cache() -> None:
    """Give the pool's unused blocks (device and pinned host memory) back to the driver."""
    cp = _cupy("empty_cache")
    cp.get_default_memory_pool().free_all_blocks()
    cp.get_default_pinned_memory_pool().free_all_blocks()


_peak_hook = None


def _peaks(what: str):
    """The memory hook that records each device's peak, installed on first use."""
    global _peak_hook
    if _peak_hook is None:
        cp = _cupy(what)
        from cupy.cuda import memory_hook  # type: ignore

        class _PeakHook(memory_hook.MemoryHook):
            name = "NablaPeakHook"

            def __init__(self):
                self.peak = {}

            def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
                used = cp.get_default_memory_pool().used_bytes()
                if used > self.peak.get(device_id, 0):
                    self.peak[device_id] = used

        _peak_hook = _PeakHook()
        _peak_hook.__enter__()  # stays installed for the process (this thread)
    return _peak_hook


def max_memory_allocated(device=None) -> int:
    """The peak of ``memory_allocated`` since the last ``reset_peak_memory_stats`` (or
    since the first call to either; see the module docstring)."""
    index = _index(device, "max_memory_allocated")
    hook = _peaks("max_memory_allocated")
    return max(hook.peak.get(index, 0), memory_allocated(index))


def reset_peak_memory_stats(device=None) -> None:
    index = _index(device, "reset_peak_memory_stats")
    _peaks("reset_peak_memory_stats").peak[index] = memory_allocated(index)


# ``nabla.cuda.amp`` (``from nabla.cuda.amp import autocast, GradScaler`` too): PyTorch's
# deprecated spellings of ``nabla.amp``; they warn as PyTorch's do
from .amp.legacy import cuda_amp as amp  # noqa: E402

_sys.modules[__name__ + ".amp"] = amp

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name",
           "synchronize", "memory_allocated", "memory_reserved", "max_memory_allocated",
           "reset_peak_memory_stats", "empty_cache", "amp"]
