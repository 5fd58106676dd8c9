"""cosine_similarity, pairwise_distance and pdist against NumPy and torch: values, gradients
to second order, broadcasting, PyTorch's eps conventions, and error messages."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, needs_torch, rand, torch

TF = None if torch is None else torch.nn.functional


def _torch(fn):
    return None if torch is None else fn


def _norm(x, p, axis):
    """NumPy's vector p-norm along ``axis`` (0: the count of nonzero entries)."""
    return np.linalg.norm(x, ord=p, axis=axis)


# -- cosine_similarity ---------------------------------------------------------------------
def np_cosine_similarity(a, b, dim, eps):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.linalg.norm(a, axis=dim, keepdims=True), eps)
    nb_ = np.maximum(np.linalg.norm(b, axis=dim, keepdims=True), eps)
    return ((a / na) * (b / nb_)).sum(axis=dim)


@pytest.mark.parametrize("shape1, shape2, dim", [
    ((4, 3), (4, 3), 1), ((4, 3), (4, 3), 0), ((4, 3), (4, 3), -1),
    ((2, 3, 4), (4,), -1),          # broadcast against a vector
    ((3, 1, 4), (5, 4), 2),         # both broadcast: (3, 5, 4)
    ((5,), (5,), 0), ((0, 3), (0, 3), 1),
])
def test_cosine_similarity(shape1, shape2, dim):
    check_op(lambda a, b: F.cosine_similarity(a, b, dim=dim),
             [rand(*shape1), rand(*shape2, seed=1)],
             ref=lambda a, b: np_cosine_similarity(a, b, dim, 1e-8),
             torch_fn=_torch(lambda a, b: TF.cosine_similarity(a, b, dim=dim)))


@needs_torch
def test_cosine_similarity_clamps_the_norm_value_but_keeps_its_gradient():
    """PyTorch clamps each norm at eps outside autograd: below eps the value divides by
    eps while the gradient still flows through the norm; a zero vector gets u / eps."""
    a = np.array([[1e-9, 0.0], [0.0, 0.0], [1.0, 2.0]])
    b = np.array([[1.0, 1.0], [3.0, -1.0], [3.0, 1.0]])
    x1, x2 = nb.tensor(a, requires_grad=True), nb.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = F.cosine_similarity(x1, x2), TF.cosine_similarity(t1, t2)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), np_cosine_similarity(a, b, 1, 1e-8))
    cot = np.array([0.5, -2.0, 1.5])
    out.backward(nb.tensor(cot))
    tout.backward(torch.tensor(cot))
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-10)
    assert abs(x1.grad.numpy()[0, 0]) > 1e7  # the clamped row: x / eps, steep


def test_cosine_similarity_eps():
    a, b = np.array([[0.3, 0.4]]), np.array([[1.0, 0.0]])  # norms 0.5 and 1, both below eps
    got = F.cosine_similarity(nb.tensor(a), nb.tensor(b), eps=2.0).item()
    np.testing.assert_allclose(got, 0.3 / (2.0 * 2.0))


# -- pairwise_distance ------------------------------------------------------------------------
@pytest.mark.parametrize("shape1, shape2, keepdim, p", [
    ((4, 3), (4, 3), False, 2.0), ((4, 3), (4, 3), False, 1.0), ((4, 3), (4, 3), False, 0.5),
    ((4, 3), (3,), True, 3.0), ((2, 1, 3), (4, 3), False, float("inf")),
    ((5,), (5,), False, 2.0), ((5,), (5,), True, 1.5),
])
def test_pairwise_distance(shape1, shape2, keepdim, p):
    eps = 1e-6
    check_op(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
             [rand(*shape1), rand(*shape2, seed=1)],
             ref=lambda a, b: (lambda d: np.expand_dims(d, -1) if keepdim else d)(
                 _norm(a - b + eps, p, -1)),
             torch_fn=_torch(lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim)))


def test_pairwise_distance_of_scalars_and_p0():
    assert F.pairwise_distance(nb.tensor(1.0), nb.tensor(2.0)).shape == ()
    np.testing.assert_allclose(F.pairwise_distance(nb.tensor(1.0), nb.tensor(2.0)).item(),
                               1 - 1e-6)
    a, b = rand(3, 4), rand(3, 4, seed=1)
    a[0, :2], b[0, :2] = [1.0, 0.5], [1.25, 0.75]  # x1 - x2 + eps == 0 exactly: not counted
    np.testing.assert_array_equal(
        F.pairwise_distance(nb.tensor(a), nb.tensor(b), p=0, eps=0.25).numpy(), [2, 4, 4])
    if torch is not None:
        np.testing.assert_array_equal(TF.pairwise_distance(torch.tensor(a), torch.tensor(b), p=0,
                                                           eps=0.25).numpy(), [2, 4, 4])


