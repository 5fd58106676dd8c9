"""fit / evaluate: learning, scheduler stepping, callbacks, progress, errors."""
import numpy as np
import pytest

import nabla as nb
from nabla import models, nn, optim
from nabla.data import DataLoader, TensorDataset
from nabla.data.datasets import Digits
from nabla.data.transforms import Normalize
from nabla.train import Callback, EarlyStopping, evaluate, fit

from .conftest import make_run


def test_mlp_solves_xor():
    x = nb.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 8)
    y = nb.tensor([0, 1, 1, 0] * 8)
    nb.manual_seed(0)
    model = models.mlp(input_shape=(2,), num_classes=2, hidden=(8,), activation="tanh")
    opt = optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, loader, epochs=40, progress=False)
    assert history["val_accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert history["epoch"] == list(range(1, 41))


def test_lenet_learns_digits():
    """The main job in small: LeNet-5 on the bundled digits, >= 97% test accuracy."""
    nb.manual_seed(0)
    normalize = Normalize([0.305], [0.376])  # the training set's mean and std
    train, test = Digits(train=True, transform=normalize), Digits(train=False, transform=normalize)
    model = models.lenet5(dropout=0.3)
    opt = optim.AdamW(model.parameters(), lr=2e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12)
    history = fit(model, nn.CrossEntropyLoss(label_smoothing=0.1), opt,
                  DataLoader(train, batch_size=32, shuffle=True), epochs=12, scheduler=sched,
                  progress=False)
    result = evaluate(model, DataLoader(test, batch_size=256), nn.CrossEntropyLoss())
    assert result["samples"] == 359
    assert result["accuracy"] >= 0.97, history
    assert history["lr"][0] == 2e-3 and history["lr"][-1] < 1e-4  # cosine, stepped per epoch


def test_evaluate_restores_mode_and_records_no_graph():
    model, _, _, _, val = make_run()
    model.train()
    out = evaluate(model, val, nn.CrossEntropyLoss(), metrics=("loss", "accuracy", "top2"))
    assert model.training and all(p.grad is None for p in model.parameters())
    assert set(out) == {"loss", "accuracy", "top2", "samples"} and out["samples"] == 96
    assert out["top2"] == 1.0 and 0.0 <= out["accuracy"] <= 1.0
    no_loss = evaluate(model.eval(), val)  # without loss_fn: no loss metric
    assert "loss" not in no_loss and not model.training


def test_progress_bar_shows_loss_and_throughput_and_changes_nothing(capsys):
    """tqdm must not change the run (tqdm.auto's asyncio flavour calls iter() twice,
    which draws an extra shuffling seed)."""
    weights = []
    for progress in (False, True):
        model, opt, sched, train, val = make_run()
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=2, scheduler=sched,
            progress=progress)
        weights.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    captured = capsys.readouterr()
    assert "epoch 2/2" in captured.err and "batch/s" in captured.err  # the tqdm bar
    summary = [line for line in captured.out.splitlines() if line.startswith("epoch 2/2")]
    assert len(summary) == 1 and "val_loss" in summary[0] and "samples/s" in summary[0]


def test_plateau_scheduler_gets_validation_loss():
    seen = []

    class Plateau(optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    model, opt, _, train, val = make_run()
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3,
                  scheduler=Plateau(opt), progress=False)
    assert seen == history["val_loss"]


def test_batch_interval_scheduler_steps_every_batch():
    model, opt, _, train, _ = make_run()
    sched = optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, scheduler=sched,
        scheduler_interval="batch", progress=False)
    assert sched.last_epoch == 2 * len(train)


def test_early_stopping_and_callback_order():
    events = []

    class Recorder(Callback):
        def on_fit_start(self, state):
            events.append("start")

        def on_epoch_end(self, state, logs):
            events.append(state.epoch)

        def on_fit_end(self, state):
            events.append("end")

    model, opt, _, train, val = make_run(dropout=0.0)
    for group in opt.param_groups:
        group["lr"] = 0.0  # nothing learns: val_loss never improves after epoch 1
    stopper = EarlyStopping("val_loss", patience=2)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=10,
                  callbacks=[stopper, Recorder()], progress=False)
    assert history.epochs == 3 and stopper.stopped_epoch == 3
    assert events == ["start", 1, 2, 3, "end"]


def test_fit_errors():
    model, opt, _, train, _ = make_run()
    with pytest.raises(FloatingPointError, match="loss is nan at epoch 1, batch 1"):
        fit(model, lambda out, t: nn.functional.cross_entropy(out, t) * float("nan"), opt,
            train, progress=False)
    with pytest.raises(ValueError, match="each batch must be a pair"):
        fit(model, nn.CrossEntropyLoss(), opt, [nb.zeros(2, 2)], progress=False)
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, nn.CrossEntropyLoss(), opt, [], progress=False)
    with pytest.raises(KeyError, match="monitored metric 'val_loss' is not logged"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train,
            callbacks=[EarlyStopping("val_loss")], progress=False)
