"""Dropout: zero random elements (or whole channels) while training.

Inverted dropout: in training each element is kept with probability ``1 - p``
and scaled by ``1 / (1 - p)``, so the expected output equals the input and
evaluation is the identity. The mask is drawn from the seeded default
generator (``nabla.manual_seed``) or from ``generator=``, and applied as a
constant factor: ``out = input * mask``, whose gradient is ``grad * mask``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor

# SELU's negative saturation value -lambda * alpha (Klambauer et al., 2017): alpha dropout
# sets dropped units to it, so self-normalising networks keep zero mean and unit variance
_SELU_SATURATION = 1.7580993408473766


def _check(op: str, input, p: float) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep(input: Tensor, shape: tuple, p: float, generator) -> np.ndarray:
    """A boolean CPU mask of ``shape``: True (kept) with probability ``1 - p``."""
    rng = (generator if generator is not None else backend.default_generator).numpy
    return rng.random(shape, dtype=np.float32) >= p


def _constant(input: Tensor, array: np.ndarray) -> Tensor:
    """``array`` as a constant tensor of ``input``'s dtype on ``input``'s device."""
    return Tensor._wrap(backend.to_device(array.astype(input.dtype), input.device))


def _multiply(input: Tensor, factor: Tensor, inplace: bool) -> Tensor:
    return input.mul_(factor) if inplace else input * factor


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape,
             generator, alpha: bool = False) -> Tensor:
    """The shared body: ``mask_shape`` is the input's shape for element dropout, or
    (N, C, 1, ..., 1) for channel dropout (the mask broadcasts over the rest)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _multiply(input, _constant(input, np.zeros(())), inplace)
    keep = _keep(input, tuple(mask_shape), p, generator)
    if not alpha:
        return _multiply(input, _constant(input, keep * (1.0 / (1.0 - p))), inplace)
    # alpha dropout: dropped units go to the saturation value, then an affine map
    # a * x + b restores the input's mean and variance (PyTorch's formulation)
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    out = _multiply(input, _constant(input, keep * a), inplace)
    return out.add_(_constant(input, shift)) if inplace else out + _constant(input, shift)


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
