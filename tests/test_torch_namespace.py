"""The rest of torch's top-level namespace: runtime settings, predicates, helpers,
low-rank factorizations, samplers and top-level spellings, checked against torch."""
import math

import numpy as np
import pytest

import nabla as nb
from nabla import runtime
from tests.optest import check_op, needs_torch, rand

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def T(a):
    return torch.tensor(np.asarray(a))


# -- runtime settings -------------------------------------------------------------------------
def test_set_num_threads_drives_pool_and_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    old = nb.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=None):  # restores BLAS's threads on exit
        try:
            nb.set_num_threads(1)
            assert nb.get_num_threads() == 1 and nb.backend._num_threads == 1
            blas = threadpoolctl.threadpool_info()
            assert all(lib["num_threads"] == 1 for lib in blas if lib["user_api"] == "blas")
            a = np.arange(nb.backend.PARALLEL_MIN_SIZE, dtype=np.float32)
            np.testing.assert_array_equal((nb.tensor(a) + 1).numpy(), a + 1)
            with pytest.raises(ValueError, match="set_num_threads"):
                nb.set_num_threads(0)
        finally:
            nb.set_num_threads(old)


def test_interop_threads_recorded():
    old = nb.get_num_interop_threads()
    try:
        nb.set_num_interop_threads(3)
        assert nb.get_num_interop_threads() == 3
        with pytest.raises(ValueError):
            nb.set_num_interop_threads(0)
    finally:
        nb.set_num_interop_threads(old)


def _layout(text: str) -> list:
    """Lines with runs of spaces collapsed (NumPy pads the '...' differently from torch)."""
    return [" ".join(line.split()) for line in text.splitlines()]


@needs_torch
@pytest.mark.parametrize("opts", [dict(precision=2), dict(threshold=5, edgeitems=2),
                                  dict(profile="short"), dict(sci_mode=True),
                                  dict(precision=6, linewidth=40)])
def test_printoptions_match_torch(opts):
    data = [[0.123456789, 1.5, -2.25, 3.0, 10.125, 7.75]] * 3
    try:
        nb.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        for d in (data, [1.0, 2.0, 3.0], [1.5, 2.25]):
            assert _layout(repr(nb.tensor(d))) == _layout(repr(torch.tensor(d))), opts
        assert _layout(repr(nb.arange(12))) == _layout(repr(torch.arange(12)))
    finally:
        nb.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert runtime.get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3,
                                              linewidth=80, sci_mode=None)


def test_printoptions_full_and_errors():
    try:
        nb.set_printoptions(profile="full")
        assert "..." not in repr(nb.arange(2000))
    finally:
        nb.set_printoptions(profile="default")
    assert "..." in repr(nb.arange(2000))
    with pytest.raises(ValueError, match="profile"):
        nb.set_printoptions(profile="long")


def test_deterministic_flags():
    try:
        assert not nb.are_deterministic_algorithms_enabled()
        nb.use_deterministic_algorithms(True, warn_only=True)
        assert nb.are_deterministic_algorithms_enabled()
        assert nb.is_deterministic_algorithms_warn_only_enabled()
        assert nb.get_deterministic_debug_mode() == 1
        nb.set_deterministic_debug_mode("error")
        assert nb.get_deterministic_debug_mode() == 2
        assert not nb.is_deterministic_algorithms_warn_only_enabled()
        with pytest.raises(RuntimeError, match="invalid mode"):
            nb.set_deterministic_debug_mode(5)
    finally:
        nb.set_deterministic_debug_mode(0)
    assert not nb.are_deterministic_algorithms_enabled()


def test_cudnn_flags_are_recorded_and_read_back():
    cudnn = nb.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, cudnn.enabled, cudnn.allow_tf32)
    assert saved == (False, False, True, True)  # PyTorch's defaults
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert nb.backends.cudnn.benchmark and nb.backends.cudnn.deterministic
        assert "benchmark=True" in repr(cudnn)
        assert not cudnn.is_available()  # nabla's convolutions never go through cuDNN
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled, cudnn.allow_tf32 = saved


