"""Fused CUDA kernels behind nabla's ops on CuPy arrays.

On the CPU an op is a handful of NumPy passes; on a GPU each pass is a kernel launch
and a trip through memory, so the ops where that waste dominates a training step call
one kernel here instead: the tanh and erf GELU and SiLU (forward, and backward times
the incoming gradient), softmax and log-softmax over the last axis (forward and
backward), layer norm with its affine part (forward and the input's gradient), and the
Adam/AdamW update of one parameter tensor. The op stays one Function with one forward;
only its array work changes (DESIGN.md: "add a backend kernel behind the same op").

All kernels are templates over float and double, compiled together by CuPy's
``RawModule`` (NVRTC) the first time one is used. Other dtypes (float16 under autocast)
and non-CuPy arrays keep the composed path: callers ask :func:`usable` first. The
switch ``nabla.backends.cuda.fused_kernels = False`` turns every kernel off, so a
suspected kernel can be checked against the composed ops on the same inputs.

The per-element math is written once, as ``NB_FN`` functions that compile both as
CUDA device code and as plain C++: the tests build them with the host compiler and
compare them with NumPy on the CPU, and build the whole source with ``nvcc`` when it is
installed. The row kernels (one thread block per row, warp-shuffle reductions) can only
run on a GPU, where ``tests/test_kernels.py`` checks each against the composed ops.
"""
from __future__ import annotations

import numpy as np

from . import backend

