"""MultiheadAttention against torch.nn.MultiheadAttention given the same weights (float64,
eval mode): outputs, attention weights, input gradients and every parameter gradient;
packed and separate projections, batch_first or not, unbatched inputs, key padding and
attention masks (bool and float), bias_k/bias_v, zero attention, the causal hint, fully
masked rows; parameter names, shapes and initialisation; gradchecks; errors."""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.autograd import gradcheck, gradgradcheck
from tests.optest import assert_param_grads_match, needs_torch, rand, torch

# torch warns about mixing bool and float masks (deprecated there, supported here) and
# about its nested-tensor fast path, which these float64 tests never take
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]


def copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def twins(*args, **kwargs):
    """The nabla and torch layers, float64, in eval mode, with torch's weights (biases made
    non-zero so their gradients are tested on a layer that uses them)."""
    torch.manual_seed(0)
    tmodule = torch.nn.MultiheadAttention(*args, **kwargs).double().eval()
    with torch.no_grad():
        for name, p in tmodule.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5)
    module = nn.MultiheadAttention(*args, **kwargs).double().eval()
    copy_from_torch(module, tmodule)
    return module, tmodule


def run_both(module, tmodule, inputs, shared="", masks=None, **kwargs):
    """Forward and backward of both; compare outputs, weights and all gradients.

    ``inputs`` are the NumPy query, key, value; ``shared`` = "qkv" passes one tensor as
    all three, "kv" one tensor as key and value (as self- and cross-attention do)."""
    masks = masks or {}
    arrays = inputs[:1] if shared == "qkv" else inputs[:2] if shared == "kv" else inputs
    xs = [nb.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    order = {"qkv": (0, 0, 0), "kv": (0, 1, 1), "": (0, 1, 2)}[shared]
    out, weights = module(*(xs[i] for i in order), **kwargs,
                          **{k: nb.tensor(v) for k, v in masks.items()})
    tout, tweights = tmodule(*(ts[i] for i in order), **kwargs,
                             **{k: torch.tensor(v) for k, v in masks.items()})
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12,
                               rtol=1e-10)
    if tweights is None:
        assert weights is None
    else:
        np.testing.assert_allclose(weights.detach().numpy(), tweights.detach().numpy(),
                                   atol=1e-12, rtol=1e-10, err_msg="attention weights")
    cot = np.random.default_rng(1).standard_normal(out.shape)
    loss, tloss = (out * nb.tensor(cot)).sum(), (tout * torch.tensor(cot)).sum()
    if weights is not None:  # the weights are an output too: differentiate through them
        wcot = np.random.default_rng(2).standard_normal(weights.shape)
        loss, tloss = loss + (weights * nb.tensor(wcot)).sum(), \
            tloss + (tweights * torch.tensor(wcot)).sum()
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-12, rtol=1e-10,
                                   err_msg=f"gradient of input {i}")
    assert_param_grads_match(module, tmodule, atol=1e-12, rtol=1e-10)
    return out, weights


def bool_mask(shape, seed=5):
    m = np.random.default_rng(seed).random(shape) > 0.6
    m[..., 0] = False  # True = may not attend: leave every query one key
    return m


# -- parity with torch -------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention(batch_first):
    module, tmodule = twins(8, 2, batch_first=batch_first)
    x = rand(3, 5, 8) if batch_first else rand(5, 3, 8)
    run_both(module, tmodule, [x], shared="qkv")


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_cross_attention_with_masks(batch_first):
    module, tmodule = twins(6, 3, batch_first=batch_first)
    q, kv = (rand(2, 4, 6), rand(2, 5, 6, seed=1)) if batch_first else \
        (rand(4, 2, 6), rand(5, 2, 6, seed=1))
    padding = np.zeros((2, 5), dtype=bool)
    padding[1, 3:] = True
    run_both(module, tmodule, [q, kv], shared="kv",
             masks={"key_padding_mask": padding, "attn_mask": rand(4, 5, seed=2)})


