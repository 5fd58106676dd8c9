"""Tensor constructors: ``tensor``, ``zeros``, ``arange``, ... and their ``*_like``."""
from __future__ import annotations

import numpy as np

from .. import backend, runtime
from ..tensor import Tensor


def _place(array, dtype, device, requires_grad: bool) -> Tensor:
    dev = backend.device(device) if device is not None else runtime.default_device
    if dtype is not None:
        array = array.astype(backend.as_dtype(dtype), copy=False)
    t = Tensor._wrap(backend.to_device(array, dev))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer(data, dtype=None) -> np.ndarray:
    """``data`` as a NumPy array; Python numbers take ``dtype`` when given (read straight
    into it: ``[0.2]`` as float64 is never rounded through float32), else floats the
    default float dtype, complex numbers its complex counterpart (complex64 for float32)
    and integers int64."""
    if isinstance(data, Tensor):
        return backend.to_device(data.array, backend.CPU)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data)
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        return np.stack([_infer(d) for d in data])
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"tensor: could not build an array from the data ({e})") from None
    if arr.dtype == object or backend.dtype_kind(arr.dtype) in "USV":
        raise TypeError(f"tensor: unsupported data of type {type(data).__name__} "
                        f"(ragged nested sequences or non-numeric objects)")
    if dtype is not None and backend.dtype_kind(arr.dtype) in "fiu":
        arr = arr.astype(backend.as_dtype(dtype))
    elif backend.dtype_kind(arr.dtype) == "f":
        arr = arr.astype(backend.get_default_dtype())
    elif arr.dtype.kind == "c":
        target = backend.complex_dtype(backend.get_default_dtype()) if dtype is None else \
            backend.as_dtype(dtype)
        if target.kind != "c":
            raise TypeError(f"tensor: complex data cannot be stored in dtype {target}; use "
                            f"a complex dtype or take .real first")
        arr = arr.astype(target)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return arr


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays).

    Python floats become float32 (the default dtype), Python ints int64,
    NumPy arrays keep their dtype -- as in PyTorch.
    """
    if isinstance(data, Tensor) and device is None:
        device = data.device
    arr = np.array(_infer(data, dtype), copy=True)
    return _place(arr, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and device is None and (dtype is None or data.dtype == dtype):
        return Tensor._wrap(data)
    return _place(_infer(data, dtype), dtype, device, False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _xp(device):
    return backend.device(device if device is not None else runtime.default_device).xp


def _build(fn, size, dtype, device, requires_grad, *args):
    dt = backend.as_dtype(dtype)
    dev = backend.device(device if device is not None else runtime.default_device)
    with _on(dev):
        arr = fn(*args, _size(size), dtype=dt) if args else fn(_size(size), dtype=dt)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _on:
    """Select the CUDA device while allocating (a no-op on the CPU)."""

    def __init__(self, dev):
        self.ctx = dev.xp.cuda.Device(dev.index) if dev.type == "cuda" else None

    def __enter__(self):
        if self.ctx:
            self.ctx.__enter__()

    def __exit__(self, *exc):
        if self.ctx:
            self.ctx.__exit__(*exc)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _build(_xp(device).zeros, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _build(_xp(device).ones, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _build(_xp(device).empty, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = (backend.bool_ if isinstance(fill_value, bool) else backend.int64
                 if isinstance(fill_value, int) else backend.get_default_dtype())
    size = (size,) if isinstance(size, int) else tuple(size)
    xp = _xp(device)
    return _build(lambda shape, dtype: xp.full(shape, fill_value, dtype=dtype), (size,),
                  dtype, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.get_default_dtype()
    arr = np.arange(start, end, step).astype(backend.as_dtype(dtype))
    return _place(arr, None, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    arr = np.linspace(start, end, int(steps)).astype(backend.as_dtype(dtype))
    return _place(arr, None, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None) -> Tensor:
    arr = np.logspace(start, end, int(steps), base=base).astype(backend.as_dtype(dtype))
    return _place(arr, None, device, False)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    return _place(np.eye(n, m, dtype=backend.as_dtype(dtype)), None, device, requires_grad)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return empty(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def _new(fn):
    def method(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)
    return method


def _new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


TENSOR_METHODS = {
    "new_zeros": _new(zeros), "new_ones": _new(ones), "new_empty": _new(empty),
    "new_full": _new_full, "new_tensor": _new_tensor,
}

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange",
           "linspace", "logspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like"]
