"""Hook handles and the machinery behind ``Module.register_full_backward_hook``.

A module's backward hooks want all the gradients of one call at once: every
gradient w.r.t. its outputs (pre hooks may replace them), then every gradient
w.r.t. its positional inputs (hooks may replace them). nabla's graph nodes have
one output each, so one call is bracketed by two *gates*, each built from
identity ops that cost no copy::

    x1 ─┬──────────────► Tie ─► x1'      (the module computes on x1', x2')
    x2 ─┼──────────────► Tie ─► x2'
        └─► Gather ─► z ──┘

``Gather`` has every gated tensor as input and an empty output ``z`` that each
``Tie`` also reads. In backward the engine visits a tensor only after all its
consumers, so it runs every ``Tie`` (each records its gradient and passes
nothing on) before ``z``; at ``z`` the ``Gather`` node holds the whole set,
calls the hooks, and hands the (possibly replaced) gradients to the x's. No op
changes, and modules without backward hooks never see a gate.
"""
from __future__ import annotations

import itertools
import warnings

from ..autograd.function import Function, unbroadcast
from ..backend import get_array_module
from ..autograd.grad_mode import STATE
from ..tensor import Tensor

_ids = itertools.count(1)


class RemovableHandle:
    """What every ``register_*`` call returns: ``remove()`` unregisters the hook (twice
    is harmless), and ``with module.register_forward_hook(h): ...`` removes it on exit."""

    def __init__(self, registry: dict, extra: tuple = ()):
        self.id = next(_ids)
        self._registries = (registry,) + tuple(extra)

    def remove(self) -> None:
        for registry in self._registries:
            if isinstance(registry, set):
                registry.discard(self.id)
            else:
                registry.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"RemovableHandle(id={self.id})"


# -- the gate's two identity ops --------------------------------------------------------
class _Gather(Function):
    """Reads every gated tensor, outputs an empty array; its vjp runs the gate."""
    uses_inputs = False
    bfloat16_in_float32 = False

    def forward(self, *arrays, gate):
        self.gate = gate
        return self.xp.empty((0,), dtype=arrays[0].dtype)

    def vjp(self, g):
        return self.gate.release()

    def jvp(self, *tangents):
        return None


class _Tie(Function):
    """``x`` unchanged (a view, like PyTorch's hook function); also reads the gate's
    output so the engine reaches the ``_Gather`` node only after this one."""
    uses_inputs = False
    is_view = True

    def forward(self, x, z, gate, slot):
        self.gate, self.slot = gate, slot
        return x

    def vjp(self, g):
        self.gate.grads[self.slot] = g
        z = self.inputs[1]
        return None, Tensor._wrap(self.xp.empty((0,), dtype=z.dtype))

    def jvp(self, tx, tz):
        return tx


class _Gate:
    """The tensors among ``values`` that require grad, routed through one ``_Gather``
    node; ``on_grads(grads)`` (one per such tensor, None where none arrived) returns
    the gradients to pass on."""

    def __init__(self, values: tuple, on_grads):
        self.on_grads = on_grads
        self.tensor_index = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        self.grad_index = [i for i in self.tensor_index if values[i].requires_grad]
        self.likes = [values[i] for i in self.tensor_index]
        self.grads = [None] * len(self.grad_index)

    def wrap(self, values: tuple) -> tuple:
        gated = [values[i] for i in self.grad_index]
        z = _Gather.apply(*gated, gate=self)
        out = list(values)
        for slot, (i, t) in enumerate(zip(self.grad_index, gated)):
            out[i] = _Tie.apply(t, z, gate=self, slot=slot)
        return tuple(out)

    def release(self) -> tuple:
        grads, self.grads = self.grads, [None] * len(self.grad_index)
        return tuple(self.on_grads(grads))


def _gated(values: tuple, on_grads):
    """``(values with the grad-requiring tensors gated, gate)``, or ``(values, None)``
    when no tensor in ``values`` requires grad or grad mode is off."""
    if not STATE.grad_enabled or not any(isinstance(v, Tensor) and v.requires_grad
                                         for v in values):
        return values, None
    gate = _Gate(values, on_grads)
    return gate.wrap(values), gate


