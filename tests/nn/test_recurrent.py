"""RNN, LSTM, GRU and their cells against PyTorch's given the same weights (float64):
outputs, final states, input and initial-state gradients and every parameter
gradient, over layers, directions, layouts, initial states and packed
variable-length batches; the Cho et al. GRU against NumPy; dropout between
layers; gradchecks (inputs, states and parameters); BPTT over 10 000 steps; errors
that name the layer."""
import math
import tracemalloc
import warnings

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.autograd import gradcheck
from nabla.nn.utils import rnn as rnn_utils
from tests.optest import assert_param_grads_match, gradcheck_with_params, needs_torch, rand, torch


def copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def _flat(out) -> list:
    """A layer's (output, h_n) or (output, (h_n, c_n)), or a cell's h or (h, c), as a list."""
    if not isinstance(out, tuple):
        return [out]
    return [x for part in out for x in (part if isinstance(part, tuple) else (part,))]


def leaves(x, states):
    """(nabla, torch) input tensors requiring grad and the hx argument each side takes."""
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sn = [nb.tensor(s, requires_grad=True) for s in states]
    st = [torch.tensor(s, requires_grad=True) for s in states]
    as_hx = lambda ss: (tuple(ss) if len(ss) == 2 else ss[0]) if ss else None  # noqa: E731
    return (xn, sn, as_hx(sn)), (xt, st, as_hx(st))


def check_against_torch(module, tmodule, outs, touts, nabla_leaves, torch_leaves, atol):
    """Values of every output, then, for a random cotangent on each, the gradients of
    the input, the initial states and every parameter (in PyTorch's order)."""
    rng = np.random.default_rng(1)
    loss, tloss = 0, 0
    for o, to in zip(outs, touts):
        np.testing.assert_allclose(o.detach().numpy(), to.detach().numpy(), atol=atol,
                                   rtol=1e-9)
        cot = rng.standard_normal(o.shape)
        loss, tloss = loss + (o * nb.tensor(cot)).sum(), tloss + (to * torch.tensor(cot)).sum()
    loss.backward()
    tloss.backward()
    for i, (a, b) in enumerate(zip(nabla_leaves, torch_leaves)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-9,
                                   err_msg=f"gradient of input {i}")
    assert_param_grads_match(module, tmodule, atol=atol, rtol=1e-9)


def compare(module, tmodule, x, states=(), atol=1e-10):
    """Forward and backward through every output (float64) in both frameworks."""
    (xn, sn, hx), (xt, st, thx) = leaves(x, states)
    check_against_torch(module, tmodule, _flat(module(xn, hx)), _flat(tmodule(xt, thx)),
                        [xn] + sn, [xt] + st, atol)


def pair(name, *args, **kwargs):
    torch.manual_seed(0)
    tmodule = getattr(torch.nn, name)(*args, **kwargs).double()
    module = getattr(nn, name)(*args, **kwargs).double()
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmodule.state_dict().items()}
    copy_from_torch(module, tmodule)
    return module, tmodule


# -- layers against PyTorch ----------------------------------------------------------------
LAYER_CASES = [  # name, kwargs, input shape (T, B, F) unless batch_first / unbatched
    ("RNN", {}, (5, 3, 4)),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, (4, 2, 4)),
    ("RNN", {"bidirectional": True, "bias": False}, (4, 2, 4)),
    ("RNN", {"batch_first": True}, (3, 5, 4)),
    ("RNN", {"num_layers": 3}, (4, 2, 4)),
    ("RNN", {"num_layers": 3, "batch_first": True, "bidirectional": True,
             "nonlinearity": "relu"}, (2, 5, 4)),
    ("RNN", {"num_layers": 2, "batch_first": True, "bidirectional": True, "bias": False},
     (3, 4, 4)),
    ("LSTM", {}, (5, 3, 4)),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, (4, 2, 4)),
    ("LSTM", {"num_layers": 3, "batch_first": True}, (2, 5, 4)),
    ("LSTM", {"bidirectional": True, "batch_first": True, "bias": False}, (3, 4, 4)),
    ("LSTM", {"num_layers": 2}, (6, 4)),                                   # unbatched
    ("LSTM", {"proj_size": 2}, (5, 3, 4)),                      # h = W_hr (o tanh c)
    ("LSTM", {"proj_size": 2, "num_layers": 3, "bidirectional": True, "batch_first": True},
     (2, 5, 4)),
    ("LSTM", {"proj_size": 1, "bias": False}, (5, 4)),                     # unbatched
    ("GRU", {}, (5, 3, 4)),
    ("GRU", {"num_layers": 2, "bidirectional": True}, (4, 2, 4)),
    ("GRU", {"num_layers": 3, "batch_first": True, "bias": False}, (2, 5, 4)),
    ("GRU", {"bidirectional": True}, (5, 4)),                              # unbatched
]


