"""AdaptiveLogSoftmaxWithLoss, ChannelShuffle, conv/linear + batch norm fusion, skip_init,
functional_call, StackDataset and DistributedSampler, against PyTorch where it has them."""
import itertools

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.data import DataLoader, DistributedSampler, StackDataset, TensorDataset
from nabla.nn.utils.stateless import functional_call
from tests.optest import gradcheck_with_params, needs_torch, rand, torch


def copy_weights(module, tmodule):
    """Give ``module`` the weights of its torch twin (float64), key for key."""
    state = {k: nb.tensor(v.detach().numpy()) for k, v in tmodule.state_dict().items()}
    assert list(module.state_dict()) == list(state)
    module.load_state_dict(state)


# -- AdaptiveLogSoftmaxWithLoss ------------------------------------------------------------------
def asm_pair(head_bias, seed=0):
    torch.manual_seed(seed)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 6, 10], div_value=2.0,
                                            head_bias=head_bias).double()
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 6, 10], div_value=2.0, head_bias=head_bias,
                                      dtype=nb.float64)
    copy_weights(m, t)
    return m, t


@needs_torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    m, t = asm_pair(head_bias)
    x = rand(9, 8, seed=1)
    y = np.array([0, 2, 3, 5, 6, 9, 10, 11, 4])  # every cluster, both ends of each
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, loss = m(xn, nb.tensor(y))
    tout, tloss = t(xt, torch.tensor(y))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(loss.item(), tloss.item(), atol=1e-12)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    for (name, p), (_, tp) in zip(m.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-12, err_msg=name)
    with nb.no_grad():
        np.testing.assert_allclose(m.log_prob(nb.tensor(x)).numpy(),
                                   t.log_prob(torch.tensor(x)).detach().numpy(), atol=1e-12)
        np.testing.assert_array_equal(m.predict(nb.tensor(x)).numpy(),
                                      t.predict(torch.tensor(x)).numpy())


@needs_torch
def test_adaptive_log_softmax_unbatched_and_named_fields():
    m, t = asm_pair(False, seed=2)
    x = rand(8, seed=3)
    result = m(nb.tensor(x), nb.tensor(np.array(7)))
    tresult = t(torch.tensor(x), torch.tensor(7))
    assert result.output.shape == () and result.loss.shape == ()
    np.testing.assert_allclose(result.output.item(), tresult.output.item(), atol=1e-12)
    np.testing.assert_allclose(m.log_prob(nb.tensor(x)).detach().numpy(),
                               t.log_prob(torch.tensor(x)[None])[0].detach().numpy(), atol=1e-12)


def test_adaptive_log_softmax_probabilities_sum_to_one_and_gradcheck():
    nb.manual_seed(0)
    m = nn.AdaptiveLogSoftmaxWithLoss(6, 9, [2, 5], div_value=2.0, dtype=nb.float64,
                                      head_bias=True)
    x = rand(4, 6, seed=4)
    total = m.log_prob(nb.tensor(x)).exp().sum(-1).detach().numpy()
    np.testing.assert_allclose(total, np.ones(4), atol=1e-12)
    out = m(nb.tensor(x), nb.tensor(np.array([1, 8, 3, 0])))[0].detach().numpy()
    full = m.log_prob(nb.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, full[np.arange(4), [1, 8, 3, 0]], atol=1e-12)
    y = nb.tensor(np.array([4, 0, 8, 2]))
    assert gradcheck_with_params(m, lambda a: m(a, y).loss, [nb.tensor(x, requires_grad=True)])


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs must be"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5, 3])
    with pytest.raises(ValueError, match="cutoffs must be"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 10])
    m = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])
    with pytest.raises(RuntimeError, match=r"target values must lie in \[0, 9\]"):
        m(nb.randn(2, 4), nb.tensor(np.array([1, 10])))
    with pytest.raises(RuntimeError, match="differ in batch size"):
        m(nb.randn(3, 4), nb.tensor(np.array([1, 2])))
    with pytest.raises(RuntimeError, match=r"expected input of shape \(N, 4\)"):
        m(nb.randn(2, 5), nb.tensor(np.array([1, 2])))


# -- fusion ----------------------------------------------------------------------------------------
def randomise_bn(bn, seed):
    rng = np.random.default_rng(seed)
    c = bn.num_features
    bn.running_mean.copy_(nb.tensor(rng.standard_normal(c)).to(bn.running_mean.dtype))
    bn.running_var.copy_(nb.tensor(rng.uniform(0.5, 2, c)).to(bn.running_var.dtype))
    if bn.weight is not None:
        with nb.no_grad():
            bn.weight.copy_(nb.tensor(rng.standard_normal(c)).to(bn.weight.dtype))
            bn.bias.copy_(nb.tensor(rng.standard_normal(c)).to(bn.bias.dtype))


