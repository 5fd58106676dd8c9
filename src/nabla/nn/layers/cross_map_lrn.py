"""``CrossMapLRN2d``: Lua Torch's cross-channel local response normalization of
(N, C, H, W), kept by PyTorch beside ``LocalResponseNorm``.

    b_c = a_c * (k + alpha / size * s_c) ** -beta

where, with p = (size - 1) // 2 + 1, s_c sums a_j^2 over channels
j in [c - p + 1, c + p - 1] and, always, channel 0. That last term is PyTorch's forward
as it stands (its running window never drops channel 0), so ``LocalResponseNorm`` (a
window of exactly ``size`` channels) gives different values. The values here are
PyTorch's; the gradients are the exact derivatives of those values, whereas PyTorch's
hand-written backward assumes a shifted window and fails its own gradcheck.
"""
from __future__ import annotations

from ...ops.creation import zeros_like
from ...ops.shape import cat, pad
from ...tensor import Tensor
from ..module import Module


def _cross_map_lrn2d(input: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
    if not isinstance(input, Tensor) or input.ndim != 4:
        got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"CrossMapLRN2d({size}): expected a 4D input (N, C, H, W), got "
                         f"{got}")
    channels, reach = input.shape[1], (size - 1) // 2
    squares = input * input
    first = squares.narrow(1, 0, 1)                                      # (N, 1, H, W)
    rest = cat([zeros_like(first), squares.narrow(1, 1, channels - 1)], dim=1)   # channel 0 zeroed
    padded = pad(rest, (0, 0, 0, 0, reach, reach))                       # (N, C + 2r, H, W)
    window = first + padded.narrow(1, 0, channels)
    for j in range(1, 2 * reach + 1):
        window = window + padded.narrow(1, j, channels)
    return input * (window * (alpha / size) + k) ** -beta


class CrossMapLRN2d(Module):
    """Cross-channel response normalization of (N, C, H, W) (see the module docstring)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__()
        if size < 1:
            raise ValueError(f"CrossMapLRN2d: size must be a positive integer, got {size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return _cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = ["CrossMapLRN2d"]
