"""Batch norm over the channels of (N, C, L): training-mode forward and backward, and the
per-channel affine map of evaluation mode.

Memory is taken as (outer, C, inner), channel c holding the elements
``(o C + c) inner + l``: a C-contiguous (N, C, L) array is outer = N, inner = L; a
channels-last one (a convolution's output, an (N, L, C) buffer) is outer = N L, inner = 1.
Outputs keep the input's memory layout.

- Forward: per-channel sums in one read of x (``bn_sums_planes`` or ``bn_sums_columns``,
  partial sums per chunk, no atomics), a per-channel finish (``bn_finish_fwd``: mean,
  biased variance, rstd), and one elementwise pass ``y = (x - mean) rstd w + b``
  (``bn_apply``): two reads and one write instead of the composed ops' six-odd passes.
  The sums are taken about a sample of the channel (its first element) instead of zero,
  so that a large mean does not cancel the variance away in float32.
- Backward: per-channel sums of g and g (x - mean) in one read of (g, x) (the same sums
  kernels), the parameters' gradients and three coefficients per channel
  (``bn_finish_bwd``), and one elementwise pass ``dx = A g + B (x - mean) + K``
  (``bn_grad_input``).
- Evaluation mode: ``y = x scale + shift`` per channel in one pass (``bn_apply``).

The elementwise kernels walk a grid-stride loop keeping each index's channel up to date
with additions (``NbChannelWalk``), not a division per element.
"""
from __future__ import annotations

import math

import numpy as np

from . import _build

