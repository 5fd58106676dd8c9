"""More elementwise ops: gamma-family functions, sinc, fmax/fmin, copysign, heaviside,
nan_to_num. Values, gradients (to 2nd order), special points and errors."""
import math

import numpy as np
import pytest
import scipy.special

import nabla as nb
from tests.optest import check_op, needs_torch, rand, torch

SHAPES = [(), (5,), (3, 4), (0, 3)]

# name -> (nabla op, numpy reference, torch op, domain where the op is smooth)
UNARY = {
    "lgamma": (nb.lgamma, scipy.special.gammaln, lambda t: torch.lgamma(t), (0.3, 4)),
    # between two poles, where Gamma < 0 (lgamma is log|Gamma|)
    "lgamma_negative": (nb.lgamma, scipy.special.gammaln, lambda t: torch.lgamma(t),
                        (-2.8, -2.2)),
    "digamma": (nb.digamma, scipy.special.digamma, lambda t: torch.digamma(t), (0.3, 4)),
    "polygamma1": (lambda x: nb.polygamma(1, x), lambda a: scipy.special.polygamma(1, a),
                   lambda t: torch.polygamma(1, t), (0.5, 4)),
    "polygamma3": (lambda x: nb.polygamma(3, x), lambda a: scipy.special.polygamma(3, a),
                   lambda t: torch.polygamma(3, t), (0.5, 4)),
    "sinc": (nb.sinc, np.sinc, lambda t: torch.sinc(t), (-2.5, 2.5)),
    "nan_to_num": (nb.nan_to_num, np.nan_to_num, lambda t: torch.nan_to_num(t), (-2, 2)),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    op, ref, torch_op, (low, high) = UNARY[name]
    check_op(op, [rand(*shape, low=low, high=high)], ref=ref, torch_fn=torch_op)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "sinc", "nan_to_num"])
def test_tensor_methods(name):
    x = rand(4, low=0.5, high=3)
    got = getattr(nb.tensor(x), name)()
    np.testing.assert_allclose(got.numpy(), getattr(nb, name)(nb.tensor(x)).numpy())
    np.testing.assert_allclose(nb.tensor(x).polygamma(2).numpy(),
                               scipy.special.polygamma(2, x), rtol=1e-5)
    y = nb.tensor(x)
    y.polygamma_(1)
    np.testing.assert_allclose(y.numpy(), scipy.special.polygamma(1, x), rtol=1e-5)


def test_gamma_family_of_integers_is_float32():
    x = nb.tensor([1, 2, 3])
    for op in (nb.lgamma, nb.digamma, lambda t: nb.polygamma(1, t)):
        assert op(x).dtype == nb.float32
    np.testing.assert_allclose(nb.lgamma(x).numpy(), [0.0, 0.0, math.log(2)], atol=1e-7)


@needs_torch
def test_gamma_family_at_poles_matches_torch():
    x = np.array([0.0, -0.0, -1.0, -2.5])
    for name in ("lgamma", "digamma"):
        got = getattr(nb, name)(nb.tensor(x)).numpy()
        np.testing.assert_allclose(got, getattr(torch, name)(torch.tensor(x)).numpy(),
                                   rtol=1e-14)  # inf and NaN must match exactly


def test_polygamma_derivatives_chain():
    # d/dx lgamma = digamma, d/dx digamma = polygamma(1), d/dx polygamma(n) = polygamma(n+1)
    x = nb.tensor(np.array([0.7, 1.9, 3.2]), requires_grad=True)
    (g1,) = nb.autograd.grad(nb.lgamma(x).sum(), [x], create_graph=True)
    (g2,) = nb.autograd.grad(g1.sum(), [x], create_graph=True)
    (g3,) = nb.autograd.grad(g2.sum(), [x])
    a = x.detach().numpy()
    np.testing.assert_allclose(g1.detach().numpy(), scipy.special.digamma(a), rtol=1e-12)
    np.testing.assert_allclose(g2.detach().numpy(), scipy.special.polygamma(1, a), rtol=1e-12)
    np.testing.assert_allclose(g3.numpy(), scipy.special.polygamma(2, a), rtol=1e-12)


@pytest.mark.parametrize("n", [-1, 1.5, True, "2"])
def test_polygamma_rejects_bad_order(n):
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int"):
        nb.polygamma(n, nb.ones(3))


