"""Cauchy and Student's t distributions."""
from __future__ import annotations

import math

from .. import ops
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, LocScale, broadcast_all, noise
from .gamma import standard_gamma


class Cauchy(LocScale):
    """Cauchy(loc, scale): density 1 / (pi scale (1 + ((x - loc) / scale)^2)).
    Its mean and variance do not exist (nan and inf, as PyTorch)."""

    @property
    def mean(self) -> Tensor:
        return ops.full_like(self.loc, float("nan"))

    @property
    def variance(self) -> Tensor:
        return ops.full_like(self.loc, float("inf"))

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale * tan(pi (u - 1/2)), u ~ Uniform(0, 1): differentiable."""
        u = noise(self._extended_shape(sample_shape), self.loc, lambda g, s: g.random(s))
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - (z ** 2).log1p()

    def cdf(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value) -> Tensor:
        return self.loc + self.scale * (math.pi * (value - 0.5)).tan()

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class StudentT(Distribution):
    """StudentT(df, loc=0, scale=1): Student's t with ``df`` degrees of freedom, shifted
    and scaled."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return ops.where(self.df > 1, self.loc, float("nan"))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        var = self.scale ** 2 * df / (df - 2).clamp(min=1e-30)
        var = ops.where(df > 2, var, float("inf"))
        return ops.where(df > 1, var, float("nan"))

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale * z / sqrt(v / df), z ~ N(0, 1), v ~ Chi2(df) = 2 Gamma(df / 2, 1):
        differentiable in all three parameters."""
        shape = self._extended_shape(sample_shape)
        z = noise(shape, self.df, lambda g, s: g.standard_normal(s))
        v = 2 * standard_gamma(0.5 * self.df.expand(*shape))
        return self.loc + self.scale * z * (self.df / v).sqrt()

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        z = (value - self.loc) / self.scale
        norm = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
                + ops.lgamma(0.5 * df) - ops.lgamma(0.5 * (df + 1)))
        return -0.5 * (df + 1) * (z ** 2 / df).log1p() - norm

    def entropy(self) -> Tensor:
        df = self.df
        log_beta = ops.lgamma(0.5 * df) + math.lgamma(0.5) - ops.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (ops.digamma(0.5 * (df + 1))
                                                       - ops.digamma(0.5 * df))
                + 0.5 * df.log() + log_beta)
