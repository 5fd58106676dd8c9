"""The last torch.nn / nn.functional / nn.utils names, against PyTorch: fractional max
pooling (exact output for the same samples), CrossMapLRN2d, LazyBatchNorm3d /
LazyInstanceNorm3d, linear_cross_entropy and LinearCrossEntropyLoss, conv_tbc,
multi_head_attention_forward, and the deprecated aliases."""
import re
import warnings

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
import nabla.nn.functional as F
from nabla.autograd import gradcheck
from tests.optest import assert_param_grads_match, check_op, needs_torch, rand, torch


def _torch_state(tmodule) -> dict:
    return {k: v.detach().numpy() for k, v in tmodule.state_dict().items()}


# -- fractional max pooling ------------------------------------------------------------------
FRACTIONAL_CASES = [  # nd, input shape, kernel_size, output_size, output_ratio
    (2, (2, 3, 9, 7), (2, 3), (4, 3), None),
    (2, (3, 10, 10), 3, None, 0.5),            # unbatched, ratio
    (2, (1, 2, 5, 6), 2, (4, 5), None),        # overlapping windows: summed gradients
    (2, (2, 2, 40, 33), 2, (25, 17), None),
    (3, (2, 2, 7, 6, 8), (2, 2, 3), (3, 4, 3), None),
    (3, (2, 5, 6, 7), 2, None, (0.5, 0.7, 0.6)),  # unbatched 3-D
]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd, shape, kernel, size, ratio", FRACTIONAL_CASES)
def test_fractional_max_pool_equals_torch_for_the_same_samples(nd, shape, kernel, size,
                                                               ratio, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    batch = shape[0] if len(shape) == nd + 2 else 1
    samples = rng.random((batch, shape[-nd - 1], nd)).astype(dtype)
    pool = F.fractional_max_pool2d if nd == 2 else F.fractional_max_pool3d
    tpool = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    tx = torch.tensor(x, requires_grad=True)
    # torch's functional form cannot take a float ratio; its module form can
    tratio = None if ratio is None else (ratio,) * nd if isinstance(ratio, float) else ratio
    tout, tidx = tpool(tx, kernel, size, tratio, True, _random_samples=torch.tensor(samples))
    xn = nb.tensor(x, requires_grad=True)
    out, idx = pool(xn, kernel, size, ratio, True, _random_samples=nb.tensor(samples))
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == nb.int64 and out.dtype == xn.dtype
    cot = rng.standard_normal(tout.shape).astype(dtype)
    tout.backward(torch.tensor(cot))
    out.backward(nb.tensor(cot))
    np.testing.assert_array_equal(xn.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("nd, shape, kernel, size", [
    (2, (2, 2, 7, 6), (2, 3), (4, 3)), (2, (1, 1, 5, 5), 2, (4, 4)),
    (3, (1, 2, 5, 4, 5), 2, (3, 2, 3))])
def test_fractional_max_pool_check_op(nd, shape, kernel, size):
    x = rand(*shape, seed=3)
    samples = np.random.default_rng(4).random((shape[0], shape[1], nd))
    name = f"fractional_max_pool{nd}d"

    def fn(t):
        return getattr(F, name)(t, kernel, size, _random_samples=nb.tensor(samples))

    def torch_fn(t):
        return getattr(torch.nn.functional, name)(t, kernel, size,
                                                  _random_samples=torch.tensor(samples))
    check_op(fn, [x], torch_fn=torch_fn)


def test_fractional_max_pool_draws_from_nablas_generator():
    x = nb.tensor(rand(2, 3, 12, 11, seed=5), dtype=nb.float32)
    nb.manual_seed(7)
    out = F.fractional_max_pool2d(x, 3, output_ratio=0.5)
    nb.manual_seed(7)
    samples = nb.rand(2, 3, 2, dtype=nb.float32)
    same = F.fractional_max_pool2d(x, 3, output_ratio=0.5, _random_samples=samples)
    np.testing.assert_array_equal(out.numpy(), same.numpy())
    assert out.shape == (2, 3, 6, 5)
    other = [F.fractional_max_pool2d(x, 3, output_ratio=0.5).numpy() for _ in range(3)]
    assert any(not np.array_equal(o, out.numpy()) for o in other)  # fresh samples each call


@needs_torch
def test_fractional_max_pool_modules_match_torch():
    samples = np.random.default_rng(0).random((2, 3, 2))
    module = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.6), return_indices=True,
                                    _random_samples=nb.tensor(samples))
    tmodule = torch.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.6), return_indices=True,
                                           _random_samples=torch.tensor(samples))
    assert list(module.state_dict()) == list(tmodule.state_dict()) == ["_random_samples"]
    assert repr(module) == repr(tmodule)
    x = rand(2, 3, 11, 13)
    (out, idx), (tout, tidx) = module(nb.tensor(x)), tmodule(torch.tensor(x))
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    plain, tplain = nn.FractionalMaxPool3d(2, output_size=3), torch.nn.FractionalMaxPool3d(2, 3)
    assert list(plain.state_dict()) == list(tplain.state_dict()) == []
    assert plain.kernel_size == tplain.kernel_size and plain.output_size == tplain.output_size
    assert plain(nb.tensor(rand(1, 2, 5, 6, 7))).shape == (1, 2, 3, 3, 3)


