"""Elementwise ops: arithmetic, unary math, activations' primitives, comparisons.

Binary ops broadcast; their vjp may return cotangents of the broadcast shape
(the engine unbroadcasts). A unary op with derivative f'(x) writes it once in
``derivative`` and inherits ``vjp = g * f'`` and ``jvp = t * f'``.

Type promotion follows PyTorch across categories and NumPy within one: a float
operand wins over an integer or bool one and keeps its own dtype
(``int64 + float32 -> float32``); two floats (or two integers) promote as in
NumPy (``float32 + float64 -> float64``). Python numbers take the tensor's
dtype (a Python float next to an integer tensor takes the default float dtype).
Math functions of integer tensors (``sqrt``, ``exp``, ``sigmoid``, ...) compute
in the default float dtype, as in PyTorch.

Complex tensors: a complex operand wins over a real one; the result has the
complex operand's precision, widened to a float64 (non 0-d) operand's
(``complex64 * float64 -> complex128``, ``float32 * 1j -> complex64``). The
holomorphic ops (arithmetic, exp, log, sqrt, the trigonometric and hyperbolic
functions) accept complex inputs, and their vjps conjugate the derivative
(``g * conj(f'(z))``, PyTorch's convention, see ``ops/complex.py``) -- only when
the cotangent is complex, so real tensors pay one dtype-kind test at most.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..backend import (bfloat16, complex_dtype, dtype_kind, finfo, get_array_module,
                       get_default_dtype, promote_types, scipy_special, ufunc)
from ..tensor import _NDARRAY_TYPES, Tensor, lift


# -- helpers -----------------------------------------------------------------------
#: PyTorch's dtype categories, lowest first (NumPy's kind letters; bfloat16 is "f")
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _pair(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of a common category (see the module docstring)."""
    if type(a) is Tensor and type(b) is Tensor and a.array.dtype is b.array.dtype:
        return a, b  # the common case, first
    if isinstance(a, Tensor):
        b = lift(b, a)
    elif isinstance(b, Tensor):
        a = lift(a, b)
    else:
        from .creation import tensor
        a = tensor(a)
        b = lift(b, a)
    aa, ba = a.array, b.array
    if aa.dtype == ba.dtype:  # e.g. a tensor and a Python number lifted to its dtype
        return a, b
    ka, kb = dtype_kind(aa.dtype), dtype_kind(ba.dtype)
    if (aa.ndim == 0) != (ba.ndim == 0):
        # PyTorch: a 0-d tensor does not widen a dimensioned operand of its own category or
        # a higher one (float16 tensor * 0-d float32 -> float16); NumPy would widen it
        dim_kind, zero_kind = (kb, ka) if aa.ndim == 0 else (ka, kb)
        if _CATEGORY.get(zero_kind, 4) <= _CATEGORY.get(dim_kind, -1):
            if aa.ndim == 0:
                return a.to(b.dtype), b
            return a, b.to(a.dtype)
    if ka != kb:
        # across categories the float operand decides the dtype, as in PyTorch
        # (NumPy would widen int64 + float32 to float64)
        if ka == "c" or kb == "c":
            return _complex_pair(a, b)
        if ka == "f":
            b = b.to(a.dtype)
        elif kb == "f":
            a = a.to(b.dtype)
    elif ka == "f" and bfloat16 in (a.dtype, b.dtype) and a.dtype != b.dtype:
        # NumPy has no rule for bfloat16 with float16 (PyTorch: float32); cast explicitly
        dt = promote_types(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    return a, b


def _complex_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """A complex and a real operand, as PyTorch promotes them: the result is complex, of
    the complex operand's precision widened to a float operand's when that one has
    dimensions (complex64 * float64 -> complex128, but with a 0-d float64: complex64)."""
    first = a.dtype.kind == "c"
    z, r = (a, b) if first else (b, a)
    dt = z.dtype
    if dtype_kind(r.dtype) == "f" and r.dtype.itemsize > dt.itemsize // 2 and (
            r.ndim or not z.ndim):
        dt = complex_dtype(r.dtype)
    # NumPy promotes a float operand to ``dt`` by itself; the others are cast first
    # (integers: NumPy gives complex64 * int64 -> complex128; bfloat16; a 0-d float64)
    if r.dtype.kind != "f" or np.result_type(z.dtype, r.dtype) != dt:
        r = r.to(dt)
    return (z, r) if first else (r, z)


def _check_broadcast(op: str, *shapes) -> None:
    """Raise a readable error when ``shapes`` do not broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        ndim = max(len(s) for s in shapes)
        for d in range(1, ndim + 1):
            sizes = [s[-d] for s in shapes if len(s) >= d and s[-d] != 1]
            if len(set(sizes)) > 1:
                sizes_text = " vs ".join(str(n) for n in sizes)
                break
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise RuntimeError(f"{op}: shapes {listed} cannot be broadcast together "
                           f"(dimension {-d}: {sizes_text})") from None


def _apply(cls, op: str, *tensors, **params) -> Tensor:
    """``cls.apply`` with NumPy's broadcast errors replaced by a readable one."""
    try:
        return cls.apply(*tensors, **params)
    except ValueError:
        _check_broadcast(op, *(t.shape for t in tensors))
        raise


def _to_float(input, op: str, complex_ok: bool = False) -> Tensor:
    """``input`` as a floating tensor: integer and bool tensors take the default dtype.
    Complex tensors pass where ``complex_ok``, and are refused otherwise."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    kind = dtype_kind(input.dtype)
    if kind != "f":
        if kind == "c":
            if complex_ok:
                return input
            raise RuntimeError(f"{op}: complex tensors are not supported, got dtype "
                               f"{input.dtype} (shape {tuple(input.shape)})")
        return input.to(get_default_dtype())
    return input


def _conj(t: Tensor) -> Tensor:
    """conj(t) for a complex ``t``, ``t`` itself otherwise: the factor a vjp multiplies
    a complex cotangent by is the conjugate of the derivative."""
    if t.array.dtype.kind != "c":
        return t
    from .complex import conj
    return conj(t)


def _check_tensor(input, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    return input


def _same(t: Tensor) -> Tensor:
    return t


def _add_tangents(x, y):
    if x is None:
        return y
    if y is None:
        return x
    return x + y


def _mask(x: Tensor, array) -> Tensor:
    """A constant (no-gradient) tensor of ``array`` cast to ``x``'s dtype."""
    return Tensor._wrap(array.astype(x.dtype, copy=False))


