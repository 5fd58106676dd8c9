"""The short-time Fourier transform and its windows: ``stft``, ``istft``, ``hann_window``, ...

Both transforms are compositions of differentiable ops, so their gradients (and
gradients of gradients) come from the ops' own rules:

    stft:   pad the signal (``center``) -> frames by ``Tensor.unfold`` -> times the
            window, zero-padded to n_fft -> ``fft.rfft`` (``fft.fft`` when two-sided)
    istft:  ``fft.irfft`` (``fft.ifft``) of each frame -> times the window ->
            overlap-add by ``fold`` -> divided by the overlap-added squared window
            (the envelope) -> trimmed to the signal

Shapes: a signal (L,) or (B, L) gives a spectrogram (n_fft // 2 + 1, T) or
(B, n_fft // 2 + 1, T) (n_fft rows when two-sided), T the number of frames.
The window functions here are PyTorch's top-level ones (``periodic=True`` by
default, ready for ``stft``); ``nabla.signal.windows`` has the rest.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from .. import fft as _fft
from ..signal import windows as _windows
from ..tensor import Tensor
from .complex import complex, imag, real, view_as_real  # noqa: A004
from .conv import fold
from .creation import ones
from .shape import pad

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window", "stft", "istft"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


# -- window functions (torch.hann_window & co.) -------------------------------------------------
def _window_dtype(name: str, window_length: int, dtype) -> np.dtype:
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    dt = backend.as_dtype(dtype)
    if backend.dtype_kind(dt) != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    return dt


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / N), N = window_length (periodic) or window_length - 1."""
    dt = _window_dtype("hann_window", window_length, dtype)
    values = _windows.cosine_sum(window_length, (0.5, 0.5), not periodic)
    return _windows.finish(values, dt, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """alpha - beta cos(2 pi n / N), N = window_length (periodic) or window_length - 1."""
    dt = _window_dtype("hamming_window", window_length, dtype)
    values = _windows.cosine_sum(window_length, (alpha, beta), not periodic)
    return _windows.finish(values, dt, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)."""
    dt = _window_dtype("blackman_window", window_length, dtype)
    values = _windows.cosine_sum(window_length, (0.42, 0.5, 0.08), not periodic)
    return _windows.finish(values, dt, device, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """The triangle 1 - |2n / N - 1|."""
    dt = _window_dtype("bartlett_window", window_length, dtype)
    values = _windows.triangle(window_length, not periodic)
    return _windows.finish(values, dt, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  device=None, requires_grad: bool = False) -> Tensor:
    """I0(beta sqrt(1 - (2n / N - 1)^2)) / I0(beta), I0 the modified Bessel function."""
    dt = _window_dtype("kaiser_window", window_length, dtype)
    values = _windows.kaiser_values(window_length, beta, not periodic)
    return _windows.finish(values, dt, device, requires_grad)


# -- shared argument handling -------------------------------------------------------------------
def _is_complex(t: Tensor | None) -> bool:
    return t is not None and t.array.dtype.kind == "c"


def _frame_window(op: str, window: Tensor | None, n_fft: int, win_length: int,
                  like: Tensor) -> Tensor:
    """The window, checked to be (win_length,), zero-padded on both sides to (n_fft,);
    a rectangle of ones when ``window`` is None."""
    if window is None:
        window = ones(win_length, dtype=_real_dtype(like), device=like.device)
    elif not isinstance(window, Tensor):
        raise TypeError(f"{op}: window must be a Tensor or None, got {type(window).__name__}")
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{op}: expected a 1-D window of size win_length={win_length}, but "
                           f"got a window of shape {tuple(window.shape)}")
    left = (n_fft - win_length) // 2
    if win_length < n_fft:
        window = pad(window, (left, n_fft - win_length - left))
    return window


def _real_dtype(t: Tensor) -> np.dtype:
    dt = t.array.dtype
    return np.dtype(np.float64 if dt == np.complex128 else np.float32) if dt.kind == "c" else dt


def _lengths(op: str, n_fft: int, hop_length, win_length) -> tuple[int, int]:
    """(hop_length, win_length) with PyTorch's defaults (n_fft // 4, n_fft), checked."""
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)
    if hop <= 0:
        raise RuntimeError(f"{op}: expected hop_length > 0, but got hop_length={hop} "
                           f"(n_fft={n_fft})")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < win_length <= n_fft={n_fft}, but got "
                           f"win_length={win}")
    return hop, win


