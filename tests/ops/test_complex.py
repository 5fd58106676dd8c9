"""Complex tensors against PyTorch: values, result dtypes and gradients (PyTorch's
convention: for a real loss L, z.grad = dL/dRe z + i dL/dIm z; a real input gets
the real part), plus float64 finite-difference checks of real -> complex -> real
compositions (nabla's gradcheck differentiates real inputs)."""
import numpy as np
import pytest

import nabla
from nabla.autograd import gradcheck, gradgradcheck
from tests.optest import needs_torch, torch

RNG = np.random.default_rng(7)


def _c(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def _r(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def _np(t):
    """A torch or nabla tensor as a NumPy array."""
    if isinstance(t, nabla.Tensor):
        return t.detach().numpy()
    return t.detach().resolve_conj().numpy()


def _close(a, b, tol=1e-10):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _torch_dtype(dt):
    return getattr(torch, np.dtype(dt).name)


def _real_loss(out, w):
    """A real scalar that weighs the real and imaginary parts of ``out`` differently
    (so a wrong conjugate shows), for nabla or torch alike."""
    if out.is_complex():
        return (out.real * w.real + out.imag * w.imag).sum()
    return (out * w.real).sum()


def _grads_match(nb_fn, th_fn, arrays, tol=1e-9, out_shape=None):
    """Forward values and dtypes, and the gradients of every input, against torch."""
    xs = [nabla.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = nb_fn(*xs), th_fn(*ts)
    assert str(out.dtype) == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    _close(out, ref, tol)
    w = _c(*ref.shape)
    _real_loss(out, nabla.tensor(w)).backward()
    _real_loss(ref, torch.tensor(w)).backward()
    for x, t in zip(xs, ts):
        assert x.grad.dtype == x.dtype
        _close(x.grad, t.grad, tol)


# -- unary ops: values, dtypes and gradients of a complex leaf ----------------------------------
UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "tan", "sinh", "cosh", "rsqrt", "expm1",
         "log1p", "reciprocal", "neg", "abs", "angle", "sgn", "conj", "conj_physical", "square",
         "log2", "log10"]


@needs_torch
@pytest.mark.parametrize("name", UNARY)
def test_unary_complex128(name):
    _grads_match(lambda z: getattr(z, name)(), lambda z: getattr(z, name)(), [_c(3, 4)])


@needs_torch
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "abs", "angle", "reciprocal"])
def test_unary_complex64(name):
    z = _c(5, dtype=np.complex64)
    _grads_match(lambda z: getattr(z, name)(), lambda z: getattr(z, name)(), [z], tol=2e-5)


@needs_torch
@pytest.mark.parametrize("name", ["real", "imag"])
def test_parts_as_properties(name):
    _grads_match(lambda z: getattr(z, name), lambda z: getattr(z, name), [_c(2, 3)])


@needs_torch
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "real",
                                  "imag", "angle", "conj"])
def test_top_level_functions(name):
    _grads_match(getattr(nabla, name), getattr(torch, name), [_c(4)])


def test_abs_and_angle_at_zero_have_zero_gradient():
    z = nabla.tensor(np.array([0j, 3 + 4j]), requires_grad=True)
    (z.abs().sum() + z.angle().sum()).backward()
    np.testing.assert_allclose(z.grad.numpy(), [0, 0.6 + 0.8j + (-4 + 3j) / 25])


# -- binary ops ----------------------------------------------------------------------------------
BINARY = ["add", "sub", "mul", "div"]
# (a, b) pairs: complex with complex (broadcasting), with real tensors of both precisions
PAIRS = [
    (lambda: _c(3, 4), lambda: _c(4)),
    (lambda: _c(3, 1), lambda: _c(1, 4)),
    (lambda: _c(3, 4), lambda: _r(3, 4)),
    (lambda: _r(4), lambda: _c(3, 4)),
    (lambda: _c(3, 4, dtype=np.complex64), lambda: _r(4)),  # -> complex128
    (lambda: _r(2, 4, dtype=np.float32), lambda: _c(4, dtype=np.complex64)),
    (lambda: _c(2, 4, dtype=np.complex64), lambda: _c(4)),
]


@needs_torch
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("k", range(len(PAIRS)))
def test_binary(name, k):
    a, b = PAIRS[k][0](), PAIRS[k][1]()
    double = all(x.dtype in (np.float64, np.complex128) for x in (a, b))
    tol = 1e-9 if double else 2e-5
    _grads_match(getattr(nabla, name), getattr(torch, name), [a, b], tol=tol)


