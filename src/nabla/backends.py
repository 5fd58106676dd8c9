"""``nabla.backends``: backend switches, as ``torch.backends``.

``nabla.backends.cuda.matmul.allow_tf32 = True`` (or
``nabla.set_float32_matmul_precision("high")``) lets float32 matmuls on CUDA GPUs
round their inputs to TensorFloat-32 (10-bit mantissa, float32 range and
accumulation) on tensor cores: several times faster on Ampere and later GPUs, at
about 1e-3 relative precision. Off by default, as in PyTorch. It is CuPy's compute
type for float32 matmuls; NumPy has no TF32, so on the CPU the flag changes nothing.
"""
from __future__ import annotations

import numpy as np

from . import backend

_PRECISIONS = ("highest", "high", "medium")


def _set_cupy_tf32(enabled: bool) -> None:
    cp = backend._cupy
    if cp is None:
        return
    from cupy._core import _routines_linalg as linalg  # type: ignore

    kind = linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_DEFAULT
    cp._core.set_compute_type(np.float32, kind)


class _Matmul:
    _allow_tf32 = False

    @property
    def allow_tf32(self) -> bool:
        return self._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _set_cupy_tf32(bool(value))
        type(self)._allow_tf32 = bool(value)


class _Cuda:
    matmul = _Matmul()
    #: the CUDA kernels of ``nabla.kernels`` (activations, softmax, layer and batch norm,
    #: dropout, max pooling, im2col/col2im, flash attention, Adam) behind their ops on CuPy
    #: arrays; False runs the composed CuPy ops instead
    fused_kernels = True
    #: which inputs attention's tiled path hands to the flash-attention CUDA kernels
    #: (``nabla.kernels.attention``) instead of its blocked cuBLAS form. None (the default):
    #: float16, which runs on tensor cores; True: float32 and float64 too, on CUDA cores,
    #: which by estimate (GPT-2-small's attention, about 0.5 TFLOP a step, at 10-15
    #: TFLOP/s against tensor-core GEMMs) lose to the blocked form at GPT sizes; False:
    #: none. ``benchmarks/bench_gpu.py`` measures them against each other.
    flash_attention_kernel = None


cuda = _Cuda()


class _Cudnn:
    """``torch.backends.cudnn``'s switches, recorded so that scripts which set them run.

    nabla does not use cuDNN (its convolutions are im2col + BLAS on NumPy or CuPy), so
    none of these changes what any op computes, on the CPU or on a GPU: ``benchmark``,
    ``deterministic``, ``enabled`` and ``allow_tf32`` are only stored and read back
    (``nabla.backends.cuda.matmul.allow_tf32`` is the switch that does act, for matmuls).
    """

    def __init__(self) -> None:
        self.benchmark = False
        self.deterministic = False
        self.enabled = True
        self.allow_tf32 = True  # PyTorch's default for cuDNN convolutions

    def is_available(self) -> bool:
        return False

    def version(self) -> None:
        return None

    def __repr__(self) -> str:
        return (f"nabla.backends.cudnn(benchmark={self.benchmark}, deterministic="
                f"{self.deterministic}, enabled={self.enabled}, allow_tf32={self.allow_tf32})")


cudnn = _Cudnn()


def set_float32_matmul_precision(precision: str) -> None:
    """"highest": full float32 (the default); "high" or "medium": TF32 on CUDA GPUs."""
    if precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: expected one of "
                         f"{', '.join(_PRECISIONS)}, got {precision!r}")
    cuda.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    return "high" if cuda.matmul.allow_tf32 else "highest"
