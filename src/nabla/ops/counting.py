"""Counting and searching: unique, unique_consecutive, searchsorted, bucketize, histc,
bincount, isin.

Their results are integer indices, counts or masks (``unique`` returns values, but
which values is a discrete choice), so nothing here carries a gradient: each op works
on arrays with ``xp`` (NumPy or CuPy) and wraps the result, like ``argmax``. bfloat16
arrays are compared and sorted as float32, which holds them exactly.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from .. import backend
from ..tensor import Tensor
from .reduction import _one_axis


def _check(input, op: str, name: str = "input") -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(input).__name__}")


def _keys(x):
    """``x`` as an array NumPy can sort and compare (bfloat16 as float32, exactly)."""
    return x.astype(np.float32) if x.dtype == backend.bfloat16 else x


def _common(a, b):
    """``a`` and ``b`` as keys of one dtype, so they can be merged and compared."""
    a, b = _keys(a), _keys(b)
    dtype = backend.promote_types(a.dtype, b.dtype)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _wrap_int(x, out_int32: bool = False) -> Tensor:
    return Tensor._wrap(x.astype(np.int32 if out_int32 else np.int64, copy=False))


# -- unique ---------------------------------------------------------------------------------
def _as_rows(x, dim: int | None, op: str):
    """``x`` as a 2-D array of rows to compare: its elements (``dim=None``) or its slices
    along ``dim``, each flattened."""
    if dim is None:
        return x.reshape(-1, 1)
    xp = backend.get_array_module(x)
    moved = xp.moveaxis(x, dim, 0)
    if moved.shape[0] and 0 in moved.shape[1:]:
        raise RuntimeError(f"{op}: cannot compare the slices along dim {dim} of a tensor of "
                           f"shape {tuple(x.shape)}: they are empty (a size-0 dimension that "
                           f"is not dim)")
    return moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))


def _from_rows(rows, x, dim: int | None):
    """Rows picked by ``unique`` back in ``x``'s layout (1-D for ``dim=None``)."""
    if dim is None:
        return rows.reshape(-1)
    xp = backend.get_array_module(rows)
    moved = xp.moveaxis(x, dim, 0)
    return xp.moveaxis(rows.reshape((rows.shape[0],) + moved.shape[1:]), 0, dim)


def _runs(rows) -> tuple:
    """The mask of the first row of each run of equal consecutive ``rows``, each row's run
    number, and the runs' lengths. NaN never equals NaN: each starts a run, as in PyTorch."""
    xp = backend.get_array_module(rows)
    keys = _keys(rows)
    first = xp.ones(keys.shape[0], dtype=bool)
    if keys.shape[0] > 1:
        first[1:] = (keys[1:] != keys[:-1]).any(axis=1)
    run = xp.cumsum(first) - 1
    counts = xp.diff(xp.append(xp.flatnonzero(first), keys.shape[0]))
    return first, run, counts


def _sort_rows(rows):
    """The stable order that sorts ``rows`` lexicographically (NaN last)."""
    xp = backend.get_array_module(rows)
    keys = _keys(rows)
    if keys.shape[1] == 1:
        return xp.argsort(keys[:, 0], kind="stable")
    return xp.lexsort(keys.T[::-1])  # lexsort's last key is the primary one


def _unique(input: Tensor, sorted_: bool, return_inverse: bool, return_counts: bool,
            dim, op: str):
    _check(input, op)
    x = input.array
    if dim is not None:
        if input.ndim == 0:
            raise IndexError(f"{op}: dim {dim} is out of range for a 0-d tensor")
        dim = _one_axis(dim, input.ndim, op)
    rows = _as_rows(x, dim, op)
    if sorted_:
        order = _sort_rows(rows)
        rows = rows[order]
    first, run, counts = _runs(rows)
    if sorted_:  # each row's run number, back in the input's order
        inverse = backend.get_array_module(run).empty_like(run)
        inverse[order] = run
        run = inverse
    values = Tensor._wrap(_from_rows(rows[first], x, dim))
    extra = []
    if return_inverse:
        extra.append(_wrap_int(run.reshape(x.shape) if dim is None else run))
    if return_counts:
        extra.append(_wrap_int(counts))
    return (values, *extra) if extra else values


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements of ``input`` (flattened), or its distinct slices along
    ``dim``, in ascending (lexicographic) order, NaNs last and each its own value.

    With ``return_inverse``, also the index into the result of each element (shaped as
    ``input``) or slice; with ``return_counts``, how often each occurs (both int64).
    The result is always sorted (``sorted=False`` is accepted: PyTorch may sort too).
    """
    return _unique(input, True, return_inverse, return_counts, dim, "unique")


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """``input`` with each run of equal consecutive elements (or slices along ``dim``)
    collapsed to one, as ``itertools.groupby``; ``return_inverse`` and ``return_counts``
    as in ``unique``."""
    return _unique(input, False, return_inverse, return_counts, dim, "unique_consecutive")


# -- searching -------------------------------------------------------------------------------
def _search_rows(seq, values, right: bool):
    """``searchsorted`` of each row of ``values`` (..., m) in the same row of ``seq``
    (..., n), all rows at once: the two are joined and sorted stably, values placed
    before the sequence (left: they land before equal elements) or after it (right); the
    answer for a value is the number of sequence elements sorted before it."""
    xp = backend.get_array_module(seq)
    n, m = seq.shape[-1], values.shape[-1]
    joined = xp.concatenate([seq, values] if right else [values, seq], axis=-1)
    order = xp.argsort(joined, axis=-1, kind="stable")
    from_seq = (order < n) if right else (order >= m)
    seq_before = xp.cumsum(from_seq, axis=-1) - from_seq
    where = xp.argsort(order, axis=-1, kind="stable")  # the sorted position of each entry
    value_slots = where[..., n:] if right else where[..., :m]
    return xp.take_along_axis(seq_before, value_slots, axis=-1)


def _side(right: bool, side) -> bool:
    """Whether to search from the right, from PyTorch's two ways of saying so."""
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise RuntimeError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise RuntimeError("searchsorted: side='left' and right=True contradict each other")
    return side == "right"


