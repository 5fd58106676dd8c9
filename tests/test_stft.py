"""Windows, stft and istft against torch 2.13: values (complex compared as complex),
round trips, gradients of real losses (PyTorch's complex convention), float64
gradchecks of real -> complex -> real compositions, and the error messages."""
import warnings

import numpy as np
import pytest

import nabla
import nabla.signal.windows as W
from nabla.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
import torch.signal.windows as TW  # noqa: E402

# both libraries warn about a missing (rectangular) window, and torch about a zero-padded
# istft tail; the tests that care catch them with pytest.warns
pytestmark = [pytest.mark.filterwarnings("ignore:.*window was not provided"),
              pytest.mark.filterwarnings("ignore:.*A window was not provided"),
              pytest.mark.filterwarnings("ignore:The length of signal is shorter")]

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 37))                     # three signals of 37 samples
Z = X + 1j * RNG.standard_normal((3, 37))


def _np(t):
    return t.detach().resolve_conj().numpy()


def _close(a, b, tol=1e-10):
    """nabla ``a`` equals torch ``b``: shape, dtype and values (complex as complex)."""
    a = a.numpy() if isinstance(a, nabla.Tensor) else a
    b = _np(b) if isinstance(b, torch.Tensor) else b
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _both(data):
    return nabla.tensor(data), torch.tensor(data)


# -- windows -----------------------------------------------------------------------------------
TOP = ["hann_window", "hamming_window", "bartlett_window", "blackman_window", "kaiser_window"]
DTYPES = [(nabla.float64, torch.float64, 1e-12), (nabla.float32, torch.float32, 1e-6)]


@pytest.mark.parametrize("name", TOP)
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("nb_dtype,th_dtype,tol", DTYPES)
def test_top_level_windows(name, periodic, nb_dtype, th_dtype, tol):
    for n in [0, 1, 2, 3, 8, 11]:
        out = getattr(nabla, name)(n, periodic, dtype=nb_dtype)
        _close(out, getattr(torch, name)(n, periodic, dtype=th_dtype), tol)
    assert getattr(nabla, name)(5).dtype == np.float32  # the default dtype


