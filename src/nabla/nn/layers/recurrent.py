"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the one-step cells ``RNNCell``,
``LSTMCell``, ``GRUCell``.

PyTorch's signatures, parameter names and state_dict layout: layer k of a
stack has ``weight_ih_l{k}`` (G*H, input features), ``weight_hh_l{k}`` (G*H, H),
``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,), and the same with the suffix
``_reverse`` for the backward direction of a bidirectional layer; a cell has
``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``. The G gate blocks are
stacked in PyTorch's order: (i, f, g, o) for the LSTM, (r, z, n) for the GRU.
Every parameter starts from U(-1/sqrt(H), 1/sqrt(H)).

Each layer and direction is two ops: the input projection of the whole
sequence as one matmul, then the fused time loop ``nabla.recurrence`` (see
``nabla/ops/recurrent.py`` for the equations and the design), which also adds
``b_ih + b_hh`` wherever both only add to the pre-activation (all cells but
the PyTorch-style GRU, where the reset gate multiplies ``b_hh``). The cells
are the same op run for one step.

The GRU has two variants with the same parameters: ``reset_after=True``
(the default; PyTorch's and cuDNN's equations, Keras' name)
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, and ``reset_after=False``,
Cho et al.'s original (the curriculum's) ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)``;
both end with ``h' = (1 - z) * n + z * h``.

The LSTM's ``proj_size`` (Sak et al. 2014, PyTorch's ``weight_hr_l{k}`` (P, H)):
h_t = W_hr (o * tanh(c_t)), so h and the output have P features and ``weight_hh_l{k}``
is (4H, P). That path runs its time loop in Tensor ops (``_run_projected``), not in the
fused recurrence.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import warnings

from ...autograd.grad_mode import STATE
from ...ops.creation import empty, zeros
from ...ops.dropout import dropout
from ...ops.elementwise import sigmoid, tanh, where
from ...ops.linear import linear
from ...ops.recurrent import CELLS, recurrence
from ...ops.shape import cat, stack
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

_MODES = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}


def _run(cell: str, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih, b_hh, hx, mask=None,
         reverse: bool = False, reset_after: bool = True) -> Tensor:
    """States (S, T, B, H) of one layer and direction on x (T, B, F)."""
    steps, batch, features = x.shape
    # Both biases only add to the pre-activation, unless the reset gate multiplies b_hh:
    # then their sum goes to the loop, which adds it per step in cache (cheaper than a
    # pass over the whole projection).
    if b_ih is not None and (cell != "gru" or not reset_after):
        b_ih, b_hh = None, b_ih + b_hh
    xw = linear(x.reshape(steps * batch, features), w_ih, b_ih)     # one GEMM for all steps
    xw = xw.reshape(steps, batch, w_ih.shape[0])                       # (T, B, G*H)
    return recurrence(cell, xw, hx, w_hh, b_hh, mask=mask, reverse=reverse,
                      reset_after=reset_after)


