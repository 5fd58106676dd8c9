"""LR schedulers: learning rates (and momenta) equal torch's over 30+ steps; state_dict."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nabla as nb
from nabla import optim
from nabla.nn import Parameter
from nabla.optim import lr_scheduler as nb_sched
from tests.optest import needs_torch, torch

STEPS = 35


def _optimizer(lib, kind: str = "SGD"):
    """An optimizer with two parameter groups at different learning rates."""
    if lib == "nb":
        a, b = Parameter(nb.zeros(2)), Parameter(nb.zeros(3))
        module = optim
    else:
        a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
        module = torch.optim
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return module.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "Adam":
        return module.Adam(groups, lr=0.1)
    return getattr(module, kind)(groups, lr=0.1)


def _lambda(epoch):
    return 0.95 ** epoch


class _Scaled:
    """A callable object: LambdaLR's state_dict keeps its attributes."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base / (epoch + 1)


SCHEDULERS = {
    "StepLR": lambda o, S: S.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda o, S: S.MultiStepLR(o, milestones=[3, 10, 10, 20], gamma=0.3),
    "ExponentialLR": lambda o, S: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda o, S: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-nomin": lambda o, S: S.CosineAnnealingLR(o, T_max=7),
    "LinearLR": lambda o, S: S.LinearLR(o, start_factor=0.1, end_factor=0.8, total_iters=12),
    "LinearLR-down": lambda o, S: S.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                             total_iters=30),
    "ConstantLR": lambda o, S: S.ConstantLR(o, factor=0.25, total_iters=6),
    "PolynomialLR": lambda o, S: S.PolynomialLR(o, total_iters=20, power=2.0),
    "LambdaLR": lambda o, S: S.LambdaLR(o, lr_lambda=_lambda),
    "LambdaLR-per-group": lambda o, S: S.LambdaLR(o, [_lambda, lambda e: 1.0 / (1 + e)]),
    "MultiplicativeLR": lambda o, S: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
    "SequentialLR-warmup": lambda o, S: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.01, total_iters=5),
            S.CosineAnnealingLR(o, T_max=25, eta_min=1e-4)], milestones=[5]),
    "SequentialLR-three": lambda o, S: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9),
            S.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 15]),
    "ChainedScheduler": lambda o, S: S.ChainedScheduler(
        [S.ExponentialLR(o, gamma=0.95), S.StepLR(o, step_size=5, gamma=0.5)]),
    "OneCycleLR-cos": lambda o, S: S.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=STEPS + 1),
    "OneCycleLR-linear": lambda o, S: S.OneCycleLR(
        o, max_lr=0.5, epochs=6, steps_per_epoch=6, pct_start=0.25,
        anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9),
    "OneCycleLR-three-phase": lambda o, S: S.OneCycleLR(
        o, max_lr=0.4, total_steps=STEPS + 1, three_phase=True, div_factor=10.0),
}


def _momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(lib, make, kind: str = "SGD", steps: int = STEPS):
    opt = _optimizer(lib, kind)
    sched = make(opt, nb_sched if lib == "nb" else torch.optim.lr_scheduler)
    lrs, momenta = [list(sched.get_last_lr())], [_momenta(opt)]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        momenta.append(_momenta(opt))
    return np.array(lrs), np.array(momenta, dtype=float)


@needs_torch
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_matches_torch(name):
    ours, our_momenta = _run("nb", SCHEDULERS[name])
    theirs, their_momenta = _run("torch", SCHEDULERS[name])
    assert len(np.unique(ours[:, 0])) > 1  # the schedule does change the lr
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_momenta, their_momenta, rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_one_cycle_cycles_beta1(kind):
    make = lambda o, S: S.OneCycleLR(o, max_lr=0.2, total_steps=STEPS + 1)  # noqa: E731
    ours, our_momenta = _run("nb", make, kind)
    theirs, their_momenta = _run("torch", make, kind)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(our_momenta, their_momenta, rtol=1e-12)
    assert 0.85 <= our_momenta.min() < 0.851 and our_momenta.max() == pytest.approx(0.95)


def test_step_lr_values_by_hand():
    opt = _optimizer("nb")
    sched = nb_sched.StepLR(opt, step_size=2, gamma=0.1)
    seen = []
    for _ in range(5):
        seen.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(seen, [0.1, 0.1, 0.01, 0.01, 0.001])
    assert opt.param_groups[1]["initial_lr"] == 0.05 and sched.last_epoch == 5


# ReduceLROnPlateau: a fixed metric sequence with plateaus, improvements and noise
METRICS = [1.0, 0.9, 0.9, 0.91, 0.9, 0.95, 0.8, 0.8, 0.80001, 0.8, 0.8, 0.7, 0.7, 0.71,
           0.75, 0.69, 0.69, 0.69, 0.69, 0.69, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4, 0.4,
           0.4, 0.4, 0.4, 0.4, 0.4, 0.4]

PLATEAU = {
    "default-patience": dict(patience=2),
    "max-abs": dict(mode="max", threshold=0.05, threshold_mode="abs", patience=1),
    "min-abs-cooldown": dict(threshold=0.01, threshold_mode="abs", patience=1, cooldown=2,
                             factor=0.5),
    "max-rel-min-lr": dict(mode="max", patience=0, factor=0.5, min_lr=[0.01, 0.02]),
    "eps-blocks": dict(patience=0, factor=0.5, min_lr=0.04, eps=1e-3),
}


