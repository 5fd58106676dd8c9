"""``nabla.linalg``: PyTorch's ``torch.linalg`` namespace.

The factorizations and solvers (``Det``, ``LogAbsDet``, ``Inv``, ``Solve``,
``Cholesky``, ``Eigh``, ``Svd``, ``Qr``, ``Pinv``, ``MatrixExp``, ``LuFactor``) are primitives
whose forward calls ``xp.linalg`` (NumPy or CuPy; SciPy's ``lu_factor`` for the LU) and
whose vjp and jvp are written in Tensor ops, so they are differentiable again
(``solve_triangular`` and ``lu_solve`` are ``solve`` on triangles). A primitive with several outputs returns them
packed into one array (eigh: eigenvalues as row 0 above the eigenvectors), which
the wrapper slices apart; slicing is differentiable, so every output gets its
gradient. The rest (norms, ``matrix_power``, ``multi_dot``, ``vecdot``, ...) is
composed from these and the ops in ``nabla.ops``.

Inputs are float32 or float64 (computed in their own precision, as NumPy's
linalg does); float16 and bfloat16 raise, as PyTorch does on the CPU (the norms
other than the SVD-based ones accept them). A singular or non-positive-definite
matrix raises ``LinAlgError`` naming the batch element (on NumPy; CuPy returns
NaNs instead of raising). Batches
run over the leading dimensions. As in PyTorch, the gradients of ``eigh`` and
``svd`` assume distinct eigenvalues / singular values, those of ``det`` and
``slogdet`` an invertible matrix, and ``cholesky`` and ``eigh`` read only the
lower triangle and return symmetric gradients.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from . import backend
from .autograd.function import Function
from .ops import linalg as _ops_linalg
from .ops.elementwise import NoGrad, where
from .ops.reduction import amax, amin
from .ops.reduction import sum as _sum
from .ops.reduction import vector_norm
from .ops.shape import cat, diag_embed
from .ops.shape import diagonal as _diagonal
from .tensor import Tensor

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "det", "slogdet", "inv",
           "solve", "cholesky", "matrix_power", "multi_dot", "vecdot", "cross", "diagonal",
           "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "lstsq", "matrix_exp", "matmul",
           "solve_triangular", "lu_factor", "lu_solve"]

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
qr_result = namedtuple("qr", ["Q", "R"])
lstsq_result = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
lu_factor_result = namedtuple("lu_factor", ["LU", "pivots"])

matmul = _ops_linalg.matmul


class LinAlgError(RuntimeError):
    """A matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


