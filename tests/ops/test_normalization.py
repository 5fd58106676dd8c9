"""batch_norm, instance_norm, layer_norm, group_norm, local_response_norm, normalize:
values against NumPy, gradients (vjp and jvp) to 2nd order, PyTorch parity,
running-statistics updates and errors."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, needs_torch, rand, torch

TF = None if torch is None else torch.nn.functional


# -- NumPy references ----------------------------------------------------------------------
def np_standardize(x, axes, eps=1e-5):
    if x.size == 0:
        return x.copy()
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def channel(v, ndim):
    """A per-channel vector laid out to broadcast against (N, C, *)."""
    return v.reshape((-1,) + (1,) * (ndim - 2))


def np_batch_norm_train(x, w=None, b=None, eps=1e-5):
    y = np_standardize(x, (0,) + tuple(range(2, x.ndim)), eps)
    if w is not None:
        y = y * channel(w, x.ndim)
    if b is not None:
        y = y + channel(b, x.ndim)
    return y


def np_batch_norm_eval(x, rm, rv, w, b, eps=1e-5):
    y = (x - channel(rm, x.ndim)) / np.sqrt(channel(rv, x.ndim) + eps)
    return y * channel(w, x.ndim) + channel(b, x.ndim)


def np_group_norm(x, g, w, b, eps=1e-5):
    grouped = x.reshape(x.shape[0], g, int(np.prod(x.shape[1:])) // g)
    y = np_standardize(grouped, (2,), eps).reshape(x.shape)
    return y * channel(w, x.ndim) + channel(b, x.ndim)


def np_lrn(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
    window = sum(sq[:, j:j + c] for j in range(size))
    return x / (k + alpha / size * window) ** beta


def positive(*shape, seed=0):
    return rand(*shape, low=0.5, high=2.0, seed=seed)


# -- batch norm ----------------------------------------------------------------------------
BN_SHAPES = [(4, 3), (3, 2, 4), (2, 3, 2, 2), (5, 1), (1, 2, 3), (0, 3)]


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training(shape):
    c = shape[1]
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             [rand(*shape), rand(c, seed=1), rand(c, seed=2)], ref=np_batch_norm_train,
             torch_fn=None if torch is None else
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True))


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_batch_norm_training_without_affine(shape):
    check_op(lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
             [rand(*shape)], ref=lambda x: np_batch_norm_train(x, eps=1e-3),
             torch_fn=None if torch is None else
             lambda x: TF.batch_norm(x, None, None, training=True, eps=1e-3))


def channels_last(a):
    """``a`` (N, C, H, W) with its channels innermost in memory, as a convolution leaves it."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("shape", [(2, 3, 2, 4), (3, 16, 4, 4), (2, 5, 3, 1)])
def test_batch_norm_training_on_channels_last_input(shape):
    # a convolution's output: batch norm works on its (N*H*W, C) rows in place of (N, C, L)
    c = shape[1]
    x = channels_last(rand(*shape))
    assert not x.flags.c_contiguous
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             [x, rand(c, seed=1), rand(c, seed=2)], ref=np_batch_norm_train,
             torch_fn=None if torch is None else
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True))
    # the same values, gradients and running statistics as for the NCHW-contiguous array
    g = rand(*shape, seed=3)
    results = []
    for array in (x, np.ascontiguousarray(x)):
        xt, w, b = nb.tensor(array, requires_grad=True), nb.tensor(rand(c, seed=1),
                                                                 requires_grad=True), \
            nb.tensor(rand(c, seed=2), requires_grad=True)
        rm, rv = nb.zeros(c, dtype=nb.float64), nb.ones(c, dtype=nb.float64)
        y = F.batch_norm(xt, rm, rv, w, b, training=True, momentum=0.3)
        y.backward(nb.tensor(g))
        results.append([y.detach().numpy(), xt.grad.numpy(), w.grad.numpy(), b.grad.numpy(),
                        rm.numpy(), rv.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4), (2, 3, 2, 2), (0, 3)])
def test_batch_norm_eval(shape):
    c = shape[1]
    arrays = [rand(*shape), rand(c, seed=1), positive(c, seed=2), rand(c, seed=3),
              rand(c, seed=4)]
    # every input is differentiable in nabla, running statistics included
    check_op(lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
             arrays, ref=np_batch_norm_eval)
    # torch: gradients of input, weight and bias
    check_op(lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b), arrays, diff=[0, 3, 4],
             order=1, torch_fn=None if torch is None else
             lambda x, rm, rv, w, b: TF.batch_norm(x, rm, rv, w, b))


@needs_torch
@pytest.mark.parametrize("shape, momentum", [((6, 3), 0.1), ((4, 2, 5), 0.3),
                                             ((3, 2, 3, 2), 1.0), ((2, 3), 0.0)])
