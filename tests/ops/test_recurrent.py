"""The fused recurrence (``nabla.recurrence``) of every cell: values against a NumPy
loop, vjp and jvp gradchecked to second order, forward and backward against the
same loop in PyTorch, with and without masks, in both directions; errors."""
import numpy as np
import pytest

import nabla as nb
from nabla.ops.recurrent import CELLS as GATES
from tests.optest import check_op, rand, torch


# -- the cells written once for NumPy and for PyTorch ------------------------------------------
def _numpy_lib():
    return dict(tanh=np.tanh, sigmoid=lambda a: 1 / (1 + np.exp(-a)),
                relu=lambda a: np.maximum(a, 0), stack=np.stack, where=np.where,
                asarray=np.asarray)


def _torch_lib():
    return dict(tanh=torch.tanh, sigmoid=torch.sigmoid, relu=torch.relu, stack=torch.stack,
                where=torch.where, asarray=torch.as_tensor)


def loop(lib, cell, xw, w, init, b=None, mask=None, reverse=False, reset_after=True):
    """States (S, T, B, H) by the textbook equations, one step at a time."""
    h = w.shape[1]
    b_r, b_z, b_n = (0, 0, 0) if b is None else (b[:h], b[h:2 * h], b[2 * h:])
    steps = xw.shape[0]
    states = [None] * steps
    prev = init
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        x, hp = xw[t], prev[0]
        if cell == "gru":
            r = lib["sigmoid"](x[:, :h] + hp @ w[:h].T + b_r)
            z = lib["sigmoid"](x[:, h:2 * h] + hp @ w[h:2 * h].T + b_z)
            if reset_after:   # PyTorch: r scales the recurrent term
                n = lib["tanh"](x[:, 2 * h:] + r * (hp @ w[2 * h:].T + b_n))
            else:             # Cho et al.: r scales the state before the matmul
                n = lib["tanh"](x[:, 2 * h:] + (r * hp) @ w[2 * h:].T + b_n)
            new = ((1 - z) * n + z * hp,)
        else:
            a = x + hp @ w.T + (0 if b is None else b)
            if cell == "rnn_tanh":
                new = (lib["tanh"](a),)
            elif cell == "rnn_relu":
                new = (lib["relu"](a),)
            else:
                i, f = lib["sigmoid"](a[:, :h]), lib["sigmoid"](a[:, h:2 * h])
                g, o = lib["tanh"](a[:, 2 * h:3 * h]), lib["sigmoid"](a[:, 3 * h:])
                c = f * prev[1] + i * g
                new = (o * lib["tanh"](c), c)
        if mask is not None:
            keep = lib["asarray"](mask[t][:, None])
            new = tuple(lib["where"](keep, n, p) for n, p in zip(new, prev))
        states[t] = prev = new
    return lib["stack"]([lib["stack"]([s[k] for s in states]) for k in range(len(init))])


def case(cell, steps=3, batch=2, hidden=2, bias=True, seed=0):
    """Arrays (xw, w_hh, h0[, c0][, b_hh]) for a small recurrence."""
    g = GATES[cell]
    arrays = [rand(steps, batch, g * hidden, seed=seed),
              rand(g * hidden, hidden, seed=seed + 1, low=-1, high=1),
              rand(batch, hidden, seed=seed + 2)]
    if cell == "lstm":
        arrays.append(rand(batch, hidden, seed=seed + 3))
    if bias:
        arrays.append(rand(g * hidden, seed=seed + 4))
    return arrays


def run_check(cell, arrays, bias, mask=None, reverse=False, reset_after=True):
    s = 2 if cell == "lstm" else 1

    def split(args):
        xw, w, init = args[0], args[1], tuple(args[2:2 + s])
        return xw, w, init, (args[-1] if bias else None)

    def fn(*args):
        xw, w, init, b = split(args)
        return nb.recurrence(cell, xw, init if cell == "lstm" else init[0], w, b, mask=mask,
                             reverse=reverse, reset_after=reset_after)

    def ref(*args):
        xw, w, init, b = split(args)
        return loop(_numpy_lib(), cell, xw, w, init, b, mask, reverse, reset_after)

    def torch_fn(*args):
        xw, w, init, b = split(args)
        return loop(_torch_lib(), cell, xw, w, init, b, mask, reverse, reset_after)

    check_op(fn, arrays, ref=ref, torch_fn=torch_fn)


CELL_CASES = [("rnn_tanh", True), ("rnn_relu", True), ("lstm", True), ("lstm", False),
              ("gru", True), ("gru", False)]
MASK = np.array([[True, True, True], [True, False, True], [False, False, True]])  # lengths 2, 1, 3


