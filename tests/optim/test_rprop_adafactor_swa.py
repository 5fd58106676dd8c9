"""Rprop, Adafactor and swa_utils (AveragedModel, SWALR, update_bn): parity with torch.optim,
state layout, state_dict round trips, errors."""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla import nn, optim
from nabla.nn import Parameter
from nabla.optim import swa_utils
from tests.optest import needs_torch, torch
from tests.optim import test_optimizers as base

# A conv layer and a linear layer: parameters of 4-D, 2-D and 1-D shapes (Adafactor
# factors the second moment of the first two over their last two dims).
_rng = np.random.default_rng(0)
SHAPES = [(4, 3, 3, 3), (4,), (5, 4), (5,)]
INIT = [_rng.normal(size=s).astype(np.float32) for s in SHAPES]
X = _rng.normal(size=(2, 3, 6, 6)).astype(np.float32)


def _loss(lib, x, conv_w, conv_b, lin_w, lin_b):
    F = nb.nn.functional if lib is nb else torch.nn.functional
    h = F.conv2d(x, conv_w, conv_b).tanh().mean(dim=(2, 3))  # (2, 4)
    out = h @ lin_w.T + lin_b  # (2, 5)
    return (out ** 2).sum() + out.sum()


def _train(lib, make_opt, steps: int = 20, params=None, dtype=np.float32):
    if params is None:
        make = Parameter if lib is nb else torch.nn.Parameter
        params = [make(lib.tensor(a.astype(dtype))) for a in INIT]
    x = lib.tensor(X.astype(dtype))
    opt = make_opt(params)
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, x, *params).backward()
        opt.step()
    return [p.detach().numpy() for p in params], opt


def _make(lib, name, defaults, second):
    module = optim if lib is nb else torch.optim
    groups = lambda ps: [{"params": ps[:2]}, {"params": ps[2:], **second}]  # noqa: E731
    return lambda ps: getattr(module, name)(groups(ps), **defaults)


# (optimizer name, defaults, options of the second parameter group: the linear layer)
CASES = [
    ("Rprop", dict(), dict(lr=0.02)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1)), dict(maximize=True)),
    ("Rprop", dict(lr=0.01, maximize=True), dict(etas=(0.7, 1.1), step_sizes=(0.0, 0.02))),
    ("Adafactor", dict(), dict(lr=0.02)),
    ("Adafactor", dict(lr=0.02, weight_decay=0.1), dict(d=1.5, beta2_decay=-0.5)),
    ("Adafactor", dict(eps=(1e-3, 1e-2), maximize=True), dict(weight_decay=0.05)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@needs_torch
@pytest.mark.parametrize("name,defaults,second", CASES, ids=IDS)
def test_matches_torch_over_20_steps(name, defaults, second):
    ours, _ = _train(nb, _make(nb, name, defaults, second))
    theirs, _ = _train(torch, _make(torch, name, defaults, second))
    for a, b, start in zip(ours, theirs, INIT):
        assert np.abs(a - start).max() > 1e-2  # the parameters did move
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


@needs_torch
@pytest.mark.parametrize("name,defaults,second", [
    ("Adafactor", dict(lr=0.05, weight_decay=0.1, d=1.5, beta2_decay=-0.5), dict(lr=0.1)),
    ("Rprop", dict(lr=0.1, etas=(0.4, 2.0)), dict(step_sizes=(1e-2, 1.0))),
])
def test_large_steps_match_torch_in_float64(name, defaults, second):
    """Large steps make float32 rounding grow chaotically (torch's own foreach and
    single-tensor Adafactor drift apart by 4e-6 in 20 steps here): float64 shows that
    the arithmetic is the same."""
    ours, _ = _train(nb, _make(nb, name, defaults, second), dtype=np.float64)
    theirs, _ = _train(torch, _make(torch, name, defaults, second), dtype=np.float64)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name,defaults,second", CASES, ids=IDS)
def test_bfloat16_matches_torch(name, defaults, second):
    # the shared harness's model: a (3, 4) and a (4, 2) matrix and a (4,) vector
    base.test_bfloat16_parameters_match_torch(name, defaults, second)


@needs_torch
@pytest.mark.parametrize("name,defaults,second", CASES, ids=IDS)
def test_state_matches_torch(name, defaults, second):
    """Same state keys and shapes as torch's state_dict (Adafactor's row_var (..., R, 1),
    col_var (..., 1, C), variance for vectors), same values, same group options."""
    _, ours = _train(nb, _make(nb, name, defaults, second), steps=8)
    _, theirs = _train(torch, _make(torch, name, defaults, second), steps=8)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert sorted(mine["state"]) == sorted(ref["state"]) == [0, 1, 2, 3]
    for i in range(4):
        assert sorted(mine["state"][i]) == sorted(ref["state"][i])
        for key, value in mine["state"][i].items():
            expected = ref["state"][i][key].numpy()
            got = value.numpy() if isinstance(value, nb.Tensor) else value
            assert np.shape(got) == expected.shape, key
            scale = float(np.abs(expected).max())
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-6 * scale,
                                       err_msg=key)
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"]):
        for key, value in group.items():
            if key != "params":
                assert ref_group[key] == value, key


