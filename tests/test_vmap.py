"""nabla.func.vmap against torch.func.vmap: in_dims/out_dims, nested inputs and outputs,
randomness, and per-sample gradients composed with grad."""
import numpy as np
import pytest

import nabla as nb
from nabla.func import grad, vmap
from tests.optest import needs_torch, rand

try:
    import torch
    import torch.func as tf
except ImportError:  # pragma: no cover
    torch = None


def T(a):
    return torch.tensor(np.asarray(a))


def close(ours, theirs, atol=1e-10):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=atol,
                               rtol=1e-7)


@needs_torch
def test_vmap_matches_torch_on_functions():
    x, y, w = rand(5, 3), rand(5, 3, seed=1), rand(3, 4, seed=2)
    close(vmap(lambda a, b: (a * b).sum())(nb.tensor(x), nb.tensor(y)),
          tf.vmap(lambda a, b: (a * b).sum())(T(x), T(y)))
    close(vmap(lambda a, m: a @ m, in_dims=(0, None))(nb.tensor(x), nb.tensor(w)),
          tf.vmap(lambda a, m: a @ m, in_dims=(0, None))(T(x), T(w)))
    # batch along dim 1 of the first input, output batch dim 1
    close(vmap(lambda a, b: a.exp() + b, in_dims=(1, 0), out_dims=1)(nb.tensor(x.T), nb.tensor(y)),
          tf.vmap(lambda a, b: a.exp() + b, in_dims=(1, 0), out_dims=1)(T(x.T), T(y)))
    # nested vmap: an outer product
    close(vmap(vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))(
        nb.tensor(x[:, 0]), nb.tensor(y[:, 0])),
        tf.vmap(tf.vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))(
            T(x[:, 0]), T(y[:, 0])))


@needs_torch
def test_vmap_nested_inputs_and_outputs():
    x, y = rand(4, 3), rand(4, 2, seed=1)

    def f(d, pair):
        a, b = pair
        return {"sum": d["u"].sum() + a.sum(), "both": (d["u"] * 2, b - a.mean())}

    ours = vmap(f, in_dims=({"u": 0}, [0, 0]))({"u": nb.tensor(x)}, [nb.tensor(y), nb.tensor(x)])
    theirs = tf.vmap(f, in_dims=({"u": 0}, [0, 0]))({"u": T(x)}, [T(y), T(x)])
    assert set(ours) == {"sum", "both"} and isinstance(ours["both"], tuple)
    close(ours["sum"], theirs["sum"])
    close(ours["both"][0], theirs["both"][0])
    close(ours["both"][1], theirs["both"][1])
    # out_dims per output, None for an unbatched output is an error in torch: only ints here
    o1, o2 = vmap(lambda a: (a, a.sum()), out_dims=(1, 0))(nb.tensor(x))
    t1, t2 = tf.vmap(lambda a: (a, a.sum()), out_dims=(1, 0))(T(x))
    close(o1, t1)
    close(o2, t2)


