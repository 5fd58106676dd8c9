"""Tensor methods that belong to no larger family: bit shifts and in-place bitwise
ops, ``as_strided``, the ``unsafe_`` split aliases, ``new_empty_strided`` and
``resize_``.

nabla's ``as_strided`` reads the tensor's *logical* layout: the elements in
row-major order as if the tensor were contiguous (strides and offset counted in
elements), whatever its memory layout. That is PyTorch's result for a contiguous
tensor; for a transposed or sliced one PyTorch reads its underlying storage
instead. The result is a copy (not a view); its gradient scatter-adds back into
the input's shape, so elements read twice get both contributions.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from .elementwise import _nograd, _operator, _pair, bitwise_and, bitwise_not, bitwise_or, \
    bitwise_xor
from .index import _index
from .shape import chunk, split, split_with_sizes


# -- bit shifts ----------------------------------------------------------------------------
def _shift(name: str, ufunc: str):
    def op(input, other) -> Tensor:
        a, b = _pair(input, other)
        for t in (a, b):
            if t.dtype.kind not in "iu":
                raise RuntimeError(f"{name}: expected integer tensors, got dtype {t.dtype}")
        return _nograd(ufunc, a, b, op=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Elementwise {name} of integer tensors, broadcasting (no gradient). As in "
                  f"PyTorch, shifting by the bit width or more gives 0 (-1 for a negative "
                  f"number shifted right).")
    return op


bitwise_left_shift = _shift("bitwise_left_shift", "left_shift")
bitwise_right_shift = _shift("bitwise_right_shift", "right_shift")


# -- as_strided --------------------------------------------------------------------------
def _int_tuple(op: str, name: str, values) -> tuple:
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{op}: {name} must be a sequence of ints, got {values!r}")
    return tuple(int(v) for v in values)


def _strided_offsets(xp, size: tuple, stride: tuple, offset: int):
    """The flat (row-major) position of every element of the strided result."""
    flat = xp.full(size, offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        flat = flat + (xp.arange(n, dtype=np.int64) * s).reshape(shape)
    return flat


def as_strided(input: Tensor, size, stride, storage_offset: int = 0) -> Tensor:
    """The tensor of shape ``size`` whose element (i0, i1, ...) is element number
    ``storage_offset + i0 * stride[0] + i1 * stride[1] + ...`` of ``input`` read in
    row-major order (strides in elements; see the module docstring). A copy; the
    gradient adds back into every element read."""
    size = _int_tuple("as_strided", "size", size)
    stride = _int_tuple("as_strided", "stride", stride)
    offset = _int_tuple("as_strided", "storage_offset", storage_offset)[0]
    if len(size) != len(stride):
        raise RuntimeError(f"as_strided: size {size} and stride {stride} must have the same "
                           f"length")
    if any(n < 0 for n in size) or any(s < 0 for s in stride) or offset < 0:
        raise RuntimeError(f"as_strided: size, stride and storage_offset must be "
                           f"non-negative, got size {size}, stride {stride}, offset {offset}")
    numel = input.numel()
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= numel:
            raise RuntimeError(f"as_strided: size {size}, stride {stride} and offset {offset} "
                               f"reach element {last}, past the {numel} elements of the input "
                               f"of shape {tuple(input.shape)}")
    xp = backend.get_array_module(input.array)
    return _index(input.reshape(-1), (_strided_offsets(xp, size, stride, offset),))


# -- new_empty_strided and resize_ -------------------------------------------------------
def _new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                       requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of shape ``size`` laid out with ``stride`` (in elements)
    in fresh memory, ``self``'s dtype and device unless given."""
    size = _int_tuple("new_empty_strided", "size", size)
    stride = _int_tuple("new_empty_strided", "stride", stride)
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"new_empty_strided: size {size} and stride {stride} must be "
                           f"non-negative and of the same length")
    dtype = backend.as_dtype(dtype) if dtype is not None else self.dtype
    xp = (backend.device(device) if device is not None else self.device).xp
    extent = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    buffer = xp.empty(extent, dtype=dtype)
    itemsize = np.dtype(dtype).itemsize
    out = Tensor._wrap(xp.lib.stride_tricks.as_strided(
        buffer, size, tuple(s * itemsize for s in stride)))
    return out.requires_grad_() if requires_grad else out


