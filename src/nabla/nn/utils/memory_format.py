"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``.

PyTorch uses these to store convolution weights channels-last for faster kernels.
nabla keeps one memory layout (its arrays are C-ordered and its convolutions pick their
own fast paths), so there is nothing to convert: the module comes back unchanged, which
keeps code that calls them working.
"""
from __future__ import annotations

from ..module import Module


def convert_conv2d_weight_memory_format(module: Module, memory_format=None) -> Module:
    """``module`` unchanged (nabla has a single memory layout; see the module docstring)."""
    return _unchanged(module, "convert_conv2d_weight_memory_format")


def convert_conv3d_weight_memory_format(module: Module, memory_format=None) -> Module:
    """``module`` unchanged (nabla has a single memory layout; see the module docstring)."""
    return _unchanged(module, "convert_conv3d_weight_memory_format")


def _unchanged(module: Module, op: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected a Module, got {type(module).__name__}")
    return module


__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]