# -- stft ---------------------------------------------------------------------------------------
def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect",
         normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """Short-time Fourier transform: the DFT of windowed frames ``hop_length`` apart.

    input (L,) or (B, L), real or complex -> (F, T) or (B, F, T) complex, with
    F = n_fft // 2 + 1 (``onesided``, the default for a real input and window) or
    n_fft, and T = 1 + (L' - n_fft) // hop_length frames of the signal L' long
    after ``center`` padding (n_fft // 2 on each side, by ``pad_mode``). Frame t,
    column ``[..., t]``, is sum_n x[t * hop + n] w[n] e^{-2 pi i f n / n_fft}, the
    window w (win_length long, default all ones) zero-padded to n_fft centrally;
    ``normalized`` scales by 1 / sqrt(n_fft). ``return_complex`` must be given for
    a real input, as in PyTorch; False returns ``view_as_real`` of the result, (..., 2).
    ``align_to_window=True`` (only with ``center=False``) starts frame t's window,
    rather than its n_fft span, at sample t * hop.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"stft: expected a Tensor input, got {type(input).__name__}")
    if backend.dtype_kind(input.array.dtype) not in "fc":
        raise RuntimeError(f"stft: expected a tensor of floating point or complex values, got "
                           f"dtype {input.dtype}")
    complex_in = _is_complex(input) or _is_complex(window)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1-D (L,) or 2-D (B, L) input, got shape "
                           f"{tuple(input.shape)}")
    if center and align_to_window is not None:
        raise RuntimeError("stft: align_to_window should only be set when center=False")
    n_fft = int(n_fft)
    x = _center_pad(input, n_fft, pad_mode) if center and n_fft > 0 else input
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        padded = " padded" if center else ""
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length} (the length of the{padded} "
                           f"signal of shape {tuple(x.shape)}), but got n_fft={n_fft}")
    hop, win = _lengths("stft", n_fft, hop_length, win_length)
    if align_to_window and win < n_fft:  # shift the frames so each window starts at t * hop
        left = (n_fft - win) // 2
        x = pad(x, (left, n_fft - win - left))
    if onesided is None:
        onesided = not complex_in
    elif onesided and complex_in:
        raise RuntimeError("stft: cannot have a onesided output when the input or window is "
                           "complex; pass onesided=False")
    if window is None:
        warnings.warn("stft: a window was not provided, so a rectangular window is applied, "
                      "which causes spectral leakage; pass hann_window(win_length) or another "
                      "window (nabla.ones(win_length) to keep the rectangle silently)",
                      UserWarning, stacklevel=2)
    w = _frame_window("stft", window, n_fft, win, input)
    frames = x.unfold(-1, n_fft, hop) * w                        # (B?, T, n_fft)
    norm = "ortho" if normalized else "backward"
    spec = _fft.rfft(frames, norm=norm) if onesided else _fft.fft(frames, norm=norm)
    spec = spec.transpose(-1, -2)                                # (B?, F, T)
    if not return_complex:
        warnings.warn("stft: return_complex=False is deprecated (as in PyTorch); pass "
                      "return_complex=True and use view_as_real() for the (..., 2) layout",
                      UserWarning, stacklevel=2)
        return view_as_real(spec)
    return spec


def _center_pad(x: Tensor, n_fft: int, pad_mode: str) -> Tensor:
    """The signal padded by n_fft // 2 on each side of its last dimension."""
    if pad_mode not in _PAD_MODES:
        raise NotImplementedError(f"stft: unrecognised pad_mode {pad_mode!r}; expected one of "
                                  f"{', '.join(_PAD_MODES)}")
    p, n = n_fft // 2, x.shape[-1]
    if pad_mode in ("reflect", "circular") and p >= n + (pad_mode == "circular"):
        raise RuntimeError(f"stft: center=True with pad_mode={pad_mode!r} pads the signal by "
                           f"n_fft // 2 = {p} on each side, which must be less than the signal "
                           f"length {n} (input of shape {tuple(x.shape)}); use a smaller n_fft, "
                           f"a longer signal or pad_mode='constant'")
    if pad_mode == "replicate" and n == 0:
        raise RuntimeError("stft: pad_mode='replicate' needs a non-empty signal")
    return pad(x, (p, p), mode=pad_mode)