def test_default_device_drives_creation():
    assert nb.get_default_device() == "cpu"
    try:
        nb.set_default_device("cpu")
        assert nb.zeros(2).device == "cpu" and nb.randn(2).device == "cpu"
        if nb.backend.cuda_is_available():  # pragma: no cover - GPU machines
            nb.set_default_device("cuda")
            assert nb.zeros(2).device.type == "cuda" and nb.tensor([1.0]).device.type == "cuda"
            assert nb.arange(3).device.type == "cuda" and nb.rand(2).device.type == "cuda"
    finally:
        nb.set_default_device(None)
    assert nb.get_default_device() == "cpu"


def test_modes_seed_and_constants():
    assert not nb.is_inference_mode_enabled()
    with nb.inference_mode():
        assert nb.is_inference_mode_enabled() and not nb.is_grad_enabled()
        with nb.inference_mode(False):
            assert not nb.is_inference_mode_enabled()
    assert not nb.is_inference_mode_enabled()
    try:
        nb.set_anomaly_enabled(True)
        assert nb.is_anomaly_enabled()
    finally:
        nb.set_anomaly_enabled(False)
    assert not nb.is_anomaly_enabled()
    try:
        nb.set_warn_always(True)
        assert nb.is_warn_always_enabled()
    finally:
        nb.set_warn_always(False)
    state = nb.get_rng_state()
    try:
        s = nb.seed()
        assert nb.initial_seed() == s and nb.default_generator is nb.backend.default_generator
        a = nb.rand(3)
        nb.manual_seed(s)
        np.testing.assert_array_equal(nb.rand(3).numpy(), a.numpy())
    finally:
        nb.set_rng_state(state)
    assert (nb.e, nb.pi, nb.newaxis) == (math.e, math.pi, None)
    assert math.isinf(nb.inf) and math.isnan(nb.nan)


# -- predicates and dtype rules ---------------------------------------------------------------
@needs_torch
def test_predicates_match_torch():
    for dt, tdt in [(nb.float32, torch.float32), (nb.int64, torch.int64),
                    (nb.uint8, torch.uint8), (nb.bool, torch.bool),
                    (nb.complex64, torch.complex64), (nb.bfloat16, torch.bfloat16)]:
        a, b = nb.zeros(2, dtype=dt), torch.zeros(2, dtype=tdt)
        assert nb.is_floating_point(a) == torch.is_floating_point(b), dt
        assert nb.is_complex(a) == torch.is_complex(b), dt
        assert nb.is_signed(a) == torch.is_signed(b), dt
    assert nb.is_nonzero(nb.tensor([0.5])) and not nb.is_nonzero(nb.tensor(0))
    for bad in (nb.zeros(2), nb.zeros(0)):
        with pytest.raises(RuntimeError, match="is_nonzero"):
            nb.is_nonzero(bad)
    assert nb.is_same_size(nb.zeros(2, 3), nb.ones(2, 3))
    assert not nb.is_same_size(nb.zeros(2, 3), nb.ones(3, 2))


@needs_torch
def test_can_cast_promote_and_result_type_match_torch():
    pairs = [(nb.float64, torch.float64), (nb.float32, torch.float32),
             (nb.float16, torch.float16), (nb.int32, torch.int32), (nb.int64, torch.int64),
             (nb.uint8, torch.uint8), (nb.int8, torch.int8), (nb.bool, torch.bool),
             (nb.complex64, torch.complex64), (nb.complex128, torch.complex128)]
    for a, ta in pairs:
        for b, tb in pairs:
            assert nb.can_cast(a, b) == torch.can_cast(ta, tb), (a, b)
            assert str(nb.promote_types(a, b)) == str(torch.promote_types(ta, tb))[6:], (a, b)
    cases = [(nb.tensor([1, 2]), 2.5, torch.tensor([1, 2]), 2.5),
             (nb.tensor([1, 2], dtype=nb.int32), 3, torch.tensor([1, 2], dtype=torch.int32), 3),
             (nb.tensor([1.0], dtype=nb.float16), nb.tensor(2.0, dtype=nb.float64),
              torch.tensor([1.0], dtype=torch.float16), torch.tensor(2.0, dtype=torch.float64)),
             (nb.tensor([1], dtype=nb.int32), nb.tensor(2.0, dtype=nb.float64),
              torch.tensor([1], dtype=torch.int32), torch.tensor(2.0, dtype=torch.float64)),
             (nb.tensor([1.0]), 1j, torch.tensor([1.0]), 1j),
             (nb.tensor([True]), False, torch.tensor([True]), False),
             (nb.tensor(1, dtype=nb.uint8), nb.tensor(1, dtype=nb.int8),
              torch.tensor(1, dtype=torch.uint8), torch.tensor(1, dtype=torch.int8))]
    for a, b, ta, tb in cases:
        assert str(nb.result_type(a, b)) == str(torch.result_type(ta, tb))[6:], (a, b)


