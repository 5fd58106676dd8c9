"""The rest of PyTorch's top-level namespace: predicates, dtype rules, index helpers,
numerical calculus, low-rank factorizations, samplers, and the top-level spellings of
losses and in-place ops.

Nothing here is a new primitive: every differentiable function is composed from ops
that carry their own derivative rules (narrow, cat, matmul, qr, svd, indexing, ...).
Imported by ``nabla/__init__.py`` after ``nabla.linalg``, which it builds on.
"""
from __future__ import annotations

import itertools
import numbers
import warnings

import numpy as np

from .. import backend
from ..tensor import Size, Tensor
from . import loss as _loss
from .creation import _place, full_like, tensor, zeros
from .shape import broadcast_to, cat, narrow, pad, tril, triu

__all__ = [
    "Size", "is_floating_point", "is_complex", "is_nonzero", "is_same_size", "is_signed",
    "can_cast", "promote_types", "result_type", "broadcast_shapes", "broadcast_tensors",
    "asarray", "scalar_tensor", "empty_strided", "frombuffer", "from_dlpack", "to_dlpack",
    "tril_indices", "triu_indices", "combinations", "unravel_index", "cumulative_trapezoid",
    "gradient", "chain_matmul", "matrix_rank", "lu_unpack", "svd_lowrank", "pca_lowrank",
    "poisson", "binomial", "rsub", "fill", "fill_", "zero_", "constant_pad_nd", "detach",
    "nuclear_norm", "frobenius_norm",
    "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
    "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss",
    "ctc_loss",
]


