"""Reductions: sum, mean and the ops built on them."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


def _axes(dim, ndim: int, op: str):
    """Normalise ``dim`` (None, int or tuple; negative allowed) to a sorted tuple."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    axes = []
    for d in dim:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} "
                             f"dimensions")
        axes.append(d % max(ndim, 1))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dimension repeated in dim={dim}")
    return tuple(sorted(a for a in axes if a < ndim))


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced axes set to 1 (the keepdim shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    uses_inputs = False

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdim)

    def vjp(self, g):
        g = g.reshape(_kept_shape(self.in_shape, self.axes))
        return g.broadcast_to(self.in_shape)

    def jvp(self, t):
        return t.sum(dim=self.axes, keepdim=self.out.ndim == len(self.in_shape))


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default)."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bi" and input.dtype.itemsize < 8:
        input = input.long()  # as in PyTorch, integer sums accumulate in int64
    axes = _axes(dim, input.ndim, "sum")
    return Sum.apply(input, axes=axes, keepdim=keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise RuntimeError(f"mean: expected a floating-point input, got dtype {input.dtype}; "
                           f"pass dtype= or convert with .float()")
    axes = _axes(dim, input.ndim, "mean")
    count = 1
    for a in axes:
        count *= input.shape[a]
    return Sum.apply(input, axes=axes, keepdim=keepdim) * (1.0 / count if count else float("nan"))


TENSOR_METHODS = {"sum": sum, "mean": mean}

__all__ = ["sum", "mean"]