@needs_torch
@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name):
    kwargs = PLATEAU[name]
    runs = []
    for lib, S in (("nb", nb_sched), ("torch", torch.optim.lr_scheduler)):
        opt = _optimizer(lib)
        sched = S.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for metric in METRICS:
            opt.step()
            sched.step(metric)
            lrs.append(list(sched.get_last_lr()))
        runs.append((np.array(lrs), sched.num_bad_epochs, sched.best))
    (ours, bad, best), (theirs, their_bad, their_best) = runs
    assert len(np.unique(ours[:, 0])) > 1
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert (bad, best) == (their_bad, their_best)


def test_reduce_on_plateau_accepts_a_tensor_metric():
    opt = _optimizer("nb")
    sched = nb_sched.ReduceLROnPlateau(opt, patience=0)
    sched.step(nb.tensor(1.0))
    opt.step()
    sched.step(nb.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR-cos",
                                  "SequentialLR-warmup", "ChainedScheduler",
                                  "LambdaLR-per-group"])
def test_state_dict_round_trip(name):
    straight, _ = _run("nb", SCHEDULERS[name])

    opt = _optimizer("nb")
    sched = SCHEDULERS[name](opt, nb_sched)
    lrs = [list(sched.get_last_lr())]
    for _ in range(12):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()

    # resume: a fresh optimizer and scheduler, scheduler built before loading (as torch says)
    opt2 = _optimizer("nb")
    sched2 = SCHEDULERS[name](opt2, nb_sched)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    for _ in range(STEPS - 12):
        opt2.step()
        sched2.step()
        lrs.append(list(sched2.get_last_lr()))
    np.testing.assert_array_equal(np.array(lrs), straight)


def _plain(obj) -> bool:
    if isinstance(obj, dict):
        return all(isinstance(k, (str, int)) and _plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(_plain(v) for v in obj)
    return isinstance(obj, (int, float, str, bool, type(None)))


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_is_plain_values(name):
    opt = _optimizer("nb")
    sched = SCHEDULERS[name](opt, nb_sched)
    opt.step()
    sched.step()
    assert _plain(sched.state_dict())
    assert "optimizer" not in sched.state_dict()


def test_lambda_lr_state_dict_drops_functions_keeps_objects():
    opt = _optimizer("nb")
    obj = _Scaled(2.0)
    sched = nb_sched.LambdaLR(opt, [_lambda, obj])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"base": 2.0}]
    obj2 = _Scaled(1.0)
    sched2 = nb_sched.LambdaLR(_optimizer("nb"), [_lambda, obj2])
    sched2.load_state_dict(state)
    assert obj2.base == 2.0 and sched2.lr_lambdas[0] is _lambda


def test_closed_form_with_epoch_argument_warns():
    opt = _optimizer("nb")
    sched = nb_sched.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(7)
    assert sched.get_last_lr() == pytest.approx([0.025, 0.0125])


def test_warns_when_stepped_before_optimizer():
    opt = _optimizer("nb")
    sched = nb_sched.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step()
    opt2 = _optimizer("nb")
    sched2 = nb_sched.ExponentialLR(opt2, gamma=0.5)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_errors():
    opt = _optimizer("nb")
    with pytest.raises(TypeError, match="expected a nabla.optim.Optimizer, got list"):
        nb_sched.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        nb_sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="expected 2 values of lr_lambda"):
        nb_sched.LambdaLR(opt, [_lambda])
    with pytest.raises(ValueError, match="LinearLR: start_factor must be in"):
        nb_sched.LinearLR(opt, start_factor=0.0)
    with pytest.raises(KeyError, match="no 'initial_lr'"):
        nb_sched.StepLR(_optimizer("nb"), step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        nb_sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        nb_sched.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ValueError, match="expected 2 values of min_lr"):
        nb_sched.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(ValueError, match="expected 1 milestones for 2 schedulers"):
        nb_sched.SequentialLR(opt, [nb_sched.ExponentialLR(opt, 0.9),
                                    nb_sched.ExponentialLR(opt, 0.9)], milestones=[])
    with pytest.raises(ValueError, match="different optimizer"):
        nb_sched.SequentialLR(opt, [nb_sched.ExponentialLR(_optimizer("nb"), 0.9)],
                              milestones=[])


def test_one_cycle_errors():
    with pytest.raises(ValueError, match="Adagrad has neither"):
        nb_sched.OneCycleLR(_optimizer("nb", "Adagrad"), max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="either total_steps or both epochs"):
        nb_sched.OneCycleLR(_optimizer("nb"), max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        nb_sched.OneCycleLR(_optimizer("nb"), max_lr=0.1, total_steps=5, anneal_strategy="x")
    opt = _optimizer("nb", "Adagrad")
    sched = nb_sched.OneCycleLR(opt, max_lr=0.1, total_steps=3, cycle_momentum=False)
    for _ in range(2):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.1 / 25 / 1e4)  # the last step: min_lr
    sched.step()  # one past the end is allowed, as in torch
    with pytest.raises(ValueError, match="tried to step 4 times, but total_steps is 3"):
        sched.step()


def test_no_warning_for_an_optimizer_with_its_own_step():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data -= group["lr"] * p.grad.data

    p = Parameter(nb.tensor([1.0]))
    opt = Plain([p])
    sched = nb_sched.StepLR(opt, step_size=1, gamma=0.5)
    p.grad = nb.tensor([1.0])
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert p.item() == pytest.approx(0.9) and sched.get_last_lr() == [0.05]
