"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold (im2col) and fold (col2im).

Three primitives carry every convolution's derivatives. They are the three
bilinear faces of one trilinear form ``<conv(x, w), g>``:

* ``Convolution(x, w[, b])``         -> y   (N, O, Ho, Wo): the forward conv;
* ``ConvolutionTranspose(g, w[, b])`` -> x   (N, C, H, W):   its adjoint in ``x``
  (PyTorch's conv_transpose2d);
* ``ConvolutionWeightGrad(x, g)``    -> w   (O, C/groups, kh, kw): its adjoint in ``w``.

Each one's vjp and jvp are the other two (and itself), so derivatives of any
order stay inside this closed set. 1-D convolutions are 2-D ones of height 1; 3-D
ones run the same code, whose geometry and window helpers take any number of spatial
dims.

Inside, the arrays are channels-last (NHWC): the im2col matrix has one row per
output pixel, so the GEMM's (N*Ho*Wo, O) result *is* the output activation,
returned as an NCHW view without a transpose copy; the next layer's
``transpose(0, 2, 3, 1)`` is then free again. ``unfold`` and ``fold`` share the
same window helpers.

On CuPy float arrays the column matrices are built and summed back by GPU kernels
(``kernels.conv``: im2col, col2im), one launch each around the cuBLAS GEMMs, in
place of a slice copy or window add per kernel offset; the GEMMs are the same. Those
kernels are 2-D only (``_on_gpu``): 3-D convolutions on CuPy take the xp path.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .. import backend, kernels
from ..autograd.function import Function, autocast_args
from ..autograd.grad_mode import STATE
from ..tensor import Tensor

# -- geometry ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Geometry:
    """Everything about a convolution but the data: sizes of x, w and y, one entry per
    spatial dim (two for 1-D and 2-D convolutions, three for 3-D ones)."""
    in_size: tuple    # (H, W) of x, or (D, H, W)
    kernel: tuple     # (kh, kw), or (kd, kh, kw)
    stride: tuple     # (sh, sw), ...
    padding: tuple    # ((top, bottom), (left, right)), ...
    dilation: tuple   # (dh, dw), ...
    groups: int
    out_size: tuple   # (Ho, Wo) of y, or (Do, Ho, Wo)

    @property
    def nd(self) -> int:
        return len(self.kernel)

    @property
    def padded_size(self) -> tuple:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.in_size, self.padding))

    @property
    def span(self) -> tuple:
        """The dilated kernel's extent: d * (k - 1) + 1 per spatial dim."""
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel))

    @property
    def offsets(self) -> list:
        """Every kernel offset (i, j) or (i, j, l), row-major like the weight's last dims."""
        return list(itertools.product(*(range(k) for k in self.kernel)))


def _window(geo: _Geometry, offset: tuple) -> tuple:
    """Slices of the padded input read by kernel ``offset`` for all output pixels."""
    return tuple(slice(i * d, i * d + s * (o - 1) + 1, s)
                 for i, d, s, o in zip(offset, geo.dilation, geo.stride, geo.out_size))


def _last(nd: int) -> tuple:
    """The axes permutation (N, C, *spatial) -> (N, *spatial, C)."""
    return (0, *range(2, nd + 2), 1)


def _first(nd: int) -> tuple:
    """The axes permutation (N, *spatial, C) -> (N, C, *spatial)."""
    return (0, nd + 1, *range(1, nd + 1))


def _on_gpu(geo: _Geometry, *arrays) -> bool:
    """Whether the GPU kernels take this convolution: they are 2-D only, so a 3-D one
    takes the xp path below on CuPy too."""
    return geo.nd == 2 and kernels.usable(*arrays)


# -- array kernels (NumPy or CuPy through xp) ----------------------------------------------
# The CPU kernels walk the batch in chunks whose column matrix holds about this many
# elements (~2 MB of float32): im2col writes and the GEMM that reads it stay in cache,
# which measured 2x faster than one full-size column matrix. GPUs take one chunk.
_CHUNK_ELEMENTS = 1 << 19

# A convolution whose weight needs a gradient keeps its column matrix for the
# backward when it is at most this large (LeNet's and the tutorial net's layers),
# instead of building it a second time; larger ones are rebuilt in chunks.
KEEP_COLUMNS_BYTES = 16 << 20