@pytest.mark.parametrize("name,defaults,second", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, defaults, second):
    make = _make(nb, name, defaults, second)
    straight, _ = _train(nb, make, steps=12)

    params = [Parameter(nb.tensor(a)) for a in INIT]
    _, opt = _train(nb, make, steps=7, params=params)
    saved = opt.state_dict()
    snapshot = [p.detach().numpy().copy() for p in params]
    opt.step()  # saved tensors are copies: this must not change them

    resumed_params = [Parameter(nb.tensor(a)) for a in snapshot]
    fresh = getattr(optim, name)([{"params": resumed_params[:2]},
                                  {"params": resumed_params[2:]}], lr=0.123)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1] == {**opt.param_groups[1], "params": resumed_params[2:]}
    resumed, _ = _train(nb, lambda ps: fresh, steps=5, params=resumed_params)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


def test_rprop_by_hand():
    p = Parameter(nb.tensor([1.0, 1.0, 1.0]))
    opt = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    p.grad = nb.tensor([1.0, -1.0, 0.0])
    opt.step()  # prev = 0: step sizes stay 0.1, p moves against the sign
    np.testing.assert_allclose(p.detach().numpy(), [0.9, 1.1, 1.0], rtol=1e-6)
    p.grad = nb.tensor([2.0, 3.0, 0.0])
    opt.step()  # same sign: 0.2; flipped: 0.05 and no move; zero: no move
    np.testing.assert_allclose(p.detach().numpy(), [0.7, 1.1, 1.0], rtol=1e-6)
    np.testing.assert_allclose(opt.state[p]["step_size"].numpy(), [0.2, 0.05, 0.1], rtol=1e-6)
    np.testing.assert_array_equal(opt.state[p]["prev"].numpy(), [2.0, 0.0, 0.0])
    p.grad = nb.tensor([1.0, 1.0, 0.0])
    opt.step()  # 0.4 clipped to 0.3; after a rest the flipped coordinate moves again
    np.testing.assert_allclose(p.detach().numpy(), [0.4, 1.05, 1.0], rtol=1e-6)


def test_adafactor_first_step_by_hand():
    """Step 1: beta = 1 (v is g * g), rho = min(lr, 1), alpha = max(eps2, rms(p)) * rho;
    a vector's update is g / |g| = sign(g), clipped to rms 1."""
    p = Parameter(nb.tensor([3.0, -4.0]))
    opt = optim.Adafactor([p], lr=0.1)
    p.grad = nb.tensor([0.5, 2.0])
    opt.step()
    alpha = (12.5 ** 0.5) * 0.1  # rms([3, -4]) = sqrt(12.5)
    np.testing.assert_allclose(p.detach().numpy(), [3.0 - alpha, -4.0 - alpha], rtol=1e-6)
    np.testing.assert_allclose(opt.state[p]["variance"].numpy(), [0.25, 4.0])
    w = Parameter(nb.ones(2, 3, 4))
    opt = optim.Adafactor([w])
    w.grad = nb.ones(2, 3, 4)
    opt.step()
    assert opt.state[w]["row_var"].shape == (2, 3, 1)
    assert opt.state[w]["col_var"].shape == (2, 1, 4)
    assert "variance" not in opt.state[w]


