"""The rest of ``torch.nn.functional``: thin compositions over existing ops and layers.

``linear_cross_entropy`` (a final linear layer fused with cross entropy), ``conv_tbc``
(conv1d in (time, batch, channel) layout), ``native_channel_shuffle``,
``multi_head_attention_forward`` (``MultiheadAttention``'s forward over weights passed in)
and the ``grid_sample`` mode tables. None of them is a new primitive: their gradients are
those of the ops they are built from.
"""
from __future__ import annotations

import dataclasses
import math

from ..ops.conv import conv1d
from ..ops.linear import linear
from ..ops.loss import cross_entropy
from ..ops.sampling import channel_shuffle
from ..tensor import Tensor

#: ``grid_sample``'s modes and padding modes, numbered as PyTorch numbers them
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """PyTorch's chunking options for ``linear_cross_entropy``, accepted so that code
    passing them ports unchanged. nabla has one (unchunked) path, which computes the same
    values and gradients, so the fields are kept but not used."""
    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    input (in_features,) or (N, in_features); linear_weight (C, *out_features,
    in_features) gives logits (N, C, *out_features) (a K-dimensional loss needs batched
    input); linear_bias (C, *out_features). ``target`` holds class indices, or
    probabilities of the logits' shape (then ``ignore_index`` must stay None; it means
    -100 otherwise). ``options`` is accepted and ignored (see
    ``LinearCrossEntropyOptions``).
    """
    op = "linear_cross_entropy"
    for name, t in (("input", input), ("linear_weight", linear_weight), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected input of shape (in_features,) or (N, in_features), "
                           f"got {tuple(input.shape)}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"{op}: expected linear_weight of shape (C, *out_features, "
                           f"in_features), got {tuple(linear_weight.shape)}")
    in_features = input.shape[-1]
    if linear_weight.shape[-1] != in_features:
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} and linear_weight of "
                           f"shape {tuple(linear_weight.shape)} differ in in_features: "
                           f"{in_features} != {linear_weight.shape[-1]}")
    classes = tuple(linear_weight.shape[:-1])  # (C, *out_features)
    if linear_bias is not None and tuple(linear_bias.shape) != classes:
        raise RuntimeError(f"{op}: expected linear_bias of shape {classes} for linear_weight "
                           f"of shape {tuple(linear_weight.shape)}, got "
                           f"{tuple(linear_bias.shape)}")
    if len(classes) > 1 and input.ndim == 1:
        raise RuntimeError(f"{op}: a K-dimensional loss (linear_weight of shape "
                           f"{tuple(linear_weight.shape)}) needs batched input (N, "
                           f"{in_features}), got {tuple(input.shape)}")
    logits_shape = tuple(input.shape[:-1]) + classes
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError(f"{op}: ignore_index cannot be given with class-probability "
                           f"targets (target of the logits' shape {logits_shape})")
    total = math.prod(classes)
    bias = None if linear_bias is None else linear_bias.reshape(total)
    logits = linear(input, linear_weight.reshape(total, in_features), bias)
    return cross_entropy(logits.reshape(logits_shape), target, weight=weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-D convolution in (time, batch, channel) layout: input (T, N, C_in), weight
    (K, C_in, C_out), bias (C_out,) -> (T + 2 * pad - K + 1, N, C_out)."""
    op = "conv_tbc"
    for name, t, nd in (("input", input, 3), ("weight", weight, 3), ("bias", bias, 1)):
        if not isinstance(t, Tensor) or t.ndim != nd:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise RuntimeError(f"{op}: expected a {nd}-D {name} (input (T, N, C_in), weight "
                               f"(K, C_in, C_out), bias (C_out,)), got {got}")
    if input.shape[2] != weight.shape[1] or bias.shape[0] != weight.shape[2]:
        raise RuntimeError(f"{op}: input {tuple(input.shape)}, weight {tuple(weight.shape)} "
                           f"and bias {tuple(bias.shape)} do not fit (T, N, C_in), "
                           f"(K, C_in, C_out) and (C_out,)")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)                                          # (T_out, N, C_out)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (PyTorch's name for its non-composite kernel)."""
    return channel_shuffle(input, groups)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """``MultiheadAttention``'s forward with its weights passed in: query (L, N, E), key
    (S, N, kdim), value (S, N, vdim) (or unbatched (L, E), ...) -> output (L, N, E) and
    the attention weights, as the layer returns them. ``static_k``/``static_v``
    (precomputed projected keys and values) are not supported."""
    from .layers.attention import MultiheadAttention

    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k and static_v are "
                                  "not supported")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError("multi_head_attention_forward: use_separate_proj_weight=True "
                             "needs q_proj_weight, k_proj_weight and v_proj_weight")
        kdim, vdim = k_proj_weight.shape[1], v_proj_weight.shape[1]
    elif in_proj_weight is None:
        raise ValueError("multi_head_attention_forward: in_proj_weight is None; pass it, or "
                         "use_separate_proj_weight=True with q/k/v_proj_weight")
    else:
        kdim = vdim = embed_dim_to_check
    if embed_dim_to_check % num_heads:
        raise ValueError(f"multi_head_attention_forward: embed_dim {embed_dim_to_check} must "
                         f"be divisible by num_heads {num_heads}")
    if (bias_k is None) != (bias_v is None):
        raise ValueError("multi_head_attention_forward: bias_k and bias_v come together")
    layer = _PassedWeights(
        embed_dim=embed_dim_to_check, num_heads=num_heads,
        head_dim=embed_dim_to_check // num_heads, kdim=kdim, vdim=vdim,
        _qkv_same_embed_dim=not use_separate_proj_weight, in_proj_weight=in_proj_weight,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight, v_proj_weight=v_proj_weight,
        in_proj_bias=in_proj_bias, bias_k=bias_k, bias_v=bias_v, add_zero_attn=add_zero_attn,
        dropout=dropout_p, training=training, batch_first=False,
        out_proj=lambda x: linear(x, out_proj_weight, out_proj_bias))
    return MultiheadAttention.forward(layer, query, key, value, key_padding_mask, need_weights,
                                      attn_mask, average_attn_weights, is_causal)


class _PassedWeights:
    """What ``MultiheadAttention.forward`` reads off its layer, here given as plain
    attributes (weights passed to the functional form); its helper methods are the
    layer's, found through ``__getattr__`` so that nothing is written twice."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)

    def __getattr__(self, name: str):
        from .layers.attention import MultiheadAttention
        method = getattr(MultiheadAttention, name, None)
        if not callable(method) or name.startswith("__"):
            raise AttributeError(name)
        return method.__get__(self)

    def _head(self) -> str:
        return (f"multi_head_attention_forward(embed_dim={self.embed_dim}, "
                f"num_heads={self.num_heads})")


__all__ = ["GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES",
           "linear_cross_entropy", "conv_tbc",
           "native_channel_shuffle", "multi_head_attention_forward"]
