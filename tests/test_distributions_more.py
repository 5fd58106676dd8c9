"""nabla.distributions, the wider families, transforms, constraints and expand, against
torch.distributions (float64): values, gradients, sampling, shapes and argument checks."""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.distributions as D
from nabla.distributions import constraints, transforms as T

torch = pytest.importorskip("torch")
TD = torch.distributions
TT = torch.distributions.transforms

RNG = np.random.default_rng(1)
POS = RNG.uniform(0.5, 2.5, (2, 3))
POS2 = RNG.uniform(0.5, 2.5, (2, 3))
REAL = RNG.normal(size=(2, 3))
REAL2 = RNG.normal(size=(3,))
UNIT = RNG.uniform(0.1, 0.9, (2, 3))
UNIT2 = RNG.uniform(0.1, 0.9, (2, 3))
SIMPLEX = RNG.dirichlet(np.ones(3), 2)
SIMPLEX2 = RNG.dirichlet(np.ones(3), 2)
COUNTS = np.array([[3.0, 5.0, 1.0], [4.0, 2.0, 6.0]])


def pair(*arrays):
    """The same float64 parameters as nabla and torch leaves requiring grad."""
    return ([nb.tensor(a, dtype=nb.float64, requires_grad=True) for a in arrays],
            [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays])


def close(x, t, atol=1e-10, rtol=1e-10):
    x = x.detach().numpy() if isinstance(x, nb.Tensor) else np.asarray(x)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    np.testing.assert_allclose(x, t, atol=atol, rtol=rtol)


def both(fn_nb, fn_t, arrays):
    """(nabla dist, torch dist, nabla params, torch params) built from the same arrays."""
    p, tp = pair(*arrays)
    return fn_nb(*p), fn_t(*tp), p, tp


# name -> (parameter arrays, nabla constructor, torch constructor, value, statistics)
STATS = ("mean", "variance", "stddev", "mode")
FAMILIES = {
    "dirichlet": ((POS,), D.Dirichlet, TD.Dirichlet, SIMPLEX, STATS),
    "studentt": ((POS + 2, REAL, POS2), D.StudentT, TD.StudentT, REAL2 * 2, STATS),
    "studentt_small_df": ((np.array([0.5, 1.5, 3.0]),), D.StudentT, TD.StudentT, REAL, STATS),
    "cauchy": ((REAL, POS), D.Cauchy, TD.Cauchy, REAL2, STATS),
    "binomial_probs": ((COUNTS, UNIT), lambda n, p: D.Binomial(n, probs=p),
                       lambda n, p: TD.Binomial(n, probs=p), np.floor(COUNTS * UNIT2), STATS),
    "binomial_logits": ((COUNTS, REAL), lambda n, l: D.Binomial(n, logits=l),
                        lambda n, l: TD.Binomial(n, logits=l), np.floor(COUNTS / 2), STATS),
    "geometric_probs": ((UNIT,), lambda p: D.Geometric(probs=p),
                        lambda p: TD.Geometric(probs=p), COUNTS, STATS),
    "geometric_logits": ((REAL,), lambda l: D.Geometric(logits=l),
                         lambda l: TD.Geometric(logits=l), COUNTS - 1, STATS),
    "chi2": ((POS * 3,), D.Chi2, TD.Chi2, POS2, STATS),
    "gamma": ((POS, POS2), D.Gamma, TD.Gamma, POS2, STATS),
    "halfnormal": ((POS,), D.HalfNormal, TD.HalfNormal, POS2, STATS),
    "lognormal": ((REAL, POS), D.LogNormal, TD.LogNormal, POS2, STATS),
    "logisticnormal": ((REAL[:, :2], POS[:, :2]), D.LogisticNormal, TD.LogisticNormal,
                       SIMPLEX, ()),
    "relaxed_bernoulli": ((UNIT,), lambda p: D.RelaxedBernoulli(0.7, probs=p),
                          lambda p: TD.RelaxedBernoulli(torch.tensor(0.7, dtype=torch.float64),
                                                        probs=p), UNIT2, ()),
    "relaxed_bernoulli_logits": ((REAL,), lambda l: D.RelaxedBernoulli(1.3, logits=l),
                                 lambda l: TD.RelaxedBernoulli(
                                     torch.tensor(1.3, dtype=torch.float64), logits=l),
                                 UNIT2, ()),
    "relaxed_onehot": ((SIMPLEX, np.array(0.6)),
                       lambda p, t: D.RelaxedOneHotCategorical(t, probs=p),
                       lambda p, t: TD.RelaxedOneHotCategorical(t, probs=p), SIMPLEX2, ()),
    "mixture": ((SIMPLEX, REAL, POS),
                lambda w, m, s: D.MixtureSameFamily(D.Categorical(probs=w), D.Normal(m, s)),
                lambda w, m, s: TD.MixtureSameFamily(TD.Categorical(probs=w), TD.Normal(m, s)),
                RNG.normal(size=(4, 2)), ("mean", "variance", "stddev")),
    "mixture_mvn": ((SIMPLEX, RNG.normal(size=(2, 3, 2)), POS[..., None, None] * np.eye(2)),
                    lambda w, m, c: D.MixtureSameFamily(D.Categorical(probs=w),
                                                        D.MultivariateNormal(m, c)),
                    lambda w, m, c: TD.MixtureSameFamily(TD.Categorical(probs=w),
                                                         TD.MultivariateNormal(m, c)),
                    RNG.normal(size=(4, 2, 2)), ("mean", "variance")),
    "lowrank_mvn": ((REAL, RNG.normal(size=(2, 3, 2)), POS),
                    D.LowRankMultivariateNormal, TD.LowRankMultivariateNormal,
                    RNG.normal(size=(4, 2, 3)), ("mean", "variance", "mode")),
    "transformed_affine_tanh": (
        (REAL, POS, np.array(0.5), np.array(-2.0)),
        lambda m, s, a, b: D.TransformedDistribution(
            D.Normal(m, s), [D.AffineTransform(a, b), D.TanhTransform()]),
        lambda m, s, a, b: TD.TransformedDistribution(
            TD.Normal(m, s), [TT.AffineTransform(a, b), TT.TanhTransform()]),
        RNG.uniform(-0.9, 0.9, (2, 3)), ()),
    "transformed_sigmoid_power": (
        (REAL, POS, np.array(1.7)),
        lambda m, s, k: D.TransformedDistribution(
            D.Normal(m, s), [D.SigmoidTransform(), D.PowerTransform(k)]),
        lambda m, s, k: TD.TransformedDistribution(
            TD.Normal(m, s), [TT.SigmoidTransform(), TT.PowerTransform(k)]),
        UNIT2, ()),
}


