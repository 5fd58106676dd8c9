"""Max pooling over 2-D windows (1-D pooling as height 1) with PyTorch's indices: the
forward in one pass (one thread per output element scans its window), and the backward
as a gather (one thread per input element adds the gradients of the windows whose
maximum it is), where the composed ops take k*k strided passes and a scatter-add.

The indices are flat positions ``h * W + w`` within each input plane (int64), found by
PyTorch's scan: a later value wins only if greater, or NaN; a window with nothing above
-inf points at its first position inside the input. Padding never wins.
"""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
#ifdef NB_GPU
/* where the pooling windows lie: x (N, C, H, W) read through element strides, y (N, C,
   Ho, Wo); window (oh, ow) covers rows oh sh - ph + i dh, 0 <= i < kh, and so on */
struct PoolGeo {
    int C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw;
    long long sn, sc, sy, sx;
};

template <typename T, typename I>
__device__ void max_pool_fwd_run(const T* x, T* y, long long* idx, I n, const PoolGeo& p,
                                 int want_idx) {
    for (I t = (I)blockIdx.x * blockDim.x + threadIdx.x; t < n;
         t += (I)blockDim.x * gridDim.x) {
        const I r = t / p.Wo, q = r / p.Ho, b = q / p.C;
        const int ow = (int)(t - r * p.Wo), oh = (int)(r - q * p.Ho), c = (int)(q - b * p.C);
        const T* plane = x + b * (I)p.sn + c * (I)p.sc;
        const int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
        const int i0 = h0 < 0 ? (p.dh - 1 - h0) / p.dh : 0;  /* first offsets inside */
        const int j0 = w0 < 0 ? (p.dw - 1 - w0) / p.dw : 0;
        T best = nb_neg_inf<T>();
        long long arg = (long long)(h0 + i0 * p.dh) * p.W + (w0 + j0 * p.dw);
        for (int i = i0; i < p.kh; ++i) {
            const int h = h0 + i * p.dh;
            if (h >= p.H) break;
            for (int j = j0; j < p.kw; ++j) {
                const int w = w0 + j * p.dw;
                if (w >= p.W) break;
                const T v = plane[h * (I)p.sy + w * (I)p.sx];
                if (v > best || v != v) {  /* ties keep the first; NaN always wins */
                    best = v;
                    arg = (long long)h * p.W + w;
                }
            }
        }
        y[t] = best;
        if (want_idx) idx[t] = arg;
    }
}

/* dx (N, C, H, W) from g and idx (N, C, Ho, Wo), all C-contiguous: each input element
   sums g over the windows that can cover it and whose maximum it is (no atomics) */
template <typename T, typename I>
__device__ void max_pool_bwd_run(const T* g, const long long* idx, T* dx, I n,
                                 const PoolGeo& p) {
    for (I t = (I)blockIdx.x * blockDim.x + threadIdx.x; t < n;
         t += (I)blockDim.x * gridDim.x) {
        const I r = t / p.W, plane = r / p.H;
        const int w = (int)(t - r * p.W), h = (int)(r - plane * p.H);
        const long long pos = (long long)h * p.W + w;
        /* the windows with an offset on (h, w): oh sh - ph + i dh = h for an i < kh */
        const int ah = h + p.ph, aw = w + p.pw;
        const int lo_h = ah - (p.kh - 1) * p.dh, lo_w = aw - (p.kw - 1) * p.dw;
        const int oh_lo = lo_h > 0 ? (lo_h + p.sh - 1) / p.sh : 0;
        const int ow_lo = lo_w > 0 ? (lo_w + p.sw - 1) / p.sw : 0;
        const int oh_hi = ah / p.sh < p.Ho ? ah / p.sh : p.Ho - 1;
        const int ow_hi = aw / p.sw < p.Wo ? aw / p.sw : p.Wo - 1;
        const I base = plane * ((I)p.Ho * p.Wo);
        T sum = T(0);
        for (int oh = oh_lo; oh <= oh_hi; ++oh) {
            if ((ah - oh * p.sh) % p.dh) continue;
            for (int ow = ow_lo; ow <= ow_hi; ++ow) {
                if ((aw - ow * p.sw) % p.dw) continue;
                const I o = base + oh * p.Wo + ow;
                if (idx[o] == pos) sum += g[o];
            }
        }
        dx[t] = sum;
    }
}

/* y = max over each window, idx its flat position in the plane (written when want_idx;
   any int64 array otherwise); one thread per output element, grid-stride */
template <typename T>
__global__ void max_pool2d_fwd(const T* x, T* y, long long* idx, long long n, int C, int H,
                               int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph,
                               int pw, int dh, int dw, long long sn, long long sc,
                               long long sy, long long sx, int want_idx, int narrow) {
    const PoolGeo p = {C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, sn, sc, sy, sx};
    if (narrow) max_pool_fwd_run<T, int>(x, y, idx, (int)n, p, want_idx);
    else max_pool_fwd_run<T, long long>(x, y, idx, n, p, want_idx);
}

template <typename T>
__global__ void max_pool2d_bwd(const T* g, const long long* idx, T* dx, long long n, int H,
                               int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph,
                               int pw, int dh, int dw, int narrow) {
    const PoolGeo p = {1, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, 0, 0, 0, 0};
    if (narrow) max_pool_bwd_run<T, int>(g, idx, dx, (int)n, p);
    else max_pool_bwd_run<T, long long>(g, idx, dx, n, p);
}
#endif
"""

_build.register(SOURCE, ["max_pool2d_fwd", "max_pool2d_bwd"])


def _geometry(kernel, stride, padding, dilation) -> list:
    return [np.int32(v) for v in (*kernel, *stride, *padding, *dilation)]


def max_pool2d(x, kernel, stride, padding, dilation, out_size, indices: bool):
    """(y, idx) of max pooling x (N, C, H, W) (any strides) over 2-D windows (``kernel``,
    ``stride``, ``padding``, ``dilation``: pairs; ``out_size`` (Ho, Wo)): y (N, C, Ho, Wo),
    idx the int64 plane position of each maximum, or None unless ``indices``."""
    cp = _build.cupy()
    buf, strides = _build.strided4(x)
    n, c, h, w = x.shape
    y = cp.empty((n, c) + tuple(out_size), dtype=x.dtype)
    idx = cp.empty(y.shape if indices else (1,), dtype=np.int64)
    _build.elementwise("max_pool2d_fwd", y.size, x.dtype, buf, y, idx, np.int64(y.size),
                       *[np.int32(v) for v in (c, h, w, *out_size)],
                       *_geometry(kernel, stride, padding, dilation),
                       *[np.int64(s) for s in strides], np.int32(indices),
                       _build.narrow(y.size, buf.size))
    return y, (idx if indices else None)


def max_pool2d_grad(g, idx, in_shape, kernel, stride, padding, dilation):
    """The input's cotangent (``in_shape``, C-contiguous) of ``max_pool2d`` from the
    output's cotangent ``g`` and the forward's ``idx``."""
    cp = _build.cupy()
    g = cp.ascontiguousarray(g)
    dx = cp.empty(in_shape, dtype=g.dtype)
    _build.elementwise("max_pool2d_bwd", dx.size, g.dtype, g, cp.ascontiguousarray(idx), dx,
                       np.int64(dx.size), *[np.int32(v) for v in (*in_shape[2:], *g.shape[2:])],
                       *_geometry(kernel, stride, padding, dilation),
                       _build.narrow(dx.size, g.size))
    return dx
