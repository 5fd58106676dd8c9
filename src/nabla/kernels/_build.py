"""How the kernels are put together, compiled and launched.

The CUDA source is one string: :data:`HEADER` (compile-mode macros, float/double
overloads of the math functions, and the GPU-side helpers every kernel family uses:
grid-stride loops, the float16 accumulator type and a block reduction), then the
fragments the kernel families :func:`register` at import, in import order. Inside a
fragment, per-element math is written as ``NB_FN`` functions outside ``#ifdef NB_GPU``,
so that it also compiles as plain C++ for the host tests; kernels sit inside it.

The whole source is compiled once per device by CuPy's ``RawModule`` (NVRTC), every
kernel in float and double, and a second module holds the kernels that also come in
float16 (math in float). A module that fails to build warns once and leaves the ops in
their composed form.
"""
from __future__ import annotations

import numpy as np

from .. import backend

HEADER = r"""
#if defined(__CUDACC__) || defined(__CUDACC_RTC__) || defined(NB_EMU)
#define NB_FN __device__ __forceinline__
#define NB_GPU 1
#else
#include <math.h>
#define NB_FN static inline
#endif

/* ---- overloads, so that one template serves float and double ---------------------- */
NB_FN float nb_tanh(float x) { return tanhf(x); }
NB_FN double nb_tanh(double x) { return tanh(x); }
NB_FN float nb_exp(float x) { return expf(x); }
NB_FN double nb_exp(double x) { return exp(x); }
NB_FN float nb_log(float x) { return logf(x); }
NB_FN double nb_log(double x) { return log(x); }
NB_FN float nb_erf(float x) { return erff(x); }
NB_FN double nb_erf(double x) { return erf(x); }
NB_FN float nb_sqrt(float x) { return sqrtf(x); }
NB_FN double nb_sqrt(double x) { return sqrt(x); }
NB_FN float nb_max(float a, float b) { return fmaxf(a, b); }
NB_FN double nb_max(double a, double b) { return fmax(a, b); }

#ifdef NB_GPU
/* ---- grid-stride loops over n elements ------------------------------------------------ */
#define NB_FOR_EACH(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

/* the type the math runs in: float for half storage, else the storage type itself */
template <typename T> struct Acc { typedef T type; };
#ifdef NB_HALF
template <> struct Acc<__half> { typedef float type; };
#endif

template <typename T> __device__ __forceinline__ T nb_neg_inf();
template <> __device__ __forceinline__ float nb_neg_inf<float>() {
    return -__int_as_float(0x7f800000);
}
template <> __device__ __forceinline__ double nb_neg_inf<double>() {
    return -__longlong_as_double(0x7ff0000000000000LL);
}

/* the block's total (is_max: maximum) of one value per thread, returned to every thread;
   blockDim.x a multiple of 32, at most 1024 */
template <typename T>
__device__ T block_reduce(T v, bool is_max) {
    __shared__ T partial[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        T other = __shfl_down_sync(0xffffffffu, v, o);
        v = is_max ? nb_max(v, other) : v + other;
    }
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T w = lane < warps ? partial[lane] : (is_max ? nb_neg_inf<T>() : T(0));
        for (int o = 16; o > 0; o >>= 1) {
            T other = __shfl_down_sync(0xffffffffu, w, o);
            w = is_max ? nb_max(w, other) : w + other;
        }
        if (lane == 0) partial[0] = w;
    }
    __syncthreads();
    T total = partial[0];
    __syncthreads();                             /* partial is free for the next call */
    return total;
}
#endif
"""

_fragments: list = []   # the registered sources, in import order
FAMILY: dict = {}        # kernel name -> the source fragment that defines it
KERNELS: list = []      # every kernel, compiled for float and double
HALF_KERNELS: list = []  # those also compiled for float16

#: what the float16 module is compiled after: half storage and the tensor-core (WMMA) API
HALF_PREFIX = "#define NB_HALF 1\n#include <cuda_fp16.h>\n#include <mma.h>\n"
_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_HALF = np.dtype(np.float16)
THREADS = 256
_MAX_BLOCKS = 65535 * 4
_modules: dict = {}  # (device, half) -> RawModule, or None where it failed to build


def register(source: str, names, half=(), half_only=()) -> None:
    """Add a kernel family: its source and the names of its kernels, compiled for float and
    double (``half``: those also compiled for float16; ``half_only``: kernels that exist
    in float16 alone, such as the tensor-core ones, inside ``#ifdef NB_HALF``)."""
    _fragments.append(source)
    FAMILY.update(dict.fromkeys([*names, *half_only], source))
    KERNELS.extend(names)
    HALF_KERNELS.extend([*half, *half_only])


