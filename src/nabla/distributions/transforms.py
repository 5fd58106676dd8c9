"""Bijections with tractable Jacobians (``torch.distributions.transforms``).

A ``Transform`` maps ``x`` in its ``domain`` to ``y = t(x)`` in its ``codomain``;
``t.inv`` is the inverse, ``log_abs_det_jacobian(x, y)`` the log |dy/dx| summed over the
transform's own event dims (``domain.event_dim``), and ``sign`` the sign of dy/dx for
monotone scalar maps. All maps are written in Tensor ops, so they are differentiable.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import broadcast_all, sum_rightmost


class Transform:
    """The base of all transforms. Subclasses write ``_call`` (forward), ``_inverse`` and
    ``log_abs_det_jacobian``; ``bijective`` says whether ``_inverse`` is exact."""

    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real
    bijective = False

    def __call__(self, x: Tensor) -> Tensor:
        return self._call(x)

    @property
    def inv(self) -> "Transform":
        return _InverseTransform(self)

    @property
    def sign(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}.sign")

    @property
    def event_dim(self) -> int:
        return self.domain.event_dim

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}._call")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian")

    def forward_shape(self, shape: tuple) -> tuple:
        """The shape of ``t(x)`` for ``x`` of ``shape``."""
        return tuple(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        return tuple(shape)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(type(self))

    def _key(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    """``t.inv``: swaps the roles of ``_call`` and ``_inverse``."""

    def __init__(self, transform: Transform):
        self._inv = transform
        self.bijective = transform.bijective

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def inv(self) -> Transform:
        return self._inv

    @property
    def sign(self) -> int:
        return self._inv.sign

    def _call(self, x):
        return self._inv._inverse(x)

    def _inverse(self, y):
        return self._inv._call(y)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def _key(self):
        return (self._inv,)

    def __repr__(self):
        return f"{self._inv!r}.inv"


class ComposeTransform(Transform):
    """ComposeTransform([t1, t2, ...]): x -> ... t2(t1(x)), Jacobians summed (each over
    the event dims of the whole composition)."""

    def __init__(self, parts: list):
        self.parts = list(parts)
        for p in self.parts:
            if not isinstance(p, Transform):
                raise TypeError(f"ComposeTransform: expected Transforms, got {type(p).__name__}")
        self.bijective = all(p.bijective for p in self.parts)

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim,
                            part.domain.event_dim)
        domain = self.parts[0].domain
        extra = event_dim - domain.event_dim
        return constraints.independent(domain, extra) if extra else domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim,
                            part.codomain.event_dim)
        codomain = self.parts[-1].codomain
        extra = event_dim - codomain.event_dim
        return constraints.independent(codomain, extra) if extra else codomain

    @property
    def inv(self) -> Transform:
        return ComposeTransform([p.inv for p in reversed(self.parts)])

    @property
    def sign(self) -> int:
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return ops.zeros_like(x)
        xs = [x]
        for p in self.parts[:-1]:
            xs.append(p(xs[-1]))
        xs.append(y)
        total, event_dim = 0, self.domain.event_dim
        for p, a, b in zip(self.parts, xs[:-1], xs[1:]):
            term = p.log_abs_det_jacobian(a, b)
            total = total + sum_rightmost(term, event_dim - p.domain.event_dim)
            event_dim += p.codomain.event_dim - p.domain.event_dim
        return total

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return tuple(shape)

    def _key(self):
        return tuple(self.parts)

    def __repr__(self):
        return "ComposeTransform([" + ", ".join(repr(p) for p in self.parts) + "])"


class ExpTransform(Transform):
    """y = exp(x)."""

    codomain = constraints.positive
    bijective, sign = True, 1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals."""

    domain = codomain = constraints.positive
    bijective = True

    def __init__(self, exponent):
        (self.exponent,) = broadcast_all(exponent)

    @property
    def sign(self):
        return self.exponent.sign()

    def _call(self, x):
        return x ** self.exponent

    def _inverse(self, y):
        return y ** self.exponent.reciprocal()

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(tuple(shape), tuple(self.exponent.shape)))

    def inverse_shape(self, shape):
        return self.forward_shape(shape)

    def _key(self):
        return (id(self.exponent),)