@needs_torch
def test_broadcast_shapes_and_tensors():
    shapes = [(3, 1), (1, 4), (2, 1, 1)]
    assert nb.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)
    assert nb.broadcast_shapes(3, (2, 1)) == (2, 3)
    assert isinstance(nb.broadcast_shapes((2,), (1,)), nb.Size)
    with pytest.raises(RuntimeError, match="broadcast_shapes"):
        nb.broadcast_shapes((2, 3), (4,))
    check_op(lambda a, b: nb.broadcast_tensors(a, b), [rand(3, 1), rand(1, 4, seed=1)],
             torch_fn=lambda a, b: torch.broadcast_tensors(a, b))


def test_size():
    s = nb.Size([2, 3, 4])
    assert s == (2, 3, 4) and isinstance(s, tuple) and s.numel() == 24
    assert isinstance(s[1:], nb.Size) and s[1:].numel() == 12 and s[0] == 2
    assert nb.Size([]).numel() == 1 and repr(s) == "nabla.Size([2, 3, 4])"


# -- construction -----------------------------------------------------------------------------
def test_asarray_shares_and_copies():
    a = np.arange(6, dtype=np.float32)
    t = nb.asarray(a)
    a[0] = 7.0
    assert t[0].item() == 7.0  # shares memory
    c = nb.asarray(a, copy=True)
    a[1] = 9.0
    assert c[1].item() == 1.0
    assert nb.asarray(a, dtype=nb.float64).dtype == nb.float64
    with pytest.raises(ValueError, match="copy=False"):
        nb.asarray(a, dtype=nb.float64, copy=False)
    x = nb.ones(2)
    assert nb.asarray(x) is x and nb.asarray(x, copy=True) is not x
    assert nb.asarray([1, 2]).dtype == nb.int64 and nb.asarray(2.5).dtype == nb.float32
    r = nb.asarray([1.0, 2.0], requires_grad=True)
    assert r.requires_grad
    b = nb.asarray(bytearray(b"\x01\x02"))
    assert b.dtype == nb.uint8 and b.tolist() == [1, 2]


@needs_torch
def test_scalar_tensor_empty_strided_frombuffer():
    for v in (3, 2.5, True):
        ours, theirs = nb.scalar_tensor(v), torch.scalar_tensor(v)
        assert ours.shape == () and str(ours.dtype) == str(theirs.dtype)[6:]
        assert ours.item() == theirs.item()
    assert nb.scalar_tensor(3, dtype=nb.int64).dtype == nb.int64
    e = nb.empty_strided((2, 3), (1, 2))
    assert e.shape == (2, 3) and e.array.strides == (4, 8)
    assert nb.empty_strided((0, 3), (3, 1)).shape == (0, 3)
    with pytest.raises(RuntimeError, match="same length"):
        nb.empty_strided((2, 3), (1,))
    buf = bytearray(np.arange(5, dtype=np.float32).tobytes())
    t = nb.frombuffer(buf, dtype=nb.float32, count=3, offset=4)
    assert t.tolist() == torch.frombuffer(buf, dtype=torch.float32, count=3, offset=4).tolist()
    buf[4:8] = np.float32(42).tobytes()
    assert t[0].item() == 42.0  # shares memory
    with pytest.raises(ValueError, match="frombuffer"):
        nb.frombuffer(buf, dtype=nb.float32, count=10)


