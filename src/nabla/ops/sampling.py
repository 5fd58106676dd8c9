"""Sampling at arbitrary positions: ``affine_grid`` and ``grid_sample`` (spatial transformers),
and ``channel_shuffle``.

``grid_sample`` reads the input at real-valued positions given by a grid in [-1, 1]. Each
output is a weighted sum of a few input neighbours: 1 (nearest), 2^d (bilinear / trilinear)
or 16 (bicubic). The op is one primitive, ``GridSample``: its forward gathers the
neighbours of every grid point with one ``take`` per neighbour and sums them with their
weights. Everything the rules need is kept as constants per neighbour ``k``: the plane
position it reads (``pos``), whether it lies inside the input (``valid``), and per spatial
dimension the affine map from the grid value to the fractional offset ``t`` inside the cell,
``t = scale * g + shift`` (padding modes only change ``scale`` and ``shift``: clipped
coordinates get ``scale = 0``, reflected ones a negative sign). The weights are then
polynomials in ``t``, written once (``_tap_weights``) for arrays and Tensors alike, so the
rules rebuild them from the grid Tensor and stay differentiable to any order:

* input gradient: the cotangent times each weight, scattered back to ``pos``
  (``PlaneAdd``, the adjoint of the gather ``PlaneTake``);
* grid gradient: the weights' derivatives times the gathered values, summed over channels.

``affine_grid`` is composed: a constant base grid of normalised coordinates times theta.
"""
from __future__ import annotations

import math
import numbers
from itertools import product

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .linalg import matmul
from .reduction import sum as _sum
from .shape import cat, stack

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_CUBIC_A = -0.75  # Keys' cubic convolution parameter, as PyTorch


# -- gather and scatter along the spatial plane ------------------------------------------------
def _flat_index(xp, pos, channels: int, plane: int):
    """Flat positions in (N, C, plane) of ``pos`` (N, Q) read by every channel: (N, C, Q)."""
    n = pos.shape[0]
    base = xp.arange(n * channels, dtype=np.int64).reshape(n, channels, 1) * plane
    return base + pos.reshape(n, 1, math.prod(pos.shape[1:]))


class PlaneTake(Function):
    """(N, C, *S) -> (N, C, *O): ``out[n, c, o] = x[n, c, pos[n, o]]`` for flat plane
    positions ``pos`` (N, *O). The adjoint of ``PlaneAdd``."""
    uses_inputs = False

    def forward(self, x, pos):
        self.pos, self.in_shape = pos, x.shape
        return _take(self.xp, x, pos)

    def vjp(self, g):
        return PlaneAdd.apply(g, pos=self.pos, shape=self.in_shape)

    def jvp(self, t):
        return PlaneTake.apply(t, pos=self.pos)


class PlaneAdd(Function):
    """zeros(shape) with ``g[n, c, o]`` added at plane position ``pos[n, o]`` of (n, c)
    (positions may repeat: their values sum). The adjoint of ``PlaneTake``."""
    uses_inputs = False

    def forward(self, g, pos, shape):
        self.pos = pos
        xp = self.xp
        n, c = shape[:2]
        plane = math.prod(shape[2:])
        if xp is np:  # one bincount per channel: 2-4x faster than one over (N, C, Q) or add.at
            idx = _row_index(xp, pos, plane)
            g3 = g.reshape(n, c, math.prod(g.shape[2:]))
            out = np.empty((n, c, plane), dtype=g.dtype)
            for j in range(c):
                out[:, j] = np.bincount(idx, weights=g3[:, j].ravel(),
                                        minlength=n * plane).reshape(n, plane)
            return out.reshape(shape)
        out = xp.zeros(math.prod(shape), dtype=g.dtype)
        xp.add.at(out, _flat_index(xp, pos, c, plane).ravel(), g.reshape(-1))  # atomic on a GPU
        return out.reshape(shape)

    def vjp(self, gg):
        return PlaneTake.apply(gg, pos=self.pos)

    def jvp(self, t):
        return PlaneAdd.apply(t, pos=self.pos, shape=self.out.shape)


# -- coordinates -------------------------------------------------------------------------------
def _unnormalize_scale(n: int, align_corners: bool) -> tuple:
    """(a, b) with pixel coordinate ``a * g + b`` for the normalised coordinate ``g``:
    -1 and 1 are the centres of the corner pixels (align_corners) or their outer edges."""
    return ((n - 1) / 2 if align_corners else n / 2), (n - 1) / 2


