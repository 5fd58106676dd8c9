"""BatchNorm1d/2d/3d, InstanceNorm1d/2d, LayerNorm, GroupNorm, LocalResponseNorm and the
dropout layers against PyTorch's given the same weights: forward, input and parameter
gradients, running statistics and num_batches_tracked, train and eval; state_dict
keys, default initialisation, repr and errors."""
import inspect
import re

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from tests.optest import needs_torch, rand, torch


# torch >= 2.12 takes `bias=` in BatchNorm/InstanceNorm/GroupNorm and prints it in repr
TORCH_NORM_BIAS = torch is not None and "bias" in inspect.signature(
    torch.nn.BatchNorm1d.__init__).parameters


def skip_without_norm_bias(name: str, kwargs: dict) -> None:
    """Skip where the installed torch predates it (LayerNorm's repr changed with it)."""
    uses_bias = "bias" in kwargs and name != "LayerNorm"
    if not TORCH_NORM_BIAS and (uses_bias or name.startswith(("BatchNorm", "InstanceNorm",
                                                               "GroupNorm", "LayerNorm"))):
        pytest.skip(f"torch {torch.__version__} has no bias= argument for {name}")


def copy_from_torch(module, tmodule, randomize: bool = True):
    """Give ``tmodule`` non-default parameters and statistics, then load them into ``module``."""
    if randomize:
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in tmodule.parameters():
                p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 2 - 0.5)
            for name, b in tmodule.named_buffers():
                if b.dtype.is_floating_point:
                    b.copy_(torch.rand(b.shape, generator=gen, dtype=b.dtype) + 0.5)
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def assert_same_state(module, tmodule, atol):
    theirs = tmodule.state_dict()
    ours = module.state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key].numpy(), value.numpy(), atol=atol, rtol=atol,
                                   err_msg=key)
        assert ours[key].dtype.name == str(value.dtype).replace("torch.", ""), key


def step(module, tmodule, x, atol=1e-10, seed=0):
    """One forward and backward in both; compare output, input grad and parameter grads."""
    xn = nb.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y, ty = module(xn), tmodule(xt)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=atol, rtol=atol)
    cot = np.random.default_rng(seed).standard_normal(y.shape)
    (y * nb.tensor(cot, dtype=y.dtype)).sum().backward()
    (ty * torch.tensor(cot, dtype=ty.dtype)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=atol,
                               err_msg="input gradient")
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=atol,
                                   rtol=atol, err_msg=f"gradient of {name}")
    module.zero_grad()
    tmodule.zero_grad()


def strip_count(text: str) -> str:
    """nabla's repr appends '  # N parameters'; PyTorch's does not."""
    return re.sub(r"  # [\d,]+ parameters", "", text)


# -- batch norm ----------------------------------------------------------------------------
BN_CASES = [
    ("BatchNorm1d", (8, 3), {}),
    ("BatchNorm1d", (4, 3, 5), {"momentum": 0.3}),
    ("BatchNorm2d", (4, 3, 3, 2), {}),
    ("BatchNorm2d", (3, 2, 2, 2), {"momentum": None}),
    ("BatchNorm2d", (3, 2, 2, 2), {"affine": False}),
    ("BatchNorm2d", (3, 2, 2, 2), {"track_running_stats": False}),
    ("BatchNorm1d", (5, 2), {"bias": False, "eps": 1e-3}),
    ("BatchNorm3d", (2, 2, 2, 2, 2), {}),
]


@needs_torch
@pytest.mark.parametrize("name, shape, kwargs", BN_CASES)
def test_batch_norm_matches_torch_in_train_and_eval(name, shape, kwargs):
    if "bias" in kwargs:
        skip_without_norm_bias(name, kwargs)
    c = shape[1]
    module = getattr(nn, name)(c, **kwargs).double()
    tmodule = getattr(torch.nn, name)(c, **kwargs).double()
    copy_from_torch(module, tmodule)
    for i in range(3):  # training: batch statistics, running stats move
        step(module, tmodule, rand(*shape, seed=i) * (i + 1) + i, seed=i)
        assert_same_state(module, tmodule, atol=1e-10)
    if module.track_running_stats:
        assert module.num_batches_tracked.item() == 3
    module.eval()
    tmodule.eval()
    step(module, tmodule, rand(*shape, seed=7), seed=7)  # eval: running statistics
    assert_same_state(module, tmodule, atol=1e-10)