@needs_torch
def test_separate_projections_per_head_weights_and_3d_mask():
    module, tmodule = twins(8, 2, kdim=5, vdim=3)
    assert module.in_proj_weight is None and module.k_proj_weight.shape == (8, 5)
    inputs = [rand(4, 2, 8), rand(6, 2, 5, seed=1), rand(6, 2, 3, seed=2)]
    run_both(module, tmodule, inputs, masks={"attn_mask": bool_mask((2 * 2, 4, 6))},
             average_attn_weights=False)


@needs_torch
def test_distinct_query_key_value_packed():
    module, tmodule = twins(4, 2)
    inputs = [rand(3, 2, 4), rand(5, 2, 4, seed=1), rand(5, 2, 4, seed=2)]
    run_both(module, tmodule, inputs, masks={"key_padding_mask": bool_mask((2, 5))})


@needs_torch
def test_bias_kv_zero_attn_and_masks():
    module, tmodule = twins(4, 2, add_bias_kv=True, add_zero_attn=True)
    assert module.bias_k.shape == (1, 1, 4)
    inputs = [rand(3, 2, 4), rand(5, 2, 4, seed=1), rand(5, 2, 4, seed=2)]
    out, weights = run_both(module, tmodule, inputs,
                            masks={"key_padding_mask": bool_mask((2, 5)),
                                   "attn_mask": bool_mask((3, 5), seed=6)})
    assert weights.shape == (2, 3, 7)  # two appended keys: bias_k and the zero key


@needs_torch
def test_no_bias():
    module, tmodule = twins(4, 1, bias=False)
    assert module.in_proj_bias is None and module.out_proj.bias is None
    run_both(module, tmodule, [rand(3, 2, 4)], shared="qkv")


@needs_torch
def test_unbatched():
    module, tmodule = twins(4, 2)
    inputs = [rand(3, 4), rand(5, 4, seed=1), rand(5, 4, seed=2)]
    out, weights = run_both(module, tmodule, inputs,
                            masks={"key_padding_mask": bool_mask((5,)),
                                   "attn_mask": rand(2, 3, 5, seed=3)})
    assert out.shape == (3, 4) and weights.shape == (3, 5)


@needs_torch
@pytest.mark.parametrize("need_weights", [False, True])
def test_causal_hint(need_weights):
    module, tmodule = twins(4, 2, batch_first=True)
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    run_both(module, tmodule, [rand(2, 5, 4)], shared="qkv", masks={"attn_mask": causal},
             is_causal=True, need_weights=need_weights)


@needs_torch
def test_fully_masked_query_gets_no_attention():
    module, tmodule = twins(4, 2)
    x = rand(3, 2, 4)
    mask = np.zeros((3, 3), dtype=bool)
    mask[1] = True  # query 1 may attend to nothing
    # need_weights=False: PyTorch's path gives zero attention, and so does nabla
    run_both(module, tmodule, [x], shared="qkv", masks={"attn_mask": mask}, need_weights=False)
    # need_weights=True: PyTorch returns NaN there; nabla the same zeros as above
    with nb.no_grad():
        out, weights = module(*[nb.tensor(x)] * 3, attn_mask=nb.tensor(mask))
    bias = module.out_proj.bias.detach().numpy()
    np.testing.assert_allclose(out.numpy()[1], np.broadcast_to(bias, (2, 4)))
    assert not weights.numpy()[:, 1].any() and np.isfinite(weights.numpy()).all()


# -- parameters and initialisation -------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"kdim": 3, "vdim": 5}, {"bias": False},
                                    {"add_bias_kv": True}])
def test_state_dict_matches_torch(kwargs):
    module = nn.MultiheadAttention(8, 4, **kwargs)
    tmodule = torch.nn.MultiheadAttention(8, 4, **kwargs)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmodule.state_dict().items()}
    assert [n for n, _ in module.named_parameters()] == \
        [n for n, _ in tmodule.named_parameters()]


def test_default_init():
    nb.manual_seed(0)
    module = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = module.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not module.in_proj_bias.detach().numpy().any()
    assert not module.out_proj.bias.detach().numpy().any()
    out_w = module.out_proj.weight.detach().numpy()
    assert np.abs(out_w).max() <= 1 / math.sqrt(64)  # nn.Linear's default
    # xavier_normal_ on (1, 1, E): fan_in = fan_out = E, std sqrt(2 / (2E))
    bias_k = np.concatenate([module.bias_k.detach().numpy().ravel(),
                             module.bias_v.detach().numpy().ravel()])
    assert abs(bias_k.std() - math.sqrt(1 / 64)) < 0.3 * math.sqrt(1 / 64)


