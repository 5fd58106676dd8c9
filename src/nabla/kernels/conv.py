"""im2col and col2im for convolutions whose products are cuBLAS GEMMs.

The column matrix is (G, M, K/G): one row per output pixel m = (n, oh, ow), M = N Ho Wo,
and per group g its C/G kh kw columns in the order (c, i, j) of a weight row, so that
``cols[g] @ w[g].reshape(O/G, -1).T`` is group g's output with no copy of the weight and
one GEMM for the whole batch (groups: one strided-batched GEMM). im2col writes it in one
pass, reading the input through its strides (NCHW, or the channels-last buffer a
convolution's output is); col2im is its adjoint, summing for each input element the
column entries that read it (no atomics), into a channels-last (N, H, W, C) array.
Where the composed ops take a slice copy or a window add per kernel offset, these are one
launch each.
"""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
#ifdef NB_GPU
/* a 2-D convolution's geometry: x (N, C, H, W), output (N, O, Ho, Wo); output pixel
   (oh, ow) reads rows oh sh - ph + i dh, 0 <= i < kh, columns likewise */
struct ConvGeo {
    int C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

/* cols (G, M, Kg) entry (g, m, k), k = (c, i, j): x at channel g C/G + c, row
   oh sh - ph + i dh, column ow sw - pw + j dw; 0 in the padding */
template <typename T, typename I>
__device__ void im2col_run(const T* x, T* cols, I n, I M, const ConvGeo& p, long long sn,
                           long long sc, long long sy, long long sx) {
    const int khw = p.kh * p.kw, cpg = p.C / p.groups, kg = cpg * khw;
    for (I t = (I)blockIdx.x * blockDim.x + threadIdx.x; t < n;
         t += (I)blockDim.x * gridDim.x) {
        const I r = t / kg, g = r / M, m = r - g * M, q = m / p.Wo, b = q / p.Ho;
        const int k = (int)(t - r * kg), ow = (int)(m - q * p.Wo), oh = (int)(q - b * p.Ho);
        const int c = k / khw, ij = k - c * khw, i = ij / p.kw, j = ij - i * p.kw;
        const int h = oh * p.sh - p.ph + i * p.dh, w = ow * p.sw - p.pw + j * p.dw;
        cols[t] = (h >= 0 && h < p.H && w >= 0 && w < p.W)
            ? x[b * (I)sn + (g * cpg + c) * (I)sc + h * (I)sy + w * (I)sx] : T(0);
    }
}

/* dx (N, H, W, C), channels-last: each element the sum of the entries of cols (G, M, Kg)
   that im2col would read from it, kernel offsets in row-major order */
template <typename T, typename I>
__device__ void col2im_run(const T* cols, T* dx, I n, I M, const ConvGeo& p) {
    const int khw = p.kh * p.kw, cpg = p.C / p.groups, kg = cpg * khw;
    for (I t = (I)blockIdx.x * blockDim.x + threadIdx.x; t < n;
         t += (I)blockDim.x * gridDim.x) {
        const I r = t / p.C, q = r / p.W, b = q / p.H;
        const int c = (int)(t - r * p.C), w = (int)(r - q * p.W), h = (int)(q - b * p.H);
        const int g = c / cpg;
        const T* base = cols + (g * M + b * ((I)p.Ho * p.Wo)) * kg + (c - g * cpg) * khw;
        const int ah = h + p.ph, aw = w + p.pw;
        T sum = T(0);
        for (int i = 0; i < p.kh; ++i) {
            const int hs = ah - i * p.dh;  /* oh sh, for the output row whose offset i is h */
            if (hs < 0) break;
            if (hs % p.sh || hs / p.sh >= p.Ho) continue;
            for (int j = 0; j < p.kw; ++j) {
                const int ws = aw - j * p.dw;
                if (ws < 0) break;
                if (ws % p.sw || ws / p.sw >= p.Wo) continue;
                sum += base[((I)(hs / p.sh) * p.Wo + ws / p.sw) * kg + i * p.kw + j];
            }
        }
        dx[t] = sum;
    }
}

/* one thread per column entry (n = G M Kg), in the columns' order: coalesced writes */
template <typename T>
__global__ void im2col(const T* x, T* cols, long long n, long long batch, int C, int H,
                       int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph, int pw,
                       int dh, int dw, int groups, long long sn, long long sc, long long sy,
                       long long sx, int narrow) {
    const ConvGeo p = {C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, groups};
    const long long M = batch * Ho * Wo;
    if (narrow) im2col_run<T, int>(x, cols, (int)n, (int)M, p, sn, sc, sy, sx);
    else im2col_run<T, long long>(x, cols, n, M, p, sn, sc, sy, sx);
}

/* one thread per element of dx (n = N H W C) */
template <typename T>
__global__ void col2im(const T* cols, T* dx, long long n, long long batch, int C, int H,
                       int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph, int pw,
                       int dh, int dw, int groups, int narrow) {
    const ConvGeo p = {C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, groups};
    const long long M = batch * Ho * Wo;
    if (narrow) col2im_run<T, int>(cols, dx, (int)n, (int)M, p);
    else col2im_run<T, long long>(cols, dx, n, M, p);
}
#endif
"""

_build.register(SOURCE, ["im2col", "col2im"])


def _geometry(shape, out_size, kernel, stride, padding, dilation, groups) -> list:
    """The kernels' int parameters C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, groups."""
    return [np.int32(v) for v in (*shape[1:], *out_size, *kernel, *stride, *padding,
                                  *dilation, groups)]


def im2col(x, kernel, stride, padding, dilation, out_size, groups: int):
    """The column matrix (G, N*Ho*Wo, C/G*kh*kw) of x (N, C, H, W), any strides.

    ``kernel``, ``stride``, ``dilation``: pairs; ``padding``: (top, left), the padding
    before the image (what lies past its end follows from ``out_size`` (Ho, Wo))."""
    cp = _build.cupy()
    buf, strides = _build.strided4(x)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel, out_size
    cols = cp.empty((groups, n * ho * wo, c // groups * kh * kw), dtype=x.dtype)
    _build.elementwise("im2col", cols.size, x.dtype, buf, cols, np.int64(cols.size),
                       np.int64(n),
                       *_geometry(x.shape, out_size, kernel, stride, padding, dilation, groups),
                       *[np.int64(s) for s in strides], _build.narrow(cols.size, buf.size))
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out_size, groups: int):
    """The adjoint of :func:`im2col`: columns (G, N*Ho*Wo, C/G*kh*kw) summed back into an
    image of ``shape`` (N, C, H, W), returned channels-last as a C-contiguous (N, H, W, C)."""
    cp = _build.cupy()
    cols = cp.ascontiguousarray(cols)
    n, c, h, w = shape
    dx = cp.empty((n, h, w, c), dtype=cols.dtype)
    _build.elementwise("col2im", dx.size, cols.dtype, cols, dx, np.int64(dx.size), np.int64(n),
                       *_geometry(shape, out_size, kernel, stride, padding, dilation, groups),
                       _build.narrow(dx.size, cols.size))
    return dx
