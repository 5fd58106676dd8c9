"""Transformer layers and stacks against torch.nn given the same weights (float64, eval
mode): outputs, input gradients and every parameter gradient, post- and pre-norm,
batch_first or not, masks; state_dict keys; deep copies; initialisation; the
positional encodings; gradchecks; errors that name the layer."""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
import nabla.nn.functional as F
from nabla.autograd import gradcheck
from tests.optest import assert_param_grads_match, gradcheck_with_params, needs_torch, rand, torch

# torch warns about mixing bool and float masks (deprecated there, supported here) and
# about its nested-tensor fast path, which these float64 tests never take
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]


def copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def twins(name, *args, **kwargs):
    """nabla's and torch's ``name`` (float64, eval, no dropout) with torch's weights; every
    bias and LayerNorm parameter perturbed so that its gradient is tested."""
    torch.manual_seed(0)
    tmodule = getattr(torch.nn, name)(*args, **kwargs).double().eval()
    with torch.no_grad():
        for p in tmodule.parameters():
            if p.ndim == 1:
                p.add_(torch.rand(p.shape, dtype=p.dtype) - 0.5)
    module = getattr(nn, name)(*args, **kwargs).double().eval()
    assert list(module.state_dict()) == list(tmodule.state_dict())
    copy_from_torch(module, tmodule)
    return module, tmodule


def compare(module, tmodule, inputs, masks=None, **kwargs):
    """Forward and backward of both on the NumPy ``inputs`` (positional) and ``masks``
    (keyword); compare the output, every input gradient and every parameter gradient."""
    masks = masks or {}
    xs = [nb.tensor(a, requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = module(*xs, **{k: nb.tensor(v) for k, v in masks.items()}, **kwargs)
    tout = tmodule(*ts, **{k: torch.tensor(v) for k, v in masks.items()}, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-11,
                               rtol=1e-9)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    (out * nb.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-11, rtol=1e-9,
                                   err_msg=f"gradient of input {i}")
    assert_param_grads_match(module, tmodule, atol=1e-11, rtol=1e-9)
    return out


def seq(length, batch, d, batch_first, seed=0):
    return rand(batch, length, d, seed=seed) if batch_first else rand(length, batch, d, seed=seed)


def causal_mask(n):
    return np.triu(np.full((n, n), -np.inf), 1)


def padding_mask(batch, length):
    m = np.zeros((batch, length), dtype=bool)
    m[-1, length - 2:] = True  # the last sequence is two tokens shorter
    return m


LAYER_CASES = [dict(), dict(norm_first=True), dict(batch_first=True),
               dict(batch_first=True, norm_first=True, activation="gelu"),
               dict(bias=False), dict(layer_norm_eps=1e-3, activation="gelu")]


# -- layers ------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("kwargs", LAYER_CASES)
def test_encoder_layer(kwargs):
    module, tmodule = twins("TransformerEncoderLayer", 8, 2, 16, 0.0, **kwargs)
    bf = kwargs.get("batch_first", False)
    compare(module, tmodule, [seq(5, 3, 8, bf)],
            masks={"src_mask": causal_mask(5), "src_key_padding_mask": padding_mask(3, 5)})


@needs_torch
def test_encoder_layer_bool_masks_and_causal_hint():
    module, tmodule = twins("TransformerEncoderLayer", 8, 4, 12, 0.0, batch_first=True)
    compare(module, tmodule, [seq(4, 2, 8, True)],
            masks={"src_mask": np.triu(np.ones((4, 4), dtype=bool), 1)}, is_causal=True)


@needs_torch
def test_encoder_layer_unbatched_and_callable_activation():
    module, tmodule = twins("TransformerEncoderLayer", 6, 3, 10, 0.0)
    module.activation, tmodule.activation = F.silu, torch.nn.functional.silu
    compare(module, tmodule, [rand(4, 6)], masks={"src_key_padding_mask": np.array(
        [False, False, False, True])})


@needs_torch
@pytest.mark.parametrize("kwargs", LAYER_CASES)
def test_decoder_layer(kwargs):
    module, tmodule = twins("TransformerDecoderLayer", 8, 2, 16, 0.0, **kwargs)
    bf = kwargs.get("batch_first", False)
    compare(module, tmodule, [seq(4, 3, 8, bf), seq(6, 3, 8, bf, seed=1)],
            masks={"tgt_mask": causal_mask(4), "memory_key_padding_mask": padding_mask(3, 6),
                   "tgt_key_padding_mask": padding_mask(3, 4)})


@needs_torch
def test_decoder_layer_memory_mask():
    module, tmodule = twins("TransformerDecoderLayer", 4, 2, 8, 0.0)
    compare(module, tmodule, [rand(3, 2, 4), rand(5, 2, 4, seed=1)],
            masks={"memory_mask": rand(3, 5, seed=2), "tgt_mask": causal_mask(3)},
            tgt_is_causal=True)


# -- stacks ------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack(norm_first):
    torch.manual_seed(0)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, norm_first=norm_first)
    tmodule = torch.nn.TransformerEncoder(tlayer, 3, torch.nn.LayerNorm(8),
                                          enable_nested_tensor=False).double().eval()
    module = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0,
                                                              norm_first=norm_first),
                                   3, nn.LayerNorm(8)).double().eval()
    assert list(module.state_dict()) == list(tmodule.state_dict())
    copy_from_torch(module, tmodule)
    compare(module, tmodule, [rand(5, 2, 8)],
            masks={"mask": causal_mask(5), "src_key_padding_mask": padding_mask(2, 5)})