@needs_torch
@pytest.mark.parametrize("name", ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__",
                                  "__radd__", "__rsub__", "__rmul__", "__rtruediv__"])
@pytest.mark.parametrize("scalar", [2, 1.5, -0.5 + 2j])
def test_python_scalars(name, scalar):
    # Python scalars take the tensor's precision: complex64 * 1.5 -> complex64
    z = _c(3, dtype=np.complex64)
    _grads_match(lambda z: getattr(z, name)(scalar), lambda z: getattr(z, name)(scalar), [z],
                 tol=2e-5)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scalar", [1j, 2 - 1j])
def test_real_tensor_times_python_complex(dtype, scalar):
    tol = 2e-5 if dtype == np.float32 else 1e-10
    _grads_match(lambda x: x * scalar, lambda x: x * scalar, [_r(4, dtype=dtype)], tol=tol)
    _grads_match(lambda x: scalar / x, lambda x: scalar / x, [_r(4, dtype=dtype)], tol=tol)


@needs_torch
@pytest.mark.parametrize("exponent", [2, 3.0, 0.5, -1.5])
def test_pow_real_exponent(exponent):
    _grads_match(lambda z: z ** exponent, lambda z: z ** exponent, [_c(2, 3)])
    _grads_match(lambda z: nabla.pow(z, exponent), lambda z: torch.pow(z, exponent), [_c(3)])


@needs_torch
def test_result_dtypes_follow_torch():
    cases = [
        (_c(2, dtype=np.complex64), _r(2, dtype=np.float32)),
        (_c(2, dtype=np.complex64), _r(2, dtype=np.float64)),
        (_c(2, dtype=np.complex64), np.array(2.0)),  # a 0-d float64 does not widen
        (_c(2, dtype=np.complex64), np.arange(1, 3)),  # int64
        (_c(2, dtype=np.complex64), np.array([True, True])),
        (_c(2, dtype=np.complex128), _r(2, dtype=np.float32)),
        (_c(2, dtype=np.complex64), _c(2, dtype=np.complex128)),
        (np.array(1 + 1j, dtype=np.complex64), _r(2, dtype=np.float64)),
    ]
    for a, b in cases:
        for fn in ("add", "mul", "div"):
            for x, y in ((a, b), (b, a)):
                out = getattr(nabla, fn)(nabla.tensor(x), nabla.tensor(y))
                ref = getattr(torch, fn)(torch.tensor(x), torch.tensor(y))
                assert str(out.dtype) == str(ref.dtype).replace("torch.", ""), (fn, x, y)
                _close(out, ref, 1e-6)
    xi = nabla.arange(3)
    assert (xi * 1j).dtype == nabla.complex64 and (1j * xi).dtype == nabla.complex64
    assert (nabla.ones(2, dtype=nabla.bfloat16) * nabla.tensor(_c(2))).dtype == nabla.complex128


# -- reductions, matmul, shapes -------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_sum_and_mean(dim, keepdim):
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    _grads_match(lambda z: z.sum(**kw), lambda z: z.sum(**kw), [_c(3, 4)])
    _grads_match(lambda z: z.mean(**kw), lambda z: z.mean(**kw), [_c(3, 4)])


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((4,), (4, 3)),
                                   ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (3, 4, 2))])
def test_matmul(sa, sb):
    _grads_match(lambda a, b: a @ b, lambda a, b: a @ b, [_c(*sa), _c(*sb)])
    _grads_match(nabla.matmul, torch.matmul, [_c(*sa, dtype=np.complex64),
                                              _c(*sb, dtype=np.complex64)], tol=2e-5)


def test_matmul_mixed_real_complex_is_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="matmul: expected both operands to have the same"):
        nabla.tensor(_c(2, 2)) @ nabla.tensor(_r(2, 2))


