"""Mixed precision: autocast's op lists, GradScaler against PyTorch's, and training under both.

On the CPU, float16 runs through NumPy (no BLAS) and bfloat16 through float32, so these
use small sizes; the same tests run on CUDA when a GPU is present (``DEVICES``), each for
both low-precision dtypes (``LOW``).
"""
import math

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

DEVICES = ["cpu"] + (["cuda"] if nb.cuda.is_available() else [])
f16, f32, f64, bf16 = nb.float16, nb.float32, nb.float64, nb.bfloat16
LOW = [f16, bf16]  # autocast's low-precision dtypes


def _t(shape, device, dtype=f32, seed=0, requires_grad=False):
    rng = np.random.default_rng(seed)
    return nb.tensor(rng.standard_normal(shape).astype(dtype), device=device,
                     requires_grad=requires_grad)


# -- autocast: which ops run in which dtype ---------------------------------------------
@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("device", DEVICES)
def test_lower_precision_ops_run_in_the_low_dtype(device, low):
    x, w = _t((4, 8), device), _t((6, 8), device, seed=1)
    img, k = _t((2, 3, 6, 6), device), _t((4, 3, 3, 3), device, seed=2)
    lstm = nb.nn.LSTM(8, 5, batch_first=True).to(device)
    with nb.autocast(device, dtype=low):
        assert F.linear(x, w).dtype == low
        assert (x @ w.T).dtype == low
        assert nb.einsum("ij,kj->ik", x, w).dtype == low
        assert F.conv2d(img, k, padding=1).dtype == low
        assert F.conv_transpose2d(img, k.transpose(0, 1)).dtype == low
        out, (h, c) = lstm(x.reshape(1, 4, 8))
        assert out.dtype == low
        y = F.linear(x, w)
    # the values are float32's up to the low dtype's rounding
    np.testing.assert_allclose(y.float().cpu().numpy(), F.linear(x, w).cpu().numpy(),
                               rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(out.float().detach().cpu().numpy(),
                               lstm(x.reshape(1, 4, 8))[0].detach().cpu().numpy(), atol=2e-2)
    # outside, everything is back to float32
    assert F.linear(x, w).dtype == f32


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("device", DEVICES)
def test_float32_ops_and_losses_run_in_float32(device, low):
    h = _t((4, 5), device).to(low)
    target = nb.tensor([0, 1, 2, 3], device=device)
    with nb.autocast(device, dtype=low):
        for out in (F.cross_entropy(h, target), F.mse_loss(h, h.detach()), h.prod()):
            assert out.dtype == f32
        # on the CUDA float32 list; PyTorch's CPU autocast keeps them in the inputs' dtype
        for out in (F.softmax(h, -1), F.log_softmax(h, -1), h.sum(), h.exp(), h.abs().log1p(),
                    h.pow(2), nb.logsumexp(h, -1), F.layer_norm(h, (5,)),
                    F.group_norm(h.reshape(4, 5, 1), 5), F.softplus(h), F.normalize(h)):
            assert out.dtype == (f32 if device == "cuda" else low)
        # everything else keeps its inputs' dtype, promoting mixed ones (NumPy's rules)
        assert F.relu(h).dtype == low and (h * 2.0).dtype == low
        assert (h + _t((4, 5), device)).dtype == f32


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_reads_16_bit_logits_without_a_float32_copy(device, low):
    """Under autocast, cross entropy with class indices computes in float32 straight from
    float16 or bfloat16 logits (no Cast of the logits: on a GPU that copy is the size of
    the logits in float32), returns a float32 loss and a 16-bit gradient, both matching
    float64."""
    logits = _t((16, 40), device, seed=3).to(low).detach().requires_grad_()
    target = nb.tensor(np.arange(16) * 7 % 40, device=device)
    with nb.autocast(device, dtype=low):
        loss = F.cross_entropy(logits, target)
    assert loss.dtype == f32
    assert type(loss._node).__name__ == "CrossEntropyIndices"
    assert loss._node.inputs[0] is logits  # no Cast node in between
    loss.backward()
    assert logits.grad.dtype == low
    ref = logits.detach().to(f64).requires_grad_()
    F.cross_entropy(ref, target).backward()
    np.testing.assert_allclose(loss.item(), F.cross_entropy(ref, target).item(), rtol=1e-6)
    np.testing.assert_allclose(logits.grad.float().cpu().numpy(), ref.grad.cpu().numpy(),
                               atol=2e-4 if low == f16 else 5e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_float64_is_never_cast_and_enabled_false_turns_it_off(device):
    low = nb.get_autocast_dtype(device)  # the device's default: float16 on cuda, bf16 on cpu
    x, w = _t((3, 4), device, dtype=f64), _t((2, 4), device, dtype=f64)
    with nb.autocast(device):
        assert F.linear(x, w).dtype == f64
        with nb.autocast(device, enabled=False):
            assert F.linear(x.float(), w.float()).dtype == f32
        assert F.linear(x.float(), w.float()).dtype == low
    other = "cpu" if device == "cuda" else "cuda"
    with nb.autocast(other):  # tensors on another device type are left alone
        assert F.linear(x.float(), w.float()).dtype == f32


def test_autocast_as_decorator_restores_state_after_errors():
    @nb.autocast("cpu")
    def f(x, w):
        assert nb.is_autocast_enabled("cpu") and not nb.is_autocast_enabled("cuda")
        return F.linear(x, w)

    assert f(_t((2, 3), "cpu"), _t((4, 3), "cpu")).dtype == bf16  # PyTorch's CPU default
    assert not nb.is_autocast_enabled()
    with pytest.raises(ZeroDivisionError):
        with nb.autocast("cpu"):
            1 / 0
    assert not nb.is_autocast_enabled()
    assert nb.get_autocast_dtype("cuda") == f16


def test_autocast_rejects_what_it_cannot_do():
    with pytest.raises(RuntimeError, match="must be float16 or bfloat16, got float64"):
        nb.autocast("cpu", dtype=nb.float64)
    with pytest.raises(ValueError, match="device_type must be 'cuda' or 'cpu', got 'tpu'"):
        nb.autocast("tpu")


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("device", DEVICES)
def test_gradients_come_back_in_the_parameters_dtype_and_match_float32(device, low):
    model = nb.nn.Sequential(nb.nn.Linear(8, 16), nb.nn.Tanh(), nb.nn.Linear(16, 3)).to(device)
    x, y = _t((32, 8), device, seed=3), nb.tensor(np.arange(32) % 3, device=device)
    F.cross_entropy(model(x), y).backward()
    ref = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with nb.autocast(device, dtype=low):
        loss = F.cross_entropy(model(x), y)
        loss.backward()  # inside the context: the backward still runs in the forward's dtypes
    for p, r in zip(model.parameters(), ref):
        assert p.grad.dtype == f32
        np.testing.assert_allclose(p.grad.numpy(), r, rtol=2e-2, atol=2e-3)


@pytest.mark.skipif(torch is None, reason="needs torch")
@pytest.mark.parametrize("low", LOW)
def test_linear_and_conv_values_match_torch_cpu_autocast(low):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((16, 32), (8, 32), (8,)))
    img, k = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 8, 8), (4, 3, 3, 3)))
    tlow = torch.float16 if low == f16 else torch.bfloat16
    with nb.autocast("cpu", dtype=low):
        ours = F.linear(nb.tensor(x), nb.tensor(w), nb.tensor(b)).numpy()
        ours_c = F.conv2d(nb.tensor(img), nb.tensor(k), padding=1).numpy()
    with torch.autocast("cpu", dtype=tlow):
        theirs = torch.nn.functional.linear(*map(torch.tensor, (x, w, b)))
        theirs_c = torch.nn.functional.conv2d(torch.tensor(img), torch.tensor(k), padding=1)
    assert theirs.dtype == tlow and ours.dtype == low
    np.testing.assert_allclose(ours.astype(np.float32), theirs.float().numpy(), rtol=1e-2,
                               atol=1e-2)
    np.testing.assert_allclose(ours_c.astype(np.float32), theirs_c.float().numpy(), rtol=1e-2,
                               atol=1e-2)


