"""The recurrent cells' pointwise step (LSTM, GRU, vanilla RNN), forward and backward, as
one kernel each.

``Recurrence`` (``nabla.ops.recurrent``) runs a layer's time loop on arrays: per step one
GEMM and the cell's pointwise math. On a GPU that math is about ten small kernels a step
forward and fifteen backward, each a launch from Python, which for a char LSTM costs more
than the GEMMs themselves; here each direction of a step is one launch, one thread per
(batch row, hidden unit) reading and writing its four gates.

Forward, per unit: the pre-activations a = (h_{t-1} W_hh^T, already in ``gates``) + xw_t
(+ b_hh), then i, f, o = sigmoid and g = tanh of their blocks (written back over
``gates``, which the backward reads), c = f c_{t-1} + i g, tanh(c) (kept) and
h = o tanh(c). Backward, from the cotangents dh and dc of the step's states:
dc' = dc + dh o (1 - tanh(c)^2), the gates' pre-activation cotangents
(dc' g i(1-i), dc' c_{t-1} f(1-f), dc' i (1-g^2), dh tanh(c) o(1-o)) and dc_{t-1} = dc' f;
the GEMM dh_{t-1} = da W_hh stays in the caller. The GRU's (PyTorch's variant, the reset
gate applied after the recurrent GEMM) likewise, its per-unit equations beside the kernels.
Also in float16 (math in float): under autocast the recurrence runs in float16.
"""
from __future__ import annotations

import numpy as np

from . import _build