def _entropy(dist):
    try:
        return dist.entropy()
    except NotImplementedError:
        return None


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_against_torch(name):
    arrays, make, tmake, value, stats = FAMILIES[name]
    dist, tdist, params, tparams = both(make, tmake, arrays)
    assert dist.batch_shape == tuple(tdist.batch_shape)
    assert dist.event_shape == tuple(tdist.event_shape)
    lp = dist.log_prob(nb.tensor(value, dtype=nb.float64))
    tlp = tdist.log_prob(torch.tensor(value))
    close(lp, tlp)
    for stat in stats:
        close(getattr(dist, stat), getattr(tdist, stat))
    ent, tent = _entropy(dist), _entropy(tdist)
    assert (ent is None) == (tent is None)
    out, tout = lp.sum(), tlp.sum()
    if ent is not None:
        close(ent, tent)
        out, tout = out + ent.sum(), tout + tent.sum()
    for stat in ("mean", "variance"):
        if stat in stats and np.isfinite(getattr(tdist, stat).detach().numpy()).all():
            out, tout = out + getattr(dist, stat).sum(), tout + getattr(tdist, stat).sum()
    grads = nb.autograd.grad(out, params, allow_unused=True)
    tgrads = torch.autograd.grad(tout, tparams, allow_unused=True)
    for g, tg in zip(grads, tgrads):
        if tg is None:
            assert g is None or np.all(g.numpy() == 0)
        else:
            close(g, tg, atol=1e-8, rtol=1e-8)


def test_binomial_entropy_and_support():
    (p,), (tp,) = pair(UNIT)
    dist, tdist = D.Binomial(6, probs=p), TD.Binomial(6, probs=tp)
    close(dist.entropy(), tdist.entropy())
    (g,) = nb.autograd.grad(dist.entropy().sum(), [p])
    (tg,) = torch.autograd.grad(tdist.entropy().sum(), [tp])
    close(g, tg, atol=1e-9, rtol=1e-9)
    close(dist.enumerate_support(), tdist.enumerate_support())
    # the edges p = 0 and p = 1 go through clamped logits, as in torch
    d = D.Binomial(4, probs=nb.tensor([0.0, 1.0], dtype=nb.float64))
    td = TD.Binomial(4, probs=torch.tensor([0.0, 1.0], dtype=torch.float64))
    for v in ([0.0, 4.0], [1.0, 3.0]):
        close(d.log_prob(nb.tensor(v, dtype=nb.float64)),
              td.log_prob(torch.tensor(v, dtype=torch.float64)), atol=1e-12)
    assert d.log_prob(nb.tensor([1.0, 3.0], dtype=nb.float64)).numpy().max() < -30
    with pytest.raises(NotImplementedError, match="Binomial.entropy"):
        D.Binomial(nb.tensor([2.0, 3.0]), probs=0.5).entropy()


def test_geometric_probs_one_has_finite_gradient():
    p = nb.tensor([1.0, 0.5], dtype=nb.float64, requires_grad=True)
    tp = torch.tensor([1.0, 0.5], dtype=torch.float64, requires_grad=True)
    lp = D.Geometric(probs=p).log_prob(nb.tensor([0.0, 2.0], dtype=nb.float64))
    tlp = TD.Geometric(probs=tp).log_prob(torch.tensor([0.0, 2.0], dtype=torch.float64))
    close(lp, tlp)
    close(nb.autograd.grad(lp.sum(), [p])[0], torch.autograd.grad(tlp.sum(), [tp])[0])


# ---- cdf / icdf ---------------------------------------------------------------------