@needs_torch
def test_dlpack_roundtrip():
    x = torch.arange(6.0).reshape(2, 3)
    t = nb.from_dlpack(x)
    assert t.tolist() == x.tolist()
    x[0, 0] = 5.0
    assert t[0, 0].item() == 5.0  # shares memory
    y = torch.from_dlpack(nb.to_dlpack(nb.tensor([[1.0, 2.0]])))
    assert y.tolist() == [[1.0, 2.0]]
    assert nb.from_dlpack(np.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="from_dlpack"):
        nb.from_dlpack([1, 2])


# -- index helpers ----------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 2, 0), (3, 4, 7)])
def test_tril_triu_indices(row, col, offset):
    for ours, theirs in ((nb.tril_indices, torch.tril_indices),
                         (nb.triu_indices, torch.triu_indices)):
        a, b = ours(row, col, offset), theirs(row, col, offset)
        assert a.dtype == nb.int64 and a.tolist() == b.tolist() and tuple(a.shape) == tuple(b.shape)


@needs_torch
@pytest.mark.parametrize("r,rep", [(2, False), (3, False), (2, True), (0, False), (5, False)])
def test_combinations(r, rep):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    a, b = nb.combinations(nb.tensor(x), r, rep), torch.combinations(T(x), r, rep)
    assert tuple(a.shape) == tuple(b.shape) and a.tolist() == b.tolist()
    if r == 2:
        check_op(lambda t: nb.combinations(t, r, rep), [rand(4)],
                 torch_fn=lambda t: torch.combinations(t, r, rep))


@needs_torch
def test_unravel_index():
    idx = [0, 5, 11, -1, -12]
    ours = nb.unravel_index(nb.tensor(idx), (3, 4))
    theirs = torch.unravel_index(torch.tensor(idx), (3, 4))
    assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]
    assert nb.unravel_index(nb.tensor(7), 10)[0].item() == 7
    with pytest.raises(ValueError, match="unravel_index"):
        nb.unravel_index(nb.tensor([12]), (3, 4))


# -- calculus ---------------------------------------------------------------------------------
@needs_torch
def test_cumulative_trapezoid():
    y, x = rand(3, 5), np.sort(rand(5, seed=1))
    check_op(lambda t: nb.cumulative_trapezoid(t), [y],
             torch_fn=lambda t: torch.cumulative_trapezoid(t))
    check_op(lambda t: nb.cumulative_trapezoid(t, dx=0.5, dim=0), [y],
             torch_fn=lambda t: torch.cumulative_trapezoid(t, dx=0.5, dim=0))
    check_op(lambda t, s: nb.cumulative_trapezoid(t, s), [y, x], diff=[0],
             torch_fn=lambda t, s: torch.cumulative_trapezoid(t, s))
    xs = np.sort(rand(3, 5, seed=2), axis=1)
    ours = nb.cumulative_trapezoid(nb.tensor(y), nb.tensor(xs))
    np.testing.assert_allclose(ours.numpy(), torch.cumulative_trapezoid(T(y).float(), T(xs).float()),
                               rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_torch(edge_order):
    f = rand(4, 6)
    cases = [dict(), dict(spacing=0.5), dict(spacing=[2.0, 0.25]), dict(dim=1),
             dict(dim=-2, spacing=3.0)]
    for kw in cases:
        check_op(lambda t: nb.gradient(t, edge_order=edge_order, **kw), [f],
                 torch_fn=lambda t: torch.gradient(t, edge_order=edge_order, **kw))
    coords = [np.cumsum(1 + rand(4, seed=3) ** 2), np.cumsum(1 + rand(6, seed=4) ** 2)]
    ours = nb.gradient(nb.tensor(f), spacing=[nb.tensor(c) for c in coords],
                       edge_order=edge_order)
    theirs = torch.gradient(T(f).float(), spacing=[T(c).float() for c in coords],
                            edge_order=edge_order)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-4, atol=1e-4)
    ints = nb.gradient(nb.tensor([1, 4, 9, 16]), edge_order=edge_order)[0]
    np.testing.assert_allclose(ints.numpy(), torch.gradient(torch.tensor([1., 4., 9., 16.]),
                                                            edge_order=edge_order)[0])


