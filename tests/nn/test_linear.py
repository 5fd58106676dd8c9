"""F.linear, F.bilinear, F.embedding (check_op: NumPy, gradcheck to 2nd order, torch) and
the Linear, Bilinear, Embedding, Maxout, Identity, Flatten, Unflatten layers against torch's
given the same weights."""
import math
import re

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
import nabla.nn.functional as F
from tests.optest import check_op, needs_torch, rand, torch

TF = None if torch is None else torch.nn.functional


def _torch(fn):
    return None if torch is None else fn


# -- F.linear ---------------------------------------------------------------------------
LINEAR_SHAPES = [
    ((3, 4), (5, 4)),       # a batch of vectors
    ((2, 3, 4), (5, 4)),    # extra leading dims
    ((4,), (5, 4)),         # a single vector
    ((0, 4), (5, 4)),       # empty batch
    ((3, 4), (0, 4)),       # no outputs
    ((3, 1), (2, 1)),       # size-1 dims
]


@pytest.mark.parametrize("xs,ws", LINEAR_SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_op(xs, ws, bias):
    arrays = [rand(*xs), rand(*ws, seed=1)] + ([rand(ws[0], seed=2)] if bias else [])
    ref = (lambda x, w, b=None: x @ w.T + (0 if b is None else b))
    check_op(lambda *a: F.linear(*a), arrays, ref=ref, torch_fn=_torch(lambda *a: TF.linear(*a)))


def test_linear_errors():
    x, w = nb.randn(3, 4), nb.randn(5, 6)
    with pytest.raises(RuntimeError, match=r"linear: input of shape \(3, 4\) does not match "
                                           r"weight of shape \(5, 6\).*in_features=6"):
        F.linear(x, w)
    with pytest.raises(RuntimeError, match=r"linear: bias of shape \(4,\).*expected \(5,\)"):
        F.linear(nb.randn(3, 6), w, nb.randn(4))
    with pytest.raises(RuntimeError, match="linear: expected the same dtype.*float64"):
        F.linear(nb.randn(3, 6, dtype=nb.float64), w)
    with pytest.raises(RuntimeError, match=r"linear: weight must be 2-D"):
        F.linear(x, nb.randn(4))
    with pytest.raises(TypeError, match="linear: input must be a Tensor, got list"):
        F.linear([1.0, 2.0], w)


# -- F.bilinear -------------------------------------------------------------------------
def np_bilinear(x1, x2, w, b=None):
    out = np.einsum("...i,oij,...j->...o", x1, w, x2)
    return out if b is None else out + b


@pytest.mark.parametrize("s1,s2,ws", [
    ((3, 2), (3, 4), (5, 2, 4)),
    ((2, 3, 2), (2, 3, 3), (2, 2, 3)),
    ((2,), (3,), (4, 2, 3)),
    ((0, 2), (0, 3), (4, 2, 3)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_op(s1, s2, ws, bias):
    arrays = [rand(*s1), rand(*s2, seed=1), rand(*ws, seed=2)]
    arrays += [rand(ws[0], seed=3)] if bias else []
    check_op(lambda *a: F.bilinear(*a), arrays, ref=np_bilinear,
             torch_fn=_torch(lambda *a: TF.bilinear(*a)))


def test_bilinear_errors():
    with pytest.raises(RuntimeError, match=r"bilinear: inputs of shapes \(3, 2\) and \(3, 4\) "
                                           r"do not match weight of shape \(5, 3, 4\)"):
        F.bilinear(nb.randn(3, 2), nb.randn(3, 4), nb.randn(5, 3, 4))
    with pytest.raises(RuntimeError, match="bilinear: weight must be 3-D"):
        F.bilinear(nb.randn(3, 2), nb.randn(3, 4), nb.randn(2, 4))
    with pytest.raises(RuntimeError, match="different batch dimensions"):
        F.bilinear(nb.randn(3, 2), nb.randn(2, 4), nb.randn(5, 2, 4))


# -- F.embedding ------------------------------------------------------------------------
@pytest.mark.parametrize("index", [
    np.array([1, 3, 1, 0]),                  # repeated rows accumulate
    np.array([[0, 4, 4], [2, 2, 2]]),
    np.array(3),                             # a 0-d index gives one row
    np.zeros((0, 2), dtype=np.int64),        # no lookups
])
def test_embedding_op(index):
    w = rand(5, 3)
    check_op(lambda w, i: F.embedding(i, w), [w, index], ref=lambda w, i: w[i],
             torch_fn=_torch(lambda w, i: TF.embedding(i, w)))


def _embedding_grads(index, kwargs, num=6, dim=3):
    """Gradients of sum(out * cot) w.r.t. weight, from nabla and (if present) torch."""
    w = rand(num, dim)
    cot = rand(*index.shape, dim, seed=4)
    x = nb.tensor(w, requires_grad=True)
    out = F.embedding(nb.tensor(index), x, **kwargs)
    (out * nb.tensor(cot)).sum().backward()
    tgrad = None
    if torch is not None:
        tx = torch.tensor(w, requires_grad=True)
        tout = TF.embedding(torch.tensor(index), tx, **kwargs)
        (tout * torch.tensor(cot)).sum().backward()
        tgrad = tx.grad.numpy()
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    return x.grad.numpy(), tgrad, cot


def test_embedding_padding_idx_gets_no_gradient():
    index = np.array([[1, 2, 1], [2, 0, 5]])
    grad, tgrad, cot = _embedding_grads(index, {"padding_idx": 2})
    np.testing.assert_array_equal(grad[2], 0)
    np.testing.assert_allclose(grad[1], cot[0, 0] + cot[0, 2])
    np.testing.assert_allclose(grad[0], cot[1, 1])
    if tgrad is not None:
        np.testing.assert_allclose(grad, tgrad, atol=1e-12)


def test_embedding_negative_padding_idx():
    grad, tgrad, _ = _embedding_grads(np.array([5, 1, 5]), {"padding_idx": -1})
    np.testing.assert_array_equal(grad[5], 0)
    if tgrad is not None:
        np.testing.assert_allclose(grad, tgrad, atol=1e-12)


def test_embedding_scale_grad_by_freq():
    index = np.array([[1, 1, 1], [3, 1, 0]])
    grad, tgrad, cot = _embedding_grads(index, {"scale_grad_by_freq": True, "padding_idx": 0})
    np.testing.assert_allclose(grad[1], (cot[0, 0] + cot[0, 1] + cot[0, 2] + cot[1, 1]) / 4)
    np.testing.assert_array_equal(grad[0], 0)
    if tgrad is not None:
        np.testing.assert_allclose(grad, tgrad, atol=1e-12)


def test_embedding_padding_second_order():
    # the vjp is a linear map of the cotangent: its own derivative holds (d/dg of vjp)
    w = nb.tensor(rand(4, 2), requires_grad=True)
    idx = nb.tensor([0, 1, 1])
    out = F.embedding(idx, w, padding_idx=1)
    g = nb.tensor(rand(3, 2, seed=1), requires_grad=True)
    (gw,) = nb.autograd.grad(out, w, grad_outputs=g, create_graph=True)
    (gg,) = nb.autograd.grad((gw * gw).sum(), g)
    expect = np.zeros((3, 2))
    expect[0] = 2 * g.detach().numpy()[0]  # rows looking up padding 1 get nothing
    np.testing.assert_allclose(gg.numpy(), expect)


@needs_torch
def test_embedding_max_norm_renormalises_rows_like_torch():
    w = rand(5, 3) * 3
    index = np.array([0, 2, 2, 4])
    x, tx = nb.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.embedding(nb.tensor(index), x, max_norm=1.5)
    tout = TF.embedding(torch.tensor(index), tx, max_norm=1.5)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-12)  # in place
    assert np.linalg.norm(x.detach().numpy()[2]) == pytest.approx(1.5, rel=1e-6)
    np.testing.assert_array_equal(x.detach().numpy()[1], w[1])  # not looked up: untouched
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_embedding_errors():
    w = nb.randn(4, 2)
    with pytest.raises(IndexError, match=r"embedding: index 4 is out of range for 4 "
                                         r"embeddings \(weight of shape \(4, 2\)\)"):
        F.embedding(nb.tensor([0, 4]), w)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(nb.tensor([-1]), w)
    with pytest.raises(RuntimeError, match="embedding: expected integer indices, got a tensor "
                                           "of dtype float32"):
        F.embedding(nb.tensor([0.0, 1.0]), w)
    with pytest.raises(ValueError, match="padding_idx=7 must be within"):
        F.embedding(nb.tensor([0]), w, padding_idx=7)


# -- layers against torch's ----------------------------------------------------------------
def _load_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def compare_with_torch(module, tmodule, inputs, cot_seed=7, atol=1e-10):
    """Forward, input gradients and parameter gradients of ``module`` and ``tmodule``
    (float64, same weights) for a random cotangent; inputs are NumPy arrays."""
    module.to(nb.float64)
    tmodule.double()
    _load_from_torch(module, tmodule)
    xs = [nb.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    txs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    out, tout = module(*xs), tmodule(*txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=atol)
    cot = np.random.default_rng(cot_seed).standard_normal(out.shape)
    (out * nb.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for x, tx in zip(xs, txs):
        if x.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=atol)
    params = dict(module.named_parameters())
    tparams = dict(tmodule.named_parameters())
    assert params.keys() == tparams.keys()
    for name, p in params.items():
        tg = tparams[name].grad
        if not p.requires_grad:
            assert tg is None and p.grad is None
            continue
        np.testing.assert_allclose(p.grad.numpy(), tg.numpy(), atol=atol, err_msg=name)


@needs_torch
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_layer_matches_torch(shape, bias):
    compare_with_torch(nn.Linear(4, 5, bias=bias), torch.nn.Linear(4, 5, bias=bias),
                       [rand(*shape)])


@needs_torch
def test_bilinear_layer_matches_torch():
    compare_with_torch(nn.Bilinear(3, 2, 4), torch.nn.Bilinear(3, 2, 4),
                       [rand(5, 3), rand(5, 2, seed=1)])
    compare_with_torch(nn.Bilinear(3, 2, 4, bias=False), torch.nn.Bilinear(3, 2, 4, bias=False),
                       [rand(2, 5, 3), rand(2, 5, 2, seed=1)])


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True}])
def test_embedding_layer_matches_torch(kwargs):
    compare_with_torch(nn.Embedding(6, 3, **kwargs), torch.nn.Embedding(6, 3, **kwargs),
                       [np.array([[1, 2, 1], [5, 0, 1]])])


def test_embedding_layer_padding_row_starts_at_zero():
    nb.manual_seed(0)
    emb = nn.Embedding(10, 4, padding_idx=3)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[3], 0)
    assert np.all(emb.weight.detach().numpy()[[0, 1, 2, 4]] != 0)
    assert emb.weight.requires_grad and emb.weight.grad_fn is None
    assert repr(emb) == "Embedding(10, 4, padding_idx=3)  # 40 parameters"


