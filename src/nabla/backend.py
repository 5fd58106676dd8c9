"""Devices, dtypes, array modules and random streams.

Every op runs one forward against ``xp = get_array_module(...)``: NumPy for the
CPU, CuPy for CUDA devices. Nothing else in nabla imports CuPy directly, so a
new device plugs in here without touching op code.
"""
from __future__ import annotations

import builtins as _builtins
import math

import ml_dtypes as _ml_dtypes
import numpy as np

try:  # CuPy is optional (extra "gpu")
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - absent on CPU-only machines
    _cupy = None

# ---------------------------------------------------------------------------
# dtypes: nabla's dtypes *are* NumPy dtypes, so promotion follows NumPy.
float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
#: bfloat16 (8 exponent bits, 7 mantissa bits) is ml_dtypes' NumPy extension dtype, the
#: one CuPy uses too. NumPy counts it as kind "V", not a float: a test for floats asks
#: ``dtype_kind`` or ``is_floating`` rather than ``dtype.kind`` (tests for integer or bool
#: kinds, ``dtype.kind in "iub"``, are right as they are), and ``finfo``, not ``np.finfo``.
bfloat16 = np.dtype(_ml_dtypes.bfloat16)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)

_DTYPE_NAMES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "uint8": uint8,
    "int16": int16, "int32": int32, "int": int32, "int64": int64, "long": int64,
    "bool": bool_, "bfloat16": bfloat16, "complex64": complex64, "cfloat": complex64,
    "complex128": complex128, "cdouble": complex128,
}

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    global _default_dtype
    d = as_dtype(dtype)
    if not is_floating(d):
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def as_dtype(dtype) -> np.dtype:
    """Normalise ``dtype`` (a nabla/NumPy dtype, a name or a Python type)."""
    if dtype is None:
        return _default_dtype
    if isinstance(dtype, str):
        try:
            return _DTYPE_NAMES[dtype.replace("nabla.", "")]
        except KeyError:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}") from None
    if dtype is _builtins.float:
        return _default_dtype
    if dtype is _builtins.int:
        return int64
    if dtype is _builtins.bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def dtype_kind(dtype: np.dtype) -> str:
    """NumPy's kind letter of ``dtype`` ("f", "i", "u", "b", ...), with bfloat16 a float."""
    kind = dtype.kind
    return "f" if kind == "V" and dtype == bfloat16 else kind


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f" or dtype == bfloat16


def complex_dtype(dtype: np.dtype) -> np.dtype:
    """The complex dtype whose parts have ``dtype``'s precision: complex128 for float64,
    complex64 for the narrower floats (nabla has no complex32); a complex dtype itself."""
    if dtype.kind == "c":
        return dtype
    return complex128 if dtype.itemsize >= 8 else complex64


def finfo(dtype=None):
    """Machine limits of a floating dtype (``torch.finfo``): ``eps``, ``max``, ``min``,
    ``tiny``, ``bits``, ``resolution``; bfloat16 included. The default dtype by default."""
    d = as_dtype(dtype)
    if not is_floating(d):
        raise TypeError(f"finfo: expected a floating dtype, got {dtype_name(d)}; use iinfo")
    return _ml_dtypes.finfo(d) if d == bfloat16 else np.finfo(d)


def iinfo(dtype):
    """Machine limits of an integer dtype (``torch.iinfo``): ``min``, ``max``, ``bits``."""
    d = as_dtype(dtype)
    if d.kind not in "iu":
        raise TypeError(f"iinfo: expected an integer dtype, got {dtype_name(d)}; use finfo")
    return np.iinfo(d)


def promote_types(*dtypes) -> np.dtype:
    """The common dtype of floating or integer ``dtypes`` (NumPy's rule), except that
    bfloat16 and float16, which NumPy cannot combine, give float32 as in PyTorch."""
    dts = [np.dtype(d) for d in dtypes]
    if bfloat16 in dts and float16 in dts:
        dts = [float32 if d in (bfloat16, float16) else d for d in dts]
    return np.result_type(*dts)


