"""Dirichlet distribution over the probability simplex."""
from __future__ import annotations

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .gamma import standard_gamma


class Dirichlet(Distribution):
    """Dirichlet(concentration): density prod x_k^(a_k - 1) / B(a) on the simplex,
    ``concentration`` (*, K) with K >= 1 classes along the last dim."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, Tensor) or concentration.ndim < 1:
            raise ValueError("Dirichlet: concentration must be a Tensor with at least one "
                             f"dimension (the classes), got "
                             f"{getattr(concentration, 'shape', type(concentration))}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """(a - 1) / (sum a - K) where every a_k > 1; with all a_k < 1, the vertex of the
        largest concentration (as PyTorch)."""
        am1 = (self.concentration - 1).clamp(min=0.0)
        mode = am1 / am1.sum(-1, keepdim=True)
        vertex = F.one_hot(self.concentration.argmax(-1), self._event_shape[0])
        all_small = (self.concentration < 1).all(-1, keepdim=True)
        return ops.where(all_small, vertex.to(mode.dtype), mode)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0 ** 2 * (a0 + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        """Normalized Gamma(a_k, 1) draws: differentiable through the Gamma draws."""
        shape = self._extended_shape(sample_shape)
        g = standard_gamma(self.concentration.expand(*shape))
        g = g.clamp(min=_tiny(g))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return (ops.xlogy(a - 1, value).sum(-1) + ops.lgamma(a.sum(-1))
                - ops.lgamma(a).sum(-1))

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return (ops.lgamma(a).sum(-1) - ops.lgamma(a0) - (k - a0) * ops.digamma(a0)
                - ((a - 1) * ops.digamma(a)).sum(-1))


def _tiny(t: Tensor) -> float:
    from .. import backend
    return float(backend.finfo(t.dtype).tiny)
