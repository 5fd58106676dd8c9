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
above the diagonal are skipped. Head dimensions up to ``MAX_HEAD_DIM`` fit the
shared-memory tiles; larger heads keep the op's blocked form. Two implementations of
these three kernels:

- float16, on tensor cores (``flash_tc_*``): WMMA 16x16x16 tiles with float
  accumulators, a warp per 16 rows; softmax statistics in float. The forward makes two
  passes over the keys (the rows' log-sum-exp, then O = sum P V with P already final),
  because a WMMA accumulator's element layout is hidden and so cannot be rescaled
  row by row. This is the one used by default (autocast's attention is float16).
- float32 and float64, on CUDA cores (``flash_*``): the online softmax in one pass,
  each thread holding its share of the output tile in registers. By estimate slower
  than the op's blocked cuBLAS form at GPT sizes, so used only where
  ``nabla.backends.cuda.flash_attention_kernel`` is True.

``benchmarks/bench_gpu.py`` measures both against the blocked form and PyTorch; neither
has run on a GPU yet (they are checked under the host emulator, ``tests/cuda_emu.h``).
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

#if defined(NB_GPU) && defined(NB_HALF)
/* ---- float16 on tensor cores (WMMA 16x16x16 tiles, float accumulators) ------------------
   A warp owns 16 rows of the fixed tile. The score-like products (S = Q K^T, dP = dO V^T
   and their transposes) go through a per-warp float staging area in shared memory, where
   the lanes apply the mask and softmax (two lanes per row); P or dS is written back over
   the same rows as half and enters the next product as a matrix_a tile. The forward takes
   two passes over the keys (the rows' statistics, then O = sum P V with P final), so the
   output accumulators never need rescaling: a fragment's element layout is not exposed. */
#define NB_TC_LD 136              /* half row stride of a tile: 128 + 8 */
#define NB_TC_SLD 36              /* float row stride of a staging tile of 32 columns */
#define NB_TC_PLD 72              /* the same rows as half: P / dS written over them */
#define NB_TC_KEYS 32             /* the streamed tile's rows (and the staging columns) */
typedef nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> NbAcc;

/* rows [first, first + rows) of a (count, dim) matrix into tile, zero past the end and in
   the columns up to dim rounded to 16 */
template <typename T>
__device__ __forceinline__ void tc_load(__half (*tile)[NB_TC_LD], const T* src, int first,
                                        int count, int dim, int rows) {
    const int width = (dim + 15) / 16 * 16;
    for (int idx = threadIdx.x; idx < rows * width; idx += blockDim.x) {
        const int r = idx / width, e = idx % width;
        tile[r][e] = first + r < count && e < dim ? src[(long long)(first + r) * dim + e]
                                                  : __float2half(0.0f);
    }
}

/* stage (16 x 32, float) = a (16 x kdim, rows of a tile) times b^T, b the 32 rows of a
   tile: S = Q K^T, S^T = K Q^T, dP = dO V^T, dP^T = V dO^T */
__device__ __forceinline__ void tc_scores(float* stage, const __half* a,
                                          const __half (*b)[NB_TC_LD], int kdim) {
    using namespace nvcuda;
    for (int c = 0; c < NB_TC_KEYS / 16; ++c) {
        NbAcc acc;
        wmma::fill_fragment(acc, 0.0f);
        for (int kk = 0; kk < (kdim + 15) / 16; ++kk) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
            wmma::load_matrix_sync(fa, a + kk * 16, NB_TC_LD);
            wmma::load_matrix_sync(fb, &b[c * 16][kk * 16], NB_TC_LD);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        wmma::store_matrix_sync(stage + c * 16, acc, NB_TC_SLD, wmma::mem_row_major);
    }
}

/* acc[n] += p (16 x 32, half over the staging rows) times b (32 rows of a tile), for the
   column blocks n of b up to width: O += P V, dV += P^T dO, dK += dS^T Q, dQ += dS K */
__device__ __forceinline__ void tc_accumulate(NbAcc (&acc)[NB_FLASH_E / 16], const __half* p,
                                              const __half (*b)[NB_TC_LD], int width) {
    using namespace nvcuda;
    for (int n = 0; n < NB_FLASH_E / 16; ++n) {
        if (n * 16 >= width) break;
        for (int kk = 0; kk < NB_TC_KEYS / 16; ++kk) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
            wmma::load_matrix_sync(fa, p + kk * 16, NB_TC_PLD);
            wmma::load_matrix_sync(fb, &b[kk * 16][n * 16], NB_TC_LD);
            wmma::mma_sync(acc[n], fa, fb, acc[n]);
        }
    }
}

/* a lane's 16 staged values (its row r, columns 16 h..16 h + 15) as half, written over the
   staging rows once every lane of the warp has read its own */
__device__ __forceinline__ void tc_put_half(float* stage, int r, int h, const float* vals) {
    __syncwarp();
    __half* row = (__half*)(stage + r * NB_TC_SLD);
    for (int c = 0; c < 16; ++c) row[16 * h + c] = __float2half(vals[c]);
    __syncwarp();
}

/* the warp's 16 rows of acc, times mul, into rows row0.. of a (rows, width) half matrix,
   through the warp's staging area */
template <typename T>
__device__ __forceinline__ void tc_store(NbAcc (&acc)[NB_FLASH_E / 16], float* stage, T* dst,
                                         int row0, int rows, int width, float mul) {
    using namespace nvcuda;
    const int lane = threadIdx.x & 31;
    for (int n = 0; n < NB_FLASH_E / 16; ++n) {
        if (n * 16 >= width) break;
        __syncwarp();
        wmma::store_matrix_sync(stage, acc[n], NB_TC_SLD, wmma::mem_row_major);
        __syncwarp();
        for (int idx = lane; idx < 256; idx += 32) {
            const int r = idx / 16, cc = idx % 16, c = n * 16 + cc;
            if (row0 + r < rows && c < width)
                dst[(long long)(row0 + r) * width + c] =
                    __float2half(stage[r * NB_TC_SLD + cc] * mul);
        }
    }
}

/* forward: a block of 4 warps per 64 queries; key tiles of 32 */
template <typename T>
__global__ void flash_tc_fwd(const T* q, const T* k, const T* v, T* out,
                             typename Acc<T>::type* lse, int length, int source, int dim,
                             int vdim, double scale, int causal) {
    __shared__ __align__(32) __half qs[64][NB_TC_LD];
    __shared__ __align__(32) __half ks[NB_TC_KEYS][NB_TC_LD];
    __shared__ __align__(32) __half vs[NB_TC_KEYS][NB_TC_LD];
    __shared__ __align__(32) float stage[64 * NB_TC_SLD];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int b = blockIdx.y, i0 = blockIdx.x * 64, r = warp * 16 + lane / 2, h = lane & 1;
    const int i = i0 + r;
    float* ws = stage + warp * 16 * NB_TC_SLD;   /* this warp's staging rows */
    const float sc = (float)scale, neg_inf = nb_neg_inf<float>();
    q += (long long)b * length * dim;
    k += (long long)b * source * dim;
    v += (long long)b * source * vdim;
    tc_load(qs, q, i0, length, dim, 64);
    const int stop = causal && i0 + 64 < source ? i0 + 64 : source;
    float m = neg_inf, l = 0.0f;                 /* row i's running max and sum */
    for (int j0 = 0; j0 < stop; j0 += NB_TC_KEYS) {
        __syncthreads();
        tc_load(ks, k, j0, source, dim, NB_TC_KEYS);
        __syncthreads();
        tc_scores(ws, &qs[warp * 16][0], ks, dim);
        __syncwarp();
        float vals[16], mt = neg_inf;
        for (int c = 0; c < 16; ++c) {
            const int col = 16 * h + c;
            vals[c] = flash_visible(i, j0 + col, length, source, causal)
                ? stage[r * NB_TC_SLD + col] * sc : neg_inf;
            mt = fmaxf(mt, vals[c]);
        }
        mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
        const float m_new = fmaxf(m, mt);
        float sum = 0.0f;
        if (m_new != neg_inf)
            for (int c = 0; c < 16; ++c) sum += expf(vals[c] - m_new);
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        if (m_new != neg_inf) {
            l = l * expf(m - m_new) + sum;
            m = m_new;
        }
    }
    const float row_lse = m + logf(l);
    if (h == 0 && i < length) lse[(long long)b * length + i] = row_lse;
    NbAcc acc[NB_FLASH_E / 16];
    for (int n = 0; n < NB_FLASH_E / 16; ++n) nvcuda::wmma::fill_fragment(acc[n], 0.0f);
    for (int j0 = 0; j0 < stop; j0 += NB_TC_KEYS) {
        __syncthreads();
        tc_load(ks, k, j0, source, dim, NB_TC_KEYS);
        tc_load(vs, v, j0, source, vdim, NB_TC_KEYS);
        __syncthreads();
        tc_scores(ws, &qs[warp * 16][0], ks, dim);
        __syncwarp();
        float p[16];
        for (int c = 0; c < 16; ++c) {
            const int col = 16 * h + c;
            p[c] = flash_visible(i, j0 + col, length, source, causal)
                ? expf(stage[r * NB_TC_SLD + col] * sc - row_lse) : 0.0f;
        }
        tc_put_half(stage, r, h, p);
        tc_accumulate(acc, (const __half*)ws, vs, vdim);
    }
    tc_store(acc, ws, out + (long long)b * length * vdim, i0 + warp * 16, length, vdim, 1.0f);
}

/* the lane's P and dS over its 16 staged columns: p = exp(s scale - lse), ds = p (dp - delta),
   written as half over the score and dP staging rows; ``t``: staged transposed (keys are
   rows, queries columns) */
__device__ __forceinline__ void tc_probs(float* s_stage, float* dp_stage, int r, int h, int row,
                                         int col0, bool t, int length, int source, int causal,
                                         float sc, const float* lse, const float* delta) {
    float p[16], ds[16];
    for (int c = 0; c < 16; ++c) {
        const int col = 16 * h + c, qi = t ? col : r;
        const int i = t ? col0 + col : row, j = t ? row : col0 + col;
        const bool vis = flash_visible(i, j, length, source, causal);
        p[c] = vis ? expf(s_stage[r * NB_TC_SLD + col] * sc - lse[qi]) : 0.0f;
        ds[c] = p[c] * (dp_stage[r * NB_TC_SLD + col] - delta[qi]);
    }
    tc_put_half(s_stage, r, h, p);
    tc_put_half(dp_stage, r, h, ds);
}

/* The tensor-core backward's shared memory: one tile of 32 keys and values, one of 32
   queries and their output cotangents (with the rows' lse and delta), and per warp the
   staged scores and dP of its 16 rows. Both kernels hold one tile fixed and stream the
   other; ``pair`` makes P and dS of the loaded tiles, staged with keys as rows (``t``,
   the dK/dV kernel) or queries as rows. */
struct FlashTcBwd {
    __align__(32) __half ks[NB_TC_KEYS][NB_TC_LD];
    __align__(32) __half vs[NB_TC_KEYS][NB_TC_LD];
    __align__(32) __half qs[NB_TC_KEYS][NB_TC_LD];
    __align__(32) __half dos[NB_TC_KEYS][NB_TC_LD];
    __align__(32) float s[32 * NB_TC_SLD];
    __align__(32) float dp[32 * NB_TC_SLD];
    float lse[NB_TC_KEYS], delta[NB_TC_KEYS];

    template <typename T>
    __device__ void load_keys(const T* k, const T* v, int j0, int source, int dim, int vdim) {
        tc_load(ks, k, j0, source, dim, NB_TC_KEYS);
        tc_load(vs, v, j0, source, vdim, NB_TC_KEYS);
    }
    template <typename T>
    __device__ void load_queries(const T* q, const T* dout, const float* lse_g,
                                 const float* delta_g, int i0, int length, int dim, int vdim) {
        tc_load(qs, q, i0, length, dim, NB_TC_KEYS);
        tc_load(dos, dout, i0, length, vdim, NB_TC_KEYS);
        if (threadIdx.x < NB_TC_KEYS) {
            const int i = i0 + threadIdx.x;
            lse[threadIdx.x] = i < length ? lse_g[i] : 0.0f;
            delta[threadIdx.x] = i < length ? delta_g[i] : 0.0f;
        }
    }
    /* the warp's staged rows, as float (scores, dP) and, after ``pair``, as half (P, dS) */
    __device__ float* s_rows() { return s + (threadIdx.x >> 5) * 16 * NB_TC_SLD; }
    __device__ float* dp_rows() { return dp + (threadIdx.x >> 5) * 16 * NB_TC_SLD; }
    /* P and dS of the loaded tiles for this warp's 16 rows (keys if t, else queries);
       (i0, j0): the tiles' first query and key */
    __device__ void pair(bool t, int i0, int j0, int length, int source, int dim, int vdim,
                         float sc, int causal) {
        const int w = threadIdx.x >> 5, lane = threadIdx.x & 31, r = w * 16 + lane / 2;
        tc_scores(s_rows(), t ? &ks[w * 16][0] : &qs[w * 16][0], t ? qs : ks, dim);
        tc_scores(dp_rows(), t ? &vs[w * 16][0] : &dos[w * 16][0], t ? dos : vs, vdim);
        __syncwarp();
        tc_probs(s, dp, r, lane & 1, t ? j0 + r : i0 + r, t ? i0 : j0, t, length, source,
                 causal, sc, lse, delta);
    }
};

/* backward, dK and dV: a block of 2 warps per 32 keys; query tiles of 32 */
template <typename T>
__global__ void flash_tc_bwd_kv(const T* q, const T* k, const T* v, const T* dout,
                                const typename Acc<T>::type* lse,
                                const typename Acc<T>::type* delta, T* dk, T* dv, int length,
                                int source, int dim, int vdim, double scale, int causal) {
    __shared__ FlashTcBwd sh;
    const int warp = threadIdx.x >> 5, b = blockIdx.y, j0 = blockIdx.x * NB_TC_KEYS;
    const long long qb = (long long)b * length, kb = (long long)b * source;
    sh.load_keys(k + kb * dim, v + kb * vdim, j0, source, dim, vdim);
    NbAcc gk[NB_FLASH_E / 16], gv[NB_FLASH_E / 16];
    for (int n = 0; n < NB_FLASH_E / 16; ++n) {
        nvcuda::wmma::fill_fragment(gk[n], 0.0f);
        nvcuda::wmma::fill_fragment(gv[n], 0.0f);
    }
    const int first = causal ? j0 / NB_TC_KEYS * NB_TC_KEYS : 0;
    for (int i0 = first; i0 < length; i0 += NB_TC_KEYS) {
        __syncthreads();
        sh.load_queries(q + qb * dim, dout + qb * vdim, lse + qb, delta + qb, i0, length, dim,
                        vdim);
        __syncthreads();
        sh.pair(true, i0, j0, length, source, dim, vdim, (float)scale, causal);
        tc_accumulate(gv, (const __half*)sh.s_rows(), sh.dos, vdim);   /* dV += P^T dO */
        tc_accumulate(gk, (const __half*)sh.dp_rows(), sh.qs, dim);    /* dK += dS^T Q */
    }
    const int row0 = j0 + warp * 16;
    tc_store(gv, sh.s_rows(), dv + kb * vdim, row0, source, vdim, 1.0f);
    tc_store(gk, sh.s_rows(), dk + kb * dim, row0, source, dim, (float)scale);
}

/* backward, dQ: a block of 2 warps per 32 queries; key tiles of 32 */
template <typename T>
__global__ void flash_tc_bwd_q(const T* q, const T* k, const T* v, const T* dout,
                               const typename Acc<T>::type* lse,
                               const typename Acc<T>::type* delta, T* dq, int length,
                               int source, int dim, int vdim, double scale, int causal) {
    __shared__ FlashTcBwd sh;
    const int warp = threadIdx.x >> 5, b = blockIdx.y, i0 = blockIdx.x * NB_TC_KEYS;
    const long long qb = (long long)b * length, kb = (long long)b * source;
    sh.load_queries(q + qb * dim, dout + qb * vdim, lse + qb, delta + qb, i0, length, dim,
                    vdim);
    NbAcc gq[NB_FLASH_E / 16];
    for (int n = 0; n < NB_FLASH_E / 16; ++n) nvcuda::wmma::fill_fragment(gq[n], 0.0f);
    const int stop = causal && i0 + NB_TC_KEYS < source ? i0 + NB_TC_KEYS : source;
    for (int j0 = 0; j0 < stop; j0 += NB_TC_KEYS) {
        __syncthreads();
        sh.load_keys(k + kb * dim, v + kb * vdim, j0, source, dim, vdim);
        __syncthreads();
        sh.pair(false, i0, j0, length, source, dim, vdim, (float)scale, causal);
        tc_accumulate(gq, (const __half*)sh.dp_rows(), sh.ks, dim);    /* dQ += dS K */
    }
    tc_store(gq, sh.s_rows(), dq + qb * dim, i0 + warp * 16, length, dim, (float)scale);
}
#endif
"""

NAMES = ("flash_fwd", "flash_bwd_kv", "flash_bwd_q")            # CUDA cores: float, double
TC_NAMES = ("flash_tc_fwd", "flash_tc_bwd_kv", "flash_tc_bwd_q")  # tensor cores: float16
_build.register(SOURCE, NAMES, half_only=TC_NAMES)

_TILES = {4: (32, 16), 8: (16, 8)}  # CUDA cores: accumulator bytes -> (forward Q, backward)
_TC_FWD_ROWS, _TC_BWD_ROWS = 64, 32  # tensor cores: rows per block (4 warps; 2 warps)


def usable(q, k, v) -> bool:
    """Whether the kernels take (B, L, E), (B, S, E), (B, S, Ev) arrays: CuPy, float16
    (tensor cores) or float32/float64 (CUDA cores), head dimensions up to MAX_HEAD_DIM, at
    least one key; and whether they are wanted: ``nabla.backends.cuda.flash_attention_kernel``
    is None by default, which takes the tensor-core kernels and leaves float32/float64 to
    the op's blocked cuBLAS form (see there); True takes all, False none."""
    from ..backends import cuda
    wanted = cuda.flash_attention_kernel
    if wanted is False or (wanted is None and q.dtype != np.float16):
        return False
    return (_build.usable(q, k, v, half=True) and q.ndim == k.ndim == v.ndim == 3
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
    lse = cp.empty((batch, length), dtype=_build.acc_dtype(q.dtype))
    if batch and length:
        if q.dtype == np.float16:
            name, rows, threads = "flash_tc_fwd", _TC_FWD_ROWS, 128
        else:
            name, rows, threads = "flash_fwd", _TILES[lse.dtype.itemsize][0], _THREADS
        _build.function(name, q.dtype)(
            (math.ceil(length / rows), batch), (threads,),
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
    if q.dtype == np.float16:
        (kv, q_name), rows, threads = TC_NAMES[1:], _TC_BWD_ROWS, 64
    else:
        (kv, q_name), rows, threads = NAMES[1:], _TILES[acc.itemsize][1], _THREADS
    rest = (*_dims(q, k, v), np.float64(scale), np.int32(causal))
    if batch and source:
        if length:
            _build.function(kv, q.dtype)((math.ceil(source / rows), batch), (threads,),
                                         (q, k, v, dout, lse, delta, dk, dv, *rest))
        else:
            dk[...], dv[...] = 0, 0
    if batch and length:
        _build.function(q_name, q.dtype)((math.ceil(length / rows), batch), (threads,),
                                         (q, k, v, dout, lse, delta, dq, *rest))
    return dq, dk, dv