SOURCE = r"""
#ifdef NB_GPU
/* The channel c of flat index i = (o C + c) inner + l, carried along a grid-stride loop
   of step `step` with additions (one division at the start, none per step). */
struct NbChannelWalk {
    long long l, step_l, inner;
    int c, step_c, channels;
    __device__ NbChannelWalk(long long i, long long step, long long inner_, int channels_)
        : inner(inner_), channels(channels_) {
        const long long row = i / inner, step_rows = step / inner;
        l = i - row * inner;
        c = (int)(row % channels);
        step_l = step - step_rows * inner;
        step_c = (int)(step_rows % channels);
    }
    __device__ void next() {
        l += step_l;
        c += step_c;
        if (l >= inner) { l -= inner; ++c; }
        if (c >= channels) c -= channels;
    }
};

/* Per-channel sums s1 = sum(a), s2 = sum(a d) with d = x - r_c, over one chunk of each
   channel, where (has_g) a = g and r = ref (the mean), or else a = d and r_c is the
   channel's first element. Channels of more than one element each (inner > 1): grid
   (chunks, channels), one block per chunk of one channel, the block's threads along the
   channel's (o, l) elements in memory order. partial: (2, chunks, channels). */
template <typename T>
__global__ void bn_sums_planes(const T* x, const T* g, const T* ref, T* partial,
                               long long outer, int channels, long long inner, int has_g) {
    const int chunks = gridDim.x, k = blockIdx.x;
    const long long size = outer * inner, start = size * k / chunks,
                    stop = size * (k + 1) / chunks;
    const long long step = blockDim.x, step_o = step / inner, step_l = step % inner;
    for (int c = blockIdx.y; c < channels; c += gridDim.y) {
        const T r = has_g ? ref[c] : x[(long long)c * inner];
        T s1 = T(0), s2 = T(0);
        long long j = start + threadIdx.x, o = j / inner, l = j - o * inner;
        for (; j < stop; j += step) {
            const long long at = (o * channels + c) * inner + l;
            const T d = x[at] - r, a = has_g ? g[at] : d;
            s1 += a;
            s2 += a * d;
            l += step_l;
            o += step_o;
            if (l >= inner) { l -= inner; ++o; }
        }
        s1 = block_reduce(s1, false);
        s2 = block_reduce(s2, false);
        if (threadIdx.x == 0) {
            partial[(long long)k * channels + c] = s1;
            partial[((long long)chunks + k) * channels + c] = s2;
        }
    }
}

/* The same sums for rows (rows, channels) of one element per channel each (inner = 1:
   (N, C) inputs and channels-last memory): grid (channel tiles, chunks of rows); a
   block of 256 threads covers min(channels, 256) adjacent channels, so a warp reads
   adjacent memory, and 256 / that many rows at a time; the rows' sums meet in shared
   memory. */
#define NB_BN_THREADS 256
template <typename T>
__global__ void bn_sums_columns(const T* x, const T* g, const T* ref, T* partial,
                                long long rows, int channels, int has_g) {
    __shared__ T sum1[NB_BN_THREADS], sum2[NB_BN_THREADS];
    const int chunks = gridDim.y, k = blockIdx.y, t = threadIdx.x;
    const int cols = channels < NB_BN_THREADS ? channels : NB_BN_THREADS;
    const int lanes = NB_BN_THREADS / cols, col = t % cols, lane = t / cols;
    const int c = blockIdx.x * cols + col;
    const long long start = rows * k / chunks, stop = rows * (k + 1) / chunks;
    T s1 = T(0), s2 = T(0);
    if (lane < lanes && c < channels) {
        const T r = has_g ? ref[c] : x[c];
        for (long long o = start + lane; o < stop; o += lanes) {
            const long long at = o * channels + c;
            const T d = x[at] - r, a = has_g ? g[at] : d;
            s1 += a;
            s2 += a * d;
        }
    }
    sum1[t] = s1;
    sum2[t] = s2;
    __syncthreads();
    if (t < cols && c < channels) {
        for (int m = 1; m < lanes; ++m) {
            s1 += sum1[t + m * cols];
            s2 += sum2[t + m * cols];
        }
        partial[(long long)k * channels + c] = s1;
        partial[((long long)chunks + k) * channels + c] = s2;
    }
}

/* One thread per channel: mean, biased variance, rstd and scale = w rstd from the
   forward's partial sums (taken about the channel's first element, x[c * inner]) */
template <typename T>
__global__ void bn_finish_fwd(const T* partial, const T* x, const T* w, T* mean, T* var,
                              T* rstd, T* scale, int chunks, int channels, long long inner,
                              long long count, T eps) {
    NB_FOR_EACH(c, channels) {
        T s1 = T(0), s2 = T(0);
        for (int k = 0; k < chunks; ++k) {
            s1 += partial[(long long)k * channels + c];
            s2 += partial[((long long)chunks + k) * channels + c];
        }
        const T m1 = s1 / T(count), v = nb_max(s2 / T(count) - m1 * m1, T(0));
        mean[c] = x[c * inner] + m1;
        var[c] = v;
        const T r = T(1) / nb_sqrt(v + eps);
        rstd[c] = r;
        scale[c] = w[c] * r;
    }
}

/* One thread per channel, from the backward's partial sums sum(g), sum(g (x - mean)):
   dweight = sum(g x_hat), dbias = sum(g), and dx = A g + B (x - mean) + K with
   A = w rstd, B = -A rstd mean(g x_hat), K = -A mean(g) */
template <typename T>
__global__ void bn_finish_bwd(const T* partial, const T* rstd, const T* w, T* dweight,
                              T* dbias, T* a, T* b, T* k, int chunks, int channels,
                              long long count) {
    NB_FOR_EACH(c, channels) {
        T s1 = T(0), s2 = T(0);
        for (int j = 0; j < chunks; ++j) {
            s1 += partial[(long long)j * channels + c];
            s2 += partial[((long long)chunks + j) * channels + c];
        }
        const T r = rstd[c], gx_hat = r * s2, ac = w[c] * r;
        dweight[c] = gx_hat;
        dbias[c] = s1;
        a[c] = ac;
        b[c] = -ac * r * (gx_hat / T(count));
        k[c] = -ac * (s1 / T(count));
    }
}

/* y = (x - center_c) scale_c + shift_c (has_center), else x scale_c + shift_c */
template <typename T>
__global__ void bn_apply(const T* x, const T* center, const T* scale, const T* shift, T* y,
                         long long n, int channels, long long inner, int has_center) {
    const long long step = (long long)blockDim.x * gridDim.x;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (NbChannelWalk w(i, step, inner, channels); i < n; i += step, w.next()) {
        const int c = w.c;
        y[i] = (has_center ? x[i] - center[c] : x[i]) * scale[c] + shift[c];
    }
}

/* dx = A_c g + B_c (x - mean_c) + K_c */
template <typename T>
__global__ void bn_grad_input(const T* g, const T* x, const T* mean, const T* a, const T* b,
                              const T* k, T* dx, long long n, int channels, long long inner) {
    const long long step = (long long)blockDim.x * gridDim.x;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (NbChannelWalk w(i, step, inner, channels); i < n; i += step, w.next()) {
        const int c = w.c;
        dx[i] = a[c] * g[i] + b[c] * (x[i] - mean[c]) + k[c];
    }
}
#endif
"""

_build.register(SOURCE, ["bn_sums_planes", "bn_sums_columns", "bn_finish_fwd",
                         "bn_finish_bwd", "bn_apply", "bn_grad_input"])

TARGET_BLOCKS = 1024   # blocks a per-channel reduction aims for (H200: 132 SMs)
MIN_PER_BLOCK = 4096   # ... with no fewer elements than this each
_THREADS = 256         # NB_BN_THREADS
_MAX_GRID_Y = 65535


def _memory(a):
    """(N, C, L) ``a`` as (its C-contiguous memory, outer, inner, channels_last)."""
    n, c, length = a.shape
    if a.flags.c_contiguous:
        return a, n, length, False
    nlc = a.transpose(0, 2, 1)
    if nlc.flags.c_contiguous:  # channels-last: a convolution's output
        return nlc, n * length, 1, True
    return _build.cupy().ascontiguousarray(a), n, length, False


def _like(a, channels_last: bool):
    """The C-contiguous memory of (N, C, L) ``a`` laid out like x's (``_memory``)."""
    cp = _build.cupy()
    return cp.ascontiguousarray(a.transpose(0, 2, 1) if channels_last else a)