def _check_tensor(x, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def is_floating_point(input: Tensor) -> bool:
    _check_tensor(input, "is_floating_point")
    return backend.is_floating(input.dtype)


def is_complex(input: Tensor) -> bool:
    _check_tensor(input, "is_complex")
    return input.dtype.kind == "c"


def is_signed(input: Tensor) -> bool:
    _check_tensor(input, "is_signed")
    return input.is_signed()


def is_nonzero(input: Tensor) -> bool:
    """Whether the single element of ``input`` is not zero (False, 0, 0.0)."""
    _check_tensor(input, "is_nonzero")
    if input.numel() != 1:
        what = "no values" if input.numel() == 0 else "more than one value"
        raise RuntimeError(f"is_nonzero: a tensor of shape {tuple(input.shape)} has {what}; "
                           f"expected exactly one element")
    return bool(input.item() != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return tuple(input.shape) == tuple(other.shape)


# -- dtype rules (PyTorch's: categories bool < integer < float < complex) --------------------
def _category(dtype) -> int:
    kind = backend.dtype_kind(backend.as_dtype(dtype))
    return {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}[kind]


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` in type promotion: never
    to a lower category (float to int, complex to float, anything but bool to bool)."""
    return _category(from_) <= _category(to)


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both promote to, by PyTorch's rule: within a category the wider
    (NumPy's table), across categories the higher one's dtype (int32 + float16 -> float16)."""
    a, b = backend.as_dtype(type1), backend.as_dtype(type2)
    ca, cb = _category(a), _category(b)
    if ca == cb:
        return backend.promote_types(a, b)
    low, high = (a, b) if ca < cb else (b, a)
    if _category(high) == 3 and _category(low) == 2:  # float x complex: the wider precision
        return backend.complex_dtype(backend.promote_types(low, np.float32 if high.itemsize
                                                           <= 8 else np.float64))
    return high


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, (bool, np.bool_)):
        return backend.bool_
    if isinstance(value, numbers.Integral):
        return backend.int64
    if isinstance(value, numbers.Real):
        return backend.get_default_dtype()
    if isinstance(value, numbers.Complex):
        return backend.complex_dtype(backend.get_default_dtype())
    raise TypeError(f"result_type: expected Tensors or numbers, got {type(value).__name__}")


def result_type(tensor1, tensor2) -> np.dtype:
    """The dtype of an arithmetic op on ``tensor1`` and ``tensor2`` (Tensors or numbers):
    tensors with dimensions decide, then 0-d tensors, then Python numbers -- a lower
    priority operand counts only when it is of a higher category."""
    groups: list[list] = [[], [], []]  # dimensioned tensors, 0-d tensors, numbers
    for x in (tensor1, tensor2):
        if isinstance(x, Tensor):
            groups[0 if x.ndim else 1].append(x.dtype)
        else:
            groups[2].append(_scalar_dtype(x))
    result = None
    for dtypes in groups:
        if not dtypes:
            continue
        d = dtypes[0]
        for other in dtypes[1:]:
            d = promote_types(d, other)
        if result is None:
            result = d
        elif _category(d) > _category(result):
            if groups.index(dtypes) == 2:  # a Python number: its default dtype of that category
                result = promote_types(result, d) if _category(d) == 3 and \
                    _category(result) == 2 else d
            else:
                result = promote_types(result, d)
    return result


# -- broadcasting ----------------------------------------------------------------------------
def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (ints count as 1-d shapes)."""
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {', '.join(map(str, shapes))} cannot be "
                           f"broadcast together (each dim must match or be 1)") from None


def broadcast_tensors(*tensors) -> tuple:
    """``tensors`` expanded to their common shape (views; gradients sum back)."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors: argument {i} is a {type(t).__name__}, "
                            f"expected a Tensor")
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if tuple(t.shape) == tuple(shape) else broadcast_to(t, shape) for t in tensors)


# -- construction ----------------------------------------------------------------------------
def asarray(obj, *, dtype=None, device=None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` (a Tensor, array, buffer, number or nested sequence) as a Tensor, sharing
    memory when dtype and device allow and ``copy`` is not True; ``copy=False`` raises
    when a copy would be needed."""
    target = None if dtype is None else backend.as_dtype(dtype)
    if isinstance(obj, Tensor):
        same = (target is None or obj.dtype == target) and (
            device is None or obj.device == backend.device(device))
        if copy is False and not same:
            raise ValueError(f"asarray: copy=False, but converting a {obj.dtype} tensor on "
                             f"{obj.device} to dtype={dtype}, device={device} needs a copy")
        out = obj.to(dtype=target, device=device) if not same else obj
        if copy and out is obj:
            out = obj.clone()
    elif isinstance(obj, np.ndarray) or hasattr(obj, "__array_interface__") or \
            hasattr(obj, "__cuda_array_interface__"):
        xp = np if isinstance(obj, np.ndarray) or not hasattr(obj, "__cuda_array_interface__") \
            else backend.Device("cuda").xp
        arr = xp.asarray(obj)
        dev = backend.device(device) if device is not None else backend.device_of(arr)
        same = (target is None or arr.dtype == target) and dev == backend.device_of(arr)
        if copy is False and not same:
            raise ValueError(f"asarray: copy=False, but converting a {arr.dtype} array to "
                             f"dtype={dtype}, device={device} needs a copy")
        if copy:
            arr = arr.copy()
        out = Tensor._wrap(arr) if same else _place(arr, target, dev, False)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        out = frombuffer(obj, dtype=target or backend.uint8)
        if copy:
            out = out.clone()
    else:
        if copy is False:
            raise ValueError(f"asarray: copy=False, but a {type(obj).__name__} must be copied "
                             f"into a new tensor")
        out = tensor(obj, dtype=target, device=device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s`` in ``dtype`` (the default float dtype, even
    for ints and bools, as in PyTorch)."""
    return tensor(s, dtype=backend.as_dtype(dtype), device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None,
                  requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose elements lie ``stride`` elements apart."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"empty_strided: size {size} and stride {stride} must have the same "
                           f"length")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"empty_strided: size {size} and stride {stride} must be non-negative")
    dt = backend.as_dtype(dtype)
    extent = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    from .creation import _xp

    base = _xp(device).empty(max(extent, 1), dtype=dt)
    xp = backend.get_array_module(base)
    arr = xp.lib.stride_tricks.as_strided(base, size, tuple(s * dt.itemsize for s in stride))
    out = Tensor._wrap(arr)
    if requires_grad:
        out.requires_grad_(True)
    return out


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d CPU tensor sharing memory with ``buffer`` (anything with the buffer protocol);
    ``count`` elements (-1: to the end) from byte ``offset``."""
    dt = backend.as_dtype(dtype)
    try:
        arr = np.frombuffer(buffer, dtype=dt, count=int(count), offset=int(offset))
    except (ValueError, TypeError) as err:
        raise ValueError(f"frombuffer: cannot read {count} element(s) of {dt} from byte "
                         f"{offset} of a {type(buffer).__name__} ({err})") from None
    out = Tensor._wrap(arr)
    if requires_grad:
        out.requires_grad_(True)
    return out


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``, any object with ``__dlpack__`` (a NumPy
    or CuPy array, a PyTorch tensor, ...). DLPack capsules are not accepted: pass the object."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (an array or a "
                        f"tensor of another library), got {type(ext_tensor).__name__}")
    on_gpu = hasattr(ext_tensor, "__dlpack_device__") and ext_tensor.__dlpack_device__()[0] == 2
    xp = backend.Device("cuda").xp if on_gpu else np
    return Tensor._wrap(xp.from_dlpack(ext_tensor))


def to_dlpack(tensor: Tensor):
    """A DLPack capsule for ``tensor``'s memory (what ``torch.from_dlpack`` takes)."""
    _check_tensor(tensor, "to_dlpack")
    return tensor.array.__dlpack__()


# -- index helpers ---------------------------------------------------------------------------
def _triangle_indices(fn, name: str, row: int, col: int, offset: int, dtype, device) -> Tensor:
    if row < 0 or col < 0:
        raise RuntimeError(f"{name}: row and col must be non-negative, got {row} and {col}")
    rows, cols = fn(row, offset, col)
    return _place(np.stack([rows, cols]).astype(np.int64).reshape(2, -1),
                  dtype or backend.int64, device, False)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) indices of the lower triangle (on and below diagonal ``offset``) of a
    ``row`` x ``col`` matrix, row by row."""
    return _triangle_indices(np.tril_indices, "tril_indices", row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) indices of the upper triangle (on and above diagonal ``offset``)."""
    return _triangle_indices(np.triu_indices, "triu_indices", row, col, offset, dtype, device)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of 1-d ``input``, (N, r), in the order
    of ``itertools.combinations`` (differentiable: a gather)."""
    _check_tensor(input, "combinations")
    if input.ndim != 1:
        raise ValueError(f"combinations: expected a 1-d tensor, got shape {tuple(input.shape)}")
    if r < 0:
        raise ValueError(f"combinations: r must be non-negative, got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[_place(idx, None, input.device, False)]


def unravel_index(indices, shape) -> tuple:
    """Flat ``indices`` (int tensor) as a tuple of coordinate tensors into ``shape``."""
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in shape)
    idx = indices if isinstance(indices, Tensor) else tensor(indices)
    if backend.dtype_kind(idx.dtype) not in "iu":
        raise TypeError(f"unravel_index: expected integer indices, got {idx.dtype}")
    if any(s < 0 for s in shape):
        raise ValueError(f"unravel_index: shape {shape} has a negative size")
    arr = backend.to_device(idx.array, backend.CPU).astype(np.int64)
    numel = int(np.prod(shape))
    if arr.size and (arr.min() < -numel or arr.max() >= numel):
        raise ValueError(f"unravel_index: indices must lie in [-{numel}, {numel}) for shape "
                         f"{shape}")
    arr = np.where(arr < 0, arr + numel, arr)
    coords = np.unravel_index(arr, shape) if shape else ()
    return tuple(_place(np.asarray(c, dtype=np.int64), None, idx.device, False) for c in coords)


# -- numerical calculus ----------------------------------------------------------------------
def _norm_dim(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims")
    return dim % max(ndim, 1)


def _along(values: np.ndarray, dim: int, ndim: int, like: Tensor) -> Tensor:
    """1-d ``values`` as a tensor that broadcasts along ``dim`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[dim] = values.shape[0]
    dtype = like.dtype if backend.is_floating(like.dtype) or like.dtype.kind == "c" else \
        backend.get_default_dtype()
    return _place(values.reshape(shape).astype(dtype), None, like.device, False)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoid-rule integral of ``y`` along ``dim`` (one element fewer than
    ``y`` there), with sample points ``x`` or uniform spacing ``dx`` (default 1)."""
    _check_tensor(y, "cumulative_trapezoid")
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid: pass x or dx, not both")
    d = _norm_dim(dim, y.ndim, "cumulative_trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.float() if not backend.is_floating(y.dtype) else y
    left, right = narrow(y, d, 0, n - 1), narrow(y, d, 1, n - 1)
    if x is None:
        areas = (left + right) * ((1.0 if dx is None else dx) / 2)
    else:
        if x.ndim == 1:
            if x.shape[0] != n:
                raise RuntimeError(f"cumulative_trapezoid: x has {x.shape[0]} points but y has "
                                   f"{n} along dim {dim}")
            shape = [1] * y.ndim
            shape[d] = n - 1
            steps = (x[1:] - x[:-1]).reshape(shape)
        else:
            steps = narrow(x, d, 1, n - 1) - narrow(x, d, 0, n - 1)
        areas = (left + right) * steps / 2
    return areas.cumsum(d)


def _gradient_coords(spacing, ndims: list, shape: tuple, op: str) -> list:
    """Per differentiated dim: ('h', step) for uniform spacing or ('x', coordinates)."""
    if isinstance(spacing, (numbers.Number, Tensor)) and not (
            isinstance(spacing, Tensor) and spacing.ndim == 1):
        value = spacing.item() if isinstance(spacing, Tensor) else spacing
        return [("h", float(value))] * len(ndims)
    spacing = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing]
    if len(spacing) != len(ndims):
        raise RuntimeError(f"{op}: got {len(spacing)} spacing value(s) for {len(ndims)} "
                           f"dim(s); expected one per dim")
    out = []
    for s, d in zip(spacing, ndims):
        if isinstance(s, Tensor) and s.ndim == 1:
            if s.shape[0] != shape[d]:
                raise RuntimeError(f"{op}: coordinates for dim {d} have {s.shape[0]} points, "
                                   f"but the input has {shape[d]} there")
            out.append(("x", backend.to_device(s.array, backend.CPU).astype(np.float64)))
        else:
            out.append(("h", float(s.item() if isinstance(s, Tensor) else s)))
    return out


def _gradient_1d(f: Tensor, d: int, coords, edge_order: int) -> Tensor:
    """The derivative of ``f`` along dim ``d``: central differences inside (second order,
    also for uneven steps), one-sided differences of ``edge_order`` at the ends."""
    n = f.shape[d]
    kind, value = coords
    steps = np.full(n - 1, value) if kind == "h" else np.diff(value)
    hd, hs = steps[:-1], steps[1:]  # the step before and after each interior point
    a = -hs / (hd * (hd + hs))
    b = (hs - hd) / (hd * hs)
    c = hd / (hs * (hd + hs))
    parts = []
    if edge_order == 1:
        parts.append((narrow(f, d, 1, 1) - narrow(f, d, 0, 1)) / float(steps[0]))
    else:
        h1, h2 = steps[0], steps[1]
        coeffs = np.array([-(2 * h1 + h2) / (h1 * (h1 + h2)), (h1 + h2) / (h1 * h2),
                           -h1 / (h2 * (h1 + h2))])
        parts.append(sum(float(k) * narrow(f, d, i, 1) for i, k in enumerate(coeffs)))
    if n > 2:
        parts.append(_along(a, d, f.ndim, f) * narrow(f, d, 0, n - 2)
                     + _along(b, d, f.ndim, f) * narrow(f, d, 1, n - 2)
                     + _along(c, d, f.ndim, f) * narrow(f, d, 2, n - 2))
    if edge_order == 1:
        parts.append((narrow(f, d, n - 1, 1) - narrow(f, d, n - 2, 1)) / float(steps[-1]))
    else:
        h1, h2 = steps[-2], steps[-1]
        coeffs = np.array([h2 / (h1 * (h1 + h2)), -(h1 + h2) / (h1 * h2),
                           (2 * h2 + h1) / (h2 * (h1 + h2))])
        parts.append(sum(float(k) * narrow(f, d, n - 3 + i, 1) for i, k in enumerate(coeffs)))
    return cat(parts, d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimates of the partial derivatives of the samples ``input`` along each of ``dim``
    (all dims by default): a tuple with one tensor of ``input``'s shape per dim.

    ``spacing`` is a number (the same step everywhere), one number per dim, or one 1-d
    tensor of coordinates per dim (taken as constants). Interior points use central
    differences (second-order accurate, uneven steps included); the two ends use one-sided
    differences of order ``edge_order`` (1 or 2), which needs ``edge_order + 1`` samples."""
    _check_tensor(input, "gradient")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    if input.ndim == 0:
        raise RuntimeError("gradient: expected a tensor with at least one dimension")
    dims = list(range(input.ndim)) if dim is None else \
        [dim] if isinstance(dim, numbers.Integral) else list(dim)
    dims = [_norm_dim(d, input.ndim, "gradient") for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"gradient: dim {dim} names a dimension twice")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(f"gradient: input of shape {tuple(input.shape)} has "
                               f"{input.shape[d]} sample(s) along dim {d}; edge_order="
                               f"{edge_order} needs at least {edge_order + 1}")
    f = input if backend.is_floating(input.dtype) or input.dtype.kind == "c" else \
        input.to(backend.get_default_dtype())
    coords = _gradient_coords(spacing, dims, tuple(input.shape), "gradient")
    return tuple(_gradient_1d(f, d, c, edge_order) for d, c in zip(dims, coords))


# -- linear algebra --------------------------------------------------------------------------
def _linalg():
    from .. import linalg
    return linalg


def chain_matmul(*matrices) -> Tensor:
    """The product of 2-d ``matrices`` in the cheapest order (``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul: expected at least one matrix")
    for i, m in enumerate(matrices):
        if not isinstance(m, Tensor) or m.ndim != 2:
            shape = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
            raise RuntimeError(f"chain_matmul: argument {i} must be a 2-d tensor, got {shape}")
    if len(matrices) == 1:
        return matrices[0].clone()
    return _linalg().multi_dot(list(matrices))


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values of (each matrix of) ``A`` above
    ``max(atol, rtol * largest)``; with neither given, ``rtol = eps * max(m, n)``
    (``torch.linalg.matrix_rank``'s rule; ``torch.matrix_rank`` itself is gone)."""
    _check_tensor(A, "matrix_rank")
    if A.ndim < 2:
        raise RuntimeError(f"matrix_rank: expected a matrix or a batch of them, got shape "
                           f"{tuple(A.shape)}")
    arr = backend.to_device(A.detach().array, backend.CPU)
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(arr))
    else:
        s = np.linalg.svd(arr, compute_uv=False) if min(arr.shape[-2:]) else \
            np.zeros(arr.shape[:-2] + (0,))
    m, n = A.shape[-2:]
    if atol is None and rtol is None:
        rtol = backend.finfo(A.dtype if backend.is_floating(A.dtype) else None).eps * max(m, n)
    atol = 0.0 if atol is None else atol
    rtol = 0.0 if rtol is None else rtol
    atol = backend.to_device(atol.array, backend.CPU) if isinstance(atol, Tensor) else atol
    rtol = backend.to_device(rtol.array, backend.CPU) if isinstance(rtol, Tensor) else rtol
    largest = s.max(axis=-1) if s.shape[-1] else np.zeros(s.shape[:-1])
    tol = np.maximum(atol, rtol * largest)
    rank = (s > np.asarray(tol)[..., None]).sum(axis=-1).astype(np.int64)
    return _place(np.asarray(rank), None, A.device, False)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> tuple:
    """``(P, L, U)`` from the packed LU factorization of ``nabla.lu`` /
    ``linalg.lu_factor``, with ``A = P @ L @ U``: L unit lower triangular (m, k), U upper
    triangular (k, n), P the permutation of the 1-based row swaps ``LU_pivots``. L and U are
    differentiable; skipped parts come back empty."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    batch = tuple(LU_data.shape[:-2])
    if unpack_data:
        eye = _place(np.eye(m, k, dtype=LU_data.dtype), None, LU_data.device, False)
        L = tril(narrow(LU_data, -1, 0, k), -1) + eye
        U = triu(narrow(LU_data, -2, 0, k))
    else:
        L = U = zeros(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_pivots:
        piv = backend.to_device(LU_pivots.array, backend.CPU).astype(np.int64).reshape(-1, k)
        perms = np.empty((piv.shape[0], m), dtype=np.int64)
        for b, row in enumerate(piv):
            perm = np.arange(m)
            for i, p in enumerate(row):
                if not 1 <= p <= m:
                    raise RuntimeError(f"lu_unpack: pivot {p} at position {i} is out of range "
                                       f"[1, {m}]")
                perm[i], perm[p - 1] = perm[p - 1], perm[i]
            perms[b] = perm
        # rows perm of A make L @ U, so P (with A = P L U) has P[perm[j], j] = 1
        eye = np.eye(m, dtype=LU_data.dtype)
        P = np.swapaxes(eye[perms], -1, -2).reshape(batch + (m, m))
        P = _place(np.ascontiguousarray(P), None, LU_data.device, False)
    else:
        P = zeros(0, dtype=LU_data.dtype, device=LU_data.device)
    return P, L, U


def _randn_like(shape: tuple, like: Tensor, generator) -> Tensor:
    gen = generator if generator is not None else backend.default_generator
    return _place(gen.numpy.standard_normal(shape).astype(like.dtype), None, like.device, False)


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int = 2, M: Tensor | None = None, *,
                generator=None) -> tuple:
    """An approximate rank-``q`` SVD ``(U, S, V)`` of ``A - M`` by randomized subspace
    iteration (Halko, Martinsson and Tropp, 2011): project onto ``q`` random directions
    (from ``generator``, else the default one), refine with ``niter`` power iterations,
    and take the exact SVD of the small projected matrix. ``A ≈ U diag(S) V^T``; batched
    over leading dims; differentiable (through qr and svd)."""
    _check_tensor(A, "svd_lowrank")
    if A.ndim < 2:
        raise RuntimeError(f"svd_lowrank: expected a matrix or batch, got shape {tuple(A.shape)}")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else int(q)
    if not 0 < q <= min(m, n):
        raise ValueError(f"svd_lowrank: q={q} must be in [1, min(m, n)] = [1, {min(m, n)}] for "
                         f"a matrix of shape {tuple(A.shape)}")
    linalg = _linalg()
    X = A if M is None else A - M
    Xt = X.transpose(-2, -1)
    omega = _randn_like(tuple(A.shape[:-2]) + (n, q), A, generator)
    Q = linalg.qr(X @ omega).Q
    for _ in range(niter):
        Q = linalg.qr(Xt @ Q).Q
        Q = linalg.qr(X @ Q).Q
    B = Q.transpose(-2, -1) @ X  # (q, n)
    U, S, Vh = linalg.svd(B, full_matrices=False)
    return Q @ U, S, Vh.transpose(-2, -1)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2, *,
                generator=None) -> tuple:
    """Principal components of the rows of ``A``: ``svd_lowrank`` of ``A`` less its column
    means (when ``center``); ``V``'s columns are the principal directions and
    ``S**2 / (m - 1)`` the variances along them."""
    _check_tensor(A, "pca_lowrank")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    M = A.mean(dim=-2, keepdim=True) if center else None
    return svd_lowrank(A, q, niter=niter, M=M, generator=generator)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum of singular values over the two dims ``dim`` (the last two by default)."""
    if isinstance(dim, bool):  # torch.nuclear_norm(input, keepdim) positional form
        dim, keepdim = None, dim
    return _linalg().matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim),
                                 keepdim=keepdim)


def frobenius_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The 2-norm of the elements over ``dim`` (all of them by default)."""
    return _linalg().vector_norm(input, 2, dim=dim, keepdim=keepdim)


# -- sampling --------------------------------------------------------------------------------
def _draw(input: Tensor, generator, draw, op: str) -> Tensor:
    if not backend.is_floating(input.dtype):
        raise TypeError(f"{op}: expected a floating-point tensor, got {input.dtype}")
    gen = generator if generator is not None else backend.default_generator
    sample = draw(gen.numpy)
    return _place(np.asarray(sample).astype(input.dtype), None, input.device, False)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples of Poisson distributions with rates ``input`` (same shape and dtype)."""
    _check_tensor(input, "poisson")
    rates = backend.to_device(input.detach().array, backend.CPU).astype(np.float64)
    if rates.size and (np.isnan(rates).any() or rates.min() < 0):
        raise ValueError("poisson: rates must be non-negative")
    return _draw(input, generator, lambda rng: rng.poisson(rates), "poisson")


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Samples of binomial distributions: ``count`` trials with success probability
    ``prob`` each (broadcast together; float tensors; the result has ``count``'s dtype)."""
    _check_tensor(count, "binomial")
    p = prob if isinstance(prob, Tensor) else full_like(count, prob)
    n_arr = backend.to_device(count.detach().array, backend.CPU)
    p_arr = backend.to_device(p.detach().array, backend.CPU).astype(np.float64)
    if p_arr.size and (np.isnan(p_arr).any() or p_arr.min() < 0 or p_arr.max() > 1):
        raise ValueError("binomial: prob must lie in [0, 1]")
    if n_arr.size and n_arr.min() < 0:
        raise ValueError("binomial: count must be non-negative")
    return _draw(count, generator,
                 lambda rng: rng.binomial(np.round(n_arr).astype(np.int64), p_arr), "binomial")


# -- small spellings -------------------------------------------------------------------------
def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    _check_tensor(input, "rsub")
    return other - (input if alpha == 1 else input * alpha)


def fill(input: Tensor, value) -> Tensor:
    """A new tensor like ``input`` filled with ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        return value.to(input.dtype).expand(*input.shape).clone()
    return full_like(input, value)


def fill_(input: Tensor, value) -> Tensor:
    return input.fill_(value)


def zero_(input: Tensor) -> Tensor:
    return input.zero_()


def constant_pad_nd(input: Tensor, pad_widths, value=0) -> Tensor:
    """``input`` padded with ``value``: ``pad_widths`` = (before, after) pairs from the
    last dim backwards, as in ``nn.functional.pad``."""
    return pad(input, list(pad_widths), "constant", value)


def detach(input: Tensor) -> Tensor:
    return input.detach()


# -- losses with PyTorch's top-level signatures ----------------------------------------------
# torch.<loss> are the ATen operators: reduction is an int (0 none, 1 mean, 2 sum) and the
# deprecated size_average / reduce arguments are absent. Strings are accepted too.
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction) -> str:
    if isinstance(reduction, str):
        return reduction
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 0 (none), 1 (mean), 2 (sum) or their names, "
                         f"got {reduction!r}")
    return _REDUCTIONS[reduction]


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     pos_weight=None, reduction=1) -> Tensor:
    return _loss.binary_cross_entropy_with_logits(input, target, weight=weight,
                                                  pos_weight=pos_weight,
                                                  reduction=_reduction(reduction))


def kl_div(input: Tensor, target: Tensor, reduction=1, *, log_target: bool = False) -> Tensor:
    """As ``F.kl_div``; ``reduction`` 1 ("mean") is the mean over all elements, asked for
    explicitly here, so F.kl_div's advice to use "batchmean" is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="kl_div: reduction='mean'")
        return _loss.kl_div(input, target, reduction=_reduction(reduction),
                            log_target=log_target)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction=1) -> Tensor:
    return _loss.cosine_embedding_loss(input1, input2, target, margin=margin,
                                       reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction=1) -> Tensor:
    return _loss.hinge_embedding_loss(input, target, margin=margin,
                                      reduction=_reduction(reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction=1) -> Tensor:
    return _loss.margin_ranking_loss(input1, input2, target, margin=margin,
                                     reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction=1) -> Tensor:
    """torch's order: ``(input, target, log_input, full, eps, reduction)`` (all required
    there; defaulted here as in ``F.poisson_nll_loss``)."""
    return _loss.poisson_nll_loss(input, target, log_input=log_input, full=full, eps=eps,
                                  reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        reduction=1) -> Tensor:
    return _loss.triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps,
                                     swap=swap, reduction=_reduction(reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction=1, zero_infinity: bool = False) -> Tensor:
    return _loss.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                          reduction=_reduction(reduction), zero_infinity=zero_infinity)


# -- top-level spellings of the Tensor in-place methods (torch.abs_(x) is x.abs_()) ----------
_INPLACE = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_",
    "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "resize_as_", "round_", "rsqrt_",
    "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
    "xlogy_",
)


def _inplace_alias(name: str):
    def fn(input: Tensor, *args, **kwargs):
        _check_tensor(input, name)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``: updates ``input`` in place and returns it."
    return fn


for _name in _INPLACE:  # (relu_ is already a function of ops.activation)
    globals()[_name] = _inplace_alias(_name)
    __all__.append(_name)

TENSOR_METHODS: dict = {}