@needs_torch
def test_decoder_stack():
    torch.manual_seed(0)
    tlayer = torch.nn.TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True)
    tmodule = torch.nn.TransformerDecoder(tlayer, 2).double().eval()
    module = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True),
                                   2).double().eval()
    assert list(module.state_dict()) == list(tmodule.state_dict())
    copy_from_torch(module, tmodule)
    compare(module, tmodule, [rand(2, 4, 8), rand(2, 6, 8, seed=1)],
            masks={"tgt_mask": causal_mask(4)})


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(batch_first=True, norm_first=True)])
def test_transformer(kwargs):
    module, tmodule = twins("Transformer", 8, 2, 2, 2, 16, 0.0, **kwargs)
    bf = kwargs.get("batch_first", False)
    compare(module, tmodule, [seq(5, 2, 8, bf), seq(4, 2, 8, bf, seed=1)],
            masks={"tgt_mask": causal_mask(4), "src_key_padding_mask": padding_mask(2, 5),
                   "memory_key_padding_mask": padding_mask(2, 5)})


@needs_torch
def test_square_subsequent_mask_matches_torch():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert mask.dtype == nb.float32
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=nb.float64).dtype == \
        nb.float64


def test_stacks_deep_copy_the_layer():
    nb.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers
    assert first is not layer and first is not second
    for (name, p), q, r in zip(layer.named_parameters(), first.parameters(),
                               second.parameters()):
        assert p is not q and q is not r and isinstance(q, nn.Parameter), name
        np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
        np.testing.assert_array_equal(r.detach().numpy(), p.detach().numpy())
    with nb.no_grad():
        first.linear1.weight.add_(1.0)
    assert not np.allclose(first.linear1.weight.detach().numpy(),
                           second.linear1.weight.detach().numpy())
    assert len(list(encoder.parameters())) == 2 * len(list(layer.parameters()))


def test_transformer_init_is_xavier_uniform():
    nb.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 32)
    for name, p in model.named_parameters():
        w = p.detach().numpy()
        if p.ndim > 1:
            bound = math.sqrt(6 / sum(p.shape[:2]))
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound, name
    assert model.encoder.norm is not None and model.decoder.norm is not None