@pytest.mark.parametrize("make,bn_cls,transpose,bias,affine", [
    (lambda b: nn.Conv2d(3, 4, 3, bias=b, dtype=nb.float64), nn.BatchNorm2d, False, True, True),
    (lambda b: nn.Conv1d(3, 4, 2, bias=b, dtype=nb.float64), nn.BatchNorm1d, False, False, False),
    (lambda b: nn.Conv3d(2, 4, 2, groups=2, bias=b, dtype=nb.float64), nn.BatchNorm3d, False,
     True, True),
    (lambda b: nn.ConvTranspose2d(3, 4, 3, bias=b, dtype=nb.float64), nn.BatchNorm2d, True,
     False, True),
])
def test_fuse_conv_bn_eval_equals_unfused(make, bn_cls, transpose, bias, affine):
    nb.manual_seed(0)
    conv, bn = make(bias).eval(), bn_cls(4, affine=affine, dtype=nb.float64).eval()
    randomise_bn(bn, 1)
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    x = nb.tensor(rand(2, conv.in_channels, *(5,) * (conv.weight.ndim - 2), seed=2))
    with nb.no_grad():
        np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), atol=1e-12)
    assert isinstance(fused.weight, nn.Parameter) and isinstance(fused.bias, nn.Parameter)
    assert fused is not conv and (conv.bias is None) == (not bias)  # the original is untouched


def test_fuse_linear_bn_eval_equals_unfused():
    nb.manual_seed(0)
    for features in (4, 1):
        linear = nn.Linear(5, 4, dtype=nb.float64).eval()
        bn = nn.BatchNorm1d(features, dtype=nb.float64).eval()
        randomise_bn(bn, 3)
        fused = nn.utils.fuse_linear_bn_eval(linear, bn)
        x = nb.tensor(rand(3, 5, seed=4))
        with nb.no_grad():  # one feature: the statistics are shared by all outputs
            want = bn(linear(x)) if features == 4 else bn(linear(x)[:, None, :])[:, 0, :]
            np.testing.assert_allclose(fused(x).numpy(), want.numpy(), atol=1e-12)


@needs_torch
def test_fuse_weights_match_torch():
    rng = np.random.default_rng(5)
    w, b = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    bw, bb = rng.standard_normal(4), rng.standard_normal(4)
    from torch.nn.utils import fuse_conv_bn_weights as tfuse
    from torch.nn.utils import fuse_linear_bn_weights as tlfuse
    for fuse, tf, weight in ((nn.utils.fuse_conv_bn_weights, tfuse, w),
                             (nn.utils.fuse_linear_bn_weights, tlfuse, w[:, :, 0, 0])):
        got = fuse(*map(nb.tensor, (weight, b, rm, rv)), 1e-3, nb.tensor(bw), nb.tensor(bb))
        want = tf(*map(torch.tensor, (weight, b, rm, rv)), 1e-3, torch.tensor(bw),
                  torch.tensor(bb))
        for g, t in zip(got, want):
            np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), atol=1e-12)


def test_fuse_requires_eval_mode():
    with pytest.raises(RuntimeError, match="fuse_conv_bn_eval: fusing is only for eval mode"):
        nn.utils.fuse_conv_bn_eval(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    with pytest.raises(ValueError, match="out_features = 3"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval())


# -- skip_init -------------------------------------------------------------------------------
def test_skip_init_builds_without_drawing_random_numbers():
    nb.manual_seed(7)
    reference = nn.Linear(3, 4).weight.detach().numpy()
    nb.manual_seed(7)
    layer = nn.utils.skip_init(nn.Linear, 3, 4, bias=False)
    assert layer.weight.shape == (4, 3) and layer.bias is None
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad
    # the stream was not advanced: the next layer gets the first draws
    np.testing.assert_array_equal(nn.Linear(3, 4).weight.detach().numpy(), reference)
    nn.init.ones_(layer.weight)  # the initialisers work again afterwards
    np.testing.assert_array_equal(layer.weight.detach().numpy(), np.ones((4, 3)))


def test_skip_init_needs_a_device_argument():
    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(RuntimeError, match="must accept a 'device' argument"):
        nn.utils.skip_init(NoDevice, 3)


# -- functional_call -------------------------------------------------------------------------
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3, bias=False, dtype=nb.float64)
        self.b = nn.Linear(3, 3, bias=False, dtype=nb.float64)
        self.b.weight = self.a.weight
        self.register_buffer("shift", nb.zeros(3, dtype=nb.float64))

    def forward(self, x):
        return self.b(self.a(x)) + self.shift


def test_functional_call_swaps_and_restores():
    nb.manual_seed(0)
    m = Tied()
    x = nb.tensor(rand(2, 3, seed=8))
    own = m.a.weight
    w = nb.tensor(rand(3, 3, seed=9), requires_grad=True)
    shift = nb.tensor(np.arange(3.0))
    out = functional_call(m, ({"a.weight": w}, {"shift": shift}), x)  # tied: b.weight too
    np.testing.assert_allclose(out.detach().numpy(),
                               x.numpy() @ w.detach().numpy().T @ w.detach().numpy().T + [0, 1, 2],
                               atol=1e-12)
    out.sum().backward()
    assert w.grad is not None and own.grad is None
    assert m.a.weight is own and m.b.weight is own and float(m.shift.sum().item()) == 0
    untied = functional_call(m, {"a.weight": w}, (x,), tie_weights=False)
    np.testing.assert_allclose(untied.detach().numpy(),
                               x.numpy() @ w.detach().numpy().T @ own.detach().numpy().T,
                               atol=1e-12)
    assert nb.func.functional_call is functional_call


