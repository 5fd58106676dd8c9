"""User-defined ops written the PyTorch way: a ``ctx`` object and static methods.

A subclass of ``nabla.autograd.Function`` whose ``forward`` is a staticmethod is
a *custom function*, as a PyTorch user writes one::

    class ScaledExp(Function):
        @staticmethod
        def forward(ctx, x, scale=1.0):      # Tensors in, Tensors out, grad off
            y = x.exp() * scale
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):             # one cotangent per output
            (y,) = ctx.saved_tensors
            return grad * y, None            # one gradient per forward input

    y = ScaledExp.apply(x, 2.0)

(or ``forward(x, scale)`` plus ``setup_context(ctx, inputs, output)``; ``vjp``
may stand for ``backward``, and ``jvp(ctx, *tangents)`` gives forward mode.)
``Function.__init_subclass__`` gives such a class ``apply_custom`` as its
``apply``; nabla's own ops keep the array-level ``Function.apply``.

The graph node (``CustomNode``) is an ordinary ``Function`` node whose inputs
are the Tensor arguments. With one differentiable output the output points at
it directly. With several, the node's output is a hidden empty tensor and each
output points at a small ``OutputSlot`` node on top of it: the slots hand their
cotangents down as one bundle (``_bundle``, added together by the engine like
any gradient), so the user's ``backward`` runs once with all of them.
"""
from __future__ import annotations

import functools
import inspect
import weakref

import numpy as np

from ..backend import dtype_kind, get_array_module
from .function import Function
from .grad_mode import STATE

_EMPTY = np.empty(0, dtype=np.float32)  # the data of the hidden tensor of a multi-output node


def _tensor_class():
    from ..tensor import Tensor  # at call time: tensor.py imports autograd first
    return Tensor