CDF_FAMILIES = {
    "cauchy": ((REAL, POS), D.Cauchy, TD.Cauchy),
    "halfnormal": ((POS,), D.HalfNormal, TD.HalfNormal),
    "lognormal": ((REAL, POS), D.LogNormal, TD.LogNormal),
    "normal": ((REAL, POS), D.Normal, TD.Normal),
    "affine_negative": ((REAL, POS, np.array(1.0), np.array(-3.0)),
                        lambda m, s, a, b: D.TransformedDistribution(
                            D.Laplace(m, s), D.AffineTransform(a, b)),
                        lambda m, s, a, b: TD.TransformedDistribution(
                            TD.Laplace(m, s), TT.AffineTransform(a, b))),
    "exp_then_affine": ((REAL, POS),
                        lambda m, s: D.TransformedDistribution(
                            D.Normal(m, s), [D.ExpTransform(), D.AffineTransform(2.0, 0.5)]),
                        lambda m, s: TD.TransformedDistribution(
                            TD.Normal(m, s), [TT.ExpTransform(), TT.AffineTransform(2.0, 0.5)])),
}


@pytest.mark.parametrize("name", sorted(CDF_FAMILIES))
def test_cdf_icdf_against_torch(name):
    arrays, make, tmake = CDF_FAMILIES[name]
    dist, tdist, params, tparams = both(make, tmake, arrays)
    q = RNG.uniform(0.05, 0.95, (2, 3))
    x, tx = dist.icdf(nb.tensor(q, dtype=nb.float64)), tdist.icdf(torch.tensor(q))
    close(x, tx, atol=1e-9, rtol=1e-9)
    c, tc = dist.cdf(x.detach()), tdist.cdf(tx.detach())
    close(c, tc, atol=1e-9, rtol=1e-9)
    close(c, q, atol=1e-9, rtol=1e-9)
    grads = nb.autograd.grad(x.sum() + c.sum(), params)
    tgrads = torch.autograd.grad(tx.sum() + tc.sum(), tparams)
    for g, tg in zip(grads, tgrads):
        close(g, tg, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("family", ["gamma", "chi2"])
def test_gamma_cdf_against_torch_and_scipy(family):
    from scipy import special
    a, rate, v = POS, POS2, POS * 1.3
    (na, nr, nv), (ta, tr, tv) = pair(a, rate, v)
    if family == "gamma":
        c, tc = D.Gamma(na, nr).cdf(nv), TD.Gamma(ta, tr).cdf(tv)
    else:
        c, tc = D.Chi2(na).cdf(nv), TD.Chi2(ta).cdf(tv)
    close(c, tc, atol=1e-12, rtol=1e-12)
    inputs, tinputs = ([nr, nv], [tr, tv]) if family == "gamma" else ([nv], [tv])
    grads = nb.autograd.grad(c.sum(), inputs + [na])
    for g, tg in zip(grads, torch.autograd.grad(tc.sum(), tinputs)):
        close(g, tg, atol=1e-10, rtol=1e-10)
    # torch has no derivative in the concentration: compare with a finite difference
    conc, x = (a, rate * v) if family == "gamma" else (a / 2, v / 2)
    scale = 1.0 if family == "gamma" else 0.5
    fd = (special.gammainc(conc + 1e-6, x) - special.gammainc(conc - 1e-6, x)) / 2e-6
    close(grads[-1], fd * scale, rtol=1e-6, atol=1e-9)


def test_mixture_cdf_against_torch():
    dist, tdist, params, tparams = both(FAMILIES["mixture"][1], FAMILIES["mixture"][2],
                                        FAMILIES["mixture"][0])
    v = RNG.normal(size=(5, 2))
    close(dist.cdf(nb.tensor(v, dtype=nb.float64)), tdist.cdf(torch.tensor(v)))


# ---- KL divergence --------------------------------------------------------------------

KL_PAIRS = {
    "dirichlet": (D.Dirichlet, TD.Dirichlet, (POS,), (POS2,)),
    "beta": (D.Beta, TD.Beta, (POS, POS2), (POS2, POS)),
    "exponential": (D.Exponential, TD.Exponential, (POS,), (POS2,)),
    "gamma": (D.Gamma, TD.Gamma, (POS, POS2), (POS2, POS)),
    "laplace": (D.Laplace, TD.Laplace, (REAL, POS), (REAL2, POS2)),
    "poisson": (D.Poisson, TD.Poisson, (POS,), (POS2,)),
    "geometric": (lambda p: D.Geometric(probs=p), lambda p: TD.Geometric(probs=p),
                  (UNIT,), (UNIT2,)),
    "binomial": (lambda n, p: D.Binomial(n, probs=p), lambda n, p: TD.Binomial(n, probs=p),
                 (COUNTS, UNIT), (COUNTS, UNIT2)),
    "cauchy": (D.Cauchy, TD.Cauchy, (REAL, POS), (REAL2, POS2)),
    "halfnormal": (D.HalfNormal, TD.HalfNormal, (POS,), (POS2,)),
    "lognormal": (D.LogNormal, TD.LogNormal, (REAL, POS), (REAL2, POS2)),
    "independent_dirichlet": (lambda a: D.Independent(D.Dirichlet(a), 1),
                              lambda a: TD.Independent(TD.Dirichlet(a), 1), (POS,), (POS2,)),
    "transformed_sigmoid": (lambda m, s: D.TransformedDistribution(D.Normal(m, s),
                                                                   D.SigmoidTransform()),
                            lambda m, s: TD.TransformedDistribution(TD.Normal(m, s),
                                                                    TT.SigmoidTransform()),
                            (REAL, POS), (REAL2, POS2)),
}


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_against_torch(name):
    make, tmake, pa, qa = KL_PAIRS[name]
    p, tp, pp, tpp = both(make, tmake, pa)
    q, tq, qp, tqp = both(make, tmake, qa)
    kl, tkl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    close(kl, tkl, atol=1e-9, rtol=1e-9)
    assert np.all(kl.detach().numpy() >= -1e-12)
    grads = nb.autograd.grad(kl.sum(), pp + qp, allow_unused=True)
    tgrads = torch.autograd.grad(tkl.sum(), tpp + tqp, allow_unused=True)
    for g, tg in zip(grads, tgrads):
        if tg is not None:
            close(g, tg, atol=1e-8, rtol=1e-8)


def test_kl_refusals():
    with pytest.raises(NotImplementedError, match="total_count"):
        D.kl_divergence(D.Binomial(3, probs=0.5), D.Binomial(4, probs=0.5))
    with pytest.raises(NotImplementedError, match="transforms"):
        D.kl_divergence(D.TransformedDistribution(D.Normal(0.0, 1.0), D.ExpTransform()),
                        D.TransformedDistribution(D.Normal(0.0, 1.0), D.SigmoidTransform()))
    # a distribution is at distance 0 from itself
    d = D.Dirichlet(nb.tensor(POS, dtype=nb.float64))
    close(D.kl_divergence(d, d), np.zeros(2), atol=1e-12)


# ---- transforms ---------------------------------------------------------------------

TRANSFORMS = {
    "exp": (lambda: T.ExpTransform(), lambda: TT.ExpTransform(), REAL),
    "affine": (lambda: T.AffineTransform(nb.tensor(REAL2, dtype=nb.float64), -2.5),
               lambda: TT.AffineTransform(torch.tensor(REAL2), -2.5), REAL),
    "affine_event": (lambda: T.AffineTransform(1.0, nb.tensor(POS, dtype=nb.float64), 1),
                     lambda: TT.AffineTransform(1.0, torch.tensor(POS), 1), REAL),
    "sigmoid": (lambda: T.SigmoidTransform(), lambda: TT.SigmoidTransform(), REAL * 3),
    "tanh": (lambda: T.TanhTransform(), lambda: TT.TanhTransform(), REAL),
    "power": (lambda: T.PowerTransform(nb.tensor(POS2, dtype=nb.float64)),
              lambda: TT.PowerTransform(torch.tensor(POS2)), POS),
    "stick_breaking": (lambda: T.StickBreakingTransform(), lambda: TT.StickBreakingTransform(),
                       REAL),
    "compose": (lambda: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.TanhTransform(),
                                            T.AffineTransform(1.0, 3.0)]),
                lambda: TT.ComposeTransform([TT.AffineTransform(0.5, 2.0), TT.TanhTransform(),
                                             TT.AffineTransform(1.0, 3.0)]), REAL * 0.3),
    "compose_event": (lambda: T.ComposeTransform([T.ExpTransform(),
                                                  T.AffineTransform(0.0, 2.0, 1)]),
                      lambda: TT.ComposeTransform([TT.ExpTransform(),
                                                   TT.AffineTransform(0.0, 2.0, 1)]), REAL),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_against_torch(name):
    make, tmake, x = TRANSFORMS[name]
    t, tt = make(), tmake()
    (xn,), (xt,) = pair(x)
    y, ty = t(xn), tt(xt)
    close(y, ty, atol=1e-12, rtol=1e-12)
    close(t.inv(y.detach()), x, atol=1e-9, rtol=1e-9)
    ladj, tladj = t.log_abs_det_jacobian(xn, y), tt.log_abs_det_jacobian(xt, ty)
    close(ladj, tladj, atol=1e-10, rtol=1e-10)
    inv_ladj = t.inv.log_abs_det_jacobian(y, xn)
    close(inv_ladj, -tladj, atol=1e-10, rtol=1e-10)
    assert t.domain.event_dim == tt.domain.event_dim
    assert t.codomain.event_dim == tt.codomain.event_dim
    assert t.forward_shape(x.shape) == tuple(tt.forward_shape(x.shape))
    assert t.inverse_shape(y.shape) == tuple(tt.inverse_shape(y.shape))
    (g,) = nb.autograd.grad(y.sum() + ladj.sum(), [xn])
    (tg,) = torch.autograd.grad(ty.sum() + tladj.sum(), [xt])
    close(g, tg, atol=1e-9, rtol=1e-9)


