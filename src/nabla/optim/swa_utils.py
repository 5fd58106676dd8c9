"""Weight averaging: ``AveragedModel`` (SWA, Izmailov et al. 2018; or an EMA), the ``SWALR``
schedule that anneals to a constant SWA learning rate, and ``update_bn`` to recompute
BatchNorm statistics for the averaged weights. As ``torch.optim.swa_utils``.

A typical run::

    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
    update_bn(loader, swa_model)
"""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.grad_mode import no_grad
from ..backend import dtype_kind, int64
from ..nn.layers.normalization import _BatchNorm
from ..nn.module import Module
from ..ops.creation import zeros
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer, _lerp_

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

AvgFn = Callable[[Tensor, Tensor, Any], Tensor]  # (averaged, current, n_averaged) -> new average
MultiAvgFn = Callable[[list, list, Any], None]  # updates the averaged list in place


def _check_decay(name: str, decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"{name}: invalid decay {decay!r}: expected 0 <= decay <= 1")


def _is_float(t: Tensor) -> bool:
    return dtype_kind(t.dtype) in "fc"


def _assign(target: Tensor, value) -> None:
    """Write ``value`` (a Tensor or array) into ``target`` in place, in ``target``'s dtype
    (a float average stored in an integer buffer truncates toward zero, as PyTorch's
    ``copy_``)."""
    array = value.array if isinstance(value, Tensor) else value
    target.array[...] = array.astype(target.dtype, copy=False)
    target._version[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """An exponential moving average over lists of tensors, in place:
    ``ema = decay * ema + (1 - decay) * current``."""
    _check_decay("get_ema_multi_avg_fn", decay)

    def ema_update(ema_params: list, current_params: list, _n_averaged) -> None:
        for ema, current in zip(ema_params, current_params):
            if _is_float(ema):
                _lerp_(ema.array, current.array, 1 - decay)
                ema._version[0] += 1
            else:
                _assign(ema, ema.array * decay + current.array * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """The equal-weight running mean over lists of tensors, in place:
    ``avg += (current - avg) / (n_averaged + 1)``."""
    def swa_update(averaged_params: list, current_params: list, n_averaged) -> None:
        n = int(n_averaged.item() if isinstance(n_averaged, Tensor) else n_averaged)
        for avg, current in zip(averaged_params, current_params):
            if _is_float(avg):
                _lerp_(avg.array, current.array, 1 / (n + 1))
                avg._version[0] += 1
            else:
                _assign(avg, avg.array + (current.array - avg.array) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """An exponential moving average of one tensor: returns
    ``decay * ema + (1 - decay) * current``."""
    _check_decay("get_ema_avg_fn", decay)

    def ema_update(ema: Tensor, current: Tensor, _n_averaged) -> Tensor:
        return decay * ema + (1 - decay) * current
    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """The equal-weight running mean of one tensor: returns
    ``avg + (current - avg) / (n_averaged + 1)``."""
    def swa_update(avg: Tensor, current: Tensor, n_averaged) -> Tensor:
        return avg + (current - avg) / (n_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """``AveragedModel(model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False)``:
    a deep copy of ``model`` (``self.module``) whose parameters are a running average of
    ``model``'s, updated by ``update_parameters(model)``.

    The first update copies ``model``'s values; each later one applies ``avg_fn``
    (``(averaged, current, n_averaged) -> new``, one tensor at a time) or
    ``multi_avg_fn`` (lists of tensors, updated in place); by default the equal-weight
    mean of all the models seen (SWA). ``n_averaged`` (an int64 buffer) counts them.
    With ``use_buffers=True`` buffers are averaged too; otherwise they are copied from
    ``model`` at each update. ``state_dict()`` keys are ``n_averaged`` and the model's
    own keys under ``module.``, as PyTorch's; the averaging functions are not saved.
    """

    def __init__(self, model: Module, device=None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a nabla.nn.Module, got "
                            f"{type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", zeros((), dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, with ``use_buffers``) into
        the average; the first call copies them."""
        with no_grad():
            pairs = self._pairs(model)
            n = int(self.n_averaged.item())
            if n == 0:
                for averaged, current in pairs:
                    _assign(averaged, current)
            elif self.multi_avg_fn is not None:
                if pairs:
                    averaged, current = zip(*pairs)
                    self.multi_avg_fn(list(averaged), list(current), self.n_averaged)
            else:  # one tensor at a time, as PyTorch on the CPU (on a GPU it lerps instead)
                avg_fn = self.avg_fn or _swa_avg_fn
                for averaged, current in pairs:
                    _assign(averaged, avg_fn(averaged, current, self.n_averaged))
            if not self.use_buffers:  # buffers follow the model, unaveraged
                for mine, theirs in zip(self.module.buffers(), model.buffers()):
                    _assign(mine, theirs.detach().to(mine.device))
            self.n_averaged += 1

    def _pairs(self, model: Module) -> list[tuple[Tensor, Tensor]]:
        """(averaged, current) for each parameter (and buffer, with ``use_buffers``), both
        detached: the averaged ones share memory with this model's, the current ones are
        on this model's device."""
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.module.parameters(), model.parameters()
        return [(a.detach(), b.detach().to(a.device)) for a, b in zip(mine, theirs)]


_swa_avg_fn = get_swa_avg_fn()  # AveragedModel's default


@no_grad()
def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm layer of ``model`` with one
    pass over ``loader`` (in training mode, each layer's ``momentum`` set to None: the
    cumulative average over all batches), then restore modes and momenta.

    A batch is a tensor, or a list/tuple whose first element is the model's input.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """``SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos")``: move each
    group's learning rate from its current value to ``swa_lr`` (one number, or one per
    group) over ``anneal_epochs`` steps, along a half cosine or a straight line, then
    hold it there. Learning rates equal ``torch.optim.swa_utils.SWALR``'s.
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float],
                 anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected a nabla.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) \
                or anneal_epochs < 0:
            raise ValueError(f"{name}: anneal_epochs must be an integer >= 0, got "
                             f"{anneal_epochs!r}")
        for lr, group in zip(_per_group(name, "swa_lr", optimizer, swa_lr),
                             optimizer.param_groups):
            group["swa_lr"] = lr
        self.anneal_epochs = anneal_epochs
        self._anneal_strategy = anneal_strategy
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_func(self) -> Callable[[float], float]:
        """The fraction of the way to ``swa_lr`` at progress ``t`` in [0, 1]."""
        return _cosine_anneal if self._anneal_strategy == "cos" else _linear_anneal

    def get_lr(self) -> list[float]:
        # Chainable: undo the previous step's blend to recover the learning rate the
        # annealing started from (whatever another scheduler left), then blend anew.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            if prev_alpha == 1:
                start = swa_lr
            else:
                start = (group["lr"] - prev_alpha * swa_lr) / (1 - prev_alpha)
            lrs.append(swa_lr * alpha + start * (1 - alpha))
        return lrs


def _linear_anneal(t: float) -> float:
    return t


def _cosine_anneal(t: float) -> float:
    return (1 - math.cos(math.pi * t)) / 2
