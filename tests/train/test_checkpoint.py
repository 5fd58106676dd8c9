"""Checkpoints: 2 + 2 epochs == 4 bit for bit; atomic writes; logs and curves."""
import csv
import json
import os

import numpy as np
import pytest

import nabla as nb
from nabla import nn
from nabla.serialization import load, save
from nabla.train import (CSVLogger, CurvePlotter, EarlyStopping, ModelCheckpoint, fit,
                         load_checkpoint, save_checkpoint)

from .conftest import make_run


def _train(epochs, tmp_path, name, resume=None, generator=False, callbacks=(), amp=False):
    model, opt, sched, train, val = make_run(generator=generator)
    if resume is not None:
        nb.manual_seed(12345)  # whatever the global state is, resume must restore it
    ckpt = ModelCheckpoint(str(tmp_path / name), monitor="val_loss")
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched,
                  callbacks=[ckpt, *callbacks], progress=False, resume=resume, amp=amp)
    return model, opt, history, ckpt


def test_mixed_precision_resume_restores_the_grad_scaler(tmp_path):
    full, _, full_hist, full_ckpt = _train(4, tmp_path, "full", amp=True)
    _, _, _, half = _train(2, tmp_path, "half", amp=True)
    assert load(half.last_path)["scaler"] == {
        "scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
        "_growth_tracker": 12}  # 6 clean steps per epoch
    resumed, _, hist, ckpt = _train(4, tmp_path, "resumed", resume=half.last_path, amp=True)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert hist["loss"] == full_hist["loss"]
    assert load(ckpt.last_path)["scaler"] == load(full_ckpt.last_path)["scaler"]


@pytest.mark.parametrize("generator", [False, True], ids=["global-rng", "loader-generator"])
def test_resume_two_plus_two_is_four_bit_identical(tmp_path, generator):
    full, full_opt, full_hist, _ = _train(4, tmp_path, "full", generator=generator)
    _, _, _, half = _train(2, tmp_path, "half", generator=generator)
    resumed, resumed_opt, hist, _ = _train(4, tmp_path, "resumed", resume=half.last_path,
                                           generator=generator)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for key in ("loss", "val_loss", "accuracy", "lr"):
        assert hist[key] == full_hist[key], key
    assert hist["epoch"] == [1, 2, 3, 4]
    state_a, state_b = full_opt.state_dict()["state"], resumed_opt.state_dict()["state"]
    for k in state_a:
        np.testing.assert_array_equal(state_a[k]["momentum_buffer"].numpy(),
                                      state_b[k]["momentum_buffer"].numpy())


def test_checkpoint_contents(tmp_path):
    _, _, history, ckpt = _train(2, tmp_path, "run")
    names = sorted(os.listdir(tmp_path / "run"))
    assert names == ["best.json", "best.safetensors", "epoch_001.json", "epoch_001.safetensors",
                     "epoch_002.json", "epoch_002.safetensors", "last.json",
                     "last.safetensors"]
    data = load(ckpt.last_path)
    # the JSON sidecar: what a person or a tool reads without loading the checkpoint
    with open(tmp_path / "run" / "last.json") as f:
        sidecar = json.load(f)
    assert sidecar["checkpoint"] == "last.safetensors" and sidecar["epoch"] == 2
    assert sidecar["history"]["loss"] == history["loss"]
    assert sidecar["optimizer"][0]["lr"] == data["optimizer"]["param_groups"][0]["lr"]
    assert sidecar["scheduler"]["last_epoch"] == 2
    assert data["epoch"] == 2 and data["history"]["loss"] == history["loss"]
    assert set(data["model"]) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert data["scheduler"]["last_epoch"] == 2 and "nabla" in data["rng"]
    assert load(str(tmp_path / "run" / "epoch_001.safetensors"))["epoch"] == 1


def test_killed_write_leaves_previous_checkpoint_readable(tmp_path, monkeypatch):
    model, opt, sched, train, _ = make_run()
    path = str(tmp_path / "ckpt.safetensors")
    save_checkpoint(path, model, opt, sched, epoch=1)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with nb.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def killed(fd):
        raise KeyboardInterrupt("killed while writing")  # the payload is written, not renamed

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, opt, sched, epoch=2)
    monkeypatch.undo()
    fresh, *_ = make_run()
    ckpt = load_checkpoint(path, fresh)
    assert ckpt["epoch"] == 1
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # no temporary file left behind; the sidecar is still the first save's
    assert sorted(os.listdir(tmp_path)) == ["ckpt.json", "ckpt.safetensors"]
    with open(tmp_path / "ckpt.json") as f:
        assert json.load(f)["epoch"] == 1


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*nope.safetensors"):
        load_checkpoint(str(tmp_path / "nope.safetensors"))
    plain = str(tmp_path / "weights.safetensors")
    save({"w": nb.zeros(2)}, plain)  # a bare state dict, not a training checkpoint
    with pytest.raises(ValueError, match="is not a nabla training checkpoint"):
        load_checkpoint(plain)


def test_resumed_callbacks_replay_history(tmp_path):
    _, _, _, half = _train(2, tmp_path, "half")
    stopper = EarlyStopping("val_loss", patience=50)
    _, _, history, ckpt = _train(3, tmp_path, "more", resume=half.last_path,
                                 callbacks=[stopper])
    assert stopper.best == min(history["val_loss"])
    assert ckpt.best == min(history["val_loss"])


def test_csv_log_and_png_curves(tmp_path):
    csv_path, png_path = str(tmp_path / "log.csv"), str(tmp_path / "curves.png")
    _, _, history, _ = _train(3, tmp_path, "run",
                              callbacks=[CSVLogger(csv_path), CurvePlotter(png_path)])
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history["val_loss"], rel=1e-5)
    with open(png_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_curves_skipped_with_a_warning_without_matplotlib(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    plotter = CurvePlotter(str(tmp_path / "c.png"))
    with pytest.warns(RuntimeWarning, match="matplotlib is not installed"):
        _train(1, tmp_path, "run", callbacks=[plotter])
    assert plotter.written is None and not os.path.exists(tmp_path / "c.png")