def test_gradient_errors():
    with pytest.raises(RuntimeError, match="edge_order=2 needs at least 3"):
        nb.gradient(nb.ones(2), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        nb.gradient(nb.ones(4), edge_order=3)
    with pytest.raises(RuntimeError, match="spacing"):
        nb.gradient(nb.ones(3, 3), spacing=[1.0, 2.0, 3.0])


# -- linear algebra ---------------------------------------------------------------------------
@needs_torch
def test_chain_matmul_and_norms():
    a, b, c = rand(2, 3), rand(3, 4, seed=1), rand(4, 2, seed=2)
    check_op(lambda x, y, z: nb.chain_matmul(x, y, z), [a, b, c],
             torch_fn=lambda x, y, z: torch.linalg.multi_dot([x, y, z]))
    with pytest.raises(RuntimeError, match="chain_matmul"):
        nb.chain_matmul(nb.ones(2, 2), nb.ones(2))
    m = rand(2, 3, 4)
    np.testing.assert_allclose(nb.nuclear_norm(nb.tensor(m), dim=(1, 2)).numpy(),
                               torch.linalg.matrix_norm(T(m), "nuc", dim=(1, 2)).numpy(),
                               rtol=1e-5)
    np.testing.assert_allclose(nb.frobenius_norm(nb.tensor(m), dim=(0, 2)).numpy(),
                               torch.linalg.vector_norm(T(m), 2, dim=(0, 2)).numpy(), rtol=1e-5)
    assert nb.nuclear_norm(nb.eye(3), True).shape == (1, 1)


@needs_torch
def test_matrix_rank():
    rng = np.random.default_rng(0)
    low = rng.standard_normal((3, 5, 2)) @ rng.standard_normal((3, 2, 4))
    for kw in (dict(), dict(atol=1.0), dict(rtol=0.5), dict(atol=0.1, rtol=0.1)):
        ours = nb.matrix_rank(nb.tensor(low), **kw)
        assert ours.dtype == nb.int64
        assert ours.tolist() == torch.linalg.matrix_rank(T(low).float(), **kw).tolist(), kw
    sym = low[0] @ low[0].T
    assert nb.matrix_rank(nb.tensor(sym), hermitian=True).item() == \
        torch.linalg.matrix_rank(T(sym), hermitian=True).item()


@needs_torch
@pytest.mark.parametrize("shape", [(4, 4), (2, 5, 3), (3, 5)])
def test_lu_unpack_matches_torch(shape):
    a = rand(*shape, seed=5)
    LU, piv = torch.linalg.lu_factor(T(a))
    P, L, U = nb.lu_unpack(nb.tensor(LU.numpy()), nb.tensor(piv.numpy()))
    tP, tL, tU = torch.lu_unpack(LU, piv)
    for o, t in ((P, tP), (L, tL), (U, tU)):
        np.testing.assert_allclose(o.numpy(), t.numpy(), atol=1e-12)
    np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)
    P2, L2, U2 = nb.lu_unpack(nb.tensor(LU.numpy()), nb.tensor(piv.numpy()), unpack_data=False)
    assert L2.numel() == 0 and U2.numel() == 0 and P2.shape == P.shape


def test_lu_unpack_with_nabla_lu_is_differentiable():
    A = nb.tensor(rand(4, 4, seed=6), requires_grad=True)
    LU, piv = nb.lu(A)
    P, L, U = nb.lu_unpack(LU, piv)
    np.testing.assert_allclose((P @ L @ U).detach().numpy(), A.detach().numpy(), atol=1e-10)
    (L.sum() + U.sum()).backward()
    assert A.grad is not None and A.grad.shape == (4, 4)