def test_functional_call_errors_and_restores_on_error():
    m = Tied()
    own = m.a.weight
    with pytest.raises(ValueError, match="appear in more than one dict"):
        functional_call(m, ({"shift": nb.zeros(3)}, {"shift": nb.ones(3)}), nb.zeros(1, 3))
    with pytest.raises(ValueError, match="tied names"):
        functional_call(m, {"a.weight": nb.zeros(3, 3), "b.weight": nb.ones(3, 3)},
                        nb.zeros(1, 3))
    with pytest.raises(RuntimeError, match=r"missing names \['shift'\]"):
        functional_call(m, {"a.weight": nb.zeros(3, 3)}, nb.zeros(1, 3), strict=True)
    with pytest.raises(Exception):
        functional_call(m, {"a.weight": nb.zeros(2, 2)}, nb.zeros(1, 3, dtype=nb.float64))
    assert m.a.weight is own and m.b.weight is own


@needs_torch
def test_functional_call_matches_torch():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(nb.float64)
    copy_weights(m, t)
    new = {k: rand(*v.shape, seed=i) for i, (k, v) in enumerate(t.state_dict().items())}
    x = rand(5, 3, seed=10)
    got = functional_call(m, {k: nb.tensor(v) for k, v in new.items()}, nb.tensor(x))
    want = torch.func.functional_call(t, {k: torch.tensor(v) for k, v in new.items()},
                                      torch.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-12)


# -- StackDataset ----------------------------------------------------------------------------
def test_stack_dataset_tuple_and_dict_forms():
    xs, ys = nb.tensor(rand(5, 2)), list("abcde")
    ds = StackDataset(TensorDataset(xs), ys)
    assert len(ds) == 5
    first, letter = ds[3]
    np.testing.assert_array_equal(first[0].numpy(), xs[3].numpy())
    assert letter == "d"
    named = StackDataset(x=xs, y=ys)
    assert named[1]["y"] == "b" and set(named[1]) == {"x", "y"}
    assert [s["y"] for s in named.__getitems__([4, 0])] == ["e", "a"]
    batch = next(iter(DataLoader(named, batch_size=3)))
    np.testing.assert_array_equal(batch["x"].numpy(), xs[:3].numpy())
    assert list(batch["y"]) == ["a", "b", "c"]


def test_stack_dataset_errors():
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="not both"):
        StackDataset([1], y=[2])
    with pytest.raises(ValueError, match="at least one dataset"):
        StackDataset()


@needs_torch
def test_stack_dataset_matches_torch():
    a, b = list(range(4)), [x * x for x in range(4)]
    tds = torch.utils.data.StackDataset(a, b)
    assert [StackDataset(a, b)[i] for i in range(4)] == [tds[i] for i in range(4)]
    assert StackDataset(a=a, b=b).__getitems__([2, 1]) == \
        torch.utils.data.StackDataset(a=a, b=b).__getitems__([2, 1])


# -- DistributedSampler ------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("n", [0, 1, 10, 13])
def test_distributed_sampler_matches_torch(n):
    for replicas, shuffle, seed, drop_last in itertools.product(
            (1, 3, 4), (True, False), (0, 2**32 + 5), (False, True)):
        for rank, epoch in itertools.product(range(replicas), (0, 2)):
            ours = DistributedSampler(range(n), replicas, rank, shuffle, seed, drop_last)
            theirs = torch.utils.data.DistributedSampler(range(n), replicas, rank, shuffle, seed,
                                                         drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs) and len(ours) == len(theirs), \
                (n, replicas, rank, shuffle, seed, drop_last, epoch)


def test_distributed_sampler_partitions_the_data():
    n, replicas = 23, 4
    shares = [list(DistributedSampler(range(n), replicas, r, seed=3)) for r in range(replicas)]
    assert all(len(s) == 6 for s in shares)
    assert set().union(*shares) == set(range(n))  # every index, one pad of 1 repeated
    dropped = [list(DistributedSampler(range(n), replicas, r, drop_last=True)) for r in range(4)]
    assert sum(map(len, dropped)) == 20 and len(set().union(*dropped)) == 20
    s = DistributedSampler(range(n), replicas, 0, seed=3)
    s.set_epoch(1)
    assert list(s) != shares[0]  # a new epoch, a new order


def test_distributed_sampler_errors():
    with pytest.raises(RuntimeError, match="pass num_replicas and rank explicitly"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match=r"invalid rank 2.*\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_channel_shuffle_layer():
    x = nb.tensor(np.arange(12.0).reshape(1, 6, 2))
    out = nn.ChannelShuffle(2)(x).numpy()
    np.testing.assert_array_equal(out[0, :, 0], [0, 6, 2, 8, 4, 10])
