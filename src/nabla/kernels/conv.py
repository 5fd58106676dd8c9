"""im2col and col2im for convolutions whose products are cuBLAS GEMMs.

The column matrix is (G, M, K/G): one row per output pixel m = (n, oh, ow), M = N Ho Wo,
and per group g its C/G kh kw columns in the order (c, i, j) of a weight row, so that
``cols[g] @ w[g].reshape(O/G, -1).T`` is group g's output with no copy of the weight and
one GEMM for the whole batch (groups: one strided-batched GEMM). im2col writes it in one
pass, reading the input through its strides (NCHW, or the channels-last buffer a
convolution's output is); col2im is its adjoint, summing for each input element the
column entries that read it (no atomics), into a channels-last (N, H, W, C) array.
Where the composed ops take a slice copy or a window add per kernel offset, these are one
launch each. Depthwise convolutions (one input channel per group) skip the columns: their
GEMMs would have K = kh kw, so three direct kernels compute the output, the input's
gradient (a gather) and the weight's (a block reduction per weight).
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
/* a ConvGeo from the kernel parameters of those names */
#define NB_CONV_GEO {C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, groups}

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
    const ConvGeo p = NB_CONV_GEO;
    const long long M = batch * Ho * Wo;
    if (narrow) im2col_run<T, int>(x, cols, (int)n, (int)M, p, sn, sc, sy, sx);
    else im2col_run<T, long long>(x, cols, n, M, p, sn, sc, sy, sx);
}

/* one thread per element of dx (n = N H W C) */
template <typename T>
__global__ void col2im(const T* cols, T* dx, long long n, long long batch, int C, int H,
                       int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph, int pw,
                       int dh, int dw, int groups, int narrow) {
    const ConvGeo p = NB_CONV_GEO;
    const long long M = batch * Ho * Wo;
    if (narrow) col2im_run<T, int>(cols, dx, (int)n, (int)M, p);
    else col2im_run<T, long long>(cols, dx, n, M, p);
}

/* Depthwise convolutions (groups == C, O = C mult outputs, the weight (O, 1, kh, kw)) need
   no columns: K = kh kw per group would make im2col's GEMMs skinny batches. Output
   channel o reads input channel o / mult. */
/* The depthwise kernels take im2col's geometry (groups = C) and the multiplier. */
/* y, channels-last (N, Ho, Wo, O): one thread per output element in storage order */
template <typename T>
__global__ void depthwise_fwd(const T* x, const T* w, const T* bias, T* y, long long n, int C,
                              int H, int W, int Ho, int Wo, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, int groups, int mult,
                              long long sn, long long sc, long long sy, long long sx,
                              int has_bias) {
    const ConvGeo p = NB_CONV_GEO;
    const int O = p.C * mult;
    NB_FOR_EACH(t, n) {
        long long r = t / O;
        const int o = (int)(t - r * O), ow = (int)(r % p.Wo);
        r /= p.Wo;
        const int oh = (int)(r % p.Ho);
        const long long b = r / p.Ho;
        const T* xc = x + b * sn + (long long)(o / mult) * sc;
        const T* wo = w + (long long)o * p.kh * p.kw;
        T s = has_bias ? bias[o] : T(0);
        for (int i = 0; i < p.kh; ++i) {
            const int h = oh * p.sh - p.ph + i * p.dh;
            if (h < 0 || h >= p.H) continue;
            for (int j = 0; j < p.kw; ++j) {
                const int v = ow * p.sw - p.pw + j * p.dw;
                if (v >= 0 && v < p.W) s += xc[h * sy + v * sx] * wo[i * p.kw + j];
            }
        }
        y[t] = s;
    }
}

/* dx, channels-last (N, H, W, C), from g's rows (N Ho Wo, O): one thread per input element
   gathering the outputs whose windows read it (no atomics) */
template <typename T>
__global__ void depthwise_bwd_input(const T* g, const T* w, T* dx, long long n, int C, int H,
                                    int W, int Ho, int Wo, int kh, int kw, int sh, int sw,
                                    int ph, int pw, int dh, int dw, int groups, int mult) {
    const ConvGeo p = NB_CONV_GEO;
    const int O = p.C * mult;
    NB_FOR_EACH(t, n) {
        long long r = t / p.C;
        const int c = (int)(t - r * p.C), v = (int)(r % p.W);
        r /= p.W;
        const int h = (int)(r % p.H);
        const long long b = r / p.H;
        T s = T(0);
        for (int i = 0; i < p.kh; ++i) {
            const int hs = h + p.ph - i * p.dh;  /* oh sh, for the output row whose offset i is h */
            if (hs < 0) break;
            if (hs % p.sh || hs / p.sh >= p.Ho) continue;
            for (int j = 0; j < p.kw; ++j) {
                const int vs = v + p.pw - j * p.dw;
                if (vs < 0) break;
                if (vs % p.sw || vs / p.sw >= p.Wo) continue;
                const T* gp = g + ((b * p.Ho + hs / p.sh) * p.Wo + vs / p.sw) * O
                    + (long long)c * mult;
                for (int m = 0; m < mult; ++m)
                    s += gp[m] * w[((long long)c * mult + m) * p.kh * p.kw + i * p.kw + j];
            }
        }
        dx[t] = s;
    }
}

/* dw (O, 1, kh, kw): one block per weight (grid (O, kh kw)), summing over the N Ho Wo
   outputs of its channel */
template <typename T>
__global__ void depthwise_bwd_weight(const T* x, const T* g, T* dweight, long long batch,
                                     int C, int H, int W, int Ho, int Wo, int kh, int kw,
                                     int sh, int sw, int ph, int pw, int dh, int dw, int groups,
                                     int mult, long long sn, long long sc, long long sy,
                                     long long sx) {
    const ConvGeo p = NB_CONV_GEO;
    const int o = blockIdx.x, ij = blockIdx.y, i = ij / p.kw, j = ij - i * p.kw;
    const int O = p.C * mult;
    const T* xc = x + (long long)(o / mult) * sc;
    const long long total = batch * p.Ho * p.Wo;
    T s = T(0);
    for (long long q = threadIdx.x; q < total; q += blockDim.x) {
        const int ow = (int)(q % p.Wo);
        const long long r = q / p.Wo;
        const int oh = (int)(r % p.Ho);
        const long long b = r / p.Ho;
        const int h = oh * p.sh - p.ph + i * p.dh, v = ow * p.sw - p.pw + j * p.dw;
        if (h >= 0 && h < p.H && v >= 0 && v < p.W)
            s += g[q * O + o] * xc[b * sn + h * sy + v * sx];
    }
    s = block_reduce(s, false);
    if (threadIdx.x == 0) dweight[(long long)o * p.kh * p.kw + ij] = s;
}
#endif
"""