def _reflect(xp, u, low: float, high: float):
    """``u`` folded into [low, high] by mirror reflections, and the sign of d(result)/du."""
    span = high - low
    if span <= 0:
        return xp.zeros_like(u), xp.zeros_like(u)
    d = u - low
    sign = xp.where(d < 0, -1.0, 1.0).astype(u.dtype)
    d = xp.abs(d)
    extra = xp.fmod(d, span)
    odd = (xp.floor(d / span) % 2) == 1
    out = xp.where(odd, span - extra, extra) + low
    return out, xp.where(odd, -sign, sign)


def _clip(xp, u, slope, n: int):
    """``u`` clipped to [0, n - 1]; clipped places (borders included) get slope 0."""
    inside = (u > 0) & (u < n - 1)
    return xp.clip(u, 0, n - 1), xp.where(inside, slope, 0).astype(u.dtype)


def _source(xp, g, n: int, padding_mode: str, align_corners: bool, pad: bool):
    """Pixel coordinate of the normalised ``g`` along a dimension of size ``n``, and its
    derivative in ``g`` (with the padding mode applied to the coordinate when ``pad``)."""
    a, b = _unnormalize_scale(n, align_corners)
    u = g * g.dtype.type(a) + g.dtype.type(b)
    slope = xp.full(u.shape, a, dtype=u.dtype)
    if not pad or padding_mode == "zeros":
        return u, slope
    if padding_mode == "reflection":
        low, high = (0.0, n - 1.0) if align_corners else (-0.5, n - 0.5)
        u, sign = _reflect(xp, u, low, high)
        slope = slope * sign
    return _clip(xp, u, slope, n)


def _pad_taps(xp, p, n: int, padding_mode: str, align_corners: bool):
    """Integer tap positions ``p`` (as floats) mapped by the padding mode: the positions to read
    and whether each lies inside (bicubic pads the taps, not the coordinate)."""
    if padding_mode == "border":
        p = xp.clip(p, 0, n - 1)
    elif padding_mode == "reflection":
        low, high = (0.0, n - 1.0) if align_corners else (-0.5, n - 0.5)
        p = xp.clip(_reflect(xp, p, low, high)[0], 0, n - 1)
    p = p.astype(np.int64)
    return p, (p >= 0) & (p < n)


# -- weights: the same code on arrays and Tensors ----------------------------------------------
def _cubic_near(x):  # |x| <= 1
    return ((_CUBIC_A + 2) * x - (_CUBIC_A + 3)) * x * x + 1


def _cubic_far(x):  # 1 < |x| < 2
    return ((_CUBIC_A * x - 5 * _CUBIC_A) * x + 8 * _CUBIC_A) * x - 4 * _CUBIC_A


def _cubic_near_d(x):
    return (3 * (_CUBIC_A + 2) * x - 2 * (_CUBIC_A + 3)) * x


def _cubic_far_d(x):
    return (3 * _CUBIC_A * x - 10 * _CUBIC_A) * x + 8 * _CUBIC_A


def _tap_weights(t, mode: str) -> list:
    """Weights of the taps of one dimension at fractional offset ``t`` (array or Tensor)."""
    if mode == "bilinear":
        return [1 - t, t]
    return [_cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t), _cubic_far(2 - t)]


def _tap_slopes(t, mode: str) -> list:
    """d(weight)/dt of each tap of ``_tap_weights``."""
    if mode == "bilinear":
        return [0 * t - 1, 0 * t + 1]  # constants, shaped (and typed) like t
    return [_cubic_far_d(t + 1), _cubic_near_d(t), -_cubic_near_d(1 - t), -_cubic_far_d(2 - t)]


