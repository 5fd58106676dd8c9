"""Property tests: gradients through broadcasting binary ops have the inputs' shapes
and equal the NumPy-computed sums over the broadcast axes."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nabla as nb

SETTINGS = settings(max_examples=50, deadline=None)
PAIR_SHAPES = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0,
                                            max_side=3)


def _sum_to(x: np.ndarray, shape: tuple) -> np.ndarray:
    """Reduce ``x`` (of a broadcast shape) to ``shape`` by summing, independently of nabla."""
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)


def _inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shapes.input_shapes[0])
    b = rng.uniform(0.5, 2.0, shapes.input_shapes[1])
    return a, b


@SETTINGS
@given(shapes=PAIR_SHAPES, seed=st.integers(0, 2 ** 16))
def test_grad_of_mul_plus_add_has_input_shapes(shapes, seed):
    a_np, b_np = _inputs(shapes, seed)
    a = nb.tensor(a_np, requires_grad=True)
    b = nb.tensor(b_np, requires_grad=True)
    out = a * b + a
    assert out.shape == shapes.result_shape
    ga, gb = nb.autograd.grad(out.sum(), [a, b])
    assert ga.shape == a_np.shape and gb.shape == b_np.shape
    ones = np.ones(shapes.result_shape)
    np.testing.assert_allclose(ga.numpy(), _sum_to((b_np + 1) * ones, a_np.shape))
    np.testing.assert_allclose(gb.numpy(), _sum_to(a_np * ones, b_np.shape))


@SETTINGS
@given(shapes=PAIR_SHAPES, seed=st.integers(0, 2 ** 16))
def test_grad_with_random_cotangent(shapes, seed):
    a_np, b_np = _inputs(shapes, seed)
    g_np = np.random.default_rng(seed + 1).standard_normal(shapes.result_shape)
    a = nb.tensor(a_np, requires_grad=True)
    b = nb.tensor(b_np, requires_grad=True)
    ga, gb = nb.autograd.grad(a / b - nb.maximum(a, b), [a, b], grad_outputs=[nb.tensor(g_np)])
    # d/da (a/b - max(a, b)) = 1/b - [a > b] (+1/2 at ties), d/db = -a/b**2 - [b > a]
    wa = (a_np > b_np) + 0.5 * (a_np == b_np)
    np.testing.assert_allclose(ga.numpy(), _sum_to(g_np * (1 / b_np - wa), a_np.shape),
                               atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), _sum_to(g_np * (-a_np / b_np ** 2 - (1 - wa)),
                                                   b_np.shape), atol=1e-12)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0,
                                            max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_where_gradient_shapes(shapes, seed):
    rng = np.random.default_rng(seed)
    cond = rng.uniform(size=shapes.input_shapes[0]) > 0.5
    a_np = rng.standard_normal(shapes.input_shapes[1])
    b_np = rng.standard_normal(shapes.input_shapes[2])
    a = nb.tensor(a_np, requires_grad=True)
    b = nb.tensor(b_np, requires_grad=True)
    out = nb.where(nb.tensor(cond), a, b)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(cond, a_np, b_np))
    ga, gb = nb.autograd.grad((out * 3).sum(), [a, b])
    full = np.broadcast_to(cond, shapes.result_shape)
    np.testing.assert_allclose(ga.numpy(), _sum_to(3.0 * full, a_np.shape))
    np.testing.assert_allclose(gb.numpy(), _sum_to(3.0 * ~full, b_np.shape))


@SETTINGS
@given(shapes=PAIR_SHAPES, scalar=st.floats(-3, 3), seed=st.integers(0, 2 ** 16))
def test_forward_mode_matches_reverse_mode(shapes, scalar, seed):
    """<vjp(v), u> == <v, jvp(u)> for f(a, b) = (a + scalar) * b through broadcasting."""
    from nabla.autograd import forward_ad

    a_np, b_np = _inputs(shapes, seed)
    rng = np.random.default_rng(seed + 2)
    ua, ub = rng.standard_normal(a_np.shape), rng.standard_normal(b_np.shape)
    v = rng.standard_normal(shapes.result_shape)
    with forward_ad.dual_level():
        a = forward_ad.make_dual(nb.tensor(a_np), nb.tensor(ua))
        b = forward_ad.make_dual(nb.tensor(b_np), nb.tensor(ub))
        tangent = forward_ad.unpack_dual((a + scalar) * b).tangent.numpy()
    a = nb.tensor(a_np, requires_grad=True)
    b = nb.tensor(b_np, requires_grad=True)
    ga, gb = nb.autograd.grad((a + scalar) * b, [a, b], grad_outputs=[nb.tensor(v)])
    lhs = float((ga.numpy() * ua).sum() + (gb.numpy() * ub).sum())
    np.testing.assert_allclose(lhs, float((v * tangent).sum()), rtol=1e-10, atol=1e-10)
