"""Linear algebra: matmul, the products built on it, tensordot and einsum.

``Matmul`` and ``Einsum`` are the primitives; ``mm``, ``bmm``, ``mv``, ``dot``,
``inner``, ``outer`` and ``tensordot`` validate their operands and compose them.
The rest -- ``addmm`` and its kin, ``trace``, ``kron``, ``cross``, ``cdist``,
``cov``, ``vander``, ``trapezoid``, ``renorm``, ... -- are compositions of
existing ops, so they are differentiable to every order.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..autograd.function import Function, autocast_args
from ..tensor import Tensor
from .elementwise import where
from .reduction import vector_norm
from .shape import _norm_dim, _slice_dim, cat, diagonal, diff


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, got "
                           f"{a.dtype} and {b.dtype}")


# -- matmul -------------------------------------------------------------------------
class Matmul(Function):
    """Batched, broadcasting matrix product of tensors with at least 2 dimensions."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align: "
                f"{a.shape[-1]} != {b.shape[-2]}")
        try:
            return backend.matmul(self.xp, a, b)
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                               f"{tuple(b.shape)} do not broadcast") from None

    def vjp(self, g):
        a, b = self.inputs
        if g.array.dtype.kind == "c":  # g @ b^H and a^H @ g
            from .complex import conj
            a, b = conj(a), conj(b)
        need_a, need_b = self.needs_input_grad
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        if ta is None:
            return a @ tb
        return ta @ b if tb is None else ta @ b + a @ tb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting.

    (n,) @ (n,) -> (); (n,) @ (..., n, m) -> (..., m); (..., k, n) @ (n,) -> (..., k);
    (..., k, n) @ (..., n, m) -> (..., k, m) with the batch dims broadcast.
    """
    if input.array.ndim >= 2 and other.array.ndim >= 2 and input.array.dtype == other.array.dtype:
        return Matmul.apply(input, other)  # the common case, first
    input, other = autocast_args(Matmul, input, other)  # float16 and float32 under autocast
    if input.array.ndim >= 2 and other.array.ndim >= 2 and input.array.dtype == other.array.dtype:
        return Matmul.apply(input, other)
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{_shape(input)} and {_shape(other)}")
    _same_dtype("matmul", input, other)
    a = input.reshape(1, -1) if input.ndim == 1 else input
    b = other.reshape(-1, 1) if other.ndim == 1 else other
    out = Matmul.apply(a, b)
    if input.ndim == 1 and other.ndim == 1:
        return out.reshape(())
    if input.ndim == 1:
        return out.squeeze(-2)
    if other.ndim == 1:
        return out.squeeze(-1)
    return out


def _need_ndim(op: str, name: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise RuntimeError(f"{op}: expected {name} to be a {ndim}-D tensor, got shape "
                           f"{_shape(t)} ({t.ndim}-D)")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """(n, k) @ (k, m) -> (n, m); no broadcasting."""
    _need_ndim("mm", "input", input, 2)
    _need_ndim("mm", "mat2", mat2, 2)
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: shapes {_shape(input)} and {_shape(mat2)} cannot be "
                           f"multiplied: {input.shape[1]} != {mat2.shape[0]}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """(b, n, k) @ (b, k, m) -> (b, n, m); the batch sizes must be equal (no broadcasting)."""
    _need_ndim("bmm", "input", input, 3)
    _need_ndim("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes of {_shape(input)} and {_shape(mat2)} differ: "
                           f"{input.shape[0]} != {mat2.shape[0]}")
    if input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: shapes {_shape(input)} and {_shape(mat2)} cannot be "
                           f"multiplied: {input.shape[2]} != {mat2.shape[1]}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """(n, m) @ (m,) -> (n,)."""
    _need_ndim("mv", "input", input, 2)
    _need_ndim("mv", "vec", vec, 1)
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: shapes {_shape(input)} and {_shape(vec)} cannot be "
                           f"multiplied: {input.shape[1]} != {vec.shape[0]}")
    return matmul(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """(n,) . (n,) -> (); both operands must be 1-D."""
    _need_ndim("dot", "input", input, 1)
    _need_ndim("dot", "tensor", tensor, 1)
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: the vectors have different lengths: {input.shape[0]} and "
                           f"{tensor.shape[0]}")
    return matmul(input, tensor)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """(n,) x (m,) -> (n, m) with out[i, j] = input[i] * vec2[j]."""
    _need_ndim("outer", "input", input, 1)
    _need_ndim("outer", "vec2", vec2, 1)
    _same_dtype("outer", input, vec2)
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dimensions: (*a, n), (*b, n) -> (*a, *b); a 0-d operand scales."""
    _same_dtype("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner: the last dimensions of {_shape(input)} and "
                           f"{_shape(other)} differ: {input.shape[-1]} != {other.shape[-1]}")
    return _tensordot(input, other, [input.ndim - 1], [other.ndim - 1], "inner")