def test_fractional_max_pool_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match="FractionalMaxPool3d requires specifying either"):
        nn.FractionalMaxPool3d(2)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        nn.FractionalMaxPool2d(0, output_size=2)
    x = nb.tensor(rand(2, 3, 9, 7))
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match=r"fractional_max_pool2d: .*\(11, 11\).*\(2, 3, 9, 7\)"):
        F.fractional_max_pool2d(x, 5, output_size=7)
    with pytest.raises(RuntimeError, match=r"_random_samples of shape \(N >= 2, 3, 2\)"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=nb.rand(1, 3, 2, dtype=nb.float64))
    with pytest.raises(RuntimeError, match=r"fractional_max_pool3d: expected a 4-D"):
        F.fractional_max_pool3d(x[0, 0], 2, 3)


# -- CrossMapLRN2d -----------------------------------------------------------------------------
def _torch_cross_map_lrn(x, size, alpha, beta, k):
    """PyTorch's CrossMapLRN2d forward written in differentiable torch ops (its window always
    includes channel 0): the oracle for the gradients, since PyTorch's own hand-written
    backward is not the derivative of its forward."""
    channels, reach = x.shape[1], (size - 1) // 2
    sq = x * x
    outs = []
    for c in range(channels):
        lo, hi = max(1, c - reach), min(c + reach, channels - 1)
        s = sq[:, 0] + sq[:, lo:hi + 1].sum(1)
        outs.append(x[:, c] * (k + alpha / size * s) ** -beta)
    return torch.stack(outs, 1)


@needs_torch
@pytest.mark.parametrize("channels, size", [(1, 3), (2, 2), (5, 3), (5, 4), (8, 5), (7, 1)])
def test_cross_map_lrn2d_matches_torch(channels, size):
    x = rand(2, channels, 3, 4, seed=channels)
    module = nn.CrossMapLRN2d(size, alpha=0.1, beta=0.75, k=1.5)
    tmodule = torch.nn.CrossMapLRN2d(size, alpha=0.1, beta=0.75, k=1.5)
    assert repr(module) == repr(tmodule)
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = module(xn)
    with torch.no_grad():
        np.testing.assert_allclose(out.detach().numpy(), tmodule(xt).numpy(), rtol=1e-12,
                                   atol=1e-14)
    ref = _torch_cross_map_lrn(xt, size, 0.1, 0.75, 1.5)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(nb.tensor(cot))
    ref.backward(torch.tensor(cot))
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(module, [nb.tensor(x, requires_grad=True)])


def test_cross_map_lrn2d_wants_4d_input():
    assert repr(nn.CrossMapLRN2d(3)) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"
    with pytest.raises(ValueError, match=r"CrossMapLRN2d\(3\): expected a 4D input .* 3D"):
        nn.CrossMapLRN2d(3)(nb.zeros(2, 3, 4))


# -- lazy 3-D norms ----------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name, kwargs, shape", [
    ("LazyBatchNorm3d", {}, (2, 3, 2, 3, 2)),
    ("LazyBatchNorm3d", {"affine": False, "momentum": None}, (3, 2, 2, 2, 2)),
    ("LazyInstanceNorm3d", {}, (2, 3, 2, 3, 3)),
    ("LazyInstanceNorm3d", {"track_running_stats": False}, (2, 3, 2, 3, 2)),
])
def test_lazy_3d_norms_materialize_like_torch(name, kwargs, shape):
    module, tmodule = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert list(module.state_dict()) == list(tmodule.state_dict())
    x = rand(*shape)
    module(nb.tensor(x, dtype=nb.float32))
    tmodule(torch.tensor(x, dtype=torch.float32))
    assert type(module) is getattr(nn, name.removeprefix("Lazy"))
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmodule.state_dict().items()}
    module.to(nb.float64)
    tmodule.double()
    module.load_state_dict(_torch_state(tmodule))
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = module(xn), tmodule(xt)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-10)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    if module.affine:
        assert_param_grads_match(module, tmodule, atol=1e-10)
    for key, value in _torch_state(tmodule).items():
        np.testing.assert_allclose(module.state_dict()[key].numpy(), value, atol=1e-12)