def _values_array(values, like, op: str):
    """``values`` (a Tensor or a number) as an array on ``like``'s device."""
    if isinstance(values, Tensor):
        return values.array
    if isinstance(values, numbers.Number):
        return backend.get_array_module(like).asarray(values)
    raise TypeError(f"{op}: expected values to be a Tensor or a number, got "
                    f"{type(values).__name__}")


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None,
                 sorter: Tensor | None = None) -> Tensor:
    """For each of ``values``, the index at which it would be inserted into the last
    dimension of ``sorted_sequence`` to keep it sorted: before equal elements
    (``right=False``, ``side='left'``) or after them. ``sorted_sequence`` is 1-D (any
    ``values``) or (*, n) with ``values`` (*, m) sharing its leading dimensions.
    ``sorter`` holds the indices that sort an unsorted sequence; int64 (or int32) out.
    """
    _check(sorted_sequence, "searchsorted", "sorted_sequence")
    right = _side(right, side)
    seq = sorted_sequence.array
    vals = _values_array(values, seq, "searchsorted")
    if seq.ndim == 0:
        raise RuntimeError("searchsorted: sorted_sequence must have at least 1 dimension, "
                           "got a 0-d tensor")
    if seq.ndim > 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(
            f"searchsorted: sorted_sequence of shape {tuple(seq.shape)} must be 1-D or share "
            f"all but its last dimension with values, got values of shape "
            f"{tuple(vals.shape)}")
    if sorter is not None:
        _check(sorter, "searchsorted", "sorter")
        if sorter.shape != sorted_sequence.shape or sorter.dtype.kind not in "iu":
            raise RuntimeError(f"searchsorted: sorter must be an integer tensor of the shape "
                               f"{tuple(seq.shape)} of sorted_sequence, got shape "
                               f"{tuple(sorter.shape)} and dtype {sorter.dtype}")
        xp = backend.get_array_module(seq)
        seq = xp.take_along_axis(seq, sorter.array.astype(np.int64, copy=False), axis=-1)
    seq, vals = _common(seq, vals)
    if seq.ndim == 1:
        xp = backend.get_array_module(seq)
        found = xp.searchsorted(seq, vals, side="right" if right else "left")
    else:
        found = _search_rows(seq, vals, right)
    return _wrap_int(found, out_int32)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each element of ``input`` (a Tensor or a number) among the 1-D
    ``boundaries``: i with ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``:
    ``boundaries[i-1] <= x < boundaries[i]``)."""
    _check(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape "
                           f"{tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """A bool tensor of ``elements``' shape: whether each is in ``test_elements`` (not in
    it, with ``invert``). Either may be a number; NaN is in nothing."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin: expected elements or test_elements to be a Tensor, got "
                        f"{type(elements).__name__} and {type(test_elements).__name__}")
    like = (elements if isinstance(elements, Tensor) else test_elements).array
    e, t = _values_array(elements, like, "isin"), _values_array(test_elements, like, "isin")
    e, t = _common(e, t)
    xp = backend.get_array_module(e)
    return Tensor._wrap(xp.isin(e, t, assume_unique=assume_unique, invert=invert))


