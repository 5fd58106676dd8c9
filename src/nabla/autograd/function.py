"""``Function``: one op = forward on arrays, vjp and jvp on Tensors.

A subclass writes three methods side by side::

    class Exp(Function):
        def forward(self, x):            # arrays in, array out (xp = NumPy or CuPy)
            return self.xp.exp(x)
        def vjp(self, g):                # Tensors: differentiable again
            return g * self.out
        def jvp(self, t):                # Tensors: one forward-mode pass
            return t * self.out

``forward`` keeps what the rules need as attributes (axes, masks, indices).
The rules read the op's inputs as ``self.inputs`` and its output as
``self.out`` -- real graph Tensors, so ``create_graph=True`` differentiates the
rules themselves. ``vjp`` returns one cotangent per input (``None`` where an
input needs none); a cotangent may keep the broadcast shape of the output: the
engine reduces it to the input's shape in one place (``unbroadcast``).

A subclass written the PyTorch way (``forward(ctx, ...)`` as a staticmethod on
Tensors, ``ctx.save_for_backward``, a static ``backward``) is a custom function:
``custom_function.py`` gives it its own ``apply`` when the class is created.
"""
from __future__ import annotations

import os
import traceback
import weakref

import numpy as np

from ..backend import bfloat16, dtype_kind, get_array_module
from .grad_mode import STATE

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Function:
    #: False for ops whose output never carries a gradient (argmax, comparisons).
    differentiable = True
    #: whether ``vjp`` reads ``self.inputs`` (then in-place changes to them are an error).
    uses_inputs = True
    #: whether ``vjp`` reads ``self.out``.
    uses_output = False
    #: True for ops whose output aliases the first input's memory (reshape, slicing).
    is_view = False
    #: True for slicing ops whose vjp is "zeros like the input, with g at an index":
    #: the engine then adds g into the input's cotangent in place (``scatter_add``).
    vjp_scatters = False
    #: what ``nabla.autocast`` does to the floating inputs: "lower" casts them to the
    #: low-precision dtype, "float32" to float32, None leaves them (nabla.amp's table).
    autocast = None
    #: the same on the CPU, whose op lists differ from CUDA's, as in PyTorch (nabla.amp).
    autocast_cpu = None
    #: False where ``forward`` runs on bfloat16 arrays as they are (views, copies, casts).
    #: Otherwise bfloat16 inputs are computed on in float32 and the output is rounded once
    #: to bfloat16, as PyTorch's kernels do: NumPy has no bfloat16 arithmetic of its own
    #: (ml_dtypes' loops round every step and mix badly with Python floats). On a GPU the
    #: ops autocast lowers (matmul, convolution, ...) run in bfloat16 on the tensor cores.
    bfloat16_in_float32 = True

    inputs: tuple
    needs_input_grad: tuple
    xp = np

    # -- rules a subclass provides ---------------------------------------
    def forward(self, *arrays):
        raise NotImplementedError

    def vjp(self, grad):
        raise NotImplementedError(f"{type(self).__name__} has no reverse-mode rule")

    def jvp(self, *tangents):
        raise NotImplementedError(f"{type(self).__name__} has no forward-mode rule")

    # -- machinery ---------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        """A staticmethod ``forward`` marks a PyTorch-style custom function (nabla's
        ops have an instance ``forward`` on arrays): it gets its own ``apply``."""
        super().__init_subclass__(**kwargs)
        for klass in cls.__mro__:
            if "forward" in klass.__dict__:
                if isinstance(klass.__dict__["forward"], staticmethod):
                    from .custom_function import prepare
                    prepare(cls)
                return

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def out(self):
        """The op's output Tensor (alive whenever a rule runs)."""
        return self._out()

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors; record a graph node when a gradient is needed."""
        state = STATE
        ac = state.autocast
        if ac is not None:
            policy = cls.autocast_cpu if ac[0] == "cpu" else cls.autocast
            if policy is not None:
                inputs = autocast_inputs(inputs, policy, ac)
        fn = cls()
        fn.inputs = inputs
        arrays = [t.array for t in inputs]
        xp = np
        low = False
        for a in arrays:  # the common case, all NumPy, costs a type() and a dtype per input
            if type(a) is not np.ndarray:
                xp = None
            if a.dtype is bfloat16:
                low = True
        if xp is None:
            xp = _array_module_checked(cls, arrays)
        fn.xp = xp
        if (low and cls.bfloat16_in_float32 and not cls.is_view
                and (xp is np or cls.autocast != "lower")):
            up = _bfloat16_as_float32(arrays)
            if up is not None:
                out = fn.forward(*up, **params)
                out = _wrap(out.astype(bfloat16) if out.dtype == np.float32 else out)
            else:  # other floating dtypes among the inputs: the op promotes as usual
                out = _wrap(fn.forward(*arrays, **params))
        else:
            out = _wrap(fn.forward(*arrays, **params))
        if cls.is_view:
            base = inputs[0]
            out._version = base._version
            out._base = base if base._base is None else base._base
        if state.grad_enabled and fn.differentiable:
            for t in inputs:
                if t.requires_grad:
                    fn.needs_input_grad = tuple([t.requires_grad for t in inputs])
                    fn.versions = tuple([t._version[0] for t in inputs])
                    fn._out = weakref.ref(out)
                    if cls.uses_output:
                        fn.out_version = out._version[0]
                    out.requires_grad = True
                    out._node = fn
                    break
        if state.fw_levels and fn.differentiable:
            _propagate_tangents(fn, inputs, out)
        if state.anomaly:
            fn.trace = _user_frame()
            if not state.in_backward:  # inside backward the engine checks per node
                _check_finite(out.array, f"{cls.__name__} (forward)", fn.trace)
        return out

    # engine hooks -------------------------------------------------------------
    def check_versions(self) -> None:
        """Raise if an input the vjp reads was modified in place after recording."""
        if self.uses_inputs:
            for i, (t, v) in enumerate(zip(self.inputs, self.versions)):
                if t._version[0] != v:
                    raise RuntimeError(
                        f"{self.name}: input {i} of shape {tuple(t.shape)} was modified by an "
                        f"in-place operation after it was saved for backward (version {v} -> "
                        f"{t._version[0]}); compute on a clone() or avoid the in-place op")
        if self.uses_output:
            out = self._out()
            if out is not None and out._version[0] != self.out_version:
                raise RuntimeError(
                    f"{self.name}: its output of shape {tuple(out.shape)} was modified by an "
                    f"in-place operation after it was saved for backward; avoid the in-place op")

    def release(self) -> None:
        """Drop everything the node holds (called after backward unless retained)."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