# -- checks and the call into xp.linalg ---------------------------------------------------
def _check(op: str, A: Tensor, *, square: bool = True, name: str = "A",
           low_ok: bool = False) -> None:
    """``A`` is a float32/float64 tensor (float16/bfloat16 too if ``low_ok``) of
    (batches of) matrices, square if asked."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: {name} must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, got shape "
                           f"{tuple(A.shape)} ({A.shape[-2]} by {A.shape[-1]} matrices)")
    _check_dtype(op, A, low_ok)


def _check_dtype(op: str, A: Tensor, low_ok: bool = False) -> None:
    if backend.dtype_kind(A.dtype) != "f":
        raise RuntimeError(f"{op}: expected a floating-point tensor, got dtype {A.dtype}")
    if A.array.dtype.itemsize < 4 and not low_ok:
        raise RuntimeError(f"{op}: low-precision dtypes are not supported, got {A.dtype}; "
                           f"convert with .float() first")


def _call(op: str, fn, *mats, problem: str = "the input matrix is singular"):
    """``fn(*mats)``, with NumPy's LinAlgError turned into ours naming the batch element.

    The ``mats`` share their batch dimensions (the callers broadcast them first).
    """
    try:
        return fn(*mats)
    except np.linalg.LinAlgError:
        for index in np.ndindex(mats[0].shape[:-2]):
            try:
                fn(*[m[index] for m in mats])
            except np.linalg.LinAlgError:
                where_ = f" (batch element {index})" if index else ""
                raise LinAlgError(f"{op}{where_}: {problem} (shape "
                                  f"{tuple(mats[0].shape)})") from None
        raise LinAlgError(f"{op}: {problem} (shape {tuple(mats[0].shape)})") from None


def _eye_like(A: Tensor, n: int) -> Tensor:
    xp = backend.get_array_module(A.array)
    return Tensor._wrap(xp.eye(n, dtype=A.array.dtype))


def _trace_product(X: Tensor, T: Tensor) -> Tensor:
    """tr(X @ T) over the last two dims, as sum(X^T * T)."""
    return _sum(X.mT * T, (-2, -1))


def _sym(X: Tensor) -> Tensor:
    return (X + X.mT) * 0.5


def _inverse_gaps(w: Tensor) -> Tensor:
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    gaps = w.unsqueeze(-2) - w.unsqueeze(-1)
    on_diag = Tensor._wrap(np.eye(w.shape[-1], dtype=bool))
    if not isinstance(gaps.array, np.ndarray):
        on_diag = on_diag.to(gaps.device)
    return where(on_diag, 0.0, 1.0 / where(on_diag, 1.0, gaps))


# -- norms --------------------------------------------------------------------------------
def _two_dims(op: str, dim, ndim: int) -> tuple:
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple of ints, got {dim!r}")
    d0, d1 = (d + ndim if d < 0 else d for d in dim)
    if not (0 <= d0 < ndim and 0 <= d1 < ndim) or d0 == d1:
        raise RuntimeError(f"{op}: dims {tuple(dim)} are not two distinct dimensions of a "
                           f"{ndim}-D tensor")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The matrix norm of ``A`` over the two dims ``dim``: 'fro', 'nuc', inf, -inf,
    1, -1 (max/min row or column sum of |A|), 2, -2 (largest/smallest singular value).
    As in PyTorch, float16 and bfloat16 work except for the SVD-based 'nuc', 2 and -2."""
    if dtype is not None:
        A = A.to(dtype)
    _check("linalg.matrix_norm", A, square=False, low_ok=ord not in ("nuc", 2, -2))
    d0, d1 = _two_dims("linalg.matrix_norm", dim, A.ndim)
    kept = list(A.shape)
    kept[d0] = kept[d1] = 1
    out_shape = tuple(kept) if keepdim else tuple(s for i, s in enumerate(A.shape)
                                                  if i not in (d0, d1))
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = _sum(s, -1) if ord == "nuc" else amax(s, -1) if ord == 2 else amin(s, -1)
        return out.reshape(out_shape)
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (d0, d1) if ord in (1, -1) else (d1, d0)  # 1: column sums
        sums = _sum(abs(A), summed, keepdim=True)
        out = amax(sums, reduced, keepdim=True) if ord > 0 else amin(sums, reduced,
                                                                     keepdim=True)
        return out.reshape(out_shape)
    raise RuntimeError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', inf, -inf, 1, -1, "
                       f"2 or -2, got {ord!r}")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or ``A`` is 1-D), a
    matrix norm when ``dim`` is a 2-tuple (or ``A`` is 2-D and ``ord`` is given); with
    neither ``dim`` nor ``ord``, the 2-norm of the flattened ``A``."""
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None, A must be 1-D "
                               f"or 2-D, got shape {tuple(A.shape)}")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: ord={ord!r} is a matrix norm; a vector norm "
                               f"(dim={dim}) needs a number")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: dim must be an int or a tuple of 1 or 2 ints, got {dim!r}")


# -- determinants and inverses --------------------------------------------------------------
class Inv(Function):
    """A^-1; d(A^-1) = -A^-1 dA A^-1."""
    uses_output = True

    def forward(self, a):
        return _call("linalg.inv", self.xp.linalg.inv, a)

    def vjp(self, g):
        return (-(self.out.mT @ g @ self.out.mT),)

    def jvp(self, t):
        return -(self.out @ t @ self.out)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A``; LinAlgError if one is singular."""
    _check("linalg.inv", A)
    return Inv.apply(A)


