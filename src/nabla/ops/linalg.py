"""Linear algebra: matmul and the products built on it."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


class Matmul(Function):
    """Batched, broadcasting matrix product of tensors with at least 2 dimensions."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align: "
                f"{a.shape[-1]} != {b.shape[-2]}")
        try:
            return self.xp.matmul(a, b)
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                               f"{tuple(b.shape)} do not broadcast") from None

    def vjp(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        if ta is None:
            return a @ tb
        return ta @ b if tb is None else ta @ b + a @ tb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    if input.dtype != other.dtype and input.dtype.kind == other.dtype.kind == "f":
        raise RuntimeError(f"matmul: expected both operands to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    a = input.reshape(1, -1) if input.ndim == 1 else input
    b = other.reshape(-1, 1) if other.ndim == 1 else other
    out = Matmul.apply(a, b)
    if input.ndim == 1 and other.ndim == 1:
        return out.reshape(())
    if input.ndim == 1:
        return out.squeeze(-2)
    if other.ndim == 1:
        return out.squeeze(-1)
    return out


TENSOR_METHODS = {"matmul": matmul}

__all__ = ["matmul"]
