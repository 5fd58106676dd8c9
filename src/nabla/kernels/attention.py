"""Flash attention: softmax(q k^T * scale [+ causal mask]) v without the score matrix.

The kernels behind ``FlashAttention`` (``nabla.ops.attention``) on CuPy arrays, the
algorithm of Dao et al. (2022) on CUDA cores:

- ``flash_fwd``: one block per (batch row, tile of queries). The query tile stays in
  shared memory while tiles of keys and values stream through it; each thread keeps its
  share of the output tile in registers, rescaled by the online softmax (a running row
  maximum m and row sum l) as each key tile arrives. Writes the output and each row's
  log-sum-exp m + log l, all the backward needs to rebuild any tile of weights.
- ``flash_bwd_kv``: one block per (batch row, tile of keys), streaming the query tiles
  that can see it: P = exp(s - lse), dV += P^T dO, dS = P (dO V^T - delta),
  dK += dS^T Q, with delta = rowsum(dO * O) computed once beforehand.
- ``flash_bwd_q``: one block per (batch row, tile of queries), streaming key tiles:
  dQ += dS K. Recomputing P and dS here costs a second pass over the scores but needs no
  atomics, so the gradients are deterministic.

Causal masking is PyTorch's (query i sees keys 0..i, anchored top-left); tiles wholly
above the diagonal are skipped. The statistics and accumulators are float for float and
float16 inputs (so the kernels also serve autocast's float16 attention), double for
double. Head dimensions up to ``MAX_HEAD_DIM`` fit the shared-memory tiles; larger heads
keep the blocked CuPy path of the op. Plain CUDA cores, no tensor cores, so by estimate
slower than the op's blocked cuBLAS form at GPT sizes (whose memory also grows with
L + S only): they run where ``nabla.backends.cuda.flash_attention_kernel`` is set, off
by default until ``benchmarks/bench_gpu.py`` has measured both on a GPU.
"""
from __future__ import annotations

import math

import numpy as np

from . import _build

MAX_HEAD_DIM = 128
_THREADS = 256