def _state_shapes(name, kwargs, shape):
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    batch = () if len(shape) == 2 else (shape[0] if kwargs.get("batch_first") else shape[1],)
    h = kwargs.get("proj_size") or 3  # hidden_size 3; h0 has proj_size features with one
    return [(layers,) + batch + (h,), (layers,) + batch + (3,)][:2 if name == "LSTM" else 1]


@needs_torch
@pytest.mark.parametrize("name, kwargs, shape", LAYER_CASES)
@pytest.mark.parametrize("with_states", [False, True])
def test_layer_matches_torch(name, kwargs, shape, with_states):
    module, tmodule = pair(name, 4, 3, **kwargs)
    states = [rand(*s, seed=7 + i) for i, s in enumerate(_state_shapes(name, kwargs, shape))]
    compare(module, tmodule, rand(*shape), states if with_states else ())


@needs_torch
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "LSTM-proj"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_matches_torch(name, bidirectional, enforce_sorted):
    """Variable lengths: padded outputs (zeros past each end), the state at each
    sequence's own last step, and all gradients, as PyTorch's packed kernels."""
    kwargs = {"num_layers": 2, "bidirectional": bidirectional}
    if name == "LSTM-proj":
        name, kwargs["proj_size"] = "LSTM", 2
    module, tmodule = pair(name, 4, 3, **kwargs)
    lengths = [5, 3, 2, 1] if enforce_sorted else [2, 5, 1, 3]
    shapes = _state_shapes(name, kwargs, (6, 4, 4))
    states = [rand(*s, seed=3 + i) for i, s in enumerate(shapes)]
    (xn, sn, hx), (xt, st, thx) = leaves(rand(6, 4, 4), states)
    packed = rnn_utils.pack_padded_sequence(xn, lengths, enforce_sorted=enforce_sorted)
    tpacked = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths,
                                                      enforce_sorted=enforce_sorted)
    out, state = module(packed, hx)
    tout, tstate = tmodule(tpacked, thx)
    assert isinstance(out, rnn_utils.PackedSequence)
    np.testing.assert_allclose(out.data.detach().numpy(), tout.data.detach().numpy(),
                               atol=1e-10, rtol=1e-9)
    padded, lens = rnn_utils.pad_packed_sequence(out)
    tpadded, tlens = torch.nn.utils.rnn.pad_packed_sequence(tout)
    np.testing.assert_array_equal(lens.numpy(), tlens.numpy())
    check_against_torch(module, tmodule, _flat((padded, state)), _flat((tpadded, tstate)),
                        [xn] + sn, [xt] + st, 1e-10)


# -- cells against PyTorch -------------------------------------------------------------------
CELL_CASES = [
    ("RNNCell", {}, (3, 4)), ("RNNCell", {"nonlinearity": "relu", "bias": False}, (3, 4)),
    ("RNNCell", {}, (4,)), ("LSTMCell", {}, (3, 4)), ("LSTMCell", {"bias": False}, (4,)),
    ("GRUCell", {}, (3, 4)), ("GRUCell", {}, (4,)),
]