class Det(Function):
    """det A; d det = det * tr(A^-1 dA) (A invertible)."""
    uses_output = True

    def forward(self, a):
        return self.xp.linalg.det(a)

    def vjp(self, g):
        A = self.inputs[0]
        return ((g * self.out).unsqueeze(-1).unsqueeze(-1) * inv(A).mT,)

    def jvp(self, t):
        return self.out * _trace_product(inv(self.inputs[0]), t)


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in ``A``: shape (*batch,)."""
    _check("linalg.det", A)
    return Det.apply(A)


class LogAbsDet(Function):
    """log |det A|; its derivative is tr(A^-1 dA)."""

    def forward(self, a):
        return self.xp.linalg.slogdet(a)[1]

    def vjp(self, g):
        return (g.unsqueeze(-1).unsqueeze(-1) * inv(self.inputs[0]).mT,)

    def jvp(self, t):
        return _trace_product(inv(self.inputs[0]), t)


def slogdet(A: Tensor):
    """``(sign, logabsdet)`` of each square matrix: det A = sign * exp(logabsdet); a
    singular matrix gives (0, -inf). ``sign`` carries no gradient."""
    _check("linalg.slogdet", A)
    sign = NoGrad.apply(A, fn=lambda a: backend.get_array_module(a).linalg.slogdet(a)[0])
    return slogdet_result(sign, LogAbsDet.apply(A))


# -- solvers -------------------------------------------------------------------------------
class Solve(Function):
    """X = A^-1 B for A (*, n, n) and B (*, n, k) with equal batch dims.
    vjp: gB = A^-T g, gA = -gB X^T; jvp: dX = A^-1 (dB - dA X)."""
    uses_output = True

    def forward(self, a, b):
        return _call("linalg.solve", self.xp.linalg.solve, a, b)

    def vjp(self, g):
        A = self.inputs[0]
        gB = Solve.apply(A.mT, g)
        need_a, _ = self.needs_input_grad
        return (-(gB @ self.out.mT) if need_a else None), gB

    def jvp(self, tA, tB):
        rhs = -(tA @ self.out) if tB is None else tB if tA is None else tB - tA @ self.out
        return Solve.apply(self.inputs[0], rhs)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B). ``B`` is (*, n, k), or a batch of vectors
    (*, n) when B.ndim == 1 or B.shape == A.shape[:-1]; the batch dims broadcast."""
    _check("linalg.solve", A)
    _check_dtype("linalg.solve", B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: A and B must have the same dtype, got {A.dtype} "
                           f"and {B.dtype}")
    n = A.shape[-1]
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        B = B.unsqueeze(-1)
    if B.ndim < 2 or B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"linalg.solve: A of shape {tuple(A.shape)} and B of shape "
                           f"{tuple(B.shape)} do not match: B needs {n} "
                           f"{'rows' if left else 'columns'}")
    if not left:
        return solve(A.mT, B.mT).mT
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve: batch dimensions of A {tuple(A.shape)} and B "
                           f"{tuple(B.shape)} do not broadcast") from None
    A = A.broadcast_to(batch + tuple(A.shape[-2:]))
    B = B.broadcast_to(batch + tuple(B.shape[-2:]))
    X = Solve.apply(A, B)
    return X.squeeze(-1) if vector else X


class Cholesky(Function):
    """The lower Cholesky factor L of a symmetric positive-definite A (lower triangle read).
    jvp: dL = L Phi(L^-1 sym(dA) L^-T); vjp: gA = sym(L^-T Phi(L^T gL) L^-1), where Phi
    keeps the lower triangle and halves the diagonal."""
    uses_output = True
    uses_inputs = False

    def forward(self, a):
        return _call("linalg.cholesky", self.xp.linalg.cholesky, a,
                     problem="the input is not positive-definite")

    def vjp(self, g):
        L = self.out
        L_inv = inv(L)
        return (_sym(L_inv.mT @ _phi(L.mT @ g) @ L_inv),)

    def jvp(self, t):
        L = self.out
        L_inv = inv(L)
        return L @ _phi(L_inv @ _sym(t) @ L_inv.mT)