def test_lazy_instance_norm3d_reads_channels_of_unbatched_input():
    # PyTorch reads shape[1] here (the depth of a (C, D, H, W) input) and then fails
    norm = nn.LazyInstanceNorm3d()
    out = norm(nb.tensor(rand(3, 2, 4, 2)))
    assert type(norm) is nn.InstanceNorm3d and norm.num_features == 3
    assert norm.weight.shape == (3,) and out.shape == (3, 2, 4, 2)


# -- linear_cross_entropy ----------------------------------------------------------------------
LCE_CASES = [  # input, weight, bias?, target kind, options
    ((4, 5), (3, 5), False, "index", {}),
    ((4, 5), (3, 5), True, "index", {"reduction": "sum", "label_smoothing": 0.2}),
    ((6, 5), (3, 5), True, "index", {"reduction": "none", "ignore_index": 1}),
    ((5,), (3, 5), True, "index", {}),
    ((4, 5), (3, 2, 2, 5), True, "index", {"weight": True}),
    ((4, 5), (3, 2, 5), False, "prob", {"reduction": "mean"}),
]


@pytest.mark.parametrize("in_shape, w_shape, bias, kind, options", LCE_CASES)
def test_linear_cross_entropy_check_op(in_shape, w_shape, bias, kind, options):
    rng = np.random.default_rng(0)
    logits_shape = in_shape[:-1] + w_shape[:-1]
    if kind == "index":
        target = rng.integers(0, w_shape[0], in_shape[:-1] + w_shape[1:-1])
    else:
        target = rng.random(logits_shape)
        target = target / target.sum(axis=len(in_shape) - 1, keepdims=True)
    arrays = [rand(*in_shape, seed=1), rand(*w_shape, seed=2)]
    if bias:
        arrays.append(rand(*w_shape[:-1], seed=3))
    class_weight = rng.random(w_shape[0]) + 0.5 if options.get("weight") else None
    kw = {k: v for k, v in options.items() if k != "weight"}

    def call(f, lib, input, weight, *b):
        cw = None if class_weight is None else lib.tensor(class_weight)
        tgt = lib.tensor(target)
        return f(input, weight, tgt, linear_bias=b[0] if b else None, weight=cw, **kw)

    torch_fn = None if torch is None else (
        lambda *a: call(torch.nn.functional.linear_cross_entropy, torch, *a))
    check_op(lambda *a: call(F.linear_cross_entropy, nb, *a), arrays,
             diff=list(range(len(arrays))), torch_fn=torch_fn)


@needs_torch
def test_linear_cross_entropy_loss_module_matches_torch():
    torch.manual_seed(0)
    tmodule = torch.nn.LinearCrossEntropyLoss(5, 4, out_features=(2,), bias=True,
                                              label_smoothing=0.1, ignore_index=0).double()
    module = nn.LinearCrossEntropyLoss(5, 4, out_features=(2,), bias=True, label_smoothing=0.1,
                                       ignore_index=0).double()
    assert list(module.state_dict()) == list(tmodule.state_dict()) == \
        ["linear.weight", "linear.bias"]
    assert module.linear.weight.shape == (8, 5) and module.linear.bias.shape == (8,)
    module.load_state_dict(_torch_state(tmodule))
    x, target = rand(3, 5), np.random.default_rng(0).integers(0, 4, (3, 2))
    loss = module(nb.tensor(x), nb.tensor(target))
    tloss = tmodule(torch.tensor(x), torch.tensor(target))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    loss.backward()
    tloss.backward()
    assert_param_grads_match(module, tmodule, atol=1e-12)
    counted = repr(nn.LinearCrossEntropyLoss(5, 4))  # nabla adds parameter counts
    assert re.sub(r"  # [\d,]+ parameters", "", counted) == \
        repr(torch.nn.LinearCrossEntropyLoss(5, 4))
    # options are accepted (nabla has one path, so the value is the same)
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    chunked = nn.LinearCrossEntropyLoss(5, 4, out_features=(2,), bias=True,
                                        label_smoothing=0.1, ignore_index=0, options=opts)
    chunked.load_state_dict(module.state_dict())
    np.testing.assert_allclose(chunked.double()(nb.tensor(x), nb.tensor(target)).item(),
                               tloss.item(), rtol=1e-12)


