"""nabla.fft against numpy.fft and torch.fft: values, gradients (PyTorch's complex
convention), float64 gradchecks of real-to-real compositions, errors."""
import numpy as np
import pytest

import nabla
import nabla.fft as F
from nabla.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 6, 5))
Z = X + 1j * RNG.standard_normal((3, 6, 5))


def _np(t):
    return t.resolve_conj().numpy() if hasattr(t, "resolve_conj") else np.asarray(t)


def _close(a, b, tol=1e-10):
    a = a.array if isinstance(a, nabla.Tensor) else a
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# -- values --------------------------------------------------------------------------------------
ONE_D = [("fft", Z), ("ifft", Z), ("rfft", X), ("irfft", Z), ("hfft", Z), ("ihfft", X),
         ("fft", X), ("irfft", X)]


@pytest.mark.parametrize("name,data", ONE_D)
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
@pytest.mark.parametrize("n,dim", [(None, -1), (4, 1), (9, 0), (7, -1)])
def test_1d_values(name, data, norm, n, dim):
    out = getattr(F, name)(nabla.tensor(data), n=n, dim=dim, norm=norm)
    ref = _np(getattr(torch.fft, name)(torch.tensor(data), n=n, dim=dim, norm=norm))
    _close(out, ref)
    _close(out, getattr(np.fft, name)(data, n=n, axis=dim, norm=norm))
    assert out.dtype == ref.dtype


ND = [("fft2", Z), ("ifft2", Z), ("rfft2", X), ("irfft2", Z),
      ("fftn", Z), ("ifftn", Z), ("rfftn", X), ("irfftn", Z)]


SIZES = [(None, None), ((4, 8), (0, 2)), ((5, -1), (-1, 1)), ((3, 4), None), (None, (1,))]
ND_CASES = [(name, data, s, dim) for name, data in ND for s, dim in SIZES
            if not (name.endswith("2") and dim is not None and len(dim) != 2)]


@pytest.mark.parametrize("name,data,s,dim", ND_CASES)
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_nd_values(name, data, s, dim, norm):
    kw = {"s": s, "norm": norm}
    if dim is not None:
        kw["dim"] = dim
    out = getattr(F, name)(nabla.tensor(data), **kw)
    ref = _np(getattr(torch.fft, name)(torch.tensor(data), **kw))
    _close(out, ref)


def test_float32_gives_complex64_and_ints_promote():
    x = nabla.tensor(X.astype(np.float32))
    assert F.fft(x).dtype == np.complex64 and F.rfft(x).dtype == np.complex64
    assert F.irfft(F.rfft(x)).dtype == np.float32
    xi = nabla.tensor(np.arange(6))
    _close(F.fft(xi), torch.fft.fft(torch.arange(6)).numpy().astype(np.complex64), 1e-5)
    assert F.fft(xi).dtype == np.complex64


def test_round_trips():
    x = nabla.tensor(X)
    _close(F.ifft(F.fft(x)), X.astype(complex))
    _close(F.irfft(F.rfft(x), n=5), X)
    _close(F.irfftn(F.rfftn(x), s=X.shape), X)
    _close(F.hfft(F.ihfft(x), n=5), X)


@pytest.mark.parametrize("n,d", [(1, 1.0), (6, 0.5), (7, 2.0)])
def test_freqs(n, d):
    _close(F.fftfreq(n, d, dtype=nabla.float64), torch.fft.fftfreq(n, d, dtype=torch.float64).numpy())
    _close(F.rfftfreq(n, d, dtype=nabla.float64), torch.fft.rfftfreq(n, d, dtype=torch.float64).numpy())
    assert F.fftfreq(n).dtype == np.float32


@pytest.mark.parametrize("dim", [None, 0, (1, 2), -1])
def test_shifts(dim):
    x = nabla.tensor(X)
    _close(F.fftshift(x, dim), torch.fft.fftshift(torch.tensor(X), dim).numpy())
    _close(F.ifftshift(x, dim), torch.fft.ifftshift(torch.tensor(X), dim).numpy())
    _close(F.ifftshift(F.fftshift(x, dim), dim), X)


