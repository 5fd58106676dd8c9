"""nabla.func transforms against analytic results and torch.func, and their nesting."""
import numpy as np
import pytest

import nabla as nb
import nabla.autograd.functional as AF
import nabla.func as F
from tests.optest import needs_torch, torch


def t64(a):
    return nb.tensor(np.asarray(a, dtype=np.float64))


X = np.array([0.3, -1.2, 2.0])
A = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 4.0], [2.0, 0.0, 1.5]])


def cubic(x):
    return (x * x * x).sum()          # grad 3x^2, hessian diag(6x)


def quad(x, A=None):
    A = t64(A) if A is not None else t64(globals()["A"])
    return x @ (A @ x)               # grad (A + A^T) x, hessian A + A^T


def _r2(x):
    """R^3 -> R^2: y0 = sin(x0 x1) + x2^2, y1 = exp(x0) x2 - x1 / (1 + x2^2)."""
    y0 = (x[0] * x[1]).sin() + x[2] * x[2]
    y1 = x[0].exp() * x[2] - x[1] / (1 + x[2] * x[2])
    return (y0.reshape(1) * t64([1.0, 0.0]) + y1.reshape(1) * t64([0.0, 1.0]))


def r2_jacobian(x):
    x0, x1, x2 = x
    c = np.cos(x0 * x1)
    return np.array([[x1 * c, x0 * c, 2 * x2],
                     [np.exp(x0) * x2, -1 / (1 + x2 ** 2),
                      np.exp(x0) + 2 * x1 * x2 / (1 + x2 ** 2) ** 2]])


# -- grad ------------------------------------------------------------------------------------
def test_grad_analytic():
    g = F.grad(cubic)(t64(X))
    np.testing.assert_allclose(g.numpy(), 3 * X ** 2)
    assert not g.requires_grad and g.grad_fn is None


def test_grad_argnums_tuple_and_negative():
    f = lambda x, y: (x * y.sin()).sum()
    x, y = t64(X), t64([0.1, 0.2, 0.3])
    gx, gy = F.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx.numpy(), np.sin(y.numpy()))
    np.testing.assert_allclose(gy.numpy(), X * np.cos(y.numpy()))
    np.testing.assert_allclose(F.grad(f, argnums=-1)(x, y).numpy(), gy.numpy())


def test_grad_has_aux_and_values():
    def f(x):
        y = (x * x).sum()
        return y, {"double": y * 2}
    g, aux = F.grad(f, has_aux=True)(t64(X))
    np.testing.assert_allclose(g.numpy(), 2 * X)
    np.testing.assert_allclose(aux["double"].numpy(), 2 * (X ** 2).sum())
    assert not aux["double"].requires_grad
    (value, aux), g2 = F.value_and_grad(f, has_aux=True)(t64(X))
    np.testing.assert_allclose(value.numpy(), (X ** 2).sum())
    np.testing.assert_allclose(g2.numpy(), 2 * X)
    g3, value3 = F.grad_and_value(cubic)(t64(X))
    np.testing.assert_allclose(value3.numpy(), (X ** 3).sum())
    np.testing.assert_allclose(g3.numpy(), 3 * X ** 2)


def test_grad_of_dict_argument():
    params = {"w": t64([1.0, 2.0]), "b": t64(0.5)}
    g = F.grad(lambda p, x: ((p["w"] * x).sum() + p["b"]) ** 2)(params, t64([3.0, -1.0]))
    r = 1 * 3 - 2 + 0.5
    np.testing.assert_allclose(g["w"].numpy(), 2 * r * np.array([3.0, -1.0]))
    np.testing.assert_allclose(g["b"].numpy(), 2 * r)


def test_grad_unused_argument_is_zero():
    g = F.grad(lambda x, y: (x * 2).sum(), argnums=1)(t64(X), t64([1.0, 2.0]))
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_grad_plain_inputs_are_untouched():
    x = t64(X)
    F.grad(cubic)(x)
    assert not x.requires_grad and x.grad is None


def test_grad_works_under_no_grad():
    with nb.no_grad():
        g = F.grad(cubic)(t64(X))
    np.testing.assert_allclose(g.numpy(), 3 * X ** 2)