# -- rules through a composed form -------------------------------------------------------------
# Fused ops (recurrences, tiled attention, layer norm) compute first-order rules on arrays.
# When a rule is itself differentiated (create_graph, forward mode) they run it through
# the op written in Tensor ops (``composed``), so every order is exact.
def vjp_by_composition(fn: Function, composed, g) -> tuple:
    """``fn``'s vjp as the gradient of ``composed(*fn.inputs)`` with cotangent ``g``."""
    from ..ops.convert import alias
    from .api import grad
    from .grad_mode import enable_grad

    need = fn.needs_input_grad
    with enable_grad():
        args = tuple(alias(t) for t in fn.inputs)  # the inner backward stops here
        out = composed(*args)
    wanted = [a for a, n in zip(args, need) if n]
    grads = iter(grad(out, wanted, g, create_graph=STATE.grad_enabled, allow_unused=True))
    return tuple(next(grads) if n else None for n in need)


def jvp_by_composition(fn: Function, composed, tangents: tuple):
    """``fn``'s jvp as the tangent of ``composed(*fn.inputs)`` (None: a zero tangent)."""
    from .forward_ad import dual_level, make_dual, unpack_dual

    with dual_level():
        args = tuple(x if t is None else make_dual(x, t) for x, t in zip(fn.inputs, tangents))
        return unpack_dual(composed(*args)).tangent


def autocast_inputs(inputs: tuple, policy: str, autocast: tuple) -> tuple:
    """``inputs`` cast as ``nabla.autocast`` asks: for policy "lower" to the autocast
    dtype, for "float32" to float32. Like PyTorch, only floating tensors on the
    autocast device that are not float64 are cast (through the differentiable
    ``Cast``, so gradients come back in each input's own dtype)."""
    from ..ops.convert import Cast

    device_type, low = autocast
    target = low if policy == "lower" else np.dtype(np.float32)
    out = []
    for t in inputs:
        dt = t.array.dtype
        if (dt != target and dtype_kind(dt) == "f" and dt.itemsize < 8
                and t.device.type == device_type):
            t = Cast.apply(t, dtype=target)
        out.append(t)
    return tuple(out)