# -- the primitive -----------------------------------------------------------------------------
class GridSample(Function):
    """(N, C, *S) sampled at grid (N, *O, d) -> (N, C, *O); see the module docstring.

    Kept for the rules, per spatial dimension i: ``scale[i]``, ``shift[i]`` (N, *O) with
    ``t_i = scale * g_i + shift``; per neighbour: ``pos`` (N, *O) plane positions, ``valid``
    masks and the tap number along each dimension.
    """

    def forward(self, x, grid, mode, padding_mode, align_corners):
        xp = self.xp
        nd = x.ndim - 2
        sizes = x.shape[2:]
        grid = grid.astype(x.dtype, copy=False)
        taps = {"nearest": 1, "bilinear": 2, "bicubic": 4}[mode]
        self.mode, self.nd = mode, nd
        self.scale, self.shift, per_dim = [], [], []
        for i, n in enumerate(sizes):
            g = grid[..., nd - 1 - i]  # grid's last axis is (x, y[, z]): W first
            u, slope = _source(xp, g, n, padding_mode, align_corners, pad=mode != "bicubic")
            if mode == "nearest":
                first = xp.rint(u)  # half to even, as PyTorch's nearbyint
                t = None
            else:
                first = xp.floor(u)
                t = u - first
                first = first - (1 if mode == "bicubic" else 0)
            taps_i = []
            for j in range(taps):
                if mode == "bicubic":
                    taps_i.append(_pad_taps(xp, first + j, n, padding_mode, align_corners))
                else:
                    p = (first + j).astype(np.int64)
                    taps_i.append((p, (p >= 0) & (p < n)))
            self.scale.append(slope)
            self.shift.append(None if t is None else t - slope * g)
            per_dim.append((taps_i, None if t is None else _tap_weights(t, mode)))
        self.neighbours = []  # (tap index per dim, pos, valid or None)
        rows, plane = _plane_rows(xp, x), math.prod(sizes)
        out = None
        for combo in product(range(taps), repeat=nd):
            pos, valid, weight = 0, None, None
            for i, j in enumerate(combo):
                p, ok = per_dim[i][0][j]
                pos = pos * sizes[i] + xp.where(ok, p, 0)
                valid = ok if valid is None else valid & ok
                if mode != "nearest":
                    w = per_dim[i][1][j]
                    weight = w if weight is None else weight * w
            valid = None if bool(valid.all()) else valid
            self.neighbours.append((combo, pos, valid))
            if valid is not None:
                weight = valid.astype(x.dtype) if weight is None else weight * valid
            term = _take_rows(xp, rows, pos, plane)                     # (N * Q, C)
            if weight is not None:
                term *= weight.reshape(-1, 1)
            if out is None:
                out = term
            else:
                out += term
        return _as_channels_first(out, pos.shape)

    # -- rules -----------------------------------------------------------------------------
    def _weights(self, grid: Tensor, slopes: bool):
        """Per neighbour, its weight Tensor (N, *O) (None: 1, every point inside) and, when
        ``slopes``, the weight's derivatives in each spatial coordinate (a list over dims).
        Built from the ``grid`` Tensor, so the rules are differentiable in it."""
        if self.mode == "nearest":
            return [(self._mask(v, grid), None) for _, _, v in self.neighbours]
        low = grid.dtype == backend.bfloat16
        if low:  # the cubic weights lose too much rounding every step in bfloat16
            grid = grid.to(np.float32)
        ts = []
        for i in range(self.nd):
            g = grid[..., self.nd - 1 - i]
            ts.append(g * self._const(self.scale[i], grid) + self._const(self.shift[i], grid))
        w = [_tap_weights(t, self.mode) for t in ts]
        dw = [_tap_slopes(t, self.mode) for t in ts] if slopes else None
        out = []
        for combo, _, valid in self.neighbours:
            mask = self._mask(valid, grid)
            weight = _product([w[i][j] for i, j in enumerate(combo)], mask)
            grads = None
            if slopes:
                grads = [_product([dw[i][j] if i == k else w[i][j] for i, j in enumerate(combo)],
                                  mask) for k in range(self.nd)]
            if low:
                weight = weight.to(backend.bfloat16)
                grads = None if grads is None else [d.to(backend.bfloat16) for d in grads]
            out.append((weight, grads))
        return out

    def _const(self, array, like: Tensor) -> Tensor:
        return Tensor._wrap(array.astype(like.array.dtype, copy=False))

    def _mask(self, valid, like: Tensor):
        return None if valid is None else self._const(valid, like)

    def _coordinate_grad(self, per_dim: list, grid: Tensor) -> Tensor:
        """d/dgrid from d/dcoordinate of each spatial dim (N, *O): times scale, as (N, *O, d)."""
        parts = [per_dim[i] * self._const(self.scale[i], grid) for i in range(self.nd)]
        return stack(parts[::-1], dim=-1)

    def vjp(self, g):
        x, grid = self.inputs
        need_x, need_grid = self.needs_input_grad
        weights = self._weights(grid, slopes=need_grid and self.mode != "nearest")
        dx = dgrid = None
        if need_x:
            parts = [g if w is None else g * _channels(w) for w, _ in weights]
            q = math.prod(g.shape[2:])  # (N, C, *O) as (N, C, Q), per neighbour
            pos = self.xp.concatenate([p.reshape(p.shape[0], q) for _, p, _ in self.neighbours],
                                      axis=1)
            flat = [p.reshape(tuple(p.shape[:2]) + (q,)) for p in parts]
            dx = PlaneAdd.apply(flat[0] if len(flat) == 1 else cat(flat, dim=2), pos=pos,
                                shape=tuple(x.shape))
        if need_grid:
            if self.mode == "nearest":
                dgrid = Tensor._wrap(self.xp.zeros(grid.shape, dtype=grid.array.dtype))
            else:
                per_dim = [None] * self.nd
                for (_, pos, _), (_, slopes) in zip(self.neighbours, weights):
                    seen = _sum(g * PlaneTake.apply(x, pos=pos), dim=1)  # (N, *O)
                    for i, s in enumerate(slopes):
                        term = seen * s
                        per_dim[i] = term if per_dim[i] is None else per_dim[i] + term
                dgrid = self._coordinate_grad(per_dim, grid)
        return dx, dgrid

    def jvp(self, tx, tgrid):
        x, grid = self.inputs
        slopes = tgrid is not None and self.mode != "nearest"
        out = None
        for (_, pos, _), (w, ds) in zip(self.neighbours, self._weights(grid, slopes)):
            terms = []
            if tx is not None:
                taken = PlaneTake.apply(tx, pos=pos)
                terms.append(taken if w is None else taken * _channels(w))
            if slopes:
                seen = PlaneTake.apply(x, pos=pos)
                for i, s in enumerate(ds):
                    dg = tgrid[..., self.nd - 1 - i] * self._const(self.scale[i], grid)
                    terms.append(seen * _channels(s * dg))
            for term in terms:
                out = term if out is None else out + term
        if out is None:
            out = Tensor._wrap(self.xp.zeros(self.out.shape, dtype=self.out.array.dtype))
        return out


