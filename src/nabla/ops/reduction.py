"""Reductions: sum, mean, var, prod, max/min, logsumexp, norms, scans, quantiles, logical tests.

Every reduction takes PyTorch's ``dim`` (None, an int or a tuple; negative
counts from the end; ``None`` or ``()`` reduces everything) and ``keepdim``.
Selections (max, min, median, mode) return ``(values, indices)`` namedtuples when a
``dim`` is given, as ``torch.return_types`` does; so do cummax and cummin.
"""
from __future__ import annotations

import builtins
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from .elementwise import (NoGrad, _conj, abs, exp, isnan, log, logical_not, maximum, minimum,
                          sqrt, where)
from .index import IndexAddInto, gather

# The named results of selections, like torch.return_types.max(values=..., indices=...).
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])
aminmax_result = namedtuple("aminmax", ["min", "max"])


# -- helpers ---------------------------------------------------------------------------
def _range_error(op: str, d, ndim: int) -> IndexError:
    n = builtins.max(ndim, 1)
    return IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} "
                      f"dimensions (expected to be in [{-n}, {n - 1}])")


def _axes(dim, ndim: int, op: str) -> tuple:
    """Normalise ``dim`` (None, int or tuple; negative allowed) to a sorted tuple.

    ``None`` and ``()`` mean every dimension, as in PyTorch. A 0-d tensor
    accepts dim 0 and -1 and has no axis to reduce.
    """
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    dims = tuple(dim)
    if not dims:
        return tuple(range(ndim))
    n = builtins.max(ndim, 1)
    axes = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        d = int(d)
        if not -n <= d < n:
            raise _range_error(op, d, ndim)
        axes.append(d % n)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dimension repeated in dim={dim}")
    return tuple(sorted(a for a in axes if a < ndim))


def _one_axis(dim, ndim: int, op: str) -> int:
    """A single dimension (PyTorch ops such as cumsum and max(dim) take exactly one)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be a single int, got {dim!r}")
    d = int(dim)
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise _range_error(op, d, ndim)
    return d % n


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced axes set to 1 (the keepdim shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple, axes: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return _kept_shape(shape, axes)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _keep(t: Tensor, shape: tuple, axes: tuple) -> Tensor:
    """A reduced tensor (keepdim or not) in the keepdim layout, ready to broadcast."""
    return t.reshape(_kept_shape(shape, axes))


def _count(shape: tuple, axes: tuple) -> int:
    """How many elements each output of a reduction over ``axes`` combines."""
    return math.prod(shape[a] for a in axes)


def _require_float(input: Tensor, op: str) -> None:
    if backend.dtype_kind(input.dtype) != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {input.dtype}; "
                           f"convert with .float() or .double()")


def _require_nonempty(input: Tensor, axes: tuple, op: str) -> None:
    """Max-like reductions have no identity: reducing zero elements is an error."""
    for a in axes:
        if input.shape[a] == 0:
            raise IndexError(f"{op}: cannot reduce over dimension {a} of size 0 (input shape "
                             f"{tuple(input.shape)}): the operation has no identity")


def _rules_differentiated() -> bool:
    """Whether the Tensor ops a vjp/jvp runs are themselves recorded (``create_graph``
    or an outer forward-mode level): then rules must build exact graphs."""
    return STATE.grad_enabled or builtins.any(lv not in STATE.fw_muted for lv in STATE.fw_levels)


def _to_rows(x: Tensor, axes: tuple) -> Tensor:
    """``x`` permuted so the reduced ``axes`` come last and flattened to (M, K)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    rows = x.permute(tuple(kept) + axes)
    return rows.reshape(_count(x.shape, tuple(kept)), _count(x.shape, axes))


def _from_rows(rows: Tensor, shape: tuple, axes: tuple) -> Tensor:
    """Undo ``_to_rows``: an (M, K) tensor back to ``shape``."""
    kept = [i for i in range(len(shape)) if i not in axes]
    order = tuple(kept) + axes
    permuted = rows.reshape(tuple(shape[i] for i in order))
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return permuted.permute(tuple(inverse))


def _along_index(xp, index, axis: int) -> tuple:
    """An advanced index picking ``index`` (keepdim layout) along ``axis``: like
    ``take_along_axis``, but also usable for assignment on NumPy and CuPy alike."""
    from .index import _along_dim
    return _along_dim(index, axis)


# -- sum and mean --------------------------------------------------------------------
def _sum_by_gemv(x, axes: tuple):
    """``x.sum(axes)`` as ones-vector products with BLAS, or None where it does not apply.

    NumPy sums short contiguous runs about 10x slower than a GEMV does (a
    (64, 512, 7, 7) array over its last two axes: 0.64 ms against 0.07 ms), and
    such sums are everywhere: batch-norm statistics, bias gradients, pooling.
    Applies to floating C-contiguous NumPy arrays whose reduced axes are a
    leading block, a trailing block, or both.
    """
    if (x.size < 1024 or type(x) is not np.ndarray or x.dtype.char not in "fd" or not axes
            or not x.flags.c_contiguous):
        return None
    nd, shape = x.ndim, x.shape
    lead = 0
    while lead < len(axes) and axes[lead] == lead:
        lead += 1
    trail = len(axes) - lead
    if axes[lead:] != tuple(range(nd - trail, nd)):
        return None
    out = x
    if trail:
        k = math.prod(shape[nd - trail:])
        out = (out.reshape(-1, k) @ backend.ones_vector(np, k, x.dtype)).reshape(shape[:nd - trail])
    if lead:
        m = math.prod(shape[:lead])
        out = np.asarray(backend.ones_vector(np, m, x.dtype) @ out.reshape(m, -1)).reshape(
            shape[lead:nd - trail])
    return out