@needs_torch
def test_batch_norm_float32_default_dtype():
    module, tmodule = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    copy_from_torch(module, tmodule)
    x = rand(5, 4, 3, 3).astype(np.float32)
    for _ in range(2):
        step(module, tmodule, x, atol=2e-5)
    assert_same_state(module, tmodule, atol=1e-6)
    assert module.weight.dtype == nb.float32 and module.running_var.dtype == nb.float32


def test_batch_norm_cumulative_average_with_momentum_none():
    module = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rand(6, 2, seed=s) for s in range(3)]
    for b in batches:
        module(nb.tensor(b))
    np.testing.assert_allclose(module.running_mean.numpy(),
                               np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(module.running_var.numpy(),
                               np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0),
                               rtol=1e-12)


def test_batch_norm_state_and_defaults():
    bn = nn.BatchNorm2d(5)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    np.testing.assert_array_equal(bn.weight.detach().numpy(), 1.0)
    np.testing.assert_array_equal(bn.bias.detach().numpy(), 0.0)
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0.0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1.0)
    assert bn.num_batches_tracked.dtype == nb.int64 and bn.num_batches_tracked.shape == ()
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    bn.double()  # only floating state changes dtype
    assert bn.running_mean.dtype == nb.float64 and bn.num_batches_tracked.dtype == nb.int64
    bn(nb.randn(2, 5, 2, 2, dtype=nb.float64))
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_var.numpy(), 1.0)
    assert list(nn.BatchNorm1d(3, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert nn.BatchNorm1d(3, track_running_stats=False).running_mean is None


def test_batch_norm_eval_without_running_stats_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False).double().eval()
    x = rand(5, 2)
    np.testing.assert_allclose(bn(nb.tensor(x)).numpy(),
                               (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)


def test_batch_norm_eval_does_not_touch_running_stats():
    bn = nn.BatchNorm1d(3).eval()
    bn(nb.randn(4, 3))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0.0)


def test_batch_norm_errors_name_the_layer_and_expected_shape():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected 4-D input "
                                         r"\(N, 16, H, W\), got \(8, 16, 5\)"):
        nn.BatchNorm2d(16)(nb.zeros(8, 16, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected 4-D input "
                                         r"\(N, 16, H, W\), got \(8, 3, 5, 5\)"):
        nn.BatchNorm2d(16)(nb.zeros(8, 3, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected 2-D input \(N, 4\) or "
                                         r"3-D input \(N, 4, L\), got \(4,\)"):
        nn.BatchNorm1d(4)(nb.zeros(4))
    with pytest.raises(ValueError, match="expected more than 1 value per channel"):
        nn.BatchNorm1d(4)(nb.zeros(1, 4))


# -- instance norm -------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name, c, shape, kwargs", [
    ("InstanceNorm1d", 3, (2, 3, 5), {}),
    ("InstanceNorm1d", 3, (3, 5), {"affine": True}),  # unbatched
    ("InstanceNorm2d", 3, (2, 3, 2, 3), {"affine": True, "track_running_stats": True}),
    ("InstanceNorm2d", 3, (3, 2, 3), {"track_running_stats": True, "momentum": 0.5}),
])
def test_instance_norm_matches_torch(name, c, shape, kwargs):
    module = getattr(nn, name)(c, **kwargs).double()
    tmodule = getattr(torch.nn, name)(c, **kwargs).double()
    copy_from_torch(module, tmodule)
    for i in range(2):
        step(module, tmodule, rand(*shape, seed=i) + i, seed=i)
        assert_same_state(module, tmodule, atol=1e-10)
    module.eval()
    tmodule.eval()
    step(module, tmodule, rand(*shape, seed=5), seed=5)


def test_instance_norm_channel_checks():
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3\): expected 3-D input \(3, H, W\) "
                                         r"or 4-D input \(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        nn.InstanceNorm2d(3, affine=True)(nb.zeros(2, 4, 5, 5))
    with pytest.warns(UserWarning, match="InstanceNorm2d"):  # no per-channel state: warns
        nn.InstanceNorm2d(3)(nb.randn(2, 4, 5, 5))