def _principal_angles_close(U1, U2, atol):
    """Columns of orthonormal U1 and U2 span the same subspace."""
    s = np.linalg.svd(U1.T @ U2, compute_uv=False)
    np.testing.assert_allclose(s, np.ones_like(s), atol=atol)


@needs_torch
def test_svd_lowrank_recovers_low_rank_matrix():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 4)) @ rng.standard_normal((4, 20))
    g = nb.Generator().manual_seed(3)
    U, S, V = nb.svd_lowrank(nb.tensor(A), q=4, generator=g)
    assert U.shape == (30, 4) and S.shape == (4,) and V.shape == (20, 4)
    tU, tS, tV = torch.svd_lowrank(T(A), q=4)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-8)
    _principal_angles_close(U.numpy(), tU.numpy(), 1e-8)
    _principal_angles_close(V.numpy(), tV.numpy(), 1e-8)
    np.testing.assert_allclose((U.numpy() * S.numpy()) @ V.numpy().T, A, atol=1e-8)
    U2, S2, V2 = nb.svd_lowrank(nb.tensor(A), q=4, generator=nb.Generator().manual_seed(3))
    np.testing.assert_array_equal(U2.numpy(), U.numpy())  # deterministic given a generator
    with pytest.raises(ValueError, match="svd_lowrank"):
        nb.svd_lowrank(nb.tensor(A), q=25)


@needs_torch
def test_pca_lowrank_and_gradient():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 40, 3)) @ rng.standard_normal((3, 3, 8)) + 5.0
    U, S, V = nb.pca_lowrank(nb.tensor(A), q=3, generator=nb.Generator().manual_seed(0))
    tU, tS, tV = torch.pca_lowrank(T(A), q=3)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-7)
    for b in range(3):
        _principal_angles_close(V.numpy()[b], tV.numpy()[b], 1e-7)
    x = nb.tensor(A[0], requires_grad=True)
    _, S, _ = nb.svd_lowrank(x, q=3, M=x.mean(dim=0, keepdim=True),
                             generator=nb.Generator().manual_seed(0))
    S.sum().backward()
    tx = T(A[0]).requires_grad_()
    torch.linalg.svdvals(tx - tx.mean(0, keepdim=True))[:3].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-6)


# -- sampling ---------------------------------------------------------------------------------
def test_poisson_moments_and_seed():
    rates = nb.tensor([0.5, 3.0, 20.0]).expand(20000, 3)
    g = nb.Generator().manual_seed(0)
    s = nb.poisson(rates, generator=g)
    assert s.dtype == nb.float32 and s.shape == (20000, 3)
    np.testing.assert_allclose(s.mean(0).numpy(), [0.5, 3.0, 20.0], rtol=0.03)
    np.testing.assert_allclose(s.var(0).numpy(), [0.5, 3.0, 20.0], rtol=0.06)
    again = nb.poisson(rates, generator=nb.Generator().manual_seed(0))
    np.testing.assert_array_equal(again.numpy(), s.numpy())
    with pytest.raises(ValueError, match="poisson"):
        nb.poisson(nb.tensor([-1.0]))


def test_binomial_moments():
    count = nb.full((20000, 2), 10.0)
    prob = nb.tensor([0.2, 0.7])
    s = nb.binomial(count, prob.expand(20000, 2), generator=nb.Generator().manual_seed(1))
    assert s.dtype == nb.float32 and float(s.max()) <= 10.0
    np.testing.assert_allclose(s.mean(0).numpy(), [2.0, 7.0], rtol=0.02)
    np.testing.assert_allclose(s.var(0).numpy(), [1.6, 2.1], rtol=0.06)
    with pytest.raises(ValueError, match="binomial"):
        nb.binomial(nb.ones(2), nb.tensor([0.5, 1.5]))