def test_transform_sign_inverse_and_equality():
    assert T.ExpTransform().sign == 1 and T.AffineTransform(0.0, -2.0).sign == -1
    assert T.ComposeTransform([T.AffineTransform(0.0, -2.0), T.TanhTransform()]).sign == -1
    assert T.ExpTransform().inv.inv == T.ExpTransform()
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.TanhTransform()
    x = nb.tensor(REAL, dtype=nb.float64)
    y = T.SoftmaxTransform()(x)
    close(y, torch.softmax(torch.tensor(REAL), -1))
    close(T.SoftmaxTransform()(T.SoftmaxTransform().inv(y)), y, atol=1e-12)
    assert T.SoftmaxTransform().codomain is constraints.simplex
    with pytest.raises(TypeError, match="TransformedDistribution.*Transforms"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [D.ExpTransform(), "log"])
    with pytest.raises(TypeError, match="ComposeTransform"):
        T.ComposeTransform([T.ExpTransform(), "exp"])


# ---- expand, sample_shape ------------------------------------------------------------

EXPANDABLE = {
    "normal": lambda: D.Normal(nb.tensor([0.0, 1.0]), 1.0),
    "uniform": lambda: D.Uniform(nb.tensor([0.0, 1.0]), 2.0),
    "bernoulli": lambda: D.Bernoulli(logits=nb.tensor([0.0, 1.0])),
    "categorical": lambda: D.Categorical(probs=nb.tensor([[0.2, 0.8], [0.5, 0.5]])),
    "onehot": lambda: D.OneHotCategorical(probs=nb.tensor([[0.2, 0.8], [0.5, 0.5]])),
    "exponential": lambda: D.Exponential(nb.tensor([1.0, 2.0])),
    "laplace": lambda: D.Laplace(nb.tensor([0.0, 1.0]), 1.0),
    "gamma": lambda: D.Gamma(nb.tensor([1.0, 2.0]), 1.0),
    "beta": lambda: D.Beta(nb.tensor([1.0, 2.0]), 1.0),
    "poisson": lambda: D.Poisson(nb.tensor([1.0, 2.0])),
    "mvn": lambda: D.MultivariateNormal(nb.zeros(2, 3), nb.eye(3)),
    "lowrank": lambda: D.LowRankMultivariateNormal(nb.zeros(2, 3), nb.ones(3, 1), nb.ones(3)),
    "independent": lambda: D.Independent(D.Normal(nb.zeros(2, 3), 1.0), 1),
    "dirichlet": lambda: D.Dirichlet(nb.ones(2, 3)),
    "studentt": lambda: D.StudentT(nb.tensor([3.0, 4.0])),
    "cauchy": lambda: D.Cauchy(nb.tensor([0.0, 1.0]), 1.0),
    "binomial": lambda: D.Binomial(5, probs=nb.tensor([0.2, 0.6])),
    "geometric": lambda: D.Geometric(probs=nb.tensor([0.2, 0.6])),
    "chi2": lambda: D.Chi2(nb.tensor([1.0, 3.0])),
    "halfnormal": lambda: D.HalfNormal(nb.tensor([1.0, 3.0])),
    "lognormal": lambda: D.LogNormal(nb.tensor([0.0, 1.0]), 0.5),
    "logisticnormal": lambda: D.LogisticNormal(nb.zeros(2, 3), 1.0),
    "relaxed_bernoulli": lambda: D.RelaxedBernoulli(0.5, probs=nb.tensor([0.2, 0.6])),
    "relaxed_onehot": lambda: D.RelaxedOneHotCategorical(0.5, logits=nb.zeros(2, 4)),
    "mixture": lambda: D.MixtureSameFamily(D.Categorical(logits=nb.zeros(2, 3)),
                                           D.Normal(nb.zeros(2, 3), 1.0)),
    "transformed": lambda: D.TransformedDistribution(D.Normal(nb.zeros(2), 1.0),
                                                     [D.TanhTransform()]),
}


