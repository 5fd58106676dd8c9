"""The digits task again, with a small CNN and ``nabla.train.fit`` instead of a hand loop.

Shows: ``fit`` with a validation set held out of the training split, callbacks
(``EarlyStopping``, ``ModelCheckpoint`` into a temporary directory), and resuming an
interrupted run from ``last.safetensors`` (model, optimizer, scheduler, history and RNG
states all come back), then ``evaluate`` on the test split.

Run: python examples/03_fit_cnn.py
"""
import os
import tempfile

import nabla as nb
from nabla import nn
from nabla.data import DataLoader, random_split
from nabla.data.datasets import Digits
from nabla.train import EarlyStopping, ModelCheckpoint, evaluate, fit


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),     # (B, 16, 8, 8)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),    # (B, 32, 8, 8)
        nn.MaxPool2d(2),                               # (B, 32, 4, 4)
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def make_run(epochs: int):
    """A fresh model, optimizer and scheduler (what a resumed run rebuilds before loading)."""
    model = small_cnn()
    optimizer = nb.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = nb.optim.lr_scheduler.StepLR(optimizer, step_size=max(epochs // 2, 1), gamma=0.5)
    return model, optimizer, scheduler


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    train_full = Digits(train=True)
    split_gen = nb.Generator().manual_seed(0)
    train_set, val_set = random_split(train_full, [0.9, 0.1], generator=split_gen)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)
    test_loader = DataLoader(Digits(train=False), batch_size=256)
    epochs, interrupt_at = (6, 2) if quick else (12, 5)

    with tempfile.TemporaryDirectory() as ckpt_dir:
        # the first run is "interrupted" after a few epochs; ModelCheckpoint wrote last.safetensors
        model, optimizer, scheduler = make_run(epochs)
        first = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, val_loader,
                    epochs=interrupt_at, scheduler=scheduler, progress=False,
                    callbacks=[ModelCheckpoint(ckpt_dir)])
        print("checkpoints:", sorted(os.listdir(ckpt_dir)))

        # a new process would rebuild the objects and pass resume=...; fit continues at epoch 3
        model, optimizer, scheduler = make_run(epochs)
        stopper = EarlyStopping(monitor="val_loss", patience=3)
        history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, val_loader,
                      epochs=epochs, scheduler=scheduler, progress=False,
                      callbacks=[stopper, ModelCheckpoint(ckpt_dir)],
                      resume=os.path.join(ckpt_dir, "last.safetensors"))

    for row in zip(history["epoch"], history["loss"], history["val_accuracy"], history["lr"]):
        print("epoch {:2d}  loss {:.4f}  val accuracy {:.4f}  lr {:.5f}".format(*row))
    if stopper.stopped_epoch is not None:
        print(f"early stopping after epoch {stopper.stopped_epoch}")
    test = evaluate(model, test_loader, nn.CrossEntropyLoss())
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}")
    return {"test_accuracy": test["accuracy"], "epochs": history["epoch"],
            "loss": history["loss"], "interrupted_run_loss": first["loss"]}


if __name__ == "__main__":
    main()
