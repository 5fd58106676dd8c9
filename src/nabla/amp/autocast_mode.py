"""``nabla.autocast``: mixed precision by op lists, as ``torch.autocast``.

Inside ``with nabla.autocast("cuda"):`` the ops that gain from low precision
(matmuls, linear layers, convolutions, recurrent cells) cast their floating
inputs to the low-precision dtype (float16, or bfloat16 with ``dtype=``; as in
PyTorch the default is float16 on "cuda" and bfloat16 on "cpu"), and the ops that
need range or accuracy (softmax, log-softmax, sums, norms, exp/log/pow, every loss)
cast theirs to float32. All other ops run in whatever dtype their inputs have,
promoting mixed inputs to the widest (NumPy's rules). Only 32- and 16-bit floating
tensors on the autocast device are cast; float64 is
left alone, as in PyTorch.

The CPU has op lists of its own, as in PyTorch: the same low-precision list
(matmuls, linear layers, convolutions, attention, the LSTM and plain RNN), but a
float32 list of the ops whose CPU kernels lack accuracy or a 16-bit version (every
loss but the Gaussian NLL and multilabel soft margin, ``prod``, max-unpooling, the
FFTs, inverses, solves and factorisations); softmax, sums, norms, exp/log/pow and
layer and group norm keep their inputs' dtype there.

One mechanism carries it: each ``Function`` has an ``autocast`` policy ("lower",
"float32" or None) for CUDA and an ``autocast_cpu`` one for the CPU, which
``Function.apply`` reads for the device under autocast; the tables below set them,
so the op lists read in one place. Composite functional ops (the losses, layer and
group norm) are wrapped by ``autograd.function.autocast_float32`` where they are
defined; the wrapper carries the same two attributes.
The casts are ordinary differentiable ``Cast`` ops, so the gradient of a float32
parameter comes back in float32. The backward runs in the dtypes the forward
chose (the engine switches autocast off while it runs), so leave the context
before calling ``backward``, as PyTorch recommends.

Differences from PyTorch: training-mode batch norm runs in float32 on both devices
(PyTorch keeps a 16-bit input's dtype, computing the statistics in float32 inside its
kernel); one device
type is under autocast at a time (a nested
``autocast`` for another device replaces the outer one until it exits); casts of
weights are not cached across uses. On the CPU, where PyTorch's policy depends on more
than the op (3-D pooling, reflection and replication padding) or falls on an op nabla
composes from others (``cdist``, ``trace``, ``quantile``, ``prelu``, ``mv``, ``dot``),
nabla follows the ops it is made of. GRU and the LSTM and GRU cells step outside CPU
autocast, as PyTorch's do (``nn.layers.recurrent``).

bfloat16 has float32's range, so it needs no ``GradScaler``. On the CPU it is
ml_dtypes' NumPy dtype: every op computes in float32 and rounds its output to
bfloat16 (``Function.bfloat16_in_float32``), the matmuls as float32 BLAS products,
so it costs casts and gains no speed there.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.grad_mode import STATE, _DecoratorContext
from .. import linalg as _linalg
from .. import fft as _fft
from ..ops import distance as _distance
from ..ops import loss as _loss
from ..ops import normalization as _normalization
from ..ops.activation import Softplus
from ..ops.attention import FlashAttention
from ..ops.conv import Convolution, ConvolutionTranspose
from ..ops.elementwise import (Acos, Asin, Cosh, Erfinv, Exp, Expm1, Log, Log1p, Pow, Rsqrt,
                               Sinh, Tan)
from ..ops.linalg import Einsum, Matmul
from ..ops.linear import Linear
from ..ops.normalization import BatchNormTrain, Standardize
from ..ops.pool import PlaneScatter
from ..ops.recurrent import Recurrence
from ..ops.sampling import GridSample
from ..ops.reduction import Cumprod, Cumsum, LogSumExp, PNorm, Prod, Sum
from ..ops.softmax import LogSoftmax, Softmax

# -- CUDA: PyTorch's CUDA lists ------------------------------------------------------------
#: ops that run in the low-precision dtype (PyTorch's CUDA "lower_precision_fp" list)
LOWER_PRECISION = (Matmul, Einsum, Linear, Convolution, ConvolutionTranspose, Recurrence,
                   FlashAttention)
#: ops that run in float32 (PyTorch's CUDA "fp32" list, as far as nabla has them)
FLOAT32 = (
    Softmax, LogSoftmax, Sum, Prod, Cumsum, Cumprod, LogSumExp, PNorm, Standardize,
    BatchNormTrain,
    Pow, Exp, Expm1, Log, Log1p, Rsqrt, Tan, Sinh, Cosh, Asin, Acos, Erfinv, Softplus,
    GridSample,
)

# -- CPU: PyTorch's CPU lists (checked against torch 2.13 in tests/test_amp_cpu_lists.py) --
#: ops that run in the low-precision dtype on the CPU: matmul (so mm, bmm, tensordot,
#: multi_dot), einsum, linear, convolutions and their transposes, attention, and the
#: LSTM and RNN recurrences (the recurrence casts its inputs itself)
CPU_LOWER_PRECISION = LOWER_PRECISION
#: ops that run in float32 on the CPU: ``prod``, max-unpooling (PlaneScatter), the FFTs,
#: the linear algebra PyTorch's CPU kernels run in float32 only, and training-mode batch
#: norm (its float16 statistics would overflow where PyTorch's accumulate in float32)
CPU_FLOAT32 = (
    BatchNormTrain,  # not on PyTorch's CPU list: see "Differences from PyTorch"
    Prod, PlaneScatter, GridSample, _fft._FFTN, _fft._RFFTN, _fft._IRFFTN,
    _linalg.Inv, _linalg.Solve, _linalg.Cholesky, _linalg.Eigh, _linalg.Svd, _linalg.Qr,
)
#: composite ops wrapped by ``autocast_float32`` that keep their inputs' dtype on the CPU
#: (composites in PyTorch, or on its CUDA float32 list only)
CPU_NOT_FLOAT32 = (
    _normalization.layer_norm, _normalization.rms_norm, _normalization.group_norm,
    _normalization.normalize, _distance.cosine_similarity, _distance.pairwise_distance,
    _distance.pdist, _loss.gaussian_nll_loss, _loss.multilabel_soft_margin_loss,
)

for _cls in LOWER_PRECISION:
    _cls.autocast = "lower"
for _cls in FLOAT32:
    _cls.autocast = "float32"
for _cls in CPU_LOWER_PRECISION:
    _cls.autocast_cpu = "lower"
for _cls in CPU_FLOAT32:
    _cls.autocast_cpu = "float32"
for _fn in CPU_NOT_FLOAT32:
    _fn.autocast_cpu = None

_DEFAULT_DTYPE = {"cuda": backend.float16, "cpu": backend.bfloat16}


def low_precision_dtype(dtype) -> np.dtype:
    """``dtype`` checked as autocast's low-precision dtype: float16 or bfloat16."""
    dt = backend.as_dtype(dtype.replace("torch.", "") if isinstance(dtype, str) else dtype)
    if dt not in (backend.float16, backend.bfloat16):
        raise RuntimeError(f"autocast: the low-precision dtype must be float16 or bfloat16, "
                           f"got {backend.dtype_name(dt)}")
    return dt


