"""Conv1d/2d, ConvTranspose1d/2d and the pooling / upsampling layers against PyTorch's
given the same weights: forward, input and parameter gradients; parameter names,
shapes and default initialisation; repr; errors that name the layer."""
import math
import re

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from tests.optest import assert_param_grads_match, needs_torch, rand, torch


def copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def compare(module, tmodule, x, *, atol=1e-10, forward_kwargs=None):
    """Forward and backward in both (float64); compare output and every gradient."""
    kw = forward_kwargs or {}
    xn = nb.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, tout = module(xn, **kw), tmodule(xt, **kw)
    if isinstance(tout, tuple):  # return_indices
        np.testing.assert_array_equal(out[1].numpy(), tout[1].numpy())
        out, tout = out[0], tout[0]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=atol,
                               rtol=1e-9)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    (out * nb.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=1e-9,
                               err_msg="input gradient")
    assert_param_grads_match(module, tmodule, atol=atol, rtol=1e-9)


def strip_count(text: str) -> str:
    return re.sub(r"  # [\d,]+ parameters", "", text)


# -- convolutions --------------------------------------------------------------------------
CONV_CASES = [
    ("Conv2d", (1, 6, 5), {}, (2, 1, 8, 8)),
    ("Conv2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 7, 6)),
    ("Conv2d", (3, 3, (3, 2)), {"padding": "same", "dilation": 2, "groups": 3}, (1, 3, 6, 5)),
    ("Conv2d", (2, 4, 2), {"padding": "same", "bias": False}, (2, 2, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": "valid"}, (2, 4, 4)),  # unbatched
    ("Conv2d", (2, 3, 3), {"padding": (1, 2), "padding_mode": "reflect"}, (1, 2, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "circular"}, (1, 2, 4, 4)),
    ("Conv2d", (2, 2, 2), {"padding": "same", "padding_mode": "replicate"}, (1, 2, 4, 3)),
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("Conv1d", (2, 2, 4), {"padding": "same", "padding_mode": "reflect"}, (2, 2, 7)),
    ("Conv1d", (2, 4, 3), {"groups": 2, "bias": False}, (2, 6)),  # unbatched
]


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name, args, kwargs, shape", CONV_CASES)
def test_conv_matches_torch(name, args, kwargs, shape):
    module = getattr(nn, name)(*args, **kwargs).double()
    tmodule = getattr(torch.nn, name)(*args, **kwargs).double()
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmodule.state_dict().items()}
    copy_from_torch(module, tmodule)
    compare(module, tmodule, rand(*shape))


TRANSPOSE_CASES = [
    ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 4, 3), None),
    ("ConvTranspose2d", (4, 2, (2, 3)), {"stride": (2, 1), "padding": 1, "groups": 2},
     (1, 4, 3, 3), None),
    ("ConvTranspose2d", (2, 3, 3), {"dilation": 2, "bias": False}, (2, 3, 3), None),
    ("ConvTranspose2d", (2, 2, 3), {"stride": 2, "padding": 1}, (1, 2, 3, 3),
     {"output_size": (6, 6)}),
    ("ConvTranspose1d", (3, 2, 4), {"stride": 3, "padding": 1}, (2, 3, 4), None),
]


@needs_torch
@pytest.mark.parametrize("name, args, kwargs, shape, forward_kwargs", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(name, args, kwargs, shape, forward_kwargs):
    module = getattr(nn, name)(*args, **kwargs).double()
    tmodule = getattr(torch.nn, name)(*args, **kwargs).double()
    copy_from_torch(module, tmodule)
    compare(module, tmodule, rand(*shape), forward_kwargs=forward_kwargs)


def test_conv_default_init_follows_torch():
    nb.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3)
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(8 * 9)  # kaiming_uniform_(a=sqrt(5)) on fan_in = 72
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # uniform on (-bound, bound): std bound / sqrt(3), and the range is used
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert np.abs(w).max() > 0.95 * bound
    assert conv.weight.dtype == nb.float32 and conv.weight.requires_grad
    # transposed: weight (in, out/groups, k); fan_in from dim 1, as in torch
    deconv = nn.ConvTranspose2d(4, 6, 2, groups=2)
    assert deconv.weight.shape == (4, 3, 2, 2)
    assert np.abs(deconv.bias.detach().numpy()).max() <= 1 / math.sqrt(3 * 4)
    nb.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(8, 16, 3).weight.detach().numpy(), w)


