"""Activation checkpointing: trade compute for memory (``torch.utils.checkpoint``).

``checkpoint(f, x)`` runs ``f`` under ``no_grad``: none of its intermediate
activations are kept, only its inputs. The result is the output of one graph
node, ``CheckpointBackward``; when backward reaches it, the node runs ``f``
again with grad enabled (same random numbers, same autocast state) and
backpropagates the incoming cotangents through that fresh graph. Parameters
``f`` reads (a layer's weights) are leaves of the fresh graph, so they receive
their ``.grad`` there; the gradients of the inputs go back to the outer graph.

Memory: a stack of N blocks keeps N block inputs instead of every activation,
and backward holds one block's activations at a time. Cost: one extra forward.

How this maps onto PyTorch's two variants:

* ``use_reentrant=False`` (PyTorch's recommendation) is what is implemented:
  keyword arguments, ``context_fn``, ``determinism_check``, any nesting of
  tuples, lists and dicts in inputs and outputs, parameters receiving gradients
  even when no input requires grad, double backward (``create_graph=True``) and
  ``autograd.grad`` with respect to the inputs.
* ``use_reentrant=True`` (PyTorch's default when the argument is left out, with a
  UserWarning as PyTorch 2.13 gives) computes the same gradients. It only keeps
  PyTorch's argument checks: keyword arguments and ``context_fn`` are errors.
  Unlike PyTorch's reentrant variant, parameters still get gradients when no
  input requires grad, and ``autograd.grad`` works.

Differences from PyTorch that remain: under ``autograd.grad`` only the explicit
inputs of the checkpointed function get gradients (pass a parameter as an input
to differentiate with respect to it); outputs are marked ``requires_grad`` in
grad mode even if nothing inside the function needs a gradient; ``debug`` and
``early_stop`` are accepted and ignored (nabla always recomputes the whole
function); forward mode (``dual_level``) does not see through a checkpoint.
"""
from __future__ import annotations

import contextlib
import copy
import warnings

import numpy as np

from ..autograd import api
from ..autograd.function import Function
from ..autograd.grad_mode import STATE, enable_grad, no_grad
from ..backend import default_generator, device_of, dtype_kind, get_array_module, to_device
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]

