"""The convolution and max-pooling kernels of ``nabla.kernels`` (``conv``: im2col / col2im
around the GEMMs; ``pool``: max pooling with indices, forward and backward).

Without a GPU the kernels run on the host under the CUDA emulator behind the ops' real
glue (the ``emulated`` fixture) and must match the plain CPU path, values and every
gradient, on fresh random inputs; second-order and forward-mode derivatives go through
the composed rules (and, for the convolutions, through the kernels again). On a GPU the
same ops run with the kernels on and off at realistic sizes (ResNet-20's layers).
"""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.kernels import _build
from nabla.ops import conv as conv_op
from tests.kernel_harness import both, gpu, record_launches, values_and_grads

POOL = {"max_pool2d_fwd", "max_pool2d_bwd"}
CONV = {"im2col", "col2im"}
DEPTHWISE = {"depthwise_fwd", "depthwise_bwd_input", "depthwise_bwd_weight"}

# name -> (fn, input shapes, the kernels it must launch)
CASES = {
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [(2, 3, 8, 7)], POOL),
    "max_pool2d, padding, stride 2": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                                      [(2, 3, 9, 9)], POOL),
    "max_pool2d, overlapping": (lambda x: F.max_pool2d(x, (3, 2), stride=1), [(2, 2, 7, 6)],
                                POOL),
    "max_pool2d, dilation, ceil_mode": (
        lambda x: F.max_pool2d(x, (2, 3), stride=(2, 1), padding=1, dilation=2,
                               ceil_mode=True), [(1, 3, 8, 9)], POOL),
    "max_pool2d, unbatched": (lambda x: F.max_pool2d(x, 2, stride=1), [(3, 5, 5)], POOL),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, stride=2, padding=1), [(2, 3, 11)], POOL),
    "max_pool1d, dilation": (lambda x: F.max_pool1d(x, 2, stride=1, dilation=3),
                             [(2, 2, 10)], POOL),
    "conv2d, bias, stride, padding": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        [(2, 3, 7, 7), (4, 3, 3, 3), (4,)], CONV),
    "conv2d, same, dilation": (lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
                               [(2, 3, 6, 6), (4, 3, 3, 3)], CONV),
    "conv2d, same, even kernel": (lambda x, w, b: F.conv2d(x, w, b, padding="same"),
                                  [(1, 2, 5, 6), (3, 2, 2, 4), (3,)], CONV),
    "conv2d, 1x1, stride 2": (lambda x, w: F.conv2d(x, w, stride=2),
                              [(2, 4, 6, 5), (3, 4, 1, 1)], CONV),
    "conv2d, rectangular stride, padding": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(2, 1), dilation=(1, 2)),
        [(2, 2, 5, 8), (3, 2, 2, 3), (3,)], CONV),
    "conv2d, groups": (lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
                       [(2, 4, 5, 5), (6, 2, 3, 3), (6,)], CONV),
    "conv2d, depthwise": (lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=4),
                          [(2, 4, 6, 6), (4, 1, 3, 3)], DEPTHWISE),
    "conv2d, depthwise multiplier": (lambda x, w, b: F.conv2d(x, w, b, groups=3),
                                     [(1, 3, 5, 5), (6, 1, 3, 3), (6,)], DEPTHWISE),
    "conv2d, depthwise, dilation, rectangular": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 3),
                                 groups=2), [(2, 2, 7, 6), (4, 1, 2, 3), (4,)], DEPTHWISE),
    "conv1d, depthwise": (lambda x, w: F.conv1d(x, w, padding="same", groups=3),
                          [(2, 3, 9), (3, 1, 3)], DEPTHWISE),
    "conv_transpose2d, depthwise": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=3),
        [(2, 3, 4, 4), (3, 1, 3, 3), (3,)], {"depthwise_bwd_input"}),
    "conv2d, unbatched": (lambda x, w: F.conv2d(x, w, padding=1), [(2, 4, 4), (3, 2, 3, 3)],
                          CONV),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
               [(2, 3, 12), (4, 3, 3), (4,)], CONV),
    "conv1d, groups": (lambda x, w: F.conv1d(x, w, padding="same", groups=2),
                       [(2, 4, 9), (4, 2, 4)], CONV),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [(2, 4, 4, 4), (4, 3, 3, 3), (3,)], CONV),
    "conv_transpose2d, groups, dilation": (
        lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2, dilation=2),
        [(1, 4, 3, 4), (4, 2, 2, 3)], CONV),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=3, padding=1),
                         [(2, 3, 5), (3, 2, 4)], CONV),
    # the second layer reads the first one's channels-last output through its strides
    "conv2d on a conv2d": (lambda x, w1, w2: F.conv2d(F.conv2d(x, w1, padding=1), w2,
                                                      stride=2),
                           [(2, 2, 6, 6), (3, 2, 3, 3), (4, 3, 2, 2)], CONV),
    "max_pool2d on a conv2d": (lambda x, w: F.max_pool2d(F.conv2d(x, w), 2),
                               [(2, 2, 7, 7), (3, 2, 2, 2)], CONV | POOL),
}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def _random(shapes, dtype):
    rng = np.random.default_rng()  # fresh inputs every run
    return [(rng.standard_normal(s) * 3).astype(dtype) for s in shapes]