def test_conv_state_dict_without_bias():
    assert list(nn.Conv1d(2, 3, 3, bias=False).state_dict()) == ["weight"]
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None


def test_conv_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d(1, 6, kernel_size=(5, 5)): expected input of shape (N, 1, H, W) or "
            "(1, H, W), got (64, 3, 28, 28)")):
        nn.Conv2d(1, 6, 5)(nb.zeros(64, 3, 28, 28))
    with pytest.raises(ValueError, match=re.escape(
            "Conv1d(2, 4, kernel_size=(3,)): expected input of shape (N, 2, L) or (2, L), "
            "got (5,)")):
        nn.Conv1d(2, 4, 3)(nb.zeros(5))
    with pytest.raises(ValueError, match=re.escape("ConvTranspose2d(3, 4, kernel_size=(3, 3)):"
                                                   " expected input of shape (N, 3, H, W)")):
        nn.ConvTranspose2d(3, 4, 3)(nb.zeros(1, 4, 5, 5))


def test_conv_constructor_errors():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by "
                                         r"groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Conv2d: invalid padding 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="Conv1d: padding_mode must be one of"):
        nn.Conv1d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='ConvTranspose2d: only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"requested an output size of \(9, 9\), but valid "
                                         r"sizes range from \(5, 5\) to \(6, 6\)"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)(nb.zeros(1, 2, 3, 3),
                                                         output_size=(9, 9))


# -- pooling and upsampling ----------------------------------------------------------------
POOL_CASES = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 6)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "return_indices": True}, (1, 2, 7, 5)),
    ("MaxPool2d", ((2, 3),), {"dilation": (1, 2), "ceil_mode": True}, (2, 5, 9)),
    ("MaxPool1d", (3,), {"stride": 2, "return_indices": True}, (2, 3, 9)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 6)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False},
     (1, 2, 7, 5)),
    ("AvgPool2d", (2,), {"ceil_mode": True, "divisor_override": 3}, (1, 2, 5, 5)),
    ("AvgPool1d", (2,), {"padding": 1}, (2, 3, 7)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 2, 4)),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, (2, 3, 5, 5)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool2d", (3,), {"return_indices": True}, (2, 2, 7, 5)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
    ("Upsample", (), {"scale_factor": 2}, (2, 3, 3, 4)),
    ("Upsample", (), {"size": (5, 7), "mode": "bilinear"}, (1, 2, 3, 4)),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
     (1, 2, 4, 4)),
    ("Upsample", (), {"scale_factor": 3, "mode": "linear"}, (2, 2, 4)),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}, (1, 2, 3, 3)),
    ("UpsamplingBilinear2d", (), {"size": (5, 6)}, (1, 2, 3, 3)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 2)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
]


@needs_torch
@pytest.mark.parametrize("name, args, kwargs, shape", POOL_CASES)
def test_pool_and_upsample_match_torch(name, args, kwargs, shape):
    module = getattr(nn, name)(*args, **kwargs)
    tmodule = getattr(torch.nn, name)(*args, **kwargs)
    # distinct values: max pooling has a unique maximum in every window
    x = np.random.default_rng(0).permutation(np.prod(shape)).reshape(shape) / 7.0
    compare(module, tmodule, x)
    assert list(module.state_dict()) == []


