"""Indexing: ``x[...]``, and the scatter/gather family."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor


def normalize_index(index, data):
    """Turn a user index (ints, slices, Ellipsis, None, Tensors, arrays, lists)
    into one NumPy/CuPy can apply to ``data``."""
    from ..backend import get_array_module
    xp = get_array_module(data)
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
            if item.dtype == object or item.dtype.kind not in "iub":
                raise IndexError(f"index: a list index must hold integers or bools, got "
                                 f"{item.dtype}")
        if hasattr(item, "dtype") and hasattr(item, "ndim"):
            if item.dtype.kind not in "iub":
                raise IndexError(f"index: tensors used as indices must be integer or bool, "
                                 f"got dtype {item.dtype}")
            item = xp.asarray(item)
        out.append(item)
    return tuple(out)


def _is_basic(index: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer))
               for i in index)


class _IndexBase(Function):
    uses_inputs = False

    def forward(self, x, index):
        self.index, self.in_shape = index, x.shape
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None

    def vjp(self, g):
        return IndexAddInto.apply(g, index=self.index, shape=self.in_shape)

    def jvp(self, t):
        return _IndexBase.apply(t, index=self.index)


class BasicIndex(_IndexBase):
    """Slicing with ints, slices, None and Ellipsis: a view."""
    is_view = True


class AdvancedIndex(_IndexBase):
    """Integer-array or boolean-mask indexing: a copy."""


class IndexAddInto(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeated indices accumulate)."""
    uses_inputs = False

    def forward(self, g, index, shape):
        self.index = index
        out = self.xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            self.xp.add.at(out, index, g)
        return out

    def vjp(self, gg):
        return _index(gg, self.index)

    def jvp(self, t):
        return IndexAddInto.apply(t, index=self.index, shape=self.out.shape)


def _index(x: Tensor, index: tuple) -> Tensor:
    cls = BasicIndex if _is_basic(index) else AdvancedIndex
    return cls.apply(x, index=index)


def getitem(input: Tensor, index) -> Tensor:
    return _index(input, normalize_index(index, input.data))


TENSOR_METHODS = {"__getitem__": getitem}

__all__ = []