# -- spellings --------------------------------------------------------------------------------
@needs_torch
def test_rsub_fill_pad_detach():
    check_op(lambda a, b: nb.rsub(a, b, alpha=2), [rand(3), rand(3, seed=1)],
             torch_fn=lambda a, b: torch.rsub(a, b, alpha=2))
    check_op(lambda a: nb.rsub(a, 3.0), [rand(3)], torch_fn=lambda a: torch.rsub(a, 3.0))
    x = nb.ones(2, 3)
    assert nb.fill(x, 2.5).tolist() == torch.fill(torch.ones(2, 3), 2.5).tolist()
    assert x.tolist() == [[1.0] * 3] * 2
    assert nb.fill_(x, 4.0) is x and x.tolist() == [[4.0] * 3] * 2
    assert nb.zero_(x) is x and x.sum().item() == 0.0
    check_op(lambda a: nb.constant_pad_nd(a, [1, 2, 0, 1], 0.5), [rand(2, 3)],
             torch_fn=lambda a: torch.constant_pad_nd(a, [1, 2, 0, 1], 0.5))
    y = nb.ones(2, requires_grad=True)
    assert not nb.detach(y * 2).requires_grad


@needs_torch
def test_inplace_top_level_aliases():
    names = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_")
             and hasattr(nb.Tensor, n) and n != "relu_"]
    assert len(names) > 50
    for name in names:
        assert callable(getattr(nb, name)), name
    x = nb.tensor([-1.0, 0.5, 2.0])
    assert nb.abs_(x) is x and x.tolist() == [1.0, 0.5, 2.0]
    nb.clamp_(x, max=1.0)
    nb.exp_(x)
    t = torch.tensor([-1.0, 0.5, 2.0])
    torch.abs_(t)
    torch.clamp_(t, max=1.0)
    torch.exp_(t)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    nb.sigmoid_(x)
    torch.sigmoid_(t)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="exp_"):
        nb.exp_(3.0)


@needs_torch
@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_top_level_losses_match_torch(reduction):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((4, 5)) for _ in range(3))
    p = 1 / (1 + np.exp(-rng.standard_normal((4, 5))))
    sign = np.sign(rng.standard_normal(4))
    sign5 = np.sign(rng.standard_normal((4, 5)))
    logp = np.log(np.exp(rng.standard_normal((4, 5))) /
                  np.exp(rng.standard_normal((4, 5))).sum(1, keepdims=True))
    cases = [
        ("binary_cross_entropy_with_logits", (a, p), dict(reduction=reduction)),
        ("kl_div", (logp, p), dict(reduction=reduction)),
        ("cosine_embedding_loss", (a, b, sign), dict(margin=0.1, reduction=reduction)),
        ("hinge_embedding_loss", (a, sign5), dict(margin=0.5, reduction=reduction)),
        ("margin_ranking_loss", (a[:, 0], b[:, 0], sign), dict(margin=0.2, reduction=reduction)),
        ("triplet_margin_loss", (a, b, c), dict(margin=1.0, p=2.0, eps=1e-6, swap=True,
                                                reduction=reduction)),
    ]
    for name, args, kw in cases:
        ours = getattr(nb, name)(*(nb.tensor(x) for x in args), **kw)
        theirs = getattr(torch, name)(*(T(x) for x in args), **kw)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=name)
    ours = nb.poisson_nll_loss(nb.tensor(a), nb.tensor(np.abs(b)), True, False, 1e-8, reduction)
    theirs = torch.poisson_nll_loss(T(a), T(np.abs(b)), True, False, 1e-8, reduction)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    lp = np.log(np.full((6, 2, 4), 0.25)) + rng.standard_normal((6, 2, 4)) * 0.1
    targets, il, tl = np.array([[1, 2, 1], [3, 3, 0]]), [6, 5], [3, 2]
    ours = nb.ctc_loss(nb.tensor(lp), nb.tensor(targets), il, tl, 0, reduction, False)
    theirs = torch.ctc_loss(T(lp), T(targets), il, tl, 0, reduction, False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert nb.kl_div(nb.tensor(logp), nb.tensor(p), "sum").item() == pytest.approx(
        torch.kl_div(T(logp), T(p), 2).item())