def test_pairwise_distance_eps_keeps_the_gradient_finite_at_equal_inputs():
    x = nb.tensor(rand(2, 3), requires_grad=True)
    F.pairwise_distance(x, x.detach()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / np.sqrt(3))  # (eps, eps, eps) / |.|


# -- pdist --------------------------------------------------------------------------------------
def np_pdist(x, p):
    i, j = np.triu_indices(x.shape[0], 1)
    return _norm(x[i] - x[j], p, 1) if x.shape[1] else np.zeros(len(i))


@pytest.mark.parametrize("shape, p", [
    ((5, 3), 2.0), ((5, 3), 1.0), ((5, 3), 3.0), ((5, 3), 0.5), ((5, 3), float("inf")),
    ((2, 4), 2.0), ((1, 3), 2.0), ((0, 3), 2.0),
])
def test_pdist(shape, p):
    torch_crashes = shape[0] == 0  # torch 2.13's pdist backward segfaults on (0, M) inputs
    check_op(lambda x: F.pdist(x, p), [rand(*shape)], ref=lambda x: np_pdist(x, p),
             torch_fn=None if torch_crashes else _torch(lambda x: TF.pdist(x, p)))


def test_pdist_without_coordinates_and_p0():
    np.testing.assert_array_equal(F.pdist(nb.zeros(3, 0)).numpy(), [0.0, 0.0, 0.0])
    x = np.array([[1.0, 2.0], [1.0, 5.0], [0.0, 5.0]])
    np.testing.assert_array_equal(F.pdist(nb.tensor(x), p=0).numpy(), [1, 2, 1])


@needs_torch
@pytest.mark.parametrize("p", [2.0, 1.0])
def test_pdist_gradient_is_zero_at_zero_distance(p):
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.pdist(xn, p).sum().backward()
    TF.pdist(xt, p).sum().backward()
    assert np.isfinite(xn.grad.numpy()).all()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


# -- exports, autocast and errors -----------------------------------------------------------
def test_top_level_exports_like_torch():
    for name in ("cosine_similarity", "pairwise_distance", "pdist"):
        assert getattr(nb, name) is getattr(F, name)
        assert torch is None or hasattr(torch, name)


def test_distances_under_autocast_follow_the_device_lists():
    """PyTorch's CUDA autocast runs the distances in float32; its CPU autocast keeps the
    input's dtype (checked against torch 2.13 in tests/test_amp_cpu_lists.py)."""
    a = nb.tensor(rand(3, 4), dtype=nb.bfloat16)
    b = nb.tensor(rand(3, 4, seed=1), dtype=nb.bfloat16)
    with nb.autocast("cpu", dtype=nb.bfloat16):
        assert F.cosine_similarity(a, b).dtype == nb.bfloat16
        assert F.pairwise_distance(a, b).dtype == nb.bfloat16
        assert F.pdist(a).dtype == nb.bfloat16
        assert F.pdist(a.float()).dtype == nb.float32
    if nb.cuda.is_available():
        with nb.autocast("cuda", dtype=nb.bfloat16):
            assert F.cosine_similarity(a.cuda(), b.cuda()).dtype == nb.float32
            assert F.pdist(a.cuda()).dtype == nb.float32


def test_distance_errors():
    x = nb.ones(3, 4)
    with pytest.raises(RuntimeError, match=r"cosine_similarity: x1 of shape \(3, 4\) and x2 of "
                                           r"shape \(2, 4\) do not broadcast"):
        F.cosine_similarity(x, nb.ones(2, 4))
    with pytest.raises(IndexError, match="cosine_similarity"):
        F.cosine_similarity(nb.ones(4), nb.ones(4))  # dim=1 of a 1-D input
    with pytest.raises(RuntimeError, match="cosine_similarity: expected x2 to have a "
                                           "floating-point dtype, got int64"):
        F.cosine_similarity(x, nb.tensor([[1, 2, 3, 4]]))
    with pytest.raises(TypeError, match="pairwise_distance: p must be a number, got 'fro'"):
        F.pairwise_distance(x, x, p="fro")
    with pytest.raises(RuntimeError, match=r"pdist: expected a 2-D input \(N, M\), got shape "
                                           r"\(2, 3, 4\)"):
        F.pdist(nb.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="pdist: expected input to have a floating-point "
                                           "dtype, got int64"):
        F.pdist(nb.tensor([[1, 2], [3, 4]]))
    with pytest.raises(RuntimeError, match="pdist: p must be non-negative, got -1.0"):
        F.pdist(x, p=-1)
