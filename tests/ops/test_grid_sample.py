"""grid_sample, affine_grid and channel_shuffle against NumPy loops and PyTorch."""
import itertools
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, needs_torch, rand, torch

TF = torch.nn.functional if torch is not None else None
MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")


def safe_grid(batch, out, sizes, align_corners, seed=0) -> np.ndarray:
    """A grid (batch, *out, d) whose pixel coordinates lie inside and outside the input, with
    fractional parts away from 0 and 0.5: off the kinks of bilinear weights, clipping and
    reflection, and off nearest's rounding ties, so finite differences are smooth."""
    rng = np.random.default_rng(seed)
    shape = (batch,) + tuple(out)
    columns = []
    for n in reversed(sizes):  # the grid's last axis is (x, y[, z]): the last spatial dim first
        whole = rng.integers(-2, n + 1, shape)
        frac = rng.uniform(0.1, 0.4, shape) + 0.5 * rng.integers(0, 2, shape)
        u = whole + frac
        a, b = ((n - 1) / 2 if align_corners else n / 2), (n - 1) / 2
        columns.append((u - b) / a)
    return np.stack(columns, axis=-1)


# -- NumPy reference: one output at a time ----------------------------------------------------
def _reflect(u, low, high):
    span = high - low
    if span <= 0:
        return 0.0
    d = abs(u - low)
    extra = math.fmod(d, span)
    return (span - extra if math.floor(d / span) % 2 else extra) + low


def _pad_coordinate(u, n, padding_mode, align_corners):
    if padding_mode == "zeros":
        return u
    if padding_mode == "reflection":
        u = _reflect(u, *((0.0, n - 1.0) if align_corners else (-0.5, n - 0.5)))
    return min(max(u, 0.0), n - 1.0)


def _cubic(t):
    a = -0.75
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def ref_grid_sample(x, grid, mode, padding_mode, align_corners):
    nd = x.ndim - 2
    sizes = x.shape[2:]
    out = np.zeros(x.shape[:2] + grid.shape[1:-1], dtype=x.dtype)
    for idx in itertools.product(*map(range, grid.shape[:-1])):
        n, o = idx[0], idx[1:]
        taps = []  # per spatial dim: [(position, weight)]
        for i, size in enumerate(sizes):
            g = float(grid[idx + (nd - 1 - i,)])
            a = (size - 1) / 2 if align_corners else size / 2
            u = a * g + (size - 1) / 2
            if mode == "bicubic":
                f = math.floor(u)
                dim = [(_pad_coordinate(f - 1 + j, size, padding_mode, align_corners), w)
                       for j, w in enumerate(_cubic(u - f))]
            else:
                u = _pad_coordinate(u, size, padding_mode, align_corners)
                if mode == "nearest":
                    dim = [(np.rint(u), 1.0)]
                else:
                    f = math.floor(u)
                    dim = [(f, 1 - (u - f)), (f + 1, u - f)]
            taps.append(dim)
        for combo in itertools.product(*taps):
            pos = tuple(int(p) for p, _ in combo)
            if all(0 <= p < s for p, s in zip(pos, sizes)):
                out[(n, slice(None)) + o] += math.prod(w for _, w in combo) * x[(n, slice(None))
                                                                               + pos]
    return out


# -- grid_sample -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(MODES, PADDINGS, (False, True))))
def test_grid_sample_2d(mode, padding_mode, align_corners):
    x = rand(2, 2, 3, 4)
    seed = 3 * MODES.index(mode) + PADDINGS.index(padding_mode)
    grid = safe_grid(2, (3, 2), (3, 4), align_corners, seed=seed)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_op(lambda a, g: F.grid_sample(a, g, **kw), [x, grid],
             ref=lambda a, g: ref_grid_sample(a, g, **kw),
             torch_fn=None if torch is None else lambda a, g: TF.grid_sample(a, g, **kw))


@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(("bilinear", "nearest"), PADDINGS, (False, True))))
def test_grid_sample_3d(mode, padding_mode, align_corners):
    x = rand(1, 2, 2, 3, 3, seed=1)
    grid = safe_grid(1, (2, 1, 2), (2, 3, 3), align_corners, seed=3)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_op(lambda a, g: F.grid_sample(a, g, **kw), [x, grid],
             ref=lambda a, g: ref_grid_sample(a, g, **kw),
             torch_fn=None if torch is None else lambda a, g: TF.grid_sample(a, g, **kw))