@pytest.mark.parametrize("make,match", [
    (lambda ps: optim.Rprop(ps, lr=-1.0), r"Rprop: invalid lr -1.0"),
    (lambda ps: optim.Rprop(ps, etas=(1.2, 0.5)), r"Rprop: invalid etas .*0 < etaminus < 1"),
    (lambda ps: optim.Rprop(ps, etas=(0.5, 1.0)), r"Rprop: invalid etas"),
    (lambda ps: optim.Rprop(ps, etas=0.5), r"Rprop: etas must be a pair"),
    (lambda ps: optim.Rprop(ps, step_sizes=(-1.0, 1.0)), r"Rprop: invalid step_sizes\[0\]"),
    (lambda ps: optim.Rprop(ps, step_sizes=(1.0, 0.5)), r"Rprop: invalid step_sizes\[1\]"),
    (lambda ps: optim.Adafactor(ps, lr=-0.1), r"Adafactor: invalid lr"),
    (lambda ps: optim.Adafactor(ps, beta2_decay=0.5), r"Adafactor: invalid beta2_decay 0.5"),
    (lambda ps: optim.Adafactor(ps, eps=(-1.0, 1e-3)), r"Adafactor: invalid eps\[0\]"),
    (lambda ps: optim.Adafactor(ps, eps=(None, -1.0)), r"Adafactor: invalid eps\[1\]"),
    (lambda ps: optim.Adafactor(ps, eps=1e-3), r"Adafactor: eps must be a pair"),
    (lambda ps: optim.Adafactor(ps, d=0.5), r"Adafactor: invalid d 0.5: expected d >= 1"),
    (lambda ps: optim.Adafactor(ps, weight_decay=-1), r"Adafactor: invalid weight_decay"),
])
def test_bad_options_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make(base._params(nb))


