"""Attention: ``scaled_dot_product_attention`` (``F.*`` as in PyTorch; exported only there).

    attention(Q, K, V) = softmax(Q K^T * scale + bias) V        (Vaswani et al., 2017)

query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the batch
dimensions broadcast, and ``scale`` defaults to 1 / sqrt(E). The ``bias`` comes
from one of
  - a bool ``attn_mask``: True where query i may attend to key j, -inf elsewhere;
  - a float ``attn_mask``: added to the scores as it is (it may carry a gradient);
  - ``is_causal``: query i sees keys 0..i, the lower triangle of (L, S) anchored at
    the top-left corner, as in PyTorch.

The op is a composite of matmul, add, softmax and dropout, so its rules (of any
order) are theirs. Measured at the shapes of benchmarks/bench_gpt.py (16 x 4 heads,
128 positions, 64 features, causal), forward and backward take about 14 ms against
about 10 ms for PyTorch's fused CPU kernel: over the 4 layers, the difference is some
4% of a training step, too little for a fused primitive to pay for its own rules.

A query that may attend to no key at all has a score row of -inf only, whose
softmax is 0/0. PyTorch returns zeros for such rows, with zero gradients, and so
does this op: their scores are set to 0 before the softmax and their weights to 0
after it, so no NaN enters the forward or the backward.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor
from .dropout import dropout
from .index import masked_fill
from .softmax import softmax

_OP = "scaled_dot_product_attention"


# -- argument checks ---------------------------------------------------------------------------
def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _check_operands(query, key, value) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_OP}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"{_OP}: expected a floating-point {name}, got dtype {t.dtype}")
        if t.ndim < 2:
            raise ValueError(f"{_OP}: {name} must have at least 2 dimensions (..., seq, "
                             f"features), got shape {_shape(t)}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{_OP}: query, key and value must have one dtype, got {query.dtype}, "
                        f"{key.dtype} and {value.dtype}")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"{_OP}: query (..., L, E) and key (..., S, E) must have the same E, "
                         f"got query of shape {_shape(query)} and key of shape {_shape(key)}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{_OP}: key (..., S, E) and value (..., S, Ev) must have the same S, "
                         f"got key of shape {_shape(key)} and value of shape {_shape(value)}")


def _expand_groups(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Grouped-query attention: key and value (..., Hkv, S, *) shared by groups of
    Hq / Hkv query heads (..., Hq, L, E) -> key and value repeated to Hq heads."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ValueError(f"{_OP}: enable_gqa=True needs a head dimension (..., H, seq, "
                         f"features), got query {_shape(query)}, key {_shape(key)}, value "
                         f"{_shape(value)}")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk != hv or hq % hk:
        raise ValueError(f"{_OP}: enable_gqa=True needs key and value with one number of "
                         f"heads dividing the query's, got {hq} query, {hk} key and {hv} "
                         f"value heads")
    return key.repeat_interleave(hq // hk, dim=-3), value.repeat_interleave(hq // hk, dim=-3)


def _scores_shape(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    """(*batch, L, S) with the batch dimensions of the three operands broadcast."""
    try:
        batch = np.broadcast_shapes(_shape(query)[:-2], _shape(key)[:-2], _shape(value)[:-2])
    except ValueError:
        raise ValueError(f"{_OP}: the batch dimensions of query {_shape(query)}, key "
                         f"{_shape(key)} and value {_shape(value)} do not broadcast") from None
    return batch + (query.shape[-2], key.shape[-2])


# -- the computation ---------------------------------------------------------------------------
def _bias(xp, allowed, dtype) -> Tensor:
    """A bool "may attend" mask as a constant to add to the scores: 0 or -inf. (Adding
    it costs the backward nothing, where masked_fill's rule would mask the cotangent.)"""
    return Tensor._wrap(xp.where(allowed, dtype.type(0), dtype.type(-math.inf)))


def _masked_scores(scores: Tensor, attn_mask: Tensor | None, is_causal: bool):
    """``scores`` with the mask added, and the rows where every key is masked
    (a bool array that broadcasts against the scores, or None when there are none)."""
    xp = get_array_module(scores.data)
    length, source = scores.shape[-2:]
    if is_causal:  # row i keeps columns 0..i: never empty when there is a key
        return scores + _bias(xp, xp.tri(length, source, dtype=bool), scores.dtype), None
    if attn_mask is None:
        return scores, None
    if attn_mask.dtype == np.bool_:
        dead = ~attn_mask.data.any(axis=-1, keepdims=True)
        bias = _bias(xp, attn_mask.data, scores.dtype)
    else:
        bias = attn_mask.to(scores.dtype)
        dead = xp.isneginf(bias.data).all(axis=-1, keepdims=True)
    return scores + bias, (dead if bool(dead.any()) else None)


def _attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None,
               dropout_p: float, is_causal: bool, scale: float | None) -> tuple[Tensor, Tensor]:
    """The output (..., L, Ev) and the attention weights (..., L, S) after dropout,
    for checked arguments (``MultiheadAttention`` returns the weights too)."""
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    scores = (query * scale) @ key.mT                                         # (..., L, S)
    scores, dead = _masked_scores(scores, attn_mask, is_causal)
    if dead is None:
        weights = softmax(scores, dim=-1)
    else:
        dead = Tensor._wrap(dead)
        weights = masked_fill(softmax(masked_fill(scores, dead, 0.0), dim=-1), dead, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value, weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query key^T * scale + mask) value: query (..., L, E), key (..., S, E),
    value (..., S, Ev) -> (..., L, Ev).

    ``attn_mask`` broadcasts to (..., L, S): bool (True = may attend) or float
    (added to the scores). ``is_causal`` masks key j > query i (no ``attn_mask``
    then). ``dropout_p`` drops attention weights (always, as in PyTorch: pass 0.0
    in evaluation). ``enable_gqa`` lets key and value have fewer heads (dim -3)
    than the query, each shared by a group of query heads.
    """
    _check_operands(query, key, value)
    if enable_gqa:
        key, value = _expand_groups(query, key, value)
    scores_shape = _scores_shape(query, key, value)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{_OP}: dropout_p has to be between 0 and 1, got {dropout_p}")
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{_OP}: pass either attn_mask or is_causal=True, not both")
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{_OP}: attn_mask must be a Tensor or None, got "
                            f"{type(attn_mask).__name__}")
        if attn_mask.dtype != np.bool_ and attn_mask.dtype.kind != "f":
            raise TypeError(f"{_OP}: attn_mask must be bool (True = may attend) or "
                            f"floating-point (added to the scores), got dtype {attn_mask.dtype}")
        try:
            ok = np.broadcast_shapes(_shape(attn_mask), scores_shape) == scores_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{_OP}: attn_mask of shape {_shape(attn_mask)} does not broadcast "
                             f"to the attention scores (..., L, S) = {scores_shape} of query "
                             f"{_shape(query)} and key {_shape(key)}")
    return _attention(query, key, value, attn_mask, dropout_p, is_causal, scale)[0]


TENSOR_METHODS: dict = {}

__all__ = ["scaled_dot_product_attention"]
