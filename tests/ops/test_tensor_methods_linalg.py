"""Tensor methods and top-level functions that fill gaps against torch: the linear algebra
of torch's top level (lu, lu_solve, triangular_solve, cholesky_solve/inverse, qr, svd,
vdot, ger) and linalg.lu_factor/lu_solve/solve_triangular beneath them, index_reduce,
masked_scatter, histogram, igamma/igammac, bit shifts and in-place bitwise ops,
as_strided, the unsafe_ splits, new_empty_strided and resize_."""
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.special

import nabla as nb
from tests.optest import check_op, needs_torch, rand, torch

# torch warns that its old top-level linear algebra is deprecated; the oracle still counts
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _tf(fn):
    return None if torch is None else fn


def _well_conditioned(n: int, batch=(), seed: int = 0) -> np.ndarray:
    return rand(*batch, n, n, seed=seed) + 3 * np.eye(n)


def _spd_factor(n: int, batch=(), seed: int = 0) -> np.ndarray:
    m = rand(*batch, n, n, seed=seed)
    return np.linalg.cholesky(m @ np.swapaxes(m, -1, -2) + n * np.eye(n))


# -- LU ------------------------------------------------------------------------------------
# bfloat16 legs are off throughout this section: nabla.linalg (as PyTorch's CPU linalg)
# only takes float32 and float64
@pytest.mark.parametrize("batch", [(), (2,)])
def test_lu_factor(batch):
    A = rand(*batch, 4, 4)

    def ref(a):
        out = np.empty_like(a)
        for i in np.ndindex(a.shape[:-2]):
            out[i] = scipy.linalg.lu_factor(a[i])[0]
        return out
    check_op(lambda a: nb.linalg.lu_factor(a).LU, [A], ref=ref, bf16_tol=None,
             torch_fn=_tf(lambda a: torch.linalg.lu_factor(a).LU))
    check_op(lambda a: a.lu()[0], [A], torch_fn=_tf(lambda a: a.lu()[0]), bf16_tol=None)


def test_lu_pivots_and_infos():
    A = rand(3, 4, 4)
    A[1, :, 2] = 0.0  # singular: the third column is zero
    LU, pivots, infos = nb.tensor(A).lu(get_infos=True)
    assert pivots.dtype == nb.int32 and infos.dtype == nb.int32
    for i in (0, 2):
        np.testing.assert_array_equal(pivots.numpy()[i],
                                      scipy.linalg.lu_factor(A[i])[1] + 1)  # 1-based
    assert infos.tolist()[0] == 0 and infos.tolist()[1] == 3
    if torch is not None:
        tLU, tpiv, tinfos = torch.tensor(A).lu(get_infos=True)
        np.testing.assert_allclose(LU.numpy(), tLU.numpy(), atol=1e-12)
        np.testing.assert_array_equal(pivots.numpy(), tpiv.numpy())
        np.testing.assert_array_equal(infos.numpy(), tinfos.numpy())
    # P L U rebuilds A from the packed factors and the pivots
    P, L, U = scipy.linalg.lu(A[0])
    np.testing.assert_allclose(np.tril(LU.numpy()[0], -1) + np.eye(4), L, atol=1e-12)
    np.testing.assert_allclose(np.triu(LU.numpy()[0]), U, atol=1e-12)


@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False),
                                          (False, True)])