@needs_torch
def test_shape_ops_and_indexing():
    _grads_match(lambda z: z.reshape(4, 3).transpose(0, 1)[1:, ::2] * z[0, 0],
                 lambda z: z.reshape(4, 3).transpose(0, 1)[1:, ::2] * z[0, 0], [_c(3, 4)])
    _grads_match(lambda z: z.mT @ z.mH + z.permute(1, 0) @ z.conj(),
                 lambda z: z.mT @ z.mH + z.permute(1, 0) @ z.conj(), [_c(3, 3)])
    _grads_match(lambda z: z.H, lambda z: z.H, [_c(2, 3)])
    _grads_match(lambda z: z.adjoint(), lambda z: z.adjoint(), [_c(2, 3, 4)])
    _grads_match(lambda z: z[[0, 2, 0]].unsqueeze(0).expand(2, 3, 4).sum(0),
                 lambda z: z[[0, 2, 0]].unsqueeze(0).expand(2, 3, 4).sum(0), [_c(3, 4)])


# -- conversions and chains between real and complex -------------------------------------------------
@needs_torch
@pytest.mark.parametrize("src,dst", [(np.float64, "complex128"), (np.float32, "complex64"),
                                     (np.float32, "complex128"), (np.complex128, "complex64"),
                                     (np.complex64, "complex128")])
def test_to_complex_keeps_the_graph(src, dst):
    x = _c(3) if np.dtype(src).kind == "c" else _r(3)
    x = x.astype(src)
    w = nabla.tensor(_c(3, dtype=np.complex64))
    tw = torch.tensor(w.numpy())
    _grads_match(lambda x: x.to(getattr(nabla, dst)) * w.to(getattr(nabla, dst)),
                 lambda x: x.to(getattr(torch, dst)) * tw.to(getattr(torch, dst)), [x], tol=2e-5)


@needs_torch
def test_cfloat_cdouble_and_complex_to_real():
    x = _r(4)
    _grads_match(lambda x: x.cfloat() * 2j, lambda x: x.cfloat() * 2j, [x], tol=2e-6)
    _grads_match(lambda x: x.cdouble().exp(), lambda x: x.cdouble().exp(), [x])
    z = nabla.tensor(_c(3), requires_grad=True)
    r = z.to(nabla.float64)  # keeps the real part (PyTorch warns; nabla does it quietly)
    np.testing.assert_array_equal(r.detach().numpy(), z.detach().numpy().real)
    (r * nabla.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [1, 2, 3])


CHAINS = [
    # real leaves -> complex intermediates -> a real output
    (lambda x, y: (nabla.complex(x, y) * nabla.complex(y, x)).exp().abs(),
     lambda x, y: (torch.complex(x, y) * torch.complex(y, x)).exp().abs()),
    (lambda x, y: ((x * 1j + y) / (y - 2j)).log().angle() + x.cdouble().sin().real,
     lambda x, y: ((x * 1j + y) / (y - 2j)).log().angle() + x.cdouble().sin().real),
    (lambda x, y: nabla.view_as_real(nabla.polar(x.abs() + 1, y).sqrt() ** 1.5),
     lambda x, y: torch.view_as_real(torch.polar(x.abs() + 1, y).sqrt() ** 1.5)),
    (lambda x, y: (nabla.complex(x, y) @ nabla.complex(y, x).mH).tanh().imag,
     lambda x, y: (torch.complex(x, y) @ torch.complex(y, x).mH).tanh().imag),
    (lambda x, y: (nabla.view_as_complex(nabla.stack([x, y], -1)) ** 2).mean(0).real,
     lambda x, y: (torch.view_as_complex(torch.stack([x, y], -1)) ** 2).mean(0).real),
]


@needs_torch
@pytest.mark.parametrize("k", range(len(CHAINS)))
def test_real_complex_real_chains_match_torch(k):
    _grads_match(*CHAINS[k], [_r(3, 3), _r(3, 3)])


@pytest.mark.parametrize("k", range(len(CHAINS)))
def test_real_complex_real_chains_gradcheck(k):
    # first and second order, vjp and jvp, by finite differences in float64
    inputs = (nabla.tensor(_r(3, 3), requires_grad=True),
              nabla.tensor(_r(3, 3), requires_grad=True))
    assert gradcheck(CHAINS[k][0], inputs)
    assert gradgradcheck(CHAINS[k][0], inputs)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "reciprocal"])
