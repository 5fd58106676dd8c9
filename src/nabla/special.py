"""``nabla.special``: special functions with PyTorch's ``torch.special`` names.

Most are other names of nabla ops (``expit`` is ``sigmoid``, ``gammaln`` is
``lgamma``, ...). The rest are composites of nabla ops (``ndtr``, ``xlog1py``,
``multigammaln``) or small primitives here whose values come from
``scipy.special`` (``cupyx.scipy.special`` on a GPU) and whose derivatives are
written in Tensor ops, so they differentiate again.

Unlike PyTorch, ``bessel_j0`` and ``bessel_j1`` have gradients.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .autograd.function import Function
from .backend import scipy_special
from .ops.elementwise import (_pair, _to_float, _Unary, erf, erfc, erfinv, exp, exp2, expm1,
                              isnan, log, log1p, logical_and, logical_not, logit, polygamma,
                              round, sigmoid, sign, sinc, where, xlogy)
from .ops.elementwise import digamma as _digamma
from .ops.elementwise import lgamma
from .ops.reduction import logsumexp
from .ops.softmax import log_softmax, softmax
from .tensor import Tensor

__all__ = [
    "expit", "logit", "erf", "erfc", "erfcx", "erfinv", "ndtr", "ndtri", "log_ndtr",
    "gammaln", "digamma", "psi", "polygamma", "multigammaln", "xlogy", "xlog1py", "entr",
    "sinc", "logsumexp", "softmax", "log_softmax", "log1p", "expm1", "exp2", "round",
    "i0", "i0e", "i1", "i1e", "bessel_j0", "bessel_j1", "gammainc", "gammaincc",
]

_SQRT_2PI = math.sqrt(2 * math.pi)


class _Special(_Unary):
    """A unary op computed by ``scipy.special.<fn>``; rules ``g * f'(x)``, ``t * f'(x)``."""
    fn = ""

    def forward(self, x):
        return getattr(scipy_special(self.xp), self.fn)(x).astype(x.dtype, copy=False)


def _over_x(x: Tensor, num: Tensor, at_zero: float) -> Tensor:
    """``num / x``, with ``at_zero`` where ``x == 0`` (its limit there, num being 0)."""
    zero = x == 0
    return where(zero, at_zero, num / where(zero, 1.0, x))


class Erfcx(_Special):
    """erfc(x) exp(x^2), which does not underflow for large x."""
    fn, uses_output = "erfcx", True

    def derivative(self):
        return 2 * self.inputs[0] * self.out - 2 / math.sqrt(math.pi)


class Ndtri(_Special):
    """The inverse of ``ndtr``: the standard normal quantile function."""
    fn, uses_inputs, uses_output = "ndtri", False, True

    def derivative(self):
        y = self.out
        return _SQRT_2PI * exp(0.5 * y * y)


class LogNdtr(_Special):
    """log of the standard normal CDF, accurate far into the left tail."""
    fn = "log_ndtr"

    def derivative(self):
        # pdf / cdf = sqrt(2 / pi) / erfcx(-x / sqrt(2)): no 0 / 0 in the left tail, and
        # no cancellation (exp(-x**2 / 2 - out) loses all of bfloat16's digits at x = -5)
        x = self.inputs[0]
        return math.sqrt(2 / math.pi) / erfcx(x * (-1 / math.sqrt(2)))


class Entr(_Special):
    """-x log(x) for x > 0, 0 at 0, -inf for x < 0."""
    fn = "entr"

    def derivative(self):
        # as in PyTorch: +inf at 0 and NaN below it
        return -(1 + log(self.inputs[0]))


class I0(_Special):
    fn = "i0"

    def derivative(self):
        return i1(self.inputs[0])


class I0e(_Special):
    """exp(-|x|) i0(x)."""
    fn, uses_output = "i0e", True

    def derivative(self):
        x = self.inputs[0]
        return i1e(x) - sign(x) * self.out


class I1(_Special):
    fn, uses_output = "i1", True

    def derivative(self):
        x = self.inputs[0]
        return i0(x) - _over_x(x, self.out, 0.5)


class I1e(_Special):
    """exp(-|x|) i1(x)."""
    fn, uses_output = "i1e", True

    def derivative(self):
        x = self.inputs[0]
        return i0e(x) - _over_x(x, self.out, 0.5) - sign(x) * self.out


class BesselJ0(_Special):
    fn = "j0"

    def derivative(self):
        return -bessel_j1(self.inputs[0])


class BesselJ1(_Special):
    fn, uses_output = "j1", True

    def derivative(self):
        x = self.inputs[0]
        return bessel_j0(x) - _over_x(x, self.out, 0.5)


def _unary(cls, name: str, doc: str):
    def op(input: Tensor) -> Tensor:
        return cls.apply(_to_float(input, f"special.{name}"))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


erfcx = _unary(Erfcx, "erfcx", "``erfc(x) * exp(x**2)``, elementwise.")
ndtri = _unary(Ndtri, "ndtri", "The standard normal quantile: ``ndtr(ndtri(p)) = p``.")
log_ndtr = _unary(LogNdtr, "log_ndtr", "``log(ndtr(x))``, accurate for very negative x.")
entr = _unary(Entr, "entr", "``-x * log(x)`` (0 at 0, -inf below), elementwise.")
i0 = _unary(I0, "i0", "The modified Bessel function of the first kind, order 0.")
i0e = _unary(I0e, "i0e", "``exp(-|x|) * i0(x)``, which does not overflow.")
i1 = _unary(I1, "i1", "The modified Bessel function of the first kind, order 1.")
i1e = _unary(I1e, "i1e", "``exp(-|x|) * i1(x)``, which does not overflow.")
bessel_j0 = _unary(BesselJ0, "bessel_j0", "The Bessel function of the first kind, order 0.")
bessel_j1 = _unary(BesselJ1, "bessel_j1", "The Bessel function of the first kind, order 1.")


def dP_da(xp, a, x):
    """d/da of the regularised lower incomplete gamma P(a, x) (float64 arrays): it has no
    closed form; a central difference with relative step 1e-5 is accurate to about 1e-9."""
    special = scipy_special(xp)
    a, x = a.astype(np.float64), x.astype(np.float64)
    h = 1e-5 * a
    return (special.gammainc(a + h, x) - special.gammainc(a - h, x)) / (2 * h)


class HeldDerivative(Function):
    """A derivative computed numerically in the forward, held as a constant of the graph:
    differentiating it again raises instead of silently giving zero."""
    uses_inputs = False

    def forward(self, a, value, what):
        self.what = what
        return value

    def _refuse(self, *_):
        raise NotImplementedError(f"{self.what}: the derivative with respect to the shape "
                                  f"parameter is numerical, so it cannot be differentiated "
                                  f"again (second order in the shape parameter)")

    vjp = jvp = _refuse


class _IncompleteGamma(Function):
    """A regularised incomplete gamma function of (a, x) from ``scipy.special.<fn>``. The
    derivative in x is x^(a-1) e^-x / Gamma(a) (negated for the upper function), written as
    PyTorch writes it (so NaN at x = 0, a = 1 too). The derivative in a, which PyTorch does
    not implement, is ``dP_da`` (numerical, first order only: it is what Gamma's cdf and
    rsample differentiate through)."""
    fn, sign = "", 1.0

    def forward(self, a, x):
        self.da = None
        if self.inputs[0].requires_grad:
            a64, x64 = self.xp.broadcast_arrays(a, x)
            self.da = (self.sign * dP_da(self.xp, a64, x64)).astype(x.dtype)
        return getattr(scipy_special(self.xp), self.fn)(a, x).astype(x.dtype, copy=False)

    def _derivative_x(self) -> Tensor:
        a, x = self.inputs
        return self.sign * exp((a - 1) * log(x) - x - lgamma(a))

    def _derivative_a(self) -> Tensor:
        return HeldDerivative.apply(self.inputs[0], value=self.da, what=self.name.lower())

    def vjp(self, g):
        return (g * self._derivative_a() if self.needs_input_grad[0] else None,
                g * self._derivative_x() if self.needs_input_grad[1] else None)

    def jvp(self, ta, tx):
        out = None if tx is None else tx * self._derivative_x()
        if ta is not None:
            if self.da is None:  # forward mode alone: the forward did not know a needed it
                a64, x64 = self.xp.broadcast_arrays(*(t.array for t in self.inputs))
                self.da = (self.sign * dP_da(self.xp, a64, x64)).astype(x64.dtype)
            term = ta * self._derivative_a()
            out = term if out is None else out + term
        return out


class Igamma(_IncompleteGamma):
    fn = "gammainc"


class Igammac(_IncompleteGamma):
    fn, sign = "gammaincc", -1.0


def gammainc(input, other) -> Tensor:
    """The regularised lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a),
    a = ``input``, x = ``other`` (broadcasting; NaN where a < 0 or x < 0). Differentiable in
    both; the derivative in ``input``, which PyTorch lacks, is numerical and first order."""
    a, x = _pair(input, other)
    return Igamma.apply(_to_float(a, "igamma"), _to_float(x, "igamma"))


def gammaincc(input, other) -> Tensor:
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x) (see
    ``gammainc``)."""
    a, x = _pair(input, other)
    return Igammac.apply(_to_float(a, "igammac"), _to_float(x, "igammac"))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``, elementwise."""
    # through erfc of -x: no cancellation in the left tail
    return 0.5 * erfc(_to_float(input, "special.ndtr") * (-1 / math.sqrt(2)))


def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, 0 where ``input == 0`` (unless ``other`` is NaN)."""
    x, y = _pair(input, other)
    x, y = _to_float(x, "special.xlog1py"), _to_float(y, "special.xlog1py")
    zero_x = logical_and(x == 0, logical_not(isnan(y)))
    # log1p of a safe value where the result is 0 anyway, so no NaN leaks into the gradient
    return where(zero_x, 0.0, x * log1p(where(zero_x, 0.0, y)))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p (p - 1) / 4 log(pi) + sum_{j < p} lgamma(input - j / 2)``.

    Every element must be greater than ``(p - 1) / 2``.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
        raise ValueError(f"special.multigammaln: p must be a positive int, got {p!r}")
    a = _to_float(input, "special.multigammaln")
    if a.numel() and not bool((a > (p - 1) / 2).all()):
        raise ValueError(f"special.multigammaln: every element of input must be greater "
                         f"than (p - 1) / 2 = {(p - 1) / 2}")
    out = lgamma(a)
    for j in range(1, p):
        out = out + lgamma(a - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


# other names of nabla ops, as torch.special has them
expit = sigmoid
gammaln = lgamma
digamma = psi = _digamma
igamma, igammac = gammainc, gammaincc  # torch.igamma, torch.igammac


def _inplace_method(fn, name: str):
    def method(self: Tensor, other) -> Tensor:
        return self._inplace(fn, other, _name=name)
    method.__name__ = method.__qualname__ = name
    return method


# PyTorch's Tensor methods for these (``a.igamma(x)``, ``a.igammac_(x)``)
TENSOR_METHODS = {"igamma": igamma, "igammac": igammac,
                  "igamma_": _inplace_method(igamma, "igamma_"),
                  "igammac_": _inplace_method(igammac, "igammac_")}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