# -- istft --------------------------------------------------------------------------------------
def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False,
          onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """Inverse of ``stft``: the least-squares signal whose STFT is ``input``.

    input (F, T) or (B, F, T) complex -> (L,) or (B, L): each frame inverse-DFT'd,
    windowed, overlap-added, and divided by the overlap-added squared window, which
    must not vanish anywhere on the kept samples (the NOLA condition). The output is
    trimmed by n_fft // 2 at the start (``center``) and cut or zero-extended to
    ``length``; without ``length``, n_fft + hop_length (T - 1) samples, less
    2 (n_fft // 2) when centered. ``onesided`` defaults to F != n_fft;
    ``return_complex=True`` (for two-sided input) keeps a complex signal.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"istft: expected a Tensor input, got {type(input).__name__}")
    if not _is_complex(input):
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           f"from stft with return_complex=True; got dtype {input.dtype}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a 2-D (F, T) or 3-D (B, F, T) input, got shape "
                           f"{tuple(input.shape)}")
    n_fft = int(n_fft)
    hop, win = _lengths("istft", n_fft, hop_length, win_length)
    if hop > win:
        raise RuntimeError(f"istft: expected 0 < hop_length <= win_length={win}, but got "
                           f"hop_length={hop}")
    bins, n_frames = input.shape[-2], input.shape[-1]
    if n_frames == 0 or input.numel() == 0:
        raise RuntimeError(f"istft: input tensor cannot be empty, got shape "
                           f"{tuple(input.shape)}")
    if onesided is None:
        onesided = bins != n_fft
    expected = n_fft // 2 + 1 if onesided else n_fft
    if bins != expected:
        rule = "n_fft // 2 + 1 when onesided=True" if onesided else "n_fft when onesided=False"
        raise RuntimeError(f"istft: expected the frequency dimension (-2) of the input of shape "
                           f"{tuple(input.shape)} to be {rule} = {expected} (n_fft={n_fft}), "
                           f"but got {bins}")
    if return_complex and onesided:
        raise RuntimeError("istft: cannot have a onesided input with return_complex=True; pass "
                           "the two-sided stft (onesided=False)")
    if not return_complex and _is_complex(window):
        raise RuntimeError("istft: complex windows are incompatible with return_complex=False")
    if window is None:
        warnings.warn("istft: a window was not provided, so a rectangular window is applied; "
                      "pass the window used by stft to make the inversion lossless",
                      UserWarning, stacklevel=2)
    w = _frame_window("istft", window, n_fft, win, input)        # (n_fft,)

    batched = input.ndim == 3
    spec = (input if batched else input.unsqueeze(0)).transpose(-1, -2)   # (B, T, F)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        frames = _fft.ifft(spec, n=n_fft, norm=norm)
    else:
        if not onesided:
            spec = spec[..., :n_fft // 2 + 1]
        frames = _fft.irfft(spec, n=n_fft, norm=norm)
    frames = frames * w                                          # (B, T, n_fft)
    full = n_fft + hop * (n_frames - 1)
    y = _overlap_add(frames, full, n_fft, hop)                   # (B, full)
    envelope = _overlap_add((w * w).reshape(1, 1, n_fft).expand(1, n_frames, n_fft),
                            full, n_fft, hop)                    # (1, full)

    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + int(length)
    else:
        end = full - n_fft // 2 if center else full
    y, envelope = y[:, start:end], envelope[:, start:end]
    _check_nola(envelope, n_fft, hop, win)
    y = y / envelope
    if end > full:
        warnings.warn(f"istft: the signal ({full - start} samples after trimming) is shorter "
                      f"than length={length}; the tail is padded with zeros. Check center and "
                      f"hop_length", UserWarning, stacklevel=2)
        y = pad(y, (0, end - full))
    return y if batched else y.squeeze(0)


def _overlap_add(frames: Tensor, full: int, n_fft: int, hop: int) -> Tensor:
    """(B, T, n_fft) frames, frame t placed at t * hop and summed -> (B, full)."""
    if _is_complex(frames):  # fold is real-only; overlap-adding is linear, so part by part
        return complex(_overlap_add(real(frames), full, n_fft, hop),
                       _overlap_add(imag(frames), full, n_fft, hop))
    b = frames.shape[0]
    cols = frames.transpose(1, 2)                                # (B, n_fft, T)
    out = fold(cols, output_size=(1, full), kernel_size=(1, n_fft), stride=(1, hop))
    return out.reshape(b, full)


def _check_nola(envelope: Tensor, n_fft: int, hop: int, win: int) -> None:
    xp = backend.get_array_module(envelope.array)
    if envelope.numel() == 0:
        return
    lowest = float(xp.abs(envelope.array).min())
    if lowest < 1e-11:
        raise RuntimeError(f"istft: the overlap-added squared window falls to {lowest:.3g} "
                           f"(< 1e-11) for n_fft={n_fft}, hop_length={hop}, win_length={win}: "
                           f"the window does not satisfy the nonzero overlap-add (NOLA) "
                           f"condition, so the signal cannot be recovered there")


def _stft_method(self: Tensor, n_fft: int, hop_length=None, win_length=None, window=None,
                 center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
                 onesided=None, return_complex=None, align_to_window=None) -> Tensor:
    return stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                onesided, return_complex, align_to_window)


def _istft_method(self: Tensor, n_fft: int, hop_length=None, win_length=None, window=None,
                  center: bool = True, normalized: bool = False, onesided=None, length=None,
                  return_complex: bool = False) -> Tensor:
    return istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided,
                 length, return_complex)


_stft_method.__name__ = _stft_method.__qualname__ = "stft"
_istft_method.__name__ = _istft_method.__qualname__ = "istft"

# x.stft(...), z.istft(...) as in PyTorch
TENSOR_METHODS = {"stft": _stft_method, "istft": _istft_method}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
