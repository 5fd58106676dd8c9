"""``nabla.fft``: PyTorch's ``torch.fft`` -- discrete Fourier transforms.

Three primitives carry the derivative rules, each forward one ``xp.fft`` call
(NumPy or CuPy):

    _FFTN    complex -> complex   fftn / ifftn
    _RFFTN   real    -> complex   rfftn (the last dim keeps n // 2 + 1 bins)
    _IRFFTN  complex -> real      irfftn

Every public transform (fft, fft2, rfft, hfft, ...) is one of them with its
dims, sizes and norm resolved. The transforms are linear, so a jvp is the op on
the tangent, and a vjp is the adjoint transform with the swapped norm
("backward" <-> "forward"). Gradients follow PyTorch's convention for complex
tensors: for a real loss L, the gradient of z is dL/dRe(z) + i dL/dIm(z); a
real input gets the real part (see ``nabla/ops/complex.py``).

The complex helpers ``real``, ``imag``, ``conj``, ``abs``, ``angle``,
``view_as_real``, ``view_as_complex`` and ``complex`` are re-exported here from
``nabla.ops.complex`` (they are also ``nabla.real``, ``z.real``, ``z.abs()``, ...).
"""
from __future__ import annotations

import numpy as np

from .autograd.function import Function
from .backend import complex_dtype, dtype_kind, get_array_module, get_default_dtype
from .ops.complex import (angle, complex, conj, imag, real, view_as_complex,  # noqa: A004
                          view_as_real)
from .ops.creation import arange
from .ops.shape import cat, pad, roll
from .tensor import Tensor

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn",
           "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn", "hfft", "ihfft",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift",
           "real", "imag", "conj", "abs", "angle", "view_as_real", "view_as_complex", "complex"]

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _is_complex(t: Tensor) -> bool:
    return t.array.dtype.kind == "c"


def _complex_dtype(dtype) -> np.dtype:
    return complex_dtype(np.dtype(dtype))


# -- the primitives ---------------------------------------------------------------------------
class _FFTN(Function):
    """Complex n-d DFT (``inverse``: the inverse DFT) over ``dims``, the input first
    zero-padded or cropped to sizes ``s``."""

    def forward(self, x, dims, s, norm, inverse):
        self.params = dict(dims=dims, s=s, norm=norm, inverse=inverse)
        f = self.xp.fft.ifftn if inverse else self.xp.fft.fftn
        return f(x, s=s, axes=dims, norm=norm)

    def vjp(self, g):
        p, x = self.params, self.inputs[0]
        gx = _FFTN.apply(g, dims=p["dims"], s=None, norm=_SWAP[p["norm"]],
                         inverse=not p["inverse"])
        gx = _resize(gx, p["dims"], [x.shape[d] for d in p["dims"]])
        return gx if _is_complex(x) else real(gx)

    def jvp(self, t):
        return _FFTN.apply(t, **self.params)


class _RFFTN(Function):
    """Real-input n-d DFT over ``dims``: the last of them keeps bins 0 .. s[-1] // 2."""

    def forward(self, x, dims, s, norm):
        self.params = dict(dims=dims, s=s, norm=norm)
        return self.xp.fft.rfftn(x, s=s, axes=dims, norm=norm)

    def vjp(self, g):
        # The adjoint of keeping half the spectrum of a real signal, in real arithmetic,
        # is irfft of g with its interior bins halved (irfft counts each of them twice).
        p, x = self.params, self.inputs[0]
        n = p["s"][-1]
        h = g * _bin_weights(g, p["dims"][-1], n, 0.5)
        gx = _IRFFTN.apply(h, dims=p["dims"], s=p["s"], norm=_SWAP[p["norm"]])
        return _resize(gx, p["dims"], [x.shape[d] for d in p["dims"]])

    def jvp(self, t):
        return _RFFTN.apply(t, **self.params)


class _IRFFTN(Function):
    """Inverse of ``_RFFTN``: a real output of sizes ``s`` over ``dims`` from the
    half spectrum (the imaginary parts of the self-conjugate bins are ignored)."""

    def forward(self, z, dims, s, norm):
        self.params = dict(dims=dims, s=s, norm=norm)
        return self.xp.fft.irfftn(z, s=s, axes=dims, norm=norm)

    def vjp(self, g):
        # Each interior bin enters the output twice (as itself and its conjugate).
        p, z = self.params, self.inputs[0]
        gz = _RFFTN.apply(g, dims=p["dims"], s=p["s"], norm=_SWAP[p["norm"]])
        gz = gz * _bin_weights(gz, p["dims"][-1], p["s"][-1], 2.0)
        gz = _resize(gz, p["dims"], [z.shape[d] for d in p["dims"]])
        return gz if _is_complex(z) else real(gz)

    def jvp(self, t):
        return _IRFFTN.apply(t, **self.params)


