"""softmax, log_softmax, softmin: values, gradients to 2nd order, stability, errors."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, rand, torch


def np_log_softmax(x, dim):
    if x.size == 0:
        return x
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def np_softmax(x, dim):
    return np.exp(np_log_softmax(x, dim))


SHAPES = [((5,), -1), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2), ((1, 1), -1),
          ((0, 3), 1), ((3, 0), 1), ((), 0), ((), -1)]


@pytest.mark.parametrize("shape, dim", SHAPES)
def test_softmax(shape, dim):
    check_op(lambda x: nb.softmax(x, dim), [rand(*shape)],
             ref=lambda x: np_softmax(x, dim if x.ndim else None),
             torch_fn=None if torch is None else lambda x: torch.softmax(x, dim))


@pytest.mark.parametrize("shape, dim", SHAPES)
def test_log_softmax(shape, dim):
    check_op(lambda x: nb.log_softmax(x, dim), [rand(*shape)],
             ref=lambda x: np_log_softmax(x, dim if x.ndim else None),
             torch_fn=None if torch is None else lambda x: torch.log_softmax(x, dim))


@pytest.mark.parametrize("shape, dim", [((3, 4), 1), ((2, 3), 0), ((), 0)])
def test_softmin(shape, dim):
    check_op(lambda x: F.softmin(x, dim), [rand(*shape)],
             ref=lambda x: np_softmax(-x, dim if x.ndim else None),
             torch_fn=None if torch is None else
             lambda x: torch.nn.functional.softmin(x, dim))


def test_tensor_methods_and_functional_aliases():
    x = rand(2, 3)
    np.testing.assert_allclose(nb.tensor(x).softmax(0).numpy(), np_softmax(x, 0), rtol=1e-6)
    np.testing.assert_allclose(nb.tensor(x).log_softmax(dim=1).numpy(), np_log_softmax(x, 1),
                               rtol=1e-6)
    np.testing.assert_allclose(F.softmax(nb.tensor(x), dim=-1).numpy(), np_softmax(x, 1),
                               rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(nb.tensor(x), -1).numpy(),
                               np_log_softmax(x, 1), rtol=1e-6)


@pytest.mark.parametrize("dtype", [nb.float32, nb.float64])
def test_large_logits_are_stable(dtype):
    x = nb.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]], dtype=dtype,
                  requires_grad=True)
    y = nb.softmax(x, dim=1)
    ls = nb.log_softmax(x, dim=1)
    assert y.dtype == dtype and ls.dtype == dtype
    e = np.exp(-1.0)
    np.testing.assert_allclose(y.detach().numpy(), [[1, 0, 0], [1 / (2 + e), 1 / (2 + e),
                                                                e / (2 + e)]], rtol=1e-6)
    np.testing.assert_allclose(ls.detach().numpy()[0], [0, -1000, -2000], rtol=1e-6)
    np.testing.assert_allclose(ls.detach().numpy()[1, 2], np.log(e / (2 + e)), rtol=1e-6)
    (ls[:, 0].sum() + y[:, 1].sum()).backward()
    assert np.isfinite(x.grad.numpy()).all()
    if torch is not None:
        tx = torch.tensor(x.detach().numpy(), requires_grad=True)
        (torch.log_softmax(tx, 1)[:, 0].sum() + torch.softmax(tx, 1)[:, 1].sum()).backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-6)


def test_large_logits_second_order():
    # gradcheck around logits of 1000 (the shift makes them as easy as logits near 0)
    check_op(lambda x: nb.log_softmax(x, 1), [1000 + rand(2, 3)],
             ref=lambda x: np_log_softmax(x, 1), check_float32=False)


def test_dtype_argument_and_integer_input():
    x = nb.tensor([[1, 2, 3]])
    with pytest.raises(RuntimeError, match="softmax: expected a floating-point input, got "
                                           "dtype int64; pass dtype="):
        nb.softmax(x, 1)
    y = nb.softmax(x, 1, dtype=nb.float64)
    assert y.dtype == nb.float64
    np.testing.assert_allclose(y.numpy(), np_softmax(np.array([[1.0, 2, 3]]), 1))
    assert nb.log_softmax(nb.ones(2, dtype=nb.float32), 0, dtype=nb.float64).dtype == nb.float64


def test_errors_and_implicit_dim():
    with pytest.raises(IndexError, match=r"softmax: dimension 2 is out of range for a tensor of "
                                         r"shape \(2, 3\) \(expected to be in \[-2, 1\]\)"):
        nb.softmax(nb.ones(2, 3), 2)
    with pytest.raises(IndexError, match="log_softmax: dimension -3"):
        nb.log_softmax(nb.ones(2, 3), -3)
    x = rand(2, 3, 4)
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = nb.softmax(nb.tensor(x), None)   # PyTorch's legacy choice: dim 0 for 3-D
    np.testing.assert_allclose(y.numpy(), np_softmax(x, 0), rtol=1e-6)


def test_infinite_logits_match_torch():
    x = nb.tensor([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]])
    with np.errstate(invalid="ignore"):
        y, ls = nb.softmax(x, 1).numpy(), nb.log_softmax(x, 1).numpy()
    np.testing.assert_allclose(y[0], [0, 1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-6)
    assert ls[0, 0] == -np.inf
    assert np.isnan(y[1]).all() and np.isnan(ls[1]).all()   # as in PyTorch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_on_larger_inputs_with_masked_entries(dtype):
    # a larger input with masked (-inf) entries: values, gradients and second order
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 16, 50)) * 5).astype(dtype)
    x[0, 0, :10] = -np.inf          # masked keys, as attention adds them
    g = rng.standard_normal(x.shape).astype(dtype)
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    ref = shifted / shifted.sum(axis=-1, keepdims=True)
    ref_grad = ref * (g - (g * ref).sum(axis=-1, keepdims=True))
    t = nb.tensor(x, requires_grad=True)
    y = F.softmax(t, -1)
    y.backward(nb.tensor(g))
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad, rtol=tol * 10, atol=tol * 10)
    if torch is not None:
        tt = torch.tensor(x, requires_grad=True)
        torch.softmax(tt, -1).backward(torch.tensor(g))
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    # second order (the vjp as a graph) on the same large input, against PyTorch
    if torch is not None and dtype == np.float64:
        x2 = x[1:]
        t2 = nb.tensor(x2, requires_grad=True)
        (gx,) = nb.autograd.grad((F.softmax(t2, -1) ** 2).sum(), t2, create_graph=True)
        (gx * nb.tensor(g[1:])).sum().backward()
        tt2 = torch.tensor(x2, requires_grad=True)
        (tgx,) = torch.autograd.grad((torch.softmax(tt2, -1) ** 2).sum(), tt2, create_graph=True)
        (tgx * torch.tensor(g[1:])).sum().backward()
        np.testing.assert_allclose(t2.grad.numpy(), tt2.grad.numpy(), rtol=1e-10, atol=1e-12)
