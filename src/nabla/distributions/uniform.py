"""Continuous uniform distribution."""
from __future__ import annotations

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, broadcast_all, noise


class Uniform(Distribution):
    """Uniform(low, high) on the half-open interval [low, high)."""

    arg_constraints = {"low": constraints.real, "high": constraints.real}
    has_rsample = True

    @property
    def support(self):
        return constraints.half_open_interval(self.low, self.high)

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args and not bool((self.low < self.high).all().item()):
            raise ValueError(f"Uniform: expected parameter low (shape {tuple(self.low.shape)}) "
                             f"to be less than high elementwise, but found invalid values:\n"
                             f"low={self.low}\nhigh={self.high}")

    def _validate_sample(self, value) -> None:
        super()._validate_sample(value)
        inside = (value >= self.low.detach()) & (value < self.high.detach())
        if not bool(inside.all().item()):
            raise ValueError(f"Uniform: expected value argument (Tensor of shape "
                             f"{tuple(value.shape)}) to lie in [low, high), but found "
                             f"invalid values:\n{value}")

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * float("nan")

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        u = noise(self._extended_shape(sample_shape), self.low, lambda g, s: g.random(s))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        inside = ((self.low.detach() <= value) & (value < self.high.detach())).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()