def _bin_weights(like: Tensor, dim: int, n: int, interior: float) -> Tensor:
    """``interior`` for bins 1 .. (n - 1) // 2 of the n // 2 + 1 along ``dim``, 1
    for bin 0 and the Nyquist bin; shaped to broadcast against ``like``."""
    xp = get_array_module(like.array)
    w = np.ones(n // 2 + 1)
    w[1:(n - 1) // 2 + 1] = interior
    shape = [1] * like.ndim
    shape[dim] = w.size
    return Tensor._wrap(xp.asarray(w.reshape(shape), dtype=like.array.dtype))


def _resize(t: Tensor, dims, sizes) -> Tensor:
    """``t`` zero-padded or cropped at the end of each of ``dims`` to ``sizes``."""
    if all(t.shape[d] == n for d, n in zip(dims, sizes)):
        return t
    widths = dict(zip(dims, sizes))
    first = min(dims)
    spec = []
    for d in range(t.ndim - 1, first - 1, -1):  # pad() lists the last dimension first
        spec += [0, widths[d] - t.shape[d] if d in widths else 0]
    return pad(t, spec)


# -- argument handling --------------------------------------------------------------------------
def _check_norm(op: str, norm) -> str:
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise ValueError(f"fft.{op}: norm must be one of None, 'backward', 'ortho', 'forward'; "
                         f"got {norm!r}")
    return norm


def _as_floating(op: str, t: Tensor) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"fft.{op}: expected a Tensor, got {type(t).__name__}")
    if dtype_kind(t.array.dtype) in "fc":
        return t
    return t.to(get_default_dtype())  # integers and bools, as PyTorch promotes them


def _resolve(op: str, x: Tensor, s, dim, n_dims=None):
    """Normalised (dims, s) with -1 / None sizes taken from ``x``."""
    ndim = x.ndim
    if dim is None:
        dim = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    elif isinstance(dim, int):
        dim = (dim,)
    dims = []
    for d in dim:
        if not -ndim <= d < ndim or ndim == 0:
            raise IndexError(f"fft.{op}: dim {d} is out of range for a tensor of shape "
                             f"{tuple(x.shape)}")
        dims.append(d % ndim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"fft.{op}: dims must be unique, got {tuple(dim)}")
    if n_dims is not None and len(dims) != n_dims:
        raise RuntimeError(f"fft.{op}: expected {n_dims} dim(s), got {tuple(dim)}")
    if s is None:
        s = [x.shape[d] for d in dims]
    else:
        s = list(s)
        if len(s) != len(dims):
            raise RuntimeError(f"fft.{op}: s has {len(s)} sizes but dim has {len(dims)}: "
                               f"s={tuple(s)}, dim={tuple(dim)}")
        s = [x.shape[d] if n is None or n == -1 else int(n) for d, n in zip(dims, s)]
    return tuple(dims), s


def _check_sizes(op: str, s, what: str = "size") -> None:
    for n in s:
        if n < 1:
            raise RuntimeError(f"fft.{op}: invalid number of data points ({n}) specified; "
                               f"each {what} must be at least 1")


def _c2c(op: str, input, s, dim, norm, inverse, n_dims=None) -> Tensor:
    x = _as_floating(op, input)
    dims, s = _resolve(op, x, s, dim, n_dims)
    _check_sizes(op, s)
    if not dims:
        return x.to(_complex_dtype(x.dtype)) if not _is_complex(x) else x
    return _FFTN.apply(x, dims=dims, s=tuple(s), norm=_check_norm(op, norm), inverse=inverse)


def _r2c(op: str, input, s, dim, norm, n_dims=None) -> Tensor:
    x = _as_floating(op, input)
    if _is_complex(x):
        raise RuntimeError(f"fft.{op}: expects a real input tensor, got dtype {x.dtype}")
    dims, s = _resolve(op, x, s, dim, n_dims)
    _check_sizes(op, s)
    if not dims:
        raise RuntimeError(f"fft.{op}: needs at least one dim to transform")
    return _RFFTN.apply(x, dims=dims, s=tuple(s), norm=_check_norm(op, norm))


def _c2r(op: str, input, s, dim, norm, n_dims=None) -> Tensor:
    x = _as_floating(op, input)
    default_last = s is None or s[-1] is None or s[-1] == -1
    dims, s = _resolve(op, x, s, dim, n_dims)
    if not dims:
        raise RuntimeError(f"fft.{op}: needs at least one dim to transform")
    if default_last:  # PyTorch's default output length along the last dim: 2 (m - 1)
        s[-1] = 2 * (x.shape[dims[-1]] - 1)
    _check_sizes(op, s, "output size")
    if not _is_complex(x):
        x = x.to(_complex_dtype(x.dtype))
    return _IRFFTN.apply(x, dims=dims, s=tuple(s), norm=_check_norm(op, norm))


# -- the public transforms ---------------------------------------------------------------------
def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """1-D DFT along ``dim``, the input padded/cropped to ``n``; complex output."""
    return _c2c("fft", input, None if n is None else (n,), dim, norm, False)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """1-D inverse DFT along ``dim``; complex output."""
    return _c2c("ifft", input, None if n is None else (n,), dim, norm, True)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """2-D DFT over ``dim`` (default the last two)."""
    return _c2c("fft2", input, s, dim, norm, False)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """2-D inverse DFT over ``dim`` (default the last two)."""
    return _c2c("ifft2", input, s, dim, norm, True)


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """N-D DFT over ``dim`` (default: the last len(s) dims, or all of them)."""
    return _c2c("fftn", input, s, dim, norm, False)


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """N-D inverse DFT over ``dim``."""
    return _c2c("ifftn", input, s, dim, norm, True)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """1-D DFT of a real input: (..., n, ...) -> (..., n // 2 + 1, ...) complex."""
    return _r2c("rfft", input, None if n is None else (n,), dim, norm)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Inverse of ``rfft``: (..., m, ...) complex -> (..., n, ...) real, n = 2 (m - 1)
    by default."""
    return _c2r("irfft", input, None if n is None else (n,), dim, norm)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """2-D DFT of a real input; the last of ``dim`` is halved."""
    return _r2c("rfft2", input, s, dim, norm)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Inverse of ``rfft2``; real output."""
    return _c2r("irfft2", input, s, dim, norm)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """N-D DFT of a real input; the last of ``dim`` is halved."""
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Inverse of ``rfftn``; real output."""
    return _c2r("irfftn", input, s, dim, norm)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """DFT of a Hermitian-symmetric signal given by its first half: real output of
    length n = 2 (m - 1) by default."""
    norm = _check_norm("hfft", norm)
    x = _as_floating("hfft", input)
    return _c2r("hfft", conj(x) if _is_complex(x) else x,
                     None if n is None else (n,), dim, _SWAP[norm])


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Inverse of ``hfft``: a real input to the first n // 2 + 1 bins of its
    inverse DFT."""
    norm = _check_norm("ihfft", norm)
    return conj(_r2c("ihfft", input, None if n is None else (n,), dim, _SWAP[norm]))


# -- frequencies and shifts --------------------------------------------------------------------
def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Sample frequencies of an n-point DFT: [0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n)."""
    if n < 1:
        raise RuntimeError(f"fft.fftfreq: n must be at least 1, got {n}")
    dtype = get_default_dtype() if dtype is None else dtype
    k = cat([arange(0, (n - 1) // 2 + 1, dtype=dtype, device=device),
             arange(-(n // 2), 0, dtype=dtype, device=device)])
    out = (k * (1.0 / (d * n))).to(dtype)
    return out.requires_grad_(True) if requires_grad else out


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """Sample frequencies of ``rfft`` of n points: [0, 1, ..., n // 2] / (d n)."""
    if n < 1:
        raise RuntimeError(f"fft.rfftfreq: n must be at least 1, got {n}")
    dtype = get_default_dtype() if dtype is None else dtype
    out = (arange(0, n // 2 + 1, dtype=dtype, device=device) * (1.0 / (d * n))).to(dtype)
    return out.requires_grad_(True) if requires_grad else out


def _shift(op: str, input: Tensor, dim, sign: int) -> Tensor:
    dims = tuple(range(input.ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not -input.ndim <= d < input.ndim:
            raise IndexError(f"fft.{op}: dim {d} is out of range for a tensor of shape "
                             f"{tuple(input.shape)}")
    if not dims:
        return input
    shifts = tuple(sign * (input.shape[d] // 2) for d in dims)
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero-frequency bin to the centre of each of ``dim`` (default all)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Inverse of ``fftshift``."""
    return _shift("ifftshift", input, dim, -1)


# -- complex helpers ---------------------------------------------------------------------------
# torch.fft has none of these; nabla.fft keeps them (they are nabla.real, nabla.imag, ... and
# the Tensor methods of the same names) for the code written when only this module had them.
# (imported at the top from nabla.ops.complex: real, imag, conj, angle, complex,
# view_as_real, view_as_complex)


def abs(input: Tensor) -> Tensor:  # noqa: A001  (PyTorch's name)
    """|input|; for a complex input a real tensor, with PyTorch's gradient (``nabla.abs``)."""
    return input.abs()