# -- sinc ------------------------------------------------------------------------------------
def test_sinc_at_zero_value_and_derivatives():
    x = nb.tensor(np.array([0.0]), requires_grad=True)
    y = nb.sinc(x)
    (g1,) = nb.autograd.grad(y.sum(), [x], create_graph=True)
    (g2,) = nb.autograd.grad(g1.sum(), [x], create_graph=True)
    (g3,) = nb.autograd.grad(g2.sum(), [x])
    assert y.item() == 1.0 and g1.item() == 0.0
    # sinc''(0) = -pi^2 / 3 (PyTorch gives NaN there) and sinc'''(0) = 0
    np.testing.assert_allclose(g2.item(), -math.pi ** 2 / 3, rtol=1e-12)
    assert g3.item() == 0.0


def test_sinc_gradient_is_accurate_near_zero():
    # across the switch between the Taylor series and the closed form (|pi x| = 0.1), and
    # for tiny x where the closed form would cancel catastrophically
    x = np.array([1e-8, -3e-5, 0.1 / math.pi - 1e-9, 0.1 / math.pi + 1e-9, 0.2, -0.7])
    t = nb.tensor(x, requires_grad=True)
    (g,) = nb.autograd.grad(nb.sinc(t).sum(), [t])
    u = math.pi * x
    want = np.where(np.abs(u) < 1e-3, -math.pi * u / 3 * (1 - u * u / 10),
                    (np.cos(u) - np.sin(u) / np.where(u == 0, 1, u)) / np.where(x == 0, 1, x))
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-10)


# -- fmax, fmin, copysign ------------------------------------------------------------------
PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (3,)), ((0, 3), (3,))]


@pytest.mark.parametrize("shapes", PAIRS)
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin(name, shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    check_op(getattr(nb, name), [a, b], ref=getattr(np, name),
             torch_fn=lambda x, y: getattr(torch, name)(x, y))


@needs_torch
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_nan_and_ties_match_torch(name):
    nan = math.nan
    a = np.array([1.0, 2.0, 2.0, nan, 3.0, nan, -1.0])
    b = np.array([2.0, 1.0, 2.0, 1.0, nan, nan, -1.0])
    x, y = nb.tensor(a, requires_grad=True), nb.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = getattr(nb, name)(x, y), getattr(torch, name)(tx, ty)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    w = np.arange(1.0, 8.0)
    out.backward(nb.tensor(w))
    tout.backward(torch.tensor(w))
    # the selected operand takes the whole gradient: at ties the input, not a split
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())
    assert getattr(nb.tensor(a), name)(nb.tensor(b)).shape == (7,)


@pytest.mark.parametrize("shapes", PAIRS)
def test_copysign(shapes):
    a = rand(*shapes[0], low=0.2, high=2, seed=3) * np.where(rand(*shapes[0], seed=4) > 0, 1, -1)
    b = rand(*shapes[1], seed=5)
    check_op(nb.copysign, [a, b], ref=np.copysign,
             torch_fn=lambda x, y: torch.copysign(x, y))


@needs_torch
def test_copysign_special_points_match_torch():
    a = np.array([-1.0, 0.0, 2.0, -0.0, 3.0, -4.0])
    b = np.array([1.0, -1.0, -1.0, 1.0, math.nan, -0.0])
    x, y = nb.tensor(a, requires_grad=True), nb.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = nb.copysign(x, y), torch.copysign(tx, ty)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    np.testing.assert_array_equal(np.signbit(out.detach().numpy()),
                                  np.signbit(tout.detach().numpy()))
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # 0 at input == 0
    np.testing.assert_array_equal(y.grad.numpy(), np.zeros(6))


def test_copysign_of_integers_and_numbers():
    out = nb.copysign(nb.tensor([1, -2, 3]), -1.0)
    assert out.dtype == nb.float32
    np.testing.assert_array_equal(out.numpy(), [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(nb.tensor([-1.5]).copysign(nb.tensor([2.0])).numpy(), [1.5])


# -- heaviside --------------------------------------------------------------------------------
@needs_torch
def test_heaviside_matches_torch():
    x = np.array([[-1.5, 0.0, 2.0, math.nan, -0.0]])
    v = np.array([[0.5], [7.0]])
    got = nb.heaviside(nb.tensor(x), nb.tensor(v))
    want = torch.heaviside(torch.tensor(x), torch.tensor(v))
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # NaN gives 0, as in torch
    assert got.shape == (2, 5) and got.dtype == nb.float64
    ints = nb.heaviside(nb.tensor([-1, 0, 2]), nb.tensor([7]))
    assert ints.dtype == nb.int64
    np.testing.assert_array_equal(ints.numpy(), [0, 7, 1])
    np.testing.assert_array_equal(nb.tensor([0.0, 3.0]).heaviside(nb.tensor(0.25)).numpy(),
                                  [0.25, 1.0])


def test_heaviside_has_no_gradient_and_checks_dtypes():
    x = nb.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    assert not nb.heaviside(x, nb.tensor([0.5])).requires_grad
    with pytest.raises(TypeError, match="heaviside: expected input and values of one dtype, "
                                        "got float32 and int64"):
        nb.heaviside(x, nb.tensor([1]))
    with pytest.raises(RuntimeError, match=r"heaviside: shapes \(3,\) and \(2,\)"):
        nb.heaviside(x, nb.tensor([0.5, 0.5]))


# -- nan_to_num -------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"nan": 2.0, "posinf": 9.0, "neginf": -7.0},
                                    {"posinf": 1e3}])