# -- swa_utils ------------------------------------------------------------------------------
def _models():
    """The same small conv net with BatchNorm in nabla and in torch."""
    def build(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
                                 lib.nn.Flatten(), lib.nn.Linear(64, 2))
    torch.manual_seed(0)
    theirs = build(torch)
    ours = build(nb)
    ours.load_state_dict({k: nb.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _perturb(ours, theirs, k: int) -> None:
    """Move both models to the same new point (a stand-in for an epoch of training)."""
    rng = np.random.default_rng(100 + k)
    with torch.no_grad(), nb.no_grad():
        for (name, a), b in zip(ours.state_dict(keep_vars=True).items(),
                                theirs.state_dict(keep_vars=True).values()):
            if name.endswith("num_batches_tracked"):
                b.add_(k + 1)
                a.array[...] = b.numpy()
                continue
            if name.endswith("running_var"):  # stays positive
                b.mul_(torch.tensor(rng.uniform(0.5, 2.0, size=tuple(b.shape)).astype(np.float32)))
            else:
                b.add_(torch.tensor(rng.normal(size=tuple(b.shape)).astype(np.float32)))
            a.array[...] = b.numpy()


AVERAGERS = [
    ("swa", {}),
    ("avg_fn_ema", dict(avg_fn="ema")),
    ("avg_fn_swa", dict(avg_fn="swa")),
    ("multi_ema", dict(multi_avg_fn="ema")),
    ("multi_swa", dict(multi_avg_fn="swa")),
    ("multi_ema_buffers", dict(multi_avg_fn="ema", use_buffers=True)),
    ("swa_buffers", dict(use_buffers=True)),
]


def _averager(lib, spec: dict) -> dict:
    utils = swa_utils if lib is nb else torch.optim.swa_utils
    out = dict(spec)
    if spec.get("avg_fn") == "ema":
        out["avg_fn"] = utils.get_ema_avg_fn(0.7)
    elif spec.get("avg_fn") == "swa":
        out["avg_fn"] = utils.get_swa_avg_fn()
    if spec.get("multi_avg_fn") == "ema":
        out["multi_avg_fn"] = utils.get_ema_multi_avg_fn(0.7)
    elif spec.get("multi_avg_fn") == "swa":
        out["multi_avg_fn"] = utils.get_swa_multi_avg_fn()
    return out


@needs_torch
@pytest.mark.parametrize("label,spec", AVERAGERS, ids=[a[0] for a in AVERAGERS])
def test_averaged_model_matches_torch(label, spec):
    ours, theirs = _models()
    avg_ours = swa_utils.AveragedModel(ours, **_averager(nb, spec))
    avg_theirs = torch.optim.swa_utils.AveragedModel(theirs, **_averager(torch, spec))
    for k in range(5):
        _perturb(ours, theirs, k)
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
    mine, ref = avg_ours.state_dict(), avg_theirs.state_dict()
    assert list(mine) == list(ref)  # n_averaged, then module.<name>
    assert mine["n_averaged"].item() == ref["n_averaged"].item() == 5
    assert mine["n_averaged"].dtype == nb.int64
    for key in ref:
        np.testing.assert_allclose(mine[key].numpy(), ref[key].numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=key)
    # the average is not the last model: it really averaged
    assert not np.allclose(mine["module.0.weight"].numpy(), ours[0].weight.detach().numpy())
    x = np.random.default_rng(3).normal(size=(2, 3, 6, 6)).astype(np.float32)
    avg_ours.eval(), avg_theirs.eval()
    np.testing.assert_allclose(avg_ours(nb.tensor(x)).detach().numpy(),
                               avg_theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_averaged_model_is_a_copy_and_round_trips():
    model = nn.Linear(3, 2)
    averaged = swa_utils.AveragedModel(model)
    assert averaged.module is not model and averaged.module.weight is not model.weight
    assert averaged.n_averaged.item() == 0
    start = model.weight.detach().numpy().copy()
    averaged.update_parameters(model)  # the first update copies
    with nb.no_grad():
        model.weight.add_(2.0)
    averaged.update_parameters(model)  # the mean of start and start + 2
    np.testing.assert_allclose(averaged.module.weight.detach().numpy(), start + 1.0, rtol=1e-6)
    assert averaged.module.weight.requires_grad and averaged.n_averaged.item() == 2

    fresh = swa_utils.AveragedModel(nn.Linear(3, 2))
    fresh.load_state_dict(averaged.state_dict())
    assert fresh.n_averaged.item() == 2
    np.testing.assert_array_equal(fresh.module.weight.detach().numpy(),
                                  averaged.module.weight.detach().numpy())


def test_averaged_model_errors():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="AveragedModel: give avg_fn or multi_avg_fn, not both"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="AveragedModel: model must be a nabla.nn.Module"):
        swa_utils.AveragedModel(lambda x: x)
    with pytest.raises(ValueError, match=r"get_ema_avg_fn: invalid decay 1.5"):
        swa_utils.get_ema_avg_fn(1.5)
    with pytest.raises(ValueError, match=r"get_ema_multi_avg_fn: invalid decay -0.1"):
        swa_utils.get_ema_multi_avg_fn(-0.1)


def _swalr_lrs(lib, swa_lr, before: int = 0, steps: int = 14, **kwargs):
    """The learning rates of two groups: ``before`` epochs of CosineAnnealingLR, then SWALR."""
    module = optim if lib is nb else torch.optim
    utils = swa_utils if lib is nb else torch.optim.swa_utils
    params = base._params(lib)
    opt = module.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], lr=1.0)
    cosine = module.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(before):
        opt.step()
        cosine.step()
    swa = utils.SWALR(opt, swa_lr, **kwargs)
    lrs = [swa.get_last_lr()]
    for _ in range(steps):
        opt.step()
        swa.step()
        lrs.append(swa.get_last_lr())
    return lrs, swa


SWALR_CASES = [
    dict(swa_lr=0.05),
    dict(swa_lr=[0.05, 0.2], anneal_epochs=4, anneal_strategy="linear"),
    dict(swa_lr=0.1, anneal_epochs=0),
    dict(swa_lr=[0.3, 0.01], anneal_epochs=5, anneal_strategy="cos", before=3),
    dict(swa_lr=0.02, anneal_epochs=1, anneal_strategy="linear", before=6),
]