@needs_torch
def test_max_unpool_inverts_max_pool_like_torch():
    x = np.random.default_rng(0).permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) / 5.0
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    out, idx = pool(nb.tensor(x))
    tout, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(unpool(out, idx).numpy(),
                                  torch.nn.MaxUnpool2d(2)(tout, tidx).numpy())
    pool1, unpool1 = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
    out, idx = pool1(nb.tensor(x[0]))
    tout, tidx = torch.nn.MaxPool1d(2, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(unpool1(out, idx, output_size=(2, 6, 6)).numpy(),
                                  torch.nn.MaxUnpool1d(2)(tout, tidx, (2, 6, 6)).numpy())


def test_pool_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=re.escape(
            "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False): "
            "expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got (5, 5)")):
        nn.MaxPool2d(2)(nb.zeros(5, 5))
    with pytest.raises(ValueError, match=r"AvgPool1d\(.*\): expected a 2-D \(C, L\) or 3-D"):
        nn.AvgPool1d(2)(nb.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d\(output_size=1\): expected"):
        nn.AdaptiveAvgPool2d(1)(nb.zeros(4))


def test_upsample_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=re.escape(
            "Upsample(scale_factor=2.0, mode='nearest'): expected a 3-D (N, C, L), "
            "4-D (N, C, H, W) or 5-D (N, C, D, H, W) input, got (2, 3)")):
        nn.Upsample(scale_factor=2)(nb.zeros(2, 3))
    with pytest.raises(NotImplementedError, match=re.escape(
            "Upsample(scale_factor=2.0, mode='bilinear'): mode='bilinear' expects a "
            "4-D (N, C, H, W) input, got (2, 3, 4)")):
        nn.Upsample(scale_factor=2, mode="bilinear")(nb.zeros(2, 3, 4))
    with pytest.raises(NotImplementedError, match=r"UpsamplingBilinear2d\(scale_factor=2.0, "
                                                  r"mode='bilinear'\): .*got \(1, 2, 3, 4, 5\)"):
        nn.UpsamplingBilinear2d(scale_factor=2)(nb.zeros(1, 2, 3, 4, 5))
    with pytest.raises(ValueError, match=re.escape(
            "Upsample(size=(4, 5), mode='nearest'): size=(4, 5) has one entry per spatial "
            "dimension, so expected a 4-D (N, C, H, W) input, got (2, 3, 4)")):
        nn.Upsample(size=(4, 5))(nb.zeros(2, 3, 4))
    with pytest.raises(TypeError, match=r"Upsample\(size=4, mode='nearest'\): expected a "
                                        r"Tensor, got list"):
        nn.Upsample(size=4)([1.0])
    assert nn.Upsample(scale_factor=2)(nb.ones(2, 3, 4)).shape == (2, 3, 8)
    assert nn.Upsample(size=(3, 4), mode="bilinear")(nb.ones(1, 2, 3, 3)).shape == (1, 2, 3, 4)


# -- repr ----------------------------------------------------------------------------------
LAYERS = [
    ("Conv2d", (1, 6, 5), {}), ("Conv2d", (4, 8, 3), {"stride": 2, "padding": 1, "groups": 2,
                                                     "bias": False}),
    ("Conv2d", (2, 2, 3), {"padding": "same", "dilation": 2, "padding_mode": "reflect"}),
    ("Conv1d", (2, 3, 3), {"padding": "valid"}),
    ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "output_padding": 1}),
    ("ConvTranspose1d", (3, 4, 3), {"dilation": 2}),
    ("MaxPool1d", (3,), {}), ("MaxPool2d", (2,), {"stride": 1, "ceil_mode": True}),
    ("MaxPool3d", (2,), {}), ("AvgPool1d", (2,), {}), ("AvgPool2d", (3, 2, 1), {}),
    ("AvgPool3d", (2,), {}), ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((1, 1),), {}), ("AdaptiveAvgPool3d", (1,), {}),
    ("AdaptiveMaxPool1d", (2,), {}), ("AdaptiveMaxPool2d", (3,), {}),
    ("MaxUnpool1d", (2,), {}), ("MaxUnpool2d", (2,), {"stride": 1}),
    ("Upsample", (), {"scale_factor": 2}), ("Upsample", (), {"size": (3, 4), "mode": "bilinear"}),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}),
    ("UpsamplingBilinear2d", (), {"scale_factor": 2}),
    ("PixelShuffle", (3,), {}), ("PixelUnshuffle", (2,), {}),
]


@needs_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_repr_matches_torch(name, args, kwargs):
    assert strip_count(repr(getattr(nn, name)(*args, **kwargs))) == \
        repr(getattr(torch.nn, name)(*args, **kwargs))


def test_lenet_style_stack_runs_and_trains():
    nb.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding="same"), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout2d(0.1), nn.Conv2d(4, 6, 3),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    x = nb.randn(8, 1, 8, 8)
    target = nb.tensor(np.arange(8) % 3)
    losses = []
    params = list(model.parameters())
    for _ in range(15):
        loss = nn.functional.cross_entropy(model(x), target)
        for p in params:
            p.grad = None
        loss.backward()
        with nb.no_grad():
            for p in params:
                p -= 0.2 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    model.eval()
    assert model(x).shape == (8, 3)
