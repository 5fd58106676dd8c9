"""Float64 gradchecks of the positional encodings (reverse and forward mode, first and
second order): SinusoidalPositionalEncoding with respect to its input,
LearnedPositionalEmbedding with respect to its input and its weight; and the learned
embedding against the torch code it replaces (x + nn.Embedding(max_len, d)(positions)).
Their values and layouts are tested in test_transformer.py."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.autograd import gradcheck, gradgradcheck
from tests.optest import needs_torch, rand, torch

SHAPES = [(False, (5, 2, 4)), (True, (2, 5, 4)), (False, (5, 4))]  # batch_first, input shape


@pytest.mark.parametrize("batch_first, shape", SHAPES)
def test_sinusoidal_gradcheck(batch_first, shape):
    pe = nn.SinusoidalPositionalEncoding(4, max_len=7, batch_first=batch_first,
                                         dtype=nb.float64)
    x = nb.tensor(rand(*shape), requires_grad=True)
    assert gradcheck(pe, [x])
    assert gradgradcheck(pe, [x])
    assert list(pe.parameters()) == []  # the table is a fixed buffer: nothing to learn


@pytest.mark.parametrize("batch_first, shape", SHAPES)
def test_learned_gradcheck_input_and_weight(batch_first, shape):
    """The weight is passed in as a gradcheck input and swapped into the module, so the
    finite differences move it too; rows past the sequence length get no gradient."""
    nb.manual_seed(0)
    emb = nn.LearnedPositionalEmbedding(7, 4, batch_first=batch_first).double()
    x = nb.tensor(rand(*shape), requires_grad=True)
    weight = nb.tensor(emb.weight.detach().numpy(), requires_grad=True)
    original = emb._parameters["weight"]

    def fn(x, w):
        emb._parameters["weight"] = w
        try:
            return emb(x) * emb(x)  # nonlinear, so second order is not trivially zero
        finally:
            emb._parameters["weight"] = original

    assert gradcheck(fn, [x, weight])
    assert gradgradcheck(fn, [x, weight])
    (g,) = nb.autograd.grad(fn(x, weight).sum(), [weight])
    length = shape[1] if batch_first else shape[0]
    assert g.numpy()[:length].all() and not g.numpy()[length:].any()


@needs_torch
@pytest.mark.parametrize("batch_first, shape", SHAPES)
def test_learned_matches_torch_embedding(batch_first, shape):
    """x + weight[positions], as a PyTorch user writes it with nn.Embedding: outputs, the
    input gradient and the weight gradient for a random cotangent."""
    nb.manual_seed(0)
    emb = nn.LearnedPositionalEmbedding(7, 4, batch_first=batch_first).double()
    temb = torch.nn.Embedding(7, 4).double()
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(emb.weight.detach().numpy()))
    x = nb.tensor(rand(*shape), requires_grad=True)
    tx = torch.tensor(rand(*shape), requires_grad=True)
    length = shape[1] if batch_first else shape[0]
    rows = temb(torch.arange(length))                        # (L, E)
    if len(shape) == 3 and not batch_first:
        rows = rows.unsqueeze(1)
    out, tout = emb(x), tx + rows
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-15)
    cot = rand(*shape, seed=3)
    (out * nb.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-15)
