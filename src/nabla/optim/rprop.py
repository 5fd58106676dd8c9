"""Rprop: resilient backpropagation, step sizes driven by gradient signs (Riedmiller & Braun 1993)."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, ParamsT


class Rprop(Optimizer):
    """``Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))``.

    Each coordinate keeps its own step size ``s`` (starting at ``lr``) and the
    previous gradient ``prev``. With ``g = grad`` (negated when ``maximize``)::

        g * prev > 0:  s = min(s * etaplus, max_step)
        g * prev < 0:  s = max(s * etaminus, min_step);  g = 0  (no move, no memory)
        otherwise:     s unchanged
        p -= sign(g) * s;  prev = g

    Only the gradient's sign is used, never its size; ``lr`` is read once, when a
    parameter's step sizes are created, as in PyTorch. Matches ``torch.optim.Rprop``
    step for step; ``foreach``, ``capturable`` and ``differentiable`` are accepted and
    ignored.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        name = type(self).__name__
        options["etas"] = _pair(options["etas"], "etas", "(etaminus, etaplus)", name)
        options["step_sizes"] = _pair(options["step_sizes"], "step_sizes",
                                      "(min_step, max_step)", name)
        etaminus, etaplus = options["etas"]
        self._check_number(options, "etas", value=etaminus, label="etas[0]")
        self._check_number(options, "etas", value=etaplus, label="etas[1]")
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"{name}: invalid etas {options['etas']!r}: expected "
                             f"0 < etaminus < 1 < etaplus")
        low, high = options["step_sizes"]
        self._check_number(options, "step_sizes", low=0.0, value=low, label="step_sizes[0]")
        self._check_number(options, "step_sizes", low=low, value=high, label="step_sizes[1]")

    def init_single(self, param, state: dict, group: dict) -> None:
        state["step"] = 0
        state["prev"] = self._zeros_like(param)
        state["step_size"] = self._zeros_like(param)
        state["step_size"].array[...] = group["lr"]

    def apply_single(self, grad, param, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        etaminus, etaplus = group["etas"]
        min_step, max_step = group["step_sizes"]
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        prev, step_size = state["prev"].array, state["step_size"].array
        agreement = grad * prev
        flipped = agreement < 0
        one = step_size.dtype.type(1)
        factor = xp.where(agreement > 0, step_size.dtype.type(etaplus),
                          xp.where(flipped, step_size.dtype.type(etaminus), one))
        step_size *= factor
        # clamp in the state's dtype: bounds rounded as PyTorch rounds its scalars
        xp.maximum(step_size, step_size.dtype.type(min_step), out=step_size)
        xp.minimum(step_size, step_size.dtype.type(max_step), out=step_size)
        # after a sign change the coordinate rests this step and forgets its gradient
        grad = xp.where(flipped, grad.dtype.type(0), grad)
        param -= xp.sign(grad) * step_size
        prev[...] = grad


def _pair(value, option: str, meaning: str, name: str) -> tuple:
    """``value`` as a tuple of two (a JSON round trip returns lists)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name}: {option} must be a pair {meaning}, got {value!r}")
    return tuple(value)