def _zeros(like: Tensor) -> Tensor:
    """A constant tensor of zeros with ``like``'s shape, dtype and device."""
    return Tensor._wrap(get_array_module(like.array).zeros_like(like.array))


def _sigmoid_array(xp, x):
    """Logistic function on an array, exp of non-positive numbers only (no overflow)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus_array(xp, x):
    """log(1 + exp(x)) without overflow for large x nor loss for very negative x."""
    return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)


# -- arithmetic -------------------------------------------------------------------
class Add(Function):
    uses_inputs = False

    def forward(self, a, b):
        return ufunc(self.xp, self.xp.add, a, b)

    def vjp(self, g):
        return g, g

    def jvp(self, ta, tb):
        return _add_tangents(ta, tb)


class Sub(Function):
    uses_inputs = False

    def forward(self, a, b):
        return ufunc(self.xp, self.xp.subtract, a, b)

    def vjp(self, g):
        return g, (-g if self.needs_input_grad[1] else None)

    def jvp(self, ta, tb):
        return _add_tangents(ta, None if tb is None else -tb)


class Mul(Function):
    def forward(self, a, b):
        return ufunc(self.xp, self.xp.multiply, a, b)

    def vjp(self, g):
        a, b = self.inputs
        if g.array.dtype.kind == "c":
            a, b = _conj(a), _conj(b)
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _add_tangents(None if ta is None else ta * b, None if tb is None else a * tb)


class Div(Function):
    def forward(self, a, b):
        if a.dtype.kind in "iub" and b.dtype.kind in "iub":
            # true division of integers gives the default float dtype, as in PyTorch
            return self.xp.true_divide(a, b, dtype=get_default_dtype())
        return ufunc(self.xp, self.xp.true_divide, a, b)

    def vjp(self, g):
        a, b = self.inputs
        if g.array.dtype.kind == "c":  # conj(1 / b) and conj(a / b**2)
            a, b = _conj(a), _conj(b)
        need_a, need_b = self.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _add_tangents(None if ta is None else ta / b,
                             None if tb is None else -tb * a / (b * b))


class Pow(Function):
    def forward(self, a, b):
        return a ** b

    def _da(self):
        a, b = self.inputs
        # b * a**(b-1), but exactly 0 where b == 0: otherwise 0 * a**-1 is NaN at
        # a == 0 (this is what makes x**1 twice differentiable at 0, as in PyTorch)
        return where(b == 0, 0.0, b * a ** (b - 1))

    def _db(self):
        a, b = self.inputs
        # a**b * log(a), defined as 0 where a == 0 and b >= 0 (the limit)
        at_zero = logical_and(a == 0, b >= 0)
        safe = where(at_zero, 1.0, a)
        return where(at_zero, 0.0, a ** b * log(safe))

    def vjp(self, g):
        need_a, need_b = self.needs_input_grad
        conj_ = _conj if g.array.dtype.kind == "c" else _same
        return ((g * conj_(self._da()) if need_a else None),
                (g * conj_(self._db()) if need_b else None))

    def jvp(self, ta, tb):
        return _add_tangents(None if ta is None else ta * self._da(),
                             None if tb is None else tb * self._db())


class Maximum(Function):
    """max(a, b); at ties the gradient is split evenly, as in PyTorch."""
    uses_inputs = False

    def forward(self, a, b):
        out = self.xp.maximum(a, b)
        self.wa = self._weight(a, b, out.dtype)
        return out

    def _weight(self, a, b, dtype):
        """How much of the gradient goes to ``a``: 1, 0, or 0.5 at ties."""
        return ((a > b) + 0.5 * (a == b)).astype(dtype if dtype_kind(dtype) == "f" else np.float32)

    def vjp(self, g):
        wa = _mask(g, self.wa)
        need_a, need_b = self.needs_input_grad
        return (g * wa if need_a else None), (g * (1 - wa) if need_b else None)

    def jvp(self, ta, tb):
        wa = _mask(self.out, self.wa)
        return _add_tangents(None if ta is None else ta * wa, None if tb is None else tb * (1 - wa))


class Minimum(Maximum):
    def forward(self, a, b):
        out = self.xp.minimum(a, b)
        self.wa = self._weight(b, a, out.dtype)
        return out


class Fmax(Maximum):
    """max(a, b) ignoring NaN (NaN only where both are). As in PyTorch the gradient
    goes whole to the selected operand, to ``a`` at ties and where both are NaN."""

    def forward(self, a, b):
        out = self.xp.fmax(a, b)
        self.wa = self._selects_a(a >= b, b, out.dtype)
        return out

    def _selects_a(self, wins, b, dtype):
        """1 where ``a`` is selected (it ``wins`` or ``b`` is NaN), else 0."""
        if dtype_kind(b.dtype) == "f":
            wins = wins | self.xp.isnan(b)
        return wins.astype(dtype if dtype_kind(dtype) == "f" else np.float32)


class Fmin(Fmax):
    def forward(self, a, b):
        out = self.xp.fmin(a, b)
        self.wa = self._selects_a(a <= b, b, out.dtype)
        return out


class Copysign(Function):
    """|a| with the sign of b. d/da = +-1 (0 at a == 0, as in PyTorch); b's sign is
    piecewise constant, so b gets a zero gradient."""
    uses_inputs = False

    def forward(self, a, b):
        xp = self.xp
        out = xp.copysign(a, b)
        flipped = xp.signbit(a) != xp.signbit(out)
        self.slope = xp.where(a == 0, 0, xp.where(flipped, -1, 1)).astype(out.dtype)
        return out

    def vjp(self, g):
        need_a, need_b = self.needs_input_grad
        return (g * _mask(g, self.slope) if need_a else None), (_zeros(g) if need_b else None)

    def jvp(self, ta, tb):
        return None if ta is None else ta * _mask(self.out, self.slope)


class Where(Function):
    """where(cond, a, b) with a constant condition."""
    uses_inputs = False

    def forward(self, a, b, cond):
        self.cond = cond
        return self.xp.where(cond, a, b)

    def vjp(self, g):
        c = Tensor._wrap(self.cond)
        zero = _zeros(g)
        need_a, need_b = self.needs_input_grad
        return (where(c, g, zero) if need_a else None), (where(c, zero, g) if need_b else None)

    def jvp(self, ta, tb):
        c = Tensor._wrap(self.cond)
        zero = self.out.new_zeros(())
        return where(c, zero if ta is None else ta, zero if tb is None else tb)


class Atan2(Function):
    """atan2(a, b): the angle of the point (b, a)."""

    def forward(self, a, b):
        return self.xp.arctan2(a, b)

    def _partials(self):
        a, b = self.inputs
        r2 = a * a + b * b
        return b / r2, -a / r2

    def vjp(self, g):
        da, db = self._partials()
        need_a, need_b = self.needs_input_grad
        return (g * da if need_a else None), (g * db if need_b else None)

    def jvp(self, ta, tb):
        da, db = self._partials()
        return _add_tangents(None if ta is None else ta * da, None if tb is None else tb * db)


class Hypot(Function):
    """sqrt(a**2 + b**2) without intermediate overflow."""
    uses_output = True

    def forward(self, a, b):
        return self.xp.hypot(a, b)

    def vjp(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (g * a / self.out if need_a else None), (g * b / self.out if need_b else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _add_tangents(None if ta is None else ta * a / self.out,
                             None if tb is None else tb * b / self.out)


class LogAddExp(Function):
    """log(exp(a) + exp(b)), stable for large |a|, |b|."""
    uses_output = True

    def forward(self, a, b):
        return self.xp.logaddexp(a, b)

    def vjp(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        # exp(a - out) <= 1: the softmax weight of a, never overflows
        return ((g * exp(a - self.out) if need_a else None),
                (g * exp(b - self.out) if need_b else None))

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _add_tangents(None if ta is None else ta * exp(a - self.out),
                             None if tb is None else tb * exp(b - self.out))


class Remainder(Function):
    """Python's ``a % b`` (the sign of the divisor); d/db = -floor(a / b)."""

    def forward(self, a, b):
        return self.xp.remainder(a, b)

    def _db(self):
        a, b = self.inputs
        return -floor(a / b)

    def vjp(self, g):
        need_a, need_b = self.needs_input_grad
        return (g if need_a else None), (g * self._db() if need_b else None)

    def jvp(self, ta, tb):
        return _add_tangents(ta, None if tb is None else tb * self._db())


