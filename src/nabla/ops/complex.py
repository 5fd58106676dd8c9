"""Complex tensors: parts, conjugates, moduli and angles, with PyTorch's gradients.

For a real loss L of a complex tensor z = x + iy, ``z.grad`` is dL/dx + i dL/dy
(PyTorch's convention: twice the conjugate Wirtinger derivative). Every rule in
nabla follows from it:

* a holomorphic op f (exp, sin, mul, matmul, ...) has ``vjp(g) = g * conj(f'(z))``
  and ``jvp(t) = t * f'(z)``: the elementwise and linalg rules conjugate their
  saved factors when the cotangent is complex, and only then;
* a real input to a complex computation gets the real part of its cotangent
  (the engine's cast of a gradient to the input's dtype keeps the real part);
* the non-holomorphic ops (``real``, ``imag``, ``conj``, ``abs``, ``angle``) are
  the primitives below, each with its rule written out.

nabla conjugates eagerly: ``conj`` returns a new tensor holding the conjugate,
never a lazily conjugated view, so ``is_conj()`` is always False and
``resolve_conj()`` returns the tensor itself. ``real``, ``imag``,
``view_as_real`` and ``view_as_complex`` return copies, not views of the
input's memory (writing into them leaves the input unchanged).
"""
from __future__ import annotations

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import Step, _to_float, cos, sin, where


def _is_complex(t: Tensor) -> bool:
    return t.array.dtype.kind == "c"


