"""Adafactor: adaptive steps from a factored second moment (Shazeer & Stern 2018), in the
form of ``torch.optim.Adafactor`` (no first moment, relative step sizes, update clipping)."""
from __future__ import annotations

import numpy as np

from ..backend import finfo, get_array_module
from .optimizer import Optimizer, ParamsT, _lerp_


class Adafactor(Optimizer):
    """``Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0)``.

    With ``g = grad`` (negated when ``maximize``), step ``t`` and ``eps = (eps1, eps2)``
    (``eps1=None``: the machine epsilon of the parameter's dtype)::

        beta = t ** beta2_decay                   (the weight of the new gradient)
        rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, rms(p)) * rho           (a step relative to the parameter's size)
        p *= 1 - lr * weight_decay
        v = lerp(v, g * g, beta)                  for 0-D and 1-D parameters, else factored
                                                  over the last two dims (..., R, C):
            r = lerp(r, mean(g * g, -1), beta)    (..., R, 1)
            c = lerp(c, mean(g * g, -2), beta)    (..., 1, C)
            v = r * c / max(mean(r, -2), eps1)    (..., R, C), never stored
        u = g / sqrt(max(v, eps1 ** 2))
        p -= alpha / max(1, rms(u) / d) * u

    State: ``step``, and ``variance`` (1-D) or ``row_var`` and ``col_var`` (factored),
    named as PyTorch's. Matches ``torch.optim.Adafactor`` step for step; ``foreach``
    is accepted and ignored.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        name = type(self).__name__
        self._check_number(options, "beta2_decay", high=0.0)
        eps = options["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"{name}: eps must be a pair (eps1, eps2) with eps1 a number "
                             f"or None, got {eps!r}")
        options["eps"] = tuple(eps)
        if eps[0] is not None:
            self._check_number(options, "eps", low=0.0, value=eps[0], label="eps[0]")
        self._check_number(options, "eps", low=0.0, value=eps[1], label="eps[1]")
        self._check_number(options, "d", low=1.0)
        self._check_number(options, "weight_decay", low=0.0)

    def init_single(self, param, state: dict, group: dict) -> None:
        state["step"] = 0
        if param.ndim > 1:  # one row factor (..., R, 1) and one column factor (..., 1, C)
            state["row_var"] = self._zeros_like(param[..., :1])
            state["col_var"] = self._zeros_like(param[..., :1, :])
        else:
            state["variance"] = self._zeros_like(param)

    def apply_single(self, grad, param, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        dtype = param.dtype.type
        lr = group["lr"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(finfo(param.dtype).eps)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = float(state["step"])
        beta = step ** group["beta2_decay"]
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, _norm(param) / param.size ** 0.5) * rho  # before the decay below
        if group["weight_decay"] != 0:
            param[...] = _wide(param) * (1 - lr * group["weight_decay"])

        if grad.ndim > 1:
            row_var, col_var = state["row_var"].array, state["col_var"].array
            _rounded_lerp_(row_var, _mean_square(grad, -1), beta)
            _rounded_lerp_(col_var, _mean_square(grad, -2), beta)
            row_mean = _mean(row_var, -2)  # (..., 1, 1)
            xp.maximum(row_mean, dtype(eps1), out=row_mean)
            var_estimate = row_var * col_var  # (..., R, 1) x (..., 1, C): the outer product
            var_estimate /= row_mean
        else:
            variance = state["variance"].array
            _rounded_lerp_(variance, grad * grad, beta)
            var_estimate = variance.copy()
        # eps1 squared: the square root below brings it back to eps1's scale
        xp.maximum(var_estimate, dtype(eps1 * eps1), out=var_estimate)
        update = (1 / xp.sqrt(_wide(var_estimate))).astype(param.dtype, copy=False)
        update *= grad
        denom = max(1.0, _norm(update) / (update.size ** 0.5 * group["d"]))
        param[...] = _wide(param) + (-alpha / denom) * _wide(update)


# bfloat16 and float16 parameters: each step of the update is computed in float32 and
# rounded once to the parameter's dtype, as PyTorch's kernels do; the scalars (decay,
# lerp weight, step size) are never rounded to the low-precision dtype.
def _wide(x):
    """``x`` in float32 when its dtype is narrower, else ``x`` itself (no copy)."""
    return x.astype(np.promote_types(x.dtype, np.float32), copy=False)


def _rounded_lerp_(start, end, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded once to ``start``'s dtype."""
    if start.dtype.itemsize >= 4:
        _lerp_(start, end, weight)
        return
    wide = _wide(start)
    _lerp_(wide, _wide(end), weight)
    start[...] = wide


def _norm(x) -> float:
    """The 2-norm of ``x`` as a Python float: summed in float32 at least, rounded to
    ``x``'s dtype as PyTorch's ``Tensor.norm().item()``."""
    xp = get_array_module(x)
    wide = _wide(x)
    return float(xp.sqrt((wide * wide).sum()).astype(x.dtype))


def _mean_square(grad, axis: int):
    """``mean(grad ** 2, axis)`` kept as a dim of 1, computed as PyTorch's
    ``norm(grad, dim=axis) ** 2 / n``: the norm summed in float32 at least and rounded
    to ``grad``'s dtype, then squared and divided in that dtype."""
    xp = get_array_module(grad)
    wide = _wide(grad)
    norm = xp.sqrt((wide * wide).sum(axis=axis, keepdims=True)).astype(grad.dtype)
    norm *= norm
    norm /= grad.dtype.type(grad.shape[axis])
    return norm


def _mean(x, axis: int):
    """``x.mean(axis, keepdims=True)`` summed in float32 at least, in ``x``'s dtype."""
    return _wide(x).mean(axis=axis, keepdims=True).astype(x.dtype)