class Sum(Function):
    uses_inputs = False

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes = x.shape, axes
        out = _sum_by_gemv(x, axes)
        if out is None:
            if type(x) is np.ndarray:  # the ufunc itself: skips ndarray.sum's Python layer
                if len(axes) == x.ndim and not keepdim:
                    return np.add.reduce(x, None)  # (an axis tuple costs 0.2 us more)
                return np.add.reduce(x, axis=axes, keepdims=keepdim)
            return x.sum(axis=axes, keepdims=keepdim)
        return out.reshape(_kept_shape(x.shape, axes)) if keepdim else out

    def vjp(self, g):
        g = g.reshape(_kept_shape(self.in_shape, self.axes))
        return g.broadcast_to(self.in_shape)

    def jvp(self, t):
        return t.sum(dim=self.axes, keepdim=self.out.ndim == len(self.in_shape))


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default). Bool and integer inputs sum in int64."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bi" and input.dtype.itemsize < 8:
        input = input.long()  # as in PyTorch, integer sums accumulate in int64
    axes = _axes(dim, input.ndim, "sum")
    return Sum.apply(input, axes=axes, keepdim=keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; NaN over an empty dimension, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if backend.dtype_kind(input.dtype) not in "fc":
        raise RuntimeError(f"mean: expected a floating-point input, got dtype {input.dtype} "
                           f"(complex inputs are fine too); pass dtype= or convert with "
                           f".float()")
    axes = _axes(dim, input.ndim, "mean")
    count = _count(input.shape, axes)
    return Sum.apply(input, axes=axes, keepdim=keepdim) * (1.0 / count if count else math.nan)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` with NaN counted as zero (and given a zero gradient)."""
    if dtype is not None:
        input = input.to(dtype)
    if backend.dtype_kind(input.dtype) == "f":
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` of the elements that are not NaN (NaN where all are, or none
    exist); NaN elements get a zero gradient."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "nanmean")
    count = sum(logical_not(isnan(input)), dim, keepdim)  # int64, no gradient
    none = count == 0
    return where(none, math.nan, nansum(input, dim, keepdim) / where(none, 1, count))


# -- variance and standard deviation ----------------------------------------------------
def _correction(op: str, dim, unbiased, correction) -> tuple:
    """Resolve PyTorch's two calling conventions to ``(dim, correction)``:
    ``var(x, dim, *, correction=1)`` and the older ``var(x, dim, unbiased)``,
    ``var(x, unbiased)``."""
    if isinstance(dim, bool):  # var(x, False): the bool is `unbiased`
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased= or correction=, not both")
    if unbiased is not None:
        return dim, int(bool(unbiased))
    return dim, 1 if correction is None else correction


def _var_and_mean(input: Tensor, op: str, dim, unbiased, keepdim: bool, correction):
    dim, correction = _correction(op, dim, unbiased, correction)
    if input.dtype.kind != "c":
        _require_float(input, op)
    axes = _axes(dim, input.ndim, op)
    center = mean(input, axes, keepdim=True)
    # two passes (subtract the mean, then square) avoid the cancellation of E[x^2] - E[x]^2
    deviation = input - center
    if deviation.dtype.kind == "c":  # |z - mean|^2, real (as PyTorch's complex var)
        from .complex import imag, real
        deviation_sq = real(deviation) ** 2 + imag(deviation) ** 2
    else:
        deviation_sq = deviation * deviation
    squares = sum(deviation_sq, axes, keepdim=keepdim)
    dof = builtins.max(_count(input.shape, axes) - correction, 0)
    if dof == 0:
        warnings.warn(f"{op}: degrees of freedom is <= 0 (correction={correction} for "
                      f"{_count(input.shape, axes)} elements per output); the result is "
                      f"inf or nan", RuntimeWarning, stacklevel=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = squares / 0.0
    else:
        variance = squares * (1.0 / dof)
    return variance, center if keepdim else center.reshape(variance.shape)


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over ``dim``, dividing by ``N - correction`` (Bessel's correction by default)."""
    return _var_and_mean(input, "var", dim, unbiased, keepdim, correction)[0]


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation over ``dim``: ``sqrt(var(...))``."""
    return sqrt(_var_and_mean(input, "std", dim, unbiased, keepdim, correction)[0])


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(var, mean)`` over ``dim`` in one pass over the mean."""
    return _var_and_mean(input, "var_mean", dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    variance, center = _var_and_mean(input, "std_mean", dim, unbiased, keepdim, correction)
    return sqrt(variance), center


# -- product -----------------------------------------------------------------------------
class Prod(Function):
    """Product over ``axes``; exact gradients (every order) when inputs hold zeros."""
    uses_output = True

    def forward(self, x, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        return x.prod(axis=axes, keepdims=keepdim)

    def _others(self) -> Tensor:
        """d out / d x: for each element, the product of the others (x's shape)."""
        x = self.inputs[0]
        return _product_of_others(x, self.axes, _keep(self.out, x.shape, self.axes))

    def vjp(self, g):
        return _keep(g, self.inputs[0].shape, self.axes) * _conj(self._others())

    def jvp(self, t):
        return sum(t * self._others(), self.axes, keepdim=self.keepdim)


def _product_of_others(x: Tensor, axes: tuple, product: Tensor) -> Tensor:
    """For each element of ``x``, the product of the other elements of its slice.

    Without zeros this is ``product / x``. With zeros, division fails, so: when
    only values are needed (plain backward), count the zeros per slice; when the
    result will itself be differentiated, take products of leave-one-out copies
    of the slices that hold zeros (exact to every order, O(K^2) per such slice).
    """
    zero = x.array == 0
    if not zero.any():
        return product / x
    if not _rules_differentiated():
        return Tensor._wrap(_product_of_others_values(x.array, axes))
    xp = backend.get_array_module(x.array)
    slice_has_zero = xp.broadcast_to(zero.any(axis=axes, keepdims=True), x.shape)
    # slices without zeros: product / x, with the zero slices masked out of the division
    safe = where(Tensor._wrap(slice_has_zero), 1.0, x)
    plain = where(Tensor._wrap(slice_has_zero), 0.0, product / safe)
    rows = _to_rows(x, axes)                                          # (M, K)
    picked = xp.nonzero(zero.any(axis=axes).reshape(-1))[0]           # rows with zeros
    sub = rows[picked]                                                # (m, K)
    k = rows.shape[1]
    leave_one_out = where(Tensor._wrap(xp.eye(k, dtype=bool)), 1.0, sub.unsqueeze(1))
    exact = Prod.apply(leave_one_out, axes=(2,), keepdim=False)      # (m, K)
    exact = IndexAddInto.apply(exact, index=(picked,), shape=rows.shape)
    return plain + _from_rows(exact, x.shape, axes)


def _product_of_others_values(x, axes: tuple):
    """Array version of ``_product_of_others`` from zero counts (first order only)."""
    xp = backend.get_array_module(x)
    zero = x == 0
    safe = xp.where(zero, xp.ones((), x.dtype), x)
    nonzero_product = safe.prod(axis=axes, keepdims=True)
    zeros = zero.sum(axis=axes, keepdims=True)
    # no zero: product / x_i; one zero: only that element sees a nonzero product
    one_zero = xp.where(zero & (zeros == 1), nonzero_product, xp.zeros((), x.dtype))
    return xp.where(zeros == 0, nonzero_product / safe, one_zero).astype(x.dtype, copy=False)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or over the single dimension ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bi" and input.dtype.itemsize < 8:
        input = input.long()
    if dim is None:
        return Prod.apply(input, axes=tuple(range(input.ndim)), keepdim=False)
    axis = _one_axis(dim, input.ndim, "prod")
    return Prod.apply(input, axes=(axis,) if input.ndim else (), keepdim=keepdim)


# -- selections: max, min, median ------------------------------------------------------------
class SelectReduce(Function):
    """A reduction that selects a value (max, min, median) per slice.

    The gradient is split evenly among the elements equal to the selected
    value, as PyTorch does for amax/amin and full max/min/median.
    """
    uses_inputs = False

    def forward(self, x, axes, keepdim, select):
        self.axes, self.keepdim = axes, keepdim
        value = select(self.xp, x, axes)  # keepdim layout
        if backend.dtype_kind(x.dtype) == "f":
            hit = x == value
            count = hit.sum(axis=axes, keepdims=True)
            self.weight = (hit / self.xp.maximum(count, 1)).astype(x.dtype, copy=False)
        return value if keepdim else value.reshape(_reduced_shape(x.shape, axes, False))

    def vjp(self, g):
        w = Tensor._wrap(self.weight)
        return _keep(g, w.shape, self.axes) * w

    def jvp(self, t):
        return sum(t * Tensor._wrap(self.weight), self.axes, keepdim=self.keepdim)


def _select_max(xp, x, axes):
    return xp.max(x, axis=axes, keepdims=True)


def _select_min(xp, x, axes):
    return xp.min(x, axis=axes, keepdims=True)


def _select_median(xp, x, axes):
    """The lower median of all elements (NaN if any element is NaN), keepdim layout."""
    flat = x.reshape(-1)
    if flat.size == 0 or bool(xp.isnan(flat).any()):
        return xp.full((1,) * x.ndim, xp.nan, dtype=x.dtype)
    return xp.sort(flat)[(flat.size - 1) // 2].reshape((1,) * x.ndim)


class TakeAlongDim(Function):
    """``x`` at one index per slice along ``axis`` (``index`` in keepdim layout)."""
    uses_inputs = False

    def forward(self, x, index, axis):
        self.index, self.axis, self.in_shape = index, axis, x.shape
        return x[_along_index(self.xp, index, axis)]

    def vjp(self, g):
        return PutAlongDim.apply(g, index=self.index, axis=self.axis, shape=self.in_shape)

    def jvp(self, t):
        return TakeAlongDim.apply(t, index=self.index, axis=self.axis)


class PutAlongDim(Function):
    """Zeros of ``shape`` with ``g`` written at one index per slice along ``axis``."""
    uses_inputs = False

    def forward(self, g, index, axis, shape):
        self.index, self.axis = index, axis
        out = self.xp.zeros(shape, dtype=g.dtype)
        out[_along_index(self.xp, index, axis)] = g
        return out

    def vjp(self, gg):
        return TakeAlongDim.apply(gg, index=self.index, axis=self.axis)

    def jvp(self, t):
        return PutAlongDim.apply(t, index=self.index, axis=self.axis, shape=self.out.shape)


def _select_along(input: Tensor, dim, keepdim: bool, op: str, locate, result) -> tuple:
    """``(values, indices)`` of ``locate(xp, x, axis) -> keepdim index`` along one dim."""
    if input.ndim == 0:  # a 0-d tensor is its own max/min/median, at index 0
        _one_axis(dim, 0, op)
        values, indices = _select_along(input.reshape(1), 0, False, op, locate, result)
        return result(values.reshape(()), indices.reshape(()))
    axis = _one_axis(dim, input.ndim, op)
    _require_nonempty(input, (axis,), op)
    xp = backend.get_array_module(input.array)
    index = locate(xp, input.array, axis).astype(np.int64, copy=False)
    values = TakeAlongDim.apply(input, index=index, axis=axis)
    indices = Tensor._wrap(index)
    if not keepdim:
        shape = _reduced_shape(input.shape, (axis,), False)
        values, indices = values.reshape(shape), indices.reshape(shape)
    return result(values, indices)


def _locate_max(xp, x, axis):
    return xp.expand_dims(xp.argmax(x, axis=axis), axis)


def _locate_min(xp, x, axis):
    return xp.expand_dims(xp.argmin(x, axis=axis), axis)


def _locate_median(xp, x, axis):
    """Index of the lower median along ``axis``; of the first NaN where there is one."""
    order = xp.argsort(x, axis=axis)
    k = (x.shape[axis] - 1) // 2
    middle = order[(slice(None),) * axis + (slice(k, k + 1),)]
    if backend.dtype_kind(x.dtype) != "f":
        return middle
    nan = xp.isnan(x)
    first_nan = xp.expand_dims(xp.argmax(nan, axis=axis), axis)
    return xp.where(nan.any(axis=axis, keepdims=True), first_nan, middle)


def _reduce_all(input: Tensor, op: str, select) -> Tensor:
    if input.numel() == 0:
        raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape "
                           f"{tuple(input.shape)} to one value; pass a dim of nonzero size")
    return SelectReduce.apply(input, axes=tuple(range(input.ndim)), keepdim=False, select=select)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all by default); ties share the gradient evenly."""
    axes = _axes(dim, input.ndim, "amax")
    _require_nonempty(input, axes, "amax")
    return SelectReduce.apply(input, axes=axes, keepdim=keepdim, select=_select_max)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all by default); ties share the gradient evenly."""
    axes = _axes(dim, input.ndim, "amin")
    _require_nonempty(input, axes, "amin")
    return SelectReduce.apply(input, axes=axes, keepdim=keepdim, select=_select_min)


def max(input: Tensor, dim=None, keepdim: bool = False):
    """``max(x)``: the largest element. ``max(x, dim)``: ``(values, indices)`` along
    ``dim``. ``max(x, other)`` with a tensor ``other``: elementwise ``maximum``."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return _reduce_all(input, "max", _select_max)
    return _select_along(input, dim, keepdim, "max", _locate_max, max_result)


def min(input: Tensor, dim=None, keepdim: bool = False):
    """``min(x)``, ``min(x, dim) -> (values, indices)`` or elementwise ``minimum(x, other)``."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return _reduce_all(input, "min", _select_min)
    return _select_along(input, dim, keepdim, "min", _locate_min, min_result)


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median: of all elements (a value; NaN when empty), or
    ``(values, indices)`` along ``dim``. NaN propagates, as in PyTorch."""
    if dim is None:
        return SelectReduce.apply(input, axes=tuple(range(input.ndim)), keepdim=False,
                               select=_select_median)
    return _select_along(input, dim, keepdim, "median", _locate_median, median_result)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """``median`` of the elements that are not NaN (NaN where a slice has none): a value,
    or ``(values, indices)`` along ``dim``."""
    if dim is None:
        if input.numel() == 0:
            return input.new_full((), math.nan)
        return _select_along(input.reshape(-1), 0, False, "nanmedian", _locate_nanmedian,
                             median_result).values
    return _select_along(input, dim, keepdim, "nanmedian", _locate_nanmedian, median_result)


def _locate_nanmedian(xp, x, axis):
    """Index of the lower median of the non-NaN values along ``axis`` (argsort puts NaN
    last); of a NaN where the slice holds nothing else."""
    order = xp.argsort(x, axis=axis)
    if backend.dtype_kind(x.dtype) != "f":
        k = (x.shape[axis] - 1) // 2
        return order[(slice(None),) * axis + (slice(k, k + 1),)]
    count = (~xp.isnan(x)).sum(axis=axis, keepdims=True)
    k = xp.maximum(count - 1, 0) // 2
    return xp.take_along_axis(order, k, axis=axis)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum ``input`` down to ``size``, a shape it broadcasts from (the reverse of
    ``expand``): leading dimensions are summed away, size-1 ones summed with keepdim."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(n) for n in size)
    shape = tuple(input.shape)
    lead = len(shape) - len(size)
    if lead < 0 or builtins.any(n not in (1, m) for n, m in zip(size, shape[lead:])):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to the "
                           f"tensor's size {list(shape)}")
    out = sum(input, tuple(range(lead))) if lead else input
    axes = tuple(i for i, (n, m) in enumerate(zip(size, shape[lead:])) if n == 1 and m != 1)
    return sum(out, axes, keepdim=True) if axes else out


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` over the single dimension ``dim`` or over all elements; ties share
    the gradient evenly, as in ``amin`` and ``amax``."""
    if dim is None:
        axes = tuple(range(input.ndim))
    else:
        axes = (_one_axis(dim, input.ndim, "aminmax"),) if input.ndim else ()
    _require_nonempty(input, axes, "aminmax")
    return aminmax_result(amin(input, axes, keepdim), amax(input, axes, keepdim))


def _locate_mode(xp, x, axis):
    """Index (keepdim layout) of the most frequent value along ``axis``: the smallest such
    value, at its last occurrence. NaN never equals NaN, so each NaN counts once."""
    n = x.shape[axis]
    rows = xp.moveaxis(x, axis, -1).reshape(-1, n)                      # (M, n)
    m = rows.shape[0]
    order = xp.argsort(rows, axis=1, kind="stable")  # equal values keep their order
    ordered = xp.take_along_axis(rows, order, axis=1)
    starts = xp.ones(rows.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run = xp.cumsum(starts, axis=1) - 1                  # which run of equal values
    flat = (xp.arange(m).reshape(-1, 1) * n + run).reshape(-1)
    counts = xp.bincount(flat, minlength=m * n).reshape(m, n)           # run lengths
    best = xp.argmax(counts, axis=1)                     # the first: the smallest value
    last = xp.take_along_axis(xp.cumsum(counts, axis=1), best[:, None], axis=1) - 1
    index = xp.take_along_axis(order, last, axis=1)                     # (M, 1)
    kept = xp.moveaxis(x, axis, -1).shape[:-1] + (1,)
    return xp.moveaxis(index.reshape(kept), -1, axis)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest one at
    ties) and the index of its last occurrence; the gradient goes to that element.

    PyTorch reports the last occurrence for rows of up to 16 elements and an
    unspecified one beyond; NaN, never equal to itself, counts once per element.
    """
    return _select_along(input, dim, keepdim, "mode", _locate_mode, mode_result)


def _arg_reduce(input: Tensor, dim, keepdim: bool, op: str, pick) -> Tensor:
    """argmax/argmin: int64 indices, no gradient. ``dim=None`` indexes the flattened tensor."""
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape "
                               f"{tuple(input.shape)}; pass a dim of nonzero size")
        shape = (1,) * input.ndim if keepdim else ()
        return NoGrad.apply(input, fn=lambda x: pick(x.reshape(-1)).astype(np.int64)
                            .reshape(shape))
    axis = _one_axis(dim, input.ndim, op)
    if input.ndim == 0:
        return NoGrad.apply(input, fn=lambda x: pick(x.reshape(1)).astype(np.int64).reshape(()))
    _require_nonempty(input, (axis,), op)
    xp = backend.get_array_module(input.array)

    def locate(x):
        index = pick(x, axis=axis).astype(np.int64)
        return xp.expand_dims(index, axis) if keepdim else index
    return NoGrad.apply(input, fn=locate)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum over ``dim``, or in the flattened tensor."""
    return _arg_reduce(input, dim, keepdim, "argmax", backend.get_array_module(input.array).argmax)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum over ``dim``, or in the flattened tensor."""
    return _arg_reduce(input, dim, keepdim, "argmin", backend.get_array_module(input.array).argmin)


# -- logsumexp ------------------------------------------------------------------------------
class LogSumExp(Function):
    """log(sum(exp(x))) over ``axes``, computed as m + log(sum(exp(x - m))) with
    m the maximum, so nothing overflows; its vjp is ``g * softmax(x)``."""
    uses_output = True

    def forward(self, x, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        xp = self.xp
        out_shape = _reduced_shape(x.shape, axes, keepdim)
        if _count(x.shape, axes) == 0:  # the sum of no terms is 0, its log -inf
            return xp.full(out_shape, -xp.inf, dtype=x.dtype)
        shift = xp.max(x, axis=axes, keepdims=True)
        # rows of +-inf: shift by 0 instead, so inf - inf makes no NaN
        shift = xp.where(xp.isfinite(shift), shift, xp.zeros((), x.dtype))
        with np.errstate(divide="ignore"):  # an all -inf row gives log(0) = -inf
            out = xp.log(xp.sum(xp.exp(x - shift), axis=axes, keepdims=True)) + shift
        return out.reshape(out_shape)

    def _softmax(self) -> Tensor:
        x = self.inputs[0]
        return exp(x - _keep(self.out, x.shape, self.axes))

    def vjp(self, g):
        return _keep(g, self.inputs[0].shape, self.axes) * self._softmax()

    def jvp(self, t):
        return sum(t * self._softmax(), self.axes, keepdim=self.keepdim)


def logsumexp(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` without overflow; -inf over an empty dimension."""
    if backend.dtype_kind(input.dtype) != "f":
        input = input.to(backend.get_default_dtype())  # as PyTorch does for integers
    axes = _axes(dim, input.ndim, "logsumexp")
    return LogSumExp.apply(input, axes=axes, keepdim=keepdim)


# -- scans: cumsum and cumprod --------------------------------------------------------------
class Cumsum(Function):
    """Running sum along ``axis`` (from the end when ``reverse``); its vjp is the
    running sum of the cotangent taken the other way."""
    uses_inputs = False

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        xp = self.xp
        if reverse:
            return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)
        return xp.cumsum(x, axis=axis)

    def vjp(self, g):
        return Cumsum.apply(g, axis=self.axis, reverse=not self.reverse)

    def jvp(self, t):
        return Cumsum.apply(t, axis=self.axis, reverse=self.reverse)


class Cumprod(Function):
    """Running product along ``axis``; exact gradients also where inputs are zero."""
    uses_output = True

    def forward(self, x, axis):
        self.axis = axis
        return self.xp.cumprod(x, axis=axis)

    def vjp(self, g):
        if g.array.dtype.kind == "c":  # g * conj(J) = conj(conj(g) * J): the rule below is g * J
            return _conj(self._vjp(_conj(g)))
        return self._vjp(g)

    def _vjp(self, g):
        x, out = self.inputs[0], self.out
        zero_rows = self._zero_rows()
        if zero_rows is None:
            # d out_i / d x_k = out_i / x_k for i >= k: a reversed running sum
            return Cumsum.apply(g * out, axis=self.axis, reverse=True) / x
        picked, mask = zero_rows
        plain = Cumsum.apply(g * out, axis=self.axis, reverse=True) / where(mask, 1.0, x)
        # rows with zeros: grad_k = sum_{i >= k} g_i * prod_{j <= i, j != k} x_j
        terms = self._leave_one_out(picked) * _rows_along(g, self.axis)[picked].unsqueeze(1)
        exact = (terms * Tensor._wrap(self._upper(terms))).sum(dim=2)
        return self._merge(plain, mask, exact, picked)

    def jvp(self, t):
        x, out = self.inputs[0], self.out
        zero_rows = self._zero_rows()
        if zero_rows is None:
            return out * Cumsum.apply(t / x, axis=self.axis)
        picked, mask = zero_rows
        plain = out * Cumsum.apply(t / where(mask, 1.0, x), axis=self.axis)
        # rows with zeros: tangent_i = sum_{k <= i} t_k * prod_{j <= i, j != k} x_j
        terms = self._leave_one_out(picked) * _rows_along(t, self.axis)[picked].unsqueeze(2)
        exact = (terms * Tensor._wrap(self._upper(terms))).sum(dim=1)
        return self._merge(plain, mask, exact, picked)

    # helpers for inputs with zeros ------------------------------------------------------------
    def _zero_rows(self):
        """None without zeros; else (indices of rows holding a zero, mask of their elements)."""
        x = self.inputs[0].array
        zero = x == 0
        if not zero.any():
            return None
        xp = self.xp
        row_has_zero = zero.any(axis=self.axis, keepdims=True)
        # row order of _rows_along: the other axes in order, this axis last
        picked = xp.nonzero(xp.moveaxis(row_has_zero, self.axis, -1).reshape(-1))[0]
        return picked, Tensor._wrap(xp.broadcast_to(row_has_zero, x.shape))

    def _leave_one_out(self, picked) -> Tensor:
        """(m, K, K): entry [r, k, i] = prod_{j <= i, j != k} x_j of picked row r."""
        rows = _rows_along(self.inputs[0], self.axis)[picked]       # (m, K)
        k = rows.shape[1]
        eye = Tensor._wrap(self.xp.eye(k, dtype=bool))
        return Cumprod.apply(where(eye, 1.0, rows.unsqueeze(1)), axis=2)

    def _upper(self, terms):
        """Mask of i >= k over the last two axes of ``terms``."""
        k = terms.shape[-1]
        return self.xp.triu(self.xp.ones((k, k), dtype=terms.dtype))

    def _merge(self, plain: Tensor, mask: Tensor, exact: Tensor, picked) -> Tensor:
        shape = self.inputs[0].shape
        moved = tuple(n for i, n in enumerate(shape) if i != self.axis) + (shape[self.axis],)
        full = IndexAddInto.apply(exact, index=(picked,),
                                  shape=(math.prod(moved[:-1]), moved[-1]))
        return where(mask, 0.0, plain) + _from_rows(full, shape, (self.axis,))


def _rows_along(t: Tensor, axis: int) -> Tensor:
    """``t`` with ``axis`` moved last and the other axes flattened: (M, K)."""
    return _to_rows(t, (axis,))


def _scan(input: Tensor, dim: int, dtype, op: str, cls) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bi" and input.dtype.itemsize < 8:
        input = input.long()  # as in PyTorch, integer scans accumulate in int64
    axis = _one_axis(dim, input.ndim, op)
    if input.ndim == 0:
        return cls.apply(input.reshape(1), axis=0).reshape(())
    return cls.apply(input, axis=axis)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``: ``out[i] = input[0] + ... + input[i]``."""
    return _scan(input, dim, dtype, "cumsum", Cumsum)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``: ``out[i] = input[0] * ... * input[i]``."""
    return _scan(input, dim, dtype, "cumprod", Cumprod)


def _running(xp, ufunc: str, x, axis: int, reverse: bool = False):
    """``getattr(xp, ufunc).accumulate(x, axis)`` for an associative ufunc (maximum,
    logaddexp, ...), from the end when ``reverse``."""
    if reverse:
        return xp.flip(_running(xp, ufunc, xp.flip(x, axis), axis), axis)
    if xp is np:
        return getattr(np, ufunc).accumulate(x, axis=axis)
    return _doubling_scan(xp, getattr(xp, ufunc), x, axis)


def _doubling_scan(xp, op, x, axis: int):
    """The running ``op`` along ``axis`` in log2(n) whole-array steps (CuPy accumulates
    only add and multiply): after the step with ``shift``, each element combines the
    ``2 * shift`` elements ending at it."""
    out = xp.moveaxis(x, axis, -1).copy()
    shift = 1
    while shift < out.shape[-1]:
        out[..., shift:] = op(out[..., :-shift], out[..., shift:])
        shift *= 2
    return xp.moveaxis(out, -1, axis)


def _cumulative_extreme(input: Tensor, dim: int, op: str, ufunc: str, result):
    """cummax/cummin: the running extreme and the index it was taken from; at ties the
    later index, and a NaN stays from where it appears (index of the latest NaN), as in
    PyTorch. The values are gathered at the indices, so gradients flow to the sources."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        _one_axis(dim, 0, op)
        values, indices = _cumulative_extreme(input.reshape(1), 0, op, ufunc, result)
        return result(values.reshape(()), indices.reshape(()))
    axis = _one_axis(dim, input.ndim, op)
    xp = backend.get_array_module(input.array)
    x = input.array
    hit = x == _running(xp, ufunc, x, axis)  # a new extreme, or equal to the current one
    if backend.dtype_kind(x.dtype) == "f":
        hit |= xp.isnan(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    positions = xp.arange(x.shape[axis], dtype=np.int64).reshape(shape)
    index = _running(xp, "maximum", xp.where(hit, positions, 0), axis)
    return result(gather(input, axis, Tensor._wrap(index)), Tensor._wrap(index))


def cummax(input: Tensor, dim: int):
    """``(values, indices)``: the running maximum along ``dim`` and where it was taken
    (the later index at ties); NaN propagates."""
    return _cumulative_extreme(input, dim, "cummax", "maximum", cummax_result)


def cummin(input: Tensor, dim: int):
    """``(values, indices)``: the running minimum along ``dim`` and where it was taken
    (the later index at ties); NaN propagates."""
    return _cumulative_extreme(input, dim, "cummin", "minimum", cummin_result)


class LogCumSumExp(Function):
    """``log(cumsum(exp(x)))`` along ``axis`` (from the end when ``reverse``) as a running
    ``logaddexp``, so nothing overflows.

    Both rules are sums of ``w * exp(x_k - out_i)`` over the scan; they are computed as
    log-cum-sum-exps of ``log|w|`` (positive and negative parts apart), so they are
    stable and differentiable again (TensorFlow's and PyTorch's approach).
    """
    uses_output = True

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        return _running(self.xp, "logaddexp", x, axis, reverse)

    def _scan_exp(self, w: Tensor, a: Tensor, b: Tensor, reverse: bool) -> Tensor:
        """``exp(b) * scan(w * exp(a))``, the running sum taken in direction ``reverse``."""
        total = None
        for part in (w, -w):
            positive = part > 0
            log_part = where(positive, log(where(positive, part, 1.0)), -math.inf)
            term = exp(LogCumSumExp.apply(log_part + a, axis=self.axis, reverse=reverse) + b)
            total = term if total is None else total - term
        return total

    def _safe_out(self) -> Tensor:
        """The output with -inf (a scan of -inf only) replaced by 0: the terms it divides
        are all exp(-inf) = 0 there, and -inf - -inf would make NaN."""
        out = self.out
        return where(Tensor._wrap(out.array == -math.inf), 0.0, out)

    def vjp(self, g):
        # dx_k = sum_{i >= k} g_i exp(x_k - out_i) (i <= k when reverse)
        return self._scan_exp(g, -self._safe_out(), self.inputs[0], not self.reverse)

    def jvp(self, t):
        # dout_i = sum_{k <= i} t_k exp(x_k - out_i)
        return self._scan_exp(t, self.inputs[0], -self._safe_out(), self.reverse)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))`` without overflow nor underflow."""
    if not isinstance(input, Tensor):
        raise TypeError(f"logcumsumexp: expected a Tensor, got {type(input).__name__}")
    _require_float(input, "logcumsumexp")
    return _scan(input, dim, None, "logcumsumexp", LogCumSumExp)


# -- quantiles ------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_q(q, input: Tensor, op: str):
    """``q`` as an array of the computing dtype (0-d or 1-d), checked to lie in [0, 1]."""
    xp = backend.get_array_module(input.array)
    dtype = np.float32 if input.dtype == backend.bfloat16 else input.dtype
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op}: q must be a number or a 0-d or 1-d tensor, got shape "
                               f"{tuple(q.shape)}")
        if backend.dtype_kind(q.dtype) != "f":
            raise RuntimeError(f"{op}: q must be floating point, got dtype {q.dtype}")
        qa = xp.asarray(q.array).astype(dtype)
    elif isinstance(q, numbers.Real) and not isinstance(q, bool):
        qa = xp.asarray(q, dtype=dtype)
    else:
        raise TypeError(f"{op}: q must be a float or a tensor, got {type(q).__name__}")
    if not bool(((qa >= 0) & (qa <= 1)).all()):
        raise RuntimeError(f"{op}: q values must be in the range [0, 1], got "
                           f"{qa.tolist() if qa.ndim else float(qa)}")
    return qa


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, op: str,
              ignore_nan: bool) -> Tensor:
    """quantile and nanquantile: sort, pick the ranks on arrays, gather (so gradients
    reach the elements picked) and interpolate."""
    from .sorting import sort  # sorting.py imports this module

    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    _require_float(input, op)
    if input.numel() == 0:
        raise RuntimeError(f"{op}: expected a non-empty input, got shape {tuple(input.shape)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}; "
                         f"got {interpolation!r}")
    qa = _quantile_q(q, input, op)
    if dim is None:
        x, axis = input.reshape(-1), None
    else:
        axis = _one_axis(dim, input.ndim, op)
        x = input.movedim(axis, -1) if input.ndim else input.reshape(1)
    ordered = sort(x, dim=-1).values                                   # (*B, n), NaN last
    xp = backend.get_array_module(x.array)
    nan = xp.isnan(ordered.array)
    qs = qa.reshape(-1)                                                 # (Q,)
    if ignore_nan:  # the rank among the values that are not NaN (0 if all are NaN)
        count = (~nan).sum(-1, keepdims=True).astype(qa.dtype)
        ranks = xp.maximum(qs * (count - 1), 0)
    else:  # a slice with NaN has NaN quantiles: the rank of its last element, NaN
        n = ordered.shape[-1]
        ranks = xp.where(nan.any(-1, keepdims=True), n - 1, qs * (n - 1))
    ranks = ranks.astype(qa.dtype, copy=False)                          # (*B, Q)
    rounding = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}  # round half to even
    if interpolation in rounding:
        ranks = rounding[interpolation](ranks)
    below = xp.floor(ranks).astype(np.int64)
    out = gather(ordered, -1, Tensor._wrap(below))
    if interpolation in ("linear", "midpoint"):
        above = gather(ordered, -1, Tensor._wrap(xp.ceil(ranks).astype(np.int64)))
        weight = xp.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
        out = out + Tensor._wrap(weight.astype(ordered.dtype)) * (above - out)
    # (*B, Q) -> (Q, *reduced shape), or the reduced shape for a number or 0-d q
    if keepdim and input.ndim:
        kept = (1,) * input.ndim if axis is None else _kept_shape(input.shape, (axis,))
        out = out.reshape(kept + (out.shape[-1],))
    out = out.movedim(-1, 0)
    return out.reshape(out.shape[1:]) if qa.ndim == 0 else out


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (q a float or a 1-d tensor in [0, 1]) over ``dim`` (or all
    elements), interpolating between the sorted values that bracket rank ``q * (n - 1)``
    ('linear', 'lower', 'higher', 'midpoint' or 'nearest'). A tensor ``q`` adds a first
    dimension of its length. NaN in a slice makes its quantiles NaN; the gradient goes to
    the elements the quantile was taken from."""
    return _quantile(input, q, dim, keepdim, interpolation, "quantile", ignore_nan=False)


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` of the elements that are not NaN (NaN where a slice has none)."""
    return _quantile(input, q, dim, keepdim, interpolation, "nanquantile", ignore_nan=True)