def _phi(X: Tensor) -> Tensor:
    return X.tril() - diag_embed(_diagonal(X, 0, -2, -1)) * 0.5


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L with A = L L^T (``upper=True``: U = L^T with A = U^T U); LinAlgError if a matrix
    is not positive-definite."""
    _check("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


def _triangle(A: Tensor, upper: bool, unitriangular: bool = False) -> Tensor:
    """The triangle of ``A`` a triangular solver reads (1s on the diagonal if unit)."""
    if unitriangular:
        strict = A.triu(1) if upper else A.tril(-1)
        return strict + _eye_like(A, A.shape[-1])
    return A.triu() if upper else A.tril()


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """X with A X = B (``left=False``: X A = B) for triangular A (*, n, n): only the
    ``upper`` or lower triangle of A is read (its diagonal taken as 1s with
    ``unitriangular``), so A's gradient lies in that triangle. B is (*, n, k); the batch
    dims broadcast. Solved as ``solve`` on the triangle: exact, and differentiable to any
    order through ``Solve``."""
    _check("linalg.solve_triangular", A)
    _check_dtype("linalg.solve_triangular", B)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must have at least 2 dimensions, got "
                           f"shape {tuple(B.shape)}")
    return solve(_triangle(A, upper, unitriangular), B, left=left)


class LuFactor(Function):
    """The LU factorization with partial pivoting of square A: P^T A = L U with L unit
    lower and U upper triangular, packed into one matrix (L below the diagonal, U on and
    above it). ``perm`` lists the rows of A in the order of P^T A; the wrapper computes
    the factorization (``_lu_arrays``) and passes it in. With F = L^-1 P^T dA U^-1:
    jvp: dL = L tril(F, -1), dU = triu(F) U; vjp: gA = P L^-T (tril(L^T gL, -1) +
    triu(gU U^T)) U^-T. The rules assume an invertible A."""
    uses_output = True
    uses_inputs = False

    def forward(self, a, lu, perm):
        self.perm = perm
        return lu

    def _factors(self):
        LU = self.out
        return _triangle(LU, upper=False, unitriangular=True), LU.triu()

    def vjp(self, g):
        L, U = self._factors()
        inner = (L.mT @ g.tril(-1)).tril(-1) + (g.triu() @ U.mT).triu()
        M = solve_triangular(U.mT, solve_triangular(L.mT, inner, upper=True,
                                                    unitriangular=True),
                             upper=False, left=False)
        return (_permute_rows(M, _inverse_permutation(self.perm)),)

    def jvp(self, t):
        L, U = self._factors()
        F = solve_triangular(U, solve_triangular(L, _permute_rows(t, self.perm), upper=False,
                                                 unitriangular=True), upper=True, left=False)
        return L @ F.tril(-1) + F.triu() @ U


def _permute_rows(X: Tensor, perm) -> Tensor:
    """The rows of the matrices in X reordered: row k of the result is row perm[k]."""
    from .ops.index import gather
    xp = backend.get_array_module(X.array)
    index = xp.broadcast_to(perm[..., :, None], tuple(X.shape[:-2]) + perm.shape[-1:]
                            + tuple(X.shape[-1:]))
    return gather(X, -2, Tensor._wrap(index))


def _inverse_permutation(perm):
    return backend.get_array_module(perm).argsort(perm, axis=-1)


def _pivots_to_permutation(pivots):
    """LAPACK's row swaps (0-based: row i swapped with row pivots[i], in turn) as the
    permutation they make: row k of P^T A is row perm[k] of A."""
    xp = backend.get_array_module(pivots)
    perm = xp.broadcast_to(xp.arange(pivots.shape[-1]), pivots.shape).copy()
    flat, swaps = perm.reshape(-1, perm.shape[-1]), pivots.reshape(-1, pivots.shape[-1])
    rows = xp.arange(flat.shape[0])
    for i in range(flat.shape[-1]):
        j = swaps[:, i]
        flat[rows, i], flat[rows, j] = flat[rows, j], flat[rows, i].copy()
    return perm


def _lu_arrays(a):
    """``(lu, pivots)`` of each matrix of ``a`` (0-based LAPACK pivots), through SciPy on
    the CPU and CuPy's SciPy on a GPU."""
    import warnings
    xp = backend.get_array_module(a)
    if xp is np:
        import scipy.linalg as sla
    else:  # pragma: no cover - GPU machines only
        import cupyx.scipy.linalg as sla
    lu, piv = xp.empty_like(a), xp.empty(a.shape[:-1], dtype=np.int64)
    with warnings.catch_warnings():  # a singular matrix factors all the same (U has a 0)
        warnings.simplefilter("ignore")
        for index in np.ndindex(a.shape[:-2]):
            lu[index], piv[index] = sla.lu_factor(a[index])
    return lu, piv