# -- products with an added term: beta * input + alpha * product ---------------------------
def _same_dtypes(op: str, **operands) -> None:
    """All ``operands`` (name=Tensor) are Tensors of one dtype; errors name the culprit."""
    for name, t in operands.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(t).__name__}")
    (name0, t0), *rest = operands.items()
    for name, t in rest:
        if t.dtype != t0.dtype:
            raise RuntimeError(f"{op}: expected {name0} and {name} to have the same dtype, got "
                               f"{t0.dtype} and {t.dtype}")


def _scaled_sum(op: str, input: Tensor, prod: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * prod``, with ``input`` broadcast to the product's shape.

    As in BLAS (and PyTorch), beta = 0 ignores ``input`` and alpha = 0 the product,
    NaN and Inf included (and they get no gradient).
    """
    try:
        shape = np.broadcast_shapes(_shape(input), _shape(prod))
    except ValueError:
        shape = None
    if shape != _shape(prod):
        raise RuntimeError(f"{op}: input of shape {_shape(input)} does not broadcast to the "
                           f"shape {_shape(prod)} of the product")
    if alpha == 0:
        prod = None
    elif alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod if prod is not None else input.new_zeros(shape)
    scaled = input if beta == 1 else input * beta
    if prod is None:
        from .convert import clone
        return clone(scaled.broadcast_to(shape))
    return scaled + prod


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``: (n, k) @ (k, m), ``input`` broadcast to
    (n, m). beta = 0 ignores ``input`` (NaN included), as in PyTorch."""
    _same_dtypes("addmm", input=input, mat1=mat1, mat2=mat2)
    _need_ndim("addmm", "mat1", mat1, 2)
    _need_ndim("addmm", "mat2", mat2, 2)
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``: (n, m) @ (m,), ``input`` broadcast to (n,)."""
    _same_dtypes("addmv", input=input, mat=mat, vec=vec)
    _need_ndim("addmv", "mat", mat, 2)
    _need_ndim("addmv", "vec", vec, 1)
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``: (n,) x (m,), ``input`` broadcast to
    (n, m)."""
    _same_dtypes("addr", input=input, vec1=vec1, vec2=vec2)
    _need_ndim("addr", "vec1", vec1, 1)
    _need_ndim("addr", "vec2", vec2, 1)
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``: (b, n, k) @ (b, k, m), ``input``
    broadcast to (b, n, m)."""
    _same_dtypes("baddbmm", input=input, batch1=batch1, batch2=batch2)
    _need_ndim("baddbmm", "batch1", batch1, 3)
    _need_ndim("baddbmm", "batch2", batch2, 3)
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``: (b, n, k) and (b, k, m)
    reduced to (n, m), ``input`` broadcast to (n, m)."""
    _same_dtypes("addbmm", input=input, batch1=batch1, batch2=batch2)
    _need_ndim("addbmm", "batch1", batch1, 3)
    _need_ndim("addbmm", "batch2", batch2, 3)
    b, n, k = batch1.shape
    if batch2.shape[:2] != (b, k):
        raise RuntimeError(f"addbmm: batch1 of shape {_shape(batch1)} and batch2 of shape "
                           f"{_shape(batch2)} must have the same batch size and inner "
                           f"dimension: expected batch2 to start with ({b}, {k})")
    # the sum over b of the products is one product over (b, k) together:
    # [A_1 ... A_b] (n, b*k) @ [B_1; ...; B_b] (b*k, m)
    m = batch2.shape[2]
    summed = matmul(batch1.permute(1, 0, 2).reshape(n, b * k), batch2.reshape(b * k, m))
    return _scaled_sum("addbmm", input, summed, beta, alpha)


# -- tensordot --------------------------------------------------------------------------
def _dims_lists(dims, a: Tensor, b: Tensor) -> tuple[list, list]:
    """``dims`` (an int, a pair of lists or a pair of ints) as two lists of axes."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot: dims must be non-negative, got {dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: cannot contract {dims} dimensions of tensors of "
                               f"shapes {_shape(a)} and {_shape(b)}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    if not isinstance(dims, (list, tuple)) or len(dims) != 2:
        raise TypeError(f"tensordot: dims must be an int or a pair of dimension lists, got "
                        f"{dims!r}")
    da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dimension lists must have the same length, got "
                           f"{da} and {db}")
    return da, db


def _norm_axes(axes: list, t: Tensor, op: str) -> list:
    out = []
    for d in axes:
        if not -t.ndim <= d < t.ndim:
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor of shape "
                             f"{_shape(t)}")
        out.append(d % t.ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dimension repeated in {axes}")
    return out


def _tensordot(a: Tensor, b: Tensor, da: list, db: list, op: str) -> Tensor:
    """Contract axes ``da`` of ``a`` with ``db`` of ``b`` through one matmul."""
    da, db = _norm_axes(da, a, op), _norm_axes(db, b, op)
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"{op}: contracted dimensions differ in size: dim {i} of "
                               f"{_shape(a)} has {a.shape[i]}, dim {j} of {_shape(b)} has "
                               f"{b.shape[j]}")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    m = math.prod(a.shape[i] for i in free_a)
    n = math.prod(b.shape[j] for j in free_b)
    # (free_a..., contracted...) @ (contracted..., free_b...) as one 2-D product
    a2 = a.permute(free_a + da).reshape(m, k) if a.ndim else a.reshape(1, 1)
    b2 = b.permute(db + free_b).reshape(k, n) if b.ndim else b.reshape(1, 1)
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    return Matmul.apply(a2, b2).reshape(out_shape)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum products over ``dims``: the last ``dims`` axes of ``a`` with the first of ``b``,
    or explicit lists ``([axes of a], [axes of b])``. Result: free axes of a, then of b."""
    _same_dtype("tensordot", a, b)
    da, db = _dims_lists(dims, a, b)
    return _tensordot(a, b, da, db, "tensordot")


# -- einsum ------------------------------------------------------------------------------
class Einsum(Function):
    """``einsum`` over an explicit equation of letters only (no '...', no broadcasting).

    The cotangent of operand k is itself an einsum of ``g`` with the other operands;
    labels repeated within operand k (a diagonal) are put back on the diagonal.
    """

    def forward(self, *arrays, subs, out):
        self.subs, self.out_sub = subs, out
        equation = ",".join(subs) + "->" + out
        result = backend.einsum(self.xp, equation, *arrays, optimize=len(arrays) > 1)
        # one operand: NumPy may return a view (a transpose, a diagonal); own the memory
        return result.copy() if len(arrays) == 1 else result

    def vjp(self, g):
        grads = []
        for k, sub in enumerate(self.subs):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(s, t) for j, (s, t) in enumerate(zip(self.subs, self.inputs)) if j != k]
            shape = tuple(self.inputs[k].shape)
            grads.append(_einsum_to(sub, shape, [(self.out_sub, g)] + others))
        return tuple(grads)

    def jvp(self, *tangents):
        total = None
        for k, t in enumerate(tangents):
            if t is None:
                continue
            operands = list(self.inputs)
            operands[k] = t
            term = Einsum.apply(*operands, subs=self.subs, out=self.out_sub)
            total = term if total is None else total + term
        return total