# -- counting -------------------------------------------------------------------------------
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ..., max(input) occurs in the 1-D non-negative integer
    ``input`` (at least ``minlength`` bins): int64 counts, or sums of ``weights``
    (float32 stays float32; other dtypes give float64, as in PyTorch)."""
    _check(input, "bincount")
    x = input.array
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise RuntimeError(f"bincount: expected a 1-D tensor of non-negative integers, got "
                           f"shape {tuple(x.shape)} and dtype {x.dtype}")
    if x.size and int(x.min()) < 0:
        raise RuntimeError(f"bincount: expected non-negative integers, got {int(x.min())}")
    if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) \
            or minlength < 0:
        raise RuntimeError(f"bincount: minlength must be a non-negative int, got "
                           f"{minlength!r}")
    xp = backend.get_array_module(x)
    if weights is None:
        return Tensor._wrap(xp.bincount(x, minlength=int(minlength)).astype(np.int64))
    _check(weights, "bincount", "weights")
    if weights.shape != input.shape:
        raise RuntimeError(f"bincount: weights of shape {tuple(weights.shape)} must have the "
                           f"input's shape {tuple(input.shape)}")
    out = np.float32 if weights.dtype == np.float32 else np.float64
    sums = xp.bincount(x, weights=weights.array.astype(np.float64), minlength=int(minlength))
    return Tensor._wrap(sums.astype(out))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """The histogram of ``input`` in ``bins`` equal-width bins over [min, max] (the data's
    range when both are 0; widened by 1 each way when empty). Elements outside the range
    (and NaN) are ignored; the top edge belongs to the last bin. Counts in input's dtype."""
    _check(input, "histc")
    if not backend.is_floating(input.dtype):
        raise RuntimeError(f"histc: expected a floating-point input, got dtype {input.dtype}")
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise RuntimeError(f"histc: bins must be a positive int, got {bins!r}")
    x = input.array.reshape(-1)
    xp = backend.get_array_module(x)
    lo, hi = float(min), float(max)
    if lo == hi == 0 and x.size:
        lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"histc: the range [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"histc: max ({hi}) must not be smaller than min ({lo})")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    # the edges and the arithmetic in the input's dtype (bfloat16 too), as PyTorch's
    # kernel computes them, so elements near an edge fall in the same bin
    lo, hi = x.dtype.type(lo), x.dtype.type(hi)
    inside = x[(x >= lo) & (x <= hi)]
    position = ((inside - lo) * bins / (hi - lo)).astype(np.int64)  # >= 0: truncation floors
    counts = xp.bincount(xp.minimum(position, bins - 1), minlength=int(bins))
    return Tensor._wrap(counts.astype(input.dtype))


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """``(hist, bin_edges)`` of the flattened ``input`` (floating point): ``bins`` equal-width
    bins over ``range`` (the data's min and max by default; [lo - 0.5, hi + 0.5] when they
    are equal, [0, 1] for no data), or ``bins`` given as a 1-D tensor of increasing edges.
    Each bin includes its left edge, the last one its right edge too; elements outside
    are ignored. ``weight`` (input's shape) weighs each element; ``density`` divides by
    the total and the bin width, so the histogram integrates to 1. Both outputs in
    ``input``'s dtype."""
    _check(input, "histogram")
    if not backend.is_floating(input.dtype):
        raise RuntimeError(f"histogram: expected a floating-point input, got dtype "
                           f"{input.dtype}")
    x = input.array.reshape(-1)
    xp = backend.get_array_module(x)
    dtype = x.dtype
    if x.dtype == backend.bfloat16:  # NumPy has no bfloat16 arithmetic of its own
        x = x.astype(np.float32)
    if isinstance(bins, Tensor):
        if bins.ndim != 1 or bins.numel() < 2 or bins.dtype != input.dtype:
            raise RuntimeError(f"histogram: bins as a tensor must be 1-D with at least 2 edges "
                               f"in the input's dtype {input.dtype}, got shape "
                               f"{tuple(bins.shape)} and dtype {bins.dtype}")
        if range is not None:
            raise RuntimeError("histogram: range cannot be given together with a tensor of "
                               "bin edges")
        edges = backend.to_device(bins.array, backend.device_of(x)).astype(x.dtype)
        if edges.size > 1 and bool((edges[1:] < edges[:-1]).any()):
            raise RuntimeError("histogram: bin edges must increase monotonically")
    elif isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise RuntimeError(f"histogram: bins must be a positive int or a 1-D tensor of edges, "
                           f"got {bins!r}")
    else:
        edges = int(bins)
        if range is not None:
            lo, hi = (float(r) for r in range)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise RuntimeError(f"histogram: range must be finite with min <= max, got "
                                   f"{tuple(range)}")
            range = (lo, hi)
    w = None
    if weight is not None:
        _check(weight, "histogram", "weight")
        if weight.shape != input.shape or weight.dtype != input.dtype:
            raise RuntimeError(f"histogram: weight (shape {tuple(weight.shape)}, dtype "
                               f"{weight.dtype}) must have the input's shape "
                               f"{tuple(input.shape)} and dtype {input.dtype}")
        w = weight.array.reshape(-1).astype(x.dtype)
    hist, edges = xp.histogram(x, bins=edges, range=range, weights=w, density=density)
    return histogram_result(Tensor._wrap(hist.astype(dtype)), Tensor._wrap(edges.astype(dtype)))


histogram_result = namedtuple("histogram", ["hist", "bin_edges"])

TENSOR_METHODS = {"unique": unique, "unique_consecutive": unique_consecutive,
                  "bincount": bincount, "histc": histc, "histogram": histogram}

__all__ = ["unique", "unique_consecutive", "searchsorted", "bucketize", "isin", "bincount",
           "histc", "histogram"]