def _plane_rows(xp, x):
    """(N, C, *S) as channels-last rows (N * prod(S), C): each plane position's C values
    contiguous, so a gather copies whole rows (free when ``x`` is already channels-last)."""
    n, c = x.shape[:2]
    plane = math.prod(x.shape[2:])
    return xp.ascontiguousarray(xp.moveaxis(x.reshape(n, c, plane), 1, 2)).reshape(n * plane, c)


def _row_index(xp, pos, plane: int):
    """Rows of ``_plane_rows`` for plane positions ``pos`` (N, *O): flat (N * prod(O),)."""
    n = pos.shape[0]
    q = math.prod(pos.shape[1:])
    return (xp.arange(n, dtype=np.int64).reshape(n, 1) * plane + pos.reshape(n, q)).ravel()


def _take_rows(xp, rows, pos, plane: int):
    """Rows at plane positions ``pos`` (N, *O): (N * prod(O), C)."""
    return rows.take(_row_index(xp, pos, plane), axis=0)


def _as_channels_first(rows, pos_shape: tuple):
    """(N * prod(O), C) rows -> an (N, C, *O) view."""
    c = rows.shape[1]
    out = rows.reshape(tuple(pos_shape) + (c,))
    return out.transpose((0, out.ndim - 1) + tuple(range(1, out.ndim - 1)))


def _take(xp, x, pos):
    """(N, C, *S) read at plane positions ``pos`` (N, *O): (N, C, *O), channels-last."""
    return _as_channels_first(_take_rows(xp, _plane_rows(xp, x), pos, math.prod(x.shape[2:])),
                              pos.shape)


def _product(factors: list, mask):
    out = factors[0]
    for f in factors[1:]:
        out = out * f
    return out if mask is None else out * mask


def _channels(w: Tensor) -> Tensor:
    """(N, *O) -> (N, 1, *O): broadcast over channels."""
    return w.reshape((w.shape[0], 1) + tuple(w.shape[1:]))