def test_batch_norm_updates_running_stats_like_torch(shape, momentum):
    c = shape[1]
    rm, rv = nb.tensor(rand(c, seed=5)), nb.tensor(positive(c, seed=6))
    trm, trv = torch.tensor(rm.numpy()), torch.tensor(rv.numpy())
    for step in range(3):
        x = rand(*shape, seed=10 + step)
        y = F.batch_norm(nb.tensor(x), rm, rv, training=True, momentum=momentum)
        ty = TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=momentum)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-12)
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-12)
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), atol=1e-12)
    # the running variance is the *unbiased* batch variance (momentum 1 shows it exactly)
    if momentum == 1.0:
        axes = (0,) + tuple(range(2, len(shape)))
        np.testing.assert_allclose(rv.numpy(), x.var(axis=axes, ddof=1), rtol=1e-12)


def test_batch_norm_running_stats_keep_their_dtype_and_are_not_recorded():
    rm, rv = nb.zeros(2), nb.ones(2)  # float32 buffers beside a float64 input
    x = nb.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=nb.float64, requires_grad=True)
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.5)
    assert rm.dtype == nb.float32 and not rm.requires_grad
    np.testing.assert_allclose(rm.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(rv.numpy(), [0.5 + 0.5 * 2.0, 0.5 + 0.5 * 8.0])
    y.sum().backward()  # the in-place update does not break the recorded graph
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5, 5)])
def test_batch_norm_training_output_takes_an_inplace_relu_like_torch(shape):
    """Conv/Linear -> BatchNorm -> ReLU(inplace=True), the block of every ResNet: the
    in-place ReLU on batch norm's output records, and gradients match torch's."""
    rng = np.random.default_rng(0)
    xa, ga = rng.standard_normal(shape), rng.standard_normal(shape)
    wa, ba = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    grads = []
    for lib, fn in ((nb, F), (torch, torch.nn.functional)):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (xa, wa, ba))
        y = fn.batch_norm(x * 1.0, None, None, w, b, training=True)
        out = fn.relu(y, inplace=True)
        assert out is y
        (out * lib.tensor(ga)).sum().backward()
        grads.append([t.detach().numpy() for t in (out, x.grad, w.grad, b.grad)])
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_batch_norm_training_with_empty_batch_leaves_running_stats():
    rm, rv = nb.zeros(3), nb.ones(3)
    y = F.batch_norm(nb.zeros(0, 3), rm, rv, training=True)
    assert y.shape == (0, 3)
    np.testing.assert_array_equal(rm.numpy(), 0.0)
    np.testing.assert_array_equal(rv.numpy(), 1.0)


def test_batch_norm_second_derivative_mixes_input_and_weight():
    # d/dw of the input gradient: exercises the rule's graph through x_hat and rstd
    x = nb.tensor(rand(4, 3), requires_grad=True)
    w = nb.tensor(rand(3, seed=1), requires_grad=True)
    y = F.batch_norm(x, None, None, w, training=True)
    (gx,) = nb.autograd.grad((y ** 3).sum(), [x], create_graph=True)
    (gw,) = nb.autograd.grad((gx * gx).sum(), [w])
    if torch is not None:
        tx = torch.tensor(x.detach().numpy(), requires_grad=True)
        tw = torch.tensor(w.detach().numpy(), requires_grad=True)
        ty = TF.batch_norm(tx, None, None, tw, training=True)
        (tgx,) = torch.autograd.grad((ty ** 3).sum(), [tx], create_graph=True)
        (tgw,) = torch.autograd.grad((tgx * tgx).sum(), [tw])
        np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-9)
    assert np.abs(gw.numpy()).max() > 0


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel "
                                         r"when training, got input of shape \(1, 3\)"):
        F.batch_norm(nb.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\).*"
                                         r"got \(4,\)"):
        F.batch_norm(nb.zeros(2, 3), nb.zeros(4), nb.ones(3))
    with pytest.raises(ValueError, match="batch_norm: weight must have shape"):
        F.batch_norm(nb.zeros(2, 3), None, None, nb.ones(2), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var must be given in "
                                         "evaluation mode"):
        F.batch_norm(nb.zeros(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input of shape \(N, C, \*\)"
                                         r", got shape \(3,\)"):
        F.batch_norm(nb.zeros(3), None, None, training=True)
    with pytest.raises(RuntimeError, match="batch_norm: expected a floating-point input, got "
                                           "dtype int64"):
        F.batch_norm(nb.tensor([[1, 2], [3, 4]]), None, None, training=True)


# -- instance norm -------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 2, 3, 2), (1, 1, 5)])
def test_instance_norm(shape):
    c = shape[1]

    def ref(x, w, b):
        y = np_standardize(x, tuple(range(2, x.ndim)))
        return y * channel(w, x.ndim) + channel(b, x.ndim)
    check_op(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             [rand(*shape), rand(c, seed=1), rand(c, seed=2)], ref=ref,
             torch_fn=None if torch is None else
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b))


