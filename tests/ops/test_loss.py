"""Losses of nabla.nn.functional against NumPy formulas and torch.nn.functional:
values, gradients to second order, every option, and error messages."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, rand, torch

TF = None if torch is None else torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def _reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda x: x}[reduction](loss)


def _torch(fn):
    """``fn`` as a torch reference, or None without torch (``fn`` is only called with it)."""
    return None if torch is None else fn


def _tw(w):
    return None if (w is None or torch is None) else torch.tensor(w)


def _nw(w):
    return None if w is None else nb.tensor(w)


def _diff(shape, reduction, diff=None):
    """The mean of an empty loss is NaN (as in PyTorch): no gradient to check then."""
    return [] if (0 in shape and reduction == "mean") else diff


# -- NumPy references ----------------------------------------------------------------
def np_log_softmax(x, axis):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _rows(x):
    """(C,) -> (1, C); (N, C, ...) -> (N * ..., C)."""
    return x.reshape(1, -1) if x.ndim == 1 else np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def np_nll(logp, t, w=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    rows, tf = _rows(logp), t.reshape(-1)
    n_classes = rows.shape[1]
    w = np.ones(n_classes) if w is None else w
    keep = tf != ignore_index
    safe = np.where(keep, tf, 0)
    tw = w[safe] * keep
    loss = -rows[np.arange(len(tf)), safe] * tw
    if smoothing:
        loss = (1 - smoothing) * loss - smoothing / n_classes * (rows * w).sum(1) * keep
    if reduction == "none":
        return loss.reshape(t.shape)
    return loss.sum() if reduction == "sum" else loss.sum() / tw.sum()


def np_cross_entropy(x, t, w=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    cdim = 0 if x.ndim == 1 else 1
    logp = np_log_softmax(x, cdim)
    if t.dtype.kind in "iu":
        return np_nll(logp, t, w, ignore_index, reduction, smoothing)
    n_classes = x.shape[cdim]
    q = t * (1 - smoothing) + smoothing / n_classes
    wb = 1.0 if w is None else w.reshape((-1,) + (1,) * (x.ndim - 1 - cdim))
    loss = -(logp * q * wb).sum(cdim)
    if reduction == "mean":
        return loss.sum() / (x.size // n_classes)
    return _reduce(loss, reduction)


# -- cross_entropy and nll_loss with class indices ----------------------------------------
CE_INDEX_CASES = [
    # (input shape, target, weight, ignore_index, label_smoothing)
    ((4, 3), np.array([0, 2, 1, 2]), None, -100, 0.0),
    ((3,), np.array(1), None, -100, 0.0),                       # unbatched
    ((4, 3), np.array([0, 2, -100, 1]), None, -100, 0.0),       # ignored target
    ((4, 3), np.array([0, 2, 1, 1]), np.array([0.2, 1.0, 3.0]), -100, 0.0),
    ((4, 3), np.array([0, 2, 1, 2]), np.array([0.2, 1.0, 3.0]), 2, 0.0),  # weight + ignore
    ((4, 3), np.array([0, 2, 1, 2]), None, -100, 0.2),          # label smoothing
    ((4, 3), np.array([0, 2, 1, 0]), np.array([0.2, 1.0, 3.0]), 0, 0.3),  # all three
    ((2, 3, 2), np.array([[0, 2], [1, 1]]), None, -100, 0.0),   # 3-D (N, C, d)
    ((2, 3, 2, 2), np.array([[[0, 2], [1, -1]], [[2, 2], [0, 1]]]),  # 4-D (N, C, h, w)
     np.array([1.0, 2.0, 0.5]), -1, 0.1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, t, w, ii, ls", CE_INDEX_CASES)
def test_cross_entropy_class_indices(shape, t, w, ii, ls, reduction):
    check_op(lambda x, t: F.cross_entropy(x, t, weight=_nw(w), ignore_index=ii,
                                          reduction=reduction, label_smoothing=ls),
             [rand(*shape), t],
             ref=lambda x, t: np_cross_entropy(x, t, w, ii, reduction, ls),
             torch_fn=_torch(lambda x, t: TF.cross_entropy(x, t, weight=_tw(w), ignore_index=ii,
                                                           reduction=reduction,
                                                           label_smoothing=ls)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, t, w, ii", [(s, t, w, ii) for s, t, w, ii, ls in CE_INDEX_CASES
                                             if ls == 0])
def test_nll_loss(shape, t, w, ii, reduction):
    # nll_loss is linear in its input: any values serve as log-probabilities
    check_op(lambda x, t: F.nll_loss(x, t, _nw(w), ignore_index=ii, reduction=reduction),
             [rand(*shape), t],
             ref=lambda x, t: np_nll(x, t, w, ii, reduction),
             torch_fn=_torch(lambda x, t: TF.nll_loss(x, t, _tw(w), ignore_index=ii,
                                                      reduction=reduction)))


def test_cross_entropy_all_targets_ignored():
    x = nb.tensor(rand(3, 4), requires_grad=True)
    t = nb.tensor([-100, -100, -100])
    with np.errstate(invalid="ignore"):
        mean = F.cross_entropy(x, t)
        assert np.isnan(mean.item())                           # 0 / 0, as in PyTorch
        assert np.isnan(F.cross_entropy(x, t, label_smoothing=0.1).item())
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(F.cross_entropy(x, t, reduction="none").detach().numpy(), 0)
    F.cross_entropy(x, t, reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    if torch is not None:
        assert torch.isnan(TF.cross_entropy(torch.tensor(rand(3, 4)), torch.tensor([-100] * 3)))


def test_cross_entropy_ignored_rows_get_no_gradient():
    x = nb.tensor(rand(3, 4), requires_grad=True)
    F.cross_entropy(x, nb.tensor([1, -100, 3])).backward()
    np.testing.assert_array_equal(x.grad.numpy()[1], 0)
    assert np.abs(x.grad.numpy()[[0, 2]]).min() > 0


def test_cross_entropy_empty_batch():
    x = nb.tensor(np.zeros((0, 3)))
    t = nb.tensor(np.zeros(0, dtype=np.int64))
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.cross_entropy(x, t).item())
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    assert F.cross_entropy(x, t, reduction="none").shape == (0,)


@pytest.mark.parametrize("kwargs, fused", [
    ({}, True), ({"reduction": "none", "ignore_index": 1}, True),
    ({"weight": nb.tensor([1.0, 2.0, 3.0])}, False), ({"label_smoothing": 0.1}, False)])
def test_cross_entropy_with_plain_indices_is_one_op(kwargs, fused):
    """Class indices without weights or smoothing take the fused op (log-softmax and the
    pick in one: its vjp is one pass over the logits); the rest compose."""
    x = nb.tensor(rand(4, 3), requires_grad=True)
    loss = F.cross_entropy(x, nb.tensor([0, 2, 1, 1]), **kwargs)
    assert (type(loss._node).__name__ == "CrossEntropyIndices") == fused


def test_cross_entropy_large_logits_are_stable():
    x = nb.tensor([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 1000.0]], requires_grad=True)
    loss = F.cross_entropy(x, nb.tensor([1, 2]))
    np.testing.assert_allclose(loss.item(), (2000.0 + np.log(2)) / 2, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5, 0], [0, 0.25, -0.25]], atol=1e-6)


# -- cross_entropy with class probabilities -------------------------------------------------
def _probs(*shape, seed=3, axis=1):
    p = rand(*shape, low=0.1, high=1.0, seed=seed)
    return p / p.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, w, ls", [
    ((4, 3), None, 0.0),
    ((4, 3), np.array([0.5, 2.0, 1.0]), 0.0),
    ((4, 3), np.array([0.5, 2.0, 1.0]), 0.2),
    ((2, 3, 2), None, 0.1),          # (N, C, d)
    ((3,), None, 0.0),               # unbatched
])
def test_cross_entropy_class_probabilities(shape, w, ls, reduction):
    target = _probs(*shape, axis=0 if len(shape) == 1 else 1)
    check_op(lambda x, t: F.cross_entropy(x, t, weight=_nw(w), reduction=reduction,
                                          label_smoothing=ls),
             [rand(*shape), target],
             ref=lambda x, t: np_cross_entropy(x, t, w, -100, reduction, ls),
             torch_fn=_torch(lambda x, t: TF.cross_entropy(x, t, weight=_tw(w),
                                                           reduction=reduction,
                                                           label_smoothing=ls)))


def test_cross_entropy_errors():
    x = nb.ones(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(5,\) does not match "
                                         r"input batch shape \(4,\)"):
        F.cross_entropy(x, nb.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, nb.tensor([0, 3, 1, 0]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.cross_entropy(x, nb.tensor([0, -1, 1, 0]))
    with pytest.raises(ValueError, match=r"class-probability target of shape \(4,\) must have "
                                         r"the input's shape \(4, 3\)"):
        F.cross_entropy(x, nb.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(RuntimeError, match="nll_loss: expected class-index targets of an integer "
                                           "dtype .*got dtype float32"):
        F.nll_loss(x, nb.ones(4))
    with pytest.raises(ValueError, match=r"weight must be a 1-D tensor with one entry per class "
                                         r"\(3 classes\), got shape \(4,\)"):
        F.cross_entropy(x, nb.tensor([0, 1, 2, 0]), weight=nb.ones(4))
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got "
                                         "'avg'"):
        F.cross_entropy(x, nb.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(x, nb.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="got a 0-d tensor"):
        F.cross_entropy(nb.tensor(1.0), nb.tensor(0))
    with pytest.raises(RuntimeError, match="expected input to be a floating-point tensor"):
        F.cross_entropy(nb.tensor([[1, 2]]), nb.tensor([0]))


def test_legacy_size_average_and_reduce():
    x, t = rand(4, 3), np.array([0, 1, 2, 1])
    with pytest.warns(UserWarning, match="deprecated"):
        got = F.nll_loss(nb.tensor(x), nb.tensor(t), size_average=False)
    np.testing.assert_allclose(got.item(), np_nll(x, t, reduction="sum"))
    with pytest.warns(UserWarning, match="deprecated"):
        assert F.mse_loss(nb.tensor(x), nb.tensor(x), reduce=False).shape == (4, 3)


# -- binary cross entropy ------------------------------------------------------------------------
def np_bce(x, t, w=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    return _reduce(loss if w is None else loss * w, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, w", [((3, 4), None), ((3, 4), rand(4, low=0.5, seed=5)),
                                      ((5,), None), ((), None), ((0, 2), None)])
def test_binary_cross_entropy(shape, w, reduction):
    x = rand(*shape, low=0.05, high=0.95)
    t = rand(*shape, low=0.0, high=1.0, seed=2)
    check_op(lambda x, t: F.binary_cross_entropy(x, t, _nw(w), reduction=reduction), [x, t],
             diff=_diff(shape, reduction),
             ref=lambda x, t: np_bce(x, t, w, reduction),
             torch_fn=_torch(lambda x, t: TF.binary_cross_entropy(x, t, _tw(w),
                                                                  reduction=reduction)))


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = nb.tensor([0.0, 1.0, 0.5], requires_grad=True)
    t = nb.tensor([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    if torch is not None:
        want = TF.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5]), torch.tensor([1.0, 0, 1]),
                                       reduction="none")
        np.testing.assert_allclose(loss.detach().numpy(), want.numpy(), rtol=1e-6)


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(nb.tensor([0.5, 1.5]), nb.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target of shape \(3,\) does not match input of shape "
                                         r"\(2,\)"):
        F.binary_cross_entropy(nb.tensor([0.5, 0.5]), nb.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError, match="expected target to be a floating-point tensor"):
        F.binary_cross_entropy_with_logits(nb.tensor([0.5, 0.5]), nb.tensor([0, 1]))


def np_bce_logits(x, t, w=None, reduction="mean", pos_weight=None):
    lw = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * t
    loss = (1 - t) * x + lw * np.logaddexp(0, -x)
    return _reduce(loss if w is None else loss * w, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, w, pw", [
    ((3, 4), None, None),
    ((3, 4), rand(3, 1, low=0.5, seed=5), None),
    ((3, 4), None, rand(4, low=0.5, high=3, seed=6)),         # pos_weight per class
    ((2, 3), rand(3, low=0.5, seed=5), rand(3, low=0.5, high=3, seed=6)),
    ((), None, None), ((0, 4), None, rand(4, low=0.5, seed=6)),
])
def test_binary_cross_entropy_with_logits(shape, w, pw, reduction):
    x, t = rand(*shape, low=-3, high=3), rand(*shape, low=0.0, high=1.0, seed=2)
    check_op(lambda x, t: F.binary_cross_entropy_with_logits(
                 x, t, _nw(w), reduction=reduction, pos_weight=_nw(pw)), [x, t],
             diff=_diff(shape, reduction),
             ref=lambda x, t: np_bce_logits(x, t, w, reduction, pw),
             torch_fn=_torch(lambda x, t: TF.binary_cross_entropy_with_logits(
                 x, t, _tw(w), reduction=reduction, pos_weight=_tw(pw))))


def test_binary_cross_entropy_with_logits_is_stable():
    x = nb.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    t = nb.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [0, 0, 1000, 1000], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 1, -1], atol=1e-6)


# -- regression losses ---------------------------------------------------------------------------
def _diff_away_from(*kinks, shape=(3, 4), seed=0):
    """Target offsets whose |difference| stays 0.1 away from the kinks of a piecewise loss."""
    rng = np.random.default_rng(seed)
    edges = sorted({0.0, *kinks, 3.0})
    bands = [(a + 0.1, b - 0.1) for a, b in zip(edges, edges[1:])]
    pick = rng.integers(len(bands), size=shape)
    lo = np.array([b[0] for b in bands])[pick]
    hi = np.array([b[1] for b in bands])[pick]
    return rng.uniform(lo, hi) * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape_x, shape_t", [((3, 4), (3, 4)), ((), ()), ((0, 2), (0, 2))])
def test_mse_loss(shape_x, shape_t, reduction):
    check_op(lambda x, t: F.mse_loss(x, t, reduction=reduction),
             [rand(*shape_x), rand(*shape_t, seed=1)], diff=_diff(shape_x, reduction),
             ref=lambda x, t: _reduce((x - t) ** 2, reduction),
             torch_fn=_torch(lambda x, t: TF.mse_loss(x, t, reduction=reduction)))


def test_mse_loss_broadcast_warns():
    x, t = rand(3, 4), rand(4, seed=1)
    with pytest.warns(UserWarning, match=r"target of shape \(4,\) differs from input"):
        got = F.mse_loss(nb.tensor(x), nb.tensor(t))
    np.testing.assert_allclose(got.item(), ((x - t) ** 2).mean())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_mse_l1_huber(reduction):
    x = rand(3, 4)
    t = x + _diff_away_from(1.0)
    w = rand(3, 4, low=0.2, high=2.0, seed=7)
    wsum = w.sum() if reduction == "mean" else 1.0

    def weighted(loss, by_weight):
        if reduction == "mean":
            return (loss * w).sum() / (wsum if by_weight else loss.size)
        return _reduce(loss * w, reduction)

    for name, elem, by_weight in [("mse_loss", lambda d: d * d, True),
                                  ("l1_loss", np.abs, True),
                                  ("huber_loss", lambda d: np.where(np.abs(d) < 1, 0.5 * d * d,
                                                                    np.abs(d) - 0.5), False)]:
        check_op(lambda x, t: getattr(F, name)(x, t, reduction=reduction, weight=nb.tensor(w)),
                 [x, t], ref=lambda x, t: weighted(elem(x - t), by_weight),
                 torch_fn=_torch(lambda x, t: getattr(TF, name)(x, t, reduction=reduction,
                                                                weight=torch.tensor(w))))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss(reduction):
    x = rand(3, 4)
    check_op(lambda x, t: F.l1_loss(x, t, reduction=reduction), [x, x + _diff_away_from()],
             ref=lambda x, t: _reduce(np.abs(x - t), reduction),
             torch_fn=_torch(lambda x, t: TF.l1_loss(x, t, reduction=reduction)))


def np_smooth_l1(x, t, beta):
    d = np.abs(x - t)
    return np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta) if beta else d


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(beta, reduction):
    x = rand(3, 4)
    check_op(lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
             [x, x + _diff_away_from(beta)],
             ref=lambda x, t: _reduce(np_smooth_l1(x, t, beta), reduction),
             torch_fn=_torch(lambda x, t: TF.smooth_l1_loss(x, t, reduction=reduction,
                                                            beta=beta)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
def test_huber_loss(delta, reduction):
    x = rand(3, 4)

    def ref(x, t):
        d = np.abs(x - t)
        return _reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)

    check_op(lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=delta),
             [x, x + _diff_away_from(delta)], ref=ref,
             torch_fn=_torch(lambda x, t: TF.huber_loss(x, t, reduction=reduction,
                                                        delta=delta)))


def test_regression_loss_errors():
    x = nb.ones(2, 3)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative, got -1"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match=r"mse_loss: weight of shape \(3,\) must have the "
                                         r"input's shape \(2, 3\)"):
        F.mse_loss(x, x, weight=nb.ones(3))


# -- kl_div -----------------------------------------------------------------------------------
def np_kl_div(x, t, reduction, log_target):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0]
    return _reduce(loss, reduction)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np_log_softmax(rand(3, 4), 1)
    t = _probs(3, 4)
    t = np.log(t) if log_target else t
    kwargs = dict(reduction=reduction, log_target=log_target)
    with pytest.warns(UserWarning, match="batchmean") if reduction == "mean" else _nothing():
        check_op(lambda x, t: F.kl_div(x, t, **kwargs), [x, t],
                 ref=lambda x, t: np_kl_div(x, t, reduction, log_target),
                 torch_fn=_torch(lambda x, t: TF.kl_div(x, t, **kwargs)))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_kl_div_zero_target_probability():
    x = np_log_softmax(rand(2, 3), 1)
    t = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    # 0 * log 0 = 0; differentiate the input only (d/dt t log t is infinite at 0)
    check_op(lambda x, t: F.kl_div(x, t, reduction="batchmean"), [x, t],
             ref=lambda x, t: np_kl_div(x, t, "batchmean", False), diff=[0],
             torch_fn=_torch(lambda x, t: TF.kl_div(x, t, reduction="batchmean")))


# -- gaussian and poisson negative log-likelihoods -------------------------------------------------
def np_gaussian_nll(x, t, var, full, eps, reduction):
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + (x - t) ** 2 / var)
    return _reduce(loss + (0.5 * np.log(2 * np.pi) if full else 0), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape, full", [((3, 4), False), ((3, 4), True), ((3,), False),
                                             ((3, 1), False), ((1, 4), True)])
def test_gaussian_nll_loss(var_shape, full, reduction):
    var = rand(*var_shape, low=0.3, high=2.0, seed=4)
    ref_var = var[..., None] if var_shape == (3,) else var
    check_op(lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=full, reduction=reduction),
             [rand(3, 4), rand(3, 4, seed=1), var],
             ref=lambda x, t, v: np_gaussian_nll(x, t, ref_var.astype(x.dtype), full, 1e-6,
                                                 reduction),
             torch_fn=_torch(lambda x, t, v: TF.gaussian_nll_loss(x, t, v, full=full,
                                                                  reduction=reduction)))


def test_gaussian_nll_loss_clamps_var_but_keeps_its_gradient():
    x, t, v = rand(4), rand(4, seed=1), np.array([1e-9, 0.5, 2.0, 1e-3])
    var = nb.tensor(v, requires_grad=True)
    loss = F.gaussian_nll_loss(nb.tensor(x), nb.tensor(t), var, eps=1e-2)
    np.testing.assert_allclose(loss.item(), np_gaussian_nll(x, t, v, False, 1e-2, "mean"))
    loss.backward()
    if torch is not None:
        tv = torch.tensor(v, requires_grad=True)
        TF.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), tv, eps=1e-2).backward()
        np.testing.assert_allclose(var.grad.numpy(), tv.grad.numpy(), rtol=1e-10)
    # d/dv of 0.5 (log v + d^2 / v) at the clamped value, passed straight to v
    d2 = (x - t) ** 2
    vc = np.maximum(v, 1e-2)
    np.testing.assert_allclose(var.grad.numpy(), 0.5 * (1 / vc - d2 / vc ** 2) / 4)
    # a float variance is accepted too
    np.testing.assert_allclose(F.gaussian_nll_loss(nb.tensor(x), nb.tensor(t), 0.5).item(),
                               np_gaussian_nll(x, t, 0.5, False, 1e-6, "mean"))


def test_gaussian_nll_loss_errors():
    x = nb.ones(3, 4)
    with pytest.raises(ValueError, match="var has negative entries"):
        F.gaussian_nll_loss(x, x, -nb.ones(3, 4))
    with pytest.raises(ValueError, match=r"var of shape \(2, 4\) does not fit input of shape "
                                         r"\(3, 4\)"):
        F.gaussian_nll_loss(x, x, nb.ones(2, 4))


def np_poisson_nll(x, t, log_input, full, eps, reduction):
    loss = np.exp(x) - t * x if log_input else x - t * np.log(x + eps)
    if full:
        ts = np.where(t > 1, t, 2.0)
        loss = loss + np.where(t > 1, ts * np.log(ts) - ts + 0.5 * np.log(2 * np.pi * ts), 0)
    return _reduce(loss, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input, full", [(True, False), (False, False), (True, True),
                                             (False, True)])
def test_poisson_nll_loss(log_input, full, reduction):
    x = rand(3, 4) if log_input else rand(3, 4, low=0.2, high=3.0)
    t = np.floor(rand(3, 4, low=0.0, high=5.0, seed=1))   # counts, some <= 1
    kwargs = dict(log_input=log_input, full=full, reduction=reduction)
    check_op(lambda x, t: F.poisson_nll_loss(x, t, **kwargs), [x, t], diff=[0],
             ref=lambda x, t: np_poisson_nll(x, t, log_input, full, 1e-8, reduction),
             torch_fn=_torch(lambda x, t: TF.poisson_nll_loss(x, t, **kwargs)))


# -- margin losses ----------------------------------------------------------------------------
def np_multi_margin(x, t, p, margin, w, reduction):
    rows, tf = x.reshape(1, -1) if x.ndim == 1 else x, t.reshape(-1)
    n, c = rows.shape
    xy = rows[np.arange(n), tf][:, None]
    h = np.maximum(margin - xy + rows, 0) ** p
    h[np.arange(n), tf] = 0
    if w is not None:
        h = h * w[tf][:, None]
    loss = (h.sum(1) / c).reshape(t.shape)
    return _reduce(loss, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, t, p, margin, w", [
    ((4, 3), np.array([0, 2, 1, 2]), 1, 1.0, None),
    ((4, 3), np.array([0, 2, 1, 2]), 2, 1.0, None),
    ((4, 3), np.array([0, 2, 1, 1]), 1, 0.5, np.array([0.5, 1.0, 2.0])),
    ((4, 3), np.array([1, 2, 0, 1]), 2, 2.0, np.array([0.5, 1.0, 2.0])),
    ((3,), np.array(2), 1, 1.0, None),
    ((0, 3), np.zeros(0, dtype=np.int64), 1, 1.0, None),
])
def test_multi_margin_loss(shape, t, p, margin, w, reduction):
    kwargs = dict(p=p, margin=margin, reduction=reduction)
    # torch returns uninitialised memory for the mean over an empty batch; ours is NaN
    torch_broken = 0 in shape and reduction == "mean"
    check_op(lambda x, t: F.multi_margin_loss(x, t, weight=_nw(w), **kwargs), [rand(*shape), t],
             diff=_diff(shape, reduction),
             ref=lambda x, t: np_multi_margin(x, t, p, margin, w, reduction),
             torch_fn=None if torch_broken else _torch(
                 lambda x, t: TF.multi_margin_loss(x, t, weight=_tw(w), **kwargs)))


def test_multi_margin_loss_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 are supported, got p=3"):
        F.multi_margin_loss(nb.ones(2, 3), nb.tensor([0, 1]), p=3)
    with pytest.raises(IndexError, match="multi_margin_loss: target 3 is out of bounds for 3 "
                                         "classes"):
        F.multi_margin_loss(nb.ones(2, 3), nb.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"expected input of shape \(C,\) or \(N, C\)"):
        F.multi_margin_loss(nb.ones(2, 3, 4), nb.tensor([0, 1]))


def _signs(*shape, seed=2):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (), (0,)])
def test_soft_margin_loss(shape, reduction):
    check_op(lambda x, y: F.soft_margin_loss(x, y, reduction=reduction),
             [rand(*shape), _signs(*shape)], diff=_diff(shape, reduction, [0]),
             ref=lambda x, y: _reduce(np.log1p(np.exp(-y * x)), reduction),
             torch_fn=_torch(lambda x, y: TF.soft_margin_loss(x, y, reduction=reduction)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_loss(margin, reduction):
    # inputs kept 0.1 away from the kink at x == margin
    x = rand(3, 4, low=-1, high=0.4) + (rand(3, 4, seed=5) > 0) * (margin + 0.6)

    def ref(x, y):
        return _reduce(np.where(y != 1, np.maximum(margin - x, 0), 0) + np.where(y != -1, x, 0),
                       reduction)

    check_op(lambda x, y: F.hinge_embedding_loss(x, y, margin=margin, reduction=reduction),
             [x, _signs(3, 4)], diff=[0], ref=ref,
             torch_fn=_torch(lambda x, y: TF.hinge_embedding_loss(x, y, margin=margin,
                                                                  reduction=reduction)))


def np_cosine_embedding(a, b, y, margin, reduction):
    eps = 1e-12
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))
    loss = np.where(y == 1, 1 - cos, 0) + np.where(y == -1, np.maximum(cos - margin, 0), 0)
    return _reduce(loss, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, margin", [((4, 3), 0.0), ((4, 3), -0.5), ((3,), 0.0)])
def test_cosine_embedding_loss(shape, margin, reduction):
    a, b = rand(*shape), rand(*shape, seed=1)
    cos = np_cosine_embedding(a, b, np.ones(shape[:-1]), 0.0, "none")
    assert np.all(np.abs(1 - cos - margin) > 0.05)   # away from the hinge's kink
    y = _signs(*shape[:-1])
    check_op(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=margin,
                                                     reduction=reduction),
             [a, b, y], diff=[0, 1],
             ref=lambda a, b, y: np_cosine_embedding(a, b, y, margin, reduction),
             torch_fn=_torch(lambda a, b, y: TF.cosine_embedding_loss(a, b, y, margin=margin,
                                                                      reduction=reduction)))


def test_cosine_embedding_loss_errors():
    with pytest.raises(ValueError, match=r"expected input1 and input2 of the same shape"):
        F.cosine_embedding_loss(nb.ones(2, 3), nb.ones(2, 4), nb.ones(2))
    with pytest.raises(ValueError, match=r"target of shape \(3,\) does not match the batch "
                                         r"shape \(2,\)"):
        F.cosine_embedding_loss(nb.ones(2, 3), nb.ones(2, 3), nb.ones(3))


def test_losses_live_in_functional_only():
    assert not hasattr(nb, "cross_entropy") and not hasattr(nb.Tensor, "cross_entropy")
    assert F.cross_entropy is nb.ops.loss.cross_entropy