@needs_torch
@pytest.mark.parametrize("name, kwargs, shape", CELL_CASES)
@pytest.mark.parametrize("with_states", [False, True])
def test_cell_matches_torch(name, kwargs, shape, with_states):
    module, tmodule = pair(name, 4, 3, **kwargs)
    count = 2 if name == "LSTMCell" else 1
    states = [rand(*shape[:-1], 3, seed=5 + i) for i in range(count)] if with_states else []
    (xn, sn, hx), (xt, st, thx) = leaves(rand(*shape), states)
    check_against_torch(module, tmodule, _flat(module(xn, hx)), _flat(tmodule(xt, thx)),
                        [xn] + sn, [xt] + st, 1e-12)


@needs_torch
def test_cell_unrolled_equals_layer():
    """An LSTMCell stepped in a loop gives the LSTM layer's outputs and gradients."""
    layer, cell = nn.LSTM(3, 4).double(), nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = nb.tensor(rand(6, 2, 3), requires_grad=True)
    out, (h, c) = layer(x)
    state, hs = None, []
    for t in range(6):
        state = cell(x[t], state)
        hs.append(state[0])
    np.testing.assert_allclose(nb.stack(hs).detach().numpy(), out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(state[1].detach().numpy(), c[0].detach().numpy(), rtol=1e-12)
    g_layer = nb.autograd.grad(out.sum() + c.sum(), [x] + list(layer.parameters()))
    g_cell = nb.autograd.grad(nb.stack(hs).sum() + state[1].sum(), [x] + list(cell.parameters()))
    for a, b in zip(g_layer, g_cell):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


# -- the Cho et al. GRU against NumPy ----------------------------------------------------------
def np_gru_cho(x, h, w_ih, w_hh, b_ih, b_hh):
    """One step of h~ = tanh(W x + W_hh (r * h) + b), h' = z h + (1 - z) h~ (Cho et al.)."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    hs = w_hh.shape[1]
    gx = x @ w_ih.T + b_ih
    r = sig(gx[:, :hs] + h @ w_hh[:hs].T + b_hh[:hs])
    z = sig(gx[:, hs:2 * hs] + h @ w_hh[hs:2 * hs].T + b_hh[hs:2 * hs])
    n = np.tanh(gx[:, 2 * hs:] + (r * h) @ w_hh[2 * hs:].T + b_hh[2 * hs:])
    return z * h + (1 - z) * n


def test_gru_reset_before_matches_numpy():
    gru = nn.GRU(4, 3, num_layers=2, reset_after=False).double()
    x, h0 = rand(5, 2, 4), rand(2, 2, 3, seed=1)
    out, h_n = gru(nb.tensor(x), nb.tensor(h0))
    p = {k: v.numpy() for k, v in gru.state_dict().items()}
    layer_in = x
    for layer in range(2):
        h, hs = h0[layer], []
        for t in range(5):
            h = np_gru_cho(layer_in[t], h, *(p[f"{k}_l{layer}"] for k in
                                             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
            hs.append(h)
        np.testing.assert_allclose(h_n[layer].detach().numpy(), h, rtol=1e-12)
        layer_in = np.stack(hs)
    np.testing.assert_allclose(out.detach().numpy(), layer_in, rtol=1e-12)
    cell = nn.GRUCell(4, 3, reset_after=False).double()
    q = [v.numpy() for v in cell.state_dict().values()]
    np.testing.assert_allclose(cell(nb.tensor(x[0]), nb.tensor(h0[0])).detach().numpy(),
                               np_gru_cho(x[0], h0[0], *q), rtol=1e-12)


def test_gru_variants_share_state_dict_but_differ():
    after, before = nn.GRU(4, 3), nn.GRU(4, 3, reset_after=False)
    before.load_state_dict(after.state_dict())
    assert list(after.state_dict()) == list(before.state_dict())
    x = nb.tensor(rand(3, 2, 4).astype(np.float32))
    assert not np.allclose(after(x)[0].detach().numpy(), before(x)[0].detach().numpy())
    assert "reset_after=False" in repr(before)


def test_gru_reset_before_gradcheck():
    gru = nn.GRU(2, 2, bidirectional=True, reset_after=False).double()
    x, h0 = nb.tensor(rand(3, 2, 2), requires_grad=True), nb.tensor(rand(2, 2, 2, seed=1),
                                                                      requires_grad=True)
    assert gradcheck(lambda a, b: gru(a, b)[0], (x, h0))


# -- gradchecks -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_gradcheck(name):
    module = getattr(nn, name)(2, 2, num_layers=2, bidirectional=True).double()
    x = nb.tensor(rand(3, 2, 2), requires_grad=True)
    states = [nb.tensor(rand(4, 2, 2, seed=s), requires_grad=True)
              for s in range(2 if name == "LSTM" else 1)]

    def fn(x, *states):
        out, state = module(x, tuple(states) if len(states) == 2 else states[0])
        return (out,) + (state if isinstance(state, tuple) else (state,))

    assert gradcheck(fn, (x, *states))


CELL_GRADCHECK_CASES = [
    ("RNNCell", {}, (2, 3)), ("RNNCell", {"nonlinearity": "relu"}, (2, 3)),
    ("RNNCell", {"bias": False}, (3,)), ("LSTMCell", {}, (2, 3)), ("LSTMCell", {}, (3,)),
    ("GRUCell", {}, (2, 3)), ("GRUCell", {"reset_after": False}, (2, 3)),
    ("GRUCell", {"bias": False}, (3,)),
]


@pytest.mark.parametrize("name, kwargs, shape", CELL_GRADCHECK_CASES)
@pytest.mark.parametrize("with_states", [False, True])
def test_cell_gradcheck(name, kwargs, shape, with_states):
    """A cell's new state(s) with respect to the input, the given state(s) and every
    weight and bias (reverse and forward mode, float64)."""
    nb.manual_seed(0)
    cell = getattr(nn, name)(3, 2, **kwargs).double()
    count = 2 if name == "LSTMCell" else 1
    states = [nb.tensor(rand(*shape[:-1], 2, seed=5 + i), requires_grad=True)
              for i in range(count)] if with_states else []

    def fn(x, *states):
        hx = (tuple(states) if count == 2 else states[0]) if states else None
        return cell(x, hx)

    x = nb.tensor(rand(*shape), requires_grad=True)
    assert gradcheck_with_params(cell, fn, [x, *states])


@pytest.mark.parametrize("name, kwargs", [
    ("RNN", {"nonlinearity": "relu", "batch_first": True}), ("RNN", {"num_layers": 3}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 1}),
    ("GRU", {"batch_first": True, "bidirectional": True, "bias": False}),
])
def test_layer_gradcheck_with_params(name, kwargs):
    """Outputs and final states with respect to the input and every parameter."""
    nb.manual_seed(0)
    module = getattr(nn, name)(2, 2, **kwargs).double()

    def fn(x):
        out, state = module(x)
        return (out,) + (state if isinstance(state, tuple) else (state,))

    assert gradcheck_with_params(module, fn, [nb.tensor(rand(3, 2, 2), requires_grad=True)])


def test_gradcheck_with_params_catches_a_wrong_parameter_gradient():
    """The helper above does check parameter gradients: a parameter that reaches the
    output only through detach() (no gradient, but finite differences see it) fails."""
    cell = nn.RNNCell(3, 2).double()
    x = nb.tensor(rand(2, 3), requires_grad=True)

    def fn(x):
        return cell(x) + cell.bias_hh.detach() * 2.0

    with pytest.raises(AssertionError, match="reverse mode"):
        gradcheck_with_params(cell, fn, [x], check_forward_ad=False)
    with pytest.raises(AssertionError, match="forward mode"):
        gradcheck_with_params(cell, fn, [x], check_backward_ad=False)


def test_packed_gradcheck():
    lstm = nn.LSTM(2, 2, bidirectional=True).double()

    def fn(x):
        out, (h, c) = lstm(rnn_utils.pack_padded_sequence(x, [3, 1], enforce_sorted=True))
        return rnn_utils.pad_packed_sequence(out)[0], h, c

    assert gradcheck(fn, (nb.tensor(rand(3, 2, 2), requires_grad=True),))


# -- dropout between layers ----------------------------------------------------------------
def test_dropout_between_layers_in_train_mode_only():
    nb.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    single = nn.LSTM(4, 4).double()  # the top layer alone
    single.load_state_dict({k.replace("_l1", "_l0"): v for k, v in lstm.state_dict().items()
                            if k.endswith("_l1")})
    x = nb.tensor(rand(5, 2, 3))
    # train mode, p = 1: the top layer sees zeros
    out, (h, c) = lstm(x)
    ref, (rh, rc) = single(nb.zeros(5, 2, 4, dtype=nb.float64))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h[1].detach().numpy(), rh[0].detach().numpy(), rtol=1e-12)
    # eval mode: no dropout
    lstm.eval()
    plain = nn.LSTM(3, 4, num_layers=2).double()
    plain.load_state_dict(lstm.state_dict())
    np.testing.assert_allclose(lstm(x)[0].detach().numpy(), plain(x)[0].detach().numpy(),
                               rtol=1e-12)


def test_dropout_is_random_in_train_mode():
    nb.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = nb.tensor(rand(5, 2, 3).astype(np.float32))
    a, b = gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy()
    assert not np.allclose(a, b)
    gru.eval()
    np.testing.assert_array_equal(gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy())


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="dropout acts between recurrent layers"):
        nn.LSTM(3, 4, dropout=0.2)


# -- parameters, init, repr ---------------------------------------------------------------
@needs_torch
def test_parameter_names_and_init():
    lstm = nn.LSTM(5, 16, num_layers=2, bidirectional=True)
    tlstm = torch.nn.LSTM(5, 16, num_layers=2, bidirectional=True)
    assert [n for n, _ in lstm.named_parameters()] == [n for n, _ in tlstm.named_parameters()]
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-b, b) has std b/sqrt(3)
    assert lstm.weight_ih_l1_reverse.shape == (64, 32)
    assert lstm.weight_ih_l0.dtype == nb.float32
    assert repr(lstm).startswith("LSTM(5, 16, num_layers=2, bidirectional=True)")
    assert repr(nn.GRUCell(3, 4, bias=False)).startswith("GRUCell(3, 4, bias=False)")
    assert [n for n, _ in nn.RNN(3, 4, bias=False).named_parameters()] == \
        ["weight_ih_l0", "weight_hh_l0"]


def test_seeded_init_is_deterministic():
    nb.manual_seed(3)
    a = nn.GRU(3, 4).state_dict()
    nb.manual_seed(3)
    b = nn.GRU(3, 4).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())


# -- long sequences: BPTT over 10 000 steps ------------------------------------------------------
def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bptt_10000_steps_cell_loop():
    """An LSTMCell unrolled in a Python loop for 10 000 steps backpropagates (the engine
    is iterative) and its gradient is the fused layer's."""
    nb.manual_seed(0)
    cell, layer = nn.LSTMCell(2, 3).double(), nn.LSTM(2, 3).double()
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = nb.tensor(rand(10_000, 1, 2, low=-0.5, high=0.5))
    state = None
    for t in range(10_000):
        state = cell(x[t], state)
    (state[0].sum() + state[1].sum()).backward()
    out, (h, c) = layer(x)
    (h.sum() + c.sum()).backward()
    for p, q in zip(cell.parameters(), layer.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_bptt_10000_steps_fused_memory_is_linear():
    """The fused LSTM over T = 2 500, 5 000, 10 000: forward + backward work and the peak
    memory grows in proportion to T."""
    lstm = nn.LSTM(4, 8).double()

    def run(steps):
        def step():
            x = nb.tensor(rand(steps, 2, 4), requires_grad=True)
            out, (h, c) = lstm(x)
            (out.sum() + h.sum()).backward()
            assert np.isfinite(x.grad.numpy()).all()
            lstm.zero_grad()
        return step

    peaks = [_peak_bytes(run(n)) for n in (2_500, 5_000, 10_000)]
    assert 1.6 < peaks[1] / peaks[0] < 2.4 and 1.6 < peaks[2] / peaks[1] < 2.4, peaks


# -- errors -------------------------------------------------------------------------------------
def test_layer_errors():
    lstm = nn.LSTM(4, 3, num_layers=2)
    x = nb.zeros(5, 2, 4)
    with pytest.raises(ValueError, match=r"LSTM\(4, 3\): expected input of shape \(T, B, 4\) "
                                         r"or \(T, 4\) \(unbatched\), got \(5, 2, 4, 1\)"):
        lstm(x.unsqueeze(-1))
    with pytest.raises(ValueError, match=r"LSTM\(4, 3\): expected input with 4 features "
                                         r"\(input_size\) in its last dimension, got shape "
                                         r"\(5, 2, 3\)"):
        lstm(nb.zeros(5, 2, 3))
    h0 = nb.zeros(2, 2, 3)
    with pytest.raises(ValueError, match="hx must be the pair"):
        lstm(x, h0)
    with pytest.raises(ValueError, match=r"expected c0 of shape \(2, 2, 3\) \(num_layers "
                                         r"\* num_directions, B, hidden_size\), got \(1, 2, 3\)"):
        lstm(x, (h0, nb.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match=r"h0 has batch size 5 but the input has batch size 2; "
                                         r"expected h0 of shape \(2, 2, 3\)"):
        lstm(x, (nb.zeros(2, 5, 3), h0))
    with pytest.raises(ValueError, match=r"expected h0 of shape \(2, 3\)"):
        lstm(x[:, 0], (h0, h0))  # unbatched input wants 2-D states
    with pytest.raises(TypeError, match=r"LSTM\(4, 3\): input dtype float64 does not match "
                                        r"the parameters' dtype float32"):
        lstm(x.double())
    batch_first = nn.GRU(4, 3, batch_first=True)
    with pytest.raises(ValueError, match=r"GRU\(4, 3\): expected input of shape \(B, T, 4\)"):
        batch_first(nb.zeros(4))
    with pytest.raises(ValueError, match=r"GRU\(4, 3\): expected h0 of shape \(1, 5, 3\)"):
        batch_first(nb.zeros(5, 2, 4), nb.zeros(1, 3))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"LSTM: proj_size must be an int in \[0, hidden_size\)"):
        nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(ValueError, match="RNNBase: proj_size is for the LSTM only"):
        nn.RNNBase("GRU", 4, 3, proj_size=2)
    with pytest.raises(ValueError, match=r"expected h0 of shape \(1, 2, 2\) \(num_layers "
                                         r"\* num_directions, B, proj_size\)"):
        nn.LSTM(4, 3, proj_size=2)(nb.zeros(5, 2, 4), (nb.zeros(1, 2, 3), nb.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'gelu'"):
        nn.RNN(4, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"GRU: dropout must be a number in \[0, 1\]"):
        nn.GRU(4, 3, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive int, got 0"):
        nn.LSTM(4, 0)
    with pytest.raises(ValueError, match="RNN: num_layers must be a positive int"):
        nn.RNN(4, 3, num_layers=0)
    with pytest.raises(ValueError, match="RNNCell: unknown nonlinearity"):
        nn.RNNCell(4, 3, nonlinearity="sigmoid")


def test_cell_errors():
    cell = nn.LSTMCell(4, 3)
    with pytest.raises(ValueError, match=r"LSTMCell\(4, 3\): expected input of shape \(B, 4\) "
                                         r"or \(4,\), got \(2, 5\)"):
        cell(nb.zeros(2, 5))
    with pytest.raises(ValueError, match=r"LSTMCell\(4, 3\): expected input of shape"):
        cell(nb.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"expected c of shape \(2, 3\) for an input of shape "
                                         r"\(2, 4\), got \(5, 3\)"):
        cell(nb.zeros(2, 4), (nb.zeros(2, 3), nb.zeros(5, 3)))
    with pytest.raises(ValueError, match=r"GRUCell\(4, 3\): expected h of shape \(3,\)"):
        nn.GRUCell(4, 3)(nb.zeros(4), nb.zeros(1, 3))
    with pytest.raises(TypeError, match=r"RNNCell\(4, 3\): input dtype float64"):
        nn.RNNCell(4, 3)(nb.zeros(4, dtype=nb.float64))


def test_no_warning_without_dropout():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4)