@pytest.mark.parametrize("name", sorted(EXPANDABLE))
def test_expand_and_sample_shape(name):
    dist = EXPANDABLE[name]()
    assert dist.batch_shape == (2,)
    big = dist.expand((4, 2))
    assert type(big) is type(dist)
    assert big.batch_shape == (4, 2) and big.event_shape == dist.event_shape
    assert dist.batch_shape == (2,)  # the original is untouched
    nb.manual_seed(0)
    s = big.sample((5,))
    assert s.shape == (5, 4, 2) + dist.event_shape
    assert big.sample().shape == (4, 2) + dist.event_shape
    v = dist.sample((3,))
    lp_small = dist.log_prob(v).numpy()
    lp_big = big.log_prob(v.unsqueeze(1).expand(3, 4, 2, *dist.event_shape)).numpy()
    np.testing.assert_allclose(lp_big, np.broadcast_to(lp_small[:, None], lp_big.shape),
                               rtol=1e-5, atol=1e-6)
    if dist.has_rsample:
        assert big.rsample((5,)).shape == (5, 4, 2) + dist.event_shape
    with pytest.raises(ValueError, match=f"{type(dist).__name__}.expand"):
        dist.expand((3,))


def test_expand_keeps_gradients_and_matches_torch():
    (loc, scale), (tloc, tscale) = pair(REAL2, POS2[0])
    d = D.StudentT(3.0, loc, scale).expand((4, 3))
    td = TD.StudentT(3.0, tloc, tscale).expand((4, 3))
    v = RNG.normal(size=(4, 3))
    lp, tlp = d.log_prob(nb.tensor(v, dtype=nb.float64)), td.log_prob(torch.tensor(v))
    close(lp, tlp)
    for g, tg in zip(nb.autograd.grad(lp.sum(), [loc, scale]),
                     torch.autograd.grad(tlp.sum(), [tloc, tscale])):
        close(g, tg, atol=1e-9, rtol=1e-9)