def _einsum_to(sub: str, shape: tuple, operands: list) -> Tensor:
    """einsum of ``operands`` ((subscripts, tensor) pairs) into subscripts ``sub`` of
    ``shape``, which may name labels the operands lack (broadcast) or repeat (diagonal)."""
    sizes = dict(zip(sub, shape))
    have = set("".join(s for s, _ in operands))
    unique = "".join(dict.fromkeys(sub))
    target = "".join(c for c in unique if c in have)
    out = Einsum.apply(*[t for _, t in operands], subs=tuple(s for s, _ in operands), out=target)
    if target != unique:
        # labels no other operand has: the cotangent is constant along them
        out = out.reshape(tuple(sizes[c] if c in have else 1 for c in unique))
        out = out.broadcast_to(tuple(sizes[c] for c in unique))
    if unique != sub:
        out = _embed_diagonal(out, sub)
    return out


def _embed_diagonal(x: Tensor, sub: str) -> Tensor:
    """``x`` indexed by the unique labels of ``sub``, placed on the diagonals of a tensor
    indexed by ``sub`` (zero off them): the adjoint of taking a diagonal."""
    from ..backend import get_array_module

    xp = get_array_module(x.array)
    first = {c: sub.index(c) for c in sub}
    shape = tuple(x.shape[list(dict.fromkeys(sub)).index(c)] for c in sub)
    # each label at its first position; repeated positions get size 1, then broadcast
    spread = x.reshape(tuple(n if first[c] == i else 1 for i, (c, n) in
                             enumerate(zip(sub, shape)))).broadcast_to(shape)
    mask = xp.ones(shape, dtype=bool)
    for i, c in enumerate(sub):
        if first[c] != i:
            mask = mask & (_arange_along(xp, shape[i], first[c], len(sub)) ==
                           _arange_along(xp, shape[i], i, len(sub)))
    return spread * Tensor._wrap(mask.astype(x.dtype))


