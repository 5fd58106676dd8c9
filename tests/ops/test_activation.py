"""Activations: values, gradients (to 2nd order) and PyTorch's conventions at kinks."""
import math
import warnings

import numpy as np
import pytest
import scipy.special

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, needs_torch, rand, torch

SHAPES = [(), (5,), (3, 4), (2, 1, 4), (0, 3)]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)


def _softshrink(x, lambd):
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0))


def _tf(name, **kw):
    """torch.nn.functional.<name> with keyword arguments, looked up only when called."""
    return lambda a: getattr(torch.nn.functional, name)(a, **kw)


# id -> (nabla function, NumPy reference, torch reference, input range)
CASES = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), _tf("relu"), (-3, 3)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), _tf("relu6"), (-3, 8)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), _tf("leaky_relu"),
                   (-3, 3)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, negative_slope=0.2),
                       lambda x: np.where(x > 0, x, 0.2 * x),
                       _tf("leaky_relu", negative_slope=0.2), (-3, 3)),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), _tf("elu"), (-3, 3)),
    "elu_1.5": (lambda x: F.elu(x, alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)),
                _tf("elu", alpha=1.5), (-3, 3)),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
             _tf("selu"), (-3, 3)),
    "celu_0.5": (lambda x: F.celu(x, alpha=0.5),
                 lambda x: np.where(x > 0, x, 0.5 * np.expm1(x / 0.5)),
                 _tf("celu", alpha=0.5), (-3, 3)),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2))), _tf("gelu"),
             (-4, 4)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), _gelu_tanh,
                  _tf("gelu", approximate="tanh"), (-4, 4)),
    "softplus": (F.softplus, _softplus, _tf("softplus"), (-4, 4)),
    "softplus_beta2_th3": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                           lambda x: _softplus(x, 2.0, 3.0),
                           _tf("softplus", beta=2.0, threshold=3.0), (-4, 4)),
    "silu": (F.silu, lambda x: x * scipy.special.expit(x), _tf("silu"), (-4, 4)),
    "mish": (F.mish, lambda x: x * np.tanh(np.logaddexp(0, x)), _tf("mish"), (-4, 4)),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), _tf("hardtanh"), (-2, 2)),
    "hardtanh_-2_2.5": (lambda x: F.hardtanh(x, -2.0, 2.5), lambda x: np.clip(x, -2, 2.5),
                        _tf("hardtanh", min_val=-2.0, max_val=2.5), (-4, 4)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), _tf("hardsigmoid"),
                    (-5, 5)),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, _tf("hardswish"),
                  (-5, 5)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x), _tf("logsigmoid"), (-4, 4)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), _tf("softsign"), (-3, 3)),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), _tf("tanhshrink"), (-3, 3)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: np.where(x > 0.5, x, -2.0),
                  lambda a: torch.nn.functional.threshold(a, 0.5, -2.0), (-3, 3)),
    "hardshrink": (F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0.0), _tf("hardshrink"),
                   (-2, 2)),
    "softshrink_1": (lambda x: F.softshrink(x, 1.0), lambda x: _softshrink(x, 1.0),
                     _tf("softshrink", lambd=1.0), (-3, 3)),
    "sigmoid": (F.sigmoid, scipy.special.expit, lambda a: torch.sigmoid(a), (-4, 4)),
    "tanh": (F.tanh, np.tanh, lambda a: torch.tanh(a), (-3, 3)),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_activation(case, shape):
    fn, ref, torch_fn, (low, high) = CASES[case]
    check_op(fn, [rand(*shape, low=low, high=high)], ref=ref, torch_fn=torch_fn)


