"""Dropout with its mask drawn on the device: the output and a one-byte mask in one pass,
the backward ``dx = g mask scale`` in another (also float16, math in float).

The random numbers come from Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel
random numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator: four 32-bit
words are a pure function of a 128-bit counter and a 64-bit key, so every thread draws
its own numbers with no state to keep or advance, the same seed gives the same mask on
any grid, and the generator passes TestU01's BigCrush. It is also what cuRAND and
PyTorch use on GPUs, at about twenty integer multiplies per four draws, well below
the memory traffic of the pass it sits in. (A 64-bit hash of (seed, index) would be
as fast, but has neither the published analysis nor the known-answer vectors that the
tests check this one against.)

An n-element draw with seed s: with Q = ceil(n / 4), element i takes word i / Q of the
block for counter (i mod Q, 0, 0, 0) under key s, so thread q reads and writes
elements q, q + Q, q + 2Q, q + 3Q: each of its four accesses adjacent to its warp's.
An element is kept when its word is at least ceil(p 2^32): with probability 1 - p to
within 2^-32. The seed is one draw from nabla's generator per call.
"""
from __future__ import annotations

import math

import numpy as np

from . import _build

SOURCE = r"""
/* the high word of a 32 x 32-bit product (the low word is a * b) */
NB_FN unsigned int nb_mulhi32(unsigned int a, unsigned int b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (unsigned int)(((unsigned long long)a * b) >> 32);
#endif
}
/* Philox4x32-10: ctr (four words) becomes its block under the key (k0, k1) */
NB_FN void nb_philox4x32_10(unsigned int ctr[4], unsigned int k0, unsigned int k1) {
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int round = 0; round < 10; ++round) {
        const unsigned int hi0 = nb_mulhi32(0xD2511F53u, ctr[0]), lo0 = 0xD2511F53u * ctr[0];
        const unsigned int hi1 = nb_mulhi32(0xCD9E8D57u, ctr[2]), lo1 = 0xCD9E8D57u * ctr[2];
        ctr[0] = hi1 ^ ctr[1] ^ k0;
        ctr[1] = lo1;
        ctr[2] = hi0 ^ ctr[3] ^ k1;
        ctr[3] = lo0;
        k0 += 0x9E3779B9u;  /* the key schedule (Weyl sequence) */
        k1 += 0xBB67AE85u;
    }
}
/* the four words of block q of the draw with this seed */
NB_FN void nb_dropout_block(unsigned int r[4], long long q, unsigned long long seed) {
    r[0] = (unsigned int)q;
    r[1] = (unsigned int)((unsigned long long)q >> 32);
    r[2] = 0u;
    r[3] = 0u;
    nb_philox4x32_10(r, (unsigned int)seed, (unsigned int)(seed >> 32));
}

#ifdef NB_GPU
/* y = x mask scale and the mask (1 kept, 0 dropped) of every element; a thread per block
   of four draws, elements q + j Q (Q = ceil(n / 4)) */
template <typename T>
__global__ void dropout_fwd(const T* x, T* y, unsigned char* mask, long long n,
                            unsigned long long seed, unsigned long long threshold,
                            double scale) {
    typedef typename Acc<T>::type C;
    const long long blocks = (n + 3) / 4;
    NB_FOR_EACH(q, blocks) {
        unsigned int r[4];
        nb_dropout_block(r, q, seed);
        for (int j = 0; j < 4; ++j) {
            const long long i = q + j * blocks;
            if (i < n) {
                const bool keep = r[j] >= threshold;
                mask[i] = keep;
                y[i] = T(C(x[i]) * (keep ? C(scale) : C(0)));  /* x * 0: NaN stays NaN */
            }
        }
    }
}
/* the mask alone (channel dropout, alpha dropout): n draws */
template <typename T>
__global__ void dropout_mask(unsigned char* mask, long long n, unsigned long long seed,
                             unsigned long long threshold) {
    const long long blocks = (n + 3) / 4;
    NB_FOR_EACH(q, blocks) {
        unsigned int r[4];
        nb_dropout_block(r, q, seed);
        for (int j = 0; j < 4; ++j)
            if (q + j * blocks < n) mask[q + j * blocks] = r[j] >= threshold;
    }
}
/* out = a mask[i / inner] scale: the backward (a = g), and channel dropout's forward
   (a = x, a mask entry per run of `inner` elements); the row i / inner is carried along
   the grid-stride loop by additions */
template <typename T>
__global__ void dropout_bwd(const T* a, const unsigned char* mask, T* out, long long n,
                            long long inner, double scale) {
    typedef typename Acc<T>::type C;
    const long long step = (long long)blockDim.x * gridDim.x, step_row = step / inner,
                    step_l = step - step_row * inner;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long row = i / inner, l = i - row * inner;
    for (; i < n; i += step) {
        out[i] = T(C(a[i]) * (mask[row] ? C(scale) : C(0)));
        l += step_l;
        row += step_row;
        if (l >= inner) { l -= inner; ++row; }
    }
}
#endif
"""

NAMES = ("dropout_fwd", "dropout_mask", "dropout_bwd")
_build.register(SOURCE, NAMES, half=NAMES)


def threshold(p: float) -> np.uint64:
    """The least 32-bit word kept: ceil(p 2^32), for 0 < p < 1."""
    return np.uint64(math.ceil(p * 2.0 ** 32))


def dropout_forward(x, p: float, seed: int, scale: float):
    """(x * mask * scale, mask) with mask (x's shape, uint8) kept with probability 1 - p."""
    cp = _build.cupy()
    xf = _build.flat(x)
    y, mask = cp.empty_like(xf), cp.empty(xf.size, dtype=np.uint8)
    _build.elementwise("dropout_fwd", (xf.size + 3) // 4, x.dtype, xf, y, mask,
                       np.int64(xf.size), np.uint64(seed), threshold(p), np.float64(scale))
    return y.reshape(x.shape), mask.reshape(x.shape)


def dropout_mask(shape: tuple, p: float, seed: int, dtype):
    """A uint8 mask of ``shape``: 1 with probability 1 - p (``dtype``: the kernel's)."""
    mask = _build.cupy().empty(shape, dtype=np.uint8)
    _build.elementwise("dropout_mask", (mask.size + 3) // 4, dtype, mask.reshape(-1),
                       np.int64(mask.size), np.uint64(seed), threshold(p))
    return mask


def dropout_apply(a, mask, scale: float):
    """``a * mask * scale`` with ``mask`` (N, C, 1, ...) or a's shape, broadcast over a's
    trailing axes: dropout's backward, and channel dropout's forward."""
    af = _build.flat(a)
    out = _build.cupy().empty_like(af)
    _build.elementwise("dropout_bwd", af.size, a.dtype, af, mask.reshape(-1), out,
                       np.int64(af.size), np.int64(af.size // max(mask.size, 1)),
                       np.float64(scale))
    return out.reshape(a.shape)