def lu_factor(A: Tensor, *, pivot: bool = True):
    """``(LU, pivots)``: the LU factorization with partial pivoting of square matrices,
    L (unit lower, diagonal implied) and U packed into ``LU``; ``pivots`` (int32,
    1-based, as LAPACK and PyTorch) says that row i was swapped with row pivots[i] - 1,
    in turn. A singular matrix factors too (U has a zero on its diagonal); the gradient
    assumes an invertible one."""
    _check("linalg.lu_factor", A)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented "
                           "(pivot=False); as on PyTorch's CPU, use pivot=True")
    lu, piv = _lu_arrays(A.array)
    LU = LuFactor.apply(A, lu=lu, perm=_pivots_to_permutation(piv))
    return lu_factor_result(LU, Tensor._wrap((piv + 1).astype(np.int32)))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """X with A X = B from A's ``lu_factor`` (``adjoint``: A^T X = B; ``left=False``:
    X A = B, or X A^T = B). Differentiable in B and in LU (whose gradient lies in the
    parts L and U occupy)."""
    _check("linalg.lu_solve", LU, name="LU")
    _check_dtype("linalg.lu_solve", B)
    if not isinstance(pivots, Tensor) or pivots.dtype.kind not in "iu":
        raise RuntimeError(f"linalg.lu_solve: pivots must be an integer tensor, got "
                           f"{getattr(pivots, 'dtype', type(pivots).__name__)}")
    n = LU.shape[-1]
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: pivots of shape {tuple(pivots.shape)} do not "
                           f"match LU of shape {tuple(LU.shape)} (expected "
                           f"{tuple(LU.shape[:-1])})")
    if B.ndim < 2 or B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"linalg.lu_solve: LU of shape {tuple(LU.shape)} and B of shape "
                           f"{tuple(B.shape)} do not match: B needs {n} "
                           f"{'rows' if left else 'columns'}")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    batch = np.broadcast_shapes(tuple(LU.shape[:-2]), tuple(B.shape[:-2]))
    LU = LU.broadcast_to(batch + (n, n))
    B = B.broadcast_to(batch + tuple(B.shape[-2:]))
    perm = _pivots_to_permutation(backend.get_array_module(LU.array).broadcast_to(
        backend.to_device(pivots.array, LU.device).astype(np.int64) - 1, batch + (n,)))
    if not adjoint:  # A = P L U
        Y = solve_triangular(LU, _permute_rows(B, perm), upper=False, unitriangular=True)
        return solve_triangular(LU, Y, upper=True)
    Y = solve_triangular(LU.mT, B, upper=False)  # A^T = U^T L^T P^T
    Y = solve_triangular(LU.mT, Y, upper=True, unitriangular=True)
    return _permute_rows(Y, _inverse_permutation(perm))


# -- products --------------------------------------------------------------------------------
def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring; n = 0 gives the identity, n < 0 powers of inv(A)."""
    _check("linalg.matrix_power", A)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {n!r}")
    if n == 0:
        return (A * 0.0).detach() + _eye_like(A, A.shape[-1])
    if n < 0:
        A, n = inv(A), -n
    result = None
    while n:
        if n & 1:
            result = A if result is None else result @ A
        n >>= 1
        if n:
            A = A @ A
    return result


def multi_dot(tensors) -> Tensor:
    """The product of 2-D matrices (the first and last may be 1-D vectors), left to right."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            raise RuntimeError(f"linalg.multi_dot: tensor {i} must be "
                               f"{' or '.join(f'{d}-D' for d in allowed)}, got shape "
                               f"{tuple(t.shape)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum(x * y, dim) with broadcasting (real tensors)."""
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: x and y must have the same dtype, got {x.dtype} "
                           f"and {y.dtype}")
    return _sum(x * y, dim)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The 3-vector cross product along ``dim`` (the last by default)."""
    return _ops_linalg.cross(input, other, dim=dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices in ``A`` (a view), as ``torch.linalg.diagonal``."""
    return _diagonal(A, offset, dim1, dim2)


# -- decompositions --------------------------------------------------------------------------
class Eigh(Function):
    """Eigenvalues w (ascending) and eigenvectors V of a symmetric A (lower triangle read),
    packed as (*, n + 1, n): row 0 holds w, rows 1: hold V.
    jvp: dw = diag(V^T sym(dA) V), dV = V (F * V^T sym(dA) V); vjp: gA = V (diag(gw) +
    F * skew(V^T gV)) V^T, with F_ij = 1 / (w_j - w_i) off the diagonal."""
    uses_output = True
    uses_inputs = False

    def forward(self, a):
        w, v = self.xp.linalg.eigh(a)
        return self.xp.concatenate([w[..., None, :], v], axis=-2)

    def _parts(self):
        return self.out[..., 0, :], self.out[..., 1:, :]

    def vjp(self, g):
        w, V = self._parts()
        gw, gV = g[..., 0, :], g[..., 1:, :]
        K = V.mT @ gV
        inner = diag_embed(gw) + _inverse_gaps(w) * (K - K.mT) * 0.5
        return (V @ inner @ V.mT,)

    def jvp(self, t):
        w, V = self._parts()
        P = V.mT @ _sym(t) @ V
        dw = _diagonal(P, 0, -2, -1)
        dV = V @ (_inverse_gaps(w) * P)
        return cat([dw.unsqueeze(-2), dV], -2)