def test_exported_names_and_methods():
    x = nb.tensor([-1.0, 2.0])
    for name in ("relu", "gelu", "silu", "softplus", "elu", "hardtanh", "logsigmoid"):
        assert getattr(nb, name) is getattr(F, name)
    np.testing.assert_array_equal(x.relu().numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(nb.relu(x).numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(x.hardshrink(1.5).numpy(), [0.0, 2.0])


# -- PyTorch's gradients at the kinks ----------------------------------------------------------
KINKS = {
    # id: (function, kink inputs, expected gradient there)
    "relu": (F.relu, [0.0], [0.0]),
    "relu6": (F.relu6, [0.0, 6.0], [0.0, 0.0]),
    "hardtanh": (F.hardtanh, [-1.0, 1.0], [0.0, 0.0]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), [0.0], [0.2]),
    "threshold": (lambda x: F.threshold(x, 1.0, 5.0), [1.0], [0.0]),
    "hardsigmoid": (F.hardsigmoid, [-3.0, 3.0], [0.0, 0.0]),
    "hardswish": (F.hardswish, [-3.0, 3.0], [0.0, 1.0]),
    "hardshrink": (lambda x: F.hardshrink(x, 1.0), [-1.0, 1.0], [0.0, 0.0]),
    "softshrink": (lambda x: F.softshrink(x, 1.0), [-1.0, 1.0], [0.0, 0.0]),
    "elu": (lambda x: F.elu(x, alpha=2.0), [0.0], [2.0]),
    "softplus": (lambda x: F.softplus(x, threshold=3.0), [3.0], [scipy.special.expit(3.0)]),
}


@pytest.mark.parametrize("case", sorted(KINKS))
def test_gradient_at_kinks(case):
    fn, xs, want = KINKS[case]
    x = nb.tensor(xs, dtype=nb.float64, requires_grad=True)
    (g,) = nb.autograd.grad(fn(x).sum(), [x])
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("case", sorted(KINKS))
def test_gradient_at_kinks_matches_torch(case):
    torch_fns = {
        "relu": torch.relu, "relu6": torch.nn.functional.relu6,
        "hardtanh": torch.nn.functional.hardtanh,
        "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.2),
        "threshold": lambda x: torch.nn.functional.threshold(x, 1.0, 5.0),
        "hardsigmoid": torch.nn.functional.hardsigmoid,
        "hardswish": torch.nn.functional.hardswish,
        "hardshrink": lambda x: torch.nn.functional.hardshrink(x, 1.0),
        "softshrink": lambda x: torch.nn.functional.softshrink(x, 1.0),
        "elu": lambda x: torch.nn.functional.elu(x, alpha=2.0),
        "softplus": lambda x: torch.nn.functional.softplus(x, threshold=3.0),
    }
    _, xs, want = KINKS[case]
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch_fns[case](tx).sum(), [tx])
    np.testing.assert_allclose(tg.numpy(), want, rtol=1e-12)


# -- numerical stability -----------------------------------------------------------------------
STABLE = {
    "softplus": (F.softplus, lambda x: np.logaddexp(0, x)),
    "softplus_th1000": (lambda x: F.softplus(x, threshold=1000.0), lambda x: np.logaddexp(0, x)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x)),
    "silu": (F.silu, lambda x: x * scipy.special.expit(x)),
    "mish": (F.mish, lambda x: x * np.tanh(np.logaddexp(0, x))),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA
                                                     * np.expm1(np.minimum(x, 0)))),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), _gelu_tanh),
}


@pytest.mark.parametrize("dtype", [nb.float32, nb.float64])
@pytest.mark.parametrize("case", sorted(STABLE))
def test_large_inputs_are_finite(case, dtype):
    fn, ref = STABLE[case]
    xs = np.array([-800.0, -90.0, -30.0, 30.0, 90.0, 800.0])
    x = nb.tensor(xs, dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings from an unused branch
        y = fn(x)
        (g,) = nb.autograd.grad(y.sum(), [x], create_graph=True)
        (gg,) = nb.autograd.grad(g.sum(), [x])
    with np.errstate(over="ignore"):
        want = ref(xs).astype(dtype)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-6)
    assert np.isfinite(g.detach().numpy()).all() and np.isfinite(gg.numpy()).all()


def test_softplus_threshold_is_exactly_linear():
    x = nb.tensor([21.0, 19.0], dtype=nb.float64)
    y = F.softplus(x).numpy()
    assert y[0] == 21.0  # above the threshold: the input itself
    np.testing.assert_allclose(y[1], np.log1p(np.exp(19.0)), rtol=1e-15)
    # beta * x = 20 is not above the threshold: still the smooth branch
    y2 = F.softplus(nb.tensor([2.0], dtype=nb.float64), beta=10.0).numpy()
    assert y2[0] != 2.0
    np.testing.assert_allclose(y2, np.log1p(np.exp(20.0)) / 10, rtol=1e-15)