SOURCE = r"""
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define NB_FN __device__ __forceinline__
#define NB_GPU 1
#else
#include <math.h>
#define NB_FN static inline
#endif

#define NB_GELU_K 0.7978845608028654    /* sqrt(2 / pi) */
#define NB_GELU_C 0.044715
#define NB_SQRT1_2 0.7071067811865476    /* 1 / sqrt(2) */
#define NB_INV_SQRT_2PI 0.3989422804014327

/* ---- overloads, so that one template serves float and double ---------------------- */
NB_FN float nb_tanh(float x) { return tanhf(x); }
NB_FN double nb_tanh(double x) { return tanh(x); }
NB_FN float nb_exp(float x) { return expf(x); }
NB_FN double nb_exp(double x) { return exp(x); }
NB_FN float nb_log(float x) { return logf(x); }
NB_FN double nb_log(double x) { return log(x); }
NB_FN float nb_erf(float x) { return erff(x); }
NB_FN double nb_erf(double x) { return erf(x); }
NB_FN float nb_sqrt(float x) { return sqrtf(x); }
NB_FN double nb_sqrt(double x) { return sqrt(x); }
NB_FN float nb_max(float a, float b) { return fmaxf(a, b); }
NB_FN double nb_max(double a, double b) { return fmax(a, b); }

/* ---- per-element math (also compiled on the host by the tests) ------------------------ */
/* GPT-2's GELU: y = x (1 + t) / 2 with t = tanh(K (x + C x^3)); t is kept for the
   backward, whose derivative is (1 + t) / 2 + x (1 - t^2) K (1 + 3 C x^2) / 2 */
template <typename T> NB_FN void gelu_tanh_elem(T x, T* y, T* t) {
    T u = nb_tanh(T(NB_GELU_K) * x * (T(1) + T(NB_GELU_C) * x * x));
    *t = u;
    *y = T(0.5) * x * (T(1) + u);
}
template <typename T> NB_FN T gelu_tanh_grad_elem(T x, T t) {
    return T(0.5) * (T(1) + t)
        + T(0.5 * NB_GELU_K) * x * (T(1) - t * t) * (T(1) + T(3 * NB_GELU_C) * x * x);
}
/* the exact GELU x Phi(x) and its derivative Phi(x) + x phi(x) */
template <typename T> NB_FN T gelu_erf_elem(T x) {
    return T(0.5) * x * (T(1) + nb_erf(x * T(NB_SQRT1_2)));
}
template <typename T> NB_FN T gelu_erf_grad_elem(T x) {
    return T(0.5) * (T(1) + nb_erf(x * T(NB_SQRT1_2)))
        + x * T(NB_INV_SQRT_2PI) * nb_exp(T(-0.5) * x * x);
}
/* SiLU x s(x) and its derivative s (1 + x (1 - s)) */
template <typename T> NB_FN T sigmoid_elem(T x) { return T(1) / (T(1) + nb_exp(-x)); }
template <typename T> NB_FN T silu_elem(T x) { return x * sigmoid_elem(x); }
template <typename T> NB_FN T silu_grad_elem(T x) {
    T s = sigmoid_elem(x);
    return s * (T(1) + x * (T(1) - s));
}
/* One Adam/AdamW step of one element, in the order of nabla.optim.Adam on the CPU:
   flags: 1 maximize, 2 decoupled weight decay (AdamW), 4 amsgrad */
template <typename T> NB_FN void adam_elem(T* p, T g, T* m, T* v, T* vmax, T lr, T wd,
                                            T beta1, T beta2, T eps, T step_size,
                                            T bc2_sqrt, int flags) {
    if (flags & 1) g = -g;
    if (wd != T(0)) {
        if (flags & 2) *p *= T(1) - lr * wd;
        else g = g + wd * *p;
    }
    T w = T(1) - beta1;                          /* lerp(m, g, 1 - beta1) as PyTorch rounds it */
    if (w < T(0.5)) *m += w * (g - *m);
    else *m = g - (g - *m) * (T(1) - w);
    *v = *v * beta2 + (T(1) - beta2) * g * g;
    T second = *v;
    if (flags & 4) { *vmax = nb_max(*vmax, *v); second = *vmax; }
    *p += (-step_size * *m) / (nb_sqrt(second) / bc2_sqrt + eps);
}

#ifdef NB_GPU
/* ---- elementwise kernels: grid-stride loops over n elements ------------------------- */
#define NB_FOR_EACH(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

/* the type the math runs in: float for half storage, else the storage type itself */
template <typename T> struct Acc { typedef T type; };
#ifdef NB_HALF
template <> struct Acc<__half> { typedef float type; };
#endif

template <typename T>
__global__ void gelu_tanh_fwd(const T* x, T* y, T* t, long long n) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) {
        C yv, tv;
        gelu_tanh_elem(C(x[i]), &yv, &tv);
        y[i] = T(yv);
        t[i] = T(tv);
    }
}
/* d = f'(x) g, or f'(x) alone when has_g is 0 (g is then any array: CuPy passes no NULL) */
template <typename T>
__global__ void gelu_tanh_bwd(const T* x, const T* t, const T* g, T* d, long long n,
                              int has_g) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) {
        C f = gelu_tanh_grad_elem(C(x[i]), C(t[i]));
        d[i] = T(has_g ? f * C(g[i]) : f);
    }
}
template <typename T>
__global__ void gelu_erf_fwd(const T* x, T* y, long long n) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) y[i] = T(gelu_erf_elem(C(x[i])));
}
template <typename T>
__global__ void gelu_erf_bwd(const T* x, const T* g, T* d, long long n, int has_g) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) {
        C f = gelu_erf_grad_elem(C(x[i]));
        d[i] = T(has_g ? f * C(g[i]) : f);
    }
}
template <typename T>
__global__ void silu_fwd(const T* x, T* y, long long n) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) y[i] = T(silu_elem(C(x[i])));
}
template <typename T>
__global__ void silu_bwd(const T* x, const T* g, T* d, long long n, int has_g) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(i, n) {
        C f = silu_grad_elem(C(x[i]));
        d[i] = T(has_g ? f * C(g[i]) : f);
    }
}
/* vmax is read only with amsgrad (flags & 4); any array otherwise */
template <typename T>
__global__ void adam_step(T* p, const T* g, T* m, T* v, T* vmax, long long n, T lr, T wd,
                          T beta1, T beta2, T eps, T step_size, T bc2_sqrt, int flags) {
    NB_FOR_EACH(i, n) {
        T unused = T(0);
        adam_elem(&p[i], g[i], &m[i], &v[i], (flags & 4) ? &vmax[i] : &unused, lr, wd,
                  beta1, beta2, eps, step_size, bc2_sqrt, flags);
    }
}

/* ---- row kernels: one block per row; blockDim.x a multiple of 32, at most 1024 ------- */
template <typename T> __device__ __forceinline__ T nb_neg_inf();
template <> __device__ __forceinline__ float nb_neg_inf<float>() {
    return -__int_as_float(0x7f800000);
}
template <> __device__ __forceinline__ double nb_neg_inf<double>() {
    return -__longlong_as_double(0x7ff0000000000000LL);
}

/* the block's total (is_max: maximum) of one value per thread, returned to every thread */
template <typename T>
__device__ T block_reduce(T v, bool is_max) {
    __shared__ T partial[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        T other = __shfl_down_sync(0xffffffffu, v, o);
        v = is_max ? nb_max(v, other) : v + other;
    }
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T w = lane < warps ? partial[lane] : (is_max ? nb_neg_inf<T>() : T(0));
        for (int o = 16; o > 0; o >>= 1) {
            T other = __shfl_down_sync(0xffffffffu, w, o);
            w = is_max ? nb_max(w, other) : w + other;
        }
        if (lane == 0) partial[0] = w;
    }
    __syncthreads();
    T total = partial[0];
    __syncthreads();                             /* partial is free for the next call */
    return total;
}

/* y = softmax(x) or log_softmax(x) along rows of length cols */
template <typename T>
__global__ void softmax_fwd(const T* x, T* y, int cols, int log_out) {
    const T* xr = x + (long long)blockIdx.x * cols;
    T* yr = y + (long long)blockIdx.x * cols;
    T m = nb_neg_inf<T>();
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = nb_max(m, xr[i]);
    m = block_reduce(m, true);
    T s = T(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += nb_exp(xr[i] - m);
    s = block_reduce(s, false);
    if (log_out) {
        T shift = m + nb_log(s);
        for (int i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = xr[i] - shift;
    } else {
        T inv = T(1) / s;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = nb_exp(xr[i] - m) * inv;
    }
}
/* softmax: dx = y (g - sum(g y)); log_softmax: dx = g - exp(y) sum(g) */
template <typename T>
__global__ void softmax_bwd(const T* y, const T* g, T* dx, int cols, int log_out) {
    const long long base = (long long)blockIdx.x * cols;
    const T *yr = y + base, *gr = g + base;
    T* dr = dx + base;
    T s = T(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += log_out ? gr[i] : gr[i] * yr[i];
    s = block_reduce(s, false);
    for (int i = threadIdx.x; i < cols; i += blockDim.x)
        dr[i] = log_out ? gr[i] - nb_exp(yr[i]) * s : yr[i] * (gr[i] - s);
}
/* layer norm of rows with weight w and bias b: y, x_hat and rstd per row */
template <typename T>
__global__ void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* x_hat, T* rstd,
                               int cols, T eps) {
    const long long base = (long long)blockIdx.x * cols;
    const T* xr = x + base;
    T s = T(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += xr[i];
    const T mean = block_reduce(s, false) / T(cols);
    T q = T(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        T c = xr[i] - mean;
        q += c * c;
    }
    const T r = T(1) / nb_sqrt(block_reduce(q, false) / T(cols) + eps);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        T h = (xr[i] - mean) * r;
        x_hat[base + i] = h;
        y[base + i] = h * w[i] + b[i];
    }
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}
/* dx = rstd (g w - mean(g w) - x_hat mean(g w x_hat)) */
template <typename T>
__global__ void layer_norm_bwd(const T* g, const T* x_hat, const T* rstd, const T* w, T* dx,
                               int cols) {
    const long long base = (long long)blockIdx.x * cols;
    const T *gr = g + base, *hr = x_hat + base;
    T s1 = T(0), s2 = T(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        T gw = gr[i] * w[i];
        s1 += gw;
        s2 += gw * hr[i];
    }
    const T m1 = block_reduce(s1, false) / T(cols);
    const T m2 = block_reduce(s2, false) / T(cols);
    const T r = rstd[blockIdx.x];
    for (int i = threadIdx.x; i < cols; i += blockDim.x)
        dx[base + i] = (gr[i] * w[i] - m1 - hr[i] * m2) * r;
}
#endif
"""