def test_repr():
    assert "embed_dim=8, num_heads=2, batch_first=True" in repr(
        nn.MultiheadAttention(8, 2, batch_first=True))


# -- gradchecks and training-mode dropout ------------------------------------------------------
def test_gradcheck_inputs_and_mask():
    nb.manual_seed(0)
    module = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True).double()
    padding = nb.tensor(np.array([[False, False, True], [False, False, False]]))

    def fn(q, k, v):
        out, weights = module(q, k, v, key_padding_mask=padding)
        return out, weights

    inputs = [nb.tensor(rand(2, 2, 4), requires_grad=True),
              nb.tensor(rand(3, 2, 3, seed=1), requires_grad=True),
              nb.tensor(rand(3, 2, 2, seed=2), requires_grad=True)]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_dropout_only_in_training():
    nb.manual_seed(0)
    module = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = nb.randn(3, 2, 4)
    with nb.no_grad():
        module.eval()
        a, weights = module(x, x, x, average_attn_weights=False)
        b, _ = module(x, x, x)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_allclose(weights.numpy().sum(-1), 1.0, rtol=1e-6)
        module.train()
        c, dropped = module(x, x, x, average_attn_weights=False)
    kept = dropped.numpy() != 0
    assert (~kept).any() and kept.any() and not np.allclose(c.numpy(), a.numpy())
    # the returned weights are after dropout: kept ones scaled by 1 / (1 - p)
    np.testing.assert_allclose(dropped.numpy()[kept], 2 * weights.numpy()[kept], rtol=1e-6)


# -- errors ------------------------------------------------------------------------------------
def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim=10 must be divisible "
                                         "by num_heads=3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be positive"):
        nn.MultiheadAttention(0, 1)
    module = nn.MultiheadAttention(8, 2)
    head = r"MultiheadAttention\(embed_dim=8, num_heads=2\): "
    x = nb.randn(5, 3, 8)
    with pytest.raises(ValueError, match=head + r"expected query of shape \(L, N, 8\) or "
                                                r"\(L, 8\), got \(5, 3, 6\)"):
        module(nb.randn(5, 3, 6), x, x)
    with pytest.raises(ValueError, match=head + r"expected key of shape \(S, N, 8\) for a "
                                                r"query of shape \(5, 3, 8\), got \(5, 8\)"):
        module(x, nb.randn(5, 8), x)
    with pytest.raises(ValueError, match=head + r"query of shape \(5, 3, 8\) and key of shape "
                                                r"\(5, 2, 8\) differ in batch size"):
        module(x, nb.randn(5, 2, 8), nb.randn(5, 2, 8))
    with pytest.raises(ValueError, match=head + r"key of shape \(4, 3, 8\) and value of shape "
                                                r"\(5, 3, 8\) differ in sequence length"):
        module(x, nb.randn(4, 3, 8), x)
    with pytest.raises(ValueError, match=head + r"expected key_padding_mask of shape \(3, 5\), "
                                                r"got \(5, 3\)"):
        module(x, x, x, key_padding_mask=nb.zeros(5, 3, dtype=nb.bool))
    with pytest.raises(ValueError, match=head + r"expected attn_mask of shape \(5, 5\) or "
                                                r"\(6, 5, 5\), got \(3, 5, 5\)"):
        module(x, x, x, attn_mask=nb.zeros(3, 5, 5, dtype=nb.bool))
    with pytest.raises(TypeError, match=head + "attn_mask must be a bool or floating-point "
                                               "Tensor, got dtype int64"):
        module(x, x, x, attn_mask=nb.zeros(5, 5, dtype=nb.int64))
    with pytest.raises(ValueError, match=head + "is_causal=True is a hint that attn_mask is "
                                               "the causal mask, which must then be given"):
        module(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"expected query of shape \(N, L, 8\)"):
        nn.MultiheadAttention(8, 2, batch_first=True)(nb.randn(2, 3), x, x)