# -- norms -----------------------------------------------------------------------------------
class PNorm(Function):
    """``(sum |x|^p)^(1/p)`` over ``axes`` for finite p other than 0 and 1.

    Fused so the gradient can be defined where the norm is 0: it is 0 there (a
    subgradient), as in PyTorch, instead of the 0/0 the composite would give.
    """
    uses_output = True

    def forward(self, x, axes, keepdim, p):
        self.axes, self.keepdim, self.p = axes, keepdim, p
        xp = self.xp
        if p == 2:
            return xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim))
        with np.errstate(divide="ignore"):  # 0 ** (negative p) is inf: the norm is 0
            return xp.sum(xp.abs(x) ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)

    def _slope(self) -> Tensor:
        """d norm / d x = x |x|^(p-2) / norm^(p-1), set to 0 where x or the norm is 0."""
        x = self.inputs[0]
        norm = _keep(self.out, x.shape, self.axes)
        norm_zero = Tensor._wrap(norm.array == 0)
        safe_norm = where(norm_zero, 1.0, norm)
        if self.p == 2:
            return where(norm_zero, 0.0, x / safe_norm)
        x_zero = Tensor._wrap(x.array == 0)
        size = where(x_zero, 1.0, abs(x))  # keeps |x|^(p-2) finite for p < 2
        slope = where(x_zero, 0.0, x * size ** (self.p - 2)) / safe_norm ** (self.p - 1)
        return where(norm_zero, 0.0, slope)

    def vjp(self, g):
        return _keep(g, self.inputs[0].shape, self.axes) * self._slope()

    def jvp(self, t):
        return sum(t * self._slope(), self.axes, keepdim=self.keepdim)