# ---- sampling -----------------------------------------------------------------------

F64 = dict(dtype=nb.float64)
SAMPLERS = {
    "dirichlet": lambda: D.Dirichlet(nb.tensor([[0.5, 1.0, 2.0], [3.0, 3.0, 1.0]], **F64)),
    "studentt": lambda: D.StudentT(nb.tensor([5.0, 9.0], **F64), nb.tensor([1.0, -1.0], **F64),
                                   nb.tensor([0.5, 2.0], **F64)),
    "binomial": lambda: D.Binomial(nb.tensor([3.0, 10.0], **F64),
                                   probs=nb.tensor([0.3, 0.8], **F64)),
    "geometric": lambda: D.Geometric(probs=nb.tensor([0.3, 0.8], **F64)),
    "chi2": lambda: D.Chi2(nb.tensor([1.0, 4.0], **F64)),
    "gamma_rsample": lambda: D.Gamma(nb.tensor([0.3, 4.0], **F64), nb.tensor([1.0, 2.0], **F64)),
    "halfnormal": lambda: D.HalfNormal(nb.tensor([0.5, 2.0], **F64)),
    "lognormal": lambda: D.LogNormal(nb.tensor([0.0, -1.0], **F64), nb.tensor([0.3, 0.5], **F64)),
    "relaxed_bernoulli": lambda: D.RelaxedBernoulli(nb.tensor(0.5, **F64),
                                                    probs=nb.tensor([0.3, 0.8], **F64)),
    "mixture": lambda: D.MixtureSameFamily(
        D.Categorical(probs=nb.tensor([[0.3, 0.7], [0.5, 0.5]], **F64)),
        D.Normal(nb.tensor([[-2.0, 1.0], [0.0, 3.0]], **F64), nb.tensor([0.5, 1.0], **F64))),
    "mixture_mvn": lambda: D.MixtureSameFamily(
        D.Categorical(probs=nb.tensor([0.3, 0.7], **F64)),
        D.MultivariateNormal(nb.tensor([[-2.0, 1.0], [0.0, 3.0]], **F64), nb.eye(2, **F64))),
    "lowrank": lambda: D.LowRankMultivariateNormal(
        nb.tensor([1.0, -1.0, 0.0], **F64), nb.tensor([[1.0], [0.5], [-1.0]], **F64),
        nb.tensor([0.5, 1.0, 2.0], **F64)),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sample_moments(name):
    dist = SAMPLERS[name]()
    nb.manual_seed(0)
    s = dist.rsample((3, 2)) if name.endswith("rsample") else dist.sample((3, 2))
    assert s.shape == (3, 2) + dist.batch_shape + dist.event_shape
    nb.manual_seed(0)
    again = dist.rsample((3, 2)) if name.endswith("rsample") else dist.sample((3, 2))
    np.testing.assert_array_equal(again.detach().numpy(), s.detach().numpy())
    n = 20000
    x = dist.sample((n,)).numpy()
    if name == "relaxed_bernoulli":  # no closed-form moments: P(x > 1/2) = probs
        np.testing.assert_allclose((x > 0.5).mean(0), dist.probs.numpy(), atol=0.015)
        return
    mean, var = dist.mean.numpy(), dist.variance.numpy()
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
    m4 = ((x - mean) ** 4).mean(0)
    assert np.all(np.abs(x.var(0) - var) < 5 * np.sqrt((m4 - var ** 2) / n) + 1e-6)
    assert np.all(np.isfinite(dist.log_prob(dist.sample((50,))).numpy()))


def test_relaxed_onehot_sample_is_on_simplex_and_argmax_is_categorical():
    d = D.RelaxedOneHotCategorical(nb.tensor(0.3, **F64),
                                   probs=nb.tensor([0.2, 0.3, 0.5], **F64))
    nb.manual_seed(1)
    x = d.sample((20000,)).numpy()
    np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-12)
    freq = np.bincount(x.argmax(-1), minlength=3) / len(x)
    # Gumbel-max: the argmax of a Gumbel-softmax draw is exactly Categorical(probs)
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.015)


# ---- reparameterized gradients ------------------------------------------------------

def test_gamma_rsample_gradient_matches_torch_implicit_gradient():
    alpha = np.array([0.2, 0.9, 3.0, 40.0])
    a = nb.tensor(alpha, dtype=nb.float64, requires_grad=True)
    nb.manual_seed(2)
    x = D.Gamma(a, 1.0).rsample((6,))
    (g,) = nb.autograd.grad(x.sum(), [a])
    xt = torch.tensor(x.detach().numpy())
    tg = torch._standard_gamma_grad(torch.tensor(alpha).expand(6, 4), xt).sum(0)
    close(g, tg, rtol=1e-3, atol=1e-6)
    # the rate enters as x / rate: d/d rate = -x / rate
    rate = nb.tensor([2.0, 0.5, 1.0, 3.0], dtype=nb.float64, requires_grad=True)
    nb.manual_seed(2)
    y = D.Gamma(nb.tensor(alpha, dtype=nb.float64), rate).rsample((6,))
    (gr,) = nb.autograd.grad(y.sum(), [rate])
    close(gr, (-y.detach() / rate.detach()).sum(0), rtol=1e-12)