def test_holomorphic_ops_gradcheck_through_parts(name):
    # f(x + iy) split back into real parts: exercises the conjugates of every rule
    def fn(x, y):
        out = getattr(nabla.complex(x, y) * (1 + 0.5j) + 0.3, name)()
        return nabla.view_as_real(out * nabla.complex(y, x))
    inputs = (nabla.tensor(_r(2, 3), requires_grad=True),
              nabla.tensor(_r(2, 3), requires_grad=True))
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@needs_torch
def test_second_order_of_a_complex_leaf():
    z0 = _c(3, 3)
    w = _c(3, 3)

    def loss(lib, z, w):
        return ((z @ z).exp() * w).real.sum() + (z.sin() * z.conj()).abs().sum()

    z = nabla.tensor(z0, requires_grad=True)
    (g,) = nabla.autograd.grad(loss(nabla, z, nabla.tensor(w)), [z], create_graph=True)
    (gg,) = nabla.autograd.grad((g.abs() ** 2).sum() + (g * nabla.tensor(w)).imag.sum(), [z])
    tz = torch.tensor(z0, requires_grad=True)
    (tg,) = torch.autograd.grad(loss(torch, tz, torch.tensor(w)), [tz], create_graph=True)
    (tgg,) = torch.autograd.grad((tg.abs() ** 2).sum() + (tg * torch.tensor(w)).imag.sum(), [tz])
    _close(g, tg, 1e-9)
    _close(gg, tgg, 1e-9)


@needs_torch
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "reciprocal", "abs",
                                  "angle"])
def test_forward_mode_matches_torch(name):
    # nabla.func.jvp takes real primals only: z = x + iy carries the tangent u + iv
    def f(lib, x, y):
        z = lib.complex(x, y)
        out = getattr(z, name)() * z
        return lib.view_as_real(out) if out.is_complex() else out

    primals, tangents = (_r(4), _r(4)), (_r(4), _r(4))
    out, tangent = nabla.func.jvp(lambda x, y: f(nabla, x, y),
                                  tuple(nabla.tensor(p) for p in primals),
                                  tuple(nabla.tensor(t) for t in tangents))
    ref, rtangent = torch.func.jvp(lambda x, y: f(torch, x, y),
                                   tuple(torch.tensor(p) for p in primals),
                                   tuple(torch.tensor(t) for t in tangents))
    _close(out, ref)
    _close(tangent, rtangent)


# -- creation, attributes, errors -------------------------------------------------------------------
def test_creation_dtypes():
    assert nabla.tensor(1 + 2j).dtype == nabla.complex64
    assert nabla.tensor([1j, 2, 3.5]).dtype == nabla.complex64
    assert nabla.tensor(np.array([1j])).dtype == nabla.complex128  # arrays keep their dtype
    assert nabla.tensor(np.array([1j], np.complex64)).dtype == nabla.complex64
    assert nabla.tensor([1j], dtype=nabla.complex128).dtype == nabla.complex128
    assert nabla.tensor([1.0], dtype="complex64").dtype == nabla.complex64
    assert nabla.zeros(2, dtype=nabla.cdouble).dtype == nabla.complex128
    np.testing.assert_array_equal(nabla.tensor([1 + 2j, 3]).numpy(), [1 + 2j, 3])
    previous = nabla.get_default_dtype()
    nabla.set_default_dtype(nabla.float64)
    try:
        assert nabla.tensor(1j).dtype == nabla.complex128
        assert (nabla.arange(2) * 1j).dtype == nabla.complex128
    finally:
        nabla.set_default_dtype(previous)
    with pytest.raises(TypeError, match="tensor: complex data cannot be stored in dtype float32"):
        nabla.tensor([1j], dtype=nabla.float32)


