"""The Adam/AdamW update in one kernel (amsgrad and maximize included), in the order of
operations of ``nabla.optim.Adam`` on the CPU: of one parameter tensor (``adam_step``), or
of many tensors at once (``adam_multi``, PyTorch's "multi-tensor apply"): a GPT-2 has
about 150 parameter tensors, and one launch for all of them saves the Python and launch
cost of the other 149 every step. ``adam_multi`` reads the tensors' addresses from a
small device table (one column per tensor: parameter, gradient, the two moments, the
amsgrad maximum), which is cached while the addresses stay the same."""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
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
/* Many tensors in one launch: grid (chunks, tensors); table (5, count) holds the addresses
   of each tensor's parameter, gradient, exp_avg, exp_avg_sq and max_exp_avg_sq (read with
   amsgrad only), sizes (count) their lengths. A block strides over its tensor. */
template <typename T>
__global__ void adam_multi(const long long* table, const long long* sizes, int count, T lr,
                           T wd, T beta1, T beta2, T eps, T step_size, T bc2_sqrt, int flags) {
    const int k = blockIdx.y;
    const long long n = sizes[k];
    T* p = (T*)table[k];
    const T* g = (const T*)table[count + k];
    T* m = (T*)table[2 * count + k];
    T* v = (T*)table[3 * count + k];
    T* vmax = (T*)table[4 * count + k];
    NB_FOR_EACH(i, n) {
        T unused = T(0);
        adam_elem(&p[i], g[i], &m[i], &v[i], (flags & 4) ? &vmax[i] : &unused, lr, wd,
                  beta1, beta2, eps, step_size, bc2_sqrt, flags);
    }
}
#endif
"""

_build.register(SOURCE, ["adam_step", "adam_multi"])
_MAX_TENSORS = 65535   # grid.y
_tables: dict = {}     # the last addresses -> their device table (one entry per dtype)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr: float, weight_decay: float,
              beta1: float, beta2: float, eps: float, step_size: float, bc2_sqrt: float,
              maximize: bool, decoupled: bool) -> None:
    """One Adam/AdamW update of one parameter array in place (all arrays C-contiguous)."""
    f = param.dtype.type
    vmax = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq  # read with amsgrad only
    _build.elementwise("adam_step", param.size, param.dtype, param, grad, exp_avg, exp_avg_sq,
                       vmax, np.int64(param.size), f(lr), f(weight_decay), f(beta1), f(beta2),
                       f(eps), f(step_size), f(bc2_sqrt),
                       _flags(maximize, decoupled, max_exp_avg_sq is not None))


def _flags(maximize: bool, decoupled: bool, amsgrad: bool) -> np.int32:
    return np.int32(int(maximize) | 2 * int(decoupled) | 4 * int(amsgrad))


def adam_multi(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, lr: float,
               weight_decay: float, beta1: float, beta2: float, eps: float, step_size: float,
               bc2_sqrt: float, maximize: bool, decoupled: bool) -> None:
    """One Adam/AdamW update of many parameter arrays in place, in one launch per 65,535
    tensors: lists of C-contiguous arrays of one dtype (``max_exp_avg_sqs`` None without
    amsgrad), every tensor at the same step (``step_size`` and ``bc2_sqrt`` are shared)."""
    cp = _build.cupy()
    dtype = params[0].dtype
    f = dtype.type
    amsgrad = max_exp_avg_sqs is not None
    for start in range(0, len(params), _MAX_TENSORS):
        part = slice(start, start + _MAX_TENSORS)
        columns = [params[part], grads[part], exp_avgs[part], exp_avg_sqs[part],
                   (max_exp_avg_sqs or exp_avg_sqs)[part]]  # read with amsgrad only
        addresses = tuple(_build.address(a) for column in columns for a in column)
        sizes = tuple(a.size for a in columns[0])
        key = (dtype, addresses, sizes)
        if key not in _tables:
            _tables.clear()  # the addresses of one step: the next step usually repeats them
            _tables[key] = (cp.asarray(np.array(addresses, dtype=np.int64)),
                            cp.asarray(np.array(sizes, dtype=np.int64)), max(sizes, default=0))
        table, sizes, largest = _tables[key]
        count = len(columns[0])
        if largest == 0:
            continue
        chunks = min(-(-largest // _build.THREADS), 1024)
        _build.function("adam_multi", dtype)(
            (chunks, count), (_build.THREADS,),
            (table, sizes, np.int32(count), f(lr), f(weight_decay), f(beta1), f(beta2), f(eps),
             f(step_size), f(bc2_sqrt), _flags(maximize, decoupled, amsgrad)))