_DETERMINISM_CHECKS = ("default", "none")


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce the forward (shapes, dtypes or count differ)."""


# -- the graph node ---------------------------------------------------------------------------
class Checkpoint(Function):
    """The one node a checkpointed call leaves in the graph.

    Its inputs are the tensors among the call's arguments that require grad (or one empty
    anchor, so that the node is recorded when only parameters inside need gradients); its
    output is the function's output, or all its floating outputs packed into one flat array
    (``_Outputs``). ``forward`` hands back the array computed by ``checkpoint``; ``vjp``
    recomputes and backpropagates."""

    autocast = autocast_cpu = None  # the function's own ops autocast; the node must not
    bfloat16_in_float32 = False     # it returns the array it is given, as it is

    def forward(self, *arrays, result):
        return result

    def vjp(self, g):
        recomputed, catches = self.recompute()
        self.outputs.check(recomputed, self.determinism_check)
        pairs = [(o, c) for o, c in zip(recomputed.tensors, self.outputs.split(g))
                 if o.requires_grad]
        grads = dict(zip(catches, _backpropagate(pairs, list(catches.values()))))
        return tuple(grads.get(id(t)) for t in self.inputs)

    def recompute(self) -> tuple:
        """Run the function again with grad on, each input that requires grad reattached
        through a ``_Catch``; returns the outputs and {id(input): its _Catch output}."""
        catches = {}

        def reattach(t):
            if not t.requires_grad:
                return t
            if id(t) not in catches:
                catches[id(t)] = _Catch.apply(t)
            return catches[id(t)]

        with _replay(self.rng_state, self.autocast_state), self.recompute_context:
            with enable_grad():
                args, kwargs = _map_tensors(reattach, (self.args, self.kwargs))
                return _Outputs(self.function(*args, **kwargs)), catches


class _Catch(Function):
    """Identity on one checkpoint input while the function is recomputed.

    During the inner backward it is where that backward ends: ``vjp`` keeps the cotangent
    and the node claims that its input needs no gradient, so the engine neither walks into
    the graph outside the checkpoint nor adds anything there (the outer backward does, from
    the gradient ``Checkpoint.vjp`` returns). Afterwards it is a plain identity, so
    a gradient built with ``create_graph=True`` still depends on the outer input."""

    uses_inputs = False
    is_view = True
    bfloat16_in_float32 = False
    sink = None  # a one-item list while the inner backward runs

    def forward(self, x):
        return x

    def vjp(self, g):
        if self.sink is not None:
            self.sink[0] = g
            return None
        return g

    def jvp(self, t):
        return t


def _backpropagate(pairs: list, caught: list) -> list:
    """Backward from the recomputed outputs with their cotangents; the gradients that
    arrive at each ``_Catch`` output in ``caught`` (None where none arrives)."""
    if not pairs:
        return [None] * len(caught)
    outputs, cotangents = [o for o, _ in pairs], [c for _, c in pairs]
    create_graph = STATE.grad_enabled  # the engine runs rules with grad on iff create_graph
    nodes = [c._node for c in caught]
    sinks = [[None] for _ in nodes]
    for n, sink in zip(nodes, sinks):
        n.sink, n.needs_input_grad = sink, (False,)
    try:
        if _outer_backward_is_grad():
            # autograd.grad: only the inputs asked for get gradients; parameters inside
            # the function must not have their .grad changed
            if caught:
                api.grad(outputs, caught, cotangents, create_graph=create_graph,
                         allow_unused=True)
        else:
            api.backward(outputs, cotangents, create_graph=create_graph)
    finally:
        for n in nodes:
            if not getattr(n, "released", False):  # kept for create_graph: identity again
                n.sink, n.needs_input_grad = None, (True,)
    return [sink[0] for sink in sinks]


def _outer_backward_is_grad() -> bool:
    """Whether the backward running this vjp is ``autograd.grad`` (rather than ``backward``)."""
    return STATE.capturing


@contextlib.contextmanager
def _replay(rng_state, autocast_state):
    """Run a block with the random stream and the autocast state that the forward saw,
    then put back the current ones (so the recomputation draws no numbers of its own)."""
    prev_autocast, STATE.autocast = STATE.autocast, autocast_state
    prev_rng = None
    if rng_state is not None:
        prev_rng = default_generator.get_state()
        default_generator.set_state(rng_state)
    try:
        yield
    finally:
        STATE.autocast = prev_autocast
        if prev_rng is not None:
            default_generator.set_state(prev_rng)


# -- outputs: nested structures with tensors in them -------------------------------------------
def _map_tensors(fn, tree):
    """``tree`` with every Tensor ``t`` in it (through tuples, lists, dicts) replaced by fn(t)."""
    if isinstance(tree, Tensor):
        return fn(tree)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a namedtuple
        return type(tree)(*[_map_tensors(fn, x) for x in tree])
    if isinstance(tree, (tuple, list)):
        return type(tree)(_map_tensors(fn, x) for x in tree)
    if isinstance(tree, dict):
        out = copy.copy(tree)
        for k, v in tree.items():
            out[k] = _map_tensors(fn, v)
        return out
    return tree


def _differentiable(t: Tensor) -> bool:
    return dtype_kind(t.dtype) in "fc"


class _Outputs:
    """What the function returned, with its floating tensors listed in order."""

    def __init__(self, value):
        self.value = value
        self.tensors = []
        _map_tensors(lambda t: self.tensors.append(t) if _differentiable(t) else None, value)
        self.meta = [(tuple(t.shape), t.dtype) for t in self.tensors]

    def packed(self):
        """One array holding every floating output (the output itself when there is one)."""
        arrays = [t.array for t in self.tensors]
        if len(arrays) == 1:
            return arrays[0]
        xp = get_array_module(*arrays)
        dtype = xp.result_type(*[a.dtype for a in arrays])
        return xp.concatenate([a.reshape(-1).astype(dtype, copy=False) for a in arrays])

    def unpacked(self, node_out: Tensor):
        """The function's return value, its floating tensors now read from ``node_out``."""
        if len(self.tensors) == 1:
            views = [node_out]
        else:
            views, start = [], 0
            for shape, dtype in self.meta:
                n = int(np.prod(shape, dtype=np.int64))
                v = node_out[start:start + n].reshape(shape)
                views.append(v if v.dtype == dtype else v.to(dtype))
                start += n
        it = iter(views)
        return _map_tensors(lambda t: next(it) if _differentiable(t) else t, self.value)

    def split(self, g: Tensor) -> list:
        """The packed cotangent ``g`` cut back into one cotangent per floating output."""
        if len(self.meta) == 1:
            return [g]
        out, start = [], 0
        for shape, dtype in self.meta:
            n = int(np.prod(shape, dtype=np.int64))
            c = g[start:start + n].reshape(shape)
            out.append(c if c.dtype == dtype else c.to(dtype))
            start += n
        return out

    def check(self, other: "_Outputs", determinism_check: str) -> None:
        if determinism_check == "none" or other.meta == self.meta:
            return
        raise CheckpointError(
            "checkpoint: the recomputation in backward gave different outputs from the "
            f"forward: forward (shape, dtype) {_describe(self.meta)}, recomputation "
            f"{_describe(other.meta)}. The checkpointed function must compute the same thing "
            "when run again (no dependence on global state that changed since the forward); "
            "pass determinism_check='none' to skip this check")


def _describe(meta) -> str:
    return "[" + ", ".join(f"({shape}, {dtype})" for shape, dtype in meta) + "]"


