"""Dtype casts, device moves and copies."""
from __future__ import annotations

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor


def _has_gradient(dtype) -> bool:
    return backend.is_floating(dtype) or dtype.kind == "c"


class Cast(Function):
    """A dtype conversion. Floating and complex dtypes carry gradients both ways: a
    complex value cast to a real dtype keeps its real part (so the gradient of a real
    input that took part in a complex computation is the real part of its cotangent,
    PyTorch's convention), and a real cotangent cast back to complex has no imaginary
    part."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, dtype):
        self.src = x.dtype
        self.differentiable = _has_gradient(dtype) and _has_gradient(x.dtype)
        if x.dtype.kind == "c" and dtype.kind != "c":
            x = x.real  # what astype would do, without NumPy's ComplexWarning
        return x.astype(dtype)

    def vjp(self, g):
        return cast(g, self.src)

    def jvp(self, t):
        return cast(t, self.out.dtype)


class ToDevice(Function):
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, device):
        self.src = backend.device_of(x)
        return backend.to_device(x, device)

    def vjp(self, g):
        return to_device(g, self.src)

    def jvp(self, t):
        return to_device(t, self.out.device)


class Clone(Function):
    """A copy with its own memory (C-contiguous)."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x):
        return self.xp.array(x, copy=True, order="C")

    def vjp(self, g):
        return g

    def jvp(self, t):
        return t


class Alias(Function):
    """The same array under a new graph node (used by forward mode's make_dual)."""
    uses_inputs = False
    is_view = True

    def forward(self, x):
        return x

    def vjp(self, g):
        return g

    def jvp(self, t):
        return t


class CopyFrom(Function):
    """``dst.copy_(src)`` while recording: the result is ``src`` broadcast to ``dst``."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, dst, src):
        self.src_dtype = src.dtype
        return self.xp.broadcast_to(src, dst.shape).astype(dst.dtype, copy=True)

    def vjp(self, g):
        return None, g

    def jvp(self, t_dst, t_src):
        from .shape import broadcast_to
        return None if t_src is None else broadcast_to(t_src, self.out.shape)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = backend.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device) -> Tensor:
    return ToDevice.apply(x, device=backend.device(device))


def clone(x: Tensor, *, memory_format=None) -> Tensor:
    return Clone.apply(x)


def alias(x: Tensor) -> Tensor:
    return Alias.apply(x)


def copy_from(dst: Tensor, src: Tensor) -> Tensor:
    return CopyFrom.apply(dst, src)


__all__ = ["clone"]
TENSOR_METHODS = {}