def test_dropout_only_in_training():
    nb.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = nb.randn(4, 2, 8)
    with nb.no_grad():
        a, b = layer(x), layer(x)
        layer.eval()
        c, d = layer(x), layer(x)
    assert not np.allclose(a.numpy(), b.numpy())
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_gradcheck_encoder_and_decoder_layers():
    nb.manual_seed(0)
    enc = nn.TransformerEncoderLayer(4, 2, 6, 0.0, norm_first=True).double()
    dec = nn.TransformerDecoderLayer(4, 2, 6, 0.0, activation="gelu").double()
    mask = nb.tensor(causal_mask(3))
    x = nb.tensor(rand(3, 2, 4), requires_grad=True)
    memory = nb.tensor(rand(2, 2, 4, seed=1), requires_grad=True)
    assert gradcheck(lambda x: enc(x, src_mask=mask), [x])
    assert gradcheck(lambda x, m: dec(x, m, tgt_mask=mask), [x, memory])



def _perturb_vectors(module):
    """Biases and LayerNorm parameters off their 0 / 1 initial values (so that a wrong
    gradient of a LayerNorm weight or a bias is not hidden by a symmetric start)."""
    with nb.no_grad():
        for i, p in enumerate(module.parameters()):
            if p.ndim == 1:
                p.add_(nb.tensor(rand(*p.shape, low=-0.5, high=0.5, seed=10 + i)))
    return module


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck_encoder_stack(norm_first):
    """TransformerEncoder (2 layers and a final norm), causal and padding masks: the
    output with respect to the input and every parameter."""
    nb.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, 0.0, norm_first=norm_first)
    encoder = _perturb_vectors(nn.TransformerEncoder(layer, 2, nn.LayerNorm(4)).double())
    mask, padding = nb.tensor(causal_mask(3)), nb.tensor(padding_mask(2, 3))
    x = nb.tensor(rand(3, 2, 4), requires_grad=True)
    assert gradcheck_with_params(
        encoder, lambda x: encoder(x, mask=mask, src_key_padding_mask=padding), [x])


def test_gradcheck_decoder_stack():
    """TransformerDecoder (2 layers, batch_first, gelu, a final norm) with every kind of
    mask: the output with respect to the target, the memory and every parameter."""
    nb.manual_seed(0)
    layer = nn.TransformerDecoderLayer(4, 2, 6, 0.0, activation="gelu", batch_first=True)
    decoder = _perturb_vectors(nn.TransformerDecoder(layer, 2, nn.LayerNorm(4)).double())
    masks = {"tgt_mask": nb.tensor(causal_mask(3)),
             "memory_mask": nb.tensor(rand(3, 4, low=-1.0, high=0.0, seed=2)),
             "tgt_key_padding_mask": nb.tensor(padding_mask(2, 3)),
             "memory_key_padding_mask": nb.tensor(padding_mask(2, 4))}
    tgt = nb.tensor(rand(2, 3, 4), requires_grad=True)
    memory = nb.tensor(rand(2, 4, 4, seed=1), requires_grad=True)
    assert gradcheck_with_params(decoder, lambda t, m: decoder(t, m, **masks), [tgt, memory])


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_first=True, norm_first=True)])
def test_gradcheck_transformer(kwargs):
    """The full Transformer (2 + 2 layers) with masks: the output with respect to the
    source, the target and every parameter."""
    nb.manual_seed(0)
    model = _perturb_vectors(nn.Transformer(4, 2, 2, 2, 6, 0.0, **kwargs).double())
    bf = kwargs.get("batch_first", False)
    masks = {"tgt_mask": nb.tensor(causal_mask(3)),
             "src_key_padding_mask": nb.tensor(padding_mask(2, 4)),
             "memory_key_padding_mask": nb.tensor(padding_mask(2, 4))}
    src = nb.tensor(seq(4, 2, 4, bf), requires_grad=True)
    tgt = nb.tensor(seq(3, 2, 4, bf, seed=1), requires_grad=True)
    assert gradcheck_with_params(model, lambda s, t: model(s, t, **masks), [src, tgt])