def _run_projected(x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih, b_hh, w_hr: Tensor, hx: tuple,
                   mask=None, reverse: bool = False) -> tuple:
    """(h (T, B, P), c (T, B, H)) of one LSTM layer and direction with a projection, on
    x (T, B, F), from hx = (h0 (B, P), c0 (B, H)), in Tensor ops step by step. Past a
    sequence's end (``mask`` False) both states are carried unchanged."""
    steps, batch, features = x.shape
    xw = linear(x.reshape(steps * batch, features), w_ih, b_ih).reshape(steps, batch, -1)
    h, c = hx
    hs, cs = [None] * steps, [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        i, f, g, o = (xw[t] + linear(h, w_hh, b_hh)).chunk(4, -1)
        c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h_new = linear(sigmoid(o) * tanh(c_new), w_hr)
        if mask is not None:
            keep = mask[t][:, None]
            c_new, h_new = where(keep, c_new, c), where(keep, h_new, h)
        h, c = hs[t], cs[t] = h_new, c_new
    return stack(hs), stack(cs)


def _check_size(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _shape_of(t) -> object:
    return tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__


# -- the cells ------------------------------------------------------------------------------
@contextlib.contextmanager
def _outside_cpu_autocast():
    """PyTorch's CPU autocast lowers LSTM and RNN but not GRU or the LSTM and GRU cells,
    which run in their inputs' dtype: the same here (CUDA autocast lowers them all)."""
    saved = STATE.autocast
    if saved is not None and saved[0] == "cpu":
        STATE.autocast = None
    try:
        yield
    finally:
        STATE.autocast = saved


class RNNCellBase(Module):
    """A recurrent cell: one step h' = cell(x, h) on (B, input_size) or (input_size,)."""
    _cell = "rnn_tanh"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(gates, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(gates, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(gates, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(gates, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _head(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _step(self, input: Tensor, hx, states: int, reset_after: bool = True) -> tuple:
        """The cell's states after one step: a tuple of ``states`` (B, H) or (H,) tensors."""
        f, h = self.input_size, self.hidden_size
        if not isinstance(input, Tensor) or input.ndim not in (1, 2) or input.shape[-1] != f:
            raise ValueError(f"{self._head()}: expected input of shape (B, {f}) or ({f},), got "
                             f"{_shape_of(input)}")
        _check_dtype(self._head(), input, self.weight_ih)
        unbatched = input.ndim == 1
        x = input.reshape(1, -1) if unbatched else input
        batch = x.shape[0]
        expected = (h,) if unbatched else (batch, h)
        if hx is None:
            hx = (zeros(batch, h, dtype=x.dtype, device=x.device),) * states
        else:
            hx = tuple(hx) if states == 2 else (hx,)
            if len(hx) != states:
                raise ValueError(f"{self._head()}: hx must be the pair (h, c), got {len(hx)} "
                                 f"tensors")
            for name, t in zip(("h", "c"), hx):
                if not isinstance(t, Tensor) or tuple(t.shape) != expected:
                    raise ValueError(f"{self._head()}: expected {name} of shape {expected} "
                                     f"for an input of shape {tuple(input.shape)}, got "
                                     f"{_shape_of(t)}")
            hx = tuple(t.reshape(1, h) for t in hx) if unbatched else hx
        new = _run(self._cell, x.unsqueeze(0), self.weight_ih, self.weight_hh, self.bias_ih,
                   self.bias_hh, hx if states == 2 else hx[0],
                   reset_after=reset_after)[:, 0]                     # (S, B, H)
        return tuple(new[k].reshape(expected) for k in range(states))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu with ``nonlinearity="relu"``).

    input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,),
    zeros if omitted -> h' of hx's shape.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from "
                             f"'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self._cell = "rnn_" + nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, 1)[0]

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTMCell(RNNCellBase):
    """One LSTM step: i, f, g, o = sig, sig, tanh, sig(W_ih x + b_ih + W_hh h + b_hh),
    c' = f * c + i * g, h' = o * tanh(c').

    input (B, input_size) or (input_size,); hx = (h, c), each (B, hidden_size) or
    (hidden_size,), zeros if omitted -> (h', c').
    """
    _cell = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        with _outside_cpu_autocast():
            return self._step(input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step: r, z = sig(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z}),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (with ``reset_after=False``:
    tanh(W_in x + b_in + W_hn (r * h) + b_hn), Cho et al.), h' = (1 - z) * n + z * h.

    input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,),
    zeros if omitted -> h'.
    """
    _cell = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None, *, reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)
        self.reset_after = reset_after

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        with _outside_cpu_autocast():
            return self._step(input, hx, 1, self.reset_after)[0]

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


def _check_dtype(head: str, input: Tensor, weight: Tensor) -> None:
    if input.dtype != weight.dtype:
        raise TypeError(f"{head}: input dtype {input.dtype} does not match the parameters' "
                        f"dtype {weight.dtype}; convert the input or the module (.float(), "
                        f".double())")


# -- the layers ---------------------------------------------------------------------------
class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, each one- or two-directional.

    forward(input, hx=None) with input (T, B, input_size) ((B, T, input_size) with
    ``batch_first``), unbatched (T, input_size), or a ``PackedSequence``; hx the
    initial state(s), (num_layers * num_directions, B, hidden_size) each (without B
    for an unbatched input), zeros if omitted. Returns (output, h_n) -- (output,
    (h_n, c_n)) for the LSTM -- with output (T, B, num_directions * hidden_size)
    (same layout as the input: batch_first, unbatched, or packed) and h_n, c_n
    shaped like hx: the state after each sequence's last step, layer by layer,
    forward direction first. ``dropout`` drops the outputs of every layer but the
    last, in training mode.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None,
                 reset_after: bool = True):
        super().__init__()
        name = type(self).__name__
        if mode not in _MODES:
            raise ValueError(f"{name}: unknown mode {mode!r}; expected one of "
                             f"{', '.join(_MODES)}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1] (the probability of "
                             f"zeroing an element), got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout acts between recurrent layers, so dropout="
                          f"{dropout} with num_layers=1 has no effect", UserWarning,
                          stacklevel=2)
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is for the LSTM only, got {proj_size}")
        if proj_size < 0 or (proj_size and proj_size >= hidden_size) or \
                not isinstance(proj_size, numbers.Integral):
            raise ValueError(f"{name}: proj_size must be an int in [0, hidden_size) "
                             f"(hidden_size={hidden_size}), got {proj_size!r}")
        self.mode, self._cell = mode, _MODES[mode]
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.reset_after = bidirectional, reset_after
        self.proj_size = int(proj_size)
        directions = 2 if bidirectional else 1
        gates = CELLS[self._cell] * hidden_size
        out = self.proj_size or hidden_size  # the features of h and of each output
        # PyTorch's order: per layer, per direction: w_ih, w_hh, b_ih, b_hh (, w_hr)
        self._all_weights = []
        for layer in range(num_layers):
            features = input_size if layer == 0 else out * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gates, features), "weight_hh": (gates, out)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if self.proj_size:
                    shapes["weight_hr"] = (self.proj_size, hidden_size)
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix,
                            Parameter(empty(*shape, dtype=dtype, device=device)))
                self._all_weights.append([kind + suffix for kind in shapes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs the weights for cuDNN here); kept for ported code."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _head(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _weights(self, layer: int, direction: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction (biases None without bias),
        and w_hr last with a projection."""
        names = self._all_weights[layer * self.num_directions + direction]
        params = [getattr(self, n) for n in names]
        w_hr = (params.pop(),) if self.proj_size else ()
        return (tuple(params) if self.bias else (params[0], params[1], None, None)) + w_hr

    # -- inputs ---------------------------------------------------------------------------------
    def _sequence(self, input) -> tuple:
        """(x (T, B, F), mask (T, B) or None, unbatched) from any accepted input."""
        f = self.input_size
        if isinstance(input, PackedSequence):
            x = input.padded
            if x.ndim != 3 or x.shape[2] != f:
                raise ValueError(f"{self._head()}: expected a PackedSequence of (T, B, {f}) "
                                 f"sequences, got padded shape {tuple(x.shape)}")
            _check_dtype(self._head(), x, self.weight_ih_l0)
            return x, input.mask(), False
        layout = "(B, T, {f})" if self.batch_first else "(T, B, {f})"
        if not isinstance(input, Tensor) or input.ndim not in (2, 3):
            raise ValueError(f"{self._head()}: expected input of shape {layout.format(f=f)} "
                             f"or (T, {f}) (unbatched), got {_shape_of(input)}")
        if input.shape[-1] != f:
            raise ValueError(f"{self._head()}: expected input with {f} features (input_size) "
                             f"in its last dimension, got shape {tuple(input.shape)}")
        _check_dtype(self._head(), input, self.weight_ih_l0)
        if input.ndim == 2:
            return input.unsqueeze(1), None, True
        return (input.transpose(0, 1) if self.batch_first else input), None, False

    def _initial_states(self, hx, x: Tensor, unbatched: bool) -> tuple:
        """The initial states, each (num_layers * num_directions, B, H) (h0 with P features
        with a projection)."""
        count = 2 if self._cell == "lstm" else 1
        batch = x.shape[1]
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:count]
        layers = self.num_layers * self.num_directions
        if hx is None:
            return tuple(zeros(layers, batch, n, dtype=x.dtype, device=x.device) for n in sizes)
        names = ("h0", "c0")[:count]
        if count == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError(f"{self._head()}: hx must be the pair (h0, c0), got "
                                 f"{type(hx).__name__}")
            hx = tuple(hx)
        else:
            hx = (hx,)
        for name, t, h in zip(names, hx, sizes):
            expected = (layers, h) if unbatched else (layers, batch, h)
            shape = _shape_of(t)
            if shape == expected:
                continue
            if isinstance(shape, tuple) and len(shape) == 3 == len(expected) \
                    and shape[::2] == expected[::2]:
                raise ValueError(f"{self._head()}: {name} has batch size {shape[1]} but the "
                                 f"input has batch size {batch}; expected {name} of shape "
                                 f"{expected}")
            size = "proj_size" if h != self.hidden_size else "hidden_size"
            raise ValueError(f"{self._head()}: expected {name} of shape {expected} (num_layers "
                             f"* num_directions, {'' if unbatched else 'B, '}{size}), got "
                             f"{shape}")
        return tuple(t.unsqueeze(1) for t in hx) if unbatched else hx

    # -- forward --------------------------------------------------------------------------------
    def forward(self, input, hx=None):
        x, mask, unbatched = self._sequence(input)
        init_states = self._initial_states(hx, x, unbatched)
        output, finals = self._layers(x, init_states, mask)
        if isinstance(input, PackedSequence):
            output = PackedSequence(output, input._lengths, input.enforce_sorted)
        elif unbatched:
            output, finals = output.squeeze(1), tuple(f.squeeze(1) for f in finals)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (finals if self._cell == "lstm" else finals[0])

    def _layers(self, x: Tensor, init_states: tuple, mask) -> tuple:
        """The stack on x (T, B, F): output (T, B, D*H) and the final states (L*D, B, H)."""
        count = len(init_states)
        finals = [[] for _ in range(count)]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                hx = tuple(s[k] for s in init_states)
                if self.proj_size:
                    states = _run_projected(layer_input, *self._weights(layer, direction), hx,
                                            mask, reverse=direction == 1)  # h (T,B,P), c
                else:
                    states = _run(self._cell, layer_input, *self._weights(layer, direction),
                                  hx if count == 2 else hx[0], mask, reverse=direction == 1,
                                  reset_after=self.reset_after)        # (S, T, B, H)
                outputs.append(states[0])
                for kind in range(count):  # the state after the last step visited
                    finals[kind].append(states[kind][0 if direction else -1])
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = dropout(layer_input, self.dropout, True)
        output = layer_input
        if mask is not None:  # past a sequence's end the states are carried: output zeros
            output = where(mask[:, :, None], output, 0.0)
        return output, tuple(stack(f) for f in finals)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu with
    ``nonlinearity="relu"``), stacked and optionally bidirectional (see RNNBase)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' "
                             f"or 'relu'")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's equations:

        i, f, g, o = sig, sig, tanh, sig(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    forward(input, (h0, c0)) -> (output, (h_n, c_n)); see RNNBase. With ``proj_size``
    P > 0: h_t = W_hr (o * tanh(c_t)), so h0, h_n and each output step have P features
    (c stays H).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014):

        r, z = sig(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z})
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))      reset_after=True
        n = tanh(W_in x_t + b_in + W_hn (r * h_{t-1}) + b_hn)      reset_after=False
        h_t = (1 - z) * n + z * h_{t-1}

    ``reset_after=True`` (default) is PyTorch's GRU; ``False`` is the original
    formulation (same parameters and state_dict keys). See RNNBase.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, *,
                 reset_after: bool = True):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype,
                         reset_after=reset_after)

    def forward(self, input, hx=None):
        with _outside_cpu_autocast():
            return super().forward(input, hx)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