def eigh(A: Tensor, UPLO: str = "L"):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, eigenvalues ascending; only
    the ``UPLO`` ('L' or 'U') triangle is read. Eigenvectors are defined up to sign."""
    _check("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if UPLO == "U":
        A = A.mT
    packed = Eigh.apply(A)
    return eigh_result(packed[..., 0, :], packed[..., 1:, :])


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices."""
    return eigh(A, UPLO).eigenvalues


class Svd(Function):
    """The reduced SVD A = U diag(S) Vh, packed as (*, m + 1 + n, k) with k = min(m, n):
    rows :m hold U, row m holds S, rows m+1: hold V = Vh^T. The rules assume distinct
    nonzero singular values (F_ij = 1 / (s_j^2 - s_i^2))."""
    uses_output = True

    def forward(self, a):
        xp = self.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        return xp.concatenate([u, s[..., None, :], vh.swapaxes(-1, -2)], axis=-2)

    def _parts(self):
        m = self.inputs[0].shape[-2]
        return self.out[..., :m, :], self.out[..., m, :], self.out[..., m + 1:, :]

    def vjp(self, g):
        A = self.inputs[0]
        m, n = A.shape[-2], A.shape[-1]
        U, s, V = self._parts()
        gU, gs, gV = g[..., :m, :], g[..., m, :], g[..., m + 1:, :]
        F = _inverse_gaps(s * s)
        J = F * (U.mT @ gU - gU.mT @ U)
        K = F * (V.mT @ gV - gV.mT @ V)
        S = s.unsqueeze(-2)  # X * S is X @ diag(s); S.mT * X is diag(s) @ X
        core = J * S + S.mT * K + diag_embed(gs)
        gA = U @ core @ V.mT
        if m > s.shape[-1]:
            gA = gA + (gU - U @ (U.mT @ gU)) / S @ V.mT
        if n > s.shape[-1]:
            gA = gA + (U / S) @ (gV.mT - (gV.mT @ V) @ V.mT)
        return (gA,)

    def jvp(self, t):
        U, s, V = self._parts()
        m, n = U.shape[-2], V.shape[-2]
        S = s.unsqueeze(-2)
        F = _inverse_gaps(s * s)
        P = U.mT @ t @ V
        ds = _diagonal(P, 0, -2, -1)
        dU = U @ (F * (P * S + S.mT * P.mT))
        dV = V @ (F * (S.mT * P + P.mT * S))
        if m > s.shape[-1]:
            tV = t @ V
            dU = dU + (tV - U @ (U.mT @ tV)) / S
        if n > s.shape[-1]:
            tU = t.mT @ U
            dV = dV + (tU - V @ (V.mT @ tU)) / S
        return cat([dU, ds.unsqueeze(-2), dV], -2)


