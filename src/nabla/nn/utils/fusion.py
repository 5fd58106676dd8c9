"""Folding an eval-mode batch norm into the convolution or linear layer before it.

In eval mode ``BatchNorm(conv(x))`` is ``conv(x)`` scaled and shifted per output channel by
constants, so the scale can go into the weight and the shift into the bias: one layer
instead of two, with the same values (up to rounding) -- what inference exports do.
"""
from __future__ import annotations

import copy

from ...autograd.grad_mode import no_grad
from ...ops.creation import zeros_like
from ...tensor import Tensor
from ..parameter import Parameter


def _bn_scale(running_var: Tensor, eps: float, weight: Tensor | None) -> Tensor:
    """Per channel: the batch norm's weight / sqrt(running_var + eps)."""
    scale = (running_var + eps).rsqrt()
    return scale if weight is None else scale * weight


def _check_eval(fn: str, layer, bn) -> None:
    if layer.training or bn.training:
        raise RuntimeError(f"{fn}: fusing is only for eval mode; call .eval() on both layers "
                           f"(training: {type(layer).__name__}={layer.training}, "
                           f"{type(bn).__name__}={bn.training})")
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError(f"{fn}: the batch norm must track running statistics "
                           f"(track_running_stats=True) to be fused")


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor,
                         bn_eps: float, bn_w: Tensor | None, bn_b: Tensor | None,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The (weight, bias) of a convolution followed by an eval-mode batch norm.

    ``conv_w`` is (out, in/groups, *kernel), or (in, out/groups, *kernel) when
    ``transpose``; the result keeps the dtypes of ``conv_w`` and ``conv_b`` (of ``conv_w``
    when there is no bias) and their ``requires_grad``.
    """
    with no_grad():
        w_dtype = conv_w.dtype
        b_dtype = w_dtype if conv_b is None else conv_b.dtype
        bias = zeros_like(bn_rm) if conv_b is None else conv_b
        scale = _bn_scale(bn_rv, bn_eps, bn_w)
        shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (conv_w.ndim - 2)
        fused_w = (conv_w * scale.reshape(shape)).to(w_dtype)
        fused_b = (bias - bn_rm) * scale + (zeros_like(bn_rm) if bn_b is None else bn_b)
        return (Parameter(fused_w, conv_w.requires_grad),
                Parameter(fused_b.to(b_dtype), bias.requires_grad))


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of eval-mode ``conv`` that computes ``bn(conv(x))``; ``conv`` is unchanged."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor,
                           bn_rv: Tensor, bn_eps: float, bn_w: Tensor | None,
                           bn_b: Tensor | None) -> tuple[Parameter, Parameter]:
    """The (weight, bias) of a linear layer (out, in) followed by an eval-mode batch norm
    over its outputs (or over one channel, broadcast to all of them)."""
    with no_grad():
        bias = zeros_like(bn_rm) if linear_b is None else linear_b
        scale = _bn_scale(bn_rv, bn_eps, bn_w)
        fused_w = linear_w * scale.unsqueeze(-1)
        shift = zeros_like(bn_rm) if bn_b is None else bn_b
        fused_b = (bias - bn_rm) * scale + shift
        return (Parameter(fused_w, linear_w.requires_grad),
                Parameter(fused_b, bias.requires_grad))


def fuse_linear_bn_eval(linear, bn):
    """A copy of eval-mode ``linear`` that computes ``bn(linear(x))``; ``linear`` is unchanged.

    The batch norm must have ``linear.out_features`` features, or one (broadcast).
    """
    _check_eval("fuse_linear_bn_eval", linear, bn)
    if bn.num_features not in (linear.out_features, 1):
        raise ValueError(f"fuse_linear_bn_eval: the batch norm has {bn.num_features} features, "
                         f"expected linear.out_features = {linear.out_features} or 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused



__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]