def _assert_close(glued, plain, tol, what):
    for k, (a, b) in enumerate(zip(glued, plain)):
        scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=f"{what}: {k}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(CASES))
def test_ops_through_the_kernels_match_the_cpu_path(case, dtype, emulated, monkeypatch):
    fn, shapes, launched = CASES[case]
    arrays = _random(shapes, dtype)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    assert launched <= set(calls), f"{case}: launched {calls}"
    monkeypatch.undo()
    plain = values_and_grads(fn, arrays)
    _assert_close(glued, plain, TOLERANCE[dtype], case)


@pytest.mark.parametrize("case", ["max_pool2d, padding, stride 2", "max_pool1d",
                                  "conv2d, groups", "conv_transpose2d", "conv2d on a conv2d"])
def test_64_bit_index_arithmetic_matches_the_cpu_path(case, emulated, monkeypatch):
    """The kernels' index arithmetic in long long, taken where an array passes 2^31
    elements (here forced on tiny ones)."""
    fn, shapes, launched = CASES[case]
    arrays = _random(shapes, np.float64)
    monkeypatch.setattr(_build, "narrow", lambda *sizes: np.int32(0))
    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    assert launched <= set(calls), f"{case}: launched {calls}"
    monkeypatch.undo()
    _assert_close(glued, values_and_grads(fn, arrays), 1e-12, case)


