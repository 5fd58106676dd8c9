"""Elementwise ops: arithmetic, unary math, activations' primitives, comparisons.

Binary ops broadcast; their vjp may return cotangents of the broadcast shape
(the engine unbroadcasts). A unary op with derivative f'(x) writes it once in
``derivative`` and inherits ``vjp = g * f'`` and ``jvp = t * f'``.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import scipy_special
from ..tensor import Tensor, lift


def _pair(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; Python numbers take the tensor operand's dtype."""
    if isinstance(a, Tensor):
        return a, lift(b, a)
    if isinstance(b, Tensor):
        return lift(a, b), b
    from .creation import tensor
    a = tensor(a)
    return a, lift(b, a)


def _add_tangents(x, y):
    if x is None:
        return y
    if y is None:
        return x
    return x + y


def _mask(x: Tensor, array) -> Tensor:
    """A constant (no-gradient) tensor of ``array`` cast to ``x``'s dtype."""
    return Tensor._wrap(array.astype(x.dtype, copy=False))


# -- arithmetic -------------------------------------------------------------------
class Add(Function):
    uses_inputs = False

    def forward(self, a, b):
        return a + b

    def vjp(self, g):
        return g, g

    def jvp(self, ta, tb):
        return _add_tangents(ta, tb)


class Sub(Function):
    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def vjp(self, g):
        return g, -g if self.needs_input_grad[1] else None

    def jvp(self, ta, tb):
        return _add_tangents(ta, None if tb is None else -tb)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def vjp(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _add_tangents(None if ta is None else ta * b, None if tb is None else a * tb)


class Div(Function):
    def forward(self, a, b):
        if a.dtype.kind in "iub" and b.dtype.kind in "iub":
            from ..backend import get_default_dtype
            return self.xp.true_divide(a, b, dtype=get_default_dtype())
        return a / b

    def vjp(self, g):
        a, b = self.inputs
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
        return b * a ** (b - 1)

    def _db(self):
        a, b = self.inputs
        # a**b * log(a), defined as 0 where a == 0 (the limit for b > 0)
        safe = where(a == 0, 1.0, a)
        return where(a == 0, 0.0, a ** b * log(safe))

    def vjp(self, g):
        need_a, need_b = self.needs_input_grad
        return (g * self._da() if need_a else None), (g * self._db() if need_b else None)

    def jvp(self, ta, tb):
        return _add_tangents(None if ta is None else ta * self._da(),
                             None if tb is None else tb * self._db())


class Maximum(Function):
    """max(a, b); at ties the gradient is split evenly, as in PyTorch."""

    def forward(self, a, b):
        self.wa = (a > b) + 0.5 * (a == b)
        return self.xp.maximum(a, b)

    def vjp(self, g):
        wa = _mask(g, self.wa)
        return g * wa, g * (1 - wa)

    def jvp(self, ta, tb):
        wa = _mask(self.out, self.wa)
        return _add_tangents(None if ta is None else ta * wa, None if tb is None else tb * (1 - wa))


class Minimum(Maximum):
    def forward(self, a, b):
        self.wa = (a < b) + 0.5 * (a == b)
        return self.xp.minimum(a, b)


class Where(Function):
    """where(cond, a, b) with a constant condition."""
    uses_inputs = False

    def forward(self, a, b, cond):
        self.cond = cond
        return self.xp.where(cond, a, b)

    def vjp(self, g):
        c = Tensor._wrap(self.cond)
        zero = g.new_zeros(())
        return where(c, g, zero), where(c, zero, g)

    def jvp(self, ta, tb):
        c = Tensor._wrap(self.cond)
        zero = self.out.new_zeros(())
        return where(c, zero if ta is None else ta, zero if tb is None else tb)


# -- unary ops ---------------------------------------------------------------------
class _Unary(Function):
    """An elementwise op whose rules are ``g * f'(x)`` and ``t * f'(x)``."""

    def derivative(self) -> Tensor:
        raise NotImplementedError

    def vjp(self, g):
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


class Sign(Function):
    differentiable = False

    def forward(self, x):
        return self.xp.sign(x)


class Exp(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.exp(x)

    def derivative(self):
        return self.out


class Log(_Unary):
    def forward(self, x):
        return self.xp.log(x)

    def derivative(self):
        return 1 / self.inputs[0]


class Log1p(_Unary):
    def forward(self, x):
        return self.xp.log1p(x)

    def derivative(self):
        return 1 / (1 + self.inputs[0])


class Expm1(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.expm1(x)

    def derivative(self):
        return self.out + 1


class Sqrt(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.sqrt(x)

    def derivative(self):
        return 0.5 / self.out


class Rsqrt(_Unary):
    uses_output = True

    def forward(self, x):
        return 1 / self.xp.sqrt(x)

    def derivative(self):
        return -0.5 * self.out / self.inputs[0]


class Sin(_Unary):
    def forward(self, x):
        return self.xp.sin(x)

    def derivative(self):
        return cos(self.inputs[0])


class Cos(_Unary):
    def forward(self, x):
        return self.xp.cos(x)

    def derivative(self):
        return -sin(self.inputs[0])


class Tan(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.tan(x)

    def derivative(self):
        return 1 + self.out * self.out


class Tanh(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return self.xp.tanh(x)

    def derivative(self):
        return 1 - self.out * self.out


class Sigmoid(_Unary):
    uses_inputs, uses_output = False, True

    def forward(self, x):
        # exp of a non-positive number only: no overflow for large |x|
        e = self.xp.exp(-self.xp.abs(x))
        return self.xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def derivative(self):
        s = self.out
        return s * (1 - s)


class Erf(_Unary):
    def forward(self, x):
        return scipy_special(self.xp).erf(x).astype(x.dtype, copy=False)

    def derivative(self):
        x = self.inputs[0]
        return (2 / math.sqrt(math.pi)) * exp(-x * x)


class Clamp(_Unary):
    """clamp(x, min, max); the gradient passes where min <= x <= max."""

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
    """A function of arrays with no derivative (comparisons, logical ops, isnan, ...)."""
    differentiable = False

    def forward(self, *arrays, fn):
        return fn(*arrays)


# -- wrappers ---------------------------------------------------------------------
def add(input, other, *, alpha=1) -> Tensor:
    a, b = _pair(input, other)
    if alpha != 1:
        b = b * alpha
    return Add.apply(a, b)


def sub(input, other, *, alpha=1) -> Tensor:
    a, b = _pair(input, other)
    if alpha != 1:
        b = b * alpha
    return Sub.apply(a, b)


def mul(input, other) -> Tensor:
    return Mul.apply(*_pair(input, other))


def div(input, other, *, rounding_mode=None) -> Tensor:
    a, b = _pair(input, other)
    if rounding_mode is None:
        return Div.apply(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return _nograd(lambda x, y: _trunc_div(x, y), a, b)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def _trunc_div(x, y):
    from ..backend import get_array_module
    xp = get_array_module(x)
    q = x / y
    return xp.trunc(q).astype(xp.result_type(x, y), copy=False)


def pow(input, exponent) -> Tensor:
    return Pow.apply(*_pair(input, exponent))


def maximum(input, other) -> Tensor:
    return Maximum.apply(*_pair(input, other))


def minimum(input, other) -> Tensor:
    return Minimum.apply(*_pair(input, other))


def where(condition, input, other) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    a, b = _pair(input, other)
    cond = condition.data if isinstance(condition, Tensor) else condition
    from ..backend import get_array_module
    cond = get_array_module(a.data).asarray(cond)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    return Where.apply(a, b, cond=cond)


def clamp(input, min=None, max=None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp.apply(input, lo=min, hi=max)


def clamp_min(input, min) -> Tensor:
    return clamp(input, min=min)


def clamp_max(input, max) -> Tensor:
    return clamp(input, max=max)


def _unary(cls):
    def op(input: Tensor) -> Tensor:
        return cls.apply(input)
    op.__name__ = op.__qualname__ = cls.__name__.lower()
    op.__doc__ = f"Elementwise {cls.__name__.lower()}."
    return op


neg = negative = _unary(Neg)
abs = _unary(Abs)
sign = _unary(Sign)
exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)


def square(input: Tensor) -> Tensor:
    return input * input


def reciprocal(input: Tensor) -> Tensor:
    return 1 / input


def log2(input: Tensor) -> Tensor:
    return log(input) * (1 / math.log(2))


def log10(input: Tensor) -> Tensor:
    return log(input) * (1 / math.log(10))


def exp2(input: Tensor) -> Tensor:
    return exp(input * math.log(2))


# -- no-gradient ops -----------------------------------------------------------------
def _nograd(fn, *tensors) -> Tensor:
    return NoGrad.apply(*tensors, fn=fn)


def _comparison(name, ufunc_name):
    def op(input, other) -> Tensor:
        a, b = _pair(input, other)
        from ..backend import get_array_module
        return _nograd(getattr(get_array_module(a.data), ufunc_name), a, b)
    op.__name__ = op.__qualname__ = name
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
bitwise_and = _comparison("bitwise_and", "bitwise_and")
bitwise_or = _comparison("bitwise_or", "bitwise_or")
bitwise_xor = _comparison("bitwise_xor", "bitwise_xor")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _elementwise_nograd(name, ufunc_name):
    def op(input: Tensor) -> Tensor:
        from ..backend import get_array_module
        return _nograd(getattr(get_array_module(input.data), ufunc_name), input)
    op.__name__ = op.__qualname__ = name
    return op


logical_not = _elementwise_nograd("logical_not", "logical_not")
bitwise_not = _elementwise_nograd("bitwise_not", "invert")
isnan = _elementwise_nograd("isnan", "isnan")
isinf = _elementwise_nograd("isinf", "isinf")
isfinite = _elementwise_nograd("isfinite", "isfinite")
floor = _elementwise_nograd("floor", "floor")
ceil = _elementwise_nograd("ceil", "ceil")
round = _elementwise_nograd("round", "round")
trunc = _elementwise_nograd("trunc", "trunc")


def floor_divide(input, other) -> Tensor:
    from ..backend import get_array_module
    a, b = _pair(input, other)
    return _nograd(get_array_module(a.data).floor_divide, a, b)


def remainder(input, other) -> Tensor:
    """``input - floor(input / other) * other``; differentiable in ``input``."""
    a, b = _pair(input, other)
    return a - floor_divide(a, b) * b


def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool(eq(input, other).data.all())


def allclose(input: Tensor, other: Tensor, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    from ..backend import get_array_module
    xp = get_array_module(input.data)
    return bool(xp.allclose(input.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> Tensor:
    from ..backend import get_array_module
    a, b = _pair(input, other)
    xp = get_array_module(a.data)
    return _nograd(lambda x, y: xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)


# -- Tensor operators and methods ---------------------------------------------------
def _r(fn):
    def reflected(self, other):
        return fn(other, self)
    return reflected


def _matmul(a, b):
    from .linalg import matmul
    return matmul(a, b)


TENSOR_METHODS = {
    "__add__": add, "__radd__": _r(add), "__sub__": sub, "__rsub__": _r(sub),
    "__mul__": mul, "__rmul__": _r(mul), "__truediv__": div, "__rtruediv__": _r(div),
    "__pow__": pow, "__rpow__": _r(pow), "__neg__": neg, "__abs__": abs,
    "__matmul__": _matmul, "__rmatmul__": _r(_matmul),
    "__floordiv__": floor_divide, "__rfloordiv__": _r(floor_divide),
    "__mod__": remainder, "__rmod__": _r(remainder),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
    "__invert__": bitwise_not,
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "neg": neg, "negative": neg, "abs": abs,
    "sign": sign, "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt,
    "rsqrt": rsqrt, "sin": sin, "cos": cos, "tan": tan, "tanh": tanh, "sigmoid": sigmoid,
    "erf": erf, "maximum": maximum, "minimum": minimum, "clamp": clamp, "clip": clamp,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "square": square,
    "reciprocal": reciprocal, "log2": log2, "log10": log10, "exp2": exp2,
    "where": lambda self, condition, other: where(condition, self, other),
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "less": lt,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
    "floor": floor, "ceil": ceil, "round": round, "trunc": trunc,
    "floor_divide": floor_divide, "remainder": remainder, "equal": equal,
    "allclose": allclose, "isclose": isclose,
}

# in-place variants: x.add_(y) == x.copy of add(x, y) written back (see Tensor._inplace)
for _name in ("add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin",
              "cos", "tanh", "sigmoid", "clamp", "clamp_min", "clamp_max", "maximum",
              "minimum", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square",
              "log1p", "expm1", "rsqrt", "remainder"):
    TENSOR_METHODS[_name + "_"] = (lambda fn: lambda self, *a, **k: self._inplace(fn, *a, **k))(
        TENSOR_METHODS[_name])
TENSOR_METHODS["__iadd__"] = TENSOR_METHODS["add_"]
TENSOR_METHODS["__isub__"] = TENSOR_METHODS["sub_"]
TENSOR_METHODS["__imul__"] = TENSOR_METHODS["mul_"]
TENSOR_METHODS["__itruediv__"] = TENSOR_METHODS["div_"]

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "clamp", "clamp_min",
    "clamp_max", "neg", "negative", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt",
    "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "square", "reciprocal", "log2",
    "log10", "exp2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite",
    "floor", "ceil", "round", "trunc", "floor_divide", "remainder", "equal", "allclose",
    "isclose", "subtract", "multiply", "divide", "true_divide",
]
true_divide = divide = div
subtract = sub
multiply = mul