_build.register(SOURCE, ["im2col", "col2im", "depthwise_fwd", "depthwise_bwd_input",
                         "depthwise_bwd_weight"])


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


def _depthwise_geometry(shape, out_size, kernel, stride, padding, dilation, outputs) -> list:
    """im2col's geometry with groups = C, then the channel multiplier O / C."""
    c = shape[1]
    return _geometry(shape, out_size, kernel, stride, padding, dilation, c) + [
        np.int32(outputs // c)]


def depthwise(x, w, bias, kernel, stride, padding, dilation, out_size):
    """A depthwise convolution of x (N, C, H, W), any strides, with w (C mult, 1, kh, kw):
    the output as a C-contiguous channels-last (N, Ho, Wo, C mult) array."""
    cp = _build.cupy()
    buf, strides = _build.strided4(x)
    o = w.shape[0]
    y = cp.empty((x.shape[0], *out_size, o), dtype=x.dtype)
    w = cp.ascontiguousarray(w)
    _build.elementwise("depthwise_fwd", y.size, x.dtype, buf, w,
                       w if bias is None else cp.ascontiguousarray(bias), y, np.int64(y.size),
                       *_depthwise_geometry(x.shape, out_size, kernel, stride, padding,
                                            dilation, o),
                       *[np.int64(s) for s in strides], np.int32(bias is not None))
    return y


def depthwise_grad_input(g_rows, w, shape, kernel, stride, padding, dilation, out_size):
    """x's cotangent of :func:`depthwise` from the output's cotangent as rows (N Ho Wo, O),
    channels-last (N, H, W, C)."""
    cp = _build.cupy()
    n, c, h, wd = shape
    dx = cp.empty((n, h, wd, c), dtype=g_rows.dtype)
    _build.elementwise("depthwise_bwd_input", dx.size, g_rows.dtype,
                       cp.ascontiguousarray(g_rows), cp.ascontiguousarray(w), dx,
                       np.int64(dx.size),
                       *_depthwise_geometry(shape, out_size, kernel, stride, padding, dilation,
                                            w.shape[0]))
    return dx


def depthwise_grad_weight(x, g_rows, w_shape, kernel, stride, padding, dilation, out_size):
    """w's cotangent (O, 1, kh, kw) of :func:`depthwise` from x and the output's cotangent
    as rows (N Ho Wo, O)."""
    cp = _build.cupy()
    buf, strides = _build.strided4(x)
    o, _, kh, kw = w_shape
    dw = cp.empty(w_shape, dtype=x.dtype)
    rows = g_rows.shape[0]
    _build.function("depthwise_bwd_weight", x.dtype)(
        (o, kh * kw), (_build.row_threads(min(rows, 1024)),),
        (buf, cp.ascontiguousarray(g_rows), dw, np.int64(x.shape[0]),
         *_depthwise_geometry(x.shape, out_size, kernel, stride, padding, dilation, o),
         *[np.int64(s) for s in strides]))
    return dw
