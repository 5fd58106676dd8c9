"""The Adam/AdamW update of one parameter tensor in one kernel (amsgrad and maximize
included), in the order of operations of ``nabla.optim.Adam`` on the CPU."""
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
#endif
"""

_build.register(SOURCE, ["adam_step"])


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr: float, weight_decay: float,
              beta1: float, beta2: float, eps: float, step_size: float, bc2_sqrt: float,
              maximize: bool, decoupled: bool) -> None:
    """One Adam/AdamW update of one parameter array in place (all arrays C-contiguous)."""
    f = param.dtype.type
    flags = int(maximize) | 2 * int(decoupled) | 4 * int(max_exp_avg_sq is not None)
    vmax = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq  # read with amsgrad only
    _build.elementwise("adam_step", param.size, param.dtype, param, grad, exp_avg, exp_avg_sq, vmax,
                 np.int64(param.size), f(lr), f(weight_decay), f(beta1), f(beta2), f(eps),
                 f(step_size), f(bc2_sqrt), np.int32(flags))