def test_complex_helpers_values():
    z = nabla.tensor(Z)
    _close(F.real(z), Z.real)
    _close(F.imag(z), Z.imag)
    _close(F.conj(z), Z.conj())
    _close(F.abs(z), np.abs(Z))
    _close(F.angle(z), np.angle(Z))
    _close(F.view_as_real(z), torch.view_as_real(torch.tensor(Z)).numpy())
    _close(F.view_as_complex(F.view_as_real(z)), Z)
    _close(F.complex(nabla.tensor(Z.real), nabla.tensor(Z.imag)), Z)


# -- gradients against torch ----------------------------------------------------------------------
def _grads(nb_loss, th_loss, data):
    x = nabla.tensor(data, requires_grad=True)
    nb_loss(x).backward()
    xt = torch.tensor(data, requires_grad=True)
    th_loss(xt).backward()
    _close(x.grad, xt.grad.numpy(), 1e-9)


W = RNG.standard_normal(4)  # weights on the rfft bins of length 6 (6 // 2 + 1 = 4)
LOSSES = [
    # (nabla loss, torch loss) of a real input, each through complex intermediates
    (lambda x: (F.abs(F.fft(x)) ** 2).sum(), lambda x: (torch.fft.fft(x).abs() ** 2).sum()),
    (lambda x: (F.irfft(F.rfft(x) * nabla.tensor(W.astype(complex)), n=6) ** 3).sum(),
     lambda x: (torch.fft.irfft(torch.fft.rfft(x) * torch.tensor(W), n=6) ** 3).sum()),
    (lambda x: F.real(F.fft(x, n=9, norm="ortho")).sin().sum() + F.imag(F.ifft(x, n=4)).sum(),
     lambda x: torch.fft.fft(x, n=9, norm="ortho").real.sin().sum()
     + torch.fft.ifft(x, n=4).imag.sum()),
    (lambda x: (F.view_as_real(F.rfft2(x, s=(5, 4), norm="forward")) ** 2).sum(),
     lambda x: (torch.view_as_real(torch.fft.rfft2(x, s=(5, 4), norm="forward")) ** 2).sum()),
    (lambda x: (F.irfftn(F.fftn(x, dim=(0, 1)), s=(3, 7), dim=(0, 1)) ** 2).sum(),
     lambda x: (torch.fft.irfftn(torch.fft.fftn(x, dim=(0, 1)), s=(3, 7), dim=(0, 1)) ** 2).sum()),
    (lambda x: (F.angle(F.fft2(x) + nabla.tensor(np.full((3, 6), 0.1 + 0j))) * 1.5).sum(),
     lambda x: (torch.fft.fft2(x + 0.1 * 0).add(0.1).angle() * 1.5).sum()),
    (lambda x: (F.hfft(F.ihfft(x), n=6) ** 2).sum() + F.abs(F.ihfft(x, norm="ortho")).sum(),
     lambda x: (torch.fft.hfft(torch.fft.ihfft(x), n=6) ** 2).sum()
     + torch.fft.ihfft(x, norm="ortho").abs().sum()),
    (lambda x: (F.irfft(F.rfft(x, n=10), n=7, norm="ortho") * nabla.tensor(np.arange(7.0))).sum(),
     lambda x: (torch.fft.irfft(torch.fft.rfft(x, n=10), n=7, norm="ortho")
                * torch.arange(7.0, dtype=torch.float64)).sum()),
]


@pytest.mark.parametrize("k", range(len(LOSSES)))
def test_grad_matches_torch(k):
    nb, th = LOSSES[k]
    _grads(nb, th, X[:, :, 0].copy())  # (3, 6)


def test_grad_complex_parts_match_torch():
    # a real input split into two: gradients through complex() and view_as_complex()
    a = RNG.standard_normal((4, 5))
    b = RNG.standard_normal((4, 5))
    xa, xb = nabla.tensor(a, requires_grad=True), nabla.tensor(b, requires_grad=True)
    loss = (F.abs(F.fft2(F.complex(xa, xb))) ** 1.5).sum()
    loss.backward()
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    (torch.fft.fft2(torch.complex(ta, tb)).abs() ** 1.5).sum().backward()
    _close(xa.grad, ta.grad.numpy(), 1e-9)
    _close(xb.grad, tb.grad.numpy(), 1e-9)
    pairs = RNG.standard_normal((3, 4, 2))
    _grads(lambda x: (F.view_as_real(F.ifft(F.view_as_complex(x), norm="ortho")) ** 2
                      * nabla.tensor(np.array([1.0, -2.0]))).sum(),
           lambda x: (torch.view_as_real(torch.fft.ifft(torch.view_as_complex(x), norm="ortho"))
                      ** 2 * torch.tensor([1.0, -2.0], dtype=torch.float64)).sum(), pairs)