class AffineTransform(Transform):
    """y = loc + scale * x (``event_dim`` dims of x form one event)."""

    bijective = True

    def __init__(self, loc, scale, event_dim: int = 0):
        self.loc, self.scale = loc, scale
        self._event_dim = int(event_dim)

    @property
    def domain(self):
        return constraints.independent(constraints.real, self._event_dim) \
            if self._event_dim else constraints.real

    codomain = domain

    @property
    def sign(self):
        return self.scale.sign() if isinstance(self.scale, Tensor) else math.copysign(1, self.scale)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, Tensor):
            result = self.scale.abs().log()
        else:
            result = ops.full_like(x, math.log(abs(self.scale)))
        shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(result.shape)))
        result = result.expand(*shape)
        return sum_rightmost(result, self._event_dim)

    def forward_shape(self, shape):
        shapes = [tuple(shape)] + [tuple(v.shape) for v in (self.loc, self.scale)
                                   if isinstance(v, Tensor)]
        return tuple(np.broadcast_shapes(*shapes))

    def inverse_shape(self, shape):
        return self.forward_shape(shape)

    def _key(self):
        return tuple(id(v) if isinstance(v, Tensor) else v for v in (self.loc, self.scale)) \
            + (self._event_dim,)


class SigmoidTransform(Transform):
    """y = 1 / (1 + exp(-x))."""

    codomain = constraints.unit_interval
    bijective, sign = True, 1

    def _call(self, x):
        return ops.sigmoid(x)

    def _inverse(self, y):
        eps = _eps(y)
        y = y.clamp(min=eps, max=1 - eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(Transform):
    """y = tanh(x)."""

    codomain = constraints.interval(-1.0, 1.0)
    bijective, sign = True, 1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return y.atanh()

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(Transform):
    """y = |x| (not bijective: the inverse picks the nonnegative root)."""

    codomain = constraints.nonnegative

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class SoftmaxTransform(Transform):
    """y = softmax(x) along the last dim (not bijective: the inverse is log y, which is
    correct up to an additive constant)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        return ops.softmax(x, -1)

    def _inverse(self, y):
        return y.log()


class StickBreakingTransform(Transform):
    """R^(K-1) -> the K-simplex by stick breaking (the bijection LogisticNormal uses)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def _call(self, x):
        offset = x.shape[-1] + 1 - ops.arange(1, x.shape[-1] + 1, dtype=x.dtype)
        z = ops.sigmoid(x - offset.log())
        rest = (1 - z).cumprod(-1)
        ones = ops.ones(*x.shape[:-1], 1, dtype=x.dtype)
        return F.pad(z, (0, 1), value=1.0) * ops.cat([ones, rest], -1)

    def _inverse(self, y):
        head = y[..., :-1]
        offset = head.shape[-1] + 1 - ops.arange(1, head.shape[-1] + 1, dtype=y.dtype)
        remainder = (1 - head.cumsum(-1)).clamp(min=_eps(y))
        remainder = ops.cat([ops.ones(*head.shape[:-1], 1, dtype=y.dtype),
                             remainder[..., :-1]], -1)
        z = (head / remainder).clamp(min=_eps(y), max=1 - _eps(y))
        return z.log() - (-z).log1p() + offset.log()

    def log_abs_det_jacobian(self, x, y):
        offset = x.shape[-1] + 1 - ops.arange(1, x.shape[-1] + 1, dtype=x.dtype)
        x = x - offset.log()
        # dy_i/dx_i = z_i (1 - z_i) * (stick left before i) = sigmoid'(x) * y_i / z_i
        return (-x + F.logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)


def _eps(t: Tensor) -> float:
    from .. import backend
    return float(backend.finfo(t.dtype).eps)


identity_transform = ComposeTransform([])
