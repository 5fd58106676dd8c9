"""RMSprop (Hinton's lecture 6e; centered form from Graves 2013)."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, ParamsT, _lerp_


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False)``.

    With ``g = grad + weight_decay * p`` (negated when ``maximize``)::

        s = alpha * s + (1 - alpha) * g * g
        d = sqrt(s - a * a) + eps   with a = alpha * a + (1 - alpha) * g when centered,
            sqrt(s) + eps           otherwise
        b = momentum * b + g / d;  p -= lr * b     (p -= lr * g / d without momentum)

    step for step as ``torch.optim.RMSprop``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        self._check_number(options, "eps", low=0.0)
        self._check_number(options, "momentum", low=0.0)
        self._check_number(options, "weight_decay", low=0.0)
        self._check_number(options, "alpha", low=0.0)

    def init_single(self, param, state: dict, group: dict) -> None:
        state["step"] = 0
        state["square_avg"] = self._zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = self._zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = self._zeros_like(param)

    def apply_single(self, grad, param, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        alpha = group["alpha"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        state["step"] += 1
        square_avg = state["square_avg"].array
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = self._state_array(state, "grad_avg", param)
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = self._state_array(state, "momentum_buffer", param)
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param += (-group["lr"] * grad) / avg

    def _state_array(self, state: dict, key: str, param):
        """``state[key]``'s array, created as zeros when an option was switched on late."""
        if key not in state:
            state[key] = self._zeros_like(param)
        return state[key].array
