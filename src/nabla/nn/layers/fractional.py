"""``FractionalMaxPool2d`` / ``FractionalMaxPool3d`` (Graham, "Fractional Max-Pooling",
2014), over ``F.fractional_max_pool2d/3d``.

Windows of ``kernel_size`` at pseudo-random starts, ``output_size`` of them per spatial
dimension (or ``int(size * output_ratio)``). The starts come from ``_random_samples``
(N, C, nd) in [0, 1) when given (a buffer, as in PyTorch: with the same samples the
output is PyTorch's), else fresh ones from nabla's default generator at every call.
"""
from __future__ import annotations

import numbers

from ...ops.pool import fractional_max_pool2d, fractional_max_pool3d
from ...tensor import Tensor
from ..module import Module


class _FractionalMaxPoolNd(Module):
    _nd = 0

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples: Tensor | None = None):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        kernel = _tuple(kernel_size, nd)
        if any(not isinstance(k, numbers.Integral) or k <= 0 for k in kernel):
            raise ValueError(f"{name}: kernel_size must be greater than 0, but got "
                             f"{kernel_size}")
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a "
                             f"pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be "
                             f"specified")
        self.kernel_size, self.return_indices = kernel, return_indices
        self.output_size = None if output_size is None else _tuple(output_size, nd)
        self.output_ratio = None if output_ratio is None else _tuple(output_ratio, nd)
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got "
                             f"{output_ratio})")
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, input: Tensor):
        pool = fractional_max_pool2d if self._nd == 2 else fractional_max_pool3d
        return pool(input, self.kernel_size, self.output_size, self.output_ratio,
                    self.return_indices, _random_samples=self._random_samples)


def _tuple(value, nd: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, H, W) or (C, H, W); ``_random_samples`` is
    (N, C, 2), ordered (W, H) as in PyTorch."""
    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W); ``_random_samples`` is
    (N, C, 3), ordered (D, H, W)."""
    _nd = 3


__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]