# -- layer norm and group norm -------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("normalized_shape, shape, kwargs", [
    (4, (3, 4), {}), ((3, 4), (2, 3, 4), {}), ([4], (2, 2, 4), {"elementwise_affine": False}),
    (5, (2, 5), {"bias": False, "eps": 1e-3}), (3, (0, 3), {}),
])
def test_layer_norm_matches_torch(normalized_shape, shape, kwargs):
    module = nn.LayerNorm(normalized_shape, **kwargs).double()
    tmodule = torch.nn.LayerNorm(normalized_shape, **kwargs).double()
    copy_from_torch(module, tmodule)
    assert_same_state(module, tmodule, atol=0)
    step(module, tmodule, rand(*shape))


@needs_torch
@pytest.mark.parametrize("groups, channels, shape, kwargs", [
    (2, 4, (3, 4, 5), {}), (3, 6, (2, 6, 2, 2), {}), (1, 3, (2, 3), {"affine": False}),
    (4, 4, (2, 4, 3), {"bias": False}),
])
def test_group_norm_matches_torch(groups, channels, shape, kwargs):
    if "bias" in kwargs:
        skip_without_norm_bias("GroupNorm", kwargs)
    module = nn.GroupNorm(groups, channels, **kwargs).double()
    tmodule = torch.nn.GroupNorm(groups, channels, **kwargs).double()
    copy_from_torch(module, tmodule)
    assert_same_state(module, tmodule, atol=0)
    step(module, tmodule, rand(*shape))


@needs_torch
def test_local_response_norm_matches_torch():
    module, tmodule = nn.LocalResponseNorm(3, alpha=0.3, beta=0.6, k=2.0), \
        torch.nn.LocalResponseNorm(3, alpha=0.3, beta=0.6, k=2.0)
    step(module, tmodule, rand(2, 5, 3, 2))


def test_default_init_of_affine_layers():
    ln, gn = nn.LayerNorm((2, 3)), nn.GroupNorm(2, 4)
    assert ln.weight.shape == (2, 3) and gn.weight.shape == (4,)
    for p in (ln.weight, gn.weight):
        np.testing.assert_array_equal(p.detach().numpy(), 1.0)
    for p in (ln.bias, gn.bias):
        np.testing.assert_array_equal(p.detach().numpy(), 0.0)
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []
    assert list(nn.GroupNorm(1, 3, affine=False).state_dict()) == []


def test_layer_and_group_norm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\)\): expected input of shape "
                                         r"\(\*, 4\), got \(2, 3\)"):
        nn.LayerNorm(4)(nb.zeros(2, 3))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(5\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4\): expected input of shape "
                                         r"\(N, 4, \*\), got \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(nb.zeros(2, 6, 3))


# -- repr and keys -------------------------------------------------------------------------
LAYERS = [
    ("BatchNorm1d", (3,), {}), ("BatchNorm2d", (16,), {"momentum": None}),
    ("BatchNorm2d", (3,), {"affine": False, "track_running_stats": False}),
    ("BatchNorm3d", (2,), {"bias": False}), ("InstanceNorm1d", (3,), {}),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}),
    ("LayerNorm", (10,), {}), ("LayerNorm", ((2, 3),), {"elementwise_affine": False}),
    ("GroupNorm", (2, 4), {"eps": 1e-3}), ("GroupNorm", (2, 4), {"affine": False}),
    ("LocalResponseNorm", (5,), {}), ("Dropout", (), {}), ("Dropout", (0.2, True), {}),
    ("Dropout1d", (0.1,), {}), ("Dropout2d", (), {}), ("Dropout3d", (0.3,), {}),
    ("AlphaDropout", (0.1,), {}), ("FeatureAlphaDropout", (), {}),
]


@needs_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_repr_and_state_dict_keys_match_torch(name, args, kwargs):
    skip_without_norm_bias(name, kwargs)
    module = getattr(nn, name)(*args, **kwargs)
    tmodule = getattr(torch.nn, name)(*args, **kwargs)
    assert strip_count(repr(module)) == repr(tmodule)
    theirs = tmodule.state_dict()
    ours = module.state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        assert tuple(ours[key].shape) == tuple(theirs[key].shape)
    module.load_state_dict({k: v.numpy() for k, v in theirs.items()})  # strict


