"""Gamma, Beta and Poisson distributions (log densities through lgamma / digamma)."""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..autograd.function import Function
from ..backend import scipy_special
from ..special import dP_da, gammainc
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, broadcast_all, cpu_array, noise


class StandardGamma(Function):
    """Draws x ~ Gamma(alpha, 1), differentiable in alpha by implicit reparameterisation:
    holding the uniform level u = P(alpha, x) fixed, dx/dalpha = -dP/dalpha / p(x; alpha),
    with P the regularized lower incomplete gamma function and p the density.

    dP/dalpha has no closed form; a central difference of P in alpha (relative step 1e-5)
    is accurate to about 1e-9 in float64. The derivative is a constant of the graph, so
    gradients of second order through the draw are not available (as in PyTorch).
    """
    uses_inputs = False

    def forward(self, alpha, draws):
        xp, special = self.xp, scipy_special(self.xp)
        tiny = np.finfo(alpha.dtype).tiny
        x = xp.maximum(xp.asarray(draws, dtype=alpha.dtype), tiny)
        a, x64 = alpha.astype(np.float64), x.astype(np.float64)
        dP = dP_da(xp, a, x64)
        log_density = (a - 1) * xp.log(x64) - x64 - special.gammaln(a)
        self.dx = -(dP * xp.exp(-log_density)).astype(alpha.dtype)
        return x

    def vjp(self, g):
        return (g * Tensor._wrap(self.dx),)

    def jvp(self, t):
        return t * Tensor._wrap(self.dx)


def standard_gamma(alpha: Tensor, sample_shape=()) -> Tensor:
    """Gamma(alpha, 1) draws of shape ``sample_shape + alpha.shape``, differentiable in alpha."""
    shape = tuple(sample_shape) + tuple(alpha.shape)
    a = cpu_array(alpha)
    draws = noise(shape, alpha, lambda gen, s: gen.standard_gamma(a, s))
    return StandardGamma.apply(alpha.expand(*shape), draws=draws.array)


class Gamma(Distribution):
    """Gamma(concentration, rate): density rate^a x^(a-1) exp(-rate x) / Gamma(a), x > 0."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        """standard_gamma(concentration) / rate: differentiable in both (implicitly in
        the concentration)."""
        g = standard_gamma(self.concentration, sample_shape)
        return (g / self.rate).clamp(min=backend.finfo(self.rate.dtype).tiny)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, rate = self.concentration, self.rate
        return ops.xlogy(a, rate) + ops.xlogy(a - 1, value) - rate * value - ops.lgamma(a)

    def cdf(self, value) -> Tensor:
        """P(concentration, rate * value); differentiable in all three."""
        if self._validate_args:
            self._validate_sample(value)
        a, x = broadcast_all(self.concentration, self.rate * value)
        return gammainc(a, x)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + ops.lgamma(a) + (1 - a) * ops.digamma(a)


class Beta(Distribution):
    """Beta(concentration1, concentration0): density x^(a-1) (1-x)^(b-1) / B(a, b) on [0, 1]."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return (a - 1) / (a + b - 2)

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        """X / (X + Y) for X ~ Gamma(a, 1), Y ~ Gamma(b, 1): differentiable in a and b."""
        shape = self._extended_shape(sample_shape)
        x = standard_gamma(self.concentration1.expand(*shape))
        y = standard_gamma(self.concentration0.expand(*shape))
        tiny = backend.finfo(x.dtype).tiny
        return (x / (x + y)).clamp(min=tiny, max=1 - backend.finfo(x.dtype).eps / 2)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (ops.xlogy(a - 1, value) + ops.xlogy(b - 1, 1 - value)
                + ops.lgamma(a + b) - ops.lgamma(a) - ops.lgamma(b))

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        log_beta = ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(total)
        return (log_beta - (a - 1) * ops.digamma(a) - (b - 1) * ops.digamma(b)
                + (total - 2) * ops.digamma(total))


class Poisson(Distribution):
    """Poisson(rate): P(k) = rate^k exp(-rate) / k! for k = 0, 1, 2, ..."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        lam = cpu_array(self.rate)
        return noise(self._extended_shape(sample_shape), self.rate,
                     lambda gen, s: gen.poisson(lam, s))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return ops.xlogy(value, rate) - rate - ops.lgamma(value + 1)


class Chi2(Gamma):
    """Chi2(df): the sum of ``df`` squared standard normals, Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (self.df,) = broadcast_all(df)
        super().__init__(0.5 * self.df, 0.5 * ops.ones_like(self.df),
                         validate_args=validate_args)
