"""Pooling and resampling: max/avg pooling, adaptive pooling, unpooling, interpolation.

Windows are described once, by ``_Window`` (kernel, stride, padding, dilation
and the output size, with PyTorch's ``ceil_mode`` rule), and read by looping
over the kernel offsets: offset ``(i, j)`` of every window at once is one
strided slice of the padded input, so a k x k pool is k*k vectorised passes.

The primitives:

* ``MaxPool`` takes each window's maximum and, when a gradient or the indices are
  wanted, the flat position of its first maximum (NaN wins, as in PyTorch); its
  vjp scatters the gradient back there (``PlaneScatter``) and its jvp gathers
  the tangent (``PlaneGather``). These two are each other's adjoint, so max
  pooling is differentiable to any order. ``AdaptiveMaxPool`` is the same over
  PyTorch's variable adaptive windows, and ``FractionalMaxPool`` over fixed-size windows
  at pseudo-random starts (fractional max pooling). On CuPy float arrays, 1-D and 2-D max
  pooling is one GPU kernel, and so is its first-order vjp (``kernels.pool``).
* ``WindowSum`` sums each (zero-padded) window, ``WindowSumT`` is its adjoint
  (every output spread back over its window); average pooling divides the sum
  by a constant divisor, and power-average (Lp) pooling is average pooling of
  x^p, as PyTorch composes it.

Everything else is composed: adaptive average pooling and linear / bilinear /
bicubic / trilinear interpolation are separable linear maps, applied as one
small constant matrix per spatial dimension (``matmul``); nearest interpolation
is an ``index_select`` per dimension; pixel (un)shuffle is reshape + permute.
Fast paths: the maxima of 2x2 / stride 2 pooling in two stages (column pairs,
then row pairs), and average pooling with kernel == stride on divisible sizes
as reshape + mean.

Inputs are (N, C, *spatial), or unbatched (C, *spatial) where PyTorch allows it.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from itertools import product

import numpy as np

from .. import backend, kernels
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from .activation import relu
from .index import index_select
from .linalg import matmul
from .reduction import _rules_differentiated, mean, sum as _sum


# -- argument helpers ------------------------------------------------------------------------
def _ntuple(value, nd: int, name: str, op: str) -> tuple:
    """An int or a sequence of ``nd`` ints (or 1, repeated) as a tuple of ``nd`` ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * nd
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        if len(value) == nd:
            return tuple(int(v) for v in value)
        if len(value) == 1:
            return (int(value[0]),) * nd
    raise TypeError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {value!r}")


def _spatial_names(nd: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}[nd]


def _batched(input: Tensor, nd: int, op: str) -> tuple[Tensor, bool]:
    """``input`` as (N, C, *spatial) and whether it came unbatched (C, *spatial).

    As in PyTorch the batch may be empty, but channels and spatial sizes may not.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    names = _spatial_names(nd)
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[-nd - 1:]:
        raise RuntimeError(
            f"{op}: expected a {nd + 1}-D (C, {names}) or {nd + 2}-D (N, C, {names}) input "
            f"with non-zero channel and spatial sizes, got shape {tuple(input.shape)}")
    if input.ndim == nd + 1:
        return input.reshape((1,) + tuple(input.shape)), True
    return input, False


def _unbatch(out: Tensor, unbatched: bool) -> Tensor:
    return out.reshape(tuple(out.shape[1:])) if unbatched else out


def _require_float(input: Tensor, op: str) -> None:
    if backend.dtype_kind(input.dtype) != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {input.dtype}")


def _constant(array, like: Tensor) -> Tensor:
    """A constant (no-gradient) tensor of a NumPy ``array`` on ``like``'s device."""
    return Tensor._wrap(backend.to_device(np.ascontiguousarray(array),
                                          backend.device_of(like.array)))


# -- window geometry -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Window:
    """Where the pooling windows of one input lie, per spatial dimension."""
    in_size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out_size: tuple

    @property
    def pad_after(self) -> tuple:
        """Right padding: ``padding``, or more when ceil_mode's last window overhangs."""
        return tuple(max(p, (o - 1) * s + (k - 1) * d + 1 - n - p) for n, k, s, p, d, o in zip(
            self.in_size, self.kernel, self.stride, self.padding, self.dilation, self.out_size))

    def slices(self, offset: tuple) -> tuple:
        """Kernel ``offset`` of every window: one strided slice of the padded input."""
        return (Ellipsis,) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, s, o in zip(
            offset, self.dilation, self.stride, self.out_size))

    def offsets(self):
        return product(*(range(k) for k in self.kernel))

    @property
    def overlapping(self) -> bool:
        """Whether two windows can share an input position."""
        return any(s < (k - 1) * d + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))

    def starts(self, dim: int) -> np.ndarray:
        """The (padded-away) input position where each window of ``dim`` begins."""
        return np.arange(self.out_size[dim]) * self.stride[dim] - self.padding[dim]


def _pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: windows that start in the right padding are dropped."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _window(op: str, x: Tensor, nd: int, kernel_size, stride, padding, dilation,
            ceil_mode: bool) -> _Window:
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    stride = _ntuple(stride, nd, "stride", op)
    padding = _ntuple(padding, nd, "padding", op)
    dilation = _ntuple(dilation, nd, "dilation", op)
    for name, values, low in (("kernel_size", kernel, 1), ("stride", stride, 1),
                              ("dilation", dilation, 1), ("padding", padding, 0)):
        if min(values) < low:
            raise ValueError(f"{op}: {name} must be {'>= 0' if low == 0 else 'positive'}, "
                             f"got {values}")
    for k, p, d in zip(kernel, padding, dilation):
        if p > ((k - 1) * d + 1) // 2:
            raise ValueError(f"{op}: padding {padding} must be at most half of the effective "
                             f"kernel size (kernel_size {kernel}, dilation {dilation})")
    in_size = tuple(x.shape[2:])
    out = tuple(_pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise RuntimeError(
            f"{op}: input of spatial size {in_size} with padding {padding} is too small for "
            f"kernel_size {kernel} with dilation {dilation}: the output size would be {out}")
    return _Window(in_size, kernel, stride, padding, dilation, out)


def _pad_array(xp, x, before: tuple, after: tuple, fill):
    """``x`` with its trailing dimensions padded by ``fill`` (``x`` itself when no pad)."""
    if not any(before) and not any(after):
        return x
    lead = x.ndim - len(before)
    shape = x.shape[:lead] + tuple(n + b + a for n, b, a in zip(x.shape[lead:], before, after))
    out = xp.full(shape, fill, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(before, x.shape[lead:]))] = x
    return out