KERNELS = ("gelu_tanh_fwd", "gelu_tanh_bwd", "gelu_erf_fwd", "gelu_erf_bwd", "silu_fwd",
           "silu_bwd", "adam_step", "softmax_fwd", "softmax_bwd", "layer_norm_fwd",
           "layer_norm_bwd")
#: the elementwise kernels, which also come in float16 (math in float): under autocast a
#: GELU or SiLU follows a float16 matmul
HALF_KERNELS = KERNELS[:6]
_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_HALF = np.dtype(np.float16)
_THREADS = 256
_MAX_BLOCKS = 65535 * 4
_modules: dict = {}  # (device, half) -> RawModule, or None where it failed to build


def enabled() -> bool:
    from .backends import cuda
    return cuda.fused_kernels


def usable(*arrays, half: bool = False) -> bool:
    """Whether the kernels take these arrays: CuPy arrays of one dtype, float32 or float64
    (or float16 where ``half``, for the elementwise kernels), with the switch on and the
    kernels built for the current device."""
    cp = backend._cupy
    if cp is None or not enabled():
        return False
    dtype = arrays[0].dtype
    if not (dtype in _CTYPES or (half and dtype == _HALF)):
        return False
    if not all(isinstance(a, cp.ndarray) and a.dtype == dtype for a in arrays):
        return False
    return _module(dtype == _HALF) is not None