class FunctionCtx:
    """The ``ctx`` a custom function's static methods share: tensors saved for the
    rules, flags for the outputs, and any attribute the user sets (``ctx.scale = s``)."""

    def __init__(self, needs_input_grad: tuple = ()):
        #: one bool per forward argument: whether it is a Tensor that requires grad
        self.needs_input_grad = needs_input_grad
        self._to_save = None       # what save_for_backward got, until forward ends
        self._saved = None         # after forward: (kind, ref, version list, version)
        self._for_forward = ()
        self._in_jvp = False
        self._outputs = ()         # weakrefs to the output Tensors (None: not a Tensor)
        self._dirty = ()
        self._non_differentiable = ()
        self._materialize_grads = True
        self._released = False

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (Tensors or None) for ``backward``; read them back with
        ``ctx.saved_tensors``. Modifying one in place afterwards is an error there."""
        Tensor = _tensor_class()
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: argument {i} is a {type(t).__name__}; "
                                f"only Tensors (or None) can be saved; keep other values as "
                                f"ctx attributes")
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Keep ``tensors`` for ``jvp`` (where ``ctx.saved_tensors`` returns them)."""
        self._for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._in_jvp:
            return tuple(self._for_forward)
        if self._released:
            raise RuntimeError("saved_tensors: the tensors saved for backward were freed "
                               "after a backward pass; pass retain_graph=True to the first "
                               "backward() to run it twice")
        if self._saved is None:  # still inside forward
            return tuple(self._to_save or ())
        return tuple(self._unpack(i, entry) for i, entry in enumerate(self._saved))

    def _unpack(self, i: int, entry):
        if entry is None:
            return None
        kind, ref, version, expected = entry
        if version[0] != expected:
            shape = ref.shape if kind == "tensor" else ref[1].shape
            raise RuntimeError(
                f"{self._name}: saved tensor {i} of shape {tuple(shape)} was modified by an "
                f"in-place operation after it was saved for backward (version {expected} -> "
                f"{version[0]}); compute on a clone() or avoid the in-place op")
        if kind == "tensor":
            return ref
        index, array = ref
        out = self._outputs[index]()
        if out is None:  # the output itself is gone: its value, cut from the graph
            out = _tensor_class()._wrap(array)
            out._version = version
        return out

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that ``forward`` modified in place (and returns)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that carry no gradient (indices, masks)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` receives None (not zeros) for an output that got
        no gradient, and ``jvp`` None for an input without a tangent."""
        self._materialize_grads = bool(value)

    _name = "custom function"

    def _finish(self, name: str, outs: tuple, results: tuple) -> None:
        """After forward: freeze what was saved (with version counters); a saved
        forward output is remembered by position, as the graph Tensor it becomes."""
        self._name = name
        self._outputs = tuple(weakref.ref(r) if _is_tensor(r) else None for r in results)
        saved = []
        for t in self._to_save or ():
            if t is None:
                saved.append(None)
                continue
            k = _index_of(t, outs)
            if k is not None and _is_tensor(results[k]):
                r = results[k]
                saved.append(("output", (k, r.array), r._version, r._version[0]))
            else:
                saved.append(("tensor", t, t._version, t._version[0]))
        self._saved = saved
        self._to_save = None

    def _release(self) -> None:
        self._saved = self._to_save = None
        self._for_forward = ()
        self._released = True


def _is_tensor(x) -> bool:
    return isinstance(x, _tensor_class())


def _index_of(x, items) -> int | None:
    for i, item in enumerate(items):
        if item is x:
            return i
    return None


# -- the graph nodes --------------------------------------------------------------------------
class CustomNode(Function):
    """The node of one call of a custom function: ``vjp`` runs the user's ``backward``."""
    uses_inputs = False  # the user's saved tensors carry their own version checks

    owner: str           # the custom function's class name
    fn_cls: type
    ctx: FunctionCtx
    tensor_args: tuple   # the forward argument position of each of ``inputs``
    n_args: int
    out_meta: tuple      # (shape, dtype, xp) per Tensor output, None for other outputs
    single: int | None   # the output pointing here directly, or None (slots)

    @property
    def name(self) -> str:
        return self.owner

    def vjp(self, g):
        grads = [None] * len(self.out_meta)
        if self.single is not None:
            grads[self.single] = g
        else:
            for k, gk in g.grads.items():
                grads[k] = gk
        if self.ctx._materialize_grads:
            for k, meta in enumerate(self.out_meta):
                if grads[k] is None and meta is not None:
                    shape, dtype, xp = meta
                    grads[k] = _tensor_class()._wrap(xp.zeros(shape, dtype=dtype))
        backward = self.fn_cls._custom_backward
        if backward is None:
            raise NotImplementedError(f"{self.name}: a custom function needs a backward (or "
                                      f"vjp) staticmethod to be differentiated")
        return self._checked(backward(self.ctx, *grads))

    def _checked(self, result) -> tuple:
        """The user's gradients, one per Tensor input, checked as PyTorch checks them."""
        Tensor = _tensor_class()
        result = result if isinstance(result, tuple) else (result,)
        n, got = self.n_args, len(result)
        if got > n and all(r is None for r in result[n:]):
            result = result[:n]
        elif got != n:
            raise RuntimeError(f"{self.name}.backward returned {got} gradient"
                               f"{'' if got == 1 else 's'}, expected {n}: one per argument of "
                               f"forward (None for an argument that needs none)")
        tensor_pos = set(self.tensor_args)
        for i, r in enumerate(result):
            if r is not None and i not in tensor_pos:
                raise RuntimeError(f"{self.name}.backward returned a gradient for argument {i} "
                                   f"of forward, which is not a Tensor; return None there")
            if r is not None and not isinstance(r, Tensor):
                raise TypeError(f"{self.name}.backward: gradient {i} must be a Tensor or None, "
                                f"got {type(r).__name__}")
        grads = tuple(result[p] for p in self.tensor_args)
        for p, inp, gi in zip(self.tensor_args, self.inputs, grads):
            if gi is not None and not _reducible(gi.shape, inp.shape):
                raise RuntimeError(f"{self.name}.backward returned a gradient of shape "
                                   f"{tuple(gi.shape)} for argument {p} of forward, of shape "
                                   f"{tuple(inp.shape)}; expected that shape (or one it "
                                   f"broadcasts to)")
        return grads

    def release(self) -> None:
        ctx = self.__dict__.get("ctx")
        if ctx is not None:
            ctx._release()
        owner = self.owner
        super().release()
        self.owner = owner  # for the error of a second backward (and the repr)


def _reducible(grad_shape: tuple, shape: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``grad_shape`` (the engine then sums the extra axes)."""
    extra = len(grad_shape) - len(shape)
    return extra >= 0 and all(n == 1 or n == m for n, m in zip(shape, grad_shape[extra:]))


class OutputSlot(CustomNode):
    """Output ``index`` of a multi-output custom function: passes its cotangent on."""
    index: int

    def vjp(self, g):
        return _bundle({self.index: g})


_Cotangents = None


def _bundle(grads: dict):
    """The cotangents of a multi-output node's outputs, keyed by output position, as
    one Tensor (of the hidden tensor's empty shape) that rides through the engine's
    table; adding two bundles merges them."""
    global _Cotangents
    if _Cotangents is None:
        class Cotangents(_tensor_class()):
            __slots__ = ("grads",)

            def __add__(self, other):
                merged = dict(self.grads)
                for k, g in other.grads.items():
                    merged[k] = g if k not in merged else merged[k] + g
                return _bundle(merged)

            __radd__ = __add__

        _Cotangents = Cotangents
    bundle = _Cotangents._wrap(_EMPTY)
    bundle.grads = grads
    return bundle


class OnceDifferentiableError(Function):
    """Stands behind the results of a ``@once_differentiable`` backward run with
    ``create_graph=True``: differentiating them again is an error."""
    uses_inputs = False

    def vjp(self, g):
        raise RuntimeError(f"{self.owner}: trying to differentiate twice a backward marked "
                           f"@once_differentiable; write its backward in differentiable "
                           f"Tensor ops (without the decorator) for higher-order gradients")


def once_differentiable(backward):
    """Decorate a custom function's ``backward``: it runs without recording, and a
    second differentiation through it raises (instead of silently giving zeros)."""
    @functools.wraps(backward)
    def wrapped(ctx, *grads):
        from .grad_mode import no_grad

        with no_grad():
            result = backward(ctx, *grads)
        if not STATE.grad_enabled:
            return result
        sources = tuple(g for g in grads if _is_tensor(g) and g.requires_grad)
        if not sources:
            return result
        node = OnceDifferentiableError()
        node.owner = getattr(ctx, "_name", "custom function")
        node.inputs = sources
        node.needs_input_grad = (True,) * len(sources)
        Tensor = _tensor_class()

        def guard(r):
            if not isinstance(r, Tensor) or dtype_kind(r.dtype) not in "fc":
                return r
            out = Tensor._wrap(r.array)
            out._node, out.requires_grad = node, True
            return out

        return tuple(guard(r) for r in result) if isinstance(result, tuple) else guard(result)

    return wrapped


# -- apply -----------------------------------------------------------------------------------
def is_custom(cls) -> bool:
    """Whether ``cls`` is written the PyTorch way (a staticmethod ``forward``)."""
    return isinstance(_raw(cls, "forward"), staticmethod)


def _raw(cls, name: str):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _static(cls, name: str):
    raw = _raw(cls, name)
    return raw.__func__ if isinstance(raw, staticmethod) else None


def prepare(cls) -> None:
    """Give the custom function ``cls`` its rules and its ``apply`` (class creation)."""
    cls._custom_backward = _static(cls, "backward") or _static(cls, "vjp")
    cls._custom_jvp = _static(cls, "jvp")
    cls._custom_setup = _static(cls, "setup_context")
    cls._custom_signature = (inspect.signature(_static(cls, "forward"))
                             if cls._custom_setup is not None else None)
    cls.apply = classmethod(apply_custom)


def apply_custom(cls, *args, **kwargs):
    """Run a custom function on ``args`` and record one node for its outputs."""
    Tensor = _tensor_class()
    setup = cls._custom_setup
    if setup is not None:  # inputs as setup_context sees them: defaults filled in
        bound = cls._custom_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        args, kwargs = bound.args, bound.kwargs
    is_t = [isinstance(a, Tensor) for a in args]
    ctx = FunctionCtx(tuple(t and a.requires_grad for t, a in zip(is_t, args)))
    state = STATE
    recording = state.grad_enabled and any(ctx.needs_input_grad)
    prev_grad, prev_muted = state.grad_enabled, state.fw_muted
    state.grad_enabled = False
    state.fw_muted = prev_muted | set(state.fw_levels)  # the rules say what tangents do
    try:
        if setup is None:
            result = cls.forward(ctx, *args, **kwargs)
        else:
            result = cls.forward(*args, **kwargs)
            setup(ctx, args, result)
    finally:
        state.grad_enabled, state.fw_muted = prev_grad, prev_muted
    outs = result if isinstance(result, tuple) else (result,)
    dirty = _check_dirty(cls.__name__, ctx, args, outs, recording)
    results = tuple(_own_output(o, args, dirty) for o in outs)
    for d in dirty:
        d._version[0] += 1  # the in-place change, counted once more as PyTorch does
    if recording or state.fw_levels:
        ctx._finish(cls.__name__, outs, results)
    if recording:
        _record(cls, ctx, args, is_t, results, dirty)
    if state.fw_levels:
        _forward_mode(cls, ctx, args, is_t, results, dirty)
    return results if isinstance(result, tuple) else results[0]


def _check_dirty(name: str, ctx: FunctionCtx, args: tuple, outs: tuple, recording: bool) -> tuple:
    for t in ctx._dirty:
        if _index_of(t, args) is None:
            raise RuntimeError(f"{name}: mark_dirty takes inputs of forward that it modified "
                               f"in place; got a tensor that is not one of them")
        if _index_of(t, outs) is None:
            raise RuntimeError(f"{name}: an input marked dirty (modified in place) must also "
                               f"be returned by forward")
        if recording and t.requires_grad and t._node is None:
            raise RuntimeError(f"{name}: a leaf tensor that requires grad (shape "
                               f"{tuple(t.shape)}) is modified in place; wrap the call in "
                               f"nabla.no_grad() or clone() the input first")
        if recording and t._base is not None and t.requires_grad:
            raise RuntimeError(f"{name}: in-place modification of a view of another tensor "
                               f"while recording gradients is not supported; clone() it first")
    return ctx._dirty


def _own_output(o, args: tuple, dirty: tuple):
    """The Tensor to hand back for forward's output ``o``: ``o`` itself when forward
    made it (or it is a dirty input); a new Tensor on the same memory when forward
    returned an input or a tensor already in a graph, which must keep its history."""
    if not _is_tensor(o) or _index_of(o, dirty) is not None:
        return o
    if o._node is None and not o.requires_grad and _index_of(o, args) is None:
        return o
    t = _tensor_class()._wrap(o.array)
    t._version = o._version
    t._base = o if o._base is None else o._base
    return t


def _record(cls, ctx: FunctionCtx, args: tuple, is_t: list, results: tuple, dirty: tuple):
    Tensor = _tensor_class()
    node = CustomNode()
    node.fn_cls, node.ctx, node.owner = cls, ctx, cls.__name__
    node.tensor_args = tuple(i for i, t in enumerate(is_t) if t)
    node.n_args = len(args)
    inputs = []
    for i in node.tensor_args:
        a = args[i]
        if _index_of(a, dirty) is not None:
            a = _old_history(a)
        inputs.append(a)
    node.inputs = tuple(inputs)
    node.needs_input_grad = tuple(a.requires_grad for a in inputs)
    node.out_meta = tuple((r.shape, r.dtype, get_array_module(r.array))
                          if isinstance(r, Tensor) else None for r in results)
    live = [k for k, r in enumerate(results)
            if isinstance(r, Tensor) and dtype_kind(r.dtype) in "fc"
            and _index_of(r, ctx._non_differentiable) is None]
    if len(live) == 1:
        node.single = live[0]
        r = results[live[0]]
        r._node, r.requires_grad = node, True
        node._out = weakref.ref(r)
        return
    node.single = None
    hidden = Tensor._wrap(_EMPTY)
    hidden._node, hidden.requires_grad = node, True
    node._out = weakref.ref(hidden)
    for k in live:
        slot = OutputSlot()
        slot.index, slot.owner = k, cls.__name__
        slot.inputs, slot.needs_input_grad = (hidden,), (True,)
        results[k]._node, results[k].requires_grad = slot, True


def _old_history(t):
    """A stand-in carrying ``t``'s history before forward modified it in place (``t``
    itself then continues from the custom node). It shares ``t``'s version counter, so
    nodes that saved the old value notice the change."""
    old = _tensor_class()._wrap(t.array)
    old._version, old._base = t._version, t._base
    old.requires_grad, old._node = t.requires_grad, t._node
    if t._node is not None:
        t._node._out = weakref.ref(old)
    return old


def _forward_mode(cls, ctx: FunctionCtx, args: tuple, is_t: list, results: tuple, dirty: tuple):
    """Forward mode: run the user's ``jvp`` at every level where an input has a tangent."""
    state = STATE
    for level in state.fw_levels:
        if level in state.fw_muted:
            continue
        tangents = [a._tangents.get(level) if t and a._tangents else None
                    for a, t in zip(args, is_t)]
        if not any(x is not None for x in tangents):
            continue
        if cls._custom_jvp is None:
            raise RuntimeError(f"{cls.__name__}: forward-mode AD needs a jvp(ctx, *tangents) "
                               f"staticmethod on the custom function (with ctx.save_for_forward "
                               f"for the tensors it reads)")
        if ctx._materialize_grads:
            tangents = [x if x is not None or not t else _zero_tangent(a)
                        for x, a, t in zip(tangents, args, is_t)]
        state.fw_muted.add(level)
        ctx._in_jvp = True
        try:
            out = cls._custom_jvp(ctx, *tangents)
        finally:
            ctx._in_jvp = False
            state.fw_muted.discard(level)
        out = out if isinstance(out, tuple) else (out,)
        if len(out) != len(results):
            raise RuntimeError(f"{cls.__name__}.jvp returned {len(out)} tangents, expected "
                               f"{len(results)}: one per output of forward")
        for r, tan in zip(results, out):
            _set_tangent(cls.__name__, r, tan, level, ctx)


def _zero_tangent(a):
    return a._wrap(get_array_module(a.array).zeros_like(a.array))


def _set_tangent(name: str, r, tan, level: int, ctx: FunctionCtx) -> None:
    if tan is None or not _is_tensor(r) or dtype_kind(r.dtype) not in "fc" \
            or _index_of(r, ctx._non_differentiable) is not None:
        return
    if not _is_tensor(tan):
        raise TypeError(f"{name}.jvp: tangents must be Tensors or None, got "
                        f"{type(tan).__name__}")
    if tan.shape != r.shape:
        raise RuntimeError(f"{name}.jvp returned a tangent of shape {tuple(tan.shape)} for an "
                           f"output of shape {tuple(r.shape)}")
    if tan.dtype != r.dtype:
        tan = tan.to(r.dtype)
    r._tangents = dict(r._tangents or {})
    r._tangents[level] = tan
