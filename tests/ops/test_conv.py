"""Convolutions: conv1d/2d, conv_transpose1d/2d, unfold, fold.

Each is checked with ``check_op`` against a naive NumPy loop and against PyTorch,
with vjp and jvp gradchecked to second order (which exercises all three
convolution primitives: each one's derivatives are the other two).
"""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.ops import conv as conv_module
from tests.optest import check_op, rand, torch

TF = torch.nn.functional if torch is not None else None


# -- naive NumPy references -----------------------------------------------------------------
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct cross-correlation by loops over output channels and pixels."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    o_ch, cg, kh, kw = w.shape
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for d, k in ((dh, kh), (dw, kw)))
    else:
        pads = tuple((p, p) for p in _pair(padding))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    n, _, hp, wp = xp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o_ch, ho, wo), dtype=x.dtype)
    per_group = o_ch // groups
    for o in range(o_ch):
        c0 = (o // per_group) * cg
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, c0:c0 + cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out


def np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad = padding if isinstance(padding, str) else (0, padding)
    out = np_conv2d(x[..., None, :], w[..., None, :], b, (1, stride), pad, (1, dilation), groups)
    return out[..., 0, :]


def np_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                        dilation=1):
    """Scatter every input pixel times the kernel into the output, then crop the padding."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oh, ow), (dh, dw) = _pair(output_padding), _pair(dilation)
    n, c_in, h, wd = x.shape
    _, cog, kh, kw = w.shape
    full = np.zeros((n, cog * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oh,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + ow), dtype=x.dtype)
    per_group = c_in // groups
    for ci in range(c_in):
        o0 = (ci // per_group) * cog
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for c in range(kw):
                        full[:, o0:o0 + cog, i * sh + a * dh, j * sw + c * dw] += (
                            x[:, ci, i, j, None] * w[ci, :, a, c])
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    out = full[:, :, ph:ph + ho, pw:pw + wo]
    if b is not None:
        out = out + b[:, None, None]
    return out[0] if unbatched else out


def np_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(_pair, (kernel_size, dilation, padding, stride))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, hp, wp = xp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a, b] = xp[:, :, a * dh:a * dh + sh * (ho - 1) + 1:sh,
                                 b * dw:b * dw + sw * (wo - 1) + 1:sw]
    return out.reshape(n, c * kh * kw, ho * wo)


def _torch(name, **kw):
    """A torch reference, looked up only when torch exists."""
    if torch is None:
        return None
    fn = getattr(TF, name)
    return lambda *args: fn(*args, **kw)


# -- the curriculum's seed example ---------------------------------------------------------
def test_seed_example_is_exact():
    image = [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
             [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]]
    kernel = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
    x = nb.tensor(image, dtype=nb.float32).reshape(1, 1, 6, 6)
    w = nb.tensor(kernel, dtype=nb.float32).reshape(1, 1, 3, 3)
    out = F.conv2d(x, w, stride=1, padding=0)
    want = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
    assert out.shape == (1, 1, 4, 4)
    np.testing.assert_array_equal(out.numpy()[0, 0], np.array(want, dtype=np.float32))


def test_six_5x5x3_filters_on_32x32x3_give_28x28x6():
    x = nb.tensor(rand(3, 32, 32).astype(np.float32))
    w = nb.tensor(rand(6, 3, 5, 5, seed=1).astype(np.float32))
    assert nb.conv2d(x, w).shape == (6, 28, 28)
    assert nb.conv2d(x.unsqueeze(0), w).shape == (1, 6, 28, 28)


# -- conv2d ----------------------------------------------------------------------------------
CONV2D_CASES = [
    # (input shape, weight shape, bias, keyword arguments)
    ((2, 2, 4, 4), (3, 2, 2, 2), True, {}),
    ((2, 2, 5, 4), (2, 2, 3, 2), True, dict(stride=2, padding=1)),
    ((1, 2, 5, 6), (2, 2, 2, 3), False, dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))),
    ((1, 2, 5, 5), (2, 2, 3, 3), True, dict(padding="same")),
    ((1, 1, 5, 5), (2, 1, 2, 2), True, dict(padding="same", dilation=2)),
    ((1, 2, 4, 4), (2, 2, 3, 3), False, dict(padding="valid")),
    ((1, 4, 4, 4), (4, 2, 2, 2), True, dict(groups=2)),
    ((2, 3, 4, 4), (3, 1, 2, 2), True, dict(groups=3, padding=1)),        # depthwise
    ((1, 2, 4, 4), (4, 1, 3, 3), False, dict(groups=2, stride=2)),        # channel multiplier
    ((2, 1, 5, 5), (2, 1, 3, 3), True, dict(stride=2)),                   # one input channel
    ((2, 5, 5), (2, 2, 3, 3), True, dict(padding=1)),                     # unbatched
    ((2, 2, 1, 1), (3, 2, 1, 1), True, {}),                               # 1x1 conv
    # 16+ channels at stride 1: the input gradient runs as a forward conv (_as_forward_conv)
    ((1, 16, 4, 4), (3, 16, 3, 3), True, dict(padding=1)),
    ((2, 16, 5, 4), (2, 16, 3, 2), False, dict(padding=(1, 0))),
    ((1, 16, 4, 3), (2, 16, 2, 2), True, dict(padding="same")),           # pads (0, 1)
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", CONV2D_CASES)
def test_conv2d(x_shape, w_shape, bias, kw):
    arrays = [rand(*x_shape), rand(*w_shape, seed=1)] + ([rand(w_shape[0], seed=2)] if bias else [])
    check_op(lambda *a: F.conv2d(*a, **kw), arrays, ref=lambda *a: np_conv2d(*a, **kw),
             torch_fn=_torch("conv2d", **kw))


def test_conv2d_empty_batch_and_no_input_grad():
    x, w = rand(0, 2, 4, 4), rand(3, 2, 3, 3, seed=1)
    check_op(lambda x, w: F.conv2d(x, w, padding=1), [x, w],
             ref=lambda x, w: np_conv2d(x, w, padding=1), torch_fn=_torch("conv2d", padding=1))
    # an input that needs no gradient gets none; the weight's is still right
    x, w, b = rand(2, 2, 4, 4), rand(3, 2, 3, 3, seed=1), rand(3, seed=2)
    check_op(lambda x, w, b: F.conv2d(x, w, b, stride=2), [x, w, b], diff=[1, 2],
             ref=lambda x, w, b: np_conv2d(x, w, b, stride=2),
             torch_fn=_torch("conv2d", stride=2))


def test_conv2d_many_chunks(monkeypatch):
    """The CPU kernels walk the batch in chunks; tiny chunks must give the same values."""
    monkeypatch.setattr(conv_module, "_CHUNK_ELEMENTS", 40)
    kw = dict(stride=2, padding=1)
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kw), [rand(5, 2, 5, 5), rand(3, 2, 3, 3, seed=1),
                                                       rand(3, seed=2)],
             ref=lambda *a: np_conv2d(*a, **kw), torch_fn=_torch("conv2d", **kw), order=1)
    kw = dict(groups=2, padding=1)
    check_op(lambda x, w: F.conv2d(x, w, **kw), [rand(5, 4, 4, 4), rand(4, 2, 3, 3, seed=1)],
             ref=lambda *a: np_conv2d(*a, **kw), torch_fn=_torch("conv2d", **kw), order=1)


def test_conv2d_channels_last_input_matches_contiguous():
    # a permuted (channels-last) input, as a previous conv's output is
    data = rand(2, 4, 4, 3).astype(np.float32)
    w = nb.tensor(rand(2, 3, 3, 3, seed=1).astype(np.float32))
    strided = nb.tensor(data).permute(0, 3, 1, 2)
    contiguous = nb.tensor(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(F.conv2d(strided, w, padding=1).numpy(),
                               F.conv2d(contiguous, w, padding=1).numpy(), rtol=1e-6)


def test_conv2d_output_feeds_the_next_conv():
    """Two convs in a row (the second reads the first's channels-last output)."""
    # the first bias's gradient sums a channels-last cotangent (the ones-vector GEMM path)
    w1, b1, w2 = rand(4, 2, 3, 3, seed=1), rand(4, seed=3), rand(3, 4, 2, 2, seed=2)

    def two(x, w1, b1, w2):
        return F.conv2d(F.conv2d(x, w1, b1, padding=1).tanh(), w2, stride=2)

    def torch_two(x, w1, b1, w2):
        return TF.conv2d(TF.conv2d(x, w1, b1, padding=1).tanh(), w2, stride=2)

    check_op(two, [rand(2, 2, 4, 4), w1, b1, w2],
             ref=lambda x, w1, b1, w2: np_conv2d(np.tanh(np_conv2d(x, w1, b1, padding=1)), w2,
                                                 stride=2),
             torch_fn=torch_two if torch is not None else None, order=1)


# -- conv1d ----------------------------------------------------------------------------------
CONV1D_CASES = [
    ((2, 2, 6), (3, 2, 3), True, {}),
    ((2, 2, 7), (2, 2, 2), False, dict(stride=2, padding=1, dilation=2)),
    ((1, 4, 5), (4, 2, 3), True, dict(groups=2, padding="same")),
    ((2, 5), (3, 2, 2), True, dict(padding=1)),                           # unbatched
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", CONV1D_CASES)
def test_conv1d(x_shape, w_shape, bias, kw):
    arrays = [rand(*x_shape), rand(*w_shape, seed=1)] + ([rand(w_shape[0], seed=2)] if bias else [])
    check_op(lambda *a: F.conv1d(*a, **kw), arrays, ref=lambda *a: np_conv1d(*a, **kw),
             torch_fn=_torch("conv1d", **kw))


# -- conv_transpose2d ----------------------------------------------------------------------------
CONV_T_CASES = [
    ((2, 2, 3, 3), (2, 3, 2, 2), True, {}),
    ((1, 2, 3, 3), (2, 2, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ((1, 2, 3, 2), (2, 2, 2, 3), False, dict(stride=(2, 3), padding=(0, 1),
                                               output_padding=(1, 2), dilation=(1, 2))),
    ((1, 4, 3, 3), (4, 1, 2, 2), True, dict(groups=2, stride=2)),
    ((1, 2, 3, 3), (2, 2, 2, 2), False, dict(dilation=2, output_padding=1)),
    ((2, 3, 3), (2, 2, 2, 2), True, dict(stride=2)),                       # unbatched
    ((1, 3, 3, 3), (3, 16, 3, 3), True, dict(padding=1)),      # 16 outputs: as a forward conv
]


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", CONV_T_CASES)
def test_conv_transpose2d(x_shape, w_shape, bias, kw):
    out_channels = w_shape[1] * kw.get("groups", 1)
    arrays = [rand(*x_shape), rand(*w_shape, seed=1)]
    arrays += [rand(out_channels, seed=2)] if bias else []
    check_op(lambda *a: F.conv_transpose2d(*a, **kw), arrays,
             ref=lambda *a: np_conv_transpose2d(*a, **kw),
             torch_fn=_torch("conv_transpose2d", **kw))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for matching geometry
    x, w, y = rand(2, 3, 7, 7), rand(4, 3, 3, 3, seed=1), rand(2, 4, 4, 4, seed=2)
    kw = dict(stride=2, padding=1, dilation=1)
    lhs = (F.conv2d(nb.tensor(x), nb.tensor(w), **kw) * nb.tensor(y)).sum().item()
    rhs = (nb.tensor(x) * F.conv_transpose2d(nb.tensor(y), nb.tensor(w), **kw)).sum().item()
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


def test_conv_transpose1d():
    kw = dict(stride=2, padding=1, output_padding=1)
    arrays = [rand(2, 2, 4), rand(2, 3, 3, seed=1), rand(3, seed=2)]
    check_op(lambda *a: F.conv_transpose1d(*a, **kw), arrays,
             ref=lambda x, w, b: np_conv_transpose2d(x[..., None, :], w[..., None, :], b,
                                                     (1, 2), (0, 1), (0, 1))[..., 0, :],
             torch_fn=_torch("conv_transpose1d", **kw))


# -- unfold / fold -------------------------------------------------------------------------------
UNFOLD_CASES = [
    ((2, 2, 4, 5), dict(kernel_size=2)),
    ((1, 2, 5, 5), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2))),
    ((1, 1, 3, 3), dict(kernel_size=3, padding=1)),
]


@pytest.mark.parametrize("x_shape, kw", UNFOLD_CASES)
def test_unfold(x_shape, kw):
    check_op(lambda x: F.unfold(x, **kw), [rand(*x_shape)], ref=lambda x: np_unfold(x, **kw),
             torch_fn=_torch("unfold", **kw))


@pytest.mark.parametrize("x_shape, kw", UNFOLD_CASES)
def test_fold(x_shape, kw):
    size = x_shape[2:]
    cols_shape = np_unfold(np.zeros(x_shape), **kw).shape

    def ref(cols):  # fold is unfold's adjoint: its matrix is unfold's, transposed
        n_in = int(np.prod(x_shape[1:]))
        basis = np.eye(n_in).reshape((n_in,) + x_shape[1:])
        matrix = np_unfold(basis, **kw).reshape(n_in, -1)          # (C*H*W, C*k*k*L)
        return (cols.reshape(cols.shape[0], -1) @ matrix.T).reshape((cols.shape[0],) + x_shape[1:])

    check_op(lambda c: F.fold(c, size, **kw), [rand(*cols_shape)], ref=ref,
             torch_fn=_torch("fold", output_size=size, **kw))


def test_fold_of_unfold():
    x = nb.tensor(rand(2, 3, 6, 4))
    # non-overlapping blocks: an exact round trip
    np.testing.assert_array_equal(F.fold(F.unfold(x, 2, stride=2), (6, 4), 2, stride=2).numpy(),
                                  x.numpy())
    # overlapping blocks: each pixel counted once per block that covers it
    back = F.fold(F.unfold(x, 3, padding=1), (6, 4), 3, padding=1)
    counts = F.fold(F.unfold(nb.ones_like(x), 3, padding=1), (6, 4), 3, padding=1)
    np.testing.assert_allclose(back.numpy(), (x * counts).numpy(), rtol=1e-12)
    assert counts.numpy()[0, 0, 0, 0] == 4 and counts.numpy()[0, 0, 2, 2] == 9
    # unbatched input
    assert F.unfold(x[0], 2).shape == (12, 15)
    assert F.fold(F.unfold(x[0], 2), (6, 4), 2).shape == (3, 6, 4)


# -- errors --------------------------------------------------------------------------------------
def _t(*shape, dtype=np.float32):
    return nb.tensor(np.zeros(shape, dtype=dtype))


def test_conv2d_errors():
    with pytest.raises(RuntimeError, match=r"conv2d: input has 3 channels but weight expects 1 "
                                           r"\(weight shape \(6, 1, 5, 5\), groups=1\)"):
        F.conv2d(_t(1, 3, 28, 28), _t(6, 1, 5, 5))
    with pytest.raises(RuntimeError, match=r"conv2d: the kernel .* is larger than the padded "
                                           r"input \(5, 5\)"):
        F.conv2d(_t(1, 1, 3, 3), _t(1, 1, 6, 6), padding=1)
    with pytest.raises(RuntimeError, match=r"conv2d: the kernel .*dilation \(3, 3\)"):
        F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), dilation=3)
    with pytest.raises(RuntimeError, match="conv2d: input has 3 channels but weight expects 4"):
        F.conv2d(_t(1, 3, 5, 5), _t(4, 2, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match=r"out_channels \(3.*divisible by groups=2"):
        F.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="conv2d: groups must be a positive int"):
        F.conv2d(_t(1, 4, 5, 5), _t(4, 4, 3, 3), groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="same", stride=2)
    with pytest.raises(ValueError, match="conv2d: padding must be an int, a tuple, 'valid' or"):
        F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="full")
    with pytest.raises(ValueError, match=r"conv2d: stride must be positive, got \(0, 1\)"):
        F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=(0, 1))
    with pytest.raises(RuntimeError, match=r"conv2d: bias must have shape \(2,\)"):
        F.conv2d(_t(1, 1, 5, 5), _t(2, 1, 3, 3), _t(3))
    with pytest.raises(RuntimeError, match=r"conv2d: expected a 3-D \(unbatched\) or 4-D"):
        F.conv2d(_t(5, 5), _t(2, 1, 3, 3))
    with pytest.raises(RuntimeError, match=r"conv2d: expected a 4-D weight"):
        F.conv2d(_t(1, 1, 5, 5), _t(2, 1, 3))
    with pytest.raises(RuntimeError, match=r"conv2d: input \(float32\) and weight \(float64\)"):
        F.conv2d(_t(1, 1, 5, 5), _t(2, 1, 3, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match="conv2d: expected a floating-point input"):
        F.conv2d(_t(1, 1, 5, 5, dtype=np.int64), _t(2, 1, 3, 3))


def test_conv1d_and_transpose_errors():
    with pytest.raises(RuntimeError, match="conv1d: input has 2 channels but weight expects 3"):
        F.conv1d(_t(1, 2, 8), _t(4, 3, 3))
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: input has 3 channels but weight "
                                           r"expects 2"):
        F.conv_transpose2d(_t(1, 3, 4, 4), _t(2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than either "
                                         r"stride \(2, 2\) or dilation \(1, 1\)"):
        F.conv_transpose2d(_t(1, 2, 4, 4), _t(2, 3, 3, 3), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: the output size \(-1, -1\)"):
        F.conv_transpose2d(_t(1, 2, 1, 1), _t(2, 3, 1, 1), padding=1)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: in_channels \(3.*groups=2"):
        F.conv_transpose2d(_t(1, 3, 4, 4), _t(3, 1, 3, 3), groups=2)


def test_unfold_fold_errors():
    with pytest.raises(RuntimeError, match=r"unfold: the kernel .* is larger than the padded "
                                           r"image \(3, 3\)"):
        F.unfold(_t(1, 1, 3, 3), 4)
    with pytest.raises(RuntimeError, match=r"fold: the input \(shape \(1, 4, 5\)\) has 5 blocks "
                                           r"but output_size \(3, 3\)"):
        F.fold(_t(1, 4, 5), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"fold: expected the size of dimension 1 .* divisible "
                                           r"by kh\*kw = 4"):
        F.fold(_t(1, 5, 4), (3, 3), 2)


def test_kept_and_rebuilt_column_matrices_give_the_same_gradients(monkeypatch):
    import nabla.ops.conv as conv_ops
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 7, 6))
    w = rng.standard_normal((4, 2, 3, 3))

    def grads():
        xt, wt = nb.tensor(x, requires_grad=True), nb.tensor(w, requires_grad=True)
        y = nb.nn.functional.conv2d(xt, wt, padding=1, stride=(1, 2))
        return nb.autograd.grad((y * y).sum(), [xt, wt])

    kept = grads()
    monkeypatch.setattr(conv_ops, "KEEP_COLUMNS_BYTES", 0)
    rebuilt = grads()
    for a, b in zip(kept, rebuilt):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
