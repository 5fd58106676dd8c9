"""PyTorch's top-level linear-algebra functions that predate ``torch.linalg``.

``torch.qr``, ``torch.svd``, ``torch.lu``, ``torch.lu_solve``, ``torch.triangular_solve``,
``torch.cholesky_solve``, ``torch.cholesky_inverse``, ``torch.vdot`` and ``torch.ger``
(and their Tensor methods) take other arguments than their ``torch.linalg`` successors
(``some`` for ``mode``, the right-hand side first, V for Vh). Here they are thin
wrappers over ``nabla.linalg``: every derivative comes from the ops there.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import backend
from . import linalg as _linalg
from .ops.linalg import outer
from .ops.reduction import sum as _sum
from .tensor import Tensor

__all__ = ["qr", "svd", "lu", "lu_solve", "triangular_solve", "cholesky_solve",
           "cholesky_inverse", "vdot", "ger"]

svd_result = namedtuple("svd", ["U", "S", "V"])
triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def qr(input: Tensor, some: bool = True):
    """``(Q, R)`` of ``input``: reduced with ``some=True``, complete otherwise
    (``linalg.qr`` with mode 'reduced' or 'complete')."""
    return _linalg.qr(input, "reduced" if some else "complete")


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``(U, S, V)`` with input = U diag(S) V^T (V, not ``linalg.svd``'s Vh). ``some=True``
    gives the reduced factors (*, m, k) and (*, n, k), k = min(m, n); ``some=False`` the
    square ones. With ``compute_uv=False`` U (*, m, m) and V (*, n, n) are zeros and only
    S is computed."""
    if not compute_uv:
        S = _linalg.svdvals(input)
        batch = tuple(input.shape[:-2])
        m, n = input.shape[-2], input.shape[-1]
        return svd_result(input.new_zeros(batch + (m, m)), S, input.new_zeros(batch + (n, n)))
    U, S, Vh = _linalg.svd(input, full_matrices=not some)
    return svd_result(U, S, Vh.mT)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """``(LU, pivots)`` as ``linalg.lu_factor``; with ``get_infos`` also ``infos`` (int32,
    one per matrix): 0, or k when U's k-th diagonal entry (1-based) is the first zero."""
    LU, pivots = _linalg.lu_factor(A, pivot=pivot)
    if not get_infos:
        return LU, pivots
    xp = backend.get_array_module(LU.array)
    zero = xp.diagonal(LU.array, axis1=-2, axis2=-1) == 0
    infos = xp.where(zero.any(axis=-1), zero.argmax(axis=-1) + 1, 0).astype(np.int32)
    return LU, pivots, Tensor._wrap(infos)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """X with A X = b from A's ``lu`` (``linalg.lu_solve`` with the arguments reordered)."""
    return _linalg.lu_solve(LU_data, LU_pivots, b)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """``(solution, cloned_coefficient)``: X with A X = b (A^T X = b with ``transpose``)
    for triangular A, reading only its ``upper`` (default) or lower triangle, and a copy
    of A."""
    _two_dims("triangular_solve", b=b, A=A)
    if transpose:
        X = _linalg.solve_triangular(A.mT, b, upper=not upper, unitriangular=unitriangular)
    else:
        X = _linalg.solve_triangular(A, b, upper=upper, unitriangular=unitriangular)
    return triangular_solve_result(X, A.clone())


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """X with A X = B, given A's Cholesky factor: A = L L^T with L lower (only its lower
    triangle read), or A = U^T U with ``upper=True``. The batch dims broadcast. As in
    PyTorch, L's gradient is that of (L L^T)^-1 B as a function of the whole matrix L
    (it is not confined to the triangle)."""
    _two_dims("cholesky_solve", B=B, L=L)
    lower = L.mT if upper else L
    # the triangle's values, with the gradient of the whole matrix passed straight through
    lower = lower - (lower - lower.tril()).detach()
    return _linalg.solve(lower.mT, _linalg.solve(lower, B))


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """A^-1 from A's Cholesky factor (A = L L^T, or U^T U with ``upper=True``); the
    gradient as ``cholesky_solve``'s."""
    _two_dims("cholesky_inverse", L=L)
    eye = _linalg._eye_like(L, L.shape[-1])
    return cholesky_solve(eye.broadcast_to(tuple(L.shape)), L, upper)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors of one dtype (real tensors: sum(input * other))."""
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor) or t.ndim != 1:
            raise RuntimeError(f"vdot: expected {name} to be a 1-D tensor, got "
                               f"{_describe(t)}")
    if input.shape != other.shape:
        raise RuntimeError(f"vdot: inputs must have the same length, got {input.shape[0]} "
                           f"and {other.shape[0]}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"vdot: expected both inputs to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    if input.is_complex():
        raise NotImplementedError("vdot: complex tensors are not supported")
    return _sum(input * other)


ger = outer  # torch.ger, the old name of outer


def _two_dims(op: str, **tensors) -> None:
    for name, t in tensors.items():
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must be a tensor of (batches of) matrices, got "
                               f"{_describe(t)}")


def _describe(t) -> str:
    return f"shape {tuple(t.shape)}" if isinstance(t, Tensor) else type(t).__name__


TENSOR_METHODS = {"qr": qr, "svd": svd, "lu": lu, "lu_solve": lu_solve,
                  "triangular_solve": triangular_solve, "cholesky_solve": cholesky_solve,
                  "cholesky_inverse": cholesky_inverse, "vdot": vdot, "ger": ger}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