def test_embedding_from_pretrained():
    table = nb.tensor(rand(4, 2))
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(nb.tensor([3, 0])).numpy(), table.numpy()[[3, 0]])
    table.data[0, 0] = 100.0  # a copy, not a view of the caller's tensor
    assert emb.weight.detach().numpy()[0, 0] != 100.0
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    with pytest.raises(ValueError, match="embeddings must be a 2-D Tensor"):
        nn.Embedding.from_pretrained(nb.ones(3))


@needs_torch
def test_maxout_is_max_over_contiguous_pieces():
    """Maxout(in, out, pieces) = max over j of rows k*pieces + j of linear.weight."""
    m = nn.Maxout(4, 3, pieces=2).to(nb.float64)
    assert m.linear.weight.shape == (6, 4) and m.linear.bias.shape == (6,)
    assert list(m.state_dict()) == ["linear.weight", "linear.bias"]
    tm = torch.nn.Linear(4, 6).double()
    _load_from_torch(m.linear, tm)
    x = rand(5, 4)
    tx = torch.tensor(x, requires_grad=True)
    t_out = tm(tx).reshape(5, 3, 2).amax(dim=-1)
    xn = nb.tensor(x, requires_grad=True)
    out = m(xn)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(m.linear.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-12)
    w, b = m.linear.weight.detach().numpy(), m.linear.bias.detach().numpy()
    manual = np.maximum(x @ w[0::2].T + b[0::2], x @ w[1::2].T + b[1::2])
    np.testing.assert_allclose(out.detach().numpy(), manual, atol=1e-12)
    assert repr(m).startswith("Maxout(\n  in_features=4, out_features=3, pieces=2\n  (linear): Linear(")


