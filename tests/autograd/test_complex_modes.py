"""Complex numbers in forward mode and in gradcheck.

Forward mode: tangents of complex (and mixed real/complex) computations against
``torch.autograd.forward_ad`` and ``torch.func.jvp`` -- a holomorphic op gives
f'(z) * t with no conjugate; real, imag, conj, abs and angle their real-linear
maps. gradcheck: complex128 inputs and outputs pass for correct rules, to second
order, and fail -- naming the input, output and part -- for wrong ones.
"""
import numpy as np
import pytest

import nabla
from nabla.autograd import forward_ad as fwAD
from nabla.autograd import gradcheck, gradgradcheck
from nabla.autograd.function import Function
from nabla.autograd.gradcheck import GradcheckError
from tests.optest import needs_torch, torch

RNG = np.random.default_rng(11)


def _c(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _r(*shape):
    return RNG.standard_normal(shape)


def _np(t):
    if isinstance(t, nabla.Tensor):
        return t.detach().numpy()
    return t.detach().resolve_conj().resolve_neg().numpy()


def _lib(t):
    """nabla or torch, whichever ``t`` belongs to (the ops below run on both)."""
    return nabla if isinstance(t, nabla.Tensor) else torch


# name -> (function of nabla or torch tensors, input arrays: complex ones become complex
# primals with complex tangents, real ones real primals with real tangents)
OPS = {
    "add": (lambda a, b: a + b, [_c(3, 4), _c(3, 4)]),
    "add_real": (lambda a, b: a + b, [_c(3, 4), _r(3, 4)]),
    "sub": (lambda a, b: a - b, [_c(3, 4), _c(4)]),
    "sub_real": (lambda a, b: b - a, [_c(3, 4), _r(4)]),
    "mul": (lambda a, b: a * b, [_c(3, 4), _c(3, 4)]),
    "mul_real": (lambda a, b: b * a, [_c(3, 4), _r(3, 4)]),
    "div": (lambda a, b: a / b, [_c(3, 4), _c(3, 4)]),
    "div_real_num": (lambda a, b: b / a, [_c(3, 4), _r(3, 4)]),
    "div_real_den": (lambda a, b: a / b, [_c(3, 4), _r(3, 4)]),
    "pow_2": (lambda a: a ** 2.0, [_c(3, 4)]),
    "pow_half": (lambda a: a ** 0.5, [_c(3, 4)]),
    "pow_neg": (lambda a: a ** -1.5, [_c(3, 4)]),
    "pow_int": (lambda a: a ** 3, [_c(3, 4)]),
    "exp": (lambda a: a.exp(), [_c(3, 4)]),
    "log": (lambda a: a.log(), [_c(3, 4)]),
    "sqrt": (lambda a: a.sqrt(), [_c(3, 4)]),
    "sin": (lambda a: a.sin(), [_c(3, 4)]),
    "cos": (lambda a: a.cos(), [_c(3, 4)]),
    "tanh": (lambda a: a.tanh(), [_c(3, 4)]),
    "sum": (lambda a: a.sum(), [_c(3, 4)]),
    "sum_dim": (lambda a: a.sum(1, keepdim=True), [_c(3, 4)]),
    "mean": (lambda a: a.mean(), [_c(3, 4)]),
    "mean_dim": (lambda a: a.mean(0), [_c(3, 4)]),
    "matmul": (lambda a, b: a @ b, [_c(3, 4), _c(4, 2)]),
    "matmul_batched": (lambda a, b: a @ b, [_c(2, 3, 4), _c(4)]),
    "matmul_real": (lambda a, b: a @ b.to(a.dtype), [_c(3, 4), _r(4, 2)]),
    "abs": (lambda a: a.abs(), [_c(3, 4)]),
    "real": (lambda a: a.real, [_c(3, 4)]),
    "imag": (lambda a: a.imag, [_c(3, 4)]),
    "conj": (lambda a: a.conj(), [_c(3, 4)]),
    "angle": (lambda a: a.angle(), [_c(3, 4)]),
    "view_as_real": (lambda a: _lib(a).view_as_real(a), [_c(3, 4)]),
    "view_as_complex": (lambda a: _lib(a).view_as_complex(a), [_r(3, 4, 2)]),
    "to_complex": (lambda a: a.to(_lib(a).complex128 if a.dtype == _lib(a).float64
                                  else _lib(a).complex64), [_r(3, 4)]),
    # mixed real/complex chains through the non-holomorphic ops
    "chain_real_to_complex": (
        lambda x, y: _lib(x).complex(x.sin(), y * x).exp().abs() * y, [_r(5), _r(5)]),
    "chain_complex_to_real": (
        lambda z, x: ((z * x).log().real - z.conj().angle() + (z / x).imag) * x, [_c(5), _r(5)]),
    "chain_conj_matmul": (
        lambda z, w: (z.conj() @ w.tanh()).sqrt() * w.mean(), [_c(3, 3), _c(3, 3)]),
    "chain_view_as_real": (
        lambda z, x: _lib(z).view_as_complex(_lib(z).view_as_real(z * z) * x[..., None]).cos(),
        [_c(2, 3), _r(2, 3)]),
}

DTYPES = {"complex128": (np.complex128, np.float64, 1e-10),
          "complex64": (np.complex64, np.float32, 1e-4)}


def _cast(arrays, cdt, rdt):
    return [a.astype(cdt if np.iscomplexobj(a) else rdt) for a in arrays]


def _tangents_for(arrays):
    return [(_c(*a.shape) if np.iscomplexobj(a) else _r(*a.shape)).astype(a.dtype)
            for a in arrays]


def _assert_same(got, want, tol):
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    np.testing.assert_allclose(_np(got), _np(want), rtol=tol, atol=tol)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", OPS)
def test_forward_ad_matches_torch(name, dtype):
    fn, arrays = OPS[name]
    cdt, rdt, tol = DTYPES[dtype]
    primals = _cast(arrays, cdt, rdt)
    tangents = _tangents_for(primals)
    with fwAD.dual_level():
        out = fn(*[fwAD.make_dual(nabla.tensor(p), nabla.tensor(t))
                   for p, t in zip(primals, tangents)])
        got = fwAD.unpack_dual(out).tangent
    with torch.autograd.forward_ad.dual_level():
        ref = fn(*[torch.autograd.forward_ad.make_dual(torch.tensor(p), torch.tensor(t))
                   for p, t in zip(primals, tangents)])
        want = torch.autograd.forward_ad.unpack_dual(ref).tangent
    _assert_same(out, ref, tol)
    _assert_same(got, want, tol)


@needs_torch
@pytest.mark.parametrize("name", ["mul_real", "div", "log", "angle", "abs", "chain_conj_matmul",
                                  "chain_complex_to_real", "to_complex"])
def test_func_jvp_matches_torch(name):
    fn, arrays = OPS[name]
    tangents = _tangents_for(arrays)
    out, got = nabla.func.jvp(fn, tuple(nabla.tensor(a) for a in arrays),
                              tuple(nabla.tensor(t) for t in tangents))
    ref, want = torch.func.jvp(fn, tuple(torch.tensor(a) for a in arrays),
                               tuple(torch.tensor(t) for t in tangents))
    _assert_same(out, ref, 1e-10)
    _assert_same(got, want, 1e-10)


def test_holomorphic_tangent_has_no_conjugate():
    z, t = _c(4), _c(4)
    _, got = nabla.func.jvp(lambda z: z * z, (nabla.tensor(z),), (nabla.tensor(t),))
    np.testing.assert_allclose(got.numpy(), 2 * z * t, rtol=1e-12)
    _, got = nabla.func.jvp(lambda z: z.conj(), (nabla.tensor(z),), (nabla.tensor(t),))
    np.testing.assert_allclose(got.numpy(), np.conj(t), rtol=1e-12)


def test_pow_tangent_of_a_real_exponent_is_complex():
    # d/db a**b = a**b log(a) is complex for a complex base. (torch 2.x's forward mode
    # keeps only its real part here, which finite differences contradict.)
    a, b, tb = _c(4), _r(4), _r(4)
    _, got = nabla.func.jvp(lambda b: nabla.tensor(a) ** b, (nabla.tensor(b),),
                            (nabla.tensor(tb),))
    np.testing.assert_allclose(got.numpy(), a ** b * np.log(a) * tb, rtol=1e-12)
    x = nabla.tensor(b, requires_grad=True)
    assert gradcheck(lambda b: nabla.tensor(a) ** b, (x,))


def test_complex_primal_takes_a_real_tangent_and_refuses_the_converse():
    with fwAD.dual_level():
        d = fwAD.make_dual(nabla.tensor(_c(3)), nabla.tensor(np.ones(3)))
        t = fwAD.unpack_dual(d).tangent
        assert t.dtype == nabla.complex128
        np.testing.assert_array_equal(t.numpy(), np.ones(3, complex))
        with pytest.raises(ValueError, match="real primal .* cannot carry a complex tangent"):
            fwAD.make_dual(nabla.tensor(_r(3)), nabla.tensor(_c(3)))
    with pytest.raises(TypeError, match="primal 0 is real .* tangent is complex"):
        nabla.func.jvp(lambda x: x, (nabla.tensor(_r(3)),), (nabla.tensor(_c(3)),))


@needs_torch
def test_grad_and_vjp_of_complex_inputs_match_torch():
    z = _c(4)
    loss = lambda z: (z.abs() * z.angle() + (z * z).real).sum()  # noqa: E731
    got = nabla.func.grad(loss)(nabla.tensor(z))
    want = torch.func.grad(loss)(torch.tensor(z))
    _assert_same(got, want, 1e-10)
    v = _c(4)
    _, vjp_fn = nabla.func.vjp(lambda z: z.sin() * z.conj(), nabla.tensor(z))
    _, ref_fn = torch.func.vjp(lambda z: z.sin() * z.conj(), torch.tensor(z))
    _assert_same(vjp_fn(nabla.tensor(v))[0], ref_fn(torch.tensor(v))[0], 1e-10)


def test_jacobians_refuse_complex_as_torch_func_does():
    z, x = nabla.tensor(_c(2)), nabla.tensor(_r(2))
    with pytest.raises(TypeError, match="jacfwd: argument 0 has dtype complex128"):
        nabla.func.jacfwd(lambda z: z * z)(z)
    with pytest.raises(TypeError, match="jacrev: argument 0 has dtype complex128"):
        nabla.func.jacrev(lambda z: z * z)(z)
    with pytest.raises(TypeError, match="output 0 has dtype complex128"):
        nabla.func.jacfwd(lambda x: x * 1j)(x)


# -- gradcheck with complex inputs and outputs -------------------------------------------------
def _z(*shape):
    return nabla.tensor(_c(*shape), requires_grad=True)


def _x(*shape):
    return nabla.tensor(_r(*shape), requires_grad=True)


COMPOSITIONS = {
    # holomorphic: complex in, complex out
    "holomorphic": (lambda z, w: (z * w).exp() / (1 + z * z) + (w @ z).sin(), [(3, 3), (3, 3)]),
    "log_sqrt_pow": (lambda z: z.log() * z.sqrt() + z ** 2.5 - z.tanh().cos(), [(4,)]),
    # not holomorphic: complex in, real or complex out
    "abs_angle": (lambda z: z.abs() * z.angle() + z.real * z.imag, [(4,)]),
    "conj_mix": (lambda z, w: z.conj() * w + (z / w.conj()).abs(), [(4,), (4,)]),
    "views": (lambda z: nabla.view_as_complex(nabla.view_as_real(z) ** 2).conj() * z, [(2, 3)]),
    "mean_matmul": (lambda z: (z.conj().mT @ z).mean(0) / z.abs().sum(), [(3, 2)]),
}


@pytest.mark.parametrize("name", COMPOSITIONS)
def test_gradcheck_complex_compositions(name):
    fn, shapes = COMPOSITIONS[name]
    inputs = tuple(_z(*s) for s in shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradcheck_mixed_real_and_complex():
    def fn(z, x):
        w = z * x.to(nabla.complex128)                    # real -> complex
        return (w.exp() + x).angle() * x, (w.sin() / x).conj()   # a real and a complex output

    inputs = (_z(3), _x(3))
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)
    # a real input, complex outputs, and a non-differentiated complex constant
    c = nabla.tensor(_c(3))
    assert gradcheck(lambda x, c: (nabla.polar(x.exp(), x) * c).sqrt(), (_x(3), c))


def test_gradcheck_wants_complex128():
    z = nabla.tensor(_c(2).astype(np.complex64), requires_grad=True)
    with pytest.raises(ValueError, match="input 0 has dtype complex64.*complex128"):
        gradcheck(lambda z: z * z, (z,))


class SquareForgetsConjugate(Function):
    """z ** 2 whose vjp forgets to conjugate the derivative (g * 2z instead of g * 2 conj z)."""

    def forward(self, z):
        return z * z

    def vjp(self, g):
        return g * 2 * self.inputs[0]

    def jvp(self, t):
        return t * 2 * self.inputs[0]


class SquareConjugatesTangent(Function):
    """z ** 2 whose jvp wrongly conjugates the tangent (reverse mode is right)."""

    def forward(self, z):
        return z * z

    def vjp(self, g):
        return g * 2 * self.inputs[0].conj()

    def jvp(self, t):
        return t.conj() * 2 * self.inputs[0]


class RealPartWrongImag(Function):
    """Re z whose vjp also sends a gradient to the imaginary part."""
    uses_inputs = False

    def forward(self, z):
        return z.real.copy()

    def vjp(self, g):
        return nabla.complex(g, g)

    def jvp(self, t):
        return t.real


class SquareFirstOrderOnly(Function):
    """z ** 2 with right first-order rules that are constants (not differentiable again)."""

    def forward(self, z):
        return z * z

    def vjp(self, g):
        return g * nabla.tensor(2 * np.conj(self.inputs[0].detach().numpy()))

    def jvp(self, t):
        return t * nabla.tensor(2 * self.inputs[0].detach().numpy())


def test_gradcheck_fails_on_a_missing_conjugate():
    z = _z(3)
    fn = lambda z: SquareForgetsConjugate.apply(z)  # noqa: E731
    assert gradcheck(fn, (z,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match=r"reverse mode is wrong for input 0 \(\w+ part\)"):
        gradcheck(fn, (z,))
    assert gradcheck(fn, (z,), check_backward_ad=False)   # its forward rule is right


def test_gradcheck_fails_on_a_wrong_complex_jvp():
    x, z = _x(3), _z(3)
    fn = lambda x, z: SquareConjugatesTangent.apply(z) * x  # noqa: E731
    assert gradcheck(fn, (x, z), check_forward_ad=False)
    with pytest.raises(GradcheckError, match=r"forward mode tangent of output 0 \(\w+ part\) "
                                             r"along input 1 \(imaginary part\)"):
        gradcheck(fn, (x, z))


def test_gradcheck_names_the_imaginary_part():
    z = _z(3)
    fn = lambda z: RealPartWrongImag.apply(z)  # noqa: E731
    with pytest.raises(GradcheckError, match=r"input 0 \(imaginary part\) and output 0 "
                                             r"\(real part\)"):
        gradcheck(fn, (z,), check_forward_ad=False)
    assert gradcheck(fn, (z,), check_backward_ad=False)


def test_gradgradcheck_fails_on_rules_that_are_not_differentiable():
    z = _z(3)
    fn = lambda z: SquareFirstOrderOnly.apply(z)  # noqa: E731
    assert gradcheck(fn, (z,))
    assert gradgradcheck(fn, (z,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="vjp of"):
        gradgradcheck(fn, (z,), check_forward_ad=False)
    with pytest.raises(GradcheckError, match="jvp of"):
        gradgradcheck(fn, (z,), check_backward_ad=False)
