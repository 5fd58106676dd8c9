"""Forward mode: dual numbers, composite jvps, nested levels, forward-over-reverse."""
import math

import numpy as np
import pytest

import nabla as nb
from nabla.autograd import forward_ad as fwAD


def t64(a, requires_grad=False):
    return nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def test_make_dual_and_unpack_dual():
    x, u = t64([1.0, 2.0]), t64([0.5, -1.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, u)
        p, t = fwAD.unpack_dual(d)
        np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])
        np.testing.assert_array_equal(t.numpy(), [0.5, -1.0])
        assert fwAD.unpack_dual(x).tangent is None       # the original carries nothing
        assert fwAD.unpack_dual(t64(1.0)).tangent is None


def test_tangent_takes_primal_dtype_and_errors():
    with fwAD.dual_level():
        d = fwAD.make_dual(t64([1.0]), nb.tensor([1.0], dtype=nb.float32))
        assert fwAD.unpack_dual(d).tangent.dtype == nb.float64
        with pytest.raises(ValueError, match=r"tangent of shape \(2,\).*primal of shape \(1,\)"):
            fwAD.make_dual(t64([1.0]), t64([1.0, 2.0]))
        with pytest.raises(ValueError, match="floating point"):
            fwAD.make_dual(nb.tensor([1]), nb.tensor([1]))
    with pytest.raises(RuntimeError, match="no forward-mode level is open"):
        fwAD.make_dual(t64([1.0]), t64([1.0]))


def composite(x):
    return (x.sin() * x.exp() + x * x / (1 + x * x)).tanh()


def composite_derivative(x):
    inner = np.sin(x) * np.exp(x) + x * x / (1 + x * x)
    d_inner = (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x / (1 + x * x) ** 2
    return (1 - np.tanh(inner) ** 2) * d_inner


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 3)])
def test_jvp_of_composite_matches_analytic_and_finite_differences(shape):
    rng = np.random.default_rng(0)
    x, u = rng.uniform(-1, 1, shape), rng.standard_normal(shape)
    with fwAD.dual_level():
        out = composite(fwAD.make_dual(t64(x), t64(u)))
        tangent = fwAD.unpack_dual(out).tangent.numpy()
    assert tangent.shape == shape
    np.testing.assert_allclose(tangent, composite_derivative(x) * u, rtol=1e-12, atol=1e-14)
    eps = 1e-6
    fd = (composite(t64(x + eps * u)).numpy() - composite(t64(x - eps * u)).numpy()) / (2 * eps)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-9)


def test_jvp_through_broadcast_matmul_and_reduction():
    rng = np.random.default_rng(1)
    A, b, x, u = (rng.standard_normal(s) for s in [(2, 3), (3,), (3, 4), (3, 4)])
    f = lambda x: ((t64(A) @ (x + t64(b)[:, None])).sin()).sum(dim=0)
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(f(fwAD.make_dual(t64(x), t64(u)))).tangent.numpy()
    want = (np.cos(A @ (x + b[:, None])) * (A @ u)).sum(axis=0)
    np.testing.assert_allclose(tangent, want, rtol=1e-12)


def test_tangents_vanish_when_the_level_exits():
    with fwAD.dual_level():
        d = fwAD.make_dual(t64(1.0), t64(1.0))
    with fwAD.dual_level():
        assert fwAD.unpack_dual(d * 2).tangent is None


def test_forward_over_forward_second_derivative_of_sin():
    x0 = 0.8
    with fwAD.dual_level():
        # outer level: x carries tangent 1
        x = fwAD.make_dual(t64(x0), t64(1.0))
        with fwAD.dual_level():
            # inner level: the tangent of x (itself dual at the outer level)
            xi = fwAD.make_dual(x, t64(1.0))
            y = xi.sin()
            dy = fwAD.unpack_dual(y).tangent           # cos x, carrying the outer tangent
        d2y = fwAD.unpack_dual(dy).tangent              # -sin x
        assert dy.item() == pytest.approx(math.cos(x0))
        assert d2y.item() == pytest.approx(-math.sin(x0))


def test_forward_over_reverse_hessian_vector_product():
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    x0, u = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    with fwAD.dual_level():
        x = fwAD.make_dual(t64(x0, requires_grad=True), t64(u))
        f = (x @ (t64(A) @ x)) + x.sin().sum()
        (g,) = nb.autograd.grad(f, x)
        hv = fwAD.unpack_dual(g).tangent
    H = A + A.T - np.diag(np.sin(x0))
    np.testing.assert_allclose(g.detach().numpy(), (A + A.T) @ x0 + np.cos(x0))
    np.testing.assert_allclose(hv.numpy(), H @ u, rtol=1e-12)


def test_reverse_over_forward():
    # d/dx of the directional derivative d/du sin(x) . u = cos(x) u  ->  -sin(x) u
    x = t64([0.2, 1.1], requires_grad=True)
    u = t64([1.0, -2.0])
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(fwAD.make_dual(x, u).sin()).tangent
    (g,) = nb.autograd.grad(jv.sum(), x)
    np.testing.assert_allclose(g.numpy(), -np.sin([0.2, 1.1]) * u.numpy())


def test_forward_mode_works_under_no_grad():
    with nb.no_grad(), fwAD.dual_level():
        y = fwAD.make_dual(t64(2.0), t64(1.0)) ** 3
        assert fwAD.unpack_dual(y).tangent.item() == pytest.approx(12.0)
        assert not y.requires_grad