# -- wrappers ----------------------------------------------------------------------------------
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) at ``grid`` (N, H_out, W_out, 2) -> (N, C, H_out, W_out).

    ``grid[..., 0]`` is the x (width) and ``grid[..., 1]`` the y (height) coordinate,
    normalised to [-1, 1]; 5-D input (N, C, D, H, W) takes a grid (N, D', H', W', 3)
    (x, y, z). ``mode``: "bilinear" (trilinear in 3-D), "nearest" or "bicubic" (4-D only);
    ``padding_mode``: what lies outside, "zeros", "border" (the edge repeats) or
    "reflection" (the image mirrors); ``align_corners`` (default False): whether -1 and 1
    are the centres of the corner pixels rather than their outer edges. Differentiable in
    both ``input`` and ``grid`` (the grid gradient of "nearest" is zero).
    """
    op = "grid_sample"
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(t).__name__}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"{op}: padding_mode must be one of {_PADDINGS}, got {padding_mode!r}")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{op}: expected a 4-D (N, C, H, W) or 5-D (N, C, D, H, W) input, "
                           f"got shape {tuple(input.shape)}")
    nd = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != nd or grid.shape[0] != input.shape[0]:
        want = "(N, H_out, W_out, 2)" if nd == 2 else "(N, D_out, H_out, W_out, 3)"
        raise RuntimeError(f"{op}: grid of shape {tuple(grid.shape)} does not fit input of shape "
                           f"{tuple(input.shape)}: expected {want} with N = {input.shape[0]}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError(f"{op}: mode 'bicubic' needs a 4-D input, got shape "
                           f"{tuple(input.shape)}")
    if backend.dtype_kind(input.dtype) != "f" or input.dtype != grid.dtype:
        raise TypeError(f"{op}: expected input and grid of one floating point dtype, got "
                        f"{input.dtype} and {grid.dtype}")
    if 0 in input.shape[1:]:
        raise RuntimeError(f"{op}: expected non-zero channel and spatial sizes, got input of "
                           f"shape {tuple(input.shape)}")
    return GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode,
                            align_corners=bool(align_corners))


def _base_coordinates(n: int, align_corners: bool) -> np.ndarray:
    """The normalised coordinates of the centres of ``n`` pixels."""
    if n <= 1:
        return np.zeros(n)
    steps = np.linspace(-1.0, 1.0, n)
    return steps if align_corners else steps * (n - 1) / n


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of an affine map, for ``grid_sample``.

    ``theta`` (N, 2, 3) maps output coordinates (x, y, 1) to input coordinates: ``size``
    (N, C, H, W) gives a grid (N, H, W, 2). In 3-D, theta (N, 3, 4) and size
    (N, C, D, H, W) give (N, D, H, W, 3). Coordinates are normalised to [-1, 1] as in
    ``grid_sample`` with the same ``align_corners`` (default False).
    """
    op = "affine_grid"
    if not isinstance(theta, Tensor):
        raise TypeError(f"{op}: expected theta to be a Tensor, got {type(theta).__name__}")
    if backend.dtype_kind(theta.dtype) != "f":
        raise TypeError(f"{op}: expected a floating point theta, got dtype {theta.dtype}")
    size = tuple(size)
    if len(size) not in (4, 5) or not all(isinstance(s, numbers.Integral) for s in size):
        raise ValueError(f"{op}: size must be (N, C, H, W) or (N, C, D, H, W), got {size}")
    nd = len(size) - 2
    if tuple(theta.shape) != (size[0], nd, nd + 1):
        raise ValueError(f"{op}: for size {size} expected theta of shape "
                         f"{(size[0], nd, nd + 1)}, got {tuple(theta.shape)}")
    if min(size[2:]) <= 0:
        raise ValueError(f"{op}: expected non-zero spatial sizes, got size {size}")
    spatial = size[2:]
    axes = [_base_coordinates(n, bool(align_corners)) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # per spatial dim, in (D,) H, W order
    columns = [m.reshape(-1) for m in mesh[::-1]] + [np.ones(math.prod(spatial))]
    base = np.stack(columns, axis=-1).astype(theta.array.dtype)  # (P, d + 1): x, y[, z], 1
    base = Tensor._wrap(backend.to_device(base, backend.device_of(theta.array)))
    out = matmul(base, theta.transpose(1, 2))  # (N, P, d)
    return out.reshape((size[0],) + spatial + (nd,))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) -> (N, C, *) with the channels of ``groups`` groups interleaved: channel
    ``g * (C // groups) + k`` moves to ``k * groups + g`` (ShuffleNet)."""
    op = "channel_shuffle"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expected an input (N, C, *) with at least 3 dimensions, "
                           f"got shape {tuple(input.shape)}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"{op}: the channel size {c} of the input of shape "
                           f"{tuple(input.shape)} is not divisible by groups = {groups}")
    x = input.reshape((n, groups, c // groups) + tuple(rest))
    return x.transpose(1, 2).reshape(tuple(input.shape))


TENSOR_METHODS: dict = {}

__all__ = ["grid_sample", "affine_grid", "channel_shuffle"]