# -- one call's full backward hooks ------------------------------------------------------
class BackwardHook:
    """The backward hooks of one module call (PyTorch's semantics).

    ``grad_output`` has one entry per output (a Tensor or a tuple of them): the
    gradient, or None for outputs that received none or are not Tensors.
    ``grad_input`` has one entry per positional argument: None for non-Tensors; a
    Tensor input that received no gradient (it does not require grad, or the output
    does not depend on it) gets zeros, as PyTorch materializes them. When no input
    requires grad the hooks run as soon as ``grad_output`` is known, with
    ``grad_input`` all None.
    """

    def __init__(self, module, hooks: list, pre_hooks: list):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.in_gate = None
        self.out_gate = None
        self.n_outputs = 0

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        args, self.in_gate = _gated(args, self._on_input_grads)
        return args

    def setup_outputs(self, result):
        single = not isinstance(result, tuple)
        if single and not isinstance(result, Tensor):
            warnings.warn(f"{type(self.module).__name__}: backward hooks are called only when "
                          f"the module returns a Tensor or a tuple of Tensors, not a "
                          f"{type(result).__name__}", stacklevel=3)
            return result
        outs = (result,) if single else result
        self.n_outputs = len(outs)
        outs, self.out_gate = _gated(outs, self._on_output_grads)
        return outs[0] if single else outs

    def _name(self) -> str:
        return type(self.module).__name__

    def _on_output_grads(self, grads: list) -> list:
        gate = self.out_gate
        full = [None] * self.n_outputs
        for i, g in zip(gate.grad_index, grads):
            full[i] = g
        grad_outputs = tuple(full)
        for hook in self.pre_hooks:
            new = hook(self.module, grad_outputs)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_outputs):
                raise RuntimeError(f"{self._name()}: a full backward pre-hook returned "
                                   f"{len(new)} gradients; expected {len(grad_outputs)} "
                                   f"(one per output) or None")
            grad_outputs = new
        self.grad_outputs = grad_outputs
        if self.in_gate is None:
            self._hooks_without_inputs()
        return [grad_outputs[i] for i in gate.grad_index]

    def _hooks_without_inputs(self) -> None:
        if self.hooks:
            warnings.warn(f"{self._name()}: the full backward hook runs when the gradients "
                          f"w.r.t. the outputs are known, since no input requires grad "
                          f"(grad_input is all None)", stacklevel=2)
        grad_inputs = (None,) * self.n_inputs
        for hook in self.hooks:
            res = hook(self.module, grad_inputs, self.grad_outputs)
            if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                raise RuntimeError(f"{self._name()}: no input of this call requires grad, so a "
                                   f"full backward hook must return None (or only Nones)")
        self.grad_outputs = None

    def _on_input_grads(self, grads: list) -> list:
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through the outputs
            # (double backward): nothing to report
            return grads
        gate = self.in_gate
        full = [None] * self.n_inputs
        for i, like in zip(gate.tensor_index, gate.likes):
            full[i] = _zeros_like(like)
        for i, g in zip(gate.grad_index, grads):
            if g is not None:
                full[i] = g
        grad_inputs = tuple(full)
        for hook in self.hooks:
            new = hook(self.module, grad_inputs, self.grad_outputs)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_inputs):
                raise RuntimeError(f"{self._name()}: a full backward hook returned "
                                   f"{len(new)} gradients; expected {len(grad_inputs)} (one "
                                   f"per positional argument) or None")
            grad_inputs = new
        self.grad_outputs = None
        return [grad_inputs[i] for i in gate.grad_index]


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(t.array).zeros(t.shape, dtype=t.dtype))


# -- the deprecated module backward hook -------------------------------------------------
def attach_node_hooks(module, hooks: list, result) -> None:
    """``register_backward_hook``'s hooks on the node that made the first output Tensor:
    ``hook(module, grad_input, grad_output)`` with that node's gradients (w.r.t. the
    inputs of the last op, not of the module -- why PyTorch deprecates it)."""
    var = result
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    node = var._node
    if node is None:
        return
    inner = node.vjp
    node.vjp_scatters = False  # the engine's in-place slicing shortcut skips vjp

    def vjp(g):
        grads = inner(g)
        single = not isinstance(grads, tuple)
        grad_input = tuple(
            None if gi is None or not need else
            gi if gi.shape == inp.shape else unbroadcast(gi, inp.shape)
            for inp, gi, need in zip(node.inputs, (grads,) if single else grads,
                                     node.needs_input_grad))
        for hook in hooks:
            new = hook(module, grad_input, (g,))
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_input):
                raise RuntimeError(f"{type(module).__name__}: a backward hook returned "
                                   f"{len(new)} gradients; expected {len(grad_input)} or None")
            grad_input = new
        return grad_input[0] if single else grad_input

    node.vjp = vjp