def autocast_args(cls, *tensors) -> tuple:
    """``tensors`` (None allowed) cast per ``cls``'s policy for the device under autocast
    (``autocast_cpu`` on the CPU, else ``autocast``), when autocast is on: for op
    wrappers that check their operands' dtypes before ``cls.apply`` would cast them."""
    ac = STATE.autocast
    policy = None if ac is None else cls.autocast_cpu if ac[0] == "cpu" else cls.autocast
    if policy is None:
        return tensors
    present = autocast_inputs(tuple(t for t in tensors if t is not None), policy, ac)
    it = iter(present)
    return tuple(None if t is None else next(it) for t in tensors)


def autocast_float32(fn):
    """Decorator for composite functional ops (losses, normalisations) that run in
    float32 under ``nabla.autocast``: their Tensor arguments are cast first. The
    wrapper's ``autocast`` and ``autocast_cpu`` attributes hold the policy per device,
    as a ``Function``'s do (nabla.amp sets None where the CPU keeps the inputs' dtype)."""
    import functools

    from ..tensor import Tensor

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        ac = STATE.autocast
        if ac is None or (wrapped.autocast_cpu if ac[0] == "cpu" else wrapped.autocast) is None:
            return fn(*args, **kwargs)
        cast = lambda v: (autocast_inputs((v,), "float32", ac)[0]  # noqa: E731
                          if isinstance(v, Tensor) else v)
        return fn(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})

    wrapped.autocast = wrapped.autocast_cpu = "float32"
    return wrapped


def _bfloat16_as_float32(arrays):
    """``arrays`` with the bfloat16 ones in float32, or None when other floating dtypes
    are among them (the op then promotes them as it would)."""
    out = []
    for a in arrays:
        if a.dtype is bfloat16:
            a = a.astype(np.float32)
        elif dtype_kind(a.dtype) == "f":
            return None
        out.append(a)
    return out


def _array_module_checked(cls, arrays):
    """The array module of ``arrays``, checking they all live on one device."""
    from ..backend import device_of

    devices = [str(device_of(a)) for a in arrays]
    if len(set(devices)) > 1:
        raise RuntimeError(
            f"{cls.__name__.lower()}: expected all tensors on one device, got "
            f"{', '.join(devices)}; move them with .to(device)")
    return get_array_module(*arrays)


def _wrap(data):
    global _wrap
    from ..tensor import Tensor  # bound on first use: tensor.py imports this module

    _wrap = Tensor._wrap
    return _wrap(data)


def _propagate_tangents(fn, inputs, out) -> None:
    """Forward mode: compute the output's tangent at every active level."""
    state = STATE
    for level in state.fw_levels:
        if level in state.fw_muted:
            continue
        tangents = [t._tangents.get(level) if t._tangents else None for t in inputs]
        if not any(x is not None for x in tangents):
            continue
        if not hasattr(fn, "_out"):
            fn._out = weakref.ref(out)
        state.fw_muted.add(level)
        try:
            tangent = fn.jvp(*tangents)
        finally:
            state.fw_muted.discard(level)
        if tangent is None:
            continue
        if tangent.shape != out.shape:
            tangent = tangent.broadcast_to(out.shape)
        if tangent.dtype != out.dtype:
            tangent = tangent.to(out.dtype)
        if out._tangents is None:
            out._tangents = {}
        out._tangents[level] = tangent


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` over the axes broadcasting added, to give it ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"internal: gradient of shape {grad.shape} cannot reduce to {shape}")
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    if extra:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise RuntimeError(f"internal: gradient of shape {grad.shape} cannot reduce to {shape}")
    return grad


# -- anomaly mode ---------------------------------------------------------------
def _user_frame() -> str:
    """The innermost line of the stack outside nabla itself."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}: {frame.line}'
    return "<unknown location>"


def _check_finite(array, what: str, where: str) -> None:
    if dtype_kind(array.dtype) not in "fc":
        return
    xp = get_array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise FloatingPointError(
            f"detect_anomaly: {what} produced {bad} (output shape {tuple(array.shape)}, "
            f"dtype {array.dtype}); the op was created at {where}")


# the PyTorch-style API, under the names PyTorch gives them (after Function: it subclasses it)
from . import custom_function as _custom  # noqa: E402

FunctionCtx = _custom.FunctionCtx
once_differentiable = _custom.once_differentiable
