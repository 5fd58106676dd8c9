"""Multivariate normal distribution, parameterized through a Cholesky factor."""
from __future__ import annotations

import math

import numpy as np

from .. import linalg
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, noise


def _solve_lower(L: Tensor, x: Tensor) -> Tensor:
    """L^-1 x for vectors x (..., n), batch dims broadcast."""
    batch = np.broadcast_shapes(tuple(L.shape[:-2]), tuple(x.shape[:-1]))
    n = L.shape[-1]
    return linalg.solve(L.expand(*batch, n, n), x.expand(*batch, n).unsqueeze(-1)).squeeze(-1)


def _half_log_det(L: Tensor) -> Tensor:
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(Distribution):
    """MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None).

    ``loc`` is (*, n); give exactly one of the (*, n, n) matrices. Everything is computed
    from the lower Cholesky factor ``scale_tril`` (covariance = L L^T).
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("MultivariateNormal: pass exactly one of covariance_matrix, "
                             f"precision_matrix or scale_tril, got {len(given)}")
        matrix = given[0]
        if not isinstance(loc, Tensor) or loc.ndim < 1:
            raise ValueError("MultivariateNormal: loc must be a Tensor of at least one dim, "
                             f"got {getattr(loc, 'shape', type(loc))}")
        if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2] \
                or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: the matrix of shape {tuple(matrix.shape)} "
                             f"must be (*, n, n) with n = loc.shape[-1] = {loc.shape[-1]}")
        n = loc.shape[-1]
        batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(matrix.shape[:-2]))
        self.loc = loc.expand(*batch, n)
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(*batch, n, n)
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(*batch, n, n)
        else:
            self.precision_matrix = precision_matrix.expand(*batch, n, n)
        # Check the given matrix before factorising it (a Cholesky error would say less).
        super().__init__(batch, (n,), validate_args)
        if "scale_tril" in self.__dict__:
            # only the lower triangle is read, as by torch's triangular solves
            self.scale_tril = self.scale_tril.tril()
        else:
            cov = self.__dict__.get("covariance_matrix")
            if cov is None:
                cov = linalg.inv(self.precision_matrix)
            self.scale_tril = linalg.cholesky(cov)

    def __getattr__(self, name):
        # covariance_matrix / precision_matrix, derived from scale_tril when not given
        if name == "covariance_matrix":
            L = self.__dict__["scale_tril"]
            return L @ L.mT
        if name == "precision_matrix":
            return linalg.inv(self.covariance_matrix)
        raise AttributeError(name)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return (self.scale_tril ** 2).sum(-1)

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + L eps, eps ~ N(0, I): differentiable in loc and the matrix."""
        eps = noise(self._extended_shape(sample_shape), self.loc,
                    lambda g, s: g.standard_normal(s))
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = _solve_lower(self.scale_tril, value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + (z ** 2).sum(-1)) \
            - _half_log_det(self.scale_tril)

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        return 0.5 * n * (1.0 + math.log(2 * math.pi)) + _half_log_det(self.scale_tril)


class LowRankMultivariateNormal(MultivariateNormal):
    """LowRankMultivariateNormal(loc, cov_factor, cov_diag): covariance
    ``cov_factor @ cov_factor.mT + diag(cov_diag)`` with ``loc`` (*, n), ``cov_factor``
    (*, n, r) and ``cov_diag`` (*, n).

    The same law as a MultivariateNormal of that covariance, and computed as one (through
    its n x n Cholesky factor): simple, exact, O(n^3) rather than the Woodbury O(n r^2).
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        shapes = [getattr(t, "shape", None) for t in (loc, cov_factor, cov_diag)]
        if not all(isinstance(t, Tensor) for t in (loc, cov_factor, cov_diag)) \
                or loc.ndim < 1 or cov_factor.ndim < 2 or cov_diag.ndim < 1 \
                or cov_factor.shape[-2] != loc.shape[-1] or cov_diag.shape[-1] != loc.shape[-1]:
            raise ValueError("LowRankMultivariateNormal: expected Tensors loc (*, n), "
                             f"cov_factor (*, n, r), cov_diag (*, n), got shapes {shapes}")
        n = loc.shape[-1]
        batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                    tuple(cov_diag.shape[:-1]))
        self.cov_factor = cov_factor.expand(*batch, n, cov_factor.shape[-1])
        self.cov_diag = cov_diag.expand(*batch, n)
        cov = self.cov_factor @ self.cov_factor.mT + self.cov_diag.diag_embed()
        super().__init__(loc, covariance_matrix=cov, validate_args=validate_args)

