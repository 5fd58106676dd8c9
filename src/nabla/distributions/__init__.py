"""Probability distributions with PyTorch's ``torch.distributions`` API."""
from . import constraints, transforms
from .bernoulli import Bernoulli
from .binomial import Binomial, Geometric
from .categorical import Categorical, OneHotCategorical
from .cauchy import Cauchy, StudentT
from .dirichlet import Dirichlet
from .distribution import Distribution, broadcast_all
from .exponential import Exponential
from .gamma import Beta, Chi2, Gamma, Poisson
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .mixture import MixtureSameFamily
from .multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from .normal import Normal
from .relaxed import (ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli,
                      RelaxedOneHotCategorical)
from .transformed import HalfNormal, LogisticNormal, LogNormal, TransformedDistribution
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform,
                         PowerTransform, SigmoidTransform, SoftmaxTransform,
                         StickBreakingTransform, TanhTransform, Transform)
from .uniform import Uniform

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical",
           "Cauchy", "Chi2", "ComposeTransform", "Dirichlet", "Distribution",
           "ExpRelaxedCategorical", "ExpTransform", "Exponential", "Gamma", "Geometric",
           "HalfNormal", "Independent", "Laplace", "LogNormal", "LogisticNormal",
           "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "MixtureSameFamily",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "PowerTransform",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "SigmoidTransform",
           "SoftmaxTransform", "StickBreakingTransform", "StudentT", "TanhTransform",
           "Transform", "TransformedDistribution", "Uniform", "broadcast_all", "constraints",
           "kl_divergence", "register_kl", "transforms"]