# -- positional encodings ----------------------------------------------------------------------
def test_sinusoidal_encoding_values():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=10)
    table = pe.pe.numpy()
    assert table.shape == (10, 6) and table.dtype == np.float32
    p, i = np.arange(10)[:, None], np.arange(3)[None, :]
    angle = p / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-6)
    # a fixed buffer: no parameter, not in the state_dict, moved by .double()
    assert list(pe.parameters()) == [] and list(pe.state_dict()) == []
    assert pe.double().pe.dtype == nb.float64
    odd = nn.SinusoidalPositionalEncoding(5, max_len=4).pe.numpy()
    np.testing.assert_allclose(odd[1], [np.sin(1), np.cos(1), np.sin(1 / 10000 ** 0.4),
                                        np.cos(1 / 10000 ** 0.4), np.sin(1 / 10000 ** 0.8)],
                               atol=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_sinusoidal_encoding_adds_positions(batch_first):
    pe = nn.SinusoidalPositionalEncoding(4, max_len=8, batch_first=batch_first).double()
    x = nb.tensor(seq(5, 2, 4, batch_first), requires_grad=True)
    out = pe(x)
    table = pe.pe.numpy()[:5]
    want = x.detach().numpy() + (table[None] if batch_first else table[:, None])
    np.testing.assert_allclose(out.detach().numpy(), want)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)
    unbatched = nb.tensor(rand(3, 4))
    np.testing.assert_allclose(pe(unbatched).numpy(), unbatched.numpy() + table[:3])


def test_sinusoidal_encoding_dropout():
    nb.manual_seed(0)
    pe = nn.SinusoidalPositionalEncoding(4, max_len=8, dropout=0.5)
    x = nb.randn(6, 3, 4)
    with nb.no_grad():
        out = pe(x).numpy()
        assert (out == 0).any()
        kept = out != 0
        full = (x + pe.pe[:6].unsqueeze(1)).numpy()
        np.testing.assert_allclose(out[kept], 2 * full[kept], rtol=1e-6)
        np.testing.assert_allclose(pe.eval()(x).numpy(), full)


@pytest.mark.parametrize("batch_first", [False, True])
def test_learned_positional_embedding(batch_first):
    nb.manual_seed(0)
    emb = nn.LearnedPositionalEmbedding(6, 4, batch_first=batch_first).double()
    assert list(emb.state_dict()) == ["weight"] and emb.weight.shape == (6, 4)
    x = nb.tensor(seq(3, 2, 4, batch_first), requires_grad=True)
    out = emb(x)
    w = emb.weight.detach().numpy()[:3]
    np.testing.assert_allclose(out.detach().numpy(),
                               x.detach().numpy() + (w[None] if batch_first else w[:, None]))
    cot = rand(*out.shape, seed=3)
    (out * nb.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), cot)
    # each used position's row gets the cotangent summed over the batch; unused rows nothing
    summed = cot.sum(axis=0 if batch_first else 1)
    np.testing.assert_allclose(emb.weight.grad.numpy()[:3], summed)
    assert not emb.weight.grad.numpy()[3:].any()


def test_learned_positional_embedding_init_like_embedding():
    nb.manual_seed(0)
    w = nn.LearnedPositionalEmbedding(200, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1.0) < 0.05


