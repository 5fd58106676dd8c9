"""nabla: a readable deep learning framework on NumPy and CuPy."""
from . import _blas

BLAS_CORETYPE = _blas.tune()  # before anything imports NumPy: see _blas.py

from . import autograd, backend, ops  # noqa: E402
from . import data, func, nn, optim, utils  # noqa: E402  (after ops: they build on it)
from . import models, train  # noqa: E402
from . import amp, backends, cuda  # noqa: E402
from . import linalg, special  # noqa: E402  (after ops: torch.linalg's and torch.special's)
from .linalg import (det, inverse, logdet, matrix_exp, matrix_power, pinverse,  # noqa: E402
                     slogdet)  # torch.det, torch.inverse, ...: torch's top-level names
from .legacy_linalg import (cholesky_inverse, cholesky_solve, ger, lu, lu_solve,  # noqa: E402
                            qr, svd, triangular_solve, vdot)  # torch.qr, torch.svd (U, S, V)
from .special import igamma, igammac  # noqa: E402  (torch.igamma: special.gammainc)
from . import distributions  # noqa: E402  (after linalg: MultivariateNormal uses it)
from . import fft  # noqa: E402  (after ops: torch.fft's transforms)
from . import random, testing  # noqa: E402  (torch.random, torch.testing)
from . import signal  # noqa: E402  (torch.signal.windows)
from .ops.spectral import (bartlett_window, blackman_window, hamming_window,  # noqa: E402
                           hann_window, istft, kaiser_window, stft)  # after fft: built on it
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402
from .autograd import (detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .backend import (Device, Generator, bfloat16, bool_, double, float, float16, float32, float64,
                      get_default_dtype, half, initial_seed, int, int8, int16, int32, int64,
                      long, manual_seed, set_default_dtype, short, uint8)
from .backend import cdouble, cfloat, complex64, complex128
from .backend import bool_ as bool  # noqa: A001  (PyTorch's name)
from .backend import device, finfo, get_rng_state, iinfo, set_rng_state
from .ops import *  # noqa: F401,F403
from .serialization import load, save
from .tensor import Tensor
from .ops.misc import *  # noqa: F401,F403  (after linalg: torch's remaining top-level names)
from .runtime import *  # noqa: F401,F403  (threads, print options, determinism, default device)
from . import compiler  # noqa: E402
from .compiler import compile  # noqa: A001  (torch.compile: a no-op, nabla runs eagerly)
from .func_vmap import vmap

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()
