"""Adagrad: per-coordinate step sizes from accumulated squared gradients (Duchi et al. 2011)."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, ParamsT


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10)``.

    With ``g = grad + weight_decay * p`` (negated when ``maximize``) and step ``t``::

        s += g * g                      (s starts at initial_accumulator_value)
        p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    step for step as ``torch.optim.Adagrad``. One deliberate difference: a
    parameter group's own ``initial_accumulator_value`` is honoured (PyTorch
    fills every group's accumulator with the constructor's value).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        self._check_number(options, "lr_decay", low=0.0)
        self._check_number(options, "weight_decay", low=0.0)
        self._check_number(options, "initial_accumulator_value", low=0.0)
        self._check_number(options, "eps", low=0.0)

    def init_single(self, param, state: dict, group: dict) -> None:
        state["step"] = 0
        state["sum"] = self._zeros_like(param)
        state["sum"].array[...] = group["initial_accumulator_value"]

    def apply_single(self, grad, param, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"].array
        state_sum += grad * grad
        std = xp.sqrt(state_sum)
        std += group["eps"]
        param += (-clr * grad) / std