def source() -> str:
    return HEADER + "".join(_fragments)


def enabled() -> bool:
    from ..backends import cuda
    return cuda.fused_kernels


def usable(*arrays, half: bool = False) -> bool:
    """Whether the kernels take these arrays: CuPy arrays of one dtype, float32 or float64
    (or float16 where ``half``, for the kernels that come in float16), with the switch on
    and the kernels built for the current device."""
    cp = backend._cupy
    if cp is None or not enabled():
        return False
    dtype = arrays[0].dtype
    if not (dtype in _CTYPES or (half and dtype == _HALF)):
        return False
    if not all(isinstance(a, cp.ndarray) and a.dtype == dtype for a in arrays):
        return False
    return _module(dtype == _HALF) is not None


def _module(half: bool):
    """The compiled kernels (``half``: the float16 ones) for the current device, built by
    NVRTC on first use; None, after one warning, where the build fails."""
    cp = backend._cupy
    key = (cp.cuda.Device().id, half)
    if key not in _modules:
        if half:
            code = HALF_PREFIX + source()
            expressions = [f"{k}<__half>" for k in HALF_KERNELS]
        else:
            code = source()
            expressions = [f"{k}<{t}>" for k in KERNELS for t in _CTYPES.values()]
        try:
            module = cp.RawModule(code=code, options=("--std=c++14",),
                                  name_expressions=expressions)
            module.get_function(expressions[0])  # compiles the whole module now
        except Exception as err:  # noqa: BLE001  (NVRTC and driver errors have many types)
            import warnings
            warnings.warn(f"nabla.kernels: the fused CUDA kernels{' (float16)' if half else ''} "
                          f"failed to build ({type(err).__name__}: {err}); the ops use their "
                          f"composed CuPy form", RuntimeWarning, stacklevel=3)
            module = None
        _modules[key] = module
    return _modules[key]


def function(name: str, dtype):
    """The compiled ``name<T>`` for the current device."""
    half = np.dtype(dtype) == _HALF
    ctype = "__half" if half else _CTYPES[np.dtype(dtype)]
    return _module(half).get_function(f"{name}<{ctype}>")


def cupy():
    return backend._cupy


def acc_dtype(dtype) -> np.dtype:
    """The dtype of a kernel's ``Acc<T>``: float32 for float16, else ``dtype`` itself."""
    return np.dtype(np.float32) if np.dtype(dtype) == _HALF else np.dtype(dtype)


def address(a) -> int:
    """The device (CuPy) or host (NumPy, under the tests' emulator) address of ``a``'s data."""
    data = a.data
    return data.ptr if hasattr(data, "ptr") else a.ctypes.data


def flat(a):
    return backend._cupy.ascontiguousarray(a).reshape(-1)


def rows(a):
    """``a`` as C-contiguous rows (R, last axis); a scalar as one row of one."""
    a = backend._cupy.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def strided4(a):
    """A 4-D array (N, C, H, W) as (a C-contiguous array holding it, its element strides
    (n, c, h, w) in that array): itself, or its channels-last (N, H, W, C) buffer, which a
    convolution's output is; otherwise a C-contiguous copy."""
    cp = backend._cupy
    if not a.flags.c_contiguous:
        nhwc = a.transpose(0, 2, 3, 1)
        if nhwc.flags.c_contiguous:
            n, h, w, c = nhwc.shape
            return nhwc, (h * w * c, 1, w * c, c)
        a = cp.ascontiguousarray(a)
    n, c, h, w = a.shape
    return a, (c * h * w, h * w, w, 1)


def narrow(*sizes) -> np.int32:
    """1 where every index into arrays of these sizes, a grid-stride step past the last
    included, fits in an int: the kernels that take this flag then do their index
    arithmetic (divisions above all) in 32 bits, else in 64."""
    return np.int32(max(sizes, default=0) + _MAX_BLOCKS * THREADS < 2 ** 31)


def elementwise(name: str, n: int, dtype, *args) -> None:
    """Launch an elementwise kernel over ``n`` elements (grid-stride, so any n fits)."""
    if n == 0:
        return
    blocks = min((n + THREADS - 1) // THREADS, _MAX_BLOCKS)
    function(name, dtype)((blocks,), (THREADS,), args)


def row_threads(cols: int) -> int:
    """Threads per row: one warp at least, 1024 at most, about one per element below."""
    return min(1024, max(32, (cols + 31) // 32 * 32))