def test_rsample_expectation_gradients():
    """Pathwise gradients average to the gradient of the mean (Monte Carlo)."""
    n = 20000
    a = nb.tensor([0.5, 2.0, 4.0], dtype=nb.float64, requires_grad=True)
    nb.manual_seed(3)
    x = D.Dirichlet(a).rsample((n,))
    (g,) = nb.autograd.grad(x[:, 0].mean(), [a])  # d E[x_0] / da = (a0 - a_0, -a_0, -a_0)/a0^2
    a0 = 6.5
    np.testing.assert_allclose(g.numpy(), np.array([6.0, -0.5, -0.5]) / a0 ** 2, atol=4e-3)
    df = nb.tensor(5.0, dtype=nb.float64, requires_grad=True)
    x = D.StudentT(df).rsample((n,))
    (g,) = nb.autograd.grad((x ** 2).mean(), [df])  # d/d df of df / (df - 2) = -2 / (df-2)^2
    np.testing.assert_allclose(g.item(), -2 / 9, atol=0.04)
    conc = nb.tensor([1.5, 3.0], dtype=nb.float64, requires_grad=True)
    x = D.Beta(conc[0], conc[1]).rsample((n,))
    g = nb.autograd.grad(x.mean(), [conc])[0].numpy()  # d/d(a, b) of a / (a + b)
    np.testing.assert_allclose(g, [3.0 / 4.5 ** 2, -1.5 / 4.5 ** 2], atol=4e-3)


def test_rsample_pathwise_formulas():
    loc = nb.tensor([0.5, -1.0], dtype=nb.float64, requires_grad=True)
    scale = nb.tensor([1.0, 2.0], dtype=nb.float64, requires_grad=True)
    for dist in (D.Cauchy(loc, scale), D.StudentT(7.0, loc, scale)):
        x = dist.rsample((5,))
        gl, gs = nb.autograd.grad(x.sum(), [loc, scale])
        close(gl, [5.0, 5.0])
        close(gs, ((x.detach() - loc.detach()) / scale.detach()).sum(0), rtol=1e-10)
    x = D.LogNormal(loc, scale).rsample((5,))
    gl, gs = nb.autograd.grad(x.sum(), [loc, scale])
    close(gl, x.detach().sum(0), rtol=1e-12)
    close(gs, (x.detach() * (x.detach().log() - loc.detach()) / scale.detach()).sum(0),
          rtol=1e-10)
    # Gumbel-softmax: the same noise through nabla and torch's formula
    logits, tlogits = pair(RNG.normal(size=(2, 4)))
    logits, tlogits = logits[0], tlogits[0]
    nb.manual_seed(4)
    y = D.RelaxedOneHotCategorical(0.5, logits=logits).rsample((3,))
    nb.manual_seed(4)
    u = nb.rand(3, 2, 4, dtype=nb.float64).numpy()
    gumbel = -np.log(-np.log(np.clip(u, np.finfo(float).eps, 1 - np.finfo(float).eps)))
    ty = torch.softmax((torch.log_softmax(tlogits, -1) + torch.tensor(gumbel)) / 0.5, -1)
    close(y, ty, rtol=1e-10)
    w = RNG.normal(size=(3, 2, 4))
    (g,) = nb.autograd.grad((y * nb.tensor(w, **F64)).sum(), [logits])
    (tg,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), [tlogits])
    close(g, tg, rtol=1e-9, atol=1e-12)
    p = nb.tensor([0.3, 0.6], dtype=nb.float64, requires_grad=True)
    y = D.RelaxedBernoulli(0.5, probs=p).rsample((4,))
    (g,) = nb.autograd.grad(y.sum(), [p])
    yd, pd = y.detach().numpy(), p.detach().numpy()
    # dy/dlogits = y (1 - y) / t and dlogits/dp = 1 / (p (1 - p))
    close(g, (yd * (1 - yd) / 0.5).sum(0) / (pd * (1 - pd)), rtol=1e-9)


# ---- constraints and validate_args ----------------------------------------------------

def test_constraints_check():
    v = nb.tensor([-1.0, 0.0, 0.5, 1.0, 2.0])
    assert constraints.positive.check(v).tolist() == [False, False, True, True, True]
    assert constraints.nonnegative.check(v).tolist() == [False, True, True, True, True]
    assert constraints.unit_interval.check(v).tolist() == [False, True, True, True, False]
    assert constraints.boolean.check(v).tolist() == [False, True, False, True, False]
    assert constraints.nonnegative_integer.check(v).tolist() == [False, True, False, True, True]
    assert constraints.integer_interval(0, 1).check(v).tolist() == [False, True, False, True,
                                                                    False]
    assert constraints.interval(-1.0, 0.5).check(v).tolist() == [True, True, True, False, False]
    assert constraints.greater_than(0.5).check(v).tolist() == [False, False, False, True, True]
    assert constraints.real.check(nb.tensor([float("nan"), 1.0])).tolist() == [False, True]
    assert constraints.simplex.check(nb.tensor([[0.2, 0.8], [0.5, 0.6]])).tolist() == [True,
                                                                                       False]
    assert constraints.lower_cholesky.check(nb.tensor([[[1.0, 0.0], [2.0, 1.0]],
                                                       [[1.0, 1.0], [0.0, 1.0]]])).tolist() \
        == [True, False]
    assert constraints.positive_definite.check(nb.tensor([[[2.0, 1.0], [1.0, 2.0]],
                                                          [[1.0, 2.0], [2.0, 1.0]]])).tolist() \
        == [True, False]
    assert constraints.simplex.event_dim == 1 and constraints.lower_cholesky.event_dim == 2
    assert constraints.nonnegative_integer.is_discrete and not constraints.real.is_discrete
    assert D.Dirichlet(nb.ones(3)).support is constraints.simplex
    assert D.Independent(D.Normal(nb.zeros(2, 3), 1.0), 1).support.event_dim == 1
    assert D.LogNormal(0.0, 1.0).arg_constraints["scale"] is constraints.positive