def test_maxout_rejects_zero_pieces():
    with pytest.raises(ValueError, match="Maxout: pieces must be at least 1, got 0"):
        nn.Maxout(3, 2, pieces=0)


def test_identity_flatten_unflatten():
    x = nb.tensor(rand(2, 3, 4, 5), requires_grad=True)
    assert nn.Identity(54, unused="x")(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 1))(nb.ones(2, 3)).shape == (2, 3, 1)
    y = nn.Unflatten(-1, (2, -1))(nn.Flatten()(x))
    assert y.shape == (2, 2, 30)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4, 5)))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)


def test_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(RuntimeError, match=re.escape(
            "Linear(in_features=4, out_features=3, bias=True): expected input of shape "
            "(*, 4), got (2, 5) (the last dimension must be in_features=4)")):
        nn.Linear(4, 3)(nb.zeros(2, 5))
    with pytest.raises(RuntimeError, match=re.escape(
            "Linear(in_features=4, out_features=3, bias=False): expected input of shape "
            "(*, 4), got ()")):
        nn.Linear(4, 3, bias=False)(nb.zeros(()))
    with pytest.raises(TypeError, match=r"Linear\(in_features=4.*\): expected a Tensor, "
                                        r"got list"):
        nn.Linear(4, 3)([1.0, 2.0, 3.0, 4.0])
    bil = nn.Bilinear(2, 3, 4)
    with pytest.raises(RuntimeError, match=re.escape(
            "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True): expected "
            "input1 of shape (*, 2) and input2 of shape (*, 3), got (5, 2) and (5, 4)")):
        bil(nb.zeros(5, 2), nb.zeros(5, 4))
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=2.*\): input1 of shape "
                                           r"\(5, 2\) and input2 of shape \(4, 3\) have "
                                           r"different batch dimensions"):
        bil(nb.zeros(5, 2), nb.zeros(4, 3))
    emb = nn.Embedding(10, 3)
    with pytest.raises(RuntimeError, match=re.escape(
            "Embedding(10, 3): expected integer indices, got a tensor of shape (2, 5) and "
            "dtype float32")):
        emb(nb.zeros(2, 5))
    with pytest.raises(IndexError, match=re.escape(
            "Embedding(10, 3): index 10 is out of range for num_embeddings=10 (expected "
            "indices in [0, 9]), in input of shape (1, 2)")):
        emb(nb.tensor([[1, 10]]))
    with pytest.raises(IndexError, match=r"Embedding\(10, 3, padding_idx=0\): index -1 is "
                                         r"out of range for num_embeddings=10"):
        nn.Embedding(10, 3, padding_idx=0)(nb.tensor([-1, 2]))
    unf = nn.Unflatten(1, (2, 3))
    with pytest.raises(RuntimeError, match=re.escape(
            "Unflatten(dim=1, unflattened_size=(2, 3)): expected dimension 1 of size 6, got 5 "
            "(input of shape (4, 5))")):
        unf(nb.zeros(4, 5))
    with pytest.raises(RuntimeError, match=re.escape(
            "Unflatten(dim=-1, unflattened_size=(2, -1)): expected dimension -1 of size a "
            "multiple of 2, got 5 (input of shape (4, 5))")):
        nn.Unflatten(-1, (2, -1))(nb.zeros(4, 5))
    with pytest.raises(IndexError, match=re.escape(
            "Unflatten(dim=2, unflattened_size=(2, 3)): dim=2 is out of range for an input of "
            "shape (4, 6)")):
        nn.Unflatten(2, (2, 3))(nb.zeros(4, 6))
    with pytest.raises(RuntimeError, match=r"Unflatten\(dim=0, .*\): cannot unflatten a 0-d"):
        nn.Unflatten(0, (1, 1))(nb.zeros(()))
    with pytest.raises(RuntimeError, match=r"Unflatten\(dim=0, .*\): unflattened_size may "
                                           r"hold at most one -1"):
        nn.Unflatten(0, (-1, -1))(nb.zeros(4))
    # valid input, unbatched 1-D and empty included, is unaffected by the checks
    assert nn.Linear(4, 3)(nb.zeros(4)).shape == (3,)
    assert nn.Linear(4, 3)(nb.zeros(0, 4)).shape == (0, 3)
    assert bil(nb.zeros(2), nb.zeros(3)).shape == (4,)
    assert emb(nb.tensor(9)).shape == (3,)
    assert emb(nb.zeros(0, 2, dtype=nb.int64)).shape == (0, 2, 3)
    assert nn.Unflatten(0, (2, -1))(nb.zeros(6)).shape == (2, 3)
    assert nn.Unflatten(-1, (2, -1))(nb.zeros(3, 0)).shape == (3, 2, 0)