def vector_norm(input: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The p-norm of ``input`` over ``dim`` (all elements by default), as
    ``torch.linalg.vector_norm``: ord in {2, 1, inf, -inf, 0} or any float."""
    if dtype is not None:
        input = input.to(dtype)
    if backend.dtype_kind(input.dtype) != "f":
        raise RuntimeError(f"vector_norm: expected a floating-point input, got dtype "
                           f"{input.dtype}; convert with .float() or pass dtype=")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"vector_norm: ord must be a number, got {ord!r}")
    axes = _axes(dim, input.ndim, "vector_norm")
    ord = float(ord)
    if ord < 0 or ord == math.inf:
        for a in axes:
            if input.shape[a] == 0:
                raise RuntimeError(f"vector_norm: cannot compute the {ord} norm over "
                                   f"dimension {a} of size 0 (shape {tuple(input.shape)}): "
                                   f"it has no identity")
    if ord == 0:  # the number of nonzero elements: piecewise constant, no gradient
        return sum((input != 0).to(input.dtype), axes, keepdim=keepdim)
    if ord == 1:
        return sum(abs(input), axes, keepdim=keepdim)
    if ord == math.inf:
        return amax(abs(input), axes, keepdim=keepdim)
    if ord == -math.inf:
        return amin(abs(input), axes, keepdim=keepdim)
    return PNorm.apply(input, axes=axes, keepdim=keepdim, p=ord)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``torch.norm``: 'fro' (the default) is the 2-norm of the flattened ``dim``
    slice; a number p is ``vector_norm(input, p, dim)``."""
    if p is None or p == "fro":
        p = 2
    elif isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported; use 'fro' or a number "
                         f"(the nuclear norm 'nuc' needs an SVD)")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# -- logical reductions -----------------------------------------------------------------------