def test_grad_errors():
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(3,\)"):
        F.grad(lambda x: x * 2)(t64(X))
    with pytest.raises(IndexError, match=r"argnums=2 is out of range.*2 positional"):
        F.grad(lambda x, y: x.sum(), argnums=2)(t64(X), t64(X))
    with pytest.raises(TypeError, match="int64.*floating"):
        F.grad(lambda x: x.sum())(nb.tensor([1, 2]))
    with pytest.raises(TypeError, match="has_aux=True.*pair"):
        F.grad(lambda x: x.sum(), has_aux=True)(t64(X))
    with pytest.raises(ValueError, match="twice"):
        F.grad(lambda x, y: x.sum(), argnums=(0, -2))(t64(X), t64(X))


# -- nesting ---------------------------------------------------------------------------------
def test_grad_of_grad():
    d2 = F.grad(F.grad(lambda x: x.sin() * x))(t64(0.7))
    # (x sin x)'' = 2 cos x - x sin x
    np.testing.assert_allclose(d2.item(), 2 * np.cos(0.7) - 0.7 * np.sin(0.7))
    d3 = F.grad(F.grad(F.grad(lambda x: x ** 4)))(t64(1.5))
    np.testing.assert_allclose(d3.item(), 24 * 1.5)


def test_grad_through_closure_of_outer_input():
    # d/dx [ d/dy (x y^2) at y=3 ] = d/dx (6x) = 6
    f = lambda x: F.grad(lambda y: x * y * y)(t64(3.0))
    np.testing.assert_allclose(F.grad(f)(t64(2.0)).item(), 6.0)


def test_jvp_of_grad_and_grad_of_jvp():
    x, u = t64(X), t64([1.0, 0.5, -2.0])
    _, hv = F.jvp(F.grad(cubic), (x,), (u,))
    np.testing.assert_allclose(hv.numpy(), 6 * X * u.numpy())
    # grad of the directional derivative <3x^2, u> is 6 x u
    g = F.grad(lambda x: F.jvp(cubic, (x,), (u,))[1])(x)
    np.testing.assert_allclose(g.numpy(), 6 * X * u.numpy())


def test_transform_of_tensor_requiring_grad_stays_connected():
    w = t64(X).requires_grad_()
    g = F.grad(cubic)(w)                       # 3 w^2, still a function of w
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 6 * X)


# -- vjp / jvp -------------------------------------------------------------------------------
def test_vjp_matches_jacobian_transpose():
    x = t64(X)
    out, vjp_fn = F.vjp(_r2, x)
    np.testing.assert_allclose(out.numpy()[0], np.sin(X[0] * X[1]) + X[2] ** 2)
    v = t64([0.7, -1.3])
    (g,) = vjp_fn(v)
    np.testing.assert_allclose(g.numpy(), r2_jacobian(X).T @ v.numpy(), rtol=1e-12)
    (g2,) = vjp_fn(v)                      # callable twice (graph retained)
    np.testing.assert_allclose(g2.numpy(), g.numpy())
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(3,\).*shape \(2,\)"):
        vjp_fn(t64(X))


def test_vjp_multiple_primals_outputs_and_aux():
    f = lambda a, b: ((a * b), (a + b).exp())
    a, b = t64([1.0, 2.0]), t64([0.5, -0.5])
    (p, e), vjp_fn, aux = F.vjp(lambda a, b: (f(a, b), "tag"), a, b, has_aux=True)
    assert aux == "tag"
    ga, gb = vjp_fn((t64([1.0, 1.0]), t64([2.0, 0.0])))
    ea = np.exp(a.numpy() + b.numpy()) * np.array([2.0, 0.0])
    np.testing.assert_allclose(ga.numpy(), b.numpy() + ea)
    np.testing.assert_allclose(gb.numpy(), a.numpy() + ea)


def test_jvp_matches_jacobian_and_finite_differences():
    x, u = t64(X), t64([0.2, 1.0, -0.4])
    out, t = F.jvp(_r2, (x,), (u,))
    np.testing.assert_allclose(t.numpy(), r2_jacobian(X) @ u.numpy(), rtol=1e-12)
    eps = 1e-6
    fd = (_r2(t64(X + eps * u.numpy())).numpy() - _r2(t64(X - eps * u.numpy())).numpy()) / (2 * eps)
    np.testing.assert_allclose(t.numpy(), fd, rtol=1e-6)
    assert out._tangents is None or not out._tangents