def _module(half: bool):
    """The compiled kernels (``half``: the float16 elementwise ones) for the current device,
    built by NVRTC on first use; None, after one warning, where the build fails, so the ops
    keep their composed form."""
    cp = backend._cupy
    key = (cp.cuda.Device().id, half)
    if key not in _modules:
        if half:
            code = "#define NB_HALF 1\n#include <cuda_fp16.h>\n" + SOURCE
            expressions = [f"{k}<__half>" for k in HALF_KERNELS]
        else:
            code = SOURCE
            expressions = [f"{k}<{t}>" for k in KERNELS for t in _CTYPES.values()]
        try:
            module = cp.RawModule(code=code, options=("--std=c++14",),
                                  name_expressions=expressions)
            module.get_function(expressions[0])  # compiles the whole module now
        except Exception as err:  # noqa: BLE001  (NVRTC and driver errors have many types)
            import warnings
            warnings.warn(f"nabla.kernels: the fused CUDA kernels{' (float16)' if half else ''} "
                          f"failed to build ({type(err).__name__}: {err}); the ops use their "
                          f"composed CuPy form", RuntimeWarning, stacklevel=3)
            module = None
        _modules[key] = module
    return _modules[key]


def _function(name: str, dtype):
    """The compiled ``name<T>`` for the current device."""
    half = np.dtype(dtype) == _HALF
    ctype = "__half" if half else _CTYPES[np.dtype(dtype)]
    return _module(half).get_function(f"{name}<{ctype}>")


def _flat(cp, a):
    return cp.ascontiguousarray(a).reshape(-1)