def _lowest(xp, dtype):
    return -xp.inf if backend.dtype_kind(dtype) == "f" else xp.iinfo(dtype).min


# -- max pooling -------------------------------------------------------------------------------
def _running_max(xp, candidates, best, which) -> None:
    """Keep in ``best`` the maximum over ``candidates`` (pairs of (offset number, values)) and in
    ``which`` the offset that gave it: a later value wins only if strictly greater, or NaN
    (PyTorch's rule: ties go to the first maximum, NaN propagates)."""
    is_float = backend.dtype_kind(best.dtype) == "f"
    for k, v in candidates:
        better = v > best
        if is_float:
            better |= xp.isnan(v)
        xp.copyto(best, v, where=better)
        xp.copyto(which, xp.asarray(k, dtype=which.dtype), where=better)


def _ravel_positions(positions: list, sizes: tuple):
    """Flat index into the (*sizes) plane of per-dimension positions (broadcasting arrays)."""
    flat = positions[0]
    for pos, n in zip(positions[1:], sizes[1:]):
        flat = flat * n + pos
    return flat


def _along(xp, values: np.ndarray, dim: int, nd: int):
    """A 1-D NumPy array shaped to broadcast along spatial ``dim`` of (N, C, *out)."""
    shape = [1] * (nd + 2)
    shape[dim + 2] = values.size
    return xp.asarray(values.reshape(shape))


def _is_2x2(w: _Window) -> bool:
    """2x2 windows at stride 2 without padding: the common CNN pool, which has a fast path."""
    return w.kernel == (2, 2) and w.stride == (2, 2) and w.dilation == (1, 1) \
        and w.padding == (0, 0) and all(2 * o <= n for o, n in zip(w.out_size, w.in_size))


def _window_max(xp, x, w: _Window):
    """Each window's maximum, (N, C, *out); NaN propagates."""
    if _is_2x2(w):  # in two stages: the max of column pairs, then of row pairs
        ho, wo = w.out_size
        cols = xp.maximum(x[..., :2 * ho, 0:2 * wo:2], x[..., :2 * ho, 1:2 * wo:2])
        return xp.maximum(cols[..., 0::2, :], cols[..., 1::2, :])
    xpad = _pad_array(xp, x, w.padding, w.pad_after, _lowest(xp, x.dtype))
    best = None
    for offset in w.offsets():
        part = xpad[w.slices(offset)]
        if best is None:
            best = part.copy()
        else:
            xp.maximum(best, part, out=best)
    return best


