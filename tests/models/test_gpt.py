"""GPT: shapes, parameter count and names, GPT-2 initialisation, causality, parity with a
PyTorch rendering given the same weights, errors, and learning a small sequence task."""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.models.gpt import GPT, Config, gpt
from tests.optest import needs_torch, torch

TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, d_model=16)


def ids(*shape, vocab=11, seed=0):
    return nb.tensor(np.random.default_rng(seed).integers(0, vocab, shape))


def test_shapes_and_dtype():
    model = gpt(**TINY)
    assert isinstance(model, GPT) and model.config == Config(**TINY)
    for t in (8, 3, 1):  # any length up to block_size
        logits = model(ids(3, t))
        assert logits.shape == (3, t, 11) and logits.dtype == nb.float32


@pytest.mark.parametrize("tie", [True, False])
def test_parameter_count_and_tying(tie):
    v, block, layers, d = 11, 8, 2, 16
    model = gpt(**TINY, tie_weights=tie)
    # per block: 2 LayerNorms (4d), c_attn (3d^2 + 3d), attn c_proj (d^2 + d),
    # c_fc (4d^2 + 4d), mlp c_proj (4d^2 + d); then ln_f (2d) and the head (v d, untied)
    count = v * d + block * d + layers * (12 * d * d + 13 * d) + 2 * d + (0 if tie else v * d)
    assert sum(p.numel() for p in model.parameters()) == count
    assert (model.lm_head.weight is model.transformer.wte.weight) == tie
    no_bias = gpt(**TINY, bias=False)
    assert not any(name.endswith("bias") for name, _ in no_bias.named_parameters())


def test_state_dict_keys_are_gpt2s():
    keys = list(gpt(**TINY).state_dict())
    assert keys[:2] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert "transformer.h.1.attn.c_attn.weight" in keys
    assert "transformer.h.0.mlp.c_proj.bias" in keys
    assert keys[-3:] == ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"]


def test_gpt2_initialisation():
    nb.manual_seed(0)
    model = gpt(vocab_size=50, block_size=64, n_layer=4, n_head=4, d_model=64)
    std = {name: p.detach().numpy().std() for name, p in model.named_parameters()}
    assert abs(std["transformer.wte.weight"] - 0.02) < 0.002
    assert abs(std["transformer.h.0.attn.c_attn.weight"] - 0.02) < 0.002
    residual = 0.02 / math.sqrt(2 * 4)
    assert abs(std["transformer.h.3.mlp.c_proj.weight"] - residual) < 0.1 * residual
    assert abs(std["transformer.h.3.attn.c_proj.weight"] - residual) < 0.1 * residual
    assert not model.transformer.h[0].attn.c_attn.bias.detach().numpy().any()
    np.testing.assert_array_equal(model.transformer.ln_f.weight.detach().numpy(), 1.0)