def test_grad_through_complex_mul_needs_conj():  # Mul's vjp is g * conj(w) for complex w
    pairs = RNG.standard_normal((3, 4, 2))
    _grads(lambda x: F.real(F.view_as_complex(x) * nabla.tensor(np.full(4, 1 - 2j))).sum(),
           lambda x: (torch.view_as_complex(x) * torch.tensor(np.full(4, 1 - 2j))).real.sum(),
           pairs)


def test_tensor_abs_of_complex_grad():  # Tensor.abs() of a complex tensor: g * z / |z|
    _grads(lambda x: (F.fft(x).abs() ** 2).sum(), lambda x: (torch.fft.fft(x).abs() ** 2).sum(),
           X[:, :, 0].copy())


# -- finite-difference checks (float64, first and second order, vjp and jvp) -----------------
REAL_TO_REAL = [
    lambda x: F.irfft(F.rfft(x, n=7) * nabla.tensor(np.linspace(1, 2, 4) + 0j), n=5, dim=-1),
    lambda x: F.view_as_real(F.fft(x, n=4, dim=0, norm="ortho")),
    lambda x: F.view_as_real(F.rfftn(x, s=(3, 4))),
    lambda x: F.irfft2(F.view_as_complex(F.view_as_real(F.fft2(x)) * 1.0), s=(4, 6)),
    lambda x: F.abs(F.ifftn(x, norm="forward")) + F.angle(F.fft(x, dim=0) + nabla.tensor(
        np.full((4, 5), 0.3 + 0.2j))),
    lambda x: F.hfft(F.ihfft(x, n=6), n=5) + F.imag(F.ifft(x)) * F.real(F.fft(x)),
    lambda x: F.fftshift(F.irfft(F.complex(x, x * x), n=4), 0),
]


@pytest.mark.parametrize("k", range(len(REAL_TO_REAL)))
def test_gradcheck(k):
    x = nabla.tensor(RNG.standard_normal((4, 5)), requires_grad=True)
    assert gradcheck(REAL_TO_REAL[k], (x,))
    assert gradgradcheck(REAL_TO_REAL[k], (x,))


# -- errors ------------------------------------------------------------------------------------
def test_errors():
    x = nabla.tensor(X)
    with pytest.raises(ValueError, match="fft.fft: norm"):
        F.fft(x, norm="unitary")
    with pytest.raises(RuntimeError, match="fft.rfft: expects a real input"):
        F.rfft(nabla.tensor(Z))
    with pytest.raises(IndexError, match="fft.fft: dim 3 is out of range"):
        F.fft(x, dim=3)
    with pytest.raises(RuntimeError, match="fft.fftn: dims must be unique"):
        F.fftn(x, dim=(0, 0))
    with pytest.raises(RuntimeError, match="fft.fft2: s has 1 sizes but dim has 2"):
        F.fft2(x, s=(3,))
    with pytest.raises(RuntimeError, match=r"fft.fft: invalid number of data points \(0\)"):
        F.fft(x, n=0)
    with pytest.raises(RuntimeError, match="fft.irfft: invalid number of data points"):
        F.irfft(nabla.tensor(np.ones(1, complex)))
    with pytest.raises(RuntimeError, match="view_as_complex: .* last dimension is 2"):
        F.view_as_complex(x)
    with pytest.raises(RuntimeError, match="view_as_real: expects a complex"):
        F.view_as_real(x)
    with pytest.raises(RuntimeError, match="complex: expects"):
        F.complex(x, nabla.tensor(X[0]))
    with pytest.raises(RuntimeError, match="fft.fftfreq: n must be at least 1"):
        F.fftfreq(0)
    with pytest.raises(IndexError, match="fft.fftshift: dim 5"):
        F.fftshift(x, 5)
    with pytest.raises(TypeError, match="fft.fft: expected a Tensor"):
        F.fft(X)