def _arange_along(xp, n: int, axis: int, ndim: int):
    """0..n-1 laid along ``axis`` of an ``ndim``-dimensional array (size 1 elsewhere)."""
    return xp.arange(n).reshape(tuple(n if j == axis else 1 for j in range(ndim)))


def _parse_einsum(equation: str, operands: tuple) -> tuple[list, str]:
    """Explicit subscripts per operand and for the output, with '...' spelled out
    in fresh letters (right-aligned across operands, as broadcasting is)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} has {len(subs)} operand "
                         f"subscripts but {len(operands)} operands were given")
    for s in subs + [rhs]:
        bad = set(s.replace("...", "")) - set(_LETTERS)
        if bad or s.count("...") > 1 or "." in s.replace("...", ""):
            raise ValueError(f"einsum: invalid subscripts {s!r} in {equation!r}: use letters "
                             f"a-z, A-Z and at most one '...'")
    ell_ranks = []
    for k, (s, t) in enumerate(zip(subs, operands)):
        named = len(s.replace("...", ""))
        if "..." in s and t.ndim >= named:
            ell_ranks.append(t.ndim - named)
        elif "..." in s or t.ndim != named:
            raise ValueError(f"einsum: operand {k} has shape {_shape(t)} ({t.ndim} dims) but "
                             f"its subscripts {s!r} name {named}")
        else:
            ell_ranks.append(0)
    used = set(lhs)
    fresh = [c for c in _LETTERS if c not in used][:max(ell_ranks, default=0)]
    ell = "".join(fresh)
    subs = [s.replace("...", ell[len(ell) - r:] if r else "") for s, r in zip(subs, ell_ranks)]
    if arrow:
        if "..." in rhs and not any("..." in s for s in lhs.split(",")):
            raise ValueError(f"einsum: the output of {equation!r} has '...' but no operand has")
        out = rhs.replace("...", ell)
        missing = set(out) - set("".join(subs))
        if missing:
            raise ValueError(f"einsum: output label(s) {''.join(sorted(missing))!r} of "
                             f"{equation!r} appear in no operand")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts {rhs!r} repeat a label")
    else:
        counts = {}
        for c in "".join(subs):
            if c not in ell:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return subs, out


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _label_sizes(subs: list, operands: tuple, equation: str) -> dict:
    """Each label's size; size-1 dims broadcast against larger ones."""
    sizes = {}
    for k, (s, t) in enumerate(zip(subs, operands)):
        for c, n in zip(s, t.shape):
            first = t.shape[s.index(c)]
            if n != first:
                raise ValueError(f"einsum: label {c!r} is repeated in operand {k} of "
                                 f"{equation!r} but its sizes differ: {first} != {n}")
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n != prev and n != 1:
                raise ValueError(f"einsum: label {c!r} of {equation!r} has size {prev} in one "
                                 f"operand but {n} in operand {k} (shape {_shape(t)})")
    return sizes


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``.

    Supports the implicit form (no '->'), '...' for broadcast dimensions, size-1
    broadcasting, and labels repeated within an operand (diagonals, traces).
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument must be the equation string, got "
                        f"{type(equation).__name__} (the sublist form is not supported)")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operand {k} must be a Tensor, got {type(t).__name__}")
    operands = autocast_args(Einsum, *operands)
    for k, t in enumerate(operands):
        if t.dtype != operands[0].dtype:
            raise RuntimeError(f"einsum: expected all operands to have the same dtype, got "
                               f"{operands[0].dtype} (operand 0) and {t.dtype} (operand {k})")
    subs, out = _parse_einsum(equation, operands)
    sizes = _label_sizes(subs, operands, equation)
    # a size-1 dim broadcast against a larger one: the operand does not depend on that label
    squeezed_subs, squeezed = [], []
    for s, t in zip(subs, operands):
        keep = [i for i, (c, n) in enumerate(zip(s, t.shape)) if not (n == 1 and sizes[c] != 1)]
        if len(keep) != len(s):
            t = t.reshape(tuple(t.shape[i] for i in keep))
            s = "".join(s[i] for i in keep)
        squeezed_subs.append(s)
        squeezed.append(t)
    return _einsum_to(out, tuple(sizes[c] for c in out), list(zip(squeezed_subs, squeezed)))


