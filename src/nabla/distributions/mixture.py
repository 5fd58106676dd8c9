"""MixtureSameFamily: a categorical mixture of components from one batched family."""
from __future__ import annotations

from .. import ops
from ..tensor import Tensor
from .categorical import Categorical
from .distribution import Distribution


class MixtureSameFamily(Distribution):
    """MixtureSameFamily(mixture_distribution, component_distribution).

    ``mixture_distribution`` is a Categorical of batch_shape B over K components;
    ``component_distribution`` has batch_shape B + (K,): its rightmost batch dim indexes
    the components. A draw picks a component, then draws from it.
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("MixtureSameFamily: mixture_distribution must be a Categorical, "
                             f"got {type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("MixtureSameFamily: component_distribution must be a "
                             f"Distribution, got {type(component_distribution).__name__}")
        mix, comp = mixture_distribution, component_distribution
        k = mix._num_events
        if not comp.batch_shape or comp.batch_shape[-1] != k:
            raise ValueError(f"MixtureSameFamily: the component batch_shape {comp.batch_shape}"
                             f" must end in the number of mixture components {k}")
        batch = comp.batch_shape[:-1]
        if mix.batch_shape != batch:
            try:
                mix = mix.expand(batch)
            except ValueError:
                raise ValueError(f"MixtureSameFamily: mixture batch_shape {mix.batch_shape} "
                                 f"does not match the component batch_shape {batch}") from None
        self._mixture_distribution = mix
        self._component_distribution = comp
        self._num_component = k
        super().__init__(batch, comp.event_shape, validate_args=False)
        self._validate_args = comp._validate_args if validate_args is None else validate_args

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    @property
    def support(self):
        return self._component_distribution.support

    def _expand_parts(self, new, batch_shape) -> None:
        k = self._num_component
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (k,))

    def _weights(self) -> Tensor:
        """Mixture probabilities shaped to broadcast against component event values."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * len(self._event_shape))

    @property
    def mean(self) -> Tensor:
        dim = -1 - len(self._event_shape)
        return (self._weights() * self._component_distribution.mean).sum(dim)

    @property
    def variance(self) -> Tensor:
        """Law of total variance: E[Var] + Var[E] over the components."""
        dim = -1 - len(self._event_shape)
        w = self._weights()
        mean = self._component_distribution.mean
        mix_mean = (w * mean).sum(dim, keepdim=True)
        return (w * self._component_distribution.variance).sum(dim) \
            + (w * (mean - mix_mean) ** 2).sum(dim)

    def _pad(self, value: Tensor) -> Tensor:
        return value.unsqueeze(-1 - len(self._event_shape))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        lp = self._component_distribution.log_prob(self._pad(value))  # (..., B, K)
        return ops.logsumexp(lp + self._mixture_distribution.logits, -1)

    def cdf(self, value) -> Tensor:
        c = self._component_distribution.cdf(self._pad(value))
        return (c * self._mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape=()) -> Tensor:
        from ..autograd import no_grad
        with no_grad():
            idx = self._mixture_distribution.sample(sample_shape)  # S + B
            draws = self._component_distribution.sample(sample_shape)  # S + B + (K,) + E
            n_event = len(self._event_shape)
            idx = idx.reshape(tuple(idx.shape) + (1,) * (1 + n_event))
            idx = idx.expand(*idx.shape[:-1 - n_event], 1, *self._event_shape)
            return draws.gather(-1 - n_event, idx).squeeze(-1 - n_event).detach()

    def __repr__(self) -> str:
        return (f"MixtureSameFamily({self._mixture_distribution!r}, "
                f"{self._component_distribution!r})")