def test_jvp_errors_and_constant_output():
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\).*primal 0 has shape \(3,\)"):
        F.jvp(cubic, (t64(X),), (t64([1.0, 2.0]),))
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        F.jvp(cubic, (t64(X),), (t64(X), t64(X)))
    _, t = F.jvp(lambda x: t64([1.0, 2.0]), (t64(X),), (t64(X),))
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0])


# -- Jacobians and Hessians ------------------------------------------------------------------
def test_jacfwd_equals_jacrev_and_analytic():
    x = t64(X)
    jr, jf = F.jacrev(_r2)(x), F.jacfwd(_r2)(x)
    assert jr.shape == jf.shape == (2, 3)
    np.testing.assert_allclose(jr.numpy(), r2_jacobian(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jf.numpy(), r2_jacobian(X), rtol=1e-12, atol=1e-15)


def test_jacobian_random_function_fwd_equals_rev():
    rng = np.random.default_rng(5)
    W, V = t64(rng.standard_normal((2, 3))), t64(rng.standard_normal((3, 3)))
    f = lambda x: W @ (V @ x).tanh() + x.sum() ** 2
    x = t64(rng.standard_normal(3))
    np.testing.assert_allclose(F.jacrev(f)(x).numpy(), F.jacfwd(f)(x).numpy(), rtol=1e-10)


def test_jacobian_shapes_argnums_and_tuple_outputs():
    f = lambda x, y: (x[:, None] * y, (x * x).sum())
    x, y = t64([1.0, 2.0]), t64([[3.0, 4.0, 5.0]])
    for jac in (F.jacrev, F.jacfwd):
        (jxy, jsum) = jac(f, argnums=(0, 1))(x, y)
        assert jxy[0].shape == (2, 3, 2) and jxy[1].shape == (2, 3, 1, 3)
        assert jsum[0].shape == (2,) and jsum[1].shape == (1, 3)
        np.testing.assert_allclose(jsum[0].numpy(), 2 * x.numpy())
        np.testing.assert_array_equal(jsum[1].numpy(), np.zeros((1, 3)))
        want = np.zeros((2, 3, 2))
        want[0, :, 0], want[1, :, 1] = y.numpy()[0], y.numpy()[0]
        np.testing.assert_allclose(jxy[0].numpy(), want)


def test_jacobian_empty_and_scalar():
    for jac in (F.jacrev, F.jacfwd):
        assert jac(lambda x: x * 2)(nb.zeros(0, 3, dtype=nb.float64)).shape == (0, 3, 0, 3)
        np.testing.assert_allclose(jac(lambda x: x.sin())(t64(0.5)).item(), np.cos(0.5))


def test_hessian_of_quadratic_form():
    x = t64([0.4, -1.0, 2.5])
    np.testing.assert_allclose(F.hessian(quad)(x).numpy(), A + A.T, rtol=1e-12)
    np.testing.assert_allclose(F.jacrev(F.jacrev(quad))(x).numpy(), A + A.T, rtol=1e-12)
    np.testing.assert_allclose(F.hessian(cubic)(t64(X)).numpy(), np.diag(6 * X), atol=1e-12)


def test_hvp_forward_over_reverse():
    x, v = t64([0.4, -1.0, 2.5]), t64([1.0, 2.0, 3.0])
    value, (hv,) = F.hvp(quad, (x,), (v,))
    np.testing.assert_allclose(value.item(), x.numpy() @ A @ x.numpy())
    np.testing.assert_allclose(hv.numpy(), (A + A.T) @ v.numpy(), rtol=1e-12)


# -- torch.autograd.functional names ---------------------------------------------------------
def test_autograd_functional_api():
    x, v = t64([0.4, -1.0, 2.5]), t64([1.0, 2.0, 3.0])
    H = AF.hessian(quad, x)
    np.testing.assert_allclose(H.numpy(), A + A.T)
    H2 = AF.hessian(lambda a, b: (a * b).sum(), (t64([1.0]), t64([2.0])))
    np.testing.assert_allclose([[h.item() for h in row] for row in H2], [[0, 1], [1, 0]])
    np.testing.assert_allclose(AF.jacobian(_r2, t64(X)).numpy(), r2_jacobian(X), rtol=1e-12)
    np.testing.assert_allclose(AF.jacobian(_r2, t64(X), strategy="forward-mode").numpy(),
                               r2_jacobian(X), rtol=1e-12)
    out, g = AF.vjp(cubic, t64(X))
    np.testing.assert_allclose(g.numpy(), 3 * X ** 2)
    _, jv = AF.jvp(_r2, t64(X), t64([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(jv.numpy(), r2_jacobian(X)[:, 0])
    for fn in (AF.hvp, AF.vhp):
        value, hv = fn(quad, x, v)
        np.testing.assert_allclose(hv.numpy(), (A + A.T) @ v.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(_r2, t64(X), strategy="sideways")
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        AF.vjp(lambda x: x * 2, t64(X))


def test_autograd_functional_create_graph():
    x = t64(X).requires_grad_()
    _, g = AF.vjp(cubic, x)
    assert not g.requires_grad
    _, g = AF.vjp(cubic, x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X)


# -- against torch.func ----------------------------------------------------------------------
@needs_torch
def test_against_torch_func():
    import torch.func as tf
    rng = np.random.default_rng(3)
    W = rng.standard_normal((2, 3))

    def make(lib, tensor):
        Wt = tensor(W)
        return lambda x: (Wt @ x.sin() * x[0]).tanh()

    f_nb, f_t = make(nb, t64), make(torch, torch.tensor)
    x = rng.standard_normal(3)
    xt = torch.tensor(x)
    np.testing.assert_allclose(F.jacrev(f_nb)(t64(x)).numpy(), tf.jacrev(f_t)(xt).numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(F.jacfwd(f_nb)(t64(x)).numpy(), tf.jacfwd(f_t)(xt).numpy(),
                               rtol=1e-10)
    s_nb, s_t = (lambda x: f_nb(x).sum()), (lambda x: f_t(x).sum())
    np.testing.assert_allclose(F.grad(s_nb)(t64(x)).numpy(), tf.grad(s_t)(xt).numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.hessian(s_nb)(t64(x)).numpy(), tf.hessian(s_t)(xt).numpy(),
                               rtol=1e-9, atol=1e-12)
    u = rng.standard_normal(3)
    _, t_nb = F.jvp(f_nb, (t64(x),), (t64(u),))
    _, t_t = tf.jvp(f_t, (xt,), (torch.tensor(u),))
    np.testing.assert_allclose(t_nb.numpy(), t_t.numpy(), rtol=1e-10)
    v = rng.standard_normal(2)
    _, fn_nb = F.vjp(f_nb, t64(x))
    _, fn_t = tf.vjp(f_t, xt)
    np.testing.assert_allclose(fn_nb(t64(v))[0].numpy(), fn_t(torch.tensor(v))[0].numpy(),
                               rtol=1e-10)


def test_jacobians_of_dict_argument_match():
    x = t64([1.0, 2.0])
    f = lambda p, y: (p["a"] * y).sin()
    for jac in (F.jacrev, F.jacfwd):
        jp, jy = jac(f, argnums=(0, 1))({"a": x}, x)
        np.testing.assert_allclose(jp["a"].numpy(), np.diag(np.cos(x.numpy() ** 2) * x.numpy()))
        np.testing.assert_allclose(jy.numpy(), np.diag(np.cos(x.numpy() ** 2) * x.numpy()))
    with pytest.raises(TypeError, match="jacfwd: argument 0 has dtype int64"):
        F.jacfwd(lambda x: x * 2)(nb.tensor([1, 2]))
    with pytest.raises(TypeError, match="jacrev: argument 0 has dtype int64"):
        F.jacrev(lambda x: x * 2)(nb.tensor([1, 2]))


@needs_torch
def test_hvp_and_value_and_grad_against_torch():
    import torch.func as tf
    rng = np.random.default_rng(4)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    f_nb = lambda x: (x.exp() * x.sin()).sum() / (1 + (x * x).sum())
    f_t = lambda x: (x.exp() * x.sin()).sum() / (1 + (x * x).sum())
    value, (hv,) = F.hvp(f_nb, (t64(x),), (t64(v),))
    t_value, t_hv = torch.autograd.functional.hvp(f_t, torch.tensor(x), torch.tensor(v))
    np.testing.assert_allclose(value.item(), t_value.item(), rtol=1e-12)
    np.testing.assert_allclose(hv.numpy(), t_hv.numpy(), rtol=1e-9)
    val, g = F.value_and_grad(f_nb)(t64(x))
    t_g, t_val = tf.grad_and_value(f_t)(torch.tensor(x))
    np.testing.assert_allclose(val.item(), t_val.item(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), t_g.numpy(), rtol=1e-10)