@needs_torch
def test_instance_norm_running_stats_like_torch():
    rm, rv = nb.zeros(3, dtype=nb.float64), nb.ones(3, dtype=nb.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in range(2):
        x = rand(2, 3, 4, seed=step)
        F.instance_norm(nb.tensor(x), rm, rv, momentum=0.2)
        TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), atol=1e-12)
    x = rand(2, 3, 4, seed=9)
    np.testing.assert_allclose(
        F.instance_norm(nb.tensor(x), rm, rv, use_input_stats=False).numpy(),
        TF.instance_norm(torch.tensor(x), trm, trv, use_input_stats=False).numpy(), atol=1e-12)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="instance_norm: expected an input of shape"):
        F.instance_norm(nb.zeros(2, 3))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial"):
        F.instance_norm(nb.zeros(2, 3, 1))


# -- layer norm ----------------------------------------------------------------------------
LN_CASES = [((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), 5), ((0, 4), (4,)), ((2, 1), (1,)),
            ((2, 2, 3), [3])]


@pytest.mark.parametrize("shape, normalized_shape", LN_CASES)
def test_layer_norm(shape, normalized_shape):
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    check_op(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b),
             [rand(*shape), rand(*ns, seed=1), rand(*ns, seed=2)],
             ref=lambda x, w, b: np_standardize(x, axes) * w + b,
             torch_fn=None if torch is None else
             lambda x, w, b: TF.layer_norm(x, ns, w, b))


def test_layer_norm_without_affine_and_custom_eps():
    check_op(lambda x: F.layer_norm(x, (4,), eps=0.1), [rand(3, 4)],
             ref=lambda x: np_standardize(x, (1,), eps=0.1),
             torch_fn=None if torch is None else lambda x: TF.layer_norm(x, (4,), eps=0.1))


def test_layer_norm_constant_rows_give_zero_not_nan():
    y = F.layer_norm(nb.full((2, 3), 7.0), (3,))
    np.testing.assert_array_equal(y.numpy(), 0.0)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"layer_norm: given normalized_shape=\[4\], expected "
                                         r"an input of shape \(\*, 4\), got \(2, 3\)"):
        F.layer_norm(nb.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape"
                                         r"=\(3,\), got \(4,\)"):
        F.layer_norm(nb.zeros(2, 3), (3,), nb.ones(4))


# -- group norm ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, groups", [((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((3, 4), 1),
                                           ((2, 4, 2), 4), ((0, 4, 2), 2)])
def test_group_norm(shape, groups):
    c = shape[1]
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b),
             [rand(*shape), rand(c, seed=1), rand(c, seed=2)],
             ref=lambda x, w, b: np_group_norm(x, groups, w, b),
             torch_fn=None if torch is None else
             lambda x, w, b: TF.group_norm(x, groups, w, b))


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"group_norm: expected the number of channels to be "
                                         r"divisible by num_groups, got input of shape \(2, 3\) "
                                         r"and num_groups=2"):
        F.group_norm(nb.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="group_norm: bias must have shape"):
        F.group_norm(nb.zeros(2, 4), 2, nb.ones(4), nb.ones(2))


# -- local response norm and normalize -----------------------------------------------------
@pytest.mark.parametrize("shape, size", [((2, 5, 3), 3), ((1, 6, 2, 2), 2), ((2, 3, 2), 5),
                                         ((1, 4, 3), 1)])
def test_local_response_norm(shape, size):
    # a large alpha so the normalisation is far from the identity
    kw = dict(alpha=0.5, beta=0.75, k=1.0)
    check_op(lambda x: F.local_response_norm(x, size, **kw), [rand(*shape)],
             ref=lambda x: np_lrn(x, size, **kw),
             torch_fn=None if torch is None else lambda x: TF.local_response_norm(x, size, **kw))


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match="local_response_norm: expected an input of shape"):
        F.local_response_norm(nb.zeros(2, 3), 2)


@pytest.mark.parametrize("shape, p, dim", [((3, 4), 2.0, 1), ((2, 3, 2), 2.0, -1),
                                           ((4,), 2.0, 0), ((3, 4), 3.0, 0), ((2, 0), 2.0, 1)])
def test_normalize(shape, p, dim):
    def ref(x):
        norm = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        return x / np.maximum(norm, 1e-12)
    check_op(lambda x: F.normalize(x, p, dim), [rand(*shape, low=0.3, high=2.0)], ref=ref,
             torch_fn=None if torch is None else lambda x: TF.normalize(x, p, dim))


def test_normalize_zero_vector_stays_finite():
    y = F.normalize(nb.zeros(2, 3), dim=1)
    np.testing.assert_array_equal(y.numpy(), 0.0)


def test_functional_exports():
    for name in ("batch_norm", "instance_norm", "layer_norm", "group_norm",
                 "local_response_norm", "normalize"):
        assert getattr(F, name) is getattr(nb, name)