class Fmod(Remainder):
    """C's ``fmod`` (the sign of the dividend); d/db = -trunc(a / b)."""

    def forward(self, a, b):
        return self.xp.fmod(a, b)

    def _db(self):
        a, b = self.inputs
        return -trunc(a / b)


# -- unary ops ---------------------------------------------------------------------
class _Unary(Function):
    """An elementwise op whose rules are ``g * f'(x)`` and ``t * f'(x)`` (for complex
    inputs ``g * conj(f'(z))``)."""
    #: whether complex inputs are accepted: f is holomorphic and ``derivative`` holds for them
    supports_complex = False

    def derivative(self) -> Tensor:
        raise NotImplementedError

    def vjp(self, g):
        if g.array.dtype.kind == "c":
            return g * _conj(self.derivative())
        return g * self.derivative()

    def jvp(self, t):
        return t * self.derivative()


class Neg(Function):
    uses_inputs = False

    def forward(self, x):
        return -x

    def vjp(self, g):
        return -g

    def jvp(self, t):
        return -t


class Abs(_Unary):
    def forward(self, x):
        return self.xp.abs(x)

    def derivative(self):
        return sign(self.inputs[0])


class Step(Function):
    """A piecewise-constant op (sign, floor, round, ...): its derivative is zero
    almost everywhere. As in PyTorch, the output still joins the graph, so
    gradients flow through it (as zeros) rather than stop with an error."""
    uses_inputs = False

    def forward(self, x, ufunc, kwargs):
        return getattr(self.xp, ufunc)(x, **kwargs)

    def vjp(self, g):
        return _zeros(g)

    def jvp(self, t):
        return _zeros(t)