SOURCE = r"""
#ifdef NB_GPU
template <typename C> __device__ __forceinline__ C nb_sigmoid(C x) {
    return C(1) / (C(1) + nb_exp(-x));
}

/* one thread per unit (row, j) of a (batch, hidden) step; gates rows are 4 hidden wide */
template <typename T>
__global__ void lstm_cell_fwd(T* gates, const T* xw, const T* bias, const T* c_prev, T* c,
                              T* tanh_c, T* h, long long n, int hidden, int has_bias) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const long long row = u / hidden, j = u - row * hidden, base = row * 4 * hidden + j;
        C a[4];
        for (int k = 0; k < 4; ++k) {
            const long long at = base + k * hidden;
            a[k] = C(gates[at]) + C(xw[at]) + (has_bias ? C(bias[at]) : C(0));
        }
        const C i = nb_sigmoid(a[0]), f = nb_sigmoid(a[1]), g = nb_tanh(a[2]),
                o = nb_sigmoid(a[3]);
        gates[base] = T(i);
        gates[base + hidden] = T(f);
        gates[base + 2 * hidden] = T(g);
        gates[base + 3 * hidden] = T(o);
        const C cv = f * C(c_prev[u]) + i * g, tc = nb_tanh(cv);
        c[u] = T(cv);
        tanh_c[u] = T(tc);
        h[u] = T(o * tc);
    }
}

/* da (batch, 4 hidden): the pre-activations' cotangents; dc_prev: c_{t-1}'s */
template <typename T>
__global__ void lstm_cell_bwd(const T* gates, const T* tanh_c, const T* c_prev, const T* dh,
                              const T* dc, T* da, T* dc_prev, long long n, int hidden) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const long long row = u / hidden, j = u - row * hidden, base = row * 4 * hidden + j;
        const C i = C(gates[base]), f = C(gates[base + hidden]),
                g = C(gates[base + 2 * hidden]), o = C(gates[base + 3 * hidden]);
        const C tc = C(tanh_c[u]), gh = C(dh[u]);
        const C d = C(dc[u]) + gh * o * (C(1) - tc * tc);
        da[base] = T(d * g * i * (C(1) - i));
        da[base + hidden] = T(d * C(c_prev[u]) * f * (C(1) - f));
        da[base + 2 * hidden] = T(d * i * (C(1) - g * g));
        da[base + 3 * hidden] = T(gh * tc * o * (C(1) - o));
        dc_prev[u] = T(d * f);
    }
}

/* GRU (reset after the recurrent GEMM, PyTorch's variant), one thread per unit: gh
   (B, 3 hidden) holds h_{t-1} W_hh^T; r, z = sigmoid(xw + gh (+ b)), the recurrent n term
   hn = gh_n (+ b_n) (kept), n = tanh(xw_n + r hn), h = n + z (h_{t-1} - n) */
template <typename T>
__global__ void gru_cell_fwd(const T* gh, const T* xw, const T* bias, const T* h_prev,
                             T* gates, T* hidden_n, T* h, long long n, int hidden,
                             int has_bias) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const long long row = u / hidden, j = u - row * hidden, base = row * 3 * hidden + j;
        C a[3];
        for (int k = 0; k < 3; ++k) {
            const long long at = base + k * hidden;
            a[k] = C(gh[at]) + (has_bias ? C(bias[at]) : C(0));
        }
        const C r = nb_sigmoid(C(xw[base]) + a[0]);
        const C z = nb_sigmoid(C(xw[base + hidden]) + a[1]);
        const C nv = nb_tanh(C(xw[base + 2 * hidden]) + r * a[2]);
        gates[base] = T(r);
        gates[base + hidden] = T(z);
        gates[base + 2 * hidden] = T(nv);
        hidden_n[u] = T(a[2]);
        h[u] = T(nv + z * (C(h_prev[u]) - nv));
    }
}

/* its backward from dh: dgh (B, 3 hidden), the recurrent term's cotangent (r: dn hn
   r(1-r), z: dh (h_{t-1} - n) z(1-z), n: dn r), the n part of da (dn = dh (1-z)(1-n^2);
   the r and z parts equal dgh's), and dh z, h_{t-1}'s direct share */
template <typename T>
__global__ void gru_cell_bwd(const T* gates, const T* hidden_n, const T* h_prev, const T* dh,
                             T* da, T* dgh, T* dh_direct, long long n, int hidden) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const long long row = u / hidden, j = u - row * hidden, base = row * 3 * hidden + j;
        const C r = C(gates[base]), z = C(gates[base + hidden]), nv = C(gates[base + 2 * hidden]);
        const C g = C(dh[u]), dn = g * (C(1) - z) * (C(1) - nv * nv);
        dgh[base] = T(dn * C(hidden_n[u]) * r * (C(1) - r));
        dgh[base + hidden] = T(g * (C(h_prev[u]) - nv) * z * (C(1) - z));
        dgh[base + 2 * hidden] = T(dn * r);
        da[base + 2 * hidden] = T(dn);
        dh_direct[u] = T(g * z);
    }
}

/* vanilla RNN: h = tanh(a) or relu(a), a = h_{t-1} W_hh^T (already in h) + xw (+ b), and
   its backward da = dh (1 - h^2) or dh [h > 0] */
template <typename T>
__global__ void rnn_cell_fwd(T* h, const T* xw, const T* bias, long long n, int has_bias,
                             int relu) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const C a = C(h[u]) + C(xw[u]) + (has_bias ? C(bias[u]) : C(0));
        h[u] = T(relu ? (a > C(0) ? a : C(0)) : nb_tanh(a));
    }
}
template <typename T>
__global__ void rnn_cell_bwd(const T* h, const T* dh, T* da, long long n, int relu) {
    typedef typename Acc<T>::type C;
    NB_FOR_EACH(u, n) {
        const C v = C(h[u]), g = C(dh[u]);
        da[u] = T(relu ? (v > C(0) ? g : C(0)) : g * (C(1) - v * v));
    }
}
#endif
"""

NAMES = ("lstm_cell_fwd", "lstm_cell_bwd", "gru_cell_fwd", "gru_cell_bwd", "rnn_cell_fwd",
         "rnn_cell_bwd")
_build.register(SOURCE, NAMES, half=NAMES)


def _ready(*arrays) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