def test_window_parameters_and_flags():
    _close(nabla.hamming_window(9, False, 0.6, 0.3, dtype=nabla.float64),
           torch.hamming_window(9, False, 0.6, 0.3, dtype=torch.float64))
    _close(nabla.hamming_window(6, alpha=0.5, beta=0.5), torch.hamming_window(6, True, 0.5, 0.5),
           1e-6)
    for beta in [0.0, 2.5, 14.0]:
        _close(nabla.kaiser_window(10, True, beta, dtype=nabla.float64),
               torch.kaiser_window(10, True, beta, dtype=torch.float64))
    w = nabla.hann_window(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    # periodic is the symmetric window one longer, without its last sample
    _close(nabla.blackman_window(7, dtype=nabla.float64),
           nabla.blackman_window(8, periodic=False, dtype=nabla.float64).numpy()[:7])


SIGNAL = [("bartlett", {}), ("blackman", {}), ("cosine", {}), ("hamming", {}), ("hann", {}),
          ("nuttall", {}), ("exponential", {}), ("exponential", {"tau": 2.5}),
          ("gaussian", {}), ("gaussian", {"std": 2.2}), ("kaiser", {}), ("kaiser", {"beta": 0.7}),
          ("general_hamming", {}), ("general_hamming", {"alpha": 0.3}),
          ("general_cosine", {"a": [0.46, 0.23, 0.31]})]


@pytest.mark.parametrize("name,kw", SIGNAL)
@pytest.mark.parametrize("sym", [True, False])
def test_signal_windows(name, kw, sym):
    assert sorted(W.__all__) == sorted(TW.__all__)
    for nb_dtype, th_dtype, tol in DTYPES:
        for m in [0, 1, 2, 5, 8]:
            out = getattr(W, name)(m, sym=sym, dtype=nb_dtype, **kw)
            _close(out, getattr(TW, name)(m, sym=sym, dtype=th_dtype, **kw), tol)
    if not sym:
        _close(W.exponential(6, center=1.5, sym=False, dtype=nabla.float64),
               TW.exponential(6, center=1.5, sym=False, dtype=torch.float64))


def test_window_errors():
    with pytest.raises(RuntimeError, match="hann_window requires non-negative window_length, "
                                           "got window_length=-1"):
        nabla.hann_window(-1)
    with pytest.raises(RuntimeError, match="kaiser_window expects floating point dtypes, got: "
                                           "int64"):
        nabla.kaiser_window(4, dtype=nabla.int64)
    with pytest.raises(ValueError, match="hann requires non-negative window length, got M=-2"):
        W.hann(-2)
    with pytest.raises(ValueError, match="gaussian expects float32 or float64 dtypes, got: "
                                         "float16"):
        W.gaussian(4, dtype=nabla.float16)
    with pytest.raises(ValueError, match="exponential: tau must be positive, got: 0"):
        W.exponential(4, tau=0)
    with pytest.raises(ValueError, match="exponential: center must be None for symmetric"):
        W.exponential(4, center=1.0)
    with pytest.raises(ValueError, match="gaussian: standard deviation std must be positive"):
        W.gaussian(4, std=-1.0)
    with pytest.raises(ValueError, match="kaiser: beta must be non-negative, got: -1"):
        W.kaiser(4, beta=-1.0)
    with pytest.raises(ValueError, match="general_cosine: coefficients a cannot be empty"):
        W.general_cosine(4, a=[])
    with pytest.raises(TypeError, match="general_cosine: coefficients a must be a list"):
        W.general_cosine(4, a=3.0)


# -- stft values -------------------------------------------------------------------------------
# (n_fft, hop_length, win_length): defaults, a short window zero-padded centrally (odd and
# even margins), hop == n_fft, hop > n_fft
GEOMETRIES = [(8, None, None), (16, 3, 11), (7, 2, 5), (10, 10, 6), (4, 6, None)]


@pytest.mark.parametrize("n_fft,hop,win", GEOMETRIES)
@pytest.mark.parametrize("center,pad_mode", [(True, "reflect"), (True, "constant"),
                                             (True, "replicate"), (True, "circular"),
                                             (False, "reflect")])
def test_stft_values(n_fft, hop, win, center, pad_mode):
    window = RNG.standard_normal(win or n_fft)
    # (signal, normalized, onesided): batched (B, L) and single (L,) signals
    for data, normalized, onesided in [(X, False, None), (X, True, False), (X[1], False, True)]:
        x, xt = _both(data)
        for w, wt in (_both(window), (None, None)):
            kw = dict(hop_length=hop, win_length=win, window=w, center=center,
                      pad_mode=pad_mode, normalized=normalized, onesided=onesided,
                      return_complex=True)
            _close(nabla.stft(x, n_fft, **kw), torch.stft(xt, n_fft, **{**kw, "window": wt}))


def test_stft_complex_input_and_window():
    z, zt = _both(Z)
    for rc in (None, True):  # a complex input returns complex without being told
        _close(nabla.stft(z, 8, return_complex=rc), torch.stft(zt, 8, return_complex=rc))
    _close(nabla.stft(z[0], 6, 2, window=nabla.tensor(np.hanning(6))),
           torch.stft(zt[0], 6, 2, window=torch.tensor(np.hanning(6))))
    wc = RNG.standard_normal(8) + 1j * RNG.standard_normal(8)
    x, xt = _both(X)
    out = nabla.stft(x, 8, window=nabla.tensor(wc))  # a complex window: two-sided, complex
    _close(out, torch.stft(xt, 8, window=torch.tensor(wc)))
    assert out.shape == (3, 8, 19)


def test_stft_return_real_dtypes_method_and_align():
    x, xt = _both(X)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        out = nabla.stft(x, 8, return_complex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(out, torch.stft(xt, 8, return_complex=False))
    x32, xt32 = _both(X.astype(np.float32))
    out = nabla.stft(x32, 8, window=nabla.hann_window(8), return_complex=True)
    _close(out, torch.stft(xt32, 8, window=torch.hann_window(8), return_complex=True), 1e-5)
    assert out.dtype == np.complex64
    w64 = nabla.hann_window(8, dtype=nabla.float64)  # float32 signal, float64 window: complex128
    _close(nabla.stft(x32, 8, window=w64, return_complex=True),
           torch.stft(xt32, 8, window=torch.hann_window(8, dtype=torch.float64),
                      return_complex=True), 1e-6)
    _close(x.stft(8, 3, return_complex=True), xt.stft(8, 3, return_complex=True))
    w = np.arange(1.0, 5.0)
    for align in (None, False, True):
        kw = dict(hop_length=3, win_length=4, center=False, return_complex=True,
                  align_to_window=align)
        _close(nabla.stft(x, 8, window=nabla.tensor(w), **kw),
               torch.stft(xt, 8, window=torch.tensor(w), **kw))


# -- istft values ------------------------------------------------------------------------------
@pytest.mark.parametrize("n_fft,hop,win", [(8, None, None), (16, 3, 11), (7, 2, 5), (10, 5, 10)])
@pytest.mark.parametrize("center", [True, False])
def test_istft_values(n_fft, hop, win, center):
    # positive inside win_length; a window shorter than n_fft leaves the envelope zero at
    # the uncentered ends, where both libraries must refuse (the NOLA check)
    w = torch.hann_window(win or n_fft, dtype=torch.float64) + 0.1
    for normalized, onesided in ((False, None), (True, False)):
        spec = torch.stft(torch.tensor(X), n_fft, hop, win, w, center=center,
                          normalized=normalized, onesided=onesided, return_complex=True)
        for length in (None, 20, 50):
            for rc in ((False, True) if onesided is False else (False,)):
                kw = dict(hop_length=hop, win_length=win, center=center, length=length,
                          normalized=normalized, onesided=onesided, return_complex=rc)
                for s in (spec, spec[0]):                    # batched and single
                    s_nb, w_nb = nabla.tensor(_np(s)), nabla.tensor(_np(w))
                    try:
                        ref = torch.istft(s, n_fft, window=w, **kw)
                    except RuntimeError as e:
                        assert "overlap add" in str(e)
                        with pytest.raises(RuntimeError, match="NOLA"):
                            nabla.istft(s_nb, n_fft, window=w_nb, **kw)
                        continue
                    with warnings.catch_warnings():          # the zero-padded tail warns
                        warnings.simplefilter("ignore")
                        out = nabla.istft(s_nb, n_fft, window=w_nb, **kw)
                    _close(out, ref)


def test_istft_defaults_dtypes_and_warnings():
    spec = torch.stft(torch.tensor(X), 8, return_complex=True)
    s = nabla.tensor(_np(spec))
    with pytest.warns(UserWarning, match="istft: a window was not provided"):
        out = nabla.istft(s, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(out, torch.istft(spec, 8))
    w = torch.hann_window(8, dtype=torch.float64)
    with pytest.warns(UserWarning, match="shorter than length=60; the tail is padded"):
        out = nabla.istft(s, 8, window=nabla.tensor(_np(w)), length=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(out, torch.istft(spec, 8, window=w, length=60))
    # complex64 spectrum with a float64 window -> float64, as torch promotes
    s64, spec64 = s.to(nabla.complex64), spec.to(torch.complex64)
    _close(nabla.istft(s64, 8, window=nabla.tensor(_np(w))), torch.istft(spec64, 8, window=w),
           1e-6)
    _close(nabla.istft(s64, 8, window=nabla.hann_window(8)),
           torch.istft(spec64, 8, window=torch.hann_window(8)), 1e-5)
    _close(s.istft(8, window=nabla.tensor(_np(w))), spec.istft(8, window=w))


@pytest.mark.parametrize("n_fft,hop,win,center", [(8, 2, None, True), (16, 4, 12, True),
                                                  (9, 3, 9, False), (6, 1, 3, True)])
def test_round_trip(n_fft, hop, win, center):
    window = nabla.hann_window(win or n_fft, dtype=nabla.float64) + 0.05
    x = nabla.tensor(X)
    spec = nabla.stft(x, n_fft, hop, win, window, center=center, return_complex=True)
    back = nabla.istft(spec, n_fft, hop, win, window, center=center, length=37 if center else None)
    kept = back.shape[-1]  # without centering the tail past the last frame is lost
    _close(back, X[:, :kept])
    assert kept == 37 or not center
    z = nabla.tensor(Z)  # complex signals come back complex from the two-sided transform
    spec = nabla.stft(z, n_fft, hop, win, window, center=True)
    _close(nabla.istft(spec, n_fft, hop, win, window, length=37, return_complex=True), Z)


# -- gradients against torch -------------------------------------------------------------------
WEIGHTS = RNG.standard_normal((5, 10))  # (F, T) of n_fft = 8, hop 4 over 37 samples


def _stft_losses(lib, x, w):
    stft = lib.stft
    s1 = stft(x, 8, 4, window=w, return_complex=True)
    s2 = stft(x, 6, 2, 5, window=w[:5], center=True, pad_mode="replicate", normalized=True,
              onesided=False, return_complex=True)
    s3 = stft(x, 7, 3, window=None, center=False, return_complex=True)
    weights = nabla.tensor(WEIGHTS) if lib is nabla else torch.tensor(WEIGHTS)
    return ((s1.abs() ** 2 * weights).sum() + (s2.real * s2.imag).sum()
            + (s3.abs() + 0.1).log().sum())


def test_stft_grads_match_torch():
    w0 = np.hanning(8) + 0.2
    x, w = (nabla.tensor(a, requires_grad=True) for a in (X, w0))
    xt, wt = (torch.tensor(a, requires_grad=True) for a in (X, w0))
    _stft_losses(nabla, x, w).backward()
    _stft_losses(torch, xt, wt).backward()
    _close(x.grad, xt.grad, 1e-9)
    _close(w.grad, wt.grad, 1e-9)


def test_istft_grads_match_torch():
    w0 = np.hanning(8) + 0.2
    spec0 = _np(torch.stft(torch.tensor(X), 8, 2, return_complex=True)) * 1.3
    full0 = _np(torch.stft(torch.tensor(Z), 8, 2, return_complex=True))
    ramp = np.linspace(-1, 1, 40)

    def loss(lib, s, f, w):
        r = torch.tensor(ramp) if lib is torch else nabla.tensor(ramp)
        y = lib.istft(s, 8, 2, window=w, length=40)
        yc = lib.istft(f, 8, 2, window=w, return_complex=True)
        yr = lib.istft(f, 8, 2, window=w, center=False, normalized=True)
        return (y ** 3 * r).sum() + (yc.abs() ** 2).sum() + yr.sin().sum()

    nb = [nabla.tensor(a, requires_grad=True) for a in (spec0, full0, w0)]
    th = [torch.tensor(a, requires_grad=True) for a in (spec0, full0, w0)]
    loss(nabla, *nb).backward()
    loss(torch, *th).backward()
    for a, b in zip(nb, th):  # complex gradients: dL/dRe + i dL/dIm, as torch
        _close(a.grad, b.grad, 1e-9)


# -- finite differences (float64, first and second order) --------------------------------------
def _win(n):
    return nabla.tensor(np.hanning(n) + 0.3)


REAL_TO_REAL = [
    lambda x: nabla.view_as_real(nabla.stft(x, 4, 2, window=_win(4), return_complex=True)),
    lambda x: nabla.stft(x, 5, 2, 3, _win(3), pad_mode="constant", normalized=True,
                         onesided=False, return_complex=False),
    lambda x: nabla.istft(nabla.stft(x, 4, 1, window=_win(4), return_complex=True) ** 2, 4, 1,
                          window=_win(4), length=10),
    lambda x: nabla.istft(nabla.view_as_complex(x.reshape(3, 2, 2)), 4, 1, window=_win(4),
                          center=False),
    lambda x: nabla.istft(nabla.stft(x, 4, 2, window=_win(4), return_complex=True), 4, 2,
                          window=x[:4] + 2.0, length=12),
]


@pytest.mark.parametrize("k", range(len(REAL_TO_REAL)))
def test_gradcheck(k):
    x = nabla.tensor(RNG.standard_normal(12) + 3.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(REAL_TO_REAL[k], (x,))
        assert gradgradcheck(REAL_TO_REAL[k], (x,))


# -- errors ------------------------------------------------------------------------------------
def test_stft_errors():
    x = nabla.tensor(X[0])
    with pytest.raises(RuntimeError, match="stft requires the return_complex parameter be "
                                           "given for real inputs"):
        nabla.stft(x, 8)
    with pytest.raises(RuntimeError, match=r"stft: center=True with pad_mode='reflect' pads "
                                           r"the signal by n_fft // 2 = 40 on each side, which "
                                           r"must be less than the signal length 37"):
        nabla.stft(x, 80, return_complex=True)
    with pytest.raises(RuntimeError, match=r"stft: expected 0 < n_fft <= 37 \(the length of "
                                           r"the signal of shape \(37,\)\), but got n_fft=38"):
        nabla.stft(x, 38, center=False, return_complex=True)
    with pytest.raises(RuntimeError, match=r"stft: expected 0 < n_fft <= 37 \(the length of "
                                           r"the padded signal .* got n_fft=0"):
        nabla.stft(x, 0, 1, 1, pad_mode="constant", return_complex=True)
    for hop in (0, -2):
        with pytest.raises(RuntimeError, match=f"stft: expected hop_length > 0, but got "
                                               f"hop_length={hop} \\(n_fft=8\\)"):
            nabla.stft(x, 8, hop, return_complex=True)
    with pytest.raises(RuntimeError, match="stft: expected 0 < win_length <= n_fft=8, but got "
                                           "win_length=9"):
        nabla.stft(x, 8, win_length=9, return_complex=True)
    with pytest.raises(RuntimeError, match=r"stft: expected a 1-D window of size win_length=6, "
                                           r"but got a window of shape \(7,\)"):
        nabla.stft(x, 8, win_length=6, window=nabla.ones(7), return_complex=True)
    with pytest.raises(RuntimeError, match=r"stft: expected a 1-D \(L,\) or 2-D \(B, L\) input, "
                                           r"got shape \(1, 3, 37\)"):
        nabla.stft(nabla.tensor(X[None]), 8, return_complex=True)
    with pytest.raises(RuntimeError, match="stft: expected a tensor of floating point or "
                                           "complex values, got dtype int64"):
        nabla.stft(nabla.arange(20), 8, return_complex=True)
    with pytest.raises(RuntimeError, match="stft: cannot have a onesided output when the input"):
        nabla.stft(nabla.tensor(Z), 8, onesided=True)
    with pytest.raises(NotImplementedError, match="stft: unrecognised pad_mode 'mirror'"):
        nabla.stft(x, 8, pad_mode="mirror", return_complex=True)
    with pytest.raises(RuntimeError, match="stft: align_to_window should only be set when "
                                           "center=False"):
        nabla.stft(x, 8, align_to_window=True, return_complex=True)


def test_istft_errors():
    w = nabla.hann_window(8, dtype=nabla.float64)
    s = nabla.stft(nabla.tensor(X), 8, window=w, return_complex=True)  # (3, 5, 19)
    with pytest.raises(RuntimeError, match="istft requires a complex-valued input tensor"):
        nabla.istft(nabla.view_as_real(s), 8, window=w)
    with pytest.raises(RuntimeError, match=r"istft: expected a 2-D \(F, T\) or 3-D \(B, F, T\) "
                                           r"input, got shape \(1, 3, 5, 19\)"):
        nabla.istft(s.unsqueeze(0), 8, window=w)
    with pytest.raises(RuntimeError, match="istft: expected 0 < hop_length <= win_length=8, "
                                           "but got hop_length=9"):
        nabla.istft(s, 8, 9, window=w)
    with pytest.raises(RuntimeError, match="istft: expected hop_length > 0, but got "
                                           "hop_length=0"):
        nabla.istft(s, 8, 0, window=w)
    with pytest.raises(RuntimeError, match=r"istft: expected a 1-D window of size "
                                           r"win_length=8, but got a window of shape \(7,\)"):
        nabla.istft(s, 8, window=nabla.ones(7, dtype=nabla.float64))
    with pytest.raises(RuntimeError, match=r"istft: expected the frequency dimension \(-2\) of "
                                           r"the input of shape \(3, 5, 19\) to be n_fft when "
                                           r"onesided=False = 8 \(n_fft=8\), but got 5"):
        nabla.istft(s, 8, window=w, onesided=False)
    with pytest.raises(RuntimeError, match=r"to be n_fft // 2 \+ 1 when onesided=True = 6 "
                                           r"\(n_fft=10\), but got 5"):
        nabla.istft(s, 10, window=nabla.ones(10))
    with pytest.raises(RuntimeError, match=r"istft: the overlap-added squared window falls to "
                                           r"0 \(< 1e-11\) for n_fft=8, hop_length=8, "
                                           r"win_length=8: .* \(NOLA\) condition"):
        nabla.istft(s, 8, 8, window=w)
    with pytest.raises(RuntimeError, match="istft: cannot have a onesided input with "
                                           "return_complex=True"):
        nabla.istft(s, 8, window=w, return_complex=True)
    with pytest.raises(RuntimeError, match="istft: input tensor cannot be empty"):
        nabla.istft(s[:, :, :0], 8, window=w)
