"""nabla.nn.init: gains and fans as torch's, distributions' statistics, generators, errors."""
import math

import numpy as np
import pytest
from scipy import stats

import nabla as nb
from nabla.nn import init
from tests.optest import needs_torch, torch


def _empty(*shape, dtype=None):
    return nb.empty(*shape, dtype=dtype)


@needs_torch
@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 0), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope 'a' is not a valid number"):
        init.calculate_gain("leaky_relu", "a")


@needs_torch
@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5), (6, 2, 3, 3), (4, 0)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(_empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(got shape \(5,\)\)"):
        init.xavier_uniform_(_empty(5))
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_uniform_(_empty(3, 3), mode="fan_avg")


def _check_uniform(a, lo, hi):
    assert a.min() >= lo and a.max() <= hi
    assert a.min() < lo + 0.01 * (hi - lo) and a.max() > hi - 0.01 * (hi - lo)
    assert abs(a.std() - (hi - lo) / math.sqrt(12)) < 0.02 * (hi - lo)


def _check_normal(a, mean, std):
    assert abs(a.mean() - mean) < 0.03 * std
    assert abs(a.std() - std) < 0.03 * std
    assert stats.kstest((a.ravel() - mean) / std, "norm").pvalue > 1e-3


def test_uniform_and_normal():
    nb.manual_seed(0)
    t = init.uniform_(_empty(200, 100), -2.0, 3.0)
    _check_uniform(t.numpy(), -2.0, 3.0)
    t2 = _empty(200, 100)
    assert init.normal_(t2, 1.5, 0.5) is t2
    _check_normal(t2.numpy(), 1.5, 0.5)


def test_constant_ones_zeros_eye():
    t = nb.randn(3, 4)
    np.testing.assert_array_equal(init.constant_(t, 2.5).numpy(), np.full((3, 4), 2.5))
    np.testing.assert_array_equal(init.ones_(t).numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(t).numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match=r"eye_: only 2-D tensors.*\(2, 2, 2\)"):
        init.eye_(_empty(2, 2, 2))


@needs_torch
@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 1, 3, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    t = init.dirac_(nb.randn(*shape), groups)
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.dirac_(torch.empty(shape), groups))


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier(shape):
    nb.manual_seed(1)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(_empty(*shape))
    bound = 0.5 * math.sqrt(6 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform_(_empty(*shape), gain=0.5).numpy(), -bound, bound)
    std = 2.0 * math.sqrt(2 / (fan_in + fan_out))
    _check_normal(init.xavier_normal_(_empty(*shape), gain=2.0).numpy(), 0.0, std)


@pytest.mark.parametrize("mode,nonlinearity,a", [
    ("fan_in", "leaky_relu", 0.0), ("fan_out", "relu", 0.0), ("fan_in", "leaky_relu", 0.3),
    ("fan_in", "linear", 0.0),
])
def test_kaiming(mode, nonlinearity, a):
    nb.manual_seed(2)
    shape = (128, 64, 3, 3)
    fan = 64 * 9 if mode == "fan_in" else 128 * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = init.kaiming_uniform_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _check_uniform(u.numpy(), -math.sqrt(3) * std, math.sqrt(3) * std)
    n = init.kaiming_normal_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _check_normal(n.numpy(), 0.0, std)


@needs_torch
def test_kaiming_std_matches_torch():
    nb.manual_seed(0)
    torch.manual_seed(0)
    ours = init.kaiming_normal_(_empty(256, 128), mode="fan_out", nonlinearity="relu").numpy()
    theirs = torch.nn.init.kaiming_normal_(torch.empty(256, 128), mode="fan_out",
                                           nonlinearity="relu").numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.02)


def test_kaiming_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="zero-element"):
        t = init.kaiming_uniform_(_empty(0, 3))
    assert t.shape == (0, 3)


def test_trunc_normal():
    nb.manual_seed(3)
    t = init.trunc_normal_(_empty(100_000), mean=0.5, std=2.0, a=-1.0, b=3.0).numpy()
    assert t.min() >= -1.0 and t.max() <= 3.0
    ref = stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    assert t.mean() == pytest.approx(ref.mean(), abs=0.02)
    assert t.std() == pytest.approx(ref.std(), rel=0.02)
    with pytest.raises(ValueError, match="need a < b"):
        init.trunc_normal_(_empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3), (6, 6)])
def test_orthogonal(shape):
    nb.manual_seed(4)
    q = init.orthogonal_(_empty(*shape, dtype=nb.float64), gain=2.0).numpy()
    rows = q.shape[0]
    flat = q.reshape(rows, -1)
    small = min(flat.shape)
    gram = flat @ flat.T if rows <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="orthogonal_: only tensors with 2 or more dimensions"):
        init.orthogonal_(_empty(3))


def test_generators_make_draws_reproducible():
    g1 = nb.Generator().manual_seed(7)
    g2 = nb.Generator().manual_seed(7)
    a = init.kaiming_uniform_(_empty(4, 5), generator=g1).numpy()
    b = init.kaiming_uniform_(_empty(4, 5), generator=g2).numpy()
    np.testing.assert_array_equal(a, b)
    nb.manual_seed(11)
    c = init.normal_(_empty(4, 5)).numpy()
    nb.manual_seed(11)
    np.testing.assert_array_equal(c, init.normal_(_empty(4, 5)).numpy())
    # an explicit generator leaves the global stream alone
    nb.manual_seed(5)
    init.orthogonal_(_empty(3, 3), generator=nb.Generator().manual_seed(1))
    after = nb.rand(3).numpy()
    nb.manual_seed(5)
    np.testing.assert_array_equal(after, nb.rand(3).numpy())


def test_init_is_not_recorded_and_keeps_identity():
    p = nb.nn.Parameter(nb.zeros(3, 4))
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_, init.ones_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.requires_grad
    before = p._version[0]
    init.zeros_(p)
    assert p._version[0] > before  # in-place writes are versioned (autograd checks them)
    assert p.dtype == nb.float32


def test_init_rejects_non_tensors():
    with pytest.raises(TypeError, match="nn.init.uniform_: expected a Tensor, got ndarray"):
        init.uniform_(np.zeros(3))
