"""Reverse mode: one iterative walk over the graph, freeing as it goes.

``backward`` orders the tensors reachable from the roots (an explicit stack,
so a chain of 100 000 ops needs no recursion), seeds a cotangent table keyed
by tensor, and visits each tensor once, outputs before inputs: pop its
cotangent, run its hooks, hand it to its node's ``vjp`` and add the results
into the inputs' entries. Each node is released right after its vjp unless
``retain_graph=True``, so activations die as soon as they are no longer
needed.
"""
from __future__ import annotations

from ..backend import get_array_module
from .function import _check_finite, unbroadcast
from .grad_mode import STATE

_FREED = (
    "{node}: trying to backward through the graph a second time (or to use a result "
    "after its graph was freed). Pass retain_graph=True to the first backward() or "
    "autograd.grad() call if you need to backward through the graph again.")


def _topological_order(roots) -> list:
    """Tensors reachable from ``roots`` through nodes, inputs before outputs."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is None:
            continue
        if getattr(node, "released", False):
            raise RuntimeError(_FREED.format(node=node.name))
        for inp, need in zip(node.inputs, node.needs_input_grad):
            if need and id(inp) not in seen:
                stack.append((inp, False))
    return order


def _leading_to(order: list, targets) -> set:
    """ids of the tensors in ``order`` (inputs before outputs) from which a tensor
    whose id is in ``targets`` can be reached."""
    needed = set()
    for t in order:
        node = t._node
        if id(t) in targets or (node is not None and
                                any(id(inp) in needed for inp in node.inputs)):
            needed.add(id(t))
    return needed


def _owner(array):
    return id(array if array.base is None else array.base)


def _own(grad, handed: set):
    """A gradient safe to store in ``.grad``: writeable and shared with no other."""
    arr = grad.array
    key = _owner(arr)
    if key in handed or not getattr(arr.flags, "writeable", True):
        arr = arr.copy()
        grad = type(grad)._wrap(arr) if grad._node is None else grad + 0
        key = _owner(arr)
    handed.add(key)
    return grad


def run_backward(roots, root_grads, retain_graph: bool = False, create_graph: bool = False,
                 capture: dict | None = None) -> None:
    """Backpropagate ``root_grads`` from ``roots``.

    With ``capture`` (``{id(tensor): None}``), the gradients of those tensors are
    written into it instead of being accumulated into leaves' ``.grad``.
    """
    table = {}
    owned = set()  # keys of table entries whose arrays the engine allocated (see _scatter)
    for r, g in zip(roots, root_grads):
        table[id(r)] = g if id(r) not in table else table[id(r)] + g
    order = _topological_order(roots)
    # autograd.grad: run only the part of the graph that leads to the inputs asked for
    needed = None if capture is None else _leading_to(order, capture)
    handed = {_owner(g.array) for g in root_grads}
    prev_mode, STATE.grad_enabled = STATE.grad_enabled, create_graph
    prev_in_backward, STATE.in_backward = STATE.in_backward, True
    prev_capturing, STATE.capturing = STATE.capturing, capture is not None
    # rules run in the dtypes the forward chose: autocast never re-casts a backward
    prev_autocast, STATE.autocast = STATE.autocast, None
    try:
        for i in range(len(order) - 1, -1, -1):
            t, order[i] = order[i], None
            g = table.pop(id(t), None)
            owned.discard(id(t))
            if g is None or (needed is not None and id(t) not in needed):
                continue
            for hook in t._hooks or ():
                result = hook(g)
                if result is not None:
                    g = result
            if capture is not None:
                if id(t) in capture:
                    capture[id(t)] = g
            elif t._node is None or t._retains_grad:
                g = _own(g, handed)
                t.grad = g if t.grad is None else t.grad + g
                if t._hooks is not None and t._node is None:
                    _post_accumulate(t)
            if t._node is not None:
                _propagate(t._node, g, table, retain_graph, owned)
    finally:
        STATE.grad_enabled = prev_mode
        STATE.in_backward = prev_in_backward
        STATE.capturing = prev_capturing
        STATE.autocast = prev_autocast


class PostAccumulateGradHook:
    """An entry of a leaf's hook list (``Tensor.register_post_accumulate_grad_hook``):
    ``fn(leaf)`` runs after backward added into ``leaf.grad``. Called as an ordinary
    gradient hook it does nothing, so the hook list needs no second slot."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, grad) -> None:
        return None


def _post_accumulate(leaf) -> None:
    for hook in list(leaf._hooks):
        if type(hook) is PostAccumulateGradHook:
            if hook.fn(leaf) is not None:
                raise RuntimeError("a post-accumulate-grad hook must return None (it gets the "
                                   "leaf tensor and may read or change its .grad in place)")


def _scatter(node, g, table: dict, owned: set) -> None:
    """A slicing node's first-order vjp, added straight into its input's cotangent.

    The vjp of ``x[index]`` is zeros shaped like x with g at ``index``. When x is
    sliced several times (``chunk``, ``split``, q/k/v out of one projection), building
    each full-size cotangent and summing them costs several passes over x's size;
    here the first slice allocates one buffer and the others add into it in place.
    Only buffers the engine allocated itself are written (``owned``)."""
    inp = node.inputs[0]
    key = id(inp)
    prev = table.get(key)
    if prev is None or key not in owned:
        xp = get_array_module(g.array)
        buf = xp.zeros(inp.shape, dtype=inp.dtype) if prev is None else prev.array.copy()
        table[key] = inp._wrap(buf)
        owned.add(key)
    node.scatter_add(table[key].array, g.array)


def _propagate(node, g, table: dict, retain_graph: bool, owned: set) -> None:
    """Run one node's vjp and add its cotangents into the table."""
    node.check_versions()
    # a first-order backward with no forward-mode level watching: the rule's result is
    # only ever an array, so it may be added in place
    if (node.vjp_scatters and not STATE.grad_enabled and not STATE.fw_levels
            and not STATE.anomaly and node.needs_input_grad[0]
            and g.dtype == node.inputs[0].dtype):
        _scatter(node, g, table, owned)
        if not retain_graph:
            node.release()
        return
    grads = node.vjp(g)
    if not isinstance(grads, tuple):
        grads = (grads,)
    for inp, gi, need in zip(node.inputs, grads, node.needs_input_grad):
        if gi is None or not need:
            continue
        if gi.shape != inp.shape:
            gi = unbroadcast(gi, inp.shape)
        if gi.dtype != inp.dtype:
            gi = gi.to(inp.dtype)
        if STATE.anomaly:
            _check_finite(gi.array, f"{node.name} (backward)", getattr(node, "trace", "?"))
        key = id(inp)
        prev = table.get(key)
        table[key] = gi if prev is None else prev + gi
        owned.discard(key)
    if not retain_graph:
        node.release()
