"""Zoo models trained for two AdamW steps with every CUDA kernel run under the host
emulator behind the real glue, against the same steps on the plain CPU path (float64):
the kernels' glue together, as a training step uses it (layouts handed from one op to the
next, saved values, optimizer state), not one op at a time."""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla import models
from tests.kernel_harness import record_launches

rng = np.random.default_rng()  # fresh inputs every run

CASES = {  # name -> (model builder, input maker, target maker, kernels it must launch)
    "gpt": (lambda: models.gpt(vocab_size=11, block_size=8, n_layer=1, n_head=2, d_model=8),
            lambda: rng.integers(0, 11, (2, 8)), lambda: rng.integers(0, 11, (2, 8)),
            {"layer_norm_fwd", "gelu_tanh_fwd", "softmax_fwd", "cross_entropy_bwd",
             "adam_multi"}),
    "resnet": (lambda: models.resnet(depth=8, input_shape=(3, 4, 4), num_classes=5),
               lambda: rng.standard_normal((4, 3, 4, 4)), lambda: rng.integers(0, 5, 4),
               {"im2col", "col2im", "bn_sums_columns", "bn_grad_input"}),
    "char lstm": (lambda: models.char_lstm(vocab_size=9, embed_dim=4, hidden_size=8),
                  lambda: rng.integers(0, 9, (2, 5)), lambda: rng.integers(0, 9, (2, 5)),
                  {"lstm_cell_fwd", "lstm_cell_bwd", "cross_entropy_fwd", "adam_multi"}),
}


def _train(name, x, y):
    build, *_ = CASES[name]
    nb.manual_seed(0)
    model = build().double()
    # SGD for the ResNet: its last stage's batch norm sees four values per channel, whose
    # gradients all but cancel, and Adam's 1 / sqrt(v) would blow their rounding up
    opt = (nb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if name == "resnet"
           else nb.optim.AdamW(model.parameters(), lr=1e-2))
    for _ in range(2):
        out = model(nb.tensor(x))
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), nb.tensor(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [loss.item()] + [p.detach().numpy() for p in model.parameters()]


@pytest.mark.parametrize("name", list(CASES))
def test_two_training_steps_through_the_kernels_match_the_cpu(name, emulated, monkeypatch):
    _, make_x, make_y, wanted = CASES[name]
    x, y = make_x(), make_y()
    if x.dtype.kind == "f":
        x = x.astype(np.float64)
    calls = record_launches(monkeypatch)
    glued = _train(name, x, y)
    assert wanted <= set(calls), sorted(wanted - set(calls))
    monkeypatch.undo()
    plain = _train(name, x, y)
    # (summation orders differ: batch norm over four values leaves gradients of rounding
    # size in the ResNet's last stage, hence the absolute tolerance)
    for k, (a, b) in enumerate(zip(glued, plain)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9,
                                   err_msg=f"{name}: {'loss' if k == 0 else f'parameter {k}'}")