@needs_torch
@pytest.mark.parametrize("case", SWALR_CASES)
def test_swalr_matches_torch(case):
    ours, sched = _swalr_lrs(nb, **case)
    theirs, _ = _swalr_lrs(torch, **case)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    swa_lr = case["swa_lr"] if isinstance(case["swa_lr"], list) else [case["swa_lr"]] * 2
    np.testing.assert_allclose(ours[-1], swa_lr, rtol=1e-12)  # annealed all the way
    assert [g["swa_lr"] for g in sched.optimizer.param_groups] == swa_lr


def test_swalr_state_dict_round_trip():
    lrs, sched = _swalr_lrs(nb, [0.05, 0.2], steps=3, anneal_epochs=6)
    state = sched.state_dict()
    assert all(not callable(v) for v in state.values())
    opt = sched.optimizer
    resumed = swa_utils.SWALR(opt, 0.9, anneal_epochs=2, anneal_strategy="linear")
    for group, lr in zip(opt.param_groups, lrs[-1]):
        group["lr"] = lr
    resumed.load_state_dict(state)
    assert resumed.anneal_func(0.5) == pytest.approx(0.5) and resumed.anneal_epochs == 6
    sched.step()
    expected = sched.get_last_lr()
    for group, lr in zip(opt.param_groups, lrs[-1]):
        group["lr"] = lr
    resumed.step()
    assert resumed.get_last_lr() == expected


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(swa_lr=0.1, anneal_strategy="exp"), ValueError,
     "SWALR: anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    (dict(swa_lr=0.1, anneal_epochs=-1), ValueError, "SWALR: anneal_epochs must be an integer"),
    (dict(swa_lr=0.1, anneal_epochs=2.5), ValueError, "SWALR: anneal_epochs must be an integer"),
    (dict(swa_lr=[0.1, 0.2, 0.3]), ValueError, "SWALR: expected 1 values of swa_lr"),
])
def test_swalr_errors(kwargs, error, match):
    opt = optim.SGD(base._params(nb), lr=0.1)
    with pytest.raises(error, match=match):
        swa_utils.SWALR(opt, **kwargs)
    with pytest.raises(TypeError, match="SWALR: expected a nabla.optim.Optimizer"):
        swa_utils.SWALR(object(), 0.1)


@needs_torch
def test_update_bn_matches_torch():
    ours, theirs = _models()
    rng = np.random.default_rng(7)
    batches = [rng.normal(loc=1.0, size=(n, 3, 6, 6)).astype(np.float32) for n in (4, 3, 5)]
    labels = [np.zeros(len(b), np.int64) for b in batches]
    ours.eval(), theirs.eval()
    ours[1].momentum = theirs[1].momentum = 0.3
    swa_utils.update_bn([(nb.tensor(x), nb.tensor(y)) for x, y in zip(batches, labels)], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(x), torch.tensor(y))
                                     for x, y in zip(batches, labels)], theirs)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours[1], name).numpy(),
                                   getattr(theirs[1], name).numpy(), rtol=1e-5, atol=1e-6)
    assert ours[1].num_batches_tracked.item() == 3
    assert ours[1].momentum == 0.3 and not ours.training and not ours[1].training
    # the cumulative average over the batches: the mean of the per-batch means
    h = [ours[0](nb.tensor(x)).detach().numpy() for x in batches]
    np.testing.assert_allclose(ours[1].running_mean.numpy(),
                               np.mean([a.mean(axis=(0, 2, 3)) for a in h], axis=0),
                               rtol=1e-5, atol=1e-6)


def test_update_bn_plain_tensors_and_no_batchnorm():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    data = [nb.tensor(np.full((2, 3), v, np.float32)) for v in (1.0, 2.0)]
    swa_utils.update_bn(data, model)
    assert model.training and model[1].momentum == 0.1
    assert model[1].num_batches_tracked.item() == 2
    plain = nn.Linear(3, 3)
    swa_utils.update_bn(data, plain)  # nothing to update: the model is not even called