class Exp(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return ufunc(self.xp, self.xp.exp, x)

    def derivative(self):
        return self.out


class Log(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.log(x)

    def derivative(self):
        return 1 / self.inputs[0]


class Log1p(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.log1p(x)

    def derivative(self):
        return 1 / (1 + self.inputs[0])


class Expm1(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.expm1(x)

    def derivative(self):
        return self.out + 1


class Sqrt(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.sqrt(x)

    def derivative(self):
        return 0.5 / self.out


class Rsqrt(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return 1 / self.xp.sqrt(x)

    def derivative(self):
        # d/dx x**-0.5 = -0.5 x**-1.5 = -0.5 out**3
        out = self.out
        return -0.5 * out * out * out


class Sin(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.sin(x)

    def derivative(self):
        return cos(self.inputs[0])


class Cos(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.cos(x)

    def derivative(self):
        return -sin(self.inputs[0])


class Tan(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.tan(x)

    def derivative(self):
        return 1 + self.out * self.out


class Sinh(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.sinh(x)

    def derivative(self):
        return cosh(self.inputs[0])


class Cosh(_Unary):
    supports_complex = True
    def forward(self, x):
        return self.xp.cosh(x)

    def derivative(self):
        return sinh(self.inputs[0])


class Asin(_Unary):
    def forward(self, x):
        return self.xp.arcsin(x)

    def derivative(self):
        x = self.inputs[0]
        return rsqrt(1 - x * x)


class Acos(_Unary):
    def forward(self, x):
        return self.xp.arccos(x)

    def derivative(self):
        x = self.inputs[0]
        return -rsqrt(1 - x * x)


class Atan(_Unary):
    def forward(self, x):
        return self.xp.arctan(x)

    def derivative(self):
        x = self.inputs[0]
        return 1 / (1 + x * x)


class Asinh(_Unary):
    def forward(self, x):
        return self.xp.arcsinh(x)

    def derivative(self):
        x = self.inputs[0]
        return rsqrt(x * x + 1)


class Acosh(_Unary):
    def forward(self, x):
        return self.xp.arccosh(x)

    def derivative(self):
        x = self.inputs[0]
        return rsqrt(x * x - 1)


class Atanh(_Unary):
    def forward(self, x):
        return self.xp.arctanh(x)

    def derivative(self):
        x = self.inputs[0]
        return 1 / (1 - x * x)


class Tanh(_Unary):
    supports_complex = True
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.tanh(x)

    def derivative(self):
        return 1 - self.out * self.out


class Sigmoid(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return _sigmoid_array(self.xp, x)

    def derivative(self):
        s = self.out
        return s * (1 - s)


class Erf(_Unary):
    def forward(self, x):
        return scipy_special(self.xp).erf(x).astype(x.dtype, copy=False)

    def derivative(self):
        x = self.inputs[0]
        return (2 / math.sqrt(math.pi)) * exp(-x * x)


class Erfc(_Unary):
    def forward(self, x):
        return scipy_special(self.xp).erfc(x).astype(x.dtype, copy=False)

    def derivative(self):
        x = self.inputs[0]
        return (-2 / math.sqrt(math.pi)) * exp(-x * x)


class Erfinv(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return scipy_special(self.xp).erfinv(x).astype(x.dtype, copy=False)

    def derivative(self):
        # the inverse function's derivative: 1 / erf'(out)
        y = self.out
        return (math.sqrt(math.pi) / 2) * exp(y * y)


class Lgamma(_Unary):
    def forward(self, x):
        return scipy_special(self.xp).gammaln(x).astype(x.dtype, copy=False)

    def derivative(self):
        return digamma(self.inputs[0])


class Polygamma(_Unary):
    """The n-th derivative of digamma (n = 0: digamma itself)."""

    def forward(self, x, n):
        self.n = n
        special = scipy_special(self.xp)
        out = special.digamma(x) if n == 0 else special.polygamma(n, x)
        return out.astype(x.dtype, copy=False)

    def derivative(self):
        return Polygamma.apply(self.inputs[0], n=self.n + 1)


class Sinc(_Unary):
    """sin(pi x) / (pi x), 1 at 0."""
    uses_output = True

    def forward(self, x):
        return self.xp.sinc(x)

    def derivative(self):
        # (cos(pi x) - sinc(x)) / x cancels near 0: there, with u = pi x, its Taylor series
        # pi (-u/3 + u^3/30 - u^5/840 + u^7/45360) (next term below 3e-15 relative), which
        # is 0 at 0 and also gives the right higher derivatives there
        x = self.inputs[0]
        u = math.pi * x
        small = abs(u) < 0.1
        u2 = u * u
        series = math.pi * u * (-1 / 3 + u2 * (1 / 30 + u2 * (-1 / 840 + u2 / 45360)))
        safe = where(small, 1.0, x)
        return where(small, series, (cos(math.pi * safe) - self.out) / safe)


class NanToNum(_Unary):
    """NaN and +-inf replaced by numbers; the gradient passes where ``x`` is finite."""
    uses_inputs = False

    def forward(self, x, nan, posinf, neginf):
        xp = self.xp
        self.finite = xp.isfinite(x)
        out = xp.where(xp.isnan(x), nan, x)
        out = xp.where(out == xp.inf, posinf, out)
        return xp.where(out == -xp.inf, neginf, out).astype(x.dtype, copy=False)

    def derivative(self):
        return _mask(self.out, self.finite)


class Clamp(_Unary):
    """clamp(x, min, max) with number bounds; the gradient passes where min <= x <= max."""
    uses_inputs = False

    def forward(self, x, lo, hi):
        self.pass_mask = self.xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.pass_mask &= x >= lo
        if hi is not None:
            self.pass_mask &= x <= hi
        return self.xp.clip(x, lo, hi).astype(x.dtype, copy=False)

    def derivative(self):
        return _mask(self.out, self.pass_mask)


class NoGrad(Function):
    """A function of arrays with no derivative (comparisons, logical ops, isnan, ...).

    ``fn`` is the name of an array-module function (looked up on NumPy or CuPy)
    or a callable of the arrays.
    """
    differentiable = False

    def forward(self, *arrays, fn):
        if isinstance(fn, str):
            return getattr(self.xp, fn)(*arrays)
        return fn(*arrays)


# -- wrappers: arithmetic ---------------------------------------------------------------
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other``, broadcasting."""
    a, b = _pair(input, other)
    if alpha != 1:
        b = b * alpha
    return _apply(Add, "add", a, b)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    a, b = _pair(input, other)
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise TypeError("sub: subtraction of two bool tensors is not supported; use "
                        "logical_xor() or ~ instead")
    if alpha != 1:
        b = b * alpha
    return _apply(Sub, "sub", a, b)


def mul(input, other) -> Tensor:
    """``input * other``, broadcasting."""
    return _apply(Mul, "mul", *_pair(input, other))


def div(input, other, *, rounding_mode=None) -> Tensor:
    """``input / other`` (true division: integers give floats), or rounded with
    ``rounding_mode='floor'`` / ``'trunc'``."""
    a, b = _pair(input, other)
    if rounding_mode is None:
        return _apply(Div, "div", a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        _check_int_division(a, b, "div")
        return _nograd(_trunc_div, a, b, op="div")
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def _trunc_div(x, y):
    """Quotient rounded toward zero, exact for integers."""
    xp = get_array_module(x)
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        q = xp.floor_divide(x, y)
        # floor and trunc differ by one where the signs differ and the division is inexact
        return q + ((q < 0) & (xp.remainder(x, y) != 0))
    return xp.trunc(x / y)


def _check_int_division(a: Tensor, b: Tensor, op: str) -> None:
    """Integer division by zero is an error (NumPy would silently give 0)."""
    if a.dtype.kind in "iub" and b.dtype.kind in "iub" and not bool(b.array.all()):
        raise ZeroDivisionError(f"{op}: integer division by zero")


def floor_divide(input, other) -> Tensor:
    """``input // other``: the quotient rounded down (no gradient)."""
    a, b = _pair(input, other)
    _check_int_division(a, b, "floor_divide")
    return _nograd("floor_divide", a, b, op="floor_divide")


def remainder(input, other) -> Tensor:
    """``input % other`` with the sign of ``other`` (Python's ``%``)."""
    a, b = _pair(input, other)
    _check_int_division(a, b, "remainder")
    return _apply(Remainder, "remainder", a, b)


def fmod(input, other) -> Tensor:
    """C's ``fmod``: the remainder with the sign of ``input``."""
    a, b = _pair(input, other)
    _check_int_division(a, b, "fmod")
    return _apply(Fmod, "fmod", a, b)


def pow(input, exponent) -> Tensor:
    """``input ** exponent``, broadcasting."""
    a, b = _pair(input, exponent)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and bool((b.array < 0).any()):
        raise RuntimeError("pow: integers to negative integer powers are not allowed; "
                           "convert the base to float first")
    return _apply(Pow, "pow", a, b)


def maximum(input, other) -> Tensor:
    """Elementwise max; at ties each input receives half the gradient."""
    return _apply(Maximum, "maximum", *_pair(input, other))


def minimum(input, other) -> Tensor:
    """Elementwise min; at ties each input receives half the gradient."""
    return _apply(Minimum, "minimum", *_pair(input, other))


def fmax(input, other) -> Tensor:
    """Elementwise max ignoring NaN: NaN only where both are. At ties ``input``
    receives the gradient, as in PyTorch."""
    return _apply(Fmax, "fmax", *_pair(input, other))


def fmin(input, other) -> Tensor:
    """Elementwise min ignoring NaN: NaN only where both are. At ties ``input``
    receives the gradient, as in PyTorch."""
    return _apply(Fmin, "fmin", *_pair(input, other))


def copysign(input, other) -> Tensor:
    """``|input|`` with the sign (bit) of ``other``, broadcasting; integers give floats.
    ``other`` gets a zero gradient."""
    a, b = _pair(input, other)
    return _apply(Copysign, "copysign", _to_float(a, "copysign"), _to_float(b, "copysign"))


def heaviside(input, values) -> Tensor:
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0``
    (NaN gives 0, as in PyTorch), broadcasting; no gradient."""
    _check_tensor(input, "heaviside")
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        raise TypeError(f"heaviside: expected input and values of one dtype, got "
                        f"{input.dtype} and {values.dtype}")
    a, b = _pair(input, values)
    xp = get_array_module(a.array)
    return _nograd(lambda x, v: xp.where(x == 0, v, x > 0).astype(x.dtype, copy=False),
                   a, b, op="heaviside")


def atan2(input, other) -> Tensor:
    """Angle of the point ``(other, input)`` in radians, in [-pi, pi]."""
    a, b = _pair(input, other)
    return _apply(Atan2, "atan2", _to_float(a, "atan2"), _to_float(b, "atan2"))


def hypot(input, other) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    return _apply(Hypot, "hypot", *_pair(input, other))


def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))``, stable."""
    a, b = _pair(input, other)
    return _apply(LogAddExp, "logaddexp", _to_float(a, "logaddexp"), _to_float(b, "logaddexp"))


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0`` (unless ``other`` is NaN)."""
    x, y = _pair(input, other)
    x, y = _to_float(x, "xlogy"), _to_float(y, "xlogy")
    zero_x = logical_and(x == 0, logical_not(isnan(y)))
    # log of a safe value where the result is 0 anyway, so no NaN leaks into the gradient
    return where(zero_x, 0.0, x * log(where(zero_x, 1.0, y)))


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    a, b = _pair(input, end)
    return a + weight * (b - a)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else value * prod)


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else value * quot)


def where(condition, input, other) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcasting)."""
    a, b = _pair(input, other)
    cond = condition.array if isinstance(condition, Tensor) else condition
    cond = get_array_module(a.array).asarray(cond)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    try:
        return Where.apply(a, b, cond=cond)
    except ValueError:
        _check_broadcast("where", cond.shape, a.shape, b.shape)
        raise


def clamp(input, min=None, max=None) -> Tensor:
    """Limit ``input`` to [min, max]; the gradient passes where min <= input <= max.

    ``min`` and ``max`` are numbers or (broadcasting) tensors; where ``min > max``
    the result is ``max``, as in PyTorch.
    """
    _check_tensor(input, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # select with where: the gradient goes to x inside the bounds (ties included)
        # and to the bound that was selected, as in PyTorch
        out = input
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    if dtype_kind(input.dtype) != "f" and any(isinstance(v, float) for v in (min, max)):
        input = input.to(get_default_dtype())  # an integer tensor with float bounds
    return Clamp.apply(input, lo=min, hi=max)


def clamp_min(input, min) -> Tensor:
    return clamp(input, min=min)


def clamp_max(input, max) -> Tensor:
    return clamp(input, max=max)


# -- wrappers: unary ----------------------------------------------------------------
def _unary(cls, name: str, floating: bool = True):
    """The wrapper of a one-input op; ``floating`` ops compute integers as floats."""
    if floating:
        complex_ok = cls.supports_complex

        def op(input: Tensor) -> Tensor:
            return cls.apply(_to_float(input, name, complex_ok))
    else:
        def op(input: Tensor) -> Tensor:
            return cls.apply(_check_tensor(input, name))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}; same shape as the input."
    return op


def abs(input: Tensor) -> Tensor:
    """Elementwise ``|input|``; a complex input gives its real modulus, with the
    gradient ``g * z / |z|`` (0 at 0)."""
    _check_tensor(input, "abs")
    if input.array.dtype.kind == "c":
        from .complex import complex_abs
        return complex_abs(input)
    return Abs.apply(input)


exp = _unary(Exp, "exp")
log = _unary(Log, "log")
log1p = _unary(Log1p, "log1p")
expm1 = _unary(Expm1, "expm1")
sqrt = _unary(Sqrt, "sqrt")
rsqrt = _unary(Rsqrt, "rsqrt")
sin = _unary(Sin, "sin")
cos = _unary(Cos, "cos")
tan = _unary(Tan, "tan")
sinh = _unary(Sinh, "sinh")
cosh = _unary(Cosh, "cosh")
asin = arcsin = _unary(Asin, "asin")
acos = arccos = _unary(Acos, "acos")
atan = arctan = _unary(Atan, "atan")
asinh = arcsinh = _unary(Asinh, "asinh")
acosh = arccosh = _unary(Acosh, "acosh")
atanh = arctanh = _unary(Atanh, "atanh")
tanh = _unary(Tanh, "tanh")
sigmoid = _unary(Sigmoid, "sigmoid")
erf = _unary(Erf, "erf")
erfc = _unary(Erfc, "erfc")
erfinv = _unary(Erfinv, "erfinv")
lgamma = _unary(Lgamma, "lgamma")
sinc = _unary(Sinc, "sinc")
arctan2 = atan2


def digamma(input: Tensor) -> Tensor:
    """Elementwise digamma, the derivative of ``lgamma`` (infinite at 0, NaN at negative
    integers)."""
    return Polygamma.apply(_to_float(input, "digamma"), n=0)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of ``digamma`` (``n = 0``: digamma), elementwise."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return Polygamma.apply(_to_float(input, "polygamma"), n=int(n))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``x.polygamma(n)``: the Tensor method takes ``n`` after the tensor."""
    return polygamma(n, self)


_polygamma_method.__name__ = "polygamma"


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """``input`` with NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``
    (by default 0 and the dtype's largest and lowest finite values). The gradient is 1
    where ``input`` is finite and 0 where a value was replaced."""
    _check_tensor(input, "nan_to_num")
    if dtype_kind(input.dtype) != "f":
        return input.clone()  # integers have no NaN nor infinity
    info = finfo(input.dtype)  # of the input's dtype: bfloat16 computes in float32
    return NanToNum.apply(input, nan=nan, posinf=float(info.max) if posinf is None else posinf,
                          neginf=float(info.min) if neginf is None else neginf)


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    _check_tensor(input, "neg")
    if input.dtype.kind == "b":
        raise TypeError("neg: negation of a bool tensor is not supported; use "
                        "logical_not() or ~ instead")
    return Neg.apply(input)


negative = neg


def square(input: Tensor) -> Tensor:
    return input * input


def reciprocal(input: Tensor) -> Tensor:
    return 1 / input


def log2(input: Tensor) -> Tensor:
    return log(input) * (1 / math.log(2))


def log10(input: Tensor) -> Tensor:
    return log(input) * (1 / math.log(10))


def exp2(input: Tensor) -> Tensor:
    return exp(_to_float(input, "exp2") * math.log(2))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to [eps, 1 - eps]."""
    p = _to_float(input, "logit")
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
    return log(p) - log1p(-p)


def frac(input: Tensor) -> Tensor:
    """The fractional part ``input - trunc(input)`` (sign of ``input``); gradient 1."""
    return input - trunc(input)


def _step(name: str, ufunc: str):
    def op(input: Tensor) -> Tensor:
        _check_tensor(input, name)
        if name != "sign" and input.dtype.kind in "iub":
            return input.clone()  # integers are already whole
        return Step.apply(input, ufunc=ufunc, kwargs={})
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}; its gradient is zero (almost everywhere)."
    return op


sign = _step("sign", "sign")
floor = _step("floor", "floor")
ceil = _step("ceil", "ceil")
trunc = fix = _step("trunc", "trunc")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even (to ``decimals`` places); its gradient is zero."""
    _check_tensor(input, "round")
    if input.dtype.kind in "iub" and decimals >= 0:
        return input.clone()
    return Step.apply(input, ufunc="round", kwargs={"decimals": decimals})


# -- no-gradient ops -----------------------------------------------------------------
def _nograd(fn, *tensors, op: str | None = None) -> Tensor:
    """``fn`` (an array-module function name or a callable of arrays) without gradient."""
    return _apply(NoGrad, op or str(getattr(fn, "__name__", fn)), *tensors, fn=fn)


def _comparison(name: str, ufunc: str):
    def op(input, other) -> Tensor:
        a, b = _pair(input, other)
        return _nograd(ufunc, a, b, op=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} as a bool tensor (no gradient), broadcasting."
    return op


eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")
lt = _comparison("lt", "less")
le = _comparison("le", "less_equal")
gt = _comparison("gt", "greater")
ge = _comparison("ge", "greater_equal")
logical_and = _comparison("logical_and", "logical_and")
logical_or = _comparison("logical_or", "logical_or")
logical_xor = _comparison("logical_xor", "logical_xor")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _check_integral(op: str, *tensors) -> None:
    for t in tensors:
        if t.dtype.kind not in "iub":
            raise TypeError(f"{op}: expected integer or bool tensors, got dtype {t.dtype}")


def _bitwise(name: str, ufunc: str):
    def op(input, other) -> Tensor:
        a, b = _pair(input, other)
        _check_integral(name, a, b)
        return _nograd(ufunc, a, b, op=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of integer or bool tensors, broadcasting."
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    """``~input`` for integer or bool tensors."""
    _check_integral("bitwise_not", _check_tensor(input, "bitwise_not"))
    return NoGrad.apply(input, fn="invert")


def _elementwise_nograd(name: str, ufunc: str):
    def op(input: Tensor) -> Tensor:
        return NoGrad.apply(_check_tensor(input, name), fn=ufunc)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} as a tensor without gradient."
    return op


logical_not = _elementwise_nograd("logical_not", "logical_not")
isnan = _elementwise_nograd("isnan", "isnan")
isinf = _elementwise_nograd("isinf", "isinf")
isfinite = _elementwise_nograd("isfinite", "isfinite")
signbit = _elementwise_nograd("signbit", "signbit")


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(eq(input, other).array.all())


def allclose(input: Tensor, other: Tensor, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan).array.all())


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (no gradient)."""
    a, b = _pair(input, other)
    xp = get_array_module(a.array)
    return _nograd(lambda x, y: xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan),
                   a, b, op="isclose")


# -- more math: angles, base-2 log-sum, powers, integer and float bits -----------------
def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+x``); bool tensors are refused, as in PyTorch."""
    _check_tensor(input, "positive")
    if input.dtype == np.bool_:
        raise TypeError("positive: not supported for bool tensors")
    return input


def sgn(input: Tensor) -> Tensor:
    """The sign; for real tensors the same as ``sign``, for complex ones ``z / |z|``
    (0 at 0)."""
    if _check_tensor(input, "sgn").array.dtype.kind == "c":
        r = abs(input)
        zero = r == 0
        return where(zero, 0.0, input / where(zero, 1.0, r))
    return sign(input)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians (integer tensors give the default float dtype)."""
    return _to_float(input, "deg2rad") * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees (integer tensors give the default float dtype)."""
    return _to_float(input, "rad2deg") * (180.0 / math.pi)


def logaddexp2(input, other) -> Tensor:
    """``log2(2**input + 2**other)``, stable."""
    a, b = _pair(input, other)
    ln2 = math.log(2)
    return logaddexp(_to_float(a, "logaddexp2") * ln2, _to_float(b, "logaddexp2") * ln2) / ln2


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (the result is float64)."""
    a, b = _pair(input, exponent)
    return pow(a.to(np.float64), b.to(np.float64))


def ldexp(input, other) -> Tensor:
    """``input * 2**other`` (a float result)."""
    a, b = _pair(input, other)
    a = _to_float(a, "ldexp")
    return a * exp2(b.to(a.dtype))


def _integer_pair(op: str, input, other) -> tuple:
    a, b = _pair(input, other)
    if dtype_kind(a.dtype) not in "iu" or dtype_kind(b.dtype) not in "iu":
        raise RuntimeError(f"{op}: expects integer tensors, got {a.dtype} and {b.dtype}")
    return a, b


def gcd(input, other) -> Tensor:
    """Greatest common divisor of integer tensors (``gcd(0, 0) = 0``), broadcasting."""
    return _nograd("gcd", *_integer_pair("gcd", input, other), op="gcd")


def lcm(input, other) -> Tensor:
    """Least common multiple of integer tensors, broadcasting."""
    return _nograd("lcm", *_integer_pair("lcm", input, other), op="lcm")


def nextafter(input, other) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``; no gradient."""
    a, b = _pair(input, other)
    return _nograd("nextafter", _to_float(a, "nextafter"), _to_float(b, "nextafter"),
                   op="nextafter")


def frexp(input: Tensor) -> tuple:
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent`` and
    ``0.5 <= |mantissa| < 1`` (exponent int32); no gradient."""
    _check_tensor(input, "frexp")
    if dtype_kind(input.dtype) != "f":
        raise RuntimeError(f"frexp: expects a floating tensor, got {input.dtype}")
    xp = get_array_module(input.array)
    arr = input.array.astype(np.float32) if input.dtype == bfloat16 else input.array
    mantissa, exponent = xp.frexp(arr)
    return (Tensor._wrap(mantissa.astype(input.dtype, copy=False)),
            Tensor._wrap(exponent.astype(np.int32, copy=False)))


def isposinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf."""
    return _nograd(lambda x: x == np.inf, input, op="isposinf")


def isneginf(input: Tensor) -> Tensor:
    """True where ``input`` is -inf."""
    return _nograd(lambda x: x == -np.inf, input, op="isneginf")


def isreal(input: Tensor) -> Tensor:
    """True where the imaginary part is 0: everywhere for real tensors."""
    xp = get_array_module(input.array)
    return _nograd(lambda x: xp.isreal(x) if x.dtype.kind == "c" else xp.ones(x.shape, bool),
                   input, op="isreal")


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 0 (``nabla.special.i0``)."""
    from ..special import i0 as special_i0
    return special_i0(input)


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function (``nabla.special.multigammaln``)."""
    from ..special import multigammaln
    return multigammaln(input, p)


# -- Tensor operators and methods ---------------------------------------------------
#: what a binary operator accepts as its other operand (anything else: NotImplemented)
_OPERANDS = (Tensor, numbers.Number, np.generic, list, tuple) + _NDARRAY_TYPES


def _operator(fn, reflected: bool = False):
    """``fn`` as a binary dunder: NotImplemented for foreign operands, so that
    ``x == None`` is False and ``x + "a"`` raises Python's usual TypeError."""
    if reflected:
        def method(self, other):
            return fn(other, self) if isinstance(other, _OPERANDS) else NotImplemented
    else:
        def method(self, other):
            if type(other) is Tensor or isinstance(other, _OPERANDS):
                return fn(self, other)
            return NotImplemented
    method.__name__ = method.__qualname__ = fn.__name__
    return method


TENSOR_METHODS = {
    "__add__": _operator(add), "__radd__": _operator(add, True),
    "__sub__": _operator(sub), "__rsub__": _operator(sub, True),
    "__mul__": _operator(mul), "__rmul__": _operator(mul, True),
    "__truediv__": _operator(div), "__rtruediv__": _operator(div, True),
    "__pow__": _operator(pow), "__rpow__": _operator(pow, True),
    "__floordiv__": _operator(floor_divide), "__rfloordiv__": _operator(floor_divide, True),
    "__mod__": _operator(remainder), "__rmod__": _operator(remainder, True),
    "__eq__": _operator(eq), "__ne__": _operator(ne), "__lt__": _operator(lt),
    "__le__": _operator(le), "__gt__": _operator(gt), "__ge__": _operator(ge),
    "__and__": _operator(bitwise_and), "__rand__": _operator(bitwise_and, True),
    "__or__": _operator(bitwise_or), "__ror__": _operator(bitwise_or, True),
    "__xor__": _operator(bitwise_xor), "__rxor__": _operator(bitwise_xor, True),
    "__neg__": neg, "__abs__": abs, "__invert__": bitwise_not,
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "neg": neg, "negative": neg, "abs": abs,
    "sign": sign, "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt,
    "rsqrt": rsqrt, "sin": sin, "cos": cos, "tan": tan, "tanh": tanh, "sigmoid": sigmoid,
    "sinh": sinh, "cosh": cosh, "asin": asin, "acos": acos, "atan": atan, "asinh": asinh,
    "acosh": acosh, "atanh": atanh, "arcsin": asin, "arccos": acos, "arctan": atan,
    "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh, "atan2": atan2, "arctan2": atan2,
    "hypot": hypot, "logaddexp": logaddexp, "xlogy": xlogy, "lerp": lerp,
    "addcmul": addcmul, "addcdiv": addcdiv, "fmod": fmod, "frac": frac, "logit": logit,
    "erf": erf, "erfc": erfc, "erfinv": erfinv, "maximum": maximum, "minimum": minimum,
    "clamp": clamp, "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "square": square, "reciprocal": reciprocal, "log2": log2, "log10": log10, "exp2": exp2,
    "where": lambda self, condition, other: where(condition, self, other),
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "less": lt,
    "greater_equal": ge, "less_equal": le, "not_equal": ne,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "signbit": signbit,
    "floor": floor, "ceil": ceil, "round": round, "trunc": trunc, "fix": trunc,
    "floor_divide": floor_divide, "remainder": remainder, "equal": equal,
    "allclose": allclose, "isclose": isclose,
    "lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method,
    "sinc": sinc, "heaviside": heaviside, "copysign": copysign, "fmax": fmax, "fmin": fmin,
    "nan_to_num": nan_to_num,
    "absolute": abs, "positive": positive, "sgn": sgn, "deg2rad": deg2rad,
    "rad2deg": rad2deg, "logaddexp2": logaddexp2, "float_power": float_power,
    "ldexp": ldexp, "gcd": gcd, "lcm": lcm, "nextafter": nextafter, "frexp": frexp,
    "isposinf": isposinf, "isneginf": isneginf, "isreal": isreal, "i0": i0,
    "mvlgamma": mvlgamma,
}


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return self._inplace(fn, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


# in-place variants: x.add_(y) writes add(x, y) back into x (see Tensor._inplace)
for _name in ("add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin",
              "cos", "tan", "tanh", "sigmoid", "clamp", "clip", "clamp_min", "clamp_max",
              "maximum", "minimum", "sign", "floor", "ceil", "round", "trunc", "reciprocal",
              "square", "log1p", "expm1", "rsqrt", "remainder", "fmod", "frac", "erf",
              "lerp", "addcmul", "addcdiv", "atan2", "hypot", "logit", "floor_divide",
              "log2", "log10", "exp2", "sinh", "cosh", "asin", "acos", "atan", "xlogy",
              "lgamma", "digamma", "polygamma", "sinc", "heaviside", "copysign", "nan_to_num",
              "absolute", "negative", "sgn", "erfc", "erfinv", "fix", "arcsin", "arccos",
              "arctan", "arctan2", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh",
              "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
              "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
              "logical_not", "deg2rad", "rad2deg", "float_power", "ldexp", "gcd", "lcm",
              "nextafter", "i0", "mvlgamma", "subtract", "multiply", "divide", "true_divide",
              "logaddexp", "logaddexp2"):
    TENSOR_METHODS[_name + "_"] = _inplace_method(TENSOR_METHODS[_name])
def _ufunc_inplace(fn, ufunc_name: str):
    """``x.add_(y)`` and kin: outside recording, one ufunc call writing into x's memory
    (an optimizer step makes no temporary copy); otherwise the generic path."""
    def method(self, other, **kwargs):
        if not kwargs and dtype_kind(self.array.dtype) == "f" and not (STATE.grad_enabled and (
                self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))):
            o = other.array if isinstance(other, Tensor) else other
            if type(o) is type(self.array) or isinstance(o, numbers.Number):
                try:
                    getattr(get_array_module(self.array), ufunc_name)(self.array, o, out=self.array)
                except (ValueError, TypeError):
                    pass  # broadcast, read-only or casting trouble: the generic path explains
                else:
                    self._version[0] += 1
                    return self
        return self._inplace(fn, other, **kwargs)
    method.__name__ = fn.__name__ + "_"
    return method


for _name, _ufunc in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                      ("div", "true_divide")):
    TENSOR_METHODS[_name + "_"] = _ufunc_inplace(TENSOR_METHODS[_name], _ufunc)
TENSOR_METHODS["__iadd__"] = TENSOR_METHODS["add_"]
TENSOR_METHODS["__isub__"] = TENSOR_METHODS["sub_"]
TENSOR_METHODS["__imul__"] = TENSOR_METHODS["mul_"]
TENSOR_METHODS["__itruediv__"] = TENSOR_METHODS["div_"]
TENSOR_METHODS["__ipow__"] = TENSOR_METHODS["pow_"]
TENSOR_METHODS["__ifloordiv__"] = TENSOR_METHODS["floor_divide_"]
TENSOR_METHODS["__imod__"] = TENSOR_METHODS["remainder_"]

true_divide = divide = div
subtract = sub
multiply = mul
absolute = abs

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "clamp", "clamp_min",
    "clamp_max", "clip", "neg", "negative", "abs", "sign", "exp", "log", "log1p", "expm1",
    "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "erfc", "erfinv",
    "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin", "arccos",
    "arctan", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "hypot", "logaddexp",
    "xlogy", "lerp", "addcmul", "addcdiv", "fmod", "frac", "logit", "square", "reciprocal",
    "log2", "log10", "exp2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isnan",
    "isinf", "isfinite", "signbit", "floor", "ceil", "round", "trunc", "fix",
    "floor_divide", "remainder", "equal", "allclose", "isclose", "subtract", "multiply",
    "divide", "true_divide", "lgamma", "digamma", "polygamma", "sinc", "heaviside",
    "copysign", "fmax", "fmin", "nan_to_num", "absolute", "positive", "sgn", "deg2rad",
    "rad2deg", "logaddexp2", "float_power", "ldexp", "gcd", "lcm", "nextafter", "frexp",
    "isposinf", "isneginf", "isreal", "i0", "mvlgamma",
]
clip = clamp