def test_linear_repr_and_extra_repr():
    assert nn.Linear(784, 512).extra_repr() == "in_features=784, out_features=512, bias=True"
    assert repr(nn.Linear(3, 2, bias=False)) == \
        "Linear(in_features=3, out_features=2, bias=False)  # 6 parameters"
    assert nn.Bilinear(2, 3, 4).extra_repr() == \
        "in1_features=2, in2_features=3, out_features=4, bias=True"


def test_layer_dtype_and_device_arguments():
    m = nn.Linear(3, 2, dtype=nb.float64, device="cpu")
    assert m.weight.dtype == nb.float64 and m.bias.dtype == nb.float64
    assert nn.Embedding(3, 2, dtype=nb.float64).weight.dtype == nb.float64
    assert nn.Linear(3, 2).weight.dtype == nb.float32  # the default dtype


# -- default initialisation ------------------------------------------------------------------
def _uniform_stats(a: np.ndarray, bound: float):
    assert np.abs(a).max() <= bound
    assert np.abs(a).max() > 0.99 * bound  # fills the range
    assert abs(a.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(a.mean()) < 0.02 * bound


def test_linear_default_init_is_uniform_one_over_sqrt_fan_in():
    nb.manual_seed(0)
    m = nn.Linear(400, 300)
    _uniform_stats(m.weight.detach().numpy(), 1 / math.sqrt(400))
    _uniform_stats(np.concatenate([nn.Linear(400, 300).bias.detach().numpy() for _ in range(20)]),
                   1 / math.sqrt(400))
    if torch is not None:  # torch's draws have the same spread
        tw = torch.nn.Linear(400, 300).weight.detach().numpy()
        assert abs(m.weight.detach().numpy().std() - tw.std()) < 0.01 * tw.std()


def test_bilinear_and_embedding_default_init():
    nb.manual_seed(0)
    m = nn.Bilinear(50, 40, 30)
    _uniform_stats(m.weight.detach().numpy(), 1 / math.sqrt(50))
    e = nn.Embedding(1000, 50).weight.detach().numpy()
    assert abs(e.std() - 1) < 0.02 and abs(e.mean()) < 0.02


def test_init_is_seeded():
    nb.manual_seed(3)
    a = nn.Linear(5, 4).weight.detach().numpy().copy()
    nb.manual_seed(3)
    b = nn.Linear(5, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Linear(5, 4).weight.detach().numpy())
