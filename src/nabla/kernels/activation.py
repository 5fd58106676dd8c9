"""GELU (tanh and erf) and SiLU: forward, and backward times the incoming gradient.

One elementwise kernel each way instead of the five to ten passes of the composed ops;
the tanh GELU's forward also keeps t = tanh(K (x + C x^3)) for its backward. These also
come in float16 (math in float): under autocast a GELU follows a float16 matmul.
"""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
#define NB_GELU_K 0.7978845608028654    /* sqrt(2 / pi) */
#define NB_GELU_C 0.044715
#define NB_SQRT1_2 0.7071067811865476    /* 1 / sqrt(2) */
#define NB_INV_SQRT_2PI 0.3989422804014327

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

#ifdef NB_GPU
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
#endif
"""

NAMES = ("gelu_tanh_fwd", "gelu_tanh_bwd", "gelu_erf_fwd", "gelu_erf_bwd", "silu_fwd",
         "silu_bwd")
_build.register(SOURCE, NAMES, half=NAMES)


def gelu_tanh(x):
    """(y, t) of the tanh GELU, t = tanh(K (x + C x^3)) kept for the backward."""
    cp = _build.cupy()
    xf = _build.flat(x)
    y, t = cp.empty_like(xf), cp.empty_like(xf)
    _build.elementwise("gelu_tanh_fwd", xf.size, x.dtype, xf, y, t, np.int64(xf.size))
    return y.reshape(x.shape), t.reshape(x.shape)


def gelu_tanh_grad(x, t, g=None):
    """The tanh GELU's derivative from the forward's t, times g when given."""
    cp = _build.cupy()
    xf, tf = _build.flat(x), _build.flat(t)
    gf = xf if g is None else _build.flat(g)
    out = cp.empty_like(xf)
    _build.elementwise("gelu_tanh_bwd", xf.size, x.dtype, xf, tf, gf, out, np.int64(xf.size),
                 np.int32(g is not None))
    return out.reshape(x.shape)


def _unary(name: str, x, g=None):
    cp = _build.cupy()
    xf = _build.flat(x)
    out = cp.empty_like(xf)
    if name.endswith("_fwd"):
        _build.elementwise(name, xf.size, x.dtype, xf, out, np.int64(xf.size))
    else:  # CuPy passes no NULL pointer: x stands in for an absent g
        _build.elementwise(name, xf.size, x.dtype, xf, xf if g is None else _build.flat(g), out,
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
