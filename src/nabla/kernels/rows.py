"""Row kernels, one thread block per row: softmax and log-softmax over the last axis
(forward and backward), cross entropy with class indices (log-softmax and the pick in one
pass forward, softmax minus the one-hot in one pass backward) and layer norm with its
affine part (forward, and the input's gradient: the parameters' are two GEMVs)."""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
#ifdef NB_GPU
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
/* cross entropy of rows with class indices: loss = (m - x[t]) + log s (0 where
   t == ignore), with m the row's maximum and s = sum exp(x - m), both kept for the
   backward (a single lse = m + log s would round away float32 digits of large logits).
   Math, loss and statistics in Acc<T>: float for float16 logits, which are never cast. */
template <typename T>
__global__ void cross_entropy_fwd(const T* x, const long long* target,
                                  typename Acc<T>::type* loss, typename Acc<T>::type* m_out,
                                  typename Acc<T>::type* logs_out, int cols, long long ignore) {
    typedef typename Acc<T>::type C;
    const T* xr = x + (long long)blockIdx.x * cols;
    C m = nb_neg_inf<C>();
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = nb_max(m, C(xr[i]));
    m = block_reduce(m, true);
    C s = C(0);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += nb_exp(C(xr[i]) - m);
    s = block_reduce(s, false);
    if (threadIdx.x == 0) {
        const long long t = target[blockIdx.x];
        const C logs = nb_log(s);
        m_out[blockIdx.x] = m;
        logs_out[blockIdx.x] = logs;
        loss[blockIdx.x] = t == ignore ? C(0) : (m - C(xr[t])) + logs;
    }
}
/* dx = (softmax(x) - onehot(t)) g_row, g_row = g[row * g_stride] (0 where t == ignore) */
template <typename T>
__global__ void cross_entropy_bwd(const T* x, const long long* target,
                                  const typename Acc<T>::type* m_in,
                                  const typename Acc<T>::type* logs_in,
                                  const typename Acc<T>::type* g, long long g_stride, T* dx,
                                  int cols, long long ignore) {
    typedef typename Acc<T>::type C;
    const long long row = blockIdx.x, base = row * cols;
    const long long t = target[row];
    const C coef = t == ignore ? C(0) : g[row * g_stride], m = m_in[row], logs = logs_in[row];
    for (int i = threadIdx.x; i < cols; i += blockDim.x)
        dx[base + i] = T((nb_exp((C(x[base + i]) - m) - logs) - (i == t ? C(1) : C(0))) * coef);
}
#endif
"""

_build.register(SOURCE, ["softmax_fwd", "softmax_bwd", "layer_norm_fwd", "layer_norm_bwd",
                         "cross_entropy_fwd", "cross_entropy_bwd"],
                half=["cross_entropy_fwd", "cross_entropy_bwd"])



def softmax_last(x, log: bool):
    """softmax (or log_softmax) of ``x`` along its last axis."""
    cp = _build.cupy()
    rows = _build.rows(x)
    y = cp.empty_like(rows)
    n, d = rows.shape
    if n and d:
        _build.function("softmax_fwd", x.dtype)((n,), (_build.row_threads(d),),
                                          (rows, y, np.int32(d), np.int32(log)))
    return y.reshape(x.shape)


def softmax_last_grad(y, g, log: bool):
    """The input's cotangent of softmax_last from its output ``y`` and cotangent ``g``."""
    cp = _build.cupy()
    yr, gr = _build.rows(y), _build.rows(g)
    dx = cp.empty_like(yr)
    n, d = yr.shape
    if n and d:
        _build.function("softmax_bwd", y.dtype)((n,), (_build.row_threads(d),),
                                          (yr, gr, dx, np.int32(d), np.int32(log)))
    return dx.reshape(y.shape)


def layer_norm_rows(rows, weight, bias, eps: float):
    """(y, x_hat, rstd) of layer norm over the rows (R, D) of a C-contiguous array."""
    cp = _build.cupy()
    n, d = rows.shape
    y, x_hat = cp.empty_like(rows), cp.empty_like(rows)
    rstd = cp.empty(n, dtype=rows.dtype)
    if n and d:
        _build.function("layer_norm_fwd", rows.dtype)(
            (n,), (_build.row_threads(d),),
            (rows, cp.ascontiguousarray(weight), cp.ascontiguousarray(bias), y, x_hat, rstd,
             np.int32(d), rows.dtype.type(eps)))
    return y, x_hat, rstd


def layer_norm_rows_grad(g, x_hat, rstd, weight):
    """The rows' cotangent of layer_norm_rows (the parameters' are two GEMVs)."""
    cp = _build.cupy()
    g = cp.ascontiguousarray(g)
    n, d = x_hat.shape
    dx = cp.empty_like(x_hat)
    if n and d:
        _build.function("layer_norm_bwd", g.dtype)(
            (n,), (_build.row_threads(d),),
            (g, x_hat, rstd, cp.ascontiguousarray(weight), dx, np.int32(d)))
    return dx


def cross_entropy_rows(x, target, ignore_index: int):
    """(loss (M,), (m, log s) per row) of logit rows x (M, C) and class indices (M,), in
    float32 for float16 logits."""
    cp = _build.cupy()
    x = cp.ascontiguousarray(x)
    target = cp.ascontiguousarray(target, dtype=np.int64)
    n, d = x.shape
    loss, m, logs = (cp.empty(n, dtype=_build.acc_dtype(x.dtype)) for _ in range(3))
    if n and d:
        _build.function("cross_entropy_fwd", x.dtype)(
            (n,), (_build.row_threads(d),),
            (x, target, loss, m, logs, np.int32(d), np.int64(ignore_index)))
    return loss, (m, logs)


def cross_entropy_rows_grad(x, target, stats, g, ignore_index: int):
    """x's cotangent of cross_entropy_rows' per-row loss from its ``stats`` and that loss's
    cotangent ``g``: one per row (M,), or one for all rows (a single element)."""
    cp = _build.cupy()
    x = cp.ascontiguousarray(x)
    target = cp.ascontiguousarray(target, dtype=np.int64)
    g = cp.ascontiguousarray(g, dtype=_build.acc_dtype(x.dtype)).reshape(-1)
    n, d = x.shape
    dx = cp.empty_like(x)
    if n and d:
        _build.function("cross_entropy_bwd", x.dtype)(
            (n,), (_build.row_threads(d),),
            (x, target, *stats, g, np.int64(g.size > 1), dx, np.int32(d),
             np.int64(ignore_index)))
    return dx