# -- integer inputs ------------------------------------------------------------------------------
def test_relu_like_keep_integer_dtype():
    x = nb.tensor([-2, 0, 3, 8])
    for fn, want in [(F.relu, [0, 0, 3, 8]), (F.relu6, [0, 0, 3, 6]),
                     (F.hardtanh, [-1, 0, 1, 1]), (lambda t: F.threshold(t, 1, 7), [7, 7, 3, 8])]:
        y = fn(x)
        assert y.dtype == nb.int64
        np.testing.assert_array_equal(y.numpy(), want)


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus", "leaky_relu", "mish",
                                  "hardsigmoid", "hardswish", "logsigmoid", "selu", "softsign"])
def test_float_only_activations_reject_integers(name):
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got dtype "
                                        f"int64"):
        getattr(F, name)(nb.tensor([1, 2]))


# -- in-place variants ---------------------------------------------------------------------------
INPLACE = [
    ("relu_", lambda x: F.relu_(x), lambda x: np.maximum(x, 0)),
    ("relu inplace", lambda x: F.relu(x, inplace=True), lambda x: np.maximum(x, 0)),
    ("Tensor.relu_", lambda x: x.relu_(), lambda x: np.maximum(x, 0)),
    ("elu_", lambda x: F.elu_(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    ("leaky_relu_", lambda x: F.leaky_relu_(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("hardtanh_", lambda x: F.hardtanh_(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    ("threshold_", lambda x: F.threshold_(x, 0.0, 9.0), lambda x: np.where(x > 0, x, 9.0)),
    ("selu_", lambda x: F.selu_(x),
     lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    ("celu_", lambda x: F.celu_(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2))),
    ("silu inplace", lambda x: F.silu(x, inplace=True), lambda x: x * scipy.special.expit(x)),
    ("hardswish inplace", lambda x: F.hardswish(x, inplace=True),
     lambda x: x * np.clip(x + 3, 0, 6) / 6),
]


@pytest.mark.parametrize("case", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_variants(case):
    _, fn, ref = case
    xs = np.array([-1.5, -0.2, 0.7, 2.0])
    x = nb.tensor(xs, dtype=nb.float64)
    v = x._version[0]
    assert fn(x) is x
    np.testing.assert_allclose(x.numpy(), ref(xs))
    assert x._version[0] == v + 1


def test_inplace_relu_in_graph_has_relu_gradient():
    a = nb.tensor([-1.0, 2.0, 0.5], requires_grad=True)
    y = a * 3
    F.relu(y, inplace=True)
    (g,) = nb.autograd.grad((y * y).sum(), [a])
    np.testing.assert_allclose(g.numpy(), [0.0, 36.0, 9.0])


def test_inplace_on_leaf_requiring_grad_is_an_error():
    a = nb.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="relu_: a leaf tensor that requires grad"):
        a.relu_()


# -- errors ------------------------------------------------------------------------------------
def test_error_messages():
    x = nb.tensor([1.0])
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2.0\) cannot be greater"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="celu: alpha must be nonzero"):
        F.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="softshrink: lambd must be non-negative"):
        F.softshrink(x, -0.5)
    with pytest.raises(TypeError, match="relu: expected a Tensor, got list"):
        F.relu([1.0, -1.0])


# the second splits across threads, the third also walks each thread's part in blocks
@pytest.mark.parametrize("shape", [(7, 5), (300, 1200), (700, 1000)])
def test_tanh_gelu_on_non_contiguous_and_large_inputs(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape[::-1]).T           # a transposed (non-contiguous) view
    g = rng.standard_normal(shape)
    k = math.sqrt(2 / math.pi)
    t = np.tanh(k * (x + 0.044715 * x ** 3))
    ref = 0.5 * x * (1 + t)
    ref_grad = g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))
    xt = nb.tensor(x, requires_grad=True)
    y = F.gelu(xt, approximate="tanh")
    y.backward(nb.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xt.grad.numpy(), ref_grad, rtol=1e-12, atol=1e-14)
