"""Categorical and OneHotCategorical distributions over K classes."""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..nn import functional as F
from ..tensor import Tensor
from .bernoulli import _one_of, clamp_probs
from . import constraints
from .distribution import Distribution, lazy_property, noise


class Categorical(Distribution):
    """Categorical(probs=None, logits=None): class indices 0..K-1 with weights along the
    last dim of ``probs`` (normalized to sum 1) or ``logits`` (normalized by logsumexp)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real}

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(type(self).__name__, probs, logits)
        param = probs if probs is not None else logits
        if not isinstance(param, Tensor) or param.ndim < 1:
            raise ValueError(f"{type(self).__name__}: {'probs' if probs is not None else 'logits'}"
                             f" must be a Tensor with at least one dimension (the classes), got "
                             f"{tuple(param.shape) if isinstance(param, Tensor) else type(param)}")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - ops.logsumexp(logits, -1, keepdim=True)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], (), validate_args)

    def _param_tensor(self) -> Tensor:
        return self.__dict__.get("probs", self.__dict__.get("logits"))

    @lazy_property
    def probs(self) -> Tensor:
        return ops.softmax(self.logits, -1)

    @lazy_property
    def logits(self) -> Tensor:
        return clamp_probs(self.probs).log()

    @property
    def param_shape(self) -> tuple:
        return self._batch_shape + (self._num_events,)

    def _validate_sample(self, value) -> None:
        super()._validate_sample(value)
        ok = (value >= 0) & (value < self._num_events) & (value == value.floor())
        if not bool(ok.all().item()):
            raise ValueError(f"{type(self).__name__}: expected value argument (Tensor of shape "
                             f"{tuple(value.shape)}) to be integers in [0, "
                             f"{self._num_events - 1}], but found invalid values:\n{value}")

    @property
    def mean(self) -> Tensor:
        return ops.full(self._batch_shape, float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    @property
    def variance(self) -> Tensor:
        return ops.full(self._batch_shape, float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()) -> Tensor:
        """Inverse-CDF sampling: the number of cumulative probabilities below a uniform draw."""
        cdf = self.probs.detach().cumsum(-1)
        u = noise(self._extended_shape(sample_shape) + (1,), cdf, lambda g, s: g.random(s))
        idx = (u * cdf[..., -1:] >= cdf).to(backend.int64).sum(-1)
        return idx.clamp(max=self._num_events - 1)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = _broadcast(value, self.logits)
        logits = self.logits.expand(*shape[:-1], self._num_events)
        return logits.gather(-1, value.expand(*shape)).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=backend.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = ops.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values


def _broadcast(value: Tensor, logits: Tensor) -> tuple:
    return np.broadcast_shapes(tuple(value.shape), tuple(logits.shape)[:-1] + (1,))


class CategoricalEvents(Distribution):
    """A distribution over K-vectors driven by a Categorical(probs, logits) it holds: the
    event shape (K,), the parameters and ``expand`` are the Categorical's."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape,
                         (self._categorical._num_events,), validate_args=False)
        self._validate_args = self._categorical._validate_args

    def _expand_parts(self, new, batch_shape) -> None:
        new._categorical = self._categorical.expand(batch_shape)

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits


class OneHotCategorical(CategoricalEvents):
    """OneHotCategorical(probs=None, logits=None): one-hot vectors of length K."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real}
    support = constraints.one_hot

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return F.one_hot(self._categorical.mode, self.event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        idx = self._categorical.sample(sample_shape)
        return F.one_hot(idx, self.event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()