class autocast(_DecoratorContext):
    """Run the ops inside in mixed precision (context manager or decorator).

    ``device_type`` is "cuda" or "cpu" (tensors on other devices are not cast);
    ``dtype`` is the low-precision dtype (float16 or bfloat16; by default float16 on
    "cuda", bfloat16 on "cpu", as in PyTorch); ``enabled=False`` turns autocast
    off inside, e.g. for a region that must run in float32. ``cache_enabled`` is
    accepted for PyTorch compatibility and ignored.
    """

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if device_type not in ("cuda", "cpu"):
            raise ValueError(f"autocast: device_type must be 'cuda' or 'cpu', got "
                             f"{device_type!r}")
        self.device_type = device_type
        self.fast_dtype = (_DEFAULT_DTYPE[device_type] if dtype is None
                           else low_precision_dtype(dtype))
        self.enabled = bool(enabled)
        self._args = (device_type, self.fast_dtype, self.enabled)

    def __enter__(self):
        self._prev = STATE.autocast
        STATE.autocast = (self.device_type, self.fast_dtype) if self.enabled else None
        return self

    def __exit__(self, *exc):
        STATE.autocast = self._prev
        return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on (for ``device_type``, when given)."""
    ac = STATE.autocast
    return ac is not None and (device_type is None or ac[0] == device_type)


def get_autocast_dtype(device_type: str = "cuda") -> np.dtype:
    """The low-precision dtype autocast uses on ``device_type``."""
    ac = STATE.autocast
    if ac is not None and ac[0] == device_type:
        return ac[1]
    return _DEFAULT_DTYPE[device_type]