SOURCE = r"""
#ifdef NB_GPU
#define NB_FLASH_E 128            /* largest head dimension (shared-memory tiles) */
#define NB_FLASH_THREADS 256

/* tile sizes by accumulator type: 48 KiB of static shared memory at most per block */
template <typename C> struct FlashTile {
    static const int Q = sizeof(C) == 8 ? 16 : 32;   /* forward: queries per block */
    static const int K = sizeof(C) == 8 ? 8 : 16;    /* forward: keys per streamed tile */
    static const int B = sizeof(C) == 8 ? 8 : 16;    /* backward: both tiles */
};

/* whether query i may see key j */
NB_FN bool flash_visible(int i, int j, int length, int source, int causal) {
    return i < length && j < source && !(causal && j > i);
}

/* rows of a (rows, dim) tile from global memory into shared tile[R][NB_FLASH_E + pad],
   times mul; rows past the end are zero */
template <typename T, typename C, int R, int W>
__device__ __forceinline__ void flash_load(C (*tile)[W], const T* src, int first, int count,
                                           int dim, C mul) {
    for (int idx = threadIdx.x; idx < R * dim; idx += NB_FLASH_THREADS) {
        const int r = idx / dim, e = idx % dim;
        tile[r][e] = first + r < count ? C(src[(long long)(first + r) * dim + e]) * mul : C(0);
    }
}

template <typename C, int W>
__device__ __forceinline__ C flash_dot(const C* a, const C (*b)[W], int row, int dim) {
    C s = C(0);
    for (int e = 0; e < dim; ++e) s += a[e] * b[row][e];
    return s;
}

template <typename T>
__global__ void flash_fwd(const T* q, const T* k, const T* v, T* out,
                          typename Acc<T>::type* lse, int length, int source, int dim,
                          int vdim, double scale, int causal) {
    typedef typename Acc<T>::type C;
    const int BQ = FlashTile<C>::Q, BK = FlashTile<C>::K;
    const int ACC = FlashTile<C>::Q * NB_FLASH_E / NB_FLASH_THREADS;
    __shared__ C qs[FlashTile<C>::Q][NB_FLASH_E];
    __shared__ C ks[FlashTile<C>::K][NB_FLASH_E + 1];
    __shared__ C vs[FlashTile<C>::K][NB_FLASH_E];
    __shared__ C p[FlashTile<C>::Q][FlashTile<C>::K + 1];
    __shared__ C row_m[FlashTile<C>::Q], row_l[FlashTile<C>::Q], row_a[FlashTile<C>::Q];
    const int b = blockIdx.y, i0 = blockIdx.x * BQ, t = threadIdx.x;
    q += (long long)b * length * dim;
    k += (long long)b * source * dim;
    v += (long long)b * source * vdim;
    flash_load<T, C, FlashTile<C>::Q>(qs, q, i0, length, dim, C(scale));
    if (t < BQ) { row_m[t] = nb_neg_inf<C>(); row_l[t] = C(0); }
    C acc[ACC];
    for (int a = 0; a < ACC; ++a) acc[a] = C(0);
    const int stop = causal && i0 + BQ < source ? i0 + BQ : source;
    for (int j0 = 0; j0 < stop; j0 += BK) {
        __syncthreads();                       /* the previous tile is no longer read */
        flash_load<T, C, FlashTile<C>::K>(ks, k, j0, source, dim, C(1));
        flash_load<T, C, FlashTile<C>::K>(vs, v, j0, source, vdim, C(1));
        __syncthreads();
        for (int idx = t; idx < BQ * BK; idx += NB_FLASH_THREADS) {
            const int r = idx / BK, c = idx % BK;
            p[r][c] = flash_visible(i0 + r, j0 + c, length, source, causal)
                ? flash_dot(qs[r], ks, c, dim) : nb_neg_inf<C>();
        }
        __syncthreads();
        if (t < BQ) {                          /* the online softmax of row t */
            C m = row_m[t];
            for (int c = 0; c < BK; ++c) m = nb_max(m, p[t][c]);
            C alpha = C(1), sum = C(0);
            if (m != nb_neg_inf<C>()) {           /* rows past the end see no key */
                alpha = nb_exp(row_m[t] - m);
                for (int c = 0; c < BK; ++c) {
                    C e = nb_exp(p[t][c] - m);
                    p[t][c] = e;
                    sum += e;
                }
            } else {
                for (int c = 0; c < BK; ++c) p[t][c] = C(0);
            }
            row_l[t] = row_l[t] * alpha + sum;
            row_m[t] = m;
            row_a[t] = alpha;
        }
        __syncthreads();
        for (int a = 0; a < ACC; ++a) {        /* acc = alpha acc + P V over this tile */
            const int o = t + a * NB_FLASH_THREADS, r = o / vdim, e = o % vdim;
            if (r < BQ) {
                C s = acc[a] * row_a[r];
                for (int c = 0; c < BK; ++c) s += p[r][c] * vs[c][e];
                acc[a] = s;
            }
        }
    }
    __syncthreads();
    out += (long long)b * length * vdim;
    for (int a = 0; a < ACC; ++a) {
        const int o = t + a * NB_FLASH_THREADS, r = o / vdim, e = o % vdim;
        if (r < BQ && i0 + r < length) out[(long long)(i0 + r) * vdim + e] = T(acc[a] / row_l[r]);
    }
    if (t < BQ && i0 + t < length)
        lse[(long long)b * length + i0 + t] = row_m[t] + nb_log(row_l[t]);
}

/* The backward's shared memory: one tile of keys and values, one of queries and their
   output cotangents (with the rows' lse and delta), and the P and dS of the pair. Both
   backward kernels hold one tile fixed and stream the other through it. */
template <typename C> struct FlashBwd {
    static const int R = FlashTile<C>::B;
    C ks[R][NB_FLASH_E + 1], vs[R][NB_FLASH_E + 1];
    C qs[R][NB_FLASH_E + 1], dos[R][NB_FLASH_E + 1], lse[R], delta[R];
    C p[R][R + 1], ds[R][R + 1];

    /* k, v, q, dout, lse, delta already point at this block's batch row */
    template <typename T>
    __device__ void load_keys(const T* k, const T* v, int j0, int source, int dim, int vdim) {
        flash_load<T, C, R>(ks, k, j0, source, dim, C(1));
        flash_load<T, C, R>(vs, v, j0, source, vdim, C(1));
    }
    template <typename T>
    __device__ void load_queries(const T* q, const T* dout, const C* lse_g, const C* delta_g,
                                 int i0, int length, int dim, int vdim) {
        flash_load<T, C, R>(qs, q, i0, length, dim, C(1));
        flash_load<T, C, R>(dos, dout, i0, length, vdim, C(1));
        if (threadIdx.x < R) {
            const int i = i0 + threadIdx.x;
            lse[threadIdx.x] = i < length ? lse_g[i] : C(0);
            delta[threadIdx.x] = i < length ? delta_g[i] : C(0);
        }
    }
    /* p = exp(s - lse) and ds = p (dO . v - delta) of the loaded pair of tiles */
    __device__ void pair(int i0, int j0, int length, int source, int dim, int vdim, C scale,
                         int causal) {
        for (int idx = threadIdx.x; idx < R * R; idx += NB_FLASH_THREADS) {
            const int r = idx / R, c = idx % R;
            if (flash_visible(i0 + r, j0 + c, length, source, causal)) {
                const C e = nb_exp(flash_dot(qs[r], ks, c, dim) * scale - lse[r]);
                p[r][c] = e;
                ds[r][c] = e * (flash_dot(dos[r], vs, c, vdim) - delta[r]);
            } else {
                p[r][c] = C(0);
                ds[r][c] = C(0);
            }
        }
    }
};

template <typename T>
__global__ void flash_bwd_kv(const T* q, const T* k, const T* v, const T* dout,
                             const typename Acc<T>::type* lse,
                             const typename Acc<T>::type* delta, T* dk, T* dv, int length,
                             int source, int dim, int vdim, double scale, int causal) {
    typedef typename Acc<T>::type C;
    const int R = FlashBwd<C>::R, ACC = FlashBwd<C>::R * NB_FLASH_E / NB_FLASH_THREADS;
    __shared__ FlashBwd<C> s;
    const int b = blockIdx.y, j0 = blockIdx.x * R, t = threadIdx.x;
    const long long qb = (long long)b * length, kb = (long long)b * source;
    s.load_keys(k + kb * dim, v + kb * vdim, j0, source, dim, vdim);
    C gk[ACC], gv[ACC];
    for (int a = 0; a < ACC; ++a) { gk[a] = C(0); gv[a] = C(0); }
    const int first = causal ? j0 / R * R : 0;  /* causal: earlier queries see no key here */
    for (int i0 = first; i0 < length; i0 += R) {
        __syncthreads();
        s.load_queries(q + qb * dim, dout + qb * vdim, lse + qb, delta + qb, i0, length, dim,
                       vdim);
        __syncthreads();
        s.pair(i0, j0, length, source, dim, vdim, C(scale), causal);
        __syncthreads();
        for (int a = 0; a < ACC; ++a) {        /* rows c of dV (over vdim), dK (over dim) */
            const int o = t + a * NB_FLASH_THREADS;
            int c = o / vdim, e = o % vdim;
            if (c < R) {
                C sum = C(0);
                for (int r = 0; r < R; ++r) sum += s.p[r][c] * s.dos[r][e];
                gv[a] += sum;
            }
            c = o / dim; e = o % dim;
            if (c < R) {
                C sum = C(0);
                for (int r = 0; r < R; ++r) sum += s.ds[r][c] * s.qs[r][e];
                gk[a] += sum;
            }
        }
    }
    for (int a = 0; a < ACC; ++a) {
        const int o = t + a * NB_FLASH_THREADS;
        int c = o / vdim, e = o % vdim;
        if (c < R && j0 + c < source) dv[(kb + j0 + c) * vdim + e] = T(gv[a]);
        c = o / dim; e = o % dim;
        if (c < R && j0 + c < source) dk[(kb + j0 + c) * dim + e] = T(gk[a] * C(scale));
    }
}

template <typename T>
__global__ void flash_bwd_q(const T* q, const T* k, const T* v, const T* dout,
                            const typename Acc<T>::type* lse,
                            const typename Acc<T>::type* delta, T* dq, int length,
                            int source, int dim, int vdim, double scale, int causal) {
    typedef typename Acc<T>::type C;
    const int R = FlashBwd<C>::R, ACC = FlashBwd<C>::R * NB_FLASH_E / NB_FLASH_THREADS;
    __shared__ FlashBwd<C> s;
    const int b = blockIdx.y, i0 = blockIdx.x * R, t = threadIdx.x;
    const long long qb = (long long)b * length, kb = (long long)b * source;
    s.load_queries(q + qb * dim, dout + qb * vdim, lse + qb, delta + qb, i0, length, dim, vdim);
    C gq[ACC];
    for (int a = 0; a < ACC; ++a) gq[a] = C(0);
    const int stop = causal && i0 + R < source ? i0 + R : source;
    for (int j0 = 0; j0 < stop; j0 += R) {
        __syncthreads();
        s.load_keys(k + kb * dim, v + kb * vdim, j0, source, dim, vdim);
        __syncthreads();
        s.pair(i0, j0, length, source, dim, vdim, C(scale), causal);
        __syncthreads();
        for (int a = 0; a < ACC; ++a) {
            const int o = t + a * NB_FLASH_THREADS, r = o / dim, e = o % dim;
            if (r < R) {
                C sum = C(0);
                for (int c = 0; c < R; ++c) sum += s.ds[r][c] * s.ks[c][e];
                gq[a] += sum;
            }
        }
    }
    for (int a = 0; a < ACC; ++a) {
        const int o = t + a * NB_FLASH_THREADS, r = o / dim, e = o % dim;
        if (r < R && i0 + r < length) dq[(qb + i0 + r) * dim + e] = T(gq[a] * C(scale));
    }
}
#endif
"""