# -- errors ------------------------------------------------------------------------------------
def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="TransformerEncoderLayer: activation should be 'relu', "
                                         "'gelu' or a callable, got 'tanh'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(TypeError, match="TransformerDecoderLayer: activation should be"):
        nn.TransformerDecoderLayer(8, 2, activation=3)
    with pytest.raises(ValueError, match="embed_dim=8 must be divisible by num_heads=3"):
        nn.TransformerEncoderLayer(8, 3)
    with pytest.raises(TypeError, match="TransformerEncoder: expected a "
                                        "TransformerEncoderLayer .* got int"):
        nn.TransformerEncoder(3, 2)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): "
                                         r"expected src of shape \(S, N, 8\) "
                                         r"\(batch_first=False\) or \(S, 8\), got \(5, 2, 6\)"):
        layer(nb.randn(5, 2, 6))
    with pytest.raises(ValueError, match=r"TransformerEncoder\(num_layers=2, d_model=8, "
                                         r"nhead=2\): expected src of shape \(S, N, 8\) "
                                         r"\(batch_first=False\) or \(S, 8\), got \(5, 2, 6\)"):
        nn.TransformerEncoder(layer, 2)(nb.randn(5, 2, 6))
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): "
                                         r"expected src of shape \(N, S, 8\) "
                                         r"\(batch_first=True\) or \(S, 8\), got \(8,\)"):
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)(nb.randn(8))
    with pytest.raises(TypeError, match=r"TransformerEncoder\(num_layers=2, d_model=8, "
                                        r"nhead=2\): src must be a Tensor, got list"):
        nn.TransformerEncoder(layer, 2)([1.0])
    dec = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer\(d_model=8, nhead=2\): "
                                         r"expected memory of shape \(N, S, 8\) "
                                         r"\(batch_first=True\) or \(S, 8\), got \(2, 5, 6\)"):
        dec(nb.randn(2, 4, 8), nb.randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"TransformerDecoder\(num_layers=2, d_model=8, "
                                         r"nhead=2\): expected tgt of shape \(N, T, 8\) "
                                         r"\(batch_first=True\) or \(T, 8\), got \(2, 4, 7\)"):
        nn.TransformerDecoder(dec, 2)(nb.randn(2, 4, 7), nb.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"TransformerDecoder\(num_layers=2, d_model=8, "
                                         r"nhead=2\): tgt of shape \(2, 4, 8\) and memory of "
                                         r"shape \(3, 5, 8\) must be both batched"):
        nn.TransformerDecoder(dec, 2)(nb.randn(2, 4, 8), nb.randn(3, 5, 8))
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer\(d_model=8, nhead=2\): "
                                         r"tgt of shape \(4, 8\) and memory of shape "
                                         r"\(2, 5, 8\) must be both batched"):
        dec(nb.randn(4, 8), nb.randn(2, 5, 8))
    # unbatched input still works through the layers and the stacks
    assert nn.TransformerEncoder(layer, 2)(nb.randn(5, 8)).shape == (5, 8)
    assert nn.TransformerDecoder(dec, 2)(nb.randn(4, 8), nb.randn(5, 8)).shape == (4, 8)
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match=r"Transformer\(d_model=8\): expected tgt of shape "
                                         r"\(\*, N, 8\) or \(\*, 8\), got \(4, 2, 6\)"):
        model(nb.randn(5, 2, 8), nb.randn(4, 2, 6))
    with pytest.raises(ValueError, match=r"Transformer\(d_model=8\): src of shape \(5, 2, 8\) "
                                         r"and tgt of shape \(4, 3, 8\) must have the same "
                                         r"batch size"):
        model(nb.randn(5, 2, 8), nb.randn(4, 3, 8))
    pe = nn.SinusoidalPositionalEncoding(4, max_len=5)
    with pytest.raises(ValueError, match=r"SinusoidalPositionalEncoding\(d_model=4, max_len=5\):"
                                         r" input of shape \(6, 2, 4\) has 6 positions, more "
                                         r"than max_len=5"):
        pe(nb.randn(6, 2, 4))
    with pytest.raises(ValueError, match=r"LearnedPositionalEmbedding\(d_model=4\): expected "
                                         r"input of shape \(N, L, 4\) or \(L, 4\), got "
                                         r"\(2, 3, 5\)"):
        nn.LearnedPositionalEmbedding(5, 4, batch_first=True)(nb.randn(2, 3, 5))