def test_vmap_chunk_size_and_errors():
    x = nb.tensor(rand(7, 3))
    np.testing.assert_allclose(vmap(lambda a: a.sum(), chunk_size=2)(x).numpy(),
                               x.sum(1).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="disagree on the batch size"):
        vmap(lambda a, b: a + b)(nb.ones(3, 2), nb.ones(4, 2))
    with pytest.raises(ValueError, match="at least one input must be mapped"):
        vmap(lambda a: a, in_dims=None)(nb.ones(3))
    with pytest.raises(ValueError, match="in_dims"):
        vmap(lambda a, b: a + b, in_dims=(0,))(nb.ones(3), nb.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        vmap(lambda a: a, in_dims=2)(nb.ones(3, 2))
    with pytest.raises(ValueError, match="randomness"):
        vmap(lambda a: a, randomness="maybe")
    with pytest.raises(ValueError, match="chunk_size"):
        vmap(lambda a: a, chunk_size=0)(nb.ones(3))


def test_vmap_randomness():
    x = nb.zeros(4, 3)
    with pytest.raises(RuntimeError, match="randomness='error'"):
        vmap(lambda a: a + nb.randn(3))(x)
    with pytest.raises(RuntimeError, match="randomness='error'"):
        vmap(lambda a: nb.nn.functional.dropout(a + 1, 0.5, training=True))(x)
    nb.manual_seed(0)
    diff = vmap(lambda a: a + nb.randn(3), randomness="different")(x)
    assert not np.allclose(diff[0].numpy(), diff[1].numpy())
    nb.manual_seed(0)
    draws = np.stack([nb.randn(3).numpy() for _ in range(4)])  # one draw per sample, in order
    np.testing.assert_array_equal(diff.numpy(), draws)
    same = vmap(lambda a: a + nb.randn(3), randomness="same")(x)
    for i in range(1, 4):
        np.testing.assert_array_equal(same[i].numpy(), same[0].numpy())
    # deterministic functions are fine under "error"
    np.testing.assert_array_equal(vmap(lambda a: a + 1)(x).numpy(), np.ones((4, 3)))


def test_vmap_is_differentiable():
    x = nb.tensor(rand(5, 3), requires_grad=True)
    w = nb.tensor(rand(3, seed=1), requires_grad=True)
    out = vmap(lambda a, v: (a * v).sin().sum(), in_dims=(0, None))(x, w)
    out.sum().backward()
    ref_x = x.detach().numpy()
    wv = w.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(ref_x * wv) * wv, rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), (np.cos(ref_x * wv) * ref_x).sum(0), rtol=1e-10)


def _mlp_loss(lib):
    def loss(params, x, y):
        h = lib.tanh(x @ params["w1"] + params["b1"])
        out = h @ params["w2"] + params["b2"]
        return ((out - y) ** 2).mean()
    return loss


@needs_torch
def test_per_sample_gradients_of_mlp_match_torch():
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((4, 8)), "b1": rng.standard_normal(8),
              "w2": rng.standard_normal((8, 2)), "b2": rng.standard_normal(2)}
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    ours = vmap(grad(_mlp_loss(nb)), in_dims=(None, 0, 0))(
        {k: nb.tensor(v) for k, v in params.items()}, nb.tensor(x), nb.tensor(y))
    theirs = tf.vmap(tf.grad(_mlp_loss(torch)), in_dims=(None, 0, 0))(
        {k: T(v) for k, v in params.items()}, T(x), T(y))
    assert set(ours) == set(params)
    for k in params:
        assert ours[k].shape == (6,) + params[k].shape
        close(ours[k], theirs[k])
    # the mean of the per-sample gradients is the batch gradient
    batch = grad(_mlp_loss(nb))({k: nb.tensor(v) for k, v in params.items()},
                                nb.tensor(x), nb.tensor(y))
    for k in params:
        close(ours[k].mean(0), batch[k])


@needs_torch
def test_vmap_of_module_via_functional_call():
    torch.manual_seed(0)
    tnet = torch.nn.Linear(3, 2).double()
    net = nb.nn.Linear(3, 2)
    net.weight.data = nb.tensor(tnet.weight.detach().numpy())
    net.bias.data = nb.tensor(tnet.bias.detach().numpy())
    x = rand(5, 3)
    params = dict(net.named_parameters())
    tparams = dict(tnet.named_parameters())

    def ours_loss(p, xi):
        return nb.func.functional_call(net, p, (xi,)).pow(2).sum()

    def theirs_loss(p, xi):
        return tf.functional_call(tnet, p, (xi,)).pow(2).sum()

    ours = vmap(grad(ours_loss), in_dims=(None, 0))(params, nb.tensor(x))
    theirs = tf.vmap(tf.grad(theirs_loss), in_dims=(None, 0))(tparams, T(x))
    for k in theirs:
        close(ours[k], theirs[k])
