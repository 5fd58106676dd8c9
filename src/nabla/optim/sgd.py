"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from .optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    With ``g = grad + weight_decay * p`` (negated when ``maximize``)::

        b = g                                   on the first step
        b = momentum * b + (1 - dampening) * g  after it
        p -= lr * (g + momentum * b if nesterov else b)

    (``p -= lr * g`` when ``momentum == 0``), step for step as ``torch.optim.SGD``.
    ``foreach``, ``fused`` and ``differentiable`` are accepted for PyTorch code
    and ignored: every update is one in-place array expression per parameter.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        self._check_number(options, "momentum", low=0.0)
        self._check_number(options, "dampening")
        self._check_number(options, "weight_decay", low=0.0)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum > 0 and zero "
                             f"dampening, got momentum={options['momentum']} and "
                             f"dampening={options['dampening']}")

    def apply_single(self, grad, param, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum != 0:
            if "momentum_buffer" not in state:
                buf = self._zeros_like(param)
                buf.array[...] = grad
                state["momentum_buffer"] = buf
            else:
                buf = state["momentum_buffer"]
                buf.array *= momentum
                buf.array += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf.array if group["nesterov"] else buf.array
        param -= group["lr"] * grad