def test_linear_cross_entropy_errors_name_the_shapes():
    x, w = nb.zeros(4, 5), nb.zeros(3, 5)
    t = nb.tensor([0, 1, 2, 0])
    with pytest.raises(RuntimeError, match=r"in_features: 5 != 6"):
        F.linear_cross_entropy(x, nb.zeros(3, 6), t)
    with pytest.raises(RuntimeError, match=r"linear_bias of shape \(3,\).*got \(4,\)"):
        F.linear_cross_entropy(x, w, t, linear_bias=nb.zeros(4))
    with pytest.raises(RuntimeError, match="needs batched input"):
        F.linear_cross_entropy(nb.zeros(5), nb.zeros(3, 2, 5), nb.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="ignore_index cannot be given"):
        F.linear_cross_entropy(x, w, nb.zeros(4, 3), ignore_index=1)
    with pytest.raises(RuntimeError, match=r"expected weight of shape \(3,\)"):
        nn.LinearCrossEntropyLoss(5, 3, weight=nb.ones(4))


# -- conv_tbc, channel shuffle, grid sample tables -------------------------------------------
@pytest.mark.parametrize("t, k, pad", [(6, 3, 0), (5, 2, 1), (4, 1, 2)])
def test_conv_tbc_check_op(t, k, pad):
    arrays = [rand(t, 2, 3, seed=1), rand(k, 3, 4, seed=2), rand(4, seed=3)]
    check_op(lambda x, w, b: F.conv_tbc(x, w, b, pad), arrays, order=1,
             torch_fn=lambda x, w, b: torch.conv_tbc(x, w, b, pad))


def test_conv_tbc_errors():
    with pytest.raises(RuntimeError, match=r"conv_tbc: input \(4, 2, 3\), weight \(2, 5, 4\)"):
        F.conv_tbc(nb.zeros(4, 2, 3), nb.zeros(2, 5, 4), nb.zeros(4))
    with pytest.raises(RuntimeError, match="expected a 3-D input"):
        F.conv_tbc(nb.zeros(4, 3), nb.zeros(2, 3, 4), nb.zeros(4))


@needs_torch
def test_native_channel_shuffle_and_grid_sample_tables():
    x = rand(2, 6, 3, 2)
    np.testing.assert_array_equal(F.native_channel_shuffle(nb.tensor(x), 3).numpy(),
                                  torch.nn.functional.native_channel_shuffle(
                                      torch.tensor(x), 3).numpy())
    assert F.GRID_SAMPLE_INTERPOLATION_MODES == \
        torch.nn.functional.GRID_SAMPLE_INTERPOLATION_MODES
    assert F.GRID_SAMPLE_PADDING_MODES == torch.nn.functional.GRID_SAMPLE_PADDING_MODES


