"""Bernoulli distribution, parameterized by probs or logits."""
from __future__ import annotations

from .. import backend, ops
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, broadcast_all, lazy_property, noise


def _one_of(name: str, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: pass exactly one of probs or logits, got "
                         f"{'both' if probs is not None else 'neither'}")


def clamp_probs(probs: Tensor) -> Tensor:
    eps = backend.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


class ProbsLogits(Distribution):
    """The plumbing of a distribution with one success probability per element, given as
    exactly one of ``probs`` or ``logits``; the other is derived when first read."""

    def _set_probs_or_logits(self, probs, logits, *others) -> tuple:
        """Broadcast ``others`` with the given one of probs/logits and store it; returns
        ``others`` broadcast."""
        _one_of(type(self).__name__, probs, logits)
        given = "probs" if probs is not None else "logits"
        *others, param = broadcast_all(*others, probs if probs is not None else logits)
        setattr(self, given, param)
        return tuple(others)

    @property
    def _param(self) -> Tensor:
        return self.__dict__.get("probs", self.__dict__.get("logits"))

    @lazy_property
    def probs(self) -> Tensor:
        return ops.sigmoid(self.logits)

    @lazy_property
    def logits(self) -> Tensor:
        p = clamp_probs(self.probs)
        return p.log() - (-p).log1p()


class Bernoulli(ProbsLogits):
    """Bernoulli(probs=None, logits=None): 1 with probability ``probs = sigmoid(logits)``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        super().__init__(self._param.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        m = (self.probs >= 0.5).to(self.probs.dtype)
        return ops.where(self.probs == 0.5, float("nan"), m)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        p = self.probs.detach()
        u = noise(self._extended_shape(sample_shape), p, lambda g, s: g.random(s))
        return (u < p).to(p.dtype)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