NAMES = ("flash_fwd", "flash_bwd_kv", "flash_bwd_q")
_build.register(SOURCE, NAMES, half=NAMES)

_TILES = {4: (32, 16), 8: (16, 8)}  # accumulator bytes -> (forward Q, backward)


def _acc_dtype(dtype):
    return np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)


def usable(q, k, v) -> bool:
    """Whether the kernels take (B, L, E), (B, S, E), (B, S, Ev) arrays: CuPy, one float
    dtype (float16 included), head dimensions up to MAX_HEAD_DIM, at least one key; and
    whether they are wanted (``nabla.backends.cuda.flash_attention_kernel``, off by
    default: see there)."""
    from ..backends import cuda
    return (cuda.flash_attention_kernel and _build.usable(q, k, v, half=True)
            and q.ndim == k.ndim == v.ndim == 3
            and 0 < q.shape[2] <= MAX_HEAD_DIM and 0 < v.shape[2] <= MAX_HEAD_DIM
            and k.shape[1] > 0)


def _dims(q, k, v) -> tuple:
    return (np.int32(q.shape[1]), np.int32(k.shape[1]), np.int32(q.shape[2]),
            np.int32(v.shape[2]))


def flash_attention(q, k, v, scale: float, causal: bool):
    """(out (B, L, Ev), lse (B, L)) of softmax(q k^T * scale [+ causal mask]) v."""
    cp = _build.cupy()
    q, k, v = (cp.ascontiguousarray(a) for a in (q, k, v))
    batch, length = q.shape[:2]
    out = cp.empty((batch, length, v.shape[2]), dtype=q.dtype)
    lse = cp.empty((batch, length), dtype=_acc_dtype(q.dtype))
    if batch and length:
        tile = _TILES[lse.dtype.itemsize][0]
        _build.function("flash_fwd", q.dtype)(
            (math.ceil(length / tile), batch), (_THREADS,),
            (q, k, v, out, lse, *_dims(q, k, v), np.float64(scale), np.int32(causal)))
    return out, lse