def _chunks(xp, n: int, per_image: int):
    """(start, stop) ranges over the batch, each about _CHUNK_ELEMENTS elements."""
    if xp.__name__ != "numpy":
        return [(0, n)]
    step = max(1, _CHUNK_ELEMENTS // max(per_image, 1))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def _pad_nhwc(xp, x, geo: _Geometry):
    """x (n, *spatial, C) zero-padded to a contiguous (n, *padded, C)."""
    if not any(lo or hi for lo, hi in geo.padding):
        return xp.ascontiguousarray(x)
    out = xp.empty((x.shape[0], *geo.padded_size, x.shape[-1]), dtype=x.dtype)
    # zero only the borders (one slab before and after the image per dim), then copy
    # the interior once
    interior = tuple(slice(lo, lo + n) for n, (lo, _) in zip(geo.in_size, geo.padding))
    for axis, (lo, hi) in enumerate(geo.padding):
        before = (slice(None),) + interior[:axis]
        out[before + (slice(0, lo),)] = 0
        out[before + (slice(lo + geo.in_size[axis], None),)] = 0
    out[(slice(None),) + interior] = x
    return out


def _im2col(xp, xpad, geo: _Geometry):
    """The padded channels-last input xpad (n, *padded, C) -> the column matrix
    (n*Ho*Wo, kh*kw*C), columns ordered (kh, kw, C) (with kd first in 3-D).

    One input channel: one contiguous slice copy per kernel offset into the transposed
    matrix (returned as a Fortran-ordered view). Otherwise one copy of a window view,
    channels innermost so that every read is a contiguous run.
    """
    n, c, nd = xpad.shape[0], xpad.shape[-1], geo.nd
    kk, m = math.prod(geo.kernel), n * math.prod(geo.out_size)
    if c == 1:
        cols_t = xp.empty((kk, n, *geo.out_size), dtype=xpad.dtype)
        for k, offset in enumerate(geo.offsets):
            cols_t[k] = xpad[(slice(None),) + _window(geo, offset) + (0,)]
        return cols_t.reshape(kk, m).T
    spatial = tuple(range(1, nd + 1))
    windows = xp.lib.stride_tricks.sliding_window_view(xpad, geo.span, axis=spatial)
    steps = tuple(slice(None, None, s) for s in geo.stride)
    dilate = tuple(slice(None, None, d) for d in geo.dilation)
    windows = windows[(slice(None),) + steps + (slice(None),) + dilate]
    windows = windows[(slice(None),) + tuple(slice(None, o) for o in geo.out_size)]
    # (n, *out, C, *kernel) -> (n, *out, *kernel, C)
    cols = xp.ascontiguousarray(windows.transpose(
        0, *spatial, *range(nd + 2, 2 * nd + 2), nd + 1))
    return cols.reshape(m, kk * c)


def _rows(g):
    """g (n, O, *out) as the (n*Ho*Wo, O) matrix (free when g is channels-last)."""
    n, o = g.shape[:2]
    return g.transpose(_last(g.ndim - 2)).reshape(n * math.prod(g.shape[2:]), o)


def _conv_forward(xp, x, w, b, geo: _Geometry, keep_cols: bool = False):
    """y = conv(x, w) + b: (N, C, *in), (O, C/G, *kernel), (O,) -> (N, O, *out).

    With ``keep_cols`` (groups == 1), also return the whole column matrix, so the
    weight gradient can reuse it instead of building it again.
    """
    if _on_gpu(geo, x, w, *(() if b is None else (b,))):
        return _gpu_forward(xp, x, w, b, geo, keep_cols)
    n, o, groups, nd = x.shape[0], w.shape[0], geo.groups, geo.nd
    kk = math.prod(geo.kernel)
    wt = w.transpose(*range(2, nd + 2), 1, 0)                    # (*kernel, C/G, O)
    y = xp.empty((n, *geo.out_size, o), dtype=x.dtype)
    if groups == 1:
        wmat = xp.ascontiguousarray(wt).reshape(-1, o)           # (K, O)
        if keep_cols:
            cols = _im2col(xp, _pad_nhwc(xp, x.transpose(_last(nd)), geo), geo)
            y.reshape(-1, o)[...] = backend.matmul(xp, cols, wmat)
            if b is not None:
                y += b
            return y.transpose(_first(nd)), cols
    else:
        og = o // groups
        wmat = xp.ascontiguousarray(wt.reshape(kk, w.shape[1], groups, og)
                                    .transpose(2, 0, 1, 3)).reshape(groups, -1, og)
    xpad = _pad_nhwc(xp, x.transpose(_last(nd)), geo)
    for s, e in _chunks(xp, n, math.prod(geo.out_size) * kk * x.shape[1]):
        cols = _im2col(xp, xpad[s:e], geo)                       # (Mc, K)
        out = y[s:e].reshape(-1, o)
        if groups == 1:
            # (matmul's out= measured 4x slower than this copy)
            out[...] = backend.matmul(xp, cols, wmat)
        else:
            cg = x.shape[1] // groups
            cols = cols.reshape(-1, kk, groups, cg).transpose(2, 0, 1, 3)
            out[...] = backend.matmul(xp, cols.reshape(groups, -1, kk * cg), wmat) \
                .transpose(1, 0, 2).reshape(-1, o)
    if b is not None:
        y += b
    return y.transpose(_first(nd))

# -- the same on the GPU: im2col / col2im kernels around the GEMMs -----------------------------
# Their column matrix is (G, N*Ho*Wo, C/G*kh*kw), columns (c, i, j) like a weight row, so
# the weight enters the GEMMs as it is; the results are channels-last as above.
def _gpu_pairs(geo: _Geometry) -> tuple:
    """The kernels' geometry: kernel, stride, padding before the image, dilation, out_size."""
    return geo.kernel, geo.stride, tuple(lo for lo, _ in geo.padding), geo.dilation, \
        geo.out_size


def _gpu_columns(x, geo: _Geometry):
    kernel, stride, before, dilation, out_size = _gpu_pairs(geo)
    return kernels.im2col(x, kernel, stride, before, dilation, out_size, geo.groups)


def _depthwise(geo: _Geometry, w_shape: tuple) -> bool:
    """One input channel per group: the direct kernels, not columns (K = kh kw)."""
    return geo.groups > 1 and w_shape[1] == 1


def _gpu_forward(xp, x, w, b, geo: _Geometry, keep_cols: bool = False):
    """``_conv_forward`` as im2col (one kernel) + one GEMM, or a batched GEMM over groups;
    with ``keep_cols`` also the (G, M, K/G) columns for the weight gradient. Depthwise:
    one direct kernel."""
    if _depthwise(geo, w.shape) and not keep_cols:
        return kernels.depthwise(x, w, b, *_gpu_pairs(geo)).transpose(0, 3, 1, 2)
    n, o, groups = x.shape[0], w.shape[0], geo.groups
    cols = _gpu_columns(x, geo)                                  # (G, M, K/G)
    wg = w.reshape(groups, o // groups, -1)                      # (G, O/G, K/G)
    if groups == 1:
        y = backend.matmul(xp, cols[0], wg[0].T)                 # (M, O)
    else:
        y = backend.matmul(xp, cols, wg.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(-1, o)
    y = y.reshape(n, *geo.out_size, o)
    if b is not None:
        y += b
    y = y.transpose(0, 3, 1, 2)
    return (y, cols) if keep_cols else y


def _gpu_input_grad(xp, g, w, b, geo: _Geometry):
    """``_conv_input_grad`` as one GEMM (or a batched one over groups) + col2im (one kernel);
    depthwise, one direct kernel."""
    n, o = g.shape[:2]
    groups, cg = geo.groups, w.shape[1]
    if _depthwise(geo, w.shape):
        dx = kernels.depthwise_grad_input(_rows(g), w, (n, groups) + geo.in_size,
                                          *_gpu_pairs(geo))
        if b is not None:
            dx += b
        return dx.transpose(0, 3, 1, 2)
    wg = w.reshape(groups, o // groups, -1)                      # (G, O/G, K/G)
    gm = _rows(g)                                                # (M, O)
    if groups == 1:
        dcols = backend.matmul(xp, gm, wg[0])[None]              # (1, M, K)
    else:
        dcols = backend.matmul(xp, gm.reshape(-1, groups, o // groups).transpose(1, 0, 2), wg)
    kernel, stride, before, dilation, out_size = _gpu_pairs(geo)
    dx = kernels.col2im(dcols, (n, cg * groups) + geo.in_size, kernel, stride, before,
                        dilation, out_size, groups)              # (N, H, W, C)
    if b is not None:
        dx += b
    return dx.transpose(0, 3, 1, 2)


def _gpu_weight_grad(xp, x, g, geo: _Geometry, w_shape: tuple, cols=None):
    """``_conv_weight_grad`` as im2col (unless the forward kept ``cols``) + one GEMM, or a
    batched GEMM over groups."""
    o, groups = w_shape[0], geo.groups
    if cols is None and _depthwise(geo, w_shape):  # one block per weight, no columns
        return kernels.depthwise_grad_weight(x, _rows(g), w_shape, *_gpu_pairs(geo))
    if cols is None:
        cols = _gpu_columns(x, geo)                              # (G, M, K/G)
    gm = _rows(g)                                                # (M, O)
    if groups == 1:
        dw = backend.matmul(xp, gm.T, cols[0])                   # (O, K)
    else:
        dw = backend.matmul(xp, gm.reshape(-1, groups, o // groups).transpose(1, 2, 0), cols)
    return dw.reshape(w_shape)


def _as_forward_conv(geo: _Geometry, w_shape: tuple):
    """For a stride-1 convolution, its adjoint in x as a forward convolution of g with
    the flipped, transposed kernel: the geometry of that convolution, or None when
    this form does not pay. It builds g's column matrix instead of adding k*k windows
    into dx; measured 0.72-0.81x the time of the GEMM + col2im form on ResNet's
    16-64-channel 3x3 layers, but 1.4x on LeNet's 6-channel ones, whose narrow
    output makes a skinny GEMM."""
    if (any(s != 1 for s in geo.stride) or any(d != 1 for d in geo.dilation)
            or geo.groups != 1 or w_shape[1] < 16
            or any(max(lo, hi) > k - 1 for k, (lo, hi) in zip(geo.kernel, geo.padding))):
        return None
    return _Geometry(in_size=geo.out_size, kernel=geo.kernel, stride=geo.stride,
                     padding=tuple((k - 1 - lo, k - 1 - hi)
                                   for k, (lo, hi) in zip(geo.kernel, geo.padding)),
                     dilation=geo.dilation, groups=1, out_size=geo.in_size)


def _conv_input_grad(xp, g, w, b, geo: _Geometry):
    """The adjoint of conv in x: (N, O, *out), (O, C/G, *kernel) -> (N, C, *in).

    Per chunk one batched GEMM gives every kernel offset's contribution as a
    contiguous (Mc, C) block; col2im is then one window add per offset. Stride-1
    layers with 16 or more channels take the forward-convolution form instead
    (``_as_forward_conv``).
    """
    if _on_gpu(geo, g, w, *(() if b is None else (b,))):
        return _gpu_input_grad(xp, g, w, b, geo)
    nd = geo.nd
    as_conv = _as_forward_conv(geo, w.shape)
    if as_conv is not None:
        flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
        flipped = w[flip].transpose(1, 0, *range(2, nd + 2))         # (C, O, *kernel)
        return _conv_forward(xp, g, flipped, b, as_conv)
    n, o = g.shape[:2]
    cg, kk = w.shape[1], math.prod(geo.kernel)
    groups, c = geo.groups, cg * geo.groups
    og = o // groups
    # (kk, O, C) for groups == 1, else (kk, G, O/G, C/G)
    wk = xp.ascontiguousarray(w.reshape(groups, og, cg, kk).transpose(3, 0, 1, 2))
    if groups == 1:
        wk = wk.reshape(kk, o, c)
    out = xp.zeros((n, *geo.padded_size, c), dtype=g.dtype)
    for s, e in _chunks(xp, n, math.prod(geo.out_size) * kk * c):
        gm = _rows(g[s:e])                                        # (Mc, O)
        if groups == 1:
            dcols = backend.matmul(xp, gm, wk)                    # (kk, Mc, C)
        else:
            dcols = backend.matmul(xp, gm.reshape(-1, groups, og).transpose(1, 0, 2), wk)
            dcols = dcols.transpose(0, 2, 1, 3)                   # (kk, Mc, G, C/G)
        _col2im_add(xp, out[s:e], lambda k: dcols[k].reshape(e - s, *geo.out_size, c), geo)
    return _crop(out, geo, b)


def _col2im_add(xp, out, piece, geo: _Geometry) -> None:
    """Add ``piece(k)`` (n, *out, C), k the flat kernel offset, into the windows of the
    padded ``out`` (n, *padded, C)."""
    for k, offset in enumerate(geo.offsets):
        out[(slice(None),) + _window(geo, offset)] += piece(k)


def _crop(out, geo: _Geometry, b=None):
    """The padded channels-last ``out`` cropped to the image, plus ``b``, as an
    (N, C, *in) view."""
    out = out[(slice(None),) + tuple(slice(lo, lo + n)
                                     for n, (lo, _) in zip(geo.in_size, geo.padding))]
    if b is not None:
        out += b
    return out.transpose(_first(geo.nd))


def _conv_weight_grad(xp, x, g, geo: _Geometry, w_shape: tuple, cols=None):
    """The adjoint of conv in w: (N, C, *in), (N, O, *out) -> (O, C/G, *kernel).

    ``cols``, when the forward kept it, is x's whole column matrix (groups == 1): 2-D
    (M, kh*kw*C) from ``_im2col``, or 3-D (G, M, C/G*kh*kw) from the GPU kernel.
    """
    if (cols is not None and cols.ndim == 3) or (cols is None and _on_gpu(geo, x, g)):
        return _gpu_weight_grad(xp, x, g, geo, w_shape, cols)
    o, cg, nd = w_shape[0], w_shape[1], geo.nd
    groups, n, kk = geo.groups, x.shape[0], math.prod(geo.kernel)
    og = o // groups
    # (O, *kernel, C/G) -> (O, C/G, *kernel)
    to_weight = (0, nd + 1, *range(1, nd + 1))
    if cols is not None:
        dw = backend.matmul(xp, _rows(g).T, cols)
        return dw.reshape(o, *geo.kernel, cg).transpose(to_weight)
    dw = xp.zeros((groups, og, kk * cg), dtype=x.dtype)
    xpad = _pad_nhwc(xp, x.transpose(_last(nd)), geo)
    for s, e in _chunks(xp, n, math.prod(geo.out_size) * kk * x.shape[1]):
        cols = _im2col(xp, xpad[s:e], geo)                       # (Mc, kk*C)
        gm = _rows(g[s:e])                                        # (Mc, O)
        if groups == 1:
            dw[0] += backend.matmul(xp, gm.T, cols)
        else:
            cols = cols.reshape(-1, kk, groups, cg).transpose(2, 0, 1, 3)
            dw += backend.matmul(xp, gm.reshape(-1, groups, og).transpose(1, 2, 0),
                                 cols.reshape(groups, -1, kk * cg))
    return dw.reshape(o, *geo.kernel, cg).transpose(to_weight)


def _channel_sum(xp, g):
    """g (N, C, *spatial) summed to (C,): a ones-vector GEMM when g is channels-last."""
    rows = g.transpose(_last(g.ndim - 2))
    if rows.flags.c_contiguous:
        rows = rows.reshape(-1, g.shape[1])
        return backend.ones_vector(xp, rows.shape[0], g.dtype) @ rows
    return g.sum(axis=(0, *range(2, g.ndim)))


# -- the primitives ------------------------------------------------------------------------
def _bias_shaped(b, geo: _Geometry):
    """A bias tangent (C,) as (1, C, 1, ...) against an (N, C, *spatial) output."""
    return b.reshape(1, -1, *(1,) * geo.nd)


def _sum_tangents(*terms):
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


class ChannelSum(Function):
    """(N, C, *spatial) -> (C,): the bias gradient of a convolution."""
    uses_inputs = False

    def forward(self, g):
        self.in_shape = g.shape
        return _channel_sum(self.xp, g)

    def vjp(self, h):
        return h.reshape(1, -1, *(1,) * (len(self.in_shape) - 2)).broadcast_to(self.in_shape)

    def jvp(self, t):
        return ChannelSum.apply(t)


class Convolution(Function):
    """y = conv(x, w) + b for the geometry ``geo`` (2-D, or 3-D)."""

    def forward(self, x, w, b=None, *, geo: _Geometry):
        self.geo, self.cols = geo, None
        n, c = x.shape[:2]
        cols_bytes = n * math.prod(geo.out_size) * c * math.prod(geo.kernel) * x.dtype.itemsize
        if (geo.groups == 1 and STATE.grad_enabled and self.inputs[1].requires_grad
                and cols_bytes <= KEEP_COLUMNS_BYTES):
            y, self.cols = _conv_forward(self.xp, x, w, b, geo, keep_cols=True)
            return y
        return _conv_forward(self.xp, x, w, b, geo)

    def vjp(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        dx = ConvolutionTranspose.apply(g, w, geo=self.geo) if need[0] else None
        dw = (ConvolutionWeightGrad.apply(x, g, geo=self.geo, w_shape=tuple(w.shape),
                                          cols=self.cols) if need[1] else None)
        if len(self.inputs) == 2:
            return dx, dw
        return dx, dw, (ChannelSum.apply(g) if need[2] else None)

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[:2]
        return _sum_tangents(
            None if tx is None else Convolution.apply(tx, w, geo=self.geo),
            None if tw is None else Convolution.apply(x, tw, geo=self.geo),
            None if tb is None else _bias_shaped(tb, self.geo))


class ConvolutionTranspose(Function):
    """x = conv2d's adjoint in its input applied to g, plus b: conv_transpose2d."""

    def forward(self, g, w, b=None, *, geo: _Geometry):
        self.geo = geo
        return _conv_input_grad(self.xp, g, w, b, geo)

    def vjp(self, h):
        g, w = self.inputs[:2]
        need = self.needs_input_grad
        dg = Convolution.apply(h, w, geo=self.geo) if need[0] else None
        dw = (ConvolutionWeightGrad.apply(h, g, geo=self.geo, w_shape=tuple(w.shape))
              if need[1] else None)
        if len(self.inputs) == 2:
            return dg, dw
        return dg, dw, (ChannelSum.apply(h) if need[2] else None)

    def jvp(self, tg, tw, tb=None):
        g, w = self.inputs[:2]
        return _sum_tangents(
            None if tg is None else ConvolutionTranspose.apply(tg, w, geo=self.geo),
            None if tw is None else ConvolutionTranspose.apply(g, tw, geo=self.geo),
            None if tb is None else _bias_shaped(tb, self.geo))


class ConvolutionWeightGrad(Function):
    """dw = conv2d's adjoint in its weight: sum over pixels of g times the windows of x."""

    def forward(self, x, g, *, geo: _Geometry, w_shape: tuple, cols=None):
        self.geo, self.w_shape = geo, w_shape
        return _conv_weight_grad(self.xp, x, g, geo, w_shape, cols)

    def vjp(self, h):
        x, g = self.inputs
        need = self.needs_input_grad
        dx = ConvolutionTranspose.apply(g, h, geo=self.geo) if need[0] else None
        dg = Convolution.apply(x, h, geo=self.geo) if need[1] else None
        return dx, dg

    def jvp(self, tx, tg):
        x, g = self.inputs
        kw = dict(geo=self.geo, w_shape=self.w_shape)
        return _sum_tangents(
            None if tx is None else ConvolutionWeightGrad.apply(tx, g, **kw),
            None if tg is None else ConvolutionWeightGrad.apply(x, tg, **kw))


class Unfold(Function):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), as F.unfold."""
    uses_inputs = False

    def forward(self, x, *, geo: _Geometry):
        self.geo = geo
        n, c = x.shape[:2]
        kh, kw = geo.kernel
        ho, wo = geo.out_size
        xpad = _pad_nhwc(self.xp, x.transpose(0, 2, 3, 1), geo)
        cols = _im2col(self.xp, xpad, geo).reshape(n, ho * wo, kh, kw, c)
        return self.xp.ascontiguousarray(cols.transpose(0, 4, 2, 3, 1)).reshape(
            n, c * kh * kw, ho * wo)

    def vjp(self, g):
        return Fold.apply(g, geo=self.geo)

    def jvp(self, t):
        return Unfold.apply(t, geo=self.geo)


class Fold(Function):
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), summing overlapping windows, as F.fold."""
    uses_inputs = False

    def forward(self, cols, *, geo: _Geometry):
        self.geo = geo
        n = cols.shape[0]
        kh, kw = geo.kernel
        c = cols.shape[1] // (kh * kw)
        pieces = cols.reshape(n, c, kh * kw, *geo.out_size)
        out = self.xp.zeros((n, *geo.padded_size, c), dtype=cols.dtype)
        _col2im_add(self.xp, out, lambda k: pieces[:, :, k].transpose(0, 2, 3, 1), geo)
        return self.xp.ascontiguousarray(_crop(out, geo))

    def vjp(self, g):
        return Unfold.apply(g, geo=self.geo)

    def jvp(self, t):
        return Fold.apply(t, geo=self.geo)


# -- argument checking -------------------------------------------------------------------
def _tuple(value, n: int, name: str, op: str) -> tuple:
    """An int or a length-n sequence of ints as an n-tuple."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n or not all(isinstance(v, int) for v in value):
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return (value,) * n


def _positive(values: tuple, name: str, op: str, minimum: int = 1) -> None:
    if any(v < minimum for v in values):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {values}")


def _check_tensor(t, name: str, op: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if backend.dtype_kind(t.dtype) != "f":
        raise RuntimeError(f"{op}: expected a floating-point {name}, got dtype {t.dtype}")
    return t


def _check_dtypes(op: str, input: Tensor, weight: Tensor, bias) -> None:
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise RuntimeError(f"{op}: input ({input.dtype}) and {name} ({t.dtype}) must have "
                               f"the same dtype")


def _check_groups(op: str, groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return groups


def _check_bias(op: str, bias, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise RuntimeError(f"{op}: bias must have shape ({channels},) to match the "
                           f"{channels} output channels, got {tuple(bias.shape)}")


def _batched(op: str, input: Tensor, nd: int) -> tuple[Tensor, bool]:
    """``input`` with a batch dim (unbatched (C, *spatial) inputs gain one)."""
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    if input.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                           f"input, got shape {tuple(input.shape)}")
    return input, False


def _conv_padding(op: str, padding, nd: int, stride: tuple, dilation: tuple,
                  kernel: tuple) -> tuple:
    """PyTorch's padding argument (int, tuple, "valid", "same") as (lo, hi) pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            # the extra row/column of an even kernel goes at the end, as in PyTorch
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', "
                         f"got {padding!r}")
    pads = _tuple(padding, nd, "padding", op)
    _positive(pads, "padding", op, minimum=0)
    return tuple((p, p) for p in pads)


_KERNEL_DIMS = {1: "kernel", 2: "kh, kw", 3: "kd, kh, kw"}


def _as_2d(t: Tensor, nd: int) -> Tensor:
    """A 1-D problem (..., L) as a 2-D one of height 1 (..., 1, L)."""
    return t.unsqueeze(-2) if nd == 1 else t


def _pairs_2d(values: tuple, nd: int, fill) -> tuple:
    return ((fill,) + tuple(values)) if nd == 1 else tuple(values)


# -- convolution --------------------------------------------------------------------------
def _conv(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    input = _check_tensor(input, "input", op)
    weight = _check_tensor(weight, "weight", op)
    if bias is not None:
        _check_tensor(bias, "bias", op)
    input, weight, bias = autocast_args(Convolution, input, weight, bias)
    _check_dtypes(op, input, weight, bias)
    groups = _check_groups(op, groups)
    x, unbatched = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (out_channels, in_channels/"
                           f"groups, {_KERNEL_DIMS[nd]}), got shape "
                           f"{tuple(weight.shape)}")
    out_channels, kernel = weight.shape[0], tuple(weight.shape[2:])
    channels = x.shape[1]
    if channels != weight.shape[1] * groups:
        raise RuntimeError(f"{op}: input has {channels} channels but weight expects "
                           f"{weight.shape[1] * groups} (weight shape {tuple(weight.shape)}, "
                           f"groups={groups})")
    if out_channels % groups:
        raise RuntimeError(f"{op}: out_channels ({out_channels}, weight shape "
                           f"{tuple(weight.shape)}) must be divisible by groups={groups}")
    _check_bias(op, bias, out_channels)
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    _positive(stride, "stride", op)
    _positive(dilation, "dilation", op)
    pads = _conv_padding(op, padding, nd, stride, dilation, kernel)
    size = tuple(x.shape[2:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(s > p for s, p in zip(span, padded)) or any(k == 0 for k in kernel):
        raise RuntimeError(f"{op}: the kernel (size {kernel}, dilation {dilation}: spans "
                           f"{span}) is larger than the padded input {padded} (input shape "
                           f"{tuple(input.shape)}, padding {tuple(p for p, _ in pads)})")
    out_size = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    geo = _Geometry(in_size=_pairs_2d(size, nd, 1), kernel=_pairs_2d(kernel, nd, 1),
                    stride=_pairs_2d(stride, nd, 1), padding=_pairs_2d(pads, nd, (0, 0)),
                    dilation=_pairs_2d(dilation, nd, 1), groups=groups,
                    out_size=_pairs_2d(out_size, nd, 1))
    args = (_as_2d(x, nd), _as_2d(weight, nd)) + (() if bias is None else (bias,))
    out = Convolution.apply(*args, geo=geo)
    if nd == 1:
        out = out.squeeze(-2)
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    input (N, C, H, W) or (C, H, W); weight (O, C/groups, kh, kw); bias (O,) ->
    (N, O, Ho, Wo) with Ho = (H + 2*pad - dilation*(kh-1) - 1) // stride + 1.
    ``padding`` is an int, a pair, "valid" (none) or "same" (stride 1 only).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: input (N, C, L) or (C, L), weight (O, C/groups, k) -> (N, O, Lo)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation, as torch.nn.functional.conv3d.

    input (N, C, D, H, W) or (C, D, H, W); weight (O, C/groups, kd, kh, kw); bias (O,)
    -> (N, O, Do, Ho, Wo), each size as in conv2d. ``padding`` is an int, a triple,
    "valid" or "same" (stride 1 only). The GPU kernels are 2-D only: on CuPy this takes
    the xp im2col + cuBLAS GEMM path.
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# -- transposed convolution -----------------------------------------------------------
def _conv_transpose(op: str, nd: int, input, weight, bias, stride, padding, output_padding,
                    groups, dilation) -> Tensor:
    input = _check_tensor(input, "input", op)
    weight = _check_tensor(weight, "weight", op)
    if bias is not None:
        _check_tensor(bias, "bias", op)
    input, weight, bias = autocast_args(Convolution, input, weight, bias)
    _check_dtypes(op, input, weight, bias)
    groups = _check_groups(op, groups)
    x, unbatched = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (in_channels, out_channels/"
                           f"groups, {_KERNEL_DIMS[nd]}), got shape "
                           f"{tuple(weight.shape)}")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{op}: input has {x.shape[1]} channels but weight expects "
                           f"{weight.shape[0]} (weight shape {tuple(weight.shape)}, "
                           f"groups={groups})")
    if weight.shape[0] % groups:
        raise RuntimeError(f"{op}: in_channels ({weight.shape[0]}, weight shape "
                           f"{tuple(weight.shape)}) must be divisible by groups={groups}")
    out_channels, kernel = weight.shape[1] * groups, tuple(weight.shape[2:])
    _check_bias(op, bias, out_channels)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    pads = _tuple(padding, nd, "padding", op)
    extra = _tuple(output_padding, nd, "output_padding", op)
    _positive(stride, "stride", op)
    _positive(dilation, "dilation", op)
    _positive(pads, "padding", op, minimum=0)
    _positive(extra, "output_padding", op, minimum=0)
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than either stride "
                         f"{stride} or dilation {dilation}")
    size = tuple(x.shape[2:])
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                     for n, s, p, d, k, e in zip(size, stride, pads, dilation, kernel, extra))
    if any(n < 1 for n in out_size) and x.numel() and weight.numel():
        raise RuntimeError(f"{op}: the output size {out_size} would be empty (input shape "
                           f"{tuple(input.shape)}, weight shape {tuple(weight.shape)}, "
                           f"padding {pads})")
    # the transpose is conv's adjoint for the conv that maps an out_size image to `size`
    geo = _Geometry(in_size=_pairs_2d(out_size, nd, 1), kernel=_pairs_2d(kernel, nd, 1),
                    stride=_pairs_2d(stride, nd, 1),
                    padding=_pairs_2d(tuple((p, p) for p in pads), nd, (0, 0)),
                    dilation=_pairs_2d(dilation, nd, 1), groups=groups,
                    out_size=_pairs_2d(size, nd, 1))
    args = (_as_2d(x, nd), _as_2d(weight, nd)) + (() if bias is None else (bias,))
    out = ConvolutionTranspose.apply(*args, geo=geo)
    if nd == 1:
        out = out.squeeze(-2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (the adjoint of conv2d), as F.conv_transpose2d.

    input (N, C_in, H, W) or unbatched; weight (C_in, C_out/groups, kh, kw); bias (C_out,)
    -> (N, C_out, Ho, Wo) with Ho = (H-1)*stride - 2*pad + dilation*(kh-1) + output_padding + 1.
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution: (N, C_in, L), (C_in, C_out/groups, k) -> (N, C_out, Lo)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution (the adjoint of conv3d), as F.conv_transpose3d.

    input (N, C_in, D, H, W) or unbatched; weight (C_in, C_out/groups, kd, kh, kw); bias
    (C_out,) -> (N, C_out, Do, Ho, Wo), each size as in conv_transpose2d.
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


# -- unfold / fold ------------------------------------------------------------------------
def _fold_geometry(op: str, size: tuple, kernel_size, dilation, padding, stride) -> _Geometry:
    kernel = _tuple(kernel_size, 2, "kernel_size", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    pads = _tuple(padding, 2, "padding", op)
    stride = _tuple(stride, 2, "stride", op)
    for name, values in (("kernel_size", kernel), ("dilation", dilation), ("stride", stride)):
        _positive(values, name, op)
    _positive(pads, "padding", op, minimum=0)
    padded = tuple(n + 2 * p for n, p in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(s > p for s, p in zip(span, padded)):
        raise RuntimeError(f"{op}: the kernel (size {kernel}, dilation {dilation}: spans "
                           f"{span}) is larger than the padded image {padded} (image size "
                           f"{size}, padding {pads})")
    out_size = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    return _Geometry(in_size=size, kernel=kernel, stride=stride,
                     padding=tuple((p, p) for p in pads), dilation=dilation, groups=1,
                     out_size=out_size)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks as columns (im2col), as F.unfold.

    (N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L), L = Ho * Wo; column
    l holds the block at output position l (row-major), its rows ordered (C, kh, kw).
    """
    input = _check_tensor(input, "input", "unfold")
    x, unbatched = _batched("unfold", input, 2)
    geo = _fold_geometry("unfold", tuple(x.shape[2:]), kernel_size, dilation, padding, stride)
    out = Unfold.apply(x, geo=geo)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns back into an image (col2im), as F.fold: the adjoint of unfold.

    (N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W) or (C, H, W), (H, W) = output_size;
    overlapping blocks add up.
    """
    input = _check_tensor(input, "input", "fold")
    x, unbatched = _batched("fold", input, 1)
    size = _tuple(output_size, 2, "output_size", "fold")
    _positive(size, "output_size", "fold")
    geo = _fold_geometry("fold", size, kernel_size, dilation, padding, stride)
    kh, kw = geo.kernel
    blocks = geo.out_size[0] * geo.out_size[1]
    if x.shape[1] % (kh * kw):
        raise RuntimeError(f"fold: expected the size of dimension 1 of the input (shape "
                           f"{tuple(input.shape)}) to be divisible by kh*kw = {kh * kw}")
    if x.shape[2] != blocks:
        raise RuntimeError(f"fold: the input (shape {tuple(input.shape)}) has {x.shape[2]} "
                           f"blocks but output_size {size} with kernel {geo.kernel}, "
                           f"dilation {geo.dilation}, "
                           f"padding {_tuple(padding, 2, 'padding', 'fold')}"
                           f" and stride {geo.stride} gives {geo.out_size[0]} x "
                           f"{geo.out_size[1]} = {blocks}")
    out = Fold.apply(x, geo=geo)
    return out.squeeze(0) if unbatched else out


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]
TENSOR_METHODS: dict = {}