def dtype_name(dtype: np.dtype) -> str:
    return "bool" if dtype == bool_ else dtype.name


# ---------------------------------------------------------------------------
# devices
class Device:
    """A place arrays live: ``Device("cpu")`` or ``Device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        spec = str(spec)
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        self.type = kind
        self.index = _builtins.int(idx) if idx else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    @property
    def xp(self):
        if self.type == "cpu":
            return np
        if _cupy is None:
            raise RuntimeError(
                f"device {self}: CuPy is not installed; install nabla[gpu] to use CUDA devices")
        return _cupy

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and self.type == other.type and (
            self.type == "cpu" or self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + ("" if self.type == "cpu" else f", index={self.index}") + ")"


CPU = Device("cpu")


def device(spec="cpu") -> Device:
    return spec if isinstance(spec, Device) else Device(spec)


def device_of(array) -> Device:
    if isinstance(array, np.ndarray) or _cupy is None:
        return CPU
    if isinstance(array, _cupy.ndarray):
        return Device("cuda", array.device.id)
    return CPU


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the arrays (NumPy when none is CuPy)."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def cuda_is_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def to_device(array, dev: Device):
    """Move ``array`` to ``dev`` (a no-op when it is already there)."""
    if dev.type == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return np.asarray(array)
    xp = dev.xp
    with xp.cuda.Device(dev.index):
        return xp.asarray(array)


def matmul(xp, a, b, out=None):
    """``a @ b`` for arrays (into ``out`` when given). float16 and bfloat16 operands on the
    CPU run as a float32 BLAS product rounded once to their dtype: NumPy has no GEMM for
    either (its loops are hundreds of times slower), and float32 accumulation of 16-bit
    inputs is what GPU tensor cores (and PyTorch's CPU kernels) do."""
    if xp is np and a.dtype.char in "eE" and b.dtype == a.dtype:
        product = np.matmul(a.astype(np.float32), b.astype(np.float32))
        if out is None:
            return product.astype(a.dtype)
        out[...] = product
        return out
    return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)


def einsum(xp, equation: str, *arrays, **kwargs):
    """``xp.einsum`` with 16-bit float operands on the CPU computed in float32 and rounded
    once (NumPy's einsum rejects bfloat16 and accumulates float16 in float16)."""
    if xp is np and any(a.dtype.char in "eE" for a in arrays):
        dtype = promote_types(*(a.dtype for a in arrays))
        result = np.einsum(equation, *(a.astype(np.float32) for a in arrays), **kwargs)
        return result.astype(dtype)
    return xp.einsum(equation, *arrays, **kwargs)


def pin_memory(array):
    """A copy of the NumPy ``array`` in page-locked (pinned) host memory, from which CuPy
    copies to the GPU asynchronously; needs CuPy and a GPU."""
    if not cuda_is_available():
        raise RuntimeError("pin_memory: CUDA is not available (no CuPy or no GPU); pinned "
                           "host memory is only for copies to a GPU")
    import cupyx  # type: ignore

    out = cupyx.empty_pinned(array.shape, dtype=array.dtype)
    out[...] = array
    return out


def is_pinned(array) -> bool:
    """Whether the NumPy ``array`` lives in page-locked host memory."""
    if not cuda_is_available() or not isinstance(array, np.ndarray) or array.size == 0:
        return False
    try:
        attrs = _cupy.cuda.runtime.pointerGetAttributes(array.ctypes.array)
    except Exception:
        return False
    return int(attrs.type) == 1  # cudaMemoryTypeHost


def scipy_special(xp):
    """scipy.special or cupyx.scipy.special for the given array module."""
    if xp is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special  # type: ignore
    return cupyx.scipy.special