# -- the public functions ---------------------------------------------------------------------
def checkpoint(function, *args, use_reentrant: bool | None = None, preserve_rng_state: bool = True,
               determinism_check: str = "default", context_fn=None, debug: bool = False,
               early_stop: bool = True, **kwargs):
    """``function(*args, **kwargs)``, keeping only its inputs for backward.

    The forward runs under ``no_grad``; backward runs ``function`` again with grad on and
    backpropagates through that. ``function`` must compute the same thing when run again:
    with ``preserve_rng_state=True`` (default) it sees the same random numbers (dropout
    masks), and it runs under the autocast state of the forward. Returns what ``function``
    returns; its floating tensors (anywhere in tuples, lists, dicts) carry the gradient.

    ``use_reentrant``: pass False (recommended, as in PyTorch) or True; both compute the
    same gradients here (see the module docstring), True keeps PyTorch's restrictions on
    keyword arguments and ``context_fn``. Left out, it warns as PyTorch 2.13 does.
    ``context_fn``: returns two context managers, entered around the forward and around
    the recomputation. ``determinism_check``: "default" raises ``CheckpointError`` when the
    recomputation's outputs differ in count, shape or dtype; "none" skips that.
    """
    use_reentrant = _resolve_reentrant(use_reentrant, "checkpoint")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs)
                             + " (checkpoint with use_reentrant=True passes positional "
                             "arguments only; use use_reentrant=False)")
        if context_fn is not None or debug:
            raise ValueError("checkpoint: context_fn and debug are only supported with "
                             "use_reentrant=False")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"checkpoint: determinism_check should be one of "
                         f"{list(_DETERMINISM_CHECKS)}, but got {determinism_check!r}")
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    forward_context, recompute_context = (
        (contextlib.nullcontext(), contextlib.nullcontext()) if context_fn is None
        else context_fn())
    if not STATE.grad_enabled:  # nothing would be saved anyway
        with forward_context:
            return function(*args, **kwargs)

    rng_state = default_generator.get_state() if preserve_rng_state else None
    with forward_context, no_grad():
        outputs = _Outputs(function(*args, **kwargs))
    if not outputs.tensors:  # no floating tensor: nothing to differentiate
        return outputs.value

    inputs = _inputs_needing_grad((args, kwargs)) or [_anchor(outputs.tensors[0])]
    out = Checkpoint.apply(*inputs, result=outputs.packed())
    node = out._node
    node.function, node.args, node.kwargs = function, args, kwargs
    node.rng_state, node.autocast_state = rng_state, STATE.autocast
    node.recompute_context, node.determinism_check = recompute_context, determinism_check
    node.outputs = outputs
    result = outputs.unpacked(out)
    outputs.value = outputs.tensors = None  # the node keeps shapes and dtypes only
    return result


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          preserve_rng_state: bool = True, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of callables) in order on
    ``input``, checkpointing ``segments - 1`` equal segments; the last segment (and the
    remainder of an uneven split) runs normally, as in PyTorch."""
    use_reentrant = _resolve_reentrant(use_reentrant, "checkpoint_sequential")
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn.module import Module

    functions = list(functions.children()) if isinstance(functions, Module) else list(functions)
    if not 1 <= segments <= len(functions):
        raise ValueError(f"checkpoint_sequential: segments must be between 1 and the number "
                         f"of functions ({len(functions)}), got {segments}")

    def run(start: int, stop: int):
        def forward(x):
            for f in functions[start:stop]:
                x = f(x)
            return x
        return forward

    size = len(functions) // segments
    start = 0
    for start in range(0, size * (segments - 1), size):
        input = checkpoint(run(start, start + size), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    if segments > 1:
        start += size
    return run(start, len(functions))(input)


def _resolve_reentrant(use_reentrant, caller: str) -> bool:
    if use_reentrant is None:
        warnings.warn(
            f"nabla.utils.checkpoint.{caller}: pass use_reentrant explicitly (PyTorch warns "
            "when it is left out and will require it). use_reentrant=False is recommended; "
            "in nabla both values compute the same gradients.", UserWarning, stacklevel=3)
        return True
    return bool(use_reentrant)


def _inputs_needing_grad(tree) -> list:
    """The distinct tensors in ``tree`` that require grad, in order."""
    found = {}
    _map_tensors(lambda t: found.setdefault(id(t), t) if t.requires_grad else None, tree)
    return list(found.values())


def _anchor(like: Tensor) -> Tensor:
    """An empty leaf that requires grad, on ``like``'s device: the node's only input when
    no input requires grad, so that the node is recorded and the parameters inside the
    function still get gradients. It never receives a gradient itself."""
    array = to_device(np.zeros(0, dtype=np.float32), device_of(like.array))
    anchor = Tensor._wrap(array)
    anchor.requires_grad = True
    return anchor