def test_nan_to_num_matches_torch(kwargs):
    a = np.array([math.nan, math.inf, -math.inf, 1.5, -0.25])
    x, tx = nb.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = nb.nan_to_num(x, **kwargs), torch.nan_to_num(tx, **kwargs)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    out.backward(nb.tensor(np.arange(1.0, 6.0)))
    tout.backward(torch.tensor(np.arange(1.0, 6.0)))
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 4, 5])
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_nan_to_num_defaults_are_the_dtype_limits(dtype):
    dt = getattr(nb, dtype)
    out = nb.nan_to_num(nb.tensor([math.nan, math.inf, -math.inf]).to(dt))
    assert out.dtype == dt
    info = nb.finfo(dt)
    np.testing.assert_array_equal(out.float().numpy(), np.array([0.0, info.max, info.min],
                                                                dtype=np.float32))


def test_nan_to_num_of_integers_is_a_copy():
    x = nb.tensor([1, 2])
    out = nb.nan_to_num(x, nan=3.5)
    assert out.dtype == nb.int64 and out is not x
    np.testing.assert_array_equal(out.numpy(), [1, 2])
    y = nb.tensor([math.nan, 1.0])
    y.nan_to_num_(nan=-1.0)
    np.testing.assert_array_equal(y.numpy(), [-1.0, 1.0])


def test_errors_name_the_op():
    for op in (nb.lgamma, nb.digamma, nb.sinc, nb.nan_to_num):
        with pytest.raises(TypeError, match=f"{op.__name__}: expected a Tensor, got list"):
            op([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"fmax: shapes \(2,\) and \(3,\)"):
        nb.fmax(nb.ones(2), nb.ones(3))


# -- type promotion with 0-d tensors (PyTorch's rule, not NumPy's) -----------------------------
PROMOTIONS = [  # (dtype of the dimensioned operand, dtype of the 0-d one)
    ("float32", "float64"), ("float16", "float32"), ("bfloat16", "float32"),
    ("int32", "int64"), ("uint8", "int64"), ("int32", "float64"), ("bool", "int64"),
    ("int64", "float32"), ("float64", "float32"),
]


@needs_torch
@pytest.mark.parametrize("dim_dtype,zero_dtype", PROMOTIONS)
def test_zero_dim_tensor_does_not_widen_its_category(dim_dtype, zero_dtype):
    """float16 tensor * 0-d float32 tensor stays float16 in PyTorch (a 0-d operand only
    decides the dtype when its category is higher); NumPy would widen it."""
    def make(lib, dtype, shape):
        return lib.ones(shape, dtype=getattr(lib, "bool" if dtype == "bool" else dtype))

    for op in ("add", "mul", "maximum"):
        for order in (1, -1):
            ours = getattr(nb, op)(*[make(nb, d, s) for d, s in
                                     ((dim_dtype, (3,)), (zero_dtype, ()))][::order])
            theirs = getattr(torch, op)(*[make(torch, d, s) for d, s in
                                          ((dim_dtype, (3,)), (zero_dtype, ()))][::order])
            assert str(ours.dtype).replace("nabla.", "") == str(theirs.dtype)[6:], (op, order)


def test_zero_dim_operand_gradient_keeps_its_dtype():
    x = nb.tensor(rand(3), dtype=nb.float32, requires_grad=True)
    s = nb.tensor(2.0, dtype=nb.float64, requires_grad=True)
    y = x * s
    assert y.dtype == nb.float32
    y.sum().backward()
    assert s.grad.dtype == nb.float64 and x.grad.dtype == nb.float32
    np.testing.assert_allclose(s.grad.numpy(), x.detach().numpy().sum(), rtol=1e-6)
