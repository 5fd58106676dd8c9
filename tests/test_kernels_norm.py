"""The batch norm and dropout kernels (``nabla.kernels.batchnorm``, ``nabla.kernels.dropout``).

On the CPU: the kernels run under the host emulator behind the ops' real glue and match
the CPU path (batch norm: values, every gradient and the running statistics; dropout:
the output is exactly x mask / (1 - p) for the mask the kernel drew, the gradient uses
that mask, seeds reproduce it); the Philox generator, compiled on the host from the same
source, matches Random123's known answers and draws uniform words. On a GPU: the kernels
against the composed CuPy ops, and dropout's statistics on the device.
"""
from __future__ import annotations

import ctypes
import math
import shutil
import subprocess

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.kernels import _build
from nabla.kernels import batchnorm as bn_kernels
from nabla.kernels import dropout as dropout_kernels
from tests.kernel_harness import both, gpu, record_launches

SELU_SATURATION = 1.7580993408473766


# -- batch norm under the emulator ----------------------------------------------------------
def _channels_last(x):
    """x (N, C, H, W) as a view of channels-last memory, as a convolution leaves it."""
    return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


BN_SHAPES = {  # name -> (input shape, channels-last view, kernel that takes the sums)
    "(N, C)": ((60, 5), False, "bn_sums_columns"),
    "(N, C), C > 256": ((5, 300), False, "bn_sums_columns"),
    "(N, C, L)": ((8, 4, 9), False, "bn_sums_planes"),
    "(N, C, H, W)": ((4, 3, 10, 13), False, "bn_sums_planes"),
    "(N, C, H, W) channels-last": ((3, 7, 4, 5), True, "bn_sums_columns"),
}


def _bn_run(shape, last, affine, training, arrays):
    """[y, dx, (dweight, dbias,) running_mean, running_var] of batch_norm on ``arrays``."""
    channels = shape[1]
    x = nb.tensor(arrays[0], requires_grad=True)
    params = [nb.tensor(a, requires_grad=True) for a in arrays[1:3]] if affine else []
    running = [nb.tensor(a) for a in arrays[3:5]]
    inp = _channels_last(x) if last else x
    y = F.batch_norm(inp, *running, *(params or [None, None]), training=training,
                     momentum=0.3, eps=1e-3)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype)
    grads = nb.autograd.grad([y], [x] + params, grad_outputs=[nb.tensor(g)])
    assert channels == running[0].shape[0]
    return [y.detach().numpy()] + [d.numpy() for d in grads] + [r.numpy() for r in running]


def _bn_arrays(shape, dtype):
    rng = np.random.default_rng()  # fresh every run; a mean and scale per channel
    c = shape[1]
    per_channel = (1, c) + (1,) * (len(shape) - 2)
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, c).reshape(per_channel)
         + rng.standard_normal(c).reshape(per_channel) * 2)
    return [a.astype(dtype) for a in (x, rng.uniform(0.5, 2, c), rng.standard_normal(c),
                                      rng.standard_normal(c), rng.uniform(0.5, 2, c))]


@pytest.mark.parametrize("name", list(BN_SHAPES))
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype, tol, chunked", [(np.float64, 1e-12, True),
                                                 (np.float64, 1e-12, False),
                                                 (np.float32, 1e-5, True)])