def _check(input, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    return input


# -- the primitives ---------------------------------------------------------------------------
class Real(Function):
    """Re z, a real tensor. dL/dRe z = g, dL/dIm z = 0."""
    uses_inputs = False

    def forward(self, z):
        return z.real.copy()

    def vjp(self, g):
        return complex(g, g.mul(0.0))

    def jvp(self, t):
        return real(t)


class Imag(Function):
    """Im z, a real tensor. dL/dRe z = 0, dL/dIm z = g."""
    uses_inputs = False

    def forward(self, z):
        return z.imag.copy()

    def vjp(self, g):
        return complex(g.mul(0.0), g)

    def jvp(self, t):
        return imag(t)


class Conj(Function):
    """conj z; its cotangent is conjugated back."""
    uses_inputs = False

    def forward(self, z):
        return self.xp.conj(z)

    def vjp(self, g):
        return conj(g)

    def jvp(self, t):
        return conj(t)


class Complex(Function):
    """re + i im from two real tensors of one shape and dtype."""
    uses_inputs = False

    def forward(self, re, im):
        out = self.xp.empty(re.shape, dtype=backend.complex_dtype(re.dtype))
        out.real, out.imag = re, im
        return out

    def vjp(self, g):
        return real(g), imag(g)

    def jvp(self, tr, ti):
        like = tr if tr is not None else ti
        zero = like.mul(0.0)
        return complex(zero if tr is None else tr, zero if ti is None else ti)


class ViewAsReal(Function):
    """A complex (...) tensor as a real (..., 2) one of (real, imag) pairs."""
    uses_inputs = False

    def forward(self, z):
        return self.xp.stack([z.real, z.imag], axis=-1)

    def vjp(self, g):
        return view_as_complex(g)

    def jvp(self, t):
        return view_as_real(t)


class ViewAsComplex(Function):
    """A real (..., 2) tensor of (real, imag) pairs as a complex (...) one."""
    uses_inputs = False

    def forward(self, x):
        out = self.xp.empty(x.shape[:-1], dtype=backend.complex_dtype(x.dtype))
        out.real, out.imag = x[..., 0], x[..., 1]
        return out

    def vjp(self, g):
        return view_as_real(g)

    def jvp(self, t):
        return view_as_complex(t)


class ComplexAbs(Function):
    """|z| of a complex z, a real tensor; its gradient is g z / |z| (0 at z = 0)."""
    uses_output = True

    def forward(self, z):
        return self.xp.abs(z)

    def _parts(self):
        """(cos, sin) of the angle of z: Re z / |z| and Im z / |z| (0, 0 at z = 0)."""
        z, r = self.inputs[0], self.out
        safe = where(r == 0, r + 1, r)
        return real(z) / safe, imag(z) / safe

    def vjp(self, g):
        c, s = self._parts()
        return complex(g * c, g * s)

    def jvp(self, t):
        c, s = self._parts()
        return real(t) * c + imag(t) * s


class Angle(Function):
    """arg z of a complex z in (-pi, pi]; d arg = (Re z dIm z - Im z dRe z) / |z|^2."""

    def forward(self, z):
        return self.xp.angle(z)

    def _parts(self):
        """(d arg / d Re z, d arg / d Im z), both 0 at z = 0."""
        z = self.inputs[0]
        re, im = real(z), imag(z)
        r2 = re * re + im * im
        safe = where(r2 == 0, r2 + 1, r2)
        return -im / safe, re / safe

    def vjp(self, g):
        a, b = self._parts()
        return complex(g * a, g * b)

    def jvp(self, t):
        a, b = self._parts()
        return real(t) * a + imag(t) * b


# -- wrappers ---------------------------------------------------------------------------------
def real(input: Tensor) -> Tensor:
    """The real part (a real tensor); a real input is returned as it is."""
    return Real.apply(input) if _is_complex(_check(input, "real")) else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor (a real tensor)."""
    if not _is_complex(_check(input, "imag")):
        raise RuntimeError(f"imag: is not implemented for tensors with non-complex dtypes, got "
                           f"dtype {input.dtype}")
    return Imag.apply(input)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate, computed at once; a real input is returned as it is."""
    return Conj.apply(input) if _is_complex(_check(input, "conj")) else input


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate (the same as ``conj``: nabla always conjugates eagerly)."""
    return conj(input)


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: nabla's conjugates are never lazy, so there is nothing to resolve."""
    return _check(input, "resolve_conj")


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: nabla's negations are never lazy."""
    return _check(input, "resolve_neg")


def is_conj(input: Tensor) -> bool:
    """Always False: nabla conjugates eagerly, no tensor carries a lazy conjugate bit."""
    _check(input, "is_conj")
    return False


def is_neg(input: Tensor) -> bool:
    """Always False: nabla has no lazily negated tensors."""
    _check(input, "is_neg")
    return False


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001  (PyTorch's name)
    """``real + i imag`` from two float32 (-> complex64) or float64 (-> complex128)
    tensors of one shape and dtype."""
    _check(real, "complex"), _check(imag, "complex")
    if (real.dtype != imag.dtype or real.shape != imag.shape
            or backend.dtype_kind(real.array.dtype) != "f" or real.array.dtype.itemsize < 4):
        raise RuntimeError(f"complex: expects float32 or float64 tensors of one shape and "
                           f"dtype, got {tuple(real.shape)} {real.dtype} and "
                           f"{tuple(imag.shape)} {imag.dtype}")
    return Complex.apply(real, imag)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002  (PyTorch's names)
    """``abs * (cos(angle) + i sin(angle))`` from float32 or float64 tensors of one dtype
    (broadcasting)."""
    _check(abs, "polar"), _check(angle, "polar")
    if (abs.dtype != angle.dtype or backend.dtype_kind(abs.array.dtype) != "f"
            or abs.array.dtype.itemsize < 4):
        raise RuntimeError(f"polar: expects float32 or float64 tensors of one dtype, got "
                           f"{abs.dtype} and {angle.dtype}")
    return complex(abs * cos(angle), abs * sin(angle))


def view_as_real(input: Tensor) -> Tensor:
    """A complex (...) tensor as a real (..., 2) tensor of (real, imag) pairs (a copy)."""
    if not _is_complex(_check(input, "view_as_real")):
        raise RuntimeError(f"view_as_real: expects a complex tensor, got dtype {input.dtype}")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A real (..., 2) tensor of (real, imag) pairs as a complex (...) tensor (a copy)."""
    _check(input, "view_as_complex")
    if (input.ndim == 0 or input.shape[-1] != 2 or backend.dtype_kind(input.array.dtype) != "f"
            or input.array.dtype.itemsize < 4):
        raise RuntimeError(f"view_as_complex: expects a float32 or float64 tensor whose last "
                           f"dimension is 2, got shape {tuple(input.shape)} and dtype "
                           f"{input.dtype}")
    return ViewAsComplex.apply(input)


def complex_abs(input: Tensor) -> Tensor:
    """|z| of a complex tensor as a real tensor (``abs`` sends complex inputs here)."""
    return ComplexAbs.apply(input)


def angle(input: Tensor) -> Tensor:
    """The argument of each element in (-pi, pi]: for real inputs pi where negative,
    else 0 (with a zero gradient); integers give the default float dtype."""
    _check(input, "angle")
    if _is_complex(input):
        return Angle.apply(input)
    return Step.apply(_to_float(input, "angle"), ufunc="angle", kwargs={})


# -- Tensor attributes ----------------------------------------------------------------------------
def _H(self: Tensor) -> Tensor:
    """The conjugate transpose of a matrix (``x.H``)."""
    if self.ndim == 0:
        return conj(self)
    if self.ndim != 2:
        raise RuntimeError(f"H: is only supported on matrices (2-D tensors), got a "
                           f"{self.ndim}-D tensor of shape {tuple(self.shape)}; for batches "
                           f"of matrices use .mH")
    return conj(self.mT)


def _cfloat(self: Tensor) -> Tensor:
    return self.to(backend.complex64)


def _cdouble(self: Tensor) -> Tensor:
    return self.to(backend.complex128)


def _conj_physical_(self: Tensor) -> Tensor:
    return self._inplace(conj, _name="conj_physical_")


TENSOR_METHODS = {
    "real": property(real), "imag": property(imag), "H": property(_H),
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": _conj_physical_,
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj,
    "is_neg": is_neg, "angle": angle, "cfloat": _cfloat, "cdouble": _cdouble,
}

__all__ = ["real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj",
           "is_neg", "complex", "polar", "view_as_real", "view_as_complex", "angle"]
