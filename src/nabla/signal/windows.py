"""``nabla.signal.windows``: PyTorch's ``torch.signal.windows`` -- tapering windows.

Every window is a 1-D tensor of ``M`` samples. ``sym=True`` (the default) gives
the symmetric window of filter design, whose samples span a full period of
``M - 1`` steps; ``sym=False`` the periodic one of spectral analysis (the first
``M`` samples of the symmetric window of ``M + 1``), the kind ``nabla.stft``
wants. The values are computed in float64 with NumPy and then cast, so the
float32 windows are the float64 ones rounded once.

The windows are constants: they carry no graph, but ``requires_grad=True`` makes
the result a leaf (for learning a window, say).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import backend
from ..ops.creation import tensor
from ..tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)
_BLACKMAN = (0.42, 0.5, 0.08)


# -- the formulas, on float64 NumPy arrays (shared with nabla.hann_window & co.) --------------
def _period(M: int, sym: bool) -> int:
    """The number of steps that make one period: M - 1 (symmetric) or M (periodic)."""
    return M - 1 if sym else M


def cosine_sum(M: int, coefficients, sym: bool) -> np.ndarray:
    """sum_i (-1)^i a_i cos(2 pi i n / period), n = 0 .. M - 1 (hann, hamming, blackman, ...)."""
    if M <= 1:
        return np.ones(M)
    phase = 2 * np.pi * np.arange(M) / _period(M, sym)
    out = np.zeros(M)
    for i, a in enumerate(coefficients):
        out += (-1) ** i * a * np.cos(i * phase)
    return out


def triangle(M: int, sym: bool) -> np.ndarray:
    """Bartlett: 1 - |2n / period - 1|."""
    if M <= 1:
        return np.ones(M)
    return 1 - np.abs(2 * np.arange(M) / _period(M, sym) - 1)


def kaiser_values(M: int, beta: float, sym: bool) -> np.ndarray:
    """I0(beta sqrt(1 - (2n / period - 1)^2)) / I0(beta)."""
    if M <= 1:
        return np.ones(M)
    r = np.minimum(2 * np.arange(M) / _period(M, sym) - 1, 1.0)  # in [-1, 1]
    return np.i0(beta * np.sqrt(np.maximum(1 - r * r, 0.0))) / np.i0(beta)


def finish(values: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    """The float64 ``values`` as a tensor of ``dtype`` (already checked) on ``device``."""
    return tensor(values.astype(dtype), device=device, requires_grad=requires_grad)


# -- torch.signal.windows -----------------------------------------------------------------------
def _check(name: str, M: int, dtype) -> np.dtype:
    """The dtype to build (default float), after PyTorch's checks on ``M`` and ``dtype``."""
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    dt = backend.as_dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    return dt


def _shift(M: int, sym: bool) -> float:
    """Where the peak sits for the windows built around a center: (M - 1) / 2 when
    symmetric, M / 2 when periodic (a one-sample window stays at 0)."""
    return (M if not sym and M > 1 else M - 1) / 2.0


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """sum_i (-1)^i a[i] cos(2 pi i n / (M - 1)) for n = 0 .. M - 1 (M when ``sym=False``).

    Example: ``general_cosine(M, a=[0.5, 0.5])`` is the Hann window.
    """
    dt = _check("general_cosine", M, dtype)
    if M > 1:
        if not isinstance(a, Iterable):
            raise TypeError(f"general_cosine: coefficients a must be a list or tuple, got "
                            f"{type(a).__name__}")
        a = list(a)
        if not a:
            raise ValueError("general_cosine: coefficients a cannot be empty")
    return finish(cosine_sum(M, a, sym), dt, device, requires_grad)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """alpha - (1 - alpha) cos(2 pi n / (M - 1)); alpha = 0.54 is Hamming's, 0.5 Hann's."""
    dt = _check("general_hamming", M, dtype)
    return finish(cosine_sum(M, (alpha, 1.0 - alpha), sym), dt, device, requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """0.54 - 0.46 cos(2 pi n / (M - 1))."""
    dt = _check("hamming", M, dtype)
    return finish(cosine_sum(M, (0.54, 0.46), sym), dt, device, requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / (M - 1)) = sin^2(pi n / (M - 1))."""
    dt = _check("hann", M, dtype)
    return finish(cosine_sum(M, (0.5, 0.5), sym), dt, device, requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))."""
    dt = _check("blackman", M, dtype)
    return finish(cosine_sum(M, _BLACKMAN, sym), dt, device, requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Nuttall's minimum 4-term Blackman-Harris window (a cosine sum)."""
    dt = _check("nuttall", M, dtype)
    return finish(cosine_sum(M, _NUTTALL, sym), dt, device, requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The triangle 1 - |2n / (M - 1) - 1|, zero at both ends."""
    dt = _check("bartlett", M, dtype)
    return finish(triangle(M, sym), dt, device, requires_grad)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta); larger beta, narrower window."""
    dt = _check("kaiser", M, dtype)
    if beta < 0:
        raise ValueError(f"kaiser: beta must be non-negative, got: {beta} instead.")
    return finish(kaiser_values(M, beta, sym), dt, device, requires_grad)


def cosine(M: int, *, sym: bool = True, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """sin(pi (n + 1/2) / M): half a sine period, never exactly zero."""
    dt = _check("cosine", M, dtype)
    span = M + 1 if not sym and M > 1 else M
    return finish(np.sin(np.pi * (np.arange(M) + 0.5) / max(span, 1)), dt, device,
                  requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """exp(-|n - center| / tau); ``center`` (periodic windows only) defaults to the middle."""
    dt = _check("exponential", M, dtype)
    if tau <= 0:
        raise ValueError(f"exponential: tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("exponential: center must be None for symmetric windows (sym=True)")
    if center is None:
        center = _shift(M, sym)
    return finish(np.exp(-np.abs(np.arange(M) - center) / tau), dt, device, requires_grad)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """exp(-(n - mid)^2 / (2 std^2)), mid the middle of the window."""
    dt = _check("gaussian", M, dtype)
    if std <= 0:
        raise ValueError(f"gaussian: standard deviation std must be positive, got: {std} "
                         f"instead.")
    k = (np.arange(M) - _shift(M, sym)) / (std * np.sqrt(2))
    return finish(np.exp(-k * k), dt, device, requires_grad)