# -- GradScaler ------------------------------------------------------------------------
def _scaled_run(lib, steps: int, poison: set, growth_interval: int = 3):
    """A small regression trained through a GradScaler; gradients are set to inf or NaN
    at the steps in ``poison``. Returns the scale before each step and the final weights."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 5)).astype(np.float32)
    xs = rng.standard_normal((steps, 8, 5)).astype(np.float32)
    ys = rng.standard_normal((steps, 8, 3)).astype(np.float32)
    if lib is nb:
        w = nb.tensor(w0, requires_grad=True)
        opt = nb.optim.SGD([w], lr=0.05, momentum=0.9)
        scaler = nb.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=growth_interval)
    else:
        w = torch.tensor(w0, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.05, momentum=0.9)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10,
                                      growth_interval=growth_interval)
    scales = []
    for i in range(steps):
        opt.zero_grad()
        x, y = lib.tensor(xs[i]), lib.tensor(ys[i])
        loss = ((x @ w.T - y) ** 2).mean()
        scaler.scale(loss).backward()
        if i in poison:
            w.grad[0, i % 5] = math.inf if i % 2 else math.nan
        scales.append(scaler.get_scale())
        scaler.step(opt)
        scaler.update()
    return scales, w.detach().numpy(), scaler.state_dict()


@pytest.mark.skipif(torch is None, reason="needs torch")
def test_grad_scaler_matches_torch_step_for_step():
    poison = {2, 3, 9, 10, 11}
    ours, w_ours, sd_ours = _scaled_run(nb, 20, poison)
    theirs, w_theirs, sd_theirs = _scaled_run(torch, 20, poison)
    assert ours == theirs
    # it backed off after each poisoned step and grew again after 3 clean ones
    assert ours[3] == ours[2] / 2 and max(ours) > ours[4]
    np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-5, atol=1e-6)
    assert sd_ours["scale"] == sd_theirs["scale"]
    assert sd_ours["_growth_tracker"] == sd_theirs["_growth_tracker"]


def test_grad_scaler_skips_non_finite_steps_and_leaves_weights_alone():
    w = nb.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = nb.optim.SGD([w], lr=0.1)
    scaler = nb.amp.GradScaler("cpu", init_scale=8.0)
    (w * nb.tensor([1.0, 2.0, 3.0])).sum().mul(scaler.get_scale()).backward()
    w.grad[1] = math.nan
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(w.detach().numpy(), np.ones(3))
    assert scaler.get_scale() == 4.0
    opt.zero_grad()
    scaler.scale((w * nb.tensor([1.0, 2.0, 3.0])).sum()).backward()
    scaler.unscale_(opt)   # the true gradient, for clipping
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0, 3.0])
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.9, 0.8, 0.7], rtol=1e-6)


def test_grad_scaler_errors_state_dict_and_disabled_pass_through():
    w = nb.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = nb.optim.SGD([w], lr=0.1)
    scaler = nb.amp.GradScaler("cpu", init_scale=4.0, growth_interval=7)
    scaler.scale(w.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="closures are not supported"):
        scaler.step(opt, closure=lambda: 0.0)
    scaler.update()
    other = nb.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 4.0 and other.get_growth_interval() == 7
    assert other.state_dict() == scaler.state_dict()
    with pytest.raises(RuntimeError, match="state dict is empty"):
        other.load_state_dict({})
    off = nb.amp.GradScaler("cpu", enabled=False)
    loss = w.sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    half = nb.tensor(np.ones(2, np.float16), requires_grad=True)
    half.sum().backward()
    with pytest.raises(ValueError, match="float16 gradient"):
        nb.amp.GradScaler("cpu").unscale_(nb.optim.SGD([half], lr=0.1))


@pytest.mark.skipif(nb.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_cuda_scaler_and_device_api_without_a_gpu():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = nb.amp.GradScaler("cuda")
    assert not scaler.is_enabled()
    assert nb.cuda.device_count() == 0
    for fn in (nb.cuda.synchronize, nb.cuda.memory_allocated, nb.cuda.max_memory_allocated,
               nb.cuda.empty_cache, nb.cuda.current_device):
        with pytest.raises(RuntimeError, match=f"nabla.cuda.{fn.__name__}: CUDA is not "
                                               f"available"):
            fn()


@pytest.mark.skipif(not nb.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_memory_statistics():  # pragma: no cover - runs on GPU machines
    nb.cuda.synchronize()
    nb.cuda.reset_peak_memory_stats()
    before = nb.cuda.memory_allocated()
    x = nb.zeros(1 << 20, device="cuda")
    assert nb.cuda.memory_allocated() >= before + 4 * (1 << 20)
    peak = nb.cuda.max_memory_allocated()
    del x
    assert nb.cuda.memory_allocated() < peak <= nb.cuda.memory_reserved() + 1
    nb.cuda.empty_cache()
    assert nb.cuda.memory_reserved() <= peak


# -- training under autocast + GradScaler learns as float32 does --------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_digits_mlp_learns_as_well_in_mixed_precision(device):
    from nabla.data import DataLoader
    from nabla.data.datasets import Digits
    from nabla.train import evaluate, fit

    train, test = Digits(train=True), Digits(train=False)
    accuracy = {}
    for amp in (False, "float16", "bfloat16"):
        nb.manual_seed(0)
        model = nb.nn.Sequential(nb.nn.Flatten(), nb.nn.Linear(64, 64), nb.nn.ReLU(),
                                 nb.nn.Linear(64, 10))
        opt = nb.optim.Adam(model.parameters(), lr=3e-3)
        loader = DataLoader(train, batch_size=64, shuffle=True,
                            generator=nb.Generator().manual_seed(0))
        fit(model, nb.nn.CrossEntropyLoss(), opt, loader, epochs=12, device=device,
            progress=False, amp=amp)
        accuracy[amp] = evaluate(model, DataLoader(test, batch_size=256))["accuracy"]
    assert accuracy[False] > 0.9  # chance is 0.1
    for amp in ("float16", "bfloat16"):
        assert abs(accuracy[amp] - accuracy[False]) < 0.02, accuracy


def test_tf32_switch():
    assert nb.backends.cuda.matmul.allow_tf32 is False
    assert nb.get_float32_matmul_precision() == "highest"
    try:
        nb.set_float32_matmul_precision("high")
        assert nb.backends.cuda.matmul.allow_tf32 is True
        nb.backends.cuda.matmul.allow_tf32 = False
        assert nb.get_float32_matmul_precision() == "highest"
    finally:
        nb.backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(ValueError, match="expected one of highest, high, medium, got 'low'"):
        nb.set_float32_matmul_precision("low")


def test_cpu_float16_matmul_is_float32_blas_rounded():
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float16) for s in ((5, 40, 30), (30, 7)))
    ref = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    out = nb.backend.matmul(np, a, b)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal((nb.tensor(a) @ nb.tensor(b)).numpy(), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_small_gpt_learns_the_same_under_autocast_and_grad_scaler(device):
    # test_gpt's attention task (repeat the first 3 tokens), in float32 and mixed precision
    from nabla.models.gpt import gpt

    vocab, length, period = 10, 12, 3
    losses = {}
    for amp in (None, f16, bf16):  # float32, then each low dtype (bfloat16 needs no scaler)
        nb.manual_seed(0)
        rng = np.random.default_rng(0)

        def batch(n):
            x = np.tile(rng.integers(0, vocab, (n, period)), (1, 5))[:, :length + 1]
            return nb.tensor(x[:, :-1], device=device), nb.tensor(x[:, 1:], device=device)

        def loss_fn(model, x, y):
            logits = model(x)[:, period - 1:]
            return F.cross_entropy(logits.reshape(-1, vocab), y[:, period - 1:].reshape(-1))

        model = gpt(vocab_size=vocab, block_size=length, n_layer=2, n_head=2,
                    d_model=32).to(device)
        opt = nb.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
        scaler = nb.amp.GradScaler(device, enabled=amp == f16)
        for _ in range(120):
            x, y = batch(32)
            opt.zero_grad()
            with nb.autocast(device, dtype=amp, enabled=amp is not None):
                loss = loss_fn(model, x, y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        x, y = batch(256)
        with nb.no_grad(), nb.autocast(device, dtype=amp, enabled=amp is not None):
            losses[amp] = loss_fn(model.eval(), x, y).item()
    assert all(loss < 0.05 for loss in losses.values()), losses


def test_batch_norm_runs_in_float32_under_autocast():
    rng = np.random.default_rng(0)
    x = nb.tensor((rng.standard_normal((8, 3, 16, 16)) * 4 + 100).astype(np.float32))
    k = nb.tensor(rng.standard_normal((16, 3, 3, 3)).astype(np.float32))
    runs = {}
    for amp in (False, True):
        bn = nb.nn.BatchNorm2d(16)
        with nb.autocast("cpu", dtype=f16, enabled=amp):
            h = F.conv2d(x, k, padding=1)
            out = bn(h)
        assert h.dtype == (f16 if amp else f32) and out.dtype == f32
        runs[amp] = (out.detach().numpy(), bn.running_mean.numpy(), bn.running_var.numpy())
    # statistics of float16 activations, accumulated in float32: close to the float32 run
    for a, b in zip(runs[True], runs[False]):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-2)


def test_a_model_held_in_bfloat16_trains():
    """``model.to(bfloat16)``: parameters, activations and gradients all bfloat16 (no
    autocast, no scaler), and the digits MLP still learns."""
    from nabla.data.datasets import Digits

    train = Digits(train=True)
    x = nb.tensor(np.stack([train[i][0].numpy() for i in range(512)])).bfloat16()
    y = nb.tensor([int(train[i][1]) for i in range(512)])
    nb.manual_seed(0)
    model = nb.nn.Sequential(nb.nn.Flatten(), nb.nn.Linear(64, 64), nb.nn.ReLU(),
                             nb.nn.Linear(64, 10)).to(bf16)
    opt = nb.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.dtype == bf16 and all(p.dtype == p.grad.dtype == bf16
                                      for p in model.parameters())
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.95, accuracy  # chance is 0.1


# -- the legacy torch.cuda.amp spellings --------------------------------------------------
def test_cuda_amp_legacy_aliases_warn_and_work():
    from nabla.cuda.amp import GradScaler, autocast

    assert nb.cuda.amp.autocast is autocast
    with pytest.warns(FutureWarning, match=r"nabla.amp.autocast\('cuda', args...\)"):
        ctx = autocast(dtype=nb.bfloat16)
    assert isinstance(ctx, nb.amp.autocast) and ctx.device_type == "cuda"
    with ctx:
        assert nb.is_autocast_enabled("cuda")
    assert not nb.is_autocast_enabled()
    with pytest.warns(FutureWarning, match=r"nabla.amp.GradScaler\('cuda', args...\)"):
        scaler = GradScaler(init_scale=8.0, enabled=False)  # as a CPU run passes it
    loss = nb.tensor(2.0)
    assert scaler.scale(loss) is loss  # disabled: a pass-through

    with pytest.warns(FutureWarning):
        decorate = autocast()

    @decorate
    def inside():
        return nb.is_autocast_enabled("cuda")

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the decorated calls do not warn again
        assert inside() and inside()
