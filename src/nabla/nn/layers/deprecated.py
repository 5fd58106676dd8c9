"""Names PyTorch keeps for old code and deprecates: ``Container`` (use ``Module``) and
``NLLLoss2d`` (use ``NLLLoss``, which takes (N, C, H, W) input itself). Building one
warns with a ``FutureWarning``, as in PyTorch."""
from __future__ import annotations

import warnings

from ...tensor import Tensor
from ..module import Module
from .loss import NLLLoss


class Container(Module):
    """A ``Module`` holding the submodules given as keyword arguments (deprecated)."""

    def __init__(self, **modules: Module):
        warnings.warn("nn.Container is deprecated: all of its functionality is in "
                      "nn.Module; subclass that instead", FutureWarning, stacklevel=2)
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)


class NLLLoss2d(NLLLoss):
    """``NLLLoss`` under its old name for image inputs (deprecated)."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean"):
        warnings.warn("nn.NLLLoss2d is deprecated: use nn.NLLLoss, a drop-in replacement",
                      FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


__all__ = ["Container", "NLLLoss2d"]