def test_grid_sample_single_pixel_and_defaults():
    """Size-1 dimensions (reflection over an empty span) and the default arguments."""
    x = rand(1, 2, 1, 3, seed=4)
    grid = safe_grid(1, (2, 3), (1, 3), False, seed=5)
    for pad in PADDINGS:
        got = F.grid_sample(nb.tensor(x), nb.tensor(grid), padding_mode=pad).numpy()
        np.testing.assert_allclose(got, ref_grid_sample(x, grid, "bilinear", pad, False),
                                   atol=1e-12)


@needs_torch
def test_grid_sample_float32_and_repeated_positions_match_torch():
    """Many grid points reading the same pixels: the input gradient sums their weights."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    grid = rng.uniform(-0.2, 0.2, (2, 7, 8, 2)).astype(np.float32)
    a, g = nb.tensor(x, requires_grad=True), nb.tensor(grid, requires_grad=True)
    out = F.grid_sample(a, g, align_corners=True)
    out.sum().backward()
    ta, tg = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    tout = TF.grid_sample(ta, tg, align_corners=True)
    tout.sum().backward()
    assert out.dtype == nb.float32 and a.grad.dtype == nb.float32
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(g.grad.numpy(), tg.grad.numpy(), atol=1e-3)


def test_grid_sample_runs_in_float32_under_autocast():
    x = nb.tensor(rand(1, 2, 3, 3)).to(nb.bfloat16)
    g = nb.tensor(safe_grid(1, (2, 2), (3, 3), False)).to(nb.bfloat16)
    with nb.autocast("cpu"):
        out = F.grid_sample(x, g)
    assert out.dtype == nb.float32
    want = F.grid_sample(x.to(nb.float32), g.to(nb.float32))
    np.testing.assert_array_equal(out.numpy(), want.numpy())


@pytest.mark.parametrize("x_shape,grid_shape", [((0, 2, 3, 3), (0, 2, 2, 2)),
                                                  ((1, 2, 3, 3), (1, 0, 2, 2))])
def test_grid_sample_empty(x_shape, grid_shape):
    x = nb.zeros(*x_shape, requires_grad=True)
    g = nb.zeros(*grid_shape, requires_grad=True)
    out = F.grid_sample(x, g, mode="bicubic")
    assert out.shape == x_shape[:2] + grid_shape[1:3]
    out.sum().backward()
    assert x.grad.shape == x_shape and g.grad.shape == grid_shape


def test_grid_sample_nearest_grid_gradient_is_zero():
    x = nb.tensor(rand(1, 1, 3, 3))
    g = nb.tensor(safe_grid(1, (2, 2), (3, 3), False), requires_grad=True)
    F.grid_sample(x, g, mode="nearest").sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.zeros(g.shape))


def test_grid_sample_errors():
    x = nb.tensor(rand(1, 2, 3, 3))
    g = nb.tensor(rand(1, 2, 2, 2))
    with pytest.raises(ValueError, match="grid_sample: mode"):
        F.grid_sample(x, g, mode="area")
    with pytest.raises(ValueError, match="grid_sample: padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap")
    with pytest.raises(RuntimeError, match=r"grid of shape \(1, 2, 2, 3\)"):
        F.grid_sample(x, nb.tensor(rand(1, 2, 2, 3)))
    with pytest.raises(RuntimeError, match="N = 1"):
        F.grid_sample(x, nb.tensor(rand(2, 2, 2, 2)))
    with pytest.raises(RuntimeError, match="4-D"):
        F.grid_sample(nb.tensor(rand(1, 1, 2, 2, 2)), nb.tensor(rand(1, 1, 1, 1, 3)),
                      mode="bicubic")
    with pytest.raises(TypeError, match="one floating point dtype"):
        F.grid_sample(x, g.to(nb.float32))


# -- affine_grid ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Since version 1.3.0")
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 2, 3, 4, 2)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(size, align_corners):
    nd = len(size) - 2
    theta = rand(size[0], nd, nd + 1, seed=len(size))

    def ref(t):
        axes = []
        for n in size[2:]:
            c = np.linspace(-1, 1, n) if n > 1 else np.zeros(1)
            axes.append(c if align_corners else c * (n - 1) / n)
        mesh = np.meshgrid(*axes, indexing="ij")
        base = np.stack(list(mesh[::-1]) + [np.ones_like(mesh[0])], axis=-1)  # (*S, d + 1)
        return np.einsum("...k,njk->n...j", base, t)

    check_op(lambda t: F.affine_grid(t, size, align_corners), [theta], ref=ref,
             torch_fn=None if torch is None else lambda t: TF.affine_grid(t, size,
                                                                           align_corners))


def test_affine_grid_identity_resamples_the_input():
    x = rand(2, 3, 4, 5)
    theta = np.tile(np.eye(2, 3), (2, 1, 1))
    for align in (False, True):
        grid = F.affine_grid(nb.tensor(theta), x.shape, align_corners=align)
        out = F.grid_sample(nb.tensor(x), grid, align_corners=align)
        np.testing.assert_allclose(out.numpy(), x, atol=1e-12)


@needs_torch
def test_spatial_transformer_gradient_to_theta_matches_torch():
    x = rand(2, 2, 5, 6, seed=7)
    theta = np.tile(np.array([[0.9, 0.2, 0.1], [-0.15, 1.1, -0.05]]), (2, 1, 1))
    t = nb.tensor(theta, requires_grad=True)
    out = F.grid_sample(nb.tensor(x), F.affine_grid(t, (2, 2, 4, 4), False),
                        padding_mode="border", align_corners=False)
    (out * out).sum().backward()
    tt = torch.tensor(theta, requires_grad=True)
    tout = TF.grid_sample(torch.tensor(x), TF.affine_grid(tt, (2, 2, 4, 4), False),
                          padding_mode="border", align_corners=False)
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), atol=1e-10)


def test_affine_grid_errors():
    with pytest.raises(ValueError, match=r"affine_grid: for size .* expected theta of shape "
                                         r"\(2, 2, 3\)"):
        F.affine_grid(nb.tensor(rand(2, 3, 4)), (2, 1, 4, 4), False)
    with pytest.raises(ValueError, match="affine_grid: size must be"):
        F.affine_grid(nb.tensor(rand(2, 2, 3)), (2, 4, 4), False)


# -- channel_shuffle and the *_with_indices aliases ------------------------------------------
@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 3), ((1, 4, 2, 3), 2), ((2, 6, 1, 2, 2), 6)])
def test_channel_shuffle(shape, groups):
    def ref(x):
        n, c = x.shape[:2]
        return x.reshape((n, groups, c // groups) + x.shape[2:]).swapaxes(1, 2).reshape(x.shape)
    check_op(lambda x: F.channel_shuffle(x, groups), [rand(*shape)], ref=ref,
             torch_fn=None if torch is None else lambda x: TF.channel_shuffle(x, groups))
    layer = nb.nn.ChannelShuffle(groups)
    np.testing.assert_array_equal(layer(nb.tensor(rand(*shape))).numpy(), ref(rand(*shape)))
    assert repr(layer) == f"ChannelShuffle(groups={groups})"


def test_channel_shuffle_errors():
    with pytest.raises(RuntimeError, match="channel_shuffle: the channel size 5"):
        F.channel_shuffle(nb.tensor(rand(1, 5, 2)), 2)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        F.channel_shuffle(nb.tensor(rand(1, 4, 2)), 0)


@needs_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pool_with_indices_aliases(nd):
    x = rand(1, 2, *(5,) * nd, seed=nd)
    tx = torch.tensor(x)
    for name, args in ((f"max_pool{nd}d_with_indices", (2,)),
                       (f"adaptive_max_pool{nd}d_with_indices", (3,))):
        values, indices = getattr(F, name)(nb.tensor(x), *args)
        tvalues, tindices = getattr(TF, name)(tx, *args)
        np.testing.assert_array_equal(values.numpy(), tvalues.numpy())
        np.testing.assert_array_equal(indices.numpy(), tindices.numpy())