def test_an_empty_batch(emulated, monkeypatch):
    rng = np.random.default_rng()
    x, w = rng.standard_normal((0, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    for fn, arrays in ((lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 2), [x, w]),
                       (lambda x, w: F.conv_transpose2d(x, w, stride=2),
                        [rng.standard_normal((0, 3, 4, 4)), w])):
        glued = values_and_grads(fn, arrays)
        assert glued[0].shape[0] == 0 and not np.any(glued[2])
        assert glued[1].shape == arrays[0].shape


@pytest.mark.parametrize("case", ["conv2d, bias, stride, padding", "conv2d, groups",
                                  "conv1d"])
def test_weight_gradient_rebuilds_columns_when_they_are_not_kept(case, emulated, monkeypatch):
    fn, shapes, _ = CASES[case]
    arrays = _random(shapes, np.float64)
    monkeypatch.setattr(conv_op, "KEEP_COLUMNS_BYTES", 0)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    assert calls.count("im2col") == 2, calls  # the forward's, and the weight gradient's
    monkeypatch.undo()
    _assert_close(glued, values_and_grads(fn, arrays), 1e-12, case)


@pytest.mark.parametrize("nd, kwargs", [
    (2, dict(kernel_size=3, stride=2, padding=1)),
    (2, dict(kernel_size=(2, 3), stride=1, dilation=(2, 1), ceil_mode=True)),
    (1, dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
])
@pytest.mark.parametrize("grad", [False, True])
def test_max_pool_indices_match_the_cpu_op(nd, kwargs, grad, emulated, monkeypatch):
    rng = np.random.default_rng()
    x = np.round(rng.standard_normal((2, 3, 9, 8)[:2 + nd]) * 2) / 2  # with ties
    pool = F.max_pool2d if nd == 2 else F.max_pool1d

    def run():
        t = nb.tensor(x, requires_grad=grad)
        y, idx = pool(t, return_indices=True, **kwargs)
        return y.detach().numpy(), idx.numpy()

    calls = record_launches(monkeypatch)
    y, idx = run()
    assert calls == ["max_pool2d_fwd"]
    monkeypatch.undo()
    y_ref, idx_ref = run()
    assert idx.dtype == idx_ref.dtype == np.int64
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_max_pool_ties_nan_and_infinities_match_the_cpu_op(emulated, monkeypatch):
    rng = np.random.default_rng()
    x = rng.integers(-2, 3, (2, 2, 7, 7)).astype(np.float64)  # many ties
    x[0, 0, 1, 1] = x[0, 1, 4, 5] = x[1, 0, 4, 4] = np.nan
    x[1, 1, :3, :3] = -np.inf   # a window of -inf only points at its first position
    x[1, 1, 5, 5] = np.inf

    def run():
        y, idx = F.max_pool2d(nb.tensor(x), 3, stride=2, padding=1, return_indices=True)
        return y.numpy(), idx.numpy()

    calls = record_launches(monkeypatch)
    y, idx = run()
    assert calls == ["max_pool2d_fwd"]
    monkeypatch.undo()
    y_ref, idx_ref = run()
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_returned_indices_are_not_the_saved_ones(emulated):
    x = nb.tensor(np.random.default_rng().standard_normal((1, 2, 6, 6)), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    expected = F.max_pool2d(x.detach(), 2, return_indices=True)[1].numpy()
    idx.array[...] = 0  # the caller's copy: the backward still uses the true positions
    y.sum().backward()
    dx = np.zeros(x.shape).reshape(2, 36)
    np.put_along_axis(dx, expected.reshape(2, 9), 1.0, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), dx.reshape(x.shape))


SECOND_ORDER = {
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1) ** 2, [(2, 2, 7, 7)]),
    "max_pool1d": (lambda x: F.max_pool1d(x, 2, stride=1) ** 2, [(2, 2, 9)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2) ** 2,
               [(2, 4, 6, 6), (4, 2, 3, 3), (4,)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1) ** 2,
                         [(1, 3, 4, 4), (3, 2, 3, 3)]),
}


def _second_order(fn, arrays):
    """Gradients of <grad fn, v> (a Hessian-vector product) and fn's jvp along t."""
    rng = np.random.default_rng(2)
    x = [nb.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*x)
    g = nb.tensor(rng.standard_normal(y.shape).astype(y.dtype))
    grads = nb.autograd.grad([y], x, grad_outputs=[g], create_graph=True)
    s = sum((d * nb.tensor(rng.standard_normal(d.shape).astype(y.dtype))).sum() for d in grads)
    hvp = nb.autograd.grad([s], x, allow_unused=True, materialize_grads=True)
    tangents = tuple(nb.tensor(rng.standard_normal(a.shape)) for a in arrays)
    _, jvp = nb.func.jvp(fn, tuple(nb.tensor(a) for a in arrays), tangents)
    return [d.numpy() for d in hvp] + [jvp.numpy()]


@pytest.mark.parametrize("case", list(SECOND_ORDER))
def test_second_order_and_forward_mode_match_the_cpu_path(case, emulated, monkeypatch):
    fn, shapes = SECOND_ORDER[case]
    arrays = _random(shapes, np.float64)
    calls = record_launches(monkeypatch)
    glued = _second_order(fn, arrays)
    assert calls
    monkeypatch.undo()
    _assert_close(glued, _second_order(fn, arrays), 1e-12, case)