# -- more linear algebra, composed ------------------------------------------------------------
def _require_float(op: str, name: str, t: Tensor) -> None:
    if not backend.is_floating(t.dtype):
        raise RuntimeError(f"{op}: expected {name} to have a floating-point dtype, got "
                           f"{t.dtype}")


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (n, m) -> (); integers sum to int64."""
    _need_ndim("trace", "input", input, 2)
    return diagonal(input).sum()


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block (i, j, ...) is ``input[i, j, ...] * other``, so the
    shape is the elementwise product of the shapes (the shorter padded with leading 1s)."""
    ndim = max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + _shape(input)
    b_shape = (1,) * (ndim - other.ndim) + _shape(other)
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0, b0, a1, b1, ...) -> (a0*b0, a1*b1, ...)
    a = input.reshape(tuple(v for n in a_shape for v in (n, 1)))
    b = other.reshape(tuple(v for n in b_shape for v in (1, n)))
    return (a * b).reshape(tuple(n * m for n, m in zip(a_shape, b_shape)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim``; the other dimensions broadcast.

    ``dim=None`` takes the first dimension of ``input`` of size 3, as ``torch.cross``
    still does (``torch.linalg.cross`` defaults to -1; pass ``dim`` to be explicit).
    """
    if input.ndim != other.ndim:
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got "
                           f"shapes {_shape(input)} and {_shape(other)}")
    _same_dtype("cross", input, other)
    if dim is None:
        dim = next((i for i, n in enumerate(input.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape "
                               f"{_shape(input)}; pass dim")
    d = _norm_dim(dim, input.ndim, "cross")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"cross: dimension {dim} must have size 3 in both inputs, got "
                           f"shapes {_shape(input)} and {_shape(other)}")
    # (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0) as cyclic shifts of (a0, a1, a2)
    return (input.roll(-1, d) * other.roll(-2, d) - input.roll(-2, d) * other.roll(-1, d))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between the rows of two (batches of) matrices: (*, P, M) and
    (*, R, M) -> (*, P, R), the batch dimensions broadcast.

    Computed from the differences, (*, P, R, M), which is exact; ``compute_mode`` is
    accepted for PyTorch's signature (its matmul expansion trades accuracy for memory).
    The gradient is 0 where a distance is 0, as in PyTorch.
    """
    for name, t in (("x1", x1), ("x2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist: expected {name} to have at least 2 dimensions, got "
                               f"shape {_shape(t)}")
        _require_float("cdist", name, t)
    _same_dtype("cdist", x1, x2)
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: x1 of shape {_shape(x1)} and x2 of shape {_shape(x2)} "
                           f"must have the same number of columns: {x1.shape[-1]} != "
                           f"{x2.shape[-1]}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p >= 0:
        raise RuntimeError(f"cdist: p must be a non-negative number, got {p!r}")
    try:
        np.broadcast_shapes(_shape(x1)[:-2], _shape(x2)[:-2])
    except ValueError:
        raise RuntimeError(f"cdist: the batch dimensions of x1 {_shape(x1)} and x2 "
                           f"{_shape(x2)} do not broadcast") from None
    differences = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (*, P, R, M)
    if x1.shape[-1] == 0:
        p = 2  # no coordinates: every distance is 0, whatever p
    return vector_norm(differences, p, dim=-1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), a 0-d tensor."""
    _require_float("dist", "input", input)
    _require_float("dist", "other", other)
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"dist: p must be a number, got {p!r}")
    return vector_norm(input - other, p)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (n, N), the
    observations in its columns: (n, n), or () for one variable (1-D input).

    ``correction=1`` is Bessel's (unbiased); ``fweights`` (N,) are integer repeat counts
    and ``aweights`` (N,) observation weights, combined as in ``numpy.cov``. A
    non-positive normaliser gives inf/NaN, as in PyTorch.
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov: expected input to have 2 or fewer dimensions, got shape "
                           f"{_shape(input)}")
    if isinstance(correction, bool) or not isinstance(correction, numbers.Integral):
        raise TypeError(f"cov: correction must be an int, got {correction!r}")
    x = input if backend.is_floating(input.dtype) else input.to(backend.get_default_dtype())
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, n_obs, integral=True)
        w = fweights.to(x.dtype)
    if aweights is not None:
        _check_weights("aweights", aweights, n_obs, integral=False)
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = n_obs
        mean = x.mean(dim=1, keepdim=True)
    else:
        w_sum = w.sum()
        mean = (x * w).sum(dim=1, keepdim=True) / w_sum
    if correction == 0:
        norm = w_sum
    elif aweights is None:
        norm = w_sum - correction
    else:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    centred = x - mean
    weighted = centred if w is None else centred * w
    product = matmul(weighted, centred.mT)
    if isinstance(norm, Tensor):
        return (product / norm.clamp(min=0)).squeeze()
    return (product / norm).squeeze() if norm > 0 else _over_zero(product)


def _over_zero(product: Tensor) -> Tensor:
    """``product / 0`` (inf, or NaN where the product is 0), squeezed, as PyTorch gives."""
    warnings.warn("cov: the degrees of freedom are <= 0 (too few observations for the "
                  "correction); the result is inf or NaN", RuntimeWarning, stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (product / product.new_zeros(())).squeeze()


def _check_weights(name: str, w, n_obs: int, integral: bool) -> None:
    if not isinstance(w, Tensor):
        raise TypeError(f"cov: {name} must be a Tensor, got {type(w).__name__}")
    if w.ndim > 1 or w.numel() != n_obs:
        raise RuntimeError(f"cov: expected {name} to be a 0-d or 1-D tensor with {n_obs} "
                           f"elements (one per observation), got shape {_shape(w)}")
    kind = backend.dtype_kind(w.dtype)
    if integral and kind not in "iu":
        raise RuntimeError(f"cov: expected {name} to have an integer dtype, got {w.dtype}")
    if not integral and kind != "f":
        raise RuntimeError(f"cov: expected {name} to have a floating-point dtype, got "
                           f"{w.dtype}")
    if w.numel() and bool((w.array < 0).any()):
        raise RuntimeError(f"cov: {name} cannot be negative")


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (n, N): ``cov`` scaled by
    the standard deviations and clipped to [-1, 1]; () for a 1-D input."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = diagonal(c).sqrt()
    c = c / std.reshape(-1, 1) / std.reshape(1, -1)
    return c.clamp(-1, 1)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix (n,) -> (n, N): columns ``x**(N-1), ..., x**0`` (reversed
    when ``increasing``). Integers and bools give int64."""
    if x.ndim != 1:
        raise RuntimeError(f"vander: x must be a 1-D tensor, got shape {_shape(x)}")
    N = x.shape[0] if N is None else N
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N < 0:
        raise RuntimeError(f"vander: N must be a non-negative int, got {N!r}")
    if not backend.is_floating(x.dtype):
        x = x.to(backend.int64)
    n = x.shape[0]
    if N == 0:
        return x.new_zeros((n, 0))
    # powers as a running product (1, x, x*x, ...): no 0 ** 0 or x ** k with negative k
    columns = [x.new_ones((n, 1)), x.reshape(n, 1).broadcast_to((n, N - 1))]
    powers = cat(columns, dim=1).cumprod(1)
    return powers if increasing else powers.flip(1)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``sum (y[i] + y[i+1]) / 2 * (x[i+1] - x[i])``,
    with the sample points ``x`` (1-D, or broadcasting with ``y``) or a constant spacing
    ``dx`` (1 by default). Integer ``y`` integrates in the default float dtype."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid: pass the sample points x or the spacing dx, not both")
    if y.ndim == 0:
        raise IndexError("trapezoid: y must have at least 1 dimension, got a 0-d tensor")
    d = _norm_dim(dim, y.ndim, "trapezoid")
    if not backend.is_floating(y.dtype):
        y = y.to(backend.get_default_dtype())
    n = y.shape[d]
    ends = _slice_dim(y, d, 1, n) + _slice_dim(y, d, 0, max(n - 1, 0))  # y[i+1] + y[i]
    if x is None:
        return ends.sum(d) * ((1 if dx is None else dx) / 2)
    if x.ndim > y.ndim:
        raise RuntimeError(f"trapezoid: x of shape {_shape(x)} has more dimensions than y of "
                           f"shape {_shape(y)}")
    if x.ndim == 1:  # the sample points of every row along dim
        x = x.reshape(tuple(-1 if i == d else 1 for i in range(y.ndim)))
    else:  # broadcasts with y: pad to y's dimensions
        x = x.reshape((1,) * (y.ndim - x.ndim) + _shape(x))
    if x.shape[d] != n:
        raise RuntimeError(f"trapezoid: x must have one value per sample point: {n} along "
                           f"dimension {d} of y of shape {_shape(y)}, got {x.shape[d]}")
    return (ends * diff(x, dim=d)).sum(d) / 2


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """``input`` with each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled
    down to norm ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as PyTorch does)."""
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got shape "
                           f"{_shape(input)}")
    _require_float("renorm", "input", input)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise RuntimeError(f"renorm: p must be a positive number, got {p!r}")
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, numbers.Real) or not maxnorm >= 0:
        raise RuntimeError(f"renorm: maxnorm must be a non-negative number, got {maxnorm!r}")
    d = _norm_dim(dim, input.ndim, "renorm")
    others = tuple(i for i in range(input.ndim) if i != d)
    norm = vector_norm(input, p, dim=others, keepdim=True)
    return input * where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def _inplace(fn):
    """The in-place Tensor method ``x.fn_(...)`` (see ``Tensor._inplace``)."""
    def method(self, *args, **kwargs):
        return self._inplace(fn, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


def _matmul_operator(self: Tensor, other) -> Tensor:
    return matmul(self, other) if isinstance(other, Tensor) else NotImplemented


def _rmatmul_operator(self: Tensor, other) -> Tensor:
    return matmul(other, self) if isinstance(other, Tensor) else NotImplemented


TENSOR_METHODS = {"__matmul__": _matmul_operator, "__rmatmul__": _rmatmul_operator,
                  "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot,
                  "outer": outer, "inner": inner,
                  "addmm": addmm, "addmv": addmv, "addr": addr, "baddbmm": baddbmm,
                  "addbmm": addbmm, "addmm_": _inplace(addmm), "addmv_": _inplace(addmv),
                  "addr_": _inplace(addr), "baddbmm_": _inplace(baddbmm),
                  "addbmm_": _inplace(addbmm), "trace": trace, "kron": kron, "cross": cross,
                  "dist": dist, "cov": cov, "corrcoef": corrcoef, "renorm": renorm,
                  "renorm_": _inplace(renorm)}

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "inner", "outer", "tensordot", "einsum",
           "addmm", "addmv", "addr", "baddbmm", "addbmm", "trace", "kron", "cross", "cdist",
           "dist", "cov", "corrcoef", "vander", "trapezoid", "renorm"]
