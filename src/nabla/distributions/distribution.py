"""The ``Distribution`` base class, its argument checks, and shared helpers."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops.creation import _place
from ..tensor import Tensor
from . import constraints
from .constraints import Constraint

_default_validate_args = True


def resolve_validate_args(validate_args) -> bool:
    """``validate_args`` as given, or the global default when it is None."""
    return _default_validate_args if validate_args is None else bool(validate_args)


class Distribution:
    """A batch of probability distributions, PyTorch's ``torch.distributions.Distribution``.

    ``batch_shape`` indexes independent distributions; ``event_shape`` is the shape of one
    draw. ``sample(sample_shape)`` returns ``sample_shape + batch_shape + event_shape``.
    Subclasses set ``arg_constraints`` (parameter -> ``constraints`` object) and ``support``.
    ``expand(batch_shape)`` broadcasts the batch without copying parameters.
    """

    arg_constraints: dict = {}
    support: Constraint | None = None
    has_rsample = False

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        global _default_validate_args
        _default_validate_args = bool(value)

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = resolve_validate_args(validate_args)
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if name in self.__dict__:  # derived ones (probs from logits) are not checked
                    self._check(self.__dict__[name], constraint, f"parameter {name}")

    def _check(self, value: Tensor, constraint: Constraint, what: str) -> None:
        if not isinstance(constraint, Constraint) or constraints.is_dependent(constraint):
            return
        if not bool(constraint.check(value.detach()).all().item()):
            raise ValueError(f"{type(self).__name__}: expected {what} (Tensor of shape "
                             f"{tuple(value.shape)}, dtype {value.dtype}) to be {constraint}, "
                             f"but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None) -> "Distribution":
        """The same distribution broadcast to ``batch_shape`` (no copy: parameters become
        expanded views, so gradients flow back to the originals)."""
        batch_shape = tuple(batch_shape)
        try:
            np.broadcast_shapes(self._batch_shape, batch_shape)
            ok = len(batch_shape) >= len(self._batch_shape) and np.broadcast_shapes(
                self._batch_shape, batch_shape) == batch_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{type(self).__name__}.expand: batch_shape {self._batch_shape} "
                             f"cannot be expanded to {batch_shape}")
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        n = len(self._batch_shape)
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and not name.startswith("_") \
                    and tuple(value.shape[:n]) == self._batch_shape and value.ndim >= n:
                new.__dict__[name] = value.expand(*batch_shape, *value.shape[n:])
        self._expand_parts(new, batch_shape)
        new._batch_shape = batch_shape
        return new

    def _expand_parts(self, new: "Distribution", batch_shape: tuple) -> None:
        """Hook for distributions built on others (Independent, mixtures): expand those."""

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()) -> Tensor:
        """Draw ``sample_shape + batch_shape + event_shape`` values, cut from the graph."""
        from ..autograd import no_grad
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler "
                                  f"(rsample); use sample()")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def _validate_sample(self, value: Tensor) -> None:
        """Raise ValueError unless ``value`` broadcasts with the batch and lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError(f"{type(self).__name__}: the value must be a Tensor, "
                             f"got {type(value).__name__}")
        event_dims = len(self._event_shape)
        if tuple(value.shape[value.ndim - event_dims:]) != self._event_shape:
            raise ValueError(f"{type(self).__name__}: the value of shape {tuple(value.shape)} "
                             f"must end in the event shape {self._event_shape}")
        try:
            np.broadcast_shapes(tuple(value.shape), self._batch_shape + self._event_shape)
        except ValueError:
            raise ValueError(f"{type(self).__name__}: the value of shape {tuple(value.shape)} "
                             f"does not broadcast with batch_shape {self._batch_shape} and "
                             f"event_shape {self._event_shape}") from None
        if self.support is not None:
            self._check(value, self.support, "value argument")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}: {tuple(getattr(self, k).shape)}"
                           for k in self.arg_constraints if k in self.__dict__)
        return f"{type(self).__name__}({params})"


class lazy_property:
    """Computed once on first access, then stored on the instance (probs <-> logits)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, cls):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.fn.__name__] = value
        return value


def broadcast_all(*values):
    """Tensors of one broadcast shape; numbers take the first tensor's dtype and device
    (else the default dtype). Gradients flow back to tensor arguments."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    dtype = tensors[0].dtype if tensors else backend.get_default_dtype()
    device = tensors[0].device if tensors else None
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, (int, float, np.number)):
            out.append(_place(np.asarray(v, dtype=dtype), None, device, False))
        else:
            raise ValueError(f"broadcast_all: expected Tensors or numbers, got "
                             f"{type(v).__name__}")
    try:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in out))
    except ValueError:
        raise ValueError("broadcast_all: shapes " + ", ".join(str(tuple(t.shape)) for t in out)
                         + " do not broadcast") from None
    return tuple(t if tuple(t.shape) == shape else t.expand(*shape) for t in out)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum over the last ``dim`` dimensions."""
    for _ in range(dim):
        value = value.sum(-1)
    return value


def noise(shape, like: Tensor, draw) -> Tensor:
    """A constant Tensor of ``shape`` from ``draw(numpy_generator, shape)`` on the default
    stream (so ``nabla.manual_seed`` makes it reproducible), with ``like``'s dtype/device."""
    arr = np.asarray(draw(backend.default_generator.numpy, tuple(shape)))
    return _place(arr.astype(like.dtype), None, like.device, False)


def cpu_array(t: Tensor):
    """The values of ``t`` as a float64 NumPy array (for NumPy's samplers)."""
    return backend.to_device(t.detach().array, backend.CPU).astype(np.float64)


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class LocScale(Distribution):
    """A real-valued family given by ``loc`` and a positive ``scale``, both broadcast
    (Normal, Laplace): its mean and mode are ``loc``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc
