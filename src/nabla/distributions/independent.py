"""Independent: reinterpret batch dims of a distribution as event dims."""
from __future__ import annotations

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, sum_rightmost


class Independent(Distribution):
    """Independent(base, reinterpreted_batch_ndims): the rightmost batch dims of ``base``
    become event dims, so ``log_prob`` and ``entropy`` sum over them."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args=None):
        n = int(reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape + base_distribution.event_shape
        if n < 0 or n > len(base_distribution.batch_shape):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be in [0, "
                             f"{len(base_distribution.batch_shape)}] for a base of batch_shape "
                             f"{base_distribution.batch_shape}, got {n}")
        event_dim = n + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=False)
        self._validate_args = base_distribution._validate_args if validate_args is None \
            else validate_args

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def support(self):
        base = self.base_dist.support
        return constraints.independent(base, self.reinterpreted_batch_ndims) if base else None

    def _expand_parts(self, new, batch_shape) -> None:
        extra = self.base_dist.batch_shape[len(self._batch_shape):]
        new.base_dist = self.base_dist.expand(batch_shape + extra)

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
