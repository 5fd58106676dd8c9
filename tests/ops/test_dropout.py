"""dropout, dropout1d/2d/3d, alpha_dropout: statistics, scaling, eval identity,
reproducibility, gradients (a fixed mask is a linear map) and errors."""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, rand

SELU_SATURATION = 1.7580993408473766


def seeded(seed=5):
    return nb.Generator().manual_seed(seed)


def np_keep(shape, p, seed=5):
    """The mask nabla draws from a generator seeded with ``seed`` (same stream)."""
    return np.random.default_rng(seed).random(shape, dtype=np.float32) >= p


@pytest.mark.parametrize("shape, p", [((4, 5), 0.3), ((2, 3, 4), 0.5), ((7,), 0.9), ((), 0.2),
                                      ((0, 3), 0.5)])
def test_dropout_with_fixed_mask(shape, p):
    # with a freshly seeded generator per call the mask is fixed: a linear map, checkable
    check_op(lambda x: F.dropout(x, p, generator=seeded()), [rand(*shape)],
             ref=lambda x: x * np_keep(x.shape, p) / (1 - p))


@pytest.mark.parametrize("fn, shape, mask_shape", [
    (F.dropout1d, (2, 3, 4), (2, 3, 1)), (F.dropout1d, (3, 4), (3, 1)),
    (F.dropout2d, (2, 3, 2, 2), (2, 3, 1, 1)), (F.dropout3d, (2, 2, 2, 1, 2), (2, 2, 1, 1, 1)),
    (F.dropout3d, (3, 2, 1, 2), (3, 1, 1, 1))])
def test_channel_dropout_with_fixed_mask(fn, shape, mask_shape):
    p = 0.4
    check_op(lambda x: fn(x, p, generator=seeded()), [rand(*shape)],
             ref=lambda x: x * np_keep(mask_shape, p) / (1 - p))


def test_dropout_statistics():
    nb.manual_seed(0)
    x = nb.ones(400, 500)
    for p in (0.1, 0.5, 0.8):
        y = F.dropout(x, p).numpy()
        dropped = (y == 0).mean()
        assert abs(dropped - p) < 0.01, (p, dropped)
        # kept units are scaled by 1/(1-p): the mean is preserved
        np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
        assert abs(y.mean() - 1.0) < 0.03


def test_channel_dropout_drops_whole_channels():
    nb.manual_seed(1)
    y = F.dropout2d(nb.ones(64, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(64, 16, 9)
    # each (n, c) plane is either all zero or all 2
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2).all(axis=2))
    assert abs((per_channel[..., 0] == 0).mean() - 0.5) < 0.06


def test_eval_mode_and_p_zero_are_the_identity():
    x = nb.tensor(rand(3, 4))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(nb.zeros(2, 3, 2, 2), 0.5, training=False).shape == (2, 3, 2, 2)
    assert F.alpha_dropout(x, 0.5) is x  # training=False by default, as in PyTorch


def test_p_one_zeroes_everything_and_the_gradient():
    x = nb.tensor(rand(3, 4), requires_grad=True)
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.detach().numpy(), 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_gradient_is_the_scaled_mask():
    x = nb.tensor(rand(50, 40), requires_grad=True)
    y = F.dropout(x, 0.25)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-12)


def test_reproducible_with_manual_seed_and_generator():
    x = nb.ones(10, 10)
    nb.manual_seed(42)
    a = F.dropout(x, 0.5).numpy()
    nb.manual_seed(42)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=seeded(3)).numpy(),
                                  F.dropout(x, 0.5, generator=seeded(3)).numpy())


def test_inplace_writes_into_the_input_and_keeps_gradients():
    leaf = nb.tensor(rand(6, 5), requires_grad=True)
    x = leaf * 1.0
    y = F.dropout(x, 0.5, inplace=True, generator=seeded())
    assert y is x
    expected = leaf.detach().numpy() * np_keep((6, 5), 0.5) * 2
    np.testing.assert_allclose(x.detach().numpy(), expected)
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), np_keep((6, 5), 0.5) * 2.0)


def test_alpha_dropout_values_and_statistics():
    p = 0.2
    a = 1 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    x = rand(1000, seed=3)
    y = F.alpha_dropout(nb.tensor(x), p, training=True, generator=seeded()).numpy()
    keep = np_keep((1000,), p)
    # kept: a * x + shift; dropped: the saturation value, mapped by the same affine
    expected = np.where(keep, a * x + SELU_SATURATION * a * p,
                        -SELU_SATURATION * a + SELU_SATURATION * a * p)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    # on standard normal inputs the output keeps zero mean and unit variance
    nb.manual_seed(0)
    z = F.alpha_dropout(nb.randn(200000, dtype=nb.float64), p, training=True).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_alpha_dropout_gradient_with_fixed_mask():
    p = 0.3
    a = 1 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    check_op(lambda x: F.feature_alpha_dropout(x, p, True, generator=seeded()),
             [rand(3, 4, 2)], ref=lambda x: np.where(
                 np_keep((3, 4, 1), p), a * x + SELU_SATURATION * a * p,
                 -SELU_SATURATION * a + SELU_SATURATION * a * p))


def test_dropout2d_on_3d_input_warns_like_torch():
    with pytest.warns(UserWarning, match="dropout2d: received a 3-D input"):
        y = F.dropout2d(nb.ones(4, 8, 5), 0.5)
    rows = y.numpy()
    assert np.all((rows == 0).all(axis=2) | (rows == 2).all(axis=2))


def test_errors():
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.alpha_dropout):
        with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, "
                                             r"but got 1.5"):
            fn(nb.ones(2, 3, 4), 1.5)
    with pytest.raises(ValueError, match="dropout: dropout probability .* got -0.1"):
        F.dropout(nb.ones(3), -0.1)
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-D \(C, \*\) or 3-D "
                                         r"\(N, C, \*\) input, got shape \(2, 3, 4, 5\)"):
        F.dropout1d(nb.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="dropout3d: expected a 4-D"):
        F.dropout3d(nb.ones(2, 3))
    with pytest.raises(TypeError, match="dropout: expected a Tensor, got list"):
        F.dropout([1.0, 2.0])


def test_exports():
    for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                 "feature_alpha_dropout"):
        assert getattr(F, name) is getattr(nb, name)
