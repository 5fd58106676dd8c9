"""Shape ops: reshape, permute, broadcast, and the ops built from them."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {list(shape)} is invalid for input of shape {tuple(x.shape)} "
                f"({x.size} elements)") from None

    def vjp(self, g):
        return g.reshape(self.in_shape)

    def jvp(self, t):
        return t.reshape(self.out.shape)


class Permute(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, dims):
        if sorted(dims) != list(range(x.ndim)):
            raise RuntimeError(f"permute: dims {list(dims)} are not a permutation of the "
                               f"{x.ndim} dimensions of a tensor of shape {tuple(x.shape)}")
        self.dims = dims
        return x.transpose(dims)

    def vjp(self, g):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return g.permute(inverse)

    def jvp(self, t):
        return t.permute(self.dims)


class BroadcastTo(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, shape):
        try:
            return self.xp.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"expand: tensor of shape {tuple(x.shape)} cannot be broadcast "
                               f"to shape {tuple(shape)}") from None

    def vjp(self, g):
        return g  # the engine sums over the broadcast axes

    def jvp(self, t):
        return t.broadcast_to(self.out.shape)


def _norm_dim(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimensions (expected to be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return dim % max(ndim, 1)


def reshape(input: Tensor, *shape) -> Tensor:
    shape = _shape_arg(shape)
    if shape == input.shape:
        return input
    return Reshape.apply(input, shape=shape)


def permute(input: Tensor, *dims) -> Tensor:
    dims = tuple(_norm_dim(d, input.ndim, "permute") for d in _shape_arg(dims))
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input.ndim
    dim0, dim1 = _norm_dim(dim0, n, "transpose"), _norm_dim(dim1, n, "transpose")
    if n < 2 or dim0 == dim1:
        return input
    dims = list(range(n))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(input, dims=tuple(dims))


def broadcast_to(input: Tensor, *shape) -> Tensor:
    shape = _shape_arg(shape)
    if shape == input.shape:
        return input
    return BroadcastTo.apply(input, shape=shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """Like PyTorch: -1 keeps a dimension's size."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                           f"number of dimensions ({input.ndim})")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(input, shape)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dimensions (only ``dim`` when given; a no-op if it is not size 1)."""
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {_norm_dim(d, input.ndim, "squeeze") for d in dims}
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in dims and n == 1))
    return reshape(input, shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (negative counts from the new end)."""
    dim = _norm_dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape[:dim] + (1,) + input.shape[dim:]
    return reshape(input, shape)


def _T(self: Tensor) -> Tensor:
    """Reverse all dimensions (``x.T``)."""
    return permute(self, tuple(range(self.ndim - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    return transpose(self, -2, -1)


TENSOR_METHODS = {
    "reshape": reshape, "view": reshape, "squeeze": squeeze, "unsqueeze": unsqueeze, "permute": permute, "transpose": transpose,
    "broadcast_to": broadcast_to, "expand": expand,
    "expand_as": lambda self, other: broadcast_to(self, other.shape),
    "view_as": lambda self, other: reshape(self, other.shape),
    "reshape_as": lambda self, other: reshape(self, other.shape),
    "T": property(_T), "mT": property(_mT),
    "t": lambda self: transpose(self, 0, 1) if self.ndim == 2 else self,
}

__all__ = ["squeeze", "unsqueeze", "reshape", "permute", "transpose", "broadcast_to", "expand"]