def test_float16_and_max_pool3d_keep_the_composed_path(emulated, monkeypatch):
    calls = record_launches(monkeypatch)
    x = nb.tensor(np.random.default_rng().standard_normal((1, 2, 4, 4, 4)))
    F.max_pool3d(x, 2)
    F.max_pool2d(nb.tensor(np.ones((1, 1, 4, 4), np.float16)), 2)
    F.conv2d(nb.tensor(np.ones((1, 1, 4, 4), np.float16)),
             nb.tensor(np.ones((1, 1, 3, 3), np.float16)))
    assert calls == []


# -- on a GPU: kernels on vs off at realistic sizes ---------------------------------------------
GPU_CASES = {  # ResNet-20 (batch 32 on 32x32 images) and a few others
    "resnet stem": (lambda x, w: F.conv2d(x, w, padding=1), [(32, 3, 32, 32), (16, 3, 3, 3)]),
    "resnet 16": (lambda x, w: F.conv2d(x, w, padding=1), [(32, 16, 32, 32), (16, 16, 3, 3)]),
    "resnet 16->32 stride 2": (lambda x, w: F.conv2d(x, w, stride=2, padding=1),
                               [(32, 16, 32, 32), (32, 16, 3, 3)]),
    "resnet 1x1 shortcut": (lambda x, w: F.conv2d(x, w, stride=2),
                            [(32, 32, 16, 16), (64, 32, 1, 1)]),
    "resnet 64": (lambda x, w, b: F.conv2d(x, w, b, padding=1),
                  [(32, 64, 8, 8), (64, 64, 3, 3), (64,)]),
    "resnet block": (lambda x, w1, w2: F.conv2d(F.relu(F.conv2d(x, w1, padding=1)), w2,
                                                padding=1),
                     [(32, 32, 16, 16), (32, 32, 3, 3), (32, 32, 3, 3)]),
    "depthwise": (lambda x, w: F.conv2d(x, w, padding=1, groups=64),
                  [(32, 64, 16, 16), (64, 1, 3, 3)]),
    "groups, dilation": (lambda x, w: F.conv2d(x, w, padding=2, dilation=2, groups=4),
                         [(16, 32, 20, 20), (64, 8, 3, 3)]),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=3),
               [(32, 16, 500), (32, 16, 7), (32,)]),
    "conv_transpose2d (DCGAN)": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
        [(32, 128, 8, 8), (128, 64, 4, 4), (64,)]),
    "max_pool2d 2x2": (lambda x: F.max_pool2d(x, 2), [(32, 16, 32, 32)]),
    "max_pool2d 3/2/1 (ResNet-50 stem)": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                                          [(32, 64, 56, 56)]),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, stride=2), [(32, 64, 1000)]),
    "conv + max_pool2d": (lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 2),
                          [(32, 3, 32, 32), (32, 3, 5, 5)]),
}


@gpu
@pytest.mark.parametrize("case", list(GPU_CASES))
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_kernels_match_composed_ops_on_gpu(case, dtype, rtol):
    fn, shapes = GPU_CASES[case]
    arrays = _random(shapes, dtype)
    (y, grads), (y_ref, grads_ref) = both(fn, arrays)
    _assert_close([y] + grads, [y_ref] + grads_ref, rtol, case)


@gpu
@pytest.mark.parametrize("nd", [1, 2])
def test_max_pool_indices_on_gpu(nd):
    from nabla.backends import cuda as switches
    x = _random([(32, 64, 40, 40)[:2 + nd]], np.float32)[0]
    pool = F.max_pool2d if nd == 2 else F.max_pool1d
    out = []
    for fused in (True, False):
        switches.fused_kernels = fused
        try:
            y, idx = pool(nb.tensor(x, device="cuda"), 3, stride=2, padding=1,
                          return_indices=True)
            out.append((y.cpu().numpy(), idx.cpu().numpy()))
        finally:
            switches.fused_kernels = True
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][0], out[1][0])
