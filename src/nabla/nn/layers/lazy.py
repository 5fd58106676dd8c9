"""Lazy layers: ``LazyLinear``, ``LazyConv1d/2d/3d``, ``LazyConvTranspose1d/2d/3d``,
``LazyBatchNorm1d/2d/3d``, ``LazyInstanceNorm1d/2d/3d``.

A lazy layer is built without its input size (``in_features``, ``in_channels``,
``num_features``): its parameters and buffers are ``UninitializedParameter`` /
``UninitializedBuffer`` placeholders until the first forward, which reads the
size off the input, gives them their shapes and the non-lazy layer's default
initialisation, and turns the module into that layer (``LazyLinear`` becomes
``Linear``), as in PyTorch. The placeholders become real tensors in place, so
anything that held them (an optimizer) holds the real ones afterwards.
``load_state_dict`` into a lazy layer takes the shapes from the checkpoint.
"""
from __future__ import annotations

from itertools import chain

from ... import backend
from ...autograd.grad_mode import no_grad
from ...ops.creation import tensor
from ...tensor import Tensor
from ..module import Module
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,
                            InstanceNorm2d, InstanceNorm3d)


class LazyModuleMixin:
    """Shape inference at the first call: ``initialize_parameters(*inputs)`` materializes
    the placeholders, then the module becomes ``cls_to_become``."""

    cls_to_become: type | None = None

    def __call__(self, *args, **kwargs):
        self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become
        return Module.__call__(self, *args, **kwargs)  # hooks and forward, as any module

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        return any(is_lazy(t) for t in chain(self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def _materialize(self, shapes: dict) -> bool:
        """Give every placeholder its shape from ``shapes`` (name -> shape) and the non-lazy
        layer's initial values. False when there were none left (``load_state_dict``
        materialized them all)."""
        tensors = {n: t for n, t in chain(self._parameters.items(), self._buffers.items())
                   if t is not None and n in shapes}
        lazy = [n for n, t in tensors.items() if is_lazy(t)]
        if not lazy:
            return False
        if len(lazy) < len(tensors):
            loaded = [n for n in tensors if n not in lazy]
            raise RuntimeError(f"{type(self).__name__}: {', '.join(loaded)} came from "
                               f"load_state_dict but {', '.join(lazy)} did not; load all of "
                               f"them or none before the first forward")
        with no_grad():
            for name in lazy:
                tensors[name].materialize(shapes[name])
            self.reset_parameters()
        return True


def _check_rank(layer, input, ranks, layout: str) -> None:
    """The first input of a lazy ``layer`` must be a Tensor of one of ``ranks``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{layer._head()}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in ranks:
        raise RuntimeError(f"{layer._head()}: expected an input of shape {layout} to infer "
                           f"its size from, got {tuple(input.shape)}")


# -- linear ------------------------------------------------------------------------------------
class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dimension of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, 0, False)
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        any_rank = range(1, 1 + getattr(input, "ndim", 0))  # every rank but 0
        _check_rank(self, input, any_rank, "(*, in_features)")
        self.in_features = input.shape[-1]
        shapes = {"weight": (self.out_features, self.in_features),
                  "bias": (self.out_features,)}
        if not self._materialize(shapes):  # loaded: the weight has the size
            self.in_features = self.weight.shape[1]


# -- convolution -------------------------------------------------------------------------------
class _LazyConvMixin(LazyModuleMixin):
    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        nd = self._nd
        spatial = ("L", "H, W", "D, H, W")[nd - 1]
        _check_rank(self, input, (nd + 1, nd + 2), f"(N, C_in, {spatial}) or (C_in, {spatial})")
        c = input.shape[input.ndim - nd - 1]
        if c % self.groups:
            raise ValueError(f"{self._head()}: in_channels ({c}), inferred from the input of "
                             f"shape {tuple(input.shape)}, must be divisible by groups "
                             f"({self.groups})")
        self.in_channels = c
        g, out, k = self.groups, self.out_channels, self.kernel_size
        weight = (c, out // g) + k if self._transposed else (out, c // g) + k
        if not self._materialize({"weight": weight, "bias": (out,)}):
            shape = self.weight.shape  # loaded: the weight has the size
            self.in_channels = shape[0] if self._transposed else shape[1] * g


def _lazy_conv_init(module, bias: bool, device, dtype) -> None:
    """Replace the zero-sized weight (and the absent bias) by placeholders."""
    module.weight = UninitializedParameter(device=device, dtype=dtype)
    if bias:
        module.bias = UninitializedParameter(device=device, dtype=dtype)


class _LazyConv(_LazyConvMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups,
                         False, padding_mode)
        _lazy_conv_init(self, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """``Conv1d`` whose ``in_channels`` is read off its first input (N, C_in, L)."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """``Conv2d`` whose ``in_channels`` is read off its first input (N, C_in, H, W)."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """``Conv3d`` whose ``in_channels`` is read off its first input (N, C_in, D, H, W)."""
    cls_to_become = Conv3d


class _LazyConvTranspose(_LazyConvMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding,
                         groups, False, dilation, padding_mode)
        _lazy_conv_init(self, bias, device, dtype)


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is read off its first input (N, C_in, L)."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is read off its first input
    (N, C_in, H, W)."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` is read off its first input
    (N, C_in, D, H, W)."""
    cls_to_become = ConvTranspose3d


# -- normalization -----------------------------------------------------------------------------
class _LazyNorm(LazyModuleMixin):
    """Batch or instance norm whose ``num_features`` is the input's channel count.

    As in PyTorch, the defaults are ``affine=True, track_running_stats=True`` for
    the lazy instance norms too.
    """

    _unbatched_rank: int | None = None  # instance norms also take (C, *spatial)

    def __init__(self, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True):
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats, self._bias = affine, track_running_stats, bias
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=backend.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        layouts = " or ".join(self._layouts[nd] for nd in sorted(self._layouts))
        _check_rank(self, input, tuple(self._layouts), layouts)
        c = input.shape[0 if input.ndim == self._unbatched_rank else 1]
        self.num_features = c
        shapes = {name: (c,) for name in ("weight", "bias", "running_mean", "running_var")}
        if not self._materialize(shapes):  # loaded (or nothing to load): keep their size
            held = self.weight if self.weight is not None else self.running_mean
            if held is not None:
                self.num_features = held.shape[0]


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is read off its first input (N, C) or
    (N, C, L)."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is read off its first input (N, C, H, W)."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` is read off its first input (N, C, D, H, W)."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` is read off its first input (N, C, L) or
    (C, L)."""
    cls_to_become = InstanceNorm1d
    _unbatched_rank = 2


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` is read off its first input (N, C, H, W) or
    (C, H, W)."""
    cls_to_become = InstanceNorm2d
    _unbatched_rank = 3


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` is read off its first input (N, C, D, H, W)
    or (C, D, H, W)."""
    cls_to_become = InstanceNorm3d
    _unbatched_rank = 4


__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm3d"]