# -- multi_head_attention_forward --------------------------------------------------------------
MHA_CASES = [
    ({}, {}),
    ({"bias": False, "add_zero_attn": True}, {"need_weights": False}),
    ({"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"average_attn_weights": False}),
    ({}, {"attn_mask": "bool", "key_padding_mask": True}),
]


@needs_torch
@pytest.mark.parametrize("layer_kw, call_kw", MHA_CASES)
def test_multi_head_attention_forward_matches_torch(layer_kw, call_kw):
    torch.manual_seed(0)
    tmha = torch.nn.MultiheadAttention(4, 2, **layer_kw).double()
    e, kd, vd = 4, layer_kw.get("kdim", 4), layer_kw.get("vdim", 4)
    q, k, v = rand(3, 2, e, seed=1), rand(5, 2, kd, seed=2), rand(5, 2, vd, seed=3)
    kw = dict(call_kw)
    rng = np.random.default_rng(0)
    masks = {}
    if kw.get("attn_mask") == "bool":
        masks["attn_mask"] = np.triu(np.ones((3, 5), bool), 2)
    if kw.get("key_padding_mask"):
        masks["key_padding_mask"] = rng.random((2, 5)) < 0.3
        masks["key_padding_mask"][:, 0] = False
    kw.update(masks)
    params = {n: p.detach().numpy() for n, p in tmha.named_parameters()}

    def args(lib, tensors):
        get = tensors.get
        separate = "q_proj_weight" in tensors
        return ((e, 2, get("in_proj_weight"), get("in_proj_bias"), get("bias_k"),
                 get("bias_v"), tmha.add_zero_attn, 0.0, get("out_proj.weight"),
                 get("out_proj.bias")),
                dict(training=False, use_separate_proj_weight=separate,
                     q_proj_weight=get("q_proj_weight"), k_proj_weight=get("k_proj_weight"),
                     v_proj_weight=get("v_proj_weight"),
                     **{n: lib.tensor(m) if n in masks else m for n, m in kw.items()}))

    nt = {n: nb.tensor(p, requires_grad=True) for n, p in params.items()}
    tt = {n: torch.tensor(p, requires_grad=True) for n, p in params.items()}
    nq, tq = nb.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    a, akw = args(nb, nt)
    ta, takw = args(torch, tt)
    out, w = F.multi_head_attention_forward(nq, nb.tensor(k), nb.tensor(v), *a, **akw)
    tout, tw = torch.nn.functional.multi_head_attention_forward(
        tq, torch.tensor(k), torch.tensor(v), *ta, **takw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    assert (w is None) == (tw is None)
    if w is not None:
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), atol=1e-12)
    cot = rng.standard_normal(out.shape)
    out.backward(nb.tensor(cot))
    tout.backward(torch.tensor(cot))
    np.testing.assert_allclose(nq.grad.numpy(), tq.grad.numpy(), atol=1e-12)
    for name in params:
        np.testing.assert_allclose(nt[name].grad.numpy(), tt[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_multi_head_attention_forward_errors():
    q = nb.zeros(3, 2, 4)
    weights = (nb.zeros(12, 4), None, None, None, False, 0.0, nb.zeros(4, 4), None)
    with pytest.raises(ValueError, match=r"multi_head_attention_forward\(embed_dim=4, "
                                         r"num_heads=2\): expected key of shape"):
        F.multi_head_attention_forward(q, nb.zeros(5, 2, 3), nb.zeros(5, 2, 3), 4, 2, *weights)
    with pytest.raises(NotImplementedError, match="static_k"):
        F.multi_head_attention_forward(q, q, q, 4, 2, *weights, static_k=nb.zeros(4, 5, 2))


# -- deprecated aliases and layout no-ops ------------------------------------------------------
@needs_torch
def test_nll_loss_2d_and_container_are_deprecated_aliases():
    x = rand(2, 3, 4, 4)
    target = np.random.default_rng(0).integers(0, 3, (2, 4, 4))
    with pytest.warns(FutureWarning, match="NLLLoss2d is deprecated"):
        loss = nn.NLLLoss2d(ignore_index=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tloss = torch.nn.NLLLoss2d(ignore_index=1)
    assert isinstance(loss, nn.NLLLoss)
    np.testing.assert_allclose(loss(nb.tensor(x), nb.tensor(target)).item(),
                               tloss(torch.tensor(x), torch.tensor(target)).item(), rtol=1e-12)
    with pytest.warns(FutureWarning, match="Container is deprecated"):
        box = nn.Container(fc=nn.Linear(2, 3), act=nn.ReLU())
    assert list(box.state_dict()) == ["fc.weight", "fc.bias"]
    assert [n for n, _ in box.named_children()] == ["fc", "act"]


@needs_torch
def test_clip_grad_norm_warns_and_clips_like_torch():
    grads = [rand(3, 4, seed=1), rand(5, seed=2)]
    params = [nb.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(params, tparams, grads):
        p.grad, tp.grad = nb.tensor(g), torch.tensor(g)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        norm = nn.utils.clip_grad_norm(params, 0.5, norm_type=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tnorm = torch.nn.utils.clip_grad_norm(tparams, 0.5, norm_type=3.0)
    np.testing.assert_allclose(norm.item(), tnorm.item(), rtol=1e-12)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_convert_weight_memory_format_returns_the_module_unchanged():
    conv = nn.Conv2d(2, 3, 3)
    before = {k: v.numpy().copy() for k, v in conv.state_dict().items()}
    assert nn.utils.convert_conv2d_weight_memory_format(conv, "channels_last") is conv
    conv3 = nn.Sequential(nn.Conv3d(1, 2, 2))
    assert nn.utils.convert_conv3d_weight_memory_format(conv3, None) is conv3
    for k, v in conv.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(TypeError, match="expected a Module"):
        nn.utils.convert_conv2d_weight_memory_format(conv.weight, None)