def flash_attention_grad(q, k, v, out, lse, dout, scale: float, causal: bool):
    """(dq, dk, dv) of flash_attention from its output, log-sum-exp and output cotangent."""
    cp = _build.cupy()
    q, k, v, out, dout = (cp.ascontiguousarray(a) for a in (q, k, v, out, dout))
    acc = lse.dtype
    delta = cp.ascontiguousarray((dout.astype(acc, copy=False)
                                  * out.astype(acc, copy=False)).sum(axis=-1))
    dq, dk, dv = cp.empty_like(q), cp.empty_like(k), cp.empty_like(v)
    batch, length = q.shape[:2]
    source = k.shape[1]
    tile = _TILES[acc.itemsize][1]
    rest = (*_dims(q, k, v), np.float64(scale), np.int32(causal))
    if batch and source:
        if length:
            _build.function("flash_bwd_kv", q.dtype)(
                (math.ceil(source / tile), batch), (_THREADS,),
                (q, k, v, dout, lse, delta, dk, dv, *rest))
        else:
            dk[...], dv[...] = 0, 0
    if batch and length:
        _build.function("flash_bwd_q", q.dtype)(
            (math.ceil(length / tile), batch), (_THREADS,),
            (q, k, v, dout, lse, delta, dq, *rest))
    return dq, dk, dv
