"""KL divergence KL(p || q) with a registry of closed forms keyed by distribution types."""
from __future__ import annotations

import math

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .binomial import Binomial, Geometric
from .categorical import Categorical, OneHotCategorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution, sum_rightmost
from .exponential import Exponential
from .gamma import Beta, Gamma, Poisson
from .independent import Independent
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal, _half_log_det, _solve_lower
from .normal import Normal
from .transformed import HalfNormal, TransformedDistribution
from .uniform import Uniform

_KL_REGISTRY: dict = {}


def register_kl(type_p: type, type_q: type):
    """Decorator: ``@register_kl(P, Q)`` registers ``fn(p, q)`` as KL(p || q)."""
    if not (issubclass(type_p, Distribution) and issubclass(type_q, Distribution)):
        raise TypeError(f"register_kl: expected Distribution subclasses, got {type_p}, {type_q}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _lookup(type_p: type, type_q: type):
    """The most specific registered pair: the first match in the two MROs, p's first."""
    matches = [(i + j, i, fn) for (p, q), fn in _KL_REGISTRY.items()
               if issubclass(type_p, p) and issubclass(type_q, q)
               for i in [type_p.__mro__.index(p)] for j in [type_q.__mro__.index(q)]]
    return min(matches, key=lambda m: m[:2])[2] if matches else None


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), batched over the broadcast batch shape; differentiable in both."""
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no closed form registered for "
                                  f"{type(p).__name__} || {type(q).__name__}")
    return fn(p, q)


def _inf_where(mask: Tensor, value: Tensor) -> Tensor:
    return ops.where(mask, float("inf"), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = ops.where(p.probs == 0, 0.0, _inf_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = ops.where(p.probs == 1, 0.0, _inf_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = ops.where(p.probs == 0, 0.0, _inf_where(q.probs == 0, t))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = (math.sqrt(2 * math.pi) * q.scale / width).log()
    t2 = width ** 2 / 12
    t3 = ((p.high + p.low - 2 * q.loc) / 2) ** 2
    return t1 + 0.5 * (t2 + t3) / q.scale ** 2


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + diff / q.scale + scale_ratio * (-diff / p.scale).exp() - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    a, b, c, d = p.concentration, p.rate, q.concentration, q.rate
    return (c * (b / d).log() + ops.lgamma(c) - ops.lgamma(a) + (a - c) * ops.digamma(a)
            + (d - b) * (a / b))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    s1, s2 = a1 + b1, a2 + b2
    t1 = ops.lgamma(a2) + ops.lgamma(b2) + ops.lgamma(s1)
    t2 = ops.lgamma(a1) + ops.lgamma(b1) + ops.lgamma(s2)
    return (t1 - t2 + (a1 - a2) * ops.digamma(a1) + (b1 - b2) * ops.digamma(b1)
            + (s2 - s1) * ops.digamma(s1))


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormals of event shapes {p.event_shape} "
                         f"and {q.event_shape} differ")
    n = p.event_shape[0]
    Lp, Lq = p.scale_tril, q.scale_tril
    # tr(Sq^-1 Sp) = ||Lq^-1 Lp||_F^2, solved column by column as batched vectors.
    m = _solve_lower(Lq.unsqueeze(-3), Lp.mT)  # (..., n, n): row i = Lq^-1 (column i of Lp)
    trace = (m ** 2).sum((-2, -1))
    maha = (_solve_lower(Lq, q.loc - p.loc) ** 2).sum(-1)
    return _half_log_det(Lq) - _half_log_det(Lp) + 0.5 * (trace + maha - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independents with different "
                                  "reinterpreted_batch_ndims")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    return (ops.lgamma(a0) - ops.lgamma(b0) - (ops.lgamma(a) - ops.lgamma(b)).sum(-1)
            + ((a - b) * (ops.digamma(a) - ops.digamma(a0).unsqueeze(-1))).sum(-1))


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    # E_p[k] log((1-p)/(1-q)) + log(p/q), with E_p[k] = (1 - p) / p
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if not bool((p.total_count == q.total_count).all().item()):
        raise NotImplementedError("kl_divergence: Binomials with different total_count")
    n = p.total_count
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    return n * (t1 + t2)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    # closed form of Chyzak & Nielsen (2019)
    num = (p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2
    return (num / (4 * p.scale * q.scale)).log()


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms:
        raise NotImplementedError("kl_divergence: TransformedDistributions with different "
                                  "transforms")
    if p.event_shape != q.event_shape:
        raise NotImplementedError("kl_divergence: TransformedDistributions with different "
                                  "event shapes")
    return kl_divergence(p.base_dist, q.base_dist)
