"""Property tests: reduction gradients against NumPy closed forms, for random shapes,
random subsets of dims (negative or not) and keepdim."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import nabla as nb

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def reduction_case(draw):
    """(x, dim, keepdim, axes): x of 1-4 dims of sizes 1-4, dim None or a subset."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    ndim = len(shape)
    if draw(st.booleans()):
        dim, axes = None, tuple(range(ndim))
    else:
        axes = tuple(sorted(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                          unique=True))))
        # name each axis by a positive or a negative index
        dim = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
        if len(dim) == 1 and draw(st.booleans()):
            dim = dim[0]
    keepdim = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).uniform(-2, 2, shape)
    return x, dim, keepdim, axes


def gradient(fn, x: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
    """d <fn(x), cotangent> / dx by reverse mode."""
    t = nb.tensor(x, requires_grad=True)
    out = fn(t)
    assert out.shape == cotangent.shape
    (g,) = nb.autograd.grad([out], [t], grad_outputs=[nb.tensor(cotangent)])
    assert g.shape == x.shape, f"gradient of shape {g.shape} for input {x.shape}"
    return g.numpy()


def cotangent_for(x, axes, keepdim, seed=7):
    """A random cotangent of the output's shape, and the same in keepdim layout."""
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    out_shape = kept if keepdim else tuple(n for i, n in enumerate(x.shape) if i not in axes)
    v = np.random.default_rng(seed).standard_normal(out_shape)
    return v, v.reshape(kept)


def count(x, axes):
    return int(np.prod([x.shape[a] for a in axes]))


@SETTINGS
@given(reduction_case())
def test_sum_gradient_is_the_broadcast_cotangent(case):
    x, dim, keepdim, axes = case
    v, v_kept = cotangent_for(x, axes, keepdim)
    got = gradient(lambda t: t.sum(dim, keepdim), x, v)
    np.testing.assert_allclose(got, np.broadcast_to(v_kept, x.shape), rtol=1e-12)


@SETTINGS
@given(reduction_case())
def test_mean_gradient_is_cotangent_over_count(case):
    x, dim, keepdim, axes = case
    v, v_kept = cotangent_for(x, axes, keepdim)
    got = gradient(lambda t: t.mean(dim, keepdim), x, v)
    np.testing.assert_allclose(got, np.broadcast_to(v_kept, x.shape) / count(x, axes),
                               rtol=1e-12)


@SETTINGS
@given(reduction_case(), st.sampled_from([0, 1]))
def test_var_gradient_closed_form(case, correction):
    x, dim, keepdim, axes = case
    n = count(x, axes)
    if n <= correction:
        return  # no degrees of freedom: the variance is nan
    v, v_kept = cotangent_for(x, axes, keepdim)
    got = gradient(lambda t: t.var(dim, keepdim=keepdim, correction=correction), x, v)
    centered = x - x.mean(axis=axes, keepdims=True)
    np.testing.assert_allclose(got, 2 * centered * v_kept / (n - correction), rtol=1e-9,
                               atol=1e-12)


@SETTINGS
@given(reduction_case())
def test_logsumexp_gradient_is_cotangent_times_softmax(case):
    x, dim, keepdim, axes = case
    v, v_kept = cotangent_for(x, axes, keepdim)
    got = gradient(lambda t: t.logsumexp(dim, keepdim), x, v)
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    softmax = e / e.sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(got, v_kept * softmax, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(reduction_case(), st.sampled_from(["sum", "mean", "var", "logsumexp"]))
def test_forward_mode_agrees_with_reverse_mode(case, name):
    """<jvp(u), v> == <u, vjp(v)> for a random direction u and cotangent v."""
    x, dim, keepdim, axes = case
    if name == "var" and count(x, axes) < 2:
        return
    fn = {"sum": lambda t: t.sum(dim, keepdim), "mean": lambda t: t.mean(dim, keepdim),
          "var": lambda t: t.var(dim, keepdim=keepdim),
          "logsumexp": lambda t: t.logsumexp(dim, keepdim)}[name]
    v, _ = cotangent_for(x, axes, keepdim)
    u = np.random.default_rng(11).standard_normal(x.shape)
    with nb.autograd.forward_ad.dual_level():
        dual = nb.autograd.forward_ad.make_dual(nb.tensor(x), nb.tensor(u))
        tangent = nb.autograd.forward_ad.unpack_dual(fn(dual)).tangent.numpy()
    assert tangent.shape == v.shape
    np.testing.assert_allclose((tangent * v).sum(), (u * gradient(fn, x, v)).sum(),
                               rtol=1e-9, atol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2**32 - 1),
       st.integers(0, 3))
def test_prod_gradient_is_product_of_the_others(shape, seed, zeros):
    """Reduce the last dim; up to three entries set to zero."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    x.reshape(-1)[rng.choice(x.size, min(zeros, x.size), replace=False)] = 0.0
    v = rng.standard_normal(shape[:-1])
    got = gradient(lambda t: t.prod(-1), x, v)
    k = shape[-1]
    others = np.stack([np.prod(np.delete(x, i, axis=-1), axis=-1) for i in range(k)], axis=-1)
    np.testing.assert_allclose(got, v[..., None] * others, rtol=1e-12, atol=1e-15)


def test_strategy_reaches_negative_and_tuple_dims():
    """The strategy itself: a sanity check that draws cover tuples and negative dims."""
    seen = set()

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(reduction_case())
    def collect(case):
        _, dim, _, _ = case
        if dim is None:
            seen.add("none")
        elif isinstance(dim, int):
            seen.add("negative int" if dim < 0 else "int")
        else:
            seen.add("tuple")
    collect()
    assert {"none", "tuple", "int", "negative int"} <= seen