# ---------------------------------------------------------------------------
# CPU memory: keep freed blocks for reuse
#
# Activations and gradients are large, short-lived arrays allocated afresh every
# step. glibc hands blocks above a threshold straight back to the OS on free, so
# the next step page-faults all of them in again: measured on a LeNet conv layer,
# forward+backward took 7.6 ms instead of 2.3 ms. Like PyTorch's caching
# allocator, nabla asks glibc to keep freed memory (blocks up to 32 MiB come from
# the heap, which is not trimmed below 1 GiB of free space). Peak memory is
# unchanged; memory is returned when the process ends. NABLA_MALLOC_TUNING=0
# leaves the C allocator alone.
def _tune_malloc() -> bool:
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux") or _os.environ.get("NABLA_MALLOC_TUNING") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20)
        ok &= libc.mallopt(m_trim_threshold, 1 << 30)
        ok &= libc.mallopt(m_top_pad, 64 << 20)
        return bool(ok)
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


import os as _os  # noqa: E402

MALLOC_TUNED = _tune_malloc()


# ---------------------------------------------------------------------------
# CPU threads for large elementwise work
#
# NumPy runs a ufunc on one core, PyTorch on all of them. NumPy releases the GIL
# inside ufunc loops, so a large elementwise op split into contiguous chunks
# runs on several threads; below PARALLEL_MIN_SIZE elements the hand-off costs
# more than it gains.
from concurrent.futures import ThreadPoolExecutor as _ThreadPoolExecutor  # noqa: E402

PARALLEL_MIN_SIZE = 1 << 20
_num_threads = min(4, len(_os.sched_getaffinity(0)) if hasattr(_os, "sched_getaffinity")
                   else (_os.cpu_count() or 1))
_pool = None
_pool_pid = None