def test_linalg_lu_solve(left, adjoint):
    A = _well_conditioned(4, (2,))
    B = rand(2, 4, 3, seed=1) if left else rand(2, 3, 4, seed=1)
    LU, pivots = nb.linalg.lu_factor(nb.tensor(A))
    lu = LU.numpy()
    tpiv = None if torch is None else torch.tensor(pivots.numpy())

    def ref(lu_data, b):
        a = A if not adjoint else np.swapaxes(A, -1, -2)
        return np.linalg.solve(a, b) if left else np.swapaxes(
            np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    check_op(lambda lu_, b: nb.linalg.lu_solve(lu_, pivots, b, left=left, adjoint=adjoint),
             [lu, B], ref=ref, bf16_tol=None,
             torch_fn=_tf(lambda lu_, b: torch.linalg.lu_solve(lu_, tpiv, b, left=left,
                                                               adjoint=adjoint)))


def test_lu_solve_method_and_broadcasting():
    A = _well_conditioned(3, (2,))
    b = rand(3, 2, seed=2)  # broadcast over A's batch
    LU, pivots = nb.lu(nb.tensor(A))
    X = nb.tensor(b).lu_solve(LU, pivots)
    np.testing.assert_allclose(X.numpy(), np.linalg.solve(A, b), atol=1e-12)
    assert nb.lu_solve(nb.tensor(b), LU, pivots).shape == (2, 3, 2)
    with pytest.raises(RuntimeError, match=r"lu_solve: pivots of shape \(2, 2\) do not match"):
        nb.linalg.lu_solve(LU, pivots[:, :2], nb.tensor(b))
    with pytest.raises(RuntimeError, match="lu_factor: LU without pivoting"):
        nb.linalg.lu_factor(nb.tensor(A), pivot=False)


# -- triangular solves and Cholesky-based solves ---------------------------------------------
@pytest.mark.parametrize("upper,left,unit", [(True, True, False), (False, True, True),
                                             (True, False, True), (False, False, False)])
def test_linalg_solve_triangular(upper, left, unit):
    A = _well_conditioned(4, (2,))
    B = rand(2, 4, 3, seed=1) if left else rand(2, 3, 4, seed=1)

    def ref(a, b):
        t = np.triu(a) if upper else np.tril(a)
        if unit:
            t = t - t * np.eye(4) + np.eye(4)
        return np.linalg.solve(t, b) if left else np.swapaxes(
            np.linalg.solve(np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    check_op(lambda a, b: nb.linalg.solve_triangular(a, b, upper=upper, left=left,
                                                     unitriangular=unit),
             [A, B], ref=ref, bf16_tol=None,
             torch_fn=_tf(lambda a, b: torch.linalg.solve_triangular(
                 a, b, upper=upper, left=left, unitriangular=unit)))


@pytest.mark.parametrize("upper,transpose,unit", [(True, False, False), (False, True, False),
                                                  (True, True, True), (False, False, True)])
def test_triangular_solve(upper, transpose, unit):
    A = _well_conditioned(3, (2,))
    b = rand(2, 3, 2, seed=1)

    def ref(b_, a):
        t = np.triu(a) if upper else np.tril(a)
        if unit:
            t = t - t * np.eye(3) + np.eye(3)
        return np.linalg.solve(np.swapaxes(t, -1, -2) if transpose else t, b_)
    check_op(lambda b_, a: b_.triangular_solve(a, upper, transpose, unit).solution,
             [b, A], ref=ref, bf16_tol=None,
             torch_fn=_tf(lambda b_, a: torch.triangular_solve(b_, a, upper, transpose,
                                                               unit).solution))
    A_t = nb.tensor(A)
    copy = nb.triangular_solve(nb.tensor(b), A_t, upper).cloned_coefficient
    np.testing.assert_array_equal(copy.numpy(), A)
    assert not np.shares_memory(copy.numpy(), A_t.numpy())


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse(upper):
    L = _spd_factor(3, (2,))
    factor = np.swapaxes(L, -1, -2) if upper else L
    A = L @ np.swapaxes(L, -1, -2)
    B = rand(3, 2, seed=3)  # broadcasts over the factor's batch

    def triangle(t):  # gradcheck perturbs the whole matrix; only a triangle is read
        return t.triu() if upper else t.tril()
    check_op(lambda b, f: nb.cholesky_solve(b, triangle(f), upper), [B, factor],
             ref=lambda b, f: np.linalg.solve(A, b), bf16_tol=None,
             torch_fn=_tf(lambda b, f: torch.cholesky_solve(b, triangle(f), upper)))
    check_op(lambda f: triangle(f).cholesky_inverse(upper), [factor],
             ref=lambda f: np.linalg.inv(A), bf16_tol=None,
             torch_fn=_tf(lambda f: triangle(f).cholesky_inverse(upper)))


@needs_torch
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_gradient_of_the_whole_factor(upper):
    """As in PyTorch, the factor's gradient is that of (L L^T)^-1 B in all of L."""
    L = _spd_factor(3, seed=4)
    factor = L.T if upper else L
    B = rand(3, 2, seed=5)
    g = rand(3, 2, seed=6)
    f, b = nb.tensor(factor, requires_grad=True), nb.tensor(B, requires_grad=True)
    tf, tb = torch.tensor(factor, requires_grad=True), torch.tensor(B, requires_grad=True)
    grads = nb.autograd.grad(nb.cholesky_solve(b, f, upper), [b, f], nb.tensor(g))
    tgrads = torch.autograd.grad(torch.cholesky_solve(tb, tf, upper), [tb, tf], torch.tensor(g))
    for got, want in zip(grads, tgrads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    unread = np.tril(grads[1].numpy(), -1) if upper else np.triu(grads[1].numpy(), 1)
    assert np.abs(unread).max() > 1e-3  # not confined to the triangle the solve reads
    ginv = nb.autograd.grad(nb.cholesky_inverse(f, upper), f, nb.tensor(rand(3, 3, seed=7)))[0]
    tginv = torch.autograd.grad(torch.cholesky_inverse(tf, upper), tf,
                                torch.tensor(rand(3, 3, seed=7)))[0]
    np.testing.assert_allclose(ginv.numpy(), tginv.numpy(), atol=1e-12)


# -- qr, svd, vdot, ger -------------------------------------------------------------------
@pytest.mark.parametrize("shape,some", [((5, 3), True), ((5, 3), False), ((2, 4, 4), True)])
def test_qr_some(shape, some):
    A = rand(*shape)
    Q, R = nb.tensor(A).qr(some)
    k = shape[-2] if not some else min(shape[-2:])
    assert Q.shape == shape[:-2] + (shape[-2], k) and R.shape == shape[:-2] + (k, shape[-1])
    np.testing.assert_allclose((Q @ R).numpy(), A, atol=1e-12)
    np.testing.assert_allclose(np.abs(R.numpy()), np.abs(np.linalg.qr(
        A, mode="reduced" if some else "complete")[1]), atol=1e-12)
    if torch is not None:
        tQ, tR = torch.qr(torch.tensor(A), some)
        assert tuple(tQ.shape) == Q.shape and tuple(tR.shape) == R.shape
    # the gradient is linalg.qr's; A = QR is reproduced through it
    check_op(lambda a: nb.qr(a).R.abs(), [A], ref=lambda a: np.abs(np.linalg.qr(a)[1]),
             bf16_tol=None, torch_fn=_tf(lambda a: torch.qr(a).R.abs()))


@pytest.mark.parametrize("shape,some", [((5, 3), True), ((3, 5), False), ((2, 4, 3), True)])
def test_svd_returns_v(shape, some):
    A = rand(*shape)
    U, S, V = nb.svd(nb.tensor(A), some)
    m, n = shape[-2:]
    k = min(m, n)
    assert U.shape[-2:] == ((m, k) if some else (m, m))
    assert V.shape[-2:] == ((n, k) if some else (n, n))
    rebuilt = (U[..., :k] * S.unsqueeze(-2)) @ V[..., :k].mT
    np.testing.assert_allclose(rebuilt.numpy(), A, atol=1e-12)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(A, compute_uv=False), atol=1e-12)
    if torch is not None:
        tU, tS, tV = torch.svd(torch.tensor(A), some)
        assert tuple(tU.shape) == U.shape and tuple(tV.shape) == V.shape
    U0, S0, V0 = nb.tensor(A).svd(some, compute_uv=False)
    assert U0.shape[-2:] == (m, m) and V0.shape[-2:] == (n, n)
    assert not U0.numpy().any() and not V0.numpy().any()
    np.testing.assert_allclose(S0.numpy(), S.numpy(), atol=1e-12)


def test_svd_gradient_through_sign_free_products():
    # U V^T (the polar factor) and S do not depend on the singular vectors' signs
    def fn(a):
        U, S, V = a.svd()
        return U @ V.mT, S
    check_op(fn, [rand(4, 3)], bf16_tol=None,
             torch_fn=_tf(lambda a: (lambda u, s, v: (u @ v.mT, s))(*torch.svd(a))))


def test_vdot_and_ger():
    a, b = rand(5), rand(5, seed=1)
    check_op(lambda x, y: x.vdot(y), [a, b], ref=np.vdot, torch_fn=_tf(torch.vdot))
    check_op(lambda x, y: nb.ger(x, y), [a, rand(3, seed=1)], ref=np.outer,
             torch_fn=_tf(torch.ger))
    with pytest.raises(RuntimeError, match=r"vdot: expected input to be a 1-D tensor, got "
                                           r"shape \(2, 2\)"):
        nb.vdot(nb.ones(2, 2), nb.ones(4))
    with pytest.raises(RuntimeError, match="vdot: inputs must have the same length, got 2 and 3"):
        nb.vdot(nb.ones(2), nb.ones(3))


# -- index_reduce and masked_scatter --------------------------------------------------------
def _index_reduce_ref(x, dim, index, src, reduce, include_self):
    out = np.moveaxis(x.copy(), dim, 0)
    src = np.moveaxis(src, dim, 0)
    groups = {}
    for j, i in enumerate(index):
        groups.setdefault(int(i), []).append(src[j])
    for i, rows in groups.items():
        vals = ([out[i]] if include_self else []) + rows
        stack = np.stack(vals)
        out[i] = {"prod": np.prod, "mean": np.mean, "amax": np.max,
                  "amin": np.min}[reduce](stack, axis=0)
    return np.moveaxis(out, 0, dim)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    x, src = rand(3, 4), rand(3, 5, seed=1)
    index = np.array([0, 2, 0, 3, 2])
    tindex = None if torch is None else torch.tensor(index)
    check_op(lambda a, s: a.index_reduce(1, nb.tensor(index), s, reduce,
                                         include_self=include_self),
             [x, src], ref=lambda a, s: _index_reduce_ref(a, 1, index, s, reduce, include_self),
             torch_fn=_tf(lambda a, s: a.index_reduce(1, tindex, s, reduce,
                                                      include_self=include_self)))


def test_index_reduce_integers_in_place_and_errors():
    x = nb.tensor([[-1, 2, 3], [4, 5, 6]])
    src = nb.tensor([[4, -8], [1, 1]])
    out = x.index_reduce(1, nb.tensor([0, 0]), src, "mean")
    if torch is not None:
        want = torch.tensor(x.numpy()).index_reduce(1, torch.tensor([0, 0]),
                                                    torch.tensor(src.numpy()), "mean")
        np.testing.assert_array_equal(out.numpy(), want.numpy())
    y = nb.zeros(2, 4)
    y.index_reduce_(1, nb.tensor([1, 3, 1]), nb.tensor([[2.0, 5.0, 3.0]] * 2), "amax",
                    include_self=False)
    np.testing.assert_array_equal(y.numpy(), [[0, 3, 0, 5]] * 2)
    with pytest.raises(RuntimeError, match="index_reduce: reduce must be one of prod, mean, "
                                           "amax or amin; got 'sum'"):
        nb.zeros(3).index_reduce(0, nb.tensor([0]), nb.ones(1), "sum")
    with pytest.raises(RuntimeError, match=r"index_reduce: source of shape \(2,\) does not"):
        nb.zeros(3).index_reduce(0, nb.tensor([0]), nb.ones(2), "prod")


def test_masked_scatter():
    rng = np.random.default_rng(0)
    mask = rng.random((2, 3)) > 0.4
    n = int(mask.sum())

    def ref(x, s):
        out = np.broadcast_to(x, mask.shape).copy()
        out[mask] = s.reshape(-1)[:n]
        return out
    tmask = None if torch is None else torch.tensor(mask)
    # the input broadcasts with the mask; source has spare elements (they get no gradient)
    check_op(lambda x, s: nb.masked_scatter(x, nb.tensor(mask), s), [rand(3), rand(4, 2)],
             ref=ref, torch_fn=_tf(lambda x, s: torch.masked_scatter(x, tmask, s)))
    y = nb.zeros(2, 3)
    y.masked_scatter_(nb.tensor(mask[0]), nb.arange(1.0, 7.0))
    want = np.zeros((2, 3), np.float32)
    want[np.broadcast_to(mask[0], (2, 3))] = np.arange(1.0, 7.0)[:2 * int(mask[0].sum())]
    np.testing.assert_array_equal(y.numpy(), want)
    with pytest.raises(RuntimeError, match="masked_scatter: the mask has 3 True entries but "
                                           r"source \(shape \(2,\)\) only 2 elements"):
        nb.zeros(3).masked_scatter(nb.ones(3, dtype=nb.bool_), nb.ones(2))


# -- histogram ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(bins=4), dict(bins=5, range=(-1.0, 1.5)),
                                    dict(bins=3, weight=True, density=True),
                                    dict(bins=6, density=True), dict(bins="edges")])
def test_histogram(kwargs):
    x = rand(5, 7, seed=3).astype(np.float32)
    w = np.random.default_rng(1).random((5, 7)).astype(np.float32)
    edges = np.array([-1.0, 0.0, 0.5, 2.0], np.float32)
    kw = dict(kwargs)
    if kw.get("weight"):
        kw["weight"] = w
    if isinstance(kw["bins"], str):
        kw["bins"] = edges
    want_hist, want_edges = np.histogram(x, bins=kw["bins"], range=kw.get("range"),
                                         weights=kw.get("weight"),
                                         density=kw.get("density", False))
    nkw = {k: nb.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    hist, bin_edges = nb.tensor(x).histogram(**nkw)
    assert hist.dtype == nb.float32 and bin_edges.dtype == nb.float32
    np.testing.assert_allclose(hist.numpy(), want_hist, rtol=1e-6)
    np.testing.assert_allclose(bin_edges.numpy(), want_edges, rtol=1e-6)
    if torch is not None:
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        th, te = torch.histogram(torch.tensor(x), **tkw)
        np.testing.assert_allclose(hist.numpy(), th.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(bin_edges.numpy(), te.numpy(), rtol=1e-6, atol=1e-7)


def test_histogram_degenerate_ranges_and_errors():
    hist, edges = nb.histogram(nb.tensor([2.0, 2.0]), 3)
    np.testing.assert_allclose(edges.numpy(), [1.5, 1.5 + 1 / 3, 2.5 - 1 / 3, 2.5], rtol=1e-6)
    np.testing.assert_array_equal(hist.numpy(), [0, 2, 0])
    hist, edges = nb.histogram(nb.zeros(0), 2)
    np.testing.assert_array_equal(edges.numpy(), [0, 0.5, 1])
    with pytest.raises(RuntimeError, match="histogram: expected a floating-point input"):
        nb.histogram(nb.tensor([1, 2]), 2)
    with pytest.raises(RuntimeError, match="histogram: bins must be a positive int"):
        nb.histogram(nb.ones(2), 0)


# -- igamma / igammac -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma(name):
    a = rand(3, 1, low=0.5, high=3.0)
    x = rand(4, low=0.2, high=4.0, seed=1)
    ref = scipy.special.gammainc if name == "igamma" else scipy.special.gammaincc
    # only x has a derivative (PyTorch has none for a): diff=[1]
    check_op(lambda a_, x_: getattr(a_, name)(x_), [a, x], ref=ref, diff=[1],
             torch_fn=_tf(lambda a_, x_: getattr(torch, name)(a_, x_)))
    special = nb.special.gammainc if name == "igamma" else nb.special.gammaincc
    np.testing.assert_allclose(special(nb.tensor(a), nb.tensor(x)).numpy(), ref(a, x))
    y = nb.tensor(a.ravel())
    getattr(y, name + "_")(nb.tensor(x[:3]))
    np.testing.assert_allclose(y.numpy(), ref(a.ravel(), x[:3]))


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_derivative_in_a_is_first_order_only(name):
    """PyTorch has no derivative in a; nabla's is a central difference of SciPy's function
    (Gamma's cdf and rsample need it): it matches a finite difference of P itself, in both
    modes, and differentiating it again raises instead of giving zero."""
    a_np, x_np = np.array([0.7, 1.5, 3.0]), np.array([0.4, 2.0, 2.5])
    ref = scipy.special.gammainc if name == "igamma" else scipy.special.gammaincc
    h = 1e-6
    expected = (ref(a_np + h, x_np) - ref(a_np - h, x_np)) / (2 * h)
    a = nb.tensor(a_np, requires_grad=True)
    getattr(nb, name)(a, nb.tensor(x_np)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-6)
    with nb.autograd.forward_ad.dual_level():
        dual = nb.autograd.forward_ad.make_dual(nb.tensor(a_np), nb.ones(3, dtype=nb.float64))
        tangent = nb.autograd.forward_ad.unpack_dual(getattr(nb, name)(dual, nb.tensor(x_np)))[1]
    np.testing.assert_allclose(tangent.numpy(), expected, rtol=1e-6)
    a = nb.tensor(a_np, requires_grad=True)
    (g,) = nb.autograd.grad(getattr(nb, name)(a, nb.tensor(x_np)).sum(), a, create_graph=True)
    with pytest.raises(NotImplementedError, match=f"{name}: the derivative with respect to the "
                                                  "shape parameter is numerical"):
        g.sum().backward()


# -- bit shifts and in-place bitwise ops ------------------------------------------------------
def test_bit_shifts():
    a = np.array([1, -8, 3, 100], np.int32)
    s = np.array([0, 1, 2, 33], np.int64)
    x = nb.tensor(a)
    np.testing.assert_array_equal((x << 2).numpy(), a << 2)
    np.testing.assert_array_equal((x >> 1).numpy(), a >> 1)
    np.testing.assert_array_equal((3 << nb.tensor(s[:3])).numpy(), 3 << s[:3])
    assert x.bitwise_left_shift(nb.tensor(s)).dtype == nb.int64  # promotes as torch
    if torch is not None:
        tx = torch.tensor(a)
        for got, want in [(x.bitwise_left_shift(nb.tensor(s)), tx.bitwise_left_shift(
                              torch.tensor(s))),
                          (nb.bitwise_right_shift(x, nb.tensor(s)), torch.bitwise_right_shift(
                              tx, torch.tensor(s))),
                          (x << 40, tx << 40), (x >> 40, tx >> 40),
                          (100 >> nb.tensor(s), 100 >> torch.tensor(s))]:
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="bitwise_left_shift: expected integer tensors, "
                                           "got dtype float32"):
        nb.ones(2) << 1


def test_in_place_bitwise():
    a = np.array([5, -3, 12], np.int64)
    x = nb.tensor(a)
    same = x
    x <<= 2
    x >>= 1
    x &= 7
    x |= 8
    x ^= 3
    assert x is same  # in place: the same tensor, as in PyTorch
    want = ((((a << 2) >> 1) & 7) | 8) ^ 3
    np.testing.assert_array_equal(x.numpy(), want)
    x.bitwise_not_()
    x.bitwise_and_(nb.tensor([1, 2, 3])).bitwise_or_(16).bitwise_xor_(1)
    x.bitwise_left_shift_(1).bitwise_right_shift_(nb.tensor([0, 1, 0]))
    want = (((((~want & [1, 2, 3]) | 16) ^ 1) << 1) >> [0, 1, 0])
    np.testing.assert_array_equal(x.numpy(), want)


# -- as_strided, unsafe splits, new_empty_strided, resize_ ---------------------------------------
@pytest.mark.parametrize("size,stride,offset", [((3, 3), (1, 2), 1), ((2, 2, 2), (4, 1, 2), 0),
                                                ((4, 3), (2, 1), 2), ((2, 0), (1, 1), 0)])
def test_as_strided(size, stride, offset):
    def ref(a):
        flat = np.ascontiguousarray(a).reshape(-1)[offset:]
        return np.lib.stride_tricks.as_strided(
            flat, size, tuple(s * flat.itemsize for s in stride)).copy()
    # overlapping windows read elements twice: their gradients add up
    check_op(lambda a: a.as_strided(size, stride, offset), [rand(3, 4)], ref=ref,
             torch_fn=_tf(lambda a: a.as_strided(size, stride, offset)))


def test_as_strided_reads_the_logical_layout_and_checks_bounds():
    x = nb.arange(6.0).reshape(2, 3).mT  # not contiguous in memory: read as [0, 3, 1, 4, 2, 5]
    np.testing.assert_array_equal(nb.as_strided(x, (2,), (2,)).numpy(), [0, 1])
    with pytest.raises(RuntimeError, match="as_strided: size .* reach element 6, past the 6 "
                                           "elements"):
        x.as_strided((3, 2), (2, 1), 1)


def test_unsafe_split_aliases():
    x = nb.arange(7)
    for got, want in [(nb.unsafe_split(x, 3), nb.split(x, 3)),
                      (x.unsafe_chunk(3), x.chunk(3)),
                      (x.unsafe_split_with_sizes([2, 5]), x.split_with_sizes([2, 5]))]:
        assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_new_empty_strided():
    x = nb.ones(2, dtype=nb.float64)
    e = x.new_empty_strided((2, 3), (1, 2))
    assert e.shape == (2, 3) and e.stride() == (1, 2) and e.dtype == nb.float64
    e = x.new_empty_strided((4,), (1,), dtype=nb.int32, requires_grad=False)
    assert e.dtype == nb.int32 and e.stride() == (1,)
    if torch is not None:
        t = torch.ones(2).new_empty_strided((2, 3), (1, 2))
        assert t.stride() == x.new_empty_strided((2, 3), (1, 2)).stride()


def test_resize_():
    x = nb.arange(6.0)
    assert x.resize_(2, 2) is x and x.tolist() == [[0, 1], [2, 3]]
    x.resize_((3, 2))  # grows back within the memory it had: the elements come back
    assert x.tolist() == [[0, 1], [2, 3], [4, 5]]
    x.resize_(4, 2)  # past it: the first six are kept
    assert x.shape == (4, 2) and x.reshape(-1)[:6].tolist() == [0, 1, 2, 3, 4, 5]
    if torch is not None:
        t = torch.arange(6.0)
        t.resize_(2, 2)
        t.resize_(3, 2)
        assert t.tolist() == [[0, 1], [2, 3], [4, 5]]
    y = nb.ones(5).resize_as_(nb.zeros(2, 2))
    assert y.shape == (2, 2) and y.tolist() == [[1, 1], [1, 1]]
    with pytest.raises(RuntimeError, match="resize_: cannot resize a tensor that requires grad"):
        nb.ones(3, requires_grad=True).resize_(2)


def test_methods_are_installed():
    names = ["qr", "svd", "lu", "lu_solve", "cholesky_solve", "cholesky_inverse",
             "triangular_solve", "vdot", "ger", "index_reduce", "index_reduce_",
             "masked_scatter", "masked_scatter_", "histogram", "igamma", "igammac",
             "igamma_", "igammac_", "bitwise_left_shift", "bitwise_right_shift",
             "bitwise_left_shift_", "bitwise_right_shift_", "bitwise_and_", "bitwise_or_",
             "bitwise_xor_", "bitwise_not_", "as_strided", "unsafe_chunk", "unsafe_split",
             "unsafe_split_with_sizes", "new_empty_strided", "resize_", "resize_as_"]
    missing = [n for n in names if not hasattr(nb.Tensor, n)]
    assert not missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in ["cholesky_solve", "cholesky_inverse", "triangular_solve", "vdot", "ger",
                   "qr", "svd", "lu", "lu_solve", "histogram", "igamma", "igammac",
                   "bitwise_left_shift", "bitwise_right_shift", "index_reduce",
                   "masked_scatter", "as_strided", "unsafe_chunk", "unsafe_split",
                   "unsafe_split_with_sizes"]:
            assert callable(getattr(nb, fn)), fn