@pytest.mark.parametrize("make,match", [
    (lambda: D.Dirichlet(nb.tensor([1.0, -1.0])),
     r"Dirichlet: expected parameter concentration \(Tensor of shape \(2,\).*positive"),
    (lambda: D.Dirichlet(nb.tensor(1.0)), "Dirichlet.*at least one dimension"),
    (lambda: D.StudentT(nb.tensor([0.0, 1.0])), r"StudentT.*df.*\(2,\).*positive"),
    (lambda: D.Cauchy(0.0, nb.tensor([[-1.0]])), r"Cauchy.*scale.*\(1, 1\).*positive"),
    (lambda: D.Binomial(nb.tensor([2.5]), probs=0.5),
     r"Binomial.*total_count.*\(1,\).*nonnegative integer|Binomial.*total_count.*integers"),
    (lambda: D.Binomial(3, probs=nb.tensor([1.2])), r"Binomial.*probs.*\[0, 1\]"),
    (lambda: D.Binomial(3), "Binomial.*exactly one"),
    (lambda: D.Geometric(probs=nb.tensor([0.0])), "Geometric.*probs"),
    (lambda: D.Chi2(nb.tensor([-2.0])), r"Chi2.*parameter df.*\(1,\).*positive"),
    (lambda: D.HalfNormal(nb.tensor([-1.0])), r"HalfNormal.*parameter scale.*\(1,\).*positive"),
    (lambda: D.LogNormal(0.0, nb.tensor([0.0])), r"LogNormal.*parameter scale.*positive"),
    (lambda: D.LogisticNormal(nb.tensor([float("nan")]), 1.0), r"LogisticNormal.*loc.*real"),
    (lambda: D.LowRankMultivariateNormal(nb.zeros(2), nb.ones(2, 1), nb.tensor([1.0, -1.0])),
     r"LowRankMultivariateNormal.*cov_diag.*\(2,\).*positive"),
    (lambda: D.LowRankMultivariateNormal(nb.zeros(2), nb.ones(3, 1), nb.ones(2)),
     "LowRankMultivariateNormal.*shapes"),
    (lambda: D.MixtureSameFamily(D.Categorical(logits=nb.zeros(3)), D.Normal(nb.zeros(2), 1.0)),
     "MixtureSameFamily.*components 3"),
    (lambda: D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(nb.zeros(2), 1.0)),
     "MixtureSameFamily.*Categorical"),
    (lambda: D.Dirichlet(nb.ones(3)).log_prob(nb.tensor([0.5, 0.6, 0.1])),
     "Dirichlet.*value.*simplex"),
    (lambda: D.Binomial(3, probs=0.5).log_prob(nb.tensor(4.0)), r"Binomial.*value.*\[0, 3\]"),
    (lambda: D.Geometric(probs=0.5).log_prob(nb.tensor(1.5)), "Geometric.*value.*integers"),
    (lambda: D.HalfNormal(1.0).log_prob(nb.tensor(-1.0)), "HalfNormal.*value.*nonnegative"),
    (lambda: D.LogNormal(0.0, 1.0).log_prob(nb.tensor(-1.0)), "LogNormal.*value.*positive"),
    (lambda: D.RelaxedBernoulli(0.5, probs=0.5).log_prob(nb.tensor(1.5)),
     r"RelaxedBernoulli.*value.*\[0, 1\]"),
    (lambda: D.TransformedDistribution(D.Normal(0.0, 1.0), D.StickBreakingTransform()),
     "TransformedDistribution.*event dim"),
])
def test_validation_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_validation_switched_off_and_torch_agrees_on_invalid_values():
    d = D.HalfNormal(1.0, validate_args=False)
    assert d.log_prob(nb.tensor(-1.0)).item() == -math.inf
    td = TD.HalfNormal(1.0, validate_args=False)
    assert td.log_prob(torch.tensor(-1.0)).item() == -math.inf
    # a parameter with a wrong value passes when validation is off
    assert D.StudentT(nb.tensor([-1.0]), validate_args=False).df.item() == -1.0
    assert D.LogNormal(0.0, nb.tensor([-1.0]), validate_args=False).scale.item() == -1.0
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.HalfNormal(nb.tensor([-1.0])).scale.item() == -1.0
    finally:
        D.Distribution.set_default_validate_args(True)
