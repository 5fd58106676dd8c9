"""Activation and loss modules against torch.nn's: constructor arguments, forward values,
gradients, repr, and (losses) weight buffers in the state_dict."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from tests.optest import needs_torch, rand, torch

pytestmark = needs_torch


def _away_from_kinks(shape, seed=0):
    """Values in [-3, 3] at least 0.1 away from the kinks at 0, +-1, +-0.5, +-3, 6."""
    x = rand(*shape, low=-3.0, high=3.0, seed=seed)
    for k in (0.0, 1.0, -1.0, 0.5, -0.5, 3.0, -3.0):
        close = np.abs(x - k) < 0.1
        x[close] = k + 0.15
    return x


def _compare(module, tmodule, inputs, diff=(0,), atol=1e-10):
    """Forward values and input gradients (random cotangent) of both, in float64."""
    module.to(nb.float64)
    tmodule.double()
    if list(tmodule.state_dict()):
        module.load_state_dict({k: v.numpy() for k, v in tmodule.state_dict().items()})
    xs = [nb.tensor(a, requires_grad=i in diff) for i, a in enumerate(inputs)]
    txs = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(inputs)]
    out, tout = module(*xs), tmodule(*txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=atol)
    cot = rand(*out.shape, seed=9)
    grads = nb.autograd.grad(out, [xs[i] for i in diff], grad_outputs=nb.tensor(cot))
    tgrads = torch.autograd.grad(tout, [txs[i] for i in diff], grad_outputs=torch.tensor(cot))
    for i, g, tg in zip(diff, grads, tgrads):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=atol, err_msg=f"input {i}")
    for (name, p), (_, tp) in zip(module.named_parameters(), tmodule.named_parameters()):
        (g,) = nb.autograd.grad(module(*xs), p, grad_outputs=nb.tensor(cot))
        (tg,) = torch.autograd.grad(tmodule(*txs), tp, grad_outputs=torch.tensor(cot))
        np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=atol, err_msg=name)


# -- activations --------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("ReLU6", (), {}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2,), {"inplace": True}), ("ELU", (), {"alpha": 0.7}),
    ("SELU", (), {}), ("CELU", (), {"alpha": 1.5}), ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}), ("Mish", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 0}),
    ("Softplus", (), {"beta": 2.0, "threshold": 1.5}), ("Softsign", (), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 0.7), {}), ("Hardswish", (), {}),
    ("Hardsigmoid", (), {}), ("LogSigmoid", (), {}), ("Tanhshrink", (), {}),
    ("Threshold", (0.2, -1.0), {}), ("Hardshrink", (), {"lambd": 0.8}), ("Softshrink", (), {}),
    ("PReLU", (), {}), ("PReLU", (4,), {"init": 0.1}),
]


@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS,
                         ids=[f"{n}{a}{k}" for n, a, k in ACTIVATIONS])
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (0, 4)])
def test_activation_module_matches_torch(name, args, kwargs, shape):
    module = getattr(nn, name)(*args, **kwargs)
    tmodule = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(module).split("  #")[0] == repr(tmodule)
    x = _away_from_kinks(shape)
    if kwargs.get("inplace"):
        # in place needs a non-leaf input: compare on 1 * x
        module_fn, tmodule_fn = (lambda x: module(x * 1.0)), (lambda x: tmodule(x * 1.0))
        _compare(_Wrap(module_fn), _TWrap(tmodule_fn), [x])
    else:
        _compare(module, tmodule, [x])


class _Wrap(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _TWrap(torch.nn.Module if torch is not None else object):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_prelu_parameter_and_errors():
    m = nn.PReLU(3, init=0.3)
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (3,)
    np.testing.assert_allclose(m.weight.detach().numpy(), 0.3)
    with pytest.raises(RuntimeError, match=r"PReLU: input of shape \(2, 4\) needs 3 channels"):
        m(nb.ones(2, 4))


def test_hardtanh_rejects_empty_range():
    with pytest.raises(ValueError, match="max_val \\(0.0\\) must be greater than min_val"):
        nn.Hardtanh(1.0, 0.0)


def test_softmax_module_default_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = nn.Softmax()(nb.tensor(rand(2, 3)))
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)


# -- losses --------------------------------------------------------------------------------
def _classes(n=5, c=4, seed=0):
    return np.random.default_rng(seed).integers(0, c, n)


def _pm_one(shape, seed=0):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


W4 = np.array([0.5, 1.0, 2.0, 1.5])
LOSSES = [
    ("CrossEntropyLoss", {}, lambda: [rand(5, 4), _classes()]),
    ("CrossEntropyLoss", {"weight": W4, "ignore_index": 2, "label_smoothing": 0.1,
                          "reduction": "sum"}, lambda: [rand(5, 4), _classes()]),
    ("CrossEntropyLoss", {"reduction": "none"}, lambda: [rand(2, 4, 3), _classes(6).reshape(2, 3)]),
    ("NLLLoss", {"weight": W4}, lambda: [rand(5, 4), _classes()]),
    ("BCELoss", {"weight": np.linspace(0.5, 2, 4)},
     lambda: [rand(3, 4, low=0.1, high=0.9), rand(3, 4, low=0, high=1, seed=1)]),
    ("BCEWithLogitsLoss", {"pos_weight": W4},
     lambda: [rand(3, 4), rand(3, 4, low=0, high=1, seed=1)]),
    ("MSELoss", {}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("L1Loss", {"reduction": "sum"}, lambda: [rand(3, 4), rand(3, 4, seed=1) + 0.05]),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("HuberLoss", {"delta": 0.7}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("KLDivLoss", {"reduction": "batchmean"},
     lambda: [np.log(rand(3, 4, low=0.1, high=1)), rand(3, 4, low=0.1, high=1, seed=1)]),
    ("KLDivLoss", {"log_target": True},
     lambda: [np.log(rand(3, 4, low=0.1, high=1)), np.log(rand(3, 4, low=0.1, high=1, seed=1))]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": W4}, lambda: [rand(5, 4), _classes()]),
    ("SoftMarginLoss", {}, lambda: [rand(3, 4), _pm_one((3, 4))]),
    ("HingeEmbeddingLoss", {"margin": 1.5}, lambda: [rand(3, 4), _pm_one((3, 4))]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: [rand(5, 3), rand(5, 3, seed=1),
                                                      _pm_one(5)]),
    ("GaussianNLLLoss", {"full": True}, lambda: [rand(3, 4), rand(3, 4, seed=1),
                                                 rand(3, 4, low=0.2, high=1, seed=2)]),
    ("PoissonNLLLoss", {}, lambda: [rand(3, 4), rand(3, 4, low=0, high=3, seed=1)]),
    ("PoissonNLLLoss", {"log_input": False, "full": True},
     lambda: [rand(3, 4, low=0.5, high=2), rand(3, 4, low=0, high=3, seed=1)]),
]


@pytest.mark.parametrize("name,kwargs,make", LOSSES, ids=[f"{n}-{sorted(k)}" for n, k, _ in LOSSES])
def test_loss_module_matches_torch(name, kwargs, make):
    weights = {k: v for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    module = getattr(nn, name)(**{**kwargs, **{k: nb.tensor(v, dtype=nb.float32)
                                              for k, v in weights.items()}})
    tmodule = getattr(torch.nn, name)(**{**kwargs, **{k: torch.tensor(v, dtype=torch.float32)
                                                     for k, v in weights.items()}})
    sd, tsd = module.state_dict(), tmodule.state_dict()
    assert list(sd) == list(tsd)  # weights are buffers, as in torch
    inputs = make()
    diff = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"
            and not (name in ("SoftMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss")
                     and i == len(inputs) - 1)]
    _compare(module, tmodule, inputs, diff=diff)  # .to(float64) also converts the buffers
    for key in sd:
        assert module.state_dict()[key].dtype == nb.float64


def test_loss_module_repr_and_reduction_errors():
    assert repr(nn.MSELoss()) == "MSELoss()"
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of 'mean', 'sum', "
                                         "'none', got 'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of .*'batchmean'"):
        nn.KLDivLoss(reduction="max")
    with pytest.raises(TypeError, match="CrossEntropyLoss: weight must be a Tensor or None"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])


def test_loss_module_legacy_flags_fold_into_reduction():
    with pytest.warns(UserWarning, match="size_average and reduce"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.NLLLoss(reduce=False).reduction == "none"
    t = torch.nn.MSELoss(size_average=False)
    assert t.reduction == "sum"


def test_loss_weight_buffer_is_not_a_parameter_and_follows_to():
    w = nb.tensor([1.0, 2.0, 3.0])
    loss = nn.CrossEntropyLoss(weight=w)
    assert list(loss.parameters()) == [] and list(loss.buffers()) == [w]
    loss.to(nb.float64)
    assert loss.weight.dtype == nb.float64
    out = loss(nb.tensor(rand(4, 3)), nb.tensor([0, 2, 1, 2]))
    tout = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))(
        torch.tensor(rand(4, 3)), torch.tensor([0, 2, 1, 2]))
    assert out.item() == pytest.approx(tout.item(), rel=1e-12)
