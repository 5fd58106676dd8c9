"""Binomial and Geometric distributions, parameterized by probs or logits."""
from __future__ import annotations

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .bernoulli import ProbsLogits
from .distribution import broadcast_all, cpu_array, noise


class Binomial(ProbsLogits):
    """Binomial(total_count=1, probs=None, logits=None): successes in ``total_count``
    independent trials of success probability ``probs = sigmoid(logits)``."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        (count,) = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = count.to(self._param.dtype)
        super().__init__(self.total_count.shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        n, p = cpu_array(self.total_count).astype("int64"), cpu_array(self.probs)
        return noise(self._extended_shape(sample_shape), self.total_count,
                     lambda g, s: g.binomial(n, p, s))

    def log_prob(self, value) -> Tensor:
        """log C(n, k) + k logits - n softplus(logits), since
        p^k (1-p)^(n-k) = exp(k logits) / (1 + exp(logits))^n."""
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_comb = ops.lgamma(n + 1) - ops.lgamma(value + 1) - ops.lgamma(n - value + 1)
        # softplus(l) = max(l, 0) + log1p(exp(-|l|)): no overflow for large |logits|
        return log_comb + value * logits - n * (logits.clamp(min=0) + F.softplus(-logits.abs()))

    def entropy(self) -> Tensor:
        """Summed over the support; needs one total_count for the whole batch (as PyTorch)."""
        n_max = int(self.total_count.max().item())
        if not bool((self.total_count == n_max).all().item()):
            raise NotImplementedError("Binomial.entropy: total_count must be the same "
                                      "for the whole batch")
        values = self.enumerate_support(expand=False)
        lp = self.log_prob(values)
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n_max = int(self.total_count.max().item())
        values = ops.arange(n_max + 1, dtype=self.total_count.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values


class Geometric(ProbsLogits):
    """Geometric(probs=None, logits=None): the number of failures before the first
    success, P(k) = (1 - p)^k p for k = 0, 1, 2, ..."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        super().__init__(self._param.shape, (), validate_args)
        if self._validate_args and "probs" in self.__dict__ \
                and not bool((self.probs > 0).all().item()):
            raise ValueError(f"Geometric: expected parameter probs (Tensor of shape "
                             f"{tuple(self.probs.shape)}) to be in (0, 1], but found "
                             f"invalid values:\n{self.probs}")

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()) -> Tensor:
        p = cpu_array(self.probs)
        return noise(self._extended_shape(sample_shape), self.probs,
                     lambda g, s: g.geometric(p, s) - 1)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # k log(1 - p) is 0 at k = 0 even where p = 1 (masking p keeps its gradient finite)
        safe = ops.where(value == 0, 0.0, probs)
        return value * (-safe).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                  reduction="none") / self.probs