def svd(A: Tensor, full_matrices: bool = True):
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending. With ``full_matrices`` and a
    non-square A, U or Vh are completed to square orthogonal matrices; as in PyTorch, the
    completing columns (any orthonormal basis of the complement) carry no gradient.
    Singular vectors are defined up to sign."""
    _check("linalg.svd", A, square=False)
    m, n = A.shape[-2], A.shape[-1]
    packed = Svd.apply(A)
    U, S, V = packed[..., :m, :], packed[..., m, :], packed[..., m + 1:, :]
    if full_matrices and m != n:
        if m > n:
            U = cat([U, _complement(U)], -1)
        else:
            V = cat([V, _complement(V)], -1)
    return svd_result(U, S, V.mT)


def _complement(Q: Tensor) -> Tensor:
    """An orthonormal basis of the complement of Q's columns (no gradient)."""
    k = Q.shape[-1]

    def fn(q):
        return backend.get_array_module(q).linalg.qr(q, mode="complete")[0][..., k:]
    return NoGrad.apply(Q.detach(), fn=fn)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of ``A``, descending: shape (*, min(m, n))."""
    _check("linalg.svdvals", A, square=False)
    return Svd.apply(A)[..., A.shape[-2], :]


class Qr(Function):
    """The reduced QR factorization of A (*, m, n) with m >= n, packed as (*, m + n, n):
    rows :m hold Q, rows m: hold R. With C = Q^T dA R^-1 and W = tril(C, -1):
    jvp: dR = (C - W + W^T) R, dQ = dA R^-1 - Q (C - W + W^T);
    vjp: gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q."""
    uses_output = True
    uses_inputs = False

    def forward(self, a):
        q, r = self.xp.linalg.qr(a, mode="reduced")
        return self.xp.concatenate([q, r], axis=-2)

    def _parts(self):
        n = self.out.shape[-1]
        m = self.out.shape[-2] - n
        return self.out[..., :m, :], self.out[..., m:, :]

    def vjp(self, g):
        Q, R = self._parts()
        m = Q.shape[-2]
        gQ, gR = g[..., :m, :], g[..., m:, :]
        M = R @ gR.mT - gQ.mT @ Q
        copyltu = M.tril(-1) + M.tril(-1).mT + diag_embed(_diagonal(M, 0, -2, -1))
        return ((gQ + Q @ copyltu) @ inv(R).mT,)

    def jvp(self, t):
        Q, R = self._parts()
        R_inv = inv(R)
        C = Q.mT @ t @ R_inv
        W = C.tril(-1)
        upper = C - W + W.mT
        return cat([t @ R_inv - Q @ upper, upper @ R], -2)


def qr(A: Tensor, mode: str = "reduced"):
    """``(Q, R)`` with A = Q R, Q orthonormal columns, R upper triangular. ``mode``:
    'reduced' (Q (*, m, k), R (*, k, n), k = min(m, n)), 'complete' (Q (*, m, m)),
    'r' (R only; Q is an empty tensor). Gradients need m >= n (and m == n for
    'complete'); the signs follow LAPACK, which may differ from PyTorch's."""
    _check("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = A.shape[-2], A.shape[-1]
    if m >= n:
        packed = Qr.apply(A)
        Q, R = packed[..., :m, :], packed[..., m:, :]
        if mode == "complete" and m > n:
            Q = cat([Q, _complement(Q)], -1)
            R = cat([R, R.new_zeros(tuple(R.shape[:-2]) + (m - n, n))], -2)
    else:  # wide: A = Q [R1 R2] with Q R1 the QR of the square left block
        if A.requires_grad:
            raise RuntimeError(f"linalg.qr: the gradient of QR of a wide matrix (shape "
                               f"{tuple(A.shape)}, m < n) is not implemented")
        packed = Qr.apply(A[..., :, :m])
        Q = packed[..., :m, :]
        R = cat([packed[..., m:, :], Q.mT @ A[..., :, m:]], -1)
    if mode == "r":
        return qr_result(A.new_zeros((0,)), R)
    return qr_result(Q, R)


# -- pseudo-inverse, least squares, matrix exponential -----------------------------------------
def _cutoff_rtol(m: int, n: int, dtype, atol, rtol) -> tuple:
    """PyTorch's defaults: rtol = eps * max(m, n) unless a positive atol is given."""
    atol = 0.0 if atol is None else float(atol)
    if rtol is None:
        rtol = np.finfo(dtype).eps * max(m, n) if atol <= 0 else 0.0
    return atol, float(rtol)


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse P of A (*, m, n), singular values at or below
    max(atol, rtol * s_max) dropped. Its rules hold where the rank does not change:
    dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P."""
    uses_output = True

    def forward(self, a, atol, rtol):
        xp = self.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        s_max = s.max(axis=-1, keepdims=True) if s.shape[-1] else s
        keep = s > xp.maximum(atol, rtol * s_max)
        s_inv = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0).astype(a.dtype)
        return (vh.swapaxes(-1, -2) * s_inv[..., None, :]) @ u.swapaxes(-1, -2)

    def vjp(self, g):  # the adjoint of the jvp below, grouped to keep the products small
        A, P = self.inputs[0], self.out
        gP = g.mT
        if A.shape[-2] <= A.shape[-1]:
            K = gP @ P
            KPt = K @ P.mT
            return (-(P @ K).mT + KPt - (A @ P) @ KPt + (P.mT @ P) @ (gP - K @ A),)
        K = P @ gP
        PtK = P.mT @ K
        return (-(K @ P).mT + PtK - PtK @ P @ A + (gP - A @ K) @ P @ P.mT,)

    def jvp(self, t):
        A, P = self.inputs[0], self.out
        return (-(P @ t @ P) + P @ (P.mT @ (t.mT - t.mT @ (A @ P)))
                + (t.mT - P @ (A @ t.mT)) @ (P.mT @ P))


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse (*, n, m) of A (*, m, n) through the SVD, dropping singular
    values <= max(atol, rtol * largest); ``hermitian`` is accepted and changes nothing
    but speed in PyTorch (here the SVD serves both)."""
    _check("linalg.pinv", A, square=hermitian)
    atol, rtol = _cutoff_rtol(A.shape[-2], A.shape[-1], A.array.dtype, atol, rtol)
    return Pinv.apply(A, atol=atol, rtol=rtol)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """The least-squares solution X of A X = B for A (*, m, n), B (*, m, k) or (*, m), as
    ``pinv(A) @ B`` (minimum norm when A is rank-deficient). Like PyTorch's default CPU
    driver ('gelsy'), ``residuals`` and ``singular_values`` are empty and ``rank`` (int64)
    counts the singular values above ``rcond`` (default eps * max(m, n)) times the largest.
    ``driver`` is accepted and ignored."""
    _check("linalg.lstsq", A, square=False)
    _check_dtype("linalg.lstsq", B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.lstsq: A and B must have the same dtype, got {A.dtype} "
                           f"and {B.dtype}")
    vector = B.ndim == A.ndim - 1
    B_mat = B.unsqueeze(-1) if vector else B
    if B_mat.ndim < 2 or B_mat.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: A of shape {tuple(A.shape)} and B of shape "
                           f"{tuple(B.shape)} do not match: B needs {A.shape[-2]} rows")
    m, n = A.shape[-2], A.shape[-1]
    _, rtol = _cutoff_rtol(m, n, A.array.dtype, None, rcond)
    X = Pinv.apply(A, atol=0.0, rtol=rtol) @ B_mat
    s = svdvals(A.detach())
    rank = NoGrad.apply(s, fn=lambda s: (s > rtol * s[..., :1]).sum(axis=-1).astype(np.int64))
    empty = A.new_zeros((0,))
    return lstsq_result(X.squeeze(-1) if vector else X, empty, rank, empty)