@pytest.mark.parametrize("cell, bias", CELL_CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrence(cell, bias, reverse):
    run_check(cell, case(cell, bias=bias), bias, reverse=reverse)


@pytest.mark.parametrize("cell, bias", CELL_CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrence_masked(cell, bias, reverse):
    run_check(cell, case(cell, batch=3, bias=bias), bias, mask=MASK, reverse=reverse)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_gru_reset_before(bias, masked):
    """Cho et al.'s GRU: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)."""
    mask = MASK if masked else None
    run_check("gru", case("gru", batch=3, bias=bias, seed=5), bias, mask=mask,
              reset_after=False)


def test_gru_variants_differ():
    """The two GRU variants are different functions of the same parameters."""
    xw, w, h0, b = (nb.tensor(a) for a in case("gru"))
    after = nb.recurrence("gru", xw, h0, w, b)
    before = nb.recurrence("gru", xw, h0, w, b, reset_after=False)
    assert not np.allclose(after.numpy(), before.numpy())


def test_masked_state_is_carried():
    """Past a sequence's end the state stays what it was at the sequence's last step."""
    xw, w, h0, c0, b = (nb.tensor(a) for a in case("lstm", batch=3))
    states = nb.recurrence("lstm", xw, (h0, c0), w, b, mask=MASK).numpy()
    # sequence 1 has length 1: its states at steps 1 and 2 equal those at step 0
    np.testing.assert_array_equal(states[:, 1, 1], states[:, 0, 1])
    np.testing.assert_array_equal(states[:, 2, 1], states[:, 0, 1])
    # and it matches running that sequence alone for one step
    alone = nb.recurrence("lstm", xw[:1, 1:2], (h0[1:2], c0[1:2]), w, b).numpy()
    np.testing.assert_allclose(states[:, 0, 1:2], alone[:, 0], rtol=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backward_twice_with_retain_graph(cell):
    """The backward reads the saved activations without changing them."""
    ins = [nb.tensor(a, requires_grad=True) for a in case(cell)]
    s = 2 if cell == "lstm" else 1
    hx = tuple(ins[2:2 + s]) if cell == "lstm" else ins[2]
    states = nb.recurrence(cell, ins[0], hx, ins[1], ins[-1], mask=MASK[:, :2])
    states.sum().backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in ins]
    states.sum().backward()
    for a, t in zip(first, ins):
        np.testing.assert_allclose(t.grad.numpy(), 2 * a, rtol=1e-12)


def test_float32_gradient_dtypes():
    xw, w, h0, c0, b = (nb.tensor(a.astype(np.float32), requires_grad=True)
                        for a in case("lstm"))
    states = nb.recurrence("lstm", xw, (h0, c0), w, b)
    states.sum().backward()
    assert states.dtype == nb.float32
    assert all(t.grad.dtype == nb.float32 for t in (xw, w, h0, c0, b))


def test_long_sequence_backward_matches_unrolled():
    """100 steps: the fused BPTT equals the gradient of the unrolled Tensor-op graph."""
    from nabla.autograd import grad

    arrays = case("lstm", steps=100, batch=2, hidden=3)
    ins = [nb.tensor(a, requires_grad=True) for a in arrays]
    cot = nb.tensor(np.random.default_rng(0).standard_normal((2, 100, 2, 3)))
    fused = nb.recurrence("lstm", ins[0], (ins[2], ins[3]), ins[1], ins[4])
    g1 = grad(fused, ins, cot)
    fused = nb.recurrence("lstm", ins[0], (ins[2], ins[3]), ins[1], ins[4])
    g2 = grad(fused, ins, cot, create_graph=True)  # rules differentiated: the unrolled path
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- errors --------------------------------------------------------------------------------
def _lstm_args():
    xw, w, h0, c0, b = (nb.tensor(a) for a in case("lstm"))
    return xw, w, h0, c0, b


def test_errors():
    xw, w, h0, c0, b = _lstm_args()
    with pytest.raises(ValueError, match="unknown cell 'lstn'"):
        nb.recurrence("lstn", xw, (h0, c0), w)
    with pytest.raises(ValueError, match=r"input_proj of shape \(T, B, G\*H\), got \(2, 8\)"):
        nb.recurrence("lstm", xw[0], (h0, c0), w)
    with pytest.raises(ValueError, match=r"expected weight_hh of shape \(8, 2\), got \(6, 2\)"):
        nb.recurrence("lstm", xw, (h0, c0), w[:6])
    with pytest.raises(ValueError, match=r"input_proj has 8 features per step, expected "
                                         r"3 \* 2 = 6"):
        nb.recurrence("gru", xw, h0, w[:6])
    with pytest.raises(ValueError, match=r"expected c0 of shape \(2, 2\), got \(1, 2\)"):
        nb.recurrence("lstm", xw, (h0, c0[:1]), w)
    with pytest.raises(ValueError, match="hx must be the pair"):
        nb.recurrence("lstm", xw, (h0,), w)
    with pytest.raises(ValueError, match=r"expected bias_hh of shape \(8,\)"):
        nb.recurrence("lstm", xw, (h0, c0), w, b[:4])
    with pytest.raises(ValueError, match=r"bool mask of shape \(3, 2\), got bool \(2, 3\)"):
        nb.recurrence("lstm", xw, (h0, c0), w, mask=np.ones((2, 3), bool))
    with pytest.raises(TypeError, match="one floating dtype, got float32, float64"):
        nb.recurrence("lstm", xw.float(), (h0, c0), w)
    with pytest.raises(ValueError, match="at least one time step"):
        nb.recurrence("lstm", xw[:0], (h0, c0), w)
