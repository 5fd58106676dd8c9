"""Dropout layers: ``Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``.

Active in training mode only (``model.train()``); in eval mode they return
their input unchanged. Masks come from the generator seeded by
``nabla.manual_seed``.
"""
from __future__ import annotations

from ...ops.dropout import (alpha_dropout, dropout, dropout1d, dropout2d, dropout3d,
                            feature_alpha_dropout)
from ...tensor import Tensor
from ..module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _FeatureDropoutNd(_DropoutNd):
    """Channel dropout: the input's rank is checked here so that errors name the layer.
    ``_ndims`` lists the accepted ranks and ``_layouts`` describes them."""
    _ndims: tuple = ()
    _layouts: str = ""

    def _check_input(self, input: Tensor) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._head()}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in self._ndims:
            raise ValueError(f"{self._head()}: expected {self._layouts}, got "
                             f"{tuple(input.shape)}")


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p); any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_FeatureDropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``."""
    _ndims, _layouts = (2, 3), "a 2-D (C, L) or 3-D (N, C, L) input"

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_FeatureDropoutNd):
    """Zero whole channels of (N, C, H, W) with probability ``p``."""
    _ndims = (3, 4)
    _layouts = ("a 4-D (N, C, H, W) input (a 3-D input is taken as (N, C, L), with a "
                "warning, as in PyTorch)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_FeatureDropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    _ndims, _layouts = (4, 5), "a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input"

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU activations at zero mean and unit variance."""

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_FeatureDropoutNd):
    """Alpha dropout of whole channels of (N, C, *)."""
    _layouts = "an input of shape (N, C, *) (at least 2-D)"

    def _check_input(self, input: Tensor) -> None:
        if not isinstance(input, Tensor) or input.ndim < 2:
            super()._check_input(input)  # no rank is listed in _ndims: raises, naming the layer

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return feature_alpha_dropout(input, self.p, self.training)


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]
