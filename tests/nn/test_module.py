"""nn.Module: registration, traversal, state_dict / load_state_dict, modes, conversions,
zero_grad, apply, hooks and repr (behaviour a PyTorch user relies on)."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.nn import init
from tests.optest import needs_torch, torch


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(nb.ones(4))
        self.register_buffer("steps", nb.zeros(1))
        self.register_buffer("cache", nb.zeros(2), persistent=False)

    def forward(self, x):
        self.steps += 1
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))
        self.not_registered = [nn.Linear(2, 2)]  # a plain list: invisible, as in torch

    def forward(self, x):
        return self.head(self.block(x))


def test_parameters_buffers_children_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # as torch: a module's own parameters, then its children's, depth first
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.1.weight",
                     "head.1.bias"]
    assert sum(p.numel() for p in net.parameters()) == 4 * 3 + 4 + 4 + 2 * 4 + 2
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "head", "head.0",
                                                  "head.1"]
    assert len(list(net.parameters(recurse=False))) == 0
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_parameter("block.scale") is net.block.scale


def test_shared_parameters_are_listed_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    net.append(net[0])  # the same layer twice
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_state_dict_excludes_non_persistent_buffers_and_is_detached():
    net = Net()
    sd = net.state_dict()
    assert "block.cache" not in sd and "block.steps" in sd
    assert all(not v.requires_grad for v in sd.values())
    assert net.state_dict(keep_vars=True)["block.scale"] is net.block.scale


def test_load_state_dict_round_trip_and_strict_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    sd = dict(a.state_dict())
    sd.pop("head.1.bias")
    sd["extra.weight"] = nb.ones(1)
    with pytest.raises(RuntimeError, match=r"missing keys: head\.1\.bias(.|\n)*unexpected keys: "
                                           r"extra\.weight"):
        b.load_state_dict(sd)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.1.bias"] and result.unexpected_keys == ["extra.weight"]
    bad = dict(a.state_dict())
    bad["block.fc.weight"] = nb.ones(5, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for block\.fc\.weight: checkpoint "
                                           r"has shape \(5, 3\), the model has \(4, 3\)"):
        b.load_state_dict(bad, strict=False)


def test_load_state_dict_keeps_parameter_identity_and_accepts_numpy():
    net = Net()
    weight = net.block.fc.weight
    net.load_state_dict({k: np.zeros(tuple(v.shape)) for k, v in net.state_dict().items()})
    assert net.block.fc.weight is weight and weight.dtype == nb.float32
    assert np.all(weight.detach().numpy() == 0)


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.head.train(False)
    assert net.training and not net.head[1].training


def test_to_float64_keeps_identity_and_converts_buffers_and_grads():
    net = Net()
    w = net.block.fc.weight
    net(nb.randn(2, 3)).sum().backward()
    assert net.to(nb.float64) is net
    assert net.block.fc.weight is w and w.dtype == nb.float64 and w.grad.dtype == nb.float64
    assert net.block.steps.dtype == nb.float64
    assert net(nb.randn(2, 3, dtype=nb.float64)).dtype == nb.float64
    net.float()
    assert w.dtype == nb.float32
    ints = nn.Module()
    ints.register_buffer("count", nb.tensor([3]))
    ints.to(nb.float64)
    assert ints.count.dtype == nb.int64  # only floating tensors change dtype


def test_zero_grad():
    net = Net()
    net(nb.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_apply_reinitialises_every_linear():
    net = Net()

    def reinit(m):
        if isinstance(m, nn.Linear):
            init.constant_(m.weight, 0.5)
            init.zeros_(m.bias)
    assert net.apply(reinit) is net
    for m in net.modules():
        if isinstance(m, nn.Linear):
            assert np.all(m.weight.detach().numpy() == 0.5)
            assert np.all(m.bias.detach().numpy() == 0)


@needs_torch
def test_apply_order_matches_torch():
    def visit(lib):
        m = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.Sequential(lib.nn.ReLU(),
                                                                    lib.nn.Tanh()))
        order = []
        m.apply(lambda mod: order.append(type(mod).__name__))
        return order
    assert visit(nb) == visit(torch)


@needs_torch
def test_reassigning_keeps_state_dict_order_like_torch():
    def keys(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Linear(1, 1)
        m.b = lib.nn.Linear(1, 1)
        m.a = lib.nn.Linear(1, 1)
        return list(m.state_dict())
    assert keys(nb) == keys(torch)


def test_forward_hooks_and_pre_hooks():
    net = Net()
    seen = []
    h1 = net.head.register_forward_pre_hook(lambda m, args: seen.append(("pre", args[0].shape)))
    h2 = net.head.register_forward_hook(lambda m, args, out: seen.append(("post", out.shape)))
    net(nb.randn(5, 3))
    assert seen == [("pre", (5, 4)), ("post", (5, 2))]
    h1.remove()
    h2.remove()
    net(nb.randn(5, 3))
    assert len(seen) == 2
    # a pre-hook may replace the inputs, a forward hook the output
    net.head.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h = net.head.register_forward_hook(lambda m, args, out: out + 100)
    out = net(nb.randn(5, 3))
    np.testing.assert_allclose(out.detach().numpy(),
                               net.head[1].bias.detach().numpy() + 100 + np.zeros((5, 2)),
                               rtol=1e-6)
    h.remove()


def test_repr_tree_with_parameter_counts():
    text = repr(Net())
    lines = text.splitlines()
    assert lines[0] == "Net("
    assert "  (block): Block(" in lines
    assert "    (fc): Linear(in_features=3, out_features=4, bias=True)  # 16 parameters" in lines
    assert "  (head): Sequential(" in lines
    assert "    (0): ReLU()" in lines
    assert lines[-1] == ")  # 30 parameters"


@needs_torch
def test_repr_with_extra_repr_and_children_like_torch():
    assert repr(nn.Maxout(2, 2)).splitlines()[1] == "  in_features=2, out_features=2, pieces=2"


def test_setattr_errors_and_parameter_assignment():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(nb.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight'"):
        m.weight = nb.ones(2, 2)
    m.weight = nn.Parameter(nb.ones(2, 2))
    assert set(m.state_dict()) == {"weight", "bias"}
    m.bias = None
    assert list(m.state_dict()) == ["weight"]
    np.testing.assert_allclose(m(nb.ones(1, 2)).detach().numpy(), [[2.0, 2.0]])


def test_requires_grad_and_freezing():
    net = Net()
    net.block.requires_grad_(False)
    net(nb.randn(2, 3)).sum().backward()
    assert net.block.fc.weight.grad is None and net.head[1].weight.grad is not None


def test_deepcopy_gives_an_independent_module():
    import copy
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m[0].weight.grad = nb.ones(2, 3)
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight.requires_grad
    assert list(c.state_dict()) == list(m.state_dict())
    for a, b in zip(c.state_dict().values(), m.state_dict().values()):
        assert a is not b and np.array_equal(a.numpy(), b.numpy())
    c[0].weight.data[...] = 0.0
    c[1].running_mean.data[...] = 5.0
    assert m[0].weight.data.any() and not m[1].running_mean.data.any()
    np.testing.assert_array_equal(c[0].weight.grad.numpy(), np.ones((2, 3)))
    assert c[0].weight.grad is not m[0].weight.grad
    with pytest.raises(RuntimeError, match="only leaf tensors support deepcopy"):
        copy.deepcopy(m[0].weight * 2)