def test_batch_norm_kernels_match_the_cpu_path(name, affine, dtype, tol, chunked, emulated,
                                               monkeypatch):
    shape, last, sums = BN_SHAPES[name]
    arrays = _bn_arrays(shape, dtype)
    if chunked:  # three chunks per channel; else one, a thread walking several elements
        per_block = math.prod(shape) // shape[1]
        per_block *= 1 if sums == "bn_sums_planes" else min(shape[1], 256)
        monkeypatch.setattr(bn_kernels, "MIN_PER_BLOCK", per_block // 3)
    monkeypatch.setattr(_build, "_MAX_BLOCKS", 1)  # elementwise grid-stride loops go round
    calls = record_launches(monkeypatch)
    glued = _bn_run(shape, last, affine, True, arrays)
    assert calls == [sums, "bn_finish_fwd", "bn_apply", sums, "bn_finish_bwd",
                     "bn_grad_input"], calls
    monkeypatch.undo()
    plain = _bn_run(shape, last, affine, True, arrays)
    names = ["y", "dx"] + (["dweight", "dbias"] if affine else []) + ["running_mean",
                                                                      "running_var"]
    for what, a, b in zip(names, glued, plain):
        assert a.dtype == dtype, what
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{name}: {what}")


@pytest.mark.parametrize("chunks", [1, 3])
def test_batch_norm_sums_are_split_into_chunks(chunks, emulated, monkeypatch):
    """The partial sums come in the asked number of chunks, and the finish adds them."""
    x = _bn_arrays((8, 2, 33), np.float64)[0]
    monkeypatch.setattr(bn_kernels, "MIN_PER_BLOCK", 8 * 33 // chunks)
    partial = bn_kernels._channel_sums(x, None, None, 8, 2, 33)
    assert partial.shape == (2, chunks, 2)
    d = x - x[:1, :, :1]  # about each channel's first element
    np.testing.assert_allclose(partial[0].sum(axis=0), d.sum(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(partial[1].sum(axis=0), (d * d).sum(axis=(0, 2)), rtol=1e-12)


def test_batch_norm_variance_survives_a_large_mean_in_float32(emulated):
    # sums about the channel's first element, not zero: a mean of 1e4 and a std of 1
    # would leave float32 sums of squares no digit of the variance
    rng = np.random.default_rng()
    x = (rng.standard_normal((64, 3, 8)) + 1e4).astype(np.float32)
    _, mean, var, _ = bn_kernels.batch_norm_train(x, np.ones(3, np.float32),
                                                  np.zeros(3, np.float32), 1e-5)
    ref = x.astype(np.float64).var(axis=(0, 2))
    np.testing.assert_allclose(var, ref, rtol=1e-4)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-6)


@pytest.mark.parametrize("name", ["(N, C)", "(N, C, H, W)", "(N, C, H, W) channels-last"])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_batch_norm_eval_kernel_matches_the_cpu_path(name, dtype, tol, emulated, monkeypatch):
    shape, last, _ = BN_SHAPES[name]
    arrays = _bn_arrays(shape, dtype)
    monkeypatch.setattr(_build, "_MAX_BLOCKS", 1)
    calls = record_launches(monkeypatch)
    glued = _bn_run(shape, last, True, False, arrays)
    assert calls == ["bn_apply"], calls
    monkeypatch.undo()
    plain = _bn_run(shape, last, True, False, arrays)
    for k, (a, b) in enumerate(zip(glued, plain)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{name}: output {k}")


def test_batch_norm_second_order_runs_through_the_composed_rules(emulated, monkeypatch):
    rng = np.random.default_rng()
    arrays = [rng.standard_normal((6, 3, 4)), rng.uniform(0.5, 2, 3), rng.standard_normal(3)]
    r = rng.standard_normal((6, 3, 4))

    def second_order():
        x, w, b = (nb.tensor(a, requires_grad=True) for a in arrays)
        y = F.batch_norm(x, None, None, w, b, training=True)
        (dx,) = nb.autograd.grad([(y * nb.tensor(r)).sum()], [x], create_graph=True)
        return [a.numpy() for a in nb.autograd.grad([(dx * dx).sum()], [x, w])]

    calls = record_launches(monkeypatch)
    glued = second_order()
    assert calls and "bn_grad_input" not in calls  # the forward's kernels only
    monkeypatch.undo()
    for a, b in zip(glued, second_order()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_forward_mode_through_the_kernels(training, emulated, monkeypatch):
    rng = np.random.default_rng()
    x, t = rng.standard_normal((5, 3, 4)), rng.standard_normal((5, 3, 4))
    w, b, rv = rng.uniform(0.5, 2, 3), rng.standard_normal(3), rng.uniform(0.5, 2, 3)

    def run():
        fn = lambda v: F.batch_norm(v, nb.tensor(b), nb.tensor(rv), nb.tensor(w),  # noqa: E731
                                    nb.tensor(b), training=training)
        return [a.numpy() for a in nb.func.jvp(fn, (nb.tensor(x),), (nb.tensor(t),))]

    calls = record_launches(monkeypatch)
    glued = run()
    assert "bn_apply" in calls
    monkeypatch.undo()
    for a, b_ in zip(glued, run()):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_batch_norm_kernels_skip_float16_and_switch_off(emulated, monkeypatch):
    from nabla.backends import cuda as cuda_switches
    calls = record_launches(monkeypatch)
    x = nb.tensor(np.random.default_rng().standard_normal((4, 3, 5)).astype(np.float16))
    F.batch_norm(x, None, None, training=True)
    monkeypatch.setattr(cuda_switches, "fused_kernels", False)
    F.batch_norm(x.double(), None, None, training=True)
    assert calls == []


# -- the Philox generator on the host ----------------------------------------------------------
_HOST = r"""
extern "C" void philox(const unsigned int* ctr, const unsigned int* key, unsigned int* out) {
    for (int j = 0; j < 4; ++j) out[j] = ctr[j];
    nb_philox4x32_10(out, key[0], key[1]);
}
/* word i of an n-element draw, as the kernels lay it out */
extern "C" void draws(unsigned long long seed, long long n, unsigned int* out) {
    const long long blocks = (n + 3) / 4;
    for (long long q = 0; q < blocks; ++q) {
        unsigned int r[4];
        nb_dropout_block(r, q, seed);
        for (int j = 0; j < 4; ++j)
            if (q + j * blocks < n) out[q + j * blocks] = r[j];
    }
}
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    folder = tmp_path_factory.mktemp("philox")
    source, library = folder / "philox.cpp", folder / "philox.so"
    source.write_text(_build.HEADER + dropout_kernels.SOURCE + _HOST)  # plain C++: no NB_GPU
    done = subprocess.run([compiler, "-O2", "-shared", "-fPIC", str(source), "-o",
                           str(library)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return ctypes.CDLL(str(library))


def host_draws(host, seed: int, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint32)
    host.draws(ctypes.c_ulonglong(seed), ctypes.c_longlong(n),
               out.ctypes.data_as(ctypes.c_void_p))
    return out


# Random123's known-answer vectors for Philox4x32-10: (counter, key, block)
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, block", PHILOX_KAT)
def test_philox_matches_the_known_answers(host, counter, key, block):
    ctr, k = np.array(counter, np.uint32), np.array(key, np.uint32)
    out = np.empty(4, np.uint32)
    host.philox(*[a.ctypes.data_as(ctypes.c_void_p) for a in (ctr, k, out)])
    assert [hex(v) for v in out] == [hex(v) for v in block]


def test_philox_draws_are_uniform(host):
    rng = np.random.default_rng()
    seed, n = int(rng.integers(0, 2 ** 64, dtype=np.uint64)), 1 << 20
    words = host_draws(host, seed, n)
    u = words / 2.0 ** 32
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    # chi-square over 256 buckets of the high byte and of the low byte: 255 degrees of
    # freedom, mean 255, standard deviation sqrt(510); a fixed-seed failure is 6 sigma out
    for byte in (words >> 24, words & 0xFF):
        counts = np.bincount(byte.astype(np.int64), minlength=256)
        chi2 = ((counts - n / 256) ** 2 / (n / 256)).sum()
        assert abs(chi2 - 255) < 6 * math.sqrt(510), chi2
    # neighbours in the draw (same block, and adjacent blocks) and the next seed: uncorrelated
    z = u - 0.5
    q = (n + 3) // 4
    for a, b in ((z[:-1], z[1:]), (z[:q], z[q:2 * q]),
                 (z, host_draws(host, (seed + 1) % 2 ** 64, n) / 2.0 ** 32 - 0.5)):
        assert abs(np.corrcoef(a, b)[0, 1]) < 6 / math.sqrt(len(a))


def test_threshold_keeps_one_minus_p():
    for p in (1e-9, 0.1, 0.5, 0.999):
        t = int(dropout_kernels.threshold(p))
        assert abs((2 ** 32 - t) / 2 ** 32 - (1 - p)) <= 2 ** -32


# -- dropout under the emulator ---------------------------------------------------------------
def seeded(seed=5):
    return nb.Generator().manual_seed(seed)


def _next_seed(generator) -> int:
    """The seed the op will draw from a generator in this state."""
    state = generator.get_state()
    seed = int(generator.numpy.integers(0, 2 ** 64, dtype=np.uint64))
    generator.set_state(state)
    return seed


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_output_is_the_scaled_mask(dtype, p, emulated, monkeypatch):
    rng = np.random.default_rng()
    x = rng.uniform(0.5, 2, 4001) * rng.choice([-1, 1], 4001)  # never zero
    x = x.astype(dtype)
    monkeypatch.setattr(_build, "_MAX_BLOCKS", 1)  # grid-stride loops go round
    calls = record_launches(monkeypatch)
    y = F.dropout(nb.tensor(x), p).numpy()
    assert calls == ["dropout_fwd"]
    kept = y != 0
    scale = np.float32(1 / (1 - p)) if dtype == np.float16 else dtype(1 / (1 - p))
    np.testing.assert_array_equal(y, np.where(kept, (x * scale).astype(dtype), 0))
    # the kept fraction: 1 - p within 5 standard deviations
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / x.size)


def test_dropout_mask_is_the_generators_draw(host, emulated):
    gen, p, n = seeded(11), 0.3, 2999
    seed = _next_seed(gen)
    y = F.dropout(nb.ones(n, dtype=nb.float64), p, generator=gen).numpy()
    np.testing.assert_array_equal(y != 0, host_draws(host, seed, n) >= math.ceil(p * 2 ** 32))


def test_dropout_seeds_reproduce_masks(emulated):
    x = nb.ones(40, 50)
    nb.manual_seed(42)
    a = F.dropout(x, 0.5).numpy()
    nb.manual_seed(42)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()  # the next call draws a new seed
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=seeded(3)).numpy(),
                                  F.dropout(x, 0.5, generator=seeded(3)).numpy())
    assert not np.array_equal(F.dropout(x, 0.5, generator=seeded(3)).numpy(),
                              F.dropout(x, 0.5, generator=seeded(4)).numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_dropout_gradient_uses_the_same_mask(dtype, emulated, monkeypatch):
    rng = np.random.default_rng()
    x = nb.tensor(rng.uniform(0.5, 2, (30, 41)).astype(dtype), requires_grad=True)
    g = rng.standard_normal((30, 41)).astype(dtype)
    monkeypatch.setattr(_build, "_MAX_BLOCKS", 1)  # grid-stride loops go round
    calls = record_launches(monkeypatch)
    y = F.dropout(x, 0.4)
    y.backward(nb.tensor(g))
    assert calls == ["dropout_fwd", "dropout_bwd"]
    kept = y.detach().numpy() != 0
    scale = np.float32(1 / 0.6) if dtype == np.float16 else dtype(1 / 0.6)
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, (g * scale).astype(dtype), 0))


def test_dropout_higher_order_rules_use_the_same_mask(emulated):
    x = nb.tensor(np.random.default_rng().uniform(0.5, 2, (7, 9)), requires_grad=True)
    t = nb.tensor(np.random.default_rng().standard_normal((7, 9)))
    y, ty = nb.func.jvp(lambda v: F.dropout(v, 0.5, generator=seeded()), (x,), (t,))
    factor = (y.detach().numpy() != 0) * 2.0
    np.testing.assert_array_equal(ty.numpy(), t.numpy() * factor)
    y = F.dropout(x, 0.5, generator=seeded())
    (dx,) = nb.autograd.grad([(y * y).sum()], [x], create_graph=True)  # 2 x factor^2
    np.testing.assert_allclose(dx.detach().numpy(), 2 * x.detach().numpy() * factor ** 2)
    (ddx,) = nb.autograd.grad([dx.sum()], [x])
    np.testing.assert_allclose(ddx.numpy(), 2 * factor ** 2)


@pytest.mark.parametrize("fn, shape, lead", [  # lead: the axes a mask entry covers
    (F.dropout2d, (6, 10, 4, 5), 2), (F.dropout1d, (5, 8, 7), 2), (F.dropout1d, (8, 7), 1),
    (F.dropout3d, (3, 4, 2, 3, 2), 2), (F.dropout3d, (4, 2, 3, 2), 1)])
def test_channel_dropout_zeroes_whole_channels(fn, shape, lead, emulated, monkeypatch):
    rng = np.random.default_rng()
    x = nb.tensor(rng.uniform(0.5, 2, shape), requires_grad=True)
    g = rng.standard_normal(shape)
    monkeypatch.setattr(_build, "_MAX_BLOCKS", 1)  # grid-stride loops go round
    calls = record_launches(monkeypatch)
    y = fn(x, 0.5)
    y.backward(nb.tensor(g))
    assert calls == ["dropout_mask", "dropout_bwd", "dropout_bwd"]
    planes = y.detach().numpy().reshape(math.prod(shape[:lead]), -1)
    kept = (planes != 0).all(axis=1)
    assert np.array_equal(kept, (planes != 0).any(axis=1)), "a channel was partly dropped"
    expected = np.where(kept[:, None], x.detach().numpy().reshape(planes.shape) * 2, 0)
    np.testing.assert_array_equal(planes, expected)
    np.testing.assert_array_equal(x.grad.numpy().reshape(planes.shape),
                                  np.where(kept[:, None], g.reshape(planes.shape) * 2, 0))


def test_alpha_dropout_takes_its_mask_from_the_device(emulated, monkeypatch):
    p = 0.2
    a = 1 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    rng = np.random.default_rng()
    x = nb.tensor(rng.standard_normal((3, 4, 50)), requires_grad=True)
    calls = record_launches(monkeypatch)
    for fn in (F.alpha_dropout, F.feature_alpha_dropout):
        y = fn(x, p, training=True)
        y.sum().backward()
        xv, yv = x.detach().numpy(), y.detach().numpy()
        dropped_value = -SELU_SATURATION * a + SELU_SATURATION * a * p
        kept = ~np.isclose(yv, dropped_value, rtol=0, atol=1e-12)
        np.testing.assert_allclose(yv[kept], a * xv[kept] + SELU_SATURATION * a * p,
                                   rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), kept * a, rtol=1e-12)
        if fn is F.feature_alpha_dropout:  # whole channels
            assert np.array_equal(kept.all(axis=2), kept.any(axis=2))
        x.grad = None
    assert calls == ["dropout_mask", "dropout_bwd"] * 2


def test_inplace_dropout_through_the_kernels(emulated):
    leaf = nb.tensor(np.random.default_rng().uniform(0.5, 2, (6, 5)), requires_grad=True)
    x = leaf * 1.0
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    kept = x.detach().numpy() != 0
    np.testing.assert_array_equal(x.detach().numpy(), np.where(kept, leaf.detach().numpy() * 2, 0))
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), kept * 2.0)


# -- on a GPU ----------------------------------------------------------------------------------
def _bn_fn(training, affine, last):
    def fn(x, *params):
        if last:
            x = _channels_last(x)
        c = x.shape[1]
        rm, rv = (nb.zeros(c, dtype=x.dtype, device=x.device),
                  nb.ones(c, dtype=x.dtype, device=x.device))
        w, b = params if affine else (None, None)
        return F.batch_norm(x, rm, rv, w, b, training=training)
    return fn


GPU_BN = {  # name -> (shape, channels-last)
    "(N, C)": ((512, 300), False),
    "(N, C, H, W)": ((32, 64, 28, 28), False),
    "(N, C, H, W) channels-last": ((32, 64, 28, 28), True),
    "(N, C, H, W) small spatial": ((256, 512, 2, 3), False),
    "(N, C, H, W) one image": ((1, 3, 512, 512), False),
}


@gpu
@pytest.mark.parametrize("name", list(GPU_BN))
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_batch_norm_kernels_match_composed_ops_on_gpu(name, training, affine, dtype, rtol):
    shape, last = GPU_BN[name]
    arrays = _bn_arrays(shape, dtype)[:3 if affine else 1]
    (y, grads), (y_ref, grads_ref) = both(_bn_fn(training, affine, last), arrays)
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * np.abs(y_ref).max())
    for k, (d, d_ref) in enumerate(zip(grads, grads_ref)):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max(),
                                   err_msg=f"{name}: gradient of input {k}")


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_statistics_on_gpu(dtype, p):
    import cupy as cp
    n = 1 << 24
    x = nb.ones(n, dtype=dtype, device="cuda", requires_grad=True)
    y = F.dropout(x, p)
    kept = y.detach().array != 0
    frac = float(kept.mean())
    assert abs(frac - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n), frac
    scale = np.float32(1 / (1 - p)) if dtype == np.float16 else dtype(1 / (1 - p))
    assert bool(cp.all(y.detach().array[kept] == dtype(scale)))
    y.backward(nb.ones(n, dtype=dtype, device="cuda"))
    assert bool(cp.all((x.grad.array != 0) == kept))
    # neighbours are independent: P(both kept) = (1 - p)^2
    both_kept = float((kept[:-1] & kept[1:]).mean())
    assert abs(both_kept - (1 - p) ** 2) < 8 * (1 - p) / math.sqrt(n)


@gpu
def test_dropout_on_gpu_reproduces_and_matches_the_host_generator(host):
    gen = seeded(9)
    seed = _next_seed(gen)
    x = nb.ones(100003, device="cuda")
    a = F.dropout(x, 0.3, generator=gen).numpy()
    np.testing.assert_array_equal(a != 0, host_draws(host, seed, x.numel())
                                  >= math.ceil(0.3 * 2 ** 32))
    np.testing.assert_array_equal(a, F.dropout(x, 0.3, generator=seeded(9)).numpy())
    planes = F.dropout2d(nb.ones(64, 32, 7, 7, device="cuda"), 0.5).numpy().reshape(64 * 32, -1)
    assert np.array_equal((planes != 0).all(axis=1), (planes != 0).any(axis=1))
    assert abs((planes[:, 0] != 0).mean() - 0.5) < 5 * math.sqrt(0.25 / planes.shape[0])
