"""Dropout: zero random elements (or whole channels) while training.

Inverted dropout: in training each element is kept with probability ``1 - p``
and scaled by ``1 / (1 - p)``, so the expected output equals the input and
evaluation is the identity. The mask is drawn from the seeded default
generator (``nabla.manual_seed``) or from ``generator=``, and applied as a
constant factor: ``out = input * mask``, whose gradient is ``grad * mask``.
On a GPU the mask is drawn on the device from one seed that the generator
draws (``nabla.kernels.dropout``), so a seed gives the same masks on every run
but not the CPU's masks.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend, kernels
from ..autograd.function import Function
from ..tensor import Tensor
from .reduction import _rules_differentiated

# SELU's negative saturation value -lambda * alpha (Klambauer et al., 2017): alpha dropout
# sets dropped units to it, so self-normalising networks keep zero mean and unit variance
_SELU_SATURATION = 1.7580993408473766


def _check(op: str, input, p: float) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _generator(generator) -> backend.Generator:
    return generator if generator is not None else backend.default_generator


class Dropout(Function):
    """``x * keep * scale`` with a random keep mask of ``mask_shape`` (x's shape, or
    (N, C, 1, ..., 1) for channel dropout) that broadcasts over x; for alpha dropout
    ``+ shift`` too, dropped units then taking SELU's saturation value.

    On CuPy arrays the mask is drawn on the device from one seed drawn from the
    generator (``kernels.dropout``: the output and a one-byte mask in one pass, the
    backward in another); elsewhere it is drawn on the CPU from the generator itself.
    Either way the seeded generator makes it reproducible. The mask is a constant of
    the rules, so the vjp and the jvp are the same product."""

    uses_inputs = False

    def forward(self, x, p, mask_shape, generator, alpha):
        rng = _generator(generator).numpy
        a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1.0) * (1.0 - p)) if alpha else 0.0
        self.mask_shape, self.scale = tuple(mask_shape), a if alpha else 1.0 / (1.0 - p)
        self.factor = self.mask = None
        if kernels.usable(x, half=True):  # one seed per call; the mask comes from the device
            seed = int(rng.integers(0, 2 ** 64, dtype=np.uint64))
            if self.mask_shape == x.shape and not alpha:
                y, self.mask = kernels.dropout_forward(x, p, seed, self.scale)
                return y
            self.mask = kernels.dropout_mask(self.mask_shape, p, seed, x.dtype)
            if not alpha:
                return kernels.dropout_apply(x, self.mask, self.scale)
            keep = self.mask.astype(np.float64)
        else:
            keep = backend.to_device(rng.random(self.mask_shape, dtype=np.float32) >= p,
                                     backend.device_of(x))
            self.factor = (keep * self.scale).astype(x.dtype)
            if not alpha:
                return x * self.factor
        # alpha dropout: dropped units go to the saturation value, then an affine map
        # a * x + b restores the input's mean and variance (PyTorch's formulation)
        shift = (keep - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
        return x * self._factor() + shift.astype(x.dtype)

    def _factor(self):
        """keep * scale as an array of the input's dtype, broadcasting over it."""
        if self.factor is None:
            self.factor = (self.mask.astype(np.float64) * self.scale).astype(
                self.inputs[0].dtype)
        return self.factor

    def vjp(self, g):
        if (self.mask is not None and not _rules_differentiated()
                and kernels.usable(g.array, half=True)):
            return Tensor._wrap(kernels.dropout_apply(g.array, self.mask, self.scale))
        return g * Tensor._wrap(self._factor())

    def jvp(self, t):
        return t * Tensor._wrap(self._factor())


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape,
             generator, alpha: bool = False) -> Tensor:
    """The shared body: ``mask_shape`` is the input's shape for element dropout, or
    (N, C, 1, ..., 1) for channel dropout (the mask broadcasts over the rest)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        zero = Tensor._wrap(backend.to_device(np.zeros((), dtype=input.dtype), input.device))
        return input.mul_(zero) if inplace else input * zero
    params = {"p": p, "mask_shape": tuple(mask_shape), "generator": generator, "alpha": alpha}
    if inplace:
        return input._inplace(Dropout.apply, _name="dropout_", **params)
    return Dropout.apply(input, **params)


def _channel_mask_shape(input: Tensor) -> tuple:
    """(N, C, 1, ..., 1): one draw per sample and channel."""
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training);
    the identity otherwise. Same shape as ``input``."""
    _check("dropout", input, p)
    return _dropout(input, p, training, inplace, input.shape, generator)


def _feature_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool,
                     generator, batched_ndim: int, alpha: bool = False) -> Tensor:
    """Channel dropout of a batched (N, C, *spatial) or unbatched (C, *spatial) input,
    where ``batched_ndim`` counts the batched layout's dimensions."""
    _check(op, input, p)
    if input.ndim == batched_ndim - 1:  # unbatched: one draw per channel
        shape = (input.shape[0],) + (1,) * (input.ndim - 1)
    elif input.ndim == batched_ndim:
        shape = _channel_mask_shape(input)
    else:
        raise ValueError(f"{op}: expected a {batched_ndim - 1}-D (C, *) or {batched_ndim}-D "
                         f"(N, C, *) input, got shape {tuple(input.shape)}")
    return _dropout(input, p, training, inplace, shape, generator, alpha)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``; scale the rest."""
    return _feature_dropout("dropout1d", input, p, training, inplace, generator, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of (N, C, H, W) with probability ``p``; scale the rest.

    As in PyTorch, a 3-D input is taken as (N, C, L) (with a warning): use
    ``dropout1d`` for that layout, or add the batch dimension.
    """
    _check("dropout2d", input, p)
    if input.ndim == 3:
        warnings.warn("dropout2d: received a 3-D input; as in PyTorch it is taken as (N, C, L) "
                      "and whole (n, c) rows are dropped. Use dropout1d for (N, C, L) inputs, "
                      "or pass a batched (N, C, H, W) input", UserWarning, stacklevel=2)
        return _dropout(input, p, training, inplace, _channel_mask_shape(input), generator)
    return _feature_dropout("dropout2d", input, p, training, inplace, generator, 4)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    return _feature_dropout("dropout3d", input, p, training, inplace, generator, 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False, *, generator=None) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value and an
    affine correction keeps zero mean and unit variance. Identity unless training."""
    _check("alpha_dropout", input, p)
    return _dropout(input, p, training, inplace, input.shape, generator, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False, *, generator=None) -> Tensor:
    """Alpha dropout of whole channels of (N, C, *)."""
    _check("feature_alpha_dropout", input, p)
    if input.ndim < 2:
        raise ValueError(f"feature_alpha_dropout: expected an input of shape (N, C, *), got "
                         f"shape {tuple(input.shape)}")
    return _dropout(input, p, training, inplace, _channel_mask_shape(input), generator,
                    alpha=True)


TENSOR_METHODS: dict = {}

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]