def lstm_cell(gates, xw, bias, c_prev, c, tanh_c, h) -> bool:
    """One LSTM step's pointwise math in place (see the module notes): ``gates`` (B, 4H)
    holds h_{t-1} W_hh^T on entry and the activated gates on exit; writes c, tanh_c and
    h (B, H). ``bias`` (B, 4H) or None. False, with nothing written, where an array is
    not C-contiguous (the caller then runs its array ops)."""
    if not _ready(gates, xw, c_prev, c, tanh_c, h, *(() if bias is None else (bias,))):
        return False
    n = c.size
    _build.elementwise("lstm_cell_fwd", n, gates.dtype, gates, xw,
                       gates if bias is None else bias, c_prev, c, tanh_c, h, np.int64(n),
                       np.int32(c.shape[-1]), np.int32(bias is not None))
    return True


def lstm_cell_grad(gates, tanh_c, c_prev, dh, dc, da, dc_prev) -> bool:
    """One LSTM step's pointwise backward: da (B, 4H) and dc_prev (B, H) from the step's
    activated gates, tanh(c), c_{t-1} and the cotangents dh, dc of its states. False, with
    nothing written, where an array is not C-contiguous."""
    if not _ready(gates, tanh_c, c_prev, dh, dc, da, dc_prev):
        return False
    n = dc_prev.size
    _build.elementwise("lstm_cell_bwd", n, gates.dtype, gates, tanh_c, c_prev, dh, dc, da,
                       dc_prev, np.int64(n), np.int32(dc_prev.shape[-1]))
    return True


def gru_cell(gh, xw, bias, h_prev, gates, hidden_n, h) -> bool:
    """One GRU step's pointwise math (reset after the GEMM): from ``gh`` (B, 3H) =
    h_{t-1} W_hh^T, writes the gates r, z, n (B, 3H), the recurrent n term (B, H) and h.
    ``bias`` (B, 3H) or None. False, with nothing written, where an array is not
    C-contiguous."""
    if not _ready(gh, xw, h_prev, gates, hidden_n, h, *(() if bias is None else (bias,))):
        return False
    n = h.size
    _build.elementwise("gru_cell_fwd", n, gh.dtype, gh, xw, gh if bias is None else bias,
                       h_prev, gates, hidden_n, h, np.int64(n), np.int32(h.shape[-1]),
                       np.int32(bias is not None))
    return True


def gru_cell_grad(gates, hidden_n, h_prev, dh, da, dgh, dh_direct) -> bool:
    """One GRU step's pointwise backward: dgh (B, 3H), the n part of da (B, 3H), and
    dh_direct = dh z (B, H), h_{t-1}'s share that bypasses the GEMM. False, with nothing
    written, where an array is not C-contiguous."""
    if not _ready(gates, hidden_n, h_prev, dh, da, dgh, dh_direct):
        return False
    n = dh_direct.size
    _build.elementwise("gru_cell_bwd", n, gates.dtype, gates, hidden_n, h_prev, dh, da, dgh,
                       dh_direct, np.int64(n), np.int32(dh_direct.shape[-1]))
    return True


def rnn_cell(h, xw, bias, relu: bool) -> bool:
    """One vanilla-RNN step's pointwise math in place: ``h`` (B, H) holds h_{t-1} W_hh^T on
    entry and the new state on exit. False, with nothing written, where an array is not
    C-contiguous."""
    if not _ready(h, xw, *(() if bias is None else (bias,))):
        return False
    _build.elementwise("rnn_cell_fwd", h.size, h.dtype, h, xw, h if bias is None else bias,
                       np.int64(h.size), np.int32(bias is not None), np.int32(relu))
    return True


def rnn_cell_grad(h, dh, da, relu: bool) -> bool:
    """One vanilla-RNN step's pointwise backward: da (B, H) from the step's state h and its
    cotangent dh. False, with nothing written, where an array is not C-contiguous."""
    if not _ready(h, dh, da):
        return False
    _build.elementwise("rnn_cell_bwd", h.size, h.dtype, h, dh, da, np.int64(h.size),
                       np.int32(relu))
    return True