def test_complex_leaves_require_grad():
    z = nabla.tensor([1 + 1j], requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert nabla.zeros(2, dtype=nabla.complex64, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only floating-point tensors \\(and complex ones\\)"):
        nabla.tensor([1, 2], requires_grad=True)


def test_attributes():
    x = nabla.tensor(_r(2, 3))
    z = nabla.tensor(_c(2, 3))
    assert x.real is x and x.conj() is x and x.conj_physical() is x
    with pytest.raises(RuntimeError, match="imag: is not implemented for tensors with "
                                           "non-complex dtypes"):
        x.imag
    np.testing.assert_array_equal(z.real.numpy(), z.numpy().real)
    np.testing.assert_array_equal(z.imag.numpy(), z.numpy().imag)
    np.testing.assert_array_equal(z.conj().numpy(), z.numpy().conj())
    np.testing.assert_array_equal(z.H.numpy(), z.numpy().conj().T)
    np.testing.assert_array_equal(z.mH.numpy(), z.numpy().conj().T)
    np.testing.assert_array_equal(z.mT.numpy(), z.numpy().T)
    np.testing.assert_array_equal(nabla.tensor(1 + 1j).H.numpy(), np.complex64(1 - 1j))
    with pytest.raises(RuntimeError, match="H: is only supported on matrices"):
        nabla.tensor(_c(2, 2, 2)).H
    assert not z.is_conj() and not z.conj().is_conj() and not nabla.is_conj(z)
    assert z.resolve_conj() is z and z.resolve_neg() is z and not z.is_neg()
    assert z.is_complex() and not z.is_floating_point()
    assert z.cfloat().dtype == nabla.complex64 and x.cdouble().dtype == nabla.complex128
    np.testing.assert_array_equal(nabla.angle(nabla.tensor([-2.0, 0.0, 3.0])).numpy(),
                                  np.float32([np.pi, 0, 0]))
    assert nabla.angle(nabla.tensor([-1, 2])).dtype == nabla.float32
    zc = nabla.tensor(_c(3))
    zc.conj_physical_()
    assert zc.dtype == nabla.complex128
    np.testing.assert_allclose(
        nabla.polar(nabla.tensor([2.0]), nabla.tensor([0.5])).numpy(), [2 * np.exp(0.5j)],
        rtol=1e-6)


def test_unsupported_ops_refuse_complex_inputs():
    z = nabla.tensor(_c(3))
    for fn in (nabla.sigmoid, nabla.erf, nabla.atan, nabla.lgamma):
        with pytest.raises(RuntimeError, match="complex tensors are not supported, got dtype "
                                               "complex128"):
            fn(z)
    with pytest.raises(RuntimeError, match="polar: expects float32 or float64 tensors of one"):
        nabla.polar(nabla.tensor([1.0]), nabla.tensor([1.0], dtype=nabla.float64))
    with pytest.raises(RuntimeError, match="complex: expects float32 or float64 tensors"):
        nabla.complex(nabla.tensor([1.0]), nabla.tensor([1.0, 2.0]))


def test_repr_and_item():
    z = nabla.tensor([1 + 2j])
    assert "dtype=nabla.complex64" in repr(z)
    assert z.item() == 1 + 2j


def test_backward_of_a_complex_scalar_needs_an_explicit_gradient():
    z = nabla.tensor(np.array([1 + 2j, 3 - 1j]), requires_grad=True)
    with pytest.raises(RuntimeError, match="only for real scalar outputs, but output 0 is "
                                           "complex128"):
        (z * z).sum().backward()
    (z * z).sum().backward(nabla.tensor(np.array(1 + 0j)))
    # PyTorch: d/dz* of sum(z^2) with grad 1 is conj(2z)
    np.testing.assert_allclose(z.grad.numpy(), np.conj(2 * np.array([1 + 2j, 3 - 1j])))


@pytest.mark.parametrize("name", ["prod", "cumprod"])
@pytest.mark.parametrize("values", [[1 + 2j, 0.5 - 1j, -1 + 0.3j], [1 + 2j, 0j, -1 + 0.3j]],
                         ids=["no-zero", "a-zero"])
def test_product_gradients_conjugate(name, values):
    """prod and cumprod of complex inputs: g * conj(d out / d x), with and without zeros."""
    z = np.array(values)
    fn = (lambda t: t.prod()) if name == "prod" else (lambda t: t.cumprod(0))
    assert gradcheck(fn, (nabla.tensor(z, requires_grad=True),))
    if torch is not None:
        weight = np.array([0.3 - 1j])
        a = nabla.tensor(z, requires_grad=True)
        (fn(a) * nabla.tensor(weight)).real.sum().backward()
        t = torch.tensor(z, requires_grad=True)
        (fn(t) * torch.tensor(weight)).real.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_of_complex_are_real(name):
    """var of complex z is mean |z - mean(z)|^2 (real), as in PyTorch; gradients conjugate."""
    z = RNG_C.standard_normal((3, 4)) + 1j * RNG_C.standard_normal((3, 4))
    out = getattr(nabla.tensor(z), name)(1)
    assert out.dtype == nabla.float64
    expected = np.var(z, axis=1, ddof=1)
    np.testing.assert_allclose(out.numpy(), np.sqrt(expected) if name == "std" else expected)
    assert gradcheck(lambda t: getattr(t, name)(1), (nabla.tensor(z, requires_grad=True),))
    if torch is not None:
        a, t = nabla.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        getattr(a, name)(1).sum().backward()
        getattr(t, name)(1).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10)


RNG_C = np.random.default_rng(7)