def _elementwise(name: str, n: int, dtype, *args) -> None:
    if n == 0:
        return
    blocks = min((n + _THREADS - 1) // _THREADS, _MAX_BLOCKS)
    _function(name, dtype)((blocks,), (_THREADS,), args)


def _row_threads(cols: int) -> int:
    """Threads per row: one warp at least, 1024 at most, about one per element below."""
    return min(1024, max(32, (cols + 31) // 32 * 32))


# -- the kernels as array functions ------------------------------------------------------------
def gelu_tanh(x):
    """(y, t) of the tanh GELU, t = tanh(K (x + C x^3)) kept for the backward."""
    cp = backend._cupy
    xf = _flat(cp, x)
    y, t = cp.empty_like(xf), cp.empty_like(xf)
    _elementwise("gelu_tanh_fwd", xf.size, x.dtype, xf, y, t, np.int64(xf.size))
    return y.reshape(x.shape), t.reshape(x.shape)


def gelu_tanh_grad(x, t, g=None):
    """The tanh GELU's derivative from the forward's t, times g when given."""
    cp = backend._cupy
    xf, tf = _flat(cp, x), _flat(cp, t)
    gf = xf if g is None else _flat(cp, g)
    out = cp.empty_like(xf)
    _elementwise("gelu_tanh_bwd", xf.size, x.dtype, xf, tf, gf, out, np.int64(xf.size),
                 np.int32(g is not None))
    return out.reshape(x.shape)


def _unary(name: str, x, g=None):
    cp = backend._cupy
    xf = _flat(cp, x)
    out = cp.empty_like(xf)
    if name.endswith("_fwd"):
        _elementwise(name, xf.size, x.dtype, xf, out, np.int64(xf.size))
    else:  # CuPy passes no NULL pointer: x stands in for an absent g
        _elementwise(name, xf.size, x.dtype, xf, xf if g is None else _flat(cp, g), out,
                     np.int64(xf.size), np.int32(g is not None))
    return out.reshape(x.shape)


def gelu_erf(x):
    return _unary("gelu_erf_fwd", x)


def gelu_erf_grad(x, g=None):
    return _unary("gelu_erf_bwd", x, g)


def silu(x):
    return _unary("silu_fwd", x)


def silu_grad(x, g=None):
    return _unary("silu_bwd", x, g)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr: float, weight_decay: float,
              beta1: float, beta2: float, eps: float, step_size: float, bc2_sqrt: float,
              maximize: bool, decoupled: bool) -> None:
    """One Adam/AdamW update of one parameter array in place (all arrays C-contiguous)."""
    f = param.dtype.type
    flags = int(maximize) | 2 * int(decoupled) | 4 * int(max_exp_avg_sq is not None)
    vmax = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq  # read with amsgrad only
    _elementwise("adam_step", param.size, param.dtype, param, grad, exp_avg, exp_avg_sq, vmax,
                 np.int64(param.size), f(lr), f(weight_decay), f(beta1), f(beta2), f(eps),
                 f(step_size), f(bc2_sqrt), np.int32(flags))


def _rows(cp, a):
    a = cp.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def softmax_last(x, log: bool):
    """softmax (or log_softmax) of ``x`` along its last axis."""
    cp = backend._cupy
    rows = _rows(cp, x)
    y = cp.empty_like(rows)
    n, d = rows.shape
    if n and d:
        _function("softmax_fwd", x.dtype)((n,), (_row_threads(d),),
                                          (rows, y, np.int32(d), np.int32(log)))
    return y.reshape(x.shape)


def softmax_last_grad(y, g, log: bool):
    """The input's cotangent of softmax_last from its output ``y`` and cotangent ``g``."""
    cp = backend._cupy
    yr, gr = _rows(cp, y), _rows(cp, g)
    dx = cp.empty_like(yr)
    n, d = yr.shape
    if n and d:
        _function("softmax_bwd", y.dtype)((n,), (_row_threads(d),),
                                          (yr, gr, dx, np.int32(d), np.int32(log)))
    return dx.reshape(y.shape)


def layer_norm_rows(rows, weight, bias, eps: float):
    """(y, x_hat, rstd) of layer norm over the rows (R, D) of a C-contiguous array."""
    cp = backend._cupy
    n, d = rows.shape
    y, x_hat = cp.empty_like(rows), cp.empty_like(rows)
    rstd = cp.empty(n, dtype=rows.dtype)
    if n and d:
        _function("layer_norm_fwd", rows.dtype)(
            (n,), (_row_threads(d),),
            (rows, cp.ascontiguousarray(weight), cp.ascontiguousarray(bias), y, x_hat, rstd,
             np.int32(d), rows.dtype.type(eps)))
    return y, x_hat, rstd


def layer_norm_rows_grad(g, x_hat, rstd, weight):
    """The rows' cotangent of layer_norm_rows (the parameters' are two GEMVs)."""
    cp = backend._cupy
    g = cp.ascontiguousarray(g)
    n, d = x_hat.shape
    dx = cp.empty_like(x_hat)
    if n and d:
        _function("layer_norm_bwd", g.dtype)(
            (n,), (_row_threads(d),),
            (g, x_hat, rstd, cp.ascontiguousarray(weight), dx, np.int32(d)))
    return dx