def _resize_(self: Tensor, *sizes) -> Tensor:
    """Give this tensor the shape ``sizes`` in place, keeping its elements in row-major
    order: shrinking keeps the first ones (in the same memory, so growing back within it
    brings them back, as in PyTorch); growing past the memory copies them into new
    memory whose other elements are zero (PyTorch leaves them uninitialised). Only for
    tensors that do not require grad."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = _int_tuple("resize_", "size", sizes)
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"resize_: sizes must be non-negative, got {sizes}")
    if self.requires_grad and STATE.grad_enabled:
        raise RuntimeError(f"resize_: cannot resize a tensor that requires grad (shape "
                           f"{tuple(self.shape)}); resize a detached copy instead")
    numel = int(np.prod(sizes, dtype=np.int64))
    memory = _memory(self.array)
    if memory is not None and memory.size >= numel:
        self.array = memory[:numel].reshape(sizes)
    else:
        xp = backend.get_array_module(self.array)
        grown = xp.zeros(numel, dtype=self.dtype)
        kept = min(numel, self.numel())
        grown[:kept] = self.array.reshape(-1)[:kept]
        self.array = grown.reshape(sizes)
    self._version[0] += 1
    return self


def _memory(array):
    """The flat, contiguous memory ``array`` starts at the beginning of (as a 1-D view),
    or None when ``array`` is not such a row-major prefix of it."""
    root = array
    while isinstance(getattr(root, "base", None), type(array)):
        root = root.base
    if not (array.flags.c_contiguous and root.flags.c_contiguous
            and root.dtype == array.dtype and _start(root) == _start(array)):
        return None
    return root.reshape(-1)


def _start(array) -> int:
    if isinstance(array, np.ndarray):
        return int(array.__array_interface__["data"][0])
    return int(array.data.ptr)  # pragma: no cover - CuPy


def _resize_as_(self: Tensor, other: Tensor) -> Tensor:
    """``resize_`` to ``other``'s shape."""
    return _resize_(self, tuple(other.shape))


def _inplace(fn, name: str | None = None):
    """The in-place Tensor method ``x.fn_(...)`` (see ``Tensor._inplace``)."""
    name = name or fn.__name__ + "_"

    def method(self, *args):
        return self._inplace(fn, *args, _name=name)
    method.__name__ = method.__qualname__ = name
    return method


# other names PyTorch keeps for the split family (nabla's splits are views either way)
unsafe_chunk = chunk
unsafe_split = split
unsafe_split_with_sizes = split_with_sizes

TENSOR_METHODS = {
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "__lshift__": _operator(bitwise_left_shift), "__rshift__": _operator(bitwise_right_shift),
    "__rlshift__": _operator(bitwise_left_shift, True),
    "__rrshift__": _operator(bitwise_right_shift, True),
    "as_strided": as_strided, "new_empty_strided": _new_empty_strided,
    "resize_": _resize_, "resize_as_": _resize_as_,
    "unsafe_chunk": unsafe_chunk, "unsafe_split": unsafe_split,
    "unsafe_split_with_sizes": unsafe_split_with_sizes,
}
for _fn in (bitwise_left_shift, bitwise_right_shift, bitwise_and, bitwise_or, bitwise_xor,
            bitwise_not):
    TENSOR_METHODS[_fn.__name__ + "_"] = _inplace(_fn)
for _dunder, _fn in (("__ilshift__", bitwise_left_shift), ("__irshift__", bitwise_right_shift),
                     ("__iand__", bitwise_and), ("__ior__", bitwise_or),
                     ("__ixor__", bitwise_xor)):
    TENSOR_METHODS[_dunder] = _inplace(_fn, _dunder)

__all__ = ["bitwise_left_shift", "bitwise_right_shift", "as_strided", "unsafe_chunk",
           "unsafe_split", "unsafe_split_with_sizes"]
