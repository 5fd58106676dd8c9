"""Relaxed (Concrete / Gumbel-softmax) Bernoulli and one-hot categorical distributions:
continuous stand-ins for discrete draws, with a differentiable ``rsample``."""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops.creation import _place
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .bernoulli import ProbsLogits, clamp_probs
from .categorical import CategoricalEvents
from .distribution import noise
from .transformed import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform


def _temperature(temperature, like: Tensor) -> Tensor:
    """The temperature as a Tensor (a number takes the dtype and device of ``like``)."""
    if isinstance(temperature, Tensor):
        return temperature
    return _place(np.asarray(temperature, dtype=like.dtype), None, like.device, False)


class LogitRelaxedBernoulli(ProbsLogits):
    """LogitRelaxedBernoulli(temperature, probs=None, logits=None): the logit of a
    RelaxedBernoulli draw, (logits + logistic noise) / temperature."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        self.temperature = _temperature(temperature, self._param)
        super().__init__(self._param.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        u = noise(self._extended_shape(sample_shape), self.logits, lambda g, s: g.random(s))
        u = clamp_probs(u)
        return (u.log() - (-u).log1p() + self.logits) / self.temperature

    def log_prob(self, value) -> Tensor:
        """The logistic density with location logits / t and scale 1 / t."""
        if self._validate_args:
            self._validate_sample(value)
        z = self.logits - value * self.temperature
        return self.temperature.log() + z - 2 * F.softplus(z)


class _Relaxed(TransformedDistribution):
    """A relaxed distribution as a transform of its base: the parameters are the base's."""

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits


class RelaxedBernoulli(_Relaxed):
    """RelaxedBernoulli(temperature, probs=None, logits=None): sigmoid of a
    LogitRelaxedBernoulli draw, a value in (0, 1) that approaches Bernoulli(probs) as the
    temperature goes to 0."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class ExpRelaxedCategorical(CategoricalEvents):
    """ExpRelaxedCategorical(temperature, probs=None, logits=None): the log of a
    RelaxedOneHotCategorical draw, log softmax((logits + Gumbel noise) / temperature)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        super().__init__(probs, logits, validate_args)
        self.temperature = _temperature(temperature, self._categorical._param_tensor())

    def rsample(self, sample_shape=()) -> Tensor:
        u = noise(self._extended_shape(sample_shape), self.logits, lambda g, s: g.random(s))
        gumbel = -(-clamp_probs(u).log()).log()
        scores = (self.logits + gumbel) / self.temperature
        return scores - ops.logsumexp(scores, -1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        """Density of the log-simplex point ``value``:
        (K-1)! t^(K-1) prod(p_k e^(-t x_k)) / (sum_k p_k e^(-t x_k))^K."""
        if self._validate_args:
            self._validate_sample(value)
        k = self._event_shape[0]
        log_norm = math.lgamma(k) + (k - 1) * self.temperature.log()
        score = self.logits - value * self.temperature
        score = (score - ops.logsumexp(score, -1, keepdim=True)).sum(-1)
        return score + log_norm


class RelaxedOneHotCategorical(_Relaxed):
    """RelaxedOneHotCategorical(temperature, probs=None, logits=None): the Gumbel-softmax
    (Concrete) distribution on the simplex; ``rsample`` is differentiable in the logits."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)
