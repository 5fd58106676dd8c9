"""Gradient clipping: clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nabla as nb
from nabla.nn import Parameter
from nabla.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm
from tests.optest import needs_torch, torch

_rng = np.random.default_rng(1)
GRADS = [_rng.normal(size=(3, 4)), _rng.normal(size=(5,)), _rng.normal(size=()),
         np.zeros((0, 2))]


def _params(grads, lib="nb", dtype=np.float32):
    out = []
    for g in grads:
        if lib == "nb":
            p = Parameter(nb.zeros(g.shape, dtype=dtype))
            p.grad = nb.tensor(g.astype(dtype))
        else:
            p = torch.nn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name)))
            p.grad = torch.tensor(g.astype(dtype))
        out.append(p)
    return out


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, math.inf, "inf", -math.inf, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    # torch refuses the (-)inf norm of an empty gradient; nabla takes it as 0 (see below)
    grads = GRADS[:-1] if float(norm_type) in (math.inf, -math.inf) else GRADS
    ours, theirs = _params(grads, "nb", dtype), _params(grads, "torch", dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, nb.Tensor) and total.shape == () and total.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total.numpy(), ref.numpy(), rtol=rtol)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


def test_clip_grad_norm_by_hand():
    a, b = Parameter(nb.zeros(2)), Parameter(nb.zeros(1))
    a.grad, b.grad = nb.tensor([3.0, 0.0]), nb.tensor([4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)
    # already small enough: unchanged (up to the 1e-6 guard)
    total = clip_grad_norm_([a, b], max_norm=10.0)
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-6)


def test_single_tensor_generator_and_missing_grads():
    p, q = Parameter(nb.zeros(2)), Parameter(nb.zeros(2))
    p.grad = nb.tensor([6.0, 8.0])
    total = clip_grad_norm_(p, 5.0)
    assert total.item() == pytest.approx(10.0)
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0], rtol=1e-5)
    total = clip_grad_norm_((x for x in [p, q]), 1.0)  # q has no grad: ignored
    assert total.item() == pytest.approx(5.0, rel=1e-5) and q.grad is None
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([q], 1.0).item() == 0.0
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_nonfinite_norm():
    p = Parameter(nb.zeros(2))
    p.grad = nb.tensor([1.0, math.inf])
    with pytest.raises(RuntimeError, match="norm of order 2.0 .* is non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad.numpy(), [1.0, math.inf])  # untouched on error
    total = clip_grad_norm_([p], 1.0)
    assert math.isinf(total.item())
    assert p.grad.numpy()[0] == 0.0  # scaled by 1 / inf, as torch does


def test_inf_norm_with_an_empty_gradient():
    p, q = Parameter(nb.zeros(2)), Parameter(nb.zeros((0, 3)))
    p.grad, q.grad = nb.tensor([-3.0, 2.0]), nb.zeros((0, 3))
    assert clip_grad_norm_([p, q], 1.0, norm_type="inf").item() == 3.0
    np.testing.assert_allclose(p.grad.numpy(), [-1.0, 2.0 / 3.0], rtol=1e-5)


def test_get_total_norm_of_tensors():
    total = get_total_norm([nb.tensor([3.0]), nb.tensor([[4.0]])])
    assert total.item() == pytest.approx(5.0)
    assert get_total_norm([nb.tensor([3.0, -7.0])], norm_type=math.inf).item() == 7.0


@needs_torch
@pytest.mark.parametrize("clip_value", [0.1, 0.7, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _params(GRADS), _params(GRADS, "torch")
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_clip_grad_value_by_hand_and_skips_missing():
    p, q = Parameter(nb.zeros(3)), Parameter(nb.zeros(1))
    p.grad = nb.tensor([-2.0, 0.5, 3.0])
    version = p.grad._version[0]
    clip_grad_value_([p, q], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0, 0.5, 1.0])
    assert p.grad._version[0] == version + 1 and q.grad is None


def test_reachable_from_nn_utils():
    assert nb.nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nb.nn.utils.clip_grad_value_ is clip_grad_value_
