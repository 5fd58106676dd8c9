"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict: list/dict behaviour,
registration, state_dict keys equal to torch's, torch checkpoints loading key for key."""
from collections import OrderedDict

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from tests.optest import needs_torch, rand, torch


def _names(container):
    return list(container._modules)


# -- Sequential ---------------------------------------------------------------------------
def test_sequential_forward_and_indexing():
    l1, act, l2 = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    seq = nn.Sequential(l1, act, l2)
    assert len(seq) == 3 and list(seq) == [l1, act, l2]
    assert seq[0] is l1 and seq[-1] is l2 and seq[-3] is l1
    x = nb.randn(5, 3)
    np.testing.assert_allclose(seq(x).detach().numpy(), l2(act(l1(x))).detach().numpy())
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [l1, act]
    assert _names(seq[1:]) == ["1", "2"]  # slices keep the names, as in torch
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 entries"):
        seq[3]
    with pytest.raises(TypeError, match="Sequential: expected a Module, got int"):
        nn.Sequential(nn.ReLU(), 3)


def test_sequential_ordered_dict_names():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert seq.fc is seq[0] and isinstance(seq.act, nn.Tanh)


def test_sequential_mutation():
    a, b, c, d = nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.SiLU()
    seq = nn.Sequential(a, b)
    assert seq.append(c) is seq and list(seq) == [a, b, c]
    seq.insert(1, d)
    assert list(seq) == [a, d, b, c] and _names(seq) == ["0", "1", "2", "3"]
    seq[0] = nn.ELU()
    assert isinstance(seq[0], nn.ELU)
    del seq[1]
    assert list(seq)[1:] == [b, c] and _names(seq) == ["0", "1", "2"]
    assert seq.pop(-1) is c and len(seq) == 2
    seq.extend([a, c])
    assert len(seq) == 4
    del seq[1:3]
    assert len(seq) == 2 and _names(seq) == ["0", "1"]
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b]


# -- ModuleList ---------------------------------------------------------------------------
def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(0, nn.Sigmoid())
    assert isinstance(layers[0], nn.Sigmoid) and isinstance(layers[-1], nn.Tanh)
    assert _names(layers) == [str(i) for i in range(6)]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert _names(layers) == [str(i) for i in range(5)] and isinstance(layers[0], nn.Linear)
    layers += [nn.ReLU()]
    assert len(layers) == 6
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        layers(nb.ones(2))
    with pytest.raises(TypeError, match="ModuleList: expected a Module, got str"):
        layers.append("relu")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(3, 2), "reg": nn.Linear(3, 1)})
        self.scales = nn.ParameterList([nb.ones(3), nn.Parameter(nb.zeros(3))])
        self.extra = nn.ParameterDict({"temperature": nb.ones(1)})

    def forward(self, x):
        for block in self.blocks:
            x = block(x).relu()
        x = x * self.scales[0] + self.scales[1]
        return self.heads["cls"](x) / self.extra["temperature"], self.heads["reg"](x)


def test_module_dict_and_parameter_containers():
    net = _Net()
    assert list(net.state_dict()) == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.cls.weight", "heads.cls.bias", "heads.reg.weight", "heads.reg.bias",
        "scales.0", "scales.1", "extra.temperature"]
    assert isinstance(net.scales[0], nn.Parameter) and net.scales[0].requires_grad
    cls, reg = net(nb.randn(4, 3))
    (cls.sum() + reg.sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    heads = net.heads
    assert "cls" in heads and list(heads) == ["cls", "reg"] and len(heads) == 2
    assert list(heads.keys()) == ["cls", "reg"]
    popped = heads.pop("reg")
    assert isinstance(popped, nn.Linear) and list(heads) == ["cls"]
    heads.update([("new", nn.ReLU())])
    assert list(dict(heads.items())) == ["cls", "new"]
    with pytest.raises(KeyError, match="ModuleDict has no key 'missing'"):
        heads["missing"]
    with pytest.raises(TypeError, match="ModuleDict: keys must be strings"):
        heads[0] = nn.ReLU()
    with pytest.raises(KeyError, match="key 'a.b' must be a non-empty string without"):
        heads["a.b"] = nn.ReLU()
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter or Tensor"):
        net.scales.append(3.0)
    assert len(net.extra) == 1 and "temperature" in net.extra


# -- against torch ------------------------------------------------------------------------
def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 8),
                             lib.nn.Tanh(), lib.nn.Linear(8, 3))


@needs_torch
def test_state_dict_keys_and_shapes_match_torch():
    ours, theirs = _mlp(nb), _mlp(torch)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    assert all(tuple(sd[k].shape) == tuple(tsd[k].shape) for k in sd)


@needs_torch
def test_torch_state_dict_loads_key_for_key_and_matches_forward_and_grads():
    ours, theirs = _mlp(nb), _mlp(torch)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = rand(5, 4).astype(np.float32)
    out, tout = ours(nb.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-6)
    out.square().sum().backward()
    tout.square().sum().backward()
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-5, err_msg=name)


@needs_torch
def test_nested_containers_keys_match_torch():
    def build(lib):
        nn_ = lib.nn
        m = nn_.Module()
        m.features = nn_.Sequential(nn_.Linear(2, 3), nn_.Sequential(nn_.ReLU(),
                                                                    nn_.Linear(3, 3)))
        m.heads = nn_.ModuleDict({"a": nn_.Linear(3, 1), "b": nn_.Bilinear(3, 3, 2)})
        m.blocks = nn_.ModuleList([nn_.Embedding(4, 3, padding_idx=0)])
        m.loss = nn_.CrossEntropyLoss(weight=lib.ones(3))
        return m
    sd, tsd = build(nb).state_dict(), build(torch).state_dict()
    assert list(sd) == list(tsd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in tsd.values()]


@needs_torch
def test_repr_matches_torch_layer_lines():
    ours, theirs = repr(_mlp(nb)).splitlines(), repr(_mlp(torch)).splitlines()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.split("  #")[0] == b  # ours adds parameter counts after "  #"
    assert ours[-1] == ")  # 139 parameters"
