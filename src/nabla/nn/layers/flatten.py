"""``Flatten`` and ``Unflatten``: reshape modules for between conv and linear layers."""
from __future__ import annotations

import math
import numbers

from ...ops.shape import flatten, unflatten
from ...tensor import Tensor
from ..module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim``: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: (N, 12) -> (N, 3, 4) with
    ``Unflatten(1, (3, 4))``; one size may be -1."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return unflatten(input, self.dim, self.unflattened_size)

    def _check_input(self, input: Tensor) -> None:
        """Name the layer when ``input`` cannot be split (sizes only, no array work)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._head()}: expected a Tensor, got {type(input).__name__}")
        ndim, dim, sizes = input.ndim, self.dim, self.unflattened_size
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"{self._head()}: dim must be an int, got {type(dim).__name__}")
        if ndim == 0:
            raise RuntimeError(f"{self._head()}: cannot unflatten a 0-d tensor (shape ())")
        if not -ndim <= dim < ndim:
            raise IndexError(f"{self._head()}: dim={dim} is out of range for an input of "
                             f"shape {tuple(input.shape)} (expected to be in [{-ndim}, "
                             f"{ndim - 1}])")
        inferred = sizes.count(-1)
        if inferred > 1 or any(s < -1 for s in sizes):
            raise RuntimeError(f"{self._head()}: unflattened_size may hold at most one -1 and "
                               f"no other negative size")
        n = input.shape[dim]
        known = math.prod(s for s in sizes if s != -1)
        if inferred and known == 0:
            raise RuntimeError(f"{self._head()}: cannot infer the -1 in unflattened_size: the "
                               f"other sizes multiply to 0 (input of shape "
                               f"{tuple(input.shape)})")
        if (n % known if inferred else n != known):
            wanted = f"a multiple of {known}" if inferred else f"{known}"
            raise RuntimeError(f"{self._head()}: expected dimension {dim} of size {wanted}, "
                               f"got {n} (input of shape {tuple(input.shape)})")

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


__all__ = ["Flatten", "Unflatten"]
