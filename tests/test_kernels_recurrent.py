"""The recurrent cell kernels (``nabla.kernels.recurrent``: LSTM, GRU, vanilla RNN) behind ``Recurrence``'s time loop:
under the host emulator on the CPU, and against the composed CuPy ops on a GPU."""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.ops.recurrent import recurrence
from tests.kernel_harness import both, gpu, record_launches, values_and_grads


def _lstm(mask=None, reverse=False, bias=True):
    def fn(xw, w, h0, c0, *b):
        states = recurrence("lstm", xw, (h0, c0), w, b[0] if bias else None, mask=mask,
                            reverse=reverse)
        return states * 1.0  # h and c after every step (2, T, B, H)
    return fn


def _arrays(steps, batch, hidden, dtype, bias=True):
    rng = np.random.default_rng()  # fresh every run
    shapes = [(steps, batch, 4 * hidden), (4 * hidden, hidden), (batch, hidden),
              (batch, hidden)] + ([(4 * hidden,)] if bias else [])
    return [(rng.standard_normal(s) * 0.7).astype(dtype) for s in shapes]


CASES = {  # name -> (steps, batch, hidden, options)
    "forward in time": (5, 3, 7, {}),
    "reversed, no bias": (4, 2, 9, {"reverse": True, "bias": False}),
    "variable lengths": (6, 3, 5, {"mask": np.arange(6)[:, None] < np.array([6, 2, 4])}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5),
                                        (np.float16, 2e-2)])
def test_lstm_cell_kernels_match_the_cpu_loop(case, dtype, tol, emulated, monkeypatch):
    steps, batch, hidden, options = CASES[case]
    bias = options.get("bias", True)
    kwargs = {k: v for k, v in options.items() if k != "bias"}
    if "mask" in kwargs:
        kwargs["mask"] = nb.tensor(kwargs["mask"])
    arrays = _arrays(steps, batch, hidden, dtype, bias)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(_lstm(bias=bias, **kwargs), arrays)
    assert calls.count("lstm_cell_fwd") == steps and calls.count("lstm_cell_bwd") == steps
    monkeypatch.undo()
    plain = values_and_grads(_lstm(bias=bias, **kwargs), [a.astype(np.float64) for a in arrays])
    for k, (a, b) in enumerate(zip(glued, plain)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{case}: {'value' if k == 0 else f'grad {k - 1}'}")


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


def _gru(mask=None, reverse=False, bias=True):
    def fn(xw, w, h0, *b):
        return recurrence("gru", xw, h0, w, b[0] if bias else None, mask=mask,
                          reverse=reverse) * 1.0
    return fn


def _gru_arrays(steps, batch, hidden, dtype, bias=True):
    rng = np.random.default_rng()
    shapes = [(steps, batch, 3 * hidden), (3 * hidden, hidden), (batch, hidden)] + (
        [(3 * hidden,)] if bias else [])
    return [(rng.standard_normal(s) * 0.7).astype(dtype) for s in shapes]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5),
                                        (np.float16, 2e-2)])
def test_gru_cell_kernels_match_the_cpu_loop(case, dtype, tol, emulated, monkeypatch):
    steps, batch, hidden, options = CASES[case]
    bias = options.get("bias", True)
    kwargs = {k: v for k, v in options.items() if k != "bias"}
    if "mask" in kwargs:
        kwargs["mask"] = nb.tensor(kwargs["mask"])
    arrays = _gru_arrays(steps, batch, hidden, dtype, bias)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(_gru(bias=bias, **kwargs), arrays)
    assert calls.count("gru_cell_fwd") == steps and calls.count("gru_cell_bwd") == steps
    monkeypatch.undo()
    plain = values_and_grads(_gru(bias=bias, **kwargs), [a.astype(np.float64) for a in arrays])
    for k, (a, b) in enumerate(zip(glued, plain)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{case}: {'value' if k == 0 else f'grad {k - 1}'}")


def test_cho_gru_keeps_its_array_loop(emulated, monkeypatch):
    """The variant with the reset gate before the recurrent GEMM has no kernel."""
    arrays = _gru_arrays(3, 2, 4, np.float64)
    calls = record_launches(monkeypatch)
    values_and_grads(lambda xw, w, h0, b: recurrence("gru", xw, h0, w, b, reset_after=False),
                     arrays)
    assert not any(c.startswith("gru_cell") for c in calls)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5),
                                        (np.float16, 2e-2)])
def test_rnn_cell_kernels_match_the_cpu_loop(cell, case, dtype, tol, emulated, monkeypatch):
    steps, batch, hidden, options = CASES[case]
    bias = options.get("bias", True)
    kwargs = {k: v for k, v in options.items() if k != "bias"}
    if "mask" in kwargs:
        kwargs["mask"] = nb.tensor(kwargs["mask"])
    rng = np.random.default_rng()
    shapes = [(steps, batch, hidden), (hidden, hidden), (batch, hidden)] + (
        [(hidden,)] if bias else [])
    arrays = [(rng.standard_normal(s) * 0.7).astype(dtype) for s in shapes]

    def fn(xw, w, h0, *b):
        return recurrence(cell, xw, h0, w, b[0] if bias else None, **kwargs) * 1.0

    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    assert calls.count("rnn_cell_fwd") == steps and calls.count("rnn_cell_bwd") == steps
    monkeypatch.undo()
    plain = values_and_grads(fn, [a.astype(np.float64) for a in arrays])
    for k, (a, b) in enumerate(zip(glued, plain)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{cell} {case}: {'value' if k == 0 else k - 1}")


@gpu
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10),
                                         (np.float16, 2e-2)])
def test_lstm_cell_kernels_match_composed_ops_on_gpu(dtype, rtol):
    arrays = _arrays(64, 32, 256, dtype)
    (y, grads), (y_ref, grads_ref) = both(_lstm(), arrays)
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * np.abs(y_ref).max())
    for d, d_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max())


@gpu
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_gru_cell_kernels_match_composed_ops_on_gpu(dtype, rtol):
    arrays = _gru_arrays(64, 32, 256, dtype)
    (y, grads), (y_ref, grads_ref) = both(_gru(), arrays)
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * np.abs(y_ref).max())
    for d, d_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max())