# -- dropout layers ------------------------------------------------------------------------
def test_dropout_layer_train_and_eval():
    nb.manual_seed(0)
    layer = nn.Dropout(0.25)
    x = nb.ones(200, 100)
    y = layer(x).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    assert not layer.training


def test_dropout_layers_are_reproducible_with_manual_seed():
    x = nb.ones(4, 6, 3, 3)
    for layer in (nn.Dropout(), nn.Dropout2d(0.3), nn.Dropout1d(0.3), nn.AlphaDropout(0.2)):
        x_in = x if not isinstance(layer, nn.Dropout1d) else x.reshape(4, 6, 9)
        nb.manual_seed(3)
        a = layer(x_in).numpy()
        nb.manual_seed(3)
        np.testing.assert_array_equal(layer(x_in).numpy(), a)


def test_channel_dropout_layers_drop_whole_channels():
    nb.manual_seed(1)
    y2 = nn.Dropout2d(0.5)(nb.ones(8, 10, 4, 4)).numpy().reshape(80, 16)
    y1 = nn.Dropout1d(0.5)(nb.ones(8, 10, 16)).numpy().reshape(80, 16)
    y3 = nn.Dropout3d(0.5)(nb.ones(8, 10, 2, 2, 4)).numpy().reshape(80, 16)
    for y in (y2, y1, y3):
        assert np.all((y == 0).all(axis=1) | (y == 2).all(axis=1))
        assert 0 < (y[:, 0] == 0).sum() < 80


def test_dropout_gradient_through_layer():
    x = nb.tensor(rand(10, 10), requires_grad=True)
    layer = nn.Dropout(0.5)
    y = layer(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) * 2.0)


def test_alpha_dropout_layer_eval_identity_and_train_changes():
    layer = nn.AlphaDropout(0.5)
    x = nb.randn(50)
    assert not np.array_equal(layer(x).numpy(), x.numpy())
    layer.eval()
    assert layer(x) is x


def test_dropout_layer_bad_p():
    for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout):
        with pytest.raises(ValueError, match=f"{cls.__name__}: dropout probability has to be "
                                             f"between 0 and 1, but got 1.5"):
            cls(1.5)


def test_channel_dropout_errors_name_the_layer_and_shape():
    for layer in (nn.Dropout2d(0.3), nn.Dropout2d(0.3).eval()):
        with pytest.raises(ValueError, match=re.escape(
                "Dropout2d(p=0.3, inplace=False): expected a 4-D (N, C, H, W) input")) as info:
            layer(nb.zeros(2, 3))
        assert "got (2, 3)" in str(info.value)
    with pytest.raises(ValueError, match=re.escape(
            "Dropout1d(p=0.5, inplace=False): expected a 2-D (C, L) or 3-D (N, C, L) input, "
            "got (2,)")):
        nn.Dropout1d()(nb.zeros(2))
    with pytest.raises(ValueError, match=re.escape(
            "Dropout3d(p=0.5, inplace=False): expected a 4-D (C, D, H, W) or 5-D "
            "(N, C, D, H, W) input, got (2, 3, 4)")):
        nn.Dropout3d()(nb.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=re.escape(
            "FeatureAlphaDropout(p=0.5, inplace=False): expected an input of shape (N, C, *) "
            "(at least 2-D), got (3,)")):
        nn.FeatureAlphaDropout()(nb.zeros(3))
    with pytest.raises(TypeError, match=r"Dropout2d\(p=0.5, inplace=False\): expected a "
                                        r"Tensor, got list"):
        nn.Dropout2d()([1.0])
    # the accepted layouts still work: batched, unbatched, and Dropout2d's 3-D with a warning
    assert nn.Dropout2d()(nb.ones(2, 3, 4, 4)).shape == (2, 3, 4, 4)
    with pytest.warns(UserWarning, match="3-D input"):
        assert nn.Dropout2d()(nb.ones(2, 3, 4)).shape == (2, 3, 4)
    assert nn.Dropout1d()(nb.ones(3, 4)).shape == (3, 4)
    assert nn.Dropout3d()(nb.ones(3, 2, 2, 2)).shape == (3, 2, 2, 2)
    assert nn.FeatureAlphaDropout()(nb.ones(3, 4)).shape == (3, 4)