def _logical(input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    axes = _axes(dim, input.ndim, op)
    xp = backend.get_array_module(input.array)
    # PyTorch keeps uint8 for uint8 inputs and returns bool otherwise
    out_dtype = np.uint8 if input.dtype == np.uint8 else np.bool_
    fn = getattr(xp, op)
    return NoGrad.apply(input, fn=lambda x: fn(x, axis=axes, keepdims=keepdim).astype(out_dtype))


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` is nonzero (True over an empty dimension)."""
    return _logical(input, dim, keepdim, "all")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element over ``dim`` is nonzero (False over an empty dimension)."""
    return _logical(input, dim, keepdim, "any")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements over ``dim`` (int64)."""
    axes = _axes(dim, input.ndim, "count_nonzero")
    return NoGrad.apply(input, fn=lambda x: (x != 0).sum(axis=axes).astype(np.int64))


TENSOR_METHODS = {
    "sum": sum, "mean": mean, "var": var, "std": std, "prod": prod, "max": max, "min": min,
    "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "median": median,
    "logsumexp": logsumexp, "cumsum": cumsum, "cumprod": cumprod, "norm": norm, "all": all,
    "any": any, "count_nonzero": count_nonzero, "nansum": nansum, "nanmean": nanmean,
    "aminmax": aminmax, "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
    "quantile": quantile, "nanquantile": nanquantile, "mode": mode,
    "nanmedian": nanmedian, "sum_to_size": sum_to_size,
    "cumsum_": lambda self, dim, *, dtype=None: self._inplace(cumsum, dim, dtype=dtype,
                                                              _name="cumsum_"),
    "cumprod_": lambda self, dim, *, dtype=None: self._inplace(cumprod, dim, dtype=dtype,
                                                               _name="cumprod_"),
}

__all__ = [
    "sum", "mean", "var", "std", "var_mean", "std_mean", "prod", "max", "min", "amax", "amin",
    "argmax", "argmin", "median", "logsumexp", "cumsum", "cumprod", "norm", "all", "any",
    "count_nonzero", "nansum", "nanmean", "aminmax", "cummax", "cummin", "logcumsumexp",
    "quantile", "nanquantile", "mode", "nanmedian",
]
