"""Gradient clipping: rescale gradients in place before ``optimizer.step()``.

``clip_grad_norm_`` rescales all gradients together so that their joint norm
is at most ``max_norm`` (the direction is kept); ``clip_grad_value_`` clamps
each gradient entry. Both work on the arrays directly (NumPy or CuPy), never
read a value back to the host, and match ``torch.nn.utils``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ... import backend
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

TensorsT = Tensor | Iterable[Tensor]


def _as_list(tensors: TensorsT) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: TensorsT) -> list[Tensor]:
    """The ``.grad`` of every parameter that has one."""
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def _vector_norm(array, norm_type: float):
    """The ``norm_type``-norm of all entries of ``array`` as a 0-d array (same dtype)."""
    xp = backend.get_array_module(array)
    a = xp.abs(array.ravel())
    if norm_type == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if norm_type == -math.inf:
        return a.min() if a.size else xp.asarray(math.inf, a.dtype)
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(a), a.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return xp.sqrt(xp.dot(a, a))
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors: TensorsT, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of all entries of ``tensors`` together, as a 0-d Tensor.

    It is the norm of the vector of per-tensor norms (``inf`` for the max
    entry). Raises when ``error_if_nonfinite`` and the norm is nan or inf.
    """
    norm_type = float(norm_type)
    tensors = [t for t in _as_list(tensors) if t is not None]
    if not tensors:
        return Tensor._wrap(np.zeros((), backend.get_default_dtype()))
    first = tensors[0].array
    xp = backend.get_array_module(first)
    dtype = np.result_type(*[t.dtype for t in tensors])
    norms = xp.stack([_vector_norm(backend.to_device(t.array, tensors[0].device), norm_type)
                      .astype(dtype) for t in tensors])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({float(total)}), so it cannot be clipped; to scale the gradients "
            f"by the non-finite norm anyway, set error_if_nonfinite=False")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters: TensorsT, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every ``.grad`` by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    grads = _grads(parameters)
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    xp = backend.get_array_module(total)
    # multiply even when the factor is 1: no branch on a device value (no host sync)
    coef = xp.asarray(float(max_norm) / (total + total.dtype.type(1e-6)), dtype=total.dtype)
    coef = xp.minimum(coef, total.dtype.type(1.0))
    for g in grads:
        with np.errstate(invalid="ignore"):  # an infinite norm gives inf * 0 = nan, as in torch
            g.array *= backend.to_device(coef, g.device).astype(g.dtype)
        g._version[0] += 1


def clip_grad_norm_(parameters: TensorsT, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so their total norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d Tensor).

    ``norm_type`` may be ``inf``. ``foreach`` is accepted for PyTorch code and ignored.
    """
    parameters = _as_list(parameters)  # an iterator must survive being read twice
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: TensorsT, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry of ``parameters`` into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = backend.get_array_module(g.array)
        xp.clip(g.array, -clip_value, clip_value, out=g.array)
        g._version[0] += 1