def _window_argmax(xp, x, best, w: _Window):
    """Where each window's maximum ``best`` lies, as a flat position in the input plane.

    PyTorch's scan keeps a value only if it is greater than all before it, or NaN: so the
    first maximum in row-major order wins, the last NaN wins over everything, and a window
    where nothing beats -inf points at its first non-padding position.
    """
    nd = len(w.kernel)
    fill = _lowest(xp, x.dtype)
    xpad = _pad_array(xp, x, w.padding, w.pad_after, fill)
    parts = [xpad[w.slices(offset)] for offset in w.offsets()]
    which = _first_match(xp, parts, best)
    code = which.dtype.type
    hit = xp.empty(best.shape, dtype=bool)
    if backend.dtype_kind(x.dtype) == "f" and bool(xp.isnan(best.sum())):  # cheap test, rarely true
        for k, part in enumerate(parts):  # the latest NaN is written last
            xp.copyto(which, code(k), where=xp.isnan(part, out=hit))
    if bool(xp.equal(best, fill, out=hit).any()):
        first = [-(-np.maximum(-w.starts(i), 0) // w.dilation[i]) for i in range(nd)]
        first = _ravel_positions([_along(xp, f, i, nd) for i, f in enumerate(first)],
                                 w.kernel)
        xp.copyto(which, first.astype(which.dtype), where=hit)
    # plane position = where the window starts + where offset k lies from there
    offsets = np.array(list(w.offsets())).reshape(-1, nd) * np.array(w.dilation)
    shift = xp.asarray(_ravel_positions(list(offsets.T), w.in_size))
    start = _ravel_positions([_along(xp, w.starts(i), i, nd) for i in range(nd)], w.in_size)
    return start + shift.take(which)


def _first_match(xp, parts: list, best):
    """For each element, the first k with ``parts[k] == best`` (0 where none matches).

    Plain boolean arithmetic on preallocated buffers: a masked ``copyto`` per offset is
    about 20 times slower on the CPU.
    """
    which = xp.zeros(best.shape, dtype=np.uint8 if len(parts) < 256 else np.int32)
    unmatched = xp.ones(best.shape, dtype=bool)
    hit = xp.empty(best.shape, dtype=bool)
    term = xp.empty(best.shape, dtype=which.dtype)
    for k, part in enumerate(parts):
        xp.equal(part, best, out=hit)
        xp.logical_and(hit, unmatched, out=hit)      # first matches only
        xp.logical_xor(unmatched, hit, out=unmatched)
        if k:
            xp.multiply(hit, which.dtype.type(k), out=term)
            xp.add(which, term, out=which)
    return which


def _max_and_positions(xp, x, w: _Window):
    best = _window_max(xp, x, w)
    return best, _window_argmax(xp, x, best, w)


def _flat_positions(xp, plane, n_planes: int, plane_size: int):
    """Positions in the whole (N*C*plane_size) input from positions in each plane."""
    base = xp.arange(n_planes, dtype=np.int64).reshape(plane.shape[:2] + (1,) * (plane.ndim - 2))
    return base * plane_size + plane


class PlaneScatter(Function):
    """zeros(shape) with ``g`` written at flat positions ``lin`` (summed where ``lin`` may
    repeat a position): the adjoint of ``PlaneGather``."""
    uses_inputs = False

    def forward(self, g, lin, shape, unique):
        self.lin, self.unique = lin, unique
        out = self.xp.zeros(math.prod(shape), dtype=g.dtype)
        if unique:
            out[lin.ravel()] = g.ravel()
        else:
            self.xp.add.at(out, lin.ravel(), g.ravel())  # fast in NumPy 2, atomic in CuPy
        return out.reshape(shape)

    def vjp(self, gg):
        return PlaneGather.apply(gg, lin=self.lin, unique=self.unique)

    def jvp(self, t):
        return PlaneScatter.apply(t, lin=self.lin, shape=self.out.shape, unique=self.unique)


class PlaneGather(Function):
    """``x.ravel()[lin]``: the values at flat positions (``lin``'s shape)."""
    uses_inputs = False

    def forward(self, x, lin, unique):
        self.lin, self.unique, self.in_shape = lin, unique, x.shape
        return x.reshape(-1)[lin]

    def vjp(self, g):
        return PlaneScatter.apply(g, lin=self.lin, shape=self.in_shape, unique=self.unique)

    def jvp(self, t):
        return PlaneGather.apply(t, lin=self.lin, unique=self.unique)


def _window_pairs(w: _Window) -> tuple:
    """(kernel, stride, padding, dilation, out_size) of a 1-D or 2-D window as pairs, a 1-D
    one as height 1: the GPU kernels' geometry."""
    if len(w.kernel) == 2:
        return w.kernel, w.stride, w.padding, w.dilation, w.out_size
    return tuple((first,) + v for first, v in zip((1, 1, 0, 1, 1), (
        w.kernel, w.stride, w.padding, w.dilation, w.out_size)))


def _shape_2d(shape: tuple) -> tuple:
    """(N, C, *spatial) of 1 or 2 spatial dims as (N, C, H, W) (1-D: H = 1)."""
    return tuple(shape) if len(shape) == 4 else tuple(shape[:2]) + (1,) + tuple(shape[2:])


class MaxPool(Function):
    """Max over each window of (N, C, *spatial). The gradient goes to the position of each
    maximum (PyTorch's ``indices``), found only when a rule may run or indices are asked for:
    inference pays for the maxima alone. 1-D and 2-D pooling of CuPy float arrays runs as
    GPU kernels: one finds maxima and positions, one gathers the first-order gradient."""
    uses_inputs = False
    window = None  # the windows, where the GPU kernel found the maxima (its vjp gathers)

    def forward(self, x, window, indices_out=None):
        want = indices_out is not None or self._rules_may_run()
        if len(window.kernel) <= 2 and kernels.usable(x):
            out, plane = kernels.max_pool2d(x.reshape(_shape_2d(x.shape)), *_window_pairs(window),
                                            want)
            out = out.reshape(x.shape[:2] + window.out_size)
            if want:
                self.window = window
                self._setup(x, plane.reshape(out.shape), not window.overlapping, indices_out)
            return out
        if not want:
            return _window_max(self.xp, x, window)
        out, plane = _max_and_positions(self.xp, x, window)
        self._setup(x, plane, not window.overlapping, indices_out)
        return out

    def _rules_may_run(self) -> bool:
        """Whether this call records a node or propagates a tangent (``apply`` sets
        ``inputs`` before ``forward``)."""
        x = self.inputs[0]
        return (STATE.grad_enabled and x.requires_grad) or bool(STATE.fw_levels and x._tangents)

    def _setup(self, x, plane, unique: bool, indices_out) -> None:
        """Keep what the rules need; hand the plane positions to the caller if asked
        (``return_indices`` works under no_grad too, where no node is kept; the caller
        gets a copy when the rules keep them, so changing it cannot change a gradient)."""
        if indices_out is not None:
            indices_out.append(plane.copy() if self._rules_may_run() else plane)
        self.in_shape, self.unique, self.plane, self._lin = x.shape, unique, plane, None

    @property
    def lin(self):
        """The maxima's flat positions in the whole input, built when a rule first asks."""
        if self._lin is None:
            n, c = self.in_shape[:2]
            self._lin = _flat_positions(self.xp, self.plane, n * c, math.prod(self.in_shape[2:]))
        return self._lin

    def vjp(self, g):
        if self.window is not None and not _rules_differentiated() and kernels.usable(g.array):
            dx = kernels.max_pool2d_grad(g.array.reshape(_shape_2d(g.shape)),
                                         self.plane.reshape(_shape_2d(self.plane.shape)),
                                         _shape_2d(self.in_shape), *_window_pairs(self.window)[:4])
            return Tensor._wrap(dx.reshape(self.in_shape))
        return PlaneScatter.apply(g, lin=self.lin, shape=self.in_shape, unique=self.unique)

    def jvp(self, t):
        return PlaneGather.apply(t, lin=self.lin, unique=self.unique)


class AdaptiveMaxPool(MaxPool):
    """Max over PyTorch's adaptive windows (which may overlap and differ in size)."""

    def forward(self, x, out_size, indices_out=None):
        xp, nd = self.xp, len(out_size)
        # per dimension, the (out, longest window) positions of each window; a short window
        # repeats its last position, which can never beat the first copy of that value
        grids = []
        for i, (n, o) in enumerate(zip(x.shape[2:], out_size)):
            start, end = _adaptive_bounds(n, o)
            length = int((end - start).max())
            pos = np.minimum(start[:, None] + np.arange(length), end[:, None] - 1)
            shape = [1] * (2 * nd)
            shape[2 * i:2 * i + 2] = pos.shape
            grids.append(xp.asarray(pos.reshape(shape)))
        windows = x[(slice(None), slice(None)) + tuple(grids)]  # (N, C, o1, k1, o2, k2, ...)
        kernel = windows.shape[3::2]
        windows = windows.transpose((0, 1) + tuple(range(2, 2 + 2 * nd, 2))
                                    + tuple(range(3, 3 + 2 * nd, 2)))
        windows = windows.reshape(x.shape[:2] + tuple(out_size) + (-1,))
        best = xp.full(windows.shape[:-1], _lowest(xp, x.dtype), dtype=x.dtype)
        which = xp.zeros(best.shape, dtype=np.int32)
        _running_max(xp, ((k, windows[..., k]) for k in range(windows.shape[-1])), best, which)
        positions = []
        for i in reversed(range(nd)):
            which, off = divmod(which, kernel[i])
            table = grids[i].reshape(out_size[i], kernel[i])
            positions.append(table[_along(xp, np.arange(out_size[i]), i, nd), off])
        plane = _ravel_positions(positions[::-1], x.shape[2:])
        self._setup(x, plane, False, indices_out)
        return best


def _max_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation,
              ceil_mode: bool, return_indices: bool):
    x, unbatched = _batched(input, nd, op)
    if backend.dtype_kind(x.dtype) not in "fiu":
        raise TypeError(f"{op}: expected a floating point or integer input, got dtype {x.dtype}")
    window = _window(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    found = [] if return_indices else None
    out = _unbatch(MaxPool.apply(x, window=window, indices_out=found), unbatched)
    if not return_indices:
        return out
    return out, _unbatch(Tensor._wrap(found[0].astype(np.int64, copy=False)), unbatched)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows: (N, C, L) or (C, L) -> (N, C, L_out).

    With ``return_indices`` also the position in L of each maximum (int64).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out).

    ``stride`` defaults to ``kernel_size``; padding (at most half the kernel) never wins;
    ties go to the first maximum. With ``return_indices`` also each maximum's flat
    position ``h * W + w`` in its (H, W) plane (int64), as in PyTorch.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D', H', W')."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool1d(..., return_indices=True)``: always (values, indices), as in PyTorch
    (``return_indices`` is accepted for the signature and ignored)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool2d(..., return_indices=True)``: always (values, indices), as in PyTorch
    (``return_indices`` is accepted for the signature and ignored)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool3d(..., return_indices=True)``: always (values, indices), as in PyTorch
    (``return_indices`` is accepted for the signature and ignored)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# -- average pooling -------------------------------------------------------------------------
class WindowSum(Function):
    """The sum of each zero-padded window: (N, C, *in) -> (N, C, *out)."""
    uses_inputs = False

    def forward(self, x, window):
        self.window = window
        xpad = _pad_array(self.xp, x, window.padding, window.pad_after, 0)
        out = None
        for offset in window.offsets():
            part = xpad[window.slices(offset)]
            if out is None:
                out = part.copy()
            else:
                out += part
        return out

    def vjp(self, g):
        return WindowSumT.apply(g, window=self.window)

    def jvp(self, t):
        return WindowSum.apply(t, window=self.window)


class WindowSumT(Function):
    """The adjoint of ``WindowSum``: each value of (N, C, *out) added over its window of
    (N, C, *in)."""
    uses_inputs = False

    def forward(self, g, window):
        self.window = window
        before, after = window.padding, window.pad_after
        shape = g.shape[:2] + tuple(n + b + a for n, b, a in zip(window.in_size, before, after))
        padded = self.xp.zeros(shape, dtype=g.dtype)
        for offset in window.offsets():
            padded[window.slices(offset)] += g
        inner = (Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(before, window.in_size))
        return self.xp.ascontiguousarray(padded[inner])

    def vjp(self, gg):
        return WindowSum.apply(gg, window=self.window)

    def jvp(self, t):
        return WindowSumT.apply(t, window=self.window)


def _avg_divisor(w: _Window, count_include_pad: bool) -> np.ndarray:
    """How many positions each window averages, (*out): PyTorch counts padding (but not the
    ceil_mode overhang) when ``count_include_pad``, else only the input's positions."""
    divisor = np.ones((), dtype=np.int64)
    for i, (n, k, p) in enumerate(zip(w.in_size, w.kernel, w.padding)):
        start = w.starts(i)
        end = np.minimum(start + k, n + p)
        count = end - start if count_include_pad else (
            np.minimum(end, n) - np.maximum(start, 0))
        divisor = np.multiply.outer(divisor, count)
    return divisor


def _avg_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override) -> Tensor:
    x, unbatched = _batched(input, nd, op)
    _require_float(x, op)
    window = _window(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got "
                         f"{divisor_override!r}")
    tiles = window.kernel == window.stride and not any(window.padding) and all(
        n % k == 0 for n, k in zip(window.in_size, window.kernel))
    if tiles and math.prod(window.kernel) <= 16:
        # small windows that tile the input: one strided view per kernel offset, added
        # up (NumPy's sum over short interleaved axes is about 15x slower than this)
        total = None
        for offsets in product(*(range(k) for k in window.kernel)):
            part = x[(slice(None), slice(None)) + tuple(
                slice(o, None, k) for o, k in zip(offsets, window.kernel))]
            total = part if total is None else total + part
        divisor = divisor_override if divisor_override is not None else math.prod(window.kernel)
        out = total * (1.0 / float(divisor))
    elif tiles:
        # windows tile the input: reshape to (N, C, o1, k1, o2, k2, ...) and reduce
        split = x.shape[:2] + tuple(d for o, k in zip(window.out_size, window.kernel)
                                    for d in (o, k))
        dims = tuple(range(3, 3 + 2 * nd, 2))
        tiled = x.reshape(split)
        out = (mean(tiled, dim=dims) if divisor_override is None
               else _sum(tiled, dim=dims) / float(divisor_override))
    else:
        sums = WindowSum.apply(x, window=window)
        divisor = (np.asarray(divisor_override) if divisor_override is not None
                   else _avg_divisor(window, count_include_pad))
        out = sums / _constant(divisor.astype(x.dtype), x)
    return _unbatch(out, unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out).

    Zero padding counts in the mean when ``count_include_pad``; ``divisor_override``
    replaces the window size as the divisor.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D', H', W')."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