def set_num_threads(n: int) -> None:
    """The CPU threads nabla uses: its pool for large elementwise and row-wise ops, and
    BLAS (matmul, and the convolutions and linear layers built on it), which is limited
    through ``threadpoolctl``. Until this is called, BLAS keeps its own default."""
    global _num_threads, _pool
    if isinstance(n, _builtins.bool) or not isinstance(n, (_builtins.int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if _pool is not None:
        _pool.shutdown(wait=False)
    _num_threads, _pool = _builtins.int(n), None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return
    threadpool_limits(limits=_num_threads, user_api="blas")  # stays in force: no `with`


def get_num_threads() -> int:
    """The thread count ``set_num_threads`` last set (nabla's elementwise pool and BLAS)."""
    return _num_threads


def _thread_pool():
    global _pool, _pool_pid
    if _pool is None or _pool_pid != _os.getpid():  # a forked child needs its own pool
        _pool, _pool_pid = _ThreadPoolExecutor(max_workers=_num_threads - 1), _os.getpid()
    return _pool


ROWS_PARALLEL_MIN_SIZE = 1 << 18


def parallel_rows(xp, fn, n_rows: int, elements: int) -> list:
    """``[fn(start, stop), ...]`` over a split of ``range(n_rows)``: on CPU threads when
    the work (``elements`` in all) is large enough, else one call. For row-wise
    kernels made of several NumPy passes (layer norm), which release the GIL."""
    k = min(_num_threads, n_rows)
    if xp is not np or k < 2 or elements < ROWS_PARALLEL_MIN_SIZE:
        return [fn(0, n_rows)]
    bounds = [n_rows * i // k for i in range(k + 1)]
    pool = _thread_pool()
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
    first = fn(bounds[0], bounds[1])
    return [first] + [f.result() for f in futures]


_ONES: dict = {}


def ones_vector(xp, n: int, dtype):
    """A read-only vector of ``n`` ones, for sums written as GEMVs (``ones @ rows``):
    NumPy's are cached by (n, dtype), so hot paths do not allocate one per call."""
    if xp is not np:
        return xp.ones(n, dtype=dtype)
    key = (n, np.dtype(dtype))
    out = _ONES.get(key)
    if out is None:
        if len(_ONES) > 64:
            _ONES.clear()
        out = _ONES[key] = np.ones(n, dtype=dtype)
        out.flags.writeable = False
    return out


BLOCK_ELEMENTS = 1 << 18


def blockwise(xp, fn, n: int) -> None:
    """``fn(start, stop)`` over ``range(n)`` for an elementwise kernel made of several
    NumPy passes over flat arrays (GELU and its derivative): the range is split across
    the CPU threads, each walking its part in blocks of ``BLOCK_ELEMENTS``. One call on
    CuPy or for small ``n``."""
    if xp is not np or n <= BLOCK_ELEMENTS:
        fn(0, n)
        return

    def part(lo, hi):
        for s in range(lo, hi, BLOCK_ELEMENTS):
            fn(s, min(hi, s + BLOCK_ELEMENTS))

    parallel_rows(xp, part, n, n)


LAYOUT_MIN_SIZE = 1 << 12


def _common_layout(args: tuple, shape: tuple) -> tuple:
    """Operands of ``shape`` in one memory layout.

    A ufunc over a C-contiguous array and a same-shaped array in another layout
    (a channels-last convolution output seen as NCHW) cannot use its SIMD loops:
    measured 20x slower (1.2 ms against 0.06 ms for 300k elements) than copying
    the odd one out to C order first.
    """
    full = [a for a in args if type(a) is np.ndarray and a.shape == shape]
    if len(full) < 2:
        return args
    contiguous = [a.flags.c_contiguous for a in full]
    if all(contiguous) or not any(contiguous):
        return args
    return tuple(np.ascontiguousarray(a) if type(a) is np.ndarray and a.shape == shape
                 and not a.flags.c_contiguous else a for a in args)


def ufunc(xp, fn, *args):
    """``fn(*args)`` for a NumPy/CuPy ufunc: same-shaped NumPy operands are first
    brought to one memory layout, and large, equally shaped, C-contiguous ones
    are split across CPU threads."""
    if xp is not np:
        return fn(*args)
    shape = None
    for a in args:  # the common small case costs one size check per operand
        if type(a) is np.ndarray and a.size >= LAYOUT_MIN_SIZE:
            shape = a.shape
            break
    if shape is None:
        return fn(*args)
    args = _common_layout(args, shape)
    if _num_threads < 2 or math.prod(shape) < PARALLEL_MIN_SIZE:
        return fn(*args)
    for a in args:
        if type(a) is np.ndarray and a.ndim:
            if a.shape != shape or not a.flags.c_contiguous:
                return fn(*args)
        elif not isinstance(a, (_builtins.float, _builtins.int, np.generic, np.ndarray)):
            return fn(*args)
    out = np.empty(shape, dtype=fn(*[a.reshape(-1)[:1] if type(a) is np.ndarray and a.ndim
                                     else a for a in args]).dtype)
    flat = [a.reshape(-1) if type(a) is np.ndarray and a.ndim else a for a in args]
    out_flat = out.reshape(-1)
    n, k = out_flat.size, _num_threads
    bounds = [n * i // k for i in range(k + 1)]
    slices = [slice(bounds[i], bounds[i + 1]) for i in range(k)]

    def run(sl):
        fn(*[f[sl] if type(f) is np.ndarray and f.ndim else f for f in flat], out=out_flat[sl])

    futures = [_thread_pool().submit(run, sl) for sl in slices[1:]]
    run(slices[0])
    for f in futures:
        f.result()
    return out


# ---------------------------------------------------------------------------
# random streams
class Generator:
    """A seeded random stream; pass ``generator=`` to any random op.

    Wraps ``numpy.random.Generator`` (PCG64). On CUDA devices the numbers are
    drawn on the host and moved, so a seed gives the same numbers everywhere; the one
    exception is dropout on a GPU, whose masks come from a device kernel seeded by one
    draw from this stream (reproducible run to run, but not the CPU's masks).
    """

    def __init__(self, device="cpu"):
        self.device = Device(device)
        self._seed = 0
        self._rng = np.random.default_rng(0)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = _builtins.int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        s = _builtins.int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    @property
    def numpy(self) -> np.random.Generator:
        return self._rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: every random op becomes reproducible."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)