def _view(mem, shape, channels_last: bool):
    """The (N, C, L) array held in memory laid out like x's."""
    n, c, length = shape
    if channels_last:
        return mem.reshape(n, length, c).transpose(0, 2, 1)
    return mem.reshape(n, c, length)


def _contiguous(*arrays):
    cp = _build.cupy()
    return [cp.ascontiguousarray(a).reshape(-1) for a in arrays]


def _channel_sums(x, g, ref, outer: int, channels: int, inner: int):
    """Partial per-channel sums (2, chunks, C) from one read of x's memory (and g's, with
    ``ref`` the mean, when g is given)."""
    if inner > 1:  # a block per chunk of one channel
        chunks = max(1, min(-(-TARGET_BLOCKS // channels),
                            outer * inner // MIN_PER_BLOCK, _MAX_GRID_Y))
        grid = (chunks, min(channels, _MAX_GRID_Y))
        name, sizes = "bn_sums_planes", (np.int64(outer), np.int32(channels), np.int64(inner))
    else:  # rows of channels: a block per tile of channels and chunk of rows
        cols = min(channels, _THREADS)
        tiles = -(-channels // cols)
        chunks = max(1, min(-(-TARGET_BLOCKS // tiles), outer * cols // MIN_PER_BLOCK,
                            outer, _MAX_GRID_Y))
        grid = (tiles, chunks)
        name, sizes = "bn_sums_columns", (np.int64(outer), np.int32(channels))
    partial = _build.cupy().empty((2, chunks, channels), dtype=x.dtype)
    has_g = g is not None  # CuPy passes no NULL: x stands in for absent arrays
    _build.function(name, x.dtype)(grid, (_THREADS,),
                                   (x, g if has_g else x, ref if has_g else x, partial,
                                    *sizes, np.int32(has_g)))
    return partial


def batch_norm_train(x, weight, bias, eps: float):
    """Training-mode batch norm of x (N, C, L) (every size > 0), weight and bias (C,):
    (y (N, C, L) in x's memory layout, mean, biased variance, rstd), the statistics (C,)."""
    cp = _build.cupy()
    dtype, channels = x.dtype, x.shape[1]
    mem, outer, inner, last = _memory(x)
    weight, bias = _contiguous(weight, bias)
    partial = _channel_sums(mem, None, None, outer, channels, inner)
    mean, var, rstd, scale = (cp.empty(channels, dtype=dtype) for _ in range(4))
    _build.elementwise("bn_finish_fwd", channels, dtype, partial, mem, weight, mean, var, rstd,
                       scale, np.int32(partial.shape[1]), np.int32(channels), np.int64(inner),
                       np.int64(outer * inner), dtype.type(eps))
    y = cp.empty_like(mem)
    _build.elementwise("bn_apply", mem.size, dtype, mem, mean, scale, bias, y,
                       np.int64(mem.size), np.int32(channels), np.int64(inner), np.int32(1))
    return _view(y, x.shape, last), mean, var, rstd


def batch_norm_train_grad(x, g, mean, rstd, weight, need_input: bool):
    """(dx or None, dweight, dbias) of ``batch_norm_train`` from its input x (N, C, L), the
    output's cotangent g (N, C, L) and the forward's mean and rstd (C entries each)."""
    cp = _build.cupy()
    dtype, channels = x.dtype, x.shape[1]
    mem, outer, inner, last = _memory(x)
    g_mem = _like(g, last)
    mean, rstd, weight = _contiguous(mean, rstd, weight)
    partial = _channel_sums(mem, g_mem, mean, outer, channels, inner)
    dweight, dbias, a, b, k = (cp.empty(channels, dtype=dtype) for _ in range(5))
    _build.elementwise("bn_finish_bwd", channels, dtype, partial, rstd, weight, dweight, dbias,
                       a, b, k, np.int32(partial.shape[1]), np.int32(channels),
                       np.int64(outer * inner))
    dx = None
    if need_input:
        dx = cp.empty_like(mem)
        _build.elementwise("bn_grad_input", mem.size, dtype, g_mem, mem, mean, a, b, k, dx,
                           np.int64(mem.size), np.int32(channels), np.int64(inner))
        dx = _view(dx, x.shape, last)
    return dx, dweight, dbias


def channel_affine(x, scale, shift):
    """``x * scale + shift`` per channel of x (N, C, *), scale and shift (C,): evaluation-
    mode batch norm. The result keeps x's memory layout (C-contiguous or channels-last)."""
    cp = _build.cupy()
    shape = x.shape
    rows = x.reshape(shape[0], shape[1], math.prod(shape[2:]))
    mem, _, inner, last = _memory(rows)
    scale, shift = _contiguous(scale, shift)
    y = cp.empty_like(mem)  # has_center 0: scale stands in for the absent center
    _build.elementwise("bn_apply", mem.size, x.dtype, mem, scale, scale, shift, y,
                       np.int64(mem.size), np.int32(shape[1]), np.int64(inner), np.int32(0))
    return _view(y, rows.shape, last).reshape(shape)