# -- adaptive pooling ---------------------------------------------------------------------------
def _adaptive_bounds(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows: [floor(i n / out), ceil((i + 1) n / out)) for each i."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _adaptive_size(op: str, x: Tensor, nd: int, output_size) -> tuple:
    """``output_size`` (int, or tuple whose None entries keep the input's size) as ints."""
    if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
        output_size = (output_size,) * nd
    if not isinstance(output_size, (tuple, list)) or len(output_size) != nd or not all(
            o is None or (isinstance(o, numbers.Integral) and not isinstance(o, bool))
            for o in output_size):
        raise TypeError(f"{op}: output_size must be an int or a tuple of {nd} ints (or None), "
                        f"got {output_size!r}")
    size = tuple(n if o is None else int(o) for o, n in zip(output_size, x.shape[2:]))
    if min(size) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {size}")
    return size


def _adaptive_matrix(n: int, out: int, dtype) -> np.ndarray:
    """(out, n): row i averages input positions [start_i, end_i)."""
    start, end = _adaptive_bounds(n, out)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along_dim(x: Tensor, dim: int, matrix: np.ndarray) -> Tensor:
    """Apply a constant (out, n) matrix along dimension ``dim`` of ``x`` (of size n)."""
    m = _constant(matrix, x)
    if dim == x.ndim - 1:
        return matmul(x, m.transpose(0, 1))
    if dim == x.ndim - 2:
        return matmul(m, x)
    return matmul(x.transpose(dim, -1), m.transpose(0, 1)).transpose(dim, -1)


def _adaptive_avg_pool(op: str, nd: int, input: Tensor, output_size) -> Tensor:
    x, unbatched = _batched(input, nd, op)
    _require_float(x, op)
    size = _adaptive_size(op, x, nd, output_size)
    if all(o == 1 for o in size):
        # global average pooling: a mean over trailing axes (a GEMV inside Sum)
        out = mean(x, dim=tuple(range(2, 2 + nd)), keepdim=True)
    elif all(o > 0 and n % o == 0 for n, o in zip(x.shape[2:], size)):
        # equal windows that tile the input: reshape + mean
        split = x.shape[:2] + tuple(d for n, o in zip(x.shape[2:], size) for d in (o, n // o))
        out = mean(x.reshape(split), dim=tuple(range(3, 3 + 2 * nd, 2)))
    else:
        out = x
        for i, (n, o) in enumerate(zip(x.shape[2:], size)):
            if n != o:
                out = _along_dim(out, i + 2, _adaptive_matrix(n, o, x.dtype))
    return _unbatch(out, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` adaptive windows: (N, C, L) or (C, L) -> (N, C, output_size)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over adaptive windows: (N, C, H, W) or (C, H, W) -> (N, C, *output_size).

    ``output_size``: an int or (H_out, W_out), where None keeps that input size. Window i
    covers [floor(i H / H_out), ceil((i + 1) H / H_out)), as in PyTorch.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mean over adaptive windows: (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size)."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max_pool(op: str, nd: int, input: Tensor, output_size, return_indices: bool):
    x, unbatched = _batched(input, nd, op)
    if backend.dtype_kind(x.dtype) not in "fiu":
        raise TypeError(f"{op}: expected a floating point or integer input, got dtype {x.dtype}")
    size = _adaptive_size(op, x, nd, output_size)
    if min(size) < 1:
        raise RuntimeError(f"{op}: output_size must be positive, got {size}")
    found = [] if return_indices else None
    out = _unbatch(AdaptiveMaxPool.apply(x, out_size=size, indices_out=found), unbatched)
    if not return_indices:
        return out
    return out, _unbatch(Tensor._wrap(found[0].astype(np.int64, copy=False)), unbatched)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over ``output_size`` adaptive windows: (N, C, L) or (C, L) -> (N, C, output_size)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows: (N, C, H, W) or (C, H, W) -> (N, C, *output_size); with
    ``return_indices`` also each maximum's flat position in its (H, W) plane."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows: (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size);
    with ``return_indices`` also each maximum's flat position in its (D, H, W) volume."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool1d(..., return_indices=True)``: always (values, indices), as in
    PyTorch (``return_indices`` is accepted for the signature and ignored)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d(..., return_indices=True)``: always (values, indices), as in
    PyTorch (``return_indices`` is accepted for the signature and ignored)."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool3d(..., return_indices=True)``: always (values, indices), as in
    PyTorch (``return_indices`` is accepted for the signature and ignored)."""
    return adaptive_max_pool3d(input, output_size, True)


# -- fractional max pooling ----------------------------------------------------------------------
def _fractional_starts(samples: np.ndarray, n: int, out: int, k: int) -> np.ndarray:
    """Graham's pseudo-random window starts along one dimension: (P,) samples in [0, 1)
    -> (P, out) starts in [0, n - k], the last window flush with the end.

    Start i is floor((i + u) * a) - floor(u * a) with a = (n - k) / (out - 1), evaluated
    in the samples' own dtype, as PyTorch does in the input's: the same samples then give
    the same windows, bit for bit.
    """
    starts = np.empty(samples.shape + (out,), dtype=np.int64)
    if out > 1:
        real = samples.dtype.type
        alpha = real(n - k) / real(out - 1)
        i = np.arange(out - 1).astype(samples.dtype)
        scaled = ((i + samples[:, None]) * alpha).astype(np.int64)
        starts[:, :-1] = scaled - (samples * alpha).astype(np.int64)[:, None]
    starts[:, -1] = n - k
    return starts


class FractionalMaxPool(MaxPool):
    """Max over windows of a fixed ``kernel`` whose starts (per plane and dimension) are
    given as ``starts``: a list over spatial dims of (N, C, out) int arrays. The rules are
    ``MaxPool``'s (scatter to, gather from each maximum's position)."""

    def forward(self, x, kernel, starts, unique, indices_out=None):
        xp, nd = self.xp, len(kernel)
        n, c = x.shape[:2]
        out_size = tuple(s.shape[-1] for s in starts)
        batch = xp.arange(n).reshape((n, 1) + (1,) * nd)
        channel = xp.arange(c).reshape((1, c) + (1,) * nd)
        # dim i's starts, shaped to broadcast along output dim i of (N, C, *out)
        grids = []
        for i, s in enumerate(starts):
            shape = [n, c] + [1] * nd
            shape[2 + i] = out_size[i]
            grids.append(xp.asarray(s.reshape(shape)))
        offsets = list(product(*(range(k) for k in kernel)))
        best = xp.full((n, c) + out_size, _lowest(xp, x.dtype), dtype=x.dtype)
        which = xp.zeros(best.shape, dtype=np.int32)
        parts = ((j, x[(batch, channel) + tuple(g + o for g, o in zip(grids, off))])
                 for j, off in enumerate(offsets))
        _running_max(xp, parts, best, which)  # first maximum wins, NaN propagates
        table = np.array(offsets, dtype=np.int64).reshape(-1, nd)
        positions = [g + xp.asarray(table[:, i]).take(which) for i, g in enumerate(grids)]
        self._setup(x, _ravel_positions(positions, x.shape[2:]), unique, indices_out)
        return best


def _fractional_max_pool(op: str, nd: int, input: Tensor, kernel_size, output_size,
                         output_ratio, return_indices: bool, _random_samples):
    x, unbatched = _batched(input, nd, op)
    _require_float(x, op)
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    if min(kernel) < 1:
        raise ValueError(f"{op}: kernel_size must be positive, got {kernel}")
    in_size = tuple(x.shape[2:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        size = _ntuple(output_size, nd, "output_size", op)
    else:
        ratio = (output_ratio,) * nd if isinstance(output_ratio, numbers.Real) else output_ratio
        if len(ratio) == 1:
            ratio = tuple(ratio) * nd
        if len(ratio) != nd:
            raise TypeError(f"{op}: output_ratio must be a number or {nd} numbers, got "
                            f"{output_ratio!r}")
        size = tuple(int(n * r) for n, r in zip(in_size, ratio))
    if min(size) < 1:
        raise RuntimeError(f"{op}: output size {size} must be positive (input of spatial "
                           f"size {in_size}, output_ratio {output_ratio})")
    if any(o + k - 1 > n for o, k, n in zip(size, kernel, in_size)):
        raise RuntimeError(f"{op}: {size} windows of kernel_size {kernel} need a spatial size "
                           f"of at least {tuple(o + k - 1 for o, k in zip(size, kernel))}, got "
                           f"an input of shape {tuple(input.shape)}")
    n, c = x.shape[:2]
    if _random_samples is None:
        from .random import rand  # the seeded default generator, as torch.rand
        _random_samples = rand(n, c, nd, dtype=x.dtype, device=x.device)
    if not isinstance(_random_samples, Tensor) or backend.dtype_kind(
            _random_samples.dtype) != "f":
        raise TypeError(f"{op}: _random_samples must be a floating point Tensor")
    shape = tuple(_random_samples.shape)
    if len(shape) != 3 or shape[0] < n or shape[1:] != (c, nd):
        raise RuntimeError(f"{op}: expected _random_samples of shape (N >= {n}, {c}, {nd}) "
                           f"for an input of shape {tuple(input.shape)}, got {shape}")
    samples = _random_samples.detach().cpu().numpy()[:n].reshape(n * c, nd)
    # PyTorch's sample order: (W, H) for 2-D, (T, H, W) for 3-D
    column = (1, 0) if nd == 2 else (0, 1, 2)
    starts = [_fractional_starts(samples[:, column[i]], in_size[i], size[i], kernel[i])
              for i in range(nd)]
    unique = all(bool((np.diff(s, axis=-1) >= k).all()) for s, k in zip(starts, kernel))
    starts = [s.reshape(n, c, o) for s, o in zip(starts, size)]
    found = [] if return_indices else None
    out = _unbatch(FractionalMaxPool.apply(x, kernel=kernel, starts=starts, unique=unique,
                                           indices_out=found), unbatched)
    if not return_indices:
        return out
    return out, _unbatch(Tensor._wrap(found[0].astype(np.int64, copy=False)), unbatched)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """Fractional max pooling (Graham, 2014): (N, C, H, W) or (C, H, W) -> (N, C, *out).

    ``output_size`` windows of ``kernel_size`` per dimension (or ``int(size * output_ratio)``
    of them) start at pseudo-random positions drawn from ``_random_samples`` (N, C, 2) in
    [0, 1), ordered (W, H) as in PyTorch; drawn from nabla's default generator when not
    given. The same samples give PyTorch's output exactly (given in the input's dtype; any
    floating dtype is accepted). With ``return_indices`` also each maximum's flat position
    in its (H, W) plane.
    """
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size,
                                output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W); ``_random_samples`` is
    (N, C, 3), ordered (D, H, W). See ``fractional_max_pool2d``."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size,
                                output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """``fractional_max_pool2d(..., return_indices=True)``: always (values, indices)."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """``fractional_max_pool3d(..., return_indices=True)``: always (values, indices)."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


# -- unpooling ---------------------------------------------------------------------------------
def _max_unpool(op: str, nd: int, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size) -> Tensor:
    x, unbatched = _batched(input, nd, op)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer Tensor (from return_indices=True)")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: indices of shape {tuple(indices.shape)} must have the "
                           f"input's shape {tuple(input.shape)}")
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None else _ntuple(stride, nd, "stride", op)
    padding = _ntuple(padding, nd, "padding", op)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(
        x.shape[2:], stride, padding, kernel))
    if output_size is None:
        size = default
    else:
        if isinstance(output_size, numbers.Integral):
            output_size = (output_size,)
        size = tuple(int(n) for n in output_size)[-nd:]
        if len(size) != nd or any(abs(n - d) >= s for n, d, s in zip(size, default, stride)):
            raise ValueError(f"{op}: output_size {tuple(output_size)} must be within one "
                             f"stride {stride} of the default size {default}")
    plane = indices.array.reshape(x.shape)
    plane_size = math.prod(size)
    if plane.size and (int(plane.min()) < 0 or int(plane.max()) >= plane_size):
        raise RuntimeError(f"{op}: indices must lie in [0, {plane_size}) for an output of "
                           f"spatial size {size}, got values in [{int(plane.min())}, "
                           f"{int(plane.max())}]")
    xp = backend.get_array_module(x.array)
    lin = _flat_positions(xp, xp.asarray(plane).astype(np.int64), x.shape[0] * x.shape[1],
                          plane_size)
    out = PlaneScatter.apply(x, lin=lin, shape=x.shape[:2] + size, unique=True)
    return _unbatch(out, unbatched)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool1d``: zeros with ``input`` put back at ``indices``."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool2d``: (N, C, H, W) -> (N, C, H_out, W_out), zeros with
    each value put back at its flat position ``indices`` (from ``return_indices=True``)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool3d``: (N, C, D, H, W) -> (N, C, D', H', W'), zeros
    with each value put back at its flat position ``indices`` in its (D', H', W') volume."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# -- power-average pooling -----------------------------------------------------------------------
def _lp_pool(op: str, nd: int, input: Tensor, norm_type, kernel_size, stride,
             ceil_mode: bool) -> Tensor:
    """(sum over each window of x^p)^(1/p), as PyTorch composes it: the window mean of
    x^p times the window size. p = inf is the max of |x|, p = -inf the min."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool) or norm_type == 0:
        raise ValueError(f"{op}: norm_type must be a non-zero number, got {norm_type!r}")
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    max_pool = (max_pool1d, max_pool2d, max_pool3d)[nd - 1]
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    out = _avg_pool(op, nd, input ** norm_type, kernel, stride, 0, ceil_mode, True, None)
    # sign * relu(|.|) is the identity whose derivative is 0 where a window sums to 0,
    # PyTorch's rule for the gradient of the root there
    out = out.sign() * relu(out.abs()) * float(math.prod(kernel))
    return out ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (N, C, L) or (C, L) -> (N, C, L_out), each window's
    (sum x^p)^(1/p) with p = ``norm_type`` (1: sum pooling, inf: max of |x|)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), each
    window's (sum x^p)^(1/p) with p = ``norm_type``."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D', H', W')."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# -- interpolation -------------------------------------------------------------------------------
_MODES_BY_DIM = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _source_scale(n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """PyTorch's ratio from output to input coordinates, in the input's precision."""
    if align_corners:
        return dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _nearest_index(n_in: int, n_out: int, scale, exact: bool, dtype) -> np.ndarray:
    """For each output position, the input position 'nearest' (or 'nearest-exact') copies."""
    sc = _source_scale(n_in, n_out, scale, False, dtype)
    dst = np.arange(n_out, dtype=dtype)
    src = np.floor((dst + dtype.type(0.5)) * sc) if exact else np.floor(dst * sc)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _cubic_weights(t: np.ndarray) -> list:
    """Keys' cubic convolution weights (A = -0.75, as PyTorch) of taps -1, 0, 1, 2 at t."""
    a = t.dtype.type(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(2 * one - t)]


def _interp_matrix(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool,
                   dtype) -> np.ndarray:
    """(n_out, n_in): the weights linear (or cubic) interpolation gives each input position,
    computed in the input's precision with PyTorch's source-index rule."""
    sc = _source_scale(n_in, n_out, scale, align_corners, dtype)
    dst = np.arange(n_out, dtype=dtype)
    if align_corners:
        src = sc * dst
    else:
        src = sc * (dst + dtype.type(0.5)) - dtype.type(0.5)
        if not cubic:
            src = np.maximum(src, dtype.type(0))
    index = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - index.astype(dtype), 0, 1).astype(dtype)
    if cubic:
        taps, weights = [index - 1, index, index + 1, index + 2], _cubic_weights(t)
    else:
        taps, weights = [index, np.minimum(index + 1, n_in - 1)], [1 - t, t]
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    rows = np.arange(n_out)
    for tap, weight in zip(taps, weights):  # taps past the border read the edge
        np.add.at(matrix, (rows, np.clip(tap, 0, n_in - 1)), weight)
    return matrix


def _interp_sizes(input: Tensor, nd: int, size, scale_factor, recompute_scale_factor):
    """(output sizes, scales handed to the coordinate rule) from ``size`` or ``scale_factor``."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: " + ("either size or scale_factor should be defined"
                                            if size is None else
                                            "only one of size or scale_factor should be defined"))
    spatial = tuple(input.shape[2:])
    if size is not None:
        sizes = (size,) * nd if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != nd or not all(isinstance(n, numbers.Integral) for n in sizes):
            raise ValueError(f"interpolate: size {size!r} must be an int or {nd} ints for an "
                             f"input with spatial size {spatial}")
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is only meaningful with an "
                             "explicit scale_factor")
        return tuple(int(n) for n in sizes), (None,) * nd
    scales = ((scale_factor,) * nd if isinstance(scale_factor, numbers.Real)
              else tuple(scale_factor))
    if len(scales) != nd or not all(isinstance(s, numbers.Real) for s in scales):
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} must be a number or "
                         f"{nd} numbers for an input with spatial size {spatial}")
    sizes = tuple(math.floor(n * float(s)) for n, s in zip(spatial, scales))
    return sizes, ((None,) * nd if recompute_scale_factor else tuple(float(s) for s in scales))


def _check_interp_mode(input: Tensor, mode: str, align_corners) -> None:
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; expected one "
                                  f"of {', '.join(_MODES)}")
    if align_corners is not None and mode not in _MODES_BY_DIM:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), "
                         f"got shape {tuple(input.shape)}")
    nd = input.ndim - 2
    if mode in _MODES_BY_DIM and _MODES_BY_DIM[mode] != nd:
        raise NotImplementedError(f"interpolate: got a {input.ndim}-D input of shape "
                                  f"{tuple(input.shape)}, but {mode} mode needs a "
                                  f"{_MODES_BY_DIM[mode] + 2}-D input")
    if mode not in ("nearest", "nearest-exact"):
        _require_float(input, f"interpolate ({mode})")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample (N, C, *spatial) to ``size`` or to floor(spatial * ``scale_factor``).

    ``mode``: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' / 'bicubic'
    (4-D), 'trilinear' (5-D) or 'area' (adaptive average pooling). With a
    ``scale_factor`` the coordinate rule uses 1 / scale_factor, unless
    ``recompute_scale_factor``; ``align_corners`` maps corner pixel centres onto
    each other (linear modes only; default False), exactly as in PyTorch.
    """
    _check_interp_mode(input, mode, align_corners)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    nd = input.ndim - 2
    sizes, scales = _interp_sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if min(sizes) < 1:
        raise ValueError(f"interpolate: the output size {sizes} of an input with spatial size "
                         f"{tuple(input.shape[2:])} must be positive")
    if input.shape[1] == 0:
        raise RuntimeError(f"interpolate: the input of shape {tuple(input.shape)} has no "
                           f"channels")
    if mode == "area":
        return _adaptive_avg_pool("interpolate (area)", nd, input, sizes)
    dtype = input.dtype if backend.dtype_kind(input.dtype) == "f" else np.dtype(np.float32)
    if mode in ("nearest", "nearest-exact"):
        indexes = [_nearest_index(n, o, s, mode == "nearest-exact", dtype)
                   for n, o, s in zip(input.shape[2:], sizes, scales)]
        factors = _integer_factors(tuple(input.shape[2:]), tuple(sizes), indexes)
        if factors is not None:  # every dim an integer upscale (or unchanged): one copy
            return input if all(f == 1 for f in factors) else Repeat.apply(input,
                                                                           factors=factors)
    out = input
    for i, (n, o, s) in enumerate(zip(input.shape[2:], sizes, scales)):
        if mode in ("nearest", "nearest-exact"):
            if n != o:
                index = _nearest_index(n, o, s, mode == "nearest-exact", dtype)
                out = _select_along(out, i + 2, index)
        else:
            matrix = _interp_matrix(n, o, s, bool(align_corners), mode == "bicubic", dtype)
            out = _along_dim(out, i + 2, matrix)
    return out


class Repeat(Function):
    """Each spatial element repeated ``factors[i]`` times along spatial dim i: nearest
    upsampling by integer factors, (N, C, *s) -> (N, C, *(s * f)), as one broadcast
    copy. Its adjoint ``BlockSum`` adds the f-blocks back by strided slices (NumPy
    reduces such short runs slowly)."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, factors):
        self.factors = factors
        wide = x.reshape(x.shape[:2] + sum(((n, 1) for n in x.shape[2:]), ()))
        shape = x.shape[:2] + sum(((n, f) for n, f in zip(x.shape[2:], factors)), ())
        out = self.xp.empty(shape, dtype=x.dtype)
        out[...] = self.xp.broadcast_to(wide, shape)
        return out.reshape(x.shape[:2] + tuple(n * f for n, f in zip(x.shape[2:], factors)))

    def vjp(self, g):
        return BlockSum.apply(g, factors=self.factors)

    def jvp(self, t):
        return Repeat.apply(t, factors=self.factors)


class BlockSum(Function):
    """(N, C, *(s * f)) -> (N, C, *s): the sum over each f-block (``Repeat``'s adjoint)."""
    uses_inputs = False

    def forward(self, g, factors):
        self.factors = factors
        small = tuple(n // f for n, f in zip(g.shape[2:], factors))
        blocks = g.reshape(g.shape[:2] + sum(((n, f) for n, f in zip(small, factors)), ()))
        offsets = list(product(*(range(f) for f in factors)))

        def at(offset):  # the elements at one position inside every block
            return blocks[(slice(None),) * 2 + sum(((slice(None), o) for o in offset), ())]

        out = at(offsets[0]).copy()
        for offset in offsets[1:]:
            out += at(offset)
        return out

    def vjp(self, h):
        return Repeat.apply(h, factors=self.factors)

    def jvp(self, t):
        return BlockSum.apply(t, factors=self.factors)


def _integer_factors(sizes: tuple, outs: tuple, indexes: list):
    """The integer upscale factors when every nearest index is position // factor, else None."""
    factors = []
    for n, o, index in zip(sizes, outs, indexes):
        if o % n or not np.array_equal(index, np.arange(o) // (o // n)):
            return None
        factors.append(o // n)
    return tuple(factors)


def _select_along(x: Tensor, dim: int, index: np.ndarray) -> Tensor:
    """``index_select`` along ``dim``; an integer upscale (each position repeated r times) is a
    broadcast instead, whose gradient is a plain sum rather than a scatter-add."""
    n, o = x.shape[dim], index.size
    if o % n == 0 and np.array_equal(index, np.arange(o) // (o // n)):
        r = o // n
        shape = tuple(x.shape)
        wide = x.reshape(shape[:dim + 1] + (1,) + shape[dim + 1:])
        wide = wide.broadcast_to(shape[:dim + 1] + (r,) + shape[dim + 1:])
        return wide.reshape(shape[:dim] + (o,) + shape[dim + 1:])
    return index_select(x, dim, _constant(index, x))


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """``interpolate`` under its older name (as ``torch.nn.functional.upsample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(..., mode='bilinear', align_corners=True)``, as in PyTorch."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- pixel shuffle ---------------------------------------------------------------------------
def _check_factor(op: str, input: Tensor, factor, name: str) -> int:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if not isinstance(factor, numbers.Integral) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expected an input with at least 3 dimensions (*, C, H, W), "
                           f"got shape {tuple(input.shape)}")
    return int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel blocks become r x r pixel blocks."""
    r = _check_factor("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel size {c} of the input of shape "
                           f"{tuple(input.shape)} is not divisible by upscale_factor^2 = {r * r}")
    b = len(batch)
    x = input.reshape(tuple(batch) + (c // (r * r), r, r, h, w))
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return x.reshape(tuple(batch) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of ``pixel_shuffle``."""
    r = _check_factor("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: the spatial size ({h}, {w}) of the input of shape "
                           f"{tuple(input.shape)} is not divisible by downscale_factor = {r}")
    b = len(batch)
    x = input.reshape(tuple(batch) + (c, h // r, r, w // r, r))
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H, W)
    return x.reshape(tuple(batch) + (c * r * r, h // r, w // r))


# -- exports ---------------------------------------------------------------------------------
TENSOR_METHODS: dict = {}  # PyTorch has no pooling methods on Tensor

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d",
    "max_unpool2d", "max_unpool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
    "pixel_unshuffle", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
]
