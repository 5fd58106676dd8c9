"""Constraints: the sets a parameter or a sample must lie in (``torch.distributions.constraints``).

A constraint's ``check(value)`` returns a boolean Tensor over ``value.shape`` less its
``event_dim`` rightmost dims; ``str(constraint)`` says in words what was expected, for
the error messages of ``validate_args``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.creation import _place
from ..tensor import Tensor


class Constraint:
    """A set of values. ``event_dim`` dims are checked together; ``is_discrete`` marks
    integer-valued sets."""

    is_discrete = False
    event_dim = 0
    text = "valid"

    def check(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.check")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Dependent(Constraint):
    """A placeholder whose set depends on other parameters: never checked by itself."""

    text = "dependent on other parameters"

    def check(self, value: Tensor) -> Tensor:
        raise ValueError("a dependent constraint cannot be checked by itself")


def is_dependent(constraint) -> bool:
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    text = "real (not NaN)"

    def check(self, value):
        return value == value


class _Boolean(Constraint):
    is_discrete, text = True, "0 or 1"

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    is_discrete, event_dim, text = True, 1, "one-hot along the last dim"

    def check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        self.text = f"integers in [{_show(lower_bound)}, {_show(upper_bound)}]"

    def check(self, value):
        return (value == value.floor()) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval({_show(self.lower_bound)}, {_show(self.upper_bound)})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        self.text = f"integers >= {_show(lower_bound)}"

    def check(self, value):
        return (value == value.floor()) & (value >= self.lower_bound)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound, strict: bool = True):
        self.lower_bound, self.strict = lower_bound, strict
        self.text = f"{'>' if strict else '>='} {_show(lower_bound)}"
        if isinstance(lower_bound, (int, float)) and lower_bound == 0:
            self.text = "positive" if strict else "nonnegative"

    def check(self, value):
        return value > self.lower_bound if self.strict else value >= self.lower_bound

    def __repr__(self):
        return f"GreaterThan({_show(self.lower_bound)}, strict={self.strict})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        self.text = f"< {_show(upper_bound)}"

    def check(self, value):
        return value < self.upper_bound


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound, half_open: bool = False):
        self.lower_bound, self.upper_bound, self.half_open = lower_bound, upper_bound, half_open
        self.text = f"in [{_show(lower_bound)}, {_show(upper_bound)}{')' if half_open else ']'}"

    def check(self, value):
        upper = value < self.upper_bound if self.half_open else value <= self.upper_bound
        return (value >= self.lower_bound) & upper

    def __repr__(self):
        return f"Interval({_show(self.lower_bound)}, {_show(self.upper_bound)})"


class _Simplex(Constraint):
    event_dim, text = 1, "a simplex (nonnegative, summing to 1 along the last dim)"

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _LowerCholesky(Constraint):
    event_dim, text = 2, "lower triangular with a positive diagonal"

    def check(self, value):
        return ((value.triu(1) == 0).all(-1).all(-1)
                & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1))


class _PositiveDefinite(Constraint):
    event_dim, text = 2, "symmetric positive definite"

    def check(self, value):
        arr = backend.to_device(value.detach().array, backend.CPU)
        ok = np.ones(arr.shape[:-2], dtype=bool)
        if arr.size:
            symmetric = np.isclose(arr, np.swapaxes(arr, -1, -2)).all((-2, -1))
            ok = symmetric & (np.linalg.eigvalsh(arr) > 0).all(-1)
        return _place(ok, None, value.device, False)


class _Independent(Constraint):
    """``base`` checked elementwise, then reduced over ``reinterpreted_batch_ndims`` more dims."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete
        self.text = str(base)

    def check(self, value):
        ok = self.base.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            ok = ok.all(-1)
        return ok

    def __repr__(self):
        return f"Independent({self.base!r}, {self.reinterpreted_batch_ndims})"


def _show(bound) -> str:
    if isinstance(bound, Tensor):
        if bound.numel() > 1:
            return f"a Tensor of shape {tuple(bound.shape)}"
        return f"{bound.item():g}"
    return f"{bound:g}"


dependent = _Dependent()
real = _Real()
real_vector = _Independent(real, 1)
boolean = _Boolean()
one_hot = _OneHot()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, strict=False)
unit_interval = _Interval(0.0, 1.0)
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
integer_interval = _IntegerInterval
interval = _Interval
greater_than = _GreaterThan
less_than = _LessThan
independent = _Independent


def greater_than_eq(lower_bound) -> Constraint:
    return _GreaterThan(lower_bound, strict=False)


def half_open_interval(lower_bound, upper_bound) -> Constraint:
    return _Interval(lower_bound, upper_bound, half_open=True)
