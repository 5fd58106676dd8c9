"""The recurrent cell kernels (``nabla.kernels.recurrent``: LSTM, GRU, vanilla RNN) behind
``Recurrence``'s time loop: under the host emulator on the CPU, and against the composed
CuPy ops on a GPU."""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.ops.recurrent import CELLS, recurrence
from tests.kernel_harness import both, gpu, record_launches, values_and_grads

KERNEL = {"lstm": "lstm_cell", "gru": "gru_cell", "rnn_tanh": "rnn_cell",
          "rnn_relu": "rnn_cell"}


def _cell(cell, mask=None, reverse=False, bias=True):
    """The op as a function of (xw, w_hh, h0[, c0][, b_hh]): the states after every step."""
    def fn(xw, w, h0, *rest):
        init, rest = ((h0, rest[0]), rest[1:]) if cell == "lstm" else (h0, rest)
        return recurrence(cell, xw, init, w, rest[0] if bias else None, mask=mask,
                          reverse=reverse) * 1.0
    return fn


def _arrays(cell, steps, batch, hidden, dtype, bias=True):
    rng = np.random.default_rng()  # fresh every run
    width = CELLS[cell] * hidden
    shapes = ([(steps, batch, width), (width, hidden), (batch, hidden)]
              + [(batch, hidden)] * (cell == "lstm") + [(width,)] * bias)
    return [(rng.standard_normal(s) * 0.7).astype(dtype) for s in shapes]


CASES = {  # name -> (steps, batch, hidden, options)
    "forward in time": (5, 3, 7, {}),
    "reversed, no bias": (4, 2, 9, {"reverse": True, "bias": False}),
    "variable lengths": (6, 3, 5, {"mask": np.arange(6)[:, None] < np.array([6, 2, 4])}),
}


@pytest.mark.parametrize("cell", list(KERNEL))
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5),
                                        (np.float16, 2e-2)])
def test_cell_kernels_match_the_cpu_loop(cell, case, dtype, tol, emulated, monkeypatch):
    steps, batch, hidden, options = CASES[case]
    bias = options.get("bias", True)
    kwargs = {k: v for k, v in options.items() if k != "bias"}
    if "mask" in kwargs:
        kwargs["mask"] = nb.tensor(kwargs["mask"])
    fn = _cell(cell, bias=bias, **kwargs)
    arrays = _arrays(cell, steps, batch, hidden, dtype, bias)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    name = KERNEL[cell]
    assert calls.count(f"{name}_fwd") == steps and calls.count(f"{name}_bwd") == steps
    monkeypatch.undo()
    plain = values_and_grads(fn, [a.astype(np.float64) for a in arrays])
    for k, (a, b) in enumerate(zip(glued, plain)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{cell} {case}: "
                                           f"{'value' if k == 0 else f'grad {k - 1}'}")


def test_lstm_layer_through_the_kernels_matches_the_cpu_layer(emulated, monkeypatch):
    """A 2-layer bidirectional nn.LSTM, batch-first: outputs, final states and the
    parameters' gradients."""
    nb.manual_seed(0)
    lstm = nb.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True).double()
    x = np.random.default_rng().standard_normal((3, 5, 4))

    def run():
        lstm.zero_grad()
        xt = nb.tensor(x, requires_grad=True)
        out, (h, c) = lstm(xt)
        (out.sum() + (h * h).sum() + c.sum()).backward()
        return [out.detach().numpy(), h.detach().numpy(), c.detach().numpy(),
                xt.grad.numpy()] + [p.grad.numpy() for p in lstm.parameters()]

    calls = record_launches(monkeypatch)
    glued = run()
    assert calls.count("lstm_cell_fwd") == 4 * 5  # 2 layers x 2 directions x 5 steps
    monkeypatch.undo()
    for a, b in zip(glued, run()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_cho_gru_keeps_its_array_loop(emulated, monkeypatch):
    """The variant with the reset gate before the recurrent GEMM has no kernel."""
    arrays = _arrays("gru", 3, 2, 4, np.float64)
    calls = record_launches(monkeypatch)
    values_and_grads(lambda xw, w, h0, b: recurrence("gru", xw, h0, w, b, reset_after=False),
                     arrays)
    assert not any(c.startswith("gru_cell") for c in calls)


@gpu
@pytest.mark.parametrize("cell, dtype, rtol", [
    ("lstm", np.float32, 1e-4), ("lstm", np.float64, 1e-10), ("lstm", np.float16, 2e-2),
    ("gru", np.float32, 1e-4), ("gru", np.float64, 1e-10)])
def test_cell_kernels_match_composed_ops_on_gpu(cell, dtype, rtol):
    (y, grads), (y_ref, grads_ref) = both(_cell(cell), _arrays(cell, 64, 32, 256, dtype))
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * np.abs(y_ref).max())
    for d, d_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max())
