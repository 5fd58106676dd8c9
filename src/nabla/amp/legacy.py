"""``nabla.cuda.amp``: the legacy spellings ``torch.cuda.amp.autocast`` and
``torch.cuda.amp.GradScaler``, which PyTorch deprecates in favour of ``torch.amp``.

They work as ``nabla.amp.autocast("cuda", ...)`` and ``nabla.amp.GradScaler("cuda", ...)``
and, as in PyTorch, each construction emits a FutureWarning that names the replacement.
"""
from __future__ import annotations

import types
import warnings

from .. import backend
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


class autocast(_autocast):
    """``torch.cuda.amp.autocast(enabled, dtype, cache_enabled)``: deprecated; warns."""

    def __init__(self, enabled: bool = True, dtype=backend.float16,
                 cache_enabled: bool = True):
        warnings.warn("`nabla.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`nabla.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    def __call__(self, fn):  # as a decorator: a fresh (non-legacy) context per call
        return _autocast(*self._args)(fn)


class GradScaler(_GradScaler):
    """``torch.cuda.amp.GradScaler(init_scale, ...)``: deprecated; warns."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):
        warnings.warn("`nabla.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`nabla.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


cuda_amp = types.ModuleType("nabla.cuda.amp", __doc__)
cuda_amp.autocast, cuda_amp.GradScaler = autocast, GradScaler
cuda_amp.__all__ = ["autocast", "GradScaler"]