def test_causality():
    # the logits at position t depend on tokens 0..t only
    nb.manual_seed(0)
    model = gpt(**TINY).eval()
    x = ids(2, 8).numpy()
    with nb.no_grad():
        base = model(nb.tensor(x)).numpy()
        for t in (0, 3, 7):
            changed = x.copy()
            changed[:, t] = (changed[:, t] + 1) % 11
            out = model(nb.tensor(changed)).numpy()
            np.testing.assert_array_equal(out[:, :t], base[:, :t])
            assert not np.allclose(out[:, t], base[:, t])
    # and a prefix gives the prefix's logits
    np.testing.assert_allclose(model(nb.tensor(x[:, :5])).detach().numpy(), base[:, :5],
                               rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_parameter():
    model = gpt(**TINY)
    loss = F.cross_entropy(model(ids(2, 8)).reshape(-1, 11), ids(16, seed=1))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


def test_errors():
    model = gpt(**TINY)
    with pytest.raises(ValueError, match="gpt: a sequence of 9 tokens is longer than "
                                         "block_size=8"):
        model(ids(2, 9))
    with pytest.raises(ValueError, match=r"gpt: expected token ids of shape \(B, T\) and an "
                                         r"integer dtype, got shape \(2, 3\) and dtype float32"):
        model(nb.zeros(2, 3))
    with pytest.raises(ValueError, match="gpt: d_model=10 must be divisible by n_head=4"):
        gpt(d_model=10, n_head=4)


# -- parity with a PyTorch rendering -----------------------------------------------------------
def _torch_gpt(vocab_size, block_size, n_layer, n_head, d_model):
    tnn, TF = torch.nn, torch.nn.functional

    class Attention(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(d_model, 3 * d_model), tnn.Linear(d_model,
                                                                                     d_model)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = (z.view(b, t, n_head, d // n_head).transpose(1, 2)
                       for z in self.c_attn(x).chunk(3, dim=-1))
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(b, t, d))

    class MLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.c_proj = tnn.Linear(d_model, 4 * d_model), tnn.Linear(4 * d_model,
                                                                                   d_model)

        def forward(self, x):
            return self.c_proj(TF.gelu(self.c_fc(x), approximate="tanh"))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = tnn.LayerNorm(d_model), Attention()
            self.ln_2, self.mlp = tnn.LayerNorm(d_model), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tnn.ModuleDict({
                "wte": tnn.Embedding(vocab_size, d_model),
                "wpe": tnn.Embedding(block_size, d_model),
                "h": tnn.ModuleList([Block() for _ in range(n_layer)]),
                "ln_f": tnn.LayerNorm(d_model)})
            self.lm_head = tnn.Linear(d_model, vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe.weight[:idx.shape[1]]
            for block in tr.h:
                x = block(x)
            return self.lm_head(tr.ln_f(x))
    return Net()


@needs_torch
def test_matches_torch_given_the_same_weights():
    torch.manual_seed(0)
    ref = _torch_gpt(**TINY).double()
    model = gpt(**TINY).double()
    ref_sd = ref.state_dict()
    assert list(model.state_dict()) == list(ref_sd)
    model.load_state_dict({k: v.detach().numpy() for k, v in ref_sd.items()})
    x = np.random.default_rng(0).integers(0, 11, (3, 7))
    out_t, out_n = ref(torch.tensor(x)), model(nb.tensor(x))
    np.testing.assert_allclose(out_n.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    cot = np.random.default_rng(1).standard_normal(out_n.shape)
    (out_t * torch.tensor(cot)).sum().backward()
    (out_n * nb.tensor(cot)).sum().backward()
    grads_t = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


# -- learning ----------------------------------------------------------------------------------
def test_learns_to_continue_a_repeating_pattern():
    # every sequence repeats its first 3 (random) tokens: from position 2 on, the next token
    # is the one 2 places back, which only attention can find (ln 10 = 2.30 by chance)
    nb.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab, length, period = 10, 12, 3

    def batch(n):
        x = np.tile(rng.integers(0, vocab, (n, period)), (1, 5))[:, :length + 1]
        return nb.tensor(x[:, :-1]), nb.tensor(x[:, 1:])

    def loss_fn(model, x, y):
        logits = model(x)[:, period - 1:]
        return F.cross_entropy(logits.reshape(-1, vocab), y[:, period - 1:].reshape(-1))

    model = gpt(vocab_size=vocab, block_size=length, n_layer=2, n_head=2, d_model=32)
    opt = nb.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(120):
        x, y = batch(32)
        opt.zero_grad()
        loss_fn(model, x, y).backward()
        opt.step()
    x, y = batch(256)  # patterns never seen in training
    with nb.no_grad():
        loss = loss_fn(model.eval(), x, y).item()
        predicted = model(x).numpy()[:, period - 1:].argmax(-1)
    assert loss < 0.05
    np.testing.assert_array_equal(predicted, y.numpy()[:, period - 1:])