class MatrixExp(Function):
    """exp(A) by scaling and squaring a Taylor polynomial. Its rules are blocks of one
    larger exponential: exp([[A, E], [0, A]]) = [[exp(A), L(A, E)], [0, exp(A)]] where
    L(A, E) is the derivative in direction E (jvp); the vjp is L(A^T, g)."""
    TERMS = 18  # with ||A / 2^s||_1 <= 1/2 the remainder is below 0.5^19 / 19! ~ 1e-23

    def forward(self, a):
        xp = self.xp
        norm1 = float(xp.abs(a).sum(axis=-2).max()) if a.size else 0.0
        squarings = max(0, math.ceil(math.log2(norm1)) + 1) if norm1 > 0 else 0
        a = a / (2.0 ** squarings)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        out = eye
        for k in range(self.TERMS, 0, -1):  # Horner: I + A/1 (I + A/2 (I + ...))
            out = eye + (a @ out) / k
        for _ in range(squarings):
            out = out @ out
        return out

    def vjp(self, g):
        return (_exp_derivative(self.inputs[0].mT, g),)

    def jvp(self, t):
        return _exp_derivative(self.inputs[0], t)


def _exp_derivative(A: Tensor, E: Tensor) -> Tensor:
    """The derivative of exp at A in direction E: the top-right block of exp([[A, E], [0, A]])."""
    n = A.shape[-1]
    A, E = A.broadcast_to(E.shape), E
    block = cat([cat([A, E], -1), cat([A.new_zeros(tuple(A.shape)), A], -1)], -2)
    return MatrixExp.apply(block)[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential sum_k A^k / k! of each square matrix in ``A``."""
    _check("linalg.matrix_exp", A)
    return MatrixExp.apply(A)


# -- PyTorch's top-level names and Tensor methods for the same functions -------------------
def logdet(A: Tensor) -> Tensor:
    """log det A (``torch.logdet``): NaN where the determinant is negative, -inf where it
    is 0."""
    sign, logabsdet = slogdet(A)
    return where(sign < 0, math.nan, logabsdet)


def pinverse(A: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``pinv`` with singular values below ``rcond`` times the largest
    cut off."""
    return pinv(A, rtol=rcond)


inverse = inv  # torch.inverse

# PyTorch's Tensor methods for these (``A.det()``, ``A.inverse()``, ...)
TENSOR_METHODS = {"det": det, "slogdet": slogdet, "logdet": logdet, "inverse": inv,
                  "pinverse": pinverse, "matrix_exp": matrix_exp,
                  "matrix_power": matrix_power, "cholesky": cholesky}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
