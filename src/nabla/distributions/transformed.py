"""TransformedDistribution and the families defined through it (LogNormal, HalfNormal)."""
from __future__ import annotations

import math

from .. import ops
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, broadcast_all, resolve_validate_args, sum_rightmost
from .independent import Independent
from .normal import Normal
from .transforms import (AbsTransform, ComposeTransform, ExpTransform, StickBreakingTransform,
                         Transform)


class TransformedDistribution(Distribution):
    """TransformedDistribution(base_distribution, transforms): the law of
    ``transforms[-1](... transforms[0](x))`` for ``x ~ base_distribution``.

    ``log_prob`` inverts the transforms and adds the log |Jacobian| of each;
    ``rsample`` is differentiable when the base's is.
    """

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        self.transforms = list(transforms)
        for t in self.transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"{type(self).__name__}: expected Transforms, got "
                                f"{type(t).__name__}")
        chain = ComposeTransform(self.transforms)
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        if len(base_shape) < chain.domain.event_dim:
            raise ValueError(f"{type(self).__name__}: the base distribution's shape "
                             f"{base_shape} has fewer dims than the transforms' event dim "
                             f"{chain.domain.event_dim}")
        shape = chain.forward_shape(base_shape)
        expanded = chain.inverse_shape(shape)
        base_event = len(base_distribution.event_shape)
        if tuple(expanded) != tuple(base_shape):
            base_distribution = base_distribution.expand(expanded[:len(expanded) - base_event])
        extra = chain.domain.event_dim - base_event
        if extra > 0:
            base_distribution = Independent(base_distribution, extra)
        self.base_dist = base_distribution
        event_dim = chain.codomain.event_dim + max(base_event - chain.domain.event_dim, 0)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=False)
        self._validate_args = base_distribution._validate_args if validate_args is None \
            else validate_args

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        codomain = self.transforms[-1].codomain
        extra = len(self._event_shape) - codomain.event_dim
        return constraints.independent(codomain, extra) if extra > 0 else codomain

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    def _expand_parts(self, new, batch_shape) -> None:
        shape = batch_shape + self._event_shape
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        base_batch = shape[:len(shape) - len(self.base_dist.event_shape)]
        new.base_dist = self.base_dist.expand(base_batch)

    def sample(self, sample_shape=()) -> Tensor:
        from ..autograd import no_grad
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
        return x.detach()

    def rsample(self, sample_shape=()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self._event_shape)
        log_prob, y = 0.0, value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - sum_rightmost(t.log_abs_det_jacobian(x, y),
                                                event_dim - t.domain.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return log_prob + sum_rightmost(base, event_dim - len(self.base_dist.event_shape))

    def _monotone_sign(self) -> int:
        sign = 1
        for t in self.transforms:
            s = t.sign
            if isinstance(s, Tensor):
                if not bool((s == s.flatten()[0]).all().item()):
                    raise NotImplementedError(f"{type(self).__name__}.cdf: the transforms "
                                              f"are not monotone in one direction")
                s = int(s.flatten()[0].item())
            sign *= s
        return sign

    def cdf(self, value) -> Tensor:
        """The base cdf at the inverse image (monotone scalar transforms only)."""
        sign = self._monotone_sign()
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        c = self.base_dist.cdf(value)
        return c if sign == 1 else 1 - c

    def icdf(self, value) -> Tensor:
        if self._monotone_sign() == -1:
            value = 1 - value
        x = self.base_dist.icdf(value)
        for t in self.transforms:
            x = t(x)
        return x

    def _check_params(self, *names: str) -> None:
        """Validate parameters held by the base under this distribution's own name."""
        if self._validate_args:
            for name in names:
                self._check(getattr(self, name), self.arg_constraints[name], f"parameter {name}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_dist!r}, {self.transforms!r})"


class LogNormal(TransformedDistribution):
    """LogNormal(loc, scale): exp(X) for X ~ Normal(loc, scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=False), ExpTransform(),
                         validate_args=resolve_validate_args(validate_args))
        self._check_params("loc", "scale")

    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale ** 2
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class HalfNormal(TransformedDistribution):
    """HalfNormal(scale): |X| for X ~ Normal(0, scale)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (scale,) = broadcast_all(scale)
        super().__init__(Normal(ops.zeros_like(scale), scale, validate_args=False),
                         AbsTransform(), validate_args=resolve_validate_args(validate_args))
        self._check_params("scale")

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2 * (1 - 2 / math.pi)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return ops.where(value >= 0, lp, float("-inf"))

    def cdf(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class LogisticNormal(TransformedDistribution):
    """LogisticNormal(loc, scale): stick-breaking of a Normal(loc, scale) vector of
    length K - 1 onto the K-simplex (event_shape (K,))."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=False)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(),
                         validate_args=resolve_validate_args(validate_args))
        self._check_params("loc", "scale")

    @property
    def loc(self) -> Tensor:
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.base_dist.scale
